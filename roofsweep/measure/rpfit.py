"""The ridge-point fit of the MobileNetV4 paper's Table 16 (torch-free): sweep RP over a log grid
(0.5 .. 2000 MAC/byte) with the bandwidth fixed, predict every model, keep the RP whose prediction
ranks the models most like the measurement (max Spearman r_s; ties broken by Pearson-log, then
the lowest RP), and the best-fit scale = median(measured / predicted) at that RP.
``roofsweep.measure.validate`` re-exports every name here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from roofsweep.errors import MeasurementError
from roofsweep.measure.stats import pearson_log, spearman

MIN_MODELS = 3
DEFAULT_RP_GRID = np.geomspace(0.5, 2000.0, 241)  # 0.5 .. 2000 MAC/byte, ~67 points per decade
SPEARMAN_TIE = 1e-12


@dataclass
class RidgeFit:
    """Result of ``fit_ridge_point``."""

    ridge_point: float         # MAC/byte maximising Spearman (tie-break Pearson-log)
    spearman: float
    pearson_log: float
    scale: float               # median(measured / predicted) at ridge_point
    bandwidth_bytes_per_s: float
    best_range: tuple[float, float]  # lowest and highest grid RP reaching the max Spearman
    sweep: pd.DataFrame        # ridge_point, spearman, pearson_log, scale


def predict_latency_grid(
    costed_tables: Sequence[pd.DataFrame],
    ridge_points: np.ndarray,
    bandwidth_bytes_per_s: float,
) -> np.ndarray:
    """Roofline latency (s) of each model at each RP > 0 with the bandwidth fixed
    (``peak = RP * bandwidth``): an array of shape (models, grid)."""
    from roofsweep.engine.roofline import layer_times

    rp = np.asarray(ridge_points, dtype=float)
    if np.any(rp <= 0) or not math.isfinite(bandwidth_bytes_per_s) or bandwidth_bytes_per_s <= 0:
        raise MeasurementError("ridge points must be > 0 and the bandwidth finite and > 0 for a ridge-point fit")
    peaks = rp * bandwidth_bytes_per_s
    out = np.empty((len(costed_tables), len(rp)))
    for j, t in enumerate(costed_tables):
        macs = t["macs"].to_numpy(dtype=float)[:, None]
        nbytes = t["bytes"].to_numpy(dtype=float)[:, None]
        _, _, time_s, _ = layer_times(macs, nbytes, peaks[None, :], bandwidth_bytes_per_s)
        out[j] = time_s.sum(axis=0)
    return out


def fit_ridge_point(
    costed_tables: Sequence[pd.DataFrame],
    measured_s: Sequence[float],
    bandwidth_bytes_per_s: float,
    grid: Sequence[float] | np.ndarray | None = None,
) -> RidgeFit:
    """The paper's Table 16 fit: the RP whose roofline ranks the models most like the measurement.

    ``costed_tables``: one costed LayerTable per model (``macs`` and ``bytes`` columns).
    Ranking is invariant to the bandwidth (scaling all latencies), so only RP matters for r_s;
    the bandwidth sets the absolute predictions behind ``scale``.
    """
    measured = np.asarray(measured_s, dtype=float)
    if len(costed_tables) != len(measured):
        raise MeasurementError(f"{len(costed_tables)} models but {len(measured)} measurements")
    if len(measured) < MIN_MODELS:
        raise MeasurementError(f"a ridge-point fit needs at least {MIN_MODELS} models, got {len(measured)}")
    rp = np.asarray(DEFAULT_RP_GRID if grid is None else grid, dtype=float)
    if rp.ndim != 1 or len(rp) == 0:
        raise MeasurementError("the ridge-point grid must be a non-empty list of numbers")
    pred = predict_latency_grid(costed_tables, rp, bandwidth_bytes_per_s)
    rs = np.array([spearman(pred[:, g], measured) for g in range(len(rp))])
    rl = np.array([pearson_log(pred[:, g], measured) for g in range(len(rp))])
    scale = np.median(measured[:, None] / pred, axis=0)
    rs_key = np.where(np.isnan(rs), -np.inf, rs)
    rl_key = np.where(np.isnan(rl), -np.inf, rl)
    best_rs = rs_key.max()
    tied = np.flatnonzero(rs_key >= best_rs - SPEARMAN_TIE)
    g = int(tied[np.argmax(rl_key[tied])])  # argmax: the first (lowest RP) of equal Pearson-logs
    return RidgeFit(
        ridge_point=float(rp[g]),
        spearman=float(rs[g]),
        pearson_log=float(rl[g]),
        scale=float(scale[g]),
        bandwidth_bytes_per_s=float(bandwidth_bytes_per_s),
        best_range=(float(rp[tied].min()), float(rp[tied].max())),
        sweep=pd.DataFrame({"ridge_point": rp, "spearman": rs, "pearson_log": rl, "scale": scale}),
    )
