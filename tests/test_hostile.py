"""Hostile inputs: each test is one defect of the hostile-input review (numbered as there), and
fails on the code before its fix. Every answer is a valid result or one line naming what and
where - never a traceback, a hang, a deleted folder or a raw control character."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from roofsweep.cli import app
from roofsweep.config import MAX_PER_LAYER_POINTS, load_experiment
from roofsweep.engine.costmodel import PRESETS, with_overrides
from roofsweep.engine.sweep import MAX_COMMAND_GRID_POINTS, command_grid, ridge_point_grid, sweep_ridge_points
from roofsweep.errors import ConfigError, ModelBuildError, OutputError, ProfileError, RoofsweepError
from roofsweep.hardware import ENV_VAR, load_profile, profile_from_yaml
from roofsweep.hardware import discovery as discovery_module
from roofsweep.io import MARKER, OLD_PREFIX, TMP_PREFIX, clean_stale
from roofsweep.report.bundle import check_writable, write_report
from roofsweep.report.data import ReportData
from roofsweep.units import UnitError, parse_quantity
from roofsweep.zoo.registry import resolve

ROOT = Path(__file__).resolve().parent.parent
runner = CliRunner()
GOOD = "name: t\nkind: cpu\ndefault_dtype: int8\npeak_macs_per_s: {int8: 1e12}\nbandwidth: 1e10\n"
BREAKS = ("\n", "\r", "\u2028", "\x1b", "\x07")


def _one_line(message: str, limit: int = 400) -> None:
    assert not any(b in message for b in BREAKS), repr(message)
    assert len(message) <= limit, len(message)


def _cli_error(*args: str) -> str:
    r = runner.invoke(app, list(args), catch_exceptions=False)
    assert r.exit_code == 1, r.output
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), r.stderr
    return lines[0]


@pytest.fixture(autouse=True)
def no_user_profiles(tmp_path, monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)
    user = tmp_path / "user-profiles"
    monkeypatch.setattr(discovery_module, "user_profile_dir", lambda: user)
    return user


def _report() -> ReportData:
    return ReportData(title="t", command="roofsweep sweep --model mnv1", preset="paper")


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


# ------------------------------------------------------------------ 1. linear parsing, bounded lengths
def test_1_pathological_quantity_is_refused_by_length(tmp_path):
    # the regex backtracked cubically on "1" + spaces + "!" (41 s at 3,000 spaces)
    with pytest.raises(UnitError, match="too long"):
        parse_quantity("1" + " " * 3000 + "!", "bandwidth")
    path = tmp_path / "slow.yaml"
    path.write_text(GOOD.replace("bandwidth: 1e10", 'bandwidth: "1' + " " * 3000 + '!"'))
    with pytest.raises(ProfileError, match=r"bandwidth: quantity .* is too long") as exc:
        load_profile(path)
    _one_line(str(exc.value), limit=400 + len(str(path)))
    # under the bound the same shape is read in linear time and refused for what it is
    with pytest.raises(UnitError, match="cannot read"):
        parse_quantity("1" + " " * 50 + "!", "bandwidth")


def test_1_long_set_value_and_long_model_name_are_cut():
    with pytest.raises(ConfigError, match="too long") as exc:
        with_overrides(PRESETS["default"], sweep_bandwidth_bytes_per_s="1" + " " * 2000 + "!")
    _one_line(str(exc.value))
    with pytest.raises(RoofsweepError) as exc:  # 16 KB: difflib on the whole name took 6 s
        resolve("m" * 16_000)
    _one_line(str(exc.value))


# ------------------------------------------------------------------ 2. --force and the marker
def test_2_force_never_deletes_a_site_that_looks_like_a_report(tmp_path):
    site = tmp_path / "site"
    (site / "src").mkdir(parents=True)
    (site / "index.html").write_text("x")
    (site / "summary.json").write_text("{}")
    (site / "src" / "thesis.tex").write_text("t")
    for force in (True, False):
        with pytest.raises(OutputError, match="roofsweep did not write"):
            write_report(site, _report(), force=force)
    assert (site / "src" / "thesis.tex").read_text() == "t"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site"]  # no sibling either
    out = write_report(tmp_path / "rep", _report())
    assert (out / MARKER).is_file()
    assert write_report(out, _report(), force=True) == out  # its own report: replaced


# ------------------------------------------------------------------ 3. bounded grids and lists
def test_3_grids_and_config_lists_are_bounded(tmp_path):
    with pytest.raises(ConfigError, match="too many ridge points"):
        command_grid("0:500:1000000")
    with pytest.raises(ConfigError, match=f"at most {MAX_COMMAND_GRID_POINTS:,}"):
        command_grid(f"0:500:{MAX_COMMAND_GRID_POINTS + 1}")
    assert len(command_grid(f"0:500:{MAX_COMMAND_GRID_POINTS}")) == MAX_COMMAND_GRID_POINTS
    msg = _cli_error("sweep", "--model", "mnv2", "--rp-range", "0:500:1000000", "--no-report")
    assert "too many ridge points" in msg
    cfg = tmp_path / "c.yaml"
    cfg.write_text("models: [mnv2]\nper_layer_points: [" + ", ".join(["5"] * 2000) + "]\n")
    with pytest.raises(ConfigError, match=rf"c\.yaml: per_layer_points: lists 2,000 .* at most {MAX_PER_LAYER_POINTS}"):
        load_experiment(cfg)
    cfg.write_text("models: [mnv2]\nridge_points: [" + ", ".join(map(str, range(3000))) + "]\n")
    with pytest.raises(ConfigError, match=r"c\.yaml: ridge_points: too many ridge points \(3,000\)"):
        load_experiment(cfg)


# ------------------------------------------------------------------ 4. control characters
def test_4_control_character_in_a_config_is_one_line(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_bytes(b'models: [mnv2]\ntitle: "a\x07"\n')
    with pytest.raises(ConfigError, match=r"c\.yaml: line 2: control character U\+0007 .*column 10"):
        load_experiment(cfg)
    cfg.write_text('models: [mnv2]\ntitle: "a\\a"\n')  # a YAML escape gives the same BEL
    with pytest.raises(ConfigError, match=r"title: 'a\\x07' holds the control character U\+0007"):
        load_experiment(cfg)
    msg = _cli_error("run", str(cfg), "--no-report")
    assert "U+0007" in msg


# ------------------------------------------------------------------ 6. broken profile shadowing
def test_6_broken_user_profile_is_named_when_skipped(no_user_profiles):
    from roofsweep.analysis import analyze

    no_user_profiles.mkdir(parents=True)
    broken = no_user_profiles / "pixel6-cpu.yaml"
    broken.write_text("name: pixel6-cpu\nkind: cpu\n")  # no peak, no bandwidth
    a = analyze(["mnv3-small"], hardware=None, ridge_points=[5])
    [note] = [n for n in a.notes if str(broken) in n]
    assert "skipped" in note and "'pixel6-cpu'" in note and "is used instead" in note
    _one_line(note, limit=600)


# ------------------------------------------------------------------ 7. per_layer_points items
@pytest.mark.parametrize(("item", "reason"), [("null", "has no value"), ("1.0e+308", "outside the plausible range"),
                                              ("[1]", "must be a finite number"), ("-1", "must be >= 0")])
def test_7_per_layer_point_items_name_file_and_field(tmp_path, item, reason):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"models: [mnv2]\nper_layer_points: [5, {item}]\n")
    with pytest.raises(ConfigError) as exc:
        load_experiment(cfg)
    assert str(exc.value).startswith(f"{cfg}: per_layer_points[1]: ") and reason in str(exc.value)
    assert str(exc.value).endswith("(line 2)")


# ------------------------------------------------------------------ 8. overflow before tracing
def test_8_absurd_model_size_fails_before_tracing(monkeypatch):
    import roofsweep.trace.api as api

    monkeypatch.setattr(api, "trace", lambda *a, **k: pytest.fail("traced anyway"))
    msg = _cli_error("layers", "--model", "mnv3-small", "--width", "1000", "--batch", "10000000000")
    assert "width" in msg
    # width in range, batch absurd: 1e10 x 3 x 224 x 224 = 1.5e15 input elements > 2.5e13
    msg = _cli_error("layers", "--model", "mnv3-small", "--batch", "10000000000", "--no-cache")
    assert "too large to count" in msg
    with pytest.raises(ModelBuildError, match="too large to count"):
        resolve("torchvision:resnet18", batch=10**9)


# ------------------------------------------------------------------ 10. plausible ranges
@pytest.mark.parametrize("body", [
    "peak_macs_per_s: {int8: 1.0e-300}\nbandwidth: 1.0e-300\n",  # used to validate: infinite latency
    "peak_macs_per_s: {int8: 1.0e+300}\nbandwidth: 1.0e+300\n",
    "peak_macs_per_s: {int8: 1e12}\nridge_point: 1.0e-300\n",
    "bandwidth: 1e10\nridge_point: {int8: 1.0e+300}\n",
    "peak_macs_per_s: {int8: 1e12}\nbandwidth: 1e10\nonchip_memory: 1.0e+300\n",
])
def test_10_absurd_finite_profile_numbers_are_refused(body):
    with pytest.raises(ProfileError, match="outside"):
        profile_from_yaml("name: t\nkind: cpu\ndefault_dtype: int8\n" + body)


def test_10_absurd_cost_model_and_ridge_points_are_refused():
    for key in ("weight_bytes_per_elem", "activation_bytes_per_elem", "onchip_bytes",
                "sweep_bandwidth_bytes_per_s", "rp0_peak_macs_per_s"):
        with pytest.raises(ConfigError, match=f"'{key}'.*outside the plausible range"):
            with_overrides(PRESETS["default"], **{key: "1e308"})
    for spec in ([1e308], "1e308", "0:1e308:3"):
        with pytest.raises(ConfigError, match="outside the plausible range"):
            ridge_point_grid(spec)


def test_10_the_range_limits_themselves_give_finite_numbers_without_warnings():
    from layer_factory import conv, fc, table

    layers = table([conv("c", 56, 56, 3, 64, k=3, stride=2), fc("f", 64, 1000)], model="c")
    extreme = with_overrides(PRESETS["paper"], weight_bytes_per_elem=64, activation_bytes_per_elem=0,
                             sweep_bandwidth_bytes_per_s=1e16, rp0_peak_macs_per_s=1e18)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a numpy RuntimeWarning fails the test
        df = sweep_ridge_points({"c": layers}, [0, 1e-6, 1e6], extreme)
    times = df[["latency_s", "mac_time_s", "mem_time_s"]].to_numpy(dtype=float)
    assert np.isfinite(times).all() and (times[:, 0] > 0).all()


# ------------------------------------------------------------------ 11. one-line messages
def test_11_values_are_quoted_escaped_and_cut():
    with pytest.raises(ProfileError) as exc:
        profile_from_yaml(GOOD.replace("kind: cpu", 'kind: "gpu\\r"'))
    assert "'gpu\\r'" in str(exc.value) and "did you mean 'gpu'? " not in str(exc.value)
    _one_line(str(exc.value))
    with pytest.raises(ProfileError) as exc:
        profile_from_yaml(GOOD.replace("name: t", 'name: "a\\Lb\\nc"'))  # U+2028 and a newline
    _one_line(str(exc.value))
    with pytest.raises(ProfileError) as exc:
        profile_from_yaml(GOOD + "x" * 5000 + ": 1\n")  # an unknown 5,000-character field
    _one_line(str(exc.value))


def test_11_folded_scalar_quantity_is_accepted():
    p = profile_from_yaml(GOOD.replace("peak_macs_per_s: {int8: 1e12}", "peak_macs_per_s:\n  int8: >\n    4 TOPS\n"))
    assert p.peak() == 2e12  # 4e12 ops / 2


# ------------------------------------------------------------------ 12. interrupted writes
def test_12_kill_9_leftovers_are_cleaned_on_the_next_write(tmp_path):
    code = textwrap.dedent(f"""
        import os, signal
        from roofsweep.report import bundle
        from roofsweep.report.data import ReportData
        bundle._write_contents = lambda *a, **k: os.kill(os.getpid(), signal.SIGKILL)
        bundle.write_report({str(tmp_path / 'rep')!r}, ReportData(title='t', command='c', preset='paper'))
    """)
    r = subprocess.run([sys.executable, "-c", code], env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert r.returncode == -signal.SIGKILL
    assert [p.name.startswith(TMP_PREFIX) for p in tmp_path.iterdir()] == [True]  # what kill -9 leaves
    write_report(tmp_path / "other", _report())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other"]


def test_12_an_interrupted_force_replace_is_finished_on_the_next_write(tmp_path):
    old_report = write_report(tmp_path / "rep", _report())
    (old_report / "old.txt").write_text("old")
    # killed between the two renames: the old report aside, journal naming it, no new one
    aside = tmp_path / f"{OLD_PREFIX}{_dead_pid()}-abc"
    os.rename(old_report, aside)
    (tmp_path / (aside.name + ".target")).write_text("rep")
    assert clean_stale(tmp_path)
    assert (tmp_path / "rep" / "old.txt").read_text() == "old"  # the old report is back
    # killed after both renames: the new one is in place, the old one and its journal remain
    new = write_report(tmp_path / "rep", _report(), force=True)
    aside2 = tmp_path / f"{OLD_PREFIX}{_dead_pid()}-def"
    (aside2 / MARKER).parent.mkdir()
    (aside2 / MARKER).write_bytes((new / MARKER).read_bytes())
    (tmp_path / (aside2.name + ".target")).write_text("rep")
    write_report(tmp_path / "again", _report())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["again", "rep"]
    assert not (new / "old.txt").exists()


def test_12_a_live_writers_temp_folder_is_left_alone(tmp_path):
    live = tmp_path / f"{TMP_PREFIX}{os.getpid()}-busy"
    live.mkdir()
    foreign = tmp_path / ".roofsweep-notes"  # not ours by name: never touched
    foreign.mkdir()
    write_report(tmp_path / "rep", _report())
    assert live.is_dir() and foreign.is_dir()


# ------------------------------------------------------------------ 13. terminal escapes
def test_13_escape_and_bell_in_display_name_never_reach_the_terminal(tmp_path):
    path = tmp_path / "esc.yaml"
    path.write_text(GOOD + 'display_name: "\\e[31mRED\\a"\n')
    with pytest.raises(ProfileError, match=r"display_name: .*U\+001B"):
        load_profile(path)
    r = runner.invoke(app, ["hardware", "show", str(path)], catch_exceptions=False)
    assert r.exit_code == 1 and "\x1b" not in r.output and "\x07" not in r.output


# ------------------------------------------------------------------ 14. outputs
def test_14_outputs_that_are_not_a_report_folder(tmp_path, monkeypatch):
    for bad, reason in [("/", "filesystem root"), ("/proc", "roofsweep did not write"),
                        (os.fsdecode(b"bad\xff"), "not valid UTF-8"), ("x\0y", "NUL")]:
        with pytest.raises(OutputError, match=reason) as exc:
            check_writable(bad)
        _one_line(str(exc.value))
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / ".bashrc").write_text("")
    with pytest.raises(OutputError, match="roofsweep did not write"):
        check_writable("~")
    assert sorted(p.name for p in tmp_path.parent.iterdir() if p.name.startswith(tmp_path.name)) == [tmp_path.name]


def _main(*args: str, stdout=subprocess.PIPE, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "roofsweep", *args], stdout=stdout, stderr=subprocess.PIPE,
                          env=dict(os.environ, PYTHONPATH=str(ROOT), **env), timeout=300)


def test_14_stdout_on_a_full_disk_is_one_line():
    with open("/dev/full", "w") as full:
        r = _main("hardware", "list", "--format", "csv", stdout=full)
    assert r.returncode == 1
    err = r.stderr.decode()
    assert "Traceback" not in err and err.strip().splitlines()[-1].startswith("error: cannot write")


def test_14_ascii_only_output_escapes_instead_of_crashing(tmp_path):
    path = tmp_path / "cafe.yaml"
    path.write_text(GOOD.replace("name: t", 'name: cafe\ndisplay_name: "Caf\\u00e9 \\u2713"') + "sources: [x]\n")
    r = _main("hardware", "show", str(path), PYTHONIOENCODING="ascii")
    assert r.returncode == 0, r.stderr
    assert b"Caf\\xe9 \\u2713" in r.stdout


def test_14_probe_checks_out_and_name_before_measuring(tmp_path, monkeypatch):
    import roofsweep.measure.probe as probe

    monkeypatch.setattr(probe, "probe_host", lambda *a, **k: pytest.fail("measured anyway"))
    assert "not a regular file" in _cli_error("probe", "--quick", "--out", "/dev/null", "--force")
    assert "slug" in _cli_error("probe", "--quick", "--name", "Bad Name", "--out", str(tmp_path / "x.yaml"))
    assert os.path.exists("/dev/null") and not Path("/dev/null").is_file()
    assert json.dumps(sorted(os.listdir(tmp_path))) == "[]"


def test_12_sigterm_between_the_two_renames_of_force_keeps_the_new_report(tmp_path):
    target = tmp_path / "rep"
    write_report(target, _report())
    (target / "old.txt").write_text("old")
    code = textwrap.dedent(f"""
        import os, signal, sys
        from roofsweep.cli import _terminate
        from roofsweep.io import atomic
        from roofsweep.report import bundle
        from roofsweep.report.data import ReportData
        signal.signal(signal.SIGTERM, _terminate)  # as the CLI does: SIGTERM unwinds
        real = os.rename
        def rename(a, b):
            real(a, b)
            if os.path.basename(str(b)).startswith(atomic.OLD_PREFIX):
                os.kill(os.getpid(), signal.SIGTERM)  # right after the old report moved aside
        atomic.os.rename = rename
        bundle.write_report({str(target)!r}, ReportData(title='new', command='c', preset='paper'), force=True)
    """)
    r = subprocess.run([sys.executable, "-c", code], env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert r.returncode == 128 + signal.SIGTERM
    assert (target / MARKER).is_file() and not (target / "old.txt").exists()  # the new report is in
    write_report(tmp_path / "next", _report())  # and the next write clears what was left aside
    assert sorted(p.name for p in tmp_path.iterdir()) == ["next", "rep"]
