"""Walking an ONNX graph into node records, and the two multi-node patterns (torch-free).

Every node is one of: *static* (all inputs are weights or constants: a weight's
``DequantizeLinear``, a transposed weight - no cost, its output is a weight), an *alias*
(``formulas.ALIAS_OPS``: views, and the quantize/dequantize pairs of a QDQ graph, whose output is
the same activation with the quantized dtype recorded), zero-cost metadata, a costed node (a
formula in ``formulas.ONNX_FORMULAS``), or unsupported (listed with its count).

Patterns merged before fusion (``merge_patterns``):

* **attention**: ``MatMul(q, k) -> [Mul/Div by a constant, Add of a mask]* -> Softmax ->
  MatMul(., v)``, each intermediate read only by the next, becomes one ``attention`` row (as the
  torch tracer's fused scaled-dot-product attention); a constant scale applied to ``q`` or ``k``
  before the first MatMul (how torch.onnx exports SDPA) is absorbed too. MACs = the two MatMuls'.
* **SiLU**: ``Mul(x, Sigmoid(x))`` becomes one ``silu`` activation (fusable into its producer).
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from roofsweep.importers.common import MODEL_INPUT, UNKNOWN, NodeRecord, Tensor, prod, scope_name
from roofsweep.importers.onnx import formulas as fm
from roofsweep.importers.onnx.reader import DEFAULT_DOMAINS, ONNX_DTYPES, OnnxGraph

_NP_DTYPES = {"int8": "int8", "uint8": "uint8", "float16": "fp16", "float64": "fp64"}
_QUANT_OUT = {"QuantizeLinear", "DynamicQuantizeLinear"}


def _dtype(elem_type: int | None) -> str | None:
    """The dtype recorded in the LayerTable: None for float32, the usual interchange format whose
    deployment dtype the cost model decides; the file's own dtype otherwise."""
    name = ONNX_DTYPES.get(elem_type or 0)
    return None if name in (None, "fp32") else name


class Walk:
    def __init__(self, g: OnnxGraph):
        self.g = g
        self.records: list[NodeRecord] = []
        self.tensors: dict[str, Tensor] = {}
        # weights and constants: name -> (elements, dtype, origin names)
        self.static: dict[str, tuple[int, str | None, frozenset[str]]] = {}
        self.unsupported: Counter[str] = Counter()
        self.zero_cost: Counter[str] = Counter()
        self.param_origins: dict[str, int] = {}
        for name, shape in g.inputs:
            self.tensors[name] = Tensor(MODEL_INPUT, prod(shape), shape, _dtype(g.elem_types.get(name)))
        for name, (elems, etype, _) in g.weights.items():
            self.static[name] = (elems, _dtype(etype), frozenset({name}))
        for name, v in g.values.items():
            self.static[name] = (int(np.size(v)), _NP_DTYPES.get(str(np.asarray(v).dtype)), frozenset({name}))

    def run(self) -> None:
        for i, node in enumerate(self.g.nodes):
            if i in self.g.folded:
                self.zero_cost[node.op_type] += 1
                continue
            self.node(i, node)

    # ---------------------------------------------------------------------------------
    def node(self, i: int, node) -> None:
        op, ins = node.op_type, list(node.input)
        acts = [k for k, n in enumerate(ins) if n in self.tensors]
        if op == "Constant" or not acts:  # weights, constants, a MatMul of two weights
            self._static(node)
            return
        if op in fm.ALIAS_OPS and node.domain in (*DEFAULT_DOMAINS, "com.microsoft"):
            self._alias(node, ins)
            return
        if op in fm.ZERO_COST_OPS:
            self.zero_cost[op] += 1
            for o in node.output:
                self.static[o] = (0, None, frozenset())
            return
        formula = fm.ONNX_FORMULAS.get(op) if node.domain in (*DEFAULT_DOMAINS, "com.microsoft") else None
        if formula is None:
            self._unsupported(node, op if node.domain in DEFAULT_DOMAINS else f"{node.domain}.{op}")
            return
        view = self._view(node, ins)
        if any(view.inputs[k] is None for k in acts) or view.outputs[0] is None:
            self._unsupported(node, f"{op} (shape unknown)")
            return
        self._costed(i, node, ins, acts, formula(view))

    def _view(self, node, ins: list[str]) -> fm.NodeView:
        from onnx import helper

        g = self.g
        in_shapes = [None if not n else (self.tensors[n].shape if n in self.tensors else g.shapes.get(n)) for n in ins]
        out_shapes = [g.shapes.get(o) for o in node.output]
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        attrs = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in attrs.items()}
        v = fm.NodeView(node.op_type, in_shapes, out_shapes, attrs, [g.values.get(n) for n in ins],
                        [bool(n) and n in self.static for n in ins])
        if out_shapes and out_shapes[0] is None:
            fallback = fm.output_shape_fallback(v)
            if fallback is not None:
                out_shapes[0] = tuple(fallback)
        return v

    def _static(self, node) -> None:
        self.zero_cost[node.op_type] += 1
        ins = [n for n in node.input if n]
        if node.op_type == "DequantizeLinear":
            ins = ins[:1]  # the scale and zero point are quantization metadata, not weights
        srcs = [self.static[n] for n in ins if n in self.static]
        origins = frozenset().union(*(s[2] for s in srcs)) if srcs else frozenset()
        elems = sum(self._origin_elems(o) for o in origins)
        dtype = max(srcs, key=lambda s: s[0])[1] if srcs else None
        for o in node.output:
            if o and o not in self.static:
                self.static[o] = (elems, dtype, origins)

    def _origin_elems(self, name: str) -> int:
        if name in self.g.weights:
            return self.g.weights[name][0]
        return int(np.size(self.g.values[name])) if name in self.g.values else 0

    def _alias(self, node, ins: list[str]) -> None:
        self.zero_cost[node.op_type] += 1
        src = self.tensors[ins[0]] if ins[0] in self.tensors else next(self.tensors[n] for n in ins if n in self.tensors)
        for o in node.output:
            if not o:
                continue
            shape = self.g.shapes.get(o, src.shape)
            elems = prod(shape) if node.op_type in ("Slice", "Split") else min(src.elems, prod(shape))
            dtype = src.dtype
            if node.op_type in _QUANT_OUT:
                dtype = _dtype(self.g.elem_types.get(o)) or ("uint8" if node.op_type == "DynamicQuantizeLinear" else None)
            self.tensors[o] = Tensor(src.producer, elems, tuple(shape), dtype)
            if node.op_type == "DynamicQuantizeLinear":
                break  # its other outputs are the scale and zero point

    def _unsupported(self, node, key: str) -> None:
        self.unsupported[key] += 1
        for o in node.output:
            if o:
                shape = self.g.shapes.get(o, ())
                self.tensors[o] = Tensor(UNKNOWN, prod(shape) if shape else 0, tuple(shape))

    def _costed(self, i: int, node, ins: list[str], acts: list[int], cost: fm.Cost) -> None:
        out_shape = self.g.shapes.get(node.output[0]) or fm.output_shape_fallback(self._view(node, ins)) or ()
        slots = [k for k in cost.weight_slots if k is not None and k < len(ins) and ins[k] in self.static]
        seen: set[str] = set()
        elems, dtype, big = 0, None, -1
        params = []
        for k in slots:
            e, dt, origins = self.static[ins[k]]
            params.append(e)
            if e <= 1:
                continue  # a scalar constant (an attention scale, an epsilon) is no weight
            for o in origins - seen:
                seen.add(o)
                self.param_origins[o] = self._origin_elems(o)
            elems += e
            if e > big:
                big, dtype = e, dt
        index = len(self.records)
        inputs = [self.tensors[ins[k]] for k in acts]
        act_dtype = next((t.dtype for t in inputs if t.dtype), None)
        rec = NodeRecord(
            index=index, op=node.op_type, group=cost.group, name=scope_name(node.name, f"{node.op_type}_{i}"),
            op_type=cost.op_type, activation=cost.activation, macs=int(cost.macs),
            weight_elems=int(cost.weight_elems if cost.weight_elems is not None else elems),
            has_bias=cost.has_bias, channels=cost.channels, inputs=inputs, params=params,
            output_elems=prod(out_shape), output_shape=tuple(out_shape),
            weight_dtype=dtype, activation_dtype=act_dtype, is_batch_norm=cost.is_batch_norm,
        )
        self.records.append(rec)
        for o in node.output:
            if o:
                shape = self.g.shapes.get(o, out_shape)
                self.tensors[o] = Tensor(index, prod(shape), tuple(shape), _dtype(self.g.elem_types.get(o)))
