"""Hardware profile YAML: read, validate, write.

One file = one device. The schema (annotated example in ``docs/hardware-profiles.md``)::

    name: pixel6-cpu                 # slug: [a-z0-9][a-z0-9._-]*  (the registry key)
    display_name: Pixel 6 CPU        # optional; defaults to name
    kind: cpu                        # cpu | gpu | dsp | npu | edgetpu | other
    default_dtype: int8              # a key of the peaks, and a dtype roofsweep knows
    peak_macs_per_s: {int8: "1.6 TMAC/s", fp16: "3.2 TOPS"}   # numbers are MAC/s; TOPS = ops
    bandwidth: "51.2 GB/s"           # or bandwidth_bytes_per_s: 5.12e10
    ridge_point: 31.2                # MAC/byte, optional; scalar = default dtype, or per dtype
    onchip_memory: "4 MiB"           # optional (alias onchip_bytes)
    estimated: [peak_macs_per_s.int8]
    sources: ["https://..."]
    notes: free text
    measured: {date: 2026-05-01, method: ..., torch_version: ..., threads: 4}   # probe output

Any two of {peak (per dtype), bandwidth, ridge point} determine the third; all three given must
agree within 1 %. Ridge point 0 means infinite bandwidth (the "MACs only" archetype).

Every problem is reported as one line ``"<file>: <field>: <reason>"``; ``validate_file`` returns all
of them, ``load_profile`` raises a ``ProfileError`` with the first. YAML is parsed only with the
safe loader, after refusing files over 1 MiB; documents nested deeper than 8 collections or with
more than 10,000 nodes (counting every alias expansion, so alias bombs are refused) are rejected
before any Python objects are built.
"""

from __future__ import annotations

import datetime as _dt
import math
import os
import re
import stat
from pathlib import Path
from typing import Any

import yaml

from roofsweep.errors import OutputError, ProfileError, did_you_mean
from roofsweep.hardware.profile import KINDS, HardwareProfile
from roofsweep.hardware.calibration import calibration_to_dict, parse_calibration
from roofsweep.units import DTYPE_BYTES, UnitError, parse_quantity

MAX_FILE_BYTES = 1 << 20  # 1 MiB: a profile is a few hundred bytes; anything this big is a mistake
MAX_DEPTH = 8  # nesting of mappings/sequences (the top-level mapping is depth 1)
MAX_NODES = 10_000  # YAML nodes, counting each alias expansion again
RIDGE_REL_TOL = 0.01  # given ridge point vs peak / bandwidth

NAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]*$")

# The safe loader only (C implementation when PyYAML has libyaml; same semantics).
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

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
    "calibration": "mapping written by `roofsweep calibrate` (see roofsweep/hardware/calibration.py)",
}
REQUIRED_FIELDS = ("name", "kind", "default_dtype")

_UNIT_HINTS = {
    "compute": "e.g. '15.8 TOPS', '200 GMAC/s', or a number of MAC/s",
    "bandwidth": "e.g. '51.2 GB/s', or a number of bytes/s",
    "bytes": "e.g. '8 MiB', '4 MB', or a number of bytes",
    "intensity": "e.g. 31.2 or '31.2 MAC/B'",
}


# ------------------------------------------------------------------------------ problem sink
class _Problems:
    """Collects ``"<file>: <field>: <reason> (line N)"`` lines."""

    def __init__(self, label: str, lines: dict[str, int] | None = None) -> None:
        self.label = label
        self.lines = lines or {}
        self.items: list[str] = []
        self.fields: set[str] = set()  # top-level fields that had a problem

    def add(self, field: str, reason: str, line: int | None = None) -> None:
        if line is None:
            line = self._line_for(field)
        suffix = f" (line {line})" if line else ""
        self.items.append(f"{self.label}: {field}: {reason}{suffix}")
        self.fields.add(re.split(r"[.\[]", field, maxsplit=1)[0])

    def _line_for(self, field: str) -> int | None:
        while field:
            if field in self.lines:
                return self.lines[field]
            field = re.sub(r"(\.[^.\[]*|\[\d+\])$", "", field) if re.search(r"[.\[]", field) else ""
        return None

    def __bool__(self) -> bool:
        return bool(self.items)


class _Refused(Exception):
    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field, self.reason = field, reason


# ------------------------------------------------------------------------------ YAML layer
def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def _check_graph(node: yaml.Node, depth: int, count: list[int]) -> None:
    """Walk the composed node graph (aliases are shared nodes, so walking re-visits them exactly
    as construction would expand them): refuse deep nesting, huge expansions and duplicate keys."""
    count[0] += 1
    if count[0] > MAX_NODES:
        raise _Refused(
            "document", f"more than {MAX_NODES:,} YAML nodes (counting alias expansions); refused"
        )
    if isinstance(node, yaml.ScalarNode):
        return
    if depth > MAX_DEPTH:
        raise _Refused(
            f"line {_line(node)}", f"nested deeper than {MAX_DEPTH} levels; profiles are flat"
        )
    if isinstance(node, yaml.SequenceNode):
        for child in node.value:
            _check_graph(child, depth + 1, count)
        return
    seen: dict[str, int] = {}
    for key, value in node.value:
        if isinstance(key, yaml.ScalarNode) and key.tag != "tag:yaml.org,2002:merge":
            if key.value in seen:
                raise _Refused(
                    f"line {_line(key)}",
                    f"duplicate key '{key.value}' (first at line {seen[key.value]})",
                )
            seen[key.value] = _line(key)
        _check_graph(key, depth + 1, count)
        _check_graph(value, depth + 1, count)


def _field_lines(root: yaml.Node) -> dict[str, int]:
    """Line of each top-level field and of each entry one level below (``peak_macs_per_s.int8``,
    ``sources[0]``)."""
    lines: dict[str, int] = {}
    if not isinstance(root, yaml.MappingNode):
        return lines
    for key, value in root.value:
        if not isinstance(key, yaml.ScalarNode):
            continue
        lines[key.value] = _line(key)
        if isinstance(value, yaml.MappingNode):
            for k2, _v2 in value.value:
                if isinstance(k2, yaml.ScalarNode):
                    lines[f"{key.value}.{k2.value}"] = _line(k2)
        elif isinstance(value, yaml.SequenceNode):
            for i, item in enumerate(value.value):
                lines[f"{key.value}[{i}]"] = _line(item)
    return lines


def _yaml_error(label: str, exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    context = getattr(exc, "context", None)
    reason = f"{context}: {problem}" if context else str(problem)
    what = "YAML syntax" if isinstance(exc, (yaml.scanner.ScannerError, yaml.parser.ParserError)) else "YAML"
    if mark is not None:
        return f"{label}: line {mark.line + 1}: {what}: {reason} (column {mark.column + 1})"
    return f"{label}: document: {what}: {reason}"


def _parse_yaml(text: str, label: str) -> tuple[Any, dict[str, int], list[str]]:
    """Text -> (python data, field lines, problems). Data is None when there were problems."""
    loader = _Loader(text)
    try:
        try:
            root = loader.get_single_node()
        except yaml.YAMLError as exc:
            return None, {}, [_yaml_error(label, exc)]
        if root is None:
            return None, {}, [f"{label}: document: file is empty; expected a mapping of profile fields"]
        try:
            _check_graph(root, 1, [0])
        except _Refused as exc:
            return None, {}, [f"{label}: {exc.field}: {exc.reason}"]
        try:
            data = loader.construct_document(root)
        except yaml.YAMLError as exc:
            return None, {}, [_yaml_error(label, exc)]
        except (TypeError, ValueError, RecursionError) as exc:  # e.g. unhashable keys
            return None, {}, [f"{label}: line {_line(root)}: YAML: {exc}"]
        return data, _field_lines(root), []
    finally:
        loader.dispose()


def _read_text(path: Path, label: str) -> tuple[str | None, list[str]]:
    try:
        st = path.stat()
    except FileNotFoundError:
        return None, [f"{label}: file: not found"]
    except OSError as exc:
        return None, [f"{label}: file: cannot be read ({exc.strerror or exc})"]
    if not stat.S_ISREG(st.st_mode):
        what = "a directory" if stat.S_ISDIR(st.st_mode) else "not a regular file"
        return None, [f"{label}: file: is {what}; expected a .yaml profile"]
    too_big = (
        f"{label}: file: larger than {MAX_FILE_BYTES // 2**20} MiB; "
        "a hardware profile is a few hundred bytes, refusing to parse it"
    )
    if st.st_size > MAX_FILE_BYTES:
        return None, [too_big]
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        return None, [f"{label}: file: cannot be read ({exc.strerror or exc})"]
    if len(raw) > MAX_FILE_BYTES:  # grew since stat
        return None, [too_big]
    try:
        return raw.decode("utf-8-sig"), []
    except UnicodeDecodeError as exc:
        return None, [f"{label}: file: not UTF-8 text (bad byte at offset {exc.start})"]


# ------------------------------------------------------------------------------ field checks
def _type_name(value: object) -> str:
    if value is None:
        return "nothing (null)"
    names = {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean",
             int: "a whole number", float: "a number"}
    return names.get(type(value), f"a value of type {type(value).__name__}")


def _quantity(
    p: _Problems, field: str, value: object, kind: str, *, allow_zero: bool = False
) -> float | None:
    if value is None:
        p.add(field, f"has no value; give a number or a quantity ({_UNIT_HINTS[kind]})")
        return None
    if isinstance(value, (list, dict)):
        p.add(field, f"expected a number or a quantity string ({_UNIT_HINTS[kind]}), got {_type_name(value)}")
        return None
    try:
        number = parse_quantity(value, kind)
    except UnitError as exc:
        reason = str(exc)
        p.add(field, reason if "e.g." in reason else f"{reason} ({_UNIT_HINTS[kind]})")
        return None
    if number < 0 or (number == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        p.add(field, f"must be {bound}, got {value!r}")
        return None
    return number


def _dtype_key(p: _Problems, field: str, key: object) -> str | None:
    if not isinstance(key, str):
        p.add(field, f"dtype names are strings, got {key!r}")
        return None
    if key not in DTYPE_BYTES:
        p.add(f"{field}.{key}", did_you_mean(key, DTYPE_BYTES, "dtype"))
        return None
    return key


def _string(p: _Problems, field: str, value: object, *, allow_empty: bool = False) -> str | None:
    if not isinstance(value, str):
        p.add(field, f"expected a string, got {_type_name(value)}")
        return None
    if not allow_empty and not value.strip():
        p.add(field, "must not be empty")
        return None
    return value


def _string_list(p: _Problems, field: str, value: object) -> list[str] | None:
    if value is None:
        return []
    if not isinstance(value, list):
        p.add(field, f"expected a list of strings, got {_type_name(value)}")
        return None
    out = []
    for i, item in enumerate(value):
        s = _string(p, f"{field}[{i}]", item)
        if s is not None:
            out.append(s)
    return out if len(out) == len(value) else None


def _rel_close(a: float, b: float) -> bool:
    return abs(a - b) <= RIDGE_REL_TOL * max(abs(a), abs(b))


def _check_measured(p: _Problems, value: object) -> dict | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        p.add("measured", f"expected a mapping (date, method, torch_version, threads), got {_type_name(value)}")
        return None
    out: dict = {}
    for key, item in value.items():
        field = f"measured.{key}"
        if not isinstance(key, str):
            p.add("measured", f"keys must be strings, got {key!r}")
            continue
        if key == "date":
            if isinstance(item, (_dt.date, _dt.datetime)):
                item = item.isoformat()
            elif not isinstance(item, str):
                p.add(field, f"expected a date like 2026-05-01, got {_type_name(item)}")
                continue
        elif key in ("method", "torch_version", "torch"):
            if not isinstance(item, str):
                p.add(field, f"expected a string, got {_type_name(item)}")
                continue
        elif key == "threads":
            if isinstance(item, bool) or not isinstance(item, int) or item < 1:
                p.add(field, f"expected a whole number >= 1, got {item!r}")
                continue
        out[key] = item
    return out


def _estimated_paths(dtypes: set[str]) -> list[str]:
    paths = ["peak_macs_per_s", "bandwidth", "bandwidth_bytes_per_s", "ridge_point",
             "onchip_memory", "onchip_bytes"]
    for d in sorted(dtypes):
        paths += [f"peak_macs_per_s.{d}", f"ridge_point.{d}"]
    return paths


# ------------------------------------------------------------------------------ the document
def _build(data: Any, p: _Problems, path: str | None) -> HardwareProfile | None:
    """Validate a parsed document; append every problem to ``p``; return the profile if clean."""
    if not isinstance(data, dict):
        p.add("document", f"expected a mapping of profile fields at top level, got {_type_name(data)}", line=1)
        return None

    for key in data:
        if not isinstance(key, str):
            p.add("document", f"field names must be strings, got {key!r}")
        elif key not in FIELDS:
            p.add(key, did_you_mean(key, FIELDS, "field"))
    for key in REQUIRED_FIELDS:
        if key not in data:
            what = FIELDS[key].replace(" (required)", "")
            p.add(key, f"missing; this field is required ({what})", line=0)
    for a, b in (("bandwidth", "bandwidth_bytes_per_s"), ("onchip_memory", "onchip_bytes")):
        if a in data and b in data:
            p.add(b, f"give either {a} or {b}, not both")

    # --- identity
    name = None
    if "name" in data:
        name = _string(p, "name", data["name"])
        if name is not None and not NAME_RE.match(name):
            p.add("name", f"must be a lower-case slug matching [a-z0-9][a-z0-9._-]*, got {name!r}")
            name = None
    display_name = name
    if "display_name" in data:
        display_name = _string(p, "display_name", data["display_name"])
    kind = None
    if "kind" in data:
        kind = data["kind"]
        if not isinstance(kind, str) or kind not in KINDS:
            shown = kind if isinstance(kind, str) else repr(kind)
            p.add("kind", did_you_mean(str(shown), KINDS, "kind"))
            kind = None

    # --- dtype
    default_dtype = None
    if "default_dtype" in data:
        raw = data["default_dtype"]
        if not isinstance(raw, str):
            p.add("default_dtype", f"expected a dtype name, got {_type_name(raw)}")
        elif raw not in DTYPE_BYTES:
            p.add("default_dtype", did_you_mean(raw, DTYPE_BYTES, "dtype"))
        else:
            default_dtype = raw

    # --- the triple: peaks, bandwidth, ridge points
    peaks: dict[str, float] = {}
    if "peak_macs_per_s" in data:
        raw = data["peak_macs_per_s"]
        if not isinstance(raw, dict):
            p.add("peak_macs_per_s", f"expected a mapping dtype -> MAC/s (e.g. int8: '4 TOPS'), got {_type_name(raw)}")
        else:
            if not raw:
                p.add("peak_macs_per_s", "is empty; give at least one dtype")
            for key, value in raw.items():
                dtype = _dtype_key(p, "peak_macs_per_s", key)
                if dtype is None:
                    continue
                peak = _quantity(p, f"peak_macs_per_s.{dtype}", value, "compute")
                if peak is not None:
                    peaks[dtype] = peak

    bandwidth = None
    bw_field = "bandwidth_bytes_per_s" if "bandwidth_bytes_per_s" in data else "bandwidth"
    if bw_field in data:
        bandwidth = _quantity(p, bw_field, data[bw_field], "bandwidth")

    ridge: dict[str, float] = {}
    ridge_fields: dict[str, str] = {}  # dtype -> field name as written (for messages)
    if "ridge_point" in data:
        raw = data["ridge_point"]
        if isinstance(raw, dict):
            if not raw:
                p.add("ridge_point", "is empty; give MAC/byte per dtype or a single number")
            for key, value in raw.items():
                dtype = _dtype_key(p, "ridge_point", key)
                if dtype is None:
                    continue
                rp = _quantity(p, f"ridge_point.{dtype}", value, "intensity", allow_zero=True)
                if rp is not None:
                    ridge[dtype] = rp
                    ridge_fields[dtype] = f"ridge_point.{dtype}"
        else:
            rp = _quantity(p, "ridge_point", raw, "intensity", allow_zero=True)
            if rp is not None and default_dtype is not None:
                ridge[default_dtype] = rp
                ridge_fields[default_dtype] = "ridge_point"

    triple_ok = not (p.fields & {"peak_macs_per_s", "bandwidth", "bandwidth_bytes_per_s",
                                 "ridge_point", "default_dtype"})
    if triple_ok:
        bandwidth = _resolve_triple(p, peaks, bandwidth, bw_field, ridge, ridge_fields, default_dtype)
        if bandwidth is not None and math.isfinite(bandwidth):
            for dtype, peak in peaks.items():  # finite inputs can still give a 0 or infinite quotient
                rp = peak / bandwidth
                if not math.isfinite(peak) or not math.isfinite(rp) or rp == 0:
                    p.add(f"peak_macs_per_s.{dtype}", f"{peak:g} MAC/s against {bandwidth:g} bytes/s gives "
                          f"ridge point {rp:g} MAC/byte, out of range; check the units")

    if default_dtype is not None and triple_ok and peaks and default_dtype not in peaks:
        p.add("default_dtype", f"'{default_dtype}' has no peak; dtypes with a peak: {', '.join(peaks)}")

    # --- the rest
    onchip = None
    oc_field = "onchip_bytes" if "onchip_bytes" in data else "onchip_memory"
    if data.get(oc_field) is not None:
        onchip = _quantity(p, oc_field, data[oc_field], "bytes")
    sources = _string_list(p, "sources", data.get("sources"))
    notes = "" if data.get("notes") is None else _string(p, "notes", data["notes"], allow_empty=True)
    estimated = _string_list(p, "estimated", data.get("estimated"))
    if estimated:
        valid = _estimated_paths(set(peaks) | set(ridge) or set(DTYPE_BYTES))
        for i, item in enumerate(estimated):
            if item not in valid:
                p.add(f"estimated[{i}]", did_you_mean(item, valid, "field path"))
    measured = _check_measured(p, data.get("measured"))
    calibration, cal_problems = parse_calibration(data.get("calibration"))
    for cal_field, reason in cal_problems:
        p.add(cal_field, reason)

    if p:
        return None
    try:
        return HardwareProfile(
            name=name,
            display_name=display_name,
            kind=kind,
            peak_macs_per_s=peaks,
            bandwidth_bytes_per_s=bandwidth,
            default_dtype=default_dtype,
            onchip_bytes=onchip,
            sources=tuple(sources or ()),
            notes=notes or "",
            estimated=tuple(estimated or ()),
            measured=measured,
            calibration=calibration,
            path=path,
        )
    except ProfileError as exc:  # an invariant the checks above missed; still one line
        p.add("document", str(exc))
        return None


def _resolve_triple(
    p: _Problems,
    peaks: dict[str, float],
    bandwidth: float | None,
    bw_field: str,
    ridge: dict[str, float],
    ridge_fields: dict[str, str],
    default_dtype: str | None,
) -> float | None:
    """Any two of {peak, bandwidth, ridge point} give the third (per dtype; one bandwidth).

    Fills ``peaks`` in place for dtypes that only have a ridge point; returns the bandwidth
    (``math.inf`` when a ridge point of 0 says so)."""
    if not peaks and not ridge:
        p.add("peak_macs_per_s", "missing; give peak MAC/s per dtype (or ridge_point with bandwidth)", line=0)
        return None
    if bandwidth is not None:
        for dtype, rp in ridge.items():
            if rp == 0:
                p.add(ridge_fields[dtype], f"0 means infinite bandwidth (MACs only), but {bw_field} is given; "
                      "drop one of them")
                return None
    else:
        # Derive bandwidth from a dtype that has both a peak and a ridge point (default first).
        order = sorted(set(peaks) & set(ridge), key=lambda d: (d != default_dtype, d))
        if not order:
            p.add("bandwidth", "missing; give bandwidth (e.g. '51.2 GB/s'), or a peak and a "
                  "ridge_point for the same dtype", line=0)
            return None
        d0 = order[0]
        bandwidth = math.inf if ridge[d0] == 0 else peaks[d0] / ridge[d0]

    for dtype, rp in ridge.items():
        field = ridge_fields[dtype]
        if dtype in peaks:
            expected = 0.0 if math.isinf(bandwidth) else peaks[dtype] / bandwidth
            if not _rel_close(rp, expected):
                p.add(field, f"{rp:g} MAC/byte disagrees with peak_macs_per_s.{dtype} / bandwidth = "
                      f"{peaks[dtype]:.6g} / {bandwidth:.6g} = {expected:.4g} MAC/byte (more than "
                      f"{RIDGE_REL_TOL:.0%} apart); give any two of the three, or make them agree")
        elif math.isinf(bandwidth) or rp == 0:
            p.add(field, f"cannot derive peak_macs_per_s.{dtype} from ridge point {rp:g} with "
                  f"bandwidth {bandwidth:g}; give peak_macs_per_s.{dtype}")
        else:
            peaks[dtype] = rp * bandwidth  # peak = RP x bandwidth
    return bandwidth


# ------------------------------------------------------------------------------ public API
def _analyse_text(text: str, label: str, path: str | None) -> tuple[HardwareProfile | None, list[str]]:
    data, lines, problems = _parse_yaml(text, label)
    if problems:
        return None, problems
    p = _Problems(label, lines)
    profile = _build(data, p, path)
    return profile, p.items


def _analyse_file(path: str | os.PathLike) -> tuple[HardwareProfile | None, list[str]]:
    label = os.fspath(path)
    text, problems = _read_text(Path(path), label)
    if text is None:
        return None, problems
    return _analyse_text(text, label, str(Path(path).absolute()))


def _raise_first(problems: list[str], label: str) -> None:
    more = len(problems) - 1
    msg = problems[0]
    if more:
        msg += f" (+{more} more problem{'s' if more > 1 else ''}; run `roofsweep hardware validate {label}`)"
    err = ProfileError(msg)
    err.problems = list(problems)  # type: ignore[attr-defined]
    raise err


def validate_file(path: str | os.PathLike) -> list[str]:
    """Every problem with the profile file at ``path``, one ``"<file>: <field>: <reason>"`` line
    each; ``[]`` when it loads cleanly."""
    return _analyse_file(path)[1]


def load_profile(path: str | os.PathLike) -> HardwareProfile:
    """Load and validate one profile file; raises ``ProfileError("<file>: <field>: <reason>")``
    (the exception's ``problems`` attribute lists all of them)."""
    profile, problems = _analyse_file(path)
    if problems or profile is None:
        _raise_first(problems or [f"{os.fspath(path)}: document: not a valid profile"], os.fspath(path))
    return profile


def profile_from_yaml(text: str, label: str = "<string>") -> HardwareProfile:
    """Like ``load_profile`` for YAML text already in memory (``label`` names it in errors)."""
    if len(text.encode("utf-8")) > MAX_FILE_BYTES:
        _raise_first([f"{label}: file: larger than 1 MiB; refusing to parse it"], label)
    profile, problems = _analyse_text(text, label, None)
    if problems or profile is None:
        _raise_first(problems or [f"{label}: document: not a valid profile"], label)
    return profile


def profile_to_dict(profile: HardwareProfile) -> dict[str, Any]:
    """The YAML mapping that loads back into ``profile`` (plain floats, canonical field names).

    Infinite bandwidth is written as ``ridge_point: 0`` (YAML has no way to say "no memory cost"
    that the loader accepts as a bandwidth)."""
    out: dict[str, Any] = {
        "name": profile.name,
        "display_name": profile.display_name,
        "kind": profile.kind,
        "default_dtype": profile.default_dtype,
        "peak_macs_per_s": {d: float(v) for d, v in profile.peak_macs_per_s.items()},
    }
    if math.isinf(profile.bandwidth_bytes_per_s):
        out["ridge_point"] = 0
    else:
        out["bandwidth_bytes_per_s"] = float(profile.bandwidth_bytes_per_s)
    if profile.onchip_bytes is not None:
        ob = profile.onchip_bytes
        out["onchip_memory"] = int(ob) if float(ob).is_integer() else float(ob)
    out["estimated"] = list(profile.estimated)
    out["sources"] = list(profile.sources)
    out["notes"] = profile.notes
    if profile.measured:
        out["measured"] = dict(profile.measured)
    if profile.calibration is not None:
        out["calibration"] = calibration_to_dict(profile.calibration)
    return out


def profile_to_yaml(profile: HardwareProfile) -> str:
    """YAML text for ``profile`` that ``load_profile`` reads back to an equal profile."""
    header = (
        f"# roofsweep hardware profile '{profile.name}' (see docs/hardware-profiles.md)\n"
        "# Units: peak_macs_per_s in MAC/s (1 MAC = 2 ops), bandwidth_bytes_per_s in bytes/s,\n"
        "# onchip_memory in bytes. The ridge point is derived: peak / bandwidth (MAC/byte).\n"
    )
    try:
        body = yaml.dump(profile_to_dict(profile), Dumper=_Dumper, sort_keys=False,
                         allow_unicode=True, width=100, default_flow_style=False)
    except yaml.YAMLError as exc:
        raise ProfileError(f"hardware profile '{profile.name}': measured: cannot be written as YAML ({exc})") from exc
    text = header + body
    profile_from_yaml(text, label=f"<profile {profile.name}>")  # what we write must load
    return text


def write_profile(profile: HardwareProfile, path: str | os.PathLike) -> Path:
    """Write ``profile`` as YAML, atomically (temp file in the same folder, then ``os.replace``).

    ``path`` is a file (``*.yaml``/``*.yml``) or a folder - an existing one, or any path without
    that suffix - in which case the file is ``<folder>/<name>.yaml``. Missing folders are created.
    Returns the file written."""
    import tempfile  # deferred: only writers need it

    target = Path(path)
    if target.is_dir() or target.suffix.lower() not in (".yaml", ".yml"):
        target = target / f"{profile.name}.yaml"
    text = profile_to_yaml(profile)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        mode = stat.S_IMODE(target.stat().st_mode) if target.exists() else 0o644
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise OutputError(f"{target}: cannot write hardware profile ({exc.strerror or exc})") from exc
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except OSError as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise OutputError(f"{target}: cannot write hardware profile ({exc.strerror or exc})") from exc
    return target
