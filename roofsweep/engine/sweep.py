"""Ridge-point and hardware-profile sweeps: latency of many models at many points (no torch).

The paper's insight is that roofline latency depends on hardware only through the ridge point
RP = peak MAC/s / bandwidth (up to a constant factor), so sweeping RP over 0..500 MAC/byte
covers every device. ``sweep_ridge_points`` evaluates every model at every RP in one vectorised
pass: a (layers x points) array of layer times, reduced per model with ``np.add.reduceat``
(the points are taken in cache-sized blocks of columns, which bounds memory and is faster
than one huge array; there is no Python loop over points). ``sweep_profiles`` does
the same at the peak and bandwidth of named hardware profiles.

Both return one long-form DataFrame, one row per (model, point), with the columns of
``SWEEP_COLUMNS`` (documented in docs/contracts.md).

Grids and labels live in ``engine.grid``, costing caches and profile points in
``engine.points``; both are re-exported here.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from roofsweep.engine.calibrated import (
    calibrated_model_times,
    calibrated_roofline,
    calibration_of,
    latency_mode,
)
from roofsweep.engine.costmodel import CostModel
from roofsweep.engine.grid import (  # noqa: F401 - re-exported: engine.sweep is their public home too
    DEFAULT_CURVE_RIDGE_POINTS,
    DEFAULT_RIDGE_POINTS,
    HOLD_CHOICES,
    MAX_COMMAND_GRID_POINTS,
    MAX_GRID_POINTS,
    MAX_RIDGE_POINT,
    command_grid,
    point_rates,
    points_by_ridge_point,
    ridge_point_grid,
    rp_label,
    rp_labels,
)
from roofsweep.engine.points import (  # noqa: F401 - re-exported
    MISSING_DTYPE_CHOICES,
    CostCache,
    ProfilePoint,
    _collect,
    _costs,
    _profile_rates,
    _resolve_cost_model,
    profile_dtype,
    profile_point,
)
from roofsweep.engine.roofline import roofline
from roofsweep.errors import ConfigError

SWEEP_COLUMNS = (
    "model", "family", "display_name", "width", "resolution", "top1",
    "point", "ridge_point", "hardware", "dtype", "peak_macs_per_s", "bandwidth_bytes_per_s",
    "latency_s", "mac_time_s", "mem_time_s", "macs", "bytes",
    "memory_bound_fraction", "compute_bound_fraction", "latency_is",
)

_BLOCK_ELEMS = 65_536


def _meta_arrays(labels: list[str], meta) -> dict[str, Any]:
    """Metadata per label, as arrays aligned with ``labels``; defaults where absent: family '',
    display_name = the label, width / resolution / top1 null. ``resolution`` is returned as
    (int64 values, null mask)."""
    rows: dict[str, dict] = {}
    if meta is not None:
        if isinstance(meta, Mapping):
            rows = {str(k): dict(v) for k, v in meta.items()}
        elif isinstance(meta, pd.DataFrame):
            rows = {str(k): v for k, v in meta.to_dict(orient="index").items()}
        else:
            raise ConfigError(f"meta must be a DataFrame indexed by model label, got {type(meta).__name__}")

    def text(v, default: str) -> str:
        return default if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA else str(v)

    def number(v) -> float:
        try:
            x = float(v)
        except (TypeError, ValueError):
            return math.nan
        return x

    fam, disp, width, res, top1 = [], [], [], [], []
    for label in labels:
        r = rows.get(label, {})
        fam.append(text(r.get("family"), ""))
        disp.append(text(r.get("display_name"), label))
        width.append(number(r.get("width")))
        res.append(number(r.get("resolution")))
        top1.append(number(r.get("top1")))
    res_a = np.asarray(res, dtype=np.float64)
    mask = ~np.isfinite(res_a)
    return {
        "family": np.asarray(fam, dtype=object),
        "display_name": np.asarray(disp, dtype=object),
        "width": np.asarray(width, dtype=np.float64),
        "resolution": (np.where(mask, 0, np.round(np.nan_to_num(res_a))).astype(np.int64), mask),
        "top1": np.asarray(top1, dtype=np.float64),
    }


# ------------------------------------------------------------------------------------ core
class _Costed:
    """A costed multi-model table flattened to arrays, rows contiguous per model."""

    def __init__(self, costed: pd.DataFrame, labels: list[str]):
        self.costed = costed
        self.macs = costed["macs"].to_numpy(dtype=np.float64)
        self.bytes = costed["bytes"].to_numpy(dtype=np.float64)
        codes = pd.Categorical(costed["model"].astype(str), categories=labels).codes.astype(np.int64)
        # apply_cost_model sorts rows by model in order of appearance, which is ``labels``'s
        # order: each model's rows are one contiguous run, as reduceat needs.
        assert codes.size == 0 or (codes.min() >= 0 and np.all(np.diff(codes) >= 0)), "rows not grouped by model"
        self.counts = np.bincount(codes, minlength=len(labels))
        self.starts = np.concatenate(([0], np.cumsum(self.counts)[:-1]))
        self.total_macs = np.bincount(codes, weights=self.macs, minlength=len(labels))
        self.total_bytes = np.bincount(codes, weights=self.bytes, minlength=len(labels))

    def evaluate(self, peak: np.ndarray, bw: np.ndarray) -> dict[str, np.ndarray]:
        """(models x points) latency, MAC time, memory time and memory-bound fraction."""
        n_models, n_points = len(self.counts), len(peak)
        latency = np.zeros((n_models, n_points))
        mem_bound = np.zeros((n_models, n_points))
        nonempty = self.counts > 0
        starts = self.starts[nonempty]
        n_layers = len(self.macs)
        if n_layers and n_points:
            macs, nbytes = self.macs[:, None], self.bytes[:, None]
            does_macs = (self.macs > 0)[:, None]
            block = max(1, _BLOCK_ELEMS // n_layers)
            for c0 in range(0, n_points, block):  # blocks of points: bounds memory, stays in cache
                c1 = min(c0 + block, n_points)
                # layer_times() for a (layers x points) block, in place; the same float
                # operations, so results equal roofline()'s exactly.
                t = macs / peak[None, c0:c1]
                m = nbytes / bw[None, c0:c1]
                compute = t >= m
                compute &= does_macs
                np.maximum(t, m, out=t)
                latency[nonempty, c0:c1] = np.add.reduceat(t, starts, axis=0)
                np.putmask(t, compute, 0.0)  # keep only memory-bound layers' time
                mem_bound[nonempty, c0:c1] = np.add.reduceat(t, starts, axis=0)
        mbf = np.divide(mem_bound, latency, out=np.zeros_like(latency), where=latency > 0)
        return {
            "latency_s": latency,
            "mac_time_s": self.total_macs[:, None] / peak[None, :],
            "mem_time_s": self.total_bytes[:, None] / bw[None, :],
            "memory_bound_fraction": mbf,
        }


def _long_form(labels, meta: dict[str, Any], points: dict[str, np.ndarray], res: dict[str, np.ndarray],
               total_macs: np.ndarray, total_bytes: np.ndarray) -> pd.DataFrame:
    """Assemble the (models x points) results into the long form, model-major."""
    m, p = len(labels), len(points["point"])
    data: dict[str, Any] = {"model": np.repeat(np.asarray(labels, dtype=object), p)}
    for col in ("family", "display_name", "width", "top1"):
        data[col] = np.repeat(meta[col], p)
    values, mask = meta["resolution"]
    data["resolution"] = pd.arrays.IntegerArray(np.repeat(values, p), np.repeat(mask, p))
    points = {**points, "latency_is": points.get("latency_is", np.full(p, "bound", dtype=object))}
    for col in ("point", "ridge_point", "hardware", "dtype", "peak_macs_per_s", "bandwidth_bytes_per_s", "latency_is"):
        data[col] = np.tile(points[col], m)
    for col in ("latency_s", "mac_time_s", "mem_time_s", "memory_bound_fraction"):
        data[col] = res[col].reshape(-1)
    data["macs"] = np.repeat(total_macs, p)
    data["bytes"] = np.repeat(total_bytes, p)
    data["compute_bound_fraction"] = 1.0 - data["memory_bound_fraction"]
    return pd.DataFrame({c: data[c] for c in SWEEP_COLUMNS})


def sweep_ridge_points(
    tables,
    ridge_points,
    cost_model: CostModel | str = "default",
    meta=None,
    *,
    hold: str = "bandwidth",
) -> pd.DataFrame:
    """Latency of every model at every ridge point, one vectorised pass.

    ``ridge_points``: anything ``ridge_point_grid`` accepts. Peak and bandwidth at each RP come
    from ``point_rates`` (default: bandwidth fixed at ``cost_model.sweep_bandwidth_bytes_per_s``,
    peak = RP x bandwidth; RP 0 = ``rp0_peak_macs_per_s`` with free memory). The dtype is
    ``cost_model.dtype`` or, if None, ``cost_model.sweep_dtype``; on-chip capacity is
    ``cost_model.onchip_bytes`` (no profile here). Rows: model-major, RPs ascending; ``point`` is
    ``"RP <rp>"``, ``hardware`` is ``""``.
    """
    cm = _resolve_cost_model(cost_model)
    rps = ridge_point_grid(ridge_points)
    peak, bw = point_rates(rps, cm, hold)
    costs = _costs(tables)
    labels = costs.labels
    dtype = cm.resolve_dtype(None)
    costed = _Costed(costs.costed(cm, dtype, cm.onchip_capacity(None)), labels)
    res = costed.evaluate(peak, bw)
    points = {
        "point": np.array(rp_labels(rps), dtype=object),
        "ridge_point": rps,
        "hardware": np.full(len(rps), "", dtype=object),
        "dtype": np.full(len(rps), dtype, dtype=object),
        "peak_macs_per_s": peak,
        "bandwidth_bytes_per_s": bw,
    }
    return _long_form(labels, _meta_arrays(labels, meta), points, res, costed.total_macs, costed.total_bytes)


def sweep_profiles(
    tables,
    profiles: Iterable[Any],
    cost_model: CostModel | str = "default",
    meta=None,
    *,
    missing_dtype: str = "fallback",
) -> pd.DataFrame:
    """Latency of every model on every hardware profile (same columns as ``sweep_ridge_points``).

    Per profile: dtype = ``profile_dtype(cost_model, profile, missing_dtype)`` (the cost
    model's dtype, else the profile's default; see there for a dtype the profile lacks); peak =
    ``profile.peak(dtype)``; bandwidth = ``profile.bandwidth_bytes_per_s`` (inf allowed);
    ridge_point = ``profile.ridge_point(dtype)``; on-chip capacity per ``CostModel.onchip_capacity``.
    Profiles sharing dtype and capacity are evaluated in one vectorised pass. Rows: model-major,
    profiles in the order given; ``point`` and ``hardware`` are the profile's name.
    ``latency_is``: ``"calibrated"`` where the cost model's ``latency`` switch and the profile's
    calibration give the calibrated latency model (``engine.calibrated.latency_mode``), else
    ``"bound"`` (the roofline, a lower bound).
    """
    cm = _resolve_cost_model(cost_model)
    profiles = list(profiles.values()) if isinstance(profiles, Mapping) else list(profiles)
    if not profiles:
        raise ConfigError("no hardware profiles to sweep")
    costs = _costs(tables)
    labels = costs.labels
    pts = [p if isinstance(p, ProfilePoint) else profile_point(cm, p, missing_dtype) for p in profiles]
    dtypes = [p.dtype for p in pts]
    caps = [p.onchip_bytes for p in pts]
    peak = np.array([p.peak_macs_per_s for p in pts])
    bw = np.array([p.bandwidth_bytes_per_s for p in pts])
    modes = [latency_mode(cm.latency, p, d) for p, d in zip(profiles, dtypes)]
    res, tot_macs, tot_bytes = _evaluate_profiles(costs, cm, profiles, dtypes, caps, modes, peak, bw)
    points = {
        "point": np.array([p.name for p in profiles], dtype=object),
        "ridge_point": np.array([p.ridge_point for p in pts]),
        "hardware": np.array([p.name for p in profiles], dtype=object),
        "dtype": np.array(dtypes, dtype=object),
        "peak_macs_per_s": peak,
        "bandwidth_bytes_per_s": bw,
        "latency_is": np.array(modes, dtype=object),
    }
    out = _long_form(labels, _meta_arrays(labels, meta), points, res, tot_macs[:, 0], tot_bytes[:, 0])
    # MACs and bytes can differ between profiles (dtype, on-chip): take them per point.
    out["macs"] = tot_macs.reshape(-1)
    out["bytes"] = tot_bytes.reshape(-1)
    return out


def _evaluate_profiles(costs: CostCache, cm: CostModel, profiles: list, dtypes: list[str], caps: list[float],
                       modes: list[str], peak: np.ndarray, bw: np.ndarray):
    """(results per column, total MACs, total bytes), each (models x profiles): profiles sharing
    dtype and on-chip capacity are costed once and evaluated in one vectorised pass; the
    calibrated ones (``modes``) by the calibrated latency model."""
    labels = costs.labels
    n = len(profiles)
    res = {k: np.zeros((len(labels), n)) for k in ("latency_s", "mac_time_s", "mem_time_s", "memory_bound_fraction")}
    tot_macs = np.zeros((len(labels), n))
    tot_bytes = np.zeros((len(labels), n))
    groups: dict[tuple[str, float], list[int]] = {}
    for i, key in enumerate(zip(dtypes, caps)):
        groups.setdefault(key, []).append(i)
    for (dtype, cap), idx in groups.items():
        costed = _Costed(costs.costed(cm, dtype, cap), labels)
        bound = [i for i in idx if modes[i] == "bound"]
        r = costed.evaluate(peak[bound], bw[bound])
        for k in res:
            res[k][:, bound] = r[k]
        for i in (i for i in idx if modes[i] == "calibrated"):
            r = calibrated_model_times(costed.costed, costed.starts, costed.counts, peak[i], bw[i],
                                       calibration_of(profiles[i]))
            for k in res:
                res[k][:, [i]] = r[k]
        tot_macs[:, idx] = costed.total_macs[:, None]
        tot_bytes[:, idx] = costed.total_bytes[:, None]
    return res, tot_macs, tot_bytes


def per_layer_at(
    tables,
    at,
    cost_model: CostModel | str = "default",
    *,
    hold: str = "bandwidth",
    missing_dtype: str = "fallback",
) -> pd.DataFrame:
    """Per-layer roofline tables at one or more points (the paper's Fig. 3).

    ``at``: a ridge point (number), a hardware profile, or a list mixing them. Returns the
    ``roofline`` rows of every model at every point, concatenated, with ``point``,
    ``ridge_point``, ``hardware``, ``dtype``, ``peak_macs_per_s`` and ``bandwidth_bytes_per_s``
    added (same meanings as in the sweep). ``hold`` as in ``point_rates``; ``missing_dtype`` as
    in ``profile_dtype``.
    """
    cm = _resolve_cost_model(cost_model)
    costs = _costs(tables)
    items = list(at) if isinstance(at, (list, tuple, np.ndarray)) else [at]
    if not items:
        raise ConfigError("per_layer_at needs at least one ridge point or profile")
    parts = []
    for item in items:
        if isinstance(item, (int, float, np.integer, np.floating)) and not isinstance(item, bool):
            rp = float(ridge_point_grid(float(item))[0])
            peak_a, bw_a = point_rates([rp], cm, hold)
            peak, bw, dtype, cap = float(peak_a[0]), float(bw_a[0]), cm.resolve_dtype(None), cm.onchip_capacity(None)
            label, hw = rp_label(rp), ""
        else:
            pp = item if isinstance(item, ProfilePoint) else profile_point(cm, item, missing_dtype)
            dtype, peak, bw, rp, cap = pp.dtype, pp.peak_macs_per_s, pp.bandwidth_bytes_per_s, pp.ridge_point, pp.onchip_bytes
            label, hw = pp.name, pp.name
        costed = costs.costed(cm, dtype, cap)
        cal = calibration_of(item) if hw and latency_mode(cm.latency, item, dtype) == "calibrated" else None
        if cal is not None:
            df = calibrated_roofline(costed, peak, bw, cal)
        else:
            df = roofline(costed, peak, bw)
            df["latency_is"] = "bound"
        df.insert(0, "point", label)
        df.insert(1, "ridge_point", rp)
        df.insert(2, "hardware", hw)
        df.insert(3, "dtype", dtype)
        df.insert(4, "peak_macs_per_s", peak)
        df.insert(5, "bandwidth_bytes_per_s", bw)
        parts.append(df)
    return pd.concat(parts, ignore_index=True)
