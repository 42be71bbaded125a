"""Cost formulas keyed by TFLite builtin operator name (torch-free).

TFLite tensors are NHWC and their shapes are stored in the file, so no shape inference is needed.
Weights: ``CONV_2D`` ``[C_out, kH, kW, C_in/groups]``, ``DEPTHWISE_CONV_2D``
``[1, kH, kW, C_out]``, ``FULLY_CONNECTED`` ``[N, K]``, ``TRANSPOSE_CONV`` ``[C_out, kH, kW, C_in]``.
MACs follow the torch tracer's conventions (``roofsweep.trace.formulas``):

* ``CONV_2D``: every output element sums ``kH x kW x C_in/groups`` products; a 1x1 conv on a
  1x1 map is an ``fc`` row.
* ``DEPTHWISE_CONV_2D``: ``kH x kW`` products per output element (``dwconv2d``).
* ``TRANSPOSE_CONV``: every input element scatters into ``kH x kW x C_out`` outputs.
* ``FULLY_CONNECTED``: ``rows x K x N``; ``BATCH_MATMUL``: ``batch x M x K x N`` (``matmul``).

Ops already come fused: a ``fused_activation_function`` becomes the row's ``activation``.
``ALIAS_OPS`` (reshapes, quantize/dequantize) have no record; anything in neither table is listed
as unsupported with its count. Custom operators are refused with a one-line error.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from roofsweep.importers.common import matmul_macs, prod


@dataclass
class TfliteCost:
    group: str
    op_type: str = "other"
    macs: int = 0
    activation: str = ""
    weight_slots: tuple[int, ...] = ()
    has_bias: bool = False
    channels: int = 0


@dataclass
class TfliteView:
    op: str
    inputs: list[tuple[int, ...] | None]  # shapes; None for an absent optional input (-1)
    outputs: list[tuple[int, ...]]
    is_const: list[bool]
    options: dict


Formula = Callable[[TfliteView], TfliteCost]
TFLITE_FORMULAS: dict[str, Formula] = {}
ALIAS_OPS = frozenset({"RESHAPE", "SQUEEZE", "EXPAND_DIMS", "QUANTIZE", "DEQUANTIZE", "STRIDED_SLICE",
                       "SLICE", "SPLIT", "SPLIT_V", "TRANSPOSE", "BROADCAST_TO", "IDENTITY"})
ZERO_COST_OPS = frozenset({"SHAPE", "RANGE", "FILL", "ZEROS_LIKE", "ONES_LIKE"})
# TFLite's fused activation function enum -> LayerTable activation name
FUSED_ACTIVATIONS = {0: "", 1: "relu", 2: "clamp", 3: "relu6", 4: "tanh", 5: "sign_bit"}


def tflite_op(*names: str) -> Callable[[Formula], Formula]:
    def deco(fn: Formula) -> Formula:
        for n in names:
            if n in TFLITE_FORMULAS or n in ALIAS_OPS:
                raise ValueError(f"a formula for TFLite op {n} is already registered")
            TFLITE_FORMULAS[n] = fn
        return fn

    return deco


def _act(v: TfliteView) -> str:
    return FUSED_ACTIVATIONS.get(int(v.options.get("fused_activation", 0)), "")


def _bias(v: TfliteView, i: int) -> bool:
    return i < len(v.inputs) and v.inputs[i] is not None and v.is_const[i]


@tflite_op("CONV_2D")
def _conv(v: TfliteView) -> TfliteCost:
    x, w, out = v.inputs[0], v.inputs[1], v.outputs[0]
    macs = prod(out) * prod(w[1:])  # kH * kW * C_in/groups per output element
    groups = int(x[3]) // int(w[3]) if w[3] else 1
    fc = groups == 1 and w[1] == w[2] == 1 and prod(x[1:3]) == 1
    return TfliteCost("compute", "fc" if fc else "conv2d", macs, _act(v), (1, 2) if _bias(v, 2) else (1,),
                      _bias(v, 2), int(out[-1]))


@tflite_op("DEPTHWISE_CONV_2D")
def _dwconv(v: TfliteView) -> TfliteCost:
    w, out = v.inputs[1], v.outputs[0]
    return TfliteCost("compute", "dwconv2d", prod(out) * int(w[1]) * int(w[2]), _act(v),
                      (1, 2) if _bias(v, 2) else (1,), _bias(v, 2), int(out[-1]))


@tflite_op("TRANSPOSE_CONV")
def _tconv(v: TfliteView) -> TfliteCost:  # output_shape, weights, input, bias
    w, x, out = v.inputs[1], v.inputs[2], v.outputs[0]
    return TfliteCost("compute", "conv2d", prod(x) * prod(w[:3]), _act(v),
                      (1, 3) if _bias(v, 3) else (1,), _bias(v, 3), int(out[-1]))


@tflite_op("FULLY_CONNECTED")
def _fc(v: TfliteView) -> TfliteCost:
    x, w, out = v.inputs[0], v.inputs[1], v.outputs[0]
    n, k = int(w[0]), int(w[1])
    rows = prod(x) // k if k else 0
    weight = v.is_const[1]
    slots = tuple(i for i, ok in ((1, weight), (2, _bias(v, 2))) if ok)
    return TfliteCost("compute", "fc" if weight else "matmul", rows * k * n, _act(v), slots,
                      _bias(v, 2), int(out[-1]))


@tflite_op("BATCH_MATMUL")
def _bmm(v: TfliteView) -> TfliteCost:
    a, b = list(v.inputs[0]), list(v.inputs[1])
    if v.options.get("adj_x"):
        a[-2:] = a[-2:][::-1]
    if v.options.get("adj_y"):
        b[-2:] = b[-2:][::-1]
    weight = v.is_const[1]
    return TfliteCost("compute", "fc" if weight else "matmul", matmul_macs(a, b), _act(v),
                      (1,) if weight else (), channels=int(v.outputs[0][-1]))


_ACTIVATIONS = {"RELU": "relu", "RELU6": "relu6", "RELU_N1_TO_1": "clamp", "RELU_0_TO_1": "clamp",
                "HARD_SWISH": "hardswish", "LOGISTIC": "sigmoid", "TANH": "tanh",
                "LEAKY_RELU": "leaky_relu", "PRELU": "prelu", "ELU": "elu", "GELU": "gelu"}


def _activation(v: TfliteView) -> TfliteCost:
    return TfliteCost("activation", activation=_ACTIVATIONS[v.op], weight_slots=(1,) if v.op == "PRELU" else ())


def _elementwise(v: TfliteView) -> TfliteCost:
    return TfliteCost("elementwise", "elementwise", activation=_act(v),
                      weight_slots=tuple(i for i, c in enumerate(v.is_const) if c))


def _pool(v: TfliteView) -> TfliteCost:
    return TfliteCost("pool", "pool", activation=_act(v))


def _other(v: TfliteView) -> TfliteCost:
    return TfliteCost("other", "other", activation=_act(v))


def _norm(v: TfliteView) -> TfliteCost:
    return TfliteCost("norm", "other")


for _names, _fn in (
    (_ACTIVATIONS, _activation),
    (("ADD", "SUB", "MUL", "DIV", "SQUARED_DIFFERENCE", "MAXIMUM", "MINIMUM", "POW", "SQRT", "RSQRT",
      "EXP", "LOG", "NEG", "ABS", "SQUARE", "FLOOR", "CEIL", "ROUND", "CAST", "ADD_N", "SELECT",
      "SELECT_V2", "EQUAL", "NOT_EQUAL", "LESS", "GREATER", "LESS_EQUAL", "GREATER_EQUAL",
      "FLOOR_DIV", "FLOOR_MOD", "SIN", "COS", "LOGICAL_AND", "LOGICAL_OR", "LOGICAL_NOT", "SIGN"),
     _elementwise),
    (("AVERAGE_POOL_2D", "MAX_POOL_2D", "L2_POOL_2D", "MEAN", "SUM", "REDUCE_MAX", "REDUCE_MIN",
      "REDUCE_PROD", "ARG_MAX", "ARG_MIN"), _pool),
    (("SOFTMAX", "LOG_SOFTMAX", "CONCATENATION", "PAD", "PADV2", "MIRROR_PAD", "RESIZE_BILINEAR",
      "RESIZE_NEAREST_NEIGHBOR", "GATHER", "GATHER_ND", "DEPTH_TO_SPACE", "SPACE_TO_DEPTH", "TILE",
      "PACK", "UNPACK", "TOPK_V2", "CUMSUM", "SCATTER_ND", "REVERSE_V2"), _other),
    (("L2_NORMALIZATION", "LOCAL_RESPONSE_NORMALIZATION"), _norm),
):
    for _n in _names:
        tflite_op(_n)(_fn)
