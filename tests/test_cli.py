"""The CLI driven in-process: every command, its output formats and its error paths."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from roofsweep.cli import app

runner = CliRunner()
ROOT = Path(__file__).resolve().parent.parent


def run(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


def assert_one_line_error(result, *needles: str) -> None:
    assert result.exit_code == 1, result.output
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert "Traceback" not in result.output
    for n in needles:
        assert n in lines[0], lines[0]


def _commands(typer_app: typer.Typer, prefix=()):
    for c in typer_app.registered_commands:
        yield (*prefix, c.name or c.callback.__name__)
    for g in typer_app.registered_groups:
        yield from _commands(g.typer_instance, (*prefix, g.name))


ALL_COMMANDS = sorted(_commands(app))


def test_the_expected_commands_exist():
    assert {c[-1] for c in ALL_COMMANDS} >= {
        "models", "layers", "sweep", "compare", "run", "list", "show", "validate", "probe", "measure",
    }


@pytest.mark.parametrize("cmd", ALL_COMMANDS, ids=" ".join)
def test_every_command_has_help_with_an_example(cmd):
    r = run(*cmd, "--help")
    assert r.exit_code == 0
    assert "Example:" in r.output


@pytest.mark.parametrize("cmd", ALL_COMMANDS, ids=" ".join)
def test_every_command_is_documented(cmd):
    guide = (ROOT / "docs" / "user-guide.md").read_text()
    assert f"roofsweep {' '.join(cmd)}" in guide


def test_usage_error_exits_2():
    assert run("sweep").exit_code == 2  # --model missing
    assert run("sweep", "--model", "mnv2", "--format", "xml").exit_code == 2


# ------------------------------------------------------------------------------- models
def test_models_json_rows():
    r = run("models", "--format", "json")
    assert r.exit_code == 0
    rows = json.loads(r.stdout)
    names = [row["name"] for row in rows]
    assert names == ["mnv1", "mnv2", "mnv3-large", "mnv3-small", "mnv4-conv-s", "mnv4-conv-m",
                     "mnv4-conv-l", "mnv4-hybrid-m", "mnv4-hybrid-l"]
    by = {row["name"]: row for row in rows}
    assert by["mnv2"]["params"] == 3_504_872 and by["mnv2"]["resolution"] == 224
    assert by["mnv4-conv-m"]["resolution"] == 256 and by["mnv4-conv-m"]["top1"] == 79.9
    assert abs(by["mnv4-hybrid-m"]["macs"] / 1_271.2e6 - 1) < 1e-3
    assert {"name", "resolution", "macs", "params", "top1"} <= set(rows[0])


def test_models_csv_and_table():
    csv = run("models", "--format", "csv").stdout.splitlines()
    assert csv[0].startswith("name,") and len(csv) == 10
    table = run("models").stdout
    assert "mnv4-hybrid-l" in table and "\x1b[" not in table  # NO_COLOR: no escape codes


# ------------------------------------------------------------------------------- layers
def test_layers_json_has_rows_and_unsupported_field():
    r = run("layers", "--model", "mnv2", "--resolution", "160", "--format", "json")
    doc = json.loads(r.stdout)
    assert doc["unsupported_ops"] == {}
    assert doc["input_shape"] == [1, 3, 160, 160]
    row = doc["layers"][0]
    assert {"name", "op_type", "macs", "weight_elems", "input_elems", "output_elems"} <= set(row)
    assert row["name"] == "features.0.conv" or row["op_type"] == "conv2d"
    assert sum(r["macs"] for r in doc["layers"]) == doc["macs"]


def test_layers_csv_batch_scales():
    one = run("layers", "-m", "mnv3-small", "-f", "json")
    four = run("layers", "-m", "mnv3-small", "-b", "4", "-f", "json")
    assert json.loads(four.stdout)["macs"] == 4 * json.loads(one.stdout)["macs"]


def test_layers_of_a_callable_warns_about_unsupported_ops():
    r = run("layers", "--model", "tests._tiny_models:with_unsupported", "--input-shape", "1x3x8x8")
    assert r.exit_code == 0, r.output
    assert "cumprod" in r.stderr and "warning" in r.stderr
    doc = json.loads(run("layers", "-m", "tests._tiny_models:with_unsupported", "--input-shape",
                         "1x3x8x8", "-f", "json").stdout)
    assert doc["unsupported_ops"] == {"cumprod": 1}


@pytest.mark.parametrize(
    "args, needles",
    [
        (["--model", "mnv5"], ["unknown model 'mnv5'", "mnv"]),
        (["--model", "mnv4-conv-mm"], ["did you mean 'mnv4-conv-m'"]),
        (["--model", "mnv2", "--width", "0"], ["width"]),
        (["--model", "mnv2", "--width", "-1.5"], ["width"]),
        (["--model", "mnv2", "--resolution", "16"], ["resolution 16 is too small"]),
        (["--model", "tests._tiny_models:not_a_module"], ["nn.Module"]),
        (["--model", "no_such_package.mod:fn"], ["no_such_package"]),
        (["--model", "torchvision:resnet9000"], ["resnet9000"]),
        (["--model", "mnv2", "--width", "1e9"], ["building mnv2 at width 1e+09 failed"]),
        (["--model", "mnv2", "--resolution", "10000000000"], ["tracing mnv2@10000000000"]),
        (["--model", "a:b:c"], ["'a:b:c'"]),  # rich used to print ':b:' as an emoji
        (["--model", "tests._tiny_models:exits"], ["SystemExit: 3"]),
        # a 1-channel image into a 3-channel conv used to be costed as if it fitted
        (["--model", "tests._tiny_models:tiny", "--input-shape", "1x1x8x8"], ["tracing", "1x1x8x8 failed"]),
        (["--model", "tests._tiny_models:tiny", "--input-shape", "224"], ["batch first"]),
        (["--model", "tests._tiny_models:tiny", "--input-shape", "4x3x8x8", "--batch", "2"], ["has batch 4"]),
        (["--model", "mnv2", "--input-shape", "1x1x64x64"], ["does not fit mnv2"]),
        (["--model", "mnv2", "--input-shape", "1x3x64x64", "--resolution", "96"], ["disagrees"]),
    ],
)
def test_bad_model_input_is_one_line(args, needles):
    assert_one_line_error(run("layers", *args), *needles)


def test_shape_mismatch_names_the_shapes_not_an_internal_tuple():
    r = run("layers", "-m", "tests._tiny_models:linear_only", "--input-shape", "1x3x8x6")
    assert_one_line_error(r, "tracing tests._tiny_models:linear_only", "on input 1x3x8x6 failed", "8, 4")
    assert "((" not in r.stderr


def test_input_shape_sets_the_batch():
    doc = json.loads(run("layers", "-m", "tests._tiny_models:tiny", "--input-shape", "4x3x8x8", "-f", "json").stdout)
    assert doc["input_shape"] == [4, 3, 8, 8]  # the batch of 4 used to become 1
    doc = json.loads(run("layers", "-m", "mnv2", "--input-shape", "2x3x64x64", "-f", "json").stdout)
    assert doc["input_shape"] == [2, 3, 64, 64]  # used to be ignored for zoo models


def test_uninstalled_timm_is_one_line(monkeypatch):
    monkeypatch.setitem(sys.modules, "timm", None)
    assert_one_line_error(run("layers", "--model", "timm:mobilenetv3_small_100", "--no-cache"), "timm")


# ----------------------------------------------------------------------------- hardware
def test_hardware_list_json():
    rows = json.loads(run("hardware", "list", "-f", "json").stdout)
    names = {r["name"] for r in rows}
    assert {"pixel6-cpu", "coral-edgetpu", "nvidia-h200", "paper-rp500-accelerator"} <= names
    px = next(r for r in rows if r["name"] == "pixel6-cpu")
    assert px["ridge_point"] == pytest.approx(31.2)


def test_hardware_show_and_unknown():
    r = run("hardware", "show", "nvidia-t4")
    assert r.exit_code == 0 and "NVIDIA" in r.stdout
    assert_one_line_error(run("hardware", "show", "nvidia-t5"), "nvidia-t4")


def test_hardware_validate(tmp_path):
    good = ROOT / "hardware_profiles" / "pixel6-cpu.yaml"
    assert run("hardware", "validate", str(good)).exit_code == 0
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\nkind: cpu\npeak_macs_per_s: {int8: -5}\nbandwidth: 10 GB/s\n")
    r = run("hardware", "validate", str(bad))
    assert r.exit_code == 1
    assert "bad.yaml" in r.stderr and "peak_macs_per_s" in r.stderr
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: [unclosed\n")
    r = run("hardware", "validate", str(broken))
    assert r.exit_code == 1 and "broken.yaml" in r.stderr and "Traceback" not in r.output


# -------------------------------------------------------------------------------- sweep
def test_sweep_json_rows_have_rp_and_profile_rows():
    r = run("sweep", "--model", "mnv4-conv-s", "--hardware", "pixel6-cpu", "--hardware", "nvidia-t4",
            "--ridge-points", "0,5,50,500", "--no-report", "--format", "json")
    assert r.exit_code == 0, r.output
    rows = json.loads(r.stdout)
    rp_rows = [x for x in rows if not x["hardware"]]
    hw_rows = [x for x in rows if x["hardware"]]
    assert [x["ridge_point"] for x in rp_rows] == [0, 5, 50, 500]
    assert {x["hardware"] for x in hw_rows} == {"pixel6-cpu", "nvidia-t4"}
    for x in rows:
        assert {"model", "latency_s", "memory_bound_fraction", "compute_bound_fraction"} <= set(x)
        assert x["latency_s"] > 0
    # RP 0 under the default preset: MACs / 200 GMAC/s
    assert rp_rows[0]["latency_s"] == pytest.approx(rp_rows[0]["macs"] / 200e9)


def test_sweep_paper_preset_table_and_csv():
    r = run("sweep", "-m", "mnv4-conv-m", "--preset", "paper", "--no-report")
    assert r.exit_code == 0
    assert "Ridge-point sweep" in r.stdout and "Dominant" in r.stdout or "dominate" in r.stdout
    csv = run("sweep", "-m", "mnv4-conv-m", "--rp-range", "0:500:11", "-H", "pixel6-cpu", "--no-report", "-f", "csv")
    lines = csv.stdout.splitlines()
    assert lines[0].startswith("model,") and len(lines) == 1 + 11 + 1


@pytest.mark.parametrize(
    "args, needle",
    [
        (["--rp-range", "500:0:10"], "500:0:10"),
        (["--ridge-points", "5,-1"], "-1"),
        (["--ridge-points", "5,abc"], "abc"),
        (["--ridge-points", "5", "--rp-range", "0:5:2"], "not both"),
        (["--hardware", "no-such-device"], "no-such-device"),
        (["--set", "activation_bytes_per_elem=-1"], "activation_bytes_per_elem"),
        (["--set", "nonsense=1"], "nonsense"),
        (["--ridge-points", ""], "empty"),  # used to fall back to the default points
        (["--rp-range", ""], "empty"),
        (["--hardware", "pixel6-cpu", "--hardware", "pixel6-cpu"], "'pixel6-cpu' is given twice"),
        (["--set", "pad_rgb_to=99999999999999999999"], "pad_rgb_to"),
        (["--set", "unfused_activations=hardswich"], "did you mean 'hardswish'"),
    ],
)
def test_bad_sweep_input_is_one_line(args, needle):
    assert_one_line_error(run("sweep", "-m", "mnv2", "--no-report", *args), needle)


def test_minus_zero_ridge_point_is_rp_0():
    rows = json.loads(run("sweep", "-m", "mnv2", "--ridge-points=-0,5", "--no-report", "-H", "pixel6-cpu",
                          "-f", "json").stdout)
    assert [x["point"] for x in rows if not x["hardware"]] == ["RP 0", "RP 5"]


def test_sweep_writes_a_report(tmp_path):
    out = tmp_path / "rep"
    r = run("sweep", "-m", "mnv3-small", "-H", "pixel6-cpu", "--out", str(out), "--figures", "svg")
    assert r.exit_code == 0, r.output
    assert str(out / "index.html") in r.stderr.replace("\n", "")
    html = (out / "index.html").read_text()
    assert "mnv3-small" in html and "pixel6-cpu" in html
    layers = json.loads(run("layers", "-m", "mnv3-small", "-f", "json").stdout)["layers"]
    assert all(f">{row['name']}<" in html for row in layers)  # every layer in the tables
    figs = sorted(p.name for p in (out / "figures").iterdir())
    # each figure drawn once, as SVG; PNG only with --figures png (test_report_figure_files)
    assert any(f.endswith(".svg") for f in figs) and not any(f.endswith(".png") for f in figs)
    # an existing report is never overwritten: the second run goes to a new folder
    r2 = run("sweep", "-m", "mnv3-small", "-H", "pixel6-cpu", "--out", str(out))
    assert r2.exit_code == 0
    assert len(list(tmp_path.iterdir())) == 2


def test_report_figure_files(tmp_path):
    # default: the page draws its charts itself, no figures/ folder; --figures png: SVG + PNG files
    r = run("sweep", "-m", "mnv2", "-r", "64", "--out", str(tmp_path / "a"))
    assert r.exit_code == 0, r.output
    names = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert names == [".roofsweep-report", "index.html", "layers", "summary.json", "sweep.csv"]
    html = (tmp_path / "a" / "index.html").read_text()
    assert 'id="rs-chart-data"' in html and 'id="rs-charts"' in html and 'class="rs-figure"' not in html
    r = run("sweep", "-m", "mnv2", "-r", "64", "--out", str(tmp_path / "b"), "--figures", "png")
    assert r.exit_code == 0, r.output
    figs = sorted(p.name for p in (tmp_path / "b" / "figures").iterdir())
    svgs = [f for f in figs if f.endswith(".svg")]
    assert svgs and sorted(f[:-4] + ".png" for f in svgs) == [f for f in figs if f.endswith(".png")]
    assert (tmp_path / "b" / "figures" / "latency_vs_ridge_point.png").read_bytes()[:4] == b"\x89PNG"
    assert 'class="rs-figure"' in (tmp_path / "b" / "index.html").read_text()  # the figures on the page too
    assert run("sweep", "-m", "mnv2", "--no-report", "--figures", "jpg").exit_code == 2  # a usage error, as --format xml


def test_report_without_figures_never_imports_matplotlib(tmp_path):
    code = ("import runpy, sys\n"
            f"sys.argv = ['roofsweep', 'sweep', '-m', 'mnv2', '-r', '64', '--out', {str(tmp_path / 'r')!r}]\n"
            "try:\n    runpy.run_module('roofsweep', run_name='__main__')\n"
            "except SystemExit as e:\n    assert not e.code, e.code\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'matplotlib'))\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip().splitlines()[-1] == "[]"
    assert (tmp_path / "r" / "index.html").is_file()


def test_unwritable_out_fails_before_work(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    r = run("sweep", "-m", "mnv2", "--out", str(blocker / "sub"))
    assert_one_line_error(r, str(blocker))


def test_sigterm_while_writing_a_report_leaves_nothing_behind(tmp_path):
    # SIGTERM arrives while the report is half-written: the temporary folder must go too
    code = (
        "import os, signal, sys\n"
        "from roofsweep.report import bundle\n"
        "orig = bundle._write_contents\n"
        "def interrupted(*a, **k):\n"
        "    os.kill(os.getpid(), signal.SIGTERM)\n"
        "    return orig(*a, **k)\n"
        "bundle._write_contents = interrupted\n"
        "sys.argv = ['roofsweep', 'sweep', '-m', 'mnv3-small', '--ridge-points', '5', '-f', 'csv', '--out', 'rep']\n"
        "from roofsweep.cli import main\n"
        "main()\n"
    )
    r = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True,
                       env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert r.returncode == 143, r.stderr  # 128 + SIGTERM
    assert list(tmp_path.iterdir()) == []


def test_compare_marks_frontier():
    r = run("compare", "mnv2", "mnv3-large", "mnv4-conv-s", "--no-report", "-f", "json", "-H", "pixel6-cpu")
    rows = json.loads(r.stdout)
    assert {x["model"] for x in rows} == {"mnv2", "mnv3-large", "mnv4-conv-s"}
    assert all("on_frontier" in x for x in rows)
    at0 = [x for x in rows if x["point"] == "RP 0"]
    # at RP 0 latency is MACs: MNv4-Conv-S (186 M MACs, 73.8 %) beats MNv2 (301 M, 73.4 %)
    assert {x["model"]: x["on_frontier"] for x in at0}["mnv2"] is False


def test_run_config(tmp_path):
    cfg = tmp_path / "exp.yaml"
    cfg.write_text(
        "title: tiny\npreset: paper\nmodels:\n  - {model: mnv2, width: 0.5}\n  - mnv3-small\n"
        "ridge_points: [0, 50]\nhardware: [pixel6-cpu]\n"
        f"output: {tmp_path / 'out'}\n"
    )
    r = run("run", str(cfg))
    assert r.exit_code == 0, r.output
    assert (tmp_path / "out" / "index.html").is_file()
    assert not (tmp_path / "out" / "figures").exists()  # the page draws its charts; no figure files


def test_run_config_figures_field(tmp_path):
    # `figures: svg` in a config (as the paper-figure configs have) writes the matplotlib figures;
    # --figures on the command line overrides it
    cfg = tmp_path / "exp.yaml"
    cfg.write_text("models:\n  - {model: mnv2, width: 0.5, resolution: 64}\n  - {model: mnv3-small, resolution: 64}\n"
                   "ridge_points: [0, 50]\nhardware: none\nper_layer_points: [50]\nfigures: svg\n"
                   f"output: {tmp_path / 'out'}\n")
    assert run("run", str(cfg)).exit_code == 0
    figs = sorted(p.name for p in (tmp_path / "out" / "figures").iterdir())
    assert "latency_vs_ridge_point.svg" in figs and "layer_latency.svg" in figs
    assert run("run", str(cfg), "--figures", "none", "--out", str(tmp_path / "o2")).exit_code == 0
    assert not (tmp_path / "o2" / "figures").exists()
    for name in ("mnv4-paper-fig2.yaml", "mnv4-paper-fig3.yaml"):
        from roofsweep.config import load_experiment

        assert load_experiment(ROOT / "configs" / name).figures == "svg"


@pytest.mark.parametrize(
    "text, needle",
    [
        ("models: []\n", "models"),
        ("modles: [mnv2]\n", "modles"),
        ("models: [mnv2]\npreset: fancy\n", "preset"),
        ("models: [{model: mnv2, width: 0}]\n", "models[0]"),
        ("models: [mnv2]\nridge_points: '9:1:3'\n", "ridge_points"),
        ("models: [mnv2\n", "line"),
        ("- just\n- a list\n", "mapping"),
        ("", "empty"),
        ("models: [{model: mnv2, batch: 0}]\n", "batch must be a positive integer, got 0"),  # was 1
        ("models: [mnv2]\nmodels: [mnv1]\n", "duplicate key 'models'"),  # was the last one, silently
        ("models: [{model: mnv2, label: [1]}]\n", "models[0].label"),
        ("models: [{model: 5}]\n", "models[0].model"),
        ("models: [mnv2]\ntitle: [1]\n", "title"),
        ("models: [mnv2]\nfigures: jpg\n", "figures"),
        ("models: [mnv2]\nhardware: [pixel6-cpu, pixel6-cpu]\n", "listed twice"),
        ("models: [mnv2]\nridge_points: [[1, 2]]\n", "item 0 must be a number"),
        ("models: [mnv2]\nridge_points: [&a [1,1,1,1,1,1,1,1,1,1], &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a], "
         "&c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b], &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c], "
         "&e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]]\n", "YAML nodes"),  # an alias bomb
    ],
)
def test_bad_config_is_one_line(tmp_path, text, needle):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text(text)
    assert_one_line_error(run("run", str(cfg), "--no-report"), "bad.yaml", needle)


def test_config_field_error_names_the_file_once(tmp_path):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("models: [{model: mnv2, width: big}]\n")
    r = run("run", str(cfg), "--no-report")
    assert_one_line_error(r, "bad.yaml: models[0].width: must be a finite number, got 'big'")
    assert r.stderr.count("bad.yaml") == 1


def test_config_that_is_not_a_regular_file_does_not_hang(tmp_path):
    fifo = tmp_path / "exp.yaml"
    os.mkfifo(fifo)  # reading it would block for ever
    assert_one_line_error(run("run", str(fifo)), "exp.yaml", "not a regular file")
    assert_one_line_error(run("run", "/dev/zero"), "/dev/zero", "not a regular file")


def test_a_search_space_given_to_run_names_the_right_command():
    r = run("run", str(ROOT / "configs" / "space-mnv4-conv.yaml"), "--no-report")
    assert r.exit_code == 1
    assert "a search space, not an experiment config" in r.stderr and "roofsweep search" in r.stderr


def test_shipped_configs_load():
    from roofsweep.config import load_experiment

    from roofsweep.search.space import load_space

    for cfg in sorted((ROOT / "configs").glob("*.yaml")):
        if cfg.name.startswith("space-"):  # a search space (roofsweep search), not an experiment
            assert load_space(cfg).size > 1
            continue
        exp = load_experiment(cfg)
        assert exp.models


def test_sweep_on_a_warm_cache_imports_no_torch(tmp_path):
    env = dict(os.environ, ROOFSWEEP_CACHE_DIR=str(tmp_path))
    args = ["sweep", "-m", "mnv2", "--no-report", "-f", "json"]
    code = (
        "import sys; from roofsweep.cli import app\n"
        "try:\n    app(%r)\nexcept SystemExit as e:\n    assert not e.code, e.code\n"
        "print('TORCH' if 'torch' in sys.modules else 'NO-TORCH', file=sys.stderr)\n" % args
    )
    cold = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=ROOT)
    assert "TORCH" in cold.stderr.splitlines()[-1], cold.stderr
    warm = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=ROOT)
    assert warm.stderr.splitlines()[-1] == "NO-TORCH", warm.stderr
    assert json.loads(warm.stdout) == json.loads(cold.stdout)


# ------------------------------------------------------------------ probe / measure / validate
def test_probe_writes_a_profile_that_loads(tmp_path):
    from roofsweep.hardware import load_profile

    out = tmp_path / "host.yaml"
    r = run("probe", "--quick", "--dtypes", "fp32", "--threads", "1", "--out", str(out))
    assert r.exit_code == 0, r.output
    p = load_profile(out)
    assert p.kind == "cpu" and p.default_dtype == "fp32" and p.measured["threads"] == 1
    assert p.peak("fp32") > 0 and p.bandwidth_bytes_per_s > 0
    # never overwritten silently
    assert_one_line_error(run("probe", "--quick", "--out", str(out)), "exists")


def test_probe_into_a_folder_writes_name_yaml(tmp_path):
    r = run("probe", "--quick", "--dtypes", "fp32", "--threads", "1", "--name", "qa-host", "--out", str(tmp_path))
    assert r.exit_code == 0, r.output
    assert [p.name for p in tmp_path.iterdir()] == ["qa-host.yaml"]
    # an existing folder used to be refused as "exists", then with --force as "is a folder"
    assert_one_line_error(run("probe", "--quick", "--name", "qa-host", "--out", str(tmp_path)), "qa-host.yaml", "exists")


def test_probe_rejects_a_bad_name_before_measuring(tmp_path, monkeypatch):
    import roofsweep.measure.probe as probe

    monkeypatch.setattr(probe, "last_level_cache_bytes", lambda: pytest.fail("measured anyway"))
    r = run("probe", "--quick", "--name", "Bad Name", "--out", str(tmp_path / "x.yaml"))
    assert_one_line_error(r, "'Bad Name'", "slug")
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("threads", ["0", "100000"])  # 100000 threads crashed torch (segfault)
def test_measure_threads_out_of_range(threads):
    assert_one_line_error(run("measure", "-m", "mnv3-small", "--threads", threads), "--threads", threads)


def test_probe_to_an_unwritable_place_fails_first(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert_one_line_error(run("probe", "--quick", "--out", str(blocker / "host.yaml")), str(blocker))


def test_measure_json_rows_match_the_layer_table():
    r = run("measure", "-m", "mnv3-small", "--resolution", "96", "--repeats", "1", "--warmup", "0",
            "--threads", "1", "-f", "json")
    assert r.exit_code == 0, r.output
    rows = json.loads(r.stdout)
    layers = json.loads(run("layers", "-m", "mnv3-small", "--resolution", "96", "-f", "json").stdout)["layers"]
    assert [x["name"] for x in rows] == [x["name"] for x in layers]
    assert all(x["measured_s"] >= 0 for x in rows)


def test_validate_needs_three_models():
    assert_one_line_error(run("validate", "--models", "mnv2,mnv3-small", "--hardware", "pixel6-cpu"), "at least 3")


def test_validate_checks_the_profile_dtype_before_measuring(tmp_path, monkeypatch):
    import roofsweep.measure.latency as latency

    prof = tmp_path / "fp16only.yaml"
    prof.write_text("name: fp16only\nkind: gpu\ndefault_dtype: fp16\npeak_macs_per_s: {fp16: 1e12}\nbandwidth: 1e10\n")
    monkeypatch.setattr(latency, "measure_model", lambda *a, **k: pytest.fail("measured anyway"))
    r = run("validate", "--models", "mnv3-small,mnv2-0.5x,mnv4-conv-s", "--hardware", str(prof), "--preset", "paper",
            "--no-report")
    assert_one_line_error(r, "'fp16only' has no peak MAC/s for dtype int8", "fp16")


def test_validate_end_to_end(tmp_path):
    r = run("validate", "--models", "mnv3-small,mnv2-0.5x", "--models", "mnv4-conv-s", "--hardware",
            str(ROOT / "hardware_profiles" / "x86-server.yaml"), "--set", "dtype=fp32", "--repeats", "1",
            "--warmup", "0", "--threads", "1", "--out", str(tmp_path / "v"))
    assert r.exit_code == 0, r.output
    assert "Spearman" in r.stdout and "best-fitting ridge point" in r.stdout
    assert (tmp_path / "v" / "figures" / "predicted_vs_measured.svg").stat().st_size > 5000


def test_config_hardware_may_be_one_name(tmp_path):
    from roofsweep.config import load_experiment

    cfg = tmp_path / "one.yaml"
    cfg.write_text("models: [mnv2]\nhardware: pixel6-cpu\n")
    assert load_experiment(cfg).hardware == ["pixel6-cpu"]
    cfg.write_text("models: [mnv2]\nhardware: all\n")
    assert load_experiment(cfg).hardware is None
    cfg.write_text("models: [mnv2]\n")
    assert load_experiment(cfg).hardware == []


# ------------------------------------------------------------ terminal width, scriptable output
FIT_COMMANDS = [
    ("models",),
    ("layers", "-m", "mnv4-hybrid-m"),
    ("sweep", "-m", "mnv4-conv-m", "--no-report"),
    ("sweep", "-m", "mnv4-conv-m", "--preset", "paper", "--no-report"),
    ("compare", "mnv2", "mnv3-large", "mnv4-conv-s", "mnv4-hybrid-m", "--no-report"),
    ("hardware", "list"),
    ("hardware", "show", "pixel6-cpu"),
]


@pytest.fixture
def console_width():
    from roofsweep.cli.common import console

    before = console.width

    def set_width(w: int) -> None:
        console.width = w

    yield set_width
    console.width = before


@pytest.mark.parametrize("width", [80, 120])
@pytest.mark.parametrize("cmd", FIT_COMMANDS, ids=" ".join)
def test_command_output_fits_the_terminal(cmd, width, console_width):
    console_width(width)
    r = run(*cmd)
    assert r.exit_code == 0, r.output
    lines = r.stdout.splitlines()
    assert max(len(ln.rstrip()) for ln in lines) <= width
    assert "…" not in r.stdout


@pytest.mark.parametrize("width", [80, 120])
def test_layers_rows_are_whole_lines(width, console_width):
    console_width(width)
    layers = json.loads(run("layers", "-m", "mnv4-hybrid-m", "-f", "json").stdout)["layers"]
    out = run("layers", "-m", "mnv4-hybrid-m").stdout.splitlines()
    for row in layers:  # each layer: one line holding its index, whole name and op type
        hits = [ln for ln in out if f" {row['name']} " in f" {ln} " and row["op_type"] in ln]
        assert len(hits) == 1, row["name"]
    rows = [i for i, ln in enumerate(out) if ln.strip()[:1].isdigit()]
    assert rows == list(range(rows[0], rows[0] + len(layers)))  # no blank lines after rows


def test_sweep_table_is_honest_about_what_it_sweeps():
    out = run("sweep", "-m", "mnv3-small", "--preset", "paper", "--no-report").stdout
    assert "bandwidth fixed at 40 GB/s" in out and "MACs only (200 GMAC/s, memory free)" in out
    rp_part, hw_part = out.split("Hardware profiles")
    assert "RP 2 " not in rp_part  # not in the default grid any more
    assert "paper-rp5-slow-cpu" in rp_part and "paper-rp5-slow-cpu" not in hw_part
    assert "pixel6-cpu" in hw_part and "pixel6-cpu" not in rp_part
    assert [ln for ln in hw_part.splitlines() if ln.startswith("pixel6-cpu") and "bound" in ln]


def test_json_rows_say_what_the_latency_is_and_carry_the_frontier_share():
    r = run("compare", "mnv2", "mnv3-large", "mnv4-conv-s", "-H", "pixel6-cpu", "-H", "paper-rp5-slow-cpu",
            "--ridge-points", "0,5,500", "-f", "json")
    rows = json.loads(r.stdout)
    assert {x["latency_is"] for x in rows} == {"bound"}
    assert {x["same_as"] for x in rows if x["point"] == "paper-rp5-slow-cpu"} == {"RP 5"}
    assert {x["same_as"] for x in rows if x["point"] != "paper-rp5-slow-cpu"} == {""}
    share = {x["model"]: x["frontier_share"] for x in rows}
    assert set(share) == {"mnv2", "mnv3-large", "mnv4-conv-s"}
    assert all(0 <= v <= 1 for v in share.values())
    assert share["mnv4-conv-s"] == 1.0  # fewest MACs and bytes of the three at 73.8 %: always on the frontier
    csv = run("compare", "mnv2", "mnv4-conv-s", "-H", "pixel6-cpu", "--ridge-points", "5", "-f", "csv").stdout
    assert {"latency_is", "same_as", "frontier_share"} <= set(csv.splitlines()[0].split(","))


def test_json_and_csv_write_no_files_unless_out_is_given(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for fmt in ("json", "csv"):
        assert run("sweep", "-m", "mnv3-small", "--ridge-points", "5", "-H", "pixel6-cpu", "-f", fmt).exit_code == 0
        assert run("compare", "mnv2", "mnv3-small", "--ridge-points", "5", "-H", "pixel6-cpu", "-f", fmt).exit_code == 0
    assert list(tmp_path.iterdir()) == []
    r = run("sweep", "-m", "mnv3-small", "--ridge-points", "5", "-H", "pixel6-cpu", "-f", "json", "--out", "rep")
    assert r.exit_code == 0 and json.loads(r.stdout)
    summary = json.loads((tmp_path / "rep" / "summary.json").read_text())
    assert "frontier_share" in summary


def test_default_reports_keep_a_latest_link(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    args = ("sweep", "-m", "mnv3-small", "--ridge-points", "5", "-H", "pixel6-cpu")
    first, second = run(*args), run(*args)
    assert first.exit_code == 0 and second.exit_code == 0, second.output
    latest = tmp_path / "roofsweep-reports" / "latest"
    assert latest.is_symlink()
    written = [p for p in (tmp_path / "roofsweep-reports").iterdir() if p.name != "latest"]
    assert len(written) == 2  # the first report is kept
    newest = second.stderr.replace("\n", "").split("report: ")[-1].strip()
    assert latest.resolve() == Path(newest).parent.resolve()
    assert (latest / "index.html").is_file()


def test_compare_takes_accuracies_for_users_models(tmp_path):
    csv = tmp_path / "acc.csv"
    csv.write_text("model,top1,note\ntests._tiny_models:tiny,61.5,mine\n")
    r = run("compare", "tests._tiny_models:tiny", "tests._tiny_models:linear_only", "--input-shape", "1x3x8x8",
            "--accuracies", str(csv), "--top1", "tests._tiny_models:linear_only=55", "--ridge-points", "5",
            "--hardware", "pixel6-cpu", "-f", "json")
    assert r.exit_code == 0, r.output
    top1 = {x["model"]: x["top1"] for x in json.loads(r.stdout)}
    # named as typed; the rows carry the label (the spec and its resolution)
    assert top1 == {"tests._tiny_models:tiny@8": 61.5, "tests._tiny_models:linear_only@8": 55.0}
    # --top1 overrides the zoo's published figure, by label or as typed
    rows = json.loads(run("compare", "mnv2", "mnv3-small", "--top1", "mnv2=70", "--ridge-points", "5",
                          "-H", "pixel6-cpu", "-f", "json").stdout)
    assert {x["model"]: x["top1"] for x in rows} == {"mnv2": 70.0, "mnv3-small": 67.5}


@pytest.mark.parametrize(
    "args, needle",
    [
        (["--top1", "mnv9=70"], "mnv9"),
        (["--top1", "mnv2=abc"], "'abc'"),
        (["--top1", "mnv2=170"], "(0, 100]"),
        (["--top1", "70"], "NAME=ACC"),
        (["--accuracies", "missing.csv"], "missing.csv"),
    ],
)
def test_bad_accuracies_are_one_line(args, needle):
    assert_one_line_error(run("compare", "mnv2", "mnv3-small", "--no-report", *args), needle)


def test_bad_accuracies_file_names_the_line(tmp_path):
    f = tmp_path / "acc.csv"
    f.write_text("name,acc\nmnv2,70\n")
    assert_one_line_error(run("compare", "mnv2", "mnv3-small", "--no-report", "--accuracies", str(f)),
                          "acc.csv", "model,top1")
    f.write_text("model,top1\nmnv2,70\nmnv3-small,x\n")
    assert_one_line_error(run("compare", "mnv2", "mnv3-small", "--no-report", "--accuracies", str(f)),
                          "acc.csv: line 3", "'x'")


def test_help_reads_well():
    top = run("--help").stdout.split("Commands:")[1]
    assert "..." not in top  # descriptions whole, wrapped
    assert "frontier share." in top
    for cmd in (("sweep",), ("compare",), ("run",), ("layers",), ("hardware", "show"), ("hardware", "validate")):
        text = run(*cmd, "--help").stdout
        assert "<list[" not in text and "<str>" not in text and "<int>" not in text and "<path>" not in text, cmd
    assert "MODEL...  Models to compare" in run("compare", "--help").stdout


def test_preset_choices_are_the_engines():
    from roofsweep.cli.common import Preset
    from roofsweep.engine.costmodel import PRESETS

    assert [p.value for p in Preset] == list(PRESETS)


def test_sweep_table_of_a_model_without_layers():
    # used to fail with KeyError: the totals had no row for a model with no layers
    r = run("sweep", "-m", "torch.nn:Identity", "--input-shape", "1x3x8x8", "-H", "pixel6-cpu", "--no-report")
    assert r.exit_code == 0, r.output
    assert "MACs only" in r.stdout and "pixel6-cpu" in r.stdout


def test_piped_output_takes_the_terminals_width(monkeypatch):
    from roofsweep.cli import common

    monkeypatch.setenv("COLUMNS", "77")
    assert common.terminal_width() == 77
    monkeypatch.delenv("COLUMNS")
    monkeypatch.setattr(common.os, "get_terminal_size", lambda fd: os.terminal_size((93, 40)))
    assert common.terminal_width() == 93  # stdout piped, but stderr/stdin are the terminal

    def no_terminal(fd):
        raise OSError("not a terminal")

    monkeypatch.setattr(common.os, "get_terminal_size", no_terminal)
    assert common.terminal_width() is None  # a file or CI: PIPE_WIDTH columns
    assert common.PIPE_WIDTH == 120
