"""``analyze`` over lists of batches, dtypes and resolutions: one long-form table (the engine's
``engine.axes.sweep_axes``) with throughput beside latency and the compute-bound batch.

Each (model, batch, resolution) is traced once (trace cache) and shared by every dtype: the
trace is dtype-agnostic. Nothing here prints or writes files.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from roofsweep.engine.costmodel import CostModel


@dataclass
class AxesAnalysis:
    rows: pd.DataFrame  # engine.axes: SWEEP_COLUMNS + batch, samples_per_s, compute_bound_batch
    cost_model: CostModel
    notes: list[str] = field(default_factory=list)


def analyze_axes(
    models: Sequence[str],
    *,
    width: float | None = None,
    resolutions: Sequence[int | None] = (None,),
    batches: Sequence[int] = (1,),
    dtypes: Sequence[str] | None = None,
    ridge_points: Any = None,
    hardware: Iterable | None = None,
    preset: str | CostModel = "default",
    overrides: Iterable[str] | dict | None = None,
    progress: Callable[[str], None] | None = None,
) -> AxesAnalysis:
    """Trace every (model, batch, resolution) once and sweep each over ``dtypes`` x points.

    ``hardware``: profiles or names/paths (None = every discovered profile; ``[]`` = none).
    ``progress(label)`` is called before each trace is loaded."""
    from roofsweep.analysis import cost_model_from, profiles_from, resolve_models
    from roofsweep.engine.axes import sweep_axes
    from roofsweep.trace.cache import load_or_trace

    cm = cost_model_from(preset, overrides)
    profiles = profiles_from(hardware)
    traces: dict[tuple[str, int, int], Any] = {}
    meta: dict[str, dict] = {}
    for spec, ref0 in zip(models, resolve_models(list(models), width, None)):
        meta[ref0.label] = {"family": ref0.family, "display_name": ref0.display_name, "width": ref0.width,
                            "top1": ref0.top1}
        for r in resolutions:
            for b in batches:
                ref = resolve_models([spec], width, r, b)[0]
                if progress is not None:
                    progress(ref.label)
                traces[(ref0.label, b, ref.resolution)] = load_or_trace(ref)
    rows, notes = sweep_axes(traces, dtypes, ridge_points, profiles, cm, meta)
    return AxesAnalysis(rows=rows, cost_model=cm, notes=notes)


__all__ = ["AxesAnalysis", "analyze_axes"]
