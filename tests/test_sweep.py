"""Ridge-point and profile sweeps: grid parsing, paper rules, properties, vectorised == naive."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import roofsweep.engine.sweep as sweep_mod
from layer_factory import StubProfile, add, conv, fc, gap, random_table, table
from roofsweep.engine.costmodel import PRESETS, apply_cost_model, with_overrides
from roofsweep.errors import ConfigError
from roofsweep.engine.roofline import model_latency, roofline
from roofsweep.engine.sweep import (
    SWEEP_COLUMNS,
    per_layer_at,
    point_rates,
    ridge_point_grid,
    sweep_profiles,
    sweep_ridge_points,
)

PAPER = PRESETS["paper"]
DEFAULT = PRESETS["default"]
REPO = Path(__file__).resolve().parents[1]


# ------------------------------------------------------------------------------- grids
def test_grid_list_range_and_log():
    assert ridge_point_grid("0,5,50,500").tolist() == [0, 5, 50, 500]
    assert ridge_point_grid("500, 0, 5, 5").tolist() == [0, 5, 500]  # sorted, unique
    assert ridge_point_grid([0, 31.2]).tolist() == [0, 31.2]
    assert ridge_point_grid(50).tolist() == [50]
    g = ridge_point_grid("0:500:5001")  # step 0.1, both ends included
    assert len(g) == 5001 and g[0] == 0 and g[-1] == 500 and g[1] == pytest.approx(0.1)
    g = ridge_point_grid("1:1000:4:log")
    assert g.tolist() == pytest.approx([1, 10, 100, 1000]) and g[0] == 1 and g[-1] == 1000
    assert ridge_point_grid("7:7:1").tolist() == [7]


@pytest.mark.parametrize(
    "spec, msg",
    [
        ("500:0:10", "inverted"),
        ("-1,5", ">= 0"),
        ("nan,5", "finite"),
        ("0,inf", "finite"),
        ("0:500:10000000", "too many"),
        ("0:500:1", "N >= 2"),
        ("0:500:x", "integer"),
        ("0:500:10:cubic", "scale"),
        ("0:500:10:log", "START > 0"),
        ("0:500", "START:STOP:N"),
        ("abc", "cannot read"),
        ("", "empty"),
        ([], "empty"),
        ({"a": 1}, "must be a string"),
    ],
)
def test_grid_errors(spec, msg):
    with pytest.raises(ConfigError, match=msg):
        ridge_point_grid(spec)


def test_grid_minus_zero_is_zero():
    for spec in ("-0", "-0,5", [-0.0, 5.0], -0.0):
        g = ridge_point_grid(spec)
        assert g[0] == 0 and not np.signbit(g[0]), spec


def test_grid_list_items_must_be_numbers_and_errors_stay_short():
    nested = [[list(range(1000))] * 100]  # a YAML alias bomb looks like this once loaded
    with pytest.raises(ConfigError, match="ridge-point list item 0 must be a number, got list") as info:
        ridge_point_grid(nested)
    assert len(str(info.value)) < 200
    with pytest.raises(ConfigError, match="flat list"):
        ridge_point_grid(np.zeros((2, 2)))


def test_dense_grid_points_get_distinct_labels():
    # 'RP 123.457' would name both points: labels grow digits until they differ
    s = sweep_ridge_points({"pw": table([PW])}, [5, 123.4567, 123.4568], PAPER)
    assert s["point"].tolist() == ["RP 5", "RP 123.4567", "RP 123.4568"]
    assert sweep_ridge_points({"pw": table([PW])}, "0,5,500", PAPER)["point"].tolist() == ["RP 0", "RP 5", "RP 500"]


def test_point_rates():
    # fixed bandwidth (the paper): peak = RP x 40 GB/s; RP 0 = 200 GMAC/s with free memory
    peak, bw = point_rates([0, 5, 500], PAPER)
    assert peak.tolist() == [200e9, 200e9, 2e13] and bw.tolist() == [math.inf, 40e9, 40e9]
    # fixed compute: bandwidth = peak / RP
    peak, bw = point_rates([0, 5, 500], PAPER, hold="compute")
    assert peak.tolist() == [200e9] * 3 and bw.tolist() == [math.inf, 40e9, 0.4e9]
    with pytest.raises(ConfigError):
        point_rates([1], PAPER, hold="both")


# --------------------------------------------------------------------- sweep, paper rules
PW = conv("pw", 56, 56, 64, 64)


def test_sweep_paper_rules_on_one_layer():
    s = sweep_ridge_points({"pw": table([PW])}, "0,5,500", PAPER)
    assert list(s.columns) == list(SWEEP_COLUMNS)
    assert s["point"].tolist() == ["RP 0", "RP 5", "RP 500"]
    assert s["hardware"].tolist() == [""] * 3 and s["dtype"].tolist() == ["int8"] * 3
    lat = s["latency_s"].tolist()
    assert lat[0] == pytest.approx(12_845_056 / 2e11, rel=1e-15)  # MACs / 200 GMAC/s
    assert lat[1] == pytest.approx(12_845_056 / 2e11, rel=1e-15)  # RP 5: 204,864 B / 40 GB/s smaller
    assert lat[2] == pytest.approx((4160 + 200_704) / 40e9, rel=1e-15)  # (weights + input) / 40 GB/s
    assert s["memory_bound_fraction"].tolist() == [0.0, 0.0, 1.0]
    assert (s["compute_bound_fraction"] + s["memory_bound_fraction"]).eq(1.0).all()
    assert s["macs"].tolist() == [12_845_056] * 3 and s["bytes"].tolist() == [204_864] * 3
    assert s["mem_time_s"].tolist()[0] == 0.0


def _naive(tables, rps, cm):
    """Reference: one roofline() per RP, summed per model with pandas."""
    rows = []
    for label, t in tables.items():
        costed = apply_cost_model(t.assign(model=label), cm, cm.resolve_dtype(None))
        for rp in rps:
            peak = cm.rp0_peak_macs_per_s if rp == 0 else rp * cm.sweep_bandwidth_bytes_per_s
            bw = math.inf if rp == 0 else cm.sweep_bandwidth_bytes_per_s
            m = model_latency(roofline(costed, peak, bw)).iloc[0]
            rows.append((label, rp, m["latency_s"], m["mac_time_s"], m["mem_time_s"], m["memory_bound_fraction"]))
    return pd.DataFrame(rows, columns=["model", "ridge_point", "latency_s", "mac_time_s", "mem_time_s", "mbf"])


@pytest.mark.parametrize("preset", ["paper", "default"])
def test_vectorised_sweep_equals_naive_loop(preset, monkeypatch):
    rng = np.random.default_rng(1234)
    tables = {f"net{i}": random_table(rng, f"net{i}", int(rng.integers(1, 60))) for i in range(5)}
    tables["empty"] = table([conv("c", 4, 4, 3, 3)]).iloc[:0]  # a model with no layers
    rps = np.concatenate(([0.0], rng.uniform(0, 600, 40), [5, 50, 500]))
    monkeypatch.setattr(sweep_mod, "_BLOCK_ELEMS", 1000)  # force many point blocks
    cm = PRESETS[preset]
    fast = sweep_ridge_points(tables, rps, cm)
    ref = _naive({k: v for k, v in tables.items() if len(v)}, np.unique(rps), cm)
    fast_nonempty = fast[fast["model"] != "empty"].reset_index(drop=True)
    for col, rcol in (("latency_s", "latency_s"), ("mac_time_s", "mac_time_s"),
                      ("mem_time_s", "mem_time_s")):
        np.testing.assert_allclose(fast_nonempty[col], ref[rcol], rtol=1e-12, atol=0)
    np.testing.assert_allclose(fast_nonempty["memory_bound_fraction"], ref["mbf"], rtol=1e-12, atol=1e-15)
    assert (fast.loc[fast["model"] == "empty", "latency_s"] == 0).all()
    assert len(fast) == len(tables) * len(np.unique(rps))


def test_latency_monotone_in_ridge_point():
    # Property, 30 random models x 200 random RPs (fixed seed):
    # * fixed compute (peak fixed, bandwidth = peak / RP): a higher RP means less bandwidth,
    #   so latency never decreases;
    # * fixed bandwidth (peak = RP x bandwidth): a higher RP means more compute, so latency
    #   never increases (RP > 0; RP 0 is the separate free-memory point).
    rng = np.random.default_rng(7)
    tables = {f"r{i}": random_table(rng, f"r{i}", int(rng.integers(1, 80))) for i in range(30)}
    rps = np.sort(rng.uniform(0.01, 1000, 200))
    for preset in ("paper", "default"):
        fc_ = sweep_ridge_points(tables, rps, preset, hold="compute")
        fb_ = sweep_ridge_points(tables, rps, preset, hold="bandwidth")
        for _, g in fc_.groupby("model"):
            assert np.all(np.diff(g["latency_s"].to_numpy()) >= 0)
        for _, g in fb_.groupby("model"):
            assert np.all(np.diff(g["latency_s"].to_numpy()) <= 0)


def test_profiles_with_same_ridge_point_rank_models_identically():
    rng = np.random.default_rng(99)
    tables = {f"r{i}": random_table(rng, f"r{i}", 40) for i in range(12)}
    slow = StubProfile("slow", {"int8": 1e12}, 1e10)  # RP 100
    fast = StubProfile("fast", {"int8": 6e13}, 6e11)  # RP 100, 60x faster everywhere
    s = sweep_profiles(tables, [slow, fast], DEFAULT)
    a = s[s["hardware"] == "slow"].set_index("model")["latency_s"]
    b = s[s["hardware"] == "fast"].set_index("model")["latency_s"]
    assert a.rank().tolist() == b.rank().tolist()
    np.testing.assert_allclose(a / b, 60.0, rtol=1e-12)
    # and the pure RP sweep at RP 100 ranks them the same way
    r = sweep_ridge_points(tables, [100], with_overrides(DEFAULT, sweep_dtype="int8"))
    assert r.set_index("model")["latency_s"].rank().tolist() == a.rank().tolist()


def test_sweep_profiles_fields_and_derived_ridge_point():
    t = {"m": table([PW, add("add", 56, 56, 64), gap("gap", 56, 56, 64), fc("fc", 64, 1000)])}
    cpu = StubProfile("cpu", {"int8": 1.59744e12, "fp32": 0.4e12}, 51.2e9, default_dtype="fp32")
    macs = StubProfile("macs", {"int8": 200e9}, math.inf)
    s = sweep_profiles(t, [cpu, macs], DEFAULT)
    assert s["point"].tolist() == ["cpu", "macs"] and s["hardware"].tolist() == ["cpu", "macs"]
    assert s["dtype"].tolist() == ["fp32", "int8"]  # each profile's default dtype
    # derived RP = peak / bandwidth: 0.4e12 / 51.2e9 = 7.8125 MAC/byte; inf bandwidth -> 0
    assert s["ridge_point"].tolist() == [pytest.approx(7.8125), 0.0]
    assert s["peak_macs_per_s"].tolist() == [0.4e12, 200e9]
    assert s["bandwidth_bytes_per_s"].tolist() == [51.2e9, math.inf]
    assert s["mem_time_s"].iloc[1] == 0.0
    assert s["bytes"].iloc[0] == 4 * s["bytes"].iloc[1]  # fp32 vs int8 bytes
    # latency equals the per-layer roofline at the profile's rates
    costed = apply_cost_model(t["m"], DEFAULT, "fp32")
    assert s["latency_s"].iloc[0] == pytest.approx(roofline(costed, 0.4e12, 51.2e9)["time_s"].sum(), rel=1e-12)
    # paper preset fixes int8 on every profile
    assert sweep_profiles(t, [cpu], PAPER)["dtype"].tolist() == ["int8"]
    # a dtype a profile has no peak for: the profile's default dtype, or a clear error
    fb = sweep_profiles(t, [cpu, macs], with_overrides(DEFAULT, dtype="fp32"))
    assert fb["dtype"].tolist() == ["fp32", "int8"]
    with pytest.raises(ConfigError, match="no peak"):
        sweep_profiles(t, [macs], with_overrides(DEFAULT, dtype="fp16"), missing_dtype="error")
    with pytest.raises(ConfigError, match="no peak"):
        per_layer_at(t, macs, with_overrides(DEFAULT, dtype="fp16"), missing_dtype="error")
    with pytest.raises(ConfigError):
        sweep_profiles(t, [], DEFAULT)


def test_sweep_profiles_onchip_uses_profile_capacity():
    t = {"m": table([conv("a", 8, 8, 4, 8, bias=False), conv("b", 8, 8, 8, 8, bias=False)])}
    big = StubProfile("big", {"int8": 1e12}, 1e9, onchip_bytes=1e6)
    none = StubProfile("none", {"int8": 1e12}, 1e9)
    s = sweep_profiles(t, [big, none], with_overrides(DEFAULT, use_onchip=True))
    # big: weights resident, a->b hand-off: a reads 256 B, b writes 512 B -> 768 B
    # none: weights 32 + 64, activations (256 + 512) + (512 + 512) -> 1,888 B
    assert s["bytes"].tolist() == [768, 1888]


def test_meta_columns_and_tables_forms():
    t = table([PW], model="whatever")
    meta = pd.DataFrame(
        {"family": ["MobileNetV1"], "display_name": ["MNv1"], "width": [1.0], "resolution": [224], "top1": [74.0]},
        index=["a"],
    )

    class Trace:  # a TraceResult-like object
        layers = t

    s = sweep_ridge_points({"a": Trace(), "b": t}, "0,50", PAPER, meta=meta)
    assert s["model"].tolist() == ["a", "a", "b", "b"]  # mapping keys label the models
    assert s["family"].tolist() == ["MobileNetV1"] * 2 + [""] * 2
    assert s["display_name"].tolist() == ["MNv1", "MNv1", "b", "b"]
    assert s["top1"].iloc[0] == 74.0 and math.isnan(s["top1"].iloc[2])
    assert s["resolution"].iloc[0] == 224 and pd.isna(s["resolution"].iloc[2])
    # one concatenated DataFrame with a model column
    both = pd.concat([t.assign(model="x"), t.assign(model="y")])
    s2 = sweep_ridge_points(both, "0,50", PAPER)
    assert s2["model"].tolist() == ["x", "x", "y", "y"]
    np.testing.assert_allclose(s2["latency_s"], s["latency_s"], rtol=1e-15)
    with pytest.raises(ConfigError):
        sweep_ridge_points(t.drop(columns="model"), "0", PAPER)
    with pytest.raises(ConfigError, match="unknown cost model"):
        sweep_ridge_points(both, "0", "papper")


def test_per_layer_at_points_and_profiles():
    t = {"m": table([PW, fc("fc", 1280, 1000)])}
    prof = StubProfile("dsp", {"int8": 347.3 * 10e9}, 10e9)
    pl = per_layer_at(t, [5, 500, prof], PAPER)
    assert pl["point"].unique().tolist() == ["RP 5", "RP 500", "dsp"]
    assert pl["ridge_point"].unique().tolist() == [5, 500, pytest.approx(347.3)]
    rp500 = pl[pl["point"] == "RP 500"].set_index("name")
    assert rp500.loc["pw", "time_s"] == pytest.approx(204_864 / 40e9, rel=1e-15)
    assert rp500.loc["pw", "bound"] == "memory"
    # totals agree with the sweep
    s = sweep_ridge_points(t, "5,500", PAPER).set_index("point")["latency_s"]
    tot = pl.groupby("point", sort=False)["time_s"].sum()
    assert tot["RP 5"] == pytest.approx(s["RP 5"], rel=1e-12)
    assert per_layer_at(t, 0, PAPER)["mem_time_s"].eq(0).all()


def test_engine_imports_no_torch():
    code = ("import roofsweep.engine.costmodel, roofsweep.engine.roofline, roofsweep.engine.sweep, roofsweep.engine.pareto, sys; "
            "assert 'torch' not in sys.modules, 'torch imported'")
    r = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_real_hardware_profile_class():
    # the engine only touches the contract's fields; the real dataclass works like the stub
    from roofsweep.hardware.profile import HardwareProfile

    real = HardwareProfile(name="dev", display_name="Dev", kind="cpu",
                           peak_macs_per_s={"int8": 1.59744e12, "fp32": 2e11},
                           bandwidth_bytes_per_s=51.2e9, default_dtype="int8", onchip_bytes=4e6)
    stub = StubProfile("dev", {"int8": 1.59744e12, "fp32": 2e11}, 51.2e9, onchip_bytes=4e6)
    t = {"m": table([PW, add("add", 56, 56, 64), fc("fc", 64, 1000)])}
    cm = with_overrides(PAPER, use_onchip=True)
    a, b = sweep_profiles(t, [real], cm), sweep_profiles(t, [stub], cm)
    pd.testing.assert_frame_equal(a, b)
    assert a["ridge_point"].iloc[0] == pytest.approx(31.2)  # 1.59744e12 / 51.2e9


# ------------------------------------------------------------- defaults, order, costing once
def test_default_grid_leaves_rp_2_out():
    from roofsweep.engine.sweep import DEFAULT_RIDGE_POINTS

    grid = ridge_point_grid(DEFAULT_RIDGE_POINTS)
    assert grid[0] == 0 and 2.0 not in grid  # RP 2 only showed the jump from RP 0's free memory
    assert {5.0, 50.0, 500.0} <= set(grid) and list(grid) == sorted(grid)


def test_points_by_ridge_point_keeps_ties_in_order():
    from roofsweep.engine.sweep import points_by_ridge_point

    df = pd.DataFrame({"point": ["RP 50", "b", "RP 5", "a", "RP 5"], "ridge_point": [50, 5, 5, 0.5, 5]})
    assert points_by_ridge_point(df) == ["a", "b", "RP 5", "RP 50"]
    assert points_by_ridge_point(df.drop(columns="ridge_point")) == ["RP 50", "b", "RP 5", "a"]


def test_profile_point_reads_the_profile_once_into_numbers():
    from roofsweep.engine.sweep import ProfilePoint, profile_point

    cpu = StubProfile("cpu", {"int8": 1.6e12, "fp32": 0.4e12}, 51.2e9, default_dtype="fp32", onchip_bytes=8e6)
    pp = profile_point(DEFAULT, cpu)
    # default preset: the profile's dtype; RP = 0.4e12 / 51.2e9 = 7.8125; no on-chip model
    assert pp == ProfilePoint("cpu", "fp32", 0.4e12, 51.2e9, pytest.approx(7.8125), 0.0)
    onchip = profile_point(with_overrides(DEFAULT, use_onchip=True), cpu)
    assert onchip.onchip_bytes == 8e6
    forced = profile_point(with_overrides(DEFAULT, use_onchip=True, onchip_bytes=1e3), cpu)
    assert forced.onchip_bytes == 1e3  # the cost model's override wins
    # fp16 is not listed: fall back to the profile's default dtype (the one place that decides)
    assert profile_point(with_overrides(DEFAULT, dtype="fp16"), cpu).dtype == "fp32"
    # a ProfilePoint sweeps like its profile
    t = {"m": table([PW, fc("fc", 64, 10)])}
    a, b = sweep_profiles(t, [cpu], DEFAULT), sweep_profiles(t, [pp], DEFAULT)
    pd.testing.assert_frame_equal(a, b)


def test_cost_cache_costs_each_dtype_once(monkeypatch):
    import roofsweep.engine.points as points_mod
    from roofsweep.engine.sweep import CostCache

    calls = []
    real = points_mod.apply_cost_model
    monkeypatch.setattr(points_mod, "apply_cost_model", lambda *a, **k: calls.append(a[2]) or real(*a, **k))
    t = {"m": table([PW, fc("fc", 64, 10)]), "n": table([PW])}
    cpu = StubProfile("cpu", {"int8": 1.6e12}, 51.2e9)
    gpu = StubProfile("gpu", {"fp16": 1e14}, 1e12, default_dtype="fp16")
    costs = CostCache(t)
    ref = sweep_ridge_points(t, "0,5,500", DEFAULT)
    calls.clear()
    got = sweep_ridge_points(costs, "0,5,500", DEFAULT)
    sweep_ridge_points(costs, "1:500:50:log", DEFAULT)
    sweep_profiles(costs, [cpu, gpu], DEFAULT)
    per_layer_at(costs, [5, 500, cpu, gpu], DEFAULT)
    assert sorted(calls) == ["fp16", "int8"] and costs.calls == 2  # once per dtype, not per call
    pd.testing.assert_frame_equal(got, ref)
