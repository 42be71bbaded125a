"""Formatting shared by every reporter: cell text for numbers, the words for sweep points, and a
table that fits the console by dropping its least useful columns instead of wrapping values.

Numbers go through ``roofsweep.units`` (``fmt_time``, ``fmt_macs``...); this module adds the
cell-level rules (missing values print ``-``, top-1 with one decimal) and the labels the terminal
and the HTML page share (``macs_only_label``, ``sweep_held_text``, ``latency_label``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from rich import box
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from roofsweep.units import fmt_bandwidth, fmt_rate

MISSING = "-"
FRONTIER_MARK = "*"
BOUND = "bound"  # a roofline latency: a lower bound on the time, not a prediction


# ------------------------------------------------------------------------------ numbers
def num(v) -> float:
    """``v`` as a float; NaN for anything that is not a number."""
    try:
        return float(v)
    except (TypeError, ValueError):
        return math.nan


def fmt_g(v) -> str:
    """Four significant digits (``31.2``, ``433.8``, ``4000``); ``-`` when missing."""
    f = num(v)
    return MISSING if math.isnan(f) else f"{f:.4g}"


def fmt_top1(v) -> str:
    """Top-1 accuracy in percent with one decimal; ``-`` when unknown."""
    f = num(v)
    return MISSING if math.isnan(f) else f"{f:.1f}"


def model_label(row) -> str:
    """A model's display name when it has one, else its label."""
    d = row.get("display_name") if hasattr(row, "get") else None
    return str(d) if isinstance(d, str) and d else str(row["model"])


# ------------------------------------------------------------------------ sweep wording
def macs_only_label(peak_macs_per_s: float, short: bool = False) -> str:
    """RP 0's name: ``MACs only (200 GMAC/s, memory free)`` (``MACs only`` when ``short``)."""
    return "MACs only" if short else f"MACs only ({fmt_rate(peak_macs_per_s)}, memory free)"


def sweep_held_text(bandwidth_bytes_per_s: float) -> str:
    """What a ridge-point sweep holds fixed, in the paper's words."""
    bw = fmt_bandwidth(bandwidth_bytes_per_s)
    return f"bandwidth fixed at {bw} (the paper's convention): peak = RP x {bw}"


def latency_label(row) -> str:
    """What a latency is: the row's ``latency_is`` (e.g. ``calibrated``) when set, else ``bound``."""
    v = row.get("latency_is") if hasattr(row, "get") else None
    return str(v) if isinstance(v, str) and v else BOUND


# ------------------------------------------------------------------------ tables
def plain_table(title: str | None = None, **kw) -> Table:
    """The terminal's table style: a heavy rule under the header, no outer box."""
    return Table(title=title, box=box.SIMPLE_HEAVY, title_justify="left", pad_edge=False, **kw)


# ------------------------------------------------------------------------ fitting table
@dataclass
class Col:
    """One column of a ``FitTable``: ``drop`` 0 = always shown; otherwise columns are dropped
    highest ``drop`` first until the table fits the console."""

    header: str
    justify: str = "left"
    drop: int = 0


@dataclass
class FitTable:
    """A table whose cells never wrap: rendered at the console's width, it leaves out the
    least useful columns (``Col.drop``) until it fits, and says which in its caption. The
    title is a line of its own above the table."""

    title: str | None
    columns: Sequence[Col]
    rows: list[tuple[list[str], dict]] = field(default_factory=list)
    caption: str | None = None

    def add_row(self, *cells: str, end_section: bool = False, style: str | None = None) -> None:
        self.rows.append((list(cells), {"end_section": end_section, "style": style}))

    def table(self, shown: Sequence[int] | None = None) -> Table:
        shown = list(range(len(self.columns))) if shown is None else list(shown)
        left_out = [self.columns[i].header for i in range(len(self.columns)) if i not in shown]
        caption = "; ".join(c for c in (self.caption, (f"not shown at this width: {', '.join(left_out)}"
                                                       if left_out else None)) if c)
        t = Table(box=box.SIMPLE_HEAVY, title_justify="left", pad_edge=False,
                  collapse_padding=True, padding=(0, 1), caption=caption or None, caption_justify="left",
                  show_edge=False)
        for i in shown:
            c = self.columns[i]
            t.add_column(c.header, justify=c.justify, no_wrap=True)
        for cells, kw in self.rows:
            t.add_row(*[cells[i] for i in shown], **kw)
        return t

    def drop_order(self) -> list[int]:
        droppable = [i for i, c in enumerate(self.columns) if c.drop > 0]
        return sorted(droppable, key=lambda i: -self.columns[i].drop)

    def fitting(self, console, width: int) -> Table:
        wide = console.options.update(max_width=10**6)
        shown = list(range(len(self.columns)))
        order = self.drop_order()
        while True:
            t = self.table(shown)
            if not order or Measurement.get(console, wide, t).maximum <= width:
                return t
            shown.remove(order.pop(0))

    def __rich_console__(self, console, options):
        if self.title:  # its own line: wraps at the console's width, never at a narrow table's
            yield Text(self.title, style="bold")
        yield self.fitting(console, options.max_width)


def rendered_width(console, renderable) -> int:
    """The width ``renderable`` wants with no limit (for choosing layouts)."""
    return Measurement.get(console, console.options.update(max_width=10**6), renderable).maximum


__all__ = ["Col", "FitTable", "plain_table", "num", "fmt_g", "fmt_top1", "model_label", "macs_only_label",
           "sweep_held_text", "latency_label", "rendered_width", "MISSING", "FRONTIER_MARK", "BOUND"]
