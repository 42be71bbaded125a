"""Applying a cost model: a LayerTable's element counts turned into bytes per layer (no torch).

``apply_cost_model`` is the one entry point (re-exported by ``engine.costmodel``, where the
``CostModel`` dataclass and its presets live); the helpers below are its steps: order the rows,
pad the RGB input, split out unfused activations, decide which tensors each row is charged, and
keep hand-offs and resident weights on chip. Every convention is explained in
``docs/how-roofsweep-counts.md``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from roofsweep.errors import ConfigError, did_you_mean
from roofsweep.layertable import COMPUTE_OP_TYPES
from roofsweep.units import DTYPE_BYTES

if TYPE_CHECKING:
    from roofsweep.engine.costmodel import CostModel

COMPUTE_OPS = COMPUTE_OP_TYPES  # the LayerTable contract's arithmetic op types
_REQUIRED = ("model", "index", "op_type", "macs", "weight_elems", "input_elems",
             "output_elems", "input_shape", "output_shape")


def _shape_dims(text: str) -> list[tuple[int, ...]]:
    """``"1x3x224x224, 1x3x224x224" -> [(1, 3, 224, 224), (1, 3, 224, 224)]``; junk skipped."""
    out = []
    for part in str(text).split(","):
        part = part.strip()
        if not part:
            continue
        try:
            out.append(tuple(int(d) for d in part.split("x")))
        except ValueError:
            continue
    return out


def _elems(shape: tuple[int, ...]) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


def _order(layers: pd.DataFrame) -> np.ndarray:
    """Row positions sorted by (model in order of first appearance, index)."""
    codes, _ = pd.factorize(layers["model"], sort=False)
    return np.lexsort((layers["index"].to_numpy(), codes))


def _standalone(df: pd.DataFrame, acts: tuple[str, ...]) -> np.ndarray:
    """Rows that already *are* a lone activation (an ``elementwise`` row of one aten op whose
    ``activation`` is in ``acts``, e.g. a hard-swish the tracer could not fuse): not split
    again, but charged like a split-out one."""
    single = ~df["aten_ops"].fillna("").astype(str).str.contains("+", regex=False).to_numpy()
    return (df["op_type"].to_numpy(dtype=object) == "elementwise") & single & df["activation"].isin(acts).to_numpy()


def _split_activations(df: pd.DataFrame, acts: tuple[str, ...]) -> pd.DataFrame:
    """Insert a memory-only ``elementwise`` row after each producer whose activation is in
    ``acts``; the producer loses the activation. Returns a new table (``split_out`` marks the
    inserted rows)."""
    split = df["activation"].isin(acts).to_numpy() & ~_standalone(df, acts)
    if not split.any():
        return df
    reps = np.where(split, 2, 1)
    out = df.iloc[np.repeat(np.arange(len(df)), reps)].reset_index(drop=True)
    # position of each inserted row: the second copy of every split producer
    first = np.cumsum(reps) - reps
    ins = first[split] + 1
    prod = first[split]
    names = out["name"].to_numpy(dtype=object)
    act_vals = out["activation"].to_numpy(dtype=object)
    out_elems = out["output_elems"].to_numpy()
    out_shape = out["output_shape"].to_numpy(dtype=object)
    new = {
        "name": [f"{n}.{a}" for n, a in zip(names[ins], act_vals[ins])],
        "op_type": "elementwise",
        "module_type": "",
        "aten_ops": act_vals[ins],
        "activation": act_vals[ins],
        "macs": 0,
        "weight_elems": 0,
        "input_elems": out_elems[ins],
        "output_elems": out_elems[ins],
        "input_shape": out_shape[ins],
        "output_shape": out_shape[ins],
        "reads_model_input": False,
        "split_out": True,
    }
    for col, val in new.items():
        ci = out.columns.get_loc(col)
        out.iloc[ins, ci] = val
    out.iloc[prod, out.columns.get_loc("activation")] = ""
    return out


def _pad_rgb(df: pd.DataFrame, pad: int) -> None:
    """In place: rows reading a 3-channel network input see a zero-padded ``pad``-channel one.

    The input read scales by pad/3; so do the MACs and the kernel part of the weights
    (kernel = MACs x C_out / output elements; the bias, the rest, is unchanged). Outputs are
    unchanged. Integer arithmetic: a 3-input-channel conv has MACs and kernel divisible by 3.
    """
    rows = np.flatnonzero(df["reads_model_input"].to_numpy(dtype=bool))
    if rows.size == 0:
        return
    macs = df["macs"].to_numpy().copy()
    wel = df["weight_elems"].to_numpy().copy()
    inel = df["input_elems"].to_numpy().copy()
    outel = df["output_elems"].to_numpy()
    ins = df["input_shape"].to_numpy(dtype=object)
    outs = df["output_shape"].to_numpy(dtype=object)
    for r in rows:
        rgb = [s for s in _shape_dims(ins[r]) if len(s) == 4 and s[1] == 3]
        if not rgb:
            continue
        e = _elems(rgb[0])
        inel[r] += e // 3 * (pad - 3)
        if macs[r] > 0:
            out_shape = _shape_dims(outs[r])
            c_out = out_shape[0][1] if out_shape and len(out_shape[0]) >= 2 else 0
            if c_out and outel[r]:
                kernel = min(int(macs[r]) * c_out // int(outel[r]), int(wel[r]))
                wel[r] += kernel // 3 * (pad - 3)
            macs[r] = macs[r] // 3 * pad if macs[r] % 3 == 0 else round(macs[r] * pad / 3)
    df["macs"] = macs
    df["weight_elems"] = wel
    df["input_elems"] = inel


def _handoffs(df: pd.DataFrame, model_codes: np.ndarray, act_b: float, cap: float) -> tuple[np.ndarray, np.ndarray]:
    """On-chip hand-offs between consecutive rows of one model.

    Row i hands its output to row i+1 (same model) when its output fits on chip
    (output_elems x activation bytes <= ``cap``) and row i+1 reads a tensor with exactly that
    many elements (the LayerTable has no graph edges; matching element counts is the test).
    Returns (output_kept_on_chip[i] bool, input_elems_from_chip[i] int).
    """
    n = len(df)
    out_free = np.zeros(n, dtype=bool)
    in_free = np.zeros(n, dtype=np.int64)
    if n < 2:
        return out_free, in_free
    out_el = df["output_elems"].to_numpy()
    fits = (out_el * act_b <= cap) & (out_el > 0)
    same = model_codes[:-1] == model_codes[1:]
    cand = np.flatnonzero(fits[:-1] & same)
    if cand.size == 0:
        return out_free, in_free
    shapes = df["input_shape"].to_numpy(dtype=object)
    cache: dict[str, list[int]] = {}
    for i in cand:
        s = shapes[i + 1]
        if s not in cache:
            cache[s] = [_elems(d) for d in _shape_dims(s)]
        if int(out_el[i]) in cache[s]:
            out_free[i] = True
            in_free[i + 1] = out_el[i]
    return out_free, in_free


def _row_dtype_bytes(df: pd.DataFrame, column: str, default: float, override: float | None) -> np.ndarray | float:
    """Bytes per element of each row: the row's own dtype (``column``) where it names one, else
    ``default``; an explicit ``*_bytes_per_elem`` override of the cost model wins over both."""
    if override is not None or column not in df.columns:
        return default
    dtypes = df[column].to_numpy(dtype=object)
    given = [d for d in dtypes if isinstance(d, str) and d]
    if not given:
        return default
    unknown = sorted(set(given) - set(DTYPE_BYTES))
    if unknown:
        raise ConfigError(f"layer table column {column}: " + did_you_mean(unknown[0], DTYPE_BYTES, "dtype"))
    return np.array([DTYPE_BYTES[d] if isinstance(d, str) and d else default for d in dtypes], dtype=np.float64)


def _row_bytes_per_elem(df: pd.DataFrame, cm: CostModel, w_b: float, a_b: float):
    """Per-row (weight, activation) bytes per element: rows carrying ``weight_dtype`` /
    ``activation_dtype`` (an imported int8 TFLite model) use them; None rows use the dtype."""
    return (_row_dtype_bytes(df, "weight_dtype", w_b, cm.weight_bytes_per_elem),
            _row_dtype_bytes(df, "activation_dtype", a_b, cm.activation_bytes_per_elem))


def apply_cost_model(
    layers: pd.DataFrame,
    cm: CostModel,
    dtype: str | None = None,
    onchip_bytes: float | None = None,
) -> pd.DataFrame:
    """Bytes per layer under cost model ``cm`` at ``dtype``.

    Returns a new table (rows sorted by model, then execution order; the layer ``index``
    renumbered 0..n-1 per model) with every LayerTable column plus float64 ``weight_bytes``,
    ``activation_bytes``, ``bytes`` (= the two summed), ``source_index`` (the row's index in the
    input LayerTable; a split-out activation gets its producer's) and ``split_out`` (bool). The
    table may hold several models (``model`` column); each is costed on its own.

    ``dtype`` None means ``cm.resolve_dtype()`` (``cm.dtype`` or ``cm.sweep_dtype``).
    ``onchip_bytes`` is the hardware's on-chip capacity (a profile's ``onchip_bytes``); the cost
    model's own ``onchip_bytes`` overrides it, and it only matters when ``cm.use_onchip``.

    Per row, with w/a the bytes per weight/activation element (of ``dtype``, or of the row's own
    ``weight_dtype`` / ``activation_dtype`` where the LayerTable gives one; a cost model's
    ``weight_bytes_per_elem`` / ``activation_bytes_per_elem`` override wins over both):

    * weight_bytes = weight_elems x w (0 for every row of a model whose total weight bytes fit
      on chip, when ``use_onchip``: weights resident on chip, like the EdgeTPU's SRAM).
    * compute rows (conv2d, dwconv2d, fc, matmul, attention): activation bytes =
      input_elems x a, plus output_elems x a under ``"inputs+outputs"`` accounting.
    * elementwise / other rows: (input_elems + output_elems) x a when ``charge_elementwise``,
      else 0 (fused into a neighbour; their weights, if any, still count).
    * pool rows: always (input_elems + output_elems) x a.
    * split-out activations (``unfused_activations``), and rows that already are a lone such
      activation: always input + output, whatever ``charge_elementwise`` says.
    * ``use_onchip``: an output tensor of at most the capacity handed straight to the next row
      is neither written (producer) nor read back (consumer) - see ``_handoffs``. This is an
      optimistic bound: a tensor also needed later (a skip connection) is still read by its
      later consumer but was never charged a write.
    """
    missing = [c for c in _REQUIRED if c not in layers.columns]
    if missing:
        raise ConfigError(f"layer table lacks columns {missing}")
    if dtype is None:
        dtype = cm.resolve_dtype()
    w_b, a_b = cm.bytes_per_elem(dtype)
    cap = 0.0
    if cm.use_onchip:
        cap = float(cm.onchip_bytes if cm.onchip_bytes is not None else (onchip_bytes or 0.0))

    df = _prepared(layers, cm)
    model_codes = _renumber(df)
    charge_in, charge_out = _charges(df, cm)

    in_el = df["input_elems"].to_numpy().astype(np.float64)
    out_el = df["output_elems"].to_numpy().astype(np.float64)
    w_el = df["weight_elems"].to_numpy().astype(np.float64)
    w_b, a_b = _row_bytes_per_elem(df, cm, w_b, a_b)

    weight_bytes = w_el * w_b
    if cap > 0:
        out_free, in_free = _handoffs(df, model_codes, a_b, cap)
        in_el = in_el - np.minimum(in_free, in_el)
        out_el = np.where(out_free, 0.0, out_el)
        model_w = np.bincount(model_codes, weights=weight_bytes)
        resident = model_w[model_codes] <= cap
        weight_bytes = np.where(resident, 0.0, weight_bytes)

    act = (np.where(charge_in, in_el, 0.0) + np.where(charge_out, out_el, 0.0)) * a_b
    df["weight_bytes"] = weight_bytes.astype(np.float64)
    df["activation_bytes"] = act.astype(np.float64)
    df["bytes"] = df["weight_bytes"] + df["activation_bytes"]
    df.attrs["cost_model"] = cm.name
    df.attrs["dtype"] = dtype
    return df


def _prepared(layers: pd.DataFrame, cm: CostModel) -> pd.DataFrame:
    """A new table: rows ordered by model then index, optional columns filled, ``source_index``
    and ``split_out`` added, counts as int64, the RGB input padded and unfused activations split
    out as ``cm`` says."""
    df = layers.iloc[_order(layers)].reset_index(drop=True)
    for col, default in (("activation", ""), ("module_type", ""), ("aten_ops", ""),
                         ("reads_model_input", False), ("name", "")):
        if col not in df.columns:
            df[col] = default
    df["activation"] = df["activation"].fillna("").astype(object)
    df["source_index"] = df["index"].astype(np.int64)
    df["split_out"] = False
    for col in ("macs", "weight_elems", "input_elems", "output_elems"):
        df[col] = df[col].astype(np.int64)

    if cm.pad_rgb_to is not None and cm.pad_rgb_to != 3:
        _pad_rgb(df, cm.pad_rgb_to)
    if cm.unfused_activations:
        df = _split_activations(df, cm.unfused_activations)
        df["split_out"] = df["split_out"].astype(bool)
    return df


def _renumber(df: pd.DataFrame) -> np.ndarray:
    """In place: ``index`` renumbered 0..n-1 per model. Returns each row's model code."""
    model_codes, _ = pd.factorize(df["model"], sort=False)
    model_codes = np.asarray(model_codes)
    # rows are contiguous per model: index = position - position of the model's first row
    first = np.zeros(model_codes.max() + 1 if len(model_codes) else 0, dtype=np.int64)
    if len(model_codes):
        starts = np.flatnonzero(np.r_[True, model_codes[1:] != model_codes[:-1]])
        first[model_codes[starts]] = starts
    df["index"] = np.arange(len(df), dtype=np.int64) - first[model_codes]
    return model_codes


def _charges(df: pd.DataFrame, cm: CostModel) -> tuple[np.ndarray, np.ndarray]:
    """(inputs charged, outputs charged) per row, as bool arrays (see ``apply_cost_model``)."""
    op = df["op_type"].to_numpy(dtype=object)
    is_compute = np.isin(op, COMPUTE_OPS)
    is_pool = op == "pool"
    split_out = df["split_out"].to_numpy(dtype=bool)
    if cm.unfused_activations:
        split_out = split_out | _standalone(df, cm.unfused_activations)
    charged_mem = (~is_compute) & (is_pool | split_out | cm.charge_elementwise)
    charge_in = is_compute | charged_mem
    charge_out = (is_compute & (cm.compute_activation_accounting == "inputs+outputs")) | charged_mem
    return charge_in, charge_out
