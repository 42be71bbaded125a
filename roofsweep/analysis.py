"""The library's front door: models in, DataFrames out (torch only on a trace-cache miss).

This is what the CLI calls and what a notebook uses::

    from roofsweep.analysis import analyze
    a = analyze(["mnv4-conv-m", "mnv2-1.5x"], hardware=["pixel6-cpu"], preset="paper")
    a.rp_sweep        # long-form latency per (model, ridge point)
    a.profile_sweep   # long-form latency per (model, hardware profile)
    a.per_layer       # per-layer roofline rows at the low/high ridge points and each profile
    a.totals, a.dominant, a.frontier_share, a.rows   # computed once, read by every reporter

Nothing here prints or writes files; reporters and the CLI do, reading the ``Analysis``: they
compute nothing themselves.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from roofsweep.engine.costmodel import CostModel, get_preset, parse_set_option, with_overrides
from roofsweep.engine.sweep import DEFAULT_CURVE_RIDGE_POINTS, DEFAULT_RIDGE_POINTS
from roofsweep.errors import ConfigError
from roofsweep.layertable import TraceResult
from roofsweep.zoo.registry import ModelRef, resolve

# Ridge points of the terminal sweep table (RP 0 = "MACs only", then 5..500) and the dense grid
# of curves and the frontier share: one definition each, in the engine.
DEFAULT_TABLE_RPS = DEFAULT_RIDGE_POINTS
DEFAULT_CURVE_RPS = DEFAULT_CURVE_RIDGE_POINTS
LOW_RP, HIGH_RP = 5.0, 500.0
DOMINANT_LAYERS = 5  # layers per (model, point) in ``Analysis.dominant``


@dataclass
class ModelResult:
    ref: ModelRef
    trace: TraceResult

    @property
    def label(self) -> str:
        return self.ref.label


@dataclass
class Analysis:
    """Everything one analysis computed; reporters and the CLI only read it.

    ``rp_sweep`` / ``rp_curve`` / ``profile_sweep``: long-form sweep frames (docs/contracts.md)
    with ``on_frontier``; ``rows``: the table and profile rows together, as ``--format json|csv``
    prints them (with ``latency_is``, ``same_as`` and ``frontier_share``); ``per_layer``:
    per-layer roofline rows at the per-layer points and each profile; ``costed``: every model's
    costed LayerTable at the sweep dtype; ``totals``: one row per model (MACs, params, bytes,
    mean intensity, layers, dtype); ``dominant``: the slowest layers of each model at each
    per-layer ridge point, with ``share``; ``frontier_share``: the share of the RP range on
    which each model is on the accuracy-latency frontier; ``same_as``: profile name -> the RP
    point it duplicates (same dtype, peak and bandwidth - the paper archetypes);
    ``profile_points``: each profile as the numbers the sweep used.
    """

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
    costed: pd.DataFrame | None = None
    totals: pd.DataFrame | None = None
    dominant: pd.DataFrame | None = None
    same_as: dict[str, str] = field(default_factory=dict)
    profile_points: list[Any] = field(default_factory=list)
    rows: pd.DataFrame | None = None
    per_layer_points: list[str] = field(default_factory=list)

    def layers(self, model: str, point: str) -> pd.DataFrame:
        pl = self.per_layer
        return pl[(pl["model"] == model) & (pl["point"] == point)]

    def dominant_at(self, model: str) -> pd.DataFrame:
        """``dominant`` rows of one model (every per-layer ridge point, in order)."""
        d = self.dominant
        return d[d["model"] == model] if d is not None else pd.DataFrame()


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


def zoo_table(use_cache: bool = True, progress: Callable[[ModelRef], None] | None = None) -> pd.DataFrame:
    """The zoo, one row per entry at its default width and resolution: ``name``,
    ``display_name``, ``family``, ``resolution``, ``macs``, ``params``, ``top1``,
    ``top1_source``, ``aliases`` (comma-separated); traced or loaded from the cache."""
    from roofsweep.zoo.registry import ZOO

    results = load_models([resolve(name) for name in ZOO], use_cache=use_cache, progress=progress)
    rows = [{"name": e.name, "display_name": e.display_name, "family": e.family, "resolution": e.default_resolution,
             "macs": int(r.trace.macs), "params": int(r.trace.params), "top1": r.ref.top1,
             "top1_source": r.ref.top1_source, "aliases": ", ".join(e.aliases)}
            for e, r in zip(ZOO.values(), results)]
    return pd.DataFrame(rows)


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
    ``accuracy``: top-1 per model label, overriding the zoo's published figures (a label that
    is not one of the models is a ``ConfigError``).

    Each model is costed once per (dtype, on-chip capacity) - ``engine.sweep.CostCache`` -
    however many sweeps and tables read it.
    """
    from roofsweep.hardware import skipped_profile_notes
    from roofsweep.engine.pareto import frontier_share
    from roofsweep.engine.sweep import CostCache, per_layer_at, profile_point, ridge_point_grid, rp_label

    cm = cost_model_from(preset, overrides)
    rps = ridge_point_grid(ridge_points)
    curve = ridge_point_grid(curve_ridge_points)
    if models and isinstance(models[0], ModelResult):
        results = list(models)
    else:
        results = load_models(resolve_models(models), use_cache=use_cache, progress=progress)
    profiles = profiles_from(hardware)
    meta = _with_accuracy(model_meta(results), accuracy)
    costs = CostCache(tables(results))
    points = [profile_point(cm, p) for p in profiles]  # each profile read once, as numbers

    rp_sweep, rp_curve, profile_sweep = _sweeps(costs, cm, rps, curve, points, meta)
    rp_points = [float(p) for p in per_layer_points]
    per_layer = per_layer_at(costs, rp_points + points, cm)
    share = frontier_share(rp_curve[rp_curve["ridge_point"] > 0], scale="log")
    costed = costs.costed(cm, cm.resolve_dtype(None), cm.onchip_capacity(None))
    same = profile_duplicates(rp_sweep, profile_sweep)
    layer_points = list(dict.fromkeys(rp_label(float(ridge_point_grid(p)[0])) for p in rp_points))
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
        notes=unsupported_notes(results) + _dtype_notes(cm, profiles, points)
        + (skipped_profile_notes() if hardware is None else []),
        costed=costed,
        totals=model_totals(costed, results),
        dominant=_dominant(per_layer, layer_points),
        same_as=same,
        profile_points=points,
        rows=output_rows(rp_sweep, profile_sweep, share, same),
        per_layer_points=layer_points,
    )


def _sweeps(costs, cm: CostModel, rps: np.ndarray, curve: np.ndarray, points: list, meta: pd.DataFrame):
    """The table's ridge-point sweep, the dense curve (its points and the table's) and the
    profile sweep, each with ``on_frontier``."""
    from roofsweep.engine.pareto import frontier
    from roofsweep.engine.sweep import MAX_GRID_POINTS, sweep_profiles, sweep_ridge_points

    rp_sweep = frontier(sweep_ridge_points(costs, rps, cm, meta))
    dense = np.union1d(curve, rps)
    if len(dense) > MAX_GRID_POINTS:  # the user's grid is already as dense as allowed
        dense = rps
    rp_curve = frontier(sweep_ridge_points(costs, dense, cm, meta))
    profile_sweep = frontier(sweep_profiles(costs, points, cm, meta)) if points else _empty_like(rp_sweep)
    return rp_sweep, rp_curve, profile_sweep


def profiles_from(hardware) -> list[Any]:
    """Hardware profiles from names/paths/objects (None = every discovered profile); a profile
    listed twice is a ``ConfigError``."""
    from roofsweep.hardware import get_profile, list_profiles

    if hardware is None:
        return list_profiles()
    profiles = [get_profile(h) if isinstance(h, str) else h for h in hardware]
    seen: dict[str, Any] = {}
    for h, p in zip(hardware, profiles):
        if p.name in seen:
            first = seen[p.name]
            also = "" if str(first) == str(h) else f" (as {first} and {h})"
            raise ConfigError(f"hardware profile '{p.name}' is given twice{also}")
        seen[p.name] = h if isinstance(h, str) else p.name
    return profiles


def _with_accuracy(meta: pd.DataFrame, accuracy: dict[str, float] | None) -> pd.DataFrame:
    if not accuracy:
        return meta
    from roofsweep.errors import did_you_mean

    meta = meta.copy()
    for label, top1 in accuracy.items():
        if label not in meta.index:
            raise ConfigError("top-1 given for " + did_you_mean(str(label), list(meta.index), "model"))
        meta.loc[label, "top1"] = float(top1)
    return meta


def _dominant(per_layer: pd.DataFrame, points: Sequence[str]) -> pd.DataFrame:
    """The ``DOMINANT_LAYERS`` slowest layers of each model at each of ``points``."""
    from roofsweep.engine.roofline import dominant_layers

    parts = [dominant_layers(per_layer[per_layer["point"] == p], DOMINANT_LAYERS) for p in points]
    parts = [p for p in parts if len(p)]
    return pd.concat(parts, ignore_index=True) if parts else per_layer.iloc[0:0].assign(share=0.0)


def profile_duplicates(rp_sweep: pd.DataFrame, profile_sweep: pd.DataFrame) -> dict[str, str]:
    """Profile name -> the ridge-point row it repeats exactly (same dtype, peak and bandwidth:
    the paper archetype profiles ``paper-rp*``), for profiles that do."""
    if not len(profile_sweep) or not len(rp_sweep):
        return {}
    by_rate = {_rate_key(r): str(r["point"]) for _, r in rp_sweep.drop_duplicates("point").iterrows()}
    out = {}
    for _, r in profile_sweep.drop_duplicates("point").iterrows():
        if _rate_key(r) in by_rate:
            out[str(r["point"])] = by_rate[_rate_key(r)]
    return out


def _rate_key(row) -> tuple:
    return (str(row.get("dtype", "")), float(row["peak_macs_per_s"]), float(row["bandwidth_bytes_per_s"]))


def output_rows(rp_sweep: pd.DataFrame, profile_sweep: pd.DataFrame, share: pd.DataFrame,
                same_as: dict[str, str]) -> pd.DataFrame:
    """The rows ``--format json|csv`` prints: ridge-point rows, then profile rows, with
    ``latency_is`` (``"bound"``: a roofline bound, unless a column already says otherwise),
    ``same_as`` (the RP point a profile row repeats, else ``""``) and ``frontier_share``
    (per model; null for a model without top-1)."""
    rows = pd.concat([rp_sweep, profile_sweep], ignore_index=True)
    if "latency_is" not in rows:
        rows["latency_is"] = "bound"
    rows["latency_is"] = rows["latency_is"].fillna("bound")
    rows["same_as"] = rows["point"].map(lambda p: same_as.get(str(p), "")).astype(object)
    held = dict(zip(share["model"], share["frontier_share"])) if len(share) else {}
    rows["frontier_share"] = rows["model"].map(lambda m: held.get(m, np.nan)).astype(np.float64)
    return rows


def _dtype_notes(cm: CostModel, profiles, points) -> list[str]:
    """A cost model that fixes a dtype runs a profile lacking it at the profile's own dtype
    (decided once, by ``engine.sweep.profile_dtype``; this only reports it)."""
    if cm.dtype is None:
        return []
    return [f"{p.name} has no {cm.dtype} peak; evaluated at its default dtype {pp.dtype}"
            for p, pp in zip(profiles, points) if pp.dtype != cm.dtype]


def _empty_like(df: pd.DataFrame) -> pd.DataFrame:
    return df.iloc[0:0].copy()


def model_totals(costed: pd.DataFrame, models: Sequence[ModelResult] = ()) -> pd.DataFrame:
    """Whole-model totals of a costed table (``apply_cost_model``), one row per model (index
    ``model``, in order of appearance): ``macs``, ``weight_bytes``, ``activation_bytes``,
    ``bytes``, ``intensity_macs_per_byte`` (total MACs / total bytes; inf for no bytes),
    ``layers``, ``dtype`` (from the table's attrs) and ``params`` (from ``models``; NaN if absent)."""
    g = costed.assign(layers=1).groupby("model", sort=False)
    out = g[["macs", "weight_bytes", "activation_bytes", "layers"]].sum().astype(np.float64)
    if models:  # every model gets a row, one with no layers too (all zeros)
        out = out.reindex(list(dict.fromkeys([*out.index, *(m.label for m in models)])), fill_value=0.0)
    out["bytes"] = out["weight_bytes"] + out["activation_bytes"]
    b = out["bytes"].to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        out["intensity_macs_per_byte"] = np.where(b > 0, out["macs"].to_numpy() / np.where(b > 0, b, 1.0), np.inf)
    params = {m.label: float(m.trace.params) for m in models}
    out["params"] = [params.get(m, np.nan) for m in out.index]
    out["dtype"] = costed.attrs.get("dtype", "")
    return out


def totals(model: ModelResult, cm: CostModel, dtype: str | None = None) -> dict[str, float]:
    """Whole-model totals under a cost model: MACs, params, weight/activation bytes, intensity
    (``analyze`` holds these for its models in ``Analysis.totals``)."""
    from roofsweep.engine.costmodel import apply_cost_model

    d = dtype or cm.resolve_dtype(None)
    row = model_totals(apply_cost_model(model.trace.layers, cm, d), [model]).iloc[0]
    out = {k: float(row[k]) for k in ("macs", "params", "weight_bytes", "activation_bytes", "bytes",
                                      "intensity_macs_per_byte", "layers")}
    return out | {"dtype": d}
