"""Terminal tables of sweeps: the ridge-point sweep and the hardware profiles as two tables, and
the model comparison (split into parts rather than cut when its point columns do not fit).

The ridge-point table holds the bandwidth fixed (the paper's 40 GB/s; a header line says so), its
RP column rises monotonically, and RP 0 - "MACs only", where memory is free - is a row of its own
above it. Profiles that repeat a ridge-point row exactly (the paper archetypes) are named on that
row instead of repeated. Profiles, each at its own peak and bandwidth, follow in a table of their
own; their latencies are labelled roofline bounds unless a ``latency_is`` column says otherwise.
Nothing here computes: the inputs are the sweep frames of ``roofsweep.analysis.Analysis``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from rich.console import Group
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from roofsweep.engine.sweep import points_by_ridge_point
from roofsweep.report.format import (FRONTIER_MARK, Col, FitTable, fmt_g, fmt_top1, latency_label,
                                     macs_only_label, model_label, num, plain_table, sweep_held_text)
from roofsweep.units import fmt_bandwidth, fmt_macs, fmt_percent, fmt_rate, fmt_time


def _is_hw(df: pd.DataFrame) -> pd.Series:
    if "hardware" not in df:
        return pd.Series(False, index=df.index)
    return df["hardware"].fillna("").astype(str) != ""


def held_lines(rp_df: pd.DataFrame) -> list[str]:
    """The header lines of a ridge-point table: what the sweep holds fixed, and what RP 0 is."""
    lines = []
    pos = rp_df[rp_df["ridge_point"] > 0]
    bw = pd.to_numeric(pos["bandwidth_bytes_per_s"], errors="coerce")
    pk = pd.to_numeric(pos["peak_macs_per_s"], errors="coerce")
    if len(pos) and np.isfinite(bw).all() and np.allclose(bw, bw.iloc[0], rtol=1e-9):
        lines.append(sweep_held_text(float(bw.iloc[0])))
    elif len(pos) and np.allclose(pk, pk.iloc[0], rtol=1e-9):
        lines.append(f"peak fixed at {fmt_rate(float(pk.iloc[0]))}: bandwidth = peak / RP")
    zero = rp_df[rp_df["ridge_point"] == 0]
    if len(zero):
        lines.append(f"{macs_only_label(float(zero['peak_macs_per_s'].iloc[0]))}: RP 0, "
                     "outside that sweep")
    return lines


def _merged(point: str, same_as: Mapping[str, str]) -> str:
    return ", ".join(p for p, rp in same_as.items() if rp == point)


def ridge_point_table(rp_df: pd.DataFrame, *, same_as: Mapping[str, str] | None = None) -> FitTable:
    """Ridge-point rows, RP 0 ("MACs only") first and apart, then by rising ridge point. One
    model: latency, MAC time, memory time, memory-bound share; several: a latency per model
    (``*`` = on the Pareto frontier there). ``same_as``: profile -> the RP point it repeats."""
    same_as = same_as or {}
    names = list(dict.fromkeys(rp_df["model"]))
    single = len(names) == 1
    points = points_by_ridge_point(rp_df)
    has_merged = any(rp in points for rp in same_as.values())
    cols = [Col("point")]
    if single:
        cols += [Col("latency", "right"), Col("MAC time", "right", 2), Col("mem time", "right", 3),
                 Col("mem-bound", "right", 1)]
    else:
        first = rp_df.drop_duplicates("model").set_index("model")
        cols += [Col(model_label(first.loc[m].to_dict() | {"model": m}), "right") for m in names]
    if has_merged:
        cols.append(Col("profile", drop=4))
    table = FitTable(None, cols)
    by = rp_df.set_index(["point", "model"])
    for p in points:
        r0 = by.loc[(p, names[0])] if (p, names[0]) in by.index else rp_df[rp_df["point"] == p].iloc[0]
        row = ["MACs only" if float(r0["ridge_point"]) == 0 else p]
        if single:
            row += [fmt_time(num(r0["latency_s"])), fmt_time(num(r0["mac_time_s"])),
                    fmt_time(num(r0["mem_time_s"])), fmt_percent(num(r0.get("memory_bound_fraction")))]
        else:
            row += [_latency_cell(by, p, m) for m in names]
        if has_merged:
            row.append(_merged(p, same_as))
        table.add_row(*row, end_section=float(r0["ridge_point"]) == 0 and len(points) > 1)
    if not single and "on_frontier" in rp_df:
        table.caption = f"{FRONTIER_MARK} = on the Pareto frontier"
    return table


def _latency_cell(by: pd.DataFrame, point: str, model: str) -> str:
    if (point, model) not in by.index:
        return "-"
    r = by.loc[(point, model)]
    star = f" {FRONTIER_MARK}" if bool(r.get("on_frontier", False)) else ""
    return fmt_time(num(r["latency_s"])) + star


def device_table(profile_df: pd.DataFrame, *, same_as: Mapping[str, str] | None = None) -> FitTable:
    """Hardware-profile rows by ridge point, each at its own peak and bandwidth (profiles in
    ``same_as`` left out: the ridge-point table names them). ``is``: ``bound`` (a roofline bound)
    unless the row's ``latency_is`` says otherwise."""
    same_as = same_as or {}
    df = profile_df[~profile_df["point"].isin(list(same_as))]
    names = list(dict.fromkeys(df["model"]))
    single = len(names) == 1
    cols = [Col("profile"), Col("dtype", drop=2), Col("RP", "right"), Col("peak", "right", 4),
            Col("bandwidth", "right", 3)]
    if single:
        cols += [Col("latency", "right"), Col("is"), Col("mem-bound", "right", 5)]
    else:
        first = df.drop_duplicates("model").set_index("model")
        cols += [Col(model_label(first.loc[m].to_dict() | {"model": m}), "right") for m in names]
        cols.append(Col("is"))
    table = FitTable(None, cols)
    by = df.set_index(["point", "model"])
    for p in points_by_ridge_point(df):
        r = by.loc[(p, names[0])] if (p, names[0]) in by.index else df[df["point"] == p].iloc[0]
        row = [p, str(r.get("dtype", "")), fmt_g(r["ridge_point"]), fmt_rate(num(r["peak_macs_per_s"])),
               fmt_bandwidth(num(r["bandwidth_bytes_per_s"]))]
        if single:
            row += [fmt_time(num(r["latency_s"])), latency_label(r), fmt_percent(num(r.get("memory_bound_fraction")))]
        else:
            row += [_latency_cell(by, p, m) for m in names] + [latency_label(r)]
        table.add_row(*row)
    if not single and "on_frontier" in df:
        table.caption = f"{FRONTIER_MARK} = on the Pareto frontier"
    return table


def sweep_table(sweep_df: pd.DataFrame, *, models: Sequence[str] | None = None, title: str | None = None,
                same_as: Mapping[str, str] | None = None) -> Group:
    """The ridge-point sweep and the hardware profiles of ``sweep_df`` (the ``Analysis.rows``),
    as two tables under their header lines."""
    df = sweep_df if models is None else sweep_df[sweep_df["model"].isin(models)]
    hw = _is_hw(df)
    rp, prof = df[~hw], df[hw]
    names = list(dict.fromkeys(df["model"]))
    title = title or ("Ridge-point sweep" + (f": {names[0]}" if len(names) == 1 else ""))
    parts: list = []
    if len(rp):
        parts += [Text(title, style="bold")] + [Text(ln) for ln in held_lines(rp)]
        parts.append(ridge_point_table(rp, same_as=same_as))
    shown = prof[~prof["point"].isin(list(same_as or {}))]
    if len(shown):
        if parts:
            parts.append(Text(""))
        parts.append(Text("Hardware profiles, each at its own peak and bandwidth (bound = roofline bound)",
                          style="bold"))
        parts.append(device_table(prof, same_as=same_as))
    return Group(*parts)


# ----------------------------------------------------------------------------- compare
def compare_table(sweep_df: pd.DataFrame, *, frontier_share: pd.DataFrame | None = None,
                  points: Sequence[str] | None = None, title: str | None = "Model comparison",
                  same_as: Mapping[str, str] | None = None) -> "CompareTable":
    """Models as rows (by top-1), with MACs, latency at each point (``*`` = on the Pareto frontier
    there) and, if given, the share of the RP range on which each model is Pareto-optimal.

    RP 0 is headed ``MACs only``; profiles in ``same_as`` (repeating an RP column) are left out.
    Rendered at the console's width: when all the point columns do not fit, the table is split
    into several, each repeating the model columns - never truncated or folded mid-name."""
    same_as = same_as or {}
    if points is None:
        points = [p for p in points_by_ridge_point(sweep_df) if p not in same_as]
    return CompareTable(sweep_df, frontier_share, list(points), title, same_as)


class CompareTable:
    """``compare_table``'s renderable: one or more rich Tables, split by point at render time."""

    def __init__(self, sweep_df: pd.DataFrame, frontier_share: pd.DataFrame | None, points: list[str],
                 title: str | None, same_as: Mapping[str, str] | None = None):
        self.sweep_df, self.points, self.title = sweep_df, points, title
        self.share = (dict(zip(frontier_share["model"], frontier_share["frontier_share"]))
                      if frontier_share is not None else None)
        first = sweep_df.drop_duplicates("model")
        self.rows = first.assign(_t=pd.to_numeric(first["top1"], errors="coerce")).sort_values("_t", na_position="last")
        self.by = sweep_df.set_index(["model", "point"])
        rp0 = sweep_df[(sweep_df["ridge_point"] == 0) & ~_is_hw(sweep_df) & sweep_df["point"].isin(points)]
        self.headers = {str(p): "MACs only" for p in rp0["point"]}
        notes = []
        if "on_frontier" in sweep_df:
            notes.append(f"{FRONTIER_MARK} = on the accuracy-latency Pareto frontier at that point")
        if self.share is not None:
            notes.append("on frontier = share of the ridge-point range (log scale, RP > 0) on which "
                         "the model is on the frontier")
        merged = {p: rp for p, rp in (same_as or {}).items() if rp in points}
        if merged:
            notes.append("profiles equal to an RP column: " + ", ".join(f"{p} ({rp})" for p, rp in merged.items()))
        self.caption = "; ".join(notes) or None

    def table(self, points: Sequence[str], *, title: str | None = "", caption: str | None = "",
              share: bool = True) -> Table:
        table = plain_table(self.title if title == "" else title, collapse_padding=True, padding=(0, 1))
        table.add_column("model", no_wrap=True)
        table.add_column("top-1", justify="right", no_wrap=True)
        table.add_column("MACs", justify="right", no_wrap=True)
        for p in points:
            table.add_column(self.headers.get(str(p), str(p)), justify="right", no_wrap=True)
        share = share and self.share is not None
        if share:
            table.add_column("on frontier", justify="right", no_wrap=True)
        for _, r in self.rows.iterrows():
            row = [model_label(r), fmt_top1(r.get("top1")), fmt_macs(num(r.get("macs")))]
            for p in points:
                if (r["model"], p) not in self.by.index:
                    row.append("-")
                    continue
                c = self.by.loc[(r["model"], p)]
                row.append(fmt_time(num(c["latency_s"])) + (FRONTIER_MARK if bool(c.get("on_frontier", False)) else " "))
            if share:
                row.append(fmt_percent(num(self.share.get(r["model"]))))
            table.add_row(*row)
        table.caption = self.caption if caption == "" else caption
        table.caption_justify = "left"
        return table

    def chunks(self, fits) -> list[list[str]]:
        """The points split into runs, each as long as ``fits(run)`` allows (at least one)."""
        out: list[list[str]] = [[]]
        for p in self.points:
            if out[-1] and not fits(out[-1] + [p]):
                out.append([])
            out[-1].append(p)
        return out

    def balanced(self, runs: list[list[str]], fits) -> list[list[str]]:
        """The same number of runs as ``runs``, of near-equal length, if they all fit (the last
        with the share column); else ``runs``."""
        n, r = len(self.points), len(runs)
        sizes = [n // r + (1 if k < n % r else 0) for k in range(r)]
        out, i = [], 0
        for size in sizes:
            out.append(self.points[i:i + size])
            i += size
        ok = all(fits(run, share=(k == r - 1)) for k, run in enumerate(out))
        return out if ok else runs

    def __rich_console__(self, console, options):
        width = options.max_width
        wide = options.update(max_width=10**6)

        def fits(pts: list[str], share: bool = False) -> bool:
            return Measurement.get(console, wide, self.table(pts, share=share)).maximum <= width

        runs = self.chunks(fits)
        while len(runs[-1]) > 1 and not fits(runs[-1], share=True):  # the last run carries the share
            runs[-1:] = [runs[-1][:-1], runs[-1][-1:]]
        if len(runs) > 1:
            runs = self.balanced(runs, fits)
        for k, run in enumerate(runs):
            last = k == len(runs) - 1
            part = f"points {k + 1}/{len(runs)}"
            head = self.title if len(runs) == 1 else (
                f"{self.title} ({part})" if k == 0 and self.title else f"({part})")
            yield self.table(run, title=head, share=last, caption=None)
        if self.caption:  # the notes wrap at the console's width, below the last part
            yield Text(self.caption)


__all__ = ["sweep_table", "ridge_point_table", "device_table", "held_lines", "compare_table", "CompareTable"]
