"""The calibrated latency model: from a roofline bound to a prediction (pure numpy, no torch).

The roofline says a layer takes at least ``max(macs / peak, bytes / bandwidth)``. A real kernel
reaches only a fraction of each roof, and every layer pays a fixed cost to be dispatched
(Python and the framework's op dispatch on a CPU, a kernel launch on a GPU). Per op type
(``conv2d``, ``dwconv2d``, ``fc``, ``attention``, ``elementwise``, ``pool``...) the calibrated
model therefore has three parameters, fitted from microbenchmarks by ``roofsweep calibrate``::

    t = max(macs / (e_c * peak), bytes / (e_m * bandwidth)) + overhead

* ``e_c`` (``compute_efficiency``): attained fraction of the profile's peak MAC/s;
* ``e_m`` (``memory_efficiency``): attained fraction of the profile's DRAM bandwidth;
* ``overhead`` (``overhead_s``): seconds per layer that neither roof explains.

The form keeps the roofline's reading (a layer is compute- or memory-bound; which one is the
larger term) and adds only what a measurement of one kernel at several sizes can pin down: the
slope of the compute-bound part, the slope of the memory-bound part and the intercept. Op types
the calibration never saw use the calibration's ``fallback`` parameters (one set fitted on all
microbenchmarks together). See docs/ground-truth.md for the fit.

Here: the switch (``LATENCY_CHOICES``, ``latency_mode``) and the vectorised evaluation
(``calibrated_layer_times``); the schema of the profile's ``calibration:`` section is
``roofsweep.hardware.calibration``; the fit is ``roofsweep.measure.fit``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

#: Values of the cost model's ``latency`` field (None = calibrated when the profile has one).
LATENCY_CHOICES = ("roofline", "calibrated")
#: Values of the ``latency_is`` column of every table that carries a latency.
LATENCY_IS = ("bound", "calibrated")


def calibration_of(profile: Any):
    """The profile's ``calibration`` (or None); duck-typed so any profile-like object works."""
    return getattr(profile, "calibration", None) if profile is not None else None


def latency_mode(latency: str | None, profile: Any, dtype: str) -> str:
    """``"calibrated"`` or ``"bound"`` for a cost model's ``latency`` setting on ``profile``.

    ``latency``: ``"roofline"`` -> always the bound; ``None`` (default) or ``"calibrated"`` ->
    calibrated when the profile has a calibration fitted at ``dtype``, else the bound (the row's
    ``latency_is`` column says which was used). Pure ridge-point sweeps pass ``profile=None``
    and stay the paper's roofline.
    """
    if latency == "roofline":
        return "bound"
    cal = calibration_of(profile)
    if cal is None or str(getattr(cal, "dtype", dtype)) != str(dtype):
        return "bound"
    return "calibrated"


def _params(cal: Any, op_type: str) -> tuple[float, float, float]:
    ops = getattr(cal, "op_types", None) or {}
    p = ops.get(op_type) if isinstance(ops, Mapping) else None
    if p is None:
        p = cal.fallback
    return float(p.compute_efficiency), float(p.memory_efficiency), float(p.overhead_s)


def parameter_arrays(cal: Any, op_types: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-row ``(e_c, e_m, overhead_s)`` arrays for a column of op types."""
    codes, uniques = _factorize(op_types)
    table = np.array([_params(cal, str(u)) for u in uniques], dtype=np.float64).reshape(-1, 3)
    rows = table[codes] if len(codes) else np.zeros((0, 3))
    return rows[:, 0], rows[:, 1], rows[:, 2]


def _factorize(values: Sequence[str]) -> tuple[np.ndarray, list[str]]:
    uniques: dict[str, int] = {}
    codes = np.fromiter((uniques.setdefault(str(v), len(uniques)) for v in values), dtype=np.int64,
                        count=len(values))
    return codes, list(uniques)


def calibrated_layer_times(
    op_types: Sequence[str],
    macs: np.ndarray,
    nbytes: np.ndarray,
    peak_macs_per_s: float,
    bandwidth_bytes_per_s: float,
    calibration: Any,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(compute_time_s, memory_time_s, time_s, compute_bound)`` per row under ``calibration``.

    ``compute_time_s = macs / (e_c * peak)``, ``memory_time_s = bytes / (e_m * bw)`` (0 with
    infinite bandwidth), ``time_s = max(both) + overhead_s``; a row is compute-bound when it does
    MACs and its compute term is the larger.
    """
    macs = np.asarray(macs, dtype=np.float64)
    nbytes = np.asarray(nbytes, dtype=np.float64)
    ec, em, oh = parameter_arrays(calibration, op_types)
    compute = macs / (ec * float(peak_macs_per_s))
    memory = nbytes / (em * float(bandwidth_bytes_per_s))
    time_s = np.maximum(compute, memory) + oh
    return compute, memory, time_s, (compute >= memory) & (macs > 0)


def predict_seconds(
    op_types: Sequence[str], macs: Sequence[float], nbytes: Sequence[float],
    peak_macs_per_s: float, bandwidth_bytes_per_s: float, calibration: Any,
) -> float:
    """Calibrated latency of one costed table (sum of its rows' times)."""
    _, _, t, _ = calibrated_layer_times(op_types, np.asarray(macs), np.asarray(nbytes),
                                        peak_macs_per_s, bandwidth_bytes_per_s, calibration)
    return float(t.sum())
