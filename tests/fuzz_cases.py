"""Hypothesis strategies and the checker for fuzzing profiles and configs (used by
``tests/test_fuzz_inputs.py`` and ``benchmarks/fuzz_inputs.py``).

``check_profile(text)`` / ``check_config(path)`` return the outcome's name (``"valid"`` or the
error class) and raise ``AssertionError`` on anything roofsweep promises never to do: another
exception type, a message that is not one short line, or a loaded value outside its documented
range.
"""

from __future__ import annotations

import math
from pathlib import Path

import yaml
from hypothesis import strategies as st

from roofsweep.config import MAX_PER_LAYER_POINTS, load_experiment
from roofsweep.errors import RoofsweepError
from roofsweep.hardware import KINDS, profile_from_yaml
from roofsweep.hardware.schema import NAME_RE
from roofsweep.schema import RANGES
from roofsweep.units import DTYPE_BYTES

UNITS = ["TOPS", "GMAC/s", "TMAC/s", "GB/s", "MB/s", "B/s", "MiB", "KiB", "B", "MAC/B", "Gb/s", "TFLOPS",
         "PB/s", "kB", "XB/s", "/s", "", "e", "GiB/s"]
BAD_CHARS = ["\n", "\r", "\u2028", "\x1b", "\x07", "\x00", "\t", "\u00e9", "\U0001f600", "'", '"', ":", "#"]
FIELDS = ["name", "display_name", "kind", "default_dtype", "peak_macs_per_s", "bandwidth",
          "bandwidth_bytes_per_s", "ridge_point", "onchip_memory", "onchip_bytes", "sources", "notes",
          "estimated", "measured"]
BASE_PROFILE = {"name": "fuzz-npu", "display_name": "Fuzz NPU", "kind": "npu", "default_dtype": "int8",
                "peak_macs_per_s": {"int8": "4 TOPS", "fp16": 1e12}, "bandwidth": "20 GB/s",
                "onchip_memory": "8 MiB", "sources": ["tests"], "estimated": ["peak_macs_per_s.fp16"]}
BASE_CONFIG = {"title": "fuzz", "preset": "paper", "models": ["mnv2", {"model": "mnv1", "width": 0.5}],
               "ridge_points": [0, 5, 50, 500], "hardware": "none", "per_layer_points": [5, 500]}

numbers = st.one_of(
    st.integers(-(10**30), 10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, -0.0, 1e-300, 1e308, 1e-6, 1e6, 1e18, 1e16, 64, 4096, 10**400, 2**63]),
)
unit_strings = st.builds(lambda n, sp, u: f"{n}{sp}{u}", numbers, st.sampled_from(["", " ", "  ", "\n"]),
                         st.sampled_from(UNITS))
texts = st.one_of(st.text(max_size=30), st.builds("".join, st.lists(st.sampled_from(BAD_CHARS + ["a", "1"]),
                                                                    max_size=12)))
scalars = st.one_of(st.none(), st.booleans(), numbers, unit_strings, texts,
                    st.sampled_from(list(DTYPE_BYTES) + list(KINDS) + ["gpu\r", " int8", "INT8", "all"]))
values = st.one_of(scalars, st.lists(scalars, max_size=4),
                   st.dictionaries(st.one_of(st.sampled_from(list(DTYPE_BYTES)), texts), scalars, max_size=4))


@st.composite
def mutated(draw, base: dict, keys: list[str]) -> dict:
    """``base`` with a few fields replaced, deleted or added."""
    doc = dict(base)
    for key in draw(st.lists(st.sampled_from(keys), max_size=4, unique=True)):
        action = draw(st.sampled_from(["replace", "replace", "delete"]))
        if action == "delete":
            doc.pop(key, None)
        else:
            doc[key] = draw(values)
    if draw(st.booleans()) and draw(st.booleans()):
        doc[draw(texts)] = draw(scalars)
    return doc


def to_yaml(doc: dict) -> str | None:
    try:
        return yaml.safe_dump(doc, allow_unicode=True, sort_keys=False)
    except (yaml.YAMLError, ValueError, OverflowError):
        return None


def _one_line(msg: str, limit: int) -> None:
    assert not any(c in msg for c in ("\n", "\r", "\u2028", "\u2029", "\x1b", "\x07")), repr(msg)
    assert len(msg) <= limit, (len(msg), msg[:200])


def _in(value: float, name: str) -> bool:
    r = RANGES[name]
    return math.isfinite(value) and ((r.zero and value == 0) or r.lo <= value <= r.hi)


def check_profile(text: str) -> str:
    try:
        p = profile_from_yaml(text, label="fuzz.yaml")
    except RoofsweepError as exc:
        for line in getattr(exc, "problems", [str(exc)]) + [str(exc)]:
            _one_line(line, 700)
        return type(exc).__name__
    assert NAME_RE.fullmatch(p.name) and p.kind in KINDS and p.default_dtype in p.peak_macs_per_s
    _one_line(p.display_name, 400)
    assert all(_in(v, "peak_macs_per_s") for v in p.peak_macs_per_s.values()), p.peak_macs_per_s
    assert math.isinf(p.bandwidth_bytes_per_s) or _in(p.bandwidth_bytes_per_s, "bandwidth_bytes_per_s")
    assert all(_in(p.ridge_point(d), "ridge_point") for d in p.dtypes)
    assert p.onchip_bytes is None or _in(p.onchip_bytes, "onchip_bytes")
    return "valid"


def check_config(path: Path) -> str:
    try:
        exp = load_experiment(path)
    except RoofsweepError as exc:
        _one_line(str(exc), 700 + len(str(path)))
        return type(exc).__name__
    from roofsweep.analysis import cost_model_from

    assert 1 <= len(exp.models) <= 100 and 1 <= len(exp.per_layer_points) <= MAX_PER_LAYER_POINTS
    assert all(_in(p, "ridge_point") for p in exp.per_layer_points)
    _one_line(exp.title, 400)
    cm = cost_model_from(exp.preset, exp.overrides)
    for key in ("weight_bytes_per_elem", "activation_bytes_per_elem"):
        v = getattr(cm, key)
        assert v is None or 0 <= v <= 64
    assert _in(cm.sweep_bandwidth_bytes_per_s, "bandwidth_bytes_per_s") and _in(cm.rp0_peak_macs_per_s, "peak_macs_per_s")
    assert all(0 < r.width <= 64 and r.batch >= 1 for r in exp.models)
    return "valid"


CONFIG_KEYS = list(BASE_CONFIG) + ["settings", "output"]
COST_KEYS = ["dtype", "weight_bytes_per_elem", "activation_bytes_per_elem", "onchip_bytes", "pad_rgb_to",
             "sweep_bandwidth_bytes_per_s", "rp0_peak_macs_per_s", "use_onchip", "unfused_activations",
             "compute_activation_accounting", "latency", "colour"]
settings = st.dictionaries(st.sampled_from(COST_KEYS), scalars, max_size=3)
model_items = st.one_of(st.sampled_from(["mnv2", "mnv3-small", "mnv4-conv-s", "nope", "mnv2-1.5x"]), texts,
                        st.fixed_dictionaries({"model": st.sampled_from(["mnv2", "mnv1"])},
                                              optional={"width": values, "resolution": values, "batch": values,
                                                        "top1": values, "label": texts, "colour": scalars}))


@st.composite
def configs(draw) -> dict:
    doc = draw(mutated(BASE_CONFIG, CONFIG_KEYS))
    if draw(st.booleans()):
        doc["settings"] = draw(settings)
    if draw(st.booleans()):
        doc["models"] = draw(st.lists(model_items, min_size=1, max_size=3))
    return doc


profiles = mutated(BASE_PROFILE, FIELDS)
