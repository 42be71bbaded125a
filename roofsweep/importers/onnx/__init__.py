"""ONNX files as models: ``read_onnx(path, input_shapes) -> TraceResult`` (needs the ``onnx``
extra; torch-free). See ``reader`` (parsing, shapes), ``formulas`` (costs by op type), ``build``
(the graph walk) and ``roofsweep.importers.patterns`` (attention, SiLU)."""

from __future__ import annotations

from roofsweep.importers.common import fuse
from roofsweep.importers.patterns import OpNames, merge_patterns
from roofsweep.layertable import TraceResult

ONNX_NAMES = OpNames(
    softmax=frozenset({"Softmax"}), scale=frozenset({"Mul", "Div"}), add=frozenset({"Add"}),
    sigmoid=frozenset({"Sigmoid"}), mul=frozenset({"Mul"}), erf=frozenset({"Erf"}),
)


def read_onnx(path: str, input_shapes=None, label: str | None = None) -> TraceResult:
    """Cost an ONNX file: one LayerTable row per fused layer, as the torch tracer would give.

    ``input_shapes``: None (every input dimension must be static in the file), one shape for a
    single-input model, a list of shapes (one per graph input, in order) or ``{name: shape}``.
    Dynamic dimensions (``batch``, ``height``...) must be bound this way.
    """
    from roofsweep.importers.onnx.build import Walk
    from roofsweep.importers.onnx.reader import load_graph

    g = load_graph(str(path), input_shapes)
    walk = Walk(g)
    walk.run()
    records = merge_patterns(walk.records, ONNX_NAMES)
    label = label or _stem(path)
    return TraceResult(
        model=label,
        layers=fuse(records, label),
        params=int(sum(walk.param_origins.values())),
        input_shape=tuple(g.inputs[0][1]) if g.inputs else (),
        unsupported_ops=dict(walk.unsupported),
        zero_cost_ops=dict(walk.zero_cost),
        meta={"source": "onnx", "path": str(path), "opset": g.opset,
              "inputs": {n: list(s) for n, s in g.inputs}},
    )


def _stem(path) -> str:
    from pathlib import Path

    return Path(str(path)).name
