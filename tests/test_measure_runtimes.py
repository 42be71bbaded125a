"""Runtimes, hygiene and validation summary: onnxruntime profiling matched to rows on a tiny network,
timing rules with a fake clock, predictor statistics by hand, skipped models (no timing asserts)."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest
import torch
from torch import nn

from roofsweep.errors import MeasurementError
from roofsweep.measure.accuracy import accuracy, log_scale
from roofsweep.measure.ort_runtime import (LAYOUT_CHANGES, RUNTIME_UNATTRIBUTED, kernel_runs, node_module, node_origins,
                                           profile_node_times)
from roofsweep.measure.timing import noise_warning, spread_of, statistic_of, timed_runs
from roofsweep.trace import trace_module

SHAPE = (1, 3, 16, 16)


class _Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(8, 8, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(8)
        self.act = nn.Hardswish()

    def forward(self, x):
        return x + self.act(self.bn(self.conv(x)))  # residual add in the block's own forward


def _net():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 8, 3, 2, 1), nn.ReLU(), _Block(), nn.AdaptiveAvgPool2d(1), nn.Flatten(1),
                         nn.Linear(8, 10)).eval()


# ---------------------------------------------------------------------- onnxruntime
def test_node_names_map_to_module_paths():
    mods = {"features", "features.0", "features.0.conv", "2", "2.conv", "blocks.3"}
    assert node_module("/features/features.0/features.0.conv/Conv", mods) == "features.0.conv"
    assert node_module("/features/0/conv/Conv", mods) == "features.0.conv"
    assert node_module("/2/conv/Conv_output_0_nchwc", mods) == "2.conv"      # a fused node
    assert node_module("/2/Add", mods) == "2"                                 # an op in the block's forward
    assert node_module("/blocks.3/attn/Softmax", mods) == "blocks.3"          # innermost real module
    assert node_module("ReorderOutput", mods) == RUNTIME_UNATTRIBUTED          # inserted by the runtime
    assert node_module("/Flatten", mods) == "<root>"
    # a segment named relative to the one before it (torchvision's ``downsample`` Sequential)
    res = {"layer2", "layer2.0", "layer2.0.downsample", "layer2.0.downsample.0"}
    assert node_module("/layer2/layer2.0/downsample/downsample.0/Conv", res) == "layer2.0.downsample.0"


def test_unscoped_nodes_are_traced_back_through_their_origins():
    mods = {"0", "2", "stages.1.mlp.act"}
    origins = {"3": "/2/Relu", "Gelu_token_8": "/stages/stages.1/mlp/act/Mul_1"}
    assert node_module("3_nchwc", mods, origins) == "2"  # fused conv + ReLU named after a graph output
    assert node_module("Gelu_token_8", mods, origins) == "stages.1.mlp.act"
    assert node_module("Gelu_token_9", mods, origins) == RUNTIME_UNATTRIBUTED  # nowhere to trace it


def test_layout_changes_are_known_by_their_op_and_left_out_of_kernel_time():
    def ev(name, op, dur):
        return {"cat": "Node", "name": f"{name}_kernel_time", "dur": dur, "args": {"op_name": op}}

    run = [ev("ReorderInput", "ReorderInput", 5), ev("3_nchwc", "Conv", 40), ev("ReorderOutput", "ReorderOutput", 7)]
    fence = {"cat": "Node", "name": "3_nchwc_fence_before", "dur": 0, "args": {}}
    events = run + [fence] + [dict(e, dur=e["dur"] * 2) for e in run] + [fence]
    out = profile_node_times(events, {"0", "2"}, runs=2, origins={"3": "/2/Relu"})
    assert out == pytest.approx({LAYOUT_CHANGES: 18e-6, "2": 60e-6})  # medians of (5+7, 10+14) and (40, 80)
    assert kernel_runs(events, per_run=4) == pytest.approx([40e-6, 80e-6])  # per run, Conv only


def test_a_one_layer_graph_is_attributed_to_its_row():
    # the graph's only kernel is a fused conv + ReLU that onnxruntime names after the graph's
    # output tensor: its time belongs to the conv row, the reorders around it are layout changes
    pytest.importorskip("onnxruntime")
    from roofsweep.measure.ort_runtime import measure_module_ort

    def one():
        torch.manual_seed(0)
        return nn.Sequential(nn.Conv2d(8, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU()).eval()

    layers = trace_module(one(), (1, 8, 16, 16), "one").layers
    r = measure_module_ort(one(), (1, 8, 16, 16), layers=layers, repeats=2, warmup=1, per_layer_repeats=3)
    assert len(layers) == 1 and r.layers["measured_s"].iloc[0] > 0
    assert RUNTIME_UNATTRIBUTED not in r.unattributed_s and set(r.unattributed_s) <= {LAYOUT_CHANGES}
    assert len(r.meta["kernel_runs_s"]) == 3 and all(k > 0 for k in r.meta["kernel_runs_s"])


def test_node_origins_reads_the_optimised_graph(tmp_path):
    onnx = pytest.importorskip("onnx")
    from onnx import helper

    def save(nodes, name):
        g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1])],
                              [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1])])
        path = tmp_path / name
        onnx.save(helper.make_model(g), str(path))
        return path

    exported = save([helper.make_node("Relu", ["x"], ["/a/Relu_output_0"], name="/a/Relu"),
                     helper.make_node("Erf", ["/a/Relu_output_0"], ["/b/act/Erf_output_0"], name="/b/act/Erf"),
                     helper.make_node("Relu", ["/b/act/Erf_output_0"], ["y"], name="/b/act/Relu")], "e.onnx")
    optimised = save([helper.make_node("Relu", ["x"], ["/a/Relu_output_0"], name="/a/Relu"),
                      helper.make_node("Relu", ["/a/Relu_output_0"], ["t0"], name="Gelu_token_1"),  # writes a new tensor
                      helper.make_node("Relu", ["t0"], ["y"], name="fused_tail")], "o.onnx")
    origins = node_origins(exported, optimised)
    assert origins["fused_tail"] == "/b/act/Relu"     # by its output, which the exported graph has
    assert origins["Gelu_token_1"] == "/a/Relu"       # by its input's writer, as its output is new
    assert origins["y"] == "/b/act/Relu"              # tensors map to their writers


def test_profile_events_are_medians_per_run_summed_per_module():
    ev = [{"cat": "Node", "name": "/2/conv/Conv_kernel_time", "dur": d} for d in (10, 30, 20)]
    ev += [{"cat": "Node", "name": "/2/Add_kernel_time", "dur": d} for d in (4, 4, 6)]
    ev += [{"cat": "Node", "name": "/2/conv/Conv_fence_before", "dur": 99}, {"cat": "Session", "name": "x", "dur": 1}]
    out = profile_node_times(ev, {"2", "2.conv"}, runs=3)
    assert out == pytest.approx({"2.conv": 20e-6, "2": 4e-6})  # microseconds -> seconds; median per node


def test_onnxruntime_profiling_matched_to_rows_on_a_tiny_network():
    pytest.importorskip("onnxruntime")
    from roofsweep.measure.ort_runtime import measure_module_ort

    layers = trace_module(_net(), SHAPE, "tiny").layers
    r = measure_module_ort(_net(), SHAPE, layers=layers, label="tiny", repeats=2, warmup=1, per_layer_repeats=2)
    assert r.meta["runtime"] == "onnxruntime" and r.latency_s > 0 and len(r.latencies_s) == 2
    assert r.meta["folded_bn"] == ["2.bn"]
    # every LayerTable row got profiler time: convs (fused with their activations), add, pool, fc
    assert r.unmatched_rows == [] and (r.layers["measured_s"] > 0).all(), r.layers[["name", "measured_s"]]
    # only onnxruntime's layout changes (known by their op) and Flatten (no row) are unattributed
    assert set(r.unattributed_s) <= {LAYOUT_CHANGES, "4"}


def test_onnxruntime_missing_is_a_one_line_error_naming_the_extra(monkeypatch):
    from roofsweep.measure.runtimes import runtime_function

    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import fails
    with pytest.raises(MeasurementError.__mro__[1], match=r'pip install "roofsweep\[ort\]"'):
        runtime_function("onnxruntime")


# ---------------------------------------------------------------------------- hygiene
class _Clock:
    def __init__(self, durations):
        self.t, self.durations, self.calls = 0.0, list(durations), 0

    def __call__(self):
        return self.t

    def run(self):
        self.t += self.durations[min(self.calls, len(self.durations) - 1)]
        self.calls += 1


def test_timed_runs_stops_when_the_median_is_stable():
    clk = _Clock([1.0] * 100)
    t = timed_runs(clk.run, warmup=2, min_repeats=6, max_repeats=50, max_seconds=1e9, clock=clk)
    # window = max(3, 6 // 2) = 3: stable as soon as 2 x 3 = 6 runs are in
    assert len(t.samples_s) == 6 and t.stable and clk.calls == 8


def test_warm_up_lasts_at_least_warmup_s():
    clk = _Clock([1.0] * 200)
    t = timed_runs(clk.run, warmup=1, min_repeats=6, max_repeats=50, max_seconds=1e9, clock=clk, warmup_s=3.5)
    # runs end at t = 1, 2, 3, 4: the fourth is the first to finish 3.5 "seconds" in
    assert t.warmup == 4 and clk.calls == 4 + len(t.samples_s)
    clk = _Clock([1e-9] * 500)
    t = timed_runs(clk.run, warmup=0, min_repeats=6, max_repeats=50, max_seconds=1e9, clock=clk, warmup_s=1.0)
    assert t.warmup == 50  # MAX_WARMUP_RUNS: a fast run never reaches warmup_s on its own


def test_microbenchmark_samples_prefer_kernel_time():
    from types import SimpleNamespace

    from roofsweep.measure.calibrate import microbenchmark_samples

    assert microbenchmark_samples(SimpleNamespace(meta={"kernel_runs_s": [1.0, 2.0]}, latencies_s=[5.0])) == [1.0, 2.0]
    assert microbenchmark_samples(SimpleNamespace(meta={}, latencies_s=[5.0, 6.0])) == [5.0, 6.0]


def test_timed_runs_stops_at_the_cap_when_noisy():
    clk = _Clock([float(i) for i in range(1, 100)])  # slower and slower: the median keeps moving
    t = timed_runs(clk.run, warmup=0, min_repeats=4, max_repeats=12, max_seconds=1e9, clock=clk)
    assert len(t.samples_s) == 12 and not t.stable


def test_spread_statistics_and_warning_by_hand():
    runs = [1.0, 2.0, 3.0, 4.0, 10.0]  # quartiles 2 and 4 -> IQR 2, median 3: spread 67 %
    s = spread_of(runs)
    assert (s["min_s"], s["median_s"], s["max_s"], s["iqr_s"]) == (1.0, 3.0, 10.0, 2.0)
    assert statistic_of(runs, "min") == 1.0 and statistic_of(runs, "median") == 3.0
    assert "67%" in noise_warning("m", runs) and noise_warning("m", [1.0, 1.01, 0.99, 1.0]) is None


def test_cpu_clock_needs_one_thread():
    from roofsweep.measure.latency import measure_module

    with pytest.raises(MeasurementError, match="--threads 1"):
        measure_module(_net(), SHAPE, clock="cpu", threads=2, repeats=1, warmup=0)


# ------------------------------------------------------------------------- statistics
def test_accuracy_by_hand():
    # errors e = p/m - 1 = 0.125, -0.25, 0 -> |e| median 0.125, mean 0.125; within 10 %: 1 of 3
    a = accuracy([1.125, 0.75, 2.0], [1.0, 1.0, 2.0])
    assert a["median_abs_error"] == 0.125 and a["mape"] == 0.125
    assert a["within_10pct"] == pytest.approx(1 / 3) and a["within_25pct"] == 1.0
    # ranks (2, 1, 3) vs (1.5, 1.5, 3): deviations (0, -1, 1) and (-0.5, -0.5, 1) -> 1.5 / sqrt(2 * 1.5)
    assert a["spearman"] == pytest.approx(1.5 / np.sqrt(3.0))
    assert log_scale([1.0, 4.0], [2.0, 2.0]) == pytest.approx(1.0)  # exp(mean(log 2, log 0.5))


# ------------------------------------------------------------------------ validation
def _traces():
    from roofsweep.trace import load_or_trace
    from roofsweep.zoo import resolve

    return [load_or_trace(resolve(n, width=w)) for n, w in (("mnv2", 0.5), ("mnv3-small", 1.0), ("mnv1", 0.5))]


def test_validate_json_has_every_predictor():
    from roofsweep.measure.validate import validate
    from test_calibrate import _cal, _profile

    v = validate(_traces(), _profile(_cal()), "default", [0.004, 0.003, 0.005])
    out = json.loads(json.dumps(v.to_json(), allow_nan=False))
    assert [m["model"] for m in out["models"]] == ["mnv2-0.5x", "mnv3-small", "mnv1-0.5x"]
    s = out["summary"]
    for key in ("roofline", "fitted_rp", "calibrated", "macs"):
        assert set(s[key]) == {"median_abs_error", "mape", "within_10pct", "within_25pct", "spearman", "pearson_log"}
    assert s["fitted_ridge_point"] > 0 and s["latency_is"] == "calibrated" and s["measured"] == 3
    m = out["models"][0]
    assert m["calibrated_s"] > m["predicted_s"] > 0  # the calibration's efficiencies are below 1


def test_a_model_that_cannot_run_is_skipped(monkeypatch):
    import roofsweep.measure.latency as latency
    from roofsweep.measure.latency import MeasureResult
    from roofsweep.measure.run import run_validation
    from roofsweep.zoo import resolve
    from test_calibrate import _profile

    def fake(ref, **kw):
        if ref.label == "mnv1-0.5x":
            raise MeasurementError("mnv1-0.5x: cannot export to ONNX: aten::foo unsupported")
        return MeasureResult(model=ref.label, device="cpu", threads=1, latency_s=0.01, latencies_s=[0.01],
                             warmup=0, repeats=1, input_shape=ref.input_shape)

    monkeypatch.setattr(latency, "measure_model", fake)
    refs = [resolve(n, width=w) for n, w in (("mnv2", 0.5), ("mnv3-small", 1.0), ("mnv1", 0.5), ("mnv2", 0.75))]
    v, warnings = run_validation(refs, _profile(None), "default")
    assert list(v.models["model"]) == ["mnv2-0.5x", "mnv3-small", "mnv2-0.75x"]
    assert list(v.skipped) == ["mnv1-0.5x"] and "aten::foo" in warnings[0]
    with pytest.raises(MeasurementError, match="only 2 of 3 models"):
        run_validation(refs[:3], _profile(None), "default")
