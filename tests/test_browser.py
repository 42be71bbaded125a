"""The HTML report in a real headless browser: loads without errors, figures render, tables sort.

Needs Debian's chromium and chromium-driver (``.ci/install-browser.sh`` installs them); a missing
browser fails this test rather than skipping it.
"""

from __future__ import annotations

import os
import shutil
import tempfile

import numpy as np
import pytest
from matplotlib.image import imread

import report_fixtures as F
from roofsweep.report import figures as P
from roofsweep.report.bundle import write_report
from roofsweep.report.data import ReportData

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


@pytest.fixture(scope="module")
def report_path(tmp_path_factory):
    sweep = F.sweep(models=["mnv1", "mnv2", "mnv4-conv-m"])
    tables = F.layer_tables(models=("mnv1", "mnv4-conv-m"), rps=(5.0, 500.0))
    figures = {"accuracy vs latency": P.figure_accuracy_vs_latency(sweep, ["RP 5", "RP 500"]),
               "layer latency": P.figure_layer_latency(tables, "RP 5")}
    report = ReportData(title="browser test", command="roofsweep compare mnv1 mnv2 mnv4-conv-m", preset="paper",
                        sweep_df=sweep, layer_tables=tables, notes=["a note"])
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
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    d = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    try:
        yield d
    finally:
        d.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="module")
def page(driver, report_path):
    driver.get(report_path.as_uri())
    return driver


def test_no_console_errors(page):
    severe = [e for e in page.get_log("browser") if e.get("level") == "SEVERE"]
    assert severe == []
    assert page.title == "browser test"


def test_figures_render(page, tmp_path):
    from selenium.webdriver.common.by import By

    figures = page.find_elements(By.CSS_SELECTOR, "figure.rs-figure svg")
    assert len(figures) == 2
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


def _column(page, table_id: str, col: int) -> list[float]:
    return page.execute_script(
        "return Array.from(document.getElementById(arguments[0]).tBodies[0].rows)"
        ".map(r => parseFloat(r.cells[arguments[1]].getAttribute('data-sort')));", table_id, col)


def test_click_numeric_header_sorts(page):
    from selenium.webdriver.common.by import By

    table = page.find_element(By.ID, "layers-0")
    headers = table.find_elements(By.CSS_SELECTOR, "thead th")
    col = [h.get_attribute("data-col") for h in headers].index("time_s")
    original = _column(page, "layers-0", col)
    assert original != sorted(original)  # execution order, not sorted yet
    headers[col].click()
    asc = _column(page, "layers-0", col)
    assert asc == sorted(original)
    assert headers[col].get_attribute("aria-sort") == "ascending"
    headers[col].click()
    desc = _column(page, "layers-0", col)
    assert desc == sorted(original, reverse=True)
    assert headers[col].get_attribute("aria-sort") == "descending"
    # numeric-aware: "#" column sorts 0, 1, 2, ... 10 (not 0, 1, 10, 11, 2)
    headers[0].click()
    idx = _column(page, "layers-0", 0)
    assert idx == sorted(idx) and idx[:3] == [0, 1, 2]


def test_sweep_table_sorts_by_latency(page):
    from selenium.webdriver.common.by import By

    table = page.find_element(By.ID, "sweep-table")
    header = [h for h in table.find_elements(By.CSS_SELECTOR, "thead th") if h.text.startswith("RP 500")][0]
    page.execute_script("arguments[0].scrollIntoView()", header)
    header.click()
    col = [h.text for h in table.find_elements(By.CSS_SELECTOR, "thead th")].index(header.text)
    values = _column(page, "sweep-table", col)
    assert values == sorted(values) and len(values) == 3
