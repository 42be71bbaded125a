"""One self-contained HTML page per report: summary, figures, sweep and per-layer tables.

Nothing is fetched when the page is opened: figures are inline SVG (their hover text kept as SVG
``<title>`` tooltips) or base64 PNG, CSS and the small table-sorting script are inline, no CDN.
Every string that comes from outside the code - model, profile and layer names, YAML fields,
the command line, notes - goes through ``html.escape``; nothing user-provided is written into the
script, which reads numbers only from ``data-sort`` attributes.
"""

from __future__ import annotations

import base64
import math
import re
from collections.abc import Callable, Sequence
from html import escape

import pandas as pd

from roofsweep.report.data import ReportData
from roofsweep.units import (
    fmt_bandwidth,
    fmt_bytes,
    fmt_count,
    fmt_intensity,
    fmt_macs,
    fmt_percent,
    fmt_rate,
    fmt_time,
)


def _e(v: object) -> str:
    return escape(str(v), quote=True)


def _num(v) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) else f


def _g(v) -> str:
    f = _num(v)
    return "-" if f is None else f"{f:g}"


def _top1(v) -> str:
    f = _num(v)
    return "-" if f is None else f"{f:.1f}%"


# column -> (header, formatter); a formatter turns the raw value into display text, the raw
# value itself becomes the cell's data-sort key.
COLUMN_FORMATS: dict[str, tuple[str, Callable[[object], str]]] = {
    "index": ("#", lambda v: str(v)),
    "macs": ("MACs", fmt_macs),
    "weight_elems": ("weight elems", fmt_count),
    "input_elems": ("input elems", fmt_count),
    "output_elems": ("output elems", fmt_count),
    "weight_bytes": ("weight bytes", fmt_bytes),
    "activation_bytes": ("activation bytes", fmt_bytes),
    "bytes": ("bytes", fmt_bytes),
    "intensity_macs_per_byte": ("intensity", fmt_intensity),
    "mac_time_s": ("MAC time", fmt_time),
    "mem_time_s": ("memory time", fmt_time),
    "time_s": ("time", fmt_time),
    "time_share": ("share", fmt_percent),
    "latency_s": ("latency", fmt_time),
    "ridge_point": ("RP (MAC/B)", _g),
    "peak_macs_per_s": ("peak", fmt_rate),
    "bandwidth_bytes_per_s": ("bandwidth", fmt_bandwidth),
    "memory_bound_fraction": ("memory-bound", fmt_percent),
    "compute_bound_fraction": ("compute-bound", fmt_percent),
    "top1": ("top-1", _top1),
    "width": ("width", _g),
    "resolution": ("resolution", _g),
}

LAYER_COLUMNS = ("index", "name", "op_type", "activation", "macs", "weight_bytes", "activation_bytes", "bytes",
                 "intensity_macs_per_byte", "mac_time_s", "mem_time_s", "time_s", "time_share", "bound",
                 "input_shape", "output_shape")
LAYER_COLUMNS_UNCOSTED = ("index", "name", "op_type", "activation", "macs", "weight_elems", "input_elems",
                          "output_elems", "input_shape", "output_shape")

CSS = """
:root { --fg:#1d232a; --muted:#5b6670; --line:#d9dee3; --head:#f1f4f7; --accent:#b3261e; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif;
       color: var(--fg); margin: 0 auto; padding: 1.2rem 1.6rem 4rem; max-width: 1500px; }
h1 { font-size: 1.6rem; margin: 0 0 .3rem; } h2 { font-size: 1.25rem; margin: 2rem 0 .6rem;
       border-bottom: 1px solid var(--line); padding-bottom: .2rem; }
nav a { margin-right: 1rem; color: var(--muted); }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
th, td { border-bottom: 1px solid var(--line); padding: .25rem .6rem; text-align: left; vertical-align: top; }
td.num, th.num { text-align: right; } td.num, #sweep-table td:first-child { white-space: nowrap; }
table.kv th { color: var(--muted); font-weight: 600; white-space: nowrap; }
table.kv td { word-break: break-word; }
table.sortable thead th { background: var(--head); position: sticky; top: 0; cursor: pointer;
       user-select: none; white-space: nowrap; }
table.sortable thead th:hover { background: #e3e8ee; }
table.sortable thead th::after { content: " \\2195"; color: #a0a8b0; font-size: .8em; }
table.sortable thead th[aria-sort="ascending"]::after { content: " \\25B2"; color: var(--fg); }
table.sortable thead th[aria-sort="descending"]::after { content: " \\25BC"; color: var(--fg); }
table.sortable tbody tr:hover { background: #f7f9fb; }
.scroll { overflow-x: auto; max-height: 70vh; overflow-y: auto; border: 1px solid var(--line); }
.notes { border-left: 4px solid var(--accent); background: #fdf3f2; padding: .5rem 1rem; }
figure.rs-figure { margin: 1rem 0 2rem; }
figure.rs-figure svg, figure.rs-figure img { max-width: 100%; height: auto; display: block; }
figcaption { color: var(--muted); margin-top: .3rem; }
details { margin: .4rem 0; } summary { cursor: pointer; font-weight: 600; padding: .2rem 0; }
.frontier { color: var(--accent); font-weight: 700; }
.muted { color: var(--muted); }
code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: .92em; }
"""

# Sorting: click a header to sort ascending, again for descending. Cells sort by their
# data-sort number when both have one (empty = missing, always last), else by text with
# numeric-aware collation. Stable: ties keep their previous order.
JS = """
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
  function sortBy(table, col, th) {
    var dir = th.getAttribute('aria-sort') === 'ascending' ? 'descending' : 'ascending';
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (h) { h.removeAttribute('aria-sort'); });
    th.setAttribute('aria-sort', dir);
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
  document.querySelectorAll('table.sortable').forEach(function (table) {
    if (!table.tHead) return;
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, col) {
      th.setAttribute('title', 'click to sort');
      th.addEventListener('click', function () { sortBy(table, col, th); });
    });
  });
})();
"""


# ------------------------------------------------------------------------------ tables
def _cell(col: str, value) -> str:
    fmt = COLUMN_FORMATS.get(col)
    if fmt is not None:
        f = _num(value)
        sort = "" if f is None else repr(f) if math.isfinite(f) else ("Infinity" if f > 0 else "-Infinity")
        try:
            text = fmt[1](value) if f is not None or col == "index" else "-"
        except (TypeError, ValueError):
            text = str(value)
        return f'<td class="num" data-sort="{sort}">{_e(text)}</td>'
    if isinstance(value, bool):
        return f"<td>{'yes' if value else 'no'}</td>"
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return '<td data-sort="">-</td>'
    return f"<td>{_e(value)}</td>"


def _th(col: str, header: str | None = None) -> str:
    h = header or COLUMN_FORMATS.get(col, (col,))[0]
    cls = ' class="num"' if col in COLUMN_FORMATS else ""
    return f'<th scope="col"{cls} data-col="{_e(col)}">{_e(h)}</th>'


def dataframe_table(df: pd.DataFrame, columns: Sequence[str] | None = None, *, table_id: str = "",
                    caption: str = "") -> str:
    """A sortable ``<table>`` of ``df``: known numeric columns formatted with roofsweep.units and
    sortable by their raw value; every other cell escaped text."""
    cols = [c for c in (columns or df.columns) if c in df.columns]
    ident = f' id="{_e(table_id)}"' if table_id else ""
    cap = f"<caption>{_e(caption)}</caption>" if caption else ""
    head = "".join(_th(c) for c in cols)
    body = []
    for row in df[cols].itertuples(index=False, name=None):
        body.append("<tr>" + "".join(_cell(c, v) for c, v in zip(cols, row)) + "</tr>")
    return (f'<div class="scroll"><table class="sortable"{ident}>{cap}<thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(body)}</tbody></table></div>")


def _points_in_order(sweep_df: pd.DataFrame) -> list[str]:
    pts = sweep_df.drop_duplicates("point")
    if "ridge_point" in pts:
        pts = pts.sort_values("ridge_point", kind="stable")
    return [str(p) for p in pts["point"]]


def sweep_pivot_html(sweep_df: pd.DataFrame) -> str:
    """Models as rows, one latency column per point (ordered by ridge point); a star marks the
    Pareto frontier at that point."""
    points = _points_in_order(sweep_df)
    first = sweep_df.drop_duplicates("model").set_index("model")
    rp_of = dict(zip(sweep_df["point"].astype(str), sweep_df.get("ridge_point", pd.Series(dtype=float))))
    hw = set(sweep_df.loc[sweep_df.get("hardware", pd.Series("", index=sweep_df.index)).fillna("") != "", "point"].astype(str))
    head = ['<th scope="col">model</th>', '<th scope="col">family</th>', '<th scope="col" class="num">top-1</th>',
            '<th scope="col" class="num">MACs</th>']
    for p in points:
        rp = _num(rp_of.get(p))
        sub = f"profile, RP {'-' if rp is None else f'{rp:.4g}'}" if p in hw else "ridge point"
        head.append(f'<th scope="col" class="num">{_e(p)}<br><span class="muted">{_e(sub)}</span></th>')
    cells = {(str(m), str(p)): r for (m, p), r in
             sweep_df.set_index([sweep_df["model"].astype(str), sweep_df["point"].astype(str)]).iterrows()}
    rows = []
    for m, r in first.iterrows():
        label = r.get("display_name") if isinstance(r.get("display_name"), str) and r.get("display_name") else m
        tds = [f'<td title="{_e(m)}">{_e(label)}</td>', f"<td>{_e(r.get('family', ''))}</td>",
               _cell("top1", r.get("top1")), _cell("macs", r.get("macs"))]
        for p in points:
            c = cells.get((str(m), p))
            if c is None:
                tds.append('<td class="num" data-sort="">-</td>')
                continue
            lat = _num(c["latency_s"])
            star = ' <span class="frontier" title="on the Pareto frontier">&#9733;</span>' if bool(c.get("on_frontier", False)) else ""
            sort = "" if lat is None else repr(lat) if math.isfinite(lat) else "Infinity"
            tip = (f"{label} at {p}: {fmt_time(lat) if lat is not None else '-'}; memory-bound "
                   f"{fmt_percent(_num(c.get('memory_bound_fraction')))}")
            tds.append(f'<td class="num" data-sort="{sort}" title="{_e(tip)}">'
                       f"{_e(fmt_time(lat) if lat is not None else '-')}{star}</td>")
        rows.append("<tr>" + "".join(tds) + "</tr>")
    return (f'<div class="scroll"><table class="sortable" id="sweep-table"><thead><tr>{"".join(head)}</tr></thead>'
            f"<tbody>{''.join(rows)}</tbody></table></div>")


def layer_table_html(df: pd.DataFrame, table_id: str = "") -> str:
    df = df.copy()
    if "time_s" in df:
        total = pd.to_numeric(df["time_s"], errors="coerce").sum()
        df["time_share"] = df["time_s"] / total if total else float("nan")
        cols = LAYER_COLUMNS
    else:
        cols = LAYER_COLUMNS_UNCOSTED
    return dataframe_table(df, cols, table_id=table_id)


# ----------------------------------------------------------------------------- figures
_SVG_START = re.compile(r"<svg[\s>]", re.I)
_UNSAFE_SVG = re.compile(r"<\s*script|<\s*foreignObject|\bon[a-z]+\s*=|javascript:", re.I)


def figure_html(name: str, fig: str | bytes, caption: str = "", fig_id: str = "") -> str:
    """An SVG (text) inlined, or a PNG (bytes) as a base64 ``<img>``. SVG text that could run
    script is embedded as an image instead, where browsers never run it."""
    label = caption or name
    ident = f' id="{_e(fig_id)}"' if fig_id else ""
    if isinstance(fig, (bytes, bytearray)):
        body = (f'<img alt="{_e(label)}" src="data:image/png;base64,{base64.b64encode(bytes(fig)).decode()}">')
    else:
        m = _SVG_START.search(fig)
        svg = fig[m.start():] if m else fig
        svg = re.sub(r"<metadata>.*?</metadata>", "", svg, flags=re.S)
        if _UNSAFE_SVG.search(svg):
            data = base64.b64encode(svg.encode("utf-8")).decode()
            body = f'<img alt="{_e(label)}" src="data:image/svg+xml;base64,{data}">'
        else:
            body = svg.replace("<svg", f'<svg role="img" aria-label="{_e(label)}"', 1)
    return f'<figure class="rs-figure"{ident}>{body}<figcaption>{_e(label)}</figcaption></figure>'


# -------------------------------------------------------------------------------- page
def slug(text: str) -> str:
    s = re.sub(r"[^A-Za-z0-9._-]+", "-", str(text)).strip("-.")
    return s or "x"


def render_html(report: ReportData) -> str:
    """The whole report as one HTML document (a string; the caller writes it)."""
    models, profiles = report.model_names(), report.profile_names()
    kv = [("command", f"<code>{_e(report.command)}</code>" if report.command else "-"),
          ("preset", _e(report.preset or "-")),
          ("created", _e(report.created_str())),
          ("roofsweep version", _e(report.version)),
          ("models", _e(", ".join(models)) or "-"),
          ("profiles", _e(", ".join(profiles)) or "-")]
    kv += [(str(k), _e(v)) for k, v in report.summary]
    summary = "".join(f'<tr><th scope="row">{_e(k)}</th><td>{v}</td></tr>' for k, v in kv)

    parts = [f'<section id="summary"><h2>Run summary</h2><table class="kv">{summary}</table></section>']
    if report.notes:
        items = "".join(f"<li>{_e(n)}</li>" for n in report.notes)
        parts.append(f'<section id="notes"><h2>Notes</h2><div class="notes"><ul>{items}</ul></div></section>')
    nav = [("summary", "Summary")] + ([("notes", "Notes")] if report.notes else [])
    if report.figures:
        figs = "".join(figure_html(name, fig, report.figure_captions.get(name, ""), f"fig-{slug(name)}")
                       for name, fig in report.figures.items())
        parts.append(f'<section id="figures"><h2>Figures</h2>{figs}</section>')
        nav.append(("figures", "Figures"))
    if report.sweep_df is not None and not report.sweep_df.empty:
        parts.append('<section id="sweep"><h2>Latency by model and point</h2>'
                     '<p class="muted">Roofline latency; &#9733; = on the accuracy-latency Pareto frontier at that '
                     "point. Click a header to sort.</p>" + sweep_pivot_html(report.sweep_df) + "</section>")
        nav.append(("sweep", "Sweep"))
    if report.layer_tables:
        blocks = []
        for n, ((model, point), df) in enumerate(report.layer_tables.items()):
            total = pd.to_numeric(df["time_s"], errors="coerce").sum() if "time_s" in df else None
            extra = f", {fmt_time(total)}" if total is not None else ""
            open_attr = " open" if n == 0 else ""
            blocks.append(
                f'<details{open_attr}><summary>{_e(model)} | {_e(point)} <span class="muted">'
                f"({len(df)} layers{_e(extra)})</span></summary>"
                f"{layer_table_html(df, table_id=f'layers-{n}')}</details>")
        parts.append('<section id="layers"><h2>Per-layer tables</h2>' + "".join(blocks) + "</section>")
        nav.append(("layers", "Layers"))
    nav_html = "".join(f'<a href="#{k}">{v}</a>' for k, v in nav)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta name="generator" content="roofsweep {_e(report.version)}">'
        f"<title>{_e(report.title)}</title><style>{CSS}</style></head>\n<body>"
        f"<header><h1>{_e(report.title)}</h1><nav>{nav_html}</nav></header>\n<main>"
        + "\n".join(parts)
        + f"</main>\n<script>{JS}</script>\n</body></html>\n"
    )


__all__ = ["render_html", "dataframe_table", "figure_html", "sweep_pivot_html", "layer_table_html", "slug"]
