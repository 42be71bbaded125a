"""Search spaces: IDs, block-wise costing equal to full traces, frontier, bad input."""

from __future__ import annotations

import numpy as np
import pytest
import yaml

from roofsweep.analysis import cost_model_from
from roofsweep.engine.pareto import _on_frontier
from roofsweep.engine.sweep import sweep_profiles, sweep_ridge_points
from roofsweep.errors import ConfigError, ModelBuildError
from roofsweep.hardware import get_profile
from roofsweep.search import vector
from roofsweep.search.run import choose, search
from roofsweep.search.space import load_space, parse_space
from roofsweep.trace.api import trace
from roofsweep.zoo import resolve

RPS = "0,5,50,500"
# A small space that exercises every block kind, grouped convs, width multipliers, resolutions
# and a hard-swish network (the paper preset splits hard-swish back out of its producers).
TINY = {
    "name": "tiny-uib",
    "resolutions": [64, 96],
    "width_multipliers": [0.75, 1.0],
    "activation": "hardswish",
    "num_classes": 10,
    "stem": {"kernel": 3, "stride": 2, "channels": 16},
    "stages": [
        {"name": "a", "widths": [16, 24], "blocks": [
            {"type": "conv", "kernel": [1, 3], "groups": 8},
            {"type": "fib", "kernel": [3, 5], "stride": 2, "expand": [2, 4]},
        ]},
        {"name": "b", "widths": [32, 40], "blocks": [
            {"type": "uib", "stride": 2, "start_dw": [0, 3], "mid_dw": [3, 5], "expand": [2, 4]},
            {"type": "uib", "start_dw": [0, 3, 5], "mid_dw": [0, 3], "expand": [3, 6], "repeat": 2},
        ]},
    ],
    "head": {"channels": 64, "hidden": 128},
}
# radices: res 2, width 2, stage a: width 2, conv kernel 2, fib kernel 2 x expand 2;
# stage b: width 2, uib 2x2x2, then two uibs of 3x2x2 each
TINY_SIZE = 2 * 2 * 2 * 2 * (2 * 2) * 2 * (2 * 2 * 2) * (3 * 2 * 2) ** 2


@pytest.fixture()
def tiny(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(TINY))
    return load_space(path)


def _full(spec: str, cm, profiles):
    """Independent path: assemble and trace the whole candidate, sweep it like `sweep` does."""
    ref = resolve(spec)
    tr = trace(ref)
    rp = sweep_ridge_points({ref.label: tr.layers}, RPS, cm)
    pr = sweep_profiles({ref.label: tr.layers}, profiles, cm)
    return tr, rp, pr


def test_space_size_ids_and_sampling(tiny):
    assert tiny.size == TINY_SIZE
    d = tiny.sample(200, seed=7)
    ids = [int(i) for i in tiny.ids_text(d)]
    assert ids == sorted(set(ids)) and len(ids) == 200  # distinct, in ID order
    assert all((tiny.digits_of(i) == row).all() for i, row in zip(ids, d))
    assert all(tiny.id_of(row) == i for i, row in zip(ids, d))
    assert (tiny.sample(200, seed=7) == d).all()  # reproducible
    assert not (tiny.sample(200, seed=8) == d).all()
    full = choose(tiny, all_=True)
    assert len(full) == TINY_SIZE and tiny.ids_text(full[-1:]) == [str(TINY_SIZE - 1)]
    assert len(tiny.sample(TINY_SIZE, seed=1)) == TINY_SIZE  # dense path: every candidate once


def test_ids_beyond_int64():
    space = load_space("configs/space-mnv4-conv.yaml")
    # resolution 2, stage s2 width 3, strided UIB 3x2x3, UIB 27; s3 and s4 the same with 7 and 10 UIBs
    assert space.size == 2 * 3 ** 3 * 18 ** 3 * 27 ** 18 > 2 ** 63
    d = space.sample(50, seed=3)
    for cid, row in zip(space.ids_text(d), d):
        assert (space.digits_of(int(cid)) == row).all()
    assert space.ids_text(space.digits_of(space.size - 1)[None, :]) == [str(space.size - 1)]


@pytest.mark.parametrize("preset,n", [("paper", 50), ("default", 15)])
def test_rows_equal_full_trace_of_random_candidates(tiny, preset, n):
    cm = cost_model_from(preset)
    profiles = [get_profile("pixel6-cpu"), get_profile("galaxy-s23-gpu")]  # int8 and fp16
    d = tiny.sample(n, seed=11)
    r = search(tiny, d, RPS, profiles, cm)
    assert len(r.rows) == n
    for _, row in r.rows.iterrows():
        tr, rp, pr = _full(row["spec"], cm, profiles)
        assert row["macs"] == tr.macs and row["params"] == tr.params
        assert row["bytes"] == rp["bytes"].iloc[0]
        for _, p in rp.iterrows():  # bit for bit, not approximately
            assert row[f"latency_s[{p['point']}]"] == p["latency_s"]
        for _, p in pr.iterrows():
            assert row[f"latency_s[{p['point']}]"] == p["latency_s"]
        assert row["bytes[fp16]"] == pr["bytes"].iloc[1]


def test_mnv4_conv_m_is_a_candidate_of_the_shipped_space():
    """The official Conv-M block choices, picked from the space, cost what the zoo model costs."""
    space = load_space("configs/space-mnv4-conv.yaml")
    conv_m = {  # (start_dw, mid_dw, expand) per UIB, from roofsweep.zoo.mobilenet_v4.CONV_M
        "s2": [(3, 5, 4), (3, 3, 2)],
        "s3": [(3, 5, 6), (3, 3, 4), (3, 3, 4), (3, 5, 4), (3, 3, 4), (3, 0, 4), (0, 0, 2), (3, 0, 4)],
        "s4": [(5, 5, 6), (5, 5, 4), (3, 5, 4), (3, 5, 4), (0, 0, 4), (3, 0, 4), (3, 5, 2), (5, 5, 4),
               (0, 0, 4), (0, 0, 4), (5, 0, 2)],
    }
    widths = {"s1": 48, "s2": 80, "s3": 160, "s4": 256}
    digits = np.zeros(len(space.axes), dtype=np.int64)
    digits[0] = space.axes[0].values.index(256)
    for si, st in enumerate(space.spec.stages):
        digits[space.width_axis[si]] = st.widths.index(widths[st.name])
    k = {}
    for bi, slot in enumerate(space.slots):
        name = space.spec.stages[slot.stage].name
        if name not in conv_m:
            continue
        a, m, e = conv_m[name][k.setdefault(name, 0)]
        k[name] += 1
        for f, v in zip(("start_dw", "mid_dw", "expand"), (a, m, e)):
            ax = space.block_axes[bi][f]
            digits[ax] = space.axes[ax].values.index(v)
    cm = cost_model_from("paper")
    r = search(space, digits[None, :].astype(np.uint8), RPS, [], cm)
    zoo = trace(resolve("mnv4-conv-m"))
    assert r.rows["macs"].iloc[0] == zoo.macs and r.rows["params"].iloc[0] == zoo.params
    rp = sweep_ridge_points({"m": zoo.layers}, RPS, cm)
    assert list(r.rows[[f"latency_s[{p}]" for p in rp["point"]]].iloc[0]) == list(rp["latency_s"])


def test_column_reduceat_equals_sweep_reduceat():
    """vector._latency reduces one column at a time; the sweep reduces a 2-D block."""
    rng = np.random.default_rng(0)
    t = rng.random((500, 7)) * rng.choice([1e-9, 1e-3, 1.0], size=(500, 7))
    starts = np.sort(rng.choice(500, 40, replace=False))
    starts[0] = 0
    two_d = np.add.reduceat(t, starts, axis=0)
    for j in range(7):
        assert (np.add.reduceat(np.ascontiguousarray(t[:, j]), starts) == two_d[:, j]).all()


def test_frontier_matches_engine_pareto():
    rng = np.random.default_rng(5)
    lat = rng.integers(1, 30, size=(300, 3)).astype(float)  # many exact ties
    cap = rng.integers(1, 30, size=300).astype(float)
    fast = vector.on_frontier(cap, lat)
    ref = _on_frontier(lat.T, np.broadcast_to(cap, (3, 300)))  # O(n^2) reference
    assert (fast == ref.T).all()
    # hand-made: (cap, lat) = (1,1) (2,1) (2,2) (3,3) (3,3): (1,1) loses to (2,1); ties both stay
    on = vector.on_frontier(np.array([1, 2, 2, 3, 3.0]), np.array([[1], [1], [2], [3], [3.0]]))
    assert on[:, 0].tolist() == [False, True, False, True, True]


def test_frontier_share_weights(tiny):
    d = tiny.sample(40, seed=2)
    r = search(tiny, d, "0,5,50,500", [], "default")
    on = r.rows[[f"on_frontier[RP {p}]" for p in (5, 50, 500)]].to_numpy()
    # log-scale weights over 5, 50, 500: each gap is log(10); ends get half a gap, middle a whole
    w = np.array([0.5, 1.0, 0.5])
    assert np.allclose(r.rows["frontier_share"], on @ w / 2.0, rtol=0, atol=1e-15)
    assert (r.rows["frontier_points"] == r.rows[[c for c in r.rows if c.startswith("on_frontier")]].sum(axis=1)).all()
    macs = search(tiny, d, RPS, [], "default", capacity="macs")
    assert macs.capacity == "macs" and len(macs.frontier("RP 500")) >= 1


def test_bad_spaces(tmp_path):
    def bad(change, match):
        data = yaml.safe_load(yaml.safe_dump(TINY))
        change(data)
        with pytest.raises(ConfigError, match=match):
            parse_space(data, "bad.yaml")

    bad(lambda d: d["stages"][0]["blocks"][0].update(groups=5), r"stage a block 0: channels 16 -> 16 are not divisible by groups 5")
    bad(lambda d: d.update(resolutions=[4]), r"shrinks a 1 px map below 1 px")
    bad(lambda d: d["stages"][1]["blocks"][1].update(expand=[]), r"stages\[1\]\.blocks\[1\]\.expand is an empty choice list")
    bad(lambda d: d["stages"][1]["blocks"][0].update(start_dw=[0], mid_dw=[0, 3]), r"strided UIB needs a start or middle depthwise")
    bad(lambda d: d["stages"][1]["blocks"][0].update(mid_dw=[4]), r"mid_dw 4 must be 0 \(absent\) or an odd size")
    bad(lambda d: d["stages"][0].update(colour="red"), r"bad.yaml: stages.0.colour: Extra inputs are not permitted")
    bad(lambda d: d.update(stages=[]), r"stages is an empty choice list")
    (tmp_path / "x.yaml").write_text("stages: [1, 2\n")
    with pytest.raises(ConfigError, match="is not valid YAML"):
        load_space(tmp_path / "x.yaml")
    with pytest.raises(ConfigError, match="not found"):
        load_space(tmp_path / "missing.yaml")


def test_bad_requests(tiny):
    with pytest.raises(ConfigError, match=rf"--samples {TINY_SIZE + 1} exceeds the {TINY_SIZE} candidates"):
        choose(tiny, samples=TINY_SIZE + 1)
    with pytest.raises(ConfigError, match="not both"):
        choose(tiny, samples=3, all_=True)
    with pytest.raises(ConfigError, match="--samples N"):
        choose(tiny)
    with pytest.raises(ConfigError, match="use_onchip=false only"):
        search(tiny, tiny.sample(2), RPS, [], cost_model_from("default", ["use_onchip=true"]))
    with pytest.raises(ConfigError, match="out of range"):
        resolve(f"space:{tiny.source}#{TINY_SIZE}")
    with pytest.raises(ConfigError, match="must read space:FILE#ID"):
        resolve(f"space:{tiny.source}")
    with pytest.raises(ModelBuildError, match="fixes its resolution"):
        spec = f"space:{tiny.source}#0"  # ID 0: resolution 64
        resolve(spec, resolution=96)


def test_candidate_spec_resolves(tiny):
    ref = resolve(f"space:{tiny.source}#{TINY_SIZE - 1}", batch=4)
    assert ref.input_shape == (4, 3, 96, 96) and ref.label == f"tiny-uib#{TINY_SIZE - 1}"
    assert ref.family == "search space"
