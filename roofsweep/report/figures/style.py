"""Colours, titles, tick formatting and small helpers shared by every figure.

Op colours follow the paper's Fig. 3 (Conv2D blue, DW-Conv2D orange, FC red); family colours its
Fig. 2 (V1 blue, V2 purple, V3 green, V4 red). Log axes get ``ReadableLogLocator``: labelled
ticks on any range, however narrow, as plain numbers (no mathtext).
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import matplotlib

matplotlib.use("Agg", force=False)  # never needs a display; harmless if a backend is already set

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import FuncFormatter, Locator, LogLocator, MaxNLocator, NullFormatter, NullLocator  # noqa: E402

from roofsweep.units import fmt_bandwidth, fmt_rate  # noqa: E402

# Paper Fig. 2 colours; any other family takes the next colour of OTHER_COLORS.
FAMILY_COLORS: dict[str, str] = {
    "MobileNetV1": "#1f77b4",  # blue
    "MobileNetV2": "#7b3294",  # purple
    "MobileNetV3": "#2ca02c",  # green
    "MobileNetV4": "#d62728",  # red
}
OTHER_COLORS = ("#ff7f0e", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f", "#393b79", "#637939")

# Paper Fig. 3 op colours (FC red), then the rest of the LayerTable op types, each its own.
OP_COLORS: dict[str, str] = {
    "conv2d": "#1f77b4",
    "dwconv2d": "#ff7f0e",
    "fc": "#d62728",
    "matmul": "#9467bd",
    "attention": "#e377c2",
    "elementwise": "#8c8c8c",
    "pool": "#bcbd22",
    "other": "#17becf",
}
OP_LABELS = {"conv2d": "Conv2D", "dwconv2d": "DW-Conv2D", "fc": "FC", "matmul": "MatMul",
             "attention": "Attention", "elementwise": "Elementwise", "pool": "Pool", "other": "Other"}

# The paper's named ridge points (Fig. 2 / Fig. 3 panel names).
PAPER_POINT_NAMES = {0.0: "MACs", 5.0: "Slow CPU", 50.0: "Fast CPU", 500.0: "Accelerator"}

LINESTYLES = ("-", "--", ":", "-.")
MODEL_MARKERS = ("X", "P", "^", "s", "D", "v", "*", "<", ">", "h")  # one per model of a family
OUTSIDE_RIGHT = dict(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0, fontsize="small")


def family_colors(families: Iterable[str]) -> dict[str, str]:
    """Colour per family: the paper's for V1-V4, the next of OTHER_COLORS for the rest."""
    out: dict[str, str] = {}
    others = iter(OTHER_COLORS * 10)
    for f in families:
        if f not in out:
            out[f] = FAMILY_COLORS.get(f) or next(others)
    return out


def family_order(families: Iterable[str]) -> list[str]:
    """Families as the paper's legend lists them: MobileNetV4 first, down to V1, then the rest
    in order of appearance."""
    present = list(dict.fromkeys(families))
    paper = [f for f in reversed(FAMILY_COLORS) if f in present]
    return paper + [f for f in present if f not in FAMILY_COLORS]


def op_color(op: str) -> str:
    return OP_COLORS.get(op, "#555555")


def ordered_ops(ops: Iterable[str]) -> list[str]:
    present = list(dict.fromkeys(ops))
    known = [o for o in OP_COLORS if o in present]
    return known + sorted(o for o in present if o not in OP_COLORS)


def positive_finite(s: pd.Series) -> pd.Series:
    v = pd.to_numeric(s, errors="coerce").astype("float64")
    return v.notna() & np.isfinite(v) & (v > 0)


def no_data(ax: Axes, what: str = "no data to plot") -> None:
    ax.text(0.5, 0.5, what, transform=ax.transAxes, ha="center", va="center", color="0.4")


def rp_text(rp: float) -> str:
    """A ridge point for labels: 4 significant digits at most (``18``, ``32.87``, ``4000``)."""
    return f"{float(rp):.4g}" if abs(float(rp)) < 1e4 else f"{float(rp):.0f}"


def rp_title(rp: float) -> str:
    """The paper's panel title: ``RP: 5.00 MACs/byte - Slow CPU`` (the name only for its points)."""
    name = PAPER_POINT_NAMES.get(float(rp))
    value = f"{float(rp):.2f}" if abs(float(rp)) < 1e4 else f"{float(rp):.0f}"
    return f"RP: {value} MACs/byte" + (f" \N{EN DASH} {name}" if name else "")


def point_title(point: str, ridge_point: float | None = None, hardware: str = "") -> str:
    """``RP: 5.00 MACs/byte - Slow CPU`` for ridge points; ``pixel6-cpu (RP 31.2)`` for profiles."""
    if hardware:
        return f"{point} (RP {rp_text(ridge_point)})" if ridge_point is not None and math.isfinite(ridge_point) else point
    if ridge_point is not None and math.isfinite(ridge_point):
        return rp_title(ridge_point)
    return point


def point_meta(sweep_df: pd.DataFrame, point: str) -> tuple[float | None, str]:
    """(ridge point, hardware name or "") of ``point``'s rows."""
    rows = sweep_df[sweep_df["point"] == point]
    if rows.empty:
        return None, ""
    rp = rows["ridge_point"].iloc[0] if "ridge_point" in rows else None
    hw = rows["hardware"].iloc[0] if "hardware" in rows else ""
    return (float(rp) if rp is not None and pd.notna(rp) else None), (hw if isinstance(hw, str) else "")


def model_label(row) -> str:
    name = row.get("display_name") if hasattr(row, "get") else None
    return str(name) if isinstance(name, str) and name else str(row["model"])


def held_text(curves: pd.DataFrame, sep: str) -> str:
    """What the ridge-point sweep holds fixed (``bandwidth fixed at 40 GB/s``), from its rows."""
    for col, what, fmt in (("bandwidth_bytes_per_s", "bandwidth", fmt_bandwidth), ("peak_macs_per_s", "peak", fmt_rate)):
        if col in curves and len(curves):
            v = pd.to_numeric(curves[col], errors="coerce")
            v = v[np.isfinite(v)]
            if len(v) and np.allclose(v, v.iloc[0], rtol=1e-9):
                return f"{sep}{what} fixed at {fmt(float(v.iloc[0]))}"
    return ""


def hide_unused(axes: np.ndarray, used: int) -> None:
    for ax in axes.flat[used:]:
        ax.set_visible(False)


def new_figure(size=(7.5, 4.5)) -> tuple[Figure, Axes]:
    """A Figure with one Axes and constrained layout (room for an outside legend)."""
    fig = Figure(figsize=size, layout="constrained")
    return fig, fig.add_subplot()


# ----------------------------------------------------------------------------- log axes
def log_tick(v: float, _pos=None) -> str:
    """Plain tick numbers for log axes: 0.01, 1, 100, 1000, 10k, 1M (no mathtext: it is slow to
    lay out and ``4x10^2`` labels crowd an axis)."""
    if v <= 0 or not math.isfinite(v):
        return ""
    for scale, suffix in ((1e9, "G"), (1e6, "M"), (1e4, "k")):
        if v >= scale:
            return _plain(v / (1e3 if suffix == "k" else scale)) + suffix
    return _plain(v)


def _plain(v: float) -> str:
    """3 significant digits, never in exponent form: 1000, 0.00002."""
    s = f"{v:.3g}"
    return f"{float(s):.12f}".rstrip("0").rstrip(".") if "e" in s else s


class ReadableLogLocator(Locator):
    """Major ticks of a log axis that always label the view, however narrow: decades on a wide
    range, 1/2/5 per decade under two decades, 1..9 under one, and evenly spaced round numbers
    when even those give fewer than two ticks in view."""

    def __init__(self, max_ticks: int = 8):
        self.max_ticks = max_ticks

    def __call__(self):
        vmin, vmax = self.axis.get_view_interval()
        return self.tick_values(vmin, vmax)

    def tick_values(self, vmin, vmax):
        vmin, vmax = sorted((float(vmin), float(vmax)))
        if not (vmin > 0 and math.isfinite(vmin) and math.isfinite(vmax)) or vmax <= vmin:
            return LogLocator().tick_values(max(vmin, 1e-300), max(vmax, 1.0))
        decades = math.log10(vmax / vmin)
        if decades >= 2.5:  # decades (every n-th one on a very wide range)
            return LogLocator(subs=(1.0,), numticks=self.max_ticks + 1).tick_values(vmin, vmax)
        subs = (1.0, 2.0, 5.0) if decades >= 0.9 else (1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0)
        ticks = LogLocator(subs=subs, numticks=100).tick_values(vmin, vmax)
        inside = ticks[(ticks >= vmin * (1 - 1e-9)) & (ticks <= vmax * (1 + 1e-9))]
        if 2 <= len(inside) <= self.max_ticks:
            return ticks
        ticks = MaxNLocator(nbins=4, steps=[1, 2, 2.5, 5, 10]).tick_values(vmin, vmax)
        return ticks[ticks > 0]


def plain_log_axis(axis) -> None:
    """Readable, plain-number major labels on a log ``axis`` and no minor ticks: the majors
    already step 1/2/5 (or 1..9) where the range is narrow, and every tick is a costly artist
    to lay out and draw (minor ticks were most of a log-log figure's drawing time)."""
    axis.set_major_locator(ReadableLogLocator())
    axis.set_major_formatter(FuncFormatter(log_tick))
    axis.set_minor_locator(NullLocator())
    axis.set_minor_formatter(NullFormatter())


__all__ = [
    "FAMILY_COLORS", "OTHER_COLORS", "OP_COLORS", "OP_LABELS", "PAPER_POINT_NAMES", "MODEL_MARKERS",
    "family_colors", "family_order", "op_color", "ordered_ops", "point_title", "rp_title", "rp_text",
    "log_tick", "ReadableLogLocator", "plain_log_axis", "new_figure",
]
