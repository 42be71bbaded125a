"""``roofsweep probe``, ``roofsweep measure`` and ``roofsweep validate``: ground truth on this host."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from roofsweep.cli import app
from roofsweep.cli.common import Format, Preset, console, emit, handle_errors, info, interactive, warn
from roofsweep.cli.models import MODEL_HELP


def _set_threads(threads: Optional[int]) -> None:
    if threads is None:
        return
    from roofsweep.errors import ConfigError

    import os

    most = max(64, 4 * (os.cpu_count() or 1))  # far past this, torch's thread pools exhaust memory or crash
    if not 1 <= threads <= most:
        raise ConfigError(f"--threads must be from 1 to {most} on this host, got {threads}")
    import torch

    torch.set_num_threads(threads)


class _Bar:
    """Maps the library's ``progress(description, done, total)`` callback onto a rich bar."""

    def __init__(self):
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        from roofsweep.cli.common import err_console

        self.progress = Progress(TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(),
                                 console=err_console, transient=True, disable=not interactive())
        self.task = None

    def __enter__(self):
        self.progress.__enter__()
        self.task = self.progress.add_task("", total=1.0)
        return self

    def __exit__(self, *exc):
        return self.progress.__exit__(*exc)

    def __call__(self, description: str, done: float, total: float) -> None:
        self.progress.update(self.task, description=description, completed=done, total=total or 1.0)


@app.command("probe")
@handle_errors
def probe_cmd(
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Profile file to write (default: NAME.yaml in the per-user profile folder, so it is found by name)."),
    name: Optional[str] = typer.Option(None, "--name", help="Profile name (default host-HOSTNAME)."),
    dtypes: str = typer.Option("fp32,bf16,fp16,int8", "--dtypes", help="Dtypes to try (fp32 always)."),
    threads: Optional[int] = typer.Option(None, "--threads", help="torch threads (default: torch's choice)."),
    quick: bool = typer.Option(False, "--quick", help="Small sizes: seconds instead of a minute; figures are lower bounds."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing profile file."),
    fmt: Format = typer.Option(Format.table, "--format", "-f", help="Output format."),
) -> None:
    """Measure this host's peak MAC/s (GEMM) and DRAM bandwidth (streaming triad) into a profile.

    Example: roofsweep probe --threads 1 --out my-host.yaml
    """
    import pandas as pd

    from roofsweep.errors import OutputError
    from roofsweep.hardware import user_profile_dir, write_profile
    from roofsweep.measure.probe import hostname_slug, probe_host
    from roofsweep.report.bundle import check_writable
    from roofsweep.report.terminal import profile_panel

    from roofsweep.hardware.schema import validate_name

    if name is not None:  # a bad name or output fails before a minute of measuring
        validate_name(name, "--name")
    target = out
    if target is None or target.is_dir():  # a folder gets NAME.yaml, as write_profile does
        folder = user_profile_dir() if target is None else target
        target = folder / f"{name or 'host-' + hostname_slug()}.yaml"
    if target.exists() and not force:
        raise OutputError(f"{target}: exists; pass --force to replace it or --out to write elsewhere")
    if target.is_dir():
        raise OutputError(f"{target}: is a folder; give a file path ending in .yaml")
    check_writable(target, what="profile", folder=False)
    _set_threads(threads)
    with _Bar() as bar:
        result = probe_host(tuple(d.strip() for d in dtypes.split(",") if d.strip()), progress=bar,
                            quick=quick, name=name)
    written = write_profile(result.profile(), target)
    rows = pd.DataFrame([{"dtype": d, "peak_macs_per_s": v,
                          "bandwidth_bytes_per_s": result.bandwidth_bytes_per_s,
                          "ridge_point": v / result.bandwidth_bytes_per_s}
                         for d, v in result.peak_macs_per_s.items()])
    emit(rows, fmt, [profile_panel(result.profile())])
    for dtype, why in result.skipped.items():
        warn(f"{dtype}: not in the profile: {why}")
    info(f"profile: {written}")


@app.command("measure")
@handle_errors
def measure_cmd(
    model: str = typer.Option(..., "--model", "-m", help=MODEL_HELP),
    width: Optional[float] = typer.Option(None, "--width", "-w", help="Width multiplier (zoo models)."),
    resolution: Optional[int] = typer.Option(None, "--resolution", "-r", help="Input resolution in pixels."),
    batch: int = typer.Option(1, "--batch", "-b", help="Batch size."),
    device: str = typer.Option("cpu", "--device", help="cpu or cuda."),
    repeats: int = typer.Option(20, "--repeats", help="Timed runs (median reported)."),
    warmup: int = typer.Option(5, "--warmup", help="Untimed runs first."),
    threads: Optional[int] = typer.Option(None, "--threads", help="torch threads (default: torch's choice)."),
    per_layer: bool = typer.Option(True, "--per-layer/--no-per-layer", help="Also time every layer (hooked run)."),
    fmt: Format = typer.Option(Format.table, "--format", "-f", help="Output format."),
) -> None:
    """Run the real model (random weights, eval, no grad) and measure its latency, per layer too.

    Example: roofsweep measure --model mnv4-conv-s --repeats 30 --threads 1
    """
    import pandas as pd

    from roofsweep.analysis import resolve_models
    from roofsweep.measure.latency import measure_model
    from roofsweep.report.terminal import layers_table
    from roofsweep.units import fmt_time

    (ref,) = resolve_models([model], width, resolution, batch)
    _set_threads(threads)
    with _Bar() as bar:
        res = measure_model(ref, device=device, repeats=repeats, warmup=warmup, per_layer=per_layer, progress=bar)
    if fmt != Format.table:
        rows = res.layers if (per_layer and res.layers is not None) else pd.DataFrame([res.summary()])
        emit(rows, fmt)
        return
    s = res.summary()
    console.print(f"{res.model} on {res.device} ({res.threads} threads): median {fmt_time(s['latency_s'])} "
                  f"over {s['repeats']} runs (min {fmt_time(s['min_s'])}, max {fmt_time(s['max_s'])})")
    if per_layer and res.layers is not None:
        t = res.layers.rename(columns={"measured_s": "time_s"})
        t = t.assign(intensity_macs_per_byte=float("nan"), bound="measured")
        console.print(layers_table(t, title=f"Measured per-layer time: {res.model} (hooked run)"))


@app.command("validate")
@handle_errors
def validate_cmd(
    models: list[str] = typer.Option(..., "--models", help="Models to measure (comma-separated or repeated); at least 3."),
    hardware: str = typer.Option(..., "--hardware", "-H", help="Profile of this host (from `roofsweep probe`)."),
    preset: Preset = typer.Option(Preset.default, "--preset", "-p", help="Cost-model preset."),
    overrides: Optional[list[str]] = typer.Option(None, "--set", help="Override a cost-model setting."),
    device: str = typer.Option("cpu", "--device", help="cpu or cuda."),
    repeats: int = typer.Option(20, "--repeats", help="Timed runs per model."),
    warmup: int = typer.Option(5, "--warmup", help="Untimed runs first."),
    threads: Optional[int] = typer.Option(None, "--threads", help="torch threads (default: torch's choice)."),
    fmt: Format = typer.Option(Format.table, "--format", "-f", help="Output format."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Report folder (default roofsweep-reports/validate)."),
    no_report: bool = typer.Option(False, "--no-report", help="Print only; write no report folder."),
    force: bool = typer.Option(False, "--force", help="Replace an existing report folder."),
) -> None:
    """Predicted vs measured latency across models: rank correlation, fitted ridge point.

    Example: roofsweep validate --models mnv1,mnv2,mnv3-large,mnv4-conv-s --hardware my-host.yaml
    """
    from roofsweep.analysis import cost_model_from, resolve_models
    from roofsweep.errors import MeasurementError
    from roofsweep.hardware import get_profile
    from roofsweep.measure.latency import measure_model
    from roofsweep.measure.validate import validate, validation_dtype
    from roofsweep.trace import load_or_trace

    specs = [s.strip() for m in models for s in m.split(",") if s.strip()]
    if len(specs) < 3:
        raise MeasurementError(f"validation needs at least 3 models to rank, got {len(specs)}")
    refs = resolve_models(specs)
    profile = get_profile(hardware)
    cm = cost_model_from(preset.value, overrides)
    validation_dtype(profile, cm)  # before minutes of measuring
    target = None
    if not no_report:
        from roofsweep.report.bundle import check_writable

        target = out or Path("roofsweep-reports") / "validate"
        check_writable(target, force=force)
    _set_threads(threads)
    traces = [load_or_trace(r) for r in refs]
    measured = {}
    with _Bar() as bar:
        for ref, tr in zip(refs, traces):
            measured[ref.label] = measure_model(ref, device=device, repeats=repeats, warmup=warmup,
                                                layers=tr.layers, progress=bar)
    result = validate(traces, profile, cm, measured)
    _print_validation(result, fmt)
    if target is not None:
        written = _write_validation_report(result, target, force)
        info(f"report: {written / 'index.html'}")


def _print_validation(result, fmt: Format) -> None:
    from rich.table import Table

    from roofsweep.units import fmt_intensity, fmt_macs, fmt_time

    if fmt != Format.table:
        emit(result.models, fmt)
        return
    t = Table(title=f"Predicted vs measured on {result.profile} ({result.cost_model}, {result.dtype})")
    for h in ("model", "MACs", "predicted", "measured", "measured / predicted"):
        t.add_column(h, justify="left" if h == "model" else "right")
    for _, r in result.models.iterrows():
        t.add_row(str(r["model"]), fmt_macs(r["macs"]), fmt_time(r["predicted_s"]), fmt_time(r["measured_s"]),
                  f"{r['ratio']:.2f}")
    console.print(t)
    o = Table(title="By op type (all models)")
    for h in ("op type", "layers", "predicted", "measured", "measured / predicted"):
        o.add_column(h, justify="left" if h == "op type" else "right")
    for _, r in result.op_types.iterrows():
        o.add_row(str(r["op_type"]), str(int(r["layers"])), fmt_time(r["predicted_s"]), fmt_time(r["measured_s"]),
                  f"{r['ratio']:.2f}")
    console.print(o)
    s = result.summary()
    console.print(
        f"Spearman rank correlation with measured latency: roofline {s['spearman_roofline']:.3f}, "
        f"MACs {s['spearman_macs']:.3f}; Pearson (log): roofline {s['pearson_log_roofline']:.3f}, "
        f"MACs {s['pearson_log_macs']:.3f}.\n"
        f"Profile ridge point {fmt_intensity(s['ridge_point'])}; best-fitting ridge point "
        f"{fmt_intensity(s['fitted_ridge_point'])} (Spearman {s['fitted_spearman']:.3f}; any RP in "
        f"{s['fitted_best_range'][0]:.3g}-{s['fitted_best_range'][1]:.3g} ranks as well)."
    )
    for n in result.notes:
        warn(n)


def _write_validation_report(result, target: Path, force: bool) -> Path:
    import shlex
    import sys

    from roofsweep.report import figures
    from roofsweep.report.bundle import write_report
    from roofsweep.report.data import ReportData

    fig, ax = figures.new_figure((7.5, 5.5))
    figures.plot_predicted_vs_measured(ax, result.models)
    s = result.summary()
    report = ReportData(
        title=f"roofsweep validate: {result.profile}",
        command="roofsweep " + " ".join(shlex.quote(a) for a in sys.argv[1:]),
        preset=result.cost_model,
        summary=[(k, f"{v:.4g}" if isinstance(v, float) else str(v)) for k, v in s.items()],
        layer_tables={(str(m), "measured"): g.reset_index(drop=True)
                      for m, g in result.layers.groupby("model", sort=False)},
        figure_captions={"predicted_vs_measured": "Roofline-predicted vs measured latency, one point per model."},
        notes=list(result.notes),
        models=list(result.models["model"]),
        profiles=[result.profile],
    )
    return write_report(target, report, {"predicted_vs_measured": fig}, force=force)
