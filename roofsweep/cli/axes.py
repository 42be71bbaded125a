"""``sweep`` / ``compare`` over lists of batches, dtypes and resolutions (``--batch 1,8,32
--dtype int8,fp16 --resolution 224,256``): one long-form table, throughput beside latency,
the compute-bound batch, and a latency/throughput-vs-batch figure."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

AXES_FILE, FIGURE_FILE = "sweep-axes.csv", "batch.png"


def axes_mode(batch, dtype, resolution) -> bool:
    """True when a list option asks for more than one combination, or a dtype is named."""
    from roofsweep.engine.axes import parse_list

    if dtype is not None:
        return True
    if len(parse_list(batch, "--batch")) > 1:
        return True
    return resolution is not None and len(parse_list(resolution, "--resolution")) > 1


def _traces(models, width, resolutions, batches):
    """One trace per (model, batch, resolution), shared by every dtype (the trace cache keys on
    the input shape, so each is traced once ever)."""
    from roofsweep.analysis import resolve_models
    from roofsweep.cli.common import progress
    from roofsweep.trace.cache import load_or_trace

    base = resolve_models(models, width, None)
    traces, meta = {}, {}
    jobs = [(b, r) for r in resolutions for b in batches]
    with progress(len(jobs) * len(models), "tracing") as step:
        for spec, ref0 in zip(models, base):
            meta[ref0.label] = {"family": ref0.family, "display_name": ref0.display_name, "width": ref0.width,
                                "top1": ref0.top1}
            for b, r in jobs:
                ref = resolve_models([spec], width, r, b)[0]
                step(ref.label)
                traces[(ref0.label, b, ref.resolution)] = load_or_trace(ref)
    return traces, meta


def _table(df):
    from rich.table import Table

    t = Table(title="Batch / dtype / resolution sweep", show_lines=False)
    for c in ("model", "res", "batch", "dtype", "point", "latency ms", "samples/s", "compute-bound at batch"):
        t.add_column(c, justify="left" if c in ("model", "dtype", "point") else "right")
    for r in df.itertuples(index=False):
        cbb = "never" if r.compute_bound_batch != r.compute_bound_batch else f"{int(r.compute_bound_batch)}"
        t.add_row(str(r.model), str(r.resolution), str(r.batch), str(r.dtype), str(r.point),
                  f"{r.latency_s * 1e3:.4g}", f"{r.samples_per_s:.4g}", cbb)
    return t


def _write_folder(target: Path, df, force: bool) -> Path:
    """The table as CSV and the figure as PNG in ``target``, written to a temporary folder and
    renamed into place (complete or absent)."""
    from roofsweep.errors import OutputError
    from roofsweep.report.figure_batch import batch_figure

    if target.exists() and any(target.iterdir()):
        if not (force and (target / AXES_FILE).is_file()):
            raise OutputError(f"'{target}' exists; choose another --out (--force replaces only a folder this wrote)")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=".roofsweep-axes-"))
    try:
        df.to_csv(tmp / AXES_FILE, index=False)
        batch_figure(df).savefig(tmp / FIGURE_FILE, dpi=110)
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


def run_axes(models, width, resolution, batch, dtype, hardware, ridge_points, rp_range, preset, overrides,
             fmt, out, no_report: bool, default_name: str, force: bool) -> None:
    from roofsweep.analysis import cost_model_from
    from roofsweep.cli.common import Format, emit, info, warn
    from roofsweep.cli.sweep import DEFAULT_OUT, _ridge_points
    from roofsweep.engine.axes import parse_list, sweep_axes
    from roofsweep.hardware import get_profile, list_profiles
    from roofsweep.report.bundle import check_writable

    batches = parse_list(batch, "--batch")
    resolutions = parse_list(resolution, "--resolution") if resolution is not None else [None]
    dtypes = parse_list(dtype, "--dtype", str) if dtype is not None else None
    rps = _ridge_points(ridge_points, rp_range)
    target = None if no_report else Path(out if out is not None else DEFAULT_OUT / default_name)
    if target is not None:
        check_writable(target, force=force)
    cm = cost_model_from(preset, overrides)
    profiles = list_profiles() if hardware is None else [get_profile(h) for h in hardware]
    traces, meta = _traces(models, width, resolutions, batches)
    df, notes = sweep_axes(traces, dtypes, rps, profiles, cm, meta)
    emit(df, fmt, [_table(df)] if fmt == Format.table else [])
    for n in notes:
        warn(n)
    if target is not None:
        info(f"report: {_write_folder(target, df, force) / FIGURE_FILE}")
