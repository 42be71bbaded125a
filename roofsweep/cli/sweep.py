"""``roofsweep sweep``, ``roofsweep compare`` and ``roofsweep run CONFIG``."""

from __future__ import annotations

import shlex
import sys
from enum import Enum
from pathlib import Path
from typing import Optional

import typer

from roofsweep.cli import Command, app
from roofsweep.cli.common import Format, Preset, emit, handle_errors, info, progress, status, warn
from roofsweep.cli.models import INPUT_SHAPE_HELP, MODEL_HELP, parse_shapes
from roofsweep.cli.options import (ACCURACIES_HELP, FORMAT_HELP, HARDWARE_HELP, RANGE_HELP, RP_HELP, SET_HELP,
                                   TOP1_HELP, accuracies)
from roofsweep.cli.options import ridge_points as _ridge_points

DEFAULT_OUT = Path("roofsweep-reports")
LATEST = "latest"  # DEFAULT_OUT/latest -> the report written there last
BATCH_HELP = "Batch size, or a list 1,8,32 (one long-form table over every batch)."
DTYPE_HELP = "Dtype(s), e.g. int8,fp16,fp32 (default: the cost model's / profile's)."
RES_HELP = "Input resolution in pixels, or a list 224,256."
FIGURES_HELP = ("Also write the matplotlib figures into the report's figures/ folder: svg, or png (SVG and PNG). "
                "Default none: the page draws its own charts.")


class Figures(str, Enum):
    none = "none"
    svg = "svg"
    png = "png"


def _single(text, what: str):
    """The one value of a list option (the ordinary, single-combination sweep)."""
    from roofsweep.engine.axes import parse_list

    values = parse_list(text, what) if text is not None else [None]
    return values[0]


def _command_line() -> str:
    return "roofsweep " + " ".join(shlex.quote(a) for a in sys.argv[1:])


def _out_dir(out: Optional[Path], default_name: str, no_report: bool, force: bool = False,
             fmt: Format = Format.table) -> Optional[Path]:
    """Where the report goes, checked before any work is done; None for no report (``--no-report``,
    or ``--format json|csv`` without ``--out``: rows on stdout, no files)."""
    if no_report or (out is None and fmt != Format.table):
        return None
    from roofsweep.report.bundle import check_writable

    target = out if out is not None else DEFAULT_OUT / default_name
    check_writable(target, force=force)
    return target


def _analyze(refs, hardware, rps, preset, overrides, **kw):
    from roofsweep.analysis import analyze, load_models

    with progress(len(refs), "tracing") as step:
        results = load_models(refs, progress=lambda r: step(r.label))
    return analyze(results, hardware=hardware or None, ridge_points=rps, preset=preset,
                   overrides=overrides, **kw)


def _link_latest(folder: Path) -> None:
    """Point ``roofsweep-reports/latest`` at ``folder`` (a report just written there); a
    ``latest`` that is not a link is the user's and is left alone."""
    import os

    parent = folder.parent
    link = parent / LATEST
    if link.exists() and not link.is_symlink():
        warn(f"'{link}' is not a link roofsweep made; left as it is")
        return
    tmp = parent / f".{LATEST}-{os.getpid()}"
    try:
        tmp.unlink(missing_ok=True)
        os.symlink(folder.name, tmp)
        os.replace(tmp, link)
    except OSError as e:  # a filesystem without links: the report itself is written
        tmp.unlink(missing_ok=True)
        warn(f"could not link '{link}' to the report ({e.strerror or e})")


def _write_report(analysis, out: Optional[Path], force: bool, title: Optional[str] = None,
                  chosen_profiles: bool = False, figures: str = "none") -> Optional[Path]:
    """The report folder: index.html (its charts drawn by the page), CSV, summary.json; with
    ``figures`` svg or png also the matplotlib figures (matplotlib is imported only then)."""
    if out is None:
        return None
    from roofsweep.report.assemble import build_report
    from roofsweep.report.bundle import write_report

    with status("building report"):
        report, figs = build_report(analysis, _command_line(), title=title, chosen_profiles=chosen_profiles,
                                    figures=figures != "none")
    if not figs:
        with status("writing report"):
            written = write_report(out, report, force=force)
    else:
        with progress(len(figs), "drawing figures") as step:  # counts figures as they are drawn
            written = write_report(out, report, figs, force=force, png=figures == "png",
                                   progress=lambda done, total: step())
    if Path(out).parent == DEFAULT_OUT:
        _link_latest(written)
    return written


def _comparison(a, title: str) -> list:
    """The compare tables: models x ridge points (with frontier share), models x profiles."""
    from rich.console import Group
    from rich.text import Text

    from roofsweep.report.terminal import compare_table
    from roofsweep.report.terminal_sweep import held_lines

    rp = a.rp_sweep
    head = [Text(f"{title} ({a.cost_model.name} cost model)", style="bold")] + [Text(ln) for ln in held_lines(rp)]
    tables: list = [Group(*head, compare_table(rp, frontier_share=a.frontier_share, title=None, same_as=a.same_as))]
    if len(a.profile_sweep) and len(a.same_as) < a.profile_sweep["point"].nunique():
        tables.append(Group(Text("Hardware profiles at their own peak and bandwidth (roofline bounds)", style="bold"),
                            compare_table(a.profile_sweep, same_as=a.same_as, title=None)))
    return tables


def _finish(a, fmt: Format, renderables, target, force: bool, chosen_profiles: bool, title=None,
            figures: str = "none") -> None:
    """Print the rows (or tables), the notes, then write the report and say where."""
    emit(a.rows, fmt, renderables)
    for note in a.notes:
        warn(note)
    written = _write_report(a, target, force, title=title, chosen_profiles=chosen_profiles, figures=figures)
    if written is not None:
        info(f"report: {written / 'index.html'}")


def _sweep_renderables(a, inputs: str | None = None) -> list:
    from roofsweep.report.terminal import dominant_layers_table, model_totals_panel, sweep_table

    m = a.models[0]
    t = a.totals.loc[m.label]
    title = (f"{m.ref.display_name} @ {m.ref.resolution}px, batch {m.ref.batch} "
             f"({a.cost_model.name} cost model, {t['dtype']})")
    low, high = a.per_layer_points[0], a.per_layer_points[-1]
    return [model_totals_panel(t.to_dict(), params=m.trace.params, title=title,
                               unsupported_ops=m.trace.unsupported_ops, inputs=inputs),
            sweep_table(a.rows, same_as=a.same_as),
            dominant_layers_table(a.dominant_at(m.label),
                                  title=f"Layers that dominate at low and high ridge point ({low}, {high})")]


@app.command("sweep", cls=Command)
@handle_errors
def sweep_cmd(
    model: str = typer.Option(..., "--model", "-m", metavar="MODEL", help=MODEL_HELP),
    width: Optional[float] = typer.Option(None, "--width", "-w", metavar="X", help="Width multiplier (zoo models)."),
    resolution: Optional[str] = typer.Option(None, "--resolution", "-r", metavar="PX[,PX...]", help=RES_HELP),
    batch: str = typer.Option("1", "--batch", "-b", metavar="N[,N...]", help=BATCH_HELP),
    dtype: Optional[str] = typer.Option(None, "--dtype", metavar="DTYPE[,DTYPE...]", help=DTYPE_HELP),
    input_shape: Optional[list[str]] = typer.Option(None, "--input-shape", metavar="SHAPE", help=INPUT_SHAPE_HELP),
    hardware: Optional[list[str]] = typer.Option(None, "--hardware", "-H", metavar="PROFILE", help=HARDWARE_HELP),
    ridge_points: Optional[str] = typer.Option(None, "--ridge-points", metavar="RPS", help=RP_HELP),
    rp_range: Optional[str] = typer.Option(None, "--rp-range", metavar="RANGE", help=RANGE_HELP),
    preset: Preset = typer.Option(Preset.default, "--preset", "-p", help="Cost-model preset."),
    overrides: Optional[list[str]] = typer.Option(None, "--set", metavar="KEY=VALUE", help=SET_HELP),
    fmt: Format = typer.Option(Format.table, "--format", "-f", help=FORMAT_HELP),
    out: Optional[Path] = typer.Option(None, "--out", "-o", metavar="FOLDER",
                                       help="Report folder (default roofsweep-reports/sweep-MODEL)."),
    no_report: bool = typer.Option(False, "--no-report", help="Print only; write no report folder."),
    force: bool = typer.Option(False, "--force", help="Replace an existing report folder."),
    figures: Figures = typer.Option(Figures.none, "--figures", help=FIGURES_HELP),
) -> None:
    """Latency of one model across ridge points and hardware profiles; writes an HTML report.

    Example: roofsweep sweep --model mnv4-conv-m --preset paper --hardware pixel6-cpu
    """
    from roofsweep.analysis import resolve_models
    from roofsweep.cli.axes import axes_mode, run_axes

    if axes_mode(batch, dtype, resolution):
        if input_shape is not None:
            from roofsweep.errors import ConfigError

            raise ConfigError("--input-shape fixes one batch and resolution; with --batch/--dtype/--resolution lists give those instead")
        return run_axes([model], width, resolution, batch, dtype, hardware, ridge_points, rp_range, preset.value,
                        overrides, fmt, out, no_report, f"sweep-{model}", force)
    resolution, batch = _single(resolution, "--resolution"), _single(batch, "--batch")
    refs = resolve_models([model], width, resolution, batch, parse_shapes(input_shape))
    rps = _ridge_points(ridge_points, rp_range)
    target = _out_dir(out, f"sweep-{refs[0].label}", no_report, force, fmt)
    a = _analyze(refs, hardware, rps, preset.value, overrides)
    renderables = _sweep_renderables(a, _inputs_of(a, input_shape, resolution)) if fmt == Format.table else []
    _finish(a, fmt, renderables, target, force, chosen_profiles=bool(hardware), figures=figures.value)


def _inputs_of(a, input_shape, resolution) -> str:
    """``input 1x3x224x224 (zoo default resolution)`` for the totals panel (as ``layers`` says it)."""
    from roofsweep.cli.models import traced_inputs
    from roofsweep.report.terminal import inputs_text

    m = a.models[0]
    return inputs_text(*traced_inputs(m.ref, m.trace, bool(input_shape), resolution is not None))


@app.command("compare", cls=Command)
@handle_errors
def compare_cmd(
    models: list[str] = typer.Argument(..., metavar="MODEL...",
                                       help="Models to compare (zoo names, paper names, external specs)."),
    width: Optional[float] = typer.Option(None, "--width", "-w", metavar="X", help="Width multiplier for every zoo model."),
    resolution: Optional[str] = typer.Option(None, "--resolution", "-r", metavar="PX[,PX...]", help=RES_HELP),
    batch: str = typer.Option("1", "--batch", "-b", metavar="N[,N...]", help=BATCH_HELP),
    dtype: Optional[str] = typer.Option(None, "--dtype", metavar="DTYPE[,DTYPE...]", help=DTYPE_HELP),
    input_shape: Optional[list[str]] = typer.Option(None, "--input-shape", metavar="SHAPE", help=INPUT_SHAPE_HELP),
    top1: Optional[list[str]] = typer.Option(None, "--top1", metavar="NAME=ACC", help=TOP1_HELP),
    accuracies_csv: Optional[Path] = typer.Option(None, "--accuracies", metavar="FILE.csv", help=ACCURACIES_HELP),
    hardware: Optional[list[str]] = typer.Option(None, "--hardware", "-H", metavar="PROFILE", help=HARDWARE_HELP),
    ridge_points: Optional[str] = typer.Option(None, "--ridge-points", metavar="RPS", help=RP_HELP),
    rp_range: Optional[str] = typer.Option(None, "--rp-range", metavar="RANGE", help=RANGE_HELP),
    preset: Preset = typer.Option(Preset.default, "--preset", "-p", help="Cost-model preset."),
    overrides: Optional[list[str]] = typer.Option(None, "--set", metavar="KEY=VALUE", help=SET_HELP),
    fmt: Format = typer.Option(Format.table, "--format", "-f", help=FORMAT_HELP),
    out: Optional[Path] = typer.Option(None, "--out", "-o", metavar="FOLDER",
                                       help="Report folder (default roofsweep-reports/compare)."),
    no_report: bool = typer.Option(False, "--no-report", help="Print only; write no report folder."),
    force: bool = typer.Option(False, "--force", help="Replace an existing report folder."),
    figures: Figures = typer.Option(Figures.none, "--figures", help=FIGURES_HELP),
) -> None:
    """Several models side by side: latency at each point, Pareto frontier, frontier share.

    Example: roofsweep compare mnv2 mnv3-large mnv4-conv-s mnv4-conv-m --preset paper
    """
    from roofsweep.analysis import resolve_models
    from roofsweep.cli.axes import axes_mode, run_axes

    if axes_mode(batch, dtype, resolution):
        return run_axes(models, width, resolution, batch, dtype, hardware, ridge_points, rp_range, preset.value,
                        overrides, fmt, out, no_report, "compare", force)
    resolution, batch = _single(resolution, "--resolution"), _single(batch, "--batch")
    refs = resolve_models(models, width, resolution, batch, parse_shapes(input_shape))
    acc = accuracies(models, refs, top1, accuracies_csv)
    rps = _ridge_points(ridge_points, rp_range)
    target = _out_dir(out, "compare", no_report, force, fmt)
    a = _analyze(refs, hardware, rps, preset.value, overrides, accuracy=acc)
    renderables = _comparison(a, "Ridge-point sweep") if fmt == Format.table else []
    _finish(a, fmt, renderables, target, force, chosen_profiles=bool(hardware), figures=figures.value)


@app.command("run", cls=Command)
@handle_errors
def run_cmd(
    config: Path = typer.Argument(..., metavar="CONFIG.yaml", help="Experiment YAML (see configs/)."),
    fmt: Format = typer.Option(Format.table, "--format", "-f", help=FORMAT_HELP),
    out: Optional[Path] = typer.Option(None, "--out", "-o", metavar="FOLDER",
                                       help="Report folder (overrides the config's)."),
    no_report: bool = typer.Option(False, "--no-report", help="Print only; write no report folder."),
    force: bool = typer.Option(False, "--force", help="Replace an existing report folder."),
    figures: Optional[Figures] = typer.Option(None, "--figures", help=FIGURES_HELP + " Default: the config's `figures:`."),
) -> None:
    """Run an experiment config: models, widths, resolutions, accuracies, profiles or RPs, preset.

    Example: roofsweep run configs/mnv4-paper-fig2.yaml
    """
    from roofsweep.analysis import analyze, load_models
    from roofsweep.config import load_experiment

    exp = load_experiment(config)
    target = _out_dir(out or exp.out, exp.name, no_report, force, fmt)
    with progress(len(exp.models), "tracing") as step:
        results = load_models(exp.models, progress=lambda r: step(r.label))
    a = analyze(results, hardware=exp.hardware, ridge_points=exp.ridge_points, preset=exp.preset,
                overrides=exp.overrides, per_layer_points=exp.per_layer_points, accuracy=exp.accuracy)
    renderables = _comparison(a, exp.title) if fmt == Format.table else []
    _finish(a, fmt, renderables, target, force, chosen_profiles=bool(exp.hardware), title=exp.title,
            figures=figures.value if figures is not None else exp.figures)
