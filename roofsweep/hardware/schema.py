"""The hardware-profile schema (pydantic v2): validates a parsed YAML document, then builds the
``HardwareProfile`` dataclass. Field reference: ``docs/hardware-profiles.md``.

Each field is checked on its own (all field problems are reported together); the checks that
need several fields - any two of {peak, bandwidth, ridge point} give the third, the default
dtype has a peak, ``estimated`` names existing paths - run once every field is valid.
"""

from __future__ import annotations

import datetime as _dt
import math
import re
from typing import Annotated, Any

from pydantic_core import PydanticCustomError
from pydantic import BaseModel, BeforeValidator, ConfigDict, PlainValidator, TypeAdapter, ValidationError

from roofsweep import schema as S
from roofsweep.errors import RoofsweepError
from roofsweep.hardware.profile import KINDS, HardwareProfile
from roofsweep.units import DTYPE_BYTES

RIDGE_REL_TOL = 0.01  # given ridge point vs peak / bandwidth
NAME_RE = re.compile(r"[a-z0-9][a-z0-9._-]*")


def check_name(value: object) -> str:
    """A profile name: a lower-case slug of at most 64 characters."""
    name = S.line(value, limit=S.MAX_NAME_CHARS)
    if not NAME_RE.fullmatch(name):
        raise S.fail(f"must be a lower-case slug matching [a-z0-9][a-z0-9._-]*, got {S.quote(name)}")
    return name


def validate_name(name: object, where: str = "name") -> str:
    """``check_name`` for callers outside a document: ``ProfileError("<where>: <reason>")``."""
    from roofsweep.errors import ProfileError

    try:
        return check_name(name)
    except PydanticCustomError as exc:
        raise ProfileError(f"{where}: {exc.message()}") from None


def _kind(value: object) -> str:
    return S.choice(value, KINDS, "kind")


def _dtype_key(value: object) -> str:
    if not isinstance(value, str):
        raise S.fail(f"dtype names are strings, got {S.quote(value)}")
    return S.choice(value, DTYPE_BYTES, "dtype")


def _per_dtype(what: str, example: str):
    def check(value: object) -> Any:
        if not isinstance(value, dict):
            raise S.fail(f"expected a mapping dtype -> {what} (e.g. {example}), got {S.type_name(value)}")
        if not value:
            raise S.fail("is empty; give at least one dtype")
        if len(value) > len(DTYPE_BYTES):
            raise S.fail(f"has {len(value)} entries; there are only {len(DTYPE_BYTES)} dtypes")
        return value
    return check


def _ridge(value: object) -> Any:
    """A ridge point: one number (for the default dtype) or a mapping dtype -> MAC/byte."""
    if isinstance(value, dict):
        if not value:
            raise S.fail("is empty; give MAC/byte per dtype or a single number")
        return _RIDGES.validate_python(value)
    return S.quantity(value, "ridge_point")


def _strings(what: str):
    def check(value: object) -> Any:
        if value is None:
            return []
        if not isinstance(value, list):
            raise S.fail(f"expected a list of strings ({what}), got {S.type_name(value)}")
        return S.bounded_list(value)
    return check


def _measured(value: object) -> Any:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise S.fail(f"expected a mapping (date, method, torch_version, threads), got {S.type_name(value)}")
    bad = [k for k in value if not isinstance(k, str)]
    if bad:
        raise S.fail(f"keys must be strings, got {S.quote(bad[0])}")
    if len(value) > 64:
        raise S.fail(f"has {len(value)} entries; at most 64")
    for key, item in value.items():
        if key not in MeasuredSchema.model_fields:
            try:
                _scalar(item)
            except PydanticCustomError as exc:
                raise S.fail(f"entry {S.quote(key)}: {exc.message()}") from None
    return value


def _date(value: object) -> str:
    if isinstance(value, (_dt.date, _dt.datetime)):
        return value.isoformat()
    if not isinstance(value, str):
        raise S.fail(f"expected a date like 2026-05-01, got {S.type_name(value)}")
    return S.line(value, limit=S.MAX_NAME_CHARS)


def _threads(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 100_000:
        raise S.fail(f"expected a whole number >= 1, got {S.quote(value)}")
    return value


def _scalar(value: object, depth: int = 0) -> Any:
    """An extra ``measured`` entry: a short string, a finite number, a boolean, or a short list
    or mapping of those (``gemm_sizes: [256, 512]``)."""
    if isinstance(value, str):
        return S.free_text(value)
    if isinstance(value, bool) or value is None or (isinstance(value, int) and abs(value) < 2**63):
        return value
    if isinstance(value, float) and math.isfinite(value):
        return value
    if isinstance(value, (_dt.date, _dt.datetime)):
        return value.isoformat()
    if depth == 0 and isinstance(value, list) and len(value) <= 64:
        return [_scalar(v, 1) for v in value]
    if depth == 0 and isinstance(value, dict) and len(value) <= 64 and all(isinstance(k, str) for k in value):
        return {k: _scalar(v, 1) for k, v in value.items()}
    raise S.fail(f"expected a string, a finite number or a short list of them, got {S.type_name(value)}")


def _calibration(value: object) -> Any:
    """The ``calibration:`` section, checked by its own schema (``roofsweep.hardware.calibration``)."""
    if value is None:
        return None
    from roofsweep.hardware.calibration import parse_calibration

    cal, problems = parse_calibration(value)
    if problems:
        where, reason = problems[0]
        raise PydanticCustomError("roofsweep", "{reason}", {"reason": S.one_line(reason, 300), "field": where})
    return cal


def _v(fn):
    return PlainValidator(fn)


def _optional(fn):
    return PlainValidator(lambda v: None if v is None else fn(v))


Quantity = {q: Annotated[float, _v(lambda v, q=q: S.quantity(v, q))] for q in S.UNIT_KIND}
Str = Annotated[str, _v(lambda v: S.free_text(S.text(v)))]
DtypeKey = Annotated[str, _v(_dtype_key)]


class MeasuredSchema(BaseModel):
    """What ``roofsweep probe`` records; other short entries are kept as they are."""

    model_config = ConfigDict(extra="allow", frozen=True)
    date: Annotated[str | None, _optional(_date)] = None
    method: Annotated[str | None, _optional(S.free_text)] = None
    torch_version: Annotated[str | None, _optional(S.line)] = None
    torch: Annotated[str | None, _optional(S.line)] = None
    threads: Annotated[int | None, _optional(_threads)] = None

    def as_dict(self) -> dict:
        out = {k: v for k, v in self.__dict__.items() if k in self.model_fields_set}
        return out | {k: _scalar(v) for k, v in (self.model_extra or {}).items()}


#: Every top-level field a profile file may have, with a one-line description.
FIELDS: dict[str, str] = {
    "name": "registry key, a slug: [a-z0-9][a-z0-9._-]* (required)",
    "display_name": "human-readable name (defaults to name)",
    "kind": f"one of {', '.join(KINDS)} (required)",
    "default_dtype": "dtype used when none is asked for; a key of peak_macs_per_s (required)",
    "peak_macs_per_s": "mapping dtype -> peak MAC/s (number = MAC/s, or '15.8 TOPS', '200 GMAC/s')",
    "bandwidth": "DRAM bandwidth (number = bytes/s, or '51.2 GB/s')",
    "bandwidth_bytes_per_s": "same as bandwidth",
    "ridge_point": "MAC/byte; scalar (default dtype) or mapping dtype -> MAC/byte; 0 = infinite bandwidth",
    "onchip_memory": "on-chip SRAM/cache bytes (number or '8 MiB')",
    "onchip_bytes": "same as onchip_memory",
    "sources": "list of strings: where the figures come from",
    "notes": "free text",
    "estimated": "list of field paths that are estimates, e.g. peak_macs_per_s.int8, bandwidth",
    "measured": "mapping written by `roofsweep probe`: date, method, torch_version, threads, ...",
    "calibration": "mapping written by `roofsweep calibrate` (checked by roofsweep.hardware.calibration)",
}


def known_fields() -> list[str]:
    """The top-level fields a profile accepts."""
    return list(FIELDS)


REQUIRED = {k: v.replace(" (required)", "") for k, v in FIELDS.items() if v.endswith("(required)")}
_RIDGES = TypeAdapter(dict[DtypeKey, Quantity["ridge_point"]])


class ProfileSchema(BaseModel):
    """One profile document, every field checked on its own; ``resolve`` does the rest."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Annotated[str, _v(check_name)]
    display_name: Annotated[str | None, _v(lambda v: S.line(v, limit=S.MAX_NAME_CHARS * 4))] = None
    kind: Annotated[str, _v(_kind)]
    default_dtype: Annotated[str, _v(S.dtype)]
    peak_macs_per_s: Annotated[dict[DtypeKey, Quantity["peak_macs_per_s"]] | None,
                               BeforeValidator(_per_dtype("MAC/s", "int8: '4 TOPS'"))] = None
    bandwidth: Quantity["bandwidth_bytes_per_s"] | None = None
    bandwidth_bytes_per_s: Quantity["bandwidth_bytes_per_s"] | None = None
    ridge_point: Annotated[Any, _v(_ridge)] = None
    onchip_memory: Annotated[float | None, _optional(lambda v: S.quantity(v, "onchip_bytes"))] = None
    onchip_bytes: Annotated[float | None, _optional(lambda v: S.quantity(v, "onchip_bytes"))] = None
    sources: Annotated[list[Str], BeforeValidator(_strings("where the figures come from"))] = []
    notes: Annotated[str, _v(lambda v: "" if v is None else S.free_text(v))] = ""
    estimated: Annotated[list[Str], BeforeValidator(_strings("field paths"))] = []
    measured: Annotated[MeasuredSchema | None, BeforeValidator(_measured)] = None
    calibration: Annotated[Any, _v(_calibration)] = None


def parse(data: Any) -> tuple[ProfileSchema | None, ValidationError | None]:
    """Field-by-field validation of a parsed document (a mapping)."""
    try:
        return ProfileSchema.model_validate(data), None
    except ValidationError as exc:
        return None, exc


# ------------------------------------------------------------------------------ cross-field
def _rel_close(a: float, b: float) -> bool:
    return abs(a - b) <= RIDGE_REL_TOL * max(abs(a), abs(b))


def _estimated_paths(dtypes: set[str]) -> list[str]:
    paths = ["peak_macs_per_s", "bandwidth", "bandwidth_bytes_per_s", "ridge_point",
             "onchip_memory", "onchip_bytes"]
    for d in sorted(dtypes):
        paths += [f"peak_macs_per_s.{d}", f"ridge_point.{d}"]
    return paths


def resolve(doc: ProfileSchema, path: str | None) -> tuple[HardwareProfile | None, list[tuple[str, str]]]:
    """The checks that need several fields, then the dataclass: ``(profile, [])`` or
    ``(None, [(field, reason), ...])``."""
    problems: list[tuple[str, str]] = []
    for a, b in (("bandwidth", "bandwidth_bytes_per_s"), ("onchip_memory", "onchip_bytes")):
        if getattr(doc, a) is not None and getattr(doc, b) is not None:
            problems.append((b, f"give either {a} or {b}, not both"))
    if problems:
        return None, problems
    peaks = dict(doc.peak_macs_per_s or {})
    ridge: dict[str, float] = {}
    ridge_fields: dict[str, str] = {}
    if isinstance(doc.ridge_point, dict):
        ridge = dict(doc.ridge_point)
        ridge_fields = {d: f"ridge_point.{d}" for d in ridge}
    elif doc.ridge_point is not None:
        ridge = {doc.default_dtype: doc.ridge_point}
        ridge_fields = {doc.default_dtype: "ridge_point"}
    bw_field = "bandwidth_bytes_per_s" if doc.bandwidth_bytes_per_s is not None else "bandwidth"
    bandwidth = _triple(problems, peaks, getattr(doc, bw_field), bw_field, ridge, ridge_fields, doc.default_dtype)
    if bandwidth is not None:
        problems += _derived_ridges(peaks, bandwidth)
    if not problems and doc.default_dtype not in peaks:
        problems.append(("default_dtype", f"{S.quote(doc.default_dtype)} has no peak; dtypes with a peak: "
                                          f"{', '.join(peaks)}"))
    valid = _estimated_paths(set(peaks) | set(ridge) or set(DTYPE_BYTES))
    for i, item in enumerate(doc.estimated):
        if item not in valid:
            problems.append((f"estimated[{i}]", S.did_you_mean(item, valid, "field path")))
    if problems:
        return None, problems
    onchip = doc.onchip_bytes if doc.onchip_bytes is not None else doc.onchip_memory
    return HardwareProfile(
        name=doc.name, display_name=doc.display_name if doc.display_name is not None else doc.name,
        kind=doc.kind, peak_macs_per_s=peaks, bandwidth_bytes_per_s=bandwidth,
        default_dtype=doc.default_dtype, onchip_bytes=onchip, sources=tuple(doc.sources),
        notes=doc.notes, estimated=tuple(doc.estimated),
        measured=None if doc.measured is None else doc.measured.as_dict(),
        calibration=doc.calibration, path=path,
    ), []


def _derived_ridges(peaks: dict[str, float], bandwidth: float) -> list[tuple[str, str]]:
    """Every peak / bandwidth must be a ridge point in range (finite inputs can still give an
    absurd quotient, e.g. 1e18 MAC/s over 1 byte/s)."""
    out = []
    rng = S.RANGES["ridge_point"]
    for dtype, peak in peaks.items():
        rp = 0.0 if math.isinf(bandwidth) else peak / bandwidth
        if rp != 0 and not rng.lo <= rp <= rng.hi:
            out.append((f"peak_macs_per_s.{dtype}", f"{peak:g} MAC/s against {bandwidth:g} bytes/s gives ridge "
                        f"point {rp:g} MAC/byte, outside {rng.describe()}; check the units"))
    return out


def _triple(problems, peaks, bandwidth, bw_field, ridge, ridge_fields, default_dtype) -> float | None:
    """Any two of {peak, bandwidth, ridge point} give the third (per dtype; one bandwidth).

    Fills ``peaks`` in place for dtypes that only have a ridge point; returns the bandwidth
    (``math.inf`` when a ridge point of 0 says so), or None after appending to ``problems``."""
    if not peaks and not ridge:
        problems.append(("peak_macs_per_s", "missing; give peak MAC/s per dtype (or ridge_point with bandwidth)"))
        return None
    if bandwidth is not None:
        zero = [d for d, rp in ridge.items() if rp == 0]
        if zero:
            problems.append((ridge_fields[zero[0]], f"0 means infinite bandwidth (MACs only), but {bw_field} is "
                             "given; drop one of them"))
            return None
    else:
        order = sorted(set(peaks) & set(ridge), key=lambda d: (d != default_dtype, d))
        if not order:
            problems.append(("bandwidth", "missing; give bandwidth (e.g. '51.2 GB/s'), or a peak and a "
                             "ridge_point for the same dtype"))
            return None
        d0 = order[0]
        bandwidth = math.inf if ridge[d0] == 0 else peaks[d0] / ridge[d0]
        rng = S.RANGES["bandwidth_bytes_per_s"]
        if not math.isinf(bandwidth) and not rng.lo <= bandwidth <= rng.hi:
            problems.append((ridge_fields[d0], f"peak_macs_per_s.{d0} / ridge point = {bandwidth:g} bytes/s, "
                             f"outside the plausible bandwidth ({rng.describe()})"))
            return None
    for dtype, rp in ridge.items():
        field = ridge_fields[dtype]
        if dtype in peaks:
            expected = 0.0 if math.isinf(bandwidth) else peaks[dtype] / bandwidth
            if not _rel_close(rp, expected):
                problems.append((field, f"{rp:g} MAC/byte disagrees with peak_macs_per_s.{dtype} / bandwidth = "
                                 f"{peaks[dtype]:.6g} / {bandwidth:.6g} = {expected:.4g} MAC/byte (more than "
                                 f"{RIDGE_REL_TOL:.0%} apart); give any two of the three, or make them agree"))
        elif math.isinf(bandwidth) or rp == 0:
            problems.append((field, f"cannot derive peak_macs_per_s.{dtype} from ridge point {rp:g} with "
                             f"bandwidth {bandwidth:g}; give peak_macs_per_s.{dtype}"))
        else:
            peak = rp * bandwidth  # peak = RP x bandwidth
            rng = S.RANGES["peak_macs_per_s"]
            if not rng.lo <= peak <= rng.hi:
                problems.append((field, f"ridge point x bandwidth = {peak:g} MAC/s, outside the plausible "
                                 f"peak ({rng.describe()})"))
            else:
                peaks[dtype] = peak
    return None if problems else bandwidth
