"""The LayerTable contract between the tracer and everything downstream (torch-free).

A LayerTable is a ``pandas.DataFrame`` with one row per *fused* layer in execution order, the way
an inference runtime would run the model: BatchNorm folded into its conv, an activation fused
into its producer. Element counts, not bytes: the trace is dtype-agnostic and the cost model
(``roofsweep.engine.costmodel``) turns elements into bytes.

Columns
-------
model          str   model label (e.g. ``mnv4-conv-m`` or ``mnv2@0.5x/160``)
index          int   0..n-1, execution order
name           str   module path of the layer's producing op (``blocks.3.expand.conv``);
                     ``<root>`` for ops called directly in the top module's forward
op_type        str   one of OP_TYPES
module_type    str   class name of that module (``Conv2d``), ``""`` if none
aten_ops       str   the aten ops fused into the row, ``+``-joined (``convolution+_native_batch_norm_legit_no_training+relu``)
activation     str   the activation fused into the layer (``relu``, ``hardswish``, ``gelu``...), ``""`` if none
macs           int   multiply-accumulates (1 MAC = 2 FLOPs)
weight_elems   int   parameter elements the layer reads (conv weights + bias, BN folded into a bias)
input_elems    int   activation elements read: every non-parameter tensor input (both operands of a
                     residual add; tensor and gate of an SE multiply)
output_elems   int   activation elements written
input_shape    str   shapes of the activation inputs, ``1x3x224x224``; several joined by ``, ``
output_shape   str   shape of the output
reads_model_input bool the layer reads the network's input tensor (the stem; RGB padding applies)
modules        str   comma-joined module paths of every op fused into the row (for matching measured
                     per-module latency to rows)
weight_dtype   str|None  element dtype of the row's weights as stored in the model file (a name in
                     ``roofsweep.units.DTYPE_BYTES``: ``int8``, ``uint8``, ``fp16``, ``fp32``...);
                     None = decided by the cost model. The torch tracer always writes None; the
                     ONNX/TFLite importers write what the file stores (an int8 TFLite conv: int8)
activation_dtype str|None element dtype of the row's activation inputs and outputs, same rules
data_dependent bool  the row was traced on real tensors holding random data, because the model's
                     control flow reads tensor values (detection: ``nonzero``, ``nms``); its
                     shapes - and so its costs - depend on that input's detections

``op_type`` values: ``conv2d`` (dense or grouped convolution, 1-D convolutions included),
``dwconv2d`` (depthwise: groups == in_channels), ``conv3d`` (any convolution with a 3-D kernel:
video networks), ``fc`` (linear layers, and 1x1 convs applied to a 1x1 map, which are matrix-vector
products), ``matmul`` (activation x activation products outside attention), ``attention`` (fused
scaled-dot-product attention), ``elementwise`` (adds, multiplies, standalone activations), ``pool``,
``other`` (norms that could not be folded, softmax, resampling...).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd

OP_TYPES = ("conv2d", "dwconv2d", "conv3d", "fc", "matmul", "attention", "elementwise", "pool", "other")
# The op types that do arithmetic (MACs); the others only move tensors.
COMPUTE_OP_TYPES = ("conv2d", "dwconv2d", "conv3d", "fc", "matmul", "attention")

# The values of the ``activation`` column: every activation a producer (tracer or importer) may
# report as fused into a layer. The cost model validates ``unfused_activations`` against this set,
# so the engine never needs to import a tracer to know the vocabulary.
ACTIVATIONS = frozenset(
    {
        "relu", "relu6", "hardtanh", "hardswish", "hardsigmoid", "gelu", "silu", "sigmoid",
        "tanh", "leaky_relu", "elu", "selu", "celu", "mish", "softplus", "prelu", "threshold",
        "clamp", "clamp_min", "clamp_max", "log_sigmoid",
    }
)

LAYER_COLUMNS: dict[str, str] = {
    "model": "object",
    "index": "int64",
    "name": "object",
    "op_type": "object",
    "module_type": "object",
    "aten_ops": "object",
    "activation": "object",
    "macs": "int64",
    "weight_elems": "int64",
    "input_elems": "int64",
    "output_elems": "int64",
    "input_shape": "object",
    "output_shape": "object",
    "reads_model_input": "bool",
    "modules": "object",
    "weight_dtype": "object",
    "activation_dtype": "object",
    "data_dependent": "bool",
}

# Columns a LayerTable may lack (older cache entries, hand-made tables); they default to None.
OPTIONAL_COLUMNS = ("weight_dtype", "activation_dtype")



def absorbs(group: str, has_activation: bool, is_batch_norm: bool, affine_fits: bool) -> bool:
    """The fusion convention every producer of a LayerTable (tracer, importers) applies once an
    op's single input comes from the last op of a conv/fc/matmul layer used nowhere else: an
    activation joins a layer that has none yet; nothing is folded across a nonlinearity; a
    BatchNorm folds into the layer; an elementwise add/sub/mul/div joins only as a per-channel
    bias or scale held in parameters (``affine_fits``)."""
    if group == "activation":
        return not has_activation
    if has_activation:
        return False  # folding a norm or affine across a nonlinearity is not exact
    if group == "norm":
        return is_batch_norm
    return affine_fits

def group_records(records, producers, absorber, joins_bias, own_activation):
    """The fusion loop every producer of a LayerTable shares (the tracer's ops, the importers'
    nodes, in execution order): each record either starts a layer or is absorbed into one.

    ``producers(r)``: the indices of the records ``r`` reads (negative: not a record);
    ``absorber(r, records, group_of, tail, consumers, acc)``: the root ``r`` fuses into, or None
    (built on ``absorbs``); ``joins_bias(r)``: an absorbed non-activation record that adds a
    per-channel bias (a BatchNorm, an add/sub); ``own_activation(r)``: the activation a root
    carries itself. Returns ``(roots, members, tail, acc)``: the root records in order, each
    root's member indices, its last member, and its state (``weight_elems``, ``has_bias``,
    ``activation``).
    """
    consumers = [0] * len(records)
    for r in records:
        for p in producers(r):
            if p >= 0:
                consumers[p] += 1
    group_of: list[int] = [0] * len(records)
    tail: dict[int, int] = {}  # root index -> index of the last record in its layer
    members: dict[int, list[int]] = {}
    acc: dict[int, dict] = {}  # root -> mutable layer state
    roots: list[int] = []
    for r in records:
        root = absorber(r, records, group_of, tail, consumers, acc)
        if root is None:
            group_of[r.index] = tail[r.index] = r.index
            members[r.index] = [r.index]
            acc[r.index] = {"weight_elems": r.weight_elems, "has_bias": r.has_bias, "activation": own_activation(r)}
            roots.append(r.index)
            continue
        state = acc[root]
        group_of[r.index] = root
        tail[root] = r.index
        members[root].append(r.index)
        if r.group == "activation":
            state["activation"] = r.activation
        elif not state["has_bias"] and joins_bias(r):
            state["weight_elems"] += records[root].channels
            state["has_bias"] = True
    return roots, members, tail, acc


def empty_layer_table() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=t) for c, t in LAYER_COLUMNS.items()})


def validate_layer_table(df: pd.DataFrame) -> None:
    """Internal invariant check (raises AssertionError): columns present, counts non-negative."""
    missing = [c for c in LAYER_COLUMNS if c not in df.columns]
    assert not missing, f"LayerTable lacks columns {missing}"
    from roofsweep.units import DTYPE_BYTES

    for c in OPTIONAL_COLUMNS:
        bad = {v for v in df[c] if isinstance(v, str) and v and v not in DTYPE_BYTES}  # None/""/NaN: unset
        assert not bad, f"{c} values not in DTYPE_BYTES: {sorted(map(str, bad))}"
    assert set(df["op_type"]).issubset(OP_TYPES), set(df["op_type"]) - set(OP_TYPES)
    for c in ("macs", "weight_elems", "input_elems", "output_elems"):
        assert (df[c] >= 0).all(), c


@dataclass
class TraceResult:
    """What tracing one model returns: the LayerTable plus what could not be costed.

    ``unsupported_ops`` maps aten op name -> number of calls that have no cost formula; they are
    *not* in ``layers`` and the totals are incomplete by that much (reporters say so).
    ``zero_cost_ops`` maps the named view/reshape-like ops seen -> count (costed at zero by design).
    ``meta`` holds what the producer knows about the run: for a traced torch model
    ``input_shapes`` (every positional input), ``input_source`` (where the input size came from
    when none was given: ``timm pretrained_cfg input_size``, torchvision's weights transforms,
    ``default``), ``data_dependent`` and ``derived_weight_ops``.
    """

    model: str
    layers: pd.DataFrame
    params: int
    input_shape: tuple[int, ...]
    unsupported_ops: dict[str, int] = field(default_factory=dict)
    zero_cost_ops: dict[str, int] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def macs(self) -> int:
        return int(self.layers["macs"].sum())

    # ---- (de)serialisation for the on-disk cache; plain JSON, no pickle -----------------
    def to_json(self) -> str:
        d = asdict(self)
        d["layers"] = {c: self.layers[c].tolist() for c in self.layers.columns}
        d["input_shape"] = list(self.input_shape)
        return json.dumps(d)

    @classmethod
    def from_json(cls, text: str) -> "TraceResult":
        """Rebuild a TraceResult; ``ValueError`` for any document of the wrong shape."""
        d = json.loads(text)
        if not isinstance(d, dict) or not isinstance(d.get("layers"), dict):
            raise ValueError("not a TraceResult document")
        missing = [c for c in LAYER_COLUMNS if c not in d["layers"] and c not in OPTIONAL_COLUMNS]
        if missing:
            raise ValueError(f"TraceResult document lacks columns {missing}")
        layers = pd.DataFrame(d.pop("layers"))
        if layers.empty:
            layers = empty_layer_table()
        else:
            for c in OPTIONAL_COLUMNS:  # entries written before per-row dtypes existed
                if c not in layers.columns:
                    layers[c] = None
            layers = layers.astype({c: t for c, t in LAYER_COLUMNS.items() if c in layers.columns})
            layers = layers[[c for c in LAYER_COLUMNS] + [c for c in layers.columns if c not in LAYER_COLUMNS]]
        d["input_shape"] = tuple(d["input_shape"])
        return cls(layers=layers, **d)
