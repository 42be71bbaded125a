"""Benchmark ``roofsweep search`` on the shipped MNv4-Conv-M UIB space.

    python benchmarks/bench_search.py [--quick] [--skip-dask] [--json FILE]

Every measurement runs the real command line in a fresh process (``python -m roofsweep search
configs/space-mnv4-conv.yaml ...``) and reports its wall time and peak resident memory:

1. end to end, cold: 10^6 sampled candidates x 4 ridge points (0,5,50,500) with an empty block
   cache, so the time includes tracing all 1,252 distinct blocks and writing the CSV;
2. how cost grows with candidates (10^4, 10^5, 10^6 at 4 points) and with points
   (4, 16, 64 ridge points at 10^5 candidates), warm block cache;
3. Dask scaling: ``--scheduler local:1`` vs ``local:2`` on a cold cache at 10^5 candidates
   (block tracing runs on the workers) and warm at 10^6 (evaluation only).

Target (issue 12): 10^6 x 4 in <= 60 s end to end, peak memory < 4 GB. ``--quick`` divides
every candidate count by 10. The machine is shared: run it when it is quiet, or say it was not.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SPACE = "configs/space-mnv4-conv.yaml"


def run(samples: int, rps: str, cache: str, *extra: str) -> dict:
    out = Path(tempfile.mkdtemp(prefix="bench-search-")) / "rows.csv"
    env = {**os.environ, "ROOFSWEEP_CACHE_DIR": cache, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "roofsweep", "search", SPACE, "--samples", str(samples), "--seed", "1",
           "--ridge-points", rps, "--out", str(out), *extra]
    t0 = time.perf_counter()
    p = subprocess.run([sys.executable, "-c", WRAP, *cmd], cwd=ROOT, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if p.returncode:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{p.stderr}")
    lines = p.stderr.strip().splitlines()
    size = out.stat().st_size
    out.unlink()
    return {"samples": samples, "points": len(rps.split(",")), "extra": " ".join(extra), "wall_s": round(wall, 2),
            "peak_rss_mb": round(int(lines[-1]) / 1024), "csv_mb": round(size / 2**20, 1), "summary": lines[0]}


# runs the command and prints the peak resident memory (KiB) of the processes it waited for
WRAP = ("import resource, subprocess, sys; r = subprocess.run(sys.argv[1:]).returncode; "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr); sys.exit(r)")


def grid(n: int) -> str:
    return ",".join(str(round(500 * i / (n - 1), 3)) for i in range(n))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--skip-dask", action="store_true")
    ap.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "results" / "bench_search.json")
    a = ap.parse_args()
    k = 10 if a.quick else 1
    load = os.getloadavg()
    res: dict = {"loadavg_at_start": load, "cpus": os.cpu_count()}
    with tempfile.TemporaryDirectory() as cold:
        res["cold_1e6_x4"] = run(1_000_000 // k, "0,5,50,500", cold)
        print("cold", res["cold_1e6_x4"], flush=True)
        warm = cold  # now holds every block
        res["candidates"] = [run(n // k, "0,5,50,500", warm) for n in (10_000, 100_000, 1_000_000)]
        print("candidates", res["candidates"], flush=True)
        res["points"] = [run(100_000 // k, grid(n), warm) for n in (4, 16, 64)]
        print("points", res["points"], flush=True)
        if not a.skip_dask:
            pairs = []
            for workers in ("local:1", "local:2"):
                with tempfile.TemporaryDirectory() as c2:
                    pairs.append(run(100_000 // k, "0,5,50,500", c2, "--scheduler", workers))
            res["dask_cold_1e5"] = pairs
            res["dask_warm_1e6"] = [run(1_000_000 // k, "0,5,50,500", warm, "--scheduler", w)
                                    for w in ("local:1", "local:2")]
            print("dask", res["dask_cold_1e5"], res["dask_warm_1e6"], flush=True)
    res["loadavg_at_end"] = os.getloadavg()
    a.json.parent.mkdir(parents=True, exist_ok=True)
    a.json.write_text(json.dumps(res, indent=1))
    print(f"wrote {a.json}")


if __name__ == "__main__":
    main()
