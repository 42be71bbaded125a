"""Every zoo model traced: totals against the reference figures and against an independent counter.

References: the MAC and parameter counts of ``shared/reference/mobilenet_architectures.md``
(counted from the official implementations) and, for every width / resolution / batch, torch's
own ``FlopCounterMode`` (FLOPs / 2) run on the same module. Every trace runs with
``check_shapes=True``: the tracer's fast output shapes are checked against torch's meta kernels.
"""

from __future__ import annotations

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from roofsweep.layertable import validate_layer_table
from roofsweep.trace import trace_module
from roofsweep.trace.api import build_on_meta
from roofsweep.zoo import list_models, resolve

from reference_figures import REFERENCE  # (MACs, params): one table for every test  # noqa: E402


def flop_counter_macs(model, shape) -> int:
    with torch.no_grad(), FlopCounterMode(display=False) as fc:
        model(torch.empty(shape, device="meta"))
    return fc.get_total_flops() // 2


def test_reference_table_covers_the_zoo():
    assert sorted(REFERENCE) == sorted(list_models())


@pytest.mark.parametrize("name", list_models())
def test_default_totals_match_reference(name):
    ref = resolve(name)
    model = build_on_meta(ref)
    r = trace_module(model, ref.input_shape, ref.label, check_shapes=True)
    validate_layer_table(r.layers)
    macs, params = REFERENCE[name]
    assert r.params == params
    assert abs(r.macs / macs - 1) < 1e-3, (r.macs, macs)
    assert r.macs == flop_counter_macs(model, ref.input_shape)
    assert r.unsupported_ops == {}
    # one stem conv reads the image; every layer has a known type
    assert r.layers["reads_model_input"].sum() == 1
    assert r.layers.loc[r.layers["reads_model_input"], "op_type"].item() == "conv2d"


@pytest.mark.parametrize("name", ["mnv4-hybrid-m", "mnv4-hybrid-l"])
def test_hybrid_attention_rows(name):
    ref = resolve(name)
    r = trace_module(build_on_meta(ref), ref.input_shape, ref.label)
    att = r.layers[r.layers["op_type"] == "attention"]
    assert len(att) == 8  # both hybrids have 8 Mobile MQA blocks
    if name == "mnv4-hybrid-m":
        # 4 MQA at 16x16 (C=160): 4 heads, dim 64, keys/values at 8x8:
        #   4 heads * 256 queries * 64 keys * (64 + 64) = 8,388,608 MACs each
        # 4 MQA at 8x8 (C=256): 4 heads * 64 * 64 * 128 = 2,097,152 each
        assert sorted(att["macs"]) == [2_097_152] * 4 + [8_388_608] * 4
        assert att["macs"].sum() == 41_943_040
    else:
        # 4 MQA at 24x24 (C=192): 8 heads, dim 48, keys/values at 12x12:
        #   8 heads * 576 queries * 144 keys * (48 + 48) = 63,700,992 MACs each
        # 4 MQA at 12x12 (C=512): 8 heads * 144 * 144 * (64 + 64) = 21,233,664 each
        assert sorted(att["macs"]) == [21_233_664] * 4 + [63_700_992] * 4
        assert att["macs"].sum() == 339_738_624
    # the attention output reaches the output projection as a view, not a charged copy
    assert not r.layers["aten_ops"].str.contains("clone").any()


def test_official_head_pools_before_the_1280_conv():
    ref = resolve("mnv4-conv-m")
    t = trace_module(build_on_meta(ref), ref.input_shape, ref.label).layers
    tail = t.tail(4)
    assert list(tail["op_type"]) == ["conv2d", "pool", "fc", "fc"]
    # 960 -> 1280 applied to the pooled 1x1 map: 1,228,800 MACs (not 64x that at 8x8)
    assert tail["macs"].iloc[2] == 960 * 1280
    assert tail["activation"].iloc[2] == "relu"


VARIANTS = [
    (name, width, resolution, batch)
    for name in list_models()
    for width, resolution, batch in [(0.5, 160, 1), (0.75, 320, 2), (1.5, 512, 1), (1.0, 160, 3)]
]


@pytest.mark.parametrize("name, width, resolution, batch", VARIANTS)
def test_variants_match_flop_counter(name, width, resolution, batch):
    ref = resolve(name, width=width, resolution=resolution, batch=batch)
    model = build_on_meta(ref)
    r = trace_module(model, ref.input_shape, ref.label, check_shapes=True)
    assert r.macs == flop_counter_macs(model, ref.input_shape)
    assert r.unsupported_ops == {}
    assert r.params == sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("name", list_models())
def test_macs_scale_with_batch_and_resolution(name):
    one = trace_module(build_on_meta(resolve(name)), resolve(name).input_shape, name)
    ref4 = resolve(name, batch=4)
    four = trace_module(build_on_meta(ref4), ref4.input_shape, name)
    assert four.macs == 4 * one.macs  # batch is a pure multiplier
    big = resolve(name, resolution=2 * resolve(name).resolution)
    r_big = trace_module(build_on_meta(big), big.input_shape, name)
    att = lambda t: int(t.layers.loc[t.layers["op_type"] == "attention", "macs"].sum())  # noqa: E731
    # doubling the side multiplies conv work by ~4 (the pooled head and classifier do not grow)
    assert 3.0 * (one.macs - att(one)) < r_big.macs - att(r_big) < 4.0 * (one.macs - att(one))
    # attention is quadratic in tokens: 4x the queries times 4x the keys
    assert att(r_big) == 16 * att(one)


@pytest.mark.parametrize(
    "spec",
    ["torchvision:resnet18", "torchvision:vit_b_16", "torchvision:swin_t", "torchvision:efficientnet_b0",
     "torchvision:convnext_tiny", "torchvision:regnet_y_400mf", "timm:levit_128", "timm:mobilevit_s"],
)
def test_external_models_match_flop_counter(spec):
    """Beyond the zoo: any torch model, counted exactly as torch's own counter counts it."""
    ref = resolve(spec)
    model = build_on_meta(ref)  # regnet cannot be built on meta: built on the CPU, then moved
    r = trace_module(model, ref.input_shape, ref.label, check_shapes=True)
    assert r.unsupported_ops == {}
    assert r.macs == flop_counter_macs(model, ref.input_shape)


def test_a_model_that_cannot_be_built_on_meta_is_built_on_cpu():
    ref = resolve("tests._tiny_models:needs_real_init", input_shape=(1, 3, 8, 8))
    r = trace_module(build_on_meta(ref), ref.input_shape, ref.label)
    assert r.macs == 6 * 6 * 6 * 3 * 9  # 216 outputs x 27 MACs = 5,832
