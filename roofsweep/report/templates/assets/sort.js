// Sorting: click a header to sort ascending, again for descending. Cells sort by their
// data-sort number when both have one (empty = missing, always last), else by text with
// numeric-aware collation. Stable: ties keep their previous order.
(function () {
  function key(cell) {
    var s = cell.getAttribute('data-sort');
    if (s !== null) {
      if (s === '') return {missing: true};
      var f = parseFloat(s);
      if (!isNaN(f)) return {num: f};
    }
    return {text: cell.textContent.trim()};
  }
  function compare(a, b) {
    if (a.missing || b.missing) return (a.missing ? 1 : 0) - (b.missing ? 1 : 0);
    if (a.num !== undefined && b.num !== undefined) return a.num < b.num ? -1 : (a.num > b.num ? 1 : 0);
    var ta = a.text !== undefined ? a.text : String(a.num), tb = b.text !== undefined ? b.text : String(b.num);
    return ta.localeCompare(tb, undefined, {numeric: true, sensitivity: 'base'});
  }
  function sortRows(table, col, dir) {
    var body = table.tBodies[0];
    var rows = Array.prototype.map.call(body.rows, function (r, i) { return {r: r, i: i, k: key(r.cells[col])}; });
    var sign = dir === 'ascending' ? 1 : -1;
    rows.sort(function (a, b) {
      var c = compare(a.k, b.k);
      if (a.k.missing || b.k.missing) return c || a.i - b.i;  // missing stays last both ways
      return sign * c || a.i - b.i;
    });
    rows.forEach(function (x) { body.appendChild(x.r); });
  }
  function sortBy(table, col, th) {
    var dir = th.getAttribute('aria-sort') === 'ascending' ? 'descending' : 'ascending';
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (h) { h.removeAttribute('aria-sort'); });
    th.setAttribute('aria-sort', dir);
    sortRows(table, col, dir);
  }
  // Re-apply a table's current sort (the explorer calls it after recomputing its cells).
  window.roofsweepResort = function (table) {
    if (!table.tHead) return;
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, col) {
      var dir = th.getAttribute('aria-sort');
      if (dir) sortRows(table, col, dir);
    });
  };
  document.querySelectorAll('table.sortable').forEach(function (table) {
    if (!table.tHead) return;
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, col) {
      th.setAttribute('title', 'click to sort');
      th.addEventListener('click', function () { sortBy(table, col, th); });
    });
  });
})();
