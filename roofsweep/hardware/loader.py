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

Every problem is reported as one line ``"<file>: <field>: <reason> (line N)"``; ``validate_file``
returns all of them, ``load_profile`` raises a ``ProfileError`` with the first. The YAML is read by
``roofsweep.io.read_yaml_file`` (safe loader; size, depth, node and alias limits), the fields are
validated by the pydantic schema in ``hardware/schema.py``, which builds the ``HardwareProfile``.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import yaml

from roofsweep.errors import OutputError, ProfileError
from roofsweep.hardware import schema
from roofsweep.hardware.profile import HardwareProfile
from roofsweep.hardware.schema import FIELDS, NAME_RE, REQUIRED, RIDGE_REL_TOL  # noqa: F401 (re-exported)
from roofsweep.io import YamlInputError, YamlLimits, read_text_file, read_yaml_text, write_file_atomic
from roofsweep.schema import line_for, problems as schema_problems, type_name

LIMITS = YamlLimits("hardware profile", max_bytes=1 << 20, max_depth=8, max_nodes=10_000,
                    empty_hint="expected a mapping of profile fields", noun="profile")
MAX_FILE_BYTES = LIMITS.max_bytes  # a profile is a few hundred bytes; anything this big is a mistake
MAX_DEPTH = LIMITS.max_depth
MAX_NODES = LIMITS.max_nodes

_Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
REQUIRED_FIELDS = tuple(REQUIRED)


def _analyse_text(text: str, label: str, path: str | None) -> tuple[HardwareProfile | None, list[str]]:
    try:
        data, lines = read_yaml_text(text, label, LIMITS)
    except YamlInputError as exc:
        return None, [str(exc)]
    if not isinstance(data, dict):
        return None, [f"{label}: document: expected a mapping of profile fields at top level, got "
                      f"{type_name(data)} (line 1)"]
    bad_keys = [k for k in data if not isinstance(k, str)]
    if bad_keys:
        return None, [f"{label}: document: field names must be strings, got {schema.S.quote(bad_keys[0])}"]
    doc, error = schema.parse(data)
    if error is not None:
        return None, schema_problems(error, label, lines, schema.known_fields(), REQUIRED)
    profile, problems = schema.resolve(doc, path)
    out = []
    for field, reason in problems:
        line = line_for(field, lines) if "missing" not in reason.split(";")[0] else None
        out.append(f"{label}: {field}: {reason}" + (f" (line {line})" if line else ""))
    return profile, out


def analyse_file(path: str | os.PathLike) -> tuple[HardwareProfile | None, list[str]]:
    """``(profile, [])`` for a good file, ``(None, problems)`` otherwise (never raises)."""
    label = os.fspath(path)
    try:
        text = read_text_file(path, label, LIMITS)
    except YamlInputError as exc:
        return None, [str(exc)]
    return _analyse_text(text, label, str(Path(path).absolute()))


_analyse_file = analyse_file  # the old private name


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
    return analyse_file(path)[1]


def load_profile(path: str | os.PathLike) -> HardwareProfile:
    """Load and validate one profile file; raises ``ProfileError("<file>: <field>: <reason>")``
    (the exception's ``problems`` attribute lists all of them)."""
    profile, problems = analyse_file(path)
    if problems or profile is None:
        _raise_first(problems or [f"{os.fspath(path)}: document: not a valid profile"], os.fspath(path))
    return profile


def profile_from_yaml(text: str, label: str = "<string>") -> HardwareProfile:
    """Like ``load_profile`` for YAML text already in memory (``label`` names it in errors)."""
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
        from roofsweep.hardware.calibration import calibration_to_dict

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
    target = Path(path)
    if target.is_dir() or target.suffix.lower() not in (".yaml", ".yml"):
        target = target / f"{profile.name}.yaml"
    text = profile_to_yaml(profile)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        write_file_atomic(target, text, mode=None if target.exists() else 0o644)
    except OSError as exc:
        raise OutputError(f"{target}: cannot write hardware profile ({exc.strerror or exc})") from exc
    return target
