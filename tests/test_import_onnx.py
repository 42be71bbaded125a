"""ONNX files as models: exactness against the torch trace, formulas by hand, quantized dtypes,
patterns, and one-line errors for bad files.

References outside the importer: the torch tracer on the same zoo model (independent code path:
aten ops on the meta device), hand arithmetic in comments, and onnxruntime's quantizer for the
quantized graphs.
"""

from __future__ import annotations

import sys
import warnings

import numpy as np
import pytest

import onnx
import torch
from onnx import TensorProto, helper, numpy_helper  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

from roofsweep import zoo  # noqa: E402
from roofsweep.cli import app  # noqa: E402
from roofsweep.engine.costmodel import PRESETS, apply_cost_model, with_overrides  # noqa: E402
from roofsweep.importers import ModelFileError, load_model_file  # noqa: E402
from roofsweep.layertable import TraceResult, validate_layer_table  # noqa: E402
from roofsweep.trace import load_or_trace, trace_module  # noqa: E402


def export(module, shape, path, **kw) -> str:
    module = module.eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, (torch.randn(*shape),), str(path), dynamo=False, input_names=["input"], **kw)
    return str(path)


@pytest.fixture(scope="module")
def zoo_exports(tmp_path_factory):
    d = tmp_path_factory.mktemp("onnx")
    torch.manual_seed(0)
    out = {}
    for name in ("mnv3-small", "mnv2"):
        ref = zoo.resolve(name)
        out[name] = export(zoo.build(ref), ref.input_shape, d / f"{name}.onnx")
    # BatchNorm kept as nodes (no constant folding) and dynamic batch/height/width
    ref = zoo.resolve("mnv3-small")
    out["mnv3-small-bn"] = export(zoo.build(ref), ref.input_shape, d / "mnv3-small-bn.onnx",
                                  do_constant_folding=False,
                                  dynamic_axes={"input": {0: "batch", 2: "h", 3: "w"}})
    return out


def _by_type(layers):
    return layers.groupby("op_type")["macs"].sum().to_dict()


# ------------------------------------------------------------------------ zoo exactness
@pytest.mark.parametrize("name,file", [("mnv3-small", "mnv3-small"), ("mnv2", "mnv2"),
                                       ("mnv3-small", "mnv3-small-bn")])
def test_exported_zoo_model_equals_its_torch_trace(zoo_exports, name, file):
    t = load_or_trace(zoo.resolve(name))
    o = load_model_file(zoo_exports[file], (1, 3, 224, 224) if file.endswith("-bn") else None)
    assert o.unsupported_ops == {}
    assert o.macs == t.macs  # mnv3-small 56,510,400; mnv2 300,774,272 MACs
    # BN folded by the exporter (conv bias) or by the importer (C_out bias): same weights
    assert o.layers["weight_elems"].sum() == t.layers["weight_elems"].sum()
    assert _by_type(o.layers) == _by_type(t.layers)
    assert len(o.layers) == len(t.layers)
    for col in ("input_elems", "output_elems"):
        assert o.layers[col].sum() == t.layers[col].sum()
    assert list(o.layers["op_type"]) == list(t.layers["op_type"])
    assert list(o.layers["activation"]) == list(t.layers["activation"])
    assert o.layers["weight_dtype"].isna().all()  # float32 file: the cost model decides
    validate_layer_table(o.layers)


def test_unfolded_batchnorm_params_equal_torch_params(zoo_exports):
    # every BN node's scale and bias (2 x C) are initializers, as nn.BatchNorm2d's parameters are
    t = load_or_trace(zoo.resolve("mnv3-small"))
    o = load_model_file(zoo_exports["mnv3-small-bn"], (1, 3, 224, 224))
    assert o.params == t.params == 2_542_856


def test_dynamic_dims_bind_from_the_input_shape(zoo_exports):
    t = load_or_trace(zoo.resolve("mnv3-small", resolution=160, batch=2))
    o = load_model_file(zoo_exports["mnv3-small-bn"], {"input": (2, 3, 160, 160)})
    assert o.macs == t.macs and o.input_shape == (2, 3, 160, 160)


# ---------------------------------------------------------------- hand-built graphs
def _model(nodes, inputs, outputs, inits=(), opset=17):
    g = helper.make_graph(nodes, "g", inputs, outputs, list(inits))
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])


def _vi(name, shape, t=TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, t, shape)


def _init(name, shape, dtype=np.float32):
    return numpy_helper.from_array(np.zeros(shape, dtype=dtype), name)


def _save(m, tmp_path, name="m.onnx") -> str:
    p = tmp_path / name
    onnx.save(m, str(p))
    return str(p)


def test_conv_family_gemm_matmul_einsum_by_hand(tmp_path):
    nodes = [
        # 3x3 conv 8->16, stride 1 pad 1 on 1x8x10x10: 16*10*10 outputs x 8*9 = 115,200 MACs
        helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], name="conv", pads=[1, 1, 1, 1]),
        helper.make_node("Clip", ["c1", "lo", "hi"], ["r1"], name="relu6"),  # Clip(0, 6) = relu6
        # depthwise 3x3, 16 groups: 16*10*10 x 1*9 = 14,400 MACs
        helper.make_node("Conv", ["r1", "w2"], ["c2"], name="dw", group=16, pads=[1, 1, 1, 1]),
        # grouped 1x1, 4 groups 16->8: 8*10*10 x 4*1 = 3,200 MACs
        helper.make_node("Conv", ["c2", "w3"], ["c3"], name="grouped", group=4),
        # transposed 2x2 stride 2, 8->4: every input element scatters into 4*4: 800 x 16 = 12,800
        helper.make_node("ConvTranspose", ["c3", "w4"], ["c4"], name="up", strides=[2, 2]),
        helper.make_node("GlobalAveragePool", ["c4"], ["p"], name="pool"),
        helper.make_node("Flatten", ["p"], ["f"], name="flat"),
        # Gemm with transB: 1x4 @ (5x4)^T = 1*4*5 = 20 MACs, weights 20 + bias 5
        helper.make_node("Gemm", ["f", "wg", "bg"], ["g"], name="gemm", transB=1),
        # MatMul by a weight + Add of a bias = one fc row: 1*5*3 = 15 MACs, weights 15 + 3
        helper.make_node("MatMul", ["g", "wm"], ["m"], name="mm"),
        helper.make_node("Add", ["m", "bm"], ["ma"], name="bias"),
        # einsum of two activations "bi,bj->bij": 1*3*3 = 9 MACs
        helper.make_node("Einsum", ["ma", "ma"], ["e"], name="outer", equation="bi,bj->bij"),
    ]
    inits = [_init("w1", (16, 8, 3, 3)), _init("b1", (16,)), _init("w2", (16, 1, 3, 3)),
             _init("w3", (8, 4, 1, 1)), _init("w4", (8, 4, 2, 2)), _init("wg", (5, 4)),
             _init("bg", (5,)), _init("wm", (5, 3)), _init("bm", (3,)),
             numpy_helper.from_array(np.array(0.0, np.float32), "lo"),
             numpy_helper.from_array(np.array(6.0, np.float32), "hi")]
    m = _model(nodes, [_vi("x", [1, 8, 10, 10])], [_vi("e", None)], inits)
    r = load_model_file(_save(m, tmp_path), label="hand")
    L = r.layers.set_index("name")
    assert list(L.index) == ["conv", "dw", "grouped", "up", "pool", "gemm", "mm", "outer"]
    assert L.loc["conv", "macs"] == 115_200 and L.loc["conv", "activation"] == "relu6"
    assert L.loc["conv", "weight_elems"] == 16 * 8 * 9 + 16
    assert (L.loc["dw", "op_type"], L.loc["dw", "macs"]) == ("dwconv2d", 14_400)
    assert (L.loc["grouped", "op_type"], L.loc["grouped", "macs"]) == ("conv2d", 3_200)
    assert L.loc["up", "macs"] == 12_800 and L.loc["up", "output_shape"] == "1x4x20x20"
    assert (L.loc["gemm", "op_type"], L.loc["gemm", "macs"], L.loc["gemm", "weight_elems"]) == ("fc", 20, 25)
    assert (L.loc["mm", "op_type"], L.loc["mm", "macs"], L.loc["mm", "weight_elems"]) == ("fc", 15, 18)
    assert L.loc["mm", "aten_ops"] == "MatMul+Add"
    assert (L.loc["outer", "op_type"], L.loc["outer", "macs"]) == ("matmul", 9)
    assert r.macs == 115_200 + 14_400 + 3_200 + 12_800 + 20 + 15 + 9
    assert r.params == 1152 + 16 + 144 + 32 + 128 + 20 + 5 + 15 + 3


def test_unknown_ops_are_listed_with_counts_not_zero(tmp_path):
    nodes = [helper.make_node("Relu", ["x"], ["a"], name="r"),
             helper.make_node("FancyOp", ["a"], ["b"], name="f1", domain="my.ops"),
             helper.make_node("FancyOp", ["b"], ["c"], name="f2", domain="my.ops")]
    m = _model(nodes, [_vi("x", [1, 4])], [_vi("c", [1, 4])])
    m.opset_import.append(helper.make_opsetid("my.ops", 1))
    r = load_model_file(_save(m, tmp_path))
    assert r.unsupported_ops == {"my.ops.FancyOp": 2}
    assert list(r.layers["name"]) == ["r"]


def test_standalone_batchnorm_and_layer_norm_rows(tmp_path):
    nodes = [helper.make_node("Add", ["x", "x"], ["a"], name="add"),
             helper.make_node("BatchNormalization", ["a", "s", "b", "mu", "var"], ["n"], name="bn"),
             helper.make_node("LayerNormalization", ["n", "g", "beta"], ["ln"], name="ln", axis=-1)]
    inits = [_init(n, (4,)) for n in ("s", "b", "mu", "var")] + [_init("g", (5,)), _init("beta", (5,))]
    m = _model(nodes, [_vi("x", [1, 4, 3, 5])], [_vi("ln", None)], inits)
    L = load_model_file(_save(m, tmp_path)).layers.set_index("name")
    # a BN after an add does not fold: its scale and shift are 2 x C = 8 weight elements
    assert (L.loc["bn", "op_type"], L.loc["bn", "weight_elems"]) == ("other", 8)
    # x + x reads its 60 elements once per operand, as the torch tracer counts them
    assert L.loc["ln", "weight_elems"] == 10 and L.loc["add", "input_elems"] == 120


# ------------------------------------------------------------------------ patterns
class _Attn(torch.nn.Module):
    """Multi-query attention: 4 query heads over one shared key/value head, SDPA."""

    def __init__(self):
        super().__init__()
        self.q = torch.nn.Linear(32, 32)
        self.kv = torch.nn.Linear(32, 16)

    def forward(self, x):  # x: 1 x 10 x 32
        q = self.q(x).view(1, 10, 4, 8).transpose(1, 2)  # 1x4x10x8
        k, v = self.kv(x).view(1, 10, 1, 16).transpose(1, 2).split(8, dim=-1)  # 1x1x10x8 each
        k, v = k.expand(1, 4, 10, 8), v.expand(1, 4, 10, 8)
        return torch.nn.functional.scaled_dot_product_attention(q, k, v)


def test_exported_attention_is_one_row_with_the_torch_trace_macs(tmp_path):
    path = export(_Attn(), (1, 10, 32), tmp_path / "attn.onnx")
    o = load_model_file(path)
    t = trace_module(_Attn(), (1, 10, 32), "attn")
    att = o.layers[o.layers["op_type"] == "attention"]
    assert len(att) == 1
    # batch 4 heads x Lq 10 x Lk 10 x (E 8 + Ev 8) = 6,400 MACs
    assert att["macs"].iloc[0] == 6_400
    assert o.macs == t.macs == 10 * 32 * 32 + 10 * 32 * 16 + 6_400
    assert o.layers["weight_elems"].sum() == t.layers["weight_elems"].sum() == 32 * 32 + 32 + 32 * 16 + 16
    # q (320) + k and v as stored before the broadcast (80 each)
    assert att["input_elems"].iloc[0] == 320 + 80 + 80


@pytest.mark.parametrize("act,name", [(torch.nn.SiLU, "silu"), (torch.nn.GELU, "gelu")])
def test_decomposed_activation_fuses_into_the_conv(tmp_path, act, name):
    # SiLU exports as Sigmoid + Mul, GELU (opset 17) as Div + Erf + Add + Mul + Mul
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, padding=1), act())
    o = load_model_file(export(net, (1, 3, 8, 8), tmp_path / f"{name}.onnx", opset_version=17))
    assert len(o.layers) == 1
    row = o.layers.iloc[0]
    assert (row["activation"], row["macs"]) == (name, 8 * 8 * 8 * 27)  # 512 outputs x 3*9
    assert row["output_elems"] == 512 and row["weight_elems"] == 8 * 27 + 8


# ---------------------------------------------------------------------- quantized
def _quantize(src: str, dst: str, fmt: str) -> str:
    from onnxruntime import quantization as qz

    class Reader(qz.CalibrationDataReader):
        def __init__(self):
            self.left = [{"input": np.random.default_rng(i).standard_normal((1, 3, 16, 16), np.float32)} for i in range(2)]

        def get_next(self):
            return self.left.pop() if self.left else None

    qfmt = qz.QuantFormat.QDQ if fmt == "qdq" else qz.QuantFormat.QOperator
    qz.quantize_static(src, dst, Reader(), quant_format=qfmt, activation_type=qz.QuantType.QUInt8,
                       weight_type=qz.QuantType.QInt8)
    return dst


@pytest.mark.parametrize("fmt", ["qdq", "qoperator"])
def test_quantized_graphs_record_int8_dtypes(tmp_path, fmt):
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.ReLU(),
                              torch.nn.Conv2d(8, 8, 1))
    f = export(net, (1, 3, 16, 16), tmp_path / "f.onnx")
    q = _quantize(f, str(tmp_path / f"q-{fmt}.onnx"), fmt)
    fl, ql = load_model_file(f), load_model_file(q)
    assert ql.unsupported_ops == {}
    # 256 outputs x 8 ch x 27 + 256 x 8 x 8
    assert ql.macs == fl.macs == 256 * 8 * 27 + 256 * 8 * 8
    convs = ql.layers[ql.layers["op_type"] == "conv2d"]
    assert len(convs) == 2
    assert set(convs["weight_dtype"]) == {"int8"}
    assert set(convs["activation_dtype"]) == {"uint8"}
    validate_layer_table(ql.layers)
    assert list(convs["weight_elems"]) == [8 * 27 + 8, 8 * 8 + 8]
    # costed at 1 byte per element even under an fp32 cost model
    c = apply_cost_model(ql.layers, PRESETS["default"], "fp32")
    cc = c[c["op_type"] == "conv2d"]
    assert list(cc["weight_bytes"]) == [224.0, 72.0]
    assert list(cc["activation_bytes"]) == [(768 + 2048) * 1.0, (2048 + 2048) * 1.0]


def test_row_dtype_overridden_by_explicit_bytes_per_element(tmp_path):
    t = load_or_trace(zoo.resolve("mnv3-small"))
    layers = t.layers.copy()
    layers["weight_dtype"] = "int8"
    cm = PRESETS["default"]
    assert apply_cost_model(layers, cm, "fp32")["weight_bytes"].sum() == layers["weight_elems"].sum()
    over = with_overrides(cm, weight_bytes_per_elem=2)
    assert apply_cost_model(layers, over, "fp32")["weight_bytes"].sum() == 2 * layers["weight_elems"].sum()
    assert t.layers["weight_dtype"].isna().all()  # the torch tracer leaves dtypes to the cost model


def test_cache_entries_without_dtype_columns_still_load():
    t = load_or_trace(zoo.resolve("mnv1"))
    old = t.layers.drop(columns=["weight_dtype", "activation_dtype"])
    text = TraceResult(t.model, old, t.params, t.input_shape).to_json()
    back = TraceResult.from_json(text)
    assert back.layers["weight_dtype"].isna().all() and back.macs == t.macs


# ------------------------------------------------------------------- bad input / CLI
runner = CliRunner()


def _one_line_error(args, *needles):
    res = runner.invoke(app, args, catch_exceptions=False)
    assert res.exit_code == 1, res.output
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in res.output, res.output
    for n in needles:
        assert n in lines[0], lines[0]


def test_cli_layers_takes_an_onnx_path_and_its_input_shape(zoo_exports):
    res = runner.invoke(app, ["layers", "--model", zoo_exports["mnv2"], "--format", "json"], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    assert "blocks.0.dw.conv" in res.stdout
    res = runner.invoke(app, ["layers", "--model", zoo_exports["mnv3-small-bn"], "--input-shape", "1x3x224x224"],
                        catch_exceptions=False)
    assert res.exit_code == 0, res.output
    assert "mnv3-small-bn.onnx@1x3x224x224" in res.stdout


def test_python_api_analyze_takes_a_path(zoo_exports):
    from roofsweep import analyze

    a = analyze([zoo_exports["mnv2"], "mnv2"], hardware=[])
    assert a.models[0].trace.macs == a.models[1].trace.macs == 300_774_272


def test_bad_files_are_one_line_errors(zoo_exports, tmp_path):
    data = open(zoo_exports["mnv3-small"], "rb").read()
    cut = tmp_path / "cut.onnx"
    cut.write_bytes(data[: len(data) // 3])
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"\x00\xffnot an onnx model" * 10)
    for path in (cut, junk):
        _one_line_error(["layers", "--model", str(path)], path.name)
    with pytest.raises(ModelFileError, match="truncated|not a readable"):
        load_model_file(str(cut))
    _one_line_error(["layers", "--model", str(tmp_path / "absent.onnx")], "absent.onnx", "no such")


def test_too_new_opset_unbound_dims_and_missing_extra(zoo_exports, tmp_path, monkeypatch):
    m = _model([helper.make_node("Relu", ["x"], ["y"])], [_vi("x", ["n", 4])], [_vi("y", ["n", 4])])
    p = _save(m, tmp_path, "dyn.onnx")
    _one_line_error(["layers", "--model", p], "dyn.onnx", "'x' dim 0 ('n') is dynamic", "--input-shape")
    assert load_model_file(p, (3, 4)).layers["input_elems"].iloc[0] == 12
    m.opset_import[0].version = 99
    p = _save(m, tmp_path, "new.onnx")
    _one_line_error(["layers", "--model", p, "--input-shape", "1x4"], "new.onnx", "opset 99")
    monkeypatch.setitem(sys.modules, "onnx", None)
    _one_line_error(["layers", "--model", zoo_exports["mnv2"]], 'pip install "roofsweep[onnx]"')


def test_weights_are_skipped_not_read_embedded_or_external(tmp_path):
    from roofsweep.importers.onnx.wire import read_model_bytes

    # Gemm 1x512 @ 512x256 (131,072 fp32 weights = 512 KiB of raw_data) + bias 256
    nodes = [helper.make_node("Gemm", ["x", "w", "b"], ["y"], name="fc")]
    w = numpy_helper.from_array(np.ones((512, 256), np.float32), "w")
    m = _model(nodes, [_vi("x", [1, 512])], [_vi("y", [1, 256])], [w, _init("b", (256,))])
    p = _save(m, tmp_path, "big.onnx")
    slim = onnx.load_model_from_string(read_model_bytes(p))
    inits = {t.name: t for t in slim.graph.initializer}
    assert list(inits["w"].dims) == [512, 256] and inits["w"].raw_data == b""  # payload skipped
    assert len(inits["b"].raw_data) == 256 * 4  # small constants kept
    r = load_model_file(p)
    assert (r.macs, r.params) == (512 * 256, 512 * 256 + 256)
    ext = tmp_path / "ext.onnx"
    onnx.save(m, str(ext), save_as_external_data=True, location="ext.data", size_threshold=0)
    assert (load_model_file(str(ext)).macs, load_model_file(str(ext)).params) == (r.macs, r.params)


def test_fp16_file_records_fp16_rows(tmp_path):
    # a half-precision export commits to fp16: 2 bytes per element whatever the cost model's dtype
    nodes = [helper.make_node("Conv", ["x", "w"], ["y"], name="conv"),
             helper.make_node("Relu", ["y"], ["z"], name="relu")]
    m = _model(nodes, [_vi("x", [1, 4, 6, 6], TensorProto.FLOAT16)], [_vi("z", None, TensorProto.FLOAT16)],
               [_init("w", (8, 4, 3, 3), np.float16)])
    r = load_model_file(_save(m, tmp_path))
    row = r.layers.iloc[0]
    assert (row["weight_dtype"], row["activation_dtype"], row["activation"]) == ("fp16", "fp16", "relu")
    assert row["macs"] == 8 * 4 * 4 * 36  # 128 outputs (4x4 valid) x 4*3*3
    c = apply_cost_model(r.layers, PRESETS["paper"])  # paper preset: int8 and inputs only
    assert c["weight_bytes"].iloc[0] == 2 * 288 and c["activation_bytes"].iloc[0] == 2 * 144


def test_two_inputs_bind_in_order_and_errors_name_the_input(tmp_path):
    # y = a @ b (two activations: a matmul row), 2 x 3 x 4 -> batch 2 x 3 x 4 x 5 = 120 MACs
    m = _model([helper.make_node("MatMul", ["a", "b"], ["y"], name="mm")],
               [_vi("a", ["n", 3, 4]), _vi("b", ["n", 4, 5])], [_vi("y", None)])
    p = _save(m, tmp_path, "two.onnx")
    r = load_model_file(p, [(2, 3, 4), (2, 4, 5)])
    assert (r.layers["op_type"].iloc[0], r.macs, r.layers["input_elems"].iloc[0]) == ("matmul", 120, 24 + 40)
    with pytest.raises(ModelFileError, match="input 'b' dim 0 \\('n'\\) is dynamic"):
        load_model_file(p, {"a": (2, 3, 4)})
    with pytest.raises(ModelFileError, match="input 'a' dim 1 is 3"):
        load_model_file(p, [(2, 7, 4), (2, 4, 5)])


def test_weights_as_constant_nodes_or_as_graph_inputs(tmp_path):
    # older exporters: a weight in a Constant node (8x64x3x3 = 4,608 elements, above the folding
    # size), and initializers also listed as graph inputs (keep_initializers_as_inputs)
    w = numpy_helper.from_array(np.zeros((8, 64, 3, 3), np.float32), "wv")
    nodes = [helper.make_node("Constant", [], ["w"], value=w),
             helper.make_node("Conv", ["x", "w"], ["y"], name="conv")]
    m = _model(nodes, [_vi("x", [1, 64, 5, 5])], [_vi("y", None)])
    r = load_model_file(_save(m, tmp_path, "const.onnx"))
    # 8 x 3 x 3 outputs x 64 x 9 = 41,472 MACs
    assert (r.macs, r.layers["weight_elems"].iloc[0], r.params) == (41_472, 4_608, 4_608)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU())
    p = export(net, (1, 3, 6, 6), tmp_path / "inputs.onnx", keep_initializers_as_inputs=True)
    assert len(onnx.load(p).graph.input) == 3  # x, weight, bias
    r = load_model_file(p)
    assert (r.macs, r.params, r.input_shape) == (4 * 16 * 27, 4 * 27 + 4, (1, 3, 6, 6))
