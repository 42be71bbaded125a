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
numpy/pandas (no torch). ``apply_cost_model`` - turning a LayerTable into bytes under a
``CostModel`` - lives in ``engine.costing`` and is re-exported here.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from roofsweep.engine.costing import apply_cost_model  # noqa: F401 - re-exported
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
