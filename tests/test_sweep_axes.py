"""Batch / dtype / resolution axes of sweep and compare."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn
from typer.testing import CliRunner

from roofsweep.cli import app
from roofsweep.engine.axes import batch_linear, compute_bound_batch, parse_list, sweep_axes
from roofsweep.engine.costmodel import apply_cost_model, get_preset
from roofsweep.engine.sweep import sweep_ridge_points
from roofsweep.errors import ConfigError
from roofsweep.trace.api import trace_module

runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


def _linear(batch: int):
    # Linear 100 -> 50, no bias: 5000 MACs and 5000 weights per sample; reads 100, writes 50
    with torch.device("meta"):
        m = nn.Linear(100, 50, bias=False)
    return trace_module(m, (batch, 100), "fc").layers


def _net(batch: int):
    with torch.device("meta"):
        m = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 8, 3, groups=8), nn.AdaptiveAvgPool2d(1),
                          nn.Flatten(1), nn.Linear(8, 10))
    return trace_module(m, (batch, 3, 16, 16), "net").layers


def test_macs_scale_with_batch_bytes_with_dtype():
    t1, t4 = _net(1), _net(4)
    assert batch_linear({1: t1, 4: t4})
    assert (t4["macs"] == 4 * t1["macs"]).all() and (t4["weight_elems"] == t1["weight_elems"]).all()
    cm = get_preset("default")
    b = {d: apply_cost_model(t4, cm, d)["bytes"].sum() for d in ("int8", "fp16", "fp32")}
    assert b["fp16"] == 2 * b["int8"] and b["fp32"] == 4 * b["int8"]
    df, _ = sweep_axes({("net", 1, 16): t1, ("net", 4, 16): t4}, ["int8", "fp32"], "5,50", [], cm)
    assert list(df["batch"]) == [1, 1, 1, 1, 4, 4, 4, 4]
    one, four = df[df["batch"] == 1], df[df["batch"] == 4]
    assert (four["macs"].to_numpy() == 4 * one["macs"].to_numpy()).all()
    i8, f32 = df[df["dtype"] == "int8"], df[df["dtype"] == "fp32"]
    assert (f32["bytes"].to_numpy() == 4 * i8["bytes"].to_numpy()).all()
    assert np.allclose(df["samples_per_s"], df["batch"] / df["latency_s"], rtol=1e-15)


def test_compute_bound_batch_by_hand():
    # default preset, int8, bandwidth 40e9, peak = RP x 40e9. At batch B: MACs 5000 B,
    # bytes 5000 (weights) + 150 B (in + out). Compute-bound iff 5000 B / RP >= 5000 + 150 B:
    #   RP 10: B x (500 - 150) >= 5000 -> B >= 14.3 -> 15     RP 20: B x 100 >= 5000 -> 50
    #   RP 30: B x 16.67 >= 5000 -> 300                       RP 40: 125 < 150 -> never
    #   RP 0: memory is free -> 1
    t = _linear(1)
    df, _ = sweep_axes({("fc", 1, 0): t}, None, "0,10,20,30,40", [], "default")
    got = df["compute_bound_batch"].tolist()
    assert got[:4] == [1.0, 15.0, 50.0, 300.0] and np.isnan(got[4])
    # and the criterion holds at that batch but not one below (fresh traces at those batches)
    for rp, b in ((10, 15), (20, 50), (30, 300)):
        for batch, bound in ((b, True), (b - 1, False)):
            row = sweep_ridge_points({"fc": _linear(batch)}, [rp], "default").iloc[0]
            assert bool(row["mac_time_s"] >= row["mem_time_s"]) is bound, (rp, batch)
    # vectorised function on its own, with a peak/bandwidth pair: same RP 20 answer
    assert compute_bound_batch(5000, 5150, 5000, 1, 20 * 40e9, 40e9) == 50


def test_parse_list_errors():
    assert parse_list("1, 8,32", "--batch") == [1, 8, 32]
    for bad, match in (("0", "positive"), ("1,x", "whole numbers"), ("2,2", "twice"), (",", "empty")):
        with pytest.raises(ConfigError, match=match):
            parse_list(bad, "--batch")
    with pytest.raises(ConfigError, match="unknown dtype 'int9'"):
        parse_list("int8,int9", "--dtype", str)


def test_cli_sweep_axes_long_form_and_shared_traces(monkeypatch, tmp_path):
    import roofsweep.trace.api as api

    calls = []
    real = api.trace
    monkeypatch.setattr(api, "trace", lambda ref, **kw: calls.append(ref.input_shape) or real(ref, **kw))
    monkeypatch.setenv("ROOFSWEEP_CACHE_DIR", str(tmp_path / "cache"))
    r = run("sweep", "--model", "mnv3-small", "--batch", "1,4", "--dtype", "int8,fp16,fp32", "--resolution", "160,224",
            "--ridge-points", "5,50", "--hardware", "pixel6-cpu", "-f", "csv", "--no-report")
    assert r.exit_code == 0, r.output
    df = pd.read_csv(io.StringIO(r.stdout))
    # one trace per (batch, resolution), whatever the number of dtypes
    assert sorted(calls) == sorted([(b, 3, s, s) for b in (1, 4) for s in (160, 224)])
    # rows: 2 resolutions x 2 batches x (3 dtypes x 2 RPs + pixel6-cpu at int8 only)
    assert len(df) == 2 * 2 * (3 * 2 + 1)
    assert {"batch", "dtype", "resolution", "samples_per_s", "compute_bound_batch"} <= set(df.columns)
    rp = df[df["hardware"].isna()]
    b1 = rp[rp["batch"] == 1].reset_index(drop=True)
    b4 = rp[rp["batch"] == 4].reset_index(drop=True)
    assert (b4["macs"] == 4 * b1["macs"]).all()
    i8 = rp[rp["dtype"] == "int8"].reset_index(drop=True)
    f16 = rp[rp["dtype"] == "fp16"].reset_index(drop=True)
    assert (f16["bytes"] == 2 * i8["bytes"]).all()
    calls.clear()
    again = run("sweep", "--model", "mnv3-small", "--batch", "1,4", "--dtype", "int8", "--resolution", "160,224",
                "--ridge-points", "5", "--hardware", "pixel6-cpu", "-f", "csv", "--no-report")
    assert again.exit_code == 0 and calls == []  # cached per batch and resolution


def test_cli_compare_axes_and_figure(tmp_path):
    out = tmp_path / "rep"
    r = run("compare", "mnv2", "mnv3-small", "--width", "0.5", "--batch", "1,8", "--ridge-points", "5,500",
            "--hardware", "pixel6-cpu", "-f", "json", "--out", str(out))
    assert r.exit_code == 0, r.output
    df = pd.read_json(io.StringIO(r.stdout))
    assert set(df["model"]) == {"mnv2-0.5x", "mnv3-small-0.5x"} and set(df["batch"]) == {1, 8}
    assert (out / "batch.svg").stat().st_size > 10_000 and (out / "sweep-axes.csv").is_file()
    # the file holds the rows printed (pandas' JSON reader rounds the last digit, hence approx)
    assert pd.read_csv(out / "sweep-axes.csv")["latency_s"].tolist() == pytest.approx(df["latency_s"].tolist(), rel=1e-12)
    assert (out / ".roofsweep-report").is_file()  # written like a report: --force may replace it
    again = run("compare", "mnv2", "mnv3-small", "--width", "0.5", "--batch", "1,8", "--ridge-points", "5,500",
                "--hardware", "pixel6-cpu", "-f", "json", "--out", str(out), "--force")
    assert again.exit_code == 0, again.output
    table = run("compare", "mnv2", "--batch", "1,8", "--ridge-points", "5", "--hardware", "pixel6-cpu")
    assert table.exit_code == 0 and "compute-bound" in table.stdout and not (tmp_path / "roofsweep-reports").exists()
    bad = run("compare", "mnv2", "--batch", "1,0", "--no-report")
    assert bad.exit_code == 1 and "error: --batch must be positive" in bad.output
    shape = run("sweep", "-m", "mnv2", "--batch", "1,2", "--input-shape", "1x3x224x224", "--no-report")
    assert shape.exit_code == 1 and "--input-shape fixes one batch" in shape.output


def test_plot_batch_marks_compute_bound_batch():
    from matplotlib.figure import Figure

    from roofsweep.report.figure_batch import batch_figure, plot_batch

    t = {("fc", b, 0): _linear(b) for b in (1, 16, 64)}
    df, _ = sweep_axes(t, ["int8", "fp16"], "20", [], "default")
    ax = Figure().subplots()
    plot_batch(ax, df, "RP 20", "samples_per_s")
    assert len(ax.get_lines()) == 2 + 1  # a line per dtype; int8 turns compute-bound at 50 (in range)
    with pytest.raises(ConfigError, match="no rows at point"):
        plot_batch(ax, df, "RP 7")
    assert len(batch_figure(df).axes) == 2
