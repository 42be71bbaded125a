"""``calibrate`` / ``measure`` / ``validate`` on the command line: outputs and one-line errors."""

from __future__ import annotations

import json
import sys

import pytest
from test_calibrate import _cal, _profile
from test_cli import assert_one_line_error, run

from roofsweep.hardware import load_profile, write_profile


@pytest.fixture()
def host(tmp_path):
    return write_profile(_profile(None), tmp_path / "host.yaml")


def test_calibrate_refuses_a_bad_out_before_measuring(tmp_path, host, monkeypatch):
    import roofsweep.measure.calibrate as calibrate

    monkeypatch.setattr(calibrate, "calibrate", lambda *a, **k: pytest.fail("measured anyway"))
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert_one_line_error(run("calibrate", "-H", str(host), "--out", str(blocker / "c.yaml")), str(blocker))
    assert_one_line_error(run("calibrate", "-H", str(host), "--out", str(host)), "exists", "--force")
    assert_one_line_error(run("calibrate", "-H", str(host), "--out", str(tmp_path / "c.txt")), ".yaml")
    assert_one_line_error(run("calibrate", "-H", str(host), "--runtime", "tvm", "--out", str(tmp_path / "c.yaml")),
                          "unknown runtime 'tvm'")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file", "host.yaml"]  # nothing half-written


def test_a_runtime_that_is_not_installed_names_the_extra(monkeypatch, host, tmp_path):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    assert_one_line_error(run("measure", "-m", "mnv3-small", "--runtime", "onnxruntime"), "roofsweep[ort]")
    assert_one_line_error(run("calibrate", "-H", str(host), "--runtime", "onnxruntime", "--out",
                              str(tmp_path / "c.yaml")), "roofsweep[ort]")


def test_calibrate_writes_a_profile_that_loads_and_shows(tmp_path, host, monkeypatch):
    import roofsweep.measure.microbench as mb

    few = [m for m in mb.MICROBENCHMARKS if m.label in (
        "conv1x1 16->96 @112 relu6", "conv1x1 96->24 @56 none", "dw3x3 192 @28 s1 relu6", "add 64 @28",
        "fc 576->1024", "global-avgpool 960 @7", "nested x1", "nested x8")]
    monkeypatch.setattr(mb, "select", lambda quick=False: tuple(few))
    out = tmp_path / "cal.yaml"
    r = run("calibrate", "-H", str(host), "--rounds", "1", "--out", str(out))
    assert r.exit_code == 0, r.output
    cal = load_profile(out).calibration
    assert cal.runtime == "torch" and cal.threads == 1 and cal.microbenchmarks == len(few)
    assert {"conv2d", "dwconv2d", "elementwise", "fc", "pool"} <= set(cal.op_types)
    shown = run("hardware", "show", str(out))
    assert shown.exit_code == 0 and "calibration" in shown.stdout and "e_c (of peak)" in shown.stdout
    assert cal.allocator in ("retain", "system") and f"allocator {cal.allocator}" in shown.stdout


def _fake_measure(monkeypatch):
    import roofsweep.measure.latency as latency
    from roofsweep.measure.latency import MeasureResult

    times = {"mnv2-0.5x": 0.004, "mnv3-small": 0.003, "mnv1-0.5x": 0.005}

    def fake(ref, **kw):
        t = times[ref.label]
        return MeasureResult(model=ref.label, device="cpu", threads=1, latency_s=t, latencies_s=[t, t * 1.01],
                             warmup=0, repeats=2, input_shape=ref.input_shape)

    monkeypatch.setattr(latency, "measure_model", fake)


def test_validate_json_is_one_object_with_the_summary(tmp_path, monkeypatch):
    _fake_measure(monkeypatch)
    prof = write_profile(_profile(_cal()), tmp_path / "cal.yaml")
    fit = tmp_path / "fitted.yaml"
    r = run("validate", "--models", "mnv2-0.5x,mnv3-small,mnv1-0.5x", "-H", str(prof), "--no-report",
            "--format", "json", "--fit-out", str(fit))
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert set(doc) == {"models", "summary"} and len(doc["models"]) == 3
    s = doc["summary"]
    for key in ("roofline", "fitted_rp", "calibrated", "macs"):
        assert 0 <= s[key]["median_abs_error"] and 0 <= s[key]["within_25pct"] <= 1
    assert all(m["latency_is"] == "calibrated" for m in doc["models"])
    fitted = load_profile(fit)
    assert fitted.ridge_point("fp32") == pytest.approx(s["fitted_ridge_point"])
    assert fitted.calibration is None and fitted.name == "t-fitted-rp"
    # the bound is kept on request
    r = run("validate", "--models", "mnv2-0.5x,mnv3-small,mnv1-0.5x", "-H", str(prof), "--no-report",
            "--format", "json", "--set", "latency=roofline")
    assert json.loads(r.stdout)["summary"]["calibrated"] is None


def test_validate_fit_out_refused_before_measuring(tmp_path, monkeypatch, host):
    import roofsweep.measure.latency as latency

    monkeypatch.setattr(latency, "measure_model", lambda *a, **k: pytest.fail("measured anyway"))
    r = run("validate", "--models", "mnv2-0.5x,mnv3-small,mnv1-0.5x", "-H", str(host), "--no-report",
            "--fit-out", str(host))
    assert_one_line_error(r, "exists")


def test_an_unknown_allocator_policy_is_refused_before_measuring(tmp_path, host):
    out = tmp_path / "c.yaml"
    for args in (("measure", "-m", "mnv3-small", "--no-per-layer"),
                 ("validate", "--models", "mnv3-small,mnv2-0.5x,mnv1-0.5x", "-H", str(host), "--no-report"),
                 ("calibrate", "-H", str(host), "--out", str(out))):
        assert_one_line_error(run(*args, "--allocator", "jemalloc"), "unknown allocator policy 'jemalloc'",
                              "retain, system")
    assert not out.exists()
