"""Write the tiny .tflite files under tests/data/ with the flatbuffers builder and the ``tflite``
package's generated schema functions - no TensorFlow needed.

    python tests/data/make_tflite_fixtures.py          # rewrites tests/data/*.tflite

* ``ops_float.tflite``  float32: conv (fused ReLU6), depthwise conv, hard-swish, 1x1 conv,
  residual add, average pool, mean, fully connected, softmax (hand arithmetic in
  tests/test_import_tflite.py).
* ``int8.tflite``       int8 per-tensor quantized: quantize, conv (fused ReLU), mean, fully
  connected, dequantize.
* ``custom_op.tflite``  one custom operator (must be refused).
* ``fp16_weights.tflite`` float16 weights dequantized for a float conv.
* ``attention.tflite``  BATCH_MATMUL -> MUL (scale) -> SOFTMAX -> BATCH_MATMUL.
* ``mnv1.tflite``       MobileNetV1 1.0 at 224 with the layer shapes of roofsweep's zoo model;
  weight tensors have the right shapes but empty buffers (roofsweep reads shapes, never weight
  values), which keeps the file a few kB.

Small fixtures store zero-filled weight buffers of the right byte size, as a converter would.
"""

from __future__ import annotations

from pathlib import Path

import flatbuffers
import numpy as np
import tflite

HERE = Path(__file__).resolve().parent
T = tflite.TensorType
_BYTES = {T.FLOAT32: 4, T.INT8: 1, T.UINT8: 1, T.INT32: 4, T.FLOAT16: 2}


class Writer:
    def __init__(self) -> None:
        self.tensors: list[dict] = []
        self.ops: list[tuple] = []
        self.codes: list[tuple[int, str]] = []
        self.buffers: list[bytes | None] = [None]  # buffer 0: the empty sentinel

    def tensor(self, name, shape, ttype=T.FLOAT32, const=False, data=True, quant=None) -> int:
        buf = 0
        if const:
            self.buffers.append(bytes(int(np.prod(shape)) * _BYTES[ttype]) if data else b"")
            buf = len(self.buffers) - 1
        self.tensors.append(dict(name=name, shape=list(shape), type=ttype, buffer=buf, quant=quant))
        return len(self.tensors) - 1

    def op(self, name, inputs, outputs, options=None, custom="") -> None:
        code = getattr(tflite.BuiltinOperator, name)
        key = (code, custom)
        if key not in self.codes:
            self.codes.append(key)
        self.ops.append((self.codes.index(key), inputs, outputs, options))

    # -------------------------------------------------------------------------------
    def _ivec(self, b, start, values):
        start(b, len(values))
        for v in reversed(values):
            b.PrependInt32(int(v))
        return b.EndVector()

    def _table_vec(self, b, start, offsets):
        start(b, len(offsets))
        for o in reversed(offsets):
            b.PrependUOffsetTRelative(o)
        return b.EndVector()

    def _options(self, b, options):
        cls, fields = options
        getattr(tflite, f"{cls}Start")(b)
        for k, v in fields.items():
            getattr(tflite, f"{cls}Add{k}")(b, v)
        return getattr(tflite.BuiltinOptions, cls), getattr(tflite, f"{cls}End")(b)

    def _quant(self, b, q):
        scale, zp = q
        tflite.QuantizationParametersStartScaleVector(b, 1)
        b.PrependFloat32(scale)
        s = b.EndVector()
        tflite.QuantizationParametersStartZeroPointVector(b, 1)
        b.PrependInt64(zp)
        z = b.EndVector()
        tflite.QuantizationParametersStart(b)
        tflite.QuantizationParametersAddScale(b, s)
        tflite.QuantizationParametersAddZeroPoint(b, z)
        return tflite.QuantizationParametersEnd(b)

    def _tensor_tables(self, b) -> list:
        tens = []
        for t in self.tensors:
            name = b.CreateString(t["name"])
            shape = self._ivec(b, tflite.TensorStartShapeVector, t["shape"])
            q = self._quant(b, t["quant"]) if t["quant"] else None
            tflite.TensorStart(b)
            tflite.TensorAddShape(b, shape)
            tflite.TensorAddType(b, t["type"])
            tflite.TensorAddBuffer(b, t["buffer"])
            tflite.TensorAddName(b, name)
            if q is not None:
                tflite.TensorAddQuantization(b, q)
            tens.append(tflite.TensorEnd(b))
        return tens

    def _operator_tables(self, b) -> list:
        ops = []
        for code, ins, outs, options in self.ops:
            iv = self._ivec(b, tflite.OperatorStartInputsVector, ins)
            ov = self._ivec(b, tflite.OperatorStartOutputsVector, outs)
            opt = self._options(b, options) if options else None
            tflite.OperatorStart(b)
            tflite.OperatorAddOpcodeIndex(b, code)
            tflite.OperatorAddInputs(b, iv)
            tflite.OperatorAddOutputs(b, ov)
            if opt:
                tflite.OperatorAddBuiltinOptionsType(b, opt[0])
                tflite.OperatorAddBuiltinOptions(b, opt[1])
            ops.append(tflite.OperatorEnd(b))
        return ops

    def build(self, inputs, outputs) -> bytes:
        b = flatbuffers.Builder(1024)
        tens = self._tensor_tables(b)
        ops = self._operator_tables(b)
        sg_t = self._table_vec(b, tflite.SubGraphStartTensorsVector, tens)
        sg_i = self._ivec(b, tflite.SubGraphStartInputsVector, inputs)
        sg_o = self._ivec(b, tflite.SubGraphStartOutputsVector, outputs)
        sg_ops = self._table_vec(b, tflite.SubGraphStartOperatorsVector, ops)
        sg_name = b.CreateString("main")
        tflite.SubGraphStart(b)
        tflite.SubGraphAddTensors(b, sg_t)
        tflite.SubGraphAddInputs(b, sg_i)
        tflite.SubGraphAddOutputs(b, sg_o)
        tflite.SubGraphAddOperators(b, sg_ops)
        tflite.SubGraphAddName(b, sg_name)
        sg = tflite.SubGraphEnd(b)
        return self._finish(b, sg)

    def _finish(self, b, sg) -> bytes:
        codes = []
        for code, custom in self.codes:
            cc = b.CreateString(custom) if custom else None
            tflite.OperatorCodeStart(b)
            tflite.OperatorCodeAddDeprecatedBuiltinCode(b, min(code, 127))
            tflite.OperatorCodeAddBuiltinCode(b, code)
            tflite.OperatorCodeAddVersion(b, 1)
            if cc is not None:
                tflite.OperatorCodeAddCustomCode(b, cc)
            codes.append(tflite.OperatorCodeEnd(b))
        bufs = []
        for data in self.buffers:
            d = b.CreateByteVector(data) if data else None
            tflite.BufferStart(b)
            if d is not None:
                tflite.BufferAddData(b, d)
            bufs.append(tflite.BufferEnd(b))
        codes_v = self._table_vec(b, tflite.ModelStartOperatorCodesVector, codes)
        sgs = self._table_vec(b, tflite.ModelStartSubgraphsVector, [sg])
        bufs_v = self._table_vec(b, tflite.ModelStartBuffersVector, bufs)
        desc = b.CreateString("roofsweep test fixture")
        tflite.ModelStart(b)
        tflite.ModelAddVersion(b, 3)
        tflite.ModelAddOperatorCodes(b, codes_v)
        tflite.ModelAddSubgraphs(b, sgs)
        tflite.ModelAddDescription(b, desc)
        tflite.ModelAddBuffers(b, bufs_v)
        b.Finish(tflite.ModelEnd(b), file_identifier=b"TFL3")
        return bytes(b.Output())


def conv_opts(stride=1, act=0):
    return ("Conv2DOptions", {"Padding": tflite.Padding.SAME, "StrideW": stride, "StrideH": stride,
                              "FusedActivationFunction": act, "DilationWFactor": 1, "DilationHFactor": 1})


def dw_opts(stride=1, act=0):
    return ("DepthwiseConv2DOptions", {"Padding": tflite.Padding.SAME, "StrideW": stride, "StrideH": stride,
                                       "DepthMultiplier": 1, "FusedActivationFunction": act,
                                       "DilationWFactor": 1, "DilationHFactor": 1})


RELU, RELU6 = tflite.ActivationFunctionType.RELU, tflite.ActivationFunctionType.RELU6


def ops_float() -> bytes:
    w = Writer()
    x = w.tensor("input", (1, 8, 8, 3))
    c1 = w.tensor("stem/relu6", (1, 8, 8, 8))
    w.op("CONV_2D", [x, w.tensor("stem/w", (8, 3, 3, 3), const=True), w.tensor("stem/b", (8,), const=True)],
         [c1], conv_opts(1, RELU6))
    d = w.tensor("dw", (1, 4, 4, 8))
    w.op("DEPTHWISE_CONV_2D", [c1, w.tensor("dw/w", (1, 3, 3, 8), const=True), w.tensor("dw/b", (8,), const=True)],
         [d], dw_opts(2))
    h = w.tensor("dw/hardswish", (1, 4, 4, 8))
    w.op("HARD_SWISH", [d], [h])
    p = w.tensor("project", (1, 4, 4, 8))
    w.op("CONV_2D", [h, w.tensor("project/w", (8, 1, 1, 8), const=True), -1], [p], conv_opts())
    a = w.tensor("residual", (1, 4, 4, 8))
    w.op("ADD", [h, p], [a], ("AddOptions", {"FusedActivationFunction": 0}))
    ap = w.tensor("avgpool", (1, 2, 2, 8))
    w.op("AVERAGE_POOL_2D", [a], [ap], ("Pool2DOptions", {"Padding": tflite.Padding.VALID, "StrideW": 2,
                                                         "StrideH": 2, "FilterWidth": 2, "FilterHeight": 2}))
    m = w.tensor("mean", (1, 8))
    w.op("MEAN", [ap, w.tensor("mean/axes", (2,), T.INT32, const=True)], [m], ("ReducerOptions", {"KeepDims": False}))
    f = w.tensor("fc", (1, 10))
    w.op("FULLY_CONNECTED", [m, w.tensor("fc/w", (10, 8), const=True), w.tensor("fc/b", (10,), const=True)], [f],
         ("FullyConnectedOptions", {"FusedActivationFunction": 0}))
    s = w.tensor("softmax", (1, 10))
    w.op("SOFTMAX", [f], [s], ("SoftmaxOptions", {"Beta": 1.0}))
    return w.build([x], [s])


def int8_model() -> bytes:
    w = Writer()
    q = (0.02, 0)
    x = w.tensor("input", (1, 8, 8, 3))
    xq = w.tensor("input/int8", (1, 8, 8, 3), T.INT8, quant=q)
    w.op("QUANTIZE", [x], [xq])
    c = w.tensor("conv/relu", (1, 8, 8, 4), T.INT8, quant=q)
    w.op("CONV_2D", [xq, w.tensor("conv/w", (4, 3, 3, 3), T.INT8, const=True, quant=q),
                     w.tensor("conv/b", (4,), T.INT32, const=True, quant=(0.0004, 0))], [c], conv_opts(1, RELU))
    m = w.tensor("mean", (1, 4), T.INT8, quant=q)
    w.op("MEAN", [c, w.tensor("mean/axes", (2,), T.INT32, const=True)], [m], ("ReducerOptions", {"KeepDims": False}))
    f = w.tensor("fc", (1, 3), T.INT8, quant=q)
    w.op("FULLY_CONNECTED", [m, w.tensor("fc/w", (3, 4), T.INT8, const=True, quant=q),
                             w.tensor("fc/b", (3,), T.INT32, const=True, quant=(0.0004, 0))], [f],
         ("FullyConnectedOptions", {"FusedActivationFunction": 0}))
    y = w.tensor("output", (1, 3))
    w.op("DEQUANTIZE", [f], [y])
    return w.build([x], [y])


def custom_op() -> bytes:
    w = Writer()
    x = w.tensor("input", (1, 4))
    y = w.tensor("output", (1, 4))
    w.op("CUSTOM", [x], [y], custom="MyFancyOp")
    return w.build([x], [y])


def fp16_weights() -> bytes:
    """Float16 weight quantization: fp16 weights, DEQUANTIZE to fp32, a float conv."""
    w = Writer()
    x = w.tensor("input", (1, 6, 6, 4))
    wf = w.tensor("conv/w_fp32", (8, 3, 3, 4))
    w.op("DEQUANTIZE", [w.tensor("conv/w_fp16", (8, 3, 3, 4), T.FLOAT16, const=True)], [wf])
    y = w.tensor("conv", (1, 6, 6, 8))
    w.op("CONV_2D", [x, wf, -1], [y], conv_opts())
    return w.build([x], [y])


def attention() -> bytes:
    """softmax(q k^T * scale) v as a converter writes it: BATCH_MATMUL, MUL, SOFTMAX, BATCH_MATMUL."""
    w = Writer()
    q, k, v = (w.tensor(n, (1, 4, 10, 8)) for n in ("q", "k", "v"))
    s = w.tensor("scores", (1, 4, 10, 10))
    w.op("BATCH_MATMUL", [q, k], [s], ("BatchMatMulOptions", {"AdjX": False, "AdjY": True}))
    ss = w.tensor("scaled", (1, 4, 10, 10))
    w.op("MUL", [s, w.tensor("scale", (), const=True)], [ss], ("MulOptions", {"FusedActivationFunction": 0}))
    p = w.tensor("probs", (1, 4, 10, 10))
    w.op("SOFTMAX", [ss], [p], ("SoftmaxOptions", {"Beta": 1.0}))
    o = w.tensor("attn", (1, 4, 10, 8))
    w.op("BATCH_MATMUL", [p, v], [o], ("BatchMatMulOptions", {"AdjX": False, "AdjY": False}))
    return w.build([q, k, v], [o])


def mnv1() -> bytes:
    """MobileNetV1 1.0 / 224 with the layer shapes of ``roofsweep.zoo.mobilenet_v1``."""
    import torch
    from torch import nn

    from roofsweep.zoo.mobilenet_v1 import mnv1 as build

    with torch.device("meta"):
        net = build()
    w = Writer()
    cur = w.tensor("input", (1, 224, 224, 3))
    inp, hw = cur, 224
    for name, m in net.named_modules():
        if isinstance(m, nn.Conv2d):
            hw = (hw + m.stride[0] - 1) // m.stride[0]  # SAME padding
            out = w.tensor(f"{name}/relu6", (1, hw, hw, m.out_channels))
            bias = w.tensor(f"{name}/bias", (m.out_channels,), const=True, data=False)
            if m.groups > 1:
                wt = w.tensor(f"{name}/weights", (1, *m.kernel_size, m.out_channels), const=True, data=False)
                w.op("DEPTHWISE_CONV_2D", [cur, wt, bias], [out], dw_opts(m.stride[0], RELU6))
            else:
                wt = w.tensor(f"{name}/weights", (m.out_channels, *m.kernel_size, m.in_channels), const=True, data=False)
                w.op("CONV_2D", [cur, wt, bias], [out], conv_opts(m.stride[0], RELU6))
            cur = out
        elif isinstance(m, nn.Linear):
            pooled = w.tensor("pool", (1, m.in_features))
            w.op("MEAN", [cur, w.tensor("pool/axes", (2,), T.INT32, const=True)], [pooled],
                 ("ReducerOptions", {"KeepDims": False}))
            cur = w.tensor("logits", (1, m.out_features))
            w.op("FULLY_CONNECTED", [pooled, w.tensor(f"{name}/weights", (m.out_features, m.in_features), const=True, data=False),
                                     w.tensor(f"{name}/bias", (m.out_features,), const=True, data=False)], [cur],
                 ("FullyConnectedOptions", {"FusedActivationFunction": 0}))
    return w.build([inp], [cur])


if __name__ == "__main__":
    for name, fn in (("ops_float", ops_float), ("int8", int8_model), ("custom_op", custom_op),
                     ("fp16_weights", fp16_weights), ("attention", attention), ("mnv1", mnv1)):
        data = fn()
        (HERE / f"{name}.tflite").write_bytes(data)
        print(f"{name}.tflite: {len(data)} bytes")
