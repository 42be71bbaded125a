"""Pareto frontier per point and the share of the RP range each model holds a place on it."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import roofsweep.engine.pareto as pareto_mod
from layer_factory import conv, fc, table
from roofsweep.errors import ConfigError
from roofsweep.engine.pareto import frontier, frontier_share
from roofsweep.engine.sweep import sweep_ridge_points

NAN = float("nan")


def _df(points):
    """``points``: {point: {model: (top1, latency)}} -> a minimal sweep table."""
    rows = []
    for p, models in points.items():
        rp = float(p.split()[1]) if p.startswith("RP") else NAN
        for m, (acc, lat) in models.items():
            rows.append({"model": m, "point": p, "ridge_point": rp, "hardware": "", "top1": acc, "latency_s": lat})
    return pd.DataFrame(rows)


def test_frontier_hand_made_four_models():
    #            top1  latency
    # A          70    1.0   fastest                          -> on
    # B          75    2.0   most accurate, faster than D     -> on
    # C          72    3.0   B is more accurate and faster    -> off
    # D          75    2.5   B as accurate and faster         -> off
    # E          null  0.5   no accuracy: excluded            -> off
    df = _df({"RP 5": {"A": (70, 1.0), "B": (75, 2.0), "C": (72, 3.0), "D": (75, 2.5), "E": (NAN, 0.5)}})
    out = frontier(df)
    assert dict(zip(out["model"], out["on_frontier"])) == {
        "A": True, "B": True, "C": False, "D": False, "E": False,
    }
    assert out["on_frontier"].dtype == bool
    assert list(out.columns) == list(df.columns) + ["on_frontier"]


def test_frontier_ties_and_per_point():
    df = _df({
        # identical twins: neither dominates the other -> both on
        "RP 0": {"A": (70, 1.0), "B": (70, 1.0), "C": (69, 2.0)},
        # same accuracy as faster A -> off; C more accurate, slower -> on
        "RP 500": {"A": (70, 1.0), "B": (70, 1.5), "C": (71, 2.0)},
    })
    out = frontier(df).set_index(["point", "model"])["on_frontier"]
    assert out["RP 0"].to_dict() == {"A": True, "B": True, "C": False}
    assert out["RP 500"].to_dict() == {"A": True, "B": False, "C": True}


def test_frontier_blocks_match_unblocked(monkeypatch):
    rng = np.random.default_rng(3)
    rows = [{"model": f"m{m}", "point": f"RP {p}", "ridge_point": float(p), "hardware": "",
             "top1": float(rng.integers(60, 80)), "latency_s": float(rng.integers(1, 20))}
            for p in range(50) for m in range(12)]
    df = pd.DataFrame(rows)
    whole = frontier(df)["on_frontier"].to_numpy()
    monkeypatch.setattr(pareto_mod, "_BLOCK_ELEMS", 1)
    assert (frontier(df)["on_frontier"].to_numpy() == whole).all()
    # brute force
    for _, g in df.groupby("point"):
        for i, r in g.iterrows():
            dom = ((g["top1"] >= r["top1"]) & (g["latency_s"] < r["latency_s"])) | (
                (g["top1"] > r["top1"]) & (g["latency_s"] <= r["latency_s"]))
            assert whole[i] == (not dom.any())


def test_frontier_rejects_bad_tables():
    with pytest.raises(ConfigError, match="top1"):
        frontier(pd.DataFrame({"model": ["a"], "point": ["RP 0"], "latency_s": [1.0]}))
    dup = _df({"RP 0": {"A": (70, 1.0)}})
    with pytest.raises(ConfigError, match="more than one row"):
        frontier(pd.concat([dup, dup]))


def test_frontier_share_weights_uneven_grid():
    # Grid 0, 10, 30, 100: each point stands for half the gap to each neighbour:
    #   RP 0 -> 5, RP 10 -> 5 + 10 = 15, RP 30 -> 10 + 35 = 45, RP 100 -> 35; total 100.
    # "fast" (70%) is always fastest -> on everywhere: share 1.
    # "big" (80%) is on at RP 0 and 10 only (dominated by "eff" at 30 and 100): 20 / 100.
    # "eff" (80%) is on at 30 and 100 (at 0 and 10 "big" is faster): 80 / 100.
    # "nometa" has no top-1: NaN.
    g = {"fast": 70, "big": 80, "eff": 80, "nometa": NAN}
    lat = {
        0: {"fast": 1, "big": 2, "eff": 3, "nometa": 9},
        10: {"fast": 1, "big": 2, "eff": 3, "nometa": 9},
        30: {"fast": 1, "big": 3, "eff": 2, "nometa": 9},
        100: {"fast": 1, "big": 3, "eff": 2, "nometa": 9},
    }
    df = _df({f"RP {rp}": {m: (g[m], lat[rp][m]) for m in g} for rp in lat})
    share = frontier_share(df).set_index("model")
    assert share.loc["fast", "frontier_share"] == 1.0
    assert share.loc["big", "frontier_share"] == pytest.approx(0.20)
    assert share.loc["eff", "frontier_share"] == pytest.approx(0.80)
    assert math.isnan(share.loc["nometa", "frontier_share"])
    assert share.loc["big", "frontier_points"] == 2 and share.loc["big", "points"] == 4
    # an unweighted count would have said 50% / 50%: the range weighting matters
    # log scale: RP 0 has weight 0; log10 gaps 10->30 (0.477), 30->100 (0.523)
    # big: on at 10 -> half of the first gap; 0.477/2 / 1.0 = 0.2386
    logs = frontier_share(df, scale="log").set_index("model")["frontier_share"]
    assert logs["big"] == pytest.approx(math.log(3) / 2 / math.log(10))
    with pytest.raises(ConfigError):
        frontier_share(df, scale="cubic")


def test_frontier_share_ignores_profile_rows_and_needs_rp_rows():
    df = _df({"RP 0": {"A": (70, 1.0), "B": (71, 2.0)}, "RP 10": {"A": (70, 1.0), "B": (71, 0.5)}})
    prof = pd.DataFrame([{"model": "A", "point": "pixel6", "ridge_point": 31.2, "hardware": "pixel6",
                          "top1": 70, "latency_s": 0.1}])
    share = frontier_share(pd.concat([df, prof], ignore_index=True)).set_index("model")["frontier_share"]
    # A: on at RP 0 only (weight 5 of 10); B on at both
    assert share.to_dict() == {"A": 0.5, "B": 1.0}
    with pytest.raises(ConfigError, match="no RP rows"):
        frontier_share(prof)
    # a single grid point: weight 1
    one = frontier_share(_df({"RP 5": {"A": (70, 1.0), "B": (69, 2.0)}})).set_index("model")
    assert one["frontier_share"].to_dict() == {"A": 1.0, "B": 0.0}


def test_frontier_on_a_real_sweep():
    # a conv-heavy net and an FC-heavy net: conv-heavy is slow at RP 0 (many MACs), the FC
    # net is slow at RP 500 (big weights) - each is on the frontier at one end only.
    convnet = table([conv("c", 56, 56, 64, 256, k=3)])  # 56*56*256*64*9 = 462 M MACs
    fcnet = table([fc("f", 4096, 4096)])  # 16.8 M MACs, 16.8 MB of int8 weights
    meta = pd.DataFrame({"top1": [80.0, 75.0]}, index=["convnet", "fcnet"])
    s = sweep_ridge_points({"convnet": convnet, "fcnet": fcnet}, "0,500", "paper", meta=meta)
    out = frontier(s).set_index(["point", "model"])["on_frontier"]
    assert out[("RP 0", "convnet")] and out[("RP 0", "fcnet")]  # fcnet faster, convnet better
    assert out[("RP 500", "convnet")] and not out[("RP 500", "fcnet")]  # convnet faster and better
    share = frontier_share(s).set_index("model")["frontier_share"]
    assert share["convnet"] == 1.0 and share["fcnet"] == 0.5
