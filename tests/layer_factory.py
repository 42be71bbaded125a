"""Tiny hand-made LayerTables (and a stand-in hardware profile) for the engine tests.

Each helper returns one LayerTable row as a dict, with the element counts written out the way
the tracer computes them (NCHW, batch 1, "same" padding). ``table(rows)`` stamps ``model`` and
``index`` and gives the columns their LayerTable dtypes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pandas as pd

from roofsweep.layertable import LAYER_COLUMNS


def _shape(*dims: int) -> str:
    return "x".join(str(d) for d in dims)


def conv(name, h, w, c_in, c_out, k=1, stride=1, groups=1, bias=True, act="relu",
         reads_input=False, op_type=None):
    """Conv2d on a 1 x c_in x h x w input; output (h/stride) x (w/stride)."""
    ho, wo = h // stride, w // stride
    kernel = c_out * (c_in // groups) * k * k
    return {
        "name": name,
        "op_type": op_type or ("dwconv2d" if groups == c_in and groups > 1 else "conv2d"),
        "module_type": "Conv2d",
        "aten_ops": "convolution" + (f"+{act}" if act else ""),
        "activation": act,
        "macs": ho * wo * c_out * (c_in // groups) * k * k,
        "weight_elems": kernel + (c_out if bias else 0),
        "input_elems": c_in * h * w,
        "output_elems": c_out * ho * wo,
        "input_shape": _shape(1, c_in, h, w),
        "output_shape": _shape(1, c_out, ho, wo),
        "reads_model_input": reads_input,
    }


def dwconv(name, h, w, c, k=3, stride=1, act="relu"):
    return conv(name, h, w, c, c, k=k, stride=stride, groups=c, act=act)


def fc(name, c_in, c_out, bias=True, act=""):
    return {
        "name": name, "op_type": "fc", "module_type": "Linear", "aten_ops": "addmm",
        "activation": act,
        "macs": c_in * c_out,
        "weight_elems": c_in * c_out + (c_out if bias else 0),
        "input_elems": c_in, "output_elems": c_out,
        "input_shape": _shape(1, c_in), "output_shape": _shape(1, c_out),
        "reads_model_input": False,
    }


def add(name, h, w, c):
    """Residual add: reads two 1 x c x h x w tensors, writes one."""
    s = _shape(1, c, h, w)
    return {
        "name": name, "op_type": "elementwise", "module_type": "", "aten_ops": "add",
        "activation": "", "macs": 0, "weight_elems": 0,
        "input_elems": 2 * c * h * w, "output_elems": c * h * w,
        "input_shape": f"{s}, {s}", "output_shape": s, "reads_model_input": False,
    }


def se_mul(name, h, w, c):
    """SE multiply: tensor (c x h x w) and gate (c x 1 x 1) in, tensor out."""
    return {
        "name": name, "op_type": "elementwise", "module_type": "", "aten_ops": "mul",
        "activation": "", "macs": 0, "weight_elems": 0,
        "input_elems": c * h * w + c, "output_elems": c * h * w,
        "input_shape": f"{_shape(1, c, h, w)}, {_shape(1, c, 1, 1)}",
        "output_shape": _shape(1, c, h, w), "reads_model_input": False,
    }


def gap(name, h, w, c):
    """Global average pool to 1 x c x 1 x 1."""
    return {
        "name": name, "op_type": "pool", "module_type": "AdaptiveAvgPool2d",
        "aten_ops": "mean", "activation": "", "macs": 0, "weight_elems": 0,
        "input_elems": c * h * w, "output_elems": c,
        "input_shape": _shape(1, c, h, w), "output_shape": _shape(1, c, 1, 1),
        "reads_model_input": False,
    }


def other(name, elems, macs=0, weight_elems=0):
    s = _shape(1, elems)
    return {
        "name": name, "op_type": "other", "module_type": "", "aten_ops": "softmax",
        "activation": "", "macs": macs, "weight_elems": weight_elems,
        "input_elems": elems, "output_elems": elems,
        "input_shape": s, "output_shape": s, "reads_model_input": False,
    }


def table(rows, model="m") -> pd.DataFrame:
    """A LayerTable of ``rows`` in execution order for ``model``."""
    defaults = {"object": "", "int64": 0, "bool": False}
    full = []
    for i, r in enumerate(rows):
        row = {c: defaults.get(t, "") for c, t in LAYER_COLUMNS.items()}
        if "modules" in LAYER_COLUMNS:
            row["modules"] = r["name"]
        row.update(r, model=model, index=i)
        full.append(row)
    df = pd.DataFrame(full)
    return df[list(LAYER_COLUMNS)].astype(LAYER_COLUMNS)


def random_table(rng, model, n_layers) -> pd.DataFrame:
    """A random but well-formed LayerTable (mix of op types, wide ranges of MACs and bytes)."""
    rows = []
    for i in range(n_layers):
        kind = rng.choice(["conv", "dw", "fc", "add", "gap"], p=[0.4, 0.25, 0.1, 0.15, 0.1])
        h = int(rng.choice([7, 14, 28, 56, 112]))
        c = int(rng.choice([8, 16, 24, 64, 96, 160, 320]))
        if kind == "conv":
            rows.append(conv(f"l{i}", h, h, c, int(rng.choice([16, 64, 128, 960])), k=int(rng.choice([1, 3])),
                             act=str(rng.choice(["relu", "hardswish", ""]))))
        elif kind == "dw":
            rows.append(dwconv(f"l{i}", h, h, c, k=int(rng.choice([3, 5]))))
        elif kind == "fc":
            rows.append(fc(f"l{i}", c * 4, int(rng.choice([1000, 1280]))))
        elif kind == "add":
            rows.append(add(f"l{i}", h, h, c))
        else:
            rows.append(gap(f"l{i}", h, h, c))
    return table(rows, model)


@dataclass(frozen=True)
class StubProfile:
    """Stand-in for roofsweep.hardware.profile.HardwareProfile: only the fields and methods the
    engine is allowed to use (docs/contracts.md)."""

    name: str
    peak_macs_per_s: dict
    bandwidth_bytes_per_s: float
    default_dtype: str = "int8"
    display_name: str = ""
    kind: str = "other"
    onchip_bytes: float | None = None
    sources: tuple = field(default=())

    def peak(self, dtype: str | None = None) -> float:
        return float(self.peak_macs_per_s[dtype or self.default_dtype])

    def ridge_point(self, dtype: str | None = None) -> float:
        if math.isinf(self.bandwidth_bytes_per_s):
            return 0.0
        return self.peak(dtype) / self.bandwidth_bytes_per_s
