"""``roofsweep search SPACE.yaml``: cost the candidates of a search space (block or callable)."""

from __future__ import annotations

import contextlib
import sys
from enum import Enum
from pathlib import Path
from typing import Optional

import typer

from roofsweep.cli import app
from roofsweep.cli.common import Preset, handle_errors, info, progress, warn


class RowFormat(str, Enum):
    csv = "csv"
    json = "json"


class Capacity(str, Enum):
    params = "params"
    macs = "macs"


@app.command("search")
@handle_errors
def search_cmd(
    space_file: Path = typer.Argument(..., help="Search-space YAML (see docs/search-spaces.md)."),
    samples: Optional[int] = typer.Option(None, "--samples", "-n", help="Candidates to draw at random."),
    seed: int = typer.Option(0, "--seed", help="Seed of the random draw."),
    all_: bool = typer.Option(False, "--all", help="Cost every candidate (spaces up to 10 million)."),
    ridge_points: Optional[str] = typer.Option(None, "--ridge-points", help="Ridge points in MAC/byte (default 0,5,50,500)."),
    rp_range: Optional[str] = typer.Option(None, "--rp-range", help="Ridge-point range START:STOP:N[:log]."),
    hardware: Optional[list[str]] = typer.Option(None, "--hardware", "-H", help="Hardware profile name or YAML; repeat for several."),
    preset: Preset = typer.Option(Preset.default, "--preset", "-p", help="Cost-model preset."),
    overrides: Optional[list[str]] = typer.Option(None, "--set", help="Override a cost-model setting, e.g. --set dtype=fp16."),
    capacity: Capacity = typer.Option(Capacity.params, "--capacity", help="Capacity axis of the Pareto frontier."),
    batch: int = typer.Option(1, "--batch", "-b", help="Batch size."),
    fmt: RowFormat = typer.Option(RowFormat.csv, "--format", "-f", help="Output format."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Output file (default: stdout). Written whole or not at all."),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", help="Dask: local:N (N worker processes) or tcp://HOST:PORT."),
    scheduler_timeout: float = typer.Option(10.0, "--scheduler-timeout", help="Seconds to wait for a Dask scheduler to answer."),
) -> None:
    """One row per candidate: spec, MACs, params, bytes, latency at each point and profile,
    whether it is on the capacity-vs-latency Pareto frontier at each ridge point, and its
    frontier share of the ridge-point range.

    Example: roofsweep search configs/space-mnv4-conv.yaml --samples 100000 --out cands.csv
    """
    from roofsweep.analysis import cost_model_from
    from roofsweep.cli.sweep import _ridge_points
    from roofsweep.errors import ConfigError
    from roofsweep.search.run import DEFAULT_RPS, check_output, choose, search, write_stream
    from roofsweep.search.space import load_space
    from roofsweep.search.stream import RowSpool

    if ridge_points is None and rp_range is None:
        ridge_points = DEFAULT_RPS
    rps = _ridge_points(ridge_points, rp_range)
    if batch < 1:
        raise ConfigError(f"--batch must be a positive integer, got {batch}")
    check_output(out)
    if scheduler:
        from roofsweep.search.cluster import check_scheduler

        check_scheduler(scheduler)
    cm = cost_model_from(preset.value, overrides)
    space = load_space(space_file)
    digits = choose(space, samples, seed, all_)
    from roofsweep.search.run import CHUNK

    if getattr(space, "kind", "blocks") == "callable":
        from roofsweep.search.callables import CHUNK
    with contextlib.ExitStack() as stack:
        spool = None if out is None else stack.enter_context(RowSpool(out, fmt.value))
        with progress(-(-len(digits) // CHUNK), "costing candidates") as step:
            result = search(space, digits, rps, hardware or [], cm, capacity.value, batch, scheduler,
                            progress=lambda what, n, total: step() if what == "costing" else None,
                            scheduler_timeout=scheduler_timeout, sink=spool)
        if spool is not None:
            spool.finish()
            counts = spool.frontier_counts
        else:
            counts = {lab: int(result.rows[f"on_frontier[{lab}]"].sum()) for lab in result.rp_labels}
    _summary(result, counts, len(digits), capacity.value)
    if out is None:
        write_stream(result.rows, sys.stdout, fmt.value)
        sys.stdout.flush()
    else:
        info(f"rows: {out}")


def _summary(result, counts: dict[str, int], n: int, capacity: str) -> None:
    st, space = result.stats, result.space
    what = "traced in full" if "traced_candidates" in st else f"{st['distinct_blocks']} distinct blocks"
    info(f"{n:,} candidates of {space.size:.4g} in {space.source}; {what}; {st['seconds']:.1f} s")
    for k, v in sorted(st.get("unsupported_ops", {}).items()):
        warn(f"ops without a cost formula (not counted): {k} x{v}")
    for label, k in counts.items():
        info(f"{label}: {k} on the {capacity}-vs-latency frontier")
