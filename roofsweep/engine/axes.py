"""Batch, dtype and resolution axes of a sweep: one long-form table over every combination
(torch-free).

A LayerTable is dtype-agnostic, so one trace per (model, batch, resolution) serves every dtype:
``sweep_axes`` costs it at each dtype and sweeps ridge points and profiles with the ordinary
engine (``sweep_ridge_points`` / ``sweep_profiles``), then adds

* ``batch`` and ``samples_per_s`` = batch / latency (the throughput of one batch in flight);
* ``compute_bound_batch``: the smallest batch at which the model turns compute-bound at that
  point - its total MAC time reaches its total memory time, i.e. its aggregate intensity
  MACs / bytes reaches the ridge point. With per-sample MACs M and activation bytes A and
  weight bytes W (read once per batch): B x M / peak >= (W + B x A) / bandwidth, so
  B* = ceil(W x peak / (M x bandwidth - A x peak)), and never (null) when M x bandwidth <= A x peak
  (per sample the model moves more bytes than the point's ridge allows). RP 0 (free memory)
  gives 1. This needs costs linear in the batch, which on-chip hand-offs break, so with
  ``use_onchip`` the column is null.

Profiles that list no peak for a requested dtype are skipped for that dtype (reported in
``skipped``), not silently evaluated at another dtype.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from roofsweep.engine.costmodel import CostModel, apply_cost_model, with_overrides
from roofsweep.engine.points import _resolve_cost_model
from roofsweep.engine.sweep import sweep_profiles, sweep_ridge_points
from roofsweep.errors import ConfigError
from roofsweep.units import DTYPE_BYTES

AXIS_COLUMNS = ("batch", "samples_per_s", "compute_bound_batch")


def parse_list(text: str | Sequence | int | None, what: str, kind=int) -> list:
    """``"1,8,32" -> [1, 8, 32]`` (also a list or one value); ``ConfigError`` naming ``what``."""
    if text is None:
        return []
    items = text if isinstance(text, (list, tuple)) else str(text).split(",")
    out = []
    for it in items:
        s = str(it).strip()
        if not s:
            continue
        if kind is str:
            out.append(s)
            continue
        try:
            v = int(s)
        except ValueError:
            raise ConfigError(f"{what} must be whole numbers separated by commas, got {s!r}") from None
        if v < 1:
            raise ConfigError(f"{what} must be positive, got {v}")
        out.append(v)
    if not out:
        raise ConfigError(f"{what} list is empty")
    if len(set(out)) != len(out):
        raise ConfigError(f"{what} lists a value twice: {text}")
    if kind is str:
        for d in out:
            if d not in DTYPE_BYTES:
                from roofsweep.errors import did_you_mean

                raise ConfigError(did_you_mean(d, DTYPE_BYTES, "dtype"))
    return out


def compute_bound_batch(macs, nbytes, weight_bytes, batch, peak, bw) -> np.ndarray:
    """Smallest batch >= 1 with total MAC time >= total memory time (see module docstring);
    NaN where no batch gets there. Arrays broadcast; ``macs``/``nbytes`` are at ``batch``."""
    macs, nbytes, w, b = (np.asarray(x, dtype=np.float64) for x in (macs, nbytes, weight_bytes, batch))
    peak, bw = np.asarray(peak, dtype=np.float64), np.asarray(bw, dtype=np.float64)
    m, a = macs / b, (nbytes - w) / b  # per sample
    with np.errstate(divide="ignore", invalid="ignore"):
        slope = m / peak - a / bw  # seconds of compute minus memory per extra sample
        guess = np.where(slope > 0, np.ceil((w / bw) / slope), np.nan)
    guess = np.where(np.isinf(bw), 1.0, np.maximum(guess, 1.0))

    def bound(k):  # the criterion itself, evaluated exactly as stated
        return k * m / peak >= (w + k * a) / bw

    ok = np.isfinite(guess)
    g = np.where(ok, guess, 1.0)
    g = np.where(ok & ~bound(g), g + 1, g)  # one rounding step either way
    g = np.where(ok & (g > 1) & bound(g - 1), g - 1, g)
    return np.where(ok, g, np.nan)


def sweep_axes(
    traces: Mapping[tuple[str, int, int], Any],
    dtypes: Sequence[str] | None = None,
    ridge_points: Any = None,
    profiles: Sequence[Any] = (),
    cost_model: CostModel | str = "default",
    meta: Mapping[str, dict] | None = None,
) -> tuple[pd.DataFrame, list[str]]:
    """Long-form sweep over (model, batch, resolution) traces x dtypes x points.

    ``traces``: ``{(model label, batch, resolution): LayerTable or TraceResult}``.
    ``dtypes``: None = the cost model's own dtype choice (``CostModel.resolve_dtype``).
    Returns (rows, notes): the ``SWEEP_COLUMNS`` of the engine plus ``AXIS_COLUMNS``, ordered
    model, resolution, batch, dtype, point; notes name (profile, dtype) pairs skipped.
    """
    cm = _resolve_cost_model(cost_model)
    if ridge_points is None and not profiles:
        raise ConfigError("sweep_axes needs ridge points or hardware profiles")
    parts, notes = [], []
    for (label, batch, res), t in traces.items():
        layers = getattr(t, "layers", t)
        m = dict((meta or {}).get(label, {}))
        m["resolution"] = res
        for dtype in (dtypes or [None]):
            cmd = cm if dtype is None else with_overrides(cm, dtype=dtype, name=cm.name)
            sub = []
            if ridge_points is not None:
                sub.append(sweep_ridge_points({label: layers}, ridge_points, cmd, {label: m}))
            if profiles:
                keep = [p for p in profiles if dtype is None or dtype in p.peak_macs_per_s]
                notes += [f"{p.name} has no {dtype} peak: skipped at {dtype}" for p in profiles if p not in keep]
                if keep:
                    sub.append(sweep_profiles({label: layers}, keep, cmd, {label: m}))
            for df in sub:
                wb = {d: float(apply_cost_model(layers, cmd, d)["weight_bytes"].sum()) for d in df["dtype"].unique()}
                df = df.assign(batch=batch)
                lat = df["latency_s"].to_numpy()
                df["samples_per_s"] = np.divide(batch, lat, out=np.full(len(lat), np.inf), where=lat > 0)
                w = df["dtype"].map(wb).to_numpy(dtype=np.float64)
                cbb = compute_bound_batch(df["macs"], df["bytes"], w, batch, df["peak_macs_per_s"],
                                          df["bandwidth_bytes_per_s"])
                df["compute_bound_batch"] = np.full(len(df), np.nan) if cm.use_onchip else cbb
                parts.append(df)
    if not parts:
        raise ConfigError("no (profile, dtype) pair to sweep: no profile lists a peak for the dtypes asked")
    out = pd.concat(parts, ignore_index=True)
    return out, list(dict.fromkeys(notes))


def batch_linear(tables_by_batch: Mapping[int, pd.DataFrame]) -> bool:
    """True when MACs and activation elements scale exactly with the batch and weights do not
    (what ``compute_bound_batch`` assumes). Tables: ``{batch: LayerTable}`` of one model."""
    items = sorted(tables_by_batch.items())
    b0, t0 = items[0]
    for b, t in items[1:]:
        if len(t) != len(t0):
            return False
        for col in ("macs", "input_elems", "output_elems"):
            if not np.array_equal(t[col].to_numpy() * b0, t0[col].to_numpy() * b):
                return False
        if not np.array_equal(t["weight_elems"].to_numpy(), t0["weight_elems"].to_numpy()):
            return False
    return True
