"""One self-contained HTML page per report, rendered from the Jinja2 templates in ``templates/``.

Nothing is fetched when the page is opened: the charts are drawn by the page's own script
(``assets/charts.js``) from a ``<script type="application/json">`` block (``html_charts``); figure
files asked for (``--figures``) are inline SVG (their hover text kept as SVG
``<title>`` tooltips) or base64 PNG; the CSS and scripts (``templates/assets/``) are inlined; the
explorer's data is a ``<script type="application/json">`` block. Autoescaping is on: every
string from outside the code - model, profile and layer names, YAML fields, the command line,
notes - is escaped by Jinja; the scripts read names only as text (``textContent``).

This module only renders: what the page shows is chosen in ``html_view`` / ``html_findings``
and formatted there with ``roofsweep.units``.
"""

from __future__ import annotations

import base64
import math
import re
from functools import lru_cache
from importlib import resources

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup, escape

from roofsweep.report.data import ReportData
from roofsweep.report.html_findings import how_to_read, key_findings
from roofsweep.report.html_tables import dataframe_view, layer_view
from roofsweep.report.html_view import (
    DOMINANT_TOP,
    device_view,
    dominant_views,
    duplicate_profiles,
    frontier_view,
    layer_blocks,
    model_labels,
    rp_sweep_view,
    script_json,
    summarised,
)

EXPLORER_STOPS = (0.0, 5.0, 50.0, 500.0)  # buttons under the slider (the paper's points)


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(loader=PackageLoader("roofsweep.report", "templates"), autoescape=True,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.globals["table_rows"] = table_rows
    return env


_STAR = ' <span class="frontier" title="on the Pareto frontier">&#9733;</span>'


def table_rows(rows) -> Markup:
    """The ``<tr>`` rows of a table body, every value escaped: the markup of the ``cell`` macro
    in ``_macros.html.j2``, written here because a macro call per cell was most of a page's
    rendering time (a one-model sweep has ~20 000 cells)."""
    out = []
    for row in rows:
        out.append("<tr>")
        for x in row:
            out.append("<td")
            if x.cls:
                out.append(f' class="{escape(x.cls)}"')
            if x.sort is not None:
                out.append(f' data-sort="{escape(x.sort)}"')
            if x.title:
                out.append(f' title="{escape(x.title)}"')
            out.append(f">{escape(x.text)}{_STAR if x.star else ''}</td>")
        out.append("</tr>")
    return Markup("".join(out))


@lru_cache(maxsize=None)
def asset(name: str) -> Markup:
    """A CSS/JS file shipped in ``templates/assets`` (our own code: inlined as is)."""
    return Markup(resources.files("roofsweep.report").joinpath("templates", "assets", name).read_text("utf-8"))


# ----------------------------------------------------------------------------- figures
_SVG_START = re.compile(r"<svg[\s>]", re.I)
_UNSAFE_SVG = re.compile(r"<\s*script|<\s*foreignObject|\bon[a-z]+\s*=|javascript:", re.I)


def figure_item(name: str, fig: str | bytes, caption: str = "", fig_id: str = "") -> dict:
    """What the figure macro renders: an SVG (text) to inline, or a data URI for an ``<img>``
    (a PNG, or SVG text that could run script - browsers never run script in an image)."""
    label = caption or name
    if isinstance(fig, (bytes, bytearray)):
        return {"id": fig_id, "label": label, "svg": None,
                "src": "data:image/png;base64," + base64.b64encode(bytes(fig)).decode()}
    m = _SVG_START.search(fig)
    svg = fig[m.start():] if m else fig
    svg = re.sub(r"<metadata>.*?</metadata>", "", svg, flags=re.S)
    if _UNSAFE_SVG.search(svg):
        return {"id": fig_id, "label": label, "svg": None,
                "src": "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode()}
    aria = Markup('<svg role="img" aria-label="{}"').format(label)
    return {"id": fig_id, "label": label, "svg": Markup(svg.replace("<svg", aria, 1)), "src": ""}


def figure_html(name: str, fig: str | bytes, caption: str = "", fig_id: str = "") -> str:
    return environment().get_template("figure.html.j2").render(f=figure_item(name, fig, caption, fig_id))


def dataframe_table(df, columns=None, *, table_id: str = "", caption: str = "") -> str:
    """A sortable ``<table>`` of ``df`` (numbers formatted by roofsweep.units, sorted by value)."""
    view = dataframe_view(df, columns, table_id=table_id, caption=caption)
    return environment().get_template("table.html.j2").render(view=view)


def layer_table_html(df, table_id: str = "") -> str:
    return environment().get_template("table.html.j2").render(view=layer_view(df, table_id))


def sweep_tables_html(sweep_df) -> str:
    """The ridge-point sweep and hardware-profile tables, points as rows."""
    tpl = environment().get_template("table.html.j2")
    return "".join(tpl.render(view=v) for v in (rp_sweep_view(sweep_df), device_view(sweep_df)) if v is not None)


def slug(text: str) -> str:
    s = re.sub(r"[^A-Za-z0-9._-]+", "-", str(text)).strip("-.")
    return s or "x"


# -------------------------------------------------------------------------------- page
def _explorer(report: ReportData) -> dict | None:
    data = report.explorer
    if not data or not data.get("models"):
        return None
    spd, lo, hi = data["steps_per_decade"], data["rp_min"], data["rp_max"]
    max_pos = 1 + round(spd * math.log10(hi / lo))

    def pos(rp: float) -> int:
        return 0 if rp <= 0 else max(1, min(max_pos, 1 + round(spd * math.log10(rp / lo))))

    stops = [("RP 0" if rp == 0 else f"RP {rp:g}", pos(rp)) for rp in EXPLORER_STOPS if rp <= hi]
    return {"json": Markup(script_json(data)), "max_pos": max_pos, "start_pos": pos(5.0), "stops": stops,
            "n_models": len(data["models"]), "preset": data.get("preset", ""), "dtype": data.get("dtype", "")}


def _summary_rows(report: ReportData) -> list[tuple[str, str, bool]]:
    rows = [("command", report.command or "-", bool(report.command)), ("preset", report.preset or "-", False),
            ("created", report.created_str(), False), ("roofsweep version", report.version, False),
            ("models", ", ".join(report.model_names()) or "-", False),
            ("profiles", ", ".join(report.profile_names()) or "-", False)]
    return rows + [(str(k), str(v), False) for k, v in report.summary]


def page_context(report: ReportData) -> dict:
    """Everything the page template renders, computed from ``report``."""
    sweep_df = report.sweep_df if report.sweep_df is not None and not report.sweep_df.empty else None
    sweep_df, n_rps = summarised(sweep_df)
    explorer = _explorer(report)
    data = report.explorer or {}
    howto = how_to_read(sweep_df, data.get("bandwidth_bytes_per_s"), data.get("rp0_peak_macs_per_s"))
    # What the analysis already decided, where the report carries it (Analysis.same_as / .dominant).
    same = duplicate_profiles(sweep_df, getattr(report, "same_as", None))
    sv, dv = rp_sweep_view(sweep_df, same, n_rps), device_view(sweep_df, same)
    fv = frontier_view(report.frontier_share, sweep_df)
    labels = model_labels(sweep_df)
    dominant = dominant_views(report.layer_tables, labels, getattr(report, "dominant", None))
    figures = [figure_item(name, fig, report.figure_captions.get(name, ""), f"fig-{slug(name)}")
               for name, fig in report.figures.items()]
    charts = Markup(script_json(report.charts)) if report.charts else None
    stars = any(c.star for v in (sv, dv) if v is not None for row in v.rows for c in row)
    ctx = {
        "r": report, "css": asset("report.css"),
        "js": Markup("\n").join([asset("sort.js"), asset("explorer.js")] + ([asset("charts.js")] if charts else [])),
        "charts": charts,
        "howto": howto if (sweep_df is not None or explorer) else None,
        "findings": key_findings(sweep_df, report.layer_tables, report.frontier_share),
        "explorer": explorer, "sweep_view": sv, "device_view": dv, "stars": stars, "frontier_view": fv,
        "figures": figures, "dominant": dominant, "dominant_top": DOMINANT_TOP,
        "layers": layer_blocks(report.layer_tables), "summary": _summary_rows(report),
    }
    nav = [("howto", "How to read", ctx["howto"]), ("findings", "Findings", ctx["findings"]),
           ("notes", "Notes", report.notes), ("sweep", "Sweep", sv or dv), ("frontier", "Frontier", fv),
           ("explorer", "Explorer", explorer), ("charts", "Charts", charts), ("figures", "Figures", figures),
           ("dominant", "Dominant layers", dominant), ("layers", "Layers", ctx["layers"]),
           ("summary", "Summary", True)]
    ctx["nav"] = [(k, text) for k, text, shown in nav if shown]
    return ctx


def render_html(report: ReportData) -> str:
    """The whole report as one HTML document (a string; the caller writes it)."""
    return environment().get_template("page.html.j2").render(**page_context(report))


__all__ = ["render_html", "dataframe_table", "figure_html", "figure_item", "sweep_tables_html", "layer_table_html",
           "slug", "page_context"]
