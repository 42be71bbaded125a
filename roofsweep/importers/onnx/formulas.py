"""Cost formulas keyed by ONNX op type (torch-free).

Each formula gets a ``NodeView`` (input/output shapes, attributes, constant input values) and
returns a ``Cost``: MACs (1 MAC = 2 FLOPs), the LayerTable ``op_type``, the cost group
(``compute``, ``norm``, ``activation``, ``elementwise``, ``pool``, ``other``) and which inputs are
weights. The conventions are the torch tracer's (``roofsweep.trace.formulas``), so an exported
model costs what its torch trace costs:

* ``Conv``: every output element sums ``C_in/group x prod(kernel)`` products; ``ConvTranspose``:
  every input element scatters into ``C_out/group x prod(kernel)`` outputs.
* ``Gemm``/``MatMul``: ``batch x M x K x N``; an ``fc`` row when the second operand is a weight,
  ``matmul`` when both are activations. ``Einsum`` of two operands: the product of all index sizes.
* Quantized ops (``QLinearConv``, ``ConvInteger``, ``QLinearMatMul``, ``MatMulInteger``) cost
  what their float twins cost; scales and zero points are not counted as weights.
* Norms, activations, elementwise ops, pools, softmax, concat, resize: 0 MACs, their tensors move.

Views, reshapes and quantize/dequantize (``ALIAS_OPS``) have no record at all. An op in neither
table is *unsupported*: listed with its count, never costed at zero silently. Register a formula
with ``@onnx_op("OpType", ...)``; registering a name twice is an error.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from roofsweep.importers.common import broadcast, conv_op_type, matmul_macs, prod


@dataclass
class Cost:
    group: str
    op_type: str = "other"
    macs: int = 0
    activation: str = ""
    weight_slots: tuple[int, ...] = ()  # inputs whose constant elements are the layer's weights
    has_bias: bool = False
    channels: int = 0
    is_batch_norm: bool = False
    weight_elems: int | None = None  # overrides the sum over weight_slots


@dataclass
class NodeView:
    op: str
    inputs: list[tuple[int, ...] | None]  # shapes (None: absent input)
    outputs: list[tuple[int, ...] | None]
    attrs: dict[str, Any] = field(default_factory=dict)
    values: list[Any] = field(default_factory=list)  # numpy value of a constant input, else None
    is_const: list[bool] = field(default_factory=list)  # input is a weight or a constant

    def value(self, i: int):
        return self.values[i] if i < len(self.values) else None

    def const(self, i: int) -> bool:
        return i < len(self.is_const) and self.is_const[i]


Formula = Callable[[NodeView], Cost]
ONNX_FORMULAS: dict[str, Formula] = {}

# Ops whose output aliases their (first) input: views, reshapes, eval-mode no-ops, and the
# quantize/dequantize nodes that only mark a tensor's dtype in a QDQ graph.
ALIAS_OPS = frozenset({
    "Reshape", "Transpose", "Flatten", "Squeeze", "Unsqueeze", "Identity", "Dropout", "Expand",
    "Slice", "Split", "QuantizeLinear", "DequantizeLinear", "DynamicQuantizeLinear",
})


def onnx_op(*names: str) -> Callable[[Formula], Formula]:
    def deco(fn: Formula) -> Formula:
        for n in names:
            if n in ONNX_FORMULAS or n in ALIAS_OPS:
                raise ValueError(f"a formula for ONNX op {n} is already registered")
            ONNX_FORMULAS[n] = fn
        return fn

    return deco


# ------------------------------------------------------------------------------ compute
def _conv(v: NodeView, x: int, w: int, b: int | None, transposed: bool = False) -> Cost:
    xs, ws, out = v.inputs[x], v.inputs[w], v.outputs[0]
    group = int(v.attrs.get("group", 1))
    kernel = prod(ws[2:])
    macs = prod(xs) * int(ws[1]) * kernel if transposed else prod(out) * int(ws[1]) * kernel
    has_bias = b is not None and b < len(v.inputs) and v.inputs[b] is not None
    slots = (w, b) if has_bias else (w,)
    return Cost("compute", conv_op_type(xs, ws, group, transposed), macs, weight_slots=slots,
                has_bias=has_bias, channels=int(out[1]) if len(out) > 1 else 0)


@onnx_op("Conv")
def _conv_float(v: NodeView) -> Cost:
    return _conv(v, 0, 1, 2)


@onnx_op("ConvTranspose")
def _conv_transpose(v: NodeView) -> Cost:
    return _conv(v, 0, 1, 2, transposed=True)


@onnx_op("ConvInteger")
def _conv_integer(v: NodeView) -> Cost:  # x, w, x_zero_point, w_zero_point
    return _conv(v, 0, 1, None)


@onnx_op("QLinearConv")
def _qlinear_conv(v: NodeView) -> Cost:  # x, x_s, x_zp, w, w_s, w_zp, y_s, y_zp, B
    return _conv(v, 0, 3, 8)


def _matmul(v: NodeView, a: int, b: int, bias: int | None = None, trans_a=False, trans_b=False) -> Cost:
    sa, sb = list(v.inputs[a]), list(v.inputs[b])
    if trans_a:
        sa[-2:] = sa[-2:][::-1]
    if trans_b:
        sb[-2:] = sb[-2:][::-1]
    weight = v.const(b)
    has_bias = bias is not None and bias < len(v.inputs) and v.inputs[bias] is not None
    slots = tuple(s for s, ok in ((b, weight), (bias, has_bias)) if ok)
    out = v.outputs[0]
    return Cost("compute", "fc" if weight else "matmul", matmul_macs(sa, sb), weight_slots=slots,
                has_bias=has_bias, channels=int(out[-1]) if out else 0)


@onnx_op("Gemm")
def _gemm(v: NodeView) -> Cost:
    return _matmul(v, 0, 1, 2, bool(v.attrs.get("transA", 0)), bool(v.attrs.get("transB", 0)))


@onnx_op("MatMul", "MatMulInteger")
def _matmul_plain(v: NodeView) -> Cost:
    return _matmul(v, 0, 1)


@onnx_op("QLinearMatMul")
def _qlinear_matmul(v: NodeView) -> Cost:  # a, a_s, a_zp, b, b_s, b_zp, y_s, y_zp
    return _matmul(v, 0, 3)


@onnx_op("Einsum")
def _einsum(v: NodeView) -> Cost:
    """Two-operand einsum: one MAC per point of the joint index space (``ij,jk->ik``: i*j*k)."""
    eq = str(v.attrs.get("equation", "")).replace(" ", "")
    lhs = eq.split("->")[0].split(",")
    if len(lhs) != 2 or "." in eq:
        return Cost("other")  # a one-operand einsum is a reduction or a transpose
    sizes: dict[str, int] = {}
    for letters, shape in zip(lhs, v.inputs):
        for ch, d in zip(letters, shape or ()):
            sizes[ch] = max(sizes.get(ch, 1), int(d))
    weight = v.const(1)
    out = v.outputs[0]
    return Cost("compute", "fc" if weight else "matmul", prod(sizes.values()),
                weight_slots=(1,) if weight else (), channels=int(out[-1]) if out else 0)


# ------------------------------------------------------------------------- norms
@onnx_op("BatchNormalization")
def _batch_norm(v: NodeView) -> Cost:
    # inference: y = x * s + t with s, t per channel (the running statistics fold into them)
    c = int(v.inputs[1][0]) if v.inputs[1] else 0
    return Cost("norm", weight_slots=(1, 2), is_batch_norm=True, weight_elems=2 * c)


@onnx_op("InstanceNormalization", "LayerNormalization", "GroupNormalization", "RMSNormalization",
         "LpNormalization", "MeanVarianceNormalization")
def _norm(v: NodeView) -> Cost:
    return Cost("norm", weight_slots=tuple(i for i in (1, 2) if v.const(i)))


# --------------------------------------------------------------------------- activations
_ACTIVATIONS = {
    "Relu": "relu", "HardSwish": "hardswish", "HardSigmoid": "hardsigmoid", "Sigmoid": "sigmoid",
    "Tanh": "tanh", "LeakyRelu": "leaky_relu", "Elu": "elu", "Selu": "selu", "Celu": "celu",
    "Mish": "mish", "Softplus": "softplus", "PRelu": "prelu", "Gelu": "gelu",
    "ThresholdedRelu": "threshold", "Swish": "silu",
}


def _activation(v: NodeView) -> Cost:
    return Cost("activation", activation=_ACTIVATIONS[v.op], weight_slots=(1,) if v.op == "PRelu" else ())


for _name in _ACTIVATIONS:
    onnx_op(_name)(_activation)


@onnx_op("Clip")
def _clip(v: NodeView) -> Cost:
    """``Clip(0, 6)`` is ReLU6; other bounds are a clamp."""
    lo = v.attrs.get("min", v.value(1))
    hi = v.attrs.get("max", v.value(2))
    lo = None if lo is None else float(lo)
    hi = None if hi is None else float(hi)
    name = "relu6" if (lo, hi) == (0.0, 6.0) else ("relu" if lo == 0.0 and hi is None else "clamp")
    return Cost("activation", activation=name)


# ------------------------------------------------------------------------ memory only
def _elementwise(v: NodeView) -> Cost:
    if v.op.startswith("QLinear"):  # A, A_scale, A_zp, B, ...: scales and zero points are no weights
        return Cost("elementwise", "elementwise", weight_slots=(3,) if v.const(3) else ())
    return Cost("elementwise", "elementwise", weight_slots=tuple(i for i in range(len(v.inputs)) if v.const(i)))


for _name in ("Add", "Sub", "Mul", "Div", "Pow", "Sqrt", "Exp", "Log", "Neg", "Abs", "Reciprocal",
              "Max", "Min", "Sum", "Mean", "Where", "Equal", "Less", "LessOrEqual", "Greater",
              "GreaterOrEqual", "Not", "And", "Or", "Xor", "Erf", "Cast", "CastLike", "Floor",
              "Ceil", "Round", "Sign", "Mod", "Sin", "Cos", "IsNaN", "IsInf", "BitwiseNot",
              "QLinearAdd", "QLinearMul", "QLinearSigmoid", "QLinearLeakyRelu"):
    onnx_op(_name)(_elementwise)


def _pool(v: NodeView) -> Cost:
    return Cost("pool", "pool")


for _name in ("GlobalAveragePool", "GlobalMaxPool", "GlobalLpPool", "AveragePool", "MaxPool",
              "LpPool", "ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd",
              "ReduceL1", "ReduceL2", "ReduceLogSumExp", "ReduceSumSquare", "ArgMax", "ArgMin",
              "QLinearGlobalAveragePool", "QLinearAveragePool"):
    onnx_op(_name)(_pool)


def _other(v: NodeView) -> Cost:
    return Cost("other", "other")


for _name in ("Softmax", "LogSoftmax", "Hardmax", "Concat", "QLinearConcat", "Pad", "Resize",
              "Upsample", "Gather", "GatherElements", "GatherND", "ScatterND", "ScatterElements",
              "Tile", "DepthToSpace", "SpaceToDepth", "TopK", "CumSum", "Trilu", "GridSample",
              "NonMaxSuppression", "NonZero", "OneHot", "Compress"):
    onnx_op(_name)(_other)


# Ops that cost nothing even on activations (metadata and constants).
ZERO_COST_OPS = frozenset({"Shape", "Size", "Constant", "ConstantOfShape", "Range", "EyeLike"})


def output_shape_fallback(v: NodeView) -> tuple[int, ...] | None:
    """A shape for ops ONNX shape inference does not know (com.microsoft ``QLinearAdd``...)."""
    if v.op in ("QLinearAdd", "QLinearMul"):  # A, A_s, A_zp, B, B_s, B_zp, C_s, C_zp
        return broadcast(v.inputs[0] or (), v.inputs[3] or ())
    if v.op in ("QLinearSigmoid", "QLinearLeakyRelu"):
        return v.inputs[0]
    if v.op == "QLinearGlobalAveragePool" and v.inputs[0]:
        return (*v.inputs[0][:2], *([1] * (len(v.inputs[0]) - 2)))
    return None
