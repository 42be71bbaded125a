"""The library's front door: models in, DataFrames out (torch only on a trace-cache miss).

This is what the CLI calls and what a notebook uses::

    from roofsweep.analysis import analyze
    a = analyze(["mnv4-conv-m", "mnv2-1.5x"], hardware=["pixel6-cpu"], preset="paper")
    a.rp_sweep        # long-form latency per (model, ridge point)
    a.profile_sweep   # long-form latency per (model, hardware profile)
    a.per_layer       # per-layer roofline rows at the low/high ridge points and each profile

Nothing here prints or writes files; reporters and the CLI do.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from roofsweep.engine.costmodel import CostModel, get_preset, parse_set_option, with_overrides
from roofsweep.errors import ConfigError
from roofsweep.layertable import TraceResult
from roofsweep.zoo.registry import ModelRef, resolve

# Ridge points of the terminal sweep table: the paper's named points (0, 5, 50, 500) and the
# decades between them.
DEFAULT_TABLE_RPS = (0.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0)
# Dense grid for curves and the Pareto frontier share: 0 and 1..500 log-spaced.
DEFAULT_CURVE_RPS = "1:500:241:log"
LOW_RP, HIGH_RP = 5.0, 500.0


@dataclass
class ModelResult:
    ref: ModelRef
    trace: TraceResult

    @property
    def label(self) -> str:
        return self.ref.label


@dataclass
class Analysis:
    models: list[ModelResult]
    cost_model: CostModel
    profiles: list[Any]
    ridge_points: np.ndarray
    rp_sweep: pd.DataFrame
    rp_curve: pd.DataFrame
    profile_sweep: pd.DataFrame
    per_layer: pd.DataFrame
    frontier_share: pd.DataFrame
    notes: list[str] = field(default_factory=list)

    def layers(self, model: str, point: str) -> pd.DataFrame:
        pl = self.per_layer
        return pl[(pl["model"] == model) & (pl["point"] == point)]


def cost_model_from(preset: str | CostModel = "default", overrides: Iterable[str] | dict | None = None) -> CostModel:
    """A preset with ``key=value`` overrides (strings from ``--set`` or a config mapping)."""
    cm = get_preset(preset)
    if not overrides:
        return cm
    if isinstance(overrides, dict):
        items = dict(overrides)
    else:
        items = dict(parse_set_option(o) for o in overrides)
    return with_overrides(cm, **items)


def resolve_models(
    specs: Sequence[str | ModelRef],
    width: float | None = None,
    resolution: int | None = None,
    batch: int = 1,
    input_shape: tuple[int, ...] | None = None,
) -> list[ModelRef]:
    refs = []
    for s in specs:
        refs.append(s if isinstance(s, ModelRef) else resolve(s, width, resolution, batch, input_shape))
    labels = [r.label for r in refs]
    dup = sorted({lab for lab in labels if labels.count(lab) > 1})
    if dup:
        raise ConfigError(f"model {dup[0]} is given twice")
    return refs


def load_models(
    refs: Sequence[ModelRef],
    use_cache: bool = True,
    progress: Callable[[ModelRef], None] | None = None,
) -> list[ModelResult]:
    """Trace (or load from the cache) every model; ``progress`` is called before each."""
    from roofsweep.trace.cache import load_or_trace

    out = []
    for ref in refs:
        if progress is not None:
            progress(ref)
        out.append(ModelResult(ref, load_or_trace(ref, use_cache=use_cache)))
    return out


def model_meta(models: Sequence[ModelResult]) -> pd.DataFrame:
    rows = [
        {
            "model": m.label,
            "family": m.ref.family,
            "display_name": m.ref.display_name,
            "width": m.ref.width,
            "resolution": m.ref.resolution,
            "top1": m.ref.top1 if m.ref.top1 is not None else np.nan,
        }
        for m in models
    ]
    return pd.DataFrame(rows).set_index("model")


def tables(models: Sequence[ModelResult]) -> dict[str, pd.DataFrame]:
    return {m.label: m.trace.layers for m in models}


def unsupported_notes(models: Sequence[ModelResult]) -> list[str]:
    notes = []
    for m in models:
        if m.trace.unsupported_ops:
            ops = ", ".join(f"{k} x{v}" for k, v in sorted(m.trace.unsupported_ops.items()))
            notes.append(f"{m.label}: ops without a cost formula (not counted): {ops}")
    return notes


def analyze(
    models: Sequence[str | ModelRef] | Sequence[ModelResult],
    hardware: Sequence[Any] | None = None,
    ridge_points: Any = DEFAULT_TABLE_RPS,
    preset: str | CostModel = "default",
    overrides: Iterable[str] | dict | None = None,
    *,
    curve_ridge_points: Any = DEFAULT_CURVE_RPS,
    per_layer_points: Sequence[float] = (LOW_RP, HIGH_RP),
    use_cache: bool = True,
    progress: Callable[[ModelRef], None] | None = None,
    accuracy: dict[str, float] | None = None,
) -> Analysis:
    """Trace (or load) models, cost them and sweep ridge points and hardware profiles.

    ``hardware``: profiles or names/paths (None = every discovered profile; ``[]`` = none).
    ``accuracy``: top-1 per model label, overriding the zoo's published figures.
    """
    from roofsweep.hardware import get_profile, list_profiles, skipped_profile_notes
    from roofsweep.engine.pareto import frontier, frontier_share
    from roofsweep.engine.sweep import MAX_GRID_POINTS, per_layer_at, ridge_point_grid, sweep_profiles, sweep_ridge_points

    cm = cost_model_from(preset, overrides)
    rps = ridge_point_grid(ridge_points)
    curve = ridge_point_grid(curve_ridge_points)
    if models and isinstance(models[0], ModelResult):
        results = list(models)
    else:
        results = load_models(resolve_models(models), use_cache=use_cache, progress=progress)
    if hardware is None:
        profiles = list_profiles()
    else:
        profiles = [get_profile(h) if isinstance(h, str) else h for h in hardware]
        seen: dict[str, Any] = {}
        for h, p in zip(hardware, profiles):
            if p.name in seen:
                first = seen[p.name]
                also = "" if str(first) == str(h) else f" (as {first} and {h})"
                raise ConfigError(f"hardware profile '{p.name}' is given twice{also}")
            seen[p.name] = h if isinstance(h, str) else p.name
    meta = model_meta(results)
    if accuracy:
        for label, top1 in accuracy.items():
            if label in meta.index:
                meta.loc[label, "top1"] = top1
    tabs = tables(results)

    rp_sweep = frontier(sweep_ridge_points(tabs, rps, cm, meta))
    dense = np.union1d(curve, rps)
    if len(dense) > MAX_GRID_POINTS:  # the user's grid is already as dense as allowed
        dense = rps
    rp_curve = frontier(sweep_ridge_points(tabs, dense, cm, meta))
    profile_sweep = frontier(sweep_profiles(tabs, profiles, cm, meta)) if profiles else _empty_like(rp_sweep)
    points: list[Any] = [float(p) for p in per_layer_points] + list(profiles)
    per_layer = per_layer_at(tabs, points, cm)
    share = frontier_share(rp_curve[rp_curve["ridge_point"] > 0], scale="log")
    return Analysis(
        models=results,
        cost_model=cm,
        profiles=profiles,
        ridge_points=rps,
        rp_sweep=rp_sweep,
        rp_curve=rp_curve,
        profile_sweep=profile_sweep,
        per_layer=per_layer,
        frontier_share=share,
        notes=unsupported_notes(results) + _dtype_notes(cm, profiles)
        + (skipped_profile_notes() if hardware is None else []),
    )


def _dtype_notes(cm: CostModel, profiles) -> list[str]:
    """A cost model that fixes a dtype runs a profile lacking it at the profile's own dtype."""
    if cm.dtype is None:
        return []
    return [
        f"{p.name} has no {cm.dtype} peak; evaluated at its default dtype {p.default_dtype}"
        for p in profiles
        if cm.dtype not in p.peak_macs_per_s
    ]


def _empty_like(df: pd.DataFrame) -> pd.DataFrame:
    return df.iloc[0:0].copy()


def totals(model: ModelResult, cm: CostModel, dtype: str | None = None) -> dict[str, float]:
    """Whole-model totals under a cost model: MACs, params, weight/activation bytes, intensity."""
    from roofsweep.engine.costmodel import apply_cost_model

    d = dtype or cm.resolve_dtype(None)
    costed = apply_cost_model(model.trace.layers, cm, d)
    wb = float(costed["weight_bytes"].sum())
    ab = float(costed["activation_bytes"].sum())
    macs = float(costed["macs"].sum())
    return {
        "macs": macs,
        "params": float(model.trace.params),
        "weight_bytes": wb,
        "activation_bytes": ab,
        "bytes": wb + ab,
        "intensity_macs_per_byte": macs / (wb + ab) if wb + ab else float("inf"),
        "layers": float(len(model.trace.layers)),
        "dtype": d,
    }
