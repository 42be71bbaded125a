"""How close each latency predictor comes to measured latency (torch-free).

Predictors (``PREDICTORS``), one predicted latency per model each:

* ``roofline``   - the plain roofline bound at the profile's peak and bandwidth, times one scale;
* ``fitted_rp``  - the paper's Table 16 method: the roofline at the ridge point that ranks the
                   validation models best, times the median measured / predicted there (both
                   fitted on the validation models themselves: in-sample, an optimistic figure);
* ``calibrated`` - the profile's calibrated latency model (``roofsweep.engine.calibrated``),
                   absolute seconds, fitted only on microbenchmarks;
* ``macs``       - MAC count times one seconds-per-MAC scale.

The bound and MAC count have no absolute scale of their own. Their scale is the one the
calibration fitted on the *microbenchmarks* (``calibration.scales``: the geometric mean of
measured / predicted, i.e. least squares on log error) - never the validation models. Without a
calibration the same estimator runs on the validation models (in-sample) and a note says so.

Metrics (``METRICS``; fractions, not percents): with ``e = predicted / measured - 1``,
``median_abs_error`` = median |e|, ``mape`` = mean |e|, ``within_10pct`` / ``within_25pct`` =
share of models with |e| <= 0.10 / 0.25, ``spearman`` = rank correlation, ``pearson_log`` =
Pearson r of log latencies (the last two are scale-free).
"""

from __future__ import annotations

import numpy as np

from roofsweep.measure.stats import pearson_log, spearman

PREDICTORS = ("roofline", "fitted_rp", "calibrated", "macs")
METRICS = ("median_abs_error", "mape", "within_10pct", "within_25pct", "spearman", "pearson_log")


def accuracy(predicted, measured) -> dict:
    """The ``METRICS`` of one predictor (see the module docstring); NaN correlations as None."""
    p = np.asarray(predicted, dtype=float)
    m = np.asarray(measured, dtype=float)
    e = np.abs(p / m - 1.0)
    rs = spearman(p, m)
    rl = pearson_log(p, m) if np.all(p > 0) else float("nan")
    return {
        "median_abs_error": float(np.median(e)),
        "mape": float(np.mean(e)),
        "within_10pct": float(np.mean(e <= 0.10)),
        "within_25pct": float(np.mean(e <= 0.25)),
        "spearman": None if np.isnan(rs) else float(rs),
        "pearson_log": None if np.isnan(rl) else float(rl),
    }


def log_scale(predicted, measured) -> float:
    """The least-squares scale in log space: ``exp(mean(log(measured / predicted)))``."""
    p = np.asarray(predicted, dtype=float)
    m = np.asarray(measured, dtype=float)
    ok = (p > 0) & (m > 0)
    return float(np.exp(np.mean(np.log(m[ok] / p[ok])))) if ok.any() else 1.0


def scaled_predictions(models, calibration, fit_rp_s) -> tuple[dict[str, np.ndarray], list[str]]:
    """Per predictor, the predicted seconds per model (``None`` for ``calibrated`` without one).

    ``models``: the validation's per-model frame (``predicted_s`` = bound, ``macs``,
    ``measured_s``, ``calibrated_s`` when calibrated); ``fit_rp_s``: the fitted-RP prediction.
    """
    measured = models["measured_s"].to_numpy(dtype=float)
    bound = models["predicted_s"].to_numpy(dtype=float)
    macs = models["macs"].to_numpy(dtype=float)
    notes = []
    if calibration is not None:
        s_roof, s_macs = float(calibration.scales.roofline), float(calibration.scales.macs_s_per_mac)
    else:
        s_roof, s_macs = log_scale(bound, measured), log_scale(macs, measured)
        notes.append("no calibration: the roofline's and MAC count's scales were fitted on these models (in-sample)")
    out = {
        "roofline": bound * s_roof,
        "fitted_rp": np.asarray(fit_rp_s, dtype=float),
        "calibrated": models["calibrated_s"].to_numpy(dtype=float) if "calibrated_s" in models.columns else None,
        "macs": macs * s_macs,
    }
    return out, notes


def predictor_summary(models, calibration, fit_rp_s, fitted_ridge_point: float) -> tuple[dict, list[str]]:
    """``{"roofline": {...}, "fitted_rp": {...}, "calibrated": {...} | None, "macs": {...},
    "fitted_ridge_point": RP}`` (see the module docstring) and notes."""
    preds, notes = scaled_predictions(models, calibration, fit_rp_s)
    measured = models["measured_s"].to_numpy(dtype=float)
    summary = {k: (None if v is None else accuracy(v, measured)) for k, v in preds.items()}
    summary["fitted_ridge_point"] = float(fitted_ridge_point)
    return summary, notes
