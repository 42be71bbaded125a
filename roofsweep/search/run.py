"""``search()``: cost candidates of a space at every ridge point and profile (torch only to trace
blocks that are not in the cache). Returns DataFrames; nothing here prints.

Steps: choose candidates (``choose``), derive the distinct block configurations
(``blocks.plan_space``), trace each once (cached), cost them per dtype and precompute per-layer
times (``vector.build_tables``), evaluate candidates chunk by chunk (``vector.evaluate_chunk``;
on Dask with ``scheduler``), then mark the capacity-vs-latency frontier per ridge point and each
candidate's frontier share.
"""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from roofsweep.engine.costmodel import CostModel
from roofsweep.errors import ConfigError, OutputError
from roofsweep.search import vector
from roofsweep.search.blocks import EMPTY, plan_space, trace_blocks, used_configs
from roofsweep.search.space import Space

CAPACITY_CHOICES = ("params", "macs")
DEFAULT_RPS = "0,5,50,500"
CHUNK = 100_000  # candidates per task: about a second or two of work on one core


@dataclass
class SearchResult:
    space: Space
    rows: pd.DataFrame | None  # None when a sink streamed them to a file
    points: pd.DataFrame  # label, ridge_point, hardware, dtype, peak_macs_per_s, bandwidth_bytes_per_s
    cost_model: CostModel
    capacity: str
    stats: dict[str, Any] = field(default_factory=dict)

    def frontier(self, point: str) -> pd.DataFrame:
        """Candidates on the frontier at one ridge point, fastest first."""
        col = f"on_frontier[{point}]"
        if col not in self.rows.columns:
            raise ConfigError(f"no frontier for {point!r}; ridge points: {', '.join(self.rp_labels)}")
        return self.rows[self.rows[col]].sort_values(f"latency_s[{point}]", kind="stable")

    @property
    def rp_labels(self) -> list[str]:
        return list(self.points.loc[self.points["hardware"] == "", "label"])


def choose(space: Space, samples: int | None = None, seed: int = 0, all_: bool = False) -> np.ndarray:
    """Digits of the candidates to cost: ``samples`` drawn with ``seed``, or every one."""
    if all_ and samples is not None:
        raise ConfigError("give --samples N or --all, not both")
    if all_:
        return space.enumerate_all()
    if samples is None:
        raise ConfigError("say how many candidates: --samples N (with --seed S) or --all")
    return space.sample(samples, seed)


def _points(cm: CostModel, ridge_points, profiles) -> pd.DataFrame:
    from roofsweep.engine.grid import point_rates, ridge_point_grid, rp_labels
    from roofsweep.engine.points import _profile_rates, profile_dtype

    rps = ridge_point_grid(ridge_points)
    peak, bw = point_rates(rps, cm)
    d = cm.resolve_dtype(None)
    rows = [dict(label=lab, ridge_point=float(r), hardware="", dtype=d, peak_macs_per_s=float(p),
                 bandwidth_bytes_per_s=float(b)) for lab, r, p, b in zip(rp_labels(rps), rps, peak, bw)]
    for prof in profiles:
        dt = profile_dtype(cm, prof)
        p, b, r = _profile_rates(prof, dt)
        rows.append(dict(label=prof.name, ridge_point=r, hardware=prof.name, dtype=dt, peak_macs_per_s=p,
                         bandwidth_bytes_per_s=b))
    return pd.DataFrame(rows)


def prepare(space: Space, cm: CostModel, points: pd.DataFrame, batch: int = 1, progress=None,
            tracer: Callable | None = None, digits: np.ndarray | None = None) -> tuple[vector.Tables, dict]:
    """Trace every distinct block the candidates ``digits`` use (all if None; cached) and build
    the evaluation tables."""
    vector.check_cost_model(cm)
    t0 = time.perf_counter()
    plan = plan_space(space, batch)
    used = np.arange(len(plan.configs)) if digits is None else used_configs(plan, digits)
    traced = (tracer or trace_blocks)([plan.configs[i] for i in used], progress=progress)
    traces = [EMPTY] * len(plan.configs)
    for i, t in zip(used, traced):
        traces[i] = t
    t1 = time.perf_counter()
    tables = vector.build_tables(plan, traces, cm, list(points["dtype"]),
                                 points["peak_macs_per_s"].to_numpy(np.float64),
                                 points["bandwidth_bytes_per_s"].to_numpy(np.float64))
    unsupported: dict[str, int] = {}
    for t in traces:
        for k, v in t.unsupported.items():
            unsupported[k] = unsupported.get(k, 0) + v
    stats = {"distinct_blocks": len(plan.configs), "traced_blocks": len(used), "block_seconds": t1 - t0,
             "tables_seconds": time.perf_counter() - t1, "unsupported_ops": unsupported}
    return tables, stats


def search(
    space: Space,
    digits: np.ndarray,
    ridge_points: Any = DEFAULT_RPS,
    hardware: list | None = None,
    cost_model: CostModel | str = "default",
    capacity: str = "params",
    batch: int = 1,
    scheduler: str | None = None,
    chunk: int = CHUNK,
    progress: Callable[[str, int, int], None] | None = None,
    scheduler_timeout: float = 10.0,
    sink=None,
) -> SearchResult:
    """Cost the candidates ``digits`` (from ``choose``) of ``space``; see the module docstring.

    ``sink`` (a ``stream.RowSpool``, or any callable): each chunk's results go to
    ``sink(start, res)`` as they come back instead of being kept (``sink.start(space, digits,
    points, capacity)`` first, if it has one); the result's ``rows`` is then None.

    ``hardware``: profiles or names (None/[]: ridge points only). ``capacity``: the frontier's
    capacity axis. ``scheduler``: ``local:N`` or ``tcp://HOST:PORT`` runs on Dask
    (``roofsweep.search.cluster``); results are identical to the in-process run.
    """
    from roofsweep.analysis import cost_model_from
    from roofsweep.hardware import get_profile

    if capacity not in CAPACITY_CHOICES:
        raise ConfigError(f"capacity must be one of {', '.join(CAPACITY_CHOICES)}; got {capacity!r}")
    cm = cost_model if isinstance(cost_model, CostModel) else cost_model_from(cost_model)
    vector.check_cost_model(cm)
    profiles = [get_profile(h) if isinstance(h, str) else h for h in (hardware or [])]
    points = _points(cm, ridge_points, profiles)
    t0 = time.perf_counter()
    if hasattr(sink, "start"):
        sink.start(space, digits, points, capacity)
    if getattr(space, "kind", "blocks") == "callable":
        from roofsweep.search.callable_run import run_callable

        if scheduler:
            from roofsweep.search.cluster import check_scheduler

            check_scheduler(scheduler)
        res, stats = run_callable(space, digits, cm, points, profiles, batch, scheduler, progress=progress,
                                  timeout=scheduler_timeout, sink=sink)
    elif scheduler:
        from roofsweep.search.cluster import run_on_dask

        res, stats = run_on_dask(space, digits, cm, points, batch, scheduler, chunk, progress, scheduler_timeout, sink)
    else:
        step = None if progress is None else (lambda n: progress("tracing blocks", n, 0))
        tables, stats = prepare(space, cm, points, batch, progress=step, digits=digits)
        parts = []
        for c0 in range(0, len(digits), chunk):
            r = vector.evaluate_chunk(tables, digits[c0:c0 + chunk])
            sink(c0, r) if sink is not None else parts.append(r)
            if progress is not None:
                progress("costing", min(chunk, len(digits) - c0), len(digits))
        res = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]} if parts else {}
    t1 = time.perf_counter()
    rows = None if sink is not None else assemble_rows(space, digits, res, points, capacity)
    stats.update(candidates=len(digits), points=len(points), seconds=time.perf_counter() - t0,
                 evaluate_seconds=t1 - t0 - stats.get("block_seconds", 0) - stats.get("tables_seconds", 0))
    return SearchResult(space, rows, points, cm, capacity, stats)


def assemble_rows(space: Space, digits: np.ndarray, res: dict, points: pd.DataFrame, capacity: str) -> pd.DataFrame:
    """One row per candidate: ID, spec, choices that matter, totals, latency per point, frontier."""
    data = candidate_columns(space, digits, res, points)
    rp_cols = np.flatnonzero((points["hardware"] == "").to_numpy())
    data.update(frontier_columns(np.asarray(res[capacity], dtype=np.float64), res["latency_s"][:, rp_cols], points))
    return pd.DataFrame(data)


def candidate_columns(space: Space, digits: np.ndarray, res: dict, points: pd.DataFrame) -> dict[str, Any]:
    """The columns of ``assemble_rows`` that depend on the candidates alone (not the frontier)."""
    ids = space.ids_text(digits)
    prefix = f"space:{space.source}#"
    data: dict[str, Any] = {"id": ids, "spec": [prefix + i for i in ids]}
    if getattr(space, "kind", "blocks") == "callable":  # one column per parameter
        for k, ax in enumerate(space.axes):
            data[ax.name] = pd.Series([ax.values[int(d)] for d in digits[:, k]], dtype=object) \
                if len({type(v) for v in ax.values}) > 1 else np.asarray(ax.values)[digits[:, k]]
    else:
        data["resolution"] = np.asarray(space.axes[0].values)[digits[:, 0]]
        data["width_multiplier"] = np.asarray(space.axes[1].values, dtype=np.float64)[digits[:, 1]]
    data["macs"] = res["macs"]
    data["params"] = res["params"]
    dtypes = list(dict.fromkeys(points["dtype"]))
    rp_dtype = points.loc[points["hardware"] == "", "dtype"]
    main = dtypes.index(rp_dtype.iloc[0]) if len(rp_dtype) else 0
    data["weight_bytes"] = res["weight_bytes"][:, main]
    data["bytes"] = res["bytes"][:, main]
    for gi, d in enumerate(dtypes):
        if gi != main:
            data[f"bytes[{d}]"] = res["bytes"][:, gi]
    for j, lab in enumerate(points["label"]):
        data[f"latency_s[{lab}]"] = res["latency_s"][:, j]
    return data


def frontier_columns(cap: np.ndarray, rp_latency: np.ndarray, points: pd.DataFrame) -> dict[str, np.ndarray]:
    """``on_frontier[RP ...]``, ``frontier_points`` and ``frontier_share`` of every candidate, from
    its capacity (N,) and its latency at the ridge points (N, R); they need all candidates."""
    rp = points[points["hardware"] == ""]
    on = vector.on_frontier(cap, rp_latency)
    data: dict[str, np.ndarray] = {f"on_frontier[{lab}]": on[:, k] for k, lab in enumerate(rp["label"])}
    rps = rp["ridge_point"].to_numpy(np.float64)
    positive = rps > 0
    data["frontier_points"] = on.sum(axis=1).astype(np.int64)
    data["frontier_share"] = vector.frontier_share(on[:, positive], rps[positive]) if positive.any() \
        else np.full(len(cap), np.nan)
    return data


# ------------------------------------------------------------------------------ output
def check_output(path: str | Path | None) -> None:
    """Fail before any work if the output file's folder is missing or not writable."""
    if path is None:
        return
    p = Path(path)
    parent = p.parent if str(p.parent) else Path(".")
    if p.is_dir():
        raise OutputError(f"--out {path} is a folder; give a file name")
    if not parent.is_dir():
        raise OutputError(f"--out {path}: folder {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise OutputError(f"--out {path}: folder {parent} is not writable")


def write_rows(df: pd.DataFrame, path: str | Path, fmt: str = "csv", chunk: int = 200_000) -> Path:
    """Write the rows to ``path`` in chunks through a temporary file renamed at the end, so the
    file is either complete or absent (an interrupted run leaves nothing)."""
    p = Path(path)
    check_output(p)
    fd, tmp = tempfile.mkstemp(dir=p.parent if str(p.parent) else ".", prefix=f".{p.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", newline="") as f:
            write_stream(df, f, fmt, chunk)
        os.replace(tmp, p)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return p


def write_stream(df: pd.DataFrame, f, fmt: str, chunk: int = 200_000, first: bool = True, last: bool = True) -> None:
    """CSV (floats as their shortest round-trip repr, so they read back bit for bit) or JSON (a
    list of records; NaN/inf as null, 15 significant digits), chunk by chunk. ``first``/``last``
    say whether ``df`` opens/closes the output (header, brackets) when rows come in parts."""
    if fmt == "csv":
        if first:
            f.write(",".join(_csv_field(str(c)) for c in df.columns) + "\n")
        for c0 in range(0, len(df), chunk):
            part = df.iloc[c0:c0 + chunk]
            cols = [_csv_column(part[c]) for c in part.columns]
            f.write("\n".join(map(",".join, zip(*cols))))
            f.write("\n")
        return
    if fmt != "json":
        raise ConfigError(f"format must be csv or json, got {fmt!r}")
    if first:
        f.write("[")
    for c0 in range(0, len(df), chunk):
        part = df.iloc[c0:c0 + chunk].replace([np.inf, -np.inf], np.nan)
        text = part.to_json(orient="records", double_precision=15)
        f.write(("," if c0 or not first else "") + text[1:-1])
    if last:
        f.write("]\n")


def _csv_field(v: str) -> str:
    if any(ch in v for ch in ',"\n\r'):
        return '"' + v.replace('"', '""') + '"'
    return v


def _csv_column(col: pd.Series) -> list[str]:
    """One column as CSV fields (about 5x faster than ``DataFrame.to_csv`` for these tables)."""
    values = col.tolist()
    if col.dtype == object:
        values = [str(v) for v in values]
        joined = "".join(values)
        if any(ch in joined for ch in ',"\n\r'):
            return [_csv_field(v) for v in values]
        return values
    if col.dtype.kind == "f":
        arr = col.to_numpy()
        uniq, inv = np.unique(arr, return_inverse=True)
        if len(uniq) <= len(arr) // 4:  # few distinct values (multipliers, shares): format each once
            text = [repr(float(u)) for u in uniq]
            return [text[i] for i in inv.tolist()]
        if np.isfinite(arr).all() and (np.abs(arr) < 2**53).all() and (arr == np.round(arr)).all():
            return [f"{v}.0" for v in arr.astype(np.int64).tolist()]  # integer-valued (bytes): same text as repr
        return [repr(v) for v in values]  # shortest repr that reads back to the same double
    return [str(v) for v in values]
