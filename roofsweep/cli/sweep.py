"""``roofsweep sweep``, ``roofsweep compare`` and ``roofsweep run CONFIG``."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Optional

import typer

from roofsweep.cli import app
from roofsweep.cli.common import Format, Preset, emit, handle_errors, info, progress, status, warn
from roofsweep.cli.models import MODEL_HELP, parse_shape

HARDWARE_HELP = "Hardware profile name or YAML path; repeat for several. Default: every profile found."
RP_HELP = "Ridge points in MAC/byte, e.g. 0,5,50,500."
RANGE_HELP = "Ridge-point range START:STOP:N (linear) or START:STOP:N:log."
SET_HELP = "Override a cost-model setting, e.g. --set dtype=fp16 --set use_onchip=true."
DEFAULT_OUT = Path("roofsweep-reports")
BATCH_HELP = "Batch size, or a list 1,8,32 (one long-form table over every batch)."
DTYPE_HELP = "Dtype(s), e.g. int8,fp16,fp32 (default: the cost model's / profile's)."
RES_HELP = "Input resolution in pixels, or a list 224,256."


def _single(text, what: str):
    """The one value of a list option (the ordinary, single-combination sweep)."""
    from roofsweep.engine.axes import parse_list

    values = parse_list(text, what) if text is not None else [None]
    return values[0]


def _ridge_points(ridge_points: Optional[str], rp_range: Optional[str]):
    from roofsweep.analysis import DEFAULT_TABLE_RPS
    from roofsweep.errors import ConfigError

    if ridge_points is not None and rp_range is not None:
        raise ConfigError("give --ridge-points or --rp-range, not both")
    spec = ridge_points if ridge_points is not None else rp_range
    return DEFAULT_TABLE_RPS if spec is None else spec  # an empty spec is an error, not the default


def _command_line() -> str:
    return "roofsweep " + " ".join(shlex.quote(a) for a in sys.argv[1:])


def _out_dir(out: Optional[Path], default_name: str, no_report: bool, force: bool = False) -> Optional[Path]:
    """Check the report destination before any work is done."""
    if no_report:
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


def _write_report(analysis, out: Optional[Path], force: bool, title: Optional[str] = None,
                  chosen_profiles: bool = False) -> Optional[Path]:
    if out is None:
        return None
    from roofsweep.report.assemble import build_report
    from roofsweep.report.bundle import write_report

    with status("writing report"):
        report, figures = build_report(analysis, _command_line(), title=title, chosen_profiles=chosen_profiles)
        return write_report(out, report, figures, force=force)


def _comparison(a, title: str) -> list:
    """The compare tables: models x ridge points (with frontier share), models x profiles."""
    from roofsweep.report.terminal import compare_table

    tables = [compare_table(a.rp_sweep, frontier_share=a.frontier_share,
                            title=f"{title} ({a.cost_model.name} cost model)")]
    if len(a.profile_sweep):
        tables.append(compare_table(a.profile_sweep, title="Hardware profiles"))
    return tables


def _finish(a, fmt: Format, renderables, target, force: bool, chosen_profiles: bool, title=None) -> None:
    """Print the rows (or tables), the notes, then write the report and say where."""
    emit(_long_rows(a), fmt, renderables)
    for note in a.notes:
        warn(note)
    written = _write_report(a, target, force, title=title, chosen_profiles=chosen_profiles)
    if written is not None:
        info(f"report: {written / 'index.html'}")


def _long_rows(analysis):
    import pandas as pd

    return pd.concat([analysis.rp_sweep, analysis.profile_sweep], ignore_index=True)


@app.command("sweep")
@handle_errors
def sweep_cmd(
    model: str = typer.Option(..., "--model", "-m", help=MODEL_HELP),
    width: Optional[float] = typer.Option(None, "--width", "-w", help="Width multiplier (zoo models)."),
    resolution: Optional[str] = typer.Option(None, "--resolution", "-r", help=RES_HELP),
    batch: str = typer.Option("1", "--batch", "-b", help=BATCH_HELP),
    dtype: Optional[str] = typer.Option(None, "--dtype", help=DTYPE_HELP),
    input_shape: Optional[str] = typer.Option(None, "--input-shape", help="Input shape for external models."),
    hardware: Optional[list[str]] = typer.Option(None, "--hardware", "-H", help=HARDWARE_HELP),
    ridge_points: Optional[str] = typer.Option(None, "--ridge-points", help=RP_HELP),
    rp_range: Optional[str] = typer.Option(None, "--rp-range", help=RANGE_HELP),
    preset: Preset = typer.Option(Preset.default, "--preset", "-p", help="Cost-model preset."),
    overrides: Optional[list[str]] = typer.Option(None, "--set", help=SET_HELP),
    fmt: Format = typer.Option(Format.table, "--format", "-f", help="Output format."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Report folder (default roofsweep-reports/sweep-MODEL)."),
    no_report: bool = typer.Option(False, "--no-report", help="Print only; write no report folder."),
    force: bool = typer.Option(False, "--force", help="Replace an existing report folder."),
) -> None:
    """Latency of one model across ridge points and hardware profiles; writes an HTML/PNG report.

    Example: roofsweep sweep --model mnv4-conv-m --preset paper --hardware pixel6-cpu
    """
    from roofsweep.analysis import HIGH_RP, LOW_RP, resolve_models, totals
    from roofsweep.cli.axes import axes_mode, run_axes
    from roofsweep.report.terminal import dominant_layers_table, model_totals_panel, sweep_table

    if axes_mode(batch, dtype, resolution):
        if input_shape is not None:
            from roofsweep.errors import ConfigError

            raise ConfigError("--input-shape fixes one batch and resolution; with --batch/--dtype/--resolution lists give those instead")
        return run_axes([model], width, resolution, batch, dtype, hardware, ridge_points, rp_range, preset.value,
                        overrides, fmt, out, no_report, f"sweep-{model}", force)
    resolution, batch = _single(resolution, "--resolution"), _single(batch, "--batch")
    refs = resolve_models([model], width, resolution, batch, parse_shape(input_shape))
    rps = _ridge_points(ridge_points, rp_range)
    target = _out_dir(out, f"sweep-{refs[0].label}", no_report, force)
    a = _analyze(refs, hardware, rps, preset.value, overrides)
    m = a.models[0]
    renderables = []
    if fmt == Format.table:
        from roofsweep.engine.costmodel import apply_cost_model

        costed = apply_cost_model(m.trace.layers, a.cost_model, a.cost_model.resolve_dtype(None))
        t = totals(m, a.cost_model)
        title = f"{m.ref.display_name} @ {m.ref.resolution}px, batch {m.ref.batch} ({a.cost_model.name} cost model, {t['dtype']})"
        renderables.append(model_totals_panel(costed, params=m.trace.params, title=title,
                                              unsupported_ops=m.trace.unsupported_ops))
        renderables.append(sweep_table(_long_rows(a)))
        low, high = f"RP {LOW_RP:g}", f"RP {HIGH_RP:g}"
        renderables.append(dominant_layers_table({low: a.layers(m.label, low), high: a.layers(m.label, high)},
                                                 title="Layers that dominate at low and high ridge point"))
    _finish(a, fmt, renderables, target, force, chosen_profiles=bool(hardware))


@app.command("compare")
@handle_errors
def compare_cmd(
    models: list[str] = typer.Argument(..., help="Models to compare (zoo names, paper names, external specs)."),
    width: Optional[float] = typer.Option(None, "--width", "-w", help="Width multiplier for every zoo model."),
    resolution: Optional[str] = typer.Option(None, "--resolution", "-r", help=RES_HELP),
    batch: str = typer.Option("1", "--batch", "-b", help=BATCH_HELP),
    dtype: Optional[str] = typer.Option(None, "--dtype", help=DTYPE_HELP),
    hardware: Optional[list[str]] = typer.Option(None, "--hardware", "-H", help=HARDWARE_HELP),
    ridge_points: Optional[str] = typer.Option(None, "--ridge-points", help=RP_HELP),
    rp_range: Optional[str] = typer.Option(None, "--rp-range", help=RANGE_HELP),
    preset: Preset = typer.Option(Preset.default, "--preset", "-p", help="Cost-model preset."),
    overrides: Optional[list[str]] = typer.Option(None, "--set", help=SET_HELP),
    fmt: Format = typer.Option(Format.table, "--format", "-f", help="Output format."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Report folder (default roofsweep-reports/compare)."),
    no_report: bool = typer.Option(False, "--no-report", help="Print only; write no report folder."),
    force: bool = typer.Option(False, "--force", help="Replace an existing report folder."),
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
    refs = resolve_models(models, width, resolution, batch)
    rps = _ridge_points(ridge_points, rp_range)
    target = _out_dir(out, "compare", no_report, force)
    a = _analyze(refs, hardware, rps, preset.value, overrides)
    renderables = _comparison(a, "Ridge-point sweep") if fmt == Format.table else []
    _finish(a, fmt, renderables, target, force, chosen_profiles=bool(hardware))


@app.command("run")
@handle_errors
def run_cmd(
    config: Path = typer.Argument(..., help="Experiment YAML (see configs/)."),
    fmt: Format = typer.Option(Format.table, "--format", "-f", help="Output format."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Report folder (overrides the config's)."),
    no_report: bool = typer.Option(False, "--no-report", help="Print only; write no report folder."),
    force: bool = typer.Option(False, "--force", help="Replace an existing report folder."),
) -> None:
    """Run an experiment config: models, widths, resolutions, accuracies, profiles or RPs, preset.

    Example: roofsweep run configs/mnv4-paper-fig2.yaml
    """
    from roofsweep.analysis import analyze, load_models
    from roofsweep.config import load_experiment

    exp = load_experiment(config)
    target = _out_dir(out or exp.out, exp.name, no_report, force)
    with progress(len(exp.models), "tracing") as step:
        results = load_models(exp.models, progress=lambda r: step(r.label))
    a = analyze(results, hardware=exp.hardware, ridge_points=exp.ridge_points, preset=exp.preset,
                overrides=exp.overrides, per_layer_points=exp.per_layer_points, accuracy=exp.accuracy)
    renderables = _comparison(a, exp.title) if fmt == Format.table else []
    _finish(a, fmt, renderables, target, force, chosen_profiles=bool(exp.hardware), title=exp.title)
