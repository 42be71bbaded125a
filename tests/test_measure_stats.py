"""Statistics and validation, against hand-computed examples (torch-free)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from roofsweep.errors import MeasurementError
from roofsweep.hardware.profile import HardwareProfile
from roofsweep.layertable import LAYER_COLUMNS
from roofsweep.measure.latency import MeasureResult
from roofsweep.measure.stats import pearson, pearson_log, rankdata, spearman
from roofsweep.measure.validate import fit_ridge_point, predict_latency_grid, validate


# ------------------------------------------------------------------------------ ranks
def test_rankdata_average_ties():
    # 20 and 20 share ranks 2 and 3 -> 2.5 each
    assert rankdata([10, 20, 20, 30]).tolist() == [1.0, 2.5, 2.5, 4.0]
    assert rankdata([3, 1, 2]).tolist() == [3.0, 1.0, 2.0]
    # three-way tie at the top: ranks 2, 3, 4 -> 3
    assert rankdata([0, 5, 5, 5]).tolist() == [1.0, 3.0, 3.0, 3.0]


def test_spearman_textbook():
    # d = (0, 1, -1, 0): rho = 1 - 6 * 2 / (4 * (16 - 1)) = 1 - 12 / 60 = 0.8
    assert spearman([1, 2, 3, 4], [1, 3, 2, 4]) == pytest.approx(0.8)
    assert spearman([1, 2, 3], [30, 20, 10]) == pytest.approx(-1.0)
    # rank-only: any monotone transform gives 1
    assert spearman([1, 2, 3, 4], [1, 100, 1e4, 1e8]) == pytest.approx(1.0)


def test_spearman_with_ties():
    # ranks x = (1, 2.5, 2.5, 4), y = (1, 2, 3, 4); both mean 2.5
    # dx = (-1.5, 0, 0, 1.5), dy = (-1.5, -0.5, 0.5, 1.5)
    # sum dx*dy = 4.5, sum dx^2 = 4.5, sum dy^2 = 5 -> 4.5 / sqrt(22.5) = 0.948683...
    assert spearman([1, 2, 2, 3], [1, 2, 3, 4]) == pytest.approx(4.5 / math.sqrt(22.5))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_spearman_matches_scipy(seed):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 5, size=12).astype(float)  # many ties
    y = rng.normal(size=12)
    assert spearman(x, y) == pytest.approx(sps.spearmanr(x, y).statistic)


def test_pearson_and_log():
    assert pearson([1, 2, 3], [2, 4, 6]) == pytest.approx(1.0)
    # log(2x) = log 2 + log x: perfectly linear in log space
    assert pearson_log([1, 10, 100], [2, 20, 200]) == pytest.approx(1.0)
    # log10: (0, 1, 2) vs (0, 2, 1): centred (-1, 0, 1) . (-1, 1, 0) = 1; norms sqrt2 * sqrt2 -> 0.5
    assert pearson_log([1, 10, 100], [1, 100, 10]) == pytest.approx(0.5)
    assert math.isnan(pearson([1, 1, 1], [1, 2, 3]))  # constant side: no ordering information


def test_stat_errors():
    with pytest.raises(MeasurementError, match="3 values with 2"):
        pearson([1, 2, 3], [1, 2])
    with pytest.raises(MeasurementError, match="at least 2"):
        spearman([1], [1])
    with pytest.raises(MeasurementError, match="positive"):
        pearson_log([1, 0, 2], [1, 2, 3])
    with pytest.raises(MeasurementError, match="non-finite"):
        spearman([1, float("nan"), 2], [1, 2, 3])


# ------------------------------------------------------------------------------ ridge-point fit
def _costed(macs, nbytes):
    return pd.DataFrame({"macs": macs, "bytes": nbytes})


# Three one-layer models, bandwidth 1 B/s so time = max(macs / RP, bytes):
#   A: 100 MACs, 10 B    B: 10 MACs, 100 B    C: 50 MACs, 50 B
MODELS = [_costed([100], [10.0]), _costed([10], [100.0]), _costed([50], [50.0])]


def test_predict_latency_grid():
    pred = predict_latency_grid(MODELS, np.array([1.0, 10.0]), 1.0)
    # RP 1: A = max(100, 10) = 100, B = max(10, 100) = 100, C = max(50, 50) = 50
    # RP 10: A = max(10, 10) = 10, B = max(1, 100) = 100, C = max(5, 50) = 50
    assert pred.tolist() == [[100.0, 10.0], [100.0, 100.0], [50.0, 50.0]]


def test_fit_ridge_point_hand_example():
    # measured = 3 x the RP >= 10 prediction (10, 100, 50):
    # RP 1 ranks A = B > C (r_s < 1); RP 5 ranks A (20) < C (50) < B (100), r_s = 1, but its
    # log-Pearson < 1; RP 10, 20, 100 predict exactly (10, 100, 50): r_s = 1, log-Pearson = 1.
    # Ties on both keys go to the lowest RP -> 10; best_range spans every RP with r_s = 1.
    fit = fit_ridge_point(MODELS, [30.0, 300.0, 150.0], 1.0, grid=[1, 5, 10, 20, 100])
    assert fit.ridge_point == 10
    assert fit.spearman == pytest.approx(1.0)
    assert fit.pearson_log == pytest.approx(1.0)
    assert fit.scale == pytest.approx(3.0)  # median(measured / predicted)
    assert fit.best_range == (5.0, 100.0)
    assert fit.sweep["ridge_point"].tolist() == [1, 5, 10, 20, 100]
    assert fit.sweep["spearman"].iloc[0] < 1.0


def test_fit_needs_three_models():
    with pytest.raises(MeasurementError, match="at least 3 models"):
        fit_ridge_point(MODELS[:2], [1.0, 2.0], 1.0)
    with pytest.raises(MeasurementError, match="3 models but 2"):
        fit_ridge_point(MODELS, [1.0, 2.0], 1.0)


# ------------------------------------------------------------------------------ validate
def _layer_table(model: str, rows: list[dict]) -> pd.DataFrame:
    base = {"model": model, "module_type": "", "aten_ops": "", "activation": "", "input_shape": "",
            "output_shape": "", "reads_model_input": False}
    df = pd.DataFrame([{**base, "index": i, **r} for i, r in enumerate(rows)])
    return df.astype({c: t for c, t in LAYER_COLUMNS.items() if c in df.columns})


def _fc(name, macs, w, i, o, modules=None):
    return {"name": name, "op_type": "fc", "macs": macs, "weight_elems": w, "input_elems": i,
            "output_elems": o, "modules": modules or name}


# Profile: 1000 MAC/s, 4000 B/s (RP 0.25), fp32 (4 bytes per element).
PROFILE = HardwareProfile(name="toy", display_name="Toy", kind="cpu", peak_macs_per_s={"fp32": 1000.0},
                          bandwidth_bytes_per_s=4000.0, default_dtype="fp32")
# default cost model, fp32: bytes = 4 x (weights + inputs + outputs); time = max(macs/1000, bytes/4000)
#   m1: fc 2000 MACs, 500+250+250 elems = 4000 B -> max(2.0, 1.0) = 2.0 s
#   m2: fc 1000 MACs, 3000+500+500 elems = 16000 B -> max(1.0, 4.0) = 4.0 s
#   m3: fc 500 MACs + add 0 MACs (1000 + 1000 elems = 8000 B -> 2.0 s): 0.5 + 2.0 = 2.5 s
#       (fc: 100+100+100 elems = 1200 B -> max(0.5, 0.3) = 0.5 s)
TABLES = [
    _layer_table("m1", [_fc("fc", 2000, 500, 250, 250)]),
    _layer_table("m2", [_fc("fc", 1000, 3000, 500, 500)]),
    _layer_table("m3", [
        _fc("blk.fc", 500, 100, 100, 100),
        {"name": "blk", "op_type": "elementwise", "macs": 0, "weight_elems": 0, "input_elems": 1000,
         "output_elems": 1000, "modules": "blk"},
    ]),
]


def _measured(label, latency_s, self_s=None):
    return MeasureResult(model=label, device="cpu", threads=1, latency_s=latency_s,
                         latencies_s=[latency_s], warmup=0, repeats=1, input_shape=(1,),
                         module_self_s=self_s or {})


def test_validate_hand_example():
    measured = {
        "m1": _measured("m1", 3.0, {"fc": 3.0}),
        "m2": _measured("m2", 8.0, {"fc": 8.0}),
        # blk's self time (the add) 2.0, blk.fc 1.0, <root> 0.5 names no row -> unattributed
        "m3": _measured("m3", 3.5, {"blk.fc": 1.0, "blk": 2.0, "<root>": 0.5}),
    }
    v = validate(TABLES, PROFILE, "default", measured)
    assert v.models["model"].tolist() == ["m1", "m2", "m3"]
    assert v.models["predicted_s"].tolist() == pytest.approx([2.0, 4.0, 2.5])
    assert v.models["ratio"].tolist() == pytest.approx([1.5, 2.0, 1.4])  # measured / predicted
    assert v.models["macs"].tolist() == [2000, 1000, 500]
    assert v.ridge_point == pytest.approx(0.25)
    # measured ranks (m1, m2, m3) = (1, 3, 2) = predicted ranks -> r_s = 1
    # MAC ranks (3, 2, 1): d = (-2, 1, 1), sum d^2 = 6 -> 1 - 6 * 6 / (3 * 8) = -0.5
    assert v.spearman_roofline == pytest.approx(1.0)
    assert v.spearman_macs == pytest.approx(-0.5)
    layers = v.layers.set_index(["model", "name"])
    assert layers.loc[("m3", "blk"), "predicted_s"] == pytest.approx(2.0)
    assert layers.loc[("m3", "blk"), "measured_s"] == pytest.approx(2.0)
    assert layers.loc[("m3", "blk.fc"), "ratio"] == pytest.approx(2.0)  # 1.0 / 0.5
    assert layers.loc[("m3", "(unattributed)"), "measured_s"] == pytest.approx(0.5)
    ops = v.op_types.set_index("op_type")
    # fc: measured 3 + 8 + 1 = 12, predicted 2 + 4 + 0.5 = 6.5
    assert ops.loc["fc", "measured_s"] == pytest.approx(12.0)
    assert ops.loc["fc", "ratio"] == pytest.approx(12.0 / 6.5)
    assert ops.loc["unattributed", "measured_s"] == pytest.approx(0.5)
    assert v.fit.spearman == pytest.approx(1.0)
    assert set(v.summary()) >= {"spearman_roofline", "spearman_macs", "fitted_ridge_point", "fitted_scale"}


def test_validate_sequence_and_seconds():
    # a sequence pairs by position; plain seconds are accepted (no per-layer rows then)
    v = validate(TABLES, PROFILE, "default", [3.0, 8.0, 3.5])
    assert v.models["measured_s"].tolist() == [3.0, 8.0, 3.5]
    assert v.layers.empty and v.op_types.empty


def test_validate_errors():
    with pytest.raises(MeasurementError, match="at least 3 models"):
        validate(TABLES[:2], PROFILE, "default", [1.0, 2.0])
    with pytest.raises(MeasurementError, match="no measurement for model 'm3'"):
        validate(TABLES, PROFILE, "default", {"m1": 1.0, "m2": 2.0})
    with pytest.raises(MeasurementError, match="positive"):
        validate(TABLES, PROFILE, "default", [1.0, 0.0, 2.0])
    with pytest.raises(MeasurementError, match="3 models but 2"):
        validate(TABLES, PROFILE, "default", [1.0, 2.0])
