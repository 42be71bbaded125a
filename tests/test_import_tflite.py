"""TFLite files as models: the committed fixtures (tests/data/make_tflite_fixtures.py wrote them
with the flatbuffers builder - no TensorFlow) costed by hand arithmetic, a MobileNetV1-sized file
against the torch trace of the same architecture, int8 dtypes, and one-line errors."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from typer.testing import CliRunner  # noqa: E402

from roofsweep.cli import app  # noqa: E402
from roofsweep.engine.costmodel import PRESETS, apply_cost_model  # noqa: E402
from roofsweep.importers import ModelFileError, load_model_file  # noqa: E402
from roofsweep.layertable import validate_layer_table  # noqa: E402

DATA = Path(__file__).parent / "data"


def test_float_ops_by_hand():
    r = load_model_file(DATA / "ops_float.tflite")
    L = r.layers.set_index("name")
    assert r.unsupported_ops == {}
    assert list(L["op_type"]) == ["conv2d", "dwconv2d", "conv2d", "elementwise", "pool", "pool", "fc", "other"]
    # stem: 3x3 conv 3->8 on 8x8 (SAME): 8*8*8 outputs x 3*3*3 = 13,824 MACs; 216 weights + 8 bias
    assert (L.loc["stem/relu6", "macs"], L.loc["stem/relu6", "weight_elems"]) == (13_824, 224)
    assert L.loc["stem/relu6", "activation"] == "relu6"  # the fused_activation_function
    assert (L.loc["stem/relu6", "input_elems"], L.loc["stem/relu6", "output_elems"]) == (192, 512)
    # depthwise 3x3 stride 2: 4*4*8 outputs x 9 = 1,152 MACs; 72 + 8 weights; the HARD_SWISH after
    # it has no other reader of its input, so it fuses in
    assert (L.loc["dw", "macs"], L.loc["dw", "weight_elems"], L.loc["dw", "activation"]) == (1_152, 80, "hardswish")
    assert L.loc["dw", "aten_ops"] == "DEPTHWISE_CONV_2D+HARD_SWISH"
    # 1x1 conv 8->8, no bias: 128 outputs x 8 = 1,024 MACs, 64 weights
    assert (L.loc["project", "macs"], L.loc["project", "weight_elems"]) == (1_024, 64)
    # residual add reads both 128-element operands
    assert (L.loc["residual", "input_elems"], L.loc["residual", "output_elems"]) == (256, 128)
    # 2x2 average pool: 128 -> 32; mean over H, W: 32 -> 8
    assert (L.loc["avgpool", "input_elems"], L.loc["avgpool", "output_elems"]) == (128, 32)
    assert (L.loc["mean", "input_elems"], L.loc["mean", "output_elems"]) == (32, 8)
    # FC 8 -> 10: 80 MACs, 80 + 10 weights; softmax 10 -> 10
    assert (L.loc["fc", "macs"], L.loc["fc", "weight_elems"]) == (80, 90)
    assert (L.loc["softmax", "input_elems"], L.loc["softmax", "output_elems"]) == (10, 10)
    assert r.macs == 13_824 + 1_152 + 1_024 + 80
    assert r.params == 224 + 80 + 64 + 90
    assert r.layers["weight_dtype"].isna().all()  # float32: the cost model decides
    assert r.layers["reads_model_input"].tolist() == [True] + [False] * 7


def test_int8_model_records_its_dtypes_and_costs_one_byte_per_element():
    r = load_model_file(DATA / "int8.tflite")
    L = r.layers.set_index("name")
    assert list(L.index) == ["conv/relu", "mean", "fc"]  # QUANTIZE / DEQUANTIZE cost nothing
    assert r.zero_cost_ops == {"QUANTIZE": 1, "DEQUANTIZE": 1}
    # conv 3x3 3->4 on 8x8: 256 outputs x 27 = 6,912 MACs; 108 int8 weights + 4 int32 bias
    assert (L.loc["conv/relu", "macs"], L.loc["conv/relu", "weight_elems"]) == (6_912, 112)
    assert (L.loc["fc", "macs"], L.loc["fc", "weight_elems"]) == (12, 15)  # 4 -> 3
    assert L.loc["conv/relu", "weight_dtype"] == L.loc["fc", "weight_dtype"] == "int8"
    assert set(L["activation_dtype"]) == {"int8"}
    assert L.loc["mean", "weight_dtype"] is None
    validate_layer_table(r.layers)
    # without any --set: int8 bytes under a cost model whose own dtype is fp32
    c = apply_cost_model(r.layers, PRESETS["default"], "fp32").set_index("name")
    assert c.loc["conv/relu", "weight_bytes"] == 112.0
    # inputs+outputs accounting: the conv reads 192 and writes 256 int8 elements
    assert c.loc["conv/relu", "activation_bytes"] == 192.0 + 256.0
    assert c["bytes"].sum() == 112 + 15 + (192 + 256) + (256 + 4) + (4 + 3)


def test_mobilenet_sized_file_equals_the_torch_trace():
    from roofsweep import zoo
    from roofsweep.trace import load_or_trace

    r = load_model_file(DATA / "mnv1.tflite")
    t = load_or_trace(zoo.resolve("mnv1"))
    assert r.macs == t.macs == 568_740_352
    assert r.layers["weight_elems"].sum() == t.layers["weight_elems"].sum() == 4_221_032
    assert list(r.layers["op_type"]) == list(t.layers["op_type"])
    for col in ("macs", "weight_elems", "input_elems", "output_elems"):
        assert r.layers[col].tolist() == t.layers[col].tolist(), col
    assert list(r.layers["activation"]) == list(t.layers["activation"])
    # a file is read, never run: no row is data-dependent (a NaN default would read as True)
    assert list(r.layers["data_dependent"]) == list(t.layers["data_dependent"]) == [False] * len(t.layers)


runner = CliRunner()


def _one_line_error(args, *needles):
    res = runner.invoke(app, args, catch_exceptions=False)
    assert res.exit_code == 1, res.output
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in res.output, res.output
    for n in needles:
        assert n in lines[0], lines[0]


def test_cli_layers_of_a_tflite_file():
    res = runner.invoke(app, ["layers", "--model", str(DATA / "int8.tflite"), "--format", "json"], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    assert '"int8"' in res.stdout and "conv/relu" in res.stdout


def test_bad_tflite_files_are_one_line_errors(tmp_path):
    _one_line_error(["layers", "--model", str(DATA / "custom_op.tflite")], "custom_op.tflite", "MyFancyOp")
    data = (DATA / "mnv1.tflite").read_bytes()
    cut = tmp_path / "cut.tflite"
    cut.write_bytes(data[: len(data) // 2])
    _one_line_error(["layers", "--model", str(cut)], "cut.tflite", "truncated or corrupt")
    junk = tmp_path / "junk.tflite"
    junk.write_bytes(b"this is not a flatbuffer at all")
    _one_line_error(["layers", "--model", str(junk)], "junk.tflite", "not a TFLite model")
    _one_line_error(["layers", "--model", str(DATA / "ops_float.tflite"), "--input-shape", "1x16x16x3"],
                    "ops_float.tflite", "1x8x8x3")
    with pytest.raises(ModelFileError, match="custom operator"):
        load_model_file(DATA / "custom_op.tflite")


def test_missing_tflite_extra_names_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "tflite", None)
    _one_line_error(["layers", "--model", str(DATA / "ops_float.tflite")], 'pip install "roofsweep[tflite]"')


def test_a_config_names_model_files_relative_to_itself(tmp_path):
    import shutil

    from roofsweep.config import load_experiment

    (tmp_path / "models").mkdir()
    shutil.copy(DATA / "int8.tflite", tmp_path / "models" / "int8.tflite")
    cfg = tmp_path / "exp.yaml"
    cfg.write_text("models:\n  - models/int8.tflite\n  - mnv1\nhardware: []\n")
    exp = load_experiment(cfg)
    refs = [m for m in exp.models]
    assert refs[0].is_file and refs[0].label == "int8.tflite"
    assert Path(refs[0].spec) == tmp_path / "models" / "int8.tflite"


def test_resolve_names_a_file_by_its_name_and_stored_input_shape(tmp_path):
    from roofsweep.errors import ModelBuildError
    from roofsweep.zoo import resolve

    ref = resolve(str(DATA / "mnv1.tflite"))
    assert (ref.label, ref.input_shape, ref.resolution, ref.is_file) == ("mnv1.tflite", (1, 224, 224, 3), 224, True)
    with pytest.raises(ModelBuildError, match="no such model file"):
        resolve(str(tmp_path / "absent.tflite"))
    with pytest.raises(ModelBuildError, match="--width applies to zoo models only"):
        resolve(str(DATA / "mnv1.tflite"), width=0.5)
    from roofsweep.zoo import build

    with pytest.raises(ModelBuildError, match="a model file is read and costed, not built or run"):
        build(ref)  # what roofsweep measure would need


def test_fp16_weights_behind_a_dequantize():
    r = load_model_file(DATA / "fp16_weights.tflite")
    row = r.layers.iloc[0]
    assert len(r.layers) == 1 and r.zero_cost_ops == {"DEQUANTIZE": 1}
    # 3x3 conv 4->8, SAME on 6x6: 288 outputs x 36 = 10,368 MACs; 288 fp16 weights
    assert (row["macs"], row["weight_elems"], row["weight_dtype"]) == (10_368, 288, "fp16")
    assert row["activation_dtype"] is None  # float32 activations: the cost model decides
    c = apply_cost_model(r.layers, PRESETS["default"], "int8")
    assert (c["weight_bytes"].iloc[0], c["activation_bytes"].iloc[0]) == (576.0, 144.0 + 288.0)


def test_batch_matmul_softmax_pattern_is_one_attention_row():
    r = load_model_file(DATA / "attention.tflite")
    assert list(r.layers["op_type"]) == ["attention"]
    row = r.layers.iloc[0]
    # 4 heads x Lq 10 x Lk 10 x (E 8 + Ev 8) = 6,400 MACs; reads q, k, v (320 each), writes 320
    assert (row["macs"], row["input_elems"], row["output_elems"]) == (6_400, 960, 320)
    assert row["aten_ops"] == "BATCH_MATMUL+MUL+SOFTMAX+BATCH_MATMUL"
    assert len(r.meta["inputs"]) == 3
