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
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from roofsweep.engine.calibrated import (
    calibrated_model_times,
    calibrated_roofline,
    calibration_of,
    latency_mode,
)
from roofsweep.engine.costmodel import CostModel, apply_cost_model, get_preset
from roofsweep.errors import ConfigError, RoofsweepError, quote
from roofsweep.schema import RANGES
from roofsweep.engine.roofline import check_rates, roofline

SWEEP_COLUMNS = (
    "model", "family", "display_name", "width", "resolution", "top1",
    "point", "ridge_point", "hardware", "dtype", "peak_macs_per_s", "bandwidth_bytes_per_s",
    "latency_s", "mac_time_s", "mem_time_s", "macs", "bytes",
    "memory_bound_fraction", "compute_bound_fraction", "latency_is",
)

MAX_GRID_POINTS = 100_000  # library calls: 100,000 points x MNv2 cost 0.8 s (one loaded core)
# Commands and configs print and report every point: a terminal table of 10,000 rows took 47 s
# and 1,000 rows 4.7 s on a loaded 2-core machine, so the CLI and experiment configs stop here.
MAX_COMMAND_GRID_POINTS = 2_000
MAX_RIDGE_POINT = RANGES["ridge_point"].hi  # 1e6 MAC/byte (docs/hardware-profiles.md, ranges)
# Elements of one (layers x points) block: ~0.5 MB of float64, cache-sized (fastest measured).
_BLOCK_ELEMS = 65_536

HOLD_CHOICES = ("bandwidth", "compute")

# Ridge points of the terminal sweep table: RP 0 ("MACs only": memory free), then the paper's
# points (5, 50, 500) and the decades between them. RP 2 is left out: below the paper's lowest
# point it only shows the jump from RP 0's free memory to RP > 0's 40 GB/s.
DEFAULT_RIDGE_POINTS = (0.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0)
# Dense grid for curves and the Pareto frontier share: 1..500 log-spaced.
DEFAULT_CURVE_RIDGE_POINTS = "1:500:241:log"


def points_by_ridge_point(sweep_df: pd.DataFrame) -> list[str]:
    """The distinct ``point`` labels of a sweep frame, by ridge point (ties: order of appearance;
    a frame without ``ridge_point``: order of appearance)."""
    pts = sweep_df.drop_duplicates("point")
    if "ridge_point" in pts:
        pts = pts.sort_values("ridge_point", kind="stable")
    return [str(p) for p in pts["point"]]


# ------------------------------------------------------------------------------------- grid
def _num(text: str, spec: str) -> float:
    try:
        x = float(text)
    except ValueError:
        raise ConfigError(
            f"cannot read {quote(text)} in ridge-point spec {quote(spec)}; write a list '0,5,50,500', "
            f"a range 'START:STOP:N' or a log range 'START:STOP:N:log'"
        ) from None
    if not math.isfinite(x):
        raise ConfigError(f"ridge points must be finite numbers, got {quote(text)} in {quote(spec)}")
    if x < 0:
        raise ConfigError(f"ridge points must be >= 0 MAC/byte, got {quote(text)} in {quote(spec)}")
    if x > MAX_RIDGE_POINT:  # beyond it latencies underflow and overflow (numpy RuntimeWarnings)
        raise ConfigError(f"ridge point {quote(text)} in {quote(spec)} is outside the plausible range "
                          f"(0 to {MAX_RIDGE_POINT:g} MAC/byte)")
    return x + 0.0  # -0.0 -> 0.0


def ridge_point_grid(spec: str | float | Sequence[float]) -> np.ndarray:
    """Parse a ridge-point spec into a sorted array of unique RPs (MAC/byte, float64).

    * ``"0,5,50,500"`` - a list (also a Python sequence of numbers, or one number);
    * ``"0:500:5001"`` - N linearly spaced points including both ends;
    * ``"1:500:100:log"`` - N log-spaced points including both ends (START must be > 0).

    ``ConfigError`` for negative, NaN or infinite values, an inverted range, N < 2 (N = 1 is
    allowed when START == STOP) and more than ``MAX_GRID_POINTS`` points.
    """
    if isinstance(spec, (int, float, np.integer, np.floating)) and not isinstance(spec, bool):
        return np.array([_num(str(float(spec)), str(spec))])
    if not isinstance(spec, str):
        if isinstance(spec, np.ndarray) or isinstance(spec, Sequence):
            if len(spec) == 0:
                raise ConfigError("ridge-point list is empty")
            if len(spec) > MAX_GRID_POINTS:
                raise ConfigError(f"too many ridge points ({len(spec)}); at most {MAX_GRID_POINTS}")
            if isinstance(spec, np.ndarray) and spec.ndim != 1:
                raise ConfigError(f"ridge points must be a flat list, got a {spec.ndim}-D array")
            if not isinstance(spec, np.ndarray):
                for i, v in enumerate(spec):  # nested lists, mappings...: name the item, not its text
                    if isinstance(v, bool) or not isinstance(v, (int, float, str, np.integer, np.floating)):
                        raise ConfigError(f"ridge-point list item {i} must be a number, got {type(v).__name__}")
            try:
                values = np.asarray(spec, dtype=np.float64).reshape(-1)
            except (TypeError, ValueError, OverflowError):
                values = np.array([_num(str(v), "the ridge-point list") for v in spec])
            bad = ~np.isfinite(values) | (values < 0) | (values > MAX_RIDGE_POINT)
            if bad.any():
                v = values[bad][0]
                _num(str(v), "the ridge-point list")  # raises the matching message
            return np.unique(values + 0.0)  # -0.0 -> 0.0
        raise ConfigError(f"ridge points must be a string, number or list, got {type(spec).__name__}")
    text = spec.strip()
    if not text:
        raise ConfigError("ridge-point spec is empty; e.g. '0,5,50,500' or '0:500:5001'")
    if ":" in text:
        parts = [p.strip() for p in text.split(":")]
        if len(parts) not in (3, 4):
            raise ConfigError(f"ridge-point range {quote(spec)} must be START:STOP:N or START:STOP:N:log")
        start, stop = _num(parts[0], spec), _num(parts[1], spec)
        try:
            n = int(parts[2])
        except ValueError:
            raise ConfigError(f"N in ridge-point range {quote(spec)} must be an integer, got {quote(parts[2])}") from None
        scale = parts[3].lower() if len(parts) == 4 else "linear"
        if scale not in ("log", "lin", "linear"):
            raise ConfigError(f"ridge-point range scale must be 'log' or 'linear', got {quote(parts[3])}")
        if stop < start:
            raise ConfigError(f"ridge-point range {quote(spec)} is inverted: START {start:g} > STOP {stop:g}")
        if n > MAX_GRID_POINTS:
            raise ConfigError(f"too many ridge points ({n}) in {quote(spec)}; at most {MAX_GRID_POINTS}")
        if n < 1 or (n == 1 and start != stop):
            raise ConfigError(f"ridge-point range {quote(spec)} needs N >= 2 points, got {n}")
        if scale == "log":
            if start <= 0:
                raise ConfigError(f"log ridge-point range {quote(spec)} needs START > 0 (log of 0)")
            grid = np.geomspace(start, stop, n)
            grid[0], grid[-1] = start, stop
        else:
            grid = np.linspace(start, stop, n)
        return np.unique(grid)
    values = [_num(p.strip(), spec) for p in text.split(",") if p.strip()]
    if not values:
        raise ConfigError(f"ridge-point list {quote(spec)} holds no numbers")
    if len(values) > MAX_GRID_POINTS:
        raise ConfigError(f"too many ridge points ({len(values)}); at most {MAX_GRID_POINTS}")
    return np.unique(np.asarray(values, dtype=np.float64))


def command_grid(spec: str | float | Sequence[float]) -> np.ndarray:
    """``ridge_point_grid`` for a command or a config: at most ``MAX_COMMAND_GRID_POINTS``."""
    grid = ridge_point_grid(spec)
    if len(grid) > MAX_COMMAND_GRID_POINTS:
        raise ConfigError(f"too many ridge points ({len(grid):,}); a command or config reports every "
                          f"point, at most {MAX_COMMAND_GRID_POINTS:,} (use the Python API for denser grids)")
    return grid


def rp_label(rp: float, digits: int = 6) -> str:
    """``50.0 -> 'RP 50'``, ``31.2 -> 'RP 31.2'``."""
    return f"RP {rp:.{digits}g}"


def rp_labels(rps) -> list[str]:
    """``rp_label`` of each ridge point, with more digits where a dense grid needs them to stay
    distinct (``'RP 123.457'`` vs ``'RP 123.4575'``)."""
    for digits in (6, 9, 12, 17):
        labels = [rp_label(float(r), digits) for r in rps]
        if len(set(labels)) == len(labels):
            break
    return labels


def point_rates(ridge_points, cost_model: CostModel, hold: str = "bandwidth") -> tuple[np.ndarray, np.ndarray]:
    """(peak MAC/s, bandwidth bytes/s) arrays realising each ridge point.

    ``hold="bandwidth"`` (the paper's way): bandwidth = ``cost_model.sweep_bandwidth_bytes_per_s``,
    peak = RP x bandwidth. ``hold="compute"``: peak = ``cost_model.rp0_peak_macs_per_s``,
    bandwidth = peak / RP. Either way RP 0 means free memory (bandwidth = inf) at peak
    ``rp0_peak_macs_per_s``. Latencies at one RP differ between the two only by a constant factor,
    so rankings do not.
    """
    if hold not in HOLD_CHOICES:
        raise ConfigError(f"hold must be one of {', '.join(HOLD_CHOICES)}; got {hold!r}")
    rp = np.asarray(ridge_points, dtype=np.float64)
    if rp.ndim != 1 or not np.all(np.isfinite(rp)) or np.any(rp < 0):
        raise ConfigError("ridge points must be a 1-D list of finite numbers >= 0")
    zero = rp == 0
    if hold == "bandwidth":
        bw0 = cost_model.sweep_bandwidth_bytes_per_s
        peak = np.where(zero, cost_model.rp0_peak_macs_per_s, rp * bw0)
        bw = np.where(zero, np.inf, bw0)
    else:
        peak = np.full(rp.shape, cost_model.rp0_peak_macs_per_s)
        with np.errstate(divide="ignore"):
            bw = np.where(zero, np.inf, peak / np.where(zero, 1.0, rp))
    return peak.astype(np.float64), bw.astype(np.float64)


# ----------------------------------------------------------------------------------- inputs
def _collect(tables) -> tuple[pd.DataFrame, list[str]]:
    """One LayerTable with a ``model`` column, and the model labels in order of appearance.

    ``tables``: mapping label -> LayerTable (or anything with a ``.layers`` LayerTable, such as
    a TraceResult; the mapping key becomes the ``model`` label), or one DataFrame with ``model``,
    or a ``CostCache``.
    """
    if isinstance(tables, CostCache):
        return tables.layers, tables.labels
    if isinstance(tables, pd.DataFrame):
        if "model" not in tables.columns:
            raise ConfigError("a layer table passed as one DataFrame needs a 'model' column")
        labels = [str(m) for m in pd.unique(tables["model"])]
        return tables, labels
    if isinstance(tables, Mapping):
        parts = []
        for label, t in tables.items():
            t = getattr(t, "layers", t)
            if not isinstance(t, pd.DataFrame):
                raise ConfigError(f"tables[{label!r}] is not a LayerTable (got {type(t).__name__})")
            parts.append(t.assign(model=str(label)))
        if not parts:
            raise ConfigError("no models to sweep")
        return pd.concat(parts, ignore_index=True), [str(k) for k in tables]
    raise ConfigError(f"tables must be a mapping label -> LayerTable or one DataFrame, got {type(tables).__name__}")


class CostCache:
    """The layer tables of several models, each costed (``apply_cost_model``) once per
    (cost model, dtype, on-chip capacity) however many sweeps read them.

    Pass one as ``tables`` to ``sweep_ridge_points``, ``sweep_profiles`` and ``per_layer_at``
    (``roofsweep.analysis.analyze`` does): one costing per dtype instead of one per call.
    ``calls`` counts the ``apply_cost_model`` calls made.
    """

    def __init__(self, tables):
        self.layers, self.labels = _collect(tables)
        self._costed: dict[tuple, pd.DataFrame] = {}
        self.calls = 0

    def costed(self, cm: CostModel, dtype: str, onchip_bytes: float = 0.0) -> pd.DataFrame:
        """``apply_cost_model(layers, cm, dtype, onchip_bytes)``, computed on first use.
        The result is shared: callers copy before changing it."""
        key = (cm, str(dtype), float(onchip_bytes))
        if key not in self._costed:
            self.calls += 1
            self._costed[key] = apply_cost_model(self.layers, cm, dtype, onchip_bytes=onchip_bytes)
        return self._costed[key]


def _costs(tables) -> CostCache:
    return tables if isinstance(tables, CostCache) else CostCache(tables)


def _resolve_cost_model(cost_model) -> CostModel:
    if isinstance(cost_model, CostModel):
        return cost_model
    if isinstance(cost_model, str):
        return get_preset(cost_model)
    raise ConfigError(f"cost_model must be a CostModel or a preset name, got {type(cost_model).__name__}")


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


def _profile_rates(profile, dtype: str) -> tuple[float, float, float]:
    """(peak, bandwidth, ridge point) of ``profile`` at ``dtype``; ``ConfigError`` if it has no
    peak for that dtype."""
    try:
        peak = float(profile.peak(dtype))
        rp = float(profile.ridge_point(dtype))
    except RoofsweepError:
        raise
    except (KeyError, ValueError, TypeError) as e:
        have = ", ".join(sorted(getattr(profile, "peak_macs_per_s", {}) or {}))
        raise ConfigError(
            f"hardware profile '{profile.name}' has no peak MAC/s for dtype {dtype} (has: {have}); "
            f"choose a dtype it lists ({e})"
        ) from None
    bw = float(profile.bandwidth_bytes_per_s)
    check_rates(peak, bw)
    return peak, bw, rp


MISSING_DTYPE_CHOICES = ("fallback", "error")


def profile_dtype(cm: CostModel, profile, missing_dtype: str = "fallback") -> str:
    """The dtype ``cm`` uses on ``profile``: ``cm.dtype``, else the profile's default dtype.

    When ``cm.dtype`` names a dtype the profile lists no peak for (the paper preset's int8 on
    an fp16-only GPU), ``missing_dtype="fallback"`` uses the profile's default dtype instead
    (bytes and peak both at that dtype; the sweep's ``dtype`` column shows it) and ``"error"``
    raises ``ConfigError``.
    """
    if missing_dtype not in MISSING_DTYPE_CHOICES:
        raise ConfigError(f"missing_dtype must be one of {', '.join(MISSING_DTYPE_CHOICES)}; got {missing_dtype!r}")
    dtype = cm.dtype if cm.dtype is not None else str(profile.default_dtype)
    listed = getattr(profile, "peak_macs_per_s", None) or {}
    if cm.dtype is not None and listed and dtype not in listed:
        if missing_dtype == "fallback":
            return str(profile.default_dtype)
        raise ConfigError(
            f"hardware profile '{profile.name}' has no peak MAC/s for dtype {dtype} "
            f"(has: {', '.join(listed)}); choose a dtype it lists"
        )
    return dtype


@dataclass(frozen=True)
class ProfilePoint:
    """A hardware profile as the plain numbers a sweep needs under one cost model: the dtype
    (``profile_dtype``), peak and bandwidth at it, its ridge point and the on-chip capacity in
    effect (0 unless the cost model uses on-chip memory; the cost model's override wins)."""

    name: str
    dtype: str
    peak_macs_per_s: float
    bandwidth_bytes_per_s: float
    ridge_point: float
    onchip_bytes: float


def profile_point(cm: CostModel, profile, missing_dtype: str = "fallback") -> ProfilePoint:
    """Read ``profile`` once into a ``ProfilePoint`` for ``cm`` (``ConfigError`` if it lacks the
    dtype and ``missing_dtype="error"``, or has no peak for it)."""
    dtype = profile_dtype(cm, profile, missing_dtype)
    peak, bw, rp = _profile_rates(profile, dtype)
    onchip = 0.0
    if cm.use_onchip:
        own = getattr(profile, "onchip_bytes", None)
        onchip = float(cm.onchip_bytes if cm.onchip_bytes is not None else (own or 0.0))
    return ProfilePoint(str(profile.name), dtype, peak, bw, rp, onchip)


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
    n = len(profiles)
    pts = [p if isinstance(p, ProfilePoint) else profile_point(cm, p, missing_dtype) for p in profiles]
    dtypes = [p.dtype for p in pts]
    caps = [p.onchip_bytes for p in pts]
    peak = np.array([p.peak_macs_per_s for p in pts])
    bw = np.array([p.bandwidth_bytes_per_s for p in pts])
    res = {k: np.zeros((len(labels), n)) for k in ("latency_s", "mac_time_s", "mem_time_s", "memory_bound_fraction")}
    tot_macs = np.zeros((len(labels), n))
    tot_bytes = np.zeros((len(labels), n))
    groups: dict[tuple[str, float], list[int]] = {}
    for i, key in enumerate(zip(dtypes, caps)):
        groups.setdefault(key, []).append(i)
    modes = [latency_mode(cm.latency, p, d) for p, d in zip(profiles, dtypes)]
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
