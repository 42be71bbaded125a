"""Per-layer roofline: time, bound and operational intensity of every costed layer (no torch).

Input is a costed table (``roofsweep.engine.costmodel.apply_cost_model``): LayerTable rows with
``macs`` and ``bytes``. Output adds the roofline columns; ``model_latency`` sums them per model
and ``dominant_layers`` picks the layers that cost the time.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from roofsweep.errors import ConfigError

ROOFLINE_COLUMNS = ("mac_time_s", "mem_time_s", "time_s", "bound", "intensity_macs_per_byte")


def check_rates(peak_macs_per_s: float, bandwidth_bytes_per_s: float) -> None:
    """``ConfigError`` unless peak is a positive finite number and bandwidth positive (inf ok)."""
    p, b = float(peak_macs_per_s), float(bandwidth_bytes_per_s)
    if not (math.isfinite(p) and p > 0):
        raise ConfigError(f"peak MAC/s must be a positive finite number, got {peak_macs_per_s!r}")
    if math.isnan(b) or not b > 0:
        raise ConfigError(f"bandwidth must be a positive number of bytes/s (or inf), got {bandwidth_bytes_per_s!r}")


def layer_times(macs: np.ndarray, nbytes: np.ndarray, peak, bandwidth):
    """The roofline of arrays; ``peak``/``bandwidth`` scalars or arrays broadcasting with them.

    Returns (mac_time_s, mem_time_s, time_s, compute_bound). Shared by ``roofline`` and the
    vectorised sweep so that both compute exactly the same floating-point values.
    """
    # Roofline model, MobileNetV4 paper (Qin et al., arXiv:2404.10518), section 3
    # "Hardware-Independent Pareto Efficiency":
    #     MACTime_i  = LayerMACs_i / PeakMACs
    #     MemTime_i  = (WeightBytes_i + ActivationBytes_i) / PeakMemBW
    #     LayerTime_i = max(MACTime_i, MemTime_i)        ModelTime = sum_i LayerTime_i
    # A layer is compute-bound iff MACTime >= MemTime and it does any MACs: ties go to compute
    # (the compute roof is reached), and a row with no MACs (a memory-only op, or a fused op
    # costing nothing at all) is memory-bound by definition. PeakMemBW = inf gives MemTime 0
    # (x / inf == 0.0 exactly in IEEE arithmetic): the "count MACs" end of the sweep, RP 0.
    mac_time = macs / peak
    mem_time = nbytes / bandwidth
    time = np.maximum(mac_time, mem_time)
    compute_bound = (mac_time >= mem_time) & (macs > 0)
    return mac_time, mem_time, time, compute_bound


def roofline(costed: pd.DataFrame, peak_macs_per_s: float, bandwidth_bytes_per_s: float) -> pd.DataFrame:
    """Per-layer roofline on hardware with ``peak_macs_per_s`` and ``bandwidth_bytes_per_s``.

    Returns a copy of ``costed`` with float64 ``mac_time_s``, ``mem_time_s``, ``time_s``,
    ``bound`` (``"compute"``/``"memory"``, see ``layer_times``) and ``intensity_macs_per_byte``
    (MACs / bytes; ``inf`` where a row moves no bytes, whatever its MACs).
    """
    check_rates(peak_macs_per_s, bandwidth_bytes_per_s)
    if "bytes" not in costed.columns:
        raise ConfigError("roofline needs a costed table (run costmodel.apply_cost_model first)")
    macs = costed["macs"].to_numpy(dtype=np.float64)
    nbytes = costed["bytes"].to_numpy(dtype=np.float64)
    mac_time, mem_time, time, compute = layer_times(
        macs, nbytes, float(peak_macs_per_s), float(bandwidth_bytes_per_s)
    )
    out = costed.copy()
    out["mac_time_s"] = mac_time
    out["mem_time_s"] = mem_time
    out["time_s"] = time
    out["bound"] = np.where(compute, "compute", "memory").astype(object)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["intensity_macs_per_byte"] = np.where(nbytes > 0, macs / np.where(nbytes > 0, nbytes, 1.0), np.inf)
    return out


def model_latency(
    per_layer: pd.DataFrame,
    peak_macs_per_s: float | None = None,
    bandwidth_bytes_per_s: float | None = None,
) -> pd.DataFrame:
    """Whole-model totals, one row per model (index ``model``, in order of appearance).

    ``per_layer`` is a ``roofline`` result; or give a costed table and both rates to run the
    roofline first. Columns: ``latency_s`` (sum of layer times), ``mac_time_s`` / ``mem_time_s``
    (sums of the layer MAC / memory times: the latency if everything were compute- / memory-bound),
    ``macs``, ``bytes``, ``layers``, ``memory_bound_fraction`` (share of the latency spent in
    memory-bound layers; 0 for a model of zero latency) and ``compute_bound_fraction`` (1 - it).
    """
    if peak_macs_per_s is not None or bandwidth_bytes_per_s is not None:
        if peak_macs_per_s is None or bandwidth_bytes_per_s is None:
            raise ConfigError("model_latency needs both peak_macs_per_s and bandwidth_bytes_per_s, or neither")
        per_layer = roofline(per_layer, peak_macs_per_s, bandwidth_bytes_per_s)
    elif "time_s" not in per_layer.columns:
        raise ConfigError("model_latency needs a roofline() result, or the peak and bandwidth to compute one")
    mem_bound_time = per_layer["time_s"].where(per_layer["bound"] == "memory", 0.0)
    g = per_layer.assign(_mem_bound_time_s=mem_bound_time, layers=1).groupby("model", sort=False)
    cols = ["time_s", "mac_time_s", "mem_time_s", "macs", "bytes", "layers", "_mem_bound_time_s"]
    out = g[cols].sum()
    out = out.rename(columns={"time_s": "latency_s"})
    lat = out["latency_s"].to_numpy()
    mbf = np.divide(out["_mem_bound_time_s"].to_numpy(), lat, out=np.zeros_like(lat), where=lat > 0)
    out["memory_bound_fraction"] = mbf
    out["compute_bound_fraction"] = 1.0 - mbf
    return out.drop(columns="_mem_bound_time_s")


def dominant_layers(per_layer: pd.DataFrame, n: int = 5) -> pd.DataFrame:
    """The ``n`` slowest layers of each model (by ``time_s``), slowest first, with ``share``:
    the layer's fraction of its model's latency (0 when the model's latency is 0).

    Ties keep execution order. Returns the ``per_layer`` rows (all columns) plus ``share``.
    """
    if "time_s" not in per_layer.columns:
        raise ConfigError("dominant_layers needs a roofline() result")
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 1:
        raise ConfigError(f"n must be a positive integer, got {n!r}")
    total = per_layer.groupby("model", sort=False)["time_s"].transform("sum").to_numpy()
    t = per_layer["time_s"].to_numpy()
    share = np.divide(t, total, out=np.zeros_like(t, dtype=np.float64), where=total > 0)
    df = per_layer.assign(share=share, _pos=np.arange(len(per_layer)))
    codes, _ = pd.factorize(df["model"], sort=False)
    df = df.assign(_model=codes)
    df = df.sort_values(["_model", "time_s", "_pos"], ascending=[True, False, True], kind="stable")
    df = df.groupby("_model", sort=False).head(n)
    return df.drop(columns=["_pos", "_model"]).reset_index(drop=True)
