"""Rich renderables for the terminal. Nothing here prints: each function returns a renderable
(a table that fits the console's width, or a Panel) and the CLI prints it (tests render to a
fixed-width colourless console). The sweep and comparison tables are in ``terminal_sweep``.

All numbers go through ``roofsweep.units`` formatters; inputs are the DataFrames of
docs/contracts.md and hardware profiles (anything with HardwareProfile's attributes).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

import pandas as pd
from rich import box
from rich.console import Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from roofsweep.report.format import Col, FitTable, fmt_g, fmt_top1, model_label, num, plain_table
from roofsweep.report.terminal_sweep import compare_table, sweep_table
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

_num, _g, _top1, _label, _table = num, fmt_g, fmt_top1, model_label, plain_table


# ------------------------------------------------------------------------------ totals
def model_totals(per_layer_df: pd.DataFrame) -> dict[str, float]:
    """MACs, weight/activation bytes and intensity (total MACs / total bytes) of one model's costed
    table - ``roofsweep.analysis.model_totals`` (``Analysis.totals`` holds them for an analysis)."""
    out = {"macs": float(pd.to_numeric(per_layer_df["macs"]).sum()), "layers": float(len(per_layer_df))}
    if "bytes" in per_layer_df:
        from roofsweep.analysis import model_totals as totals_of

        row = totals_of(per_layer_df.assign(model=0)).iloc[0]
        out |= {k: float(row[k]) for k in ("weight_bytes", "activation_bytes", "bytes", "intensity_macs_per_byte")}
    if "time_s" in per_layer_df:
        out["latency_s"] = float(per_layer_df["time_s"].sum())
    return out


def model_totals_panel(totals: pd.DataFrame | Mapping, *, params: int | None = None, title: str | None = None,
                       unsupported_ops: Mapping[str, int] | None = None, inputs: str | None = None) -> Panel:
    """Totals of one model: MACs, params, weight bytes, activation bytes, mean intensity; and,
    when given, the traced ``inputs`` (``inputs_text``, its leading word as the row's label).

    ``totals``: one model's row of ``Analysis.totals`` (a mapping), or a costed table (its totals
    are taken with ``model_totals``). Ops without a cost formula are listed, since the totals
    leave them out.
    """
    per_layer_df = totals if isinstance(totals, pd.DataFrame) else None
    t = model_totals(totals) if per_layer_df is not None else dict(totals)
    if params is None and not math.isnan(num(t.get("params"))):
        params = int(t["params"])
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
    if inputs:
        word, _, rest = inputs.partition(" ")
        grid.add_row(word, rest)
    parts: list = [grid]
    if unsupported_ops:
        ops = ", ".join(f"{k} x{v}" for k, v in sorted(unsupported_ops.items()))
        parts.append(Text(f"not costed (no formula): {ops}", style="yellow"))
    if title is None and per_layer_df is not None and len(per_layer_df):
        title = str(per_layer_df["model"].iloc[0])
    return Panel(Group(*parts), title=title, title_align="left", expand=False)


# ------------------------------------------------------------------------- layer tables
def dominant_layers_table(dominant: pd.DataFrame | Mapping[str, pd.DataFrame], *, top: int = 5,
                          title: str | None = None) -> FitTable:
    """The most expensive layers at each point with their share of the model's time and what
    bounds them. ``dominant``: ``Analysis.dominant`` rows of one model (``point`` and ``share``
    columns), or a mapping point -> per-layer roofline table, whose ``top`` slowest layers are
    taken with ``engine.roofline.dominant_layers``."""
    if not isinstance(dominant, pd.DataFrame):
        from roofsweep.engine.roofline import dominant_layers

        dominant = pd.concat([dominant_layers(df, top).assign(point=str(p)) for p, df in dominant.items()],
                             ignore_index=True)
    table = FitTable(title or "Dominant layers", [
        Col("point"), Col("#", "right", 2), Col("layer"), Col("op", drop=1), Col("time", "right"),
        Col("share", "right"), Col("bound"), Col("intensity", "right", 3)])
    groups = list(dominant.groupby("point", sort=False))
    for n, (point, df) in enumerate(groups):
        for k, (_, r) in enumerate(df.iterrows()):
            table.add_row(str(point) if k == 0 else "", str(r["index"]), str(r["name"]), str(r["op_type"]),
                          fmt_time(r["time_s"]), fmt_percent(num(r["share"])), str(r.get("bound", "-")),
                          fmt_intensity(num(r.get("intensity_macs_per_byte"))),
                          end_section=(k == len(df) - 1 and n < len(groups) - 1))
    return table


DATA_DEPENDENT_MARK = "*"
DATA_DEPENDENT_CAPTION = (f"{DATA_DEPENDENT_MARK} data-dependent: traced on real CPU tensors holding random "
                          "data (the control flow reads tensor values); counts hold for that input")


def inputs_text(input_shapes, source: str = "") -> str:
    """``input 1x3x224x224 (zoo default resolution)``: the shape(s) traced and where they came
    from; several inputs are joined by commas."""
    shapes = ", ".join("x".join(str(int(d)) for d in s) for s in input_shapes) if input_shapes else "-"
    word = "inputs" if input_shapes is not None and len(input_shapes) > 1 else "input"
    return f"{word} {shapes}" + (f" ({source})" if source else "")


def layers_table(per_layer_df: pd.DataFrame, *, title: str | None = None, max_rows: int | None = None,
                 inputs: str | None = None) -> FitTable:
    """Every layer of a LayerTable; with cost and roofline columns when present. Names are never
    cut: at a narrow width the least useful columns are left out (the caption says which).
    ``inputs`` (``inputs_text``) is a second title line; rows traced on real tensors (``data_dependent``)
    carry a marker on their index, explained in the caption."""
    df = per_layer_df
    costed, timed = "bytes" in df, "time_s" in df
    cols = [Col("#", "right"), Col("layer"), Col("op"), Col("MACs", "right", 1 if timed else 0)]
    if costed:
        cols += [Col("weights", "right", 3), Col("activations", "right", 4)]
    else:
        cols += [Col("weight elems", "right", 2), Col("in elems", "right", 4), Col("out elems", "right", 3)]
    if timed:
        cols += [Col("intensity", "right", 5), Col("time", "right"), Col("share", "right"), Col("bound")]
    else:  # a timed table is wide enough without shapes
        cols += [Col("output shape", drop=5)]
    head = title or (f"Layers: {df['model'].iloc[0]}" if len(df) else "Layers")
    table = FitTable(head + (f"\n{inputs}" if inputs else ""), cols)  # inputs: a line of their own
    total = float(df["time_s"].sum()) if timed else 0.0
    shown = df if max_rows is None else df.head(max_rows)
    marked = _data_dependent(shown)
    for (_, r), dd in zip(shown.iterrows(), marked):
        row = [str(r["index"]) + (DATA_DEPENDENT_MARK if dd else ""), str(r["name"]), str(r["op_type"]),
               fmt_macs(r["macs"])]
        if costed:
            row += [fmt_bytes(r["weight_bytes"]), fmt_bytes(r["activation_bytes"])]
        else:
            row += [fmt_count(r["weight_elems"]), fmt_count(r["input_elems"]), fmt_count(r["output_elems"])]
        if timed:
            row += [fmt_intensity(num(r["intensity_macs_per_byte"])), fmt_time(r["time_s"]),
                    fmt_percent(r["time_s"] / total if total else math.nan), str(r["bound"])]
        else:
            row.append(str(r.get("output_shape", "")))
        table.add_row(*row)
    notes = [DATA_DEPENDENT_CAPTION] if any(marked) else []
    if max_rows is not None and len(df) > max_rows:
        notes.append(f"{len(df) - max_rows} more layers not shown")
    table.caption = "; ".join(notes) or None
    return table


def _data_dependent(df: pd.DataFrame) -> list[bool]:
    from roofsweep.report.html_tables import data_dependent_rows  # one reading of the column

    return [bool(v) for v in data_dependent_rows(df)]


# ------------------------------------------------------------------------------ models
# (column, header, drop priority: 0 = always shown, else dropped highest first when narrow)
_MODEL_COLUMNS = [("name", "model", 0), ("model", "model", 0), ("display_name", "display name", 4),
                  ("family", "family", 5), ("width", "width", 1), ("resolution", "px", 0),
                  ("default_resolution", "px", 0), ("top1", "top-1 (%)", 0), ("macs", "MACs", 0),
                  ("params", "params", 3), ("aliases", "aliases", 6), ("top1_source", "top-1 source", 7)]
_RIGHT = ("width", "resolution", "default_resolution", "top1", "macs", "params")


def models_table(models: pd.DataFrame | Iterable[Mapping], *, title: str = "Models") -> FitTable:
    """A list of models (registry entries or resolved models): known columns formatted, in a
    fixed order, any other column appended as text; at a narrow width aliases, family and
    display name are left out before any name is cut."""
    df = models if isinstance(models, pd.DataFrame) else pd.DataFrame(list(models))
    fmts = {"top1": _top1, "macs": fmt_macs, "params": fmt_count, "width": _g, "resolution": _g,
            "default_resolution": _g,
            "aliases": lambda v: ", ".join(v) if isinstance(v, (list, tuple)) else ("" if v is None else str(v))}
    seen_headers: set[str] = set()
    cols = []
    for c, h, drop in _MODEL_COLUMNS:
        if c in df and h not in seen_headers:
            cols.append((c, Col(h, "right" if c in _RIGHT else "left", drop)))
            seen_headers.add(h)
    known = {c for c, _, _ in _MODEL_COLUMNS}
    cols += [(c, Col(str(c), drop=8)) for c in df.columns if c not in known]
    table = FitTable(title, [col for _, col in cols])
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


__all__ = ["model_totals", "model_totals_panel", "sweep_table", "dominant_layers_table", "layers_table", "inputs_text",
           "models_table", "profile_list_table", "profile_panel", "compare_table"]
