"""Torch models a practitioner has: torchvision / timm gaps, several inputs, data-dependent
models, nn.MultiheadAttention, weights computed in forward, user modules and hostile user code.

Each expectation is hand arithmetic (beside it) or an independent reference: torch's
``FlopCounterMode``, the model's own parameter count, timm's and torchvision's metadata.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

from roofsweep.errors import ModelBuildError
from roofsweep.trace import cache, trace_module
from roofsweep.trace.api import build_on_meta, trace
from roofsweep.zoo import resolve

ROOT = Path(__file__).resolve().parent.parent


def _cli(*args: str):
    """The CLI in process (as tests/test_cli.py runs it); exceptions become a failure here."""
    from typer.testing import CliRunner

    from roofsweep.cli import app

    return CliRunner().invoke(app, list(args), catch_exceptions=False)


def flop_counter_macs(model, shapes) -> int:
    with torch.no_grad(), FlopCounterMode(display=False) as fc:
        model(*[torch.empty(s, device="meta") for s in shapes])
    return fc.get_total_flops() // 2


def act_elems(layers) -> int:
    return int(layers["input_elems"].sum() + layers["output_elems"].sum())


# ------------------------------------------------------------------ torchvision: no download
@pytest.fixture
def offline(monkeypatch):
    """Any attempt to fetch weights fails loudly."""
    import torch.hub

    def no_download(*a, **k):
        raise AssertionError("a download was attempted")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", no_download)
    monkeypatch.setattr(torch.hub, "download_url_to_file", no_download)


def _n_params(model) -> int:
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize(
    "name", ["lraspp_mobilenet_v3_large", "deeplabv3_mobilenet_v3_large", "fasterrcnn_mobilenet_v3_large_320_fpn"]
)
def test_segmentation_and_detection_build_without_backbone_weights(offline, name):
    from roofsweep.zoo.external import ensure_torchvision_importable

    tv = ensure_torchvision_importable()
    model = build_on_meta(resolve(f"torchvision:{name}"))
    with torch.device("meta"):
        reference = tv.models.get_model(name, weights=None, weights_backbone=None)
    assert _n_params(model) == _n_params(reference)


def test_lraspp_parameters_match_torchvision_documentation(offline):
    # LRASPP_MobileNet_V3_Large_Weights.meta["num_params"]: 3,221,538 (no frozen BatchNorm in it)
    assert _n_params(build_on_meta(resolve("torchvision:lraspp_mobilenet_v3_large"))) == 3_221_538


def test_only_arguments_a_builder_takes_are_passed():
    from roofsweep.zoo.external import _no_weights, ensure_torchvision_importable

    tv = ensure_torchvision_importable()
    assert _no_weights(tv.models.get_model_builder("resnet18")) == {"weights": None}
    assert _no_weights(tv.models.get_model_builder("fcn_resnet50")) == {"weights": None, "weights_backbone": None}


# --------------------------------------------------------------------------- native input size
@pytest.mark.parametrize(
    "spec, shape",
    [
        ("timm:samvit_base_patch16", (1, 3, 1024, 1024)),  # pretrained_cfg input_size (3, 1024, 1024)
        ("timm:efficientnet_b3", (1, 3, 288, 288)),
        ("timm:tf_efficientnetv2_b0", (1, 3, 192, 192)),
        ("timm:vit_base_patch16_224", (1, 3, 224, 224)),
        ("torchvision:efficientnet_b3", (1, 3, 300, 300)),  # EfficientNet_B3_Weights: crop_size=300
        ("torchvision:fcn_resnet50", (1, 3, 520, 520)),  # SemanticSegmentation(resize_size=520)
        ("torchvision:r3d_18", (1, 3, 16, 112, 112)),  # 16-frame clips, crop (112, 112)
        ("torchvision:resnet18", (1, 3, 224, 224)),
    ],
)
def test_native_input_size_by_default(spec, shape):
    ref = resolve(spec)
    assert ref.input_shape == shape
    assert ref.label == spec  # the native size is the default: no @resolution in the label
    assert ref.input_source != "default"


def test_native_size_follows_batch_and_resolution():
    assert resolve("timm:efficientnet_b3", batch=2).input_shape == (2, 3, 288, 288)
    ref = resolve("timm:efficientnet_b3", resolution=224)
    assert ref.input_shape == (1, 3, 224, 224) and ref.label == "timm:efficientnet_b3@224"
    assert resolve("torchvision:r3d_18", resolution=128).input_shape == (1, 3, 16, 128, 128)


def test_native_size_is_remembered_so_a_warm_run_needs_no_torch_import(tmp_path, monkeypatch):
    from roofsweep.zoo import external

    monkeypatch.setenv("ROOFSWEEP_CACHE_DIR", str(tmp_path))
    calls = []
    real = external.native_input
    monkeypatch.setattr(external, "native_input", lambda spec: calls.append(spec) or real(spec))
    first = resolve("timm:efficientnet_b3")
    again = resolve("timm:efficientnet_b3")
    assert calls == ["timm:efficientnet_b3"] and again == first
    # a memo of the wrong shape is ignored and rewritten
    (tmp_path / external.NATIVE_MEMO).write_text('{"x": null, "y": [1]}')
    assert resolve("timm:efficientnet_b3").input_shape == (1, 3, 288, 288) and len(calls) == 2
    monkeypatch.setenv("TIMM_FUSED_ATTN", "0")  # a model switch is part of the key
    resolve("timm:efficientnet_b3")
    assert len(calls) == 3


def test_native_size_reaches_the_trace_and_its_meta():
    r = trace(resolve("timm:tf_efficientnetv2_b0"))
    assert r.input_shape == (1, 3, 192, 192)
    assert r.meta["input_source"] == "timm pretrained_cfg input_size"
    assert r.meta["input_shapes"] == [[1, 3, 192, 192]]


# ------------------------------------------------------------------------------ several inputs
def test_two_positional_inputs():
    from tests._tiny_models import TwoInputs

    r = trace_module(TwoInputs(), ((1, 3, 8, 8), (1, 3, 6, 6)), "two")
    # a: 3x3 conv 3->4 on 8x8 -> 4x6x6 = 144 outputs x 27 = 3,888; b: 1x1 conv on 6x6 -> 144 x 3 = 432
    assert list(r.layers.macs) == [3_888, 432, 0]
    assert r.layers.reads_model_input.tolist() == [True, True, False]
    assert r.input_shape == (1, 3, 8, 8) and r.meta["input_shapes"] == [[1, 3, 8, 8], [1, 3, 6, 6]]


def test_raft_native_takes_two_images_and_a_shape_each():
    ref = resolve("torchvision:raft_small")
    assert ref.input_shapes == ((1, 3, 224, 224), (1, 3, 224, 224))
    ref = resolve("torchvision:raft_small", input_shape=((1, 3, 128, 128), (1, 3, 128, 128)))
    r = trace(ref)
    assert r.meta["input_shapes"] == [[1, 3, 128, 128]] * 2
    assert r.unsupported_ops == {}  # linspace (24x in RAFT) is a constant, like arange
    assert r.zero_cost_ops.get("linspace", 0) > 0


def test_cli_input_shape_repeated():
    r = _cli("layers", "-m", "tests._tiny_models:two_inputs", "--input-shape", "1x3x8x8",
             "--input-shape", "1x3x6x6", "-f", "json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["macs"] == 3_888 + 432


# ---------------------------------------------------------------------- data-dependent models
def test_data_dependent_model_is_traced_on_real_tensors():
    from tests._tiny_models import keep_positive

    model = keep_positive()
    r = trace_module(model, (1, 3, 4, 4), "kp")
    t = r.layers
    assert t.data_dependent.all() and r.meta["data_dependent"]
    assert t.op_type.iloc[0] == "conv2d" and t.macs.iloc[0] == 4 * 16 * 3  # 64 outputs x 3 in-ch
    # the fc row's size is the number of positive conv outputs of this random input (0..64)
    kept = int(t.output_shape.iloc[-1].split("x")[0])
    assert 0 <= kept <= 64 and t.macs.iloc[-1] == kept * 1 * 2
    assert r.params == sum(p.numel() for p in model.parameters())


def test_a_model_without_data_dependence_is_not_marked():
    r = trace_module(nn.Conv2d(3, 4, 1), (1, 3, 4, 4), "c")
    assert not r.layers.data_dependent.any() and r.meta["data_dependent"] is False


def test_detection_network_traces_with_data_dependent_rows(offline):
    r = trace(resolve("torchvision:fasterrcnn_mobilenet_v3_large_320_fpn"))
    assert r.layers.data_dependent.all()
    # 19,386,354 documented for the trained model, whose backbone BatchNorms are frozen (buffers);
    # untrained, torchvision uses ordinary BatchNorm2d: their 24,400 gammas and betas are parameters
    assert r.params == 19_386_354 + 24_400
    # the backbone runs whatever the detections: its convs are all there
    assert (r.layers.op_type == "conv2d").sum() > 20 and r.macs > 0
    assert "nonzero" not in r.unsupported_ops and "nms" not in r.unsupported_ops


# ------------------------------------------------------------------- nn.MultiheadAttention
class MHA(nn.Module):
    def __init__(self):
        super().__init__()
        self.mha = nn.MultiheadAttention(64, 4, batch_first=True)

    def forward(self, x):
        return self.mha(x, x, x, need_weights=False)[0]


def test_multihead_attention_is_projections_and_one_attention_row():
    model = MHA().eval()
    r = trace_module(model, (1, 10, 64), "mha")
    t = r.layers
    # in-projection, the packed q/k/v made contiguous per head (a real copy: torch's CPU fast
    # path does it too, in transform_bias_rescale_qkv), attention, out-projection
    assert list(t.op_type) == ["fc", "elementwise", "attention", "fc"]
    assert t.aten_ops.iloc[1] == "clone" and t.input_elems.iloc[1] == t.output_elems.iloc[1] == 3 * 640
    # in-projection 10 x 64 -> 192: 122,880; attention 4 heads x 10 x 10 x (16 + 16) = 12,800;
    # out-projection 10 x 64 -> 64: 40,960
    assert list(t.macs) == [122_880, 0, 12_800, 40_960]
    assert r.macs == flop_counter_macs(MHA().to("meta").eval(), [(1, 10, 64)])
    # no score matrix in DRAM: attention reads q, k, v (640 each) and writes 640
    assert t.input_elems.iloc[2] == 3 * 640 and t.output_elems.iloc[2] == 640


def test_the_fused_multihead_attention_kernel_costs_what_its_three_rows_cost():
    from roofsweep.trace import formulas

    spec = formulas.COMPUTE_FORMULAS["_native_multi_head_attention"]
    q = (1, 10, 64)
    # q/k/v projections 3 x 10 x 64 x 64 = 122,880 + attention 12,800 + out projection 40,960
    assert spec.macs([q, q, 64, (192, 64), (64, 64)]) == 122_880 + 12_800 + 40_960
    assert spec.kind([q, q, 64, (192, 64), (64, 64)]) == "attention"


def test_torchvision_vit_moves_what_timm_vit_moves_but_the_qkv_layout_copy():
    tv = trace(resolve("torchvision:vit_b_16"))
    tm = trace(resolve("timm:vit_base_patch16_224"))
    assert tv.macs == tm.macs == 17_563_828_224
    # torchvision's MultiheadAttention makes the packed q/k/v contiguous (a real copy, also in
    # its CPU fast path): 12 blocks x (read + write) x 3 x 197 tokens x 768 = 10,893,312 elements;
    # everything else is the same traffic as timm's (it used to be 99.8 M, the score matrices)
    assert act_elems(tv.layers) - act_elems(tm.layers) == 12 * 2 * 3 * 197 * 768
    assert (tv.layers.op_type == "attention").sum() == 12


def test_no_layout_copy_after_a_fused_attention():
    r = trace(resolve("timm:deit_tiny_patch16_224"))
    assert not r.layers.aten_ops.str.contains("clone").any()
    assert (r.layers.op_type == "attention").sum() == 12


# ---------------------------------------------------------------- weights computed in forward
class StdConv(nn.Conv2d):
    """Weight standardisation: the kernel is normalised from the parameter at every call."""

    def forward(self, x):
        w = self.weight
        w = (w - w.mean(dim=(1, 2, 3), keepdim=True)) / (w.std(dim=(1, 2, 3), keepdim=True) + 1e-5)
        return F.conv2d(x, w, self.bias, self.stride, self.padding)


def test_weights_computed_from_parameters_are_weights():
    r = trace_module(nn.Sequential(StdConv(3, 8, 3), nn.ReLU()), (1, 3, 10, 10), "ws")
    t = r.layers
    assert len(t) == 1 and t.op_type[0] == "conv2d"  # no rows for mean / std / sub / div
    assert t.weight_elems[0] == 8 * 3 * 9 + 8 == r.params  # kernel 216 + bias 8
    assert t.input_elems[0] == 3 * 100  # only the image is an activation
    assert r.meta["derived_weight_ops"]


def test_nfnet_weight_elements_match_its_parameters():
    r = trace(resolve("timm:nfnet_l0"))
    w = int(r.layers.weight_elems.sum())
    assert r.params == 35_074_488
    # ScaledStdConv2d folds its per-output-channel gain into the standardised kernel, so the
    # gains (32,816 elements) are read as part of the kernel, not separately
    gains = sum(m.gain.numel() for m in build_on_meta(resolve("timm:nfnet_l0")).modules() if hasattr(m, "gain"))
    assert w == r.params - gains
    assert not r.layers.aten_ops.str.contains("var_mean|batch_norm").any()


# --------------------------------------------------------------------------- formula coverage
class Odd(nn.Module):
    def forward(self, x):
        up = F.interpolate(x, scale_factor=2, mode="bicubic")
        aa = F.interpolate(x, scale_factor=0.5, mode="bicubic", antialias=True)
        line = F.interpolate(x.flatten(2), scale_factor=2, mode="linear")
        grid = torch.linspace(0, 1, 5, device=x.device)
        mask = torch.bitwise_not(x > 0)
        return up.sum() + aa.sum() + line.sum() + grid.sum() + mask.sum()


def test_resampling_bitwise_not_and_linspace_are_costed():
    r = trace_module(Odd(), (1, 2, 4, 4), "odd")
    assert r.unsupported_ops == {}
    ops = set(r.layers.aten_ops)
    assert {"upsample_bicubic2d", "_upsample_bicubic2d_aa", "upsample_linear1d", "bitwise_not"} <= ops
    assert r.zero_cost_ops["linspace"] == 1 and "linspace" not in ops
    bicubic = r.layers[r.layers.aten_ops == "upsample_bicubic2d"].iloc[0]
    assert bicubic.input_elems == 32 and bicubic.output_elems == 2 * 8 * 8  # 128


def test_conv3d_has_its_own_op_type():
    m = nn.Sequential(nn.Conv3d(3, 4, 3, padding=1, bias=False), nn.BatchNorm3d(4), nn.ReLU())
    r = trace_module(m, (1, 3, 4, 8, 8), "c3d")
    row = r.layers.iloc[0]
    assert len(r.layers) == 1 and row.op_type == "conv3d" and row.activation == "relu"
    assert row.macs == 4 * 4 * 8 * 8 * 3 * 27  # 1,024 outputs x 81 = 82,944
    assert row.weight_elems == 4 * 3 * 27 + 4  # kernel 324 + folded BN bias 4


def test_every_formula_binds_to_its_aten_schema():
    from roofsweep.trace import formulas

    for name, formula in formulas.COMPUTE_FORMULAS.items():
        packet = getattr(torch.ops.aten, name)
        for overload in packet.overloads():
            names = [a.name for a in getattr(packet, overload)._schema.arguments]
            if all(t in names or t == formulas.OUT for t in formula.takes):
                formula.bind(names)
                break
        else:
            pytest.fail(f"no overload of aten.{name} has the arguments {formula.takes}")


def test_a_formula_taking_an_argument_the_op_lacks_is_rejected():
    from roofsweep.trace import formulas

    with pytest.raises(ValueError, match="not an argument"):
        formulas.COMPUTE_FORMULAS["mm"].bind(["input", "weight"])


# ----------------------------------------------------------------------------- the trace cache
def test_cache_key_has_package_versions_and_model_switches(tmp_path, monkeypatch):
    monkeypatch.setenv("ROOFSWEEP_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("TIMM_FUSED_ATTN", raising=False)
    ref = resolve("mnv2", resolution=64)
    base = cache.cache_path(ref)
    monkeypatch.setenv("TIMM_FUSED_ATTN", "0")
    off = cache.cache_path(ref)
    monkeypatch.setenv("TIMM_FUSED_ATTN", "1")
    on = cache.cache_path(ref)
    assert len({base, off, on}) == 3
    monkeypatch.setattr(cache, "_versions", lambda: "torch=9.9,torchvision=None,timm=None")
    assert cache.cache_path(ref) not in {base, off, on}


@pytest.mark.parametrize("text", ["null", "[]", "3", '{"layers": null}', '{"model": "x"}', '{"layers": {}}'])
def test_a_cache_entry_of_the_wrong_shape_is_traced_again(tmp_path, monkeypatch, text):
    monkeypatch.setenv("ROOFSWEEP_CACHE_DIR", str(tmp_path))
    ref = resolve("mnv3-small", resolution=64)
    first = cache.load_or_trace(ref)
    path = cache.cache_path(ref)
    path.write_text(text)
    assert cache.load_cached(ref) is None and not path.exists()
    again = cache.load_or_trace(ref)
    assert again.macs == first.macs and cache.load_cached(ref) is not None


# ------------------------------------------------------------------------ user modules (API)
def test_trace_module_leaves_a_trained_model_alone():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU()).train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    r = trace_module(model, (1, 3, 8, 8), "trained")
    assert r.macs == 4 * 6 * 6 * 27  # 144 outputs x 27 = 3,888
    assert model.training and all(m.training for m in model.modules())
    after = model.state_dict()
    assert all(after[k].device.type == "cpu" and torch.equal(after[k], before[k]) for k in before)


def test_a_meta_model_keeps_its_train_flag():
    model = nn.Sequential(nn.Conv2d(3, 4, 1)).to("meta").train()
    trace_module(model, (1, 3, 4, 4), "m")
    assert model.training


def test_analyze_accepts_modules_with_a_label():
    from roofsweep.analysis import analyze

    net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU())
    a = analyze([("my-net", net), net], ridge_points=[0, 50])
    assert [m.label for m in a.models] == ["my-net", "Sequential"]
    assert a.models[0].trace.macs == 8 * 224 * 224 * 27  # 401,408 outputs x 27 = 10,838,016
    assert next(net.parameters()).device.type == "cpu"


def test_analyze_rejects_something_that_is_not_a_model():
    from roofsweep.analysis import analyze

    with pytest.raises(ModelBuildError, match="nn.Module"):
        analyze([3.5])


# -------------------------------------------------------------------------- hostile user code
@pytest.mark.parametrize(
    "fn, needle",
    [
        ("raises_zero_division", "ZeroDivisionError: division by zero"),
        ("raises_key_error", "KeyError: 'missing_key'"),
        ("raises_attribute_error", "AttributeError: 'Net' object has no attribute 'head'"),
        ("raises_stop_iteration", "StopIteration"),
    ],
)
def test_a_forward_raising_a_python_error_is_one_line(fn, needle):
    spec = f"tests._tiny_models:{fn}"
    with pytest.raises(ModelBuildError) as info:
        trace(resolve(spec, input_shape=(1, 3, 8, 8)))
    msg = str(info.value)
    assert spec in msg and needle in msg and "\n" not in msg


@pytest.mark.parametrize("spec", ["tests._exits_on_import:net", f"{ROOT}/tests/_exits_on_import.py:net"])
def test_a_module_calling_sys_exit_on_import_is_one_line(spec):
    r = _cli("layers", "-m", spec)
    assert r.exit_code == 1, r.output
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "SystemExit: 4" in lines[0]


def test_a_model_with_no_layers_gets_a_report(tmp_path):
    r = _cli("sweep", "-m", "torch.nn:Identity", "--out", str(tmp_path / "rep"))
    assert r.exit_code == 0, r.output
    assert (tmp_path / "rep" / "index.html").is_file()
