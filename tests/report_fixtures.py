"""Synthetic DataFrames that follow docs/contracts.md exactly, for testing the reporters.

The numbers are made up but consistent: per-layer times follow the roofline formula
``time = max(macs / peak, bytes / bandwidth)`` and each sweep row's latency is the sum of its
model's per-layer times, so a reporter that re-derives one from the other sees agreement.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from roofsweep.layertable import LAYER_COLUMNS

# (label, family, display_name, width, resolution, top1, n_blocks, width factor)
MODELS = [
    ("mnv1", "MobileNetV1", "MobileNetV1", 1.0, 224, 74.0, 13, 1.0),
    ("mnv2-0.5x", "MobileNetV2", "MobileNetV2-0.5x", 0.5, 224, 66.0, 17, 0.5),
    ("mnv2", "MobileNetV2", "MobileNetV2", 1.0, 224, 73.4, 17, 1.0),
    ("mnv2-1.5x", "MobileNetV2", "MobileNetV2-1.5x", 1.5, 224, 76.8, 17, 1.5),
    ("mnv3-large", "MobileNetV3", "MobileNetV3-Large", 1.0, 224, 75.5, 15, 1.0),
    ("mnv4-conv-s", "MobileNetV4", "MNv4-Conv-S", 1.0, 224, 73.8, 10, 0.8),
    ("mnv4-conv-m", "MobileNetV4", "MNv4-Conv-M", 1.0, 256, 79.9, 14, 1.3),
]
# (name, ridge point MAC/byte) - the paper's fitted ridge points.
PROFILES = [("pixel6-cpu", 31.2), ("s23-cpu", 39.7), ("pixel4-dsp", 347.3), ("pixel8-edgetpu", 433.8)]
PAPER_RPS = (0.0, 5.0, 50.0, 500.0)
BANDWIDTH = 40e9  # the paper preset: 40 GB/s for every panel
RP0_PEAK = 200e9


def layer_table(model: str, n_blocks: int = 6, scale: float = 1.0, names=None) -> pd.DataFrame:
    """A LayerTable: stem conv, then (expand 1x1 conv, depthwise, project 1x1 conv, add) blocks,
    global pool and a final FC - the MobileNet shape, with memory-heavy layers late."""
    rows = []
    h, c = 112, int(32 * scale)

    def add(name, op, macs, w, i, o, ishape, oshape, act=""):
        rows.append(dict(
            model=model, index=len(rows), name=name, op_type=op,
            module_type={"conv2d": "Conv2d", "dwconv2d": "Conv2d", "fc": "Linear"}.get(op, ""),
            aten_ops="convolution" if op in ("conv2d", "dwconv2d") else op, activation=act,
            macs=int(macs), weight_elems=int(w), input_elems=int(i), output_elems=int(o),
            input_shape=ishape, output_shape=oshape, reads_model_input=(len(rows) == 0),
        ))

    add("stem.conv", "conv2d", h * h * c * 27, 27 * c + c, 3 * 224 * 224, c * h * h,
        "1x3x224x224", f"1x{c}x{h}x{h}", "relu")
    for b in range(n_blocks):
        if b % 3 == 2 and h > 7:
            h //= 2
        cin, cexp, cout = c, c * 4, c + int(8 * scale)
        hw = h * h
        add(f"blocks.{b}.expand.conv", "conv2d", hw * cin * cexp, cin * cexp, cin * hw, cexp * hw,
            f"1x{cin}x{h}x{h}", f"1x{cexp}x{h}x{h}", "relu")
        add(f"blocks.{b}.dw.conv", "dwconv2d", hw * cexp * 9, cexp * 9, cexp * hw, cexp * hw,
            f"1x{cexp}x{h}x{h}", f"1x{cexp}x{h}x{h}", "relu")
        add(f"blocks.{b}.project.conv", "conv2d", hw * cexp * cout, cexp * cout, cexp * hw, cout * hw,
            f"1x{cexp}x{h}x{h}", f"1x{cout}x{h}x{h}")
        if b % 2 == 1:
            add(f"blocks.{b}.add", "elementwise", 0, 0, 2 * cout * hw, cout * hw,
                f"1x{cout}x{h}x{h}, 1x{cout}x{h}x{h}", f"1x{cout}x{h}x{h}")
        c = cout
    add("pool", "pool", 0, 0, c * h * h, c, f"1x{c}x{h}x{h}", f"1x{c}x1x1")
    add("classifier", "fc", c * 1280 + 1280 * 1000, c * 1280 + 1280 * 1000, c, 1000,
        f"1x{c}", "1x1000")
    df = pd.DataFrame(rows)
    df["modules"] = df["name"]
    for col, dtype in LAYER_COLUMNS.items():  # any column the contract adds later: an empty default
        if col not in df:
            df[col] = pd.Series([False if dtype == "bool" else 0 if "int" in dtype else ""] * len(df))
    df = df.astype(LAYER_COLUMNS)
    if names:  # override layer names (e.g. to test escaping)
        for i, n in names.items():
            df.loc[i, "name"] = n
    return df


def costed(layers: pd.DataFrame, bytes_per_elem: float = 1.0) -> pd.DataFrame:
    """The cost model's output: LayerTable + weight_bytes, activation_bytes, bytes (float64).
    Paper-style accounting for conv/dw/fc (inputs only); memory-only ops charged in + out."""
    df = layers.copy()
    df["weight_bytes"] = df["weight_elems"].astype("float64") * bytes_per_elem
    mem_only = df["macs"] == 0
    act = df["input_elems"].astype("float64") + np.where(mem_only, df["output_elems"], 0)
    df["activation_bytes"] = act * bytes_per_elem
    df["bytes"] = df["weight_bytes"] + df["activation_bytes"]
    return df


def roofline(costed_df: pd.DataFrame, peak_macs_per_s: float, bandwidth_bytes_per_s: float) -> pd.DataFrame:
    """Per-layer roofline columns (docs/contracts.md)."""
    df = costed_df.copy()
    df["mac_time_s"] = df["macs"] / peak_macs_per_s
    df["mem_time_s"] = df["bytes"] / bandwidth_bytes_per_s  # 0 when bandwidth is inf
    df["time_s"] = np.maximum(df["mac_time_s"], df["mem_time_s"])
    df["bound"] = np.where(df["mem_time_s"] > df["mac_time_s"], "memory", "compute")
    with np.errstate(divide="ignore", invalid="ignore"):
        df["intensity_macs_per_byte"] = df["macs"] / df["bytes"]
    return df


def peak_for_rp(rp: float) -> tuple[float, float]:
    """Paper preset: (peak MAC/s, bandwidth) for a ridge point; RP 0 = infinite bandwidth."""
    if rp == 0:
        return RP0_PEAK, math.inf
    return rp * BANDWIDTH, BANDWIDTH


def per_layer(model: str = "mnv4-conv-m", rp: float = 50.0, **kw) -> pd.DataFrame:
    spec = {m[0]: m for m in MODELS}.get(model)
    n, scale = (spec[6], spec[7]) if spec else (6, 1.0)
    peak, bw = peak_for_rp(rp)
    return roofline(costed(layer_table(model, n, scale, **kw)), peak, bw)


def frontier(sweep: pd.DataFrame) -> pd.DataFrame:
    """Pareto frontier per point: a model is on it if no other is at least as fast and more
    accurate (models without top-1 are never on it)."""
    out = sweep.copy()
    out["on_frontier"] = False
    for _, g in out.groupby("point", sort=False):
        best = -math.inf
        for idx, row in g.sort_values(["latency_s", "top1"], ascending=[True, False]).iterrows():
            if pd.notna(row["top1"]) and row["top1"] > best:
                out.loc[idx, "on_frontier"] = True
                best = row["top1"]
    return out


def sweep(models=None, rps=PAPER_RPS, profiles=PROFILES, extra_models=()) -> pd.DataFrame:
    """The long-form sweep DataFrame (+ on_frontier), one row per (model, point).

    ``extra_models``: tuples like MODELS entries, e.g. to inject a hostile display name."""
    rows = []
    specs = [m for m in MODELS if models is None or m[0] in models] + list(extra_models)
    points = [(f"RP {rp:g}", rp, "") for rp in rps] + [(name, rp, name) for name, rp in profiles]
    for label, family, display, width, res, top1, n, scale in specs:
        c = costed(layer_table(label, n, scale))
        for point, rp, hw in points:
            peak, bw = peak_for_rp(rp)
            pl = roofline(c, peak, bw)
            lat = float(pl["time_s"].sum())
            mem = float(pl.loc[pl["bound"] == "memory", "time_s"].sum()) / lat
            rows.append(dict(
                model=label, family=family, display_name=display, width=width, resolution=res,
                top1=top1, point=point, ridge_point=float(rp), hardware=hw,
                dtype="int8", peak_macs_per_s=peak, bandwidth_bytes_per_s=bw, latency_s=lat,
                mac_time_s=float(pl["mac_time_s"].sum()), mem_time_s=float(pl["mem_time_s"].sum()),
                macs=int(pl["macs"].sum()), bytes=float(pl["bytes"].sum()),
                memory_bound_fraction=mem, compute_bound_fraction=1 - mem,
            ))
    return frontier(pd.DataFrame(rows))


def rp_grid_sweep(models=None, n: int = 25) -> pd.DataFrame:
    """A dense RP sweep (0 and a log grid 1..500) plus the shipped profiles."""
    return sweep(models, rps=(0.0, *np.geomspace(1, 500, n)), profiles=PROFILES)


def layer_tables(models=("mnv1", "mnv4-conv-m"), rps=(5.0, 500.0)) -> dict[tuple[str, str], pd.DataFrame]:
    """Per-layer roofline tables keyed by (model, point)."""
    return {(m, f"RP {rp:g}"): per_layer(m, rp) for rp in rps for m in models}
