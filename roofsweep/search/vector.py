"""Vectorised costing of candidates from per-block tables (numpy only, no torch).

Exactness. A candidate's LayerTable is the concatenation of its blocks' tables, and every cost
model setting the search accepts is per row (the RGB padding touches only the stem, which
alone reads the network input; split-out activations are per row), so a candidate's costed
rows are its blocks' costed rows. MACs and parameters are integer sums; bytes are sums of
integer-valued floats, exact in float64. The latency at a point is a sum of per-layer roofline
times, and a float sum depends on its order and grouping: here each candidate's layer times are
gathered in execution order and reduced with ``np.add.reduceat`` exactly as
``roofsweep.engine.sweep`` reduces a traced model, so the result is bit-for-bit the one
``sweep --model space:FILE#ID`` prints (a per-block partial sum would differ in the last bits).
On-chip hand-offs cross block boundaries and weight residency depends on the whole network, so
a cost model with ``use_onchip`` is refused (``check_cost_model``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from roofsweep.engine.costmodel import CostModel, apply_cost_model
from roofsweep.engine.roofline import layer_times
from roofsweep.errors import ConfigError
from roofsweep.layertable import LAYER_COLUMNS

# Layer rows gathered per sub-chunk of candidates; bounds memory (~50 MB of indices and times).
_CHUNK_ELEMS = 4_000_000


def check_cost_model(cm: CostModel) -> None:
    if cm.use_onchip:
        raise ConfigError(
            f"cost model '{cm.name}' models on-chip memory (use_onchip=true), whose hand-offs cross "
            "block boundaries; the block-wise search supports use_onchip=false only"
        )


@dataclass
class Group:
    """Rows of every distinct block costed at one dtype, and their per-layer times at the
    points of that dtype (``point_index`` into the search's point list)."""

    dtype: str
    point_index: np.ndarray
    row_start: np.ndarray  # (configs,) first costed row of each config
    n_rows: np.ndarray  # (configs,)
    times: np.ndarray  # (rows, points of this group) layer time in seconds
    cfg_bytes: np.ndarray  # (configs,) bytes of each config at this dtype
    cfg_weight_bytes: np.ndarray

    @property
    def cols(self) -> list[np.ndarray]:
        c = self.__dict__.get("_cols")
        if c is None:
            c = self.__dict__["_cols"] = [np.ascontiguousarray(self.times[:, j]) for j in range(self.times.shape[1])]
        return c


@dataclass
class Tables:
    """Everything one chunk of candidates needs: picklable numpy arrays (shipped to Dask
    workers once)."""

    positions: list[tuple[np.ndarray, np.ndarray, np.ndarray]]  # (axes, mults, table)
    cfg_macs: np.ndarray
    cfg_params: np.ndarray
    groups: list[Group]
    n_points: int
    rows_per_candidate: float = 0.0
    meta: dict = field(default_factory=dict)


def _block_layers(traces) -> pd.DataFrame:
    """One table of every block's rows, ``model`` = the configuration's index."""
    cols: dict[str, list] = {c: [] for c in LAYER_COLUMNS}
    for i, t in enumerate(traces):
        n = len(t.columns["index"])
        for c in LAYER_COLUMNS:
            cols[c].extend([i] * n if c == "model" else t.columns[c])
    return pd.DataFrame(cols).astype({**LAYER_COLUMNS, "model": "int64"})


def build_tables(plan, traces, cm: CostModel, dtypes: list[str], peaks: np.ndarray, bws: np.ndarray) -> Tables:
    """Cost every distinct block at each point's dtype and precompute its per-layer times.

    ``dtypes``/``peaks``/``bws``: one entry per point (ridge point or profile), in output order.
    """
    check_cost_model(cm)
    layers = _block_layers(traces)
    n_cfg = len(traces)
    groups = []
    for dtype in dict.fromkeys(dtypes):
        idx = np.array([i for i, d in enumerate(dtypes) if d == dtype], dtype=np.int64)
        costed = apply_cost_model(layers, cm, dtype, onchip_bytes=0.0)
        codes = costed["model"].astype(np.int64).to_numpy()
        assert np.all(np.diff(codes) >= 0), "costed rows not grouped by block"
        n_rows = np.bincount(codes, minlength=n_cfg)
        row_start = np.concatenate(([0], np.cumsum(n_rows)[:-1])).astype(np.int64)
        macs = costed["macs"].to_numpy(dtype=np.float64)
        nbytes = costed["bytes"].to_numpy(dtype=np.float64)
        times = layer_times(macs[:, None], nbytes[:, None], peaks[idx][None, :], bws[idx][None, :])[2]
        groups.append(Group(
            dtype, idx, row_start, n_rows.astype(np.int64), np.ascontiguousarray(times),
            np.bincount(codes, weights=nbytes, minlength=n_cfg),
            np.bincount(codes, weights=costed["weight_bytes"].to_numpy(dtype=np.float64), minlength=n_cfg),
        ))
    cfg_macs = np.array([sum(t.columns["macs"]) for t in traces], dtype=np.int64)  # as traced
    positions = [(np.asarray(p.axes, dtype=np.int64), p.mults, p.table) for p in plan.positions]
    cfg_params = np.array([t.params for t in traces], dtype=np.int64)
    return Tables(positions, cfg_macs, cfg_params, groups, len(dtypes))


def config_ids(tables: Tables, digits: np.ndarray) -> np.ndarray:
    """(N, positions) configuration index of every block of every candidate."""
    return lookup(tables.positions, digits)


def lookup(positions, digits: np.ndarray) -> np.ndarray:
    """Configuration IDs from digits through each position's (axes, mults, table)."""
    out = np.empty((len(digits), len(positions)), dtype=np.intp, order="F")
    code = np.empty(len(digits), dtype=np.intp)
    for p, (axes, mults, table) in enumerate(positions):
        code[:] = 0
        for k, a in enumerate(axes):  # Horner over the position's axes: sum of digit x mult
            if k:
                code *= mults[k - 1] // mults[k]
            code += digits[:, a]
        np.take(table, code, out=out[:, p])
    return out


def _latency(group: Group, ids: np.ndarray) -> np.ndarray:
    """(N, points of group): each candidate's layer times gathered in execution order and
    reduced per candidate with ``np.add.reduceat`` (as the sweep does)."""
    lens = group.n_rows[ids]
    per_cand = lens.sum(axis=1)
    flat_len = lens.ravel()
    ends = np.cumsum(flat_len, dtype=np.int64)
    rows = np.repeat(group.row_start[ids].ravel() - (ends - flat_len), flat_len)
    rows += np.arange(ends[-1], dtype=np.intp)
    starts = np.concatenate(([0], np.cumsum(per_cand)[:-1]))
    out = np.empty((len(ids), group.times.shape[1]))
    for j in range(group.times.shape[1]):  # 1-D gathers from a cache-resident column
        # reduceat of one column equals that column of a 2-D reduceat (checked in the tests)
        out[:, j] = np.add.reduceat(np.take(group.cols[j], rows), starts)
    return out


def evaluate_chunk(tables: Tables, digits: np.ndarray) -> dict[str, np.ndarray]:
    """Totals and per-point latencies of candidates given as (N, axes) digits.

    Returns ``macs``/``params`` (N,) int64, ``bytes``/``weight_bytes`` (N, dtype groups) and
    ``latency_s`` (N, points), processing the candidates in sub-chunks to bound memory.
    """
    n = len(digits)
    lat = np.zeros((n, tables.n_points))
    nb = np.zeros((n, len(tables.groups)))
    wb = np.zeros((n, len(tables.groups)))
    ids_all = config_ids(tables, digits)
    ids_rows = np.ascontiguousarray(ids_all)  # (N, positions), rows in execution order
    macs = np.zeros(n, dtype=np.int64)
    params = np.zeros(n, dtype=np.int64)
    for p in range(ids_all.shape[1]):  # integer sums: exact in any order
        macs += tables.cfg_macs[ids_all[:, p]]
        params += tables.cfg_params[ids_all[:, p]]
    for gi, g in enumerate(tables.groups):
        for p in range(ids_all.shape[1]):  # integer-valued floats: exact in any order
            nb[:, gi] += g.cfg_bytes[ids_all[:, p]]
            wb[:, gi] += g.cfg_weight_bytes[ids_all[:, p]]
        rows = float(g.n_rows[ids_all[:1]].sum()) if n else 1.0
        step = max(1, int(_CHUNK_ELEMS // max(1.0, rows)))
        for c0 in range(0, n, step):
            c1 = min(n, c0 + step)
            lat[c0:c1, g.point_index] = _latency(g, ids_rows[c0:c1])
    return {"macs": macs, "params": params, "bytes": nb, "weight_bytes": wb, "latency_s": lat}


# ------------------------------------------------------------------------------ frontier
def on_frontier(capacity: np.ndarray, latency: np.ndarray) -> np.ndarray:
    """(N, P) bool: candidate i is capacity-vs-latency Pareto-optimal at point p.

    Same rule as ``roofsweep.engine.pareto``: i is dominated if another candidate has at least
    its capacity and strictly lower latency, or strictly more capacity and no higher latency;
    exact ties are all on the frontier. O(N log N) per point: sort by latency, then compare each latency group's capacity with the best of every strictly faster group.
    """
    n, p = latency.shape
    out = np.zeros((n, p), dtype=bool)
    cap = capacity.astype(np.float64)
    for j in range(p):
        lat = latency[:, j]
        order = np.argsort(lat)
        ls, cs = lat[order], cap[order]
        new_group = np.r_[True, ls[1:] != ls[:-1]] if n else np.zeros(0, dtype=bool)
        starts = np.flatnonzero(new_group)
        if not len(starts):
            continue
        gid = np.cumsum(new_group) - 1
        gmax = np.maximum.reduceat(cs, starts)  # highest capacity among equal latencies
        before = np.r_[-np.inf, np.maximum.accumulate(gmax)[:-1]]  # best of strictly faster
        out[order, j] = (cs == gmax[gid]) & (cs > before[gid])
    return out


def frontier_share(on: np.ndarray, ridge_points: np.ndarray) -> np.ndarray:
    """Share of the ridge-point range (log scale, RP > 0; each point weighted by the interval it
    stands for, as ``engine.pareto.frontier_share``) on which each candidate is on the frontier."""
    from roofsweep.engine.pareto import _interval_weights

    w = _interval_weights(np.asarray(ridge_points, dtype=np.float64), "log")
    total = w.sum()
    if total <= 0:
        return np.full(len(on), np.nan)
    return (on.astype(np.float64) @ w) / total
