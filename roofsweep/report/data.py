"""``ReportData``: everything one report shows, gathered by the CLI and handed to the writers."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pandas as pd

from roofsweep import __version__


@dataclass
class ReportData:
    """One run's results, ready to render (``html.render_html``) or write (``bundle.write_report``).

    ``layer_tables`` holds per-layer roofline tables keyed by ``(model, point)`` (``point`` as in
    the sweep: ``"RP 50"`` or a profile name). ``figures`` maps a figure name to its SVG text
    (inlined in the HTML, tooltips kept) or PNG bytes (embedded as base64). ``models`` and
    ``profiles`` default to those found in ``sweep_df``. ``summary`` holds extra (label, value)
    rows for the run summary; ``notes`` are warnings shown prominently (unsupported ops...).
    ``frontier_share``: per model, the share of the ridge-point range (log scale, RP > 0) on
    which it is on the accuracy-latency Pareto frontier (``model``, ``frontier_share``
    columns; NaN for a model without top-1) - compare's headline number. ``totals``: one row
    per model (``Analysis.totals``); ``dominant``: the slowest layers per (model, point) with
    their ``share`` (``Analysis.dominant``); ``same_as``: profile -> the RP point it repeats.
    """

    title: str = "roofsweep report"
    command: str = ""
    preset: str = ""
    created: datetime = field(default_factory=lambda: datetime.now().astimezone())
    version: str = __version__
    summary: list[tuple[str, str]] = field(default_factory=list)
    sweep_df: pd.DataFrame | None = None
    layer_tables: dict[tuple[str, str], pd.DataFrame] = field(default_factory=dict)
    figures: dict[str, str | bytes] = field(default_factory=dict)
    figure_captions: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    models: list[str] = field(default_factory=list)
    profiles: list[str] = field(default_factory=list)
    # For the HTML page: the frontier share per model (``engine.pareto.frontier_share``) and the
    # ridge-point explorer's data (``report.html_view.explorer_payload``); None = not shown.
    frontier_share: pd.DataFrame | None = None
    explorer: dict[str, Any] | None = None
    # The charts the page draws itself (``report.html_charts.chart_payload``); None = none.
    charts: dict[str, Any] | None = None
    totals: pd.DataFrame | None = None
    dominant: pd.DataFrame | None = None
    same_as: dict[str, str] = field(default_factory=dict)

    def model_names(self) -> list[str]:
        if self.models:
            return list(self.models)
        names: list[str] = []
        if self.sweep_df is not None and "model" in self.sweep_df:
            names += list(self.sweep_df["model"])
        names += [m for m, _ in self.layer_tables]
        return list(dict.fromkeys(str(n) for n in names))

    def profile_names(self) -> list[str]:
        if self.profiles:
            return list(self.profiles)
        if self.sweep_df is None or "hardware" not in self.sweep_df:
            return []
        hw = self.sweep_df["hardware"].fillna("")
        return list(dict.fromkeys(str(h) for h in hw if h))

    def created_str(self) -> str:
        return self.created.isoformat(timespec="seconds") if isinstance(self.created, datetime) else str(self.created)

    def summary_dict(self) -> dict[str, Any]:
        """The run summary as plain JSON-ready data (``summary.json`` of a report folder)."""
        latency: dict[str, dict[str, float | None]] = {}
        if self.sweep_df is not None and {"model", "point", "latency_s"} <= set(self.sweep_df.columns):
            for m, p, t in zip(self.sweep_df["model"], self.sweep_df["point"], self.sweep_df["latency_s"]):
                t = float(t)
                latency.setdefault(str(m), {})[str(p)] = t if t == t and abs(t) != float("inf") else None
        return {
            "title": self.title,
            "command": self.command,
            "preset": self.preset,
            "created": self.created_str(),
            "roofsweep_version": self.version,
            "models": self.model_names(),
            "profiles": self.profile_names(),
            "summary": [[str(k), str(v)] for k, v in self.summary],
            "notes": [str(n) for n in self.notes],
            "latency_s": latency,
            "frontier_share": self.frontier_share_dict(),
        }

    def frontier_share_dict(self) -> dict[str, float | None]:
        """``{model: share}`` (None for a model without top-1); empty without a comparison."""
        fs = self.frontier_share
        if fs is None or not len(fs):
            return {}
        out: dict[str, float | None] = {}
        for m, v in zip(fs["model"], fs["frontier_share"]):
            f = float(v)
            out[str(m)] = f if f == f else None
        return out
