"""From an ``Analysis`` to a report: which figures and tables a sweep or comparison shows.

``build_report(analysis, command)`` returns the ``ReportData`` and the matplotlib figures that
``bundle.write_report`` turns into a report folder. Pure: it builds objects, writes nothing.
"""

from __future__ import annotations

import math

import pandas as pd
from matplotlib.figure import Figure

from roofsweep.report import plots
from roofsweep.report.data import ReportData
from roofsweep.units import fmt_bytes, fmt_intensity, fmt_macs

MAX_ROOFLINE_PANELS = 8


def roofline_points(analysis, chosen_profiles: bool) -> list[str]:
    """Points that get a classic roofline chart: the per-layer ridge points, plus each profile
    when the user chose the profiles (all ~20 shipped ones would bury the page)."""
    pl = analysis.per_layer
    points = list(dict.fromkeys(pl.loc[pl["hardware"].fillna("") == "", "point"]))
    if chosen_profiles:
        points += [p.name for p in analysis.profiles]
    return points[:MAX_ROOFLINE_PANELS]


def _rooflines(analysis, model: str, points: list[str]) -> Figure | None:
    """Small multiples: the classic roofline of ``model`` on each point (RPs, then profiles)."""
    pl = analysis.per_layer[analysis.per_layer["model"] == model]
    if not points:
        return None
    ncols = min(4, len(points))
    nrows = math.ceil(len(points) / ncols)
    fig = Figure(figsize=(4.4 * ncols + 1.8, 3.4 * nrows + 0.6), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for k, point in enumerate(points):
        df = pl[pl["point"] == point]
        ax = axes[k // ncols, k % ncols]
        peak = float(df["peak_macs_per_s"].iloc[0])
        bw = float(df["bandwidth_bytes_per_s"].iloc[0])
        plots.plot_roofline(ax, df, peak, bw, title=str(point), legend=False)
        ax.title.set_fontsize("medium")
    for k in range(len(points), nrows * ncols):
        axes[k // ncols, k % ncols].set_visible(False)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, loc="outside right upper", fontsize="small")
    fig.suptitle(f"Roofline of each layer: {model}")
    return fig


def build_report(analysis, command: str, title: str | None = None,
                 chosen_profiles: bool = False) -> tuple[ReportData, dict[str, Figure]]:
    models = [m.label for m in analysis.models]
    sweep = pd.concat([analysis.rp_sweep, analysis.profile_sweep], ignore_index=True)
    figures: dict[str, Figure] = {}
    captions: dict[str, str] = {}

    fig, ax = plots.new_figure((9.5, 5.2))
    curve = pd.concat([analysis.rp_curve[analysis.rp_curve["ridge_point"] > 0], analysis.profile_sweep],
                      ignore_index=True)
    plots.plot_latency_vs_ridge_point(ax, curve, analysis.profiles or None)
    figures["latency_vs_ridge_point"] = fig
    captions["latency_vs_ridge_point"] = (
        "Roofline latency across ridge points at fixed bandwidth; dotted lines mark the hardware profiles."
    )

    has_top1 = sweep["top1"].notna().sum() >= 2
    if len(models) > 1 and has_top1:
        points = [p for p in dict.fromkeys(analysis.rp_sweep["point"])]
        figures["accuracy_vs_latency"] = plots.figure_accuracy_vs_latency(analysis.rp_sweep, points)
        captions["accuracy_vs_latency"] = "ImageNet top-1 vs roofline latency at each ridge point; Pareto frontier marked."
        if len(analysis.profile_sweep):
            prof_points = list(dict.fromkeys(analysis.profile_sweep["point"]))[:12]
            figures["accuracy_vs_latency_profiles"] = plots.figure_accuracy_vs_latency(
                analysis.profile_sweep, prof_points)
            captions["accuracy_vs_latency_profiles"] = "The same on hardware profiles."

    pl = analysis.per_layer
    layer_points = [p for p in dict.fromkeys(pl.loc[pl["hardware"].fillna("") == "", "point"])]
    by_key = {(m, p): pl[(pl["model"] == m) & (pl["point"] == p)] for m in models for p in layer_points}
    titles = {m.label: m.ref.display_name for m in analysis.models}
    figures["layer_latency"] = plots.figure_layer_latency(by_key, points=layer_points, models=models,
                                                          titles=titles)
    captions["layer_latency"] = "Per-layer roofline latency (conv, depthwise and FC layers), one row per ridge point."

    fig, ax = plots.new_figure((max(7.5, 0.45 * len(models) * (len(layer_points) + len(analysis.profiles)) + 3), 4.8))
    frames = {(m, p): g for (m, p), g in pl.groupby(["model", "point"], sort=False)}
    plots.plot_time_by_op_type(ax, frames, share=True)
    figures["time_by_op_type"] = fig
    captions["time_by_op_type"] = "Share of roofline latency by op type, per model and point."

    rpoints = roofline_points(analysis, chosen_profiles)
    for m in models[:4]:
        rf = _rooflines(analysis, m, rpoints)
        if rf is not None:
            figures[f"roofline_{m}"] = rf
            captions[f"roofline_{m}"] = f"Each layer of {m} on the roofline of each point (memory-only layers omitted)."

    summary: list[tuple[str, str]] = [("cost model", f"{analysis.cost_model.name}: {analysis.cost_model.description}")]
    from roofsweep.analysis import totals

    for m in analysis.models:
        t = totals(m, analysis.cost_model)
        summary.append((m.label, f"{fmt_macs(t['macs'])}, {m.trace.params:,} params, weights {fmt_bytes(t['weight_bytes'])}, "
                                 f"activations {fmt_bytes(t['activation_bytes'])} ({t['dtype']}), "
                                 f"mean intensity {fmt_intensity(t['intensity_macs_per_byte'])}"))
    layer_tables = {(m, p): g.reset_index(drop=True) for (m, p), g in frames.items()}
    report = ReportData(
        title=title or ("roofsweep: " + ", ".join(models)),
        command=command,
        preset=analysis.cost_model.name,
        summary=summary,
        sweep_df=sweep,
        layer_tables=layer_tables,
        figure_captions=captions,
        notes=list(analysis.notes),
        models=models,
        profiles=[p.name for p in analysis.profiles],
    )
    return report, figures
