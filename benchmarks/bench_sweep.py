"""Benchmark the sweep engine: the whole zoo x 5,001 ridge points x every shipped profile.

    python benchmarks/bench_sweep.py [--repeats 7] [--points 5001] [--synthetic]

LayerTables come from the trace cache (``roofsweep.trace.load_or_trace``; a cache miss traces
the model first, outside the timed region). If the zoo, tracer or hardware registry cannot be
imported (or ``--synthetic``), synthetic LayerTables of realistic size are used instead (9
models x 100-250 layers) and synthetic profiles; the script says which it used. Timed: one
``sweep_ridge_points`` over the RP grid plus one ``sweep_profiles`` over all profiles, both
starting from LayerTables (cost model applied inside). Prints the median of the repeats.
Target: < 0.2 s.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from roofsweep.engine.costmodel import PRESETS  # noqa: E402
from roofsweep.layertable import LAYER_COLUMNS  # noqa: E402
from roofsweep.engine.sweep import ridge_point_grid, sweep_profiles, sweep_ridge_points  # noqa: E402

TARGET_S = 0.2


def zoo_tables() -> tuple[dict[str, pd.DataFrame], pd.DataFrame, str]:
    """Every zoo model at its default width/resolution, from the trace cache."""
    from roofsweep.trace import load_or_trace
    from roofsweep.zoo.registry import list_models, resolve

    tables, meta = {}, {}
    for name in list_models():
        ref = resolve(name)
        tables[ref.label] = load_or_trace(ref).layers
        meta[ref.label] = {"family": ref.family, "display_name": ref.display_name, "width": ref.width,
                           "resolution": ref.resolution, "top1": ref.top1}
    return tables, pd.DataFrame.from_dict(meta, orient="index"), "zoo (cached LayerTables)"


def synthetic_tables(n_models: int = 9, seed: int = 0) -> tuple[dict[str, pd.DataFrame], None, str]:
    """``n_models`` random LayerTables of 100-250 rows with MobileNet-like sizes."""
    rng = np.random.default_rng(seed)
    ops = np.array(["conv2d", "dwconv2d", "fc", "elementwise", "pool"])
    tables = {}
    for m in range(n_models):
        n = int(rng.integers(100, 251))
        op = rng.choice(ops, n, p=[0.45, 0.3, 0.03, 0.2, 0.02])
        hw = rng.choice([7, 14, 28, 56, 112], n) ** 2
        c_in = rng.choice([16, 24, 40, 80, 112, 160, 480, 960], n)
        c_out = rng.choice([16, 24, 40, 80, 112, 160, 480, 960], n)
        k2 = np.where(op == "dwconv2d", 9, 1)
        macs = np.where(op == "conv2d", hw * c_in * c_out, np.where(op == "dwconv2d", hw * c_in * 9,
                        np.where(op == "fc", c_in * c_out, 0)))
        weights = np.where(np.isin(op, ["conv2d", "fc"]), c_in * c_out + c_out,
                           np.where(op == "dwconv2d", c_in * k2 + c_in, 0))
        df = pd.DataFrame({
            "model": f"synthetic-{m}", "index": np.arange(n), "name": [f"layer{i}" for i in range(n)],
            "op_type": op, "module_type": "", "aten_ops": "", "activation": "relu",
            "macs": macs, "weight_elems": weights, "input_elems": hw * c_in, "output_elems": hw * c_out,
            "input_shape": "", "output_shape": "", "reads_model_input": False, "modules": "",
        })
        tables[f"synthetic-{m}"] = df[[c for c in LAYER_COLUMNS if c in df.columns]]
    return tables, None, f"synthetic ({n_models} models x 100-250 layers)"


def profiles():
    from roofsweep.hardware import list_profiles

    found = list_profiles()
    if not found:
        raise RuntimeError("no shipped profiles found")
    return found, f"{len(found)} shipped profiles"


class _Synthetic:
    def __init__(self, name, peak, bw):
        self.name, self.peak_macs_per_s, self.bandwidth_bytes_per_s = name, {"int8": peak}, bw
        self.default_dtype, self.onchip_bytes = "int8", None

    def peak(self, dtype=None):
        return self.peak_macs_per_s[dtype or "int8"]

    def ridge_point(self, dtype=None):
        return self.peak(dtype) / self.bandwidth_bytes_per_s


def synthetic_profiles(n: int = 19):
    rng = np.random.default_rng(1)
    return [_Synthetic(f"synthetic-{i}", float(rng.uniform(1e11, 1e15)), float(rng.uniform(1e9, 4e12)))
            for i in range(n)], f"{n} synthetic profiles"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--points", type=int, default=5001)
    ap.add_argument("--synthetic", action="store_true", help="use synthetic tables and profiles")
    ap.add_argument("--preset", default="default", choices=sorted(PRESETS))
    args = ap.parse_args(argv)

    source = None
    if not args.synthetic:
        try:
            tables, meta, source = zoo_tables()
        except Exception as e:  # noqa: BLE001 - fall back and say why
            print(f"zoo/trace not usable ({type(e).__name__}: {e}); using synthetic tables")
    if source is None:
        tables, meta, source = synthetic_tables()
    profs = None
    if not args.synthetic:
        try:
            profs, psource = profiles()
        except Exception as e:  # noqa: BLE001
            print(f"hardware profiles not usable ({type(e).__name__}: {e}); using synthetic profiles")
    if profs is None:
        profs, psource = synthetic_profiles()

    cm = PRESETS[args.preset]
    grid = ridge_point_grid(f"0:500:{args.points}")
    n_layers = sum(len(t) for t in tables.values())
    print(f"tables:   {source}: {len(tables)} models, {n_layers} layers")
    print(f"profiles: {psource}")
    print(f"grid:     {len(grid)} ridge points 0..500; cost model '{cm.name}'")

    def once():
        t0 = time.perf_counter()
        rp = sweep_ridge_points(tables, grid, cm, meta)
        t1 = time.perf_counter()
        pr = sweep_profiles(tables, profs, cm, meta)
        t2 = time.perf_counter()
        return t1 - t0, t2 - t1, len(rp) + len(pr)

    once()  # warm-up (imports, allocator)
    runs = [once() for _ in range(args.repeats)]
    rp_s = statistics.median(r[0] for r in runs)
    pr_s = statistics.median(r[1] for r in runs)
    tot = statistics.median(r[0] + r[1] for r in runs)
    print(f"rows:     {runs[0][2]:,}")
    print(f"median of {args.repeats}: RP sweep {rp_s * 1e3:.1f} ms, profile sweep {pr_s * 1e3:.1f} ms, "
          f"total {tot * 1e3:.1f} ms (target < {TARGET_S * 1e3:.0f} ms) -> {'OK' if tot < TARGET_S else 'SLOW'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
