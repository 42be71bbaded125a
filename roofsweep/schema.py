"""Shared pieces of roofsweep's pydantic schemas (profiles, configs, cost models).

Every physical quantity has one documented plausible range (``RANGES``); a value outside it -
``1e-300`` MAC/s, ``1e308`` bytes per element - is a one-line error, so nothing downstream can
overflow to inf or NaN. Field validators raise ``PydanticCustomError("roofsweep", reason)``;
``problems(exc, label, lines)`` turns a ``ValidationError`` into ``FILE: FIELD: reason (line N)``
lines, unknown fields worded with did-you-mean.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, NamedTuple

from roofsweep.errors import did_you_mean, one_line, quote
from roofsweep.units import DTYPE_BYTES, UnitError, parse_quantity

if TYPE_CHECKING:  # pydantic is imported by the schemas that use it, not by every importer
    from pydantic import ValidationError
    from pydantic_core import PydanticCustomError

MAX_TEXT_CHARS = 4_000  # notes, sources, titles: free text, but not a novel
MAX_NAME_CHARS = 64  # profile names, labels
MAX_LIST_ITEMS = 100  # sources, estimated, models in a config...


class Range(NamedTuple):
    """Closed range ``[lo, hi]`` of one quantity in its base unit; ``zero``: 0 is also valid."""

    lo: float
    hi: float
    unit: str
    zero: bool = False

    def describe(self) -> str:
        span = f"from {self.lo:g} to {self.hi:g} {self.unit}".rstrip()
        return f"0 or {span}" if self.zero else span


#: The plausible range of every physical quantity roofsweep reads (docs/hardware-profiles.md).
RANGES: dict[str, Range] = {
    "peak_macs_per_s": Range(1.0, 1e18, "MAC/s"),  # 1 EMAC/s: ~1000x the largest accelerator
    "bandwidth_bytes_per_s": Range(1.0, 1e16, "bytes/s"),  # 10 PB/s
    "ridge_point": Range(1e-6, 1e6, "MAC/byte", zero=True),  # 0 = infinite bandwidth
    "onchip_bytes": Range(1.0, 1e12, "bytes"),  # 1 TB of SRAM
    "bytes_per_elem": Range(0.0, 64.0, "bytes"),
    "top1": Range(1e-9, 100.0, "%"),
}
UNIT_KIND = {"peak_macs_per_s": "compute", "bandwidth_bytes_per_s": "bandwidth", "ridge_point": "intensity",
             "onchip_bytes": "bytes"}
_UNIT_HINTS = {
    "compute": "e.g. '15.8 TOPS', '200 GMAC/s', or a number of MAC/s",
    "bandwidth": "e.g. '51.2 GB/s', or a number of bytes/s",
    "bytes": "e.g. '8 MiB', '4 MB', or a number of bytes",
    "intensity": "e.g. 31.2 or '31.2 MAC/B'",
}


def fail(reason: str) -> PydanticCustomError:
    """The error a roofsweep field validator raises (``raise fail("must be > 0")``)."""
    from pydantic_core import PydanticCustomError

    return PydanticCustomError("roofsweep", "{reason}", {"reason": reason})


def type_name(value: object) -> str:
    if value is None:
        return "nothing (null)"
    names = {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean",
             int: "a whole number", float: "a number"}
    return names.get(type(value), f"a value of type {type(value).__name__}")


# ------------------------------------------------------------------------------ value checks
def quantity(value: object, quantity_name: str, *, allow_zero: bool | None = None) -> float:
    """A number or a unit string, parsed by ``units.parse_quantity``, checked against
    ``RANGES[quantity_name]``. ``allow_zero`` overrides the range's own ``zero``."""
    rng = RANGES[quantity_name]
    kind = UNIT_KIND.get(quantity_name)
    zero_ok = rng.zero if allow_zero is None else allow_zero
    hint = _UNIT_HINTS.get(kind or "", "a number")
    if value is None:
        raise fail(f"has no value; give a number or a quantity ({hint})")
    if isinstance(value, (list, dict)):
        raise fail(f"expected a number or a quantity string ({hint}), got {type_name(value)}")
    try:
        number = parse_quantity(value, kind) if kind else _plain_number(value)
    except UnitError as exc:
        reason = str(exc)
        raise fail(reason if "e.g." in reason else f"{reason} ({hint})") from None
    return in_range(number, rng, value, zero_ok)


def _plain_number(value: object) -> float:
    if isinstance(value, str):
        try:
            return parse_quantity(value.strip(), "bytes") if value.strip() else float("nan")
        except UnitError:
            raise UnitError(f"cannot read {quote(value)} as a number") from None
    return parse_quantity(value, "bytes")


def in_range(number: float, rng: Range, shown: object, zero_ok: bool) -> float:
    """``number`` if it lies in ``rng`` (or is 0 where allowed), else the error."""
    if number < 0 or (number == 0 and not zero_ok):
        raise fail(f"must be {'>= 0' if zero_ok else '> 0'}, got {quote(shown)}")
    if number == 0 or rng.lo <= number <= rng.hi:
        return number
    raise fail(f"{quote(shown)} is outside the plausible range ({rng.describe()}); check the units")


def text(value: object, *, allow_empty: bool = False, limit: int = MAX_TEXT_CHARS) -> str:
    if not isinstance(value, str):
        raise fail(f"expected a string, got {type_name(value)}")
    if not allow_empty and not value.strip():
        raise fail("must not be empty")
    if len(value) > limit:
        raise fail(f"is {len(value):,} characters long; at most {limit:,}")
    return value


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_CONTROL_BUT_LAYOUT = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # free text keeps \t \n


def line(value: object, limit: int = MAX_NAME_CHARS * 4) -> str:
    """A one-line text field (names, titles, labels, paths): no control or line-break
    characters - they would break a terminal line or send escape sequences."""
    value = text(value, limit=limit)
    m = _CONTROL.search(value)
    if m:
        raise fail(f"{quote(value)} holds the control character U+{ord(m.group()):04X}; remove it")
    return value


def free_text(value: object, limit: int = MAX_TEXT_CHARS) -> str:
    """Notes and sources: tabs and newlines allowed, other control characters not."""
    value = text(value, allow_empty=True, limit=limit)
    m = _CONTROL_BUT_LAYOUT.search(value)
    if m:
        raise fail(f"holds the control character U+{ord(m.group()):04X}; remove it")
    return value


def choice(value: object, choices: Iterable[str], what: str) -> str:
    choices = tuple(choices)
    if isinstance(value, str) and value in choices:
        return value
    if isinstance(value, str) and value.strip() in choices:
        raise fail(f"{quote(value)} has stray whitespace; write {quote(value.strip())}")
    if not isinstance(value, str):
        raise fail(f"expected one of {', '.join(choices)}, got {type_name(value)} {quote(value)}")
    raise fail(did_you_mean(value, choices, what))


def dtype(value: object) -> str:
    if not isinstance(value, str):
        raise fail(f"expected a dtype name, got {type_name(value)}")
    return choice(value, DTYPE_BYTES, "dtype")


def bounded_list(value: object, limit: int = MAX_LIST_ITEMS) -> list:
    """``value`` as a list (None = empty) of at most ``limit`` items."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise fail(f"expected a list, got {type_name(value)}")
    if len(value) > limit:
        raise fail(f"has {len(value):,} items; at most {limit:,}")
    return value


def finite(x: float) -> bool:
    return isinstance(x, (int, float)) and math.isfinite(x)


# ------------------------------------------------------------------------------ model sizes
MAX_WIDTH = 64.0  # width multiplier (the zoo publishes 0.25 .. 2)
# Input elements x max(1, width)^2 at most 2.5e13: every LayerTable count (MACs, elements) then
# fits int64 with room for ~3.7e5 MACs per input element (the zoo needs about 1e5).
MAX_SIZE_PRODUCT = 2.5e13


def check_model_size(name: str, label: str, width: float, input_shape: tuple[int, ...]) -> None:
    """Refuse, before tracing, a width or an input whose counts would overflow int64."""
    from roofsweep.errors import ModelBuildError

    if not 0 < width <= MAX_WIDTH:
        raise ModelBuildError(f"building {name} at width {width:g} failed: the width multiplier must be "
                              f"from 0 to {MAX_WIDTH:g}")
    elements = math.prod(int(d) for d in input_shape)  # an int: exact however large
    product = math.inf if elements > MAX_SIZE_PRODUCT else elements * max(1.0, width) ** 2
    if product > MAX_SIZE_PRODUCT:
        shown = "x".join(map(str, input_shape))
        size = "is" if math.isinf(product) else f"= {product:.3g}"
        raise ModelBuildError(f"tracing {label[:80]} on input {shown[:80]} failed: too large to count (input "
                              f"elements x width^2 {size} > {MAX_SIZE_PRODUCT:g}, its MACs would "
                              "overflow 64-bit counters); use a smaller batch, resolution or width")


# ------------------------------------------------------------------------------ error lines
def _path(loc: tuple) -> str:
    out = ""
    for part in loc:
        if part == "[key]":
            continue
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "document"


def line_for(field: str, lines: dict[str, int]) -> int | None:
    """The line of ``field`` or of its nearest parent that has one."""
    while field:
        if field in lines:
            return lines[field]
        field = re.sub(r"(\.[^.\[]*|\[\d+\])$", "", field) if re.search(r"[.\[]", field) else ""
    return None


def problems(exc: ValidationError, label: str, lines: dict[str, int], fields: Iterable[str],
             required: dict[str, str] | None = None, nested: dict[str, Iterable[str]] | None = None) -> list[str]:
    """``FILE: FIELD: reason (line N)`` for every error of ``exc``: unknown fields first (with
    did-you-mean against ``fields``, or ``nested[top-level field]`` below the top level), then
    missing ones, then the rest in schema order."""
    fields = tuple(fields)
    nested = nested or {}
    ranked: list[tuple[int, str]] = []
    for err in exc.errors(include_url=False):
        loc, kind = tuple(err["loc"]), err["type"]
        field = _path(loc)
        line = line_for(field, lines)
        if kind == "extra_forbidden":
            key = str(loc[-1])
            parent = _path(loc[:-1])
            choices = fields if len(loc) == 1 else tuple(nested.get(str(loc[0]), ()))
            reason, rank = did_you_mean(key, choices, "field") if choices else f"unknown field {quote(key)}", 0
            field = key if len(loc) == 1 else f"{parent}.{key}"
        elif kind == "missing":
            what = (required or {}).get(field, "")
            reason, rank, line = f"missing; this field is required{f' ({what})' if what else ''}", 1, None
        elif kind == "roofsweep":
            reason, rank = err["msg"], 2
            inner = (err.get("ctx") or {}).get("field")  # a nested schema's own path (calibration.x.y)
            if inner:
                field, line = inner, line_for(inner, lines) or line
        else:  # a pydantic type check that no roofsweep validator words (defensive)
            reason, rank = f"{err['msg'].splitlines()[0][:200]}", 2
        suffix = f" (line {line})" if line else ""
        ranked.append((rank, f"{label}: {one_line(field, 100)}: {reason}{suffix}"))
    ranked.sort(key=lambda r: r[0])  # stable: schema order within each rank
    return [line for _, line in ranked]
