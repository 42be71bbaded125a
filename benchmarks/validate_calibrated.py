"""Calibrated latency vs measured, on models the calibration never saw, per runtime.

For each runtime (torch eager, onnxruntime): calibrate this host on microbenchmarks only
(``roofsweep.measure.calibrate``) and - interleaved with the calibration, ``--passes`` passes each
over all microbenchmarks and then all models, so load from other processes that comes and goes
slows both alike - measure a held-out set of >= 30 models (zoo MobileNets at several widths + torchvision/timm models of
other families) and report, per predictor (plain roofline, fitted ridge point, calibrated, MAC
count), median |error|, MAPE, share within +-10/25 %, Spearman and log-Pearson, plus per-op-type
residuals of the calibrated model (measured / calibrated, per layer, summed per op type).

    .venv/bin/python benchmarks/validate_calibrated.py [--runtimes torch onnxruntime] [--out DIR]

Writes into --out (default benchmarks/results/validate_calibrated/): <runtime>-calibrated.yaml
(the calibrated profile), <runtime>-models.csv, <runtime>-op_types.csv, <runtime>-microbench.csv,
summary.json and summary.md. Method and figures: docs/ground-truth.md.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from roofsweep.hardware import load_profile, write_profile  # noqa: E402
from roofsweep.measure.accuracy import PREDICTORS  # noqa: E402
from roofsweep.measure.allocator import ALLOCATORS, FAULTS_PER_RUN_WARNING, use_allocator  # noqa: E402
from roofsweep.zoo import resolve  # noqa: E402

ZOO = [("mnv1", 0.5), ("mnv1", 0.75), ("mnv1", 1.0), ("mnv2", 0.5), ("mnv2", 0.75), ("mnv2", 1.0), ("mnv2", 1.4),
       ("mnv3-large", 0.5), ("mnv3-large", 0.75), ("mnv3-large", 1.0), ("mnv3-small", 0.75), ("mnv3-small", 1.0),
       ("mnv4-conv-s", 1.0), ("mnv4-conv-m", 1.0), ("mnv4-hybrid-m", 1.0)]
EXTERNAL = ["torchvision:resnet18", "torchvision:resnet50", "torchvision:efficientnet_b0",
            "torchvision:regnet_y_400mf", "torchvision:regnet_x_800mf", "timm:ghostnet_100", "timm:convnext_atto",
            "timm:deit_tiny_patch16_224", "timm:mobilevit_xxs", "timm:levit_128s", "timm:repvit_m0_9",
            "torchvision:mnasnet1_0", "torchvision:shufflenet_v2_x1_0", "torchvision:squeezenet1_1",
            "timm:efficientnet_lite0", "timm:mobileone_s0", "timm:fastvit_t8"]


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def refs(subset: list[str] | None):
    out = [resolve(n, width=w) for n, w in ZOO] + [resolve(s) for s in EXTERNAL]
    return [r for r in out if not subset or r.label in subset or r.spec in subset]


def op_type_residuals(layers):
    """Per op type: layers, calibrated and measured seconds (per-layer), measured / calibrated."""
    lay = layers[(layers["op_type"] != "unattributed") & layers["calibrated_s"].notna()]
    g = lay.groupby("op_type")[["predicted_s", "calibrated_s", "measured_s"]].sum()
    g["layers"] = lay.groupby("op_type").size()
    g["measured_over_calibrated"] = g["measured_s"] / g["calibrated_s"]
    return g.sort_values("measured_s", ascending=False).reset_index()


def flush_mib(args, runtime: str) -> float:
    from roofsweep.measure.calibrate import default_flush_bytes

    return args.flush_cache_mib if args.flush_cache_mib is not None else default_flush_bytes(runtime) / 2**20


def interleaved(runtime: str, profile, models, args):
    """``args.passes`` passes, each over every microbenchmark and then every model (each in a fresh
    seeded random order): load from other processes that comes and goes over minutes slows both
    alike, instead of only the calibration or only the validation, and no family of models more
    than another. Returns the calibration (fitted
    on the microbenchmarks only; each one's time is the mean over the passes), the models'
    measurements (merged over the passes) and the seconds spent on each."""
    import numpy as np

    from roofsweep.engine.costmodel import get_preset
    from roofsweep.measure.calibrate import cost_microbenchmarks, fit_calibration, measure_microbenchmarks
    from roofsweep.measure.latency import merge_results
    from roofsweep.measure.microbench import select
    from roofsweep.measure.run import measure_refs
    from roofsweep.measure.runtimes import set_threads

    set_threads(1)
    cm = get_preset("default")
    benches = list(select(False))
    tables = cost_microbenchmarks(benches, cm, cm.resolve_dtype(profile))
    per_bench: list[list[float]] = [[] for _ in benches]
    skipped, noisy, runs, traces, model_skips = {}, set(), {}, {}, {}
    t_cal = t_val = 0.0
    for p in range(args.passes):
        # a fresh random order per pass (seeded): load that comes and goes over minutes must not
        # fall on one family of models (the zoo first, timm last) more than on another
        rng = np.random.default_rng(p)
        order = [int(i) for i in rng.permutation(len(benches))]
        t0 = time.time()
        times, sk, nz = measure_microbenchmarks([benches[i] for i in order], [tables[i] for i in order],
                                                runtime=runtime, threads=1, clock=args.clock, statistic=args.statistic,
                                                rounds=args.rounds, flush_cache_bytes=int(flush_mib(args, runtime) * 2**20),
                                                allocator=args.allocator)
        for i, t in zip(order, times):
            if t is not None:
                per_bench[i].append(t)
        skipped.update(sk)
        noisy.update(nz)
        t1 = time.time()
        got = measure_refs([models[int(i)] for i in rng.permutation(len(models))], runtime=runtime, threads=1, repeats=args.repeats,
                           warmup=2, max_repeats=3 * args.repeats, clock=args.clock, statistic=args.statistic,
                           per_layer_repeats=2, allocator=args.allocator)
        for label, res in got.results.items():
            runs.setdefault(label, []).append(res)
        traces.update({t.model: t for t in got.traces})
        model_skips.update(got.skipped)
        t_cal, t_val = t_cal + t1 - t0, t_val + time.time() - t1
        log(f"{runtime}: pass {p + 1}/{args.passes}: microbenchmarks {t1 - t0:.0f} s, models {time.time() - t1:.0f} s")
    times = [float(np.mean(v)) if v else None for v in per_bench]
    run = fit_calibration(profile, benches, tables, times, runtime=runtime, device="cpu", threads=1, cost_model=cm,
                          skipped=skipped, noisy=sorted(noisy), statistic=args.statistic, clock=args.clock,
                          allocator=use_allocator(args.allocator))
    results = {label: merge_results(rs) for label, rs in runs.items() if label not in model_skips}
    kept = [traces[r.label] for r in models if r.label in results]
    return run, kept, results, model_skips, t_cal, t_val


def one_runtime(runtime: str, profile, models, args) -> dict:
    from roofsweep.measure.validate import validate

    run, traces, results, model_skips, t_cal, t_val = interleaved(runtime, profile, models, args)
    write_profile(run.profile, args.out / f"{runtime}-calibrated.yaml")
    run.fit.samples.to_csv(args.out / f"{runtime}-microbench.csv", index=False)
    log(f"{runtime}: calibration {t_cal:.0f} s, fit median |error| {run.fit.residuals['median_abs_error']:.1%} "
        f"on {run.fit.residuals['samples']} microbenchmarks")
    result = validate(traces, run.profile, "default", results)
    result.runtime, result.skipped = runtime, dict(model_skips)
    warnings = [f"{label}: skipped: {why}" for label, why in model_skips.items()] + \
        [w for w in (r.warning() for r in results.values()) if w] + run.warnings
    for w in warnings:
        log(f"  warning: {w}")
    result.models.to_csv(args.out / f"{runtime}-models.csv", index=False)
    res = op_type_residuals(result.layers)
    res.to_csv(args.out / f"{runtime}-op_types.csv", index=False)
    log(f"{runtime}: {len(result.models)} models measured in {t_val:.0f} s; per-op-type residuals "
        "(per-layer, measured / calibrated):")
    for _, r in res.iterrows():
        log(f"  {r['op_type']:12s} {int(r['layers']):5d} layers  calibrated {r['calibrated_s'] * 1e3:8.1f} ms  "
            f"measured {r['measured_s'] * 1e3:8.1f} ms  ratio {r['measured_over_calibrated']:.2f}")
    for k in PREDICTORS:
        m = result.predictors.get(k)
        if m:
            log(f"  {k:10s} median |err| {m['median_abs_error']:6.1%}  within 25% {m['within_25pct']:5.1%}  "
                f"Spearman {m['spearman']:.3f}  log-Pearson {m['pearson_log']:.3f}")
    return {"summary": result.to_json()["summary"], "skipped": result.skipped, "calibration_s": t_cal,
            "validation_s": t_val, "fit_residuals": run.fit.residuals, "warnings": warnings,
            "op_types": res.to_dict("records"), "loadavg": os.getloadavg(),
            "page_faults_per_run": {label: r.meta.get("page_faults_per_run") for label, r in results.items()}}


def render_md(out: dict) -> str:
    lines = ["# Calibrated latency vs measured (held-out models)", "",
             f"Host load average at the end: {', '.join(f'{x:.2f}' for x in out['loadavg_end'])}; "
             f"{out['threads']} thread, clock {out['clock']}, statistic {out['statistic']}, allocator {out['allocator']}, cache flush before "
             f"each microbenchmark run (MiB, then the input read back): {out['flush_cache_mib']}.", ""]
    for runtime, r in out["runtimes"].items():
        s = r["summary"]
        lines += [f"## {runtime}: {s['measured']} models (skipped: {', '.join(r['skipped']) or 'none'})", "",
                  "| predictor | median abs error | MAPE | within 10 % | within 25 % | Spearman | Pearson (log) |",
                  "|---|---|---|---|---|---|---|"]
        for k in PREDICTORS:
            m = s.get(k)
            if m:
                lines.append(f"| {k} | {m['median_abs_error']:.1%} | {m['mape']:.1%} | {m['within_10pct']:.0%} | "
                             f"{m['within_25pct']:.0%} | {m['spearman']:.3f} | {m['pearson_log']:.3f} |")
        lines += ["", f"Fitted ridge point {s['fitted_ridge_point']:.3g} MAC/byte; calibration {r['calibration_s']:.0f} s "
                  f"(fit median |error| {r['fit_residuals']['median_abs_error']:.1%} on "
                  f"{r['fit_residuals']['samples']} microbenchmarks), validation {r['validation_s']:.0f} s.", "",
                  "| op type | layers | calibrated ms | measured ms | measured / calibrated |", "|---|---|---|---|---|"]
        for o in r["op_types"]:
            lines.append(f"| {o['op_type']} | {o['layers']} | {o['calibrated_s'] * 1e3:.1f} | {o['measured_s'] * 1e3:.1f} | "
                         f"{o['measured_over_calibrated']:.2f} |")
        faulted = {k: v for k, v in r.get("page_faults_per_run", {}).items() if v and v > FAULTS_PER_RUN_WARNING}
        lines += ["", "Models whose timed runs page-faulted (faults per run): "
                  + (", ".join(f"{k} {v:,.0f}" for k, v in faulted.items()) or "none"), ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "validate_calibrated")
    ap.add_argument("--profile", type=Path, default=ROOT / "benchmarks" / "results" / "validate_cpu" / "host-vm.yaml",
                    help="probed profile of this host (peak and bandwidth the efficiencies refer to)")
    ap.add_argument("--runtimes", nargs="*", default=["torch", "onnxruntime"])
    ap.add_argument("--models", nargs="*", help="subset (labels or specs)")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=1, help="rounds over the microbenchmarks within a pass")
    ap.add_argument("--passes", type=int, default=4,
                    help="interleaved passes, each over all microbenchmarks and then all models")
    ap.add_argument("--clock", default="cpu", choices=["cpu", "wall"])
    ap.add_argument("--statistic", default="mean", choices=["mean", "min", "median"])
    ap.add_argument("--allocator", default="retain", choices=list(ALLOCATORS),
                    help="what happens to freed memory while measuring (roofsweep.measure.allocator)")
    ap.add_argument("--flush-cache-mib", type=float, default=None,
                    help="microbenchmarks: rewrite this many MiB, then read the input, before each timed "
                         "run (weights cold, input hot, as in a model); default: 8 on torch, 0 on onnxruntime")
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    profile = load_profile(args.profile)
    models = refs(args.models)
    log(f"{len(models)} held-out models; load average {os.getloadavg()}")
    t = time.time()
    out = {"threads": 1, "clock": args.clock, "statistic": args.statistic, "profile": str(args.profile),
           "allocator": use_allocator(args.allocator),
           "flush_cache_mib": {rt: flush_mib(args, rt) for rt in args.runtimes},
           "models": [r.label for r in models], "runtimes": {}}
    for runtime in args.runtimes:
        out["runtimes"][runtime] = one_runtime(runtime, profile, models, args)
    out["wall_s"] = time.time() - t
    out["loadavg_end"] = os.getloadavg()
    (args.out / "summary.json").write_text(json.dumps(out, indent=2, default=str))
    (args.out / "summary.md").write_text(render_md(out))
    log(f"wrote {args.out} in {out['wall_s']:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
