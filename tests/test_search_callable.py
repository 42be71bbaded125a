"""Callable search spaces: ``build(**params)`` over a product of parameter lists."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from roofsweep.cli import app
from roofsweep.errors import ConfigError, ModelBuildError
from roofsweep.search.run import choose, search
from roofsweep.search.space import load_space

TINY_MODELS = Path(__file__).with_name("_tiny_models.py").resolve()
RPS = "0,5,50,500"
runner = CliRunner()


def _space(tmp_path, **over) -> Path:
    data = {"name": "tinyp", "callable": f"{TINY_MODELS}:tiny_param",
            "params": {"depth": [1, 2, 3], "width": [4, 8], "kernel": [1, 3]}, "input_shape": "1x3x8x8"}
    data.update(over)
    path = tmp_path / "callable.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _macs(depth: int, width: int, kernel: int) -> int:
    # 8x8 output positions, k*k taps: first conv 3->w, then depth-1 convs w->w; fc w->10
    return 64 * kernel * kernel * (3 * width + (depth - 1) * width * width) + 10 * width


def test_ids_decode_mixed_radix_and_rows_equal_each_candidate_swept(tmp_path):
    path = _space(tmp_path)
    space = load_space(path)
    assert space.size == 12 and [a.name for a in space.axes] == ["depth", "width", "kernel"]
    # ID = (d_depth * 2 + d_width) * 2 + d_kernel: 7 = (1*2 + 1)*2 + 1
    assert space.params_of(7) == {"depth": 2, "width": 8, "kernel": 3}
    res = search(space, choose(space, all_=True), RPS, ["pixel6-cpu"], "paper")
    rows = res.rows
    assert list(rows["id"]) == [str(i) for i in range(12)]
    for cid, row in rows.iterrows():
        p = space.params_of(cid)
        assert (row["depth"], row["width"], row["kernel"]) == (p["depth"], p["width"], p["kernel"])
        assert row["macs"] == _macs(**p)
    assert rows.loc[7, "macs"] == 64 * 9 * (24 + 64) + 80 == 50768
    for cid in (0, 7, 11):  # the sweep command on space:FILE#ID gives the same numbers
        r = runner.invoke(app, ["sweep", "--model", f"space:{path}#{cid}", "--preset", "paper", "--ridge-points", RPS,
                                "-H", "pixel6-cpu", "--format", "json"], catch_exceptions=False)
        assert r.exit_code == 0, r.output
        sw = pd.DataFrame(json.loads(r.stdout))
        for _, s in sw.iterrows():
            assert rows.loc[cid, f"latency_s[{s['point']}]"] == pytest.approx(s["latency_s"], rel=1e-12)
            if s["hardware"] == "":  # bytes at the cost model's dtype (macs: as traced, checked below)
                assert rows.loc[cid, "bytes"] == s["bytes"]
        lay = runner.invoke(app, ["layers", "--model", f"space:{path}#{cid}", "--format", "json"], catch_exceptions=False)
        assert lay.exit_code == 0, lay.output
        table = json.loads(lay.stdout)
        assert table["macs"] == sum(x["macs"] for x in table["layers"]) == rows.loc[cid, "macs"]
        assert table["params"] == rows.loc[cid, "params"]
    # frontier columns are present and the cheapest candidate (depth 1, width 4, kernel 1) is on it everywhere
    assert rows.loc[0, "frontier_points"] == 4 and rows.loc[0, "frontier_share"] == 1.0


def test_local_cluster_of_two_gives_identical_rows(tmp_path, monkeypatch):
    space = load_space(_space(tmp_path, params={"depth": [1, 2], "width": [4, 8], "kernel": [1, 3]}))
    d = choose(space, all_=True)
    monkeypatch.setenv("ROOFSWEEP_CACHE_DIR", str(tmp_path / "cache"))  # empty: the workers trace
    there = search(space, d, RPS, ["pixel6-cpu"], "paper", scheduler="local:2")
    assert len(list((tmp_path / "cache" / "callable-space").iterdir())) == 8
    monkeypatch.setenv("ROOFSWEEP_CACHE_DIR", "off")  # traced again here, independently
    here = search(space, d, RPS, ["pixel6-cpu"], "paper")
    assert there.stats["workers"] == 2
    pd.testing.assert_frame_equal(here.rows, there.rows, check_exact=True)


def test_candidates_are_traced_once_then_read_from_the_cache(tmp_path, monkeypatch):
    space = load_space(_space(tmp_path, params={"depth": [1, 2], "width": [4]}))
    first = search(space, choose(space, all_=True), RPS)

    def no_tracing(*a, **k):
        raise AssertionError("traced again")

    import roofsweep.trace

    monkeypatch.setattr(roofsweep.trace, "trace", no_tracing)
    again = search(space, choose(space, all_=True), RPS)
    pd.testing.assert_frame_equal(first.rows, again.rows, check_exact=True)


def test_bad_callable_spaces(tmp_path):
    with pytest.raises(ConfigError, match=r"params.width is an empty choice list"):
        load_space(_space(tmp_path, params={"depth": [1], "width": []}))
    with pytest.raises(ConfigError, match=r"params.macs clashes with a result column"):
        load_space(_space(tmp_path, params={"macs": [1]}))
    with pytest.raises(ConfigError, match=r"input_shape '1x3xax8' must read like 1x3x224x224"):
        load_space(_space(tmp_path, input_shape="1x3xax8"))
    with pytest.raises(ConfigError, match=r"params is empty"):
        load_space(_space(tmp_path, params={}))
    space = load_space(_space(tmp_path, callable="no_such_pkg_xyz.models:build"))
    with pytest.raises(ModelBuildError, match=r"callable no_such_pkg_xyz.models:build: cannot import"):
        search(space, choose(space, all_=True), RPS)
    space = load_space(_space(tmp_path, params={"depth": [1, 99], "width": [4]}))
    with pytest.raises(ModelBuildError, match=r"building space:.*callable.yaml#1 \(depth=99, width=4\) failed: ValueError: "
                                              r"depth 99 is not buildable"):
        search(space, choose(space, all_=True), RPS)
    r = runner.invoke(app, ["search", str(_space(tmp_path, params={"depth": [99], "width": [4]})), "--all",
                            "--out", str(tmp_path / "rows.csv")])
    assert r.exit_code == 1 and r.output.count("\n") == 1 and "#0 (depth=99, width=4)" in r.output
    assert [p.name for p in tmp_path.iterdir()] == ["callable.yaml"]  # no output, no spool left behind


def test_shipped_callable_space_candidate_is_the_zoo_mnv2():
    import numpy as np

    from roofsweep.trace.cache import load_or_trace
    from roofsweep.zoo import resolve

    space = load_space(Path(__file__).parents[1] / "configs" / "space-callable-mnv2.yaml")
    assert space.size == 10 and space.params_of(6) == {"width_multiplier": 1.0, "num_classes": 1000}
    rows = search(space, space.decode_range(6, 7), RPS).rows
    zoo = load_or_trace(resolve("mnv2"))
    # MobileNetV2 1.0 at 224: 300,774,272 MACs and 3,504,872 parameters (the zoo's own trace)
    assert rows.loc[0, "macs"] == int(zoo.layers["macs"].sum()) == 300_774_272
    assert rows.loc[0, "params"] == zoo.params == 3_504_872
    assert np.isfinite(rows.filter(like="latency_s").to_numpy()).all()
