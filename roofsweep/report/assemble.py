"""From an ``Analysis`` to a report: which figures and tables a sweep or comparison shows.

``build_report(analysis, command)`` returns the ``ReportData`` (with the data of the charts the
page draws itself, ``html_charts``) and, with ``figures=True``, the matplotlib figures that
``bundle.write_report`` writes as files. Pure: it builds objects, writes nothing. Matplotlib is
imported only when figures are asked for.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from roofsweep.analysis import profile_duplicates
from roofsweep.engine.sweep import points_by_ridge_point
from roofsweep.report.data import ReportData
from roofsweep.report.html_charts import PAPER_POINT_NAMES, chart_payload
from roofsweep.units import fmt_bandwidth, fmt_bytes, fmt_intensity, fmt_macs

if TYPE_CHECKING:
    from matplotlib.figure import Figure

MAX_ROOFLINE_PANELS = 8
MAX_ACCURACY_PANELS = 4  # accuracy-vs-latency panels on ridge points: one row, as the paper's Fig. 2
MAX_PROFILE_PANELS = 4  # accuracy-vs-latency panels on profiles (one row)
MAX_OP_PANELS = 4  # time-by-op-type panels (ridge points + profiles; one row)


def distinct_profile_points(analysis) -> list[str]:
    """The profiles of the analysis, by ridge point, less those identical (dtype, peak and
    bandwidth) to a point of the ridge-point sweep - e.g. the paper archetype profiles, which
    would repeat a ridge-point panel."""
    ps = analysis.profile_sweep
    if not len(ps):
        return []
    same = _same_as(analysis)
    return [p for p in points_by_ridge_point(ps) if p not in same]


def _same_as(analysis) -> dict[str, str]:
    same = getattr(analysis, "same_as", None)  # an Analysis holds it; other namespaces may not
    return dict(same) if same is not None else profile_duplicates(analysis.rp_sweep, analysis.profile_sweep)


def _duplicates_note(analysis, kept: list[str]) -> str:
    ps = analysis.profile_sweep
    dropped = [p for p in dict.fromkeys(ps["point"]) if p not in kept] if len(ps) else []
    return (f" Not repeated here: {', '.join(dropped)} (the same as a ridge-point panel)." if dropped else "")


def spread_pick(items: list, n: int) -> list:
    """``n`` of ``items`` (all if they fit), evenly spread from first to last, order kept."""
    if n <= 0:
        return []
    if len(items) <= n:
        return list(items)
    if n == 1:
        return [items[0]]
    idx = sorted({round(i * (len(items) - 1) / (n - 1)) for i in range(n)})
    return [items[i] for i in idx]


def accuracy_points(rp_sweep: pd.DataFrame) -> list[str]:
    """The ridge points that get an accuracy-vs-latency panel: all up to four; beyond that the
    paper's four (RP 0 / 5 / 50 / 500) when the sweep has them, else four spread from the
    lowest ridge point to the highest."""
    pts = rp_sweep.drop_duplicates("point").sort_values("ridge_point", kind="stable")
    points = [str(p) for p in pts["point"]]
    if len(points) <= MAX_ACCURACY_PANELS:
        return points
    paper = [str(p) for p, rp in zip(pts["point"], pts["ridge_point"]) if float(rp) in PAPER_POINT_NAMES]
    return paper if len(paper) == MAX_ACCURACY_PANELS else spread_pick(points, MAX_ACCURACY_PANELS)


def roofline_points(analysis, chosen_profiles: bool) -> list[str]:
    """Points that get a classic roofline chart: the per-layer ridge points, plus each profile
    when the user chose the profiles (all ~20 shipped ones would bury the page)."""
    pl = analysis.per_layer
    points = list(dict.fromkeys(pl.loc[pl["hardware"].fillna("") == "", "point"]))
    if chosen_profiles:
        points += [p.name for p in analysis.profiles]
    return points[:MAX_ROOFLINE_PANELS]


MAX_ROOFLINE_MODELS = 4


def roofline_models(analysis, models: list[str]) -> list[str]:
    """The models that get a roofline grid: all of them up to four; beyond that the four that
    hold the Pareto frontier over the largest share of the ridge-point range (ties: given order)."""
    if len(models) <= MAX_ROOFLINE_MODELS:
        return list(models)
    share = dict(zip(analysis.frontier_share["model"], analysis.frontier_share["frontier_share"]))

    def held(i: int) -> float:
        v = share.get(models[i])
        return -1.0 if v is None or v != v else float(v)  # no top-1 (NaN): last

    order = sorted(range(len(models)), key=lambda i: (-held(i), i))
    return [models[i] for i in order[:MAX_ROOFLINE_MODELS]]


def _rooflines(analysis, model: str, points: list[str]) -> Figure | None:
    """Small multiples: the classic roofline of ``model`` on each point (RPs, then profiles)."""
    from roofsweep.report import figures as F

    pl = analysis.per_layer[analysis.per_layer["model"] == model]
    return F.figure_rooflines(pl, points, title=f"Roofline of each layer: {model}")


def _layer_figures(analysis, models: list[str], layer_points: list[str], titles: dict) -> tuple[dict, dict]:
    """Fig. 3: one image per per-layer point and group of four models, every op type drawn."""
    from roofsweep.report import figures as F

    pl = analysis.per_layer
    by_key = {(m, p): pl[(pl["model"] == m) & (pl["point"] == p)] for m in models for p in layer_points}
    rp_of = dict(zip(pl["point"], pl["ridge_point"])) if "ridge_point" in pl else {}
    row_titles = {p: F.point_title(p, rp_of.get(p)) for p in layer_points}
    figures, captions = {}, {}
    for k, fig in enumerate(F.layer_latency_figures(by_key, points=layer_points, models=models, titles=titles,
                                                    point_titles=row_titles)):
        name = "layer_latency" if k == 0 else f"layer_latency_{k + 1}"
        figures[name] = fig
        captions[name] = LAYER_CAPTION
    return figures, captions


LAYER_CAPTION = ("Per-layer roofline latency, one dot per layer coloured by op type (the paper's Fig. 3 "
                 "draws conv, depthwise and FC; attention, matmul and elementwise rows are drawn too), "
                 "layers counted in order.")


def _held(analysis) -> str:
    bw = analysis.cost_model.sweep_bandwidth_bytes_per_s
    return f"bandwidth fixed at {fmt_bandwidth(bw)}" if bw and bw < float("inf") else ""


def _curve_caption(analysis) -> str:
    held = _held(analysis)
    return (
        f"Lines: roofline latency of each model across the ridge-point sweep ({held}, the peak "
        "scaling with the ridge point). Dotted verticals: the hardware profiles' ridge points; crosses: "
        "each model on a profile (one marker shape per model) at that profile's own peak and bandwidth, "
        "so a marker sits above or below its model's line by how the profile's bandwidth compares with the sweep's."
        if len(analysis.profile_sweep) else
        f"Roofline latency of each model across the ridge-point sweep ({held})."
    ).replace(" ()", "")


def _accuracy_caption(analysis, points: list[str]) -> str:
    all_points = list(dict.fromkeys(analysis.rp_sweep["point"]))
    return "ImageNet top-1 vs roofline latency at each ridge point; Pareto frontier marked." + (
        f" {len(points)} of the {len(all_points)} ridge points ({', '.join(points)}); every point is in the "
        "tables." if len(points) < len(all_points) else "")


def _layer_points(analysis) -> list[str]:
    pl = analysis.per_layer
    return list(dict.fromkeys(pl.loc[pl["hardware"].fillna("") == "", "point"]))


def _has_accuracy(analysis, models: list[str]) -> bool:
    return len(models) > 1 and analysis.rows["top1"].notna().sum() >= 2


def chart_data(analysis) -> dict:
    """The page's charts (``html_charts.chart_payload``) from the analysis' own rows."""
    models = [m.label for m in analysis.models]
    acc = accuracy_points(analysis.rp_sweep) if _has_accuracy(analysis, models) else []
    captions = {"latency_vs_ridge_point": _curve_caption(analysis), "layer_latency": LAYER_CAPTION,
                "accuracy_vs_latency": _accuracy_caption(analysis, acc) if acc else ""}
    return chart_payload(analysis.rp_curve, analysis.profile_sweep, analysis.rp_sweep, analysis.per_layer, models,
                         layer_points=_layer_points(analysis), accuracy_points=acc, captions=captions)


def build_figures(analysis, chosen_profiles: bool = False) -> tuple[dict[str, Figure], dict[str, str]]:
    """The matplotlib figures of a report (for ``figures/``) and their captions."""
    from roofsweep.report import figures as F

    models = [m.label for m in analysis.models]
    sweep = analysis.rows
    figures: dict[str, Figure] = {}
    captions: dict[str, str] = {}

    fig, ax = F.new_figure((9.5, 5.2))
    curve = pd.concat([analysis.rp_curve[analysis.rp_curve["ridge_point"] > 0], analysis.profile_sweep],
                      ignore_index=True)
    F.plot_latency_vs_ridge_point(ax, curve, analysis.profiles or None)
    figures["latency_vs_ridge_point"] = fig
    captions["latency_vs_ridge_point"] = _curve_caption(analysis)

    if _has_accuracy(analysis, models):
        points = accuracy_points(analysis.rp_sweep)
        figures["accuracy_vs_latency"] = F.figure_accuracy_vs_latency(analysis.rp_sweep, points)
        captions["accuracy_vs_latency"] = _accuracy_caption(analysis, points)
        prof_points = distinct_profile_points(analysis)
        if prof_points:
            shown = spread_pick(prof_points, MAX_PROFILE_PANELS)
            fig = F.figure_accuracy_vs_latency(analysis.profile_sweep, shown)
            fig.suptitle("Roofline latency vs accuracy on hardware profiles")
            figures["accuracy_vs_latency_profiles"] = fig
            captions["accuracy_vs_latency_profiles"] = (
                "The same on hardware profiles, each at its own peak and bandwidth, by ridge point"
                + (f" ({len(shown)} of {len(prof_points)} profiles, spread across the ridge points; "
                   "all are in the table below)." if len(shown) < len(prof_points) else ".")
                + _duplicates_note(analysis, prof_points))

    pl = analysis.per_layer
    layer_points = _layer_points(analysis)
    titles = {m.label: m.ref.display_name for m in analysis.models}
    layer_figs, layer_caps = _layer_figures(analysis, models, layer_points, titles)
    figures.update(layer_figs)
    captions.update(layer_caps)

    frames = {(m, p): g for (m, p), g in pl.groupby(["model", "point"], sort=False)}
    prof_points = distinct_profile_points(analysis)
    op_points = layer_points + spread_pick(prof_points, MAX_OP_PANELS - len(layer_points))
    shown_frames = {(m, p): frames[(m, p)] for p in op_points for m in models if (m, p) in frames}
    rp_of = dict(zip(sweep["point"], sweep["ridge_point"]))
    hw_points = set(analysis.profile_sweep["point"]) if len(analysis.profile_sweep) else set()
    figures["time_by_op_type"] = F.figure_time_by_op_type(
        shown_frames, share=True, labels=titles, points=op_points,
        titles={p: F.point_title(p, rp_of.get(p), "hw" if p in hw_points else "") for p in op_points})
    n_prof = len(op_points) - len(layer_points)
    captions["time_by_op_type"] = "Share of roofline latency by op type, per model and point" + (
        f" ({n_prof} of {len(prof_points)} hardware profiles, spread across the ridge points)."
        if n_prof < len(prof_points) else ".")

    rpoints = roofline_points(analysis, chosen_profiles)
    for m in roofline_models(analysis, models):
        rf = _rooflines(analysis, m, rpoints)
        if rf is not None:
            figures[f"roofline_{m}"] = rf
            captions[f"roofline_{m}"] = f"Each layer of {m} on the roofline of each point (memory-only layers omitted)."
    return figures, captions


def build_report(analysis, command: str, title: str | None = None, chosen_profiles: bool = False,
                 figures: bool = True) -> tuple[ReportData, dict[str, Figure]]:
    """The report of ``analysis`` (its page draws its charts from ``ReportData.charts``) and,
    with ``figures=True``, the matplotlib figures to write as files (else ``{}``: matplotlib is
    then not imported)."""
    models = [m.label for m in analysis.models]
    figs, captions = build_figures(analysis, chosen_profiles) if figures else ({}, {})
    pl = analysis.per_layer
    layer_points = _layer_points(analysis)
    frames = {(m, p): g for (m, p), g in pl.groupby(["model", "point"], sort=False)}
    # Per-layer tables (HTML and layers/*.csv): every point for one model; for several models the
    # ridge points and the profiles the user chose - all ~20 shipped profiles x N models would
    # make a page of many megabytes (the sweep.csv still has every model on every profile).
    keep = set(layer_points) | ({p.name for p in analysis.profiles} if chosen_profiles or len(models) == 1 else set())
    layer_tables = {(m, p): g.reset_index(drop=True) for (m, p), g in frames.items() if p in keep}
    report = ReportData(
        title=title or ("roofsweep: " + ", ".join(models)),
        command=command,
        preset=analysis.cost_model.name,
        summary=_summary(analysis),
        sweep_df=analysis.rows,
        layer_tables=layer_tables,
        figure_captions=captions,
        notes=list(analysis.notes),
        models=models,
        profiles=[p.name for p in analysis.profiles],
        frontier_share=analysis.frontier_share,
        explorer=explorer_data(analysis),
        charts=chart_data(analysis),
        totals=analysis.totals,
        dominant=analysis.dominant,
        same_as=dict(analysis.same_as),
    )
    return report, figs


def explorer_data(analysis) -> dict:
    """The HTML explorer's data: each model's layers as the ridge-point sweep costs them
    (``Analysis.costed``, computed once by ``analyze``)."""
    from roofsweep.report.html_view import explorer_payload

    cm = analysis.cost_model
    costed = {label: rows for label, rows in analysis.costed.groupby("model", sort=False)}
    meta = {m.label: {"display_name": m.ref.display_name, "top1": top1}
            for m, top1 in zip(analysis.models, _top1s(analysis))}
    return explorer_payload(costed, meta, bandwidth_bytes_per_s=cm.sweep_bandwidth_bytes_per_s,
                            rp0_peak_macs_per_s=cm.rp0_peak_macs_per_s, dtype=cm.resolve_dtype(None),
                            preset=cm.name)


def _top1s(analysis) -> list:
    """Each model's top-1 as the sweep holds it (the zoo's, or the user's ``accuracy``)."""
    first = analysis.rp_sweep.drop_duplicates("model").set_index("model")["top1"]
    return [first.get(m.label) for m in analysis.models]


def _summary(analysis) -> list[tuple[str, str]]:
    """The run summary rows: the cost model, then each model's totals (read from the analysis)."""
    cm = analysis.cost_model
    summary: list[tuple[str, str]] = [("cost model", f"{cm.name}: {cm.description}")]
    for m in analysis.models:
        t = analysis.totals.loc[m.label]
        summary.append((m.label, f"{fmt_macs(t['macs'])}, {m.trace.params:,} params, weights {fmt_bytes(t['weight_bytes'])}, "
                                 f"activations {fmt_bytes(t['activation_bytes'])} ({t['dtype']}), "
                                 f"mean intensity {fmt_intensity(t['intensity_macs_per_byte'])}"))
    return summary
