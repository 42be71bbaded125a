"""The sentences at the top of the HTML report: how to read it, and what this run found.

The findings are computed from the report's own tables (the engine's numbers, formatted by
``roofsweep.units``): which layer dominates at the lowest and the highest ridge point, how much
of the latency is memory-bound there, which models hold the Pareto frontier and how wide the
hardware profiles' bounds spread.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from roofsweep.report.html_tables import num, with_share
from roofsweep.report.html_view import model_labels, ordered_layer_tables, split_sweep
from roofsweep.units import fmt_bandwidth, fmt_percent, fmt_rate, fmt_time

MAX_MODEL_FINDINGS = 4


def sweep_rates(sweep_df: pd.DataFrame | None) -> tuple[float | None, float | None]:
    """(bandwidth of the ridge-point rows, peak at RP 0) as the sweep holds them."""
    rp, _ = split_sweep(sweep_df)
    if rp.empty or "bandwidth_bytes_per_s" not in rp:
        return None, None
    bw = pd.to_numeric(rp["bandwidth_bytes_per_s"], errors="coerce")
    finite = bw[np.isfinite(bw.to_numpy(dtype=float))]
    zero = rp[pd.to_numeric(rp["ridge_point"], errors="coerce") == 0]
    peak0 = num(zero["peak_macs_per_s"].iloc[0]) if len(zero) and "peak_macs_per_s" in zero else None
    return (num(finite.iloc[0]) if len(finite) else None), peak0


def how_to_read(sweep_df: pd.DataFrame | None, bandwidth: float | None = None,
                rp0_peak: float | None = None) -> dict[str, str]:
    """Texts of the "how to read this page" box; rates default to what the sweep holds."""
    bw, peak0 = sweep_rates(sweep_df)
    bw, peak0 = bandwidth or bw, rp0_peak or peak0
    bw_text = fmt_bandwidth(bw) if bw else "the cost model's sweep bandwidth"
    peak_text = fmt_rate(peak0) if peak0 else "the cost model's RP 0 peak"
    return {"bandwidth": bw_text, "rp0_peak": peak_text}


def _layer_phrase(df: pd.DataFrame) -> str:
    d = with_share(df)
    r = d.loc[pd.to_numeric(d["time_s"], errors="coerce").idxmax()]
    return (f"{r['name']} ({r['op_type']}, {r['bound']}-bound) takes {fmt_percent(num(r['time_share']))}")


def _model_finding(label: str, tables: list[tuple[str, pd.DataFrame]], rp_rows: pd.DataFrame) -> str | None:
    tables = [(p, d) for p, d in tables if "time_s" in d and len(d) and d["time_s"].sum() > 0]
    if not tables:
        return None
    (p_lo, lo), (p_hi, hi) = tables[0], tables[-1]
    text = f"{label}: at {p_lo} {_layer_phrase(lo)} of the latency"
    if p_hi != p_lo:
        text += f"; at {p_hi} {_layer_phrase(hi)}"
    mb = {str(p): num(f) for p, f in zip(rp_rows.get("point", []), rp_rows.get("memory_bound_fraction", []))}
    if mb.get(p_lo) is not None and mb.get(p_hi) is not None and p_hi != p_lo:
        text += (f". Memory-bound layers take {fmt_percent(mb[p_lo])} of the latency at {p_lo} "
                 f"and {fmt_percent(mb[p_hi])} at {p_hi}")
    return text + "."


def _frontier_finding(frontier_share: pd.DataFrame | None, labels: Mapping[str, str]) -> str | None:
    if frontier_share is None or len(frontier_share) < 2:
        return None
    fs = frontier_share.assign(_s=pd.to_numeric(frontier_share["frontier_share"], errors="coerce")).dropna(subset=["_s"])
    fs = fs[fs["_s"] > 0].sort_values("_s", ascending=False, kind="stable")
    if fs.empty:
        return None
    parts = [f"{labels.get(str(m), str(m))} ({fmt_percent(s)})" for m, s in zip(fs["model"], fs["_s"])][:4]
    more = f" and {len(fs) - 4} more" if len(fs) > 4 else ""
    return ("On the accuracy-latency Pareto frontier over the ridge-point range (log scale): "
            + ", ".join(parts) + more + ".")


def _device_finding(sweep_df: pd.DataFrame | None, labels: Mapping[str, str]) -> str | None:
    _, hw = split_sweep(sweep_df)
    if hw.empty or hw["point"].nunique() < 2:
        return None
    m = str(hw["model"].iloc[0])
    d = hw[hw["model"].astype(str) == m]
    lat = pd.to_numeric(d["latency_s"], errors="coerce")
    fast, slow = d.loc[lat.idxmin()], d.loc[lat.idxmax()]
    return (f"On the hardware profiles {labels.get(m, m)}'s roofline bound ranges from "
            f"{fmt_time(num(fast['latency_s']))} ({fast['point']}) to {fmt_time(num(slow['latency_s']))} "
            f"({slow['point']}): each profile has its own peak and bandwidth.")


def key_findings(sweep_df: pd.DataFrame | None, layer_tables: Mapping[tuple[str, str], pd.DataFrame],
                 frontier_share: pd.DataFrame | None = None) -> list[str]:
    """A few sentences computed from the data; empty when there is nothing to say."""
    labels = model_labels(sweep_df)
    rp_rows, _ = split_sweep(sweep_df)
    by_model: dict[str, list[tuple[str, pd.DataFrame]]] = {}
    for (model, point), df in ordered_layer_tables(layer_tables):
        if "hardware" in df and len(df) and str(df["hardware"].fillna("").iloc[0]):
            continue  # ridge-point tables only: they share one bandwidth, so they compare
        by_model.setdefault(str(model), []).append((str(point), df))
    out = []
    for model, tables in list(by_model.items())[:MAX_MODEL_FINDINGS]:
        rows = rp_rows[rp_rows["model"].astype(str) == model] if "model" in rp_rows else rp_rows
        s = _model_finding(labels.get(model, model), tables, rows)
        if s:
            out.append(s)
    for s in (_frontier_finding(frontier_share, labels), _device_finding(sweep_df, labels)):
        if s:
            out.append(s)
    return out


__all__ = ["key_findings", "how_to_read", "sweep_rates"]
