"""Validate roofline predictions against measured latency: the MobileNetV4 paper's Table 16 method.

For a set of models measured on one device (``roofsweep.measure.latency``) and that device's
hardware profile, ``validate`` reports

* per model: MACs, bytes, roofline-predicted latency, measured latency and ``ratio`` =
  measured / predicted (> 1: slower than the roofline, which is a lower bound);
* Spearman rank correlation r_s (and Pearson r of log latencies) between measured latency and
  (a) the roofline prediction at the profile's ridge point, (b) plain MAC count - the two columns
  of the paper's Table 16;
* the *fitted* ridge point (``fit_ridge_point``): sweep RP over a log grid (0.5 .. 2000 MAC/byte)
  with the bandwidth fixed, predict every model, keep the RP whose prediction ranks the models
  most like the measurement (max r_s; ties broken by Pearson-log, then the lowest RP), and the
  best-fit scale = median(measured / predicted) at that RP;
* per layer and per op type: predicted vs measured time (per-layer measured times from the
  hooked run; a module shared by several rows is split in proportion to the rows' predicted time).

Statistics are in ``roofsweep.measure.stats``; everything here is torch-free (tracing happens
only if a ``ModelRef`` without a cached trace is passed).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from roofsweep.errors import MeasurementError
from roofsweep.measure.attribution import attribute
from roofsweep.measure.rpfit import (  # noqa: F401 - re-exported: validate is their public home too
    DEFAULT_RP_GRID,
    MIN_MODELS,
    SPEARMAN_TIE,
    RidgeFit,
    fit_ridge_point,
    predict_latency_grid,
)
from roofsweep.measure.stats import pearson, pearson_log, rankdata, spearman  # noqa: F401 (re-export)


@dataclass
class ValidationResult:
    """What ``validate`` returns (see module docstring). Ratios are measured / predicted."""

    profile: str
    cost_model: str
    dtype: str
    peak_macs_per_s: float
    bandwidth_bytes_per_s: float
    ridge_point: float
    models: pd.DataFrame       # model, macs, bytes, predicted_s, measured_s, ratio, ...
    layers: pd.DataFrame       # model, index, name, op_type, macs, bytes, bound, predicted_s, measured_s, ratio
    op_types: pd.DataFrame     # op_type, layers, predicted_s, measured_s, ratio, median_ratio, shares
    spearman_roofline: float
    pearson_log_roofline: float
    spearman_macs: float
    pearson_log_macs: float
    fit: RidgeFit
    notes: list[str] = field(default_factory=list)
    predictors: dict = field(default_factory=dict)   # see roofsweep.measure.accuracy
    latency_is: str = "bound"                        # "calibrated" when the profile's calibration was used
    runtime: str = "torch"
    skipped: dict[str, str] = field(default_factory=dict)  # model -> one-line reason

    @property
    def fitted_ridge_point(self) -> float:
        return self.fit.ridge_point

    def summary(self) -> dict:
        """Flat dict of the headline figures (for JSON and the report header)."""
        return {
            "profile": self.profile,
            "cost_model": self.cost_model,
            "dtype": self.dtype,
            "models": len(self.models),
            "peak_macs_per_s": self.peak_macs_per_s,
            "bandwidth_bytes_per_s": self.bandwidth_bytes_per_s,
            "ridge_point": self.ridge_point,
            "spearman_roofline": self.spearman_roofline,
            "pearson_log_roofline": self.pearson_log_roofline,
            "spearman_macs": self.spearman_macs,
            "pearson_log_macs": self.pearson_log_macs,
            "fitted_ridge_point": self.fit.ridge_point,
            "fitted_spearman": self.fit.spearman,
            "fitted_pearson_log": self.fit.pearson_log,
            "fitted_scale": self.fit.scale,
            "fitted_best_range": list(self.fit.best_range),
            "latency_is": self.latency_is,
            "runtime": self.runtime,
            "skipped": dict(self.skipped),
        }

    def to_json(self) -> dict:
        """The one object ``validate --format json`` prints: ``{"models": [...], "summary":
        {"roofline": {...}, "fitted_rp": {...}, "calibrated": {...}, "macs": {...},
        "fitted_ridge_point": RP, ...}}`` (metrics in ``roofsweep.measure.accuracy``)."""
        import json

        rows = json.loads(self.models.to_json(orient="records"))  # NaN -> null, numpy -> Python
        summary = {**self.predictors, **{k: v for k, v in self.summary().items() if k not in self.predictors}}
        summary["measured"] = len(self.models)
        return {"models": rows, "summary": _json_safe(summary)}


def _json_safe(v):
    """Plain JSON values: non-finite floats -> None, numpy scalars -> Python, tuples -> lists."""
    if isinstance(v, dict):
        return {str(k): _json_safe(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_json_safe(x) for x in v]
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        return float(v) if math.isfinite(float(v)) else None
    return v


# ------------------------------------------------------------------------------ validate
def _layer_table(item) -> tuple[str, pd.DataFrame]:
    """A models[] item -> (label, LayerTable). Accepts TraceResult, LayerTable or ModelRef."""
    if isinstance(item, pd.DataFrame):
        label = str(item["model"].iloc[0]) if len(item) and "model" in item.columns else "model"
        return label, item
    if hasattr(item, "layers") and hasattr(item, "model"):  # TraceResult
        return str(item.model), item.layers
    if hasattr(item, "cache_key") and hasattr(item, "label"):  # ModelRef
        from roofsweep.trace import load_or_trace

        tr = load_or_trace(item)
        return str(item.label), tr.layers
    raise MeasurementError(f"cannot validate {type(item).__name__}: expected a TraceResult, LayerTable or ModelRef")


def _measurement(measured, label: str, pos: int):
    if isinstance(measured, Mapping):
        if label not in measured:
            raise MeasurementError(f"no measurement for model '{label}'; measured: {', '.join(map(str, measured))}")
        return measured[label]
    return measured[pos]


def _latency(m) -> float:
    value = m.latency_s if hasattr(m, "latency_s") else m
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise MeasurementError(f"a measurement must be a MeasureResult or seconds, got {value!r}") from None
    if not (math.isfinite(v) and v > 0):
        raise MeasurementError(f"measured latency must be a positive number of seconds, got {v!r}")
    return v


def _per_row(layers: pd.DataFrame, per: pd.DataFrame) -> pd.DataFrame:
    """Predicted ``time_s`` and ``bytes`` per LayerTable row, and the row's ``bound``: costed rows
    (including activations the cost model split out) summed back onto the LayerTable row they
    came from (``source_index`` = the LayerTable ``index``)."""
    key = per["source_index"] if "source_index" in per.columns else per["index"]
    cols = ["time_s", "bytes"] + (["cal_s"] if "cal_s" in per.columns else [])
    sums = per.groupby(key.to_numpy())[cols].sum()
    own = per[~per["split_out"]] if "split_out" in per.columns else per
    bound = own.groupby((own["source_index"] if "source_index" in own.columns else own["index"]).to_numpy())["bound"].first()
    idx = layers["index"].to_numpy()
    out = pd.DataFrame({
        "predicted_s": sums["time_s"].reindex(idx, fill_value=0.0).to_numpy(dtype=float),
        "bytes": sums["bytes"].reindex(idx, fill_value=0.0).to_numpy(dtype=float),
        "bound": bound.reindex(idx).fillna("").to_numpy(),
    })
    if "cal_s" in per.columns:
        out["calibrated_s"] = sums["cal_s"].reindex(idx, fill_value=0.0).to_numpy(dtype=float)
    return out


def validation_dtype(profile, cost_model="default", dtype: str | None = None) -> str:
    """The dtype ``validate`` evaluates ``profile`` at (the engine's ``profile_dtype``, with no
    fallback: a measurement is of one dtype); ``MeasurementError`` if the profile has no peak for
    it (call it before measuring, so a bad combination fails in seconds, not minutes)."""
    from roofsweep.engine.costmodel import get_preset, with_overrides
    from roofsweep.engine.sweep import profile_dtype
    from roofsweep.errors import ConfigError

    cm = get_preset(cost_model) if isinstance(cost_model, str) else cost_model
    if dtype is not None:
        cm = with_overrides(cm, dtype=dtype)
    try:
        return profile_dtype(cm, profile, missing_dtype="error")
    except ConfigError as exc:
        raise MeasurementError(f"{exc}; set the cost model's dtype to one it has") from None


def validate(
    models: Sequence,
    profile,
    cost_model="default",
    measured: Mapping | Sequence = (),
    *,
    dtype: str | None = None,
    rp_grid: Sequence[float] | np.ndarray | None = None,
) -> ValidationResult:
    """Compare roofline predictions with measured latency (see module docstring).

    ``models``: TraceResults, LayerTables or ModelRefs. ``profile``: a ``HardwareProfile``.
    ``cost_model``: a ``CostModel`` or preset name. ``measured``: ``MeasureResult``s (or seconds),
    either a mapping keyed by model label or a sequence in the order of ``models``.
    Raises ``MeasurementError`` for fewer than 3 models or a missing measurement.
    """
    from roofsweep.engine.costmodel import get_preset

    cm = get_preset(cost_model) if isinstance(cost_model, str) else cost_model
    models = list(models)
    if len(models) < MIN_MODELS:
        raise MeasurementError(
            f"validation needs at least {MIN_MODELS} models to rank, got {len(models)}")
    if not isinstance(measured, Mapping) and len(measured) != len(models):
        raise MeasurementError(f"{len(models)} models but {len(measured)} measurements")
    dt = validation_dtype(profile, cm, dtype)
    peak = profile.peak(dt)
    bw = float(profile.bandwidth_bytes_per_s)
    fit_bw, latency_is, cal, notes = _setting(cm, profile, dt, bw)

    model_rows, layer_frames, costed_tables, lat = [], [], [], []
    for pos, item in enumerate(models):
        label, layers = _layer_table(item)
        m = _measurement(measured, label, pos)
        measured_s = _latency(m)
        costed, per = _predicted(layers, cm, dt, profile, peak, bw, cal)
        costed_tables.append(costed)
        lat.append(measured_s)
        model_rows.append(_model_row(label, layers, costed, per, measured_s, cal))
        self_s = getattr(m, "module_self_s", None)
        if self_s:
            layer_frames.extend(_layer_rows(label, layers, per, self_s, cal, notes))

    models_df = pd.DataFrame(model_rows)
    for col, src in (("rank_macs", "macs"), ("rank_predicted", "predicted_s"), ("rank_measured", "measured_s")):
        models_df[col] = rankdata(models_df[src].to_numpy(dtype=float))
    layers_df = pd.concat(layer_frames, ignore_index=True) if layer_frames else pd.DataFrame(
        columns=["model", "index", "name", "op_type", "macs", "bytes", "bound", "predicted_s", "measured_s", "ratio"])
    fit = fit_ridge_point(costed_tables, lat, fit_bw, rp_grid)
    models_df["fitted_rp_s"] = predict_latency_grid(costed_tables, [fit.ridge_point], fit_bw)[:, 0] * fit.scale
    models_df["latency_is"] = latency_is
    return _result(profile, cm, dt, peak, bw, models_df, layers_df, fit, cal, latency_is, notes)


def _setting(cm, profile, dt: str, bw: float):
    """(bandwidth the RP fit holds, ``latency_is``, the calibration in use or None, notes)."""
    from roofsweep.engine.calibrated import calibration_of, latency_mode

    notes: list[str] = []
    fit_bw = bw if math.isfinite(bw) else float(cm.sweep_bandwidth_bytes_per_s)
    latency_is = latency_mode(cm.latency, profile, dt) if math.isfinite(bw) else "bound"
    cal = calibration_of(profile) if latency_is == "calibrated" else None
    if cal is not None and cal.cost_model != cm.name:
        notes.append(f"calibration was fitted under cost model '{cal.cost_model}', validated under '{cm.name}'")
    if not math.isfinite(bw):
        notes.append(f"profile bandwidth is infinite; the ridge-point fit holds {fit_bw:.3g} B/s")
    return fit_bw, latency_is, cal, notes


def _predicted(layers: pd.DataFrame, cm, dt: str, profile, peak: float, bw: float, cal):
    """(costed table, per-layer roofline rows - with ``cal_s`` when calibrated) of one model."""
    from roofsweep.engine.calibrated import calibrated_table_times
    from roofsweep.engine.costmodel import apply_cost_model
    from roofsweep.engine.roofline import roofline

    costed = apply_cost_model(layers, cm, dt, onchip_bytes=getattr(profile, "onchip_bytes", None))
    per = roofline(costed, peak, bw)
    if cal is not None:
        per["cal_s"] = calibrated_table_times(costed, peak, bw, cal)[2]
    return costed, per


def _model_row(label: str, layers: pd.DataFrame, costed: pd.DataFrame, per: pd.DataFrame,
               measured_s: float, cal) -> dict:
    """One row of ``ValidationResult.models`` (before ranks and the fitted-RP prediction)."""
    from roofsweep.engine.calibrated import model_overhead_s

    predicted_s = float(per["time_s"].sum())
    mem = float(per.loc[per["bound"] == "memory", "time_s"].sum())
    return {
        "model": label,
        "macs": int(layers["macs"].sum()),
        "bytes": float(costed["bytes"].sum()),
        "predicted_s": predicted_s,
        "measured_s": measured_s,
        "ratio": measured_s / predicted_s if predicted_s > 0 else math.nan,
        "memory_bound_fraction": mem / predicted_s if predicted_s > 0 else 0.0,
        **({"calibrated_s": float(per["cal_s"].sum()) + model_overhead_s(cal, layers["modules"])}
           if cal is not None else {}),
    }


def _layer_rows(label: str, layers: pd.DataFrame, per: pd.DataFrame, self_s: dict, cal,
                notes: list[str]) -> list[pd.DataFrame]:
    """Predicted vs measured time per LayerTable row of one model (module self times split in
    proportion to predicted time), and an ``(unattributed)`` row for self time no row names;
    a note is appended for rows that matched no measured module."""
    layers_r = layers.reset_index(drop=True)
    rows = _per_row(layers_r, per)
    att = attribute(layers_r, self_s, weights=rows["predicted_s"].to_numpy())
    ld = pd.DataFrame({
        "model": label,
        "index": layers_r["index"].to_numpy(),
        "name": layers_r["name"].to_numpy(),
        "op_type": layers_r["op_type"].to_numpy(),
        "macs": layers_r["macs"].to_numpy(),
        "bytes": rows["bytes"].to_numpy(),
        "bound": rows["bound"].to_numpy(),
        "predicted_s": rows["predicted_s"].to_numpy(),
        "measured_s": att.measured_s.to_numpy(),
        **({"calibrated_s": rows["calibrated_s"].to_numpy()} if cal is not None else {}),
    })
    with np.errstate(divide="ignore", invalid="ignore"):
        ld["ratio"] = np.where(ld["predicted_s"] > 0, ld["measured_s"] / ld["predicted_s"], np.nan)
    frames = [ld]
    unatt = sum(att.unattributed_s.values())
    if unatt > 0:
        frames.append(pd.DataFrame([{
            "model": label, "index": -1, "name": "(unattributed)", "op_type": "unattributed",
            "macs": 0, "bytes": 0.0, "bound": "", "predicted_s": 0.0, "measured_s": unatt,
            "ratio": np.nan}]))
    if att.unmatched_rows:
        notes.append(f"{label}: {len(att.unmatched_rows)} LayerTable rows matched no measured module")
    return frames


def _result(profile, cm, dt: str, peak: float, bw: float, models_df: pd.DataFrame, layers_df: pd.DataFrame,
            fit: RidgeFit, cal, latency_is: str, notes: list[str]) -> ValidationResult:
    """The ``ValidationResult``: rank correlations of the roofline and of MACs, the accuracy
    summary of every predictor (``measure.accuracy``) and the per-op-type table."""
    from roofsweep.measure.accuracy import predictor_summary

    predictors, pnotes = predictor_summary(models_df, cal, models_df["fitted_rp_s"], fit.ridge_point)
    notes.extend(pnotes)
    return ValidationResult(
        profile=str(getattr(profile, "name", "profile")),
        cost_model=str(cm.name),
        dtype=dt,
        peak_macs_per_s=float(peak),
        bandwidth_bytes_per_s=bw,
        ridge_point=float(profile.ridge_point(dt)),
        models=models_df,
        layers=layers_df,
        op_types=op_type_summary(layers_df),
        spearman_roofline=spearman(models_df["predicted_s"], models_df["measured_s"]),
        pearson_log_roofline=pearson_log(models_df["predicted_s"], models_df["measured_s"]),
        spearman_macs=spearman(models_df["macs"], models_df["measured_s"]),
        pearson_log_macs=pearson_log(models_df["macs"].clip(lower=1), models_df["measured_s"]),
        fit=fit,
        notes=notes,
        predictors=predictors,
        latency_is=latency_is,
    )


def op_type_summary(layers: pd.DataFrame) -> pd.DataFrame:
    """Per op type: layers, predicted_s / measured_s (summed over all models), ``ratio`` =
    measured / predicted of the sums, ``median_ratio`` over layers with both times > 0, and each
    op type's share of all measured and of all predicted time. Unattributed self time (containers,
    hook overhead) is its own ``unattributed`` row."""
    cols = ["op_type", "layers", "predicted_s", "measured_s", "ratio", "median_ratio",
            "measured_share", "predicted_share"]
    if layers.empty:
        return pd.DataFrame(columns=cols)
    ok = (layers["predicted_s"] > 0) & (layers["measured_s"] > 0)
    g = layers.groupby("op_type", sort=False)
    out = pd.DataFrame({
        "layers": g.size(),
        "predicted_s": g["predicted_s"].sum(),
        "measured_s": g["measured_s"].sum(),
    })
    out["median_ratio"] = layers[ok].groupby("op_type")["ratio"].median().reindex(out.index)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["ratio"] = np.where(out["predicted_s"] > 0, out["measured_s"] / out["predicted_s"], np.nan)
    out["measured_share"] = out["measured_s"] / out["measured_s"].sum()
    out["predicted_share"] = out["predicted_s"] / max(out["predicted_s"].sum(), 1e-300)
    out = out.reset_index().rename(columns={"index": "op_type"})
    return out[cols].sort_values("measured_s", ascending=False, ignore_index=True)
