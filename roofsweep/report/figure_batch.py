"""Latency and throughput versus batch size, per profile (or ridge point), from a ``sweep_axes``
table (``roofsweep.engine.axes``). Matplotlib only; nothing is shown or saved here."""

from __future__ import annotations

import pandas as pd

from roofsweep.errors import ConfigError

METRICS = {"latency_s": ("latency (ms)", 1e3), "samples_per_s": ("throughput (samples/s)", 1.0)}


def plot_batch(ax, rows: pd.DataFrame, point: str, metric: str = "latency_s") -> None:
    """On ``ax``: ``metric`` against batch at one ``point`` (profile name or ``RP x``), one line
    per (model, resolution, dtype), log-log; the compute-bound batch of each line is marked
    with a dotted vertical line when it lies inside the plotted range."""
    if metric not in METRICS:
        raise ConfigError(f"metric must be one of {', '.join(METRICS)}; got {metric!r}")
    sub = rows[rows["point"] == point]
    if sub.empty:
        raise ConfigError(f"no rows at point {point!r}; points: {', '.join(pd.unique(rows['point']))}")
    label, scale = METRICS[metric]
    keys = ["model", "resolution", "dtype"]
    multi_res = sub["resolution"].nunique() > 1
    for key, g in sub.groupby(keys, sort=False):
        g = g.sort_values("batch")
        name = f"{key[0]}{f' @{key[1]}' if multi_res else ''} {key[2]}"
        (line,) = ax.plot(g["batch"], g[metric] * scale, marker="o", label=name)
        cbb = g["compute_bound_batch"].iloc[0]
        if pd.notna(cbb) and g["batch"].min() <= cbb <= g["batch"].max():
            ax.axvline(cbb, color=line.get_color(), linestyle=":", linewidth=1)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("batch")
    ax.set_ylabel(label)
    ax.set_title(point)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize="small")


def batch_figure(rows: pd.DataFrame, points: list[str] | None = None):
    """A figure of one row per point: latency vs batch (left), throughput vs batch (right)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    points = list(pd.unique(rows["point"])) if points is None else points
    fig = Figure(figsize=(10, 3.2 * len(points)), layout="constrained")
    axes = fig.subplots(len(points), 2, squeeze=False)
    for i, p in enumerate(points):
        plot_batch(axes[i][0], rows, p, "latency_s")
        plot_batch(axes[i][1], rows, p, "samples_per_s")
    return fig
