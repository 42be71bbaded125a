"""Cost models: the accounting conventions that turn a LayerTable's element counts into bytes.

A LayerTable (``roofsweep.layertable``) is dtype-agnostic: MACs and element counts per fused
layer. How many *bytes* a layer moves through DRAM is a matter of convention - which tensors are
counted, at how many bytes per element, whether standalone elementwise ops cost anything, whether
on-chip memory keeps small tensors off DRAM. ``CostModel`` names one such bundle; two ship as
presets (``PRESETS``):

* ``default`` - physically motivated: dtype from the hardware profile, every layer reads its
  inputs and writes its outputs, elementwise/pool ops charged, nothing split out, no RGB padding,
  no on-chip memory.
* ``paper`` - the conventions that reproduce the MobileNetV4 paper's figures (int8, 40 GB/s,
  input-only activations for conv/depthwise/FC, RGB padded to 4, hard-swish unfused...).

Every convention is explained in ``docs/how-roofsweep-counts.md``. Everything here is pure
numpy/pandas (no torch).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from roofsweep.engine.costschema import ACCOUNTING_CHOICES, LATENCY_CHOICES, MAX_PAD_RGB, CostModelError, coerce  # noqa: F401
from roofsweep.errors import ConfigError, did_you_mean
from roofsweep.layertable import COMPUTE_OP_TYPES
from roofsweep.units import DTYPE_BYTES

# op types that do arithmetic (MACs); their activation bytes follow
# ``compute_activation_accounting``.
COMPUTE_OPS = COMPUTE_OP_TYPES  # the LayerTable contract's arithmetic op types
# op types that only move memory (0 MACs, or negligible ones); charged inputs + outputs when
# ``charge_elementwise`` is on. Pools are always charged.
MEMORY_OPS = ("elementwise", "pool", "other")


COSTED_COLUMNS = ("weight_bytes", "activation_bytes", "bytes")


@dataclass(frozen=True)
class CostModel:
    """A named, switchable bundle of accounting conventions (see module docstring).

    Fields (all validated on construction; invalid values raise ``ConfigError``):

    name                         label shown in reports
    description                  one line, shown in reports
    dtype                        element dtype (``int8``, ``fp16``...); None = the hardware
                                 profile's ``default_dtype``; for pure ridge-point sweeps (no
                                 profile) ``sweep_dtype``
    sweep_dtype                  dtype of pure ridge-point sweeps when ``dtype`` is None
    weight_bytes_per_elem        override of the dtype's bytes per weight element (None = dtype)
    activation_bytes_per_elem    override of the dtype's bytes per activation element
    compute_activation_accounting  ``"inputs"`` or ``"inputs+outputs"``: which activation tensors
                                 conv2d/dwconv2d/fc/matmul/attention rows move through DRAM
    charge_elementwise           True: memory-only rows (elementwise, other) cost inputs +
                                 outputs; False: they are fused into a neighbour and move no
                                 activation bytes. Pools are always charged inputs + outputs.
    unfused_activations          activation names (LayerTable ``activation`` column) split back
                                 out of their producer as their own ``elementwise`` rows,
                                 charged input + output (= 2 x output elements), 0 MACs
    pad_rgb_to                   None, or the channel count a 3-channel network input is
                                 zero-padded to for the layer that reads it (paper: 4)
    use_onchip                   model on-chip memory (see ``apply_cost_model``)
    onchip_bytes                 on-chip capacity override (None = the profile's, else 0)
    sweep_bandwidth_bytes_per_s  DRAM bandwidth held fixed in ridge-point sweeps
                                 (peak MAC/s = RP x this)
    rp0_peak_macs_per_s          peak MAC/s at ridge point 0, where memory is free
    latency                      ``roofline`` (the bound) or ``calibrated`` (the profile's fitted
                                 latency model, ``roofsweep.engine.calibrated``); None = calibrated
                                 where the profile has a calibration. Ridge-point sweeps are
                                 always the roofline.
    """

    name: str = "custom"
    description: str = ""
    dtype: str | None = None
    sweep_dtype: str = "int8"
    weight_bytes_per_elem: float | None = None
    activation_bytes_per_elem: float | None = None
    compute_activation_accounting: str = "inputs+outputs"
    charge_elementwise: bool = True
    unfused_activations: tuple[str, ...] = ()
    pad_rgb_to: int | None = None
    use_onchip: bool = False
    onchip_bytes: float | None = None
    sweep_bandwidth_bytes_per_s: float = 40e9
    rp0_peak_macs_per_s: float = 200e9
    latency: str | None = None

    def __post_init__(self) -> None:  # the pydantic schema validates and coerces every field
        values = coerce({f.name: getattr(self, f.name) for f in dataclasses.fields(self)})
        for key, value in values.items():
            object.__setattr__(self, key, value)

    # ---------------------------------------------------------------------------------------
    def resolve_dtype(self, profile: Any = None) -> str:
        """The dtype this cost model uses on ``profile`` (None = a pure ridge-point sweep)."""
        if self.dtype is not None:
            return self.dtype
        if profile is not None:
            return str(profile.default_dtype)
        return self.sweep_dtype

    def bytes_per_elem(self, dtype: str) -> tuple[float, float]:
        """``(weight bytes, activation bytes)`` per element under ``dtype`` and the overrides."""
        if dtype not in DTYPE_BYTES:
            raise ConfigError(did_you_mean(str(dtype), DTYPE_BYTES, "dtype"))
        base = DTYPE_BYTES[dtype]
        w = base if self.weight_bytes_per_elem is None else self.weight_bytes_per_elem
        a = base if self.activation_bytes_per_elem is None else self.activation_bytes_per_elem
        return float(w), float(a)

    def onchip_capacity(self, profile: Any = None) -> float:
        """On-chip bytes in effect: 0 unless ``use_onchip``; the override, else the profile's."""
        if not self.use_onchip:
            return 0.0
        if self.onchip_bytes is not None:
            return float(self.onchip_bytes)
        cap = getattr(profile, "onchip_bytes", None) if profile is not None else None
        return float(cap) if cap is not None else 0.0

    def summary(self) -> dict[str, Any]:
        """Plain dict of every field (for JSON output and report headers)."""
        d = dataclasses.asdict(self)
        d["unfused_activations"] = list(self.unfused_activations)
        return d


# ------------------------------------------------------------------------------ validation
def _field_names() -> list[str]:
    return [f.name for f in dataclasses.fields(CostModel)]


def with_overrides(cm: CostModel, **overrides: Any) -> CostModel:
    """A copy of ``cm`` with fields replaced; values validated (``ConfigError`` if bad).

    Values may be Python values or the strings a ``--set key=value`` option carries:
    ``true``/``false``, ``none``, numbers, quantities with units (``"51.2 GB/s"``, ``"8 MiB"``,
    ``"2 TOPS"``), comma-separated activation names. Unless ``name`` is overridden, the copy is
    named ``<name>+<key>=<value>,...`` so reports show that it differs from the preset.
    """
    names = _field_names()
    for key in overrides:
        if key not in names:
            raise CostModelError(key, did_you_mean(key, names, "cost-model setting"))
    if not overrides:
        return cm
    new = dataclasses.replace(cm, **overrides)
    if "name" not in overrides:
        desc = ",".join(f"{k}={_short(getattr(new, k))}" for k in overrides)
        name = f"{cm.name}+{desc}"
        new = dataclasses.replace(new, name=name if len(name) <= 200 else name[:197] + "...")
    return new


def _short(v: Any) -> str:
    if isinstance(v, tuple):
        return "|".join(v) if v else "()"
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)


def parse_set_option(text: str) -> tuple[str, str]:
    """``"dtype=fp16" -> ("dtype", "fp16")``, for ``--set key=value`` CLI options."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"expected key=value, got {text!r}; keys: {', '.join(_field_names())}")
    return key.strip(), value.strip()


# --------------------------------------------------------------------------------- presets
PRESETS: dict[str, CostModel] = {
    "default": CostModel(
        name="default",
        description=(
            "physically motivated: profile dtype, every layer reads inputs and writes outputs, "
            "elementwise ops charged, no on-chip memory"
        ),
        dtype=None,
        sweep_dtype="int8",
        compute_activation_accounting="inputs+outputs",
        charge_elementwise=True,
        unfused_activations=(),
        pad_rgb_to=None,
        use_onchip=False,
    ),
    "paper": CostModel(
        name="paper",
        description=(
            "MobileNetV4 paper figures: int8, 40 GB/s, conv/dw/FC charged inputs only, "
            "RGB padded to 4, memory-only ops and hard-swish charged in+out"
        ),
        dtype="int8",
        sweep_dtype="int8",
        compute_activation_accounting="inputs",
        charge_elementwise=True,
        unfused_activations=("hardswish",),
        pad_rgb_to=4,
        use_onchip=False,
        sweep_bandwidth_bytes_per_s=40e9,
        rp0_peak_macs_per_s=200e9,
    ),
}


def get_preset(name: str) -> CostModel:
    """The named preset; ``ConfigError`` listing the choices if unknown."""
    if isinstance(name, CostModel):
        return name
    if name not in PRESETS:
        raise ConfigError(did_you_mean(str(name), PRESETS, "cost model"))
    return PRESETS[name]


# ------------------------------------------------------------------------- applying a model
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
    missing = [c for c in ("model", "index", "op_type", "macs", "weight_elems", "input_elems",
                           "output_elems", "input_shape", "output_shape") if c not in layers.columns]
    if missing:
        raise ConfigError(f"layer table lacks columns {missing}")
    if dtype is None:
        dtype = cm.resolve_dtype()
    w_b, a_b = cm.bytes_per_elem(dtype)
    cap = 0.0
    if cm.use_onchip:
        cap = float(cm.onchip_bytes if cm.onchip_bytes is not None else (onchip_bytes or 0.0))

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

    model_codes, _ = pd.factorize(df["model"], sort=False)
    model_codes = np.asarray(model_codes)
    # rows are contiguous per model: index = position - position of the model's first row
    first = np.zeros(model_codes.max() + 1 if len(model_codes) else 0, dtype=np.int64)
    if len(model_codes):
        starts = np.flatnonzero(np.r_[True, model_codes[1:] != model_codes[:-1]])
        first[model_codes[starts]] = starts
    df["index"] = np.arange(len(df), dtype=np.int64) - first[model_codes]

    op = df["op_type"].to_numpy(dtype=object)
    is_compute = np.isin(op, COMPUTE_OPS)
    is_pool = op == "pool"
    split_out = df["split_out"].to_numpy(dtype=bool)
    if cm.unfused_activations:
        split_out = split_out | _standalone(df, cm.unfused_activations)
    charged_mem = (~is_compute) & (is_pool | split_out | cm.charge_elementwise)
    charge_in = is_compute | charged_mem
    charge_out = (is_compute & (cm.compute_activation_accounting == "inputs+outputs")) | charged_mem

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
