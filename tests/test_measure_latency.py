"""Latency measurement: per-layer matching on a tiny conv net, BN folding, errors (no timing asserts)."""

from __future__ import annotations

import pandas as pd
import pytest
import torch
from torch import nn

from roofsweep.errors import MeasurementError
from roofsweep.measure.attribution import attribute
from roofsweep.measure.latency import fold_batchnorms, measure_model, measure_module, merge_results
from roofsweep.trace import trace_module
from roofsweep.zoo import resolve

FAST = dict(repeats=2, warmup=1, per_layer_repeats=2)


class Block(nn.Module):
    """conv -> bn -> relu, plus a residual add done in this module's own forward."""

    def __init__(self, c: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(c)
        self.act = nn.ReLU()

    def forward(self, x):
        return x + self.act(self.bn(self.conv(x)))


class TinyNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU())
        self.block = Block(8)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(8, 10)

    def forward(self, x):
        return self.fc(torch.flatten(self.pool(self.block(self.stem(x))), 1))


SHAPE = (1, 3, 32, 32)


@pytest.fixture(scope="module")
def layers() -> pd.DataFrame:
    return trace_module(TinyNet(), SHAPE, "tiny").layers  # trace_module moves its model to meta


def _net() -> TinyNet:
    torch.manual_seed(0)
    net = TinyNet().eval()
    with torch.no_grad():  # non-trivial BN statistics so folding is really exercised
        for bn in (net.stem[1], net.block.bn):
            bn.running_mean.uniform_(-1, 1)
            bn.running_var.uniform_(0.5, 2)
            bn.weight.uniform_(0.5, 1.5)
            bn.bias.uniform_(-0.5, 0.5)
    return net


def test_tiny_net_rows_and_modules(layers):
    # what the matching relies on: each row names the modules fused into it
    assert layers["modules"].tolist() == [
        "stem.0,stem.1,stem.2", "block.conv,block.bn,block.act", "block", "pool", "fc"]


def test_per_layer_matching(layers):
    net = _net()
    r = measure_module(net, SHAPE, layers=layers, label="tiny", **FAST)
    assert r.model == "tiny" and r.latency_s > 0 and len(r.latencies_s) == 2
    every = {p or "<root>" for p, _ in net.named_modules()}
    assert set(r.module_self_s) == every
    assert r.unmatched_rows == []
    per = r.layers.set_index("name")["measured_s"]
    # a row's time is the sum of its modules' self times
    s = r.module_self_s
    assert per["stem.0"] == pytest.approx(s["stem.0"] + s["stem.1"] + s["stem.2"])
    assert per["block"] == pytest.approx(s["block"])  # the residual add runs in Block.forward
    # containers' own time is reported, not dropped: rows + unattributed = all self time
    assert set(r.unattributed_s) <= {"<root>", "stem"}
    assert per.sum() + sum(r.unattributed_s.values()) == pytest.approx(sum(s.values()))
    # BN folded where the trace fused it; the caller's module is untouched (measured on a copy)
    assert r.meta["folded_bn"] == ["stem.1", "block.bn"]
    assert isinstance(net.stem[1], nn.BatchNorm2d)


class _LinearNorm(nn.Module):  # LeViT's token linear: Linear, then BatchNorm1d over its outputs
    def __init__(self, cin, cout):
        super().__init__()
        self.linear = nn.Linear(cin, cout, bias=False)
        self.bn = nn.BatchNorm1d(cout)

    def forward(self, x):
        return self.bn(self.linear(x).flatten(0, 1)).reshape(x.shape[0], x.shape[1], -1)


def test_fold_batchnorms_folds_a_linears_batchnorm1d():
    from roofsweep.trace import trace_module

    torch.manual_seed(0)
    net = _LinearNorm(16, 24).eval()
    with torch.no_grad():
        net.bn.running_mean.uniform_(-1, 1)
        net.bn.running_var.uniform_(0.5, 2)
        net.bn.weight.uniform_(0.5, 1.5)
    layers = trace_module(net, (2, 9, 16)).layers
    assert layers["modules"].tolist() == ["linear,bn"]  # the trace fused them: one fc row
    x = torch.randn(2, 9, 16)
    with torch.no_grad():
        before = net(x)
        assert fold_batchnorms(net, layers) == ["bn"]
        after = net(x)
    assert isinstance(net.bn, nn.Identity) and net.linear.bias is not None
    torch.testing.assert_close(after, before, rtol=1e-4, atol=1e-5)


def test_fold_batchnorms_preserves_outputs(layers):
    net = _net()
    x = torch.randn(SHAPE)
    with torch.no_grad():
        before = net(x)
        folded = fold_batchnorms(net, layers)
        after = net(x)
    assert folded == ["stem.1", "block.bn"]
    assert isinstance(net.block.bn, nn.Identity) and net.block.conv.bias is not None
    torch.testing.assert_close(after, before, rtol=1e-4, atol=1e-5)


def test_no_fold_and_no_per_layer(layers):
    r = measure_module(_net(), SHAPE, layers=layers, fold_bn=False, per_layer=False, **FAST)
    assert r.meta["folded_bn"] == [] and r.module_self_s == {} and r.layers is None
    assert r.hooked_total_s is None


def test_attribution_split_hand_example():
    # rows: r0 and r1 both name module "a" (shared), r2 names "b,c"; "d" names no row; r3's "e" never ran
    layers = pd.DataFrame({"name": ["a", "a", "b", "e"], "modules": ["a", "a", "b,c", "e"]})
    self_s = {"a": 6.0, "b": 1.0, "c": 2.0, "d": 5.0}
    eq = attribute(layers, self_s)
    assert eq.measured_s.tolist() == [3.0, 3.0, 3.0, 0.0]  # a split 3 / 3; b + c = 3
    assert eq.unattributed_s == {"d": 5.0} and eq.unmatched_rows == [3] and eq.shared_modules == {"a": 2}
    # weighted by predicted time 1 : 2 -> a gives 2 and 4
    w = attribute(layers, self_s, weights=[1.0, 2.0, 0.0, 0.0])
    assert w.measured_s.tolist() == [2.0, 4.0, 3.0, 0.0]
    # no modules column: rows match by name
    by_name = attribute(pd.DataFrame({"name": ["b", ""]}), {"b": 1.0, "<root>": 2.0})
    assert by_name.measured_s.tolist() == [1.0, 2.0]


def test_zoo_model_rows_all_match():
    # a real zoo model at a tiny resolution: every LayerTable row finds its modules at run time
    r = measure_model(resolve("mnv3-small", resolution=32), **FAST)
    assert r.model == "mnv3-small@32"
    assert r.unmatched_rows == []
    assert (r.layers["measured_s"] >= 0).all() and r.layers["measured_s"].sum() > 0
    assert len(r.meta["folded_bn"]) > 0


def test_errors(layers, monkeypatch):
    with pytest.raises(MeasurementError, match="unsupported device 'tpu'"):
        measure_module(_net(), SHAPE, layers=layers, device="tpu", **FAST)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(MeasurementError, match="CUDA is not available"):
        measure_module(_net(), SHAPE, layers=layers, device="cuda", **FAST)
    # wrong input channels: the model cannot run -> one-line MeasurementError
    with pytest.raises(MeasurementError, match="cannot run on cpu") as exc:
        measure_module(_net(), (1, 5, 32, 32), layers=layers, **FAST)
    assert "\n" not in str(exc.value)
    with pytest.raises(MeasurementError, match="repeats"):
        measure_module(_net(), SHAPE, repeats=0)
    with pytest.raises(MeasurementError, match="unknown memory format 'nhwc'; valid: channels_last, contiguous"):
        measure_module(_net(), SHAPE, memory_format="nhwc", **FAST)


def test_memory_format_recorded(layers):
    # channels_last (default) applies to 4-D inputs; contiguous keeps NCHW
    assert measure_module(_net(), SHAPE, layers=layers, per_layer=False, **FAST).meta["memory_format"] == "channels_last"
    r = measure_module(_net(), SHAPE, layers=layers, per_layer=False, memory_format="contiguous", **FAST)
    assert r.meta["memory_format"] == "contiguous"


def test_merge_results(layers):
    # two rounds: whole-model samples pooled, module self times = median over rounds
    a = measure_module(_net(), SHAPE, layers=layers, label="tiny", **FAST)
    b = measure_module(_net(), SHAPE, layers=layers, label="tiny", **FAST)
    m = merge_results([a, b])
    assert m.latencies_s == a.latencies_s + b.latencies_s and m.repeats == 4
    assert m.module_self_s["fc"] == pytest.approx((a.module_self_s["fc"] + b.module_self_s["fc"]) / 2)
    assert m.layers["measured_s"].sum() + sum(m.unattributed_s.values()) == pytest.approx(sum(m.module_self_s.values()))
    b.model = "other"
    with pytest.raises(MeasurementError, match="different models"):
        merge_results([a, b])
    with pytest.raises(MeasurementError, match="nothing to merge"):
        merge_results([])


def test_progress_reaches_total(layers):
    calls = []
    measure_module(_net(), SHAPE, layers=layers, progress=lambda d, done, total: calls.append((done, total)), **FAST)
    # warm-up 1 + 2 timed + hooked (warm-up 1 + 2) = 6 steps, then "done" at 6 / 6
    assert calls[-1] == (6, 6)
    assert [c[0] for c in calls] == sorted(c[0] for c in calls) and {c[1] for c in calls} == {6}


def test_flush_denormal_is_restored(layers):
    r = measure_module(_net(), SHAPE, layers=layers, per_layer=False, **FAST)
    assert r.meta["flush_denormal"] == torch.set_flush_denormal(False)  # True where the CPU supports it
    # afterwards IEEE denormals work again: 1e-30 * 1e-10 = 1e-40 (below the smallest normal 1.2e-38)
    assert (torch.tensor([1e-30]) * 1e-10).item() > 0
    r = measure_module(_net(), SHAPE, layers=layers, per_layer=False, flush_denormal=False, **FAST)
    assert r.meta["flush_denormal"] is False
