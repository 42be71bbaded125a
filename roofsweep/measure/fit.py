"""Fit the calibrated latency model to measured microbenchmarks (torch-free; needs scipy).

Model (``roofsweep.engine.calibrated``), per op type g::

    t_row = max(macs / (e_c[g] * peak), bytes / (e_m[g] * bw)) + overhead[g]
            + s_per_elem[g, a] * output_elems + overhead[g, a]   (rows of op type g running activation a)
    t_sample = sum of its rows' t_row + call_overhead * module_calls + run_overhead

A microbenchmark may have several LayerTable rows (an attention block has its projections), so
the fit is *joint*: one nonlinear least-squares problem over all op types at once, with

* residual = ``log(t_predicted) - log(t_measured)`` per microbenchmark - relative errors, so a
  1 ms conv and a 10 us add weigh the same, which is what "within +-10 %" asks for;
* robust loss ``soft_l1`` with ``f_scale = 0.1`` (scipy's ``least_squares``): residuals beyond
  ~10 % count linearly, so one sample disturbed by load from other processes cannot drag the fit;
* parameters in log space (all positive), bounded: e_c in [1e-3, 4], e_m in [1e-3, 50] (above
  1: the tensors stay in cache), overhead in [1e-9, 1] s, s_per_elem in [1e-14, 1e-6] s;
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

STARTS = ((0.5, 1e-5), (0.15, 2e-6), (1.0, 5e-5))
PAIR = ":"  # op type + PAIR + activation: the key of an activation's cost within one op type
F_SCALE = 0.1
FIT_METHOD = (
    "t = max(macs/(e_c*peak), bytes/(e_m*bandwidth)) + overhead per op type, + s_per_elem * "
    "output_elems + overhead per (op type, fused activation), + call_overhead per module call + run_overhead per "
    "forward; joint robust "
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
    dominant calibration group, measured_s, predicted_s, error = predicted / measured - 1)."""

    params: dict[str, dict]
    fallback: dict
    activations: dict[str, dict]
    fallback_activation: dict
    framework: dict               # call_overhead_s (per module call), run_overhead_s (per forward)
    samples: pd.DataFrame
    residuals: dict
    scales: dict
    cost: float = 0.0
    notes: list[str] = field(default_factory=list)


def _bounds(name: str) -> tuple[float, float]:
    return {"ec": (1e-3, 4.0), "em": (1e-3, 50.0), "oh": (1e-9, 1.0), "ae": (1e-14, 1e-6), "ao": (1e-9, 1e-2),
            "call": (1e-10, 1e-3), "run": (1e-10, 1e-2)}[name]


class _Problem:
    """The arrays of one fit: rows grouped by op type and by activation, summed per sample."""

    def __init__(self, rows: pd.DataFrame, groups: np.ndarray, acts: np.ndarray, measured: np.ndarray,
                 peak: float, bw: float, calls: np.ndarray | None = None):
        self.macs = rows["macs"].to_numpy(dtype=float)
        self.bytes = rows["bytes"].to_numpy(dtype=float)
        self.out = rows["output_elems"].to_numpy(dtype=float)
        self.sample = rows["sample"].to_numpy(dtype=np.int64)
        self.codes, self.names = pd.factorize(groups)
        has_act = acts != ""
        self.act_codes = np.full(len(rows), -1, dtype=np.int64)
        codes, self.act_names = pd.factorize(acts[has_act])
        self.act_codes[has_act] = codes
        self.n = len(measured)
        self.log_meas = np.log(measured)
        self.peak, self.bw = float(peak), float(bw)
        g = len(self.names)
        self.does_macs = np.array([bool(np.any(self.macs[self.codes == k] > 0)) for k in range(g)])
        # x = [log e_c (groups doing MACs)] [log e_m] [log overhead] [log k_0] per group,
        #     [log s/elem] [log overhead] per activation
        self.calls = None if calls is None else np.asarray(calls, dtype=float)
        self.sizes = {"ec": int(self.does_macs.sum()), "em": g, "oh": g, "ae": len(self.act_names),
                      "ao": len(self.act_names), "call": 0 if calls is None else 1, "run": 0 if calls is None else 1}

    def unpack(self, x: np.ndarray) -> dict[str, np.ndarray]:
        out, i = {}, 0
        for k, n in self.sizes.items():
            out[k] = np.exp(x[i:i + n])
            i += n
        ec = np.ones(len(self.names))
        ec[self.does_macs] = out["ec"]
        out["ec"] = ec
        return out

    def row_times(self, x: np.ndarray) -> np.ndarray:
        p = self.unpack(x)
        c = self.codes
        t = np.maximum(self.macs / (p["ec"][c] * self.peak), self.bytes / (p["em"][c] * self.bw)) + p["oh"][c]
        has = self.act_codes >= 0
        a = self.act_codes[has]
        t[has] += p["ae"][a] * self.out[has] + p["ao"][a]
        return t

    def predict(self, x: np.ndarray) -> np.ndarray:
        t = np.bincount(self.sample, weights=self.row_times(x), minlength=self.n)
        if self.calls is not None:
            p = self.unpack(x)
            t = t + p["call"][0] * self.calls + p["run"][0]
        return t

    def residual(self, x: np.ndarray) -> np.ndarray:
        return np.log(np.maximum(self.predict(x), 1e-30)) - self.log_meas

    def start(self, e: float, oh: float) -> np.ndarray:
        init = {"ec": e, "em": e, "oh": oh, "ae": 2e-10, "ao": oh / 5, "call": 2e-6, "run": oh / 2}
        return np.concatenate([np.full(n, np.log(init[k])) for k, n in self.sizes.items()])

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        lo = np.concatenate([np.full(n, np.log(_bounds(k)[0])) for k, n in self.sizes.items()])
        hi = np.concatenate([np.full(n, np.log(_bounds(k)[1])) for k, n in self.sizes.items()])
        return lo, hi


def activation_keys(rows: pd.DataFrame) -> np.ndarray:
    """Per row: the activation it runs (``roofsweep.engine.calibrated.activation_key``)."""
    from roofsweep.engine.calibrated import activation_keys as keys

    return keys(rows)


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
    missing = {"sample", "op_type", "macs", "bytes", "output_elems"} - set(rows.columns)
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
                      labels=None, calls=None) -> LatencyFit:
    """Fit per-op-type ``e_c``, ``e_m``, ``overhead`` (see the module docstring).

    ``rows``: costed LayerTable rows of every microbenchmark with a ``sample`` column (0..n-1,
    the microbenchmark a row belongs to); ``measured_s``: one time per microbenchmark;
    ``calls``: module calls per microbenchmark (``engine.calibrated.module_calls``) - with it the
    fit adds ``call_overhead_s`` per module call and ``run_overhead_s`` per forward.
    """
    measured = np.asarray(measured_s, dtype=float)
    peak, bw = float(peak_macs_per_s), float(bandwidth_bytes_per_s)
    _validate_inputs(rows, measured, peak, bw)
    rows = rows.reset_index(drop=True)
    from roofsweep.engine.calibrated import calibration_groups

    ops = calibration_groups(rows["op_type"].astype(str), rows["macs"], rows["output_elems"],
                             rows["aten_ops"].fillna("").astype(str) if "aten_ops" in rows.columns else None).astype(str)
    acts = activation_keys(rows)
    if calls is not None and len(calls) != len(measured):
        raise MeasurementError(f"{len(calls)} module-call counts for {len(measured)} microbenchmarks")
    # an activation's cost is fitted per op type it is fused into: ``dwconv2d:relu6``
    per = _Problem(rows, ops, np.where(acts != "", ops + PAIR + acts.astype(str), ""), measured, peak, bw, calls)
    x, cost = _solve(per)
    p = per.unpack(x)
    predicted = per.predict(x)
    pooled = _Problem(rows, np.full(len(rows), "all"), np.where(acts != "", "all", ""), measured, peak, bw, calls)
    xf, _ = _solve(pooled)
    pf = pooled.unpack(xf)

    err = relative_errors(predicted, measured)
    dominant = _dominant_op(ops, per, x, len(measured))
    samples = pd.DataFrame({
        "sample": np.arange(len(measured)),
        "label": list(labels) if labels is not None else [f"mb{i}" for i in range(len(measured))],
        "op_type": dominant, "measured_s": measured, "predicted_s": predicted, "error": err,
    })
    params = {}
    for k, name in enumerate(per.names):
        mine = samples["op_type"] == name
        params[str(name)] = {
            "compute_efficiency": float(p["ec"][k]), "memory_efficiency": float(p["em"][k]),
            "overhead_s": float(p["oh"][k]), "samples": int(mine.sum()),
            "median_abs_error": float(np.median(np.abs(err[mine]))) if mine.any() else 0.0,
        }
    activations: dict[str, dict] = {}
    for k, key in enumerate(per.act_names):
        op, _, act = str(key).partition(PAIR)
        entry = {"s_per_elem": float(p["ae"][k]), "overhead_s": float(p["ao"][k]),
                 "rows": int(np.sum(per.act_codes == k))}
        params[op].setdefault("activations", {})[act] = entry
        # for an op type the activation was never fused into: the op type it was seen with most
        if entry["rows"] > activations.get(act, {}).get("rows", -1):
            activations[act] = entry
    fallback = {"compute_efficiency": float(pf["ec"][0]), "memory_efficiency": float(pf["em"][0]),
                "overhead_s": float(pf["oh"][0]), "samples": len(measured),
                "median_abs_error": float(np.median(np.abs(relative_errors(pooled.predict(xf), measured))))}
    fallback_act = {"s_per_elem": float(pf["ae"][0]), "overhead_s": float(pf["ao"][0])} if len(pf["ae"]) else \
        {"s_per_elem": 0.0, "overhead_s": 0.0}
    framework = {"call_overhead_s": float(p["call"][0]) if calls is not None else 0.0,
                 "run_overhead_s": float(p["run"][0]) if calls is not None else 0.0}
    return LatencyFit(params=params, fallback=fallback, activations=activations, fallback_activation=fallback_act,
                      framework=framework,
                      samples=samples, residuals=residual_summary(err),
                      scales=_scales(rows, measured, peak, bw), cost=cost)


def _dominant_op(groups: np.ndarray, problem: _Problem, x: np.ndarray, n: int) -> list[str]:
    """Per microbenchmark: the calibration group (op type or ``SUBGROUPS`` key) of most of its
    predicted time - the group whose ``samples`` and ``median_abs_error`` it counts in."""
    t = problem.row_times(x)
    frame = pd.DataFrame({"sample": problem.sample, "op_type": groups, "t": t})
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
