"""``calibrate``: microbenchmarks -> fitted latency model -> a profile with a ``calibration:`` section.

1. Every microbenchmark (``roofsweep.measure.microbench``) is traced by the tracer the models
   use (``trace_module``) and costed by the cost model the models use (default ``default`` at
   the profile's default dtype), so each has LayerTable rows with ``macs`` and ``bytes`` in the
   engine's own units.
2. Each is measured on the chosen runtime (torch eager or onnxruntime), whole module, with the
   hygiene of ``roofsweep.measure.timing`` (warm-up, repeat until the median is stable, capped).
   A microbenchmark that cannot run is skipped and named.
3. ``roofsweep.measure.fit.fit_latency_model`` fits e_c, e_m and the overhead per op type
   against the profile's peak and bandwidth.
4. The result is the profile with ``calibration`` set (``roofsweep.hardware.calibration``).
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import pandas as pd

from roofsweep.errors import MeasurementError, RoofsweepError
from roofsweep.measure.fit import FIT_METHOD, LatencyFit, fit_latency_model
from roofsweep.measure.prepare import _allocator
from roofsweep.measure.timing import noise_warning, statistic_of

Progress = Callable[[str, float, float], None]


#: Bytes rewritten before each timed microbenchmark run (then the input read back): torch eager
#: runs a model's layers with their weights cold and input hot, so its microbenchmarks are
#: timed that way; onnxruntime's per-run session state is what such a flush evicts, which a
#: model pays once per run, not per layer, so its microbenchmarks run warm.
DEFAULT_FLUSH_BYTES = {"torch": 8 << 20, "onnxruntime": 0}


def default_flush_bytes(runtime: str) -> int:
    return DEFAULT_FLUSH_BYTES.get(runtime, 0)


@dataclass
class CalibrationRun:
    profile: object             # the input profile with ``calibration`` set
    fit: LatencyFit
    skipped: dict[str, str] = field(default_factory=dict)  # microbenchmark -> one-line reason
    warnings: list[str] = field(default_factory=list)


def cost_microbenchmarks(benches: Sequence, cost_model, dtype: str) -> list[pd.DataFrame]:
    """Trace and cost every microbenchmark: one costed LayerTable each."""
    from roofsweep.engine.costmodel import apply_cost_model
    from roofsweep.trace import trace_module

    out = []
    for mb in benches:
        tr = trace_module(mb.build(), mb.input_shape, label=mb.label)
        costed = apply_cost_model(tr.layers, cost_model, dtype, onchip_bytes=None)
        out.append((tr.layers, costed))
    return out


def measure_microbenchmarks(benches, tables, *, runtime: str = "torch", device: str = "cpu", threads: int = 1,
                            repeats: int = 5, warmup: int = 2, max_repeats: int = 30, max_seconds: float = 0.3,
                            rounds: int = 2, statistic: str = "median", clock: str = "wall",
                            flush_cache_bytes: int = 0, allocator: str = "retain",
                            progress: Progress | None = None) -> tuple[list[float | None], dict[str, str], list[str]]:
    """Seconds of each microbenchmark on ``runtime`` (None where it could not run).

    ``rounds`` passes over all microbenchmarks (order reversed on alternate passes, so a burst of
    load from other processes is spread over many of them); each one's runs are pooled and
    reduced by ``statistic`` (``median`` or ``min``).
    """
    from roofsweep.measure.runtimes import runtime_function

    measure = runtime_function(runtime)
    pooled: list[list[float]] = [[] for _ in benches]
    skipped: dict[str, str] = {}
    steps, done = rounds * len(benches), 0
    for rnd in range(max(1, rounds)):
        order = list(range(len(benches)))[:: 1 if rnd % 2 == 0 else -1]
        for i in order:
            mb, (layers, _) = benches[i], tables[i]
            if progress:
                progress(f"calibrate [{runtime}] {rnd + 1}/{rounds}: {mb.label}", done, steps)
            done += 1
            if mb.label in skipped:
                continue
            ort = runtime == "onnxruntime"
            try:
                r = measure(mb.build(), mb.input_shape, layers=layers, label=mb.label, device=device,
                            repeats=repeats, warmup=warmup, max_repeats=max_repeats, max_seconds=max_seconds,
                            per_layer=ort, per_layer_repeats=2 * repeats, threads=threads, clock=clock,
                            flush_cache_bytes=flush_cache_bytes, allocator=allocator)
            except RoofsweepError as exc:
                skipped[mb.label] = str(exc)
                continue
            pooled[i].extend(microbenchmark_samples(r))
    if progress:
        progress(f"calibrate [{runtime}]: fitting", steps, steps)
    times = [statistic_of(p, statistic) if p else None for p in pooled]
    noisy = [mb.label for mb, p in zip(benches, pooled) if p and noise_warning(mb.label, p)]
    return times, skipped, noisy


def microbenchmark_samples(r) -> list[float]:
    """The timed runs of one microbenchmark: on onnxruntime the kernel time of each profiled run
    (``ort_runtime.kernel_runs``: the layer's own work, without the layout changes and the
    input/output handling of ``session.run`` that a one-layer graph pays once per layer but a
    model once per run); on torch eager the whole forward, which is how a model pays it."""
    return list(r.meta.get("kernel_runs_s") or []) or list(r.latencies_s)


def fit_rows(tables, times) -> tuple[pd.DataFrame, list[float], list[int]]:
    """Stack the costed rows of the measured microbenchmarks with a ``sample`` column."""
    parts, measured, kept = [], [], []
    for i, ((_, costed), t) in enumerate(zip(tables, times)):
        if t is None:
            continue
        part = costed[["op_type", "macs", "bytes", "output_elems", "activation", "aten_ops"]].copy()
        part["sample"] = len(measured)
        parts.append(part)
        measured.append(float(t))
        kept.append(i)
    rows = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["op_type", "macs", "bytes", "output_elems", "activation", "aten_ops", "sample"])
    return rows, measured, kept


def calibration_section(fit: LatencyFit, *, runtime: str, device: str, threads: int, dtype: str, cost_model: str,
                        peak: float, bw: float, versions: dict, n: int, statistic: str = "median",
                        clock: str = "wall", allocator: str = "retain"):
    from roofsweep.hardware.calibration import Calibration

    return Calibration.model_validate({
        "runtime": runtime, "device": device, "threads": threads,
        "date": _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat(),
        "method": FIT_METHOD, "statistic": statistic, "clock": clock, "allocator": allocator, "dtype": dtype, "cost_model": cost_model,
        "peak_macs_per_s": peak, "bandwidth_bytes_per_s": bw, "microbenchmarks": n, "versions": versions,
        "op_types": fit.params, "fallback": fit.fallback, "activations": fit.activations,
        "fallback_activation": fit.fallback_activation, **fit.framework, "residuals": fit.residuals, "scales": fit.scales,
    })


def calibrate(profile, *, runtime: str = "torch", device: str = "cpu", threads: int | None = 1,
              cost_model="default", quick: bool = False, benches: Sequence | None = None,
              progress: Progress | None = None, **timing) -> CalibrationRun:
    """Calibrate ``profile`` (a ``HardwareProfile`` of this host) on ``runtime``; see module docstring.

    ``timing`` passes ``repeats``, ``warmup``, ``max_repeats``, ``max_seconds`` through to the
    microbenchmark measurement. Raises ``MeasurementError`` when fewer than 3 microbenchmarks ran.
    """
    import math

    from roofsweep.engine.costmodel import get_preset
    from roofsweep.measure.microbench import select
    from roofsweep.measure.runtimes import check_device, runtime_function, set_threads

    runtime_function(runtime)  # unknown or missing runtime: fail before anything runs
    check_device(device)
    allocator = _allocator(timing.get("allocator", "retain"))
    n_threads = set_threads(threads)
    cm = get_preset(cost_model) if isinstance(cost_model, str) else cost_model
    dtype = cm.resolve_dtype(profile)
    if not math.isfinite(float(profile.bandwidth_bytes_per_s)):
        raise MeasurementError(f"hardware profile '{profile.name}' has infinite bandwidth; calibrate a probed profile")
    benches = tuple(benches) if benches is not None else select(quick)
    tables = cost_microbenchmarks(benches, cm, dtype)
    times, skipped, noisy = measure_microbenchmarks(benches, tables, runtime=runtime, device=device,
                                                    threads=n_threads, progress=progress, **timing)
    return fit_calibration(profile, benches, tables, times, runtime=runtime, device=device, threads=n_threads,
                           cost_model=cm, skipped=skipped, noisy=noisy, statistic=timing.get("statistic", "median"),
                           clock=timing.get("clock", "wall"), allocator=allocator)


def fit_calibration(profile, benches: Sequence, tables, times, *, runtime: str, device: str, threads: int,
                    cost_model, skipped: dict | None = None, noisy: Sequence[str] = (), statistic: str = "median",
                    clock: str = "wall", allocator: str = "retain") -> CalibrationRun:
    """Steps 3-4 of ``calibrate``: fit the measured microbenchmark ``times`` (one per bench, None
    where it could not run; ``tables`` from ``cost_microbenchmarks``) and set the profile's
    ``calibration``. ``MeasurementError`` when fewer than 3 microbenchmarks ran."""
    from roofsweep.engine.calibrated import module_calls
    from roofsweep.measure.runtimes import runtime_versions

    dtype = cost_model.resolve_dtype(profile)
    peak, bw = float(profile.peak(dtype)), float(profile.bandwidth_bytes_per_s)
    rows, measured, kept = fit_rows(tables, times)
    if len(measured) < 3:
        raise MeasurementError(f"only {len(measured)} microbenchmarks ran on {runtime}; a fit needs at least 3")
    calls = [module_calls(tables[i][0]["modules"]) for i in kept]
    fit = fit_latency_model(rows, measured, peak, bw, labels=[benches[i].label for i in kept], calls=calls)
    section = calibration_section(fit, runtime=runtime, device=device, threads=threads, dtype=dtype,
                                  cost_model=cost_model.name, peak=peak, bw=bw, versions=runtime_versions(runtime),
                                  n=len(measured), statistic=statistic, clock=clock, allocator=allocator)
    warnings = []
    if noisy:
        warnings.append(f"{len(noisy)} of {len(measured)} microbenchmarks varied by more than 20 % between runs "
                        f"(IQR/median), e.g. {noisy[0]}: the machine is probably busy")
    return CalibrationRun(profile=dataclasses.replace(profile, calibration=section), fit=fit,
                          skipped=dict(skipped or {}), warnings=warnings)
