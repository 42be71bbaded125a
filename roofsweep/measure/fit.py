"""Fit the calibrated latency model to measured microbenchmarks (torch-free; needs scipy).

Model (``roofsweep.engine.calibrated``), per op type g::

    t_row = max(macs / (e_c[g] * peak), bytes / (e_m[g] * bw)) + overhead[g]
    t_sample = sum of its rows' t_row

A microbenchmark may have several LayerTable rows (an attention block has its projections), so
the fit is *joint*: one nonlinear least-squares problem over all op types at once, with

* residual = ``log(t_predicted) - log(t_measured)`` per microbenchmark - relative errors, so a
  1 ms conv and a 10 us add weigh the same, which is what "within +-10 %" asks for;
* robust loss ``soft_l1`` with ``f_scale = 0.1`` (scipy's ``least_squares``): residuals beyond
  ~10 % count linearly, so one sample disturbed by load from other processes cannot drag the fit;
* parameters in log space (all positive), bounded: e in [1e-4, 100], overhead in [1e-9, 1] s;
* an op type whose rows never do MACs (elementwise, pool) has e_c fixed at 1 (not identifiable);
* three starts (e = 0.5 / 0.15 / 1.0, overhead = 10 / 2 / 50 us), the lowest cost kept (the
  max() makes the problem non-convex).

``fallback`` = the same fit with every row in one group (for op types no microbenchmark had).
``scales``: one least-squares scale in log space (the geometric mean of measured / predicted
over the microbenchmarks) for the roofline bound and for MAC count, so their *errors* can be
stated on models the fit never saw.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from roofsweep.errors import MeasurementError, RoofsweepError

LOG_E_BOUNDS = (np.log(1e-4), np.log(100.0))
LOG_OH_BOUNDS = (np.log(1e-9), np.log(1.0))
STARTS = ((0.5, 1e-5), (0.15, 2e-6), (1.0, 5e-5))
F_SCALE = 0.1
FIT_METHOD = (
    "t = max(macs/(e_c*peak), bytes/(e_m*bandwidth)) + overhead per op type; joint robust "
    "(soft-L1, f_scale 0.1) least squares on log(predicted/measured) over the microbenchmarks"
)


class MissingExtraError(RoofsweepError):
    """An optional dependency is not installed."""


def _least_squares():
    try:
        from scipy.optimize import least_squares
    except ImportError:  # pragma: no cover - scipy ships with the extra
        raise MissingExtraError('calibration needs scipy: pip install "roofsweep[calibrate]"') from None
    return least_squares


@dataclass
class LatencyFit:
    """Result of ``fit_latency_model``. ``params``/``fallback``: op type -> dict of
    ``compute_efficiency``, ``memory_efficiency``, ``overhead_s``, ``samples``,
    ``median_abs_error``; ``samples``: one row per microbenchmark (label, op_type = the
    dominant op type, measured_s, predicted_s, error = predicted / measured - 1)."""

    params: dict[str, dict]
    fallback: dict
    samples: pd.DataFrame
    residuals: dict
    scales: dict
    cost: float = 0.0
    notes: list[str] = field(default_factory=list)


class _Problem:
    """The arrays of one fit: rows grouped by op type, summed per sample."""

    def __init__(self, rows: pd.DataFrame, groups: np.ndarray, measured: np.ndarray, peak: float, bw: float):
        self.macs = rows["macs"].to_numpy(dtype=float)
        self.bytes = rows["bytes"].to_numpy(dtype=float)
        self.sample = rows["sample"].to_numpy(dtype=np.int64)
        self.codes, self.names = pd.factorize(groups)
        self.n = len(measured)
        self.log_meas = np.log(measured)
        self.peak, self.bw = float(peak), float(bw)
        g = len(self.names)
        self.does_macs = np.array([bool(np.any(self.macs[self.codes == k] > 0)) for k in range(g)])
        # vector layout: [log e_c for groups doing MACs] + [log e_m per group] + [log overhead per group]
        self.n_ec = int(self.does_macs.sum())

    def unpack(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        g = len(self.names)
        ec = np.ones(g)
        ec[self.does_macs] = np.exp(x[: self.n_ec])
        em = np.exp(x[self.n_ec : self.n_ec + g])
        oh = np.exp(x[self.n_ec + g :])
        return ec, em, oh

    def predict(self, x: np.ndarray) -> np.ndarray:
        ec, em, oh = self.unpack(x)
        t = np.maximum(self.macs / (ec[self.codes] * self.peak), self.bytes / (em[self.codes] * self.bw))
        t += oh[self.codes]
        return np.bincount(self.sample, weights=t, minlength=self.n)

    def residual(self, x: np.ndarray) -> np.ndarray:
        return np.log(np.maximum(self.predict(x), 1e-30)) - self.log_meas

    def start(self, e: float, oh: float) -> np.ndarray:
        g = len(self.names)
        return np.concatenate([np.full(self.n_ec, np.log(e)), np.full(g, np.log(e)), np.full(g, np.log(oh))])

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        g = len(self.names)
        lo = np.concatenate([np.full(self.n_ec + g, LOG_E_BOUNDS[0]), np.full(g, LOG_OH_BOUNDS[0])])
        hi = np.concatenate([np.full(self.n_ec + g, LOG_E_BOUNDS[1]), np.full(g, LOG_OH_BOUNDS[1])])
        return lo, hi


def _solve(problem: _Problem) -> tuple[np.ndarray, float]:
    least_squares = _least_squares()
    lo, hi = problem.bounds()
    best = None
    for e, oh in STARTS:
        x0 = np.clip(problem.start(e, oh), lo + 1e-9, hi - 1e-9)
        res = least_squares(problem.residual, x0, bounds=(lo, hi), loss="soft_l1", f_scale=F_SCALE,
                            x_scale=1.0, max_nfev=4000)
        if best is None or res.cost < best.cost:
            best = res
    return best.x, float(best.cost)


def _validate_inputs(rows: pd.DataFrame, measured: np.ndarray, peak: float, bw: float) -> None:
    missing = {"sample", "op_type", "macs", "bytes"} - set(rows.columns)
    if missing:
        raise MeasurementError(f"calibration rows lack column(s): {', '.join(sorted(missing))}")
    if len(measured) < 3:
        raise MeasurementError(f"a calibration fit needs at least 3 microbenchmarks, got {len(measured)}")
    if not np.all(np.isfinite(measured)) or np.any(measured <= 0):
        raise MeasurementError("measured microbenchmark times must be finite and > 0 seconds")
    if not (np.isfinite(peak) and peak > 0 and np.isfinite(bw) and bw > 0):
        raise MeasurementError("calibration needs a finite peak MAC/s and bandwidth > 0")
    s = rows["sample"].to_numpy()
    if len(s) and (s.min() < 0 or s.max() >= len(measured)):
        raise MeasurementError("calibration rows name a sample with no measurement")


def relative_errors(predicted, measured) -> np.ndarray:
    p, m = np.asarray(predicted, dtype=float), np.asarray(measured, dtype=float)
    return p / m - 1.0


def fit_latency_model(rows: pd.DataFrame, measured_s, peak_macs_per_s: float, bandwidth_bytes_per_s: float,
                      labels=None) -> LatencyFit:
    """Fit per-op-type ``e_c``, ``e_m``, ``overhead`` (see the module docstring).

    ``rows``: costed LayerTable rows of every microbenchmark with a ``sample`` column (0..n-1,
    the microbenchmark a row belongs to); ``measured_s``: one time per microbenchmark.
    """
    measured = np.asarray(measured_s, dtype=float)
    peak, bw = float(peak_macs_per_s), float(bandwidth_bytes_per_s)
    _validate_inputs(rows, measured, peak, bw)
    rows = rows.reset_index(drop=True)
    ops = rows["op_type"].astype(str).to_numpy()
    per = _Problem(rows, ops, measured, peak, bw)
    x, cost = _solve(per)
    ec, em, oh = per.unpack(x)
    predicted = per.predict(x)
    pooled = _Problem(rows, np.full(len(rows), "all"), measured, peak, bw)
    xf, _ = _solve(pooled)
    fec, fem, foh = pooled.unpack(xf)

    err = relative_errors(predicted, measured)
    dominant = _dominant_op(rows, per, x, len(measured))
    samples = pd.DataFrame({
        "sample": np.arange(len(measured)),
        "label": list(labels) if labels is not None else [f"mb{i}" for i in range(len(measured))],
        "op_type": dominant, "measured_s": measured, "predicted_s": predicted, "error": err,
    })
    params = {}
    for k, name in enumerate(per.names):
        mine = samples["op_type"] == name
        params[str(name)] = {
            "compute_efficiency": float(ec[k]), "memory_efficiency": float(em[k]), "overhead_s": float(oh[k]),
            "samples": int(mine.sum()),
            "median_abs_error": float(np.median(np.abs(err[mine]))) if mine.any() else 0.0,
        }
    fallback = {"compute_efficiency": float(fec[0]), "memory_efficiency": float(fem[0]), "overhead_s": float(foh[0]),
                "samples": len(measured),
                "median_abs_error": float(np.median(np.abs(relative_errors(pooled.predict(xf), measured))))}
    return LatencyFit(params=params, fallback=fallback, samples=samples, residuals=residual_summary(err),
                      scales=_scales(rows, measured, peak, bw), cost=cost)


def _dominant_op(rows: pd.DataFrame, problem: _Problem, x: np.ndarray, n: int) -> list[str]:
    ec, em, oh = problem.unpack(x)
    t = np.maximum(problem.macs / (ec[problem.codes] * problem.peak), problem.bytes / (em[problem.codes] * problem.bw))
    t += oh[problem.codes]
    frame = pd.DataFrame({"sample": problem.sample, "op_type": rows["op_type"].astype(str), "t": t})
    best = frame.groupby(["sample", "op_type"])["t"].sum().reset_index()
    best = best.sort_values("t", ascending=False).drop_duplicates("sample").set_index("sample")["op_type"]
    return [str(best.get(i, "")) for i in range(n)]


def residual_summary(err) -> dict:
    """``samples``, ``median_abs_error``, ``max_abs_error``, ``within_10pct``, ``within_25pct``."""
    a = np.abs(np.asarray(err, dtype=float))
    if a.size == 0:
        return {"samples": 0, "median_abs_error": 0.0, "max_abs_error": 0.0, "within_10pct": 0.0, "within_25pct": 0.0}
    return {"samples": int(a.size), "median_abs_error": float(np.median(a)), "max_abs_error": float(a.max()),
            "within_10pct": float(np.mean(a <= 0.10)), "within_25pct": float(np.mean(a <= 0.25))}


def _scales(rows: pd.DataFrame, measured: np.ndarray, peak: float, bw: float) -> dict:
    macs = rows["macs"].to_numpy(dtype=float)
    nbytes = rows["bytes"].to_numpy(dtype=float)
    s = rows["sample"].to_numpy(dtype=np.int64)
    bound = np.bincount(s, weights=np.maximum(macs / peak, nbytes / bw), minlength=len(measured))
    total_macs = np.bincount(s, weights=macs, minlength=len(measured))
    ok = bound > 0
    has = total_macs > 0
    return {
        "roofline": float(np.exp(np.mean(np.log(measured[ok] / bound[ok])))) if ok.any() else 1.0,
        "macs_s_per_mac": float(np.exp(np.mean(np.log(measured[has] / total_macs[has])))) if has.any() else 1e-12,
    }
