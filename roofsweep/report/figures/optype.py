"""Latency by op type: stacked bars per (model, point), or small multiples per point."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from roofsweep.report.figures.style import (OP_LABELS, OUTSIDE_RIGHT, hide_unused, new_figure, no_data, op_color,
                                            ordered_ops)
from roofsweep.report.figures.svg import tip


def plot_time_by_op_type(ax: Axes, per_layer_frames: Mapping[tuple[str, str], pd.DataFrame], *,
                         share: bool = False, labels: Mapping[str, str] | None = None,
                         legend: bool = True) -> Axes:
    """Stacked bars: the time each op type takes, one bar per ``(model, point)`` key.

    ``share=True`` plots each bar as percent of its total instead of milliseconds.
    """
    keys = list(per_layer_frames)
    ax.set_title("Latency by op type" + (" (share)" if share else ""))
    ax.set_ylabel("Share of latency (%)" if share else "Roofline latency (ms)")
    if not keys:
        no_data(ax)
        return ax
    totals = {}
    for k in keys:
        df = per_layer_frames[k]
        t = pd.to_numeric(df["time_s"], errors="coerce")
        t = t.where(np.isfinite(t), np.nan)
        totals[k] = t.groupby(df["op_type"]).sum(min_count=1).fillna(0.0)
    table = pd.DataFrame(totals).fillna(0.0)  # rows op_type, columns keys
    table = table.loc[ordered_ops(table.index)]
    if share:
        col_sum = table.sum(axis=0).replace(0, np.nan)
        table = (table / col_sum * 100).fillna(0.0)
    else:
        table = table * 1e3
    x = np.arange(len(keys))
    bottom = np.zeros(len(keys))
    for op, vals in table.iterrows():
        bars = ax.bar(x, vals.to_numpy(), bottom=bottom, width=0.7, color=op_color(op), label=OP_LABELS.get(op, op))
        for rect, k, v in zip(bars, keys, vals):
            tip(rect, f"{k[0]} | {k[1]}: {op} {v:.3g} {'%' if share else 'ms'}")
        bottom += vals.to_numpy()
    many = len(keys) > 4
    if len({m for m, _ in keys}) == 1:  # one model: the bars differ only by point
        names = [p for _, p in keys]
        ax.set_xlabel(str((labels or {}).get(keys[0][0], keys[0][0])))
    elif len({p for _, p in keys}) == 1:  # one point (a panel of figure_time_by_op_type): models
        names = [str((labels or {}).get(m, m)) for m, _ in keys]
        many = many or sum(len(n) for n in names) > 36
    else:
        names = [f"{(labels or {}).get(m, m)}{' | ' if many else chr(10)}{p}" for m, p in keys]
    ax.set_xticks(x, names, rotation=45 if many else 0, ha="right" if many else "center",
                  rotation_mode="anchor", fontsize="small")
    ax.grid(True, axis="y", alpha=0.3)
    ax.set_axisbelow(True)
    if legend:
        ax.legend(**OUTSIDE_RIGHT)
    return ax


def figure_time_by_op_type(per_layer_frames: Mapping[tuple[str, str], pd.DataFrame], *, share: bool = True,
                           labels: Mapping[str, str] | None = None, points: Sequence[str] | None = None,
                           titles: Mapping[str, str] | None = None) -> Figure:
    """Time by op type for every ``(model, point)`` key, readable at any count.

    One model or one point: a single panel (bars side by side). Several of both: one small panel
    per point (in ``points`` order, default first appearance; ``titles`` maps a point to its
    panel title), one bar per model, one shared legend - a single row of models x points bars
    would be unreadably wide.
    """
    keys = list(per_layer_frames)
    models = list(dict.fromkeys(m for m, _ in keys))
    pts = list(points) if points is not None else list(dict.fromkeys(p for _, p in keys))
    if len(models) <= 1 or len(pts) <= 1:
        fig, ax = new_figure((max(7.5, 0.45 * len(keys) + 3), 4.8))
        plot_time_by_op_type(ax, per_layer_frames, share=share, labels=labels)
        return fig
    ncols = min(4, len(pts))
    nrows = math.ceil(len(pts) / ncols)
    panel_w = max(3.0, 0.42 * len(models) + 1.4)
    fig = Figure(figsize=(panel_w * ncols + 1.6, 3.6 * nrows + 0.5), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False, sharey=True)
    ops_seen: list[str] = []
    for k, point in enumerate(pts):
        ax = axes.flat[k]
        frames = {(m, point): per_layer_frames[(m, point)] for m in models if (m, point) in per_layer_frames}
        plot_time_by_op_type(ax, frames, share=share, labels=labels, legend=False)
        ax.set_title((titles or {}).get(point, point), fontsize="medium")
        if k % ncols:
            ax.set_ylabel("")
        ops_seen += [o for df in frames.values() for o in df["op_type"]]
    hide_unused(axes, len(pts))
    fig.suptitle("Latency by op type" + (" (share)" if share else ""))
    handles = [Patch(color=op_color(o), label=OP_LABELS.get(o, o)) for o in ordered_ops(ops_seen)]
    if handles:
        fig.legend(handles=handles, loc="outside right upper", fontsize="small")
    return fig


__all__ = ["plot_time_by_op_type", "figure_time_by_op_type"]
