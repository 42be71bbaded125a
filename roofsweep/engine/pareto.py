"""Accuracy-vs-latency Pareto frontiers per sweep point, and how much of the RP range each model
holds a place on one: the MobileNetV4 paper's "hardware-independent Pareto optimality" made
measurable. Pure numpy/pandas (no torch).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from roofsweep.errors import ConfigError

# Points per block of the (points x models x models) dominance test; bounds memory.
_BLOCK_ELEMS = 4_000_000
SCALE_CHOICES = ("linear", "log")


def _grid(sweep_df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Pivot to (points x models) arrays of latency and top-1 (NaN where absent).

    Returns (point_codes, model_codes, point_keys, latency[P, M], top1[P, M]).
    """
    for col in ("model", "point", "latency_s", "top1"):
        if col not in sweep_df.columns:
            raise ConfigError(f"a sweep table needs a '{col}' column")
    pc, pkeys = pd.factorize(sweep_df["point"], sort=False)
    mc, mkeys = pd.factorize(sweep_df["model"], sort=False)
    if (pc < 0).any() or (mc < 0).any():
        raise ConfigError("sweep table has rows with no model or point")
    flat = pc.astype(np.int64) * len(mkeys) + mc
    if len(np.unique(flat)) != len(flat):
        raise ConfigError("sweep table has more than one row for the same (model, point)")
    lat = np.full((len(pkeys), len(mkeys)), np.nan)
    acc = np.full((len(pkeys), len(mkeys)), np.nan)
    lat[pc, mc] = sweep_df["latency_s"].to_numpy(dtype=np.float64)
    acc[pc, mc] = pd.to_numeric(sweep_df["top1"], errors="coerce").to_numpy(dtype=np.float64)
    return pc, mc, np.asarray(pkeys), lat, acc


def _on_frontier(lat: np.ndarray, acc: np.ndarray) -> np.ndarray:
    """(P x M) bool: model m is Pareto-optimal at point p.

    Model i is dominated at a point if another model j there is at least as accurate and
    strictly faster, or strictly more accurate and at least as fast. Models with a null top-1 or
    latency take no part (never on the frontier, never dominate). Two models with equal accuracy
    and equal latency are both on the frontier.
    """
    n_p, n_m = lat.shape
    valid = ~(np.isnan(lat) | np.isnan(acc))
    out = np.zeros((n_p, n_m), dtype=bool)
    if n_p == 0 or n_m == 0:
        return out
    block = max(1, _BLOCK_ELEMS // (n_m * n_m))
    for p0 in range(0, n_p, block):  # blocks of points, only to bound memory
        p1 = min(p0 + block, n_p)
        # [p, i, j]: does j dominate i? (NaN comparisons are False, so invalid j never dominate)
        li, lj = lat[p0:p1, :, None], lat[p0:p1, None, :]
        ai, aj = acc[p0:p1, :, None], acc[p0:p1, None, :]
        dominated = ((aj >= ai) & (lj < li)) | ((aj > ai) & (lj <= li))
        out[p0:p1] = valid[p0:p1] & ~dominated.any(axis=2)
    return out


def frontier(sweep_df: pd.DataFrame) -> pd.DataFrame:
    """``sweep_df`` plus ``on_frontier`` (bool): accuracy-vs-latency Pareto-optimal among the
    models at the same ``point``. Models with null ``top1`` are excluded (``False``): with no
    accuracy they cannot be placed on an accuracy-latency plane.
    """
    pc, mc, _, lat, acc = _grid(sweep_df)
    on = _on_frontier(lat, acc)
    return sweep_df.assign(on_frontier=on[pc, mc])


def _interval_weights(rps: np.ndarray, scale: str) -> np.ndarray:
    """Width of the RP interval each sorted grid point stands for: half the gap to each
    neighbour (the ends get half a gap), so the weights sum to the range's width. On a ``log``
    scale the gaps are measured in log(RP) and RP 0 gets weight 0. One point gets weight 1."""
    x = rps.astype(np.float64)
    if scale == "log":
        keep = x > 0
        w = np.zeros_like(x)
        if keep.sum() == 1:
            w[keep] = 1.0
        elif keep.sum() > 1:
            w[keep] = _interval_weights(np.log(x[keep]), "linear")
        return w
    if len(x) == 1:
        return np.ones(1)
    gaps = np.diff(x)
    w = np.zeros_like(x)
    w[:-1] += gaps / 2
    w[1:] += gaps / 2
    return w


def frontier_share(sweep_df: pd.DataFrame, scale: str = "linear") -> pd.DataFrame:
    """Per model, the share of the swept ridge-point range on which it is on the frontier.

    Uses the pure ridge-point rows of ``sweep_df`` (``hardware == ""`` when that column exists;
    ``on_frontier`` is computed if absent). Each RP grid point is weighted by the width of the RP
    interval it represents (half the gap to each neighbour), so uneven or log-spaced grids still
    measure the share of the *range*: share = sum of weights where on the frontier / (max RP -
    min RP). ``scale="log"`` measures the range in log(RP) instead (RP 0 then has weight 0).
    Returns a DataFrame with ``model``, ``frontier_share`` (NaN for models with null top-1),
    ``frontier_points`` (grid points on the frontier) and ``points``.
    """
    if scale not in SCALE_CHOICES:
        raise ConfigError(f"scale must be one of {', '.join(SCALE_CHOICES)}; got {scale!r}")
    df = sweep_df
    if "hardware" in df.columns:
        df = df[df["hardware"].fillna("") == ""]
    if "ridge_point" not in df.columns:
        raise ConfigError("frontier_share needs a ridge-point sweep (a 'ridge_point' column)")
    if df.empty:
        raise ConfigError("frontier_share needs a ridge-point sweep; this table has no RP rows")
    if "on_frontier" not in df.columns:
        df = frontier(df)
    rp = df["ridge_point"].to_numpy(dtype=np.float64)
    grid = np.unique(rp)
    weights = _interval_weights(grid, scale)
    total = weights.sum()
    w_row = weights[np.searchsorted(grid, rp)]
    on = df["on_frontier"].to_numpy(dtype=bool)
    mc, models = pd.factorize(df["model"], sort=False)
    held = np.bincount(mc, weights=np.where(on, w_row, 0.0), minlength=len(models))
    n_on = np.bincount(mc, weights=on.astype(np.float64), minlength=len(models)).astype(np.int64)
    n_pts = np.bincount(mc, minlength=len(models))
    ranked = pd.to_numeric(df["top1"], errors="coerce").notna().groupby(mc).any().reindex(range(len(models)), fill_value=False)
    share = np.where(ranked.to_numpy(), held / total if total > 0 else np.nan, np.nan)
    return pd.DataFrame({
        "model": np.asarray(models, dtype=object),
        "frontier_share": share,
        "frontier_points": n_on,
        "points": n_pts,
    })
