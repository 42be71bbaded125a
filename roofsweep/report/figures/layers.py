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
                       title: str | None = None, legend: bool = True, where: str | None = None) -> Axes:
    """Paper Fig. 3 panel: per-layer roofline latency (us) against layer index, a dot per layer
    coloured by op type (one scatter per op type, a hover text per dot).

    ``op_types`` limits the layers drawn (the paper draws ``PAPER_OPS``); default: all, so
    attention, matmul and elementwise rows show in their own colours. As in the paper, the x axis
    counts only the layers drawn, consecutively from 0, so rows left out leave no gaps; the
    LayerTable's own index is kept in each dot's hover text, which ends with ``where`` (the
    ridge point or device) when given.
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
        bounds = g["bound"] if "bound" in g else [None] * len(g)
        at = f", at {where}" if where else ""
        tip_points(sc, [f"layer {x} (#{i} in the layer table) {name} ({op}): {fmt_time(t)}"
                        + (f", {b}-bound" if b is not None else "") + f", {fmt_macs(m)}{at}"
                        for x, i, name, t, b, m in zip(g["_x"], g["index"], g["name"], g["time_s"], bounds, g["macs"])])
    ax.set_xlim(-1, len(df))
    ax.set_ylim(bottom=0)
    if legend:
        ax.legend(handles=op_handles(df["op_type"]), **OUTSIDE_RIGHT)
    return ax


def figure_layer_latency(per_layer: Mapping[tuple[str, str], pd.DataFrame], point: str | Sequence[str],
                         models: Sequence[str] | None = None, *, op_types: Sequence[str] | None = None,
                         titles: Mapping[str, str] | None = None, row_title: str | Mapping[str, str] | None = None,
                         panel_size=(4.2, 3.0)) -> Figure:
    """Fig. 3 panels, at most four: one row per point (``point``: one or several), one column per
    model, y shared along each row. ``per_layer`` is keyed by ``(model, point)``; ``titles`` maps
    a model to its column title (e.g. display names); ``row_title`` names the point(s) (default:
    the point) and is printed with the unit above its row - as the figure title for one row."""
    points = [point] if isinstance(point, str) else list(point)
    models = list(models) if models is not None else list(dict.fromkeys(m for m, p in per_layer if p in points))
    nrows, ncols = max(1, len(points)), max(1, len(models))
    if nrows * ncols > MAX_PANELS:
        raise ValueError(f"figure_layer_latency draws at most {MAX_PANELS} panels; use layer_latency_figures")
    names = row_title if isinstance(row_title, Mapping) else {points[0]: row_title} if row_title else {}
    fig = Figure(figsize=(panel_size[0] * ncols + 1.5, (panel_size[1] + 0.35) * nrows + 0.2), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False, sharey="row")
    ops_seen: list[str] = []
    for i, pt in enumerate(points):
        row = f"{names.get(pt) or pt}\nLatency per layer (\u00b5s)"  # the row's title, with the unit
        for j, model in enumerate(models):
            ax, df = axes[i, j], per_layer.get((model, pt))
            name = (titles or {}).get(model, model)
            if df is None:
                ax.set_title(name, fontsize="medium")
                no_data(ax, "not computed")
            else:
                plot_layer_latency(ax, df, op_types=op_types, title=name, legend=False, where=names.get(pt) or pt)
                ax.title.set_fontsize("medium")
                ops_seen += list(df["op_type"] if op_types is None else df.loc[df["op_type"].isin(op_types), "op_type"])
            ax.set_ylabel("" if j else row if nrows > 1 else Y_LABEL)
            if i != nrows - 1:
                ax.set_xlabel("")
    fig.suptitle(f"{names.get(points[0]) or points[0]}: latency per layer (\u00b5s)" if nrows == 1
                 else "Per-layer roofline latency by op type")
    if ops_seen:
        fig.legend(handles=op_handles(ops_seen), loc="outside right upper", fontsize="small")
    return fig


def layer_latency_figures(per_layer: Mapping[tuple[str, str], pd.DataFrame], *,
                          points: Sequence[str] | None = None, models: Sequence[str] | None = None,
                          op_types: Sequence[str] | None = None, titles: Mapping[str, str] | None = None,
                          point_titles: Mapping[str, str] | None = None) -> list[Figure]:
    """Fig. 3 for every point (rows follow first appearance unless ``points`` orders them) and
    model, as images of at most four panels: one or two models put several points in one image
    (rows), three or four give one image per point (a row of the paper's figure), more give one
    image per point and group of four models."""
    models = list(models) if models is not None else list(dict.fromkeys(m for m, _ in per_layer))
    points = list(points) if points is not None else list(dict.fromkeys(p for _, p in per_layer))
    out: list[Figure] = []
    if not points or not models:
        return out  # nothing traced (a model with no layers): no per-layer figure
    rows_per_image = max(1, MAX_PANELS // max(1, len(models)))
    for r in range(0, max(1, len(points)), rows_per_image):
        for k in range(0, max(1, len(models)), MAX_PANELS):
            out.append(figure_layer_latency(per_layer, points[r:r + rows_per_image], models[k:k + MAX_PANELS],
                                            op_types=op_types, titles=titles, row_title=dict(point_titles or {})))
    return out


__all__ = ["plot_layer_latency", "figure_layer_latency", "layer_latency_figures", "MAX_PANELS", "PAPER_OPS"]
