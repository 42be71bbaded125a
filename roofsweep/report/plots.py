"""Matplotlib figures of roofline results (object-oriented API only; no pyplot state).

Each ``plot_*`` function draws on an ``Axes`` it is given and returns it; each ``figure_*``
function builds a multi-panel ``matplotlib.figure.Figure`` and returns it. Inputs are the
DataFrames of docs/contracts.md: the long-form sweep (``latency_s``, ``point``, ``ridge_point``,
``top1``, ``on_frontier``...) and per-layer roofline tables (``time_s``, ``op_type``,
``intensity_macs_per_byte``...). Values that a log axis cannot show (zero, negative, infinite,
NaN) are dropped, never plotted and never an error.

Points, bars and curves carry hover text: ``figure_to_svg`` writes it as SVG ``<title>``
elements, which browsers show as tooltips in the HTML report.
"""

from __future__ import annotations

import io
from html import escape
import math
import re
import weakref
from collections.abc import Iterable, Mapping, Sequence
from itertools import count
from pathlib import Path

import matplotlib

matplotlib.use("Agg", force=False)  # never needs a display; harmless if a backend is already set

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
from matplotlib.ticker import FuncFormatter, NullFormatter, NullLocator  # noqa: E402
from matplotlib.transforms import blended_transform_factory, offset_copy  # noqa: E402

from roofsweep.units import fmt_bandwidth, fmt_intensity, fmt_macs, fmt_rate, fmt_time  # noqa: E402

# Paper Fig. 2 colours; any other family takes the next colour of OTHER_COLORS.
FAMILY_COLORS: dict[str, str] = {
    "MobileNetV1": "#1f77b4",  # blue
    "MobileNetV2": "#7b3294",  # purple
    "MobileNetV3": "#2ca02c",  # green
    "MobileNetV4": "#d62728",  # red
}
OTHER_COLORS = ("#ff7f0e", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f", "#393b79", "#637939")

# Paper Fig. 3 op colours, then the rest of the LayerTable op types.
OP_COLORS: dict[str, str] = {
    "conv2d": "#1f77b4",
    "dwconv2d": "#ff7f0e",
    "fc": "#2ca02c",
    "matmul": "#9467bd",
    "attention": "#d62728",
    "elementwise": "#8c8c8c",
    "pool": "#bcbd22",
    "other": "#17becf",
}
OP_LABELS = {"conv2d": "Conv2D", "dwconv2d": "DW-Conv2D", "fc": "FC", "matmul": "MatMul",
             "attention": "Attention", "elementwise": "Elementwise", "pool": "Pool", "other": "Other"}

# The paper's named ridge points (Fig. 2 / Fig. 3 panel names).
PAPER_POINT_NAMES = {0.0: "MACs", 5.0: "Slow CPU", 50.0: "Fast CPU", 500.0: "Accelerator"}

_LINESTYLES = ("-", "--", ":", "-.")
_OUTSIDE_RIGHT = dict(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0, fontsize="small")

# Hover text of artists, read back by figure_to_svg. Weak keys: dies with the figure.
_TOOLTIPS: "weakref.WeakKeyDictionary[object, str | list[str]]" = weakref.WeakKeyDictionary()
_tip_ids = count()


def _tip(artist, text: str):
    """Attach hover text to an artist (an SVG <title> once rendered by figure_to_svg)."""
    artist.set_gid(f"rstip-{next(_tip_ids)}")
    _TOOLTIPS[artist] = text
    return artist


def _tip_points(collection, texts: Sequence[str]):
    """Attach one hover text per point of a scatter (``PathCollection``), in offset order.

    One artist for many points draws far faster than one Line2D per point; ``figure_to_svg``
    gives each point's SVG element its own ``<title>``. Only finite offsets may be passed to the
    scatter (matplotlib skips the others when drawing, which would shift the texts)."""
    collection.set_gid(f"rstip-{next(_tip_ids)}")
    _TOOLTIPS[collection] = list(texts)
    return collection


# --------------------------------------------------------------------------------- helpers
def family_colors(families: Iterable[str]) -> dict[str, str]:
    """Colour per family: the paper's for V1-V4, the next of OTHER_COLORS for the rest."""
    out: dict[str, str] = {}
    others = iter(OTHER_COLORS * 10)
    for f in families:
        if f not in out:
            out[f] = FAMILY_COLORS.get(f) or next(others)
    return out


def op_color(op: str) -> str:
    return OP_COLORS.get(op, "#555555")


def _ordered_ops(ops: Iterable[str]) -> list[str]:
    present = list(dict.fromkeys(ops))
    known = [o for o in OP_COLORS if o in present]
    return known + sorted(o for o in present if o not in OP_COLORS)


def _positive_finite(s: pd.Series) -> pd.Series:
    v = pd.to_numeric(s, errors="coerce").astype("float64")
    return v.notna() & np.isfinite(v) & (v > 0)


def _no_data(ax: Axes, what: str = "no data to plot") -> None:
    ax.text(0.5, 0.5, what, transform=ax.transAxes, ha="center", va="center", color="0.4")


def point_title(point: str, ridge_point: float | None = None, hardware: str = "") -> str:
    """``RP 5 - Slow CPU`` for the paper's named points; ``pixel6-cpu (RP 31.2)`` for profiles."""
    if hardware:
        return f"{point} (RP {_rp_text(ridge_point)})" if ridge_point is not None and math.isfinite(ridge_point) else point
    if ridge_point is not None and ridge_point in PAPER_POINT_NAMES:
        return f"{point} \N{EN DASH} {PAPER_POINT_NAMES[ridge_point]}"
    return point


def _point_meta(sweep_df: pd.DataFrame, point: str) -> tuple[float | None, str]:
    rows = sweep_df[sweep_df["point"] == point]
    if rows.empty:
        return None, ""
    rp = rows["ridge_point"].iloc[0] if "ridge_point" in rows else None
    hw = rows["hardware"].iloc[0] if "hardware" in rows else ""
    return (float(rp) if rp is not None and pd.notna(rp) else None), (hw or "")


def _label(row) -> str:
    name = row.get("display_name") if hasattr(row, "get") else None
    return str(name) if isinstance(name, str) and name else str(row["model"])


def _grid(n: int) -> tuple[int, int]:
    ncols = max(1, math.ceil(math.sqrt(n)))
    return math.ceil(n / ncols), ncols


def _hide_unused(axes: np.ndarray, used: int) -> None:
    for ax in axes.flat[used:]:
        ax.set_visible(False)


# ------------------------------------------------------------ (a) accuracy vs latency (Fig. 2)
def _plain_tick(v: float, _pos=None) -> str:
    return f"{v:g}"


def _minor_tick(v: float, _pos=None) -> str:
    if v <= 0:
        return ""
    lead = round(v / 10 ** math.floor(math.log10(v)), 6)
    return _log_tick(v) if lead in (2.0, 5.0) else ""


def _log_tick(v: float, _pos=None) -> str:
    """Plain tick numbers for log axes: 0.01, 1, 100, 1000, 10k, 1M (no mathtext: it is slow to
    lay out and ``4x10^2`` minor labels crowd an axis)."""
    if v <= 0 or not math.isfinite(v):
        return ""
    for scale, suffix in ((1e9, "G"), (1e6, "M"), (1e4, "k")):
        if v >= scale:
            return f"{v / (1e3 if suffix == 'k' else scale):g}{suffix}"
    return f"{v:g}"


def _plain_log_axis(axis, lo: float | None = None, hi: float | None = None) -> None:
    """Plain-number labels on a log ``axis``; the 2x / 5x minor ticks are labelled only when the
    axis spans under two decades (given ``lo`` / ``hi``, else never), where few majors show."""
    axis.set_major_formatter(FuncFormatter(_log_tick))
    few_majors = lo is not None and hi is not None and lo > 0 and hi > lo and math.log10(hi / lo) < 2
    axis.set_minor_formatter(FuncFormatter(_minor_tick) if few_majors else NullFormatter())


def plot_accuracy_vs_latency(ax: Axes, sweep_df: pd.DataFrame, point: str, *, legend: bool = True,
                             annotate: bool = True) -> Axes:
    """Paper Fig. 2: ImageNet top-1 vs roofline latency (ms, log x) at one point (RP or profile).

    One colour and line per family; every model labelled; the Pareto frontier (``on_frontier``)
    drawn as a dashed black step line through ringed markers. Models without a top-1 or with a
    latency a log axis cannot show are left out.
    """
    rp, hw = _point_meta(sweep_df, point)
    ax.set_title(point_title(point, rp, hw))
    ax.set_xscale("log")
    # plain numbers, and of the minor ticks only 2x and 5x: a panel spanning less than a decade
    # otherwise gets every minor tick labelled in scientific notation, colliding
    ax.xaxis.set_major_formatter(FuncFormatter(_plain_tick))
    ax.xaxis.set_minor_formatter(FuncFormatter(_minor_tick))
    ax.set_xlabel("Roofline latency (ms)")
    ax.set_ylabel("ImageNet-1k top-1 (%)")
    ax.grid(True, which="major", alpha=0.3)
    rows = sweep_df[(sweep_df["point"] == point)]
    rows = rows[_positive_finite(rows["latency_s"]) & pd.to_numeric(rows["top1"], errors="coerce").notna()]
    if rows.empty:
        _no_data(ax, "no models with a top-1 and a latency")
        return ax
    rows = rows.assign(latency_ms=rows["latency_s"] * 1e3)
    families = list(dict.fromkeys(rows["family"]))
    colors = family_colors(families)
    handles = []
    for fam in families:
        g = rows[rows["family"] == fam].sort_values("latency_ms")
        ax.plot(g["latency_ms"], g["top1"], "-", color=colors[fam], lw=1.5, alpha=0.8, zorder=2)
        for _, r in g.iterrows():
            (mk,) = ax.plot([r["latency_ms"]], [r["top1"]], "o", color=colors[fam], ms=6, zorder=3)
            _tip(mk, f"{_label(r)} ({fam}): top-1 {r['top1']:.1f}%, latency {fmt_time(r['latency_s'])}"
                     + (", on the Pareto frontier" if bool(r.get("on_frontier", False)) else ""))
        handles.append(Line2D([], [], color=colors[fam], marker="o", label=str(fam)))
    if "on_frontier" in rows:
        fr = rows[rows["on_frontier"].astype(bool)].sort_values("latency_ms")
        if not fr.empty:
            ax.step(fr["latency_ms"], fr["top1"], where="post", ls="--", color="black", lw=1.0, zorder=1)
            ax.plot(fr["latency_ms"], fr["top1"], "o", ms=11, mfc="none", mec="black", mew=1.2, zorder=5)
            handles.append(Line2D([], [], ls="--", color="black", marker="o", mfc="none", label="Pareto frontier"))
    ax.margins(x=0.12, y=0.08)
    if annotate:
        _place_labels(ax, rows["latency_ms"].to_numpy(float), rows["top1"].to_numpy(float),
                      [_label(r) for _, r in rows.iterrows()], [colors[f] for f in rows["family"]])
    if legend:
        ax.legend(handles=handles, **_OUTSIDE_RIGHT)
    return ax


# label offsets tried in turn (points): right-above, right-below, left-above, left-below, above, below
_LABEL_SPOTS = ((4, 2, "left", "bottom"), (4, -2, "left", "top"), (-4, 2, "right", "bottom"),
                (-4, -2, "right", "top"), (0, 6, "center", "bottom"), (0, -6, "center", "top"))


def _place_labels(ax: Axes, xs: np.ndarray, ys: np.ndarray, labels: Sequence[str], colors: Sequence[str],
                  fontsize: float = 7.0) -> None:
    """Label each point where it overlaps the fewest markers and earlier labels and stays inside
    the axes: greedy over a few spots around the point. Works in points on the axes as sized
    before layout (an estimate; constrained layout changes it a little), with text extents
    estimated from the character count, so no draw is needed."""
    fig = ax.figure
    pos = ax.get_position()
    w_pt = max(1.0, fig.get_figwidth() * pos.width * 72)
    h_pt = max(1.0, fig.get_figheight() * pos.height * 72)
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()  # autoscaled limits, margins included
    logx = ax.get_xscale() == "log"

    def fx(x: float) -> float:
        return (math.log(x / x0) / math.log(x1 / x0)) if logx else (x - x0) / (x1 - x0)

    px = np.array([fx(x) * w_pt for x in xs])
    py = (ys - y0) / (y1 - y0) * h_pt
    r = 6.0  # marker (with the frontier ring) half-size in points
    markers = [(x - r, y - r, x + r, y + r) for x, y in zip(px, py)]
    taken: list[tuple] = []  # labels placed so far
    h = fontsize * 1.25
    for i in sorted(range(len(xs)), key=lambda i: (px[i], -py[i])):
        w = fontsize * 0.58 * len(labels[i])
        best, best_score = _LABEL_SPOTS[0], math.inf
        for spot in _LABEL_SPOTS:
            dx, dy, ha, va = spot
            bx0 = px[i] + dx - {"left": 0, "right": w, "center": w / 2}[ha]
            by0 = py[i] + dy - (h if va == "top" else 0)
            box = (bx0, by0, bx0 + w, by0 + h)
            score = sum(_overlap(box, t) for t in taken) + sum(
                _overlap(box, m) for j, m in enumerate(markers) if j != i)
            outside = (max(0, -box[0]) + max(0, box[2] - w_pt)) * h + (max(0, -box[1]) + max(0, box[3] - h_pt)) * w
            score += 3 * outside
            if score < best_score - 1e-9:
                best, best_score, best_box = spot, score, box
        taken.append(best_box)
        dx, dy, ha, va = best
        ax.annotate(labels[i], (xs[i], ys[i]), xytext=(dx, dy), textcoords="offset points", ha=ha, va=va,
                    fontsize=fontsize, color=colors[i], zorder=4)


def _overlap(a: tuple, b: tuple) -> float:
    return max(0.0, min(a[2], b[2]) - max(a[0], b[0])) * max(0.0, min(a[3], b[3]) - max(a[1], b[1]))


def figure_accuracy_vs_latency(sweep_df: pd.DataFrame, points: Sequence[str] | None = None,
                               *, panel_size=(5.0, 3.8)) -> Figure:
    """One Fig. 2 panel per point (default: every point, by ridge point), one shared legend."""
    if points is None:
        points = _points_by_rp(sweep_df)
    points = list(points)
    nrows, ncols = _grid(max(1, len(points)))
    fig = Figure(figsize=(panel_size[0] * ncols + 1.8, panel_size[1] * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for ax, point in zip(axes.flat, points):
        plot_accuracy_vs_latency(ax, sweep_df, point, legend=False)
    _hide_unused(axes, len(points))
    if not points:
        _no_data(axes.flat[0])
    fig.suptitle("Roofline latency vs accuracy")
    fams = list(dict.fromkeys(sweep_df.loc[pd.to_numeric(sweep_df["top1"], errors="coerce").notna(), "family"]))
    colors = family_colors(fams)
    handles = [Line2D([], [], color=colors[f], marker="o", label=str(f)) for f in fams]
    if "on_frontier" in sweep_df:
        handles.append(Line2D([], [], ls="--", color="black", marker="o", mfc="none", label="Pareto frontier"))
    if handles:
        fig.legend(handles=handles, loc="outside right upper", fontsize="small")
    return fig


def _points_by_rp(sweep_df: pd.DataFrame) -> list[str]:
    pts = sweep_df.drop_duplicates("point")[["point", "ridge_point"]]
    return list(pts.sort_values("ridge_point", kind="stable")["point"])


# --------------------------------------------------------------- (b) per-layer latency (Fig. 3)
def plot_layer_latency(ax: Axes, per_layer_df: pd.DataFrame, *, op_types: Sequence[str] | None = None,
                       title: str | None = None, legend: bool = True) -> Axes:
    """Paper Fig. 3: per-layer roofline latency (us) against layer index, bars coloured by op type.

    ``op_types`` limits the layers drawn (the paper draws ``("conv2d", "dwconv2d", "fc")``);
    default: all. As in the paper, the x axis counts only the layers drawn, consecutively from
    0, so rows left out (memory-only ops) leave no gaps; the LayerTable's own index is kept in
    each bar's hover text.
    """
    df = per_layer_df
    if op_types is not None:
        df = df[df["op_type"].isin(op_types)]
    if title is None and not per_layer_df.empty:
        title = str(per_layer_df["model"].iloc[0])
    ax.set_title(title or "")
    ax.set_xlabel("Layer index")
    ax.set_ylabel("Latency per layer (\u00b5s)")
    ax.grid(True, axis="y", alpha=0.3)
    t = pd.to_numeric(df["time_s"], errors="coerce")
    df = df[np.isfinite(t) & (t >= 0)]
    if df.empty:
        _no_data(ax)
        return ax
    df = df.sort_values("index", kind="stable").assign(_x=np.arange(len(df)))
    for op in _ordered_ops(df["op_type"]):
        g = df[df["op_type"] == op]
        bars = ax.bar(g["_x"], g["time_s"] * 1e6, width=0.85, color=op_color(op),
                      label=OP_LABELS.get(op, op))
        for rect, (_, r) in zip(bars, g.iterrows()):
            bound = f", {r['bound']}-bound" if "bound" in r else ""
            _tip(rect, f"layer {r['_x']} (#{r['index']} in the layer table) {r['name']} ({op}): "
                       f"{fmt_time(r['time_s'])}{bound}, {fmt_macs(r['macs'])}")
    ax.set_xlim(-1, len(df))
    if legend:
        ax.legend(**_OUTSIDE_RIGHT)
    return ax


def figure_layer_latency(per_layer: Mapping[tuple[str, str], pd.DataFrame], *,
                         points: Sequence[str] | None = None, models: Sequence[str] | None = None,
                         op_types: Sequence[str] | None = ("conv2d", "dwconv2d", "fc"),
                         titles: Mapping[str, str] | None = None, panel_size=(4.2, 2.8)) -> Figure:
    """Fig. 3 grid: one row per point, one column per model, y shared along each row.

    ``per_layer`` is keyed by ``(model, point)`` (as ``ReportData.layer_tables``); rows and
    columns follow first appearance unless ``points`` / ``models`` order them. ``titles`` maps a
    model to its column title (e.g. display names).
    """
    models = list(models) if models is not None else list(dict.fromkeys(m for m, _ in per_layer))
    points = list(points) if points is not None else list(dict.fromkeys(p for _, p in per_layer))
    nrows, ncols = max(1, len(points)), max(1, len(models))
    # one or two models: panels wide enough for their bars (up to ~20 layers per inch)
    most = max((int(df["op_type"].isin(op_types).sum()) if op_types is not None else len(df)
                for df in per_layer.values()), default=0)
    width = panel_size[0] if ncols > 2 else min(9.0, max(panel_size[0], most / 20))
    fig = Figure(figsize=(width * ncols + 1.6, panel_size[1] * nrows + 0.5), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False, sharey="row")
    ops_seen: list[str] = []
    for i, point in enumerate(points):
        for j, model in enumerate(models):
            ax = axes[i, j]
            df = per_layer.get((model, point))
            name = (titles or {}).get(model, model)
            if df is None:
                ax.set_title(f"{name} | {point}", fontsize="medium")
                _no_data(ax, "not computed")
                continue
            plot_layer_latency(ax, df, op_types=op_types, title=f"{name} | {point}", legend=False)
            ax.title.set_fontsize("medium")
            ops_seen += list(df["op_type"] if op_types is None else df.loc[df["op_type"].isin(op_types), "op_type"])
            if j:
                ax.set_ylabel("")
            if i != nrows - 1:
                ax.set_xlabel("")
    fig.suptitle("Per-layer roofline latency by op type")
    handles = [Patch(color=op_color(o), label=OP_LABELS.get(o, o)) for o in _ordered_ops(ops_seen)]
    if handles:
        fig.legend(handles=handles, loc="outside right upper", fontsize="small")
    return fig


# --------------------------------------------------------------- (c) latency vs ridge point
def _profile_points(sweep_df: pd.DataFrame, profiles) -> list[tuple[str, float]]:
    """(name, ridge point) of the profiles to mark: from ``profiles`` (HardwareProfile objects,
    a name -> RP mapping or (name, RP) pairs) or, by default, the sweep's profile rows."""
    if profiles is None:
        if "hardware" not in sweep_df:
            return []
        hw = sweep_df[sweep_df["hardware"].fillna("") != ""].drop_duplicates("hardware")
        return [(str(h), float(rp)) for h, rp in zip(hw["hardware"], hw["ridge_point"])]
    if isinstance(profiles, Mapping):
        return [(str(k), float(v)) for k, v in profiles.items()]
    out = []
    for p in profiles:
        if isinstance(p, tuple):
            out.append((str(p[0]), float(p[1])))
        else:  # a HardwareProfile
            out.append((str(p.name), float(p.ridge_point())))
    return out


def plot_latency_vs_ridge_point(ax: Axes, sweep_df: pd.DataFrame, profiles=None, *,
                                legend: bool = True) -> Axes:
    """Latency (ms) of each model across the ridge-point sweep, log-log; profiles marked.

    Curves use the pure-RP rows (``hardware == ""``); RP 0 cannot sit on a log axis and is left
    out. Each profile gets a dotted vertical line at its ridge point, its name above the axes
    (spread apart where profiles crowd), and its own sweep rows (if any) a cross per model.
    The curves hold one of peak or bandwidth fixed (the paper: 40 GB/s) while a profile's cross
    is at its own peak and bandwidth, so a cross sits off its curve by the profile's bandwidth
    ratio; the legend says which is which.
    """
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_title("Roofline latency vs ridge point")
    ax.set_xlabel("Ridge point (MAC/byte)")
    ax.set_ylabel("Roofline latency (ms)")
    ax.grid(True, which="major", alpha=0.3)
    is_rp = sweep_df["hardware"].fillna("") == "" if "hardware" in sweep_df else pd.Series(True, index=sweep_df.index)
    curves = sweep_df[is_rp & _positive_finite(sweep_df["ridge_point"]) & _positive_finite(sweep_df["latency_s"])]
    hw_rows = sweep_df[~is_rp & _positive_finite(sweep_df["ridge_point"]) & _positive_finite(sweep_df["latency_s"])]
    models = list(dict.fromkeys(sweep_df["model"]))
    fam_of = dict(zip(sweep_df["model"], sweep_df.get("family", sweep_df["model"])))
    colors = family_colors(fam_of[m] for m in models)
    nth_in_family: dict[str, int] = {}
    drawn = 0
    for m in models:
        fam = fam_of[m]
        k = nth_in_family[fam] = nth_in_family.get(fam, -1) + 1
        style = dict(color=colors[fam], ls=_LINESTYLES[k % len(_LINESTYLES)])
        g = curves[curves["model"] == m].sort_values("ridge_point")
        label = _label(g.iloc[0]) if not g.empty else str(m)
        if not g.empty:
            (line,) = ax.plot(g["ridge_point"], g["latency_s"] * 1e3, lw=1.6, label=label, **style)
            lo, hi = g.iloc[0], g.iloc[-1]
            _tip(line, f"{label}, ridge-point sweep{_held_text(g, ', ')}: {fmt_time(lo['latency_s'])} at RP "
                       f"{_rp_text(lo['ridge_point'])}, {fmt_time(hi['latency_s'])} at RP {_rp_text(hi['ridge_point'])}")
            drawn += 1
        h = hw_rows[hw_rows["model"] == m]
        if not h.empty:  # one artist per model: far faster to draw than one per cross
            sc = ax.scatter(h["ridge_point"], h["latency_s"] * 1e3, marker="x", s=36, linewidths=1.5,
                            color=colors[fam], zorder=3)
            _tip_points(sc, [f"{label} on {r['point']} (its own peak and bandwidth): {fmt_time(r['latency_s'])}, "
                             f"RP {_rp_text(r['ridge_point'])}" for _, r in h.iterrows()])
    if not drawn and hw_rows.empty:
        _no_data(ax)
        return ax
    _mark_profiles(ax, [p for p in _profile_points(sweep_df, profiles) if p[1] > 0 and math.isfinite(p[1])])
    lo, hi = ax.get_xlim()
    _plain_log_axis(ax.xaxis, lo, hi)
    lo, hi = ax.get_ylim()
    _plain_log_axis(ax.yaxis, lo, hi)
    if legend:
        handles, _ = ax.get_legend_handles_labels()
        if not hw_rows.empty:
            # the curves and the crosses answer different questions: say which is which
            held = _held_text(curves, "\n")
            if drawn:
                handles.append(Line2D([], [], color="0.3", lw=1.6, label="ridge-point sweep" + held))
            handles.append(Line2D([], [], ls="", marker="x", color="0.3", label=PROFILE_CROSS_LABEL))
        ax.legend(handles=handles, **_OUTSIDE_RIGHT)
    return ax


PROFILE_CROSS_LABEL = "model on a profile\n(its own peak and\nbandwidth)"


def _rp_text(rp: float) -> str:
    """A ridge point for labels: 4 significant digits at most (``18``, ``32.87``, ``4000``)."""
    return f"{float(rp):.4g}" if abs(float(rp)) < 1e4 else f"{float(rp):.0f}"


def _held_text(curves: pd.DataFrame, sep: str) -> str:
    """What the ridge-point sweep holds fixed (``bandwidth fixed at 40 GB/s``), from its rows."""
    for col, what, fmt in (("bandwidth_bytes_per_s", "bandwidth", fmt_bandwidth), ("peak_macs_per_s", "peak", fmt_rate)):
        if col in curves and len(curves):
            v = pd.to_numeric(curves[col], errors="coerce")
            v = v[np.isfinite(v)]
            if len(v) and np.allclose(v, v.iloc[0], rtol=1e-9):
                return f"{sep}{what} fixed at {fmt(float(v.iloc[0]))}"
    return ""


def _spread(targets: Sequence[float], gap: float, lo: float = 0.0, hi: float = 1.0) -> list[float]:
    """1-D label placement: positions as close as possible to ``targets`` (any order), at least
    ``gap`` apart, inside [lo, hi]. Overlapping neighbours merge into a cluster centred on the
    mean of its targets, until no two clusters overlap."""
    n = len(targets)
    if n == 0:
        return []
    gap = min(gap, (hi - lo) / max(n - 1, 1))
    order = sorted(range(n), key=lambda i: targets[i])
    clusters = [[i] for i in order]

    def start(c: list[int]) -> float:
        width = (len(c) - 1) * gap
        s = sum(targets[i] for i in c) / len(c) - width / 2
        return min(max(s, lo), hi - width)

    merged = True
    while merged:
        merged = False
        for k in range(len(clusters) - 1):
            a, b = clusters[k], clusters[k + 1]
            if start(a) + len(a) * gap > start(b) + 1e-12:
                clusters[k:k + 2] = [a + b]
                merged = True
                break
    pos = [0.0] * n
    for c in clusters:
        s = start(c)
        for j, i in enumerate(c):
            pos[i] = s + j * gap
    return pos


def _mark_profiles(ax: Axes, profiles: list[tuple[str, float]]) -> None:
    """A dotted vertical line per profile and its name above the axes (a secondary x axis, so
    the layout makes room and the title sits above). Names are spread apart where ridge points
    crowd, each joined to its line by a thin leader."""
    if not profiles:
        return
    profiles = sorted(profiles, key=lambda p: p[1])
    xs = [rp for _, rp in profiles]
    lo, hi = ax.get_xlim()
    lo, hi = min(lo, min(xs) / 1.3), max(hi, max(xs) * 1.3)
    ax.set_xlim(lo, hi)
    llo, lhi = math.log10(lo), math.log10(hi)
    frac = [(math.log10(x) - llo) / (lhi - llo) for x in xs]
    fig = ax.figure
    # axes width before layout, less room for an outside legend: a conservative estimate
    width_in = max(2.0, fig.get_figwidth() * ax.get_position().width - 1.6)
    pos = _spread(frac, gap=(7 * 1.35 / 72) / width_in)
    at = [10 ** (llo + p * (lhi - llo)) for p in pos]
    for rp in xs:
        ax.axvline(rp, color="0.35", ls=":", lw=1.0, zorder=1)
    top = ax.secondary_xaxis("top")
    top.set_xticks(at, labels=[n for n, _ in profiles], rotation=90, fontsize=7, color="0.25")
    top.xaxis.set_minor_locator(NullLocator())
    top.tick_params(axis="x", length=0, pad=9)
    top.spines["top"].set_visible(False)
    trans = blended_transform_factory(ax.transData, ax.transAxes)
    raised = offset_copy(trans, fig=fig, y=8, units="points")
    for rp, a in zip(xs, at):
        ax.annotate("", xy=(rp, 1.0), xycoords=trans, xytext=(a, 1.0), textcoords=raised,
                    arrowprops=dict(arrowstyle="-", lw=0.6, color="0.45", shrinkA=0, shrinkB=0),
                    annotation_clip=False)


# -------------------------------------------------------------------------- (d) roofline chart
def plot_roofline(ax: Axes, per_layer_df: pd.DataFrame, peak_macs_per_s: float,
                  bandwidth_bytes_per_s: float, *, title: str | None = None, legend: bool = True) -> Axes:
    """Classic roofline: attainable MAC/s vs operational intensity (MAC/byte), log-log.

    Roofs: memory slope ``bandwidth * intensity`` up to the ridge point, flat compute roof at the
    peak. Each layer is a point at (its intensity, macs / time_s), coloured by op type; layers with
    no MACs (memory-only) or no bytes have no place on a log axis and are counted in a note.
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
    ok = _positive_finite(x) & _positive_finite(y)
    pts = df[ok].assign(_x=x[ok], _y=y[ok] / 1e9)
    hidden = int((~ok).sum())

    peak_ok = peak_macs_per_s is not None and math.isfinite(peak_macs_per_s) and peak_macs_per_s > 0
    bw_ok = bandwidth_bytes_per_s is not None and math.isfinite(bandwidth_bytes_per_s) and bandwidth_bytes_per_s > 0
    ridge = peak_macs_per_s / bandwidth_bytes_per_s if peak_ok and bw_ok else None
    xs = list(pts["_x"]) + ([ridge] if ridge else [])
    x_lo = min(xs) / 3 if xs else 0.1
    x_hi = max(xs) * 3 if xs else 1000.0
    y_lo = float(pts["_y"].min()) if len(pts) else math.nan
    y_hi = float(pts["_y"].max()) if len(pts) else math.nan
    if peak_ok:
        grid = np.geomspace(x_lo, x_hi, 256)
        roof = np.full_like(grid, peak_macs_per_s)
        if bw_ok:
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
        y_hi = peak_macs_per_s / 1e9 * 5
        ax.set_ylim(top=y_hi)
        y_lo = np.nanmin([y_lo, float(roof.min()) / 1e9])
    for op in _ordered_ops(pts["op_type"]):
        g = pts[pts["op_type"] == op]
        sc = ax.scatter(g["_x"], g["_y"], s=22, color=op_color(op), edgecolors="white", linewidths=0.4,
                        label=OP_LABELS.get(op, op), zorder=3)
        _tip_points(sc, [f"#{r['index']} {r['name']} ({op}): {fmt_intensity(r['_x'])}, "
                         f"{fmt_rate(r['_y'] * 1e9)}, {fmt_time(r['time_s'])}" for _, r in g.iterrows()])
    _plain_log_axis(ax.xaxis, x_lo, x_hi)
    _plain_log_axis(ax.yaxis, y_lo, y_hi)
    ax.set_xlim(x_lo, x_hi)
    if hidden:
        ax.text(0.99, 0.02, f"{hidden} layer(s) with no MACs or no bytes not shown", transform=ax.transAxes,
                ha="right", va="bottom", fontsize=7, color="0.4")
    if pts.empty and not peak_ok:
        _no_data(ax)
    if legend:
        ax.legend(**_OUTSIDE_RIGHT)
    return ax


# ------------------------------------------------------------------ (e) time by op type
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
        _no_data(ax)
        return ax
    totals = {}
    for k in keys:
        df = per_layer_frames[k]
        t = pd.to_numeric(df["time_s"], errors="coerce")
        t = t.where(np.isfinite(t), np.nan)
        totals[k] = t.groupby(df["op_type"]).sum(min_count=1).fillna(0.0)
    table = pd.DataFrame(totals).fillna(0.0)  # rows op_type, columns keys
    table = table.loc[_ordered_ops(table.index)]
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
            _tip(rect, f"{k[0]} | {k[1]}: {op} {v:.3g} {'%' if share else 'ms'}")
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
        ax.legend(**_OUTSIDE_RIGHT)
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
    _hide_unused(axes, len(pts))
    fig.suptitle("Latency by op type" + (" (share)" if share else ""))
    handles = [Patch(color=op_color(o), label=OP_LABELS.get(o, o)) for o in _ordered_ops(ops_seen)]
    if handles:
        fig.legend(handles=handles, loc="outside right upper", fontsize="small")
    return fig


# ------------------------------------------------------------ (f) predicted vs measured
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
    df = models_df[_positive_finite(models_df[predicted]) & _positive_finite(models_df["measured_s"])]
    if df.empty:
        _no_data(ax)
        return ax
    x = df[predicted].to_numpy(dtype=float) * 1e3
    y = df["measured_s"].to_numpy(dtype=float) * 1e3
    ax.scatter(x, y, s=28, color="#d62728", zorder=3, label="model")
    for xi, yi, name in zip(x, y, df["model"]):
        ax.annotate(str(name), (xi, yi), xytext=(3, 3), textcoords="offset points", fontsize=7)
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
    if legend:
        ax.legend(loc="upper left", fontsize="small")
    return ax


# --------------------------------------------------------------------------- single figures
def new_figure(size=(7.5, 4.5)) -> tuple[Figure, Axes]:
    """A Figure with one Axes and constrained layout (room for an outside legend)."""
    fig = Figure(figsize=size, layout="constrained")
    return fig, fig.add_subplot()


# ---------------------------------------------------------------------------------- output
def save_figure(fig: Figure, path_stem: str | Path, formats: Sequence[str] = ("png", "svg"),
                dpi: int = 100) -> list[Path]:
    """Write ``<path_stem>.<fmt>`` for each format; returns the paths written. SVGs carry the
    hover text (see ``figure_to_svg``)."""
    stem = Path(path_stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    out = []
    for k, fmt in enumerate(formats):
        path = stem.with_name(f"{stem.name}.{fmt}")
        if k:
            freeze_layout(fig)
        if fmt == "svg":
            path.write_text(figure_to_svg(fig, id_salt=stem.name), encoding="utf-8")
        else:
            fig.savefig(path, format=fmt, dpi=dpi)
        out.append(path)
    return out


def freeze_layout(fig: Figure) -> None:
    """Keep the axes where the last draw's layout engine put them and stop re-running it.

    Call after a figure has been drawn (saved) once, before saving it again in another format:
    constrained layout works in figure units, so its result does not depend on the format or
    dpi, and re-running it is a large share of drawing time."""
    engine = fig.get_layout_engine()
    if engine is not None and type(engine).__name__ != "PlaceHolderLayoutEngine":
        fig.set_layout_engine("none")


def figure_to_png(fig: Figure, dpi: int = 100) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def figure_to_svg(fig: Figure, id_salt: str = "") -> str:
    """The figure as SVG text, with each tooltip-carrying artist's hover text as a ``<title>``.

    ``id_salt`` makes the SVG's internal ids (markers, clip paths) differ between figures, so
    several can be inlined in one HTML page without their ``<defs>`` colliding.
    """

    buf = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": f"roofsweep-{id_salt}"}):
        fig.savefig(buf, format="svg")
    svg = buf.getvalue()
    tips = {a.get_gid(): t for a, t in list(_TOOLTIPS.items()) if a.get_gid() and _in_figure(a, fig)}
    if not tips:
        return svg

    out, pos = [], 0
    for m in _TIP_GROUP.finditer(svg):
        text = tips.get(m.group(1))
        if text is None or m.start() < pos:
            continue
        if isinstance(text, str):
            out += [svg[pos:m.end()], f"<title>{escape(text)}</title>"]
            pos = m.end()
            continue
        end = _group_end(svg, m.end())
        out += [svg[pos:m.end()], _title_points(svg[m.end():end], text)]
        pos = end
    out.append(svg[pos:])
    return "".join(out)


_TIP_GROUP = re.compile(r'<g id="(rstip-\d+)"[^>]*>')
_G_TAG = re.compile(r"<g[\s>]|</g>")
_POINT_ELEMENT = re.compile(r"<(use|path)\b([^>]*?)\s*/>")
_DEFS = re.compile(r"<defs>.*?</defs>", re.S)


def _group_end(svg: str, start: int) -> int:
    """Index of the ``</g>`` closing the group whose opening tag ends at ``start``."""
    depth = 1
    for m in _G_TAG.finditer(svg, start):
        depth += 1 if m.group(0) != "</g>" else -1
        if depth == 0:
            return m.start()
    return len(svg)


def _title_points(body: str, texts: list[str]) -> str:
    """A scatter's SVG group body with a ``<title>`` inside each point's element (``<use>`` when
    matplotlib shares one marker path, else ``<path>``), the i-th text for the i-th point. If the
    element count does not match (a renderer change), the group gets one summary title instead
    of misattributed ones."""
    defs = [(m.start(), m.end()) for m in _DEFS.finditer(body)]

    def in_defs(i: int) -> bool:
        return any(a <= i < b for a, b in defs)

    points = [m for m in _POINT_ELEMENT.finditer(body) if not in_defs(m.start())]
    if len(points) != len(texts):
        return f"<title>{escape(texts[0] if len(texts) == 1 else f'{len(texts)} points')}</title>" + body
    out, pos = [], 0
    for m, text in zip(points, texts):
        out += [body[pos:m.start()], f"<{m.group(1)}{m.group(2)}><title>{escape(text)}</title></{m.group(1)}>"]
        pos = m.end()
    out.append(body[pos:])
    return "".join(out)


def _in_figure(artist, fig: Figure) -> bool:
    f = getattr(artist, "figure", None)
    while f is not None and f is not fig and getattr(f, "figure", f) is not f:
        f = f.figure  # subfigures
    return f is fig


__all__ = [
    "FAMILY_COLORS", "OP_COLORS", "PAPER_POINT_NAMES", "family_colors", "op_color", "point_title",
    "plot_accuracy_vs_latency", "figure_accuracy_vs_latency", "plot_layer_latency", "figure_layer_latency",
    "plot_latency_vs_ridge_point", "plot_roofline", "plot_time_by_op_type", "figure_time_by_op_type", "new_figure", "save_figure",
    "figure_to_png", "figure_to_svg", "freeze_layout", "plot_predicted_vs_measured",
]
