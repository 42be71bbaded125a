"""The HTML report: self-contained, complete, and escaping everything that comes from users."""

from __future__ import annotations

import base64
import functools
import io
import json
import re
from datetime import datetime, timezone
from html.parser import HTMLParser
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import report_fixtures as F
from roofsweep.report import figures as P
from roofsweep.report.data import ReportData
from roofsweep.report.html import environment, figure_html, render_html
from roofsweep.report.html_view import explorer_payload
from roofsweep.units import fmt_percent, fmt_time

EVIL_MODEL = "<script>alert('model')</script>"
EVIL_PROFILE = '"><img src=x onerror=alert(1)>'
EVIL_LAYER = "blocks.0</td></script><script>alert('layer')</script>"


@functools.lru_cache(maxsize=1)
def _figures() -> tuple[str, bytes]:
    """One figure as SVG text and PNG bytes, drawn once for the module."""
    fig, ax = P.new_figure()
    P.plot_latency_vs_ridge_point(ax, F.rp_grid_sweep(models=["mnv1", "mnv4-conv-m"], n=6))
    png = io.BytesIO()
    fig.savefig(png, format="png", dpi=50)
    return P.figure_to_svg(fig, "rp"), png.getvalue()


def _report(**kw) -> ReportData:
    svg, png = _figures()
    base = dict(
        title="roofsweep compare", command="roofsweep compare mnv1 mnv4-conv-m --preset paper", preset="paper",
        created=datetime(2025, 1, 2, 3, 4, 5, tzinfo=timezone.utc), sweep_df=F.sweep(),
        layer_tables=F.layer_tables(), figures={"latency_vs_rp": svg, "png_figure": png},
        notes=["mnv4-conv-m: aten.weird_op x2 has no cost formula (not counted)"],
        summary=[("cost model", "paper")],
    )
    base.update(kw)
    return ReportData(**base)


@pytest.fixture(scope="module")
def page() -> str:
    return render_html(_report())


def test_self_contained_no_external_resources(page):
    # nothing loaded from anywhere: no external src/href, no stylesheets/scripts by URL, no CSS url()
    assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", page, re.I)
    assert not re.search(r"<link\b", page, re.I)
    assert not re.search(r"@import|url\(\s*['\"]?(?:https?:)?//", page, re.I)
    assert not re.search(r"<script[^>]*\bsrc=", page, re.I)
    assert page.count("<script>") == 1  # our own inline sorting script, nothing else
    assert page.startswith("<!DOCTYPE html>")


def test_summary_fields(page):
    for text in ("roofsweep compare mnv1 mnv4-conv-m --preset paper", "paper", "2025-01-02T03:04:05+00:00",
                 "roofsweep version", "0.1.0", "cost model", "aten.weird_op x2"):
        assert text in page


def test_names_every_model_profile_and_layer(page):
    sweep = F.sweep()
    for m in sweep["model"].unique():
        assert m in page
    for name in sweep["display_name"].unique():
        assert name in page
    for name, _ in F.PROFILES:
        assert name in page
    for (model, point), df in F.layer_tables().items():
        assert f"{model} | {point}" in page
        for layer in df["name"]:
            assert f"<td>{layer}</td>" in page


def test_figures_embedded(page):
    assert page.count('<figure class="rs-figure"') == 2
    assert '<svg role="img" aria-label="latency_vs_rp"' in page  # SVG inlined ...
    assert "<title>MobileNetV1, ridge-point sweep" in page  # ... with its hover tooltips
    assert "<?xml" not in page and "<!DOCTYPE svg" not in page
    m = re.search(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert m and base64.b64decode(m.group(1))[:4] == b"\x89PNG"


def test_sortable_tables_with_numeric_keys(page):
    # the ridge-point sweep, the hardware profiles, the layers that dominate (one per model) and
    # one per-layer table per (model, point)
    ids = re.findall(r'<table class="sortable" id="([^"]+)"', page)
    assert ids == ["sweep-table", "device-table", "dominant-0", "dominant-1"] + [f"layers-{n}" for n in range(4)]
    assert page.count('class="sortable"') == 2 + 2 + len(F.layer_tables())
    # numeric cells carry the raw value to sort by, the text is formatted
    df = F.layer_tables()[("mnv1", "RP 5")]
    macs = int(df["macs"].iloc[1])
    assert f'data-sort="{float(macs)!r}">' in page


def test_escapes_hostile_names():
    sweep = F.sweep(models=["mnv1"], profiles=[(EVIL_PROFILE, 40.0)],
                    extra_models=[(EVIL_MODEL, "Evil<b>Family", EVIL_MODEL, 1.0, 224, 70.0, 5, 1.0)])
    layers = {(EVIL_MODEL, EVIL_PROFILE): F.per_layer("mnv1", 40.0, names={0: EVIL_LAYER})}
    fig, ax = P.new_figure()
    P.plot_accuracy_vs_latency(ax, sweep, EVIL_PROFILE)
    report = _report(title=f"report {EVIL_MODEL}", command=f"roofsweep sweep --model '{EVIL_MODEL}'",
                     preset=EVIL_PROFILE, sweep_df=sweep, layer_tables=layers,
                     figures={f"fig {EVIL_MODEL}": P.figure_to_svg(fig, "evil")},
                     notes=[f"unsupported op in {EVIL_LAYER}"], summary=[(EVIL_MODEL, EVIL_PROFILE)])
    page = render_html(report)
    for evil in (EVIL_MODEL, EVIL_PROFILE, EVIL_LAYER, "<b>Family", "onerror=alert(1)>"):
        assert evil not in page
    assert "&lt;script&gt;alert(&#39;model&#39;)&lt;/script&gt;" in page  # Jinja2 autoescape
    assert "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;" in page
    assert page.count("<script>") == 1 and page.count("</script>") == 1
    assert page.count("<img") == 1  # the PNG figure only


def test_unsafe_svg_is_not_inlined():
    html = figure_html("x", '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>')
    assert "<script" not in html
    assert 'src="data:image/svg+xml;base64,' in html


def test_layer_table_without_roofline_columns():
    lt = {("mnv1", "trace"): F.layer_table("mnv1", 3)}
    page = render_html(ReportData(layer_tables=lt))
    assert "weight elems" in page and "blocks.2.project.conv" in page


def test_device_table_rounds_profile_ridge_points():
    from roofsweep.report import html as H

    html = H.sweep_tables_html(F.sweep(models=["mnv1"], rps=(5.0,), profiles=[("raspberry-pi5", 17.99862)]))
    device = html[html.index('id="device-table"'):]
    assert "<td>raspberry-pi5</td>" in device
    assert '<td class="num" data-sort="17.99862">18</td>' in device  # shown to 4 digits, sorted by value


# ------------------------------------------------------------------ the page explains itself

class _Tables(HTMLParser):
    """Every <table id=...> of a page as {id: {"head": [data-col], "rows": [[(text, data-sort)]]}}."""

    def __init__(self):
        super().__init__()
        self.tables, self._t, self._cell, self._in_head = {}, None, None, False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table" and a.get("id"):
            self._t = self.tables.setdefault(a["id"], {"head": [], "rows": []})
        elif self._t is not None and tag == "thead":
            self._in_head = True
        elif self._t is not None and tag == "tr" and not self._in_head:
            self._t["rows"].append([])
        elif self._t is not None and tag == "th" and self._in_head:
            self._t["head"].append(a.get("data-col"))
        elif self._t is not None and tag == "td":
            self._cell = [["", a.get("data-sort")]]

    def handle_endtag(self, tag):
        if tag == "table":
            self._t = None
        elif tag == "thead":
            self._in_head = False
        elif tag == "td" and self._cell is not None and self._t is not None:
            self._t["rows"][-1].append((self._cell[0][0].strip(), self._cell[0][1]))
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell[0][0] += data


def tables_of(page: str) -> dict:
    p = _Tables()
    p.feed(page)
    return p.tables


def test_sweep_table_has_points_as_rows_by_ridge_point(page):
    sweep = F.sweep()
    t = tables_of(page)["sweep-table"]
    assert t["head"][:3] == ["point", "ridge_point", "peak_macs_per_s"]
    assert t["head"][3:] == [f"model:{m}" for m in sweep["model"].unique()]
    # RP 0 first, named what it is; then 5, 50, 500 ascending
    assert [r[0][0] for r in t["rows"]] == ["MACs only (200 GMAC/s, memory free)", "RP 5", "RP 50", "RP 500"]
    assert [float(r[1][1]) for r in t["rows"]] == [0.0, 5.0, 50.0, 500.0]
    # each latency cell is the sweep's own value and its fmt_time text; the star where on_frontier
    rp = sweep[sweep["hardware"] == ""].set_index(["point", "model"])
    for row, point in zip(t["rows"], ["RP 0", "RP 5", "RP 50", "RP 500"]):
        for (text, sort), m in zip(row[3:], sweep["model"].unique()):
            r = rp.loc[(point, m)]
            assert float(sort) == r["latency_s"]
            assert text.replace("\u2605", "").strip() == fmt_time(r["latency_s"])
            assert ("\u2605" in text) == bool(r["on_frontier"])


def test_one_model_sweep_is_a_column_of_points_without_stars():
    sweep = F.sweep(models=["mnv1"])
    page = render_html(ReportData(sweep_df=sweep))
    t = tables_of(page)["sweep-table"]
    assert t["head"] == ["point", "ridge_point", "peak_macs_per_s", "latency_s", "mac_time_s", "mem_time_s",
                         "memory_bound_fraction"]
    assert len(t["rows"]) == 4  # one row per point, not one row of 32 columns
    assert "\u2605" not in page.split('id="sweep-table"')[1].split("</table>")[0]
    r = sweep[(sweep["point"] == "RP 500")].iloc[0]
    assert t["rows"][-1][6] == (fmt_percent(r["memory_bound_fraction"]), repr(float(r["memory_bound_fraction"])))


def test_profile_identical_to_a_ridge_point_row_is_merged_into_it():
    # the paper's archetype: int8 at RP 5 x 40 GB/s is exactly the RP 5 row
    sweep = F.sweep(models=["mnv1", "mnv2"], profiles=[("paper-rp5-slow-cpu", 5.0), ("pixel6-cpu", 31.2)])
    t = tables_of(render_html(ReportData(sweep_df=sweep)))
    same = {r[0][0]: r[-1][0] for r in t["sweep-table"]["rows"]}
    assert same["RP 5"] == "paper-rp5-slow-cpu" and same["RP 50"] == ""
    assert [r[0][0] for r in t["device-table"]["rows"]] == ["pixel6-cpu"]


def test_device_table_says_bound_and_uses_each_profiles_rates(page):
    t = tables_of(page)["device-table"]
    names = [r[0][0] for r in t["rows"]]
    assert names == [n for n, _ in sorted(F.PROFILES, key=lambda p: p[1])]  # by ridge point
    assert "Roofline latency bounds" in page
    rp_rows = [r[0][0] for r in tables_of(page)["sweep-table"]["rows"]]
    assert not set(rp_rows) & set(names)  # devices never interleave with the ridge-point rows


def test_per_layer_tables_by_ridge_point_with_bound_and_share_first():
    # given RP 500 before RP 5: shown by ridge point within each model
    tabs = {("mnv1", "RP 500"): F.per_layer("mnv1", 500.0), ("mnv1", "RP 5"): F.per_layer("mnv1", 5.0)}
    for k, df in tabs.items():
        df.insert(1, "ridge_point", float(k[1][3:]))
    page = render_html(ReportData(layer_tables=tabs))
    assert page.index("mnv1 | RP 5 <") < page.index("mnv1 | RP 500 <")
    t = tables_of(page)
    assert t["layers-0"]["head"][:4] == ["bound", "time_share", "index", "name"]
    df = tabs[("mnv1", "RP 5")]
    total = df["time_s"].sum()
    for row, (_, r) in zip(t["layers-0"]["rows"], df.iterrows()):
        assert row[0][0] == r["bound"]
        assert float(row[1][1]) == pytest.approx(r["time_s"] / total, rel=1e-15)
        assert row[1][0] == fmt_percent(r["time_s"] / total)
    # fits the page: no shapes or element counts (they are in the CSVs)
    assert "input_shape" not in t["layers-0"]["head"] and len(t["layers-0"]["head"]) == 11


def test_layers_that_dominate_match_the_slowest_layers(page):
    t = tables_of(page)["dominant-0"]  # mnv1, at RP 5 then RP 500
    for point in ("RP 5", "RP 500"):
        df = F.layer_tables()[("mnv1", point)]
        top = df.sort_values("time_s", ascending=False, kind="stable").head(5)
        rows = [r for r in t["rows"] if r[0][0] == point]
        assert [r[2][0] for r in rows] == list(top["name"])
        assert [float(r[5][1]) for r in rows] == pytest.approx(list(top["time_s"] / df["time_s"].sum()), rel=1e-12)
        assert [r[4][0] for r in rows] == list(top["bound"])


def test_how_to_read_and_key_findings_from_the_data(page):
    for text in ("How to read this page", "Ridge point (RP).", "holds bandwidth at 40 GB/s",
                 "RP 0 counts MACs only (200 GMAC/s, memory free)", "Pareto frontier at that point"):
        assert text in page
    lo, hi = F.layer_tables()[("mnv1", "RP 5")], F.layer_tables()[("mnv1", "RP 500")]
    a, b = lo.loc[lo["time_s"].idxmax()], hi.loc[hi["time_s"].idxmax()]
    expected = (f"MobileNetV1: at RP 5 {a['name']} ({a['op_type']}, {a['bound']}-bound) takes "
                f"{fmt_percent(a['time_s'] / lo['time_s'].sum())} of the latency; at RP 500 {b['name']} "
                f"({b['op_type']}, {b['bound']}-bound) takes {fmt_percent(b['time_s'] / hi['time_s'].sum())}")
    findings = page.split('id="findings"')[1].split("</section>")[0]
    assert expected in findings


def test_frontier_share_table_sorted_by_share():
    share = pd.DataFrame({"model": ["mnv1", "mnv2", "mnv4-conv-m"], "frontier_share": [0.25, float("nan"), 1.0],
                          "frontier_points": [3, 0, 12], "points": [12, 12, 12]})
    page = render_html(_report(frontier_share=share))
    t = tables_of(page)["frontier-table"]
    assert [r[0][0] for r in t["rows"]] == ["MNv4-Conv-M", "MobileNetV1", "MobileNetV2"]
    assert [r[2][0] for r in t["rows"]] == ["100%", "25%", "-"]
    assert t["rows"][0][3][0] == "12 of 12"
    assert "MNv4-Conv-M (100%), MobileNetV1 (25%)" in page  # the finding


# ----------------------------------------------------------------------------- explorer data
def _explorer(names=None) -> dict:
    costed = {"mnv1": F.costed(F.layer_table("mnv1", 3, names=names))}
    return explorer_payload(costed, {"mnv1": {"display_name": "MobileNetV1", "top1": 74.0}},
                            bandwidth_bytes_per_s=40e9, rp0_peak_macs_per_s=200e9, dtype="int8", preset="paper")


def test_explorer_data_is_embedded_as_json_that_cannot_end_the_script():
    data = _explorer(names={0: EVIL_LAYER, 1: "a\u2028b & <c>"})
    page = render_html(_report(explorer=data))
    assert page.count('<script type="application/json" id="rs-explorer-data">') == 1
    assert page.count("<script>") == 1  # our own code, one block
    assert page.count("</script>") == 2 and EVIL_LAYER not in page
    block = page.split('id="rs-explorer-data">')[1].split("</script>")[0]
    assert "<" not in block and "\u2028" not in block
    assert json.loads(block) == data  # exactly the payload: every MAC and byte, names intact
    assert data["models"][0]["layers"]["name"][0] == EVIL_LAYER
    costed = F.costed(F.layer_table("mnv1", 3))
    assert data["models"][0]["layers"]["macs"] == [float(x) for x in costed["macs"]]
    assert data["models"][0]["layers"]["bytes"] == list(costed["bytes"])


def test_explorer_slider_positions():
    page = render_html(_report(explorer=_explorer()))
    # 0 = RP 0 end stop, then 100 log steps per decade from RP 0.5: RP 5 at 101, RP 500 at 301
    assert '<input type="range" id="rs-rp" min="0" max="301" step="1" value="101">' in page
    assert [b for b in re.findall(r'data-pos="(\d+)">(RP [\d.]+)<', page)] == [
        ("0", "RP 0"), ("101", "RP 5"), ("201", "RP 50"), ("301", "RP 500")]


def test_no_explorer_without_its_data(page):
    assert 'id="rs-explorer-data"' not in page and 'id="explorer"' not in page


def test_templates_and_assets_ship_with_the_package():
    base = resources.files("roofsweep.report").joinpath("templates")
    for name in ("page.html.j2", "_macros.html.j2", "_howto.html.j2", "_explorer.html.j2",
                 "assets/report.css", "assets/sort.js", "assets/explorer.js", "assets/charts.js"):
        assert base.joinpath(name).is_file(), name
    assert environment().autoescape is True
    text = (Path(__file__).parents[1] / "pyproject.toml").read_text()
    globs = re.search(r"\[tool\.setuptools\.package-data\]\s*roofsweep\s*=\s*\[(.*?)\]", text, re.S).group(1)
    globs = re.findall(r'"([^"]+)"', globs)
    assert "report/templates/*.j2" in globs and "report/templates/assets/*.js" in globs
    assert not any("report/assets" in g for g in globs)


def test_profile_layer_table_identical_to_a_ridge_point_table_is_merged():
    def tagged(rp, hw):
        peak, bw = F.peak_for_rp(rp)
        return F.per_layer("mnv1", rp).assign(ridge_point=rp, hardware=hw, dtype="int8", peak_macs_per_s=peak,
                                              bandwidth_bytes_per_s=bw)

    tabs = {("mnv1", "paper-rp5-slow-cpu"): tagged(5.0, "paper-rp5-slow-cpu"), ("mnv1", "RP 5"): tagged(5.0, ""),
            ("mnv1", "pixel6-cpu"): tagged(31.2, "pixel6-cpu")}
    page = render_html(ReportData(layer_tables=tabs))
    assert "mnv1 | RP 5 <span" in page and "the same as paper-rp5-slow-cpu)" in page
    assert "mnv1 | paper-rp5-slow-cpu" not in page and "mnv1 | pixel6-cpu <span" in page
    assert len(re.findall(r'id="layers-\d+"', page)) == 2


def test_dense_grid_is_summarised_not_printed_in_full():
    from roofsweep.report.html_view import MAX_SWEEP_ROWS

    one = F.sweep(models=["mnv1"], rps=(5.0,), profiles=[])
    grid = np.linspace(0, 500, 1001)  # 0:500:1001 - only the points matter here
    sweep = pd.concat([one] * len(grid), ignore_index=True).assign(
        ridge_point=grid, point=[f"RP {g:g}" for g in grid])
    t = tables_of(render_html(ReportData(sweep_df=sweep)))["sweep-table"]
    rps = [float(r[1][1]) for r in t["rows"]]
    assert len(rps) == MAX_SWEEP_ROWS and rps[0] == 0.0 and rps[-1] == 500.0 and rps == sorted(rps)


def test_empty_report_renders():
    page = render_html(ReportData())
    assert page.startswith("<!DOCTYPE html>") and 'id="summary"' in page
    for section in ('id="howto"', 'id="findings"', 'id="sweep"', 'id="explorer"', 'id="layers"'):
        assert section not in page


def test_page_summarises_a_dense_grid_once():
    one = F.sweep(models=["mnv1"], rps=(5.0,), profiles=[("pixel6-cpu", 31.2)])
    rp, hw = one[one["hardware"] == ""], one[one["hardware"] != ""]
    grid = np.linspace(0, 500, 5001)
    sweep = pd.concat([pd.concat([rp] * len(grid), ignore_index=True).assign(
        ridge_point=grid, point=[f"RP {g:g}" for g in grid]), hw], ignore_index=True)
    page = render_html(ReportData(sweep_df=sweep))
    assert "200 of 5001 ridge points, spread evenly" in page
    t = tables_of(page)
    assert len(t["sweep-table"]["rows"]) == 200 and [r[0][0] for r in t["device-table"]["rows"]] == ["pixel6-cpu"]


def test_nav_links_every_section_in_page_order():
    page = render_html(_report(explorer=_explorer(), frontier_share=pd.DataFrame(
        {"model": ["mnv1", "mnv4-conv-m"], "frontier_share": [0.5, 1.0], "frontier_points": [1, 2], "points": [2, 2]})))
    nav = re.findall(r'<a href="#([a-z]+)">', page.split("<nav>")[1].split("</nav>")[0])
    sections = re.findall(r'<section id="([a-z]+)">', page)
    assert nav == sections == ["howto", "findings", "notes", "sweep", "frontier", "explorer", "figures", "dominant",
                               "layers", "summary"]


def test_page_reads_what_the_analysis_decided():
    """Where the report carries the analysis' dominant layers and archetype matches, the page shows
    those (here deliberately different from what it would pick itself)."""
    from roofsweep.engine.roofline import dominant_layers

    report = _report()
    df = F.layer_tables()[("mnv1", "RP 500")]
    report.dominant = dominant_layers(df.assign(point="RP 500"), n=2)
    report.same_as = {"pixel6-cpu": "RP 50"}
    t = tables_of(render_html(report))
    assert [r[2][0] for r in t["dominant-0"]["rows"]] == list(report.dominant["name"])
    assert len(t) == len([k for k in t if not k.startswith("dominant")]) + 1
    same = {r[0][0]: r[-1][0] for r in t["sweep-table"]["rows"]}
    assert same["RP 50"] == "pixel6-cpu"
    assert "pixel6-cpu" not in [r[0][0] for r in t["device-table"]["rows"]]


# ------------------------------------------------------------------ charts drawn by the page
@pytest.fixture(scope="module")
def chart_analysis():
    from roofsweep.analysis import analyze, resolve_models

    refs = resolve_models(["tests._tiny_models:tiny"], input_shape=(1, 3, 16, 16))
    refs += resolve_models(["mnv2-0.5x"], resolution=64)
    top1 = {refs[0].label: 52.0, refs[1].label: 61.5}
    return analyze(refs, hardware=["pixel6-cpu", "nvidia-a100"], preset="paper", accuracy=top1)


def test_chart_colours_are_the_figures_colours():
    from roofsweep.report import html_charts as C
    from roofsweep.report.figures import style

    assert C.OP_COLORS == style.OP_COLORS and C.OP_LABELS == style.OP_LABELS
    assert C.FAMILY_COLORS == style.FAMILY_COLORS and C.OTHER_COLORS == style.OTHER_COLORS
    assert C.PAPER_POINT_NAMES == style.PAPER_POINT_NAMES
    fams = ["MobileNetV4", "Mine", "MobileNetV1", "Other"]
    assert C.family_colors(fams) == style.family_colors(fams)
    assert C.OP_COLORS["fc"] == "#d62728"  # FC red, as the paper's Fig. 3
    for rp in (0.0, 5.0, 18.0, 500.0, 12345.0):
        assert C.point_title(f"RP {rp:g}", rp) == style.point_title(f"RP {rp:g}", rp)


def test_chart_data_are_the_engines_rows(chart_analysis):
    from roofsweep.report.assemble import accuracy_points, build_report

    a = chart_analysis
    report, figures = build_report(a, "roofsweep test", figures=False)
    assert figures == {} and report.figure_captions == {}
    C = report.charts
    labels = [m.label for m in a.models]
    assert [m["label"] for m in C["models"]] == labels
    # latency vs ridge point: one series per model = its rp_curve rows with RP > 0, in RP order
    assert [s["model"] for s in C["curve"]["series"]] == labels
    for s in C["curve"]["series"]:
        rows = a.rp_curve[(a.rp_curve["model"] == s["model"]) & (a.rp_curve["ridge_point"] > 0)].sort_values("ridge_point")
        assert s["ridge_point"] == list(rows["ridge_point"]) and s["latency_s"] == list(rows["latency_s"])
        named = sorted(set(a.rp_sweep.loc[a.rp_sweep["ridge_point"] > 0, "ridge_point"]))
        assert [s["ridge_point"][i] for i in s["marks"]] == named
    ps = a.profile_sweep
    assert sorted(p["name"] for p in C["curve"]["profiles"]) == sorted(set(ps["point"]))
    for p in C["curve"]["profiles"]:
        g = ps[ps["point"] == p["name"]]
        assert p["ridge_point"] == g["ridge_point"].iloc[0]
        assert {q["model"]: q["latency_s"] for q in p["points"]} == dict(zip(g["model"], g["latency_s"]))
    # per-layer dots: one panel per (per-layer point, model), every layer with the engine's time
    L = C["layers"]
    assert [(p["point"], p["model"]) for p in L["panels"]] == [(pt, m) for pt in a.per_layer_points for m in labels]
    for p in L["panels"]:
        g = a.per_layer[(a.per_layer["point"] == p["point"]) & (a.per_layer["model"] == p["model"])]
        assert p["time_s"] == list(g["time_s"]) and p["name"] == list(g["name"]) and p["op_type"] == list(g["op_type"])
    assert set(L["ops"]) == set(a.per_layer.loc[a.per_layer["point"].isin(a.per_layer_points), "op_type"])
    # accuracy vs latency: the panels of the matplotlib figure, frontier flags as the engine has them
    A = C["accuracy"]
    assert [p["point"] for p in A["panels"]] == accuracy_points(a.rp_sweep)
    for p in A["panels"]:
        g = a.rp_sweep[a.rp_sweep["point"] == p["point"]]
        assert p["latency_s"] == list(g["latency_s"]) and p["on_frontier"] == [bool(x) for x in g["on_frontier"]]
        assert p["top1"] == [52.0, 61.5]


def test_chart_data_embedded_once_and_intact(chart_analysis):
    from roofsweep.report.assemble import build_report

    report, _ = build_report(chart_analysis, "roofsweep test", figures=False)
    html = render_html(report)
    m = re.search(r'<script type="application/json" id="rs-chart-data">(.*?)</script>', html, re.S)
    assert m and json.loads(m.group(1)) == json.loads(json.dumps(report.charts))
    assert html.count('<script type="application/json" id="rs-chart-data">') == 1 and '<div id="rs-charts">' in html
    assert 'href="#charts"' in html and "class=\"rs-figure\"" not in html  # no matplotlib figure without files
    assert "rs-chart-data" not in render_html(_report())  # no charts data: no chart section


def test_chart_data_cannot_end_the_script():
    charts = {"models": [{"label": EVIL_MODEL, "name": EVIL_LAYER, "family": EVIL_PROFILE, "color": "#000"}],
              "curve": {"series": [], "profiles": [{"name": EVIL_PROFILE, "ridge_point": 5.0, "points": []}],
                        "caption": EVIL_LAYER}}
    html = render_html(_report(charts=charts))
    assert EVIL_MODEL not in html and EVIL_LAYER not in html and EVIL_PROFILE not in html
    m = re.search(r'<script type="application/json" id="rs-chart-data">(.*?)</script>', html, re.S)
    assert json.loads(m.group(1)) == charts
