"""Tracer speed and memory, measured side by side in one run (figures go to docs/benchmarks.md).

    .venv/bin/python benchmarks/bench_trace.py [--repeats 7]

1. MNv4-Hybrid-L @384: roofsweep's trace vs ``torch.utils.flop_counter.FlopCounterMode`` on the
   same model on the meta device (both under no_grad, model built once, best and median of N).
2. The whole zoo at default resolution: build on meta + trace, after torch is imported.
3. Peak memory vs resolution: each resolution traced in a fresh subprocess; ru_maxrss and the
   tracemalloc peak of the trace itself.
4. The trace cache: ``roofsweep layers`` cold (trace) vs warm (cache hit, no torch import), next
   to ``python -c "import torch"``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _timeit(fn, repeats: int) -> tuple[float, float]:
    fn()  # warm-up (first call pays for lazy imports and meta-kernel registration)
    ts = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return min(ts), statistics.median(ts)


def bench_vs_flop_counter(repeats: int) -> dict:
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from roofsweep.trace import trace_module
    from roofsweep.zoo import build, resolve

    ref = resolve("mnv4-hybrid-l")
    with torch.device("meta"):
        model = build(ref).eval()
    x = torch.empty(ref.input_shape, device="meta")
    macs = {}

    def ours():
        macs["roofsweep"] = trace_module(model, ref.input_shape, ref.label).macs

    def theirs():
        with torch.no_grad(), FlopCounterMode(display=False) as fc:
            model(x)
        macs["flop_counter"] = fc.get_total_flops() // 2

    # interleave the two so machine noise hits both alike
    o, t = [], []
    for _ in range(repeats):
        o.append(_timeit(ours, 1)[0])
        t.append(_timeit(theirs, 1)[0])
    return {
        "model": ref.label,
        "roofsweep_s": {"best": min(o), "median": statistics.median(o)},
        "flop_counter_s": {"best": min(t), "median": statistics.median(t)},
        "ratio_median": statistics.median(o) / statistics.median(t),
        "macs": macs,
    }


def bench_zoo(repeats: int) -> dict:
    from roofsweep.trace import trace_module
    from roofsweep.trace.api import build_on_meta
    from roofsweep.zoo import list_models, resolve

    refs = [resolve(n) for n in list_models()]
    models = {}

    def build_all():
        for ref in refs:
            models[ref.label] = build_on_meta(ref)

    def trace_all():
        for ref in refs:
            trace_module(models[ref.label], ref.input_shape, ref.label)

    def both():
        build_all()
        trace_all()

    out = {"models": len(refs)}
    for label, fn in (("build_s", build_all), ("trace_s", trace_all), ("build_and_trace_s", both)):
        best, median = _timeit(fn, repeats)
        out[label] = {"best": best, "median": median}
    return out


_FRESH_CHILD = """
import json, sys, time
t0 = time.perf_counter()
import torch
t1 = time.perf_counter()
from roofsweep.trace import trace_module
from roofsweep.trace.api import build_on_meta
from roofsweep.zoo import list_models, resolve
t2 = time.perf_counter()
for name in list_models():
    ref = resolve(name)
    trace_module(build_on_meta(ref), ref.input_shape, ref.label)
t3 = time.perf_counter()
print(json.dumps({"import_torch_s": t1 - t0, "import_roofsweep_s": t2 - t1, "build_and_trace_zoo_s": t3 - t2,
                  "dynamo_imported": "torch._dynamo" in sys.modules}))
"""


def bench_zoo_fresh() -> dict:
    """The whole zoo traced in a fresh process, right after ``import torch`` (all first-use costs)."""
    p = subprocess.run([sys.executable, "-c", _FRESH_CHILD], capture_output=True, text=True, check=True, cwd=ROOT)
    return json.loads(p.stdout.strip().splitlines()[-1])


_MEM_CHILD = """
import json, resource, sys, tracemalloc, torch
from roofsweep.trace import trace_module
from roofsweep.zoo import build, resolve
ref = resolve("mnv4-hybrid-l", resolution=int(sys.argv[1]))
with torch.device("meta"):
    model = build(ref)
tracemalloc.start()
r = trace_module(model, ref.input_shape, ref.label)
peak = tracemalloc.get_traced_memory()[1]
print(json.dumps({"resolution": ref.resolution, "macs": r.macs, "tracemalloc_peak_bytes": peak,
                  "maxrss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}))
"""


def bench_memory(resolutions=(224, 384, 512, 1024)) -> list[dict]:
    out = []
    for r in resolutions:
        p = subprocess.run([sys.executable, "-c", _MEM_CHILD, str(r)], capture_output=True, text=True,
                           check=True, cwd=ROOT)
        out.append(json.loads(p.stdout.strip().splitlines()[-1]))
    return out


def bench_cache() -> dict:
    exe = [sys.executable, "-m", "roofsweep", "layers", "-m", "mnv4-conv-m", "-f", "json"]
    with tempfile.TemporaryDirectory() as d:
        env = dict(os.environ, ROOFSWEEP_CACHE_DIR=d)
        res = {}
        for label in ("cold", "warm"):
            t = time.perf_counter()
            subprocess.run(exe, env=env, capture_output=True, check=True, cwd=ROOT)
            res[f"layers_{label}_s"] = time.perf_counter() - t
        sweep = [sys.executable, "-m", "roofsweep", "sweep", "-m", "mnv4-conv-m", "--no-report"]
        t = time.perf_counter()
        subprocess.run(sweep, env=env, capture_output=True, check=True, cwd=ROOT)
        res["sweep_warm_no_report_s"] = time.perf_counter() - t
        code = "import sys; import roofsweep.cli; from roofsweep.cli import app\n" \
               "try: app(['sweep','-m','mnv4-conv-m','--no-report'])\nexcept SystemExit: pass\n" \
               "sys.stderr.write(str('torch' in sys.modules))"
        p = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=ROOT)
        res["warm_sweep_imports_torch"] = p.stderr.strip().endswith("True")
    t = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import torch"], check=True)
    res["import_torch_s"] = time.perf_counter() - t
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=7)
    args = ap.parse_args()
    t0 = time.perf_counter()
    t = time.perf_counter()
    import torch  # noqa: F401  (the zoo figure is "after torch is imported")

    import_torch_s = time.perf_counter() - t

    results = {
        "host": {"python": sys.version.split()[0], "torch": torch.__version__, "cpus": os.cpu_count()},
        "import_torch_s": import_torch_s,
        "zoo_first_in_fresh_process": bench_zoo_fresh(),
        "vs_flop_counter": bench_vs_flop_counter(args.repeats),
        "zoo": bench_zoo(args.repeats),
        "memory_vs_resolution": bench_memory(),
        "cache": bench_cache(),
    }
    results["wall_s"] = time.perf_counter() - t0
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
