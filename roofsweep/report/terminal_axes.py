"""The terminal table of a batch / dtype / resolution sweep (``analysis_axes.analyze_axes``)."""

from __future__ import annotations

import math

import pandas as pd

from roofsweep.report.format import Col, FitTable
from roofsweep.units import fmt_time

COLUMNS = (
    Col("model"), Col("res", "right", drop=2), Col("batch", "right"), Col("dtype"), Col("point"),
    Col("latency", "right"), Col("samples/s", "right"), Col("is", drop=3),
    Col("compute-bound at batch", "right", drop=1),
)


def axes_table(rows: pd.DataFrame, title: str = "Batch / dtype / resolution sweep") -> FitTable:
    """One row per (model, resolution, batch, dtype, point); fits the console by leaving out
    the least useful columns. ``compute-bound at batch``: the smallest batch whose total MAC time
    reaches its total memory time there ("never" when none does)."""
    t = FitTable(title, COLUMNS, caption="latencies are roofline bounds unless 'is' says calibrated")
    for r in rows.itertuples(index=False):
        cbb = r.compute_bound_batch
        t.add_row(str(r.model), str(r.resolution), str(r.batch), str(r.dtype), str(r.point),
                  fmt_time(r.latency_s), f"{r.samples_per_s:.4g}", str(getattr(r, "latency_is", "bound") or "bound"),
                  "never" if cbb is None or (isinstance(cbb, float) and math.isnan(cbb)) else f"{int(cbb)}")
    return t


__all__ = ["axes_table"]
