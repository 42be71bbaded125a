"""Table views for the HTML report: plain data (columns and cells), rendered by one Jinja macro.

A ``TableView`` holds already formatted cells: every number goes through ``roofsweep.units``'
``fmt_*`` functions here, and its raw value becomes the cell's ``data-sort`` key, so the page
sorts by the engine's number and shows the terminal's text. Nothing here writes HTML; the
templates do (with autoescaping).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import pandas as pd

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


def num(v) -> float | None:
    """``v`` as a float, or None when it is missing, NaN or not a number."""
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) else f


def fmt_g(v) -> str:
    f = num(v)
    return "-" if f is None else f"{f:g}"


def fmt_rp(v) -> str:
    """A ridge point as a header reads it: four significant digits (``17.99862 -> '18'``)."""
    f = num(v)
    return "-" if f is None else f"{f:.4g}"


def fmt_top1(v) -> str:
    f = num(v)
    return "-" if f is None else f"{f:.1f}%"


# column -> (header, formatter); the raw value is the cell's sort key.
COLUMN_FORMATS: dict[str, tuple[str, Callable[[object], str]]] = {
    "index": ("#", lambda v: str(v)),
    "macs": ("MACs", fmt_macs),
    "weight_elems": ("weight elems", fmt_count),
    "input_elems": ("input elems", fmt_count),
    "output_elems": ("output elems", fmt_count),
    "weight_bytes": ("weight bytes", fmt_bytes),
    "activation_bytes": ("activation bytes", fmt_bytes),
    "bytes": ("bytes", fmt_bytes),
    "intensity_macs_per_byte": ("intensity", fmt_intensity),
    "mac_time_s": ("MAC time", fmt_time),
    "mem_time_s": ("memory time", fmt_time),
    "time_s": ("time", fmt_time),
    "time_share": ("share", fmt_percent),
    "share": ("share", fmt_percent),
    "frontier_share": ("frontier share", fmt_percent),
    "latency_s": ("latency", fmt_time),
    "ridge_point": ("RP (MAC/B)", fmt_rp),
    "peak_macs_per_s": ("peak", fmt_rate),
    "bandwidth_bytes_per_s": ("bandwidth", fmt_bandwidth),
    "memory_bound_fraction": ("memory-bound", fmt_percent),
    "compute_bound_fraction": ("compute-bound", fmt_percent),
    "top1": ("top-1", fmt_top1),
    "predicted_s": ("predicted", fmt_time),
    "measured_s": ("measured", fmt_time),
    "ratio": ("measured / predicted", lambda v: f"{float(v):.3g}"),
    "width": ("width", fmt_g),
    "resolution": ("resolution", fmt_g),
}
TEXT_HEADERS = {"op_type": "op", "name": "layer", "frontier_points": "RP points on frontier",
                "data_dependent": "data-dependent"}


@dataclass
class Cell:
    text: str
    sort: str | None = None  # data-sort: a float's repr, "" for missing; None for text cells
    title: str = ""
    cls: str = ""
    star: bool = False


@dataclass
class Column:
    key: str
    header: str
    numeric: bool = False
    sub: str = ""  # a second, muted header line


@dataclass
class TableView:
    columns: list[Column]
    rows: list[list[Cell]]
    table_id: str = ""
    caption: str = ""
    notes: list[str] = field(default_factory=list)


def sort_key(f: float | None) -> str:
    if f is None:
        return ""
    if math.isinf(f):
        return "Infinity" if f > 0 else "-Infinity"
    return repr(f)


def cell(col: str, value, **kw) -> Cell:
    """One formatted cell of column ``col`` (numbers by ``COLUMN_FORMATS``, the rest as text)."""
    fmt = COLUMN_FORMATS.get(col)
    if fmt is not None:
        f = num(value)
        try:
            text = fmt[1](value) if f is not None or col == "index" else "-"
        except (TypeError, ValueError):
            text = str(value)
        return Cell(text, sort_key(f), cls="num", **kw)
    if isinstance(value, bool):
        return Cell("yes" if value else "no", **kw)
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return Cell("-", sort="", **kw)
    if col == "bound":
        kw.setdefault("cls", f"bound-{value}")
    return Cell(str(value), **kw)


def column(col: str, header: str | None = None, sub: str = "") -> Column:
    h = header or COLUMN_FORMATS.get(col, (TEXT_HEADERS.get(col, col),))[0]
    return Column(col, h, col in COLUMN_FORMATS, sub)


def dataframe_view(df: pd.DataFrame, columns: Sequence[str] | None = None, *, table_id: str = "",
                   caption: str = "") -> TableView:
    """A sortable table of ``df``'s ``columns`` (those it has), one row per DataFrame row."""
    cols = [c for c in (columns or df.columns) if c in df.columns]
    rows = [[cell(c, v) for c, v in zip(cols, row)] for row in df[cols].itertuples(index=False, name=None)]
    return TableView([column(c) for c in cols], rows, table_id, caption)


# Per-layer tables: what bounds the layer and its share first, then what it is, then its cost.
LAYER_COLUMNS = ("bound", "time_share", "index", "name", "op_type", "macs", "bytes", "intensity_macs_per_byte",
                 "time_s", "mac_time_s", "mem_time_s")
LAYER_COLUMNS_MEASURED = ("bound", "index", "name", "op_type", "macs", "bytes", "predicted_s", "measured_s", "ratio")
LAYER_COLUMNS_UNCOSTED = ("index", "name", "op_type", "activation", "macs", "weight_elems", "input_elems",
                          "output_elems", "input_shape", "output_shape")


def with_share(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` plus ``time_share``: each layer's fraction of the table's total time (0 if none)."""
    t = pd.to_numeric(df["time_s"], errors="coerce")
    total = float(t.sum())
    return df.assign(time_share=t / total if total > 0 else 0.0)


DATA_DEPENDENT_NOTE = (
    "Rows marked data-dependent were traced on real CPU tensors holding random data, because the "
    "model's control flow reads tensor values (nonzero, nms, a score threshold...): their counts hold "
    "for that random input, not for every input.")


def data_dependent_rows(df: pd.DataFrame) -> pd.Series:
    """True for the rows of ``df`` traced on real tensors (no ``data_dependent`` column: none)."""
    if "data_dependent" not in df:
        return pd.Series(False, index=df.index)
    return df["data_dependent"].map(lambda v: v is not None and not isinstance(v, str) and v == v and bool(v))


def layer_view(df: pd.DataFrame, table_id: str = "") -> TableView:
    """A per-layer table; data-dependent rows get a ``data-dependent`` column and a note."""
    if "time_s" in df:
        df, cols = with_share(df), LAYER_COLUMNS
    elif "measured_s" in df:  # validate: the roofline prediction beside the measured time
        cols = LAYER_COLUMNS_MEASURED
    else:
        cols = LAYER_COLUMNS_UNCOSTED
    dd = data_dependent_rows(df)
    if not dd.any():
        return dataframe_view(df, cols, table_id=table_id)
    at = cols.index("op_type") + 1
    view = dataframe_view(df.assign(data_dependent=dd.astype(bool).tolist()),
                          (*cols[:at], "data_dependent", *cols[at:]), table_id=table_id)
    view.notes.append(DATA_DEPENDENT_NOTE)
    return view


__all__ = ["Cell", "Column", "TableView", "cell", "column", "dataframe_view", "layer_view", "with_share",
           "num", "fmt_rp", "COLUMN_FORMATS", "LAYER_COLUMNS", "DATA_DEPENDENT_NOTE", "data_dependent_rows"]
