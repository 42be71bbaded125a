"""Units: the one place where quantities are parsed and formatted.

Conventions (stated once, used everywhere):

* 1 MAC = one multiply-accumulate = 2 FLOPs = 2 "ops". Vendor TOPS/TFLOPS are ops, so
  ``MAC/s = TOPS * 1e12 / 2``.
* Decimal prefixes: 1 GB/s = 1e9 bytes/s (as vendors and the MobileNetV4 paper use them).
  Binary prefixes are honoured when written: 1 MiB = 2**20 bytes.
* Names carry their unit: ``macs``, ``weight_bytes``, ``bandwidth_bytes_per_s``, ``latency_s``.
"""

from __future__ import annotations

import math
import re

# Bytes per element of each dtype a profile or cost model may name.
DTYPE_BYTES: dict[str, float] = {
    "int4": 0.5,
    "int8": 1.0,
    "uint8": 1.0,
    "fp8": 1.0,
    "fp16": 2.0,
    "bf16": 2.0,
    "fp32": 4.0,
    "tf32": 4.0,
    "fp64": 8.0,
}

_DECIMAL = {"": 1.0, "k": 1e3, "K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15}
_BINARY = {"Ki": 2.0**10, "Mi": 2.0**20, "Gi": 2.0**30, "Ti": 2.0**40}

# The number at the start of a quantity string. Matched with ``re.match`` and never anchored at
# the end, so it cannot backtrack: parsing is linear in the (bounded) length of the string.
_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_UNIT_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz/_-")
#: Longest quantity string read ("1.59744e12 MAC/s" is 16); longer ones are refused unparsed.
MAX_QUANTITY_CHARS = 64

# unit word -> (kind, factor to base unit). Base units: bytes/s, MAC/s, bytes, MAC/byte.
_UNIT_KINDS: dict[str, tuple[str, float]] = {
    "B/s": ("bandwidth", 1.0),
    "bytes/s": ("bandwidth", 1.0),
    "Bps": ("bandwidth", 1.0),
    "MAC/s": ("compute", 1.0),
    "MACs/s": ("compute", 1.0),
    "MACS": ("compute", 1.0),
    "OPS": ("compute", 0.5),  # ops = 2 per MAC
    "OP/s": ("compute", 0.5),
    "ops/s": ("compute", 0.5),
    "FLOPS": ("compute", 0.5),
    "FLOP/s": ("compute", 0.5),
    "B": ("bytes", 1.0),
    "bytes": ("bytes", 1.0),
    "MAC/B": ("intensity", 1.0),
    "MAC/byte": ("intensity", 1.0),
    "MACs/byte": ("intensity", 1.0),
}


class UnitError(ValueError):
    """A quantity string could not be parsed; message is one line."""


def _split_prefix(word: str) -> tuple[float, str]:
    for prefix, factor in _BINARY.items():
        if word.startswith(prefix) and word[len(prefix):] in _UNIT_KINDS:
            return factor, word[len(prefix):]
    if word in _UNIT_KINDS:
        return 1.0, word
    if word[:1] in _DECIMAL and word[1:] in _UNIT_KINDS:
        return _DECIMAL[word[:1]], word[1:]
    raise UnitError(f"unknown unit {_shown(word)}")


def parse_quantity(value: object, kind: str) -> float:
    """Parse a number or a string with units into the base unit of ``kind``.

    ``kind`` is one of ``bandwidth`` (bytes/s), ``compute`` (MAC/s), ``bytes``, ``intensity``
    (MAC/byte). Plain numbers are taken to be in the base unit already.

    >>> parse_quantity("51.2 GB/s", "bandwidth")
    51200000000.0
    >>> parse_quantity("15.8 TOPS", "compute")   # ops -> MACs: / 2
    7900000000000.0
    >>> parse_quantity("8 MiB", "bytes")
    8388608.0
    """
    if isinstance(value, bool):
        raise UnitError(f"expected a number or a quantity string, got {value!r}")
    if isinstance(value, (int, float)):
        try:
            number = float(value)
        except OverflowError:  # an integer beyond float range
            digits = int(value.bit_length() * math.log10(2)) + 1
            raise UnitError(f"a {digits}-digit integer is too large to be a finite number") from None
    elif isinstance(value, str):
        number, word = _split_quantity(value)
        if word:
            factor, unit = _split_prefix(word)
            unit_kind, unit_factor = _UNIT_KINDS[unit]
            if unit_kind != kind:
                raise UnitError(f"unit '{word}' is a {unit_kind}, expected a {kind}")
            number *= factor * unit_factor
    else:
        raise UnitError(f"expected a number or a quantity string, got {type(value).__name__}")
    if math.isnan(number) or math.isinf(number):
        raise UnitError(f"{_shown(value)} is not a finite number")
    return number


def _shown(value: object) -> str:
    from roofsweep.errors import quote  # errors imports nothing of ours; deferred for clarity

    return quote(value)


def _split_quantity(text: str) -> tuple[float, str]:
    """``" 51.2 GB/s\n" -> (51.2, "GB/s")``: a number, then a unit word; whitespace anywhere
    around or inside the unit is ignored (folded YAML scalars end in a newline). Linear time."""
    if len(text) > MAX_QUANTITY_CHARS:
        raise UnitError(f"quantity {_shown(text)} is too long (at most {MAX_QUANTITY_CHARS} characters)")
    stripped = text.strip()
    m = _NUMBER.match(stripped)
    word = "".join(stripped[m.end():].split()) if m else ""
    if not m or not set(word) <= _UNIT_CHARS:
        raise UnitError(f"cannot read {_shown(text)} as a quantity (e.g. '51.2 GB/s', '4 TOPS')")
    return float(m.group()), word


# ----------------------------------------------------------------------------------- formatting
def _si(value: float, unit: str, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if math.isinf(value):
        return "inf"
    for factor, prefix in ((1e15, "P"), (1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= factor:
            return f"{value / factor:.{digits}g} {prefix}{unit}"
    return f"{value:.{digits}g} {unit}".rstrip()


def fmt_macs(macs: float) -> str:
    """``1.08e9 -> '1.08 GMAC'``."""
    return _si(macs, "MAC")


def fmt_count(n: float) -> str:
    """``3504872 -> '3.5 M'``."""
    return _si(n, "", digits=3).strip()


def fmt_bytes(n: float) -> str:
    """Decimal bytes: ``5.2e6 -> '5.2 MB'``."""
    return _si(n, "B")


def fmt_rate(macs_per_s: float) -> str:
    return _si(macs_per_s, "MAC/s")


def fmt_bandwidth(bytes_per_s: float) -> str:
    return _si(bytes_per_s, "B/s")


def fmt_time(seconds: float) -> str:
    """Seconds to the most readable of s / ms / us / ns."""
    if seconds is None or (isinstance(seconds, float) and math.isnan(seconds)):
        return "-"
    if math.isinf(seconds):
        return "inf"
    a = abs(seconds)
    if a >= 1:
        return f"{seconds:.3g} s"
    if a >= 1e-3:
        return f"{seconds * 1e3:.3g} ms"
    if a >= 1e-6:
        return f"{seconds * 1e6:.3g} us"
    return f"{seconds * 1e9:.3g} ns"


def fmt_intensity(macs_per_byte: float) -> str:
    if macs_per_byte is None or math.isnan(macs_per_byte):
        return "-"
    if math.isinf(macs_per_byte):
        return "inf"
    if abs(macs_per_byte) >= 1000:  # "4000 MAC/B", not "4e+03 MAC/B"
        return f"{macs_per_byte:.0f} MAC/B"
    return f"{macs_per_byte:.3g} MAC/B"


def fmt_percent(fraction: float) -> str:
    if fraction is None or math.isnan(fraction):
        return "-"
    return f"{fraction * 100:.0f}%"
