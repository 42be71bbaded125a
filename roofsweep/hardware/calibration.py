"""The ``calibration:`` section of a hardware profile (pydantic v2 schema; torch-free).

Written by ``roofsweep calibrate``; read by the loader (``parse_calibration``) and used by the
calibrated latency model (``roofsweep.engine.calibrated``). Documented in
docs/ground-truth.md ("Calibration") and docs/hardware-profiles.md. Example::

    calibration:
      runtime: torch              # torch | onnxruntime
      device: cpu                 # cpu | cuda
      threads: 1
      date: '2026-12-01T12:40:00+00:00'
      method: 'max(macs/(e_c*peak), bytes/(e_m*bw)) + overhead per op type; ...'
      statistic: median           # how timed runs became one time: median | min (fastest run) | mean
      clock: wall                 # wall-clock time | cpu (process CPU time, one thread)
      allocator: retain           # freed memory kept for the next run | system (C library defaults)
      dtype: fp32                 # the dtype the microbenchmarks ran and were costed at
      cost_model: default         # the cost model that costed them
      peak_macs_per_s: 8.18e10    # the rates e_c and e_m are fractions of
      bandwidth_bytes_per_s: 1.28e10
      microbenchmarks: 120
      versions: {torch: 2.13.0, onnxruntime: 1.23.2}
      op_types:
        conv2d: {compute_efficiency: 0.61, memory_efficiency: 0.35, overhead_s: 1.1e-05,
                 samples: 24, median_abs_error: 0.04,
                 activations: {relu: {s_per_elem: 1.0e-14, overhead_s: 1.0e-09, rows: 9}}}
        ...
      fallback: {compute_efficiency: 0.5, memory_efficiency: 0.3, overhead_s: 8.0e-06}
      activations:
        gelu: {s_per_elem: 1.1e-09, overhead_s: 2.0e-06, rows: 4}
        ...
      fallback_activation: {s_per_elem: 4.0e-10, overhead_s: 1.0e-06}
      call_overhead_s: 2.0e-06    # per nn.Module call the forward makes (containers)
      run_overhead_s: 5.0e-06     # per forward / session.run
      residuals: {samples: 120, median_abs_error: 0.05, max_abs_error: 0.31, within_10pct: 0.8,
                  within_25pct: 0.97}
      scales: {roofline: 2.1, macs_s_per_mac: 2.4e-11}

Errors are relative: ``|predicted - measured| / measured``.
"""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from roofsweep.layertable import ACTIVATIONS, OP_TYPES
from roofsweep.units import DTYPE_BYTES

RUNTIMES = ("torch", "onnxruntime")
DEVICES = ("cpu", "cuda")
MAX_EFFICIENCY = 100.0  # > 1 means the profile's roof is below what the kernel reaches
MAX_OVERHEAD_S = 10.0


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=False)


def _finite(v: float, what: str) -> float:
    if isinstance(v, bool) or not math.isfinite(float(v)):
        raise ValueError(f"{what} must be a finite number")
    return float(v)


class ActivationParams(_Strict):
    """Fitted cost of one activation: seconds per output element plus a fixed overhead."""

    s_per_elem: float = Field(ge=0, le=1e-3)
    overhead_s: float = Field(ge=0, le=MAX_OVERHEAD_S)
    rows: int | None = Field(default=None, ge=0)

    @field_validator("s_per_elem", "overhead_s", mode="after")
    @classmethod
    def _is_finite(cls, v):
        return _finite(v, "value")


def _known_activations(v: dict) -> dict:
    for key in v:
        if key not in ACTIVATIONS:
            raise ValueError(f"unknown activation '{key}'; valid: {', '.join(sorted(ACTIVATIONS))}")
    return v


class OpTypeParams(_Strict):
    """Fitted parameters of one op type (see ``roofsweep.engine.calibrated``)."""

    compute_efficiency: float = Field(gt=0, le=MAX_EFFICIENCY)
    memory_efficiency: float = Field(gt=0, le=MAX_EFFICIENCY)
    overhead_s: float = Field(ge=0, le=MAX_OVERHEAD_S)
    samples: int | None = Field(default=None, ge=0)
    median_abs_error: float | None = Field(default=None, ge=0)
    #: the cost of each activation fused into a row of this op type
    activations: dict[str, ActivationParams] = Field(default_factory=dict)

    @field_validator("activations")
    @classmethod
    def _known(cls, v: dict) -> dict:
        return _known_activations(v)

    @field_validator("compute_efficiency", "memory_efficiency", "overhead_s", "median_abs_error",
                     mode="after")
    @classmethod
    def _is_finite(cls, v):
        return v if v is None else _finite(v, "value")


class Residuals(_Strict):
    """How well the fit reproduces the microbenchmarks it was fitted on."""

    samples: int = Field(ge=0)
    median_abs_error: float = Field(ge=0)
    max_abs_error: float = Field(ge=0)
    within_10pct: float = Field(ge=0, le=1)
    within_25pct: float = Field(ge=0, le=1)


class Scales(_Strict):
    """One least-squares (log) scale per scale-free predictor, fitted on the microbenchmarks:
    ``roofline`` multiplies the roofline bound; ``macs_s_per_mac`` turns MACs into seconds."""

    roofline: float = Field(gt=0)
    macs_s_per_mac: float = Field(gt=0)


class Calibration(_Strict):
    """The profile's ``calibration:`` section (see the module docstring)."""

    runtime: Literal["torch", "onnxruntime"]
    device: Literal["cpu", "cuda"] = "cpu"
    threads: int = Field(ge=1, le=4096)
    date: str
    method: str
    statistic: Literal["median", "min", "mean"] = "median"
    clock: Literal["wall", "cpu"] = "wall"
    allocator: Literal["retain", "system"] | None = None  # None: written before it was recorded
    dtype: str
    cost_model: str = "default"
    peak_macs_per_s: float = Field(gt=0)
    bandwidth_bytes_per_s: float = Field(gt=0)
    microbenchmarks: int = Field(ge=1)
    versions: dict[str, str] = Field(default_factory=dict)
    op_types: dict[str, OpTypeParams]
    fallback: OpTypeParams
    activations: dict[str, ActivationParams] = Field(default_factory=dict)
    fallback_activation: ActivationParams = ActivationParams(s_per_elem=0.0, overhead_s=0.0)
    call_overhead_s: float = Field(default=0.0, ge=0, le=MAX_OVERHEAD_S)
    run_overhead_s: float = Field(default=0.0, ge=0, le=MAX_OVERHEAD_S)
    residuals: Residuals
    scales: Scales

    @field_validator("dtype")
    @classmethod
    def _dtype(cls, v: str) -> str:
        if v not in DTYPE_BYTES:
            raise ValueError(f"unknown dtype '{v}'; valid: {', '.join(DTYPE_BYTES)}")
        return v

    @field_validator("op_types")
    @classmethod
    def _op_types(cls, v: dict) -> dict:
        from roofsweep.engine.calibrated import SUBGROUPS

        for key in v:
            if key not in OP_TYPES and key not in SUBGROUPS:
                raise ValueError(f"unknown op type '{key}'; valid: {', '.join((*OP_TYPES, *SUBGROUPS))}")
        return v

    @field_validator("activations")
    @classmethod
    def _activations(cls, v: dict) -> dict:
        return _known_activations(v)

    @field_validator("peak_macs_per_s", "bandwidth_bytes_per_s")
    @classmethod
    def _rate(cls, v: float) -> float:
        return _finite(v, "rate")

    def params(self, op_type: str) -> OpTypeParams:
        """The parameters ``op_type`` is predicted with (its own, else ``fallback``)."""
        return self.op_types.get(op_type, self.fallback)


def _loc(loc: tuple) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def parse_calibration(value: Any) -> tuple[Calibration | None, list[tuple[str, str]]]:
    """Validate a ``calibration:`` mapping -> ``(Calibration, [])`` or ``(None, problems)``, each
    problem ``(field path, reason)`` with the path starting at ``calibration``."""
    if value is None:
        return None, []
    if not isinstance(value, dict):
        return None, [("calibration", f"expected a mapping written by `roofsweep calibrate`, got {type(value).__name__}")]
    try:
        return Calibration.model_validate(value), []
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            where = _loc(tuple(err.get("loc", ())))
            msg = str(err.get("msg", "invalid")).removeprefix("Value error, ")
            problems.append((f"calibration.{where}" if where else "calibration", msg))
        return None, problems


def calibration_to_dict(cal: Calibration) -> dict[str, Any]:
    """Plain YAML-able mapping that ``parse_calibration`` reads back to an equal object."""
    return cal.model_dump(mode="python", exclude_none=True)
