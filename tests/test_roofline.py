"""Per-layer roofline: the paper's formula on hand-computed layers."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from layer_factory import add, conv, fc, table
from roofsweep.engine.costmodel import PRESETS, apply_cost_model
from roofsweep.errors import ConfigError
from roofsweep.engine.roofline import dominant_layers, model_latency, roofline

PAPER = PRESETS["paper"]
PW = conv("pw", 56, 56, 64, 64)  # 1x1 conv 56x56x64 -> 64
PW_MACS = 56 * 56 * 64 * 64  # = 12,845,056
assert PW_MACS == 12_845_056


def _paper(rows):
    return apply_cost_model(table(rows), PAPER)


def test_rp0_is_macs_over_200_gmacs():
    # RP 0: free memory, 200 GMAC/s -> 12,845,056 / 2e11 = 64.22528 us
    r = roofline(_paper([PW]), 200e9, math.inf).iloc[0]
    assert r["mac_time_s"] == pytest.approx(12_845_056 / 2e11, rel=1e-15)
    assert r["mem_time_s"] == 0.0 and r["time_s"] == r["mac_time_s"]
    assert r["bound"] == "compute"


def test_rp500_pointwise_conv_is_weights_plus_input_over_40_gbs():
    # RP 500 at 40 GB/s: peak 2e13 MAC/s -> MAC time 12,845,056 / 2e13 = 0.642 us;
    # bytes = weights 4,160 + input 200,704 = 204,864 -> 204,864 / 4e10 = 5.1216 us (memory)
    r = roofline(_paper([PW]), 500 * 40e9, 40e9).iloc[0]
    assert r["mac_time_s"] == pytest.approx(12_845_056 / 2e13, rel=1e-15)
    assert r["mem_time_s"] == pytest.approx(204_864 / 4e10, rel=1e-15)
    assert r["time_s"] == r["mem_time_s"] and r["bound"] == "memory"
    # intensity = 12,845,056 / 204,864 = 62.7 MAC/byte < 500
    assert r["intensity_macs_per_byte"] == pytest.approx(12_845_056 / 204_864)


def test_bound_ties_and_zero_rows():
    costed = pd.DataFrame({
        "model": ["m"] * 4,
        "name": ["tie", "zero", "mem_only", "compute"],
        "macs": [100, 0, 0, 1000],
        "bytes": [2.0, 0.0, 10.0, 1.0],
    })
    # peak 50 MAC/s, 1 B/s: tie: 100/50 = 2 s = 2/1 s -> compute (ties go to compute)
    r = roofline(costed, 50.0, 1.0)
    assert r["bound"].tolist() == ["compute", "memory", "memory", "compute"]
    assert r["time_s"].tolist() == [2.0, 0.0, 10.0, 20.0]
    assert r["intensity_macs_per_byte"].tolist() == [50.0, math.inf, 0.0, 1000.0]


def test_infinite_bandwidth_and_bad_rates():
    c = _paper([add("add", 8, 8, 8)])
    r = roofline(c, 1e9, math.inf)
    assert r["mem_time_s"].tolist() == [0.0] and r["bound"].tolist() == ["memory"]
    for peak, bw in ((0, 1e9), (-1, 1e9), (math.inf, 1e9), (1e9, 0), (1e9, float("nan"))):
        with pytest.raises(ConfigError):
            roofline(c, peak, bw)
    with pytest.raises(ConfigError, match="costed"):
        roofline(table([PW]), 1e9, 1e9)


def test_model_latency_sums_layers():
    rows = [PW, add("add", 56, 56, 64), fc("fc", 1280, 1000)]
    c = _paper(rows)
    per_layer = roofline(c, 5 * 40e9, 40e9)  # RP 5
    m = model_latency(per_layer)
    assert list(m.index) == ["m"]
    # pw: MAC 12,845,056/2e11 = 64.2 us vs mem 204,864/4e10 = 5.1 us -> compute, 64.2 us
    # add: 3 x 200,704 = 602,112 B / 4e10 = 15.05 us (memory)
    # fc: MAC 1,280,000/2e11 = 6.4 us vs (1,281,000 + 1,280) B / 4e10 = 32.06 us -> memory
    expected = 12_845_056 / 2e11 + 602_112 / 4e10 + 1_282_280 / 4e10
    assert m.loc["m", "latency_s"] == pytest.approx(expected, rel=1e-14)
    mem_share = (602_112 / 4e10 + 1_282_280 / 4e10) / expected
    assert m.loc["m", "memory_bound_fraction"] == pytest.approx(mem_share, rel=1e-14)
    assert m.loc["m", "compute_bound_fraction"] == pytest.approx(1 - mem_share, rel=1e-14)
    assert m.loc["m", "macs"] == 12_845_056 + 1_280_000 and m.loc["m", "layers"] == 3
    # the same via rates
    m2 = model_latency(c, 5 * 40e9, 40e9)
    pd.testing.assert_frame_equal(m, m2)
    with pytest.raises(ConfigError):
        model_latency(c)
    with pytest.raises(ConfigError):
        model_latency(c, 1e9)


def test_dominant_layers_per_model_with_share():
    a = table([conv("small", 7, 7, 8, 8), PW, add("add", 56, 56, 64)], model="a")
    b = table([fc("fc", 1280, 1000)], model="b")
    per_layer = roofline(apply_cost_model(pd.concat([a, b]), PAPER), 200e9, 40e9)
    top = dominant_layers(per_layer, n=2)
    assert top["model"].tolist() == ["a", "a", "b"]
    assert top["name"].tolist() == ["pw", "add"]  + ["fc"]  # 64.2 us, 15.1 us; fc alone in b
    a_total = per_layer.loc[per_layer["model"] == "a", "time_s"].sum()
    assert top["share"].iloc[0] == pytest.approx(per_layer["time_s"].iloc[1] / a_total)
    assert top["share"].iloc[2] == 1.0
    with pytest.raises(ConfigError):
        dominant_layers(per_layer, n=0)
    assert np.all(np.diff(top.loc[top["model"] == "a", "time_s"]) <= 0)
