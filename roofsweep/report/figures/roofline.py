"""The classic roofline chart: each layer at its intensity and attained MAC/s under the roofs."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from roofsweep.report.figures.style import (OP_LABELS, OUTSIDE_RIGHT, no_data, op_color, ordered_ops,
                                            plain_log_axis, positive_finite)
from roofsweep.report.figures.svg import tip_points
from roofsweep.units import fmt_intensity, fmt_rate, fmt_time


def plot_roofline(ax: Axes, per_layer_df: pd.DataFrame, peak_macs_per_s: float,
                  bandwidth_bytes_per_s: float, *, title: str | None = None, legend: bool = True,
                  where: str | None = None) -> Axes:
    """Classic roofline: attainable MAC/s vs operational intensity (MAC/byte), log-log.

    Roofs: memory slope ``bandwidth * intensity`` up to the ridge point, flat compute roof at the
    peak. Each layer is a point at (its intensity, macs / time_s), coloured by op type; layers with
    no MACs (memory-only) or no bytes have no place on a log axis and are counted in a note.
    Each point's hover text ends with ``where`` (the ridge point or device) when given.
    """
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("Operational intensity (MAC/byte)")
    ax.set_ylabel("Attainable performance (GMAC/s)")
    if title is None:
        title = "Roofline" + (f": {per_layer_df['model'].iloc[0]}" if len(per_layer_df) else "")
    ax.set_title(title)
    ax.grid(True, which="major", alpha=0.3)
    df = per_layer_df
    x = pd.to_numeric(df["intensity_macs_per_byte"], errors="coerce")
    with np.errstate(divide="ignore", invalid="ignore"):
        y = pd.to_numeric(df["macs"], errors="coerce") / pd.to_numeric(df["time_s"], errors="coerce")
    ok = positive_finite(x) & positive_finite(y)
    pts = df[ok].assign(_x=x[ok], _y=y[ok] / 1e9)
    hidden = int((~ok).sum())

    peak_ok = peak_macs_per_s is not None and math.isfinite(peak_macs_per_s) and peak_macs_per_s > 0
    bw_ok = bandwidth_bytes_per_s is not None and math.isfinite(bandwidth_bytes_per_s) and bandwidth_bytes_per_s > 0
    ridge = peak_macs_per_s / bandwidth_bytes_per_s if peak_ok and bw_ok else None
    xs = list(pts["_x"]) + ([ridge] if ridge else [])
    x_lo = min(xs) / 3 if xs else 0.1
    x_hi = max(xs) * 3 if xs else 1000.0
    if peak_ok:
        draw_roofs(ax, peak_macs_per_s, bandwidth_bytes_per_s if bw_ok else None, x_lo, x_hi)
    for op in ordered_ops(pts["op_type"]):
        g = pts[pts["op_type"] == op]
        sc = ax.scatter(g["_x"], g["_y"], s=22, color=op_color(op), edgecolors="white", linewidths=0.4,
                        label=OP_LABELS.get(op, op), zorder=3)
        at = f", at {where}" if where else ""
        tip_points(sc, [f"#{i} {name} ({op}): {fmt_intensity(x)}, {fmt_rate(y * 1e9)}, {fmt_time(t)}{at}"
                        for i, name, x, y, t in zip(g["index"], g["name"], g["_x"], g["_y"], g["time_s"])])
    plain_log_axis(ax.xaxis)
    plain_log_axis(ax.yaxis)
    ax.set_xlim(x_lo, x_hi)
    if hidden:
        ax.text(0.99, 0.02, f"{hidden} layer(s) with no MACs or no bytes not shown", transform=ax.transAxes,
                ha="right", va="bottom", fontsize=7, color="0.4")
    if pts.empty and not peak_ok:
        no_data(ax)
    if legend:
        ax.legend(**OUTSIDE_RIGHT)
    return ax


def draw_roofs(ax: Axes, peak_macs_per_s: float, bandwidth_bytes_per_s: float | None, x_lo: float,
               x_hi: float) -> Axes:
    """The roofs between intensities ``x_lo`` and ``x_hi``: flat at the peak, and the memory
    slope ``bandwidth * intensity`` up to the ridge point (when a bandwidth is given), with
    the peak and ridge labelled above the roof, never outside the axes."""
    ridge = peak_macs_per_s / bandwidth_bytes_per_s if bandwidth_bytes_per_s else None
    grid = np.geomspace(x_lo, x_hi, 256)
    roof = np.full_like(grid, peak_macs_per_s)
    if bandwidth_bytes_per_s:
        roof = np.minimum(roof, bandwidth_bytes_per_s * grid)
    ax.plot(grid, roof / 1e9, color="black", lw=2, label="roof", zorder=2)
    # labels above the roof (the points are all on or below it), beside the ridge; to its
    # left when the ridge sits in the right part of the axes, so they never leave the axes
    at = ridge or x_lo
    right = math.log(at / x_lo) / math.log(x_hi / x_lo) > 0.55
    dx, ha = (-4, "right") if right else (4, "left")
    if ridge:
        ax.axvline(ridge, color="0.4", ls=":", lw=1)
        ax.annotate(f"ridge {fmt_intensity(ridge)}", xy=(ridge, peak_macs_per_s / 1e9), xytext=(dx, 4),
                    textcoords="offset points", ha=ha, fontsize=8, color="0.25")
    ax.annotate(f"peak {fmt_rate(peak_macs_per_s)}", xy=(at, peak_macs_per_s / 1e9), xytext=(dx, 15 if ridge else 4),
                textcoords="offset points", ha=ha, fontsize=8, color="0.25")
    ax.set_ylim(top=peak_macs_per_s / 1e9 * 5)
    return ax


def figure_rooflines(per_layer_df: pd.DataFrame, points: Sequence[str], title: str | None = None) -> Figure | None:
    """Small multiples: the classic roofline of one model's per-layer rows on each point (in
    ``points`` order), four panels a row, one shared legend. None when there are no points."""
    if not points:
        return None
    ncols = min(4, len(points))
    nrows = math.ceil(len(points) / ncols)
    fig = Figure(figsize=(4.4 * ncols + 1.8, 3.4 * nrows + 0.6), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for k, point in enumerate(points):
        df = per_layer_df[per_layer_df["point"] == point]
        ax = axes[k // ncols, k % ncols]
        peak = float(df["peak_macs_per_s"].iloc[0]) if len(df) else math.nan
        bw = float(df["bandwidth_bytes_per_s"].iloc[0]) if len(df) else math.nan
        plot_roofline(ax, df, peak, bw, title=str(point), legend=False, where=str(point))
        ax.title.set_fontsize("medium")
    for k in range(len(points), nrows * ncols):
        axes[k // ncols, k % ncols].set_visible(False)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, loc="outside right upper", fontsize="small")
    if title:
        fig.suptitle(title)
    return fig


__all__ = ["plot_roofline", "figure_rooflines", "draw_roofs"]
