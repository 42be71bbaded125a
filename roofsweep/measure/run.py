"""Orchestration of ``roofsweep measure`` / ``validate``: measure many models, skip the broken ones.

The CLI calls one function here and hands the result to a reporter. A model that cannot be
built, exported or run on the chosen runtime is *skipped* with a one-line reason (naming the
model and the failing op, as the runtime reported it); the others' measurements are kept, and
validation fails only when fewer than three models remain.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from roofsweep.errors import MeasurementError, RoofsweepError
from roofsweep.measure.prepare import _allocator
from roofsweep.measure.validate import MIN_MODELS, ValidationResult, validate, validation_dtype

Progress = Callable[[str, float, float], None]


@dataclass
class Measured:
    traces: list
    results: dict                      # label -> MeasureResult
    skipped: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def measure_refs(refs: Sequence, *, runtime: str = "torch", device: str = "cpu", repeats: int = 20,
                 warmup: int = 5, rounds: int = 1, progress: Progress | None = None, **timing) -> Measured:
    """Trace and measure every ref (``rounds`` passes, order reversed on alternate passes, merged
    per model); skip, with a reason, the refs that cannot be traced, built or run."""
    from roofsweep.measure.latency import measure_model, merge_results
    from roofsweep.trace import load_or_trace

    traces, runs, skipped = {}, {}, {}
    for ref in refs:
        try:
            traces[ref.label] = load_or_trace(ref)
        except RoofsweepError as exc:
            skipped[ref.label] = str(exc)
    live = [r for r in refs if r.label in traces]
    for rnd in range(max(1, rounds)):
        for ref in live if rnd % 2 == 0 else live[::-1]:
            if ref.label in skipped:
                continue
            try:
                m = measure_model(ref, device=device, repeats=repeats, warmup=warmup, runtime=runtime,
                                  layers=traces[ref.label].layers, progress=progress, **timing)
            except RoofsweepError as exc:
                skipped[ref.label] = str(exc)
                continue
            runs.setdefault(ref.label, []).append(m)
    results = {label: merge_results(ms) for label, ms in runs.items() if label not in skipped}
    warnings = [w for w in (r.warning() for r in results.values()) if w]
    kept = [traces[r.label] for r in live if r.label in results]
    return Measured(traces=kept, results=results, skipped=skipped, warnings=warnings)


def run_validation(refs: Sequence, profile, cost_model, *, runtime: str = "torch", progress: Progress | None = None,
                   **measure_kwargs) -> tuple[ValidationResult, list[str]]:
    """Measure ``refs`` and validate the predictions against them; returns the result and the
    warnings (noisy runs, skipped models). ``MeasurementError`` when fewer than 3 models remain."""
    if len(refs) < MIN_MODELS:
        raise MeasurementError(f"validation needs at least {MIN_MODELS} models to rank, got {len(refs)}")
    validation_dtype(profile, cost_model)  # fail in seconds, before minutes of measuring
    allocator = _allocator(measure_kwargs.get("allocator", "retain"))
    got = measure_refs(refs, runtime=runtime, progress=progress, **measure_kwargs)
    warnings = [f"{label}: skipped: {why}" for label, why in got.skipped.items()] + got.warnings
    mismatch = allocator_mismatch(profile, allocator)
    if mismatch:
        warnings.append(mismatch)
    if len(got.results) < MIN_MODELS:
        raise MeasurementError(
            f"only {len(got.results)} of {len(refs)} models could be measured on {runtime} "
            f"(skipped: {', '.join(got.skipped) or 'none'}); validation needs at least {MIN_MODELS}")
    result = validate(got.traces, profile, cost_model, got.results)
    result.runtime = runtime
    result.skipped = dict(got.skipped)
    return result, warnings


def allocator_mismatch(profile, allocator: str) -> str | None:
    """One line when ``profile`` was calibrated with another allocator policy than ``allocator``
    (``roofsweep.measure.allocator``); None when they agree or the calibration does not say."""
    calibrated_with = getattr(getattr(profile, "calibration", None), "allocator", None)
    if calibrated_with in (None, allocator):
        return None
    return (f"profile '{profile.name}' was calibrated with --allocator {calibrated_with} but the models were "
            f"measured with --allocator {allocator}: the calibrated predictions may be off by the difference")
