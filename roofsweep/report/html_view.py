"""What the HTML report shows, as plain data: the sweep and device tables, frontier share, the
layers that dominate, per-layer tables in ridge-point order, key findings and the explorer data.

Every figure comes from the ``ReportData`` (the engine's results); this module only selects,
orders and formats (``roofsweep.units``). The templates in ``templates/`` render it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from roofsweep.engine.roofline import dominant_layers
from roofsweep.report.html_tables import Cell, Column, TableView, cell, column, layer_view, num
from roofsweep.units import fmt_percent, fmt_rate, fmt_time

MAX_SWEEP_ROWS = 200  # a denser grid is summarised by an even spread of its points (sweep.csv has all)
DOMINANT_TOP = 5


# ------------------------------------------------------------------------------ helpers
def _hardware(df: pd.DataFrame) -> pd.Series:
    if "hardware" not in df:
        return pd.Series("", index=df.index, dtype=object)
    return df["hardware"].fillna("")


def split_sweep(sweep_df: pd.DataFrame | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(ridge-point rows, hardware-profile rows) of a sweep table."""
    if sweep_df is None or sweep_df.empty:
        empty = pd.DataFrame(columns=["model", "point", "ridge_point", "latency_s"])
        return empty, empty
    hw = _hardware(sweep_df) != ""
    return sweep_df[~hw], sweep_df[hw]


def model_labels(sweep_df: pd.DataFrame | None) -> dict[str, str]:
    """model -> display name (the model label where there is none)."""
    if sweep_df is None or "model" not in sweep_df:
        return {}
    first = sweep_df.drop_duplicates("model")
    disp = first["display_name"] if "display_name" in first else first["model"]
    return {str(m): (d if isinstance(d, str) and d else str(m)) for m, d in zip(first["model"], disp)}


def _points(df: pd.DataFrame) -> pd.DataFrame:
    """One row per point, by ridge point (stable)."""
    pts = df.drop_duplicates("point")
    return pts.sort_values("ridge_point", kind="stable") if "ridge_point" in pts else pts


def _spread(pts: pd.DataFrame, n: int) -> pd.DataFrame:
    if len(pts) <= n:
        return pts
    idx = sorted({round(i * (len(pts) - 1) / (n - 1)) for i in range(n)})
    return pts.iloc[idx]


def summarised(sweep_df: pd.DataFrame | None) -> tuple[pd.DataFrame | None, int]:
    """``sweep_df`` with at most ``MAX_SWEEP_ROWS`` ridge points (evenly spread, both ends kept;
    every profile row stays), and how many ridge points it had. Done once, first, so that a
    dense grid costs the page no more than a summary of it."""
    rp, hw = split_sweep(sweep_df)
    if rp.empty or "ridge_point" not in rp:
        return sweep_df, 0
    grid = np.unique(rp["ridge_point"].to_numpy(dtype=float))
    if len(grid) <= MAX_SWEEP_ROWS:
        return sweep_df, len(grid)
    idx = sorted({round(i * (len(grid) - 1) / (MAX_SWEEP_ROWS - 1)) for i in range(MAX_SWEEP_ROWS)})
    keep = rp[rp["ridge_point"].isin(grid[idx])]
    return pd.concat([keep, hw]), len(grid)


def _rate_key(row) -> tuple:
    return (str(row.get("dtype", "")), num(row.get("peak_macs_per_s")), num(row.get("bandwidth_bytes_per_s")))


def duplicate_profiles(sweep_df: pd.DataFrame | None, same_as: Mapping[str, str] | None = None) -> dict[str, list[str]]:
    """RP point -> the hardware profiles with exactly its dtype, peak and bandwidth (e.g. the
    paper's archetype profiles), which the page merges into that RP row. ``same_as``: profile ->
    RP point as the analysis found them (used as given); else found here in ``sweep_df``."""
    if same_as:
        out: dict[str, list[str]] = {}
        for prof, point in same_as.items():
            out.setdefault(str(point), []).append(str(prof))
        return out
    rp, hw = split_sweep(sweep_df)
    if rp.empty or hw.empty or "peak_macs_per_s" not in rp:
        return {}
    keys = ["dtype", "peak_macs_per_s", "bandwidth_bytes_per_s"]

    def table(df: pd.DataFrame) -> pd.DataFrame:
        pts = _points(df)
        return pd.DataFrame({"point": pts["point"].astype(str).to_numpy(),
                             "dtype": (pts["dtype"].astype(str) if "dtype" in pts else pd.Series("", index=pts.index)).to_numpy(),
                             "peak_macs_per_s": pts["peak_macs_per_s"].to_numpy(dtype=float),
                             "bandwidth_bytes_per_s": pts["bandwidth_bytes_per_s"].to_numpy(dtype=float)})

    first_rp = table(rp).drop_duplicates(keys)  # the lowest RP row with those rates
    pairs = table(hw).merge(first_rp, on=keys, how="inner", suffixes=("_hw", "_rp"))  # keeps profile order
    found: dict[str, list[str]] = {}
    for p_rp, p_hw in zip(pairs["point_rp"], pairs["point_hw"]):
        found.setdefault(p_rp, []).append(p_hw)
    return found


def point_label(row) -> str:
    """``"RP 5"``; RP 0 says what it is: ``"MACs only (200 GMAC/s, memory free)"``."""
    bw = num(row.get("bandwidth_bytes_per_s"))
    if num(row.get("ridge_point")) == 0 and (bw is None or math.isinf(bw)):
        return f"MACs only ({fmt_rate(num(row.get('peak_macs_per_s')))}, memory free)"
    return str(row["point"])


# ------------------------------------------------------------------------- sweep tables
def _latency_cells(by: Mapping, point: str, models: list[str], labels: dict[str, str], single: bool,
                   stars: bool) -> list[Cell]:
    if single:
        r = by.get((point, models[0]))
        if r is None:
            return [Cell("-", "", cls="num") for _ in range(4)]
        return [cell(c, r.get(c)) for c in ("latency_s", "mac_time_s", "mem_time_s", "memory_bound_fraction")]
    out = []
    for m in models:
        r = by.get((point, m))
        if r is None:
            out.append(Cell("-", "", cls="num"))
            continue
        lat = num(r.get("latency_s"))
        tip = (f"{labels.get(m, m)} at {point}: {fmt_time(lat)}; memory-bound "
               f"{fmt_percent(num(r.get('memory_bound_fraction')))}")
        out.append(cell("latency_s", lat, title=tip, star=stars and bool(r.get("on_frontier", False))))
    return out


def _model_columns(models: list[str], labels: dict[str, str], single: bool, tops: dict[str, float | None],
                   word: str) -> list[Column]:
    if single:
        return [column("latency_s", word), column("mac_time_s"), column("mem_time_s"),
                column("memory_bound_fraction")]
    return [Column(f"model:{m}", labels.get(m, m), True,
                   f"top-1 {tops[m]:.1f}%" if tops.get(m) is not None else "") for m in models]


def _frame_index(df: pd.DataFrame) -> dict[tuple[str, str], Mapping]:
    return {(str(p), str(m)): r for p, m, r in zip(df["point"], df["model"], df.to_dict("records"))}


def _tops(df: pd.DataFrame) -> dict[str, float | None]:
    first = df.drop_duplicates("model")
    col = first["top1"] if "top1" in first else pd.Series(np.nan, index=first.index)
    return {str(m): num(t) for m, t in zip(first["model"], col)}


def _stars(df: pd.DataFrame, models: list[str]) -> bool:
    return len(models) > 1 and "on_frontier" in df and sum(t is not None for t in _tops(df).values()) > 1


def rp_sweep_view(sweep_df: pd.DataFrame | None, same: dict[str, list[str]] | None = None,
                  total_points: int | None = None) -> TableView | None:
    """The ridge-point sweep with points as rows (by ridge point, RP 0 first and named what it
    is); one model: its latency, MAC and memory time and memory-bound share; several: one
    latency column per model, a star on those on the Pareto frontier at that point. A grid of
    more than ``MAX_SWEEP_ROWS`` points shows an even spread of them (``total_points``: how many
    the full grid had, when ``sweep_df`` is already ``summarised``)."""
    rp, _ = split_sweep(sweep_df)
    if rp.empty:
        return None
    models = [str(m) for m in pd.unique(rp["model"])]
    labels, single, stars = model_labels(sweep_df), len(models) == 1, _stars(rp, models)
    same = duplicate_profiles(sweep_df) if same is None else same
    pts = _points(rp)
    shown = _spread(pts, MAX_SWEEP_ROWS)
    cols = [column("point"), column("ridge_point"), column("peak_macs_per_s")]
    cols += _model_columns(models, labels, single, _tops(rp), "latency")
    if same:
        cols.append(Column("same_as", "same as profile"))
    by = _frame_index(rp[rp["point"].isin(shown["point"])])
    rows = []
    for _, p in shown.iterrows():
        row = [Cell(point_label(p)), cell("ridge_point", p.get("ridge_point")),
               cell("peak_macs_per_s", p.get("peak_macs_per_s"))]
        row += _latency_cells(by, str(p["point"]), models, labels, single, stars)
        if same:
            row.append(Cell(", ".join(same.get(str(p["point"]), [])) or ""))
        rows.append(row)
    view = TableView(cols, rows, "sweep-table")
    total = max(len(pts), total_points or 0)
    if len(shown) < total:
        view.notes.append(f"{len(shown)} of {total} ridge points, spread evenly; sweep.csv holds all.")
    return view


def device_view(sweep_df: pd.DataFrame | None, same: dict[str, list[str]] | None = None) -> TableView | None:
    """Hardware profiles as rows (by ridge point), each at its own peak and bandwidth; profiles
    identical to a ridge-point row are merged into that row instead."""
    _, hw = split_sweep(sweep_df)
    if hw.empty:
        return None
    same = duplicate_profiles(sweep_df) if same is None else same
    merged = {p for ps in same.values() for p in ps}
    hw = hw[~hw["point"].astype(str).isin(merged)]
    if hw.empty:
        return None
    models = [str(m) for m in pd.unique(hw["model"])]
    labels, single, stars = model_labels(sweep_df), len(models) == 1, _stars(hw, models)
    cols = [Column("device", "hardware profile"), column("ridge_point"), column("dtype"),
            column("peak_macs_per_s"), column("bandwidth_bytes_per_s")]
    cols += _model_columns(models, labels, single, _tops(hw), "latency bound")
    by = _frame_index(hw)
    rows = []
    for _, p in _points(hw).iterrows():
        row = [Cell(str(p["point"])), cell("ridge_point", p.get("ridge_point")), cell("dtype", p.get("dtype", "")),
               cell("peak_macs_per_s", p.get("peak_macs_per_s")),
               cell("bandwidth_bytes_per_s", p.get("bandwidth_bytes_per_s"))]
        rows.append(row + _latency_cells(by, str(p["point"]), models, labels, single, stars))
    return TableView(cols, rows, "device-table")


def frontier_view(frontier_share: pd.DataFrame | None, sweep_df: pd.DataFrame | None) -> TableView | None:
    """Models by the share of the ridge-point range on which they are on the Pareto frontier."""
    if frontier_share is None or len(frontier_share) < 2 or "frontier_share" not in frontier_share:
        return None
    fs = frontier_share.assign(_s=pd.to_numeric(frontier_share["frontier_share"], errors="coerce"))
    if fs["_s"].notna().sum() < 2:
        return None
    fs = fs.sort_values("_s", ascending=False, kind="stable", na_position="last")
    labels, tops = model_labels(sweep_df), (_tops(sweep_df) if sweep_df is not None else {})
    cols = [Column("model", "model"), column("top1"), column("frontier_share"), column("frontier_points")]
    rows = []
    for _, r in fs.iterrows():
        m = str(r["model"])
        pts = f"{int(r['frontier_points'])} of {int(r['points'])}" if "points" in r else ""
        rows.append([Cell(labels.get(m, m), title=m), cell("top1", tops.get(m)), cell("frontier_share", r["_s"]),
                     Cell(pts, sort_key_of(r.get("frontier_points")), cls="num")])
    return TableView(cols, rows, "frontier-table")


def sort_key_of(v) -> str:
    f = num(v)
    return "" if f is None else repr(f)


# ------------------------------------------------------------------------------ layers
@dataclass
class LayerBlock:
    model: str
    point: str
    summary: str
    table: TableView


def _rp_of(df: pd.DataFrame) -> float:
    f = num(df["ridge_point"].iloc[0]) if "ridge_point" in df and len(df) else None
    return math.inf if f is None else f


def ordered_layer_tables(layer_tables: Mapping[tuple[str, str], pd.DataFrame]) -> list[tuple[tuple[str, str], pd.DataFrame]]:
    """Per-layer tables grouped by model (in order of appearance), each model's by ridge point."""
    models = list(dict.fromkeys(m for m, _ in layer_tables))
    items = list(layer_tables.items())
    order = sorted(range(len(items)), key=lambda i: (models.index(items[i][0][0]), _rp_of(items[i][1]), i))
    return [items[i] for i in order]


def _is_profile(df: pd.DataFrame) -> bool:
    return "hardware" in df and len(df) > 0 and str(df["hardware"].fillna("").iloc[0]) != ""


def _table_rates(df: pd.DataFrame) -> tuple | None:
    cols = ("dtype", "peak_macs_per_s", "bandwidth_bytes_per_s")
    if not len(df) or not all(c in df for c in cols):
        return None
    return _rate_key(df.iloc[0])


def merged_layer_tables(layer_tables: Mapping[tuple[str, str], pd.DataFrame]) -> tuple[list, dict]:
    """``ordered_layer_tables`` less each profile's table identical in dtype, peak and bandwidth
    to a ridge-point table of the same model (the paper's archetypes), and, per kept key, the
    profiles merged into it."""
    items = ordered_layer_tables(layer_tables)
    rp_keys = {}
    for (model, point), df in items:
        key = _table_rates(df)
        if key is not None and not _is_profile(df):
            rp_keys.setdefault((model, key), (model, point))
    kept, merged = [], {}
    for (model, point), df in items:
        key = _table_rates(df)
        twin = rp_keys.get((model, key)) if key is not None and _is_profile(df) else None
        if twin is None:
            kept.append(((model, point), df))
        else:
            merged.setdefault(twin, []).append(str(point))
    return kept, merged


def layer_blocks(layer_tables: Mapping[tuple[str, str], pd.DataFrame]) -> list[LayerBlock]:
    blocks = []
    kept, merged = merged_layer_tables(layer_tables)
    for n, ((model, point), df) in enumerate(kept):
        total = float(pd.to_numeric(df["time_s"], errors="coerce").sum()) if "time_s" in df else None
        extra = f", {fmt_time(total)}" if total is not None else ""
        same = merged.get((model, point))
        extra += f"; the same as {', '.join(same)}" if same else ""
        blocks.append(LayerBlock(str(model), str(point), f"({len(df)} layers{extra})",
                                 layer_view(df, table_id=f"layers-{n}")))
    return blocks


def _dominant_frames(layer_tables: Mapping[tuple[str, str], pd.DataFrame]) -> list[tuple[str, str, pd.DataFrame]]:
    """(model, point, the ``DOMINANT_TOP`` slowest layers with ``share``) per ridge-point table
    (the profiles' tables when there are no ridge-point ones), by model and ridge point."""
    items = [(k, df) for k, df in ordered_layer_tables(layer_tables) if "time_s" in df and len(df)]
    rp_items = [(k, df) for k, df in items if not _is_profile(df)]
    return [(str(m), str(p), dominant_layers(df.assign(model=str(m)), n=DOMINANT_TOP))
            for (m, p), df in rp_items or items]


def dominant_views(layer_tables: Mapping[tuple[str, str], pd.DataFrame], labels: Mapping[str, str],
                   dominant: pd.DataFrame | None = None) -> list[tuple[str, TableView]]:
    """Per model: the slowest layers at each point with their share of the model's latency there
    and what bounds them. ``dominant``: those rows as the analysis holds them (``model``,
    ``point``, ``share`` and the roofline columns, in order); else picked from ``layer_tables``."""
    if dominant is not None and len(dominant) and {"model", "point", "share"} <= set(dominant.columns):
        frames = [(str(m), str(p), g) for (m, p), g in dominant.groupby(["model", "point"], sort=False)]
    else:
        frames = _dominant_frames(layer_tables)
    per_model: dict[str, list[Sequence[Cell]]] = {}
    for model, point, top in frames:
        for rank, r in enumerate(top.to_dict("records"), 1):
            per_model.setdefault(model, []).append(
                [Cell(point), cell("index", rank), cell("name", r["name"]), cell("op_type", r["op_type"]),
                 cell("bound", r["bound"]), cell("share", r["share"]), cell("time_s", r["time_s"]),
                 cell("intensity_macs_per_byte", r.get("intensity_macs_per_byte"))])
    cols = [column("point"), Column("rank", "#", True), column("name"), column("op_type"), column("bound"),
            column("share"), column("time_s"), column("intensity_macs_per_byte")]
    return [(labels.get(m, m), TableView(cols, rows, f"dominant-{i}")) for i, (m, rows) in enumerate(per_model.items())]


# ---------------------------------------------------------------------------- explorer
def explorer_payload(costed: Mapping[str, pd.DataFrame], meta: Mapping[str, Mapping], *,
                     bandwidth_bytes_per_s: float, rp0_peak_macs_per_s: float, dtype: str,
                     preset: str = "", rp_min: float = 0.5, rp_max: float = 500.0,
                     steps_per_decade: int = 100) -> dict:
    """JSON-ready data of the ridge-point explorer: each model's per-layer MACs and bytes as the
    cost model counts them for the ridge-point sweep (``costed``: label -> costed LayerTable, in
    execution order) and the sweep's rates, from which the page recomputes the roofline exactly
    as ``engine.sweep.sweep_ridge_points`` does (see ``assets/explorer.js``)."""
    models = []
    for label, df in costed.items():
        m = meta.get(label, {})
        top1 = num(m.get("top1"))
        models.append({
            "label": str(label),
            "name": str(m.get("display_name") or label),
            "top1": top1,
            "layers": {
                "name": [str(x) for x in df["name"]],
                "op_type": [str(x) for x in df["op_type"]],
                "macs": [float(x) for x in df["macs"]],
                "bytes": [float(x) for x in df["bytes"]],
            },
        })
    return {"bandwidth_bytes_per_s": float(bandwidth_bytes_per_s), "rp0_peak_macs_per_s": float(rp0_peak_macs_per_s),
            "dtype": str(dtype), "preset": str(preset), "rp_min": float(rp_min), "rp_max": float(rp_max),
            "steps_per_decade": int(steps_per_decade), "models": models}


def script_json(data) -> str:
    """``data`` as JSON safe inside ``<script type="application/json">``: ``<``, ``>``, ``&``
    and the JavaScript line separators are escaped, so no ``</script>`` can end the block."""
    text = json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    for ch, esc in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"),
                    ("\u2029", "\\u2029")):
        text = text.replace(ch, esc)
    return text


__all__ = ["summarised", "rp_sweep_view", "device_view", "frontier_view", "layer_blocks", "dominant_views", "split_sweep",
           "duplicate_profiles", "explorer_payload", "script_json", "model_labels", "ordered_layer_tables"]
