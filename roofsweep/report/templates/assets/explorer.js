// Ridge-point explorer: recomputes the roofline of every embedded layer at the slider's RP.
// The same float64 operations as roofsweep.engine (sweep.point_rates, roofline.layer_times,
// the sweep's per-model sums), so the numbers equal the engine's:
//   RP > 0: bandwidth = sweep bandwidth, peak = RP x bandwidth; RP 0: peak = rp0 peak, bandwidth = inf
//   MAC time = MACs / peak, memory time = bytes / bandwidth, time = max of the two,
//   compute-bound iff MAC time >= memory time and MACs > 0; latency = sum of layer times in order.
// Formatting mirrors roofsweep.units (fmt_time, fmt_rate, fmt_bandwidth, fmt_percent) digit for digit.
(function () {
  var node = document.getElementById('rs-explorer-data');
  if (!node) return;
  var D = JSON.parse(node.textContent);
  var slider = document.getElementById('rs-rp');
  var out = document.getElementById('rs-rp-value');
  var select = document.getElementById('rs-model');
  var modelsBody = document.getElementById('rs-explorer-models').tBodies[0];
  var layersTable = document.getElementById('rs-explorer-layers');
  var chosen = 0;

  // Python's decimal formatting, digit for digit: format(x, '.Ng') and format(x, '.Nf'), exact
  // decimal expansion (toExponential(99) is exact enough for any double to decide a rounding)
  // and ties to even, as CPython rounds.
  function expand(x) {
    var s = Math.abs(x).toExponential(99), at = s.indexOf('e');
    return {d: s[0] + s.slice(2, at), e: parseInt(s.slice(at + 1), 10)};
  }
  function roundKeep(d, k) {  // the first k digits of d, rounded half-even; may grow to k + 1
    if (k >= d.length) return d + '0'.repeat(k - d.length);
    var kept = d.slice(0, k), rest = d.slice(k), last = k > 0 ? kept.charCodeAt(k - 1) - 48 : 0;
    var up = rest[0] > '5' || (rest[0] === '5' && (/[1-9]/.test(rest.slice(1)) || last % 2 === 1));
    if (!up) return kept;
    return (BigInt(kept || '0') + 1n).toString().padStart(k, '0');
  }
  function trimZeros(t) { return t.indexOf('.') < 0 ? t : t.replace(/0+$/, '').replace(/\.$/, ''); }
  function fmtG(x, p) {
    if (x === 0) return '0';
    if (!isFinite(x)) return x > 0 ? 'inf' : (x < 0 ? '-inf' : 'nan');
    var E = expand(x), digits = roundKeep(E.d, p), exp = E.e, s;
    if (digits.length > p) { digits = digits.slice(0, p); exp += 1; }
    if (exp >= -4 && exp < p) {
      s = exp >= 0 ? digits.slice(0, exp + 1) + '.' + digits.slice(exp + 1) : '0.' + '0'.repeat(-exp - 1) + digits;
      s = trimZeros(s);
    } else {
      var a = Math.abs(exp);
      s = trimZeros(digits[0] + '.' + digits.slice(1)) + 'e' + (exp < 0 ? '-' : '+') + (a < 10 ? '0' : '') + a;
    }
    return (x < 0 ? '-' : '') + s;
  }
  function fmtF(x, n) {
    if (!isFinite(x)) return x > 0 ? 'inf' : (x < 0 ? '-inf' : 'nan');
    var N = '0';
    if (x !== 0) {
      var E = expand(x), k = E.e + 1 + n;
      N = k < 0 ? '0' : roundKeep(E.d, k) || '0';
    }
    N = N.padStart(n + 1, '0');
    var s = n > 0 ? N.slice(0, N.length - n) + '.' + N.slice(N.length - n) : N;
    return (x < 0 || (x === 0 && 1 / x < 0) ? '-' : '') + s;
  }
  function fmtTime(t) {
    if (t !== t) return '-';
    if (!isFinite(t)) return 'inf';
    var a = Math.abs(t);
    if (a >= 1) return fmtG(t, 3) + ' s';
    if (a >= 1e-3) return fmtG(t * 1e3, 3) + ' ms';
    if (a >= 1e-6) return fmtG(t * 1e6, 3) + ' us';
    return fmtG(t * 1e9, 3) + ' ns';
  }
  var SI = [[1e15, 'P'], [1e12, 'T'], [1e9, 'G'], [1e6, 'M'], [1e3, 'k']];
  function fmtSI(v, unit) {
    if (v !== v) return '-';
    if (!isFinite(v)) return 'inf';
    for (var i = 0; i < SI.length; i++) {
      if (Math.abs(v) >= SI[i][0]) return fmtG(v / SI[i][0], 3) + ' ' + SI[i][1] + unit;
    }
    return (fmtG(v, 3) + ' ' + unit).trim();
  }
  function fmtPercent(f) { return f !== f ? '-' : fmtF(f * 100, 0) + '%'; }  // f"{f * 100:.0f}%"
  function fmtTop1(v) { return v === null ? '-' : fmtF(v, 1) + '%'; }
  window.roofsweepFormat = {g: fmtG, f: fmtF, time: fmtTime, si: fmtSI, percent: fmtPercent};

  function rpAt(pos) {  // slider position -> RP: 0 at the end stop, then log steps, 3 digits
    if (pos <= 0) return 0;
    return Number((D.rp_min * Math.pow(10, (pos - 1) / D.steps_per_decade)).toPrecision(3));
  }
  function rates(rp) {
    if (rp === 0) return [D.rp0_peak_macs_per_s, Infinity];
    return [rp * D.bandwidth_bytes_per_s, D.bandwidth_bytes_per_s];
  }
  function evaluate(m, peak, bw) {
    var L = m.layers, n = L.macs.length, time = new Array(n), mt = new Array(n), me = new Array(n);
    var bound = new Array(n), total = 0, mem = 0, macs = 0, bytes = 0;
    for (var i = 0; i < n; i++) {
      mt[i] = L.macs[i] / peak;
      me[i] = L.bytes[i] / bw;
      time[i] = Math.max(mt[i], me[i]);
      var compute = mt[i] >= me[i] && L.macs[i] > 0;
      bound[i] = compute ? 'compute' : 'memory';
      total += time[i];
      if (!compute) mem += time[i];
      macs += L.macs[i];
      bytes += L.bytes[i];
    }
    return {time: time, mac_time: mt, mem_time: me, bound: bound, latency: total,
            mac_time_s: macs / peak, mem_time_s: bytes / bw, memory_bound_fraction: total > 0 ? mem / total : 0};
  }
  function onFrontier(res) {  // engine.pareto._on_frontier
    return D.models.map(function (mi, i) {
      var ai = mi.top1, li = res[i].latency;
      if (ai === null || li !== li) return false;
      return !D.models.some(function (mj, j) {
        var aj = mj.top1, lj = res[j].latency;
        if (aj === null || lj !== lj) return false;
        return (aj >= ai && lj < li) || (aj > ai && lj <= li);
      });
    });
  }
  function setNum(td, v, text) {
    td.textContent = text;
    td.setAttribute('data-value', String(v));
    td.setAttribute('data-sort', isFinite(v) ? String(v) : (v > 0 ? 'Infinity' : ''));
  }
  function td(row, cls) { var c = row.insertCell(-1); if (cls) c.className = cls; return c; }

  function buildModels() {
    D.models.forEach(function (m) {
      var row = modelsBody.insertRow(-1);
      var c = td(row); c.textContent = m.name; c.title = m.label;
      c = td(row, 'num'); c.textContent = fmtTop1(m.top1); c.setAttribute('data-sort', m.top1 === null ? '' : String(m.top1));
      for (var k = 0; k < 4; k++) td(row, 'num');
    });
  }
  function buildLayers() {
    var body = layersTable.tBodies[0], m = D.models[chosen];
    while (body.rows.length) body.deleteRow(0);
    Array.prototype.forEach.call(layersTable.tHead.rows[0].cells, function (h) { h.removeAttribute('aria-sort'); });
    m.layers.name.forEach(function (name, i) {
      var row = body.insertRow(-1);
      row.setAttribute('data-index', String(i));
      td(row); td(row, 'num');
      var c = td(row, 'num'); c.textContent = String(i); c.setAttribute('data-sort', String(i));
      td(row).textContent = name;
      td(row).textContent = m.layers.op_type[i];
      td(row, 'num'); td(row, 'num'); td(row, 'num');
    });
    document.getElementById('rs-layers-title').textContent = 'Layers of ' + m.name;
  }
  function update() {
    var pos = Number(slider.value), rp = rpAt(pos), r = rates(rp), peak = r[0], bw = r[1];
    var label = rp === 0 ? 'MACs only (RP 0)' : 'RP ' + String(rp) + ' MAC/byte';
    out.textContent = label;
    out.setAttribute('data-rp', String(rp));
    slider.setAttribute('aria-valuetext', label);
    document.getElementById('rs-rates').textContent = rp === 0
      ? 'peak ' + fmtSI(peak, 'MAC/s') + ', memory free'
      : 'peak = RP x bandwidth = ' + fmtSI(peak, 'MAC/s') + ', bandwidth ' + fmtSI(bw, 'B/s');
    var res = D.models.map(function (m) { return evaluate(m, peak, bw); });
    var star = D.models.filter(function (m) { return m.top1 !== null; }).length > 1 ? onFrontier(res) : null;
    Array.prototype.forEach.call(modelsBody.rows, function (row, i) {
      var x = res[i], c = row.cells;
      setNum(c[2], x.latency, fmtTime(x.latency));
      if (star && star[i]) {
        var s = document.createElement('span');
        s.className = 'frontier'; s.title = 'on the Pareto frontier'; s.textContent = ' \u2605';
        c[2].appendChild(s);
      }
      c[2].setAttribute('data-frontier', star ? String(star[i]) : '');
      setNum(c[3], x.mac_time_s, fmtTime(x.mac_time_s));
      setNum(c[4], x.mem_time_s, fmtTime(x.mem_time_s));
      setNum(c[5], x.memory_bound_fraction, fmtPercent(x.memory_bound_fraction));
    });
    var x = res[chosen];
    Array.prototype.forEach.call(layersTable.tBodies[0].rows, function (row) {
      var i = Number(row.getAttribute('data-index')), c = row.cells;
      c[0].textContent = x.bound[i];
      c[0].className = 'bound-' + x.bound[i];
      var share = x.latency > 0 ? x.time[i] / x.latency : 0;
      setNum(c[1], share, fmtPercent(share));
      setNum(c[5], x.time[i], fmtTime(x.time[i]));
      setNum(c[6], x.mac_time[i], fmtTime(x.mac_time[i]));
      setNum(c[7], x.mem_time[i], fmtTime(x.mem_time[i]));
    });
    if (window.roofsweepResort) {
      window.roofsweepResort(layersTable);
      window.roofsweepResort(document.getElementById('rs-explorer-models'));
    }
  }
  if (select) {
    D.models.forEach(function (m, i) {
      var o = document.createElement('option'); o.value = String(i); o.textContent = m.name; select.appendChild(o);
    });
    select.addEventListener('change', function () { chosen = Number(select.value); buildLayers(); update(); });
  }
  document.querySelectorAll('.rp-stops button').forEach(function (b) {
    b.addEventListener('click', function () { slider.value = b.getAttribute('data-pos'); update(); });
  });
  slider.addEventListener('input', update);
  buildModels();
  buildLayers();
  update();
})();
