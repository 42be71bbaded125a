"""Property-based fuzzing of hardware profiles and experiment configs (2,200 cases): every
mutated document loads to values inside their documented ranges or fails with one short
``RoofsweepError`` line - never another exception (see ``fuzz_cases.py`` for the checks)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fuzz_cases as F

def fuzz(n: int) -> settings:
    return settings(max_examples=n, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


@fuzz(1000)
@given(F.profiles)
def test_fuzzed_profiles_load_or_fail_in_one_line(doc):
    text = F.to_yaml(doc)
    if text is not None:
        F.check_profile(text)


@fuzz(400)
@given(st.text(max_size=200), st.integers(0, 400))
def test_fuzzed_profile_text_loads_or_fails_in_one_line(junk, at):
    base = F.to_yaml(F.BASE_PROFILE)
    F.check_profile(base[:at] + junk + base[at:])


_DIR = Path(tempfile.mkdtemp(prefix="roofsweep-fuzz-"))


@fuzz(800)
@given(F.configs())
def test_fuzzed_configs_load_or_fail_in_one_line(doc):
    text = F.to_yaml(doc)
    if text is None:
        return
    path = _DIR / "fuzz.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    F.check_config(path)


def test_the_base_documents_are_valid():
    assert F.check_profile(F.to_yaml(F.BASE_PROFILE)) == "valid"
    path = _DIR / "base.yaml"
    path.write_text(F.to_yaml(F.BASE_CONFIG), encoding="utf-8")
    assert F.check_config(path) == "valid"
