"""Calibrated latency: the fit, the engine model, the profile section, the switch (no timing asserts)."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest

from roofsweep.engine.calibrated import (
    calibrated_table_times,
    latency_mode,
    model_overhead_s,
    module_calls,
    predict_seconds,
)
from roofsweep.engine.costmodel import get_preset, with_overrides
from roofsweep.errors import ConfigError, MeasurementError, ProfileError
from roofsweep.hardware import HardwareProfile, profile_from_yaml, profile_to_yaml
from roofsweep.hardware.calibration import Calibration, parse_calibration
from roofsweep.measure.fit import fit_latency_model

PEAK, BW = 1e11, 1e10  # 100 GMAC/s, 10 GB/s: RP 10


def _cal(**over) -> Calibration:
    base = {
        "runtime": "torch", "device": "cpu", "threads": 1, "date": "2026-12-01T12:00:00+00:00",
        "method": "test", "dtype": "fp32", "cost_model": "default", "peak_macs_per_s": PEAK,
        "bandwidth_bytes_per_s": BW, "microbenchmarks": 10,
        "op_types": {"conv2d": {"compute_efficiency": 0.5, "memory_efficiency": 0.25, "overhead_s": 1e-5}},
        "fallback": {"compute_efficiency": 1.0, "memory_efficiency": 1.0, "overhead_s": 2e-6},
        "activations": {"gelu": {"s_per_elem": 1e-9, "overhead_s": 1e-6}},
        "fallback_activation": {"s_per_elem": 2e-10, "overhead_s": 0.0},
        "call_overhead_s": 2e-6, "run_overhead_s": 5e-6,
        "residuals": {"samples": 10, "median_abs_error": 0.05, "max_abs_error": 0.2, "within_10pct": 0.8,
                      "within_25pct": 1.0},
        "scales": {"roofline": 2.0, "macs_s_per_mac": 1e-11},
    }
    base.update(over)
    return Calibration.model_validate(base)


def _profile(cal=None) -> HardwareProfile:
    return HardwareProfile(name="t", display_name="t", kind="cpu", peak_macs_per_s={"fp32": PEAK},
                           bandwidth_bytes_per_s=BW, default_dtype="fp32", calibration=cal)


def _rows(spec) -> pd.DataFrame:
    """(op_type, macs, bytes, output_elems, activation) tuples -> costed rows."""
    return pd.DataFrame([{"op_type": o, "macs": m, "bytes": b, "output_elems": e, "activation": a, "aten_ops": "x"}
                         for o, m, b, e, a in spec])


# ----------------------------------------------------------------------------- engine model
def test_calibrated_times_by_hand():
    rows = _rows([
        ("conv2d", 1_000_000, 40_000, 1000, ""),      # compute 1e6/(0.5*1e11)=20 us; memory 4e4/(0.25*1e10)=16 us
        ("conv2d", 100_000, 100_000, 1000, "gelu"),   # compute 2 us; memory 40 us; + gelu 1e-9*1000 + 1e-6
        ("pool", 0, 10_000, 10, "hardswish"),         # fallback: memory 1 us + 2 us; fallback act 2e-10*10
    ])
    comp, mem, t, compute_bound = calibrated_table_times(rows, PEAK, BW, _cal())
    assert comp.tolist() == pytest.approx([20e-6, 2e-6, 0.0])
    assert mem.tolist() == pytest.approx([16e-6, 40e-6, 1e-6])
    assert t.tolist() == pytest.approx([20e-6 + 10e-6, 40e-6 + 10e-6 + 1e-6 + 1e-6, 1e-6 + 2e-6 + 2e-9])
    assert compute_bound.tolist() == [True, False, False]


def test_a_1x1_depthwise_row_has_its_own_group():
    from roofsweep.engine.calibrated import calibration_groups

    # one MAC per output element: a 1x1 depthwise conv (a per-channel scale); 9 per output: 3x3
    groups = calibration_groups(["dwconv2d", "dwconv2d", "conv2d"], [50_176, 451_584, 50_176], [50_176, 50_176, 50_176])
    assert groups.tolist() == ["dwconv2d/1x1", "dwconv2d", "conv2d"]
    # a concatenation is its own group within ``other``; a layer norm is not
    assert calibration_groups(["other", "other"], [0, 0], [10, 10], ["cat", "native_layer_norm"]).tolist() == \
        ["other/cat", "other"]
    dw = {"compute_efficiency": 0.2, "memory_efficiency": 1.0, "overhead_s": 4e-6}
    rows = _rows([("dwconv2d", 1000, 0, 1000, "")])  # 1000 MACs: 1000 / (0.2 * 1e11) = 50 ns
    old = _cal(op_types={"dwconv2d": dw})              # a calibration without the group: dwconv2d's entry
    assert calibrated_table_times(rows, PEAK, BW, old)[2][0] == pytest.approx(50e-9 + 4e-6)
    new = _cal(op_types={"dwconv2d": dw, "dwconv2d/1x1": dict(dw, overhead_s=1e-3)})
    assert calibrated_table_times(rows, PEAK, BW, new)[2][0] == pytest.approx(50e-9 + 1e-3)


def test_module_calls_counts_containers_once():
    # prefixes: blocks, blocks.0, blocks.1, blocks.1.se (+1 for the top module); <root> adds none
    mods = ["stem.0,stem.1", "blocks.0.conv", "blocks.0.bn,blocks.0.act", "blocks.1.se.fc1", "<root>", None]
    assert module_calls(mods) == len({"stem", "blocks", "blocks.0", "blocks.1", "blocks.1.se"}) + 1
    cal = _cal()
    assert model_overhead_s(cal, mods) == pytest.approx(2e-6 * 6 + 5e-6)
    rows = _rows([("conv2d", 1_000_000, 40_000, 1000, "")]).assign(modules="a.b")
    assert predict_seconds(rows, PEAK, BW, cal) == pytest.approx(30e-6 + 2e-6 * 2 + 5e-6)


def test_latency_mode_switch():
    cal = _cal()
    assert latency_mode(None, _profile(cal), "fp32") == "calibrated"
    assert latency_mode("calibrated", _profile(cal), "fp32") == "calibrated"
    assert latency_mode("roofline", _profile(cal), "fp32") == "bound"
    assert latency_mode(None, _profile(None), "fp32") == "bound"       # no calibration: the bound, labelled
    assert latency_mode(None, _profile(cal), "int8") == "bound"        # fitted at fp32 only
    assert latency_mode(None, None, "fp32") == "bound"                 # ridge-point sweeps


def test_cost_model_latency_field():
    cm = with_overrides(get_preset("default"), latency="roofline")
    assert cm.latency == "roofline"
    assert with_overrides(cm, latency="none").latency is None
    with pytest.raises(ConfigError, match="latency"):
        with_overrides(cm, latency="fast")


# -------------------------------------------------------------------------------- the fit
def _synthetic(params, acts, call, run):
    """Microbenchmark rows spanning compute- and memory-bound sizes; times from the model."""
    rng = np.random.default_rng(0)
    spec, sample, calls = [], [], []
    for i in range(60):
        op = ["conv2d", "dwconv2d", "elementwise"][i % 3]
        macs = 0 if op == "elementwise" else float(10 ** rng.uniform(4, 8))
        nbytes = float(10 ** rng.uniform(3.5, 7))
        act = ["", "gelu", "relu"][i % 3 if op != "elementwise" else 0]
        spec.append((op, macs, nbytes, float(10 ** rng.uniform(2, 5)), act))
        sample.append(i)
        calls.append(1 + i % 7)
    rows = _rows(spec)
    rows["sample"] = sample
    t = []
    for (op, macs, nbytes, out, act), c in zip(spec, calls):
        ec, em, oh = params[op]
        x = max(macs / (ec * PEAK), nbytes / (em * BW)) + oh + c * call + run
        if act:
            x += acts[act][0] * out + acts[act][1]
        t.append(x)
    return rows, np.array(t), calls


def test_fit_recovers_known_efficiencies_and_overheads():
    params = {"conv2d": (0.4, 0.6, 20e-6), "dwconv2d": (0.1, 0.3, 50e-6), "elementwise": (1.0, 2.0, 3e-6)}
    acts = {"gelu": (1.2e-9, 1e-6), "relu": (5e-11, 5e-7)}
    rows, t, calls = _synthetic(params, acts, call=2e-6, run=4e-6)
    fit = fit_latency_model(rows, t, PEAK, BW, calls=calls)
    for op, (ec, em, oh) in params.items():
        p = fit.params[op]
        if op != "elementwise":  # no MACs: e_c is not identifiable and fixed at 1
            assert p["compute_efficiency"] == pytest.approx(ec, rel=0.03)
        assert p["memory_efficiency"] == pytest.approx(em, rel=0.03)
    assert fit.params["dwconv2d"]["overhead_s"] == pytest.approx(50e-6, rel=0.1)
    assert fit.activations["gelu"]["s_per_elem"] == pytest.approx(1.2e-9, rel=0.05)
    assert fit.framework["call_overhead_s"] == pytest.approx(2e-6, rel=0.1)
    assert fit.residuals["median_abs_error"] < 0.01 and fit.residuals["within_10pct"] == 1.0


def test_fit_recovers_activation_costs_per_op_type():
    # ReLU fused into a pointwise conv's output loop costs nothing; after a depthwise conv it is
    # a second pass of 1 ns per output element (onnxruntime's NCHWc kernels do exactly this)
    params = {"conv2d": (0.4, 0.6, 20e-6), "dwconv2d": (0.1, 0.3, 50e-6), "elementwise": (1.0, 2.0, 3e-6)}
    rng = np.random.default_rng(1)
    spec, t = [], []
    for i in range(80):
        op = ["conv2d", "dwconv2d"][i % 2]
        macs, nbytes, out = float(10 ** rng.uniform(5, 8)), float(10 ** rng.uniform(4, 7)), float(10 ** rng.uniform(3, 6))
        act = "relu" if i % 4 < 2 else ""
        spec.append((op, macs, nbytes, out, act))
        ec, em, oh = params[op]
        x = max(macs / (ec * PEAK), nbytes / (em * BW)) + oh
        if act and op == "dwconv2d":
            x += 1e-9 * out
        t.append(x)
    rows = _rows(spec).assign(sample=range(len(spec)))
    fit = fit_latency_model(rows, t, PEAK, BW)
    dw, pw = fit.params["dwconv2d"]["activations"]["relu"], fit.params["conv2d"]["activations"]["relu"]
    assert dw["s_per_elem"] == pytest.approx(1e-9, rel=0.05)
    assert pw["s_per_elem"] < 1e-11 and pw["overhead_s"] < 1e-7  # at its lower bound: free
    assert fit.activations["relu"] in (dw, pw)  # op types never seen with ReLU: the most-seen entry


def test_fit_separates_1x1_depthwise_rows():
    # 3x3 depthwise rows (9 MACs per output) at e_c 0.1, overhead 10 us; 1x1 ones (1 MAC per
    # output) pay 500 us each, as eager PyTorch's per-channel loop does
    rng = np.random.default_rng(2)
    spec, t = [], []
    for i in range(40):
        out = float(10 ** rng.uniform(3, 6))
        k2 = 1 if i % 2 else 9
        spec.append(("dwconv2d", k2 * out, float(10 ** rng.uniform(3, 5)), out, ""))
        t.append(max(k2 * out / (0.1 * PEAK), spec[-1][2] / (1.0 * BW)) + (500e-6 if k2 == 1 else 10e-6))
    fit = fit_latency_model(_rows(spec).assign(sample=range(40)), t, PEAK, BW)
    assert fit.params["dwconv2d/1x1"]["overhead_s"] == pytest.approx(500e-6, rel=0.05)
    assert fit.params["dwconv2d"]["overhead_s"] == pytest.approx(10e-6, rel=0.05)
    # each group counts its own microbenchmarks: 20 odd i are 1x1, 20 even ones 3x3
    assert fit.params["dwconv2d/1x1"]["samples"] == fit.params["dwconv2d"]["samples"] == 20
    assert set(fit.samples["op_type"]) == {"dwconv2d", "dwconv2d/1x1"}


def test_activation_cost_lookup_prefers_the_op_types_own_entry():
    cal = _cal(op_types={"conv2d": {"compute_efficiency": 0.5, "memory_efficiency": 0.25, "overhead_s": 1e-5,
                                    "activations": {"gelu": {"s_per_elem": 3e-9, "overhead_s": 0.0}}}})
    rows = _rows([
        ("conv2d", 0, 0, 1000, "gelu"),     # conv2d's own gelu: 3e-9 * 1000 = 3 us, + 10 us overhead
        ("fc", 0, 0, 1000, "gelu"),         # fc has none: the activation's entry 1e-9 * 1000 + 1 us, + fallback 2 us
        ("fc", 0, 0, 1000, "silu"),         # no entry anywhere: fallback_activation 2e-10 * 1000, + 2 us
    ])
    t = calibrated_table_times(rows, PEAK, BW, cal)[2]
    assert t.tolist() == pytest.approx([13e-6, 1e-6 + 1e-6 + 2e-6, 0.2e-6 + 2e-6])


def test_fit_is_robust_to_one_disturbed_sample():
    params = {"conv2d": (0.4, 0.6, 20e-6), "dwconv2d": (0.1, 0.3, 50e-6), "elementwise": (1.0, 2.0, 3e-6)}
    acts = {"gelu": (1.2e-9, 1e-6), "relu": (5e-11, 5e-7)}
    rows, t, calls = _synthetic(params, acts, call=2e-6, run=4e-6)
    t[3] *= 5.0  # a burst of load from another process
    fit = fit_latency_model(rows, t, PEAK, BW, calls=calls)
    assert fit.params["conv2d"]["compute_efficiency"] == pytest.approx(0.4, rel=0.05)
    assert fit.samples.loc[3, "error"] == pytest.approx(1 / 5 - 1, abs=0.05)


def test_fit_bad_input():
    rows = _rows([("conv2d", 1e6, 1e4, 10, "")]).assign(sample=0)
    with pytest.raises(MeasurementError, match="at least 3"):
        fit_latency_model(rows, [1e-3], PEAK, BW)
    rows = pd.concat([rows] * 3, ignore_index=True).assign(sample=[0, 1, 2])
    with pytest.raises(MeasurementError, match="finite and > 0"):
        fit_latency_model(rows, [1e-3, 0.0, 1e-3], PEAK, BW)


# ------------------------------------------------------------------------ profile section
def test_calibration_round_trips_through_yaml():
    prof = _profile(_cal(op_types={"conv2d": {"compute_efficiency": 0.5, "memory_efficiency": 0.25, "overhead_s": 1e-5,
                                              "activations": {"relu": {"s_per_elem": 1e-10, "overhead_s": 1e-7}}}}))
    back = profile_from_yaml(profile_to_yaml(prof))
    assert back.calibration == prof.calibration
    assert back.calibration.params("conv2d").compute_efficiency == 0.5
    assert back.calibration.params("attention") == back.calibration.fallback
    assert back.calibration.params("conv2d").activations["relu"].s_per_elem == 1e-10
    retained = _profile(_cal(allocator="retain"))
    assert profile_from_yaml(profile_to_yaml(retained)).calibration.allocator == "retain"
    assert back.calibration.allocator is None  # a profile written before the policy was recorded


@pytest.mark.parametrize("mutate, field", [
    (lambda d: d["op_types"]["conv2d"].update(compute_efficiency=-1), "calibration.op_types.conv2d.compute_efficiency"),
    (lambda d: d["op_types"].update(convolution=d["op_types"]["conv2d"]), "unknown op type 'convolution'"),
    (lambda d: d["op_types"].update({"dwconv2d/3x3": d["op_types"]["conv2d"]}), "unknown op type 'dwconv2d/3x3'"),
    (lambda d: d.update(runtime="tensorrt"), "calibration.runtime"),
    (lambda d: d.update(colour="red"), "calibration.colour"),
    (lambda d: d.pop("residuals"), "calibration.residuals"),
    (lambda d: d["activations"].update(swish2={"s_per_elem": 1e-9, "overhead_s": 0}), "unknown activation"),
    (lambda d: d["op_types"]["conv2d"].update(activations={"swish2": {"s_per_elem": 0, "overhead_s": 0}}),
     "calibration.op_types.conv2d.activations"),
    (lambda d: d["op_types"]["conv2d"].update(activations={"relu": {"s_per_elem": -1, "overhead_s": 0}}),
     "calibration.op_types.conv2d.activations.relu.s_per_elem"),
    (lambda d: d.update(peak_macs_per_s=float("nan")), "calibration.peak_macs_per_s"),
    (lambda d: d.update(allocator="jemalloc"), "calibration.allocator"),
])
def test_malformed_calibration_is_a_one_line_error(mutate, field):
    import yaml

    doc = yaml.safe_load(profile_to_yaml(_profile(_cal())))
    mutate(doc["calibration"])
    with pytest.raises(ProfileError) as e:
        profile_from_yaml(yaml.safe_dump(doc), label="bad.yaml")
    msg = str(e.value)
    assert "\n" not in msg and field in msg and msg.startswith("bad.yaml")


def test_parse_calibration_rejects_a_non_mapping():
    cal, problems = parse_calibration([1, 2])
    assert cal is None and problems[0][0] == "calibration"


# ---------------------------------------------------------------------- sweeps use it
def _tables():
    from layer_factory import conv, table

    return {"pw": table([conv("pw", 56, 56, 64, 64)])}


def test_profile_sweep_labels_and_uses_the_calibration():
    from roofsweep.engine.costmodel import apply_cost_model
    from roofsweep.engine.sweep import per_layer_at, sweep_profiles, sweep_ridge_points

    cal = _cal()
    tabs = _tables()
    s = sweep_profiles(tabs, [_profile(cal), dataclasses.replace(_profile(None), name="plain")], "default")
    assert s["latency_is"].tolist() == ["calibrated", "bound"]
    costed = apply_cost_model(tabs["pw"], get_preset("default"), "fp32")
    expected = predict_seconds(costed, PEAK, BW, cal)
    assert s["latency_s"].iloc[0] == pytest.approx(expected, rel=1e-12)
    roof = with_overrides(get_preset("default"), latency="roofline")
    s2 = sweep_profiles(tabs, [_profile(cal)], roof)
    assert s2["latency_is"].tolist() == ["bound"]
    assert s2["latency_s"].iloc[0] == pytest.approx(max(costed["macs"].sum() / PEAK, costed["bytes"].sum() / BW))
    assert set(sweep_ridge_points(tabs, "0,5", "default")["latency_is"]) == {"bound"}
    pl = per_layer_at(tabs, [_profile(cal), 5.0], "default")
    assert pl["latency_is"].tolist() == ["calibrated", "bound"]
    assert not math.isclose(pl["time_s"].iloc[0], s2["latency_s"].iloc[0])
