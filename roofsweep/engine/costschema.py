"""The cost-model schema (pydantic v2): validates and coerces every ``CostModel`` field.

Values may be Python values or the strings a ``--set key=value`` option carries: ``true``/
``false``, ``none``, numbers, quantities with units (``"51.2 GB/s"``, ``"8 MiB"``, ``"2 TOPS"``),
comma-separated activation names. Numbers are bounded by ``roofsweep.schema.RANGES`` (bytes per
element 0..64, on-chip bytes up to 1e12, bandwidth 1..1e16 bytes/s, peak 1..1e18 MAC/s).
"""

from __future__ import annotations

from typing import Annotated, Any

import numpy as np
from pydantic import BaseModel, ConfigDict, PlainValidator, ValidationError

from roofsweep import schema as S
from roofsweep.errors import ConfigError
from roofsweep.layertable import ACTIVATIONS

ACCOUNTING_CHOICES = ("inputs", "inputs+outputs")
LATENCY_CHOICES = ("roofline", "calibrated")
MAX_PAD_RGB = 4096  # channels a 3-channel input may be padded to (hardware pads to 4, 8, 16...)
_NONE_WORDS = ("none", "null", "")


def _plain(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v


def _is_none(v: Any) -> bool:
    return v is None or (isinstance(v, str) and v.strip().lower() in _NONE_WORDS)


def _nullable(fn):
    return PlainValidator(lambda v: None if _is_none(v) else fn(_plain(v)))


def _plain_validator(fn):
    return PlainValidator(lambda v: fn(_plain(v)))


def _bool(v: Any) -> bool:
    if isinstance(v, bool):
        return v
    if isinstance(v, str) and v.strip().lower() in ("true", "yes", "on", "1"):
        return True
    if isinstance(v, str) and v.strip().lower() in ("false", "no", "off", "0"):
        return False
    raise S.fail(f"must be true or false, got {S.quote(v)}")


def _per_elem(v: Any) -> float:
    if isinstance(v, bool):
        raise S.fail(f"must be a number, got {S.quote(v)}")
    if isinstance(v, str) and len(v) > S.MAX_NAME_CHARS:
        raise S.fail(f"must be a number, got {S.quote(v)}")
    return S.quantity(v, "bytes_per_elem", allow_zero=True)


def _activations(v: Any) -> tuple[str, ...]:
    if isinstance(v, str):
        if len(v) > S.MAX_TEXT_CHARS:
            raise S.fail(f"is {len(v):,} characters long; at most {S.MAX_TEXT_CHARS:,}")
        v = [s.strip() for s in v.split(",") if s.strip()]
    if not isinstance(v, (list, tuple)) or not all(isinstance(s, str) and s for s in v):
        shown = S.type_name(v) if not isinstance(v, (list, tuple)) else "a list holding " + ", ".join(
            sorted({type(s).__name__ for s in v if not (isinstance(s, str) and s)}))
        raise S.fail(f"must be a list of activation names, got {shown}")
    if len(v) > len(ACTIVATIONS):
        raise S.fail(f"has {len(v)} names; there are only {len(ACTIVATIONS)} activations")
    for name in v:
        if name not in ACTIVATIONS:  # a typo would otherwise change nothing, silently
            raise S.fail(S.did_you_mean(name, ACTIVATIONS, "activation"))
    return tuple(v)


def _pad(v: Any) -> int:
    if isinstance(v, str) and v.strip().isdigit() and len(v) <= 30:
        v = int(v)
    if isinstance(v, bool) or not isinstance(v, int) or not 3 <= v <= MAX_PAD_RGB:
        raise S.fail(f"must be an integer >= 3 and <= {MAX_PAD_RGB}, or none; got {S.quote(v)}")
    return v


def _quantity(name: str, allow_zero: bool = False):
    def check(v: Any) -> float:
        if isinstance(v, bool):
            raise S.fail(f"must be a number, got {S.quote(v)}")
        return S.quantity(v, name, allow_zero=allow_zero)
    return check


class CostModelSchema(BaseModel):
    """Every ``CostModel`` field with its validator; ``coerce(fields)`` returns clean values."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, PlainValidator(lambda v: S.text(v, allow_empty=True, limit=400))]
    description: Annotated[str, PlainValidator(lambda v: S.text(v, allow_empty=True))]
    dtype: Annotated[str | None, _nullable(S.dtype)]
    sweep_dtype: Annotated[str, _plain_validator(S.dtype)]
    weight_bytes_per_elem: Annotated[float | None, _nullable(_per_elem)]
    activation_bytes_per_elem: Annotated[float | None, _nullable(_per_elem)]
    compute_activation_accounting: Annotated[str, _plain_validator(
        lambda v: S.choice(v, ACCOUNTING_CHOICES, "activation accounting"))]
    charge_elementwise: Annotated[bool, _plain_validator(_bool)]
    unfused_activations: Annotated[tuple[str, ...], _plain_validator(_activations)]
    pad_rgb_to: Annotated[int | None, _nullable(_pad)]
    use_onchip: Annotated[bool, _plain_validator(_bool)]
    onchip_bytes: Annotated[float | None, _nullable(_quantity("onchip_bytes", allow_zero=True))]
    sweep_bandwidth_bytes_per_s: Annotated[float, _plain_validator(_quantity("bandwidth_bytes_per_s"))]
    rp0_peak_macs_per_s: Annotated[float, _plain_validator(_quantity("peak_macs_per_s"))]
    latency: Annotated[str | None, _nullable(lambda v: S.choice(v, LATENCY_CHOICES, "latency model"))]


class CostModelError(ConfigError):
    """``cost model 'KEY': reason``; ``field`` and ``reason`` let a config file re-word it."""

    def __init__(self, field: str, reason: str) -> None:
        self.field, self.reason = field, reason
        super().__init__(f"cost model '{field}': {reason}")


def coerce(fields: dict[str, Any]) -> dict[str, Any]:
    """Validated, coerced values of every CostModel field; ``CostModelError`` for the first bad one."""
    try:
        doc = CostModelSchema.model_validate(fields)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        field = ".".join(str(p) for p in err["loc"]) or "document"
        raise CostModelError(field, err["msg"]) from None
    return dict(doc)
