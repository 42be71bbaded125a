"""The data of the charts the HTML page draws itself (``templates/assets/charts.js``).

``chart_payload`` selects, from the analysis' DataFrames, the rows each chart plots - nothing is
recomputed here: every latency is the engine's (``Analysis.rp_curve``, ``profile_sweep``,
``per_layer``, ``rp_sweep``). The page builds SVG from it, so no image is drawn in Python and
matplotlib is not imported unless figure files are asked for (``--figures svg|png``).

Colours are the matplotlib figures' (``report.figures.style``), repeated here so that this
module does not import matplotlib; a test holds the two tables equal.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import pandas as pd

# = report.figures.style.FAMILY_COLORS / OTHER_COLORS / OP_COLORS / OP_LABELS / PAPER_POINT_NAMES
FAMILY_COLORS = {"MobileNetV1": "#1f77b4", "MobileNetV2": "#7b3294", "MobileNetV3": "#2ca02c",
                 "MobileNetV4": "#d62728"}
OTHER_COLORS = ("#ff7f0e", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f", "#393b79", "#637939")
OP_COLORS = {"conv2d": "#1f77b4", "dwconv2d": "#ff7f0e", "fc": "#d62728", "matmul": "#9467bd",
             "attention": "#e377c2", "elementwise": "#8c8c8c", "pool": "#bcbd22", "other": "#17becf"}
OP_LABELS = {"conv2d": "Conv2D", "dwconv2d": "DW-Conv2D", "fc": "FC", "matmul": "MatMul",
             "attention": "Attention", "elementwise": "Elementwise", "pool": "Pool", "other": "Other"}
PAPER_POINT_NAMES = {0.0: "MACs", 5.0: "Slow CPU", 50.0: "Fast CPU", 500.0: "Accelerator"}


def family_colors(families: Sequence[str]) -> dict[str, str]:
    """The paper's colour for V1-V4, the next of ``OTHER_COLORS`` for any other family."""
    out: dict[str, str] = {}
    k = 0
    for f in families:
        if f not in out:
            if f in FAMILY_COLORS:
                out[f] = FAMILY_COLORS[f]
            else:
                out[f] = OTHER_COLORS[k % len(OTHER_COLORS)]
                k += 1
    return out


def point_title(point: str, ridge_point) -> str:
    """``RP: 5.00 MACs/byte - Slow CPU`` (as ``style.point_title`` for a ridge point)."""
    rp = _f(ridge_point)
    if rp is None:
        return str(point)
    name = PAPER_POINT_NAMES.get(rp)
    value = f"{rp:.2f}" if abs(rp) < 1e4 else f"{rp:.0f}"
    return f"RP: {value} MACs/byte" + (f" \N{EN DASH} {name}" if name else "")


def _f(v) -> float | None:
    try:
        x = float(v)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def _positive(df: pd.DataFrame, col: str) -> pd.DataFrame:
    v = pd.to_numeric(df[col], errors="coerce")
    return df[v.notna() & (v > 0) & (v < math.inf)]


def _models(sweep: pd.DataFrame, labels: Sequence[str]) -> list[dict]:
    first = sweep.drop_duplicates("model").set_index("model")
    fam = {m: str(first["family"].get(m, "")) if "family" in first else "" for m in labels}
    colors = family_colors([fam[m] or m for m in labels])
    disp = first["display_name"] if "display_name" in first else pd.Series(dtype=object)
    return [{"label": m, "name": str(disp.get(m) or m), "family": fam[m] or m, "color": colors[fam[m] or m]}
            for m in labels]


def curve_chart(rp_curve: pd.DataFrame, profile_sweep: pd.DataFrame, rp_sweep: pd.DataFrame,
                labels: Sequence[str], caption: str) -> dict:
    """Latency vs ridge point: each model's curve rows (RP > 0, by ridge point; the rows of the
    named sweep points marked) and each profile's point per model."""
    curve = _positive(_positive(rp_curve, "ridge_point"), "latency_s")
    named = set(pd.to_numeric(rp_sweep["ridge_point"], errors="coerce")) if len(rp_sweep) else set()
    series = []
    for m in labels:
        g = curve[curve["model"] == m].sort_values("ridge_point", kind="stable")
        rps = [float(x) for x in g["ridge_point"]]
        series.append({"model": m, "ridge_point": rps, "latency_s": [float(x) for x in g["latency_s"]],
                       "marks": [i for i, rp in enumerate(rps) if rp in named]})
    profiles = []
    ps = _positive(_positive(profile_sweep, "ridge_point"), "latency_s") if len(profile_sweep) else profile_sweep
    for point, g in (ps.groupby("point", sort=False) if len(ps) else []):
        profiles.append({"name": str(point), "ridge_point": float(g["ridge_point"].iloc[0]),
                         "points": [{"model": str(m), "latency_s": float(t)} for m, t in zip(g["model"], g["latency_s"])]})
    profiles.sort(key=lambda p: p["ridge_point"])
    return {"series": series, "profiles": profiles, "caption": caption}


def layer_chart(per_layer: pd.DataFrame, labels: Sequence[str], points: Sequence[str], caption: str) -> dict:
    """Per-layer latency (the paper's Fig. 3): one panel per (point, model), one dot per layer
    in execution order with its op type and the engine's ``time_s``."""
    panels, ops = [], []
    for p in points:
        for m in labels:
            g = per_layer[(per_layer["point"] == p) & (per_layer["model"] == m)]
            if g.empty:
                continue
            ops += list(g["op_type"])
            panels.append({"model": m, "point": str(p), "ridge_point": _f(g["ridge_point"].iloc[0]),
                           "title": point_title(p, g["ridge_point"].iloc[0]),
                           "index": [int(x) for x in g["index"]], "name": [str(x) for x in g["name"]],
                           "op_type": [str(x) for x in g["op_type"]], "time_s": [float(x) for x in g["time_s"]]})
    present = list(dict.fromkeys(ops))
    order = [o for o in OP_COLORS if o in present] + sorted(o for o in present if o not in OP_COLORS)
    return {"panels": panels, "ops": order, "op_colors": {o: OP_COLORS.get(o, "#555555") for o in order},
            "op_labels": {o: OP_LABELS.get(o, o) for o in order}, "caption": caption}


def accuracy_chart(rp_sweep: pd.DataFrame, points: Sequence[str], models: Sequence[Mapping], caption: str) -> dict:
    """Accuracy vs latency (the paper's Fig. 2): one panel per ridge point, the models with a
    top-1 and a positive latency, each flagged on / off the Pareto frontier as the engine has it."""
    panels = []
    rows = _positive(rp_sweep[pd.to_numeric(rp_sweep["top1"], errors="coerce").notna()], "latency_s")
    for p in points:
        g = rows[rows["point"] == p]
        if g.empty:
            continue
        panels.append({"point": str(p), "ridge_point": _f(g["ridge_point"].iloc[0]),
                       "title": point_title(p, g["ridge_point"].iloc[0]), "model": [str(m) for m in g["model"]],
                       "latency_s": [float(x) for x in g["latency_s"]], "top1": [float(x) for x in g["top1"]],
                       "on_frontier": [bool(x) for x in g["on_frontier"]]})
    fams = list(dict.fromkeys(m["family"] for m in models))
    paper = [f for f in reversed(FAMILY_COLORS) if f in fams]  # legend V4 first, as the paper's
    order = paper + [f for f in fams if f not in FAMILY_COLORS]
    color = {m["family"]: m["color"] for m in models}
    return {"panels": panels, "families": [{"family": f, "color": color[f]} for f in order], "caption": caption}


def chart_payload(rp_curve: pd.DataFrame, profile_sweep: pd.DataFrame, rp_sweep: pd.DataFrame,
                  per_layer: pd.DataFrame, labels: Sequence[str], *, layer_points: Sequence[str],
                  accuracy_points: Sequence[str] = (), captions: Mapping[str, str] | None = None) -> dict:
    """JSON-ready data of every chart the page draws (see the module docstring)."""
    captions = captions or {}
    models = _models(rp_sweep, labels)
    out = {"models": models,
           "curve": curve_chart(rp_curve, profile_sweep, rp_sweep, labels, captions.get("latency_vs_ridge_point", "")),
           "layers": layer_chart(per_layer, labels, layer_points, captions.get("layer_latency", ""))}
    if accuracy_points:
        out["accuracy"] = accuracy_chart(rp_sweep, accuracy_points, models, captions.get("accuracy_vs_latency", ""))
    return out


__all__ = ["chart_payload", "curve_chart", "layer_chart", "accuracy_chart", "family_colors", "point_title"]
