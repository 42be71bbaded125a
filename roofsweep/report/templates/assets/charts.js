// Report charts drawn by the page: SVG elements built from the engine's rows embedded as JSON
// (<script id="rs-chart-data">, made by roofsweep.report.html_charts.chart_payload). Nothing is
// computed here but positions: every latency is the engine's number as embedded.
//   latency vs ridge point: log-log, one line per model, profiles as dotted verticals + markers
//   per-layer latency (Fig. 3): x = layer index, y = time (us), one dot per layer, op colours
//   accuracy vs latency (Fig. 2): one panel per ridge point, dots by family, frontier line
// Every mark carries an SVG <title> tooltip naming the model, the layer and the point.
(function () {
  var node = document.getElementById('rs-chart-data');
  var root = document.getElementById('rs-charts');
  if (!node || !root) return;
  var D = JSON.parse(node.textContent);
  var NS = 'http://www.w3.org/2000/svg';
  var W = 640, H = 360, M = {l: 64, r: 28, t: 28, b: 44};

  function el(tag, attrs, parent) {
    var e = document.createElementNS(NS, tag);
    for (var k in attrs) if (attrs[k] !== undefined && attrs[k] !== null) e.setAttribute(k, attrs[k]);
    if (parent) parent.appendChild(e);
    return e;
  }
  function text(parent, x, y, s, attrs) {
    var t = el('text', Object.assign({x: x, y: y}, attrs || {}), parent);
    t.textContent = s;
    return t;
  }
  function tip(parent, s) { var t = el('title', {}, parent); t.textContent = s; return t; }
  function html(tag, cls, parent, s) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (s !== undefined) e.textContent = s;
    if (parent) parent.appendChild(e);
    return e;
  }

  // Numbers: 3 significant digits, trailing zeros dropped; times with their unit.
  function num(x) {
    if (x === 0) return '0';
    var a = Math.abs(x);
    if (a >= 1e6) return trim((x / 1e6).toPrecision(3)) + 'M';
    if (a >= 1e4) return trim((x / 1e3).toPrecision(3)) + 'k';
    return trim(x.toPrecision(3));
  }
  function trim(s) { return s.indexOf('e') >= 0 ? String(parseFloat(s)) : (s.indexOf('.') < 0 ? s : s.replace(/0+$/, '').replace(/\.$/, '')); }
  function fmtTime(s) {
    var a = Math.abs(s);
    if (a >= 1) return num(s) + ' s';
    if (a >= 1e-3) return num(s * 1e3) + ' ms';
    if (a >= 1e-6) return num(s * 1e6) + ' \u00b5s';
    return num(s * 1e9) + ' ns';
  }

  // Log axis ticks: the decades; on a narrow range also 2x and 5x, then every digit; at the
  // least both ends.
  function logTicks(lo, hi) {
    var out = [], k0 = Math.floor(Math.log10(lo)), k1 = Math.ceil(Math.log10(hi));
    function pick(mults) {
      var t = [];
      for (var k = k0; k <= k1; k++) mults.forEach(function (m) {
        var v = m * Math.pow(10, k);
        if (v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9)) t.push(v);
      });
      return t;
    }
    out = pick([1]);
    if (out.length < 3) out = pick([1, 2, 5]);
    if (out.length < 3) out = pick([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    if (out.length < 2) out = [lo, hi];
    return out;
  }
  function linTicks(lo, hi) {
    var span = hi - lo || Math.abs(hi) || 1, step = Math.pow(10, Math.floor(Math.log10(span / 5)));
    [1, 2, 5, 10].some(function (m) { if (span / (m * step) <= 6) { step = m * step; return true; } return false; });
    var t = [];
    for (var v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) t.push(Math.abs(v) < step * 1e-9 ? 0 : v);
    return t;
  }
  function scale(lo, hi, a, b, log) {
    if (log) { lo = Math.log10(lo); hi = Math.log10(hi); }
    if (hi === lo) { lo -= 0.5; hi += 0.5; }
    var f = function (v) { return a + ((log ? Math.log10(v) : v) - lo) / (hi - lo) * (b - a); };
    return f;
  }
  function extent(vals, log, pad) {
    var v = vals.filter(function (x) { return isFinite(x) && (!log || x > 0); });
    if (!v.length) return null;
    var lo = Math.min.apply(null, v), hi = Math.max.apply(null, v);
    if (log) { var f = Math.pow(10, pad); return lo === hi ? [lo / 2, hi * 2] : [lo / f, hi * f]; }
    var d = (hi - lo) || Math.abs(hi) || 1;
    return [lo - d * pad, hi + d * pad];
  }

  // A panel: frame, ticks with labels, axis titles; returns the x and y scales.
  function panel(svg, o) {
    var x0 = M.l, x1 = W - M.r, y0 = H - M.b, y1 = M.t;
    var sx = scale(o.x[0], o.x[1], x0, x1, o.xlog), sy = scale(o.y[0], o.y[1], y0, y1, o.ylog);
    var axes = el('g', {'class': 'axes'}, svg);
    el('rect', {x: x0, y: y1, width: x1 - x0, height: y0 - y1, fill: 'none', stroke: '#999'}, axes);
    var xt = o.xticks || (o.xlog ? logTicks : linTicks)(o.x[0], o.x[1]);
    var yt = o.yticks || (o.ylog ? logTicks : linTicks)(o.y[0], o.y[1]);
    xt.forEach(function (v) {
      var x = sx(v);
      el('line', {x1: x, x2: x, y1: y0, y2: y1, stroke: '#eee'}, axes);
      text(axes, x, y0 + 15, (o.xfmt || num)(v), {'class': 'tick x', 'text-anchor': 'middle'});
    });
    yt.forEach(function (v) {
      var y = sy(v);
      el('line', {x1: x0, x2: x1, y1: y, y2: y, stroke: '#eee'}, axes);
      text(axes, x0 - 5, y + 4, (o.yfmt || num)(v), {'class': 'tick y', 'text-anchor': 'end'});
    });
    text(axes, (x0 + x1) / 2, H - 8, o.xlabel, {'class': 'axis-label', 'text-anchor': 'middle'});
    text(axes, 14, (y0 + y1) / 2, o.ylabel, {'class': 'axis-label', 'text-anchor': 'middle',
                                          transform: 'rotate(-90 14 ' + (y0 + y1) / 2 + ')'});
    if (o.title) text(axes, (x0 + x1) / 2, 18, o.title, {'class': 'chart-title', 'text-anchor': 'middle'});
    return {x: sx, y: sy};
  }
  function newChart(parent, name, caption) {
    var fig = html('figure', 'rs-chart', parent);
    fig.dataset.chart = name;
    var svg = el('svg', {viewBox: '0 0 ' + W + ' ' + H, role: 'img', 'aria-label': caption}, fig);
    if (caption) html('figcaption', '', fig, caption);
    return svg;
  }
  function legend(parent, items) {
    var box = html('div', 'rs-legend', parent);
    items.forEach(function (it) {
      var s = html('span', 'rs-key', box);
      var sw = html('span', 'rs-swatch', s);
      sw.style.background = it.color;
      s.appendChild(document.createTextNode(it.label));
    });
    return box;
  }
  var MODEL = {};
  D.models.forEach(function (m) { MODEL[m.label] = m; });
  function name(label) { return (MODEL[label] || {}).name || label; }
  function color(label) { return (MODEL[label] || {}).color || '#555'; }

  // ---------------------------------------------------------------- latency vs ridge point
  function ridgeChart(parent, C) {
    var xs = [], ys = [];
    C.series.forEach(function (s) { xs = xs.concat(s.ridge_point); ys = ys.concat(s.latency_s); });
    C.profiles.forEach(function (p) { xs.push(p.ridge_point); p.points.forEach(function (q) { ys.push(q.latency_s); }); });
    var xe = extent(xs, true, 0), ye = extent(ys, true, 0.05);
    if (!xe || !ye) return;
    var svg = newChart(parent, 'latency_vs_ridge_point', C.caption);
    var s = panel(svg, {x: xe, y: ye, xlog: true, ylog: true, xlabel: 'Ridge point (MAC/byte)',
                        ylabel: 'Roofline latency', yfmt: fmtTime, title: 'Roofline latency vs ridge point'});
    C.profiles.forEach(function (p) {
      var g = el('g', {'class': 'profile', 'data-profile': p.name}, svg), x = s.x(p.ridge_point);
      var ln = el('line', {x1: x, x2: x, y1: M.t, y2: H - M.b, stroke: '#888', 'stroke-dasharray': '2 3'}, g);
      tip(ln, p.name + ' (RP ' + num(p.ridge_point) + ')');
      p.points.forEach(function (q, i) {
        var y = s.y(q.latency_s), r = 4;
        var mk = el('path', {'class': 'pt profile-pt', d: 'M' + (x - r) + ',' + (y - r) + 'L' + (x + r) + ',' + (y + r) +
                             'M' + (x - r) + ',' + (y + r) + 'L' + (x + r) + ',' + (y - r),
                             stroke: color(q.model), 'stroke-width': 2, 'data-model': q.model}, g);
        tip(mk, name(q.model) + ' on ' + p.name + ' (RP ' + num(p.ridge_point) + ', own peak and bandwidth): ' +
            fmtTime(q.latency_s) + ' (roofline bound)');
      });
    });
    C.series.forEach(function (sr) {
      var g = el('g', {'class': 'series', 'data-model': sr.model}, svg), d = '';
      sr.ridge_point.forEach(function (rp, i) { d += (i ? 'L' : 'M') + s.x(rp).toFixed(1) + ',' + s.y(sr.latency_s[i]).toFixed(1); });
      var path = el('path', {d: d, fill: 'none', stroke: color(sr.model), 'stroke-width': 1.8,
                             'data-points': sr.ridge_point.length}, g);
      tip(path, name(sr.model) + ': roofline latency from ' + fmtTime(sr.latency_s[0]) + ' (RP ' + num(sr.ridge_point[0]) +
          ') to ' + fmtTime(sr.latency_s[sr.latency_s.length - 1]) + ' (RP ' + num(sr.ridge_point[sr.ridge_point.length - 1]) + ')');
      (sr.marks || []).forEach(function (i) {  // the sweep's named points, hoverable
        var c = el('circle', {'class': 'pt curve-pt', cx: s.x(sr.ridge_point[i]), cy: s.y(sr.latency_s[i]), r: 2.5,
                              fill: color(sr.model)}, g);
        tip(c, name(sr.model) + ' at RP ' + num(sr.ridge_point[i]) + ': ' + fmtTime(sr.latency_s[i]));
      });
    });
    legend(parent, C.series.map(function (sr) { return {label: name(sr.model), color: color(sr.model)}; }));
  }

  // ---------------------------------------------------------------- per-layer latency dots
  function layerCharts(parent, L) {
    if (!L.panels.length) return;
    var grid = html('div', 'rs-chart-grid', parent);
    L.panels.forEach(function (p) {
      var ys = p.time_s.map(function (t) { return t * 1e6; });
      var n = p.index.length, ye = extent(ys.concat([0]), false, 0.05);
      if (!ye) return;
      ye[0] = 0;
      var svg = newChart(grid, 'layer_latency', '');
      svg.setAttribute('data-model', p.model);
      svg.setAttribute('data-point', p.point);
      var s = panel(svg, {x: [-0.5, Math.max(n - 0.5, 0.5)], y: ye, xlabel: 'Layer index',
                          ylabel: 'Latency per layer (\u00b5s)', title: name(p.model) + ' \u2013 ' + p.title});
      var g = el('g', {'class': 'dots'}, svg);
      p.index.forEach(function (ix, i) {
        var op = p.op_type[i];
        var c = el('circle', {'class': 'pt layer-pt', cx: s.x(i), cy: s.y(ys[i]), r: 2.6, fill: L.op_colors[op] || '#555',
                              'data-op': op}, g);
        tip(c, name(p.model) + ' \u00b7 #' + ix + ' ' + p.name[i] + ' (' + (L.op_labels[op] || op) + ') at ' +
            p.point + ': ' + fmtTime(p.time_s[i]));
      });
    });
    legend(parent, L.ops.map(function (op) { return {label: L.op_labels[op] || op, color: L.op_colors[op] || '#555'}; }));
    html('p', 'muted', parent, L.caption);
  }

  // ---------------------------------------------------------------- accuracy vs latency
  function accuracyCharts(parent, A) {
    if (!A.panels.length) return;
    var grid = html('div', 'rs-chart-grid', parent);
    A.panels.forEach(function (p) {
      var xe = extent(p.latency_s, true, 0.08), ye = extent(p.top1, false, 0.1);
      if (!xe || !ye) return;
      var svg = newChart(grid, 'accuracy_vs_latency', '');
      svg.setAttribute('data-point', p.point);
      var s = panel(svg, {x: xe, y: ye, xlog: true, xlabel: 'Roofline latency', xfmt: fmtTime,
                          ylabel: 'ImageNet-1k top-1 (%)', title: p.title});
      var front = p.model.map(function (m, i) { return i; }).filter(function (i) { return p.on_frontier[i]; })
        .sort(function (a, b) { return p.latency_s[a] - p.latency_s[b]; });
      if (front.length > 1) {
        var d = front.map(function (i, k) { return (k ? 'L' : 'M') + s.x(p.latency_s[i]).toFixed(1) + ',' + s.y(p.top1[i]).toFixed(1); }).join('');
        tip(el('path', {'class': 'frontier', d: d, fill: 'none', stroke: '#333', 'stroke-dasharray': '4 3'}, svg),
            'Pareto frontier at ' + p.point);
      }
      var g = el('g', {'class': 'dots'}, svg);
      p.model.forEach(function (m, i) {
        var c = el('circle', {'class': 'pt acc-pt', cx: s.x(p.latency_s[i]), cy: s.y(p.top1[i]), r: 4,
                              fill: color(m), stroke: p.on_frontier[i] ? '#000' : 'none', 'data-model': m}, g);
        tip(c, name(m) + ' (top-1 ' + p.top1[i].toFixed(1) + ' %) at ' + p.point + ': ' + fmtTime(p.latency_s[i]) +
            (p.on_frontier[i] ? ', on the Pareto frontier' : ''));
      });
    });
    legend(parent, A.families.map(function (f) { return {label: f.family, color: f.color}; }));
    html('p', 'muted', parent, A.caption);
  }

  if (D.curve) ridgeChart(html('div', 'rs-chart-block', root), D.curve);
  if (D.accuracy) accuracyCharts(html('div', 'rs-chart-block', root), D.accuracy);
  if (D.layers) layerCharts(html('div', 'rs-chart-block', root), D.layers);
})();
