"""``search`` over a callable space: each candidate traced in full and costed by ``engine.sweep``.

Candidates go in chunks of ``callables.CHUNK``; in process by default, or as Dask tasks
(``--scheduler``: ``cluster.client_for``), whose results are placed by chunk index so the rows are
identical to the in-process run. Returns the same result dict as the block space's evaluation
(``macs``/``params`` (N,), ``bytes``/``weight_bytes`` (N, dtype groups), ``latency_s`` (N, points)).
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from roofsweep.search.callables import CHUNK, CallableSpace, candidate_trace


def evaluate_ids(space: CallableSpace, ids: list[int], cm, rps, profiles: list, batch: int = 1) -> dict:
    """Trace (cached) and cost candidates ``ids``: ``sweep_ridge_points`` at ``rps`` and
    ``sweep_profiles`` on ``profiles``, exactly as ``roofsweep sweep --model space:FILE#ID``."""
    from roofsweep.engine.sweep import CostCache, sweep_profiles, sweep_ridge_points

    traces = {space.label_of(i): candidate_trace(space, i, batch) for i in ids}
    costs = CostCache(traces)
    n = len(ids)
    parts = []
    if len(rps):
        parts.append(sweep_ridge_points(costs, rps, cm))
    if profiles:
        parts.append(sweep_profiles(costs, profiles, cm))
    sw = pd.concat(parts, ignore_index=True)
    order = {lab: k for k, lab in enumerate(costs.labels)}
    sw = sw.assign(_m=sw["model"].map(order)).sort_values("_m", kind="stable")
    p = len(sw) // n
    lat = sw["latency_s"].to_numpy(np.float64).reshape(n, p)
    nbytes = sw["bytes"].to_numpy(np.float64).reshape(n, p)
    dtypes = list(dict.fromkeys(sw["dtype"].iloc[:p]))
    by_dtype = sw["dtype"].iloc[:p].to_numpy()
    cols = [int(np.flatnonzero(by_dtype == d)[0]) for d in dtypes]
    wb = np.zeros((n, len(dtypes)))
    main_dtype = cm.resolve_dtype(None)
    for gi, d in enumerate(dtypes):
        onchip = cm.onchip_capacity(None) if d == main_dtype else 0.0
        c = costs.costed(cm, d, onchip)
        wb[:, gi] = c.groupby("model", sort=False)["weight_bytes"].sum().reindex(costs.labels).to_numpy(np.float64)
    unsupported: dict[str, int] = {}
    for t in traces.values():
        for k, v in t.unsupported_ops.items():
            unsupported[k] = unsupported.get(k, 0) + int(v)
    return {"macs": np.array([int(t.layers["macs"].sum()) for t in traces.values()], dtype=np.int64),
            "params": np.array([int(t.params) for t in traces.values()], dtype=np.int64),
            "bytes": nbytes[:, cols], "weight_bytes": wb, "latency_s": lat, "unsupported_ops": unsupported}


def _task(space, ids, cm, rps, profiles, batch):
    return evaluate_ids(space, ids, cm, rps, profiles, batch)


def _keep(res: dict, start: int, sink) -> dict:
    """What to keep of a chunk's result: all of it, or (streaming) only its unsupported-op counts."""
    if sink is None:
        return res
    sink(start, {k: v for k, v in res.items() if k != "unsupported_ops"})
    return {"unsupported_ops": res["unsupported_ops"]}


def run_callable(space: CallableSpace, digits: np.ndarray, cm, points: pd.DataFrame, profiles: list, batch: int = 1,
                 scheduler: str | None = None, chunk: int = CHUNK, progress=None, timeout: float = 10.0, sink=None):
    """Evaluate the candidates ``digits`` of ``space``; (result dict, stats) like ``search``'s paths."""
    from roofsweep.search.callables import load_builder

    load_builder(space)  # an unimportable callable fails once, before any work
    t0 = time.perf_counter()
    ids = [int(i) for i in space.ids_text(digits)]
    rp_mask = (points["hardware"] == "").to_numpy()
    rps = points["ridge_point"].to_numpy(np.float64)[rp_mask]
    starts = list(range(0, len(ids), chunk))
    parts: list = [None] * len(starts)
    workers = 0
    if scheduler:
        from roofsweep.search.cluster import _distributed, client_for

        distributed = _distributed()
        with client_for(scheduler, timeout) as client:
            futs = {client.submit(_task, space, ids[c0:c0 + chunk], cm, rps, profiles, batch, pure=False): k
                    for k, c0 in enumerate(starts)}
            for fut, res in distributed.as_completed(list(futs), with_results=True):
                parts[futs[fut]] = _keep(res, starts[futs[fut]], sink)
                if progress is not None:
                    progress("costing", len(res["macs"]), len(ids))
            workers = len(client.scheduler_info().get("workers", {}))
    else:
        for k, c0 in enumerate(starts):
            parts[k] = _keep(evaluate_ids(space, ids[c0:c0 + chunk], cm, rps, profiles, batch), c0, sink)
            if progress is not None:
                progress("costing", min(chunk, len(ids) - c0), len(ids))
    unsupported: dict[str, int] = {}
    for p in parts:
        for k, v in p.pop("unsupported_ops").items():
            unsupported[k] = unsupported.get(k, 0) + v
    res = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]} if parts and sink is None else {}
    stats = {"distinct_blocks": 0, "traced_candidates": len(ids), "block_seconds": time.perf_counter() - t0,
             "tables_seconds": 0.0, "unsupported_ops": unsupported}
    if scheduler:
        stats["workers"] = workers
    return res, stats
