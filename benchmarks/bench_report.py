"""How much a report costs: each command with its report against the same with ``--no-report``.

Runs ``roofsweep sweep --model mnv4-conv-m`` and ``roofsweep compare`` of six models, each with
and without the report, interleaved (report, no report, report, ...) so a load change hits both
alike, ``--repeats`` times after a warm-up run that fills the trace cache. Prints, per command,
the median wall time and the median CPU time (user + system of the child process: less
sensitive to other jobs on the machine than wall time) of both variants and their ratios, and
the same as JSON with ``--json``. Targets (docs/benchmarks.md): sweep <= 2x, compare <= 3x.
The report is the default one (the page draws its charts; no figure files); ``--figures svg``
measures the report with the matplotlib figure files as well.

    python benchmarks/bench_report.py [--repeats 5] [--json] [--figures none|svg|png]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

COMMANDS = {
    "sweep": ["sweep", "--model", "mnv4-conv-m"],
    "compare": ["compare", "mnv1", "mnv2", "mnv3-large", "mnv4-conv-s", "mnv4-conv-m", "mnv4-hybrid-m"],
}
TARGETS = {"sweep": 2.0, "compare": 3.0}


def _run(args: list[str]) -> tuple[float, float]:
    """(wall s, CPU s) of one ``python -m roofsweep ARGS`` run; fails loudly if it fails."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "roofsweep", *args], stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"roofsweep {' '.join(args)} failed: {proc.stderr.strip()[-500:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def bench(repeats: int, figures: str = "none") -> dict:
    out_dir = tempfile.mkdtemp(prefix="roofsweep-bench-report-")
    results = {}
    try:
        for name, args in COMMANDS.items():
            with_report = [*args, "--out", os.path.join(out_dir, name), "--force", "--figures", figures]
            without = [*args, "--no-report"]
            _run(with_report)  # warm-up: trace cache, font cache, page cache
            _run(without)
            runs = {"report": [], "no_report": []}
            for _ in range(repeats):
                runs["report"].append(_run(with_report))
                runs["no_report"].append(_run(without))
            med = {k: (statistics.median(w for w, _ in v), statistics.median(c for _, c in v)) for k, v in runs.items()}
            results[name] = {
                "report_wall_s": med["report"][0], "no_report_wall_s": med["no_report"][0],
                "report_cpu_s": med["report"][1], "no_report_cpu_s": med["no_report"][1],
                "wall_ratio": med["report"][0] / med["no_report"][0],
                "cpu_ratio": med["report"][1] / med["no_report"][1],
                "target_ratio": TARGETS[name],
                "figure_files": _count(os.path.join(out_dir, name, "figures")),
            }
    finally:
        shutil.rmtree(out_dir, ignore_errors=True)
    return results


def _count(folder: str) -> int:
    return len(os.listdir(folder)) if os.path.isdir(folder) else 0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--figures", choices=("none", "svg", "png"), default="none",
                    help="figure files the report writes (default none: the page draws its charts)")
    a = ap.parse_args()
    res = bench(a.repeats, a.figures)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    if a.json:
        print(json.dumps({"repeats": a.repeats, "figures": a.figures, "load_average_1min": load, "results": res},
                         indent=2))
        return
    print(f"{a.repeats} interleaved repeats, medians; --figures {a.figures}; load average {load:.1f} "
          f"on {os.cpu_count()} CPUs")
    print(f"{'command':8} {'files':>7} {'report':>14} {'no report':>14} {'wall ratio':>10} {'CPU ratio':>10} {'target':>7}")
    for name, r in res.items():
        print(f"{name:8} {r['figure_files']:>7} {r['report_wall_s']:6.2f} s/{r['report_cpu_s']:4.2f} cpu "
              f"{r['no_report_wall_s']:6.2f} s/{r['no_report_cpu_s']:4.2f} cpu {r['wall_ratio']:10.2f} "
              f"{r['cpu_ratio']:10.2f} {r['target_ratio']:>6.1f}x")


if __name__ == "__main__":
    main()
