"""Rich renderables for the terminal. Nothing here prints: each function returns a Table or a
Panel and the CLI prints it (tests render to a fixed-width colourless console).

All numbers go through ``roofsweep.units`` formatters; inputs are the DataFrames of
docs/contracts.md and hardware profiles (anything with HardwareProfile's attributes).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

import pandas as pd
from rich import box
from rich.console import Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from roofsweep.units import (
    fmt_bandwidth,
    fmt_bytes,
    fmt_count,
    fmt_intensity,
    fmt_macs,
    fmt_percent,
    fmt_rate,
    fmt_time,
)

PROFILE_MARK = "\u25c6"  # marks hardware-profile rows placed among ridge points
FRONTIER_MARK = "*"


def _num(v) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return math.nan


def _g(v) -> str:
    f = _num(v)
    return "-" if math.isnan(f) else f"{f:.4g}"


def _top1(v) -> str:
    f = _num(v)
    return "-" if math.isnan(f) else f"{f:.1f}"


def _label(row) -> str:
    d = row.get("display_name") if hasattr(row, "get") else None
    return str(d) if isinstance(d, str) and d else str(row["model"])


def _table(title: str | None = None, **kw) -> Table:
    return Table(title=title, box=box.SIMPLE_HEAVY, title_justify="left", pad_edge=False, **kw)


# ------------------------------------------------------------------------------ totals
def model_totals(per_layer_df: pd.DataFrame) -> dict[str, float]:
    """MACs, weight/activation bytes and intensity (total MACs / total bytes) of a costed table."""
    macs = float(pd.to_numeric(per_layer_df["macs"]).sum())
    out = {"macs": macs, "layers": float(len(per_layer_df))}
    if "bytes" in per_layer_df:
        wb = float(per_layer_df["weight_bytes"].sum())
        ab = float(per_layer_df["activation_bytes"].sum())
        out |= {"weight_bytes": wb, "activation_bytes": ab, "bytes": wb + ab,
                "intensity_macs_per_byte": macs / (wb + ab) if wb + ab else math.inf}
    if "time_s" in per_layer_df:
        out["latency_s"] = float(per_layer_df["time_s"].sum())
    return out


def model_totals_panel(per_layer_df: pd.DataFrame, *, params: int | None = None, title: str | None = None,
                       unsupported_ops: Mapping[str, int] | None = None) -> Panel:
    """Totals of one model: MACs, params, weight bytes, activation bytes, mean intensity.

    ``per_layer_df`` is the cost model's output (or a per-layer roofline table). Ops without a
    cost formula are listed, since the totals leave them out.
    """
    t = model_totals(per_layer_df)
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column(justify="right")
    grid.add_row("MACs", fmt_macs(t["macs"]))
    grid.add_row("params", fmt_count(params) if params is not None else "-")
    if "bytes" in t:
        grid.add_row("weight bytes", fmt_bytes(t["weight_bytes"]))
        grid.add_row("activation bytes", fmt_bytes(t["activation_bytes"]))
        grid.add_row("mean intensity", fmt_intensity(t["intensity_macs_per_byte"]))
    grid.add_row("layers", f"{int(t['layers'])}")
    parts: list = [grid]
    if unsupported_ops:
        ops = ", ".join(f"{k} x{v}" for k, v in sorted(unsupported_ops.items()))
        parts.append(Text(f"not costed (no formula): {ops}", style="yellow"))
    if title is None and len(per_layer_df):
        title = str(per_layer_df["model"].iloc[0])
    return Panel(Group(*parts), title=title, title_align="left", expand=False)


# --------------------------------------------------------------------------- sweep table
def sweep_table(sweep_df: pd.DataFrame, *, models: Sequence[str] | None = None, title: str | None = None) -> Table:
    """Ridge-point sweep: one row per point, sorted by ridge point, hardware profiles interleaved
    at their own ridge point and marked with a diamond.

    One model: latency, MAC time, memory time and the share of time in memory-bound layers.
    Several: one latency column per model (``*`` = on the Pareto frontier at that point).
    """
    df = sweep_df if models is None else sweep_df[sweep_df["model"].isin(models)]
    names = list(dict.fromkeys(df["model"]))
    hw_col = df["hardware"].fillna("") if "hardware" in df else pd.Series("", index=df.index)
    pts = (df.assign(_hw=hw_col != "").drop_duplicates("point")
           .sort_values(["ridge_point", "_hw"], kind="stable"))
    table = _table(title or ("Ridge-point sweep" + (f": {names[0]}" if len(names) == 1 else "")))
    table.add_column("", no_wrap=True)
    table.add_column("point", no_wrap=True)
    table.add_column("RP (MAC/B)", justify="right")
    single = len(names) == 1
    if single:
        for h in ("latency", "MAC time", "memory time", "memory-bound"):
            table.add_column(h, justify="right")
    else:
        labels = df.drop_duplicates("model").set_index("model")
        for m in names:
            table.add_column(_label(labels.loc[m].to_dict() | {"model": m}), justify="right")
    by = df.set_index(["point", "model"])
    for _, p in pts.iterrows():
        is_hw = bool(p["_hw"])
        mark = PROFILE_MARK if is_hw else ""
        point = f"{p['point']} ({p.get('dtype', '')})" if is_hw and p.get("dtype") else str(p["point"])
        row = [mark, point, _g(p["ridge_point"])]
        if single:
            r = by.loc[(p["point"], names[0])]
            row += [fmt_time(_num(r["latency_s"])), fmt_time(_num(r["mac_time_s"])),
                    fmt_time(_num(r["mem_time_s"])), fmt_percent(_num(r.get("memory_bound_fraction")))]
        else:
            for m in names:
                if (p["point"], m) not in by.index:
                    row.append("-")
                    continue
                r = by.loc[(p["point"], m)]
                star = f" {FRONTIER_MARK}" if bool(r.get("on_frontier", False)) else ""
                row.append(fmt_time(_num(r["latency_s"])) + star)
        table.add_row(*row, style="bold cyan" if is_hw else None)
    table.caption = f"{PROFILE_MARK} = hardware profile at its ridge point" + (
        f"; {FRONTIER_MARK} = on the Pareto frontier" if not single and "on_frontier" in df else "")
    return table


# ------------------------------------------------------------------------- layer tables
def dominant_layers_table(per_layer_by_point: Mapping[str, pd.DataFrame], *, top: int = 5,
                          title: str | None = None) -> Table:
    """The ``top`` most expensive layers at each point (e.g. the lowest and highest RP), with
    their share of the model's time and what bounds them."""
    table = _table(title or "Dominant layers")
    for h, j in (("point", "left"), ("#", "right"), ("layer", "left"), ("op", "left"), ("time", "right"),
                 ("share", "right"), ("bound", "left"), ("intensity", "right")):
        table.add_column(h, justify=j)
    for n, (point, df) in enumerate(per_layer_by_point.items()):
        total = float(df["time_s"].sum())
        worst = df.sort_values("time_s", ascending=False, kind="stable").head(top)
        for k, (_, r) in enumerate(worst.iterrows()):
            table.add_row(str(point) if k == 0 else "", str(r["index"]), str(r["name"]), str(r["op_type"]),
                          fmt_time(r["time_s"]), fmt_percent(r["time_s"] / total if total else math.nan),
                          str(r.get("bound", "-")), fmt_intensity(_num(r.get("intensity_macs_per_byte"))),
                          end_section=(k == len(worst) - 1 and n < len(per_layer_by_point) - 1))
    return table


def layers_table(per_layer_df: pd.DataFrame, *, title: str | None = None, max_rows: int | None = None) -> Table:
    """Every layer of a LayerTable; with cost and roofline columns when present."""
    df = per_layer_df
    costed, timed = "bytes" in df, "time_s" in df
    table = _table(title or (f"Layers: {df['model'].iloc[0]}" if len(df) else "Layers"))
    cols = [("#", "right"), ("layer", "left"), ("op", "left"), ("MACs", "right")]
    cols += [("weights", "right"), ("activations", "right")] if costed else [("weight elems", "right"),
                                                                             ("in elems", "right"), ("out elems", "right")]
    if timed:
        cols += [("intensity", "right"), ("time", "right"), ("share", "right"), ("bound", "left")]
    if not timed:  # a timed table is wide enough without shapes
        cols += [("output shape", "left")]
    for h, j in cols:
        if h == "layer":
            table.add_column(h, min_width=24, overflow="fold")
        elif h == "output shape":
            table.add_column(h, overflow="fold")
        else:
            table.add_column(h, justify=j, no_wrap=True)
    total = float(df["time_s"].sum()) if timed else 0.0
    shown = df if max_rows is None else df.head(max_rows)
    for _, r in shown.iterrows():
        row = [str(r["index"]), str(r["name"]), str(r["op_type"]), fmt_macs(r["macs"])]
        if costed:
            row += [fmt_bytes(r["weight_bytes"]), fmt_bytes(r["activation_bytes"])]
        else:
            row += [fmt_count(r["weight_elems"]), fmt_count(r["input_elems"]), fmt_count(r["output_elems"])]
        if timed:
            row += [fmt_intensity(_num(r["intensity_macs_per_byte"])), fmt_time(r["time_s"]),
                    fmt_percent(r["time_s"] / total if total else math.nan), str(r["bound"])]
        if not timed:
            row.append(str(r.get("output_shape", "")))
        table.add_row(*row)
    if max_rows is not None and len(df) > max_rows:
        table.caption = f"{len(df) - max_rows} more layers not shown"
    return table


# ------------------------------------------------------------------------------ models
_MODEL_COLUMNS = [("name", "model"), ("model", "model"), ("display_name", "display name"), ("family", "family"),
                  ("width", "width"), ("resolution", "resolution"), ("default_resolution", "resolution"),
                  ("top1", "top-1 (%)"), ("macs", "MACs"), ("params", "params"), ("aliases", "aliases"),
                  ("top1_source", "top-1 source")]


def models_table(models: pd.DataFrame | Iterable[Mapping], *, title: str = "Models") -> Table:
    """A list of models (registry entries or resolved models): known columns formatted, in a
    fixed order, any other column appended as text."""
    df = models if isinstance(models, pd.DataFrame) else pd.DataFrame(list(models))
    table = _table(title)
    fmts = {"top1": _top1, "macs": fmt_macs, "params": fmt_count, "width": _g, "resolution": _g,
            "default_resolution": _g,
            "aliases": lambda v: ", ".join(v) if isinstance(v, (list, tuple)) else ("" if v is None else str(v))}
    seen_headers: set[str] = set()
    cols = []
    for c, h in _MODEL_COLUMNS:
        if c in df and h not in seen_headers:
            cols.append((c, h))
            seen_headers.add(h)
    cols += [(c, c) for c in df.columns if c not in {c for c, _ in _MODEL_COLUMNS}]
    for c, h in cols:
        table.add_column(h, justify="right" if c in ("width", "resolution", "default_resolution", "top1",
                                                     "macs", "params") else "left")
    for _, r in df.iterrows():
        table.add_row(*[fmts.get(c, lambda v: "" if v is None else str(v))(r[c]) for c, _ in cols])
    return table


# ---------------------------------------------------------------------------- profiles
def _rp(profile, dtype: str | None = None) -> float:
    try:
        return float(profile.ridge_point(dtype))
    except Exception:  # noqa: BLE001 - a broken profile still gets listed
        return math.nan


def profile_list_table(profiles: Iterable, *, title: str = "Hardware profiles") -> "ProfileListTable":
    """One row per profile, sorted by ridge point at its default dtype.

    Names are what users type, so they are never wrapped or cut; the long device descriptions
    wrap at words in whatever width is left, and on a console too narrow for them (under 100
    columns) are left out (``roofsweep hardware show NAME`` has them)."""
    return ProfileListTable(list(profiles), title)


class ProfileListTable:
    """``profile_list_table``'s renderable: drops the device (then on-chip) column on a console
    too narrow for them, rather than cutting names."""

    def __init__(self, profiles: list, title: str):
        self.profiles = sorted(profiles, key=lambda p: (_rp(p), p.name))
        self.title = title

    def table(self, device: bool = True, onchip: bool = True) -> Table:
        table = _table(self.title, collapse_padding=True, padding=(0, 1))
        cols = [("name", "left"), ("device", "left"), ("kind", "left"), ("dtype", "left"), ("peak", "right"),
                ("bandwidth", "right"), ("RP (MAC/B)", "right"), ("on-chip", "right")]
        for h, j in cols:
            if h == "device":
                if device:
                    table.add_column(h, justify=j, ratio=1, min_width=self.DEVICE_MIN, overflow="fold")
            elif h != "on-chip" or onchip:
                table.add_column(h, justify=j, no_wrap=True)
        for p in self.profiles:
            est = "*" if getattr(p, "estimated", ()) else ""
            cells = [p.name] + ([p.display_name] if device else []) + [
                p.kind, p.default_dtype, fmt_rate(p.peak()) + est, fmt_bandwidth(p.bandwidth_bytes_per_s),
                _g(_rp(p))] + ([fmt_bytes(p.onchip_bytes) if p.onchip_bytes else "-"] if onchip else [])
            table.add_row(*cells)
        if any(getattr(p, "estimated", ()) for p in self.profiles):
            table.caption = "* = estimated (roofsweep hardware show NAME)"
        return table

    def __rich_console__(self, console, options):
        from rich.measure import Measurement

        wide = options.update(max_width=10**6)
        width = options.max_width
        rest = self.table(device=False)
        need = Measurement.get(console, wide, rest).maximum
        if need + 1 + self.DEVICE_MIN <= width:  # the device column wraps into what is left
            yield self.table()
        elif need <= width:
            yield rest
        else:
            yield self.table(device=False, onchip=False)

    DEVICE_MIN = 20


def profile_panel(profile) -> Panel:
    """Everything about one profile: peaks and ridge point per dtype, bandwidth, sources, notes."""
    p = profile
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    grid.add_row("name", p.name)
    grid.add_row("kind", p.kind)
    grid.add_row("bandwidth", fmt_bandwidth(p.bandwidth_bytes_per_s))
    grid.add_row("on-chip memory", fmt_bytes(p.onchip_bytes) if p.onchip_bytes else "-")
    grid.add_row("default dtype", p.default_dtype)
    estimated = set(getattr(p, "estimated", ()) or ())
    peaks = Table(box=box.SIMPLE, pad_edge=False)
    for h in ("dtype", "peak", "RP (MAC/B)"):
        peaks.add_column(h, justify="left" if h == "dtype" else "right")
    for dtype, peak in p.peak_macs_per_s.items():
        est = " (estimated)" if f"peak_macs_per_s.{dtype}" in estimated else ""
        peaks.add_row(dtype + (" (default)" if dtype == p.default_dtype else ""), fmt_rate(peak) + est,
                      _g(_rp(p, dtype)))
    parts: list = [grid, peaks]
    if estimated:
        parts.append(Text("estimated: " + ", ".join(sorted(estimated)), style="yellow"))
    for s in getattr(p, "sources", ()) or ():
        parts.append(Text(f"source: {s}"))
    if getattr(p, "notes", ""):
        parts.append(Text(f"notes: {p.notes}"))
    if getattr(p, "measured", None):
        parts.append(Text("measured: " + ", ".join(f"{k}={v}" for k, v in p.measured.items())))
    if getattr(p, "path", None):
        parts.append(Text(f"file: {p.path}", style="dim"))
    return Panel(Group(*parts), title=f"{p.display_name}", title_align="left", expand=False)


# ----------------------------------------------------------------------------- compare
def compare_table(sweep_df: pd.DataFrame, *, frontier_share: pd.DataFrame | None = None,
                  points: Sequence[str] | None = None, title: str = "Model comparison") -> "CompareTable":
    """Models as rows (by top-1), with MACs, latency at each point (``*`` = on the Pareto frontier
    there) and, if given, the share of the RP range on which each model is Pareto-optimal.

    Rendered at the console's width: when all the point columns do not fit, the table is split
    into several, each repeating the model columns - never truncated or folded mid-name."""
    if points is None:
        points = list(sweep_df.drop_duplicates("point").sort_values("ridge_point", kind="stable")["point"])
    return CompareTable(sweep_df, frontier_share, list(points), title)


class CompareTable:
    """``compare_table``'s renderable: one or more rich Tables, split by point at render time."""

    def __init__(self, sweep_df: pd.DataFrame, frontier_share: pd.DataFrame | None, points: list[str],
                 title: str):
        self.sweep_df, self.points, self.title = sweep_df, points, title
        self.share = (dict(zip(frontier_share["model"], frontier_share["frontier_share"]))
                      if frontier_share is not None else None)
        first = sweep_df.drop_duplicates("model")
        self.rows = first.assign(_t=pd.to_numeric(first["top1"], errors="coerce")).sort_values("_t", na_position="last")
        self.by = sweep_df.set_index(["model", "point"])
        self.caption = (f"{FRONTIER_MARK} = on the accuracy-latency Pareto frontier at that point"
                        if "on_frontier" in sweep_df else None)

    def table(self, points: Sequence[str], *, title: str | None = "", caption: str | None = "",
              share: bool = True) -> Table:
        table = _table(self.title if title == "" else title, collapse_padding=True, padding=(0, 1))
        table.add_column("model", no_wrap=True)
        table.add_column("top-1", justify="right", no_wrap=True)
        table.add_column("MACs", justify="right", no_wrap=True)
        for p in points:
            table.add_column(str(p), justify="right", no_wrap=True)
        share = share and self.share is not None
        if share:
            table.add_column("on frontier", justify="right", no_wrap=True)
        for _, r in self.rows.iterrows():
            row = [_label(r), _top1(r.get("top1")), fmt_macs(_num(r.get("macs")))]
            for p in points:
                if (r["model"], p) not in self.by.index:
                    row.append("-")
                    continue
                c = self.by.loc[(r["model"], p)]
                row.append(fmt_time(_num(c["latency_s"])) + (FRONTIER_MARK if bool(c.get("on_frontier", False)) else " "))
            if share:
                row.append(fmt_percent(_num(self.share.get(r["model"]))))
            table.add_row(*row)
        table.caption = self.caption if caption == "" else caption
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
        from rich.measure import Measurement

        width = options.max_width
        wide = options.update(max_width=10**6)

        def fits(pts: list[str], share: bool = False) -> bool:
            return Measurement.get(console, wide, self.table(pts, share=share)).maximum <= width

        runs = self.chunks(fits)
        while len(runs[-1]) > 1 and not fits(runs[-1], share=True):  # the last run carries the share
            runs[-1:] = [runs[-1][:-1], runs[-1][-1:]]
        if len(runs) == 1:
            yield self.table(runs[0])
            return
        runs = self.balanced(runs, fits)
        for k, run in enumerate(runs):
            last = k == len(runs) - 1
            part = f"points {k + 1}/{len(runs)}"
            yield self.table(run, title=f"{self.title} ({part})" if k == 0 else f"({part})", share=last,
                             caption=self.caption if last else None)


__all__ = ["model_totals", "model_totals_panel", "sweep_table", "dominant_layers_table", "layers_table",
           "models_table", "profile_list_table", "profile_panel", "compare_table", "PROFILE_MARK"]
