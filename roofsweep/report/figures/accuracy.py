"""Paper Fig. 2: ImageNet top-1 against roofline latency, one panel per ridge point or profile."""

from __future__ import annotations

import math
from collections.abc import Sequence

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from roofsweep.report.figures.labels import label_points
from roofsweep.report.figures.style import (OUTSIDE_RIGHT, family_colors, family_order, model_label, no_data,
                                            plain_log_axis, point_meta, point_title, positive_finite)
from roofsweep.report.figures.svg import tip_points
from roofsweep.units import fmt_time

PAPER_YLIM = (64.0, 84.0)  # the paper's Fig. 2 accuracy axis
LEGEND_TITLE = "Model Family"


def _frontier_handle() -> Line2D:
    return Line2D([], [], ls="--", color="black", marker="o", mfc="none", label="Pareto frontier")


def family_handles(families) -> list[Line2D]:
    """Legend entries, one per family, V4 first down to V1 as in the paper."""
    order = family_order(families)
    colors = family_colors(order)
    return [Line2D([], [], color=colors[f], marker="o", label=str(f)) for f in order]


def plot_accuracy_vs_latency(ax: Axes, sweep_df: pd.DataFrame, point: str, *, legend: bool = True,
                             annotate: bool = True, ylim: tuple[float, float] | None = PAPER_YLIM) -> Axes:
    """Paper Fig. 2: ImageNet top-1 vs roofline latency (ms, log x) at one point (RP or profile).

    One colour and line per family; every model labelled where its label fits (always in its
    hover text); the Pareto frontier (``on_frontier``) drawn as a dashed black step line through
    ringed markers. ``ylim``: the paper's 64-84 % when every accuracy fits in it, else automatic.
    Models without a top-1 or with a latency a log axis cannot show are left out.
    """
    rp, hw = point_meta(sweep_df, point)
    ax.set_title(point_title(point, rp, hw) if rp is not None else point)
    ax.set_xscale("log")
    plain_log_axis(ax.xaxis)
    ax.set_xlabel("Roofline latency (ms)")
    ax.set_ylabel("ImageNet-1k top-1 (%)")
    ax.grid(True, which="major", alpha=0.3)
    rows = sweep_df[(sweep_df["point"] == point)]
    rows = rows[positive_finite(rows["latency_s"]) & pd.to_numeric(rows["top1"], errors="coerce").notna()]
    if rows.empty:
        no_data(ax, "no models with a top-1 and a latency")
        return ax
    rows = rows.assign(latency_ms=rows["latency_s"] * 1e3)
    families = list(dict.fromkeys(rows["family"]))
    colors = family_colors(families)
    for fam in families:
        g = rows[rows["family"] == fam].sort_values("latency_ms")
        ax.plot(g["latency_ms"], g["top1"], "-", color=colors[fam], lw=1.5, alpha=0.8, zorder=2)
        sc = ax.scatter(g["latency_ms"], g["top1"], s=36, color=colors[fam], zorder=3, label=str(fam))
        tip_points(sc, [f"{model_label(r)} ({fam}): top-1 {r['top1']:.1f}%, latency {fmt_time(r['latency_s'])}"
                        + (", on the Pareto frontier" if bool(r.get("on_frontier", False)) else "")
                        + f", at {ax.get_title()}" for _, r in g.iterrows()])
    has_frontier = "on_frontier" in rows
    if has_frontier:
        fr = rows[rows["on_frontier"].astype(bool)].sort_values("latency_ms")
        if not fr.empty:
            ax.step(fr["latency_ms"], fr["top1"], where="post", ls="--", color="black", lw=1.0, zorder=1)
            ax.scatter(fr["latency_ms"], fr["top1"], s=121, facecolors="none", edgecolors="black", linewidths=1.2,
                       zorder=5)
    ax.margins(x=0.12, y=0.08)
    top1 = rows["top1"].astype(float)
    if ylim is not None and ylim[0] <= top1.min() and top1.max() <= ylim[1]:
        ax.set_ylim(*ylim)
    if annotate:
        label_points(ax, rows["latency_ms"].to_numpy(float), rows["top1"].to_numpy(float),
                     [model_label(r) for _, r in rows.iterrows()], [colors[f] for f in rows["family"]])
    if legend:
        handles = family_handles(families) + ([_frontier_handle()] if has_frontier else [])
        ax.legend(handles=handles, title=LEGEND_TITLE, title_fontsize="small", **OUTSIDE_RIGHT)
    return ax


def points_by_rp(sweep_df: pd.DataFrame) -> list[str]:
    pts = sweep_df.drop_duplicates("point")[["point", "ridge_point"]]
    return list(pts.sort_values("ridge_point", kind="stable")["point"])


def figure_accuracy_vs_latency(sweep_df: pd.DataFrame, points: Sequence[str] | None = None, *,
                               ncols: int | None = None, panel_size=(4.0, 3.6),
                               ylim: tuple[float, float] | None = PAPER_YLIM) -> Figure:
    """One Fig. 2 panel per point (default: every point, by ridge point), one shared legend.

    As in the paper, the panels stand in one row (up to four; more wrap into further rows of
    four); ``ncols=2`` gives a 2x2 grid instead."""
    points = list(points_by_rp(sweep_df) if points is None else points)
    n = max(1, len(points))
    ncols = max(1, min(ncols or 4, n))
    nrows = math.ceil(n / ncols)
    fig = Figure(figsize=(panel_size[0] * ncols + 1.9, panel_size[1] * nrows + 0.5), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for ax, point in zip(axes.flat, points):
        plot_accuracy_vs_latency(ax, sweep_df, point, legend=False, ylim=ylim)
    for k, ax in enumerate(axes.flat):
        if k >= len(points) and points:
            ax.set_visible(False)
        elif k % ncols:
            ax.set_ylabel("")
    if not points:
        no_data(axes.flat[0])
    fig.suptitle("Roofline latency vs accuracy")
    fams = sweep_df.loc[pd.to_numeric(sweep_df["top1"], errors="coerce").notna(), "family"]
    handles = family_handles(fams) + ([_frontier_handle()] if "on_frontier" in sweep_df else [])
    if handles:
        fig.legend(handles=handles, loc="outside right upper", fontsize="small", title=LEGEND_TITLE,
                   title_fontsize="small")
    return fig


__all__ = ["plot_accuracy_vs_latency", "figure_accuracy_vs_latency", "points_by_rp", "PAPER_YLIM"]
