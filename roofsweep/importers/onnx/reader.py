"""Reading an ONNX file: checks, input binding, shape inference and constant folding.

The file is parsed once, without its weights: ``wire.read_model_bytes`` memory-maps it and skips
every large initializer payload at the protobuf wire level (so each weight byte is read zero
times, and a 100 MB model costs a few MB of memory); weights in external data files are never
opened either. Initializer shapes come from their ``dims``. Shape inference runs on a *skeleton* of the graph - large
initializers declared as typed inputs, only small constants (shape vectors, scales) kept as
values - so the weights are not copied either.

Shape-computing subgraphs (``Shape -> Slice -> Concat -> Reshape``, ``ConstantOfShape -> Where ->
Expand``...) are folded to constants with ``onnx.reference`` and inference is repeated until
every shape is known: the exported attention of a MobileNetV4 hybrid needs two rounds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from roofsweep.importers.common import ModelFileError, missing_extra, prod

SMALL = 4096  # a constant of at most this many elements is folded as a value
MIN_OPSET = 7
# Never folded: they carry a weight's dtype (int8 weights of a QDQ graph), or are random.
NO_FOLD = frozenset({"QuantizeLinear", "DequantizeLinear", "DynamicQuantizeLinear", "RandomNormal",
                     "RandomUniform", "RandomNormalLike", "RandomUniformLike", "Multinomial"})
DEFAULT_DOMAINS = ("", "ai.onnx")

# ONNX TensorProto element type -> roofsweep dtype name (roofsweep.units.DTYPE_BYTES)
ONNX_DTYPES = {1: "fp32", 2: "uint8", 3: "int8", 10: "fp16", 11: "fp64", 16: "bf16",
               17: "fp8", 18: "fp8", 19: "fp8", 20: "fp8", 22: "int4", 21: "int4"}


@dataclass
class OnnxGraph:
    path: str
    nodes: list  # NodeProto, execution order
    inputs: list[tuple[str, tuple[int, ...]]]  # network inputs (not initializers), bound shapes
    shapes: dict[str, tuple[int, ...]]  # every tensor whose shape is fully known
    elem_types: dict[str, int]
    values: dict[str, np.ndarray]  # small constants (and folded shape computations)
    weights: dict[str, tuple[int, int, list[int]]]  # large initializers/constants: (elems, elem type, dims)
    folded: set[int] = field(default_factory=set)  # node positions folded into constants
    unfoldable: set[int] = field(default_factory=set)  # constant-input nodes that cannot be folded
    opset: int = 0


def _first_line(e: BaseException) -> str:
    lines = str(e).strip().splitlines()
    return lines[0][:200] if lines else type(e).__name__


def import_onnx(path: str):
    try:
        import onnx
    except ImportError:
        raise missing_extra("onnx", "onnx", path) from None
    return onnx


def load_graph(path: str, input_shapes=None) -> OnnxGraph:
    onnx = import_onnx(path)
    if not Path(path).is_file():
        raise ModelFileError(f"{path}: no such file")
    from roofsweep.importers.onnx.wire import read_model_bytes

    try:  # the weights' bytes are skipped, never read (see wire.py)
        model = onnx.load_model_from_string(read_model_bytes(str(path)))
    except Exception as e:  # a malformed wire format, protobuf's DecodeError and friends
        raise ModelFileError(f"{path}: not a readable ONNX model ({_first_line(e)})") from None
    opset = _check_model(onnx, model, path)
    graph = model.graph
    weights, values = _initializers(onnx, graph)
    init_names = {t.name for t in graph.initializer}
    inputs = _bind_inputs(path, [i for i in graph.input if i.name not in init_names], input_shapes)
    g = OnnxGraph(path, list(graph.node), inputs, {}, {}, values, weights, opset=opset)
    _check_wiring(g, graph, init_names)
    for _ in range(10):
        _infer(onnx, model, g)
        if not _fold(onnx, g):
            break
    return g


def _check_model(onnx, model, path: str) -> int:
    if not model.graph.node:
        raise ModelFileError(f"{path}: the ONNX graph has no nodes (empty, truncated or not an ONNX model)")
    versions = {(o.domain or "ai.onnx"): o.version for o in model.opset_import}
    opset = versions.get("ai.onnx")
    top = onnx.defs.onnx_opset_version()
    if opset is None:
        raise ModelFileError(f"{path}: the model declares no ONNX (ai.onnx) opset")
    if opset > top:
        raise ModelFileError(
            f"{path}: ONNX opset {opset} is newer than the installed onnx {onnx.__version__} knows "
            f"(opsets {MIN_OPSET}-{top}); upgrade onnx"
        )
    if opset < MIN_OPSET:
        raise ModelFileError(f"{path}: ONNX opset {opset} is not supported (roofsweep reads opsets {MIN_OPSET}-{top})")
    return int(opset)


def _initializers(onnx, graph) -> tuple[dict, dict]:
    """Large initializers by shape only; small ones (shape vectors, scales) as values."""
    from onnx import numpy_helper

    weights: dict[str, tuple[int, int, list[int]]] = {}
    values: dict[str, np.ndarray] = {}
    for t in graph.initializer:
        n = prod(t.dims)
        external = t.data_location == onnx.TensorProto.EXTERNAL
        if n <= SMALL and not external:
            values[t.name] = numpy_helper.to_array(t)
        else:
            weights[t.name] = (n, t.data_type, list(t.dims))
    for node in graph.node:  # large Constant nodes hold weights too (older exporters)
        if node.op_type == "Constant" and node.domain in DEFAULT_DOMAINS:
            for a in node.attribute:
                if a.name == "value" and prod(a.t.dims) > SMALL:
                    weights[node.output[0]] = (prod(a.t.dims), a.t.data_type, list(a.t.dims))
    return weights, values


def _normalise_shapes(input_shapes, names: list[str]) -> dict[str, tuple[int, ...]]:
    if input_shapes is None:
        return {}
    if isinstance(input_shapes, dict):
        return {k: tuple(int(d) for d in v) for k, v in input_shapes.items()}
    shapes = list(input_shapes)
    if shapes and all(isinstance(d, (int, np.integer)) for d in shapes):
        shapes = [tuple(shapes)]
    return {n: tuple(int(d) for d in s) for n, s in zip(names, shapes)} | (
        {"": ()} if len(shapes) > len(names) else {})


def _bind_inputs(path: str, graph_inputs, input_shapes) -> list[tuple[str, tuple[int, ...]]]:
    names = [i.name for i in graph_inputs]
    given = _normalise_shapes(input_shapes, names)
    if "" in given or set(given) - set(names):
        extra = sorted(set(given) - set(names) - {""})
        what = f"inputs {extra}" if extra else f"{len(list(input_shapes))} input shapes"
        raise ModelFileError(f"{path}: {what} given, but the model's inputs are {names}")
    bound = []
    for inp in graph_inputs:
        dims = inp.type.tensor_type.shape.dim
        declared = [d.dim_value if d.HasField("dim_value") else (d.dim_param or "?") for d in dims]
        if inp.name in given:
            shape = given[inp.name]
            shown = "x".join(map(str, shape))
            if len(shape) != len(declared):
                raise ModelFileError(f"{path}: input '{inp.name}' has {len(declared)} dims, the shape given ({shown}) has {len(shape)}")
            for k, (want, got) in enumerate(zip(declared, shape)):
                if isinstance(want, int) and want > 0 and want != got or got < 1:
                    raise ModelFileError(f"{path}: input '{inp.name}' dim {k} is {want}, the shape given ({shown}) says {got}")
        else:
            for k, d in enumerate(declared):
                if not isinstance(d, int) or d < 1:
                    raise ModelFileError(
                        f"{path}: input '{inp.name}' dim {k} ('{d}') is dynamic; bind it with --input-shape "
                        f"(the input is {'x'.join(map(str, declared))})"
                    )
            shape = tuple(int(d) for d in declared)
        bound.append((inp.name, tuple(shape)))
    return bound


def _check_wiring(g: OnnxGraph, graph, init_names: set[str]) -> None:
    """Every node reads tensors made before it: a cut-off or corrupt file fails here."""
    known = set(init_names) | {n for n, _ in g.inputs} | {""}
    for i, node in enumerate(g.nodes):
        for name in node.input:
            if name not in known:
                what = node.name or f"#{i}"
                raise ModelFileError(
                    f"{g.path}: node {what} ({node.op_type}) reads '{name}', which no earlier node, "
                    "initializer or input provides (truncated or corrupt file?)"
                )
        known.update(node.output)


def _infer(onnx, model, g: OnnxGraph) -> None:
    from onnx import helper, numpy_helper

    graph = model.graph
    decl = [helper.make_tensor_value_info(n, _input_type(graph, n), s) for n, s in g.inputs]
    decl += [helper.make_tensor_value_info(n, t, dims) for n, (_, t, dims) in g.weights.items()]
    nodes = [n for i, n in enumerate(g.nodes) if i not in g.folded and not (
        n.op_type == "Constant" and n.output[0] in g.weights)]
    consts = [numpy_helper.from_array(np.asarray(v), n) for n, v in g.values.items()]
    outs = [helper.make_tensor_value_info(o.name, o.type.tensor_type.elem_type, None) for o in graph.output]
    skel = helper.make_model(helper.make_graph(nodes, "skeleton", decl, outs, consts),
                             opset_imports=model.opset_import, ir_version=model.ir_version)
    skel.functions.extend(model.functions)
    try:
        inferred = onnx.shape_inference.infer_shapes(skel, data_prop=True)
    except Exception as e:
        raise ModelFileError(f"{g.path}: ONNX shape inference failed: {_first_line(e)}") from None
    ig = inferred.graph
    for vi in list(ig.input) + list(ig.value_info) + list(ig.output):
        tt = vi.type.tensor_type
        if tt.elem_type:
            g.elem_types[vi.name] = tt.elem_type
        if tt.HasField("shape") and all(d.HasField("dim_value") for d in tt.shape.dim):
            g.shapes[vi.name] = tuple(int(d.dim_value) for d in tt.shape.dim)
    for n, v in g.values.items():
        g.shapes[n] = tuple(np.shape(v))


def _input_type(graph, name: str) -> int:
    for i in graph.input:
        if i.name == name:
            return i.type.tensor_type.elem_type
    return 1


def _fold(onnx, g: OnnxGraph) -> bool:
    """Fold every node computable from constants and known shapes; True if any was folded."""
    from onnx import helper
    from onnx.reference import ReferenceEvaluator

    known = set(g.values)
    batch, direct = [], {}
    for i, node in enumerate(g.nodes):
        if i in g.folded or i in g.unfoldable or node.domain not in DEFAULT_DOMAINS \
                or node.output[0] in g.weights or node.op_type in NO_FOLD:
            continue
        if node.op_type in ("Shape", "Size") and node.input[0] in g.shapes:
            direct[i] = _shape_value(node, g.shapes[node.input[0]])
            known.update(node.output)
        elif all(n in known or n == "" for n in node.input):
            batch.append(i)
            known.update(node.output)
    if not batch and not direct:
        return False
    for i, value in direct.items():
        g.values[g.nodes[i].output[0]] = value
        g.folded.add(i)
    if batch:
        needed = {n for i in batch for n in g.nodes[i].input if n} - {o for i in batch for o in g.nodes[i].output}
        feeds = {n: g.values[n] for n in needed}
        outs = [o for i in batch for o in g.nodes[i].output if o]
        sub = helper.make_graph(
            [g.nodes[i] for i in batch], "fold",
            [helper.make_tensor_value_info(n, helper.np_dtype_to_tensor_dtype(np.asarray(v).dtype), np.shape(v))
             for n, v in feeds.items()],
            [helper.make_tensor_value_info(o, 0, None) for o in outs],
        )
        model = helper.make_model(sub, opset_imports=[helper.make_opsetid("", g.opset)])
        try:
            computed = dict(zip(outs, ReferenceEvaluator(model).run(None, feeds)))
        except Exception:  # an op onnx.reference cannot run: those nodes stay unfolded; a shape
            computed = {}  # they hide is then reported as "(shape unknown)", never guessed
        for i in batch:
            node = g.nodes[i]
            vals = [computed.get(o) for o in node.output if o]
            if not all(v is not None and np.size(v) <= SMALL for v in vals):
                g.unfoldable.add(i)  # too large, or not computable: never tried again
            else:
                for o in node.output:
                    if o:
                        g.values[o] = np.asarray(computed[o])
                g.folded.add(i)
    return True


def _shape_value(node, shape: Sequence[int]) -> np.ndarray:
    if node.op_type == "Size":
        return np.array(prod(shape), dtype=np.int64)
    attrs = {a.name: a.i for a in node.attribute}
    start, end = attrs.get("start", 0), attrs.get("end", len(shape))
    return np.array(list(shape)[start:end], dtype=np.int64)
