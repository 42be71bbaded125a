"""Paper Fig. 3: per-layer roofline latency against layer index, one dot per layer by op type.

Dots, as the paper draws them (bars hide a low depthwise layer behind a tall conv one and merge
neighbours of equal height). One image per point, holding up to ``MAX_PANELS`` models side by
side with the y axis shared; ``layer_latency_figures`` makes as many images as needed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from roofsweep.report.figures.style import OP_LABELS, OUTSIDE_RIGHT, no_data, op_color, ordered_ops
from roofsweep.report.figures.svg import tip_points
from roofsweep.units import fmt_macs, fmt_time

MAX_PANELS = 4
PAPER_OPS = ("conv2d", "dwconv2d", "fc")  # what the paper's Fig. 3 draws
Y_LABEL = "Latency per layer (\u00b5s)"


def op_handles(ops) -> list[Line2D]:
    return [Line2D([], [], ls="", marker="o", color=op_color(o), label=OP_LABELS.get(o, o)) for o in ordered_ops(ops)]


def plot_layer_latency(ax: Axes, per_layer_df: pd.DataFrame, *, op_types: Sequence[str] | None = None,
                       title: str | None = None, legend: bool = True) -> Axes:
    """Paper Fig. 3 panel: per-layer roofline latency (us) against layer index, a dot per layer
    coloured by op type (one scatter per op type, a hover text per dot).

    ``op_types`` limits the layers drawn (the paper draws ``PAPER_OPS``); default: all, so
    attention, matmul and elementwise rows show in their own colours. As in the paper, the x axis
    counts only the layers drawn, consecutively from 0, so rows left out leave no gaps; the
    LayerTable's own index is kept in each dot's hover text.
    """
    df = per_layer_df
    if op_types is not None:
        df = df[df["op_type"].isin(op_types)]
    if title is None and not per_layer_df.empty:
        title = str(per_layer_df["model"].iloc[0])
    ax.set_title(title or "")
    ax.set_xlabel("Layer index")
    ax.set_ylabel(Y_LABEL)
    ax.grid(True, axis="y", alpha=0.3)
    t = pd.to_numeric(df["time_s"], errors="coerce")
    df = df[np.isfinite(t) & (t >= 0)]
    if df.empty:
        no_data(ax)
        return ax
    df = df.sort_values("index", kind="stable").assign(_x=np.arange(len(df)), _us=lambda d: d["time_s"] * 1e6)
    for op in ordered_ops(df["op_type"]):
        g = df[df["op_type"] == op]
        sc = ax.scatter(g["_x"], g["_us"], s=14, color=op_color(op), label=OP_LABELS.get(op, op), zorder=3,
                        edgecolors="none")
        tip_points(sc, [f"layer {r['_x']} (#{r['index']} in the layer table) {r['name']} ({op}): "
                        f"{fmt_time(r['time_s'])}" + (f", {r['bound']}-bound" if "bound" in r else "")
                        + f", {fmt_macs(r['macs'])}" for _, r in g.iterrows()])
    ax.set_xlim(-1, len(df))
    ax.set_ylim(bottom=0)
    if legend:
        ax.legend(handles=op_handles(df["op_type"]), **OUTSIDE_RIGHT)
    return ax


def figure_layer_latency(per_layer: Mapping[tuple[str, str], pd.DataFrame], point: str,
                         models: Sequence[str] | None = None, *, op_types: Sequence[str] | None = None,
                         titles: Mapping[str, str] | None = None, row_title: str | None = None,
                         panel_size=(4.2, 3.0)) -> Figure:
    """One row of Fig. 3: ``point``'s per-layer latency of up to four ``models`` side by side,
    y shared. ``per_layer`` is keyed by ``(model, point)``; ``titles`` maps a model to its panel
    title (e.g. display names); ``row_title`` names the point (default: ``point``) and is
    printed with the unit above the row."""
    models = list(models) if models is not None else list(dict.fromkeys(m for m, p in per_layer if p == point))
    if len(models) > MAX_PANELS:
        raise ValueError(f"figure_layer_latency draws at most {MAX_PANELS} panels; use layer_latency_figures")
    ncols = max(1, len(models))
    fig = Figure(figsize=(panel_size[0] * ncols + 1.5, panel_size[1] + 0.5), layout="constrained")
    axes = fig.subplots(1, ncols, squeeze=False, sharey=True)[0]
    ops_seen: list[str] = []
    for j, model in enumerate(models):
        ax, df = axes[j], per_layer.get((model, point))
        name = (titles or {}).get(model, model)
        if df is None:
            ax.set_title(name, fontsize="medium")
            no_data(ax, "not computed")
            continue
        plot_layer_latency(ax, df, op_types=op_types, title=name, legend=False)
        ax.title.set_fontsize("medium")
        ops_seen += list(df["op_type"] if op_types is None else df.loc[df["op_type"].isin(op_types), "op_type"])
        if j:
            ax.set_ylabel("")
    fig.suptitle(f"{row_title or point}: latency per layer (\u00b5s)")
    if ops_seen:
        fig.legend(handles=op_handles(ops_seen), loc="outside right upper", fontsize="small")
    return fig


def layer_latency_figures(per_layer: Mapping[tuple[str, str], pd.DataFrame], *,
                          points: Sequence[str] | None = None, models: Sequence[str] | None = None,
                          op_types: Sequence[str] | None = None, titles: Mapping[str, str] | None = None,
                          point_titles: Mapping[str, str] | None = None) -> list[Figure]:
    """Fig. 3 for every point (rows follow first appearance unless ``points`` orders them), as
    images of at most four panels: one per point and group of four models."""
    models = list(models) if models is not None else list(dict.fromkeys(m for m, _ in per_layer))
    points = list(points) if points is not None else list(dict.fromkeys(p for _, p in per_layer))
    out = []
    for point in points:
        for k in range(0, max(1, len(models)), MAX_PANELS):
            out.append(figure_layer_latency(per_layer, point, models[k:k + MAX_PANELS], op_types=op_types,
                                            titles=titles, row_title=(point_titles or {}).get(point)))
    return out


__all__ = ["plot_layer_latency", "figure_layer_latency", "layer_latency_figures", "MAX_PANELS", "PAPER_OPS"]
