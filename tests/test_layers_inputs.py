"""What `roofsweep layers` says about a trace: the input shape(s) actually traced and where they
came from, and which rows were traced on real tensors (data-dependent), in the terminal table
(at 80 and 120 columns), its JSON document and the HTML report's per-layer tables."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from roofsweep.cli import app

runner = CliRunner()
DATA = Path(__file__).resolve().parent / "data"
KEEP_POSITIVE = "tests._tiny_models:keep_positive"  # nonzero on a conv's output: data-dependent


def run(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


def doc(*args: str) -> dict:
    r = run("layers", *args, "-f", "json")
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


@pytest.fixture
def console_width():
    from roofsweep.cli.common import console

    before = console.width
    yield lambda w: setattr(console, "width", w)
    console.width = before


def assert_fits(text: str, width: int) -> list[str]:
    lines = text.splitlines()
    assert max(len(ln.rstrip()) for ln in lines) <= width
    assert "…" not in text
    return lines


# ------------------------------------------------------------------------ JSON fields
@pytest.mark.parametrize("args, shapes, source", [
    (("-m", "mnv2"), [[1, 3, 224, 224]], "zoo default resolution"),
    (("-m", "mnv2", "-r", "160", "-b", "2"), [[2, 3, 160, 160]], "--resolution"),
    (("-m", "mnv2", "--input-shape", "1x3x96x96"), [[1, 3, 96, 96]], "--input-shape"),
    (("-m", "tests._tiny_models:two_inputs", "--input-shape", "1x3x8x8", "--input-shape", "1x3x6x6"),
     [[1, 3, 8, 8], [1, 3, 6, 6]], "--input-shape"),
    (("-m", str(DATA / "int8.tflite")), [[1, 8, 8, 3]], "file"),  # the NHWC shape the file declares
])
def test_json_names_the_traced_inputs_and_their_source(args, shapes, source):
    d = doc(*args)
    assert d["input_shapes"] == shapes and d["input_source"] == source
    assert d["input_shape"] == shapes[0] and d["data_dependent"] is False


def test_timm_model_at_its_native_size_says_so():
    d = doc("-m", "timm:tf_efficientnetv2_b0")  # pretrained_cfg input_size (3, 192, 192)
    assert d["input_shapes"] == [[1, 3, 192, 192]]
    assert d["input_source"] == "timm pretrained_cfg input_size"


# ----------------------------------------------------------------------- terminal table
@pytest.mark.parametrize("width", [80, 120])
def test_table_header_and_footer_show_the_inputs(width, console_width):
    console_width(width)
    r = run("layers", "-m", "timm:tf_efficientnetv2_b0")
    assert r.exit_code == 0, r.output
    lines = assert_fits(r.stdout, width)
    said = "input 1x3x192x192 (timm pretrained_cfg input_size)"
    assert lines[:2] == ["Layers: timm:tf_efficientnetv2_b0", said]
    assert said in " ".join(ln.strip() for ln in lines[-2:])  # the footer (it may wrap at 80 columns)
    assert "*" not in r.stdout  # nothing here is data-dependent


@pytest.mark.parametrize("width", [80, 120])
def test_two_inputs_are_both_in_the_header(width, console_width):
    console_width(width)
    r = run("layers", "-m", "tests._tiny_models:two_inputs", "--input-shape", "1x3x8x8", "--input-shape", "2x3x6x6")
    assert r.exit_code == 0, r.output
    lines = assert_fits(r.stdout, width)
    assert lines[1] == "inputs 2x3x8x8, 2x3x6x6 (--input-shape)"  # one batch for both


@pytest.mark.parametrize("width", [80, 120])
def test_data_dependent_rows_are_marked_with_a_caption(width, console_width):
    console_width(width)
    layers = doc("-m", KEEP_POSITIVE, "--input-shape", "1x3x4x4")
    assert layers["data_dependent"] is True and all(x["data_dependent"] for x in layers["layers"])
    r = run("layers", "-m", KEEP_POSITIVE, "--input-shape", "1x3x4x4")
    assert r.exit_code == 0, r.output
    lines = assert_fits(r.stdout, width)
    for x in layers["layers"]:  # every row: its index with the marker, on one line with its name
        assert sum(ln.lstrip().startswith(f"{x['index']}* ") and f" {x['name']} " in ln for ln in lines) == 1
    text = " ".join(ln.strip() for ln in lines)
    assert "* data-dependent: traced on real CPU tensors holding random data" in text


def test_a_table_of_mixed_rows_marks_only_the_data_dependent_ones():
    from rich.console import Console

    from roofsweep.report.terminal import layers_table

    df = pd.DataFrame({"model": "m", "index": [0, 1], "name": ["a", "b"], "op_type": ["conv2d", "fc"],
                       "macs": [10, 20], "weight_elems": [1, 2], "input_elems": [3, 4], "output_elems": [5, 6],
                       "output_shape": ["1x1", "1x2"], "data_dependent": [False, True]})
    console = Console(width=80, record=True, color_system=None)
    console.print(layers_table(df, inputs="input 1x3x8x8 (--input-shape)"))
    lines = console.export_text().splitlines()
    assert lines[:2] == ["Layers: m", "input 1x3x8x8 (--input-shape)"]
    assert [ln.split()[0] for ln in lines if ln.split()[1:2] in (["a"], ["b"])] == ["0", "1*"]
    assert any(ln.startswith("* data-dependent") for ln in lines)
    console.print(layers_table(df.drop(columns="data_dependent")))  # no column: nothing marked
    assert "data-dependent" not in console.export_text()


# ------------------------------------------------------------------------------ HTML
def test_html_per_layer_table_has_a_data_dependent_column_and_note():
    from roofsweep.report.html import layer_table_html
    from roofsweep.report.html_tables import DATA_DEPENDENT_NOTE, layer_view

    rows = doc("-m", KEEP_POSITIVE, "--input-shape", "1x3x4x4")["layers"]
    df = pd.DataFrame(rows)
    view = layer_view(df)
    keys = [c.key for c in view.columns]
    assert keys.index("data_dependent") == keys.index("op_type") + 1
    assert [r[keys.index("data_dependent")].text for r in view.rows] == ["yes"] * len(rows)
    assert view.notes == [DATA_DEPENDENT_NOTE]
    html = layer_table_html(df)
    assert ">data-dependent</th>" in html and "traced on real CPU tensors holding random data" in html

    plain = pd.DataFrame(doc("-m", "tests._tiny_models:tiny", "--input-shape", "1x3x8x8")["layers"])
    assert "data_dependent" not in [c.key for c in layer_view(plain).columns] and not layer_view(plain).notes


def test_html_report_of_a_data_dependent_model_marks_its_rows(tmp_path):
    out = tmp_path / "rep"
    r = run("sweep", "-m", KEEP_POSITIVE, "--input-shape", "1x3x4x4", "--ridge-points", "0,50", "--out", str(out))
    assert r.exit_code == 0, r.output
    html = (out / "index.html").read_text()
    assert ">data-dependent</th>" in html and "traced on real CPU tensors holding random data" in html


# ---------------------------------------------------------------- sweep totals panel
@pytest.mark.parametrize("width", [80, 120])
@pytest.mark.parametrize("args, said", [
    (("-m", "mnv3-small"), "input 1x3x224x224 (zoo default resolution)"),
    (("-m", "mnv3-small", "-r", "160"), "input 1x3x160x160 (--resolution)"),
    (("-m", "tests._tiny_models:two_inputs", "--input-shape", "1x3x8x8", "--input-shape", "1x3x6x6"),
     "inputs 1x3x8x8, 1x3x6x6 (--input-shape)"),
])
def test_sweep_totals_panel_shows_the_inputs(args, said, width, console_width):
    console_width(width)
    r = run("sweep", *args, "--no-report")
    assert r.exit_code == 0, r.output
    lines = assert_fits(r.stdout, width)
    panel = lines[: next(i for i, ln in enumerate(lines) if ln.startswith("╰"))]
    word, rest = said.split(" ", 1)
    assert any(ln.strip("│ ").startswith(word + " ") and ln.strip("│ ").endswith(rest) for ln in panel), panel
