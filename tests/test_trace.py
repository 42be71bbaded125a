"""The tracer against hand-computed arithmetic on tiny nets (arithmetic beside each expectation)."""

from __future__ import annotations

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from roofsweep.layertable import validate_layer_table
from roofsweep.trace import formulas, trace_module


def rows(model: nn.Module, shape, **kw):
    result = trace_module(model.to("meta"), shape, "tiny", check_shapes=True, **kw)
    validate_layer_table(result.layers)
    return result


def test_conv_bn_relu_fuses_into_one_layer():
    m = nn.Sequential(nn.Conv2d(3, 8, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU())
    r = rows(m, (1, 3, 32, 32))
    assert len(r.layers) == 1
    row = r.layers.iloc[0]
    assert row.op_type == "conv2d"
    assert row.activation == "relu"
    assert row.aten_ops == "convolution+native_batch_norm+relu"
    assert row.macs == 8 * 16 * 16 * 3 * 9  # out elems 2048 * (3 in-ch * 3*3 kernel) = 55,296
    assert row.weight_elems == 8 * 3 * 9 + 8  # kernel 216 + folded BN bias 8 = 224
    assert row.input_elems == 3 * 32 * 32  # 3,072
    assert row.output_elems == 8 * 16 * 16  # 2,048
    assert row.input_shape == "1x3x32x32" and row.output_shape == "1x8x16x16"
    assert bool(row.reads_model_input)
    assert r.params == 216 + 16  # conv kernel + BN gamma/beta (running stats are buffers)


def test_relu6_is_named_relu6():
    m = nn.Sequential(nn.Conv2d(3, 4, 1), nn.ReLU6(inplace=True))
    r = rows(m, (1, 3, 4, 4))
    assert list(r.layers.activation) == ["relu6"]
    assert r.layers.weight_elems[0] == 12 + 4  # 1x1 kernel 4*3 + bias 4 (no BN to add one)


def test_depthwise_conv():
    m = nn.Conv2d(16, 16, 3, padding=1, groups=16)
    r = rows(m, (1, 16, 8, 8))
    row = r.layers.iloc[0]
    assert row.op_type == "dwconv2d"
    assert row.macs == 16 * 8 * 8 * 9  # each of 1,024 outputs reads one 3x3 window: 9,216
    assert row.weight_elems == 16 * 9 + 16  # 144 + bias 16 = 160


def test_grouped_conv_is_not_depthwise():
    m = nn.Conv2d(16, 32, 3, padding=1, groups=4, bias=False)
    r = rows(m, (2, 16, 8, 8))
    row = r.layers.iloc[0]
    assert row.op_type == "conv2d"
    assert row.macs == 2 * 32 * 8 * 8 * (16 // 4) * 9  # 4,096 outputs * 36 = 147,456
    assert row.weight_elems == 32 * 4 * 9  # 1,152


def test_pointwise_conv_on_1x1_map_is_fc():
    m = nn.Conv2d(64, 10, 1)
    r = rows(m, (1, 64, 1, 1))
    assert r.layers.op_type[0] == "fc"
    assert r.layers.macs[0] == 640  # 64 * 10


def test_linear_on_3d_input():
    m = nn.Linear(8, 5)
    r = rows(m, (2, 3, 8))
    assert len(r.layers) == 1  # the flattening views cost nothing
    row = r.layers.iloc[0]
    assert row.op_type == "fc"
    assert row.macs == 2 * 3 * 8 * 5  # 6 rows x 8 in x 5 out = 240
    assert row.weight_elems == 8 * 5 + 5  # 45
    assert row.input_elems == 48 and row.output_elems == 30
    assert r.zero_cost_ops.get("view", 0) >= 1


class MQA(nn.Module):
    """8 query heads against one shared key/value head (as in Mobile MQA)."""

    def forward(self, x):
        q = x.reshape(1, 8, 16, 32)
        k = x[:, :2048].reshape(1, 1, 64, 32)  # a slice, then a view: no cost
        return F.scaled_dot_product_attention(q, k.expand(1, 8, 64, 32), k.expand(1, 8, 64, 32))


def test_attention_8_query_heads_1_kv_head():
    r = rows(MQA(), (1, 4096))
    att = r.layers[r.layers.op_type == "attention"]
    assert len(att) == 1
    row = att.iloc[0]
    # Q K^T: 8 heads * 16 queries * 64 keys * 32 dims = 262,144; attn V: the same again
    assert row.macs == 8 * 16 * 64 * (32 + 32) == 524_288
    # q 8*16*32 = 4,096; k and v are the same broadcast 64x32 head: 2,048 distinct each
    assert row.input_elems == 4096 + 2048 + 2048
    assert row.output_elems == 8 * 16 * 32


@pytest.mark.parametrize(
    "op",
    [
        torch.ops.aten._scaled_dot_product_flash_attention_for_cpu.default,
        torch.ops.aten._scaled_dot_product_attention_math.default,
    ],
)
def test_attention_kernels_called_directly_are_costed(op):
    class Direct(nn.Module):
        def forward(self, x):
            q = x.reshape(1, 4, 16, 8)
            out = op(q, q, q)
            return out[0] if isinstance(out, tuple) else out

    r = rows(Direct(), (1, 512))
    # 4 heads * 16 * 16 * (8 + 8) = 16,384 whether one fused kernel or bmm + softmax + bmm
    assert r.layers.macs.sum() == 4 * 16 * 16 * 16
    assert not r.unsupported_ops


def test_attention_formula_gqa_heads_broadcast():
    # q (2, 8, 10, 16), one k/v head (2, 1, 20, 16) / (2, 1, 20, 24)
    assert formulas.attention_macs((2, 8, 10, 16), (2, 1, 20, 16), (2, 1, 20, 24)) == (
        2 * 8 * 10 * 20 * (16 + 24)  # = 128,000
    )


class SE(nn.Module):
    def __init__(self):
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.reduce = nn.Conv2d(16, 4, 1)
        self.act = nn.ReLU()
        self.expand = nn.Conv2d(4, 16, 1)
        self.gate = nn.Hardsigmoid()

    def forward(self, x):
        return x * self.gate(self.expand(self.act(self.reduce(self.pool(x)))))


def test_squeeze_excite_block():
    r = rows(SE(), (1, 16, 8, 8))
    t = r.layers
    assert list(t.op_type) == ["pool", "fc", "fc", "elementwise"]
    assert list(t.macs) == [0, 16 * 4, 4 * 16, 0]  # 64, 64
    assert list(t.activation) == ["", "relu", "hardsigmoid", ""]
    assert list(t.weight_elems) == [0, 64 + 4, 64 + 16, 0]
    # pool reads the 1,024-element map, writes 16; the multiply reads map + gate, writes the map
    assert list(t.input_elems) == [1024, 16, 4, 1024 + 16]
    assert list(t.output_elems) == [16, 4, 16, 1024]


class Residual(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Sequential(nn.Conv2d(8, 8, 1, bias=False), nn.BatchNorm2d(8), nn.ReLU())
        self.b = nn.Sequential(nn.Conv2d(8, 8, 1, bias=False), nn.BatchNorm2d(8))
        self.out = nn.Hardswish()

    def forward(self, x):
        return self.out(x + self.b(self.a(x)))


def test_residual_block_keeps_add_and_standalone_activation():
    r = rows(Residual(), (1, 8, 4, 4))
    t = r.layers
    assert list(t.op_type) == ["conv2d", "conv2d", "elementwise", "elementwise"]
    assert list(t.aten_ops) == [
        "convolution+native_batch_norm+relu",
        "convolution+native_batch_norm",
        "add",
        "hardswish",
    ]
    assert list(t.macs) == [8 * 8 * 16, 8 * 8 * 16, 0, 0]  # 1,024 each
    assert t.input_elems[2] == 2 * 128  # both operands of the add
    assert t.activation[3] == "hardswish"
    assert list(t.name) == ["a.0", "b.0", "<root>", "out"]
    assert t.modules[0] == "a.0,a.1,a.2"


def test_conv_output_used_twice_does_not_fuse():
    class Two(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(4, 4, 1)

        def forward(self, x):
            y = self.conv(x)
            return torch.relu(y) + y

    t = rows(Two(), (1, 4, 2, 2)).layers
    assert list(t.aten_ops) == ["convolution", "relu", "add"]


def test_unsupported_ops_are_reported_not_zeroed():
    class Odd(nn.Module):
        def forward(self, x):
            return torch.cumprod(x, dim=1)

    r = rows(Odd(), (1, 8))
    assert r.unsupported_ops == {"cumprod": 1}
    assert r.layers.empty


def test_batch_scales_macs_and_elements_linearly():
    m = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 6 * 6, 10))
    one = rows(m, (1, 3, 8, 8)).layers
    four = rows(m, (4, 3, 8, 8)).layers
    assert (four.macs == 4 * one.macs).all()
    assert (four.input_elems == 4 * one.input_elems).all()
    assert (four.weight_elems == one.weight_elems).all()


def test_registering_a_formula_twice_is_rejected():
    with pytest.raises(ValueError, match="already registered"):
        formulas.register_compute("mm", op_type="matmul")(lambda a, b: 0)


def test_cost_groups_are_disjoint_and_views_named():
    assert "view" in formulas.ZERO_COST_OPS and "convolution" in formulas.COMPUTE_FORMULAS
    assert formulas.classify("relu") == "activation"
    assert formulas.classify("definitely_not_an_op") == "unsupported"


def test_cache_roundtrip_and_invalidation(tmp_path, monkeypatch):
    from roofsweep.trace import cache
    from roofsweep.zoo import resolve

    monkeypatch.setenv("ROOFSWEEP_CACHE_DIR", str(tmp_path))
    ref = resolve("mnv3-small", resolution=96)
    first = cache.load_or_trace(ref)
    path = cache.cache_path(ref)
    assert path.is_file() and path.parent == tmp_path
    hit = cache.load_cached(ref)
    assert hit is not None and hit.macs == first.macs and hit.params == first.params
    assert hit.layers.equals(first.layers)
    # every key part matters: width, resolution, batch, and the tracer/zoo code itself
    others = [resolve("mnv3-small", resolution=128), resolve("mnv3-small", width=0.5, resolution=96),
              resolve("mnv3-small", resolution=96, batch=2)]
    assert len({cache.cache_path(r) for r in [ref, *others]}) == 4
    cache.code_fingerprint.cache_clear()
    monkeypatch.setattr(cache, "code_fingerprint", lambda: "edited-code")
    assert cache.cache_path(ref) != path and cache.load_cached(ref) is None
    # a torn or corrupt entry is a miss, not an error
    monkeypatch.undo()
    monkeypatch.setenv("ROOFSWEEP_CACHE_DIR", str(tmp_path))
    path.write_text("{not json")
    assert cache.load_cached(ref) is None
    assert cache.load_or_trace(ref).macs == first.macs
    monkeypatch.setenv("ROOFSWEEP_CACHE_DIR", "off")
    assert cache.cache_path(ref) is None


class GQA(nn.Module):
    def forward(self, x):
        q = x[:, :4096].reshape(1, 8, 16, 32)
        kv = x[:, 4096:].reshape(1, 2, 64, 32)
        return F.scaled_dot_product_attention(q, kv, kv, enable_gqa=True)


def test_grouped_query_attention():
    r = rows(GQA(), (1, 4096 + 4096))
    att = r.layers[r.layers.op_type == "attention"].iloc[0]
    # 8 query heads share 2 key/value heads: 8 * 16 * 64 * (32 + 32) = 524,288
    assert att.macs == 524_288
    assert att.input_elems == 4096 + 4096 + 4096  # q, k, v (k and v are the same tensor, read twice)


def test_attention_shapes_that_do_not_broadcast_are_an_error():
    from roofsweep.errors import ModelBuildError

    class Bad(nn.Module):
        def forward(self, x):
            q = x.reshape(1, 3, 16, 8)
            k = x[:, :256].reshape(1, 2, 16, 8)
            return F.scaled_dot_product_attention(q, k, k)

    with pytest.raises(ModelBuildError, match="do not broadcast"):
        rows(Bad(), (1, 384))
