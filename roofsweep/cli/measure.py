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
    from roofsweep.measure.runtimes import set_threads

    set_threads(threads)


RUNTIME_HELP = "torch (eager) or onnxruntime (needs the 'ort' extra)."
CLOCK_HELP = "wall, or cpu: the process's CPU time (one thread; ignores time descheduled on a busy machine)."
ALLOCATOR_HELP = ("retain: freed memory is kept for the next run (no page faults; as jemalloc/TCMalloc do), or "
                  "system: the C library's defaults (glibc may hand memory back and fault it in every run).")
STAT_HELP = "median of the timed runs, min (the fastest run), or mean (adds up over layers; use with --clock cpu on a busy machine)."


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
    from roofsweep.hardware.schema import validate_name
    from roofsweep.report.terminal import profile_panel

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
    runtime: str = typer.Option("torch", "--runtime", help=RUNTIME_HELP),
    device: str = typer.Option("cpu", "--device", help="cpu or cuda."),
    repeats: int = typer.Option(20, "--repeats", help="Timed runs at least."),
    max_repeats: Optional[int] = typer.Option(None, "--max-repeats", help="More runs until the median is stable, up to this (default 3 x --repeats)."),
    warmup: int = typer.Option(5, "--warmup", help="Untimed runs first."),
    threads: Optional[int] = typer.Option(None, "--threads", help="Threads (default: the runtime's choice; onnxruntime: 1)."),
    clock: str = typer.Option("wall", "--clock", help=CLOCK_HELP),
    statistic: str = typer.Option("median", "--statistic", help=STAT_HELP),
    allocator: str = typer.Option("retain", "--allocator", help=ALLOCATOR_HELP),
    per_layer: bool = typer.Option(True, "--per-layer/--no-per-layer", help="Also time every layer (hooked run / profiler)."),
    fmt: Format = typer.Option(Format.table, "--format", "-f", help="Output format."),
) -> None:
    """Run the real model (random weights, eval, no grad) and measure its latency, per layer too.

    Example: roofsweep measure --model mnv4-conv-s --repeats 30 --threads 1
    """
    import pandas as pd

    from roofsweep.analysis import resolve_models
    from roofsweep.measure.latency import measure_model
    from roofsweep.measure.runtimes import check_device, runtime_function
    from roofsweep.report.measure_tables import measure_line, measured_layers_table

    (ref,) = resolve_models([model], width, resolution, batch)
    runtime_function(runtime)
    check_device(device)
    _set_threads(threads)
    extra = {"threads": threads or 1} if runtime == "onnxruntime" else {}
    with _Bar() as bar:
        res = measure_model(ref, device=device, repeats=repeats, warmup=warmup, per_layer=per_layer, progress=bar,
                            runtime=runtime, max_repeats=max_repeats or 3 * repeats, clock=clock,
                            statistic=statistic, allocator=allocator, **extra)
    if res.warning():
        warn(res.warning())
    if fmt != Format.table:
        rows = res.layers if (per_layer and res.layers is not None) else pd.DataFrame([res.summary()])
        emit(rows, fmt)
        return
    console.print(measure_line(res))
    if per_layer and res.layers is not None:
        console.print(measured_layers_table(res))


@app.command("validate")
@handle_errors
def validate_cmd(
    models: list[str] = typer.Option(..., "--models", help="Models to measure (comma-separated or repeated); at least 3."),
    hardware: str = typer.Option(..., "--hardware", "-H", help="Profile of this host (from `roofsweep probe` / `calibrate`)."),
    preset: Preset = typer.Option(Preset.default, "--preset", "-p", help="Cost-model preset."),
    overrides: Optional[list[str]] = typer.Option(None, "--set", help="Override a cost-model setting (e.g. latency=roofline)."),
    runtime: str = typer.Option("torch", "--runtime", help=RUNTIME_HELP),
    device: str = typer.Option("cpu", "--device", help="cpu or cuda."),
    repeats: int = typer.Option(20, "--repeats", help="Timed runs per model at least."),
    max_repeats: Optional[int] = typer.Option(None, "--max-repeats", help="Up to this many until the median is stable (default 3 x --repeats)."),
    warmup: int = typer.Option(5, "--warmup", help="Untimed runs first."),
    threads: int = typer.Option(1, "--threads", help="Threads (pinned; default 1)."),
    clock: str = typer.Option("wall", "--clock", help=CLOCK_HELP),
    statistic: str = typer.Option("median", "--statistic", help=STAT_HELP),
    allocator: str = typer.Option("retain", "--allocator", help=ALLOCATOR_HELP),
    fit_out: Optional[Path] = typer.Option(None, "--fit-out", help="Write the profile at the fitted ridge point to this YAML file."),
    fmt: Format = typer.Option(Format.table, "--format", "-f", help="Output format (json: one object with models and summary)."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Report folder (default roofsweep-reports/validate)."),
    no_report: bool = typer.Option(False, "--no-report", help="Print only; write no report folder."),
    force: bool = typer.Option(False, "--force", help="Replace an existing report folder / --fit-out file."),
) -> None:
    """Predicted vs measured latency across models: every predictor's error and rank correlation.

    Example: roofsweep validate --models mnv1,mnv2,mnv3-large,mnv4-conv-s --hardware my-host.yaml
    """
    import shlex
    import sys

    from roofsweep.analysis import cost_model_from, resolve_models
    from roofsweep.errors import MeasurementError
    from roofsweep.hardware import get_profile
    from roofsweep.measure.fitted import check_fit_out, fitted_profile
    from roofsweep.measure.run import run_validation
    from roofsweep.measure.runtimes import check_device, runtime_function
    from roofsweep.measure.validate import validation_dtype

    specs = [s.strip() for m in models for s in m.split(",") if s.strip()]
    if len(specs) < 3:
        raise MeasurementError(f"validation needs at least 3 models to rank, got {len(specs)}")
    refs = resolve_models(specs)
    profile = get_profile(hardware)
    cm = cost_model_from(preset.value, overrides)
    validation_dtype(profile, cm)  # before minutes of measuring
    runtime_function(runtime)
    check_device(device)
    target = None
    if not no_report:
        from roofsweep.report.bundle import check_writable

        target = out or Path("roofsweep-reports") / "validate"
        check_writable(target, force=force)
    if fit_out is not None:
        check_fit_out(fit_out, force)
    _set_threads(threads)
    with _Bar() as bar:
        result, warnings = run_validation(
            refs, profile, cm, runtime=runtime, device=device, repeats=repeats, warmup=warmup,
            max_repeats=max_repeats or 3 * repeats, clock=clock, statistic=statistic, threads=threads,
            allocator=allocator, progress=bar)
    for w in warnings:
        warn(w)
    if fmt == Format.json:
        import json

        sys.stdout.write(json.dumps(result.to_json(), indent=2, allow_nan=False, ensure_ascii=False) + "\n")
    elif fmt == Format.csv:
        emit(result.models, fmt)
    else:
        from roofsweep.report.measure_tables import validation_renderables

        for r in validation_renderables(result):
            console.print(r)
        for n in result.notes:
            warn(n)
    if fit_out is not None:
        from roofsweep.hardware import write_profile

        info(f"fitted-ridge-point profile: {write_profile(fitted_profile(profile, result), fit_out)}")
    if target is not None:
        from roofsweep.report.measure_tables import write_validation_report

        command = "roofsweep " + " ".join(shlex.quote(a) for a in sys.argv[1:])
        written = write_validation_report(result, target, force, command)
        info(f"report: {written / 'index.html'}")


@app.command("calibrate")
@handle_errors
def calibrate_cmd(
    out: Path = typer.Option(..., "--out", "-o", help="Profile file to write (PROFILE.yaml): the base profile plus its calibration."),
    hardware: Optional[str] = typer.Option(None, "--hardware", "-H", help="Base profile of this host (default: probe it now, fp32)."),
    runtime: str = typer.Option("torch", "--runtime", help=RUNTIME_HELP),
    device: str = typer.Option("cpu", "--device", help="cpu or cuda."),
    threads: int = typer.Option(1, "--threads", help="Threads (pinned; default 1)."),
    clock: str = typer.Option("wall", "--clock", help=CLOCK_HELP),
    statistic: str = typer.Option("median", "--statistic", help=STAT_HELP),
    allocator: str = typer.Option("retain", "--allocator", help=ALLOCATOR_HELP),
    rounds: int = typer.Option(2, "--rounds", help="Passes over the microbenchmarks (order alternating)."),
    quick: bool = typer.Option(False, "--quick", help="About a third of the microbenchmarks (every op class)."),
    flush_mib: Optional[float] = typer.Option(None, "--flush-cache-mib", help="Rewrite this many MiB, then read the input, before each timed run: weights cold, input hot (default: 8 on torch, 0 on onnxruntime)."),
    name: Optional[str] = typer.Option(None, "--name", help="Name of the written profile (default: the base profile's)."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing file."),
    fmt: Format = typer.Option(Format.table, "--format", "-f", help="Output format (json/csv: the fitted microbenchmarks)."),
) -> None:
    """Fit a latency model to microbenchmarks on this host and write it into a profile.

    Example: roofsweep calibrate --hardware my-host.yaml --threads 1 --out my-host-calibrated.yaml
    """
    from roofsweep.errors import OutputError
    from roofsweep.measure.calibrate import calibrate
    from roofsweep.measure.runtimes import check_device, runtime_function
    from roofsweep.report.bundle import check_writable

    if out.exists() and not force:
        raise OutputError(f"{out}: exists; pass --force to replace it or --out to write elsewhere")
    if out.is_dir() or out.suffix.lower() not in (".yaml", ".yml"):
        raise OutputError(f"{out}: give a file path ending in .yaml")
    check_writable(out, what="profile", folder=False)
    runtime_function(runtime)
    check_device(device)
    _set_threads(threads)
    profile = _base_profile(hardware, name)
    with _Bar() as bar:
        run = calibrate(profile, runtime=runtime, device=device, threads=threads, quick=quick, progress=bar,
                        clock=clock, statistic=statistic, rounds=rounds, flush_cache_bytes=_flush_bytes(flush_mib, runtime),
                        allocator=allocator)
    from roofsweep.hardware import write_profile

    written = write_profile(run.profile, out)
    for label, why in run.skipped.items():
        warn(f"{label}: skipped: {why}")
    for w in run.warnings:
        warn(w)
    if fmt != Format.table:
        emit(run.fit.samples, fmt)
    else:
        from roofsweep.report.measure_tables import calibration_panel

        console.print(calibration_panel(run.profile.calibration))
    info(f"profile: {written}")


def _flush_bytes(flush_mib: Optional[float], runtime: str) -> int:
    from roofsweep.measure.calibrate import default_flush_bytes

    return default_flush_bytes(runtime) if flush_mib is None else int(max(flush_mib, 0.0) * 2**20)


def _base_profile(hardware: Optional[str], name: Optional[str]):
    import dataclasses

    from roofsweep.hardware import get_profile

    if hardware is not None:
        profile = get_profile(hardware)
    else:
        from roofsweep.measure.probe import probe_host

        with _Bar() as bar:
            profile = probe_host(("fp32",), progress=bar, name=name).profile()
    if name is not None:
        from roofsweep.hardware.loader import NAME_RE
        from roofsweep.errors import ConfigError

        if not NAME_RE.match(name):
            raise ConfigError(f"--name must be a lower-case slug matching [a-z0-9][a-z0-9._-]*, got {name!r}")
        profile = dataclasses.replace(profile, name=name, display_name=name)
    return profile
