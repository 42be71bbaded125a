"""Roofline-predicted against measured latency (the validate report)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from roofsweep.report.figures.labels import label_points
from roofsweep.report.figures.style import no_data, plain_log_axis, positive_finite


def plot_predicted_vs_measured(ax: Axes, models_df: pd.DataFrame, *, legend: bool = True,
                               predicted: str = "predicted_s", bands: Sequence[float] = ()) -> Axes:
    """Predicted (column ``predicted``: the roofline's ``predicted_s`` or ``calibrated_s``) vs
    measured latency (ms, log-log), one labelled point per model, with the line measured =
    predicted, the line through the median ratio and, for each fraction in ``bands`` (e.g.
    0.10, 0.25), the shaded region where the prediction is within that error."""
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_title("Predicted vs measured latency")
    ax.set_xlabel(("Calibrated" if predicted == "calibrated_s" else "Roofline-predicted") + " latency (ms)")
    ax.set_ylabel("Measured latency (ms)")
    ax.grid(True, which="major", alpha=0.3)
    df = models_df[positive_finite(models_df[predicted]) & positive_finite(models_df["measured_s"])]
    if df.empty:
        no_data(ax)
        return ax
    x = df[predicted].to_numpy(dtype=float) * 1e3
    y = df["measured_s"].to_numpy(dtype=float) * 1e3
    ax.scatter(x, y, s=28, color="#d62728", zorder=3, label="model")
    lo, hi = min(x.min(), y.min()) / 1.5, max(x.max(), y.max()) * 1.5
    grid = np.geomspace(lo, hi, 2)
    for band, alpha in zip(sorted(bands, reverse=True), (0.10, 0.18, 0.26)):
        # |predicted / measured - 1| <= band  <=>  predicted / (1 + band) <= measured <= predicted / (1 - band)
        ax.fill_between(grid, grid / (1 + band), grid / (1 - band), color="#1f77b4", alpha=alpha, lw=0,
                        label=f"within +-{band:.0%}")
    ax.plot(grid, grid, color="0.4", ls="--", lw=1, label="measured = predicted")
    scale = float(np.median(y / x))
    ax.plot(grid, grid * scale, color="black", lw=1, label=f"measured = {scale:.2g} x predicted")
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)
    plain_log_axis(ax.xaxis)
    plain_log_axis(ax.yaxis)
    label_points(ax, x, y, [str(m) for m in df["model"]], ["black"] * len(df), marker_radius_pt=4.0)
    if legend:
        ax.legend(loc="upper left", fontsize="small")
    return ax


__all__ = ["plot_predicted_vs_measured"]
