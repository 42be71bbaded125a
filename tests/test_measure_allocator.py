"""What happens to freed memory while measuring: the policy switch (a fake ``mallopt``), page
faults counted per timed run (a fake counter and a fake clock), the warnings, and - in a child
process, so this one keeps its allocator - that glibc accepts the settings. (The effect on a
model's latency depends on the allocator's history and is measured by
``benchmarks/validate_calibrated.py``, recorded in docs/ground-truth.md, not asserted here.)"""

from __future__ import annotations

import subprocess
import sys
from types import SimpleNamespace

import pytest

from roofsweep.measure import allocator
from roofsweep.measure.allocator import (FAULTS_PER_RUN_WARNING, GLIBC_DEFAULTS, M_MMAP_MAX, M_TRIM_THRESHOLD,
                                         RETAIN, check_allocator, fault_warning, use_allocator)


class _Mallopt:
    def __init__(self, ok: int = 1):
        self.calls, self.ok = [], ok

    def __call__(self, param, value):
        self.calls.append((param, value))
        return self.ok


@pytest.fixture
def fake_glibc(monkeypatch):
    fake = _Mallopt()
    monkeypatch.setattr(allocator, "_applied", {})
    monkeypatch.setattr(allocator, "_glibc", lambda: fake)
    return fake


def test_retain_tells_glibc_once_and_system_restores_its_defaults(fake_glibc):
    assert use_allocator("retain") == "retain"
    # no mmap'd blocks (M_MMAP_MAX = 0), trim only above 2 GiB - 1 B free
    assert sorted(fake_glibc.calls) == sorted(RETAIN.items()) == [(M_MMAP_MAX, 0), (M_TRIM_THRESHOLD, 2**31 - 1)]
    assert use_allocator("retain") == "retain" and len(fake_glibc.calls) == 2  # idempotent
    assert use_allocator("system") == "system"
    assert fake_glibc.calls[2:] == list(GLIBC_DEFAULTS.items())


def test_system_first_leaves_glibc_alone(fake_glibc):
    assert use_allocator("system") == "system" and fake_glibc.calls == []


def test_retain_without_glibc_or_refused_measures_with_the_system_allocator(monkeypatch):
    monkeypatch.setattr(allocator, "_applied", {})
    monkeypatch.setattr(allocator, "_glibc", lambda: None)
    assert use_allocator("retain") == "system"
    monkeypatch.setattr(allocator, "_applied", {})
    monkeypatch.setattr(allocator, "_glibc", lambda: _Mallopt(ok=0))  # mallopt returns 0 on error
    assert use_allocator("retain") == "system"


def test_unknown_policy_is_one_line():
    with pytest.raises(ValueError, match=r"^unknown allocator policy 'jemalloc'; valid: retain, system$"):
        check_allocator("jemalloc")


def test_fault_warning_by_threshold_and_policy():
    assert fault_warning("m", None, "retain") is None
    assert fault_warning("m", FAULTS_PER_RUN_WARNING, "system") is None  # 64 faults = 256 KiB: not flagged
    w = fault_warning("mnv2", 2320.4, "system")
    assert w.startswith("mnv2: 2,320 page faults per run") and "--allocator retain" in w and "\n" not in w
    assert "the system itself reclaimed memory" in fault_warning("mnv2", 2320.4, "retain")


def test_timed_runs_counts_faults_per_timed_run(monkeypatch):
    from roofsweep.measure import timing

    faults = {"n": 0}
    monkeypatch.setattr(timing, "page_faults", lambda: faults["n"])
    clock = {"t": 0.0}

    def run():  # each run: 1 "second" and 7 faults
        clock["t"] += 1.0
        faults["n"] += 7

    t = timing.timed_runs(run, warmup=3, min_repeats=6, max_repeats=6, max_seconds=1e9,
                          clock=lambda: clock["t"], warmup_s=0.0)
    # warm-up faults (3 x 7) are not counted: 6 timed runs x 7 faults / 6 runs = 7 per run
    assert t.faults_per_run == 7.0 and t.summary()["page_faults_per_run"] == 7.0
    monkeypatch.setattr(timing, "page_faults", lambda: None)  # not a Unix
    assert timing.timed_runs(run, warmup=0, min_repeats=3, max_repeats=3, clock=lambda: clock["t"],
                             warmup_s=0.0).faults_per_run is None


def test_results_carry_and_merge_the_faults():
    from roofsweep.measure.latency import MeasureResult, merge_results

    def result(faults, runs):
        return MeasureResult(model="m", device="cpu", threads=1, latency_s=1.0, latencies_s=[1.0] * runs, warmup=0,
                             repeats=runs, input_shape=(1,), meta={"page_faults_per_run": faults, "allocator": "system"})

    quiet, faulty = result(0.0, 10), result(100.0, 30)
    assert quiet.warning() is None and quiet.summary()["page_faults_per_run"] == 0.0
    assert "100 page faults per run" in faulty.warning()
    # weighted by runs: (10 x 0 + 30 x 100) / 40 = 75
    assert merge_results([quiet, faulty]).meta["page_faults_per_run"] == 75.0
    assert merge_results([quiet, result(None, 5)]).meta["page_faults_per_run"] is None


def test_validation_warns_when_calibrated_with_another_policy():
    from roofsweep.measure.run import allocator_mismatch

    prof = SimpleNamespace(name="host", calibration=SimpleNamespace(allocator="system"))
    assert "calibrated with --allocator system" in allocator_mismatch(prof, "retain")
    assert allocator_mismatch(prof, "system") is None
    assert allocator_mismatch(SimpleNamespace(name="host", calibration=None), "retain") is None


def test_glibc_takes_the_settings_in_a_child_process():
    # a child, so this process keeps its allocator; on glibc mallopt must accept both settings
    code = "from roofsweep.measure.allocator import use_allocator; print(use_allocator('retain'))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    expected = "retain" if allocator._glibc() is not None else "system"
    assert out.stdout.strip() == expected
