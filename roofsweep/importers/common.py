"""What the ONNX and TFLite importers share (torch-free): the per-node record, the op-type
taxonomy helpers, and the fusion of node records into LayerTable rows.

An importer walks its file's graph once and turns every node with a cost into a ``NodeRecord``
(the file-format twin of the torch tracer's ``OpRecord``): MACs, op type, weight elements and
dtype, activation inputs with the node that produced each. ``fuse`` then groups records into
LayerTable rows with the same rules as the torch tracer (``roofsweep.trace.fusion``), so a model
gives the same rows whichever way it reaches roofsweep:

* a BatchNorm folds into the conv / FC before it (``C_out`` extra weight elements if that layer
  had no bias); so does a per-channel affine (``Add``/``Mul`` of a constant of at most ``C_out``
  elements) before any activation;
* one activation fuses into its producer;
* everything else (residual adds, SE multiplies, pools, norms after no conv) is a row of its own.

Views and reshapes (``Reshape``, ``Transpose``, ``Flatten``...) and quantize/dequantize pairs of a
quantized graph produce no record: their output is an alias of their input (``Alias``), exactly
as a torch view costs nothing.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import pandas as pd

from roofsweep.errors import ModelBuildError
from roofsweep.layertable import LAYER_COLUMNS, absorbs, group_records

MODEL_INPUT = -1  # producer of a network input tensor
UNKNOWN = -2  # produced by an unsupported node
ABSORBING = frozenset({"conv2d", "dwconv2d", "fc", "matmul"})
GROUPS = ("compute", "norm", "activation", "elementwise", "pool", "other")


class ModelFileError(ModelBuildError):
    """A model file (``.onnx``, ``.tflite``) cannot be read or costed; one line naming the file."""


def missing_extra(package: str, extra: str, path: str) -> ModelFileError:
    return ModelFileError(
        f"reading {path} needs the '{package}' package: pip install \"roofsweep[{extra}]\""
    )


def prod(xs: Sequence[int]) -> int:
    return math.prod(int(x) for x in xs)


def fmt_shape(shape: Sequence[int]) -> str:
    return "x".join(str(int(s)) for s in shape)


@dataclass
class Tensor:
    """An activation tensor as a consumer sees it: who made it, distinct elements, shape, dtype.

    ``elems`` counts stored elements: a broadcast view (``Expand``) keeps its source's count,
    like a stride-0 torch view."""

    producer: int
    elems: int
    shape: tuple[int, ...]
    dtype: str | None = None


@dataclass
class NodeRecord:
    index: int
    op: str  # the file's op name: "Conv", "Relu", "CONV_2D"
    group: str  # one of GROUPS
    name: str  # module-like path of the node
    op_type: str = "other"
    activation: str = ""
    macs: int = 0
    weight_elems: int = 0
    has_bias: bool = False
    channels: int = 0  # output channels (BatchNorm / per-channel affine folding)
    inputs: list[Tensor] = field(default_factory=list)  # activation inputs
    params: list[int] = field(default_factory=list)  # element counts of constant operands
    output_elems: int = 0
    output_shape: tuple[int, ...] = ()
    weight_dtype: str | None = None
    activation_dtype: str | None = None
    is_batch_norm: bool = False
    names: list[str] = field(default_factory=list)  # extra names merged into this record


def conv_op_type(x_shape: Sequence[int], w_shape: Sequence[int], groups: int, transposed: bool = False) -> str:
    """``dwconv2d`` when each channel has its own filter, ``fc`` for a 1x1 conv on a 1x1 map
    (the torch tracer's rule, ``roofsweep.trace.formulas.conv_op_type``)."""
    c_in = int(x_shape[1]) if len(x_shape) > 1 else 1
    if not transposed and groups > 1 and groups == c_in and int(w_shape[1]) == 1:
        return "dwconv2d"
    if not transposed and groups == 1 and len(w_shape) > 2 and prod(w_shape[2:]) == 1 and prod(x_shape[2:]) == 1:
        return "fc"
    return "conv2d"


def broadcast(*shapes: Sequence[int]) -> tuple[int, ...]:
    n = max((len(s) for s in shapes), default=0)
    out = [1] * n
    for s in shapes:
        for i, d in enumerate([1] * (n - len(s)) + list(s)):
            out[i] = max(out[i], int(d))
    return tuple(out)


def matmul_macs(a: Sequence[int], b: Sequence[int]) -> int:
    """N-D matmul with broadcast batch dims; 1-D operands promoted as numpy does."""
    a, b = list(a), list(b)
    if len(a) == 1:
        a = [1, a[0]]
    if len(b) == 1:
        b = [b[0], 1]
    return prod(broadcast(a[:-2], b[:-2])) * a[-2] * a[-1] * b[-1]


# --------------------------------------------------------------------------------- fusion
def _absorber(r: NodeRecord, records, group_of, tail, consumers, acc) -> int | None:
    """The root of the layer ``r`` fuses into, or None if it starts a layer of its own."""
    if r.group not in ("norm", "activation", "elementwise") or len(r.inputs) != 1:
        return None
    producer = r.inputs[0].producer
    if producer < 0 or consumers[producer] != 1:
        return None
    root = group_of[producer]
    if tail.get(root) != producer or records[root].op_type not in ABSORBING:
        return None
    channels = records[root].channels
    affine = r.op.lower() in ("add", "sub", "mul", "div") and bool(r.params) and bool(channels) \
        and all(e <= channels for e in r.params)
    return root if absorbs(r.group, bool(acc[root]["activation"]), r.is_batch_norm, affine) else None


def fuse(records: list[NodeRecord], model: str) -> pd.DataFrame:
    """Group node records (in execution order) into LayerTable rows."""
    roots, members, _, acc = group_records(
        records, producers=lambda r: (t.producer for t in r.inputs), absorber=_absorber,
        joins_bias=lambda r: r.is_batch_norm or r.op.lower() in ("add", "sub"),
        # a record may carry an activation of its own (TFLite's fused_activation_function)
        own_activation=lambda r: r.activation)
    rows = [_row(i, records, members[root], acc[root], model) for i, root in enumerate(roots)]
    df = pd.DataFrame(rows, columns=list(LAYER_COLUMNS)).astype(LAYER_COLUMNS)
    for c in ("weight_dtype", "activation_dtype"):  # None, never NaN, where the cost model decides
        df[c] = pd.Series([v if isinstance(v, str) else None for v in df[c]], index=df.index, dtype=object)
    return df


def _row(i: int, records: list[NodeRecord], member_ids: list[int], state: dict, model: str) -> dict:
    ops = [records[m] for m in member_ids]
    r, last = ops[0], ops[-1]
    modules: list[str] = []
    for o in ops:
        for n in (o.name, *o.names):
            if n not in modules:
                modules.append(n)
    return {
        "model": model,
        "index": i,
        "name": r.name,
        "op_type": r.op_type,
        "module_type": r.op,
        "aten_ops": "+".join(o.op for o in ops),
        "activation": state["activation"],
        "macs": sum(o.macs for o in ops),
        "weight_elems": state["weight_elems"],
        "input_elems": sum(t.elems for t in r.inputs),
        "output_elems": last.output_elems,
        "input_shape": ", ".join(fmt_shape(t.shape) for t in r.inputs),
        "output_shape": fmt_shape(last.output_shape),
        "reads_model_input": any(t.producer == MODEL_INPUT for t in r.inputs),
        "modules": ",".join(modules),
        "weight_dtype": r.weight_dtype if r.weight_elems or state["weight_elems"] else None,
        "activation_dtype": r.activation_dtype,
        "data_dependent": False,  # a model file is read, never run
    }


def scope_name(node_name: str, fallback: str) -> str:
    """``/blocks/blocks.7/attn/query/Conv`` (torch.onnx's scope naming) -> ``blocks.7.attn.query``;
    any other non-empty name is kept as it is."""
    if not node_name:
        return fallback
    if not node_name.startswith("/"):
        return node_name
    parts = [p for p in node_name.split("/") if p][:-1]  # the last part names the op
    path: list[str] = []
    for p in parts:
        if path and p.startswith(".".join(path) + "."):
            path = p.split(".")
        else:
            path.extend(p.split("."))
    return ".".join(path) or "<root>"
