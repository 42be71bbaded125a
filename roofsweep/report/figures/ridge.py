"""Roofline latency of each model across the ridge-point sweep, with hardware profiles marked."""

from __future__ import annotations

import math
from collections.abc import Mapping

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.lines import Line2D
from matplotlib.ticker import NullLocator
from matplotlib.transforms import blended_transform_factory, offset_copy

from roofsweep.report.figures.labels import spread
from roofsweep.report.figures.style import (LINESTYLES, MODEL_MARKERS, OUTSIDE_RIGHT, family_colors, held_text,
                                            model_label, no_data, plain_log_axis, positive_finite, rp_text)
from roofsweep.report.figures.svg import tip, tip_points
from roofsweep.units import fmt_time

PROFILE_CROSS_LABEL = "model on a profile\n(its own peak and\nbandwidth)"


def profile_points(sweep_df: pd.DataFrame, profiles) -> list[tuple[str, float]]:
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
    (spread apart where profiles crowd), and its own sweep rows (if any) a marker per model -
    each model its own marker shape (and its family's colour), shown with its line in the legend.
    The curves hold one of peak or bandwidth fixed (the paper: 40 GB/s) while a profile's marker
    is at its own peak and bandwidth, so it sits off its curve by the profile's bandwidth ratio.
    """
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_title("Roofline latency vs ridge point")
    ax.set_xlabel("Ridge point (MAC/byte)")
    ax.set_ylabel("Roofline latency (ms)")
    ax.grid(True, which="major", alpha=0.3)
    is_rp = sweep_df["hardware"].fillna("") == "" if "hardware" in sweep_df else pd.Series(True, index=sweep_df.index)
    ok = positive_finite(sweep_df["ridge_point"]) & positive_finite(sweep_df["latency_s"])
    curves, hw_rows = sweep_df[is_rp & ok], sweep_df[~is_rp & ok]
    models = list(dict.fromkeys(sweep_df["model"]))
    fam_of = dict(zip(sweep_df["model"], sweep_df.get("family", sweep_df["model"])))
    colors = family_colors(fam_of[m] for m in models)
    nth_in_family: dict[str, int] = {}
    handles, drawn = [], 0
    for n, m in enumerate(models):
        fam = fam_of[m]
        k = nth_in_family[fam] = nth_in_family.get(fam, -1) + 1
        style = dict(color=colors[fam], ls=LINESTYLES[k % len(LINESTYLES)])
        marker = MODEL_MARKERS[n % len(MODEL_MARKERS)]
        g = curves[curves["model"] == m].sort_values("ridge_point")
        label = model_label(g.iloc[0]) if not g.empty else str(m)
        if not g.empty:
            (line,) = ax.plot(g["ridge_point"], g["latency_s"] * 1e3, lw=1.6, label=label, **style)
            lo, hi = g.iloc[0], g.iloc[-1]
            tip(line, f"{label}, ridge-point sweep{held_text(g, ', ')}: {fmt_time(lo['latency_s'])} at RP "
                      f"{rp_text(lo['ridge_point'])}, {fmt_time(hi['latency_s'])} at RP {rp_text(hi['ridge_point'])}")
            drawn += 1
        h = hw_rows[hw_rows["model"] == m]
        if not h.empty:  # one artist per model: far faster to draw than one per marker
            sc = ax.scatter(h["ridge_point"], h["latency_s"] * 1e3, marker=marker, s=34, linewidths=0.5,
                            color=colors[fam], edgecolors="white", zorder=3)
            tip_points(sc, [f"{label} on {r['point']} (its own peak and bandwidth): {fmt_time(r['latency_s'])}, "
                            f"RP {rp_text(r['ridge_point'])}" for _, r in h.iterrows()])
        if not g.empty or not h.empty:
            handles.append(Line2D([], [], lw=1.6, label=label, marker=marker if not h.empty else None,
                                  mec="white", mew=0.5, **style))
    if not drawn and hw_rows.empty:
        no_data(ax)
        return ax
    mark_profiles(ax, [p for p in profile_points(sweep_df, profiles) if p[1] > 0 and math.isfinite(p[1])])
    plain_log_axis(ax.xaxis)
    plain_log_axis(ax.yaxis)
    if legend:
        if not hw_rows.empty:
            # the curves and the markers answer different questions: say which is which
            if drawn:
                handles.append(Line2D([], [], color="0.3", lw=1.6, label="ridge-point sweep" + held_text(curves, "\n")))
            handles.append(Line2D([], [], ls="", marker="X", color="0.3", label=PROFILE_CROSS_LABEL))
        ax.legend(handles=handles, **OUTSIDE_RIGHT)
    return ax


def mark_profiles(ax: Axes, profiles: list[tuple[str, float]]) -> None:
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
    pos = spread(frac, gap=(7 * 1.35 / 72) / width_in)
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


__all__ = ["plot_latency_vs_ridge_point", "mark_profiles", "profile_points", "PROFILE_CROSS_LABEL"]
