"""Group traced ops into layers the way inference runtimes fuse them (torch-free).

Rules, applied in execution order. An op joins the layer that produced its only activation input
when that producer's output has no other consumer and the layer is a conv / depthwise / FC /
matmul layer:

* **BatchNorm folds** into the conv or FC before it (its scale multiplies the weights, its shift
  becomes a bias: ``C_out`` extra weight elements if the layer had no bias).
* **A per-channel affine** (``add``/``mul`` of a parameter no larger than the channel count -
  a bias, or MNv4's layer scale) folds the same way, before any activation.
* **An activation fuses** into its producer (one per layer); the ``activation`` column names it.

Everything else starts its own row: residual adds, SE multiplies, pools, standalone activations
(e.g. a hard-swish after an add), norms that follow no conv. A cost model may later split a fused
activation back out (the paper preset does this for hard-swish).
"""

from __future__ import annotations

import pandas as pd

from roofsweep.layertable import LAYER_COLUMNS, absorbs, group_records
from roofsweep.trace.opsets import BATCH_NORM_OPS
from roofsweep.trace.tracer import MODEL_INPUT, OpRecord

_ABSORBING = frozenset({"conv2d", "dwconv2d", "conv3d", "fc", "matmul"})


def _fmt_shape(shape: tuple[int, ...]) -> str:
    return "x".join(str(int(s)) for s in shape)


def fuse(records: list[OpRecord], model: str, data_dependent: bool = False) -> pd.DataFrame:
    """LayerTable rows of a trace; ``data_dependent`` marks a trace run on real tensors."""
    roots, members, tail, acc = group_records(
        records, producers=lambda r: (p for p, _, _ in r.inputs), absorber=_absorber,
        joins_bias=lambda r: r.op in BATCH_NORM_OPS or r.op in ("add", "sub"),
        own_activation=lambda r: r.activation if r.group == "activation" else "")

    rows = []
    for i, root in enumerate(roots):
        r = records[root]
        last = records[tail[root]]
        ops = [records[m] for m in members[root]]
        modules: list[str] = []
        for o in ops:
            if o.module not in modules:
                modules.append(o.module)
        rows.append(
            {
                "model": model,
                "index": i,
                "name": r.module,
                "op_type": r.op_type,
                "module_type": r.module_type,
                "aten_ops": "+".join(o.op for o in ops),
                "activation": acc[root]["activation"],
                "macs": sum(o.macs for o in ops),
                "weight_elems": acc[root]["weight_elems"],
                "input_elems": sum(e for _, e, _ in r.inputs),
                "output_elems": last.output_elems,
                "input_shape": ", ".join(_fmt_shape(s) for _, _, s in r.inputs),
                "output_shape": _fmt_shape(last.output_shape),
                "reads_model_input": any(p == MODEL_INPUT for p, _, _ in r.inputs),
                "modules": ",".join(modules),
                "weight_dtype": None, "activation_dtype": None,  # decided by the cost model
                "data_dependent": data_dependent,
            }
        )
    df = pd.DataFrame(rows, columns=list(LAYER_COLUMNS))
    return df.astype(LAYER_COLUMNS)


def _absorber(r, records, group_of, tail, consumers, acc) -> int | None:
    """The root of the layer ``r`` fuses into, or None if it starts a layer of its own."""
    if r.group not in ("norm", "activation", "elementwise") or len(r.inputs) != 1:
        return None
    producer = r.inputs[0][0]
    if producer < 0 or consumers[producer] != 1:
        return None
    root = group_of[producer]
    if tail.get(root) != producer or records[root].op_type not in _ABSORBING:
        return None
    channels = records[root].channels
    affine = (r.op in ("add", "sub", "mul", "div") and bool(r.params) and bool(channels)
              and all(elems <= channels for elems, _ in r.params))  # a per-channel bias or scale
    return root if absorbs(r.group, bool(acc[root]["activation"]), r.op in BATCH_NORM_OPS, affine) else None
