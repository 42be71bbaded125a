"""The HTML report: self-contained, complete, and escaping everything that comes from users."""

from __future__ import annotations

import base64
import re
from datetime import datetime, timezone

import pytest

import report_fixtures as F
from roofsweep.report import plots as P
from roofsweep.report.data import ReportData
from roofsweep.report.html import figure_html, render_html

EVIL_MODEL = "<script>alert('model')</script>"
EVIL_PROFILE = '"><img src=x onerror=alert(1)>'
EVIL_LAYER = "blocks.0</td></script><script>alert('layer')</script>"


def _report(**kw) -> ReportData:
    fig, ax = P.new_figure()
    P.plot_latency_vs_ridge_point(ax, F.rp_grid_sweep(models=["mnv1", "mnv4-conv-m"], n=6))
    base = dict(
        title="roofsweep compare", command="roofsweep compare mnv1 mnv4-conv-m --preset paper", preset="paper",
        created=datetime(2025, 1, 2, 3, 4, 5, tzinfo=timezone.utc), sweep_df=F.sweep(),
        layer_tables=F.layer_tables(), figures={"latency_vs_rp": P.figure_to_svg(fig, "rp"),
                                                "png_figure": P.figure_to_png(fig)},
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
    assert "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;" in page
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
