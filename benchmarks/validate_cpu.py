"""Ground-truth experiment: does the roofline rank real CPU latency better than MAC count?

On this host: probe peak fp32 MAC/s and DRAM bandwidth, measure >= 16 zoo models (families and
width variants) with random weights, and compare the `default` cost model's roofline prediction
at fp32 with the measured latency - Spearman r_s for the roofline and for plain MACs, the fitted
ridge point (the MobileNetV4 paper's Table 16 method) and per-op-type measured/predicted ratios.
The cost model is NOT tuned to these measurements.

    .venv/bin/python benchmarks/validate_cpu.py [--out DIR] [--repeats 20] [--rounds 2]

Writes into --out (default benchmarks/results/validate_cpu/): profile YAML, models.csv,
layers.csv, op_types.csv, rp_sweep.csv, summary.json and summary.md. Takes several minutes.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from roofsweep.hardware.loader import load_profile  # noqa: E402
from roofsweep.measure.latency import measure_model, merge_results  # noqa: E402
from roofsweep.measure.probe import probe_host, write_probe_profile  # noqa: E402
from roofsweep.measure.validate import validate  # noqa: E402
from roofsweep.trace import load_or_trace  # noqa: E402
from roofsweep.zoo import resolve  # noqa: E402

# (zoo name, width); default resolutions (224; Conv-M / Hybrid-M 256; Conv-L / Hybrid-L 384)
MODELS: list[tuple[str, float]] = [
    ("mnv1", 0.5), ("mnv1", 0.75), ("mnv1", 1.0),
    ("mnv2", 0.5), ("mnv2", 0.75), ("mnv2", 1.0), ("mnv2", 1.4),
    ("mnv3-large", 0.5), ("mnv3-large", 0.75), ("mnv3-large", 1.0),
    ("mnv3-small", 0.75), ("mnv3-small", 1.0),
    ("mnv4-conv-s", 1.0), ("mnv4-conv-m", 1.0), ("mnv4-conv-l", 1.0),
    ("mnv4-hybrid-m", 1.0), ("mnv4-hybrid-l", 1.0),
]
NAMED_RPS = {"MACs (RP 0+)": 0.5, "Slow CPU (RP 5)": 5.0, "Fast CPU (RP 50)": 50.0, "Accelerator (RP 500)": 500.0}


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "validate_cpu")
    ap.add_argument("--profile", type=Path, help="reuse a probed profile YAML instead of probing")
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--per-layer-repeats", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=3,
                    help="passes over all models, merged (round-robin spreads load from other processes)")
    ap.add_argument("--large-resolution", type=int, default=None,
                    help="resolution for the L models (default: their own, 384)")
    ap.add_argument("--models", nargs="*", help="subset, e.g. mnv2-0.5x mnv4-conv-s")
    ap.add_argument("--threads", type=int, default=None,
                    help="torch threads for probe and measurement (default: torch's own choice)")
    ap.add_argument("--memory-format", default="channels_last", choices=["channels_last", "contiguous"])
    ap.add_argument("--keep-denormals", action="store_true",
                    help="do not flush denormals to zero while measuring (see docs/ground-truth.md)")
    args = ap.parse_args(argv)
    import torch
    if args.threads:
        torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    t_start = time.time()

    # ---- 1. probe the host ------------------------------------------------------------------
    if args.profile:
        profile = load_profile(args.profile)
        log(f"profile {args.profile}")
        probe_info = {"reused": str(args.profile)}
    else:
        log("probing host (GEMM fp32/bf16/fp16/int8 + STREAM)...")
        pr = probe_host()
        path = write_probe_profile(pr, args.out)
        profile = load_profile(path)
        probe_info = {"path": str(path), "skipped": pr.skipped,
                      "gemm": pr.gemm.to_dict("records"), "stream": pr.stream.to_dict("records")}
        log(f"probe -> {path}")
    for d, v in profile.peak_macs_per_s.items():
        log(f"  peak {d}: {v / 1e9:.1f} GMAC/s")
    log(f"  bandwidth {profile.bandwidth_bytes_per_s / 1e9:.1f} GB/s, RP(fp32) {profile.ridge_point('fp32'):.2f} MAC/B")

    # ---- 2. measure ---------------------------------------------------------------------------
    refs = []
    for name, width in MODELS:
        r = resolve(name, width=width)
        if args.large_resolution and name.endswith("-l"):
            r = resolve(name, width=width, resolution=args.large_resolution)
        if args.models and r.label not in args.models and name not in args.models:
            continue
        refs.append(r)
    traces = {}
    for r in refs:
        traces[r.label] = load_or_trace(r)
    # Rounds: every model is measured (whole model + per layer) once per round, the model order
    # reversed on alternate rounds, so load from other processes is spread over all models;
    # the rounds are then merged (pooled whole-model samples, median per-module self times).
    runs: dict[str, list] = {r.label: [] for r in refs}
    for rnd in range(args.rounds):
        order = refs if rnd % 2 == 0 else refs[::-1]
        for i, r in enumerate(order):
            t0 = time.time()
            m = measure_model(r, repeats=args.repeats, warmup=args.warmup,
                              per_layer_repeats=args.per_layer_repeats, layers=traces[r.label].layers,
                              memory_format=args.memory_format, flush_denormal=not args.keep_denormals)
            runs[r.label].append(m)
            log(f"round {rnd + 1}/{args.rounds} {i + 1}/{len(refs)} {r.label:18s} "
                f"{traces[r.label].macs / 1e6:8.1f} MMAC {m.latency_s * 1e3:8.2f} ms "
                f"(hooked {m.hooked_total_s * 1e3:.2f} ms) [{time.time() - t0:.0f}s]")
    measured = {label: merge_results(ms) for label, ms in runs.items()}

    # ---- 3. validate -----------------------------------------------------------------------
    v = validate([traces[r.label] for r in refs], profile, "default", measured, dtype="fp32")
    models = v.models.copy()
    models.insert(1, "resolution", [r.resolution for r in refs])
    models.insert(1, "width", [r.width for r in refs])
    models["hooked_total_s"] = [measured[r.label].hooked_total_s for r in refs]
    models["latency_min_s"] = [min(measured[r.label].latencies_s) for r in refs]
    models["latency_iqr_s"] = [float(np.subtract(*np.percentile(measured[r.label].latencies_s, [75, 25])))
                               for r in refs]
    models.to_csv(args.out / "models.csv", index=False)
    v.layers.to_csv(args.out / "layers.csv", index=False)
    v.op_types.to_csv(args.out / "op_types.csv", index=False)
    v.fit.sweep.to_csv(args.out / "rp_sweep.csv", index=False)
    sweep = v.fit.sweep
    named = {}
    for label, rp in NAMED_RPS.items():
        row = sweep.iloc[int(np.argmin(np.abs(np.log(sweep["ridge_point"]) - np.log(rp))))]
        named[label] = {"ridge_point": float(row["ridge_point"]), "spearman": float(row["spearman"]),
                        "pearson_log": float(row["pearson_log"])}
    # per op type x family: where does the roofline go wrong?
    fam = {r.label: r.family for r in refs}
    lay = v.layers[v.layers["op_type"] != "unattributed"].copy()
    lay["family"] = lay["model"].map(fam)
    by_fam = lay.groupby(["family", "op_type"])[["predicted_s", "measured_s"]].sum()
    by_fam["ratio"] = by_fam["measured_s"] / by_fam["predicted_s"]
    by_fam.reset_index().to_csv(args.out / "op_types_by_family.csv", index=False)
    by_bound = lay.groupby(["op_type", "bound"])[["predicted_s", "measured_s"]].sum()
    by_bound["ratio"] = by_bound["measured_s"] / by_bound["predicted_s"]
    by_bound["layers"] = lay.groupby(["op_type", "bound"]).size()
    by_bound.reset_index().to_csv(args.out / "op_types_by_bound.csv", index=False)

    # robustness to load from other processes: the same comparison on each model's fastest run
    from roofsweep.measure.stats import spearman
    mins = models["latency_min_s"].to_numpy()
    robust = {"spearman_roofline_min_latency": spearman(models["predicted_s"], mins),
              "spearman_macs_min_latency": spearman(models["macs"], mins)}
    summary = {
        **v.summary(),
        "named_ridge_points": named,
        **robust,
        "memory_format": args.memory_format,
        "flush_denormal": not args.keep_denormals,
        "host": platform.node(),
        "cpu_model": (profile.measured or {}).get("cpu_model"),
        "threads": torch.get_num_threads(),
        "torch_version": torch.__version__,
        "repeats": args.repeats, "warmup": args.warmup, "rounds": args.rounds,
        "per_layer_repeats": args.per_layer_repeats,
        "large_resolution": args.large_resolution,
        "loadavg_end": os.getloadavg(),
        "wall_s": time.time() - t_start,
        "probe": probe_info,
        "notes": v.notes,
    }
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2, default=str))
    (args.out / "summary.md").write_text(render_md(v, models, summary, by_bound))
    log(f"spearman roofline {v.spearman_roofline:.3f}  MACs {v.spearman_macs:.3f}  "
        f"fitted RP {v.fit.ridge_point:.3g} (r_s {v.fit.spearman:.3f}, scale {v.fit.scale:.2f})")
    log(f"wrote {args.out}")
    return 0


def render_md(v, models, s, by_bound) -> str:
    lines = [
        "# Roofline vs measured latency on this CPU",
        "",
        f"Host `{s['host']}`: {s['cpu_model']}, {s['threads']} torch threads, torch {s['torch_version']}.",
        f"Profile `{v.profile}`: fp32 peak {v.peak_macs_per_s / 1e9:.1f} GMAC/s, bandwidth "
        f"{v.bandwidth_bytes_per_s / 1e9:.1f} GB/s, RP {v.ridge_point:.2f} MAC/byte. Cost model `{v.cost_model}`, {v.dtype}.",
        f"Timing ({s['memory_format']}, denormals {'flushed' if s['flush_denormal'] else 'kept'}): median of {s['repeats']} runs x {s['rounds']} rounds (each after {s['warmup']} warm-up); "
        f"per-layer: median over rounds of the median of {s['per_layer_repeats']} hooked runs. Load average at end: {', '.join(f'{x:.2f}' for x in s['loadavg_end'])}.",
        "",
        "| | r_s (Spearman) | Pearson r of log latency |",
        "|---|---|---|",
        f"| roofline at the probed RP {v.ridge_point:.2f} | {v.spearman_roofline:.3f} | {v.pearson_log_roofline:.3f} |",
        f"| MAC count | {v.spearman_macs:.3f} | {v.pearson_log_macs:.3f} |",
        f"| roofline at the fitted RP {v.fit.ridge_point:.3g} | {v.fit.spearman:.3f} | {v.fit.pearson_log:.3f} |",
        "",
        f"On each model's fastest run instead of the median: r_s roofline "
        f"{s['spearman_roofline_min_latency']:.3f}, MACs {s['spearman_macs_min_latency']:.3f}.",
        "",
        f"Fitted RP {v.fit.ridge_point:.3g} MAC/byte (max r_s reached for RP in "
        f"[{v.fit.best_range[0]:.3g}, {v.fit.best_range[1]:.3g}]); best-fit scale "
        f"(median measured/predicted) {v.fit.scale:.2f}.",
        "",
        "r_s at the paper's named ridge points: "
        + "; ".join(f"{k}: {d['spearman']:.3f}" for k, d in s["named_ridge_points"].items()),
        "",
        "## Models",
        "",
        "| model | res | MMACs | predicted ms | measured ms | measured/predicted | mem-bound share |",
        "|---|---|---|---|---|---|---|",
    ]
    for _, r in models.iterrows():
        lines.append(f"| {r['model']} | {r['resolution']} | {r['macs'] / 1e6:.0f} | {r['predicted_s'] * 1e3:.2f} | "
                     f"{r['measured_s'] * 1e3:.2f} | {r['ratio']:.1f} | {r['memory_bound_fraction']:.0%} |")
    lines += ["", "## Per op type (all models; per-layer times from the hooked run)", "",
              "| op type | layers | predicted ms | measured ms | measured/predicted | median layer ratio | share of measured |",
              "|---|---|---|---|---|---|---|"]
    for _, r in v.op_types.iterrows():
        ratio = "-" if np.isnan(r["ratio"]) else f"{r['ratio']:.1f}"
        med = "-" if np.isnan(r["median_ratio"]) else f"{r['median_ratio']:.1f}"
        lines.append(f"| {r['op_type']} | {r['layers']} | {r['predicted_s'] * 1e3:.2f} | {r['measured_s'] * 1e3:.2f} | "
                     f"{ratio} | {med} | {r['measured_share']:.0%} |")
    lines += ["", "## Per op type and predicted bound", "",
              "| op type | bound | layers | predicted ms | measured ms | measured/predicted |", "|---|---|---|---|---|---|"]
    for _, r in by_bound.reset_index().iterrows():
        lines.append(f"| {r['op_type']} | {r['bound']} | {r['layers']} | {r['predicted_s'] * 1e3:.2f} | "
                     f"{r['measured_s'] * 1e3:.2f} | {r['ratio']:.1f} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
