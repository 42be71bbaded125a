"""The calibrated latency model: from a roofline bound to a prediction (pure numpy, no torch).

The roofline says a layer takes at least ``max(macs / peak, bytes / bandwidth)``. A real kernel
reaches only a fraction of each roof, and every layer pays a fixed cost to be dispatched
(Python and the framework's op dispatch on a CPU, a kernel launch on a GPU). Per op type
(``conv2d``, ``dwconv2d``, ``fc``, ``attention``, ``elementwise``, ``pool``...) the calibrated
model therefore has three parameters, fitted from microbenchmarks by ``roofsweep calibrate``::

    t = max(macs / (e_c * peak), bytes / (e_m * bandwidth)) + overhead
        + s_per_elem[op, act] * output_elems + overhead[op, act]    (a row that runs activation act)

* ``e_c`` (``compute_efficiency``): attained fraction of the profile's peak MAC/s;
* ``e_m`` (``memory_efficiency``): attained fraction of the profile's DRAM bandwidth (above 1
  when the tensors stay in a cache larger than the model's working set);
* ``overhead`` (``overhead_s``): seconds per layer that neither roof explains;
* per model: ``call_overhead_s`` x ``module_calls`` (the containers the forward passes
  through - blocks, stages, ``Sequential``s - counted from the module paths of the rows, + 1
  for the top module) + ``run_overhead_s`` (one forward / ``session.run``): what eager PyTorch
  spends in Python around the kernels;
* per activation and the op type it is fused into (the row's fused ``activation``, or the op of
  a standalone activation row): ``s_per_elem`` seconds per output element and an
  ``overhead_s`` - the LayerTable counts no MACs for an activation and one read and write is
  the same for ReLU and GELU, yet an erf or an exp per element costs ~5x a max() on a CPU;
  eager PyTorch runs every activation as a kernel of its own, while onnxruntime folds ReLU
  into a pointwise conv's output loop for free but runs it as a second pass after a depthwise
  one and splits HardSwish into two kernels - so the cost is fitted per (op type, activation),
  with the activation's most-seen entry for op types it was never fused into.

The form keeps the roofline's reading (a layer is compute- or memory-bound; which one is the
larger term) and adds only what a measurement of one kernel at several sizes can pin down: the
slope of the compute-bound part, the slope of the memory-bound part and the intercept. Op types
the calibration never saw use the calibration's ``fallback`` parameters (one set fitted on all
microbenchmarks together). See docs/ground-truth.md for the fit.

Here: the switch (``LATENCY_CHOICES``, ``latency_mode``) and the vectorised evaluation
(``calibrated_layer_times``); the schema of the profile's ``calibration:`` section is
``roofsweep.hardware.calibration``; the fit is ``roofsweep.measure.fit``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from roofsweep.layertable import ACTIVATIONS

#: Values of the cost model's ``latency`` field (None = calibrated when the profile has one).
LATENCY_CHOICES = ("roofline", "calibrated")
#: Values of the ``latency_is`` column of every table that carries a latency.
LATENCY_IS = ("bound", "calibrated")


def calibration_of(profile: Any):
    """The profile's ``calibration`` (or None); duck-typed so any profile-like object works."""
    return getattr(profile, "calibration", None) if profile is not None else None


def latency_mode(latency: str | None, profile: Any, dtype: str) -> str:
    """``"calibrated"`` or ``"bound"`` for a cost model's ``latency`` setting on ``profile``.

    ``latency``: ``"roofline"`` -> always the bound; ``None`` (default) or ``"calibrated"`` ->
    calibrated when the profile has a calibration fitted at ``dtype``, else the bound (the row's
    ``latency_is`` column says which was used). Pure ridge-point sweeps pass ``profile=None``
    and stay the paper's roofline.
    """
    if latency == "roofline":
        return "bound"
    cal = calibration_of(profile)
    if cal is None or str(getattr(cal, "dtype", dtype)) != str(dtype):
        return "bound"
    return "calibrated"


#: Row groups the calibration fits apart from the rest of their op type (group -> op type):
#:
#: * ``dwconv2d/1x1``: a depthwise conv with a 1x1 kernel (one MAC per output element) is a
#:   per-channel scale (the re-parameterisable branches of MobileOne, FastViT, RepViT); eager
#:   PyTorch runs it, channels-last, through a per-channel loop 10-20x slower than a 3x3
#:   depthwise conv of the same shape, which one set of depthwise parameters cannot express;
#: * ``other/cat``: a concatenation is a pure copy, while the rest of ``other`` (layer norms,
#:   softmax) reduces over its rows: GhostNet, SqueezeNet, ShuffleNet and DenseNet are made of them.
#:
#: A calibration without a group uses its op type's entry.
SUBGROUPS: dict[str, str] = {"dwconv2d/1x1": "dwconv2d", "other/cat": "other"}


def calibration_groups(op_types: Sequence[str], macs=None, output_elems=None, aten_ops=None) -> np.ndarray:
    """Per row: the group its calibration parameters come from - its op type, or a ``SUBGROUPS``
    key (``dwconv2d/1x1``: a depthwise row doing one MAC per output element; ``other/cat``: an
    ``other`` row whose op is ``cat``)."""
    ops = np.asarray(list(op_types), dtype=object)
    if not len(ops):
        return ops
    if macs is not None and output_elems is not None:
        macs = np.asarray(macs, dtype=np.float64)
        out = np.asarray(output_elems, dtype=np.float64)
        ops = np.where((ops == "dwconv2d") & (out > 0) & (macs == out), "dwconv2d/1x1", ops)
    if aten_ops is not None:
        first = np.asarray([str(a).split("+")[0] for a in aten_ops], dtype=object)
        ops = np.where((ops == "other") & (first == "cat"), "other/cat", ops)
    return ops


def _entry(cal: Any, group: str):
    """The ``op_types`` entry of ``group``, else of the op type it refines; None if neither."""
    ops = getattr(cal, "op_types", None) or {}
    if not isinstance(ops, Mapping):
        return None
    return ops.get(group) or ops.get(SUBGROUPS.get(group, ""))


def _params(cal: Any, group: str) -> tuple[float, float, float]:
    p = _entry(cal, group) or cal.fallback
    return float(p.compute_efficiency), float(p.memory_efficiency), float(p.overhead_s)


def parameter_arrays(cal: Any, op_types: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-row ``(e_c, e_m, overhead_s)`` arrays for a column of op types."""
    codes, uniques = _factorize(op_types)
    table = np.array([_params(cal, str(u)) for u in uniques], dtype=np.float64).reshape(-1, 3)
    rows = table[codes] if len(codes) else np.zeros((0, 3))
    return rows[:, 0], rows[:, 1], rows[:, 2]


def _factorize(values: Sequence[str]) -> tuple[np.ndarray, list[str]]:
    uniques: dict[str, int] = {}
    codes = np.fromiter((uniques.setdefault(str(v), len(uniques)) for v in values), dtype=np.int64,
                        count=len(values))
    return codes, list(uniques)


def calibrated_layer_times(
    op_types: Sequence[str],
    macs: np.ndarray,
    nbytes: np.ndarray,
    peak_macs_per_s: float,
    bandwidth_bytes_per_s: float,
    calibration: Any,
    activations: Sequence[str] | None = None,
    output_elems: np.ndarray | None = None,
    aten_ops: Sequence[str] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(compute_time_s, memory_time_s, time_s, compute_bound)`` per row under ``calibration``.

    ``compute_time_s = macs / (e_c * peak)``, ``memory_time_s = bytes / (e_m * bw)`` (0 with
    infinite bandwidth), ``time_s = max(both) + overhead_s + activation term`` (``activations``
    and ``output_elems``: per row; omitted = no activation term); a row is compute-bound when it
    does MACs and its compute term is the larger.
    """
    macs = np.asarray(macs, dtype=np.float64)
    nbytes = np.asarray(nbytes, dtype=np.float64)
    groups = calibration_groups(op_types, macs, output_elems, aten_ops)
    ec, em, oh = parameter_arrays(calibration, groups)
    compute = macs / (ec * float(peak_macs_per_s))
    memory = nbytes / (em * float(bandwidth_bytes_per_s))
    time_s = np.maximum(compute, memory) + oh
    if activations is not None and output_elems is not None:
        per_elem, act_oh = activation_arrays(calibration, activations, groups)
        time_s = time_s + per_elem * np.asarray(output_elems, dtype=np.float64) + act_oh
    return compute, memory, time_s, (compute >= memory) & (macs > 0)


def activation_keys(rows) -> np.ndarray:
    """Per row of a (costed) LayerTable: the activation it runs - its fused ``activation``, or,
    for a standalone ``elementwise`` row that is an activation, its op (``hardswish``); ``""``."""
    act = rows["activation"].fillna("").astype(str).to_numpy() if "activation" in rows.columns else \
        np.full(len(rows), "", dtype=object)
    if "aten_ops" in rows.columns:
        ops = rows["aten_ops"].fillna("").astype(str).to_numpy()
        standalone = (rows["op_type"].astype(str).to_numpy() == "elementwise") & (act == "") & \
            np.isin(ops, sorted(ACTIVATIONS))
        act = np.where(standalone, ops, act)
    return np.asarray(act, dtype=object)


def _activation_params(cal: Any, op_type: str, act: str):
    """The cost of ``act`` fused into a row of ``op_type``: the op type's own entry
    (``op_types.<op>.activations.<act>``), else the activation's (``activations.<act>``), else
    ``fallback_activation``; None for a row without an activation."""
    if not act:
        return None
    own = getattr(_entry(cal, op_type), "activations", None) or {}
    table = getattr(cal, "activations", None) or {}
    return own.get(act) or table.get(act) or getattr(cal, "fallback_activation", None)


def activation_arrays(cal: Any, activations: Sequence[str], op_types: Sequence[str] | None = None
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Per-row ``(s_per_elem, overhead_s)`` of the activation each row runs (0 for none), fused
    into the row's op type (``op_types``, one per row; None = no op type's own entry)."""
    ops = [""] * len(activations) if op_types is None else [str(o) for o in op_types]
    codes, uniques = _factorize([f"{o}\0{a}" for o, a in zip(ops, activations)])
    vals = []
    for u in uniques:
        op, _, act = u.partition("\0")
        p = _activation_params(cal, op, act)
        vals.append((0.0, 0.0) if p is None else (float(p.s_per_elem), float(p.overhead_s)))
    arr = np.array(vals, dtype=np.float64).reshape(-1, 2)
    rows = arr[codes] if len(codes) else np.zeros((0, 2))
    return rows[:, 0], rows[:, 1]


def calibrated_table_times(costed, peak_macs_per_s: float, bandwidth_bytes_per_s: float, calibration: Any):
    """``calibrated_layer_times`` of a costed LayerTable (op_type, macs, bytes, activation,
    aten_ops, output_elems columns)."""
    return calibrated_layer_times(
        costed["op_type"].astype(str).to_numpy(), costed["macs"].to_numpy(dtype=np.float64),
        costed["bytes"].to_numpy(dtype=np.float64), peak_macs_per_s, bandwidth_bytes_per_s, calibration,
        activations=activation_keys(costed), output_elems=costed["output_elems"].to_numpy(dtype=np.float64),
        aten_ops=costed["aten_ops"].fillna("").astype(str).to_numpy() if "aten_ops" in costed.columns else None)


def module_calls(modules) -> int:
    """Module calls a forward makes beyond the rows' own modules: the distinct strict prefixes of
    the module paths in a LayerTable's ``modules`` column (``blocks.3.dw.conv`` -> ``blocks``,
    ``blocks.3``, ``blocks.3.dw``), + 1 for the top module."""
    prefixes: set[str] = set()
    for mods in modules:
        if not isinstance(mods, str):
            continue
        for path in mods.split(","):
            parts = path.strip().split(".")
            if not parts[0] or parts[0].startswith("<"):
                continue
            prefixes.update(".".join(parts[:i]) for i in range(1, len(parts)))
    return len(prefixes) + 1


def model_overhead_s(calibration: Any, modules) -> float:
    """The per-model part of the calibrated latency: call overhead x module calls + run overhead."""
    call = float(getattr(calibration, "call_overhead_s", 0.0) or 0.0)
    run = float(getattr(calibration, "run_overhead_s", 0.0) or 0.0)
    return call * module_calls(modules) + run if (call or run) else 0.0


def predict_seconds(costed, peak_macs_per_s: float, bandwidth_bytes_per_s: float, calibration: Any) -> float:
    """Calibrated latency of one model's costed table: its rows' times + the per-model overhead."""
    rows = calibrated_table_times(costed, peak_macs_per_s, bandwidth_bytes_per_s, calibration)[2]
    extra = model_overhead_s(calibration, costed["modules"]) if "modules" in costed.columns else 0.0
    return float(rows.sum()) + extra


def calibrated_roofline(costed, peak_macs_per_s: float, bandwidth_bytes_per_s: float, calibration: Any):
    """``roofline()``'s table with ``time_s`` and ``bound`` from the calibrated model and
    ``latency_is = "calibrated"``; ``mac_time_s``/``mem_time_s`` stay the roofline's terms."""
    from roofsweep.engine.roofline import roofline

    out = roofline(costed, peak_macs_per_s, bandwidth_bytes_per_s)
    _, _, t, compute = calibrated_table_times(costed, peak_macs_per_s, bandwidth_bytes_per_s, calibration)
    out["time_s"] = t
    out["bound"] = np.where(compute, "compute", "memory").astype(object)
    out["latency_is"] = "calibrated"
    return out


def calibrated_model_times(costed, starts: np.ndarray, counts: np.ndarray, peak: float, bw: float,
                           calibration: Any) -> dict[str, np.ndarray]:
    """Per-model (models x 1) results of a multi-model costed table whose rows are contiguous per
    model (``starts``/``counts``), as the profile sweep reports them: ``latency_s`` and
    ``memory_bound_fraction`` from the calibrated layer times; ``mac_time_s``/``mem_time_s`` stay
    the roofline's totals (all MACs at peak, all bytes at the bandwidth)."""
    n_models = len(counts)
    latency = np.zeros((n_models, 1))
    mem_bound = np.zeros((n_models, 1))
    nonempty = counts > 0
    macs = costed["macs"].to_numpy(dtype=np.float64)
    nbytes = costed["bytes"].to_numpy(dtype=np.float64)
    model_of = np.repeat(np.arange(n_models), counts)
    if len(macs):
        _, _, t, compute = calibrated_table_times(costed, peak, bw, calibration)
        latency[nonempty, 0] = np.add.reduceat(t, starts[nonempty])
        mem_bound[nonempty, 0] = np.add.reduceat(np.where(compute, 0.0, t), starts[nonempty])
        if "modules" in costed.columns:
            mods = costed["modules"].to_numpy(dtype=object)
            for j in np.flatnonzero(nonempty):
                latency[j, 0] += model_overhead_s(calibration, mods[starts[j]:starts[j] + counts[j]])
    total_macs = np.bincount(model_of, weights=macs, minlength=n_models)[:, None]
    total_bytes = np.bincount(model_of, weights=nbytes, minlength=n_models)[:, None]
    return {
        "latency_s": latency,
        "mac_time_s": total_macs / peak,
        "mem_time_s": total_bytes / bw,
        "memory_bound_fraction": np.divide(mem_bound, latency, out=np.zeros_like(latency), where=latency > 0),
    }
