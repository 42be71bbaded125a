"""TFLite files as models: ``read_tflite(path, input_shapes) -> TraceResult`` (torch-free, no
TensorFlow: the ``tflite`` package's generated flatbuffer accessors; the ``tflite`` extra).

The first subgraph is walked in operator order. Tensor shapes are read from the file (TFLite
stores them all); weights are the tensors no operator produces and no input feeds - their
buffers are never read. Per-tensor types give the rows' dtypes: an int8 model's rows carry
``weight_dtype``/``activation_dtype`` ``int8`` and are costed at 1 byte per element whatever the
cost model's dtype; float32 rows are left to the cost model. Custom operators are refused with a
one-line error naming them (their cost is unknowable from the file).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from roofsweep.importers.common import (
    MODEL_INPUT, UNKNOWN, ModelFileError, NodeRecord, Tensor, fuse, missing_extra, prod,
)
from roofsweep.importers.patterns import OpNames, merge_patterns
from roofsweep.importers.tflite import formulas as fm
from roofsweep.layertable import TraceResult

TFLITE_NAMES = OpNames(
    softmax=frozenset({"SOFTMAX"}), scale=frozenset({"MUL", "DIV"}), add=frozenset({"ADD"}),
    sigmoid=frozenset({"LOGISTIC"}), mul=frozenset({"MUL"}),
)
# TFLite TensorType -> roofsweep dtype; float32 (and unknown types) are None: the cost model decides
TFLITE_DTYPES = {1: "fp16", 3: "uint8", 9: "int8", 10: "fp64", 17: "int4", 18: "bf16"}


def _first_line(e: BaseException) -> str:
    lines = str(e).strip().splitlines()
    return lines[0][:200] if lines else type(e).__name__


def read_tflite(path: str, input_shapes=None, label: str | None = None) -> TraceResult:
    """Cost a ``.tflite`` file. ``input_shapes`` (optional) must match the shapes the file
    stores: TFLite graphs are shape-specialised when converted."""
    try:
        import tflite
    except ImportError:
        raise missing_extra("tflite", "tflite", path) from None
    p = Path(str(path))
    if not p.is_file():
        raise ModelFileError(f"{path}: no such file")
    buf = p.read_bytes()
    if len(buf) < 8 or buf[4:8] != b"TFL3":
        raise ModelFileError(f"{path}: not a TFLite model (no TFL3 flatbuffer identifier)")
    try:
        walk = _Walk(tflite, tflite.Model.GetRootAsModel(buf, 0), str(path))
        walk.run(input_shapes)
    except ModelFileError:
        raise
    except Exception as e:  # a flatbuffer cut short reads past its end
        raise ModelFileError(f"{path}: truncated or corrupt TFLite file ({type(e).__name__}: {_first_line(e)})") from None
    label = label or p.name
    records = merge_patterns(walk.records, TFLITE_NAMES)
    return TraceResult(
        model=label, layers=fuse(records, label), params=int(sum(walk.param_elems.values())),
        input_shape=walk.inputs[0][1] if walk.inputs else (),
        unsupported_ops=dict(walk.unsupported), zero_cost_ops=dict(walk.zero_cost),
        meta={"source": "tflite", "path": str(path), "inputs": {n: list(s) for n, s in walk.inputs}},
    )


def _enum_names(cls) -> dict[int, str]:
    return {v: k for k, v in vars(cls).items() if not k.startswith("_") and isinstance(v, int)}


class _Walk:
    def __init__(self, tflite, model, path: str):
        self.tflite, self.model, self.path = tflite, model, path
        self.records: list[NodeRecord] = []
        self.unsupported: Counter[str] = Counter()
        self.zero_cost: Counter[str] = Counter()
        self.param_elems: dict[int, int] = {}
        self.inputs: list[tuple[str, tuple[int, ...]]] = []
        ops = _enum_names(tflite.BuiltinOperator)
        self.opcodes: list[str] = []
        for i in range(model.OperatorCodesLength()):
            oc = model.OperatorCodes(i)
            name = ops.get(max(oc.BuiltinCode(), oc.DeprecatedBuiltinCode()), "UNKNOWN")
            if name == "CUSTOM":
                name = "CUSTOM:" + (oc.CustomCode() or b"?").decode(errors="replace")
            self.opcodes.append(name)
        self.option_classes = {v: getattr(tflite, k, None) for v, k in _enum_names(tflite.BuiltinOptions).items()}

    def run(self, input_shapes) -> None:
        if self.model.SubgraphsLength() < 1:
            raise ModelFileError(f"{self.path}: the TFLite model has no subgraph")
        sg = self.model.Subgraphs(0)
        ops = [sg.Operators(i) for i in range(sg.OperatorsLength())]
        custom = sorted({self.opcodes[o.OpcodeIndex()][7:] for o in ops if self.opcodes[o.OpcodeIndex()].startswith("CUSTOM:")})
        if custom:
            raise ModelFileError(f"{self.path}: custom operator(s) {', '.join(custom)} have no known cost; "
                                 "roofsweep reads builtin TFLite operators only")
        self.sg = sg
        self.shape = {}
        self.ttype = {}
        for t in range(sg.TensorsLength()):
            ten = sg.Tensors(t)
            self.shape[t] = tuple(int(d) for d in ten.ShapeAsNumpy()) if ten.ShapeLength() else ()
            self.ttype[t] = ten.Type()
        produced = {int(o) for op in ops for o in op.OutputsAsNumpy()}
        self.acts: dict[int, Tensor] = {}
        self._bind_inputs(sg, input_shapes)
        self.const = {t for t in self.shape if t not in produced and t not in self.acts}
        self.static_dtype = {t: TFLITE_DTYPES.get(self.ttype[t]) for t in self.const}
        self.static_origin = {t: frozenset({t}) for t in self.const}
        for i, op in enumerate(ops):
            self._op(i, op)

    def _bind_inputs(self, sg, input_shapes) -> None:
        given = list(input_shapes) if input_shapes is not None else []
        if given and all(isinstance(d, int) for d in given):
            given = [tuple(given)]
        if isinstance(input_shapes, dict):
            given = []
        for k in range(sg.InputsLength()):
            t = int(sg.Inputs(k))
            name = (sg.Tensors(t).Name() or b"").decode(errors="replace")
            shape = self.shape[t]
            want = input_shapes.get(name) if isinstance(input_shapes, dict) else (given[k] if k < len(given) else None)
            if want is not None and tuple(want) != shape:
                raise ModelFileError(
                    f"{self.path}: input '{name}' is stored as {'x'.join(map(str, shape))}; a TFLite graph is "
                    f"converted for fixed shapes, so --input-shape {'x'.join(map(str, want))} cannot be applied"
                )
            self.inputs.append((name, shape))
            self.acts[t] = Tensor(MODEL_INPUT, prod(shape), shape, TFLITE_DTYPES.get(self.ttype[t]))

    def _options(self, op) -> dict:
        cls = self.option_classes.get(op.BuiltinOptionsType())
        table = op.BuiltinOptions()
        if cls is None or table is None:
            return {}
        o = cls()
        o.Init(table.Bytes, table.Pos)
        out = {}
        if hasattr(o, "FusedActivationFunction"):
            out["fused_activation"] = o.FusedActivationFunction()
        for attr, key in (("AdjX", "adj_x"), ("AdjY", "adj_y")):
            if hasattr(o, attr):
                out[key] = bool(getattr(o, attr)())
        return out

    def _op(self, i: int, op) -> None:
        name = self.opcodes[op.OpcodeIndex()]
        ins = [int(t) for t in op.InputsAsNumpy()] if op.InputsLength() else []
        outs = [int(t) for t in op.OutputsAsNumpy()] if op.OutputsLength() else []
        acts = [k for k, t in enumerate(ins) if t in self.acts]
        if not acts or name in fm.ZERO_COST_OPS:
            self.zero_cost[name] += 1
            origin = frozenset().union(*(self.static_origin.get(t, frozenset()) for t in ins[:1] if t >= 0))
            for t in outs:  # a DEQUANTIZE of fp16 weights: still those weights
                self.const.add(t)
                self.static_origin[t] = origin
                self.static_dtype[t] = next((self.static_dtype.get(s) for s in ins[:1] if s >= 0), None)
            return
        if name in fm.ALIAS_OPS:
            self.zero_cost[name] += 1
            src = self.acts[ins[acts[0]]]
            for t in outs:
                dtype = TFLITE_DTYPES.get(self.ttype[t]) if name == "QUANTIZE" else src.dtype
                shape = self.shape[t]
                elems = prod(shape) if name in ("SLICE", "STRIDED_SLICE", "SPLIT", "SPLIT_V") else min(src.elems, prod(shape))
                self.acts[t] = Tensor(src.producer, elems, shape, dtype)
            return
        formula = fm.TFLITE_FORMULAS.get(name)
        if formula is None:
            self.unsupported[name] += 1
            for t in outs:
                self.acts[t] = Tensor(UNKNOWN, prod(self.shape[t]), self.shape[t])
            return
        view = fm.TfliteView(name, [self.shape[t] if t >= 0 else None for t in ins],
                             [self.shape[t] for t in outs], [t >= 0 and t in self.const for t in ins],
                             self._options(op))
        self._record(i, name, ins, outs, acts, formula(view))

    def _record(self, i, name, ins, outs, acts, cost: fm.TfliteCost) -> None:
        elems, dtype, big, params = 0, None, -1, []
        for k in cost.weight_slots:
            if k >= len(ins) or ins[k] < 0 or ins[k] not in self.const:
                continue
            e = prod(self.shape[ins[k]])
            params.append(e)
            if e <= 1:
                continue
            for o in self.static_origin.get(ins[k], frozenset({ins[k]})):
                self.param_elems[o] = prod(self.shape[o])
            elems += e
            if e > big:
                big, dtype = e, self.static_dtype.get(ins[k])
        out = outs[0]
        inputs = [self.acts[ins[k]] for k in acts]
        index = len(self.records)
        tname = (self.sg.Tensors(out).Name() or b"").decode(errors="replace") or f"{name}_{i}"
        self.records.append(NodeRecord(
            index=index, op=name, group=cost.group, name=tname, op_type=cost.op_type,
            activation=cost.activation, macs=int(cost.macs), weight_elems=elems, has_bias=cost.has_bias,
            channels=cost.channels, inputs=inputs, params=params, output_elems=prod(self.shape[out]),
            output_shape=self.shape[out], weight_dtype=dtype,
            activation_dtype=next((t.dtype for t in inputs if t.dtype), None),
        ))
        for t in outs:
            self.acts[t] = Tensor(index, prod(self.shape[t]), self.shape[t], TFLITE_DTYPES.get(self.ttype[t]))


def input_shapes(path: str) -> list[tuple[str, tuple[int, ...]]]:
    """The stored shapes of the first subgraph's inputs (for naming a model before import)."""
    import tflite

    buf = Path(str(path)).read_bytes()
    if len(buf) < 8 or buf[4:8] != b"TFL3":
        raise ValueError("no TFL3 identifier")
    sg = tflite.Model.GetRootAsModel(buf, 0).Subgraphs(0)
    out = []
    for k in range(sg.InputsLength()):
        t = sg.Tensors(int(sg.Inputs(k)))
        out.append(((t.Name() or b"").decode(errors="replace"), tuple(int(d) for d in t.ShapeAsNumpy())))
    return out
