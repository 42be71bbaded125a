"""Rank and correlation statistics for validating predictions against measurements (torch-free).

Everything here is small enough to check by hand. Ranks use the *average* convention for ties
(the ranks a tie spans are shared equally; pandas' ``rank(method="average")``), as
``scipy.stats.rankdata`` does by default, so
``spearman`` equals ``scipy.stats.spearmanr`` and needs no scipy.

Spearman's rho is the Pearson correlation of the ranks. With no ties it reduces to the textbook
``1 - 6 * sum(d**2) / (n * (n**2 - 1))``; e.g. [1, 2, 3, 4] vs [1, 3, 2, 4]: d = (0, 1, -1, 0),
so rho = 1 - 6 * 2 / (4 * 15) = 0.8.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from roofsweep.errors import MeasurementError

ArrayLike = Sequence[float] | np.ndarray


def _vector(x: ArrayLike, what: str) -> np.ndarray:
    a = np.asarray(x, dtype=float)
    if a.ndim != 1:
        raise MeasurementError(f"{what} must be one-dimensional, got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise MeasurementError(f"{what} contains a non-finite value: {a.tolist()}")
    return a


def rankdata(x: ArrayLike) -> np.ndarray:
    """Ranks 1..n, ties get the mean of the ranks they span: ``[10, 20, 20, 30] -> [1, 2.5, 2.5, 4]``
    (pandas' ``rank(method="average")``)."""
    a = _vector(x, "values")
    return pd.Series(a).rank(method="average").to_numpy(dtype=float)


def pearson(x: ArrayLike, y: ArrayLike) -> float:
    """Pearson's r. NaN when either side is constant (no ordering information)."""
    a, b = _vector(x, "x"), _vector(y, "y")
    if len(a) != len(b):
        raise MeasurementError(f"cannot correlate {len(a)} values with {len(b)}")
    if len(a) < 2:
        raise MeasurementError(f"a correlation needs at least 2 pairs, got {len(a)}")
    da, db = a - a.mean(), b - b.mean()
    denom = float(np.sqrt((da * da).sum() * (db * db).sum()))
    if denom == 0.0:
        return float("nan")
    return float(np.clip((da * db).sum() / denom, -1.0, 1.0))


def spearman(x: ArrayLike, y: ArrayLike) -> float:
    """Spearman's rank correlation (Pearson on average-tie ranks)."""
    return pearson(rankdata(x), rankdata(y))


def pearson_log(x: ArrayLike, y: ArrayLike) -> float:
    """Pearson's r of ``log(x)`` and ``log(y)`` (latencies span orders of magnitude)."""
    a, b = _vector(x, "x"), _vector(y, "y")
    if np.any(a <= 0) or np.any(b <= 0):
        raise MeasurementError("log correlation needs strictly positive values")
    return pearson(np.log(a), np.log(b))
