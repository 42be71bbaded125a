"""The HTML report in a real headless browser: loads without errors or network requests, figures
render with tooltips, tables sort, and the ridge-point explorer computes the engine's numbers.

Needs Debian's chromium and chromium-driver (``.ci/install-browser.sh`` installs them); a missing
browser fails this test rather than skipping it. One browser session and one report (two small
models: a 5-layer user model and MobileNetV2-0.5x at 64 px) for the whole module.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile

import numpy as np
import pytest
from matplotlib.image import imread

from roofsweep.analysis import analyze, model_meta, resolve_models, tables
from roofsweep.engine.pareto import frontier
from roofsweep.engine.sweep import per_layer_at, sweep_ridge_points
from roofsweep.report.assemble import build_report
from roofsweep.report.bundle import write_report
from roofsweep.units import fmt_percent, fmt_time

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
PROFILES = ["pixel6-cpu", "nvidia-a100", "paper-rp5-slow-cpu"]


@pytest.fixture(scope="module")
def analysis():
    refs = resolve_models(["tests._tiny_models:tiny"], input_shape=(1, 3, 16, 16))
    refs += resolve_models(["mnv2-0.5x"], resolution=64)
    top1 = {refs[0].label: 52.0, refs[1].label: 61.5}  # made up: two ranked models give a frontier
    return analyze(refs, hardware=PROFILES, preset="paper", accuracy=top1)


@pytest.fixture(scope="module")
def report_path(tmp_path_factory, analysis):
    report, figures = build_report(analysis, "roofsweep compare tiny mnv2-0.5x --preset paper", title="browser test")
    figures = {k: figures[k] for k in ("latency_vs_ridge_point", "accuracy_vs_latency")}  # two keep it quick
    out = write_report(tmp_path_factory.mktemp("out") / "report", report, figures)
    return out / "index.html"


@pytest.fixture(scope="module")
def driver():
    assert os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER), (
        f"{CHROMIUM} / {CHROMEDRIVER} missing: run .ci/install-browser.sh (apt-get install chromium chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="roofsweep-chromium-")
    opts = Options()
    opts.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                 f"--user-data-dir={profile}", "--window-size=1400,1000"):
        opts.add_argument(flag)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    d = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    try:
        yield d
    finally:
        d.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="module")
def page(driver, report_path):
    driver.get_log("performance")  # drop the start-up tab's own (chrome://) requests
    driver.get(report_path.as_uri())
    driver.network_log = driver.get_log("performance")  # everything the page load asked for
    return driver


def test_no_console_errors(page):
    severe = [e for e in page.get_log("browser") if e.get("level") == "SEVERE"]
    assert severe == []
    assert page.title == "browser test"


def test_no_network_requests(page, report_path):
    urls = page.execute_script("return performance.getEntries().map(e => e.name)")
    assert urls and urls[0] == report_path.as_uri()  # the navigation entry itself
    assert not [u for u in urls if u.split(":", 1)[0] in ("http", "https", "ws", "wss")]
    requested = []
    for entry in page.network_log:
        msg = json.loads(entry["message"])["message"]
        if msg["method"] == "Network.requestWillBeSent":
            requested.append(msg["params"]["request"]["url"])
    assert report_path.as_uri() in requested
    assert all(u.split(":", 1)[0] in ("file", "data") for u in requested), requested


def test_figures_render(page, tmp_path):
    from selenium.webdriver.common.by import By

    figures = page.find_elements(By.CSS_SELECTOR, "figure.rs-figure svg")
    assert len(figures) >= 2
    for fig in figures:
        assert fig.size["width"] > 300 and fig.size["height"] > 200
    page.execute_script("arguments[0].scrollIntoView()", figures[0])
    shot = tmp_path / "shot.png"
    assert figures[0].screenshot(str(shot))
    pixels = imread(shot)
    assert pixels.shape[0] > 200 and pixels.shape[1] > 300
    colours = np.unique(pixels.reshape(-1, pixels.shape[-1])[:, :3].round(2), axis=0)
    assert len(colours) > 50  # a drawn chart, not a blank box
    assert page.save_screenshot(str(tmp_path / "page.png"))


def test_tooltips_name_the_ridge_point_or_device(page, analysis):
    titles = page.execute_script(
        "return Array.from(document.querySelectorAll('figure.rs-figure svg')).map("
        "s => Array.from(s.querySelectorAll('title')).map(t => t.textContent))")
    assert all(len(t) > 0 for t in titles)  # every inline figure carries hover text
    curve = page.execute_script(
        "return Array.from(document.querySelectorAll('#fig-latency_vs_ridge_point svg title'))"
        ".map(t => t.textContent)")
    for m in analysis.models:
        name = m.ref.display_name
        for p in PROFILES:  # a device cross per model and profile, naming both
            assert any(t.startswith(f"{name} on {p} ") for t in curve), (name, p)
        assert any(t.startswith(name) and "at RP 500" in t for t in curve)
    # the browser shows a <title> as the tooltip of its parent element: it must hang on a drawn shape
    parents = page.execute_script(
        "return Array.from(document.querySelectorAll('#fig-latency_vs_ridge_point svg title'))"
        ".map(t => t.parentNode.tagName.toLowerCase())")
    assert set(parents) <= {"g", "path", "use", "rect", "circle", "polyline", "line"}


def _column(page, table_id: str, col: int) -> list[float]:
    return page.execute_script(
        "return Array.from(document.getElementById(arguments[0]).tBodies[0].rows)"
        ".map(r => parseFloat(r.cells[arguments[1]].getAttribute('data-sort')));", table_id, col)


def _headers(page, table_id: str):
    from selenium.webdriver.common.by import By

    return page.find_element(By.ID, table_id).find_elements(By.CSS_SELECTOR, "thead th")


def test_click_numeric_header_sorts(page):
    table_id = page.execute_script(  # the longest per-layer table (MobileNetV2-0.5x's)
        "return Array.from(document.querySelectorAll('#layers table')).sort("
        "(a, b) => b.tBodies[0].rows.length - a.tBodies[0].rows.length)[0].id")
    headers = _headers(page, table_id)
    page.execute_script("arguments[0].closest('details').open = true; arguments[0].scrollIntoView()", headers[0])
    cols = [h.get_attribute("data-col") for h in headers]
    assert cols[:2] == ["bound", "time_share"]
    col = cols.index("time_s")
    original = _column(page, table_id, col)
    assert original != sorted(original)  # execution order, not sorted yet
    headers[col].click()
    asc = _column(page, table_id, col)
    assert asc == sorted(original)
    assert headers[col].get_attribute("aria-sort") == "ascending"
    headers[col].click()
    desc = _column(page, table_id, col)
    assert desc == sorted(original, reverse=True)
    assert headers[col].get_attribute("aria-sort") == "descending"
    # numeric-aware: "#" column sorts 0, 1, 2, ... 10 (not 0, 1, 10, 11, 2)
    idx_col = cols.index("index")
    headers[idx_col].click()
    idx = _column(page, table_id, idx_col)
    assert idx == sorted(idx) and idx[:3] == [0, 1, 2] and len(idx) > 11


def test_sweep_table_sorts_by_a_models_latency(page, analysis):
    label = analysis.models[1].label
    header = [h for h in _headers(page, "sweep-table") if h.get_attribute("data-col") == f"model:{label}"][0]
    page.execute_script("arguments[0].scrollIntoView()", header)
    col = [h.get_attribute("data-col") for h in _headers(page, "sweep-table")].index(f"model:{label}")
    header.click()
    values = _column(page, "sweep-table", col)
    expected = analysis.rp_sweep.loc[analysis.rp_sweep["model"] == label, "latency_s"]
    assert values == sorted(expected) and len(values) == len(analysis.ridge_points)


# ---------------------------------------------------------------------------------- explorer
READ_EXPLORER = """
const num = c => parseFloat(c.getAttribute('data-value'));
const models = Array.from(document.getElementById('rs-explorer-models').tBodies[0].rows).map(r => ({
  name: r.cells[0].textContent, latency: num(r.cells[2]), latency_text: r.cells[2].firstChild.textContent,
  frontier: r.cells[2].getAttribute('data-frontier'), mac: num(r.cells[3]), mem: num(r.cells[4]),
  mbf: num(r.cells[5]), mbf_text: r.cells[5].textContent}));
const layers = Array.from(document.getElementById('rs-explorer-layers').tBodies[0].rows).map(r => ({
  index: parseInt(r.getAttribute('data-index')), bound: r.cells[0].textContent, share: num(r.cells[1]),
  share_text: r.cells[1].textContent, time: num(r.cells[5]), time_text: r.cells[5].textContent,
  mac: num(r.cells[6]), mem: num(r.cells[7])}));
return {rp: document.getElementById('rs-rp-value').getAttribute('data-rp'), models: models, layers: layers};
"""


def _move_slider(page, pos: int) -> dict:
    page.execute_script("const s = document.getElementById('rs-rp'); s.value = arguments[0];"
                        "s.dispatchEvent(new Event('input'));", pos)
    return page.execute_script(READ_EXPLORER)


def _check_against_engine(state: dict, analysis, chosen: int) -> None:
    rp = float(state["rp"])
    cm, tabs, meta = analysis.cost_model, tables(analysis.models), model_meta(analysis.models)
    meta["top1"] = [52.0, 61.5]
    sweep = frontier(sweep_ridge_points(tabs, [rp], cm, meta))
    assert [m["name"] for m in state["models"]] == [m.ref.display_name for m in analysis.models]
    for got, (_, want) in zip(state["models"], sweep.iterrows()):
        assert got["latency"] == pytest.approx(want["latency_s"], rel=1e-15, abs=0)
        assert got["mac"] == pytest.approx(want["mac_time_s"], rel=1e-15, abs=0)
        assert got["mem"] == pytest.approx(want["mem_time_s"], rel=1e-15, abs=0)
        assert got["mbf"] == pytest.approx(want["memory_bound_fraction"], rel=1e-12, abs=1e-300)
        assert got["latency_text"] == fmt_time(want["latency_s"])
        assert got["mbf_text"] == fmt_percent(want["memory_bound_fraction"])
        assert got["frontier"] == str(bool(want["on_frontier"])).lower()
    label = analysis.models[chosen].label
    layers = per_layer_at(tabs, rp, cm)
    layers = layers[layers["model"] == label].reset_index(drop=True)
    assert [x["index"] for x in state["layers"]] == list(range(len(layers)))
    share = layers["time_s"] / layers["time_s"].sum()
    for got, (i, want) in zip(state["layers"], layers.iterrows()):
        assert got["time"] == want["time_s"]  # one division and a max: bit for bit
        assert got["mac"] == want["mac_time_s"] and got["mem"] == want["mem_time_s"]
        assert got["bound"] == want["bound"]
        assert got["share"] == pytest.approx(share[i], rel=1e-12, abs=0)
        assert got["time_text"] == fmt_time(want["time_s"])
        assert got["share_text"] == fmt_percent(share[i])


@pytest.mark.parametrize("pos, rp", [(0, 0.0), (1, 0.5), (101, 5.0), (137, 11.5), (201, 50.0), (268, 234.0),
                                     (301, 500.0)])
def test_explorer_matches_the_engine(page, analysis, pos, rp):
    page.execute_script("document.getElementById('explorer').scrollIntoView()")
    state = _move_slider(page, pos)
    assert float(state["rp"]) == rp  # RP 0 end stop, log steps of 3 significant digits
    _check_against_engine(state, analysis, chosen=0)


def test_explorer_keyboard_and_model_choice(page, analysis):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import Select

    _move_slider(page, 201)
    Select(page.find_element(By.ID, "rs-model")).select_by_index(1)
    slider = page.find_element(By.ID, "rs-rp")
    slider.send_keys(Keys.ARROW_RIGHT)  # one step up from RP 50, as a user would
    state = page.execute_script(READ_EXPLORER)
    assert float(state["rp"]) == 51.2
    assert len(state["layers"]) == len(analysis.models[1].trace.layers)
    _check_against_engine(state, analysis, chosen=1)
    page.find_element(By.CSS_SELECTOR, '.rp-stops button[data-pos="0"]').click()
    assert page.execute_script(READ_EXPLORER)["rp"] == "0"


def test_page_formats_numbers_as_units_does(page):
    """The explorer's number formatting is roofsweep.units', digit for digit: exact decimal ties
    (1.125, 999.5, 12.5 %) round to even as Python does, and random values over 30 decades agree."""
    from roofsweep.units import fmt_bandwidth, fmt_rate

    rng = np.random.default_rng(11)
    values = [0.0, 1.125, 1.0625, 2.675, 999.5, 0.9995, 1e-10, 1.5e-5, 0.000123456, 123456789.0, 5e-7, 0.5,
              0.125, 0.135, 0.005, 0.995, 0.9949999, 1.0, 2 ** -30]
    values += list(10.0 ** rng.uniform(-12, 15, 400)) + list(rng.integers(0, 2000, 100) / 16)
    got = page.execute_script(
        "const F = window.roofsweepFormat; return arguments[0].map(x => "
        "[F.g(x, 3), F.time(x), F.si(x, 'MAC/s'), F.si(x, 'B/s'), F.percent(x), F.f(x, 1)]);", values)
    for x, (g, t, rate, bw, pct, f1) in zip(values, got):
        assert (g, t, rate, bw, pct, f1) == (f"{x:.3g}", fmt_time(x), fmt_rate(x), fmt_bandwidth(x), fmt_percent(x),
                                             f"{x:.1f}"), x


# ------------------------------------------------------------------ charts drawn by the page
READ_CHARTS = """
const charts = Array.from(document.querySelectorAll('#rs-charts figure.rs-chart svg'));
const box = e => { const b = e.getBBox(); return [b.x, b.y, b.width, b.height]; };
return charts.map(s => ({
  chart: s.parentNode.dataset.chart, model: s.getAttribute('data-model'), point: s.getAttribute('data-point'),
  width: s.getBoundingClientRect().width,
  series: Array.from(s.querySelectorAll('g.series')).map(g => ({model: g.dataset.model,
    n: parseInt(g.querySelector('path').getAttribute('data-points')),
    vertices: (g.querySelector('path').getAttribute('d').match(/[ML]/g) || []).length,
    title: g.querySelector('path > title').textContent})),
  profile_marks: Array.from(s.querySelectorAll('.profile-pt')).map(p => p.querySelector('title').textContent),
  dots: Array.from(s.querySelectorAll('circle.layer-pt, circle.acc-pt')).map(c => ({
    fill: c.getAttribute('fill'), op: c.dataset.op || null, title: c.querySelector('title').textContent})),
  xticks: Array.from(s.querySelectorAll('text.tick.x')).map(t => ({text: t.textContent, box: box(t)})),
  yticks: Array.from(s.querySelectorAll('text.tick.y')).map(t => ({text: t.textContent, box: box(t)})),
}));
"""


@pytest.fixture(scope="module")
def charts(page):
    return page.execute_script(READ_CHARTS)


def _overlap(a, b) -> bool:
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


def test_charts_carry_the_engines_series_and_points(charts, analysis):
    labels = [m.label for m in analysis.models]
    names = {m.label: m.ref.display_name for m in analysis.models}
    by = {}
    for c in charts:
        by.setdefault(c["chart"], []).append(c)
    assert set(by) == {"latency_vs_ridge_point", "layer_latency", "accuracy_vs_latency"}
    (curve,) = by["latency_vs_ridge_point"]
    assert [s["model"] for s in curve["series"]] == labels
    for s in curve["series"]:
        n = int(((analysis.rp_curve["model"] == s["model"]) & (analysis.rp_curve["ridge_point"] > 0)).sum())
        assert s["n"] == s["vertices"] == n > 50  # the dense curve, every row
        assert s["title"].startswith(names[s["model"]])
    ps = analysis.profile_sweep
    assert len(curve["profile_marks"]) == len(ps) == len(PROFILES) * len(labels)
    for prof, m in zip(ps["point"], ps["model"]):  # each cross names its model and its device
        assert any(t.startswith(f"{names[m]} on {prof} (RP ") for t in curve["profile_marks"]), (m, prof)
    # per-layer dots (Fig. 3): a panel per (per-layer point, model), a dot per layer, op colours
    panels = by["layer_latency"]
    assert [(c["point"], c["model"]) for c in panels] == [(p, m) for p in analysis.per_layer_points for m in labels]
    from roofsweep.report.html_charts import OP_COLORS

    for c in panels:
        g = analysis.per_layer[(analysis.per_layer["point"] == c["point"]) & (analysis.per_layer["model"] == c["model"])]
        assert len(c["dots"]) == len(g)
        assert [d["op"] for d in c["dots"]] == list(g["op_type"])
        assert all(d["fill"] == OP_COLORS[d["op"]] for d in c["dots"])
        for d, name in zip(c["dots"], g["name"]):  # the tooltip names model, layer and point
            assert d["title"].startswith(names[c["model"]]) and f" {name} (" in d["title"]
            assert f" at {c['point']}: " in d["title"]
    # accuracy vs latency (Fig. 2): a panel per chosen ridge point, a dot per model
    from roofsweep.report.assemble import accuracy_points

    acc = by["accuracy_vs_latency"]
    assert [c["point"] for c in acc] == accuracy_points(analysis.rp_sweep)
    for c in acc:
        assert len(c["dots"]) == len(labels)
        assert all(f" at {c['point']}: " in d["title"] for d in c["dots"])


def test_charts_have_readable_tick_labels(charts):
    for c in charts:
        assert c["width"] > 300, c["chart"]
        for axis in ("xticks", "yticks"):
            ticks = c[axis]
            assert len(ticks) >= 2, (c["chart"], axis, ticks)
            texts = [t["text"] for t in ticks]
            assert all(texts) and len(set(texts)) == len(texts), texts  # labelled, and no two alike
            assert not any(_overlap(a["box"], b["box"]) for a, b in zip(ticks, ticks[1:])), texts
    (curve,) = [c for c in charts if c["chart"] == "latency_vs_ridge_point"]
    assert {"1", "10", "100"} <= {t["text"] for t in curve["xticks"]}  # log axis: plain decades
    assert all(t["text"].endswith(("s", "ms", "\u00b5s", "ns")) for t in curve["yticks"])
