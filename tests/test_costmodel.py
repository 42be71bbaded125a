"""Cost models: elements -> bytes under the default and paper conventions, with the arithmetic."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from layer_factory import add, conv, dwconv, fc, gap, other, se_mul, table
from roofsweep.engine.costmodel import (
    PRESETS,
    CostModel,
    apply_cost_model,
    get_preset,
    parse_set_option,
    with_overrides,
)
from roofsweep.errors import ConfigError
from roofsweep.layertable import LAYER_COLUMNS

PAPER = PRESETS["paper"]
DEFAULT = PRESETS["default"]


def _bytes(df, name, col="bytes"):
    return float(df.loc[df["name"] == name, col].iloc[0])


# ----------------------------------------------------------------------------- presets
def test_presets_are_named_and_documented():
    assert set(PRESETS) == {"default", "paper"}
    for name, cm in PRESETS.items():
        assert cm.name == name and cm.description
        assert get_preset(name) is cm


def test_unknown_preset_lists_choices():
    with pytest.raises(ConfigError) as e:
        get_preset("papr")
    assert "did you mean 'paper'" in str(e.value) and "default, paper" in str(e.value)


def test_paper_preset_conventions():
    assert PAPER.dtype == "int8" and PAPER.bytes_per_elem("int8") == (1.0, 1.0)
    assert PAPER.sweep_bandwidth_bytes_per_s == 40e9 and PAPER.rp0_peak_macs_per_s == 200e9
    assert PAPER.compute_activation_accounting == "inputs"
    assert PAPER.pad_rgb_to == 4 and PAPER.unfused_activations == ("hardswish",)
    assert PAPER.charge_elementwise and not PAPER.use_onchip


def test_default_preset_conventions():
    assert DEFAULT.dtype is None and DEFAULT.compute_activation_accounting == "inputs+outputs"
    assert DEFAULT.charge_elementwise and DEFAULT.unfused_activations == ()
    assert DEFAULT.pad_rgb_to is None and not DEFAULT.use_onchip


class _Prof:
    default_dtype = "fp16"
    onchip_bytes = 8e6


def test_dtype_resolution():
    assert DEFAULT.resolve_dtype(_Prof()) == "fp16"  # profile's dtype
    assert DEFAULT.resolve_dtype(None) == "int8"  # pure RP sweep: sweep_dtype
    assert PAPER.resolve_dtype(_Prof()) == "int8"  # fixed by the preset
    assert DEFAULT.onchip_capacity(_Prof()) == 0.0  # switch off
    on = with_overrides(DEFAULT, use_onchip=True)
    assert on.onchip_capacity(_Prof()) == 8e6
    assert with_overrides(on, onchip_bytes="1 MiB").onchip_capacity(_Prof()) == 2**20
    assert on.onchip_capacity(None) == 0.0


# --------------------------------------------------------------------------- overrides
def test_with_overrides_coerces_cli_strings():
    cm = with_overrides(DEFAULT, dtype="fp16", charge_elementwise="false",
                        sweep_bandwidth_bytes_per_s="51.2 GB/s", rp0_peak_macs_per_s="2 TOPS",
                        unfused_activations="hardswish, gelu", pad_rgb_to="4",
                        weight_bytes_per_elem="0.5")
    assert cm.dtype == "fp16" and cm.charge_elementwise is False
    assert cm.sweep_bandwidth_bytes_per_s == 51.2e9
    assert cm.rp0_peak_macs_per_s == 1e12  # 2 TOPS = 2e12 ops = 1e12 MAC/s
    assert cm.unfused_activations == ("hardswish", "gelu") and cm.pad_rgb_to == 4
    assert cm.bytes_per_elem("fp16") == (0.5, 2.0)
    assert cm.name.startswith("default+") and "dtype=fp16" in cm.name
    assert DEFAULT.dtype is None  # presets untouched (frozen)
    assert with_overrides(PAPER, name="mine").name == "mine"
    assert parse_set_option("dtype = fp16") == ("dtype", "fp16")


@pytest.mark.parametrize(
    "kw, msg",
    [
        ({"weight_bytes_per_elem": -1}, ">= 0"),
        ({"activation_bytes_per_elem": float("nan")}, "finite"),
        ({"compute_activation_accounting": "outputs"}, "inputs, inputs+outputs"),
        ({"dtype": "int9"}, "unknown dtype"),
        ({"pad_rgb_to": 2}, ">= 3"),
        ({"pad_rgb_to": True}, ">= 3"),
        ({"sweep_bandwidth_bytes_per_s": 0}, "> 0"),
        ({"sweep_bandwidth_bytes_per_s": "40 GMAC/s"}, "expected a bandwidth"),
        ({"rp0_peak_macs_per_s": float("inf")}, "finite"),
        ({"onchip_bytes": -5}, ">= 0"),
        ({"use_onchip": "maybe"}, "true or false"),
        ({"unfused_activations": [1]}, "activation names"),
        ({"activation_accounting": "inputs"}, "unknown cost-model setting"),
        ({"pad_rgb_to": 10**20}, "<= 4096"),  # used to overflow numpy when applied
        ({"pad_rgb_to": "99999999999999999999"}, "<= 4096"),
        ({"onchip_bytes": 10**400}, "too large"),  # beyond float range: no OverflowError
        ({"unfused_activations": "hardswich"}, "did you mean 'hardswish'"),  # a typo is not a no-op
        ({"dtype": "INT8"}, "did you mean 'int8'"),
    ],
)
def test_with_overrides_rejects_bad_values(kw, msg):
    with pytest.raises(ConfigError, match=msg.replace("+", r"\+")):
        with_overrides(DEFAULT, **kw)


def test_bad_value_rejected_at_construction_and_unknown_dtype_at_use():
    with pytest.raises(ConfigError):
        CostModel(compute_activation_accounting="all")
    with pytest.raises(ConfigError, match="unknown dtype"):
        DEFAULT.bytes_per_elem("int7")
    with pytest.raises(ConfigError):
        parse_set_option("dtype")


# ------------------------------------------------------------------ paper rules, by layer
PW = conv("pw", 56, 56, 64, 64)  # 1x1 conv 56x56x64 -> 64, BN folded into a 64-bias


def test_pointwise_conv_paper_vs_default():
    t = table([PW])
    # weights 64*64 + 64 = 4,160; input = output = 56*56*64 = 200,704 elements
    paper = apply_cost_model(t, PAPER, "int8")
    assert _bytes(paper, "pw", "weight_bytes") == 4160
    assert _bytes(paper, "pw", "activation_bytes") == 200_704  # input only
    assert _bytes(paper, "pw") == 204_864
    default = apply_cost_model(t, DEFAULT, "int8")
    assert _bytes(default, "pw", "activation_bytes") == 2 * 200_704  # input + output
    assert _bytes(default, "pw") == 4160 + 401_408
    fp16 = apply_cost_model(t, DEFAULT, "fp16")
    assert _bytes(fp16, "pw") == 2 * (4160 + 401_408)
    assert paper["bytes"].dtype == np.float64 and paper["weight_bytes"].dtype == np.float64


def test_residual_add_charged_two_inputs_and_output():
    t = table([add("add", 56, 56, 24)])
    # 2 inputs x 56*56*24 (= 75,264) + 1 output = 3 x 75,264 = 225,792 bytes at int8
    assert _bytes(apply_cost_model(t, PAPER), "add") == 225_792
    # fused into a neighbour when elementwise ops are not charged
    assert _bytes(apply_cost_model(t, with_overrides(PAPER, charge_elementwise=False)), "add") == 0


def test_se_multiply_pool_fc_charged():
    t = table([se_mul("se.mul", 14, 14, 96), gap("gap", 7, 7, 960), fc("fc", 1280, 1000)])
    c = apply_cost_model(t, PAPER)
    assert _bytes(c, "se.mul") == 14 * 14 * 96 + 96 + 14 * 14 * 96  # tensor + gate in, tensor out
    assert _bytes(c, "gap") == 7 * 7 * 960 + 960  # input + output
    # fc: weights 1280*1000 + 1000 bias; input 1280 only
    assert _bytes(c, "fc") == 1_281_000 + 1280
    free = apply_cost_model(t, with_overrides(PAPER, charge_elementwise=False))
    assert _bytes(free, "se.mul") == 0
    assert _bytes(free, "gap") == 7 * 7 * 960 + 960  # pools stay charged


def test_other_rows_follow_the_elementwise_switch_but_keep_weights():
    t = table([other("ln", 1000, weight_elems=2000)])
    assert _bytes(apply_cost_model(t, DEFAULT, "int8"), "ln") == 2000 + 2 * 1000
    assert _bytes(apply_cost_model(t, with_overrides(DEFAULT, charge_elementwise=False), "int8"), "ln") == 2000


def test_hardswish_split_out_into_its_own_row():
    t = table([
        conv("a", 28, 28, 16, 64, act="hardswish"),
        dwconv("b", 28, 28, 64, act="relu"),
    ])
    c = apply_cost_model(t, PAPER)
    assert list(c["name"]) == ["a", "a.hardswish", "b"]
    assert list(c["index"]) == [0, 1, 2] and list(c["source_index"]) == [0, 0, 1]
    assert list(c["split_out"]) == [False, True, False]
    hs = c.iloc[1]
    assert hs["op_type"] == "elementwise" and hs["macs"] == 0 and hs["weight_elems"] == 0
    # input + output = 2 x 28*28*64 = 100,352 bytes
    assert hs["bytes"] == 100_352 and hs["activation"] == "hardswish"
    assert c.iloc[0]["activation"] == ""  # the producer no longer carries it
    assert c.iloc[0]["bytes"] == 64 * 16 + 64 + 28 * 28 * 16  # conv: weights + input only
    # relu stays fused; the default model splits nothing
    assert len(apply_cost_model(t, DEFAULT, "int8")) == 2
    # charged even when elementwise ops are fused away: splitting is an explicit request
    c2 = apply_cost_model(t, with_overrides(PAPER, charge_elementwise=False))
    assert c2.iloc[1]["bytes"] == 100_352


def test_lone_hardswish_is_not_split_twice():
    row = {**add("x", 7, 7, 8), "aten_ops": "hardswish", "activation": "hardswish",
           "input_elems": 392, "input_shape": "1x8x7x7"}
    c = apply_cost_model(table([row]), with_overrides(PAPER, charge_elementwise=False))
    assert len(c) == 1 and c.iloc[0]["bytes"] == 392 + 392


def test_rgb_padded_to_four_channels():
    stem = conv("stem", 224, 224, 3, 16, k=3, stride=2, act="hardswish", reads_input=True)
    t = table([stem])
    c = apply_cost_model(t, with_overrides(PAPER, unfused_activations=()))
    r = c.iloc[0]
    # MACs 112*112*16*3*9 = 5,419,008 -> x 4/3 = 7,225,344
    assert stem["macs"] == 5_419_008 and r["macs"] == 7_225_344
    # weights: kernel 16*3*9 = 432 -> 576, bias 16 unchanged -> 592
    assert r["weight_elems"] == 592
    # input 3*224*224 = 150,528 -> 4*224*224 = 200,704; output unchanged
    assert r["input_elems"] == 200_704 and r["output_elems"] == stem["output_elems"]
    assert r["bytes"] == 592 + 200_704
    # not padded without the convention, nor for a layer not reading the model input
    assert apply_cost_model(t, DEFAULT, "int8").iloc[0]["macs"] == 5_419_008
    c2 = apply_cost_model(table([{**stem, "reads_model_input": False}]), PAPER)
    assert c2.iloc[0]["macs"] == 5_419_008


def test_keeps_layertable_columns_and_handles_several_models():
    a = table([conv("c", 14, 14, 8, 8, act="hardswish"), add("r", 14, 14, 8)], model="a")
    b = table([fc("f", 10, 10)], model="b")
    # interleave rows of the two models: costing must regroup them in execution order
    mixed = pd.concat([a.iloc[[1]], b, a.iloc[[0]]], ignore_index=True)
    c = apply_cost_model(mixed, PAPER)
    for col in LAYER_COLUMNS:
        assert col in c.columns
    assert list(c["model"]) == ["a", "a", "a", "b"]
    assert list(c["name"]) == ["c", "c.hardswish", "r", "f"]
    assert list(c["index"]) == [0, 1, 2, 0]
    assert list(mixed["name"]) == ["r", "f", "c"]  # input not modified


def test_onchip_handoffs_and_resident_weights():
    t = table([
        conv("a", 8, 8, 4, 8, bias=False),  # out 8*8*8 = 512 elems
        conv("b", 8, 8, 8, 8, bias=False),  # reads a's 512-elem output
        fc("f", 100, 10, bias=False),  # input 100 elems != 512: no hand-off from b
    ])
    cm = with_overrides(DEFAULT, use_onchip=True)
    base = apply_cost_model(t, DEFAULT, "int8")
    # no capacity (no profile, no override) -> identical to the switch off
    assert apply_cost_model(t, cm, "int8")["bytes"].tolist() == base["bytes"].tolist()
    # 600 bytes on chip: a's 512-byte output stays there (a writes nothing, b reads only
    # weights); b's 512-byte output is not the fc's input; weights 32+64+1000 = 1,096 > 600.
    c = apply_cost_model(t, cm, "int8", onchip_bytes=600)
    assert c["weight_bytes"].tolist() == [32, 64, 1000]
    assert c["activation_bytes"].tolist() == [256, 512, 100 + 10]  # a: in 4*64; b: out only
    # 2,000 bytes: weights (1,096) now fit -> resident, free
    c = apply_cost_model(t, cm, "int8", onchip_bytes=2000)
    assert c["weight_bytes"].tolist() == [0, 0, 0]
    # 500 bytes: a's output (512) does not fit -> no hand-off
    c = apply_cost_model(t, cm, "int8", onchip_bytes=500)
    assert c["activation_bytes"].tolist() == base["activation_bytes"].tolist()
    # the cost model's own capacity overrides the profile's
    c = apply_cost_model(t, with_overrides(cm, onchip_bytes=0), "int8", onchip_bytes=2000)
    assert c["bytes"].tolist() == base["bytes"].tolist()


def test_default_and_paper_differ_where_they_should():
    # a V3-like block: stem (RGB), expand with hard-swish, depthwise, residual add
    t = table([
        conv("stem", 32, 32, 3, 16, k=3, stride=2, act="hardswish", reads_input=True),
        conv("expand", 16, 16, 16, 64, act="hardswish"),
        dwconv("dw", 16, 16, 64, act="relu"),
        conv("project", 16, 16, 64, 16, act=""),
        add("add", 16, 16, 16),
    ])
    p, d = apply_cost_model(t, PAPER), apply_cost_model(t, DEFAULT, "int8")
    assert len(p) == len(d) + 2  # two hard-swish rows split out
    assert p["macs"].sum() > d["macs"].sum()  # RGB padding adds stem MACs
    # conv/dw rows: paper charges inputs only, so less than default's inputs + outputs
    for name in ("expand", "dw", "project"):
        assert _bytes(p, name) == _bytes(d, name) - t.loc[t["name"] == name, "output_elems"].iloc[0]
    assert _bytes(p, "add") == _bytes(d, "add")  # memory-only rows charged alike
    # the stem: padded input, input only
    assert _bytes(p, "stem") == (16 * 4 * 9 + 16) + 4 * 32 * 32


def test_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        PAPER.dtype = "fp16"  # type: ignore[misc]


def test_missing_columns_rejected():
    with pytest.raises(ConfigError, match="lacks columns"):
        apply_cost_model(pd.DataFrame({"model": ["m"]}), DEFAULT, "int8")
