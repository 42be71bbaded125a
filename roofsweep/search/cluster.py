"""The Dask path of ``search``: the same work, spread over ``dask.distributed`` workers.

``local:N`` starts a ``LocalCluster`` of N single-threaded worker processes for the run;
``tcp://HOST:PORT`` (or ``tls://``) connects to a running scheduler (see docs/search-spaces.md
for SLURM / Kubernetes deployments). Block configurations missing from the local trace cache
are traced on the workers (``blocks.TOGETHER`` per task), the evaluation tables are broadcast
once, and candidates go out in chunks of ``CHUNK`` (a second or two of work each); chunk
results stream back as they finish and are placed by chunk index, so the rows are identical to
the in-process run. Dask is the optional ``cluster`` extra.
"""

from __future__ import annotations

import logging
import re
from contextlib import contextmanager

import numpy as np

from roofsweep.errors import ConfigError

EXTRA = 'the Dask scheduler needs the cluster extra: pip install "roofsweep[cluster]"'
CONNECT_TIMEOUT_S = 10.0
_LOCAL = re.compile(r"^local:(\d+)$")
_REMOTE = re.compile(r"^(tcp|tls)://[^\s:/]+:\d+$")


def _distributed():
    try:
        import distributed
    except ImportError:
        raise ConfigError(EXTRA) from None
    return distributed


def check_scheduler(address: str) -> None:
    """``ConfigError`` for a malformed address, or if Dask is not installed."""
    m = _LOCAL.match(address)
    if m:
        if not 1 <= int(m.group(1)) <= 256:
            raise ConfigError(f"--scheduler {address}: local:N needs 1 <= N <= 256 workers")
    elif not _REMOTE.match(address):
        raise ConfigError(f"--scheduler {address!r} must be local:N or tcp://HOST:PORT")
    _distributed()


@contextmanager
def client_for(address: str, timeout: float = CONNECT_TIMEOUT_S):
    """A connected ``distributed.Client`` (and its LocalCluster, closed afterwards)."""
    check_scheduler(address)
    distributed = _distributed()
    m = _LOCAL.match(address)
    if m:
        cluster = distributed.LocalCluster(n_workers=int(m.group(1)), threads_per_worker=1, processes=True,
                                           dashboard_address=None, silence_logs=logging.ERROR)
        client = distributed.Client(cluster)
    else:
        cluster = None
        try:
            client = distributed.Client(address, timeout=timeout)
        except (OSError, TimeoutError) as e:
            why = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise ConfigError(f"no Dask scheduler answers at {address} within {timeout:g} s ({why[:120]})") from None
    try:
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _trace_task(configs):
    from roofsweep.search.blocktrace import _trace_together

    return _trace_together(configs)


def _eval_task(tables, digits):
    from roofsweep.search.vector import evaluate_chunk

    return evaluate_chunk(tables, digits)


def _traces(client, configs):
    """Every configuration's BlockTrace: cached ones read here, the rest traced on workers."""
    from roofsweep.search.blocktrace import TOGETHER, _block_cache_path, _store, trace_blocks

    # read what the cache has (no tracing here: use_cache and an empty "todo" are checked below)
    have = [None] * len(configs)
    todo = []
    for i, cfg in enumerate(configs):
        path = _block_cache_path(cfg)
        if path is not None and path.is_file():
            try:
                have[i] = trace_blocks([cfg])[0]
                continue
            except (OSError, ValueError):
                pass
        todo.append(i)
    distributed = _distributed()
    futs = {}
    for c0 in range(0, len(todo), TOGETHER):
        idx = todo[c0:c0 + TOGETHER]
        futs[client.submit(_trace_task, [configs[i] for i in idx], pure=False)] = idx
    for fut, res in distributed.as_completed(list(futs), with_results=True):
        for i, bt in zip(futs[fut], res):
            have[i] = bt
            path = _block_cache_path(configs[i])
            if path is not None:
                _store(path, bt.to_json())
    return have


def run_on_dask(space, digits, cm, points, batch, scheduler, chunk, progress=None, timeout=CONNECT_TIMEOUT_S, sink=None):
    """``search``'s evaluation on Dask; returns (results dict, stats) like the in-process path
    (with ``sink``, each chunk goes to ``sink(start, res)`` as it finishes and the dict is empty)."""
    import time

    from roofsweep.search import vector
    from roofsweep.search.blocks import EMPTY, plan_space, used_configs

    distributed = _distributed()
    with client_for(scheduler, timeout) as client:
        t0 = time.perf_counter()
        plan = plan_space(space, batch)
        used = used_configs(plan, digits)
        traces = [EMPTY] * len(plan.configs)
        for i, t in zip(used, _traces(client, [plan.configs[i] for i in used])):
            traces[i] = t
        t1 = time.perf_counter()
        tables = vector.build_tables(plan, traces, cm, list(points["dtype"]),
                                     points["peak_macs_per_s"].to_numpy(np.float64),
                                     points["bandwidth_bytes_per_s"].to_numpy(np.float64))
        t2 = time.perf_counter()
        [shared] = client.scatter([tables], broadcast=True)
        starts = list(range(0, len(digits), chunk))
        futs = {client.submit(_eval_task, shared, digits[c0:c0 + chunk], pure=False): k for k, c0 in enumerate(starts)}
        parts = [None] * len(starts)
        for fut, res in distributed.as_completed(list(futs), with_results=True):
            if sink is not None:
                sink(starts[futs[fut]], res)
            else:
                parts[futs[fut]] = res
            if progress is not None:
                progress("costing", len(res["macs"]), len(digits))
        workers = len(client.scheduler_info().get("workers", {}))
    res = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]} if parts and sink is None else {}
    unsupported: dict[str, int] = {}
    for t in traces:
        for k, v in t.unsupported.items():
            unsupported[k] = unsupported.get(k, 0) + v
    stats = {"distinct_blocks": len(plan.configs), "traced_blocks": len(used), "block_seconds": t1 - t0, "tables_seconds": t2 - t1,
             "unsupported_ops": unsupported, "workers": workers}
    return res, stats
