"""``sweep`` / ``compare`` over lists of batches, dtypes and resolutions (``--batch 1,8,32
--dtype int8,fp16 --resolution 224,256``): parse, ``analysis_axes.analyze_axes``, the axes
table, and a report folder with the long-form CSV and the latency/throughput-vs-batch figure."""

from __future__ import annotations

from pathlib import Path

AXES_FILE, FIGURE_FILE = "sweep-axes.csv", "batch.svg"


def axes_mode(batch, dtype, resolution) -> bool:
    """True when a list option asks for more than one combination, or a dtype is named."""
    from roofsweep.engine.axes import parse_list

    if dtype is not None:
        return True
    if len(parse_list(batch, "--batch")) > 1:
        return True
    return resolution is not None and len(parse_list(resolution, "--resolution")) > 1


def _files(rows) -> dict[str, str]:
    from roofsweep.report.export import to_csv
    from roofsweep.report.figure_batch import batch_figure
    from roofsweep.report.figures.render import render_figure

    return {AXES_FILE: to_csv(rows), FIGURE_FILE: render_figure(batch_figure(rows)).svg}


def run_axes(models, width, resolution, batch, dtype, hardware, ridge_points, rp_range, preset, overrides,
             fmt, out, no_report: bool, default_name: str, force: bool) -> None:
    from roofsweep.analysis_axes import analyze_axes
    from roofsweep.cli.common import Format, emit, info, progress, warn
    from roofsweep.cli.sweep import DEFAULT_OUT, _ridge_points
    from roofsweep.engine.axes import parse_list
    from roofsweep.report.bundle import check_writable, write_files
    from roofsweep.report.terminal_axes import axes_table

    batches = parse_list(batch, "--batch")
    resolutions = parse_list(resolution, "--resolution") if resolution is not None else [None]
    dtypes = parse_list(dtype, "--dtype", str) if dtype is not None else None
    rps = _ridge_points(ridge_points, rp_range)
    scripted = fmt != Format.table and out is None  # rows on stdout, no files unless --out
    target = None if no_report or scripted else Path(out if out is not None else DEFAULT_OUT / default_name)
    if target is not None:
        check_writable(target, force=force)
    with progress(len(models) * len(batches) * len(resolutions), "tracing") as step:
        a = analyze_axes(models, width=width, resolutions=resolutions, batches=batches, dtypes=dtypes,
                         ridge_points=rps, hardware=hardware, preset=preset, overrides=overrides, progress=step)
    emit(a.rows, fmt, [axes_table(a.rows)] if fmt == Format.table else [])
    for n in a.notes:
        warn(n)
    if target is not None:
        written = write_files(target, _files(a.rows), force=force)
        info(f"report: {written / FIGURE_FILE}")
