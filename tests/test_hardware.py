"""Hardware profiles: the dataclass, YAML loading and validation, discovery and precedence,
round-tripping, and every shipped profile. Expected numbers are worked out in the comments."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import yaml

from roofsweep.errors import ProfileError
from roofsweep.hardware import (
    ENV_VAR,
    HardwareProfile,
    builtin_profile_dir,
    discover,
    get_profile,
    list_profiles,
    load_profile,
    profile_dirs,
    profile_to_yaml,
    validate_file,
    write_profile,
)
from roofsweep.hardware import discovery as discovery_module
from roofsweep.hardware.loader import MAX_FILE_BYTES
from roofsweep.units import parse_quantity

SHIPPED_FILES = sorted(builtin_profile_dir().glob("*.yaml"))


@pytest.fixture(autouse=True)
def isolated_profile_dirs(tmp_path, monkeypatch):
    """No $ROOFSWEEP_PROFILE_PATH and an empty per-user folder, whatever the machine has."""
    monkeypatch.delenv(ENV_VAR, raising=False)
    user = tmp_path / "user-config" / "hardware_profiles"
    monkeypatch.setattr(discovery_module, "user_profile_dir", lambda: user)
    return user


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


GOOD = """\
name: test-npu
display_name: Test NPU
kind: npu
default_dtype: int8
peak_macs_per_s:
  int8: "4 TOPS"
  fp16: "1 TMAC/s"
bandwidth: "20 GB/s"
onchip_memory: "8 MiB"
sources: ["hand-written for the tests"]
estimated: [peak_macs_per_s.fp16]
notes: a test device
"""


# ----------------------------------------------------------------------------- shipped profiles
def test_shipped_profiles_exist():
    names = {p.stem for p in SHIPPED_FILES}
    expected = {
        "paper-rp0-macs", "paper-rp5-slow-cpu", "paper-rp50-fast-cpu", "paper-rp500-accelerator",
        "pixel6-cpu", "galaxy-s23-cpu", "pixel4-dsp", "pixel8-edgetpu",
        "coral-edgetpu", "jetson-orin-nano", "jetson-agx-orin", "raspberry-pi5", "iphone13-ane",
        "galaxy-s23-gpu", "nvidia-t4", "nvidia-a100", "nvidia-h100", "nvidia-h200", "x86-server",
    }  # fmt: skip
    assert expected <= names


@pytest.mark.parametrize("path", SHIPPED_FILES, ids=lambda p: p.stem)
def test_shipped_profile_loads(path):
    assert validate_file(path) == []
    profile = load_profile(path)
    assert profile.name == path.stem  # file name = registry name, so users can find it
    assert profile.sources, "every shipped profile cites its sources"
    assert profile.default_dtype in profile.dtypes


@pytest.mark.parametrize(
    ("name", "dtype", "ridge_point"),
    [
        # published datasheet figures, worked by hand (1 MAC = 2 ops):
        ("nvidia-a100", "int8", 153.016),  # 624 TOPS / 2 = 3.12e14 MAC/s; / 2039e9 B/s = 153.016
        ("nvidia-a100", "fp32", 4.7818),  # 19.5 TFLOPS / 2 = 9.75e12; / 2039e9 = 4.7818
        ("nvidia-h200", "int8", 206.146),  # 1979 TOPS / 2 = 9.895e14; / 4.8e12 = 206.146
        ("nvidia-h200", "fp16", 103.073),  # 989.5 TFLOPS / 2 = 4.9475e14; / 4.8e12 = 103.073
        ("jetson-orin-nano", "int8", 147.059),  # 20 TOPS / 2 = 1e13; / 68e9 = 147.059
        ("jetson-orin-nano", "fp32", 9.41176),  # 6.4e11 FMA/s; / 68e9 = 9.41176
        ("raspberry-pi5", "int8", 17.9986),  # 4 x 2.4e9 x 32 = 3.072e11; / 17.068e9 = 17.9986
    ],
)
def test_shipped_ridge_points_match_published_figures(name, dtype, ridge_point):
    assert get_profile(name).ridge_point(dtype) == pytest.approx(ridge_point, rel=2e-5)


@pytest.mark.parametrize("profile", list_profiles(), ids=lambda p: p.name)
def test_every_discovered_profile_round_trips(profile, tmp_path):
    written = write_profile(profile, tmp_path / f"{profile.name}.yaml")
    again = load_profile(written)
    assert again == profile  # `path` is excluded from equality
    assert again.ridge_point() == profile.ridge_point()


@pytest.mark.parametrize(
    ("name", "ridge_point", "peak", "bandwidth"),
    [
        ("paper-rp0-macs", 0.0, 200e9, math.inf),  # RP 0 = infinite bandwidth
        ("paper-rp5-slow-cpu", 5.0, 200e9, 40e9),  # 5 x 40e9 = 2e11
        ("paper-rp50-fast-cpu", 50.0, 2e12, 40e9),  # 50 x 40e9 = 2e12
        ("paper-rp500-accelerator", 500.0, 2e13, 40e9),  # 500 x 40e9 = 2e13
        ("pixel6-cpu", 31.2, 31.2 * 51.2e9, 51.2e9),  # = 1.59744e12 MAC/s
        ("galaxy-s23-cpu", 39.7, 39.7 * 67.2e9, 67.2e9),  # = 2.66784e12
        ("pixel4-dsp", 347.3, 347.3 * 34.1e9, 34.1e9),  # = 1.184293e13
        ("pixel8-edgetpu", 433.8, 433.8 * 51.2e9, 51.2e9),  # = 2.221056e13
        ("coral-edgetpu", 4000.0, 2e12, 0.5e9),  # 4 TOPS / 2 = 2e12; 2e12 / 5e8 = 4000
        ("nvidia-t4", 6.5e13 / 320e9, 6.5e13, 320e9),  # 130 TOPS / 2; RP 203.1
        ("nvidia-h100", 9.895e14 / 3.35e12, 9.895e14, 3.35e12),  # 1979 TOPS / 2; RP 295.4
        ("galaxy-s23-gpu", 2.208768e12 / 67.2e9, 2.208768e12, 67.2e9),  # fp16 default; RP 32.9
    ],
)
def test_shipped_figures(name, ridge_point, peak, bandwidth):
    profile = get_profile(name)
    assert profile.ridge_point() == pytest.approx(ridge_point, rel=1e-9)
    assert profile.peak() == pytest.approx(peak, rel=1e-9)
    assert profile.bandwidth_bytes_per_s == pytest.approx(bandwidth, rel=1e-12)


def test_shipped_estimates_are_marked():
    assert get_profile("pixel8-edgetpu").is_estimated("bandwidth")  # borrowed from the Pixel 7
    assert get_profile("pixel6-cpu").is_estimated("peak_macs_per_s.int8")  # derived from the fit
    assert not get_profile("pixel6-cpu").is_estimated("bandwidth")  # AnandTech figure
    assert get_profile("raspberry-pi5").is_estimated("peak_macs_per_s.fp32")  # parent covers it
    assert not get_profile("nvidia-t4").estimated
    assert get_profile("coral-edgetpu").onchip_bytes == 8 * 2**20


def test_loading_all_shipped_profiles_is_cheap():
    discovery_module.clear_cache()
    start = time.perf_counter()
    first = discover()
    cold_s = time.perf_counter() - start
    start = time.perf_counter()
    second = discover()
    warm_s = time.perf_counter() - start
    assert not first.problems and first.names() == second.names()
    assert cold_s < 1.0  # typically ~10 ms; generous for loaded CI machines
    assert warm_s < cold_s


# ----------------------------------------------------------------------------- units
def test_unit_parsing_hand_computed(tmp_path):
    assert parse_quantity("51.2 GB/s", "bandwidth") == 51.2e9  # decimal G: 51.2 x 1e9 = 5.12e10
    assert parse_quantity("15.8 TOPS", "compute") == 7.9e12  # ops -> MACs: 15.8e12 / 2
    assert parse_quantity("8 MiB", "bytes") == 8388608  # 8 x 2**20
    assert parse_quantity("200 GMAC/s", "compute") == 2e11
    path = write(tmp_path, "u.yaml", """\
        name: units
        kind: npu
        default_dtype: int8
        peak_macs_per_s: {int8: "15.8 TOPS", fp16: "200 GMAC/s", fp32: 1e9}
        bandwidth: "51.2 GB/s"
        onchip_memory: "8 MiB"
        """)
    p = load_profile(path)
    assert p.peak_macs_per_s == {"int8": 7.9e12, "fp16": 2e11, "fp32": 1e9}  # bare number = MAC/s
    assert p.bandwidth_bytes_per_s == 5.12e10
    assert p.onchip_bytes == 8388608
    assert p.ridge_point() == pytest.approx(154.296875)  # 7.9e12 / 5.12e10
    assert p.ridge_point("fp16") == pytest.approx(3.90625)  # 2e11 / 5.12e10
    assert p.display_name == "units"  # defaults to name


# ----------------------------------------------------------------------------- any two of three
BASE = "name: t\nkind: cpu\ndefault_dtype: int8\n"


@pytest.mark.parametrize(
    ("body", "peak", "bandwidth", "ridge"),
    [
        # peak + bandwidth -> RP = 2e12 / 4e10 = 50
        ("peak_macs_per_s: {int8: 2e12}\nbandwidth: 4e10\n", 2e12, 4e10, 50.0),
        # peak + RP -> bandwidth = 2e12 / 50 = 4e10
        ("peak_macs_per_s: {int8: 2e12}\nridge_point: 50\n", 2e12, 4e10, 50.0),
        # bandwidth + RP -> peak = 50 x 4e10 = 2e12
        ("bandwidth: '40 GB/s'\nridge_point: {int8: 50}\n", 2e12, 4e10, 50.0),
        # all three, consistent
        ("peak_macs_per_s: {int8: 2e12}\nbandwidth: 4e10\nridge_point: 50\n", 2e12, 4e10, 50.0),
        # all three, 0.6 % apart (50.3 vs 50): within the 1 % tolerance; peak/bw wins
        ("peak_macs_per_s: {int8: 2e12}\nbandwidth: 4e10\nridge_point: 50.3\n", 2e12, 4e10, 50.0),
        # peak + RP 0 -> infinite bandwidth, reported RP 0
        ("peak_macs_per_s: {int8: 2e11}\nridge_point: 0\n", 2e11, math.inf, 0.0),
    ],
)
def test_any_two_of_three(tmp_path, body, peak, bandwidth, ridge):
    p = load_profile(write(tmp_path, "t.yaml", BASE + body))
    assert p.peak() == pytest.approx(peak)
    assert p.bandwidth_bytes_per_s == pytest.approx(bandwidth)
    assert p.ridge_point() == pytest.approx(ridge)


def test_per_dtype_ridge_points_share_one_bandwidth(tmp_path):
    # int8: peak 2e12 and RP 50 -> bandwidth 4e10; fp16 RP 25 -> peak = 25 x 4e10 = 1e12
    p = load_profile(write(tmp_path, "t.yaml", BASE + "peak_macs_per_s: {int8: 2e12}\n"
                           "ridge_point: {int8: 50, fp16: 25}\n"))
    assert p.bandwidth_bytes_per_s == pytest.approx(4e10)
    assert p.peak("fp16") == pytest.approx(1e12)
    assert p.dtypes == ("int8", "fp16")


def test_inconsistent_triple_is_an_error(tmp_path):
    # 2e12 / 4e10 = 50, but 60 is given: 20 % apart
    path = write(tmp_path, "t.yaml", BASE + "peak_macs_per_s: {int8: 2e12}\nbandwidth: 4e10\n"
                 "ridge_point: 60\n")
    with pytest.raises(ProfileError) as exc:
        load_profile(path)
    msg = str(exc.value)
    assert msg.startswith(f"{path}: ridge_point: ")
    assert "= 50 MAC/byte" in msg and "1%" in msg


# ----------------------------------------------------------------------------- bad input
VALID_TAIL = "kind: cpu\ndefault_dtype: int8\npeak_macs_per_s: {int8: 1e12}\nbandwidth: 1e10\n"
BILLION_LAUGHS = """\
a: &a ["x", "x", "x", "x", "x", "x", "x", "x", "x", "x"]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]
d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]
e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]
f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]
"""

BAD_CASES = {
    # id: (yaml text, field named in the message, fragment of the reason)
    "yaml-syntax": ("name: t\nkind: [cpu\n" + "default_dtype: int8\n", "line ", "YAML syntax"),
    "yaml-bad-indent": ("name: t\n  kind: cpu\n", "line 2", "YAML syntax"),
    "two-documents": ("name: t\n---\nname: u\n", "line 2", "YAML: expected a single document"),
    "python-tag": ("name: !!python/object/apply:os.system ['true']\n", "line 1",
                   "could not determine a constructor"),  # safe loader only
    "not-a-mapping": ("- name\n- kind\n", "document", "got a list"),
    "empty": ("# nothing here\n", "document", "empty"),
    "missing-kind": ("name: t\ndefault_dtype: int8\npeak_macs_per_s: {int8: 1}\nbandwidth: 1\n",
                     "kind", "missing"),
    "missing-name": (VALID_TAIL, "name", "missing"),
    "unknown-field": ("name: t\n" + VALID_TAIL + "bandwdith_gbps: 3\n", "bandwdith_gbps",
                      "did you mean 'bandwidth'"),
    "bad-name": ("name: Pixel 6\n" + VALID_TAIL, "name", "slug"),
    "name-not-string": ("name: 6\n" + VALID_TAIL, "name", "expected a string"),
    "bad-kind": ("name: t\nkind: gpuu\ndefault_dtype: int8\npeak_macs_per_s: {int8: 1}\n"
                 "bandwidth: 1\n", "kind", "did you mean 'gpu'"),
    "peaks-not-mapping": ("name: t\nkind: cpu\ndefault_dtype: int8\npeak_macs_per_s: 5\n"
                          "bandwidth: 1\n", "peak_macs_per_s", "expected a mapping"),
    "sources-not-list": ("name: t\n" + VALID_TAIL + "sources: just one\n", "sources",
                         "expected a list of strings"),
    "notes-not-string": ("name: t\n" + VALID_TAIL + "notes: [a, b]\n", "notes", "expected a string"),
    "bool-peak": ("name: t\nkind: cpu\ndefault_dtype: int8\npeak_macs_per_s: {int8: yes}\n"
                  "bandwidth: 1\n", "peak_macs_per_s.int8", "expected a number"),
    "null-peak": ("name: t\nkind: cpu\ndefault_dtype: int8\npeak_macs_per_s: {int8: null}\n"
                  "bandwidth: 1\n", "peak_macs_per_s.int8", "no value"),
    "negative-peak": ("name: t\nkind: cpu\ndefault_dtype: int8\npeak_macs_per_s: {int8: -1e12}\n"
                      "bandwidth: 1\n", "peak_macs_per_s.int8", "must be > 0"),
    "zero-bandwidth": ("name: t\nkind: cpu\ndefault_dtype: int8\npeak_macs_per_s: {int8: 1e12}\n"
                       "bandwidth: 0\n", "bandwidth", "must be > 0"),
    "nan-peak": ("name: t\nkind: cpu\ndefault_dtype: int8\npeak_macs_per_s: {int8: .nan}\n"
                 "bandwidth: 1\n", "peak_macs_per_s.int8", "not a finite number"),
    "inf-bandwidth": ("name: t\nkind: cpu\ndefault_dtype: int8\npeak_macs_per_s: {int8: 1}\n"
                      "bandwidth: .inf\n", "bandwidth", "not a finite number"),
    "negative-ridge": ("name: t\nkind: cpu\ndefault_dtype: int8\npeak_macs_per_s: {int8: 1}\n"
                       "ridge_point: -5\n", "ridge_point", "must be >= 0"),
    "unknown-dtype": ("name: t\nkind: cpu\ndefault_dtype: int8\npeak_macs_per_s: {int8: 1, int7: 1}\n"
                      "bandwidth: 1\n", "peak_macs_per_s.int7", "did you mean 'int8'"),
    "unknown-default-dtype": ("name: t\nkind: cpu\ndefault_dtype: fp15\n"
                              "peak_macs_per_s: {fp16: 1}\nbandwidth: 1\n", "default_dtype",
                              "unknown dtype 'fp15'"),
    "default-dtype-without-peak": ("name: t\nkind: cpu\ndefault_dtype: fp16\n"
                                   "peak_macs_per_s: {int8: 1}\nbandwidth: 1\n", "default_dtype",
                                   "has no peak"),
    "unknown-unit": ("name: t\nkind: cpu\ndefault_dtype: int8\npeak_macs_per_s: {int8: 1}\n"
                     "bandwidth: 51.2 Gb/s\n", "bandwidth", "unknown unit 'Gb/s'"),
    "wrong-unit-kind": ("name: t\nkind: cpu\ndefault_dtype: int8\npeak_macs_per_s: {int8: 1}\n"
                        "bandwidth: 4 TOPS\n", "bandwidth", "expected a bandwidth"),
    "unreadable-quantity": ("name: t\nkind: cpu\ndefault_dtype: int8\n"
                            "peak_macs_per_s: {int8: lots}\nbandwidth: 1\n",
                            "peak_macs_per_s.int8", "cannot read"),
    "bad-onchip": ("name: t\n" + VALID_TAIL + "onchip_memory: 8 GB/s\n", "onchip_memory",
                   "expected a bytes"),
    "no-bandwidth": ("name: t\nkind: cpu\ndefault_dtype: int8\npeak_macs_per_s: {int8: 1}\n",
                     "bandwidth", "missing"),
    "no-peak": ("name: t\nkind: cpu\ndefault_dtype: int8\nbandwidth: 1\n", "peak_macs_per_s",
                "missing"),
    "both-bandwidths": ("name: t\n" + VALID_TAIL + "bandwidth_bytes_per_s: 1e10\n",
                        "bandwidth_bytes_per_s", "not both"),
    "rp0-with-bandwidth": ("name: t\n" + VALID_TAIL + "ridge_point: 0\n", "ridge_point",
                           "infinite bandwidth"),
    # 1e12 / 1e10 = 100 MAC/byte, 98 given: 2 % apart (> 1 %)
    "inconsistent": ("name: t\n" + VALID_TAIL + "ridge_point: 98\n", "ridge_point", "disagrees"),
    "duplicate-key": ("name: t\n" + VALID_TAIL + "kind: gpu\n", "line 6", "duplicate key 'kind'"),
    "bad-estimated": ("name: t\n" + VALID_TAIL + "estimated: [peak_macs_per_s.fp16]\n",
                      "estimated[0]", "unknown field path"),
    "bad-measured": ("name: t\n" + VALID_TAIL + "measured: {threads: 0}\n", "measured.threads",
                     ">= 1"),
    "measured-not-mapping": ("name: t\n" + VALID_TAIL + "measured: yesterday\n", "measured",
                             "expected a mapping"),
    "too-deep": ("name: t\n" + VALID_TAIL + "measured: {x: [[[[[[[[1]]]]]]]]}\n", "line 6",
                 "nested deeper than 8"),
    "recursive-alias": ("name: t\n" + VALID_TAIL + "measured: &m {x: *m}\n", "line ",
                        "nested deeper than 8"),
    "alias-bomb": (BILLION_LAUGHS, "document", "more than 10,000 YAML nodes"),
    # an integer beyond float range used to raise OverflowError out of the loader
    "huge-integer": ("name: t\nkind: cpu\ndefault_dtype: int8\npeak_macs_per_s: {int8: 1e12}\n"
                     "bandwidth: 1" + "0" * 400 + "\n", "bandwidth", "401-digit integer is too large"),
    # absurd finite figures are outside the documented plausible ranges (they used to give an
    # infinite or zero ridge point further down): bandwidth 1e-300 < 1 byte/s, peak 1e-300 < 1 MAC/s
    "ridge-overflows": ("name: t\nkind: cpu\ndefault_dtype: int8\npeak_macs_per_s: {int8: 1e12}\n"
                        "bandwidth: 1.0e-300\n", "bandwidth", "outside the plausible range (from 1 to 1e+16"),
    "ridge-underflows": ("name: t\nkind: cpu\ndefault_dtype: int8\npeak_macs_per_s: {int8: 1.0e-300}\n"
                         "bandwidth: 1.0e+300\n", "peak_macs_per_s.int8", "outside the plausible range"),
    # each figure in range, their quotient not: 1e18 MAC/s / 1 byte/s = 1e18 MAC/byte > 1e6
    "ridge-out-of-range": ("name: t\nkind: cpu\ndefault_dtype: int8\npeak_macs_per_s: {int8: 1e18}\n"
                           "bandwidth: 1\n", "peak_macs_per_s.int8", "ridge point 1e+18 MAC/byte, outside"),
}


@pytest.mark.parametrize("case", sorted(BAD_CASES))
def test_bad_profile_names_file_field_and_reason(tmp_path, case):
    text, field, reason = BAD_CASES[case]
    path = tmp_path / f"{case}.yaml"
    path.write_text(text, encoding="utf-8")
    problems = validate_file(path)
    assert problems, f"{case}: expected a problem"
    assert all(p.startswith(f"{path}: ") for p in problems)
    assert all("\n" not in p for p in problems)  # one line each
    assert any(p.startswith(f"{path}: {field}") and reason in p for p in problems), problems
    with pytest.raises(ProfileError) as exc:
        load_profile(path)
    assert str(exc.value).startswith(f"{path}: ")
    assert exc.value.problems == problems


def test_exactly_one_percent_apart_is_accepted(tmp_path):
    # 1e12 / 1e10 = 100; given 99: |99 - 100| = 1 = 1 % of 100 -> within tolerance
    path = write(tmp_path, "t.yaml", "name: t\n" + VALID_TAIL + "ridge_point: 99\n")
    assert load_profile(path).ridge_point() == pytest.approx(100.0)


def test_field_problems_carry_line_numbers(tmp_path):
    path = write(tmp_path, "t.yaml", "name: t\nkind: cpu\ndefault_dtype: int8\n"
                 "peak_macs_per_s:\n  fp16: 1e12\n  int8: -4\nbandwidth: 1e10\n")
    assert validate_file(path) == [f"{path}: peak_macs_per_s.int8: must be > 0, got -4 (line 6)"]


def test_validate_reports_every_problem(tmp_path):
    path = write(tmp_path, "t.yaml", "name: Bad Name\nkind: tpu\ndefault_dtype: int8\n"
                 "peak_macs_per_s: {int8: -1}\nbandwidth: 1e10\ncolour: red\n")
    problems = validate_file(path)
    fields = [p.split(": ")[1] for p in problems]
    assert fields == ["colour", "name", "kind", "peak_macs_per_s.int8"]
    with pytest.raises(ProfileError, match=r"\(\+3 more problems; run `roofsweep hardware validate"):
        load_profile(path)


def test_file_level_problems(tmp_path):
    missing = tmp_path / "nope.yaml"
    assert validate_file(missing) == [f"{missing}: file: not found"]
    assert validate_file(tmp_path) == [f"{tmp_path}: file: is a directory; expected a .yaml profile"]
    huge = tmp_path / "huge.yaml"
    huge.write_text("name: t\n" + "#" * MAX_FILE_BYTES + "\n")  # > 1 MiB, refused unparsed
    [problem] = validate_file(huge)
    assert problem.startswith(f"{huge}: file: larger than 1 MiB")
    binary = tmp_path / "bin.yaml"
    binary.write_bytes(b"name: t\n\xff\xfe\n")
    assert validate_file(binary) == [f"{binary}: file: not UTF-8 text (bad byte at offset 8)"]
    good = write(tmp_path, "good.yaml", GOOD)
    assert validate_file(good) == []


def test_good_profile_fields(tmp_path):
    p = load_profile(write(tmp_path, "good.yaml", GOOD))
    assert p.name == "test-npu" and p.display_name == "Test NPU" and p.kind == "npu"
    assert p.peak_macs_per_s == {"int8": 2e12, "fp16": 1e12}  # 4 TOPS / 2; 1 TMAC/s
    assert p.bandwidth_bytes_per_s == 2e10
    assert p.ridge_point() == 100.0  # 2e12 / 2e10
    assert p.ridge_point("fp16") == 50.0  # 1e12 / 2e10
    assert p.estimated == ("peak_macs_per_s.fp16",)
    assert p.sources == ("hand-written for the tests",)
    assert p.path == str((tmp_path / "good.yaml").absolute())


# ----------------------------------------------------------------------------- the dataclass
def test_profile_dataclass():
    p = HardwareProfile(name="x", display_name="X", kind="cpu",
                        peak_macs_per_s={"int8": 4e11, "fp32": 1e11},
                        bandwidth_bytes_per_s=2e10, default_dtype="int8")
    assert p.peak() == 4e11 and p.peak("fp32") == 1e11
    assert p.ridge_point() == 20.0  # 4e11 / 2e10
    assert p.ridge_point("fp32") == 5.0  # 1e11 / 2e10
    assert p.dtypes == ("int8", "fp32")
    assert hash(p) == hash(p)  # usable as a dict key / in caches despite the dict field
    with pytest.raises(ProfileError, match="unknown dtype for this device 'fp16'"):
        p.peak("fp16")
    inf = HardwareProfile(name="m", display_name="M", kind="other", peak_macs_per_s={"int8": 2e11},
                          bandwidth_bytes_per_s=math.inf, default_dtype="int8")
    assert inf.ridge_point() == 0.0
    with pytest.raises(ProfileError, match="default_dtype"):
        HardwareProfile(name="b", display_name="B", kind="cpu", peak_macs_per_s={"int8": 1.0},
                        bandwidth_bytes_per_s=1.0, default_dtype="fp16")
    with pytest.raises(ProfileError, match="bandwidth_bytes_per_s"):
        HardwareProfile(name="b", display_name="B", kind="cpu", peak_macs_per_s={"int8": 1.0},
                        bandwidth_bytes_per_s=0.0, default_dtype="int8")


def test_hardware_package_imports_no_torch():
    code = "import sys, roofsweep.hardware; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


# ----------------------------------------------------------------------------- discovery
PIXEL6_OVERRIDE = """\
name: pixel6-cpu
display_name: My measured Pixel 6
kind: cpu
default_dtype: int8
peak_macs_per_s: {int8: 1e11}
bandwidth: 1e10
"""


def test_profile_dirs_order(tmp_path, monkeypatch, isolated_profile_dirs):
    a, b = tmp_path / "a", tmp_path / "b"
    monkeypatch.setenv(ENV_VAR, f"{a}{os.pathsep}{b}")
    dirs = profile_dirs()
    assert [d.origin for d in dirs] == ["env", "env", "user", "builtin"]
    assert [d.path for d in dirs[:3]] == [a, b, isolated_profile_dirs]
    assert dirs[3].path == builtin_profile_dir()


def test_env_folder_overrides_builtin_by_name(tmp_path, monkeypatch):
    folder = tmp_path / "mine"
    mine = write(folder, "p6.yaml", PIXEL6_OVERRIDE)
    monkeypatch.setenv(ENV_VAR, str(folder))
    p = get_profile("pixel6-cpu")
    assert p.display_name == "My measured Pixel 6"
    assert p.ridge_point() == 10.0  # 1e11 / 1e10
    found = discover()
    pixel6 = [e for e in found.entries if e.profile.name == "pixel6-cpu"]
    assert [(e.origin, e.active) for e in pixel6] == [("env", True), ("builtin", False)]
    assert pixel6[1].shadowed_by == mine
    assert [p.name for p in list_profiles()].count("pixel6-cpu") == 1
    assert "nvidia-t4" in found.names()  # the rest still come from the built-ins


def test_precedence_env_then_user_then_builtin(tmp_path, monkeypatch, isolated_profile_dirs):
    write(isolated_profile_dirs, "pixel6-cpu.yaml", PIXEL6_OVERRIDE.replace("My measured", "User"))
    assert get_profile("pixel6-cpu").display_name == "User Pixel 6"  # user beats built-in
    env = tmp_path / "env"
    write(env, "pixel6-cpu.yaml", PIXEL6_OVERRIDE.replace("My measured", "Env"))
    monkeypatch.setenv(ENV_VAR, str(env))
    assert get_profile("pixel6-cpu").display_name == "Env Pixel 6"  # env beats user
    origins = [(e.origin, e.active) for e in discover().entries if e.profile.name == "pixel6-cpu"]
    assert origins == [("env", True), ("user", False), ("builtin", False)]


def test_direct_path_wins(tmp_path, monkeypatch):
    env = tmp_path / "env"
    write(env, "pixel6-cpu.yaml", PIXEL6_OVERRIDE.replace("My measured", "Env"))
    monkeypatch.setenv(ENV_VAR, str(env))
    direct = write(tmp_path / "elsewhere", "whatever.yml", PIXEL6_OVERRIDE.replace("My measured", "Direct"))
    assert get_profile(str(direct)).display_name == "Direct Pixel 6"
    assert get_profile(direct).display_name == "Direct Pixel 6"  # a Path works too
    monkeypatch.chdir(direct.parent)
    assert get_profile("whatever.yml").display_name == "Direct Pixel 6"  # relative, by suffix
    with pytest.raises(ProfileError, match=r"missing\.yaml: file: not found"):
        get_profile("missing.yaml")


def test_broken_user_file_does_not_break_listing(isolated_profile_dirs):
    broken = write(isolated_profile_dirs, "broken.yaml", "name: broken\nkind: [cpu\n")
    write(isolated_profile_dirs, "mine.yaml", GOOD)
    found = discover()
    assert "test-npu" in found.names() and "pixel6-cpu" in found.names()
    assert [b.path for b in found.broken] == [broken]
    assert len(found.problems) == 1 and found.problems[0].startswith(f"{broken}: line ")
    assert "test-npu" in [p.name for p in list_profiles()]
    assert get_profile("test-npu").kind == "npu"


def test_broken_override_is_an_error_not_a_silent_fallback(isolated_profile_dirs):
    write(isolated_profile_dirs, "pixel6-cpu.yaml", "name: pixel6-cpu\nkind: cpu\n")
    with pytest.raises(ProfileError, match=r"pixel6-cpu\.yaml: .*would provide hardware profile"):
        get_profile("pixel6-cpu")
    assert get_profile("pixel4-dsp").kind == "dsp"  # other names unaffected


def test_duplicate_name_in_one_folder_is_reported(isolated_profile_dirs):
    write(isolated_profile_dirs, "a.yaml", GOOD)
    dup = write(isolated_profile_dirs, "b.yaml", GOOD)
    found = discover()
    assert [e.path.name for e in found.entries if e.profile.name == "test-npu"] == ["a.yaml"]
    assert any(p.startswith(f"{dup}: name: 'test-npu' is already defined") for p in found.problems)


def test_missing_env_folder_is_reported(tmp_path, monkeypatch):
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "not-there"))
    found = discover()
    assert found.problems == (f"{tmp_path / 'not-there'}: folder: not found (listed in ${ENV_VAR})",)
    assert "nvidia-h100" in found.names()


def test_unknown_name_suggests_and_lists(isolated_profile_dirs):
    with pytest.raises(ProfileError) as exc:
        get_profile("pixel6-cpux")
    msg = str(exc.value)
    assert msg.startswith("unknown hardware profile 'pixel6-cpux'; did you mean 'pixel6-cpu'?")
    assert "nvidia-h100" in msg and "\n" not in msg


def test_changed_file_is_reloaded(isolated_profile_dirs):
    path = write(isolated_profile_dirs, "mine.yaml", GOOD)
    assert get_profile("test-npu").peak() == 2e12
    path.write_text(GOOD.replace('"4 TOPS"', '"8 TOPS"'))
    os.utime(path, ns=(time.time_ns(), time.time_ns() + 10**9))  # make sure the mtime moves
    assert get_profile("test-npu").peak() == 4e12  # 8 TOPS / 2


# ----------------------------------------------------------------------------- writing
def test_write_profile_round_trips_measured(tmp_path):
    base = load_profile(write(tmp_path, "good.yaml", GOOD))
    measured = HardwareProfile(
        **{**base.__dict__, "name": "test-npu-measured", "path": None,
           "measured": {"date": "2026-05-01", "method": "matmul + memcpy microbenchmarks",
                        "torch_version": "2.5.1", "threads": 4}},
    )
    out = write_profile(measured, tmp_path / "out")  # a new folder: created, file named by name
    assert out == tmp_path / "out" / "test-npu-measured.yaml"
    again = load_profile(out)
    assert again == measured
    assert again.measured["date"] == "2026-05-01"
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["test-npu-measured.yaml"]  # no temp
    write_profile(again, tmp_path / "out")  # an existing folder: same file, replaced atomically
    assert load_profile(out) == measured


def test_yaml_dates_in_measured_are_kept_as_iso_strings(tmp_path):
    path = write(tmp_path, "m.yaml", GOOD + "measured: {date: 2026-05-01, threads: 8, extra: ok}\n")
    assert load_profile(path).measured == {"date": "2026-05-01", "threads": 8, "extra": "ok"}


def test_rp0_round_trips_as_ridge_point_zero(tmp_path):
    p = get_profile("paper-rp0-macs")
    text = profile_to_yaml(p)
    data = yaml.safe_load(text)
    assert data["ridge_point"] == 0 and "bandwidth_bytes_per_s" not in data  # inf is not written
    again = load_profile(write_profile(p, tmp_path / "rp0.yaml"))
    assert math.isinf(again.bandwidth_bytes_per_s) and again.ridge_point() == 0.0
    assert again == p


def test_write_profile_refuses_an_invalid_profile(tmp_path):
    bad = HardwareProfile(name="Not A Slug", display_name="x", kind="cpu",
                          peak_macs_per_s={"int8": 1.0}, bandwidth_bytes_per_s=1.0,
                          default_dtype="int8")
    with pytest.raises(ProfileError, match="name: must be a lower-case slug"):
        write_profile(bad, tmp_path / "bad.yaml")
    assert not list(tmp_path.iterdir())


# ----------------------------------------------------------------------------- documentation
DOC = Path(__file__).resolve().parents[1] / "docs" / "hardware-profiles.md"


def test_documented_yaml_examples_are_valid(tmp_path):
    import re

    blocks = re.findall(r"```yaml\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    assert len(blocks) >= 2  # the minimal profile and the annotated schema example
    for i, block in enumerate(blocks):
        path = tmp_path / f"doc{i}.yaml"
        path.write_text(textwrap.dedent(block), encoding="utf-8")
        assert validate_file(path) == [], block


def test_every_shipped_profile_is_in_the_docs_table():
    doc = DOC.read_text(encoding="utf-8")
    for path in SHIPPED_FILES:
        assert f"| `{path.stem}` |" in doc, f"{path.stem} missing from {DOC.name}"
