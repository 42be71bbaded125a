"""Measurement hygiene: warm-up, repeat until the median is stable, report the spread (torch-free).

``timed_runs(fn)`` calls ``fn`` untimed ``warmup`` times and, beyond that, until ``warmup_s``
seconds of warm-up have passed (default ``WARMUP_S``; at most ``MAX_WARMUP_RUNS`` runs): a CPU
that has just been idle, or a kernel called for the first times, runs up to ~1.5x slower for
a few milliseconds (a 1x1 conv on this host: 100-140 us after a 0.5 s sleep, 70 us once busy),
which a model running back to back never sees. Then it times ``fn`` until

* at least ``min_repeats`` runs are in, and the median of all runs differs from the median
  without the last ``window`` runs by at most ``rel_tol`` (default 2 %) - the median is stable; or
* ``max_repeats`` runs are in, or ``max_seconds`` of timed runs have passed (the caps).

The result carries every sample, the spread (min / median / max, quartiles and the IQR) and the
page faults per timed run (``roofsweep.measure.allocator``).
``noisy`` is True when the IQR exceeds ``NOISY_IQR`` (20 %) of the median - runs varied enough
that the machine was probably busy; callers turn it into a one-line warning (``noise_warning``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from roofsweep.measure.allocator import page_faults

NOISY_IQR = 0.20
STABLE_REL_TOL = 0.02
WARMUP_S = 0.05
MAX_WARMUP_RUNS = 50
#: What a run is timed with: wall-clock time (``perf_counter``), or the process's CPU time
#: (``process_time``) - with one thread, the time the work took without the time the process
#: spent descheduled while other processes ran (a shared machine); not a latency with more
#: threads (it sums them), so "cpu" requires threads = 1.
CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}


def clock_function(clock: str):
    if clock not in CLOCKS:
        raise ValueError(f"unknown clock '{clock}'; valid: {', '.join(CLOCKS)}")
    return CLOCKS[clock]


#: How a list of timed runs becomes one latency: the median (default); the fastest run (on a
#: machine shared with other processes, the run least disturbed by them); or the mean - the
#: statistic that adds up: a model's expected time is the sum of its layers' expected times,
#: whatever the load, while medians and minima of short runs (microbenchmarks) and of long ones
#: (models) are differently biased by it. With the CPU clock (no time spent descheduled) the
#: mean has no preemption outliers.
STATISTICS = ("median", "min", "mean")


def statistic_of(samples, statistic: str = "median") -> float:
    """The ``statistic`` (``median``, ``min`` or ``mean``) of timed runs, in seconds."""
    if statistic not in STATISTICS:
        raise ValueError(f"unknown statistic '{statistic}'; valid: {', '.join(STATISTICS)}")
    return float({"median": np.median, "min": np.min, "mean": np.mean}[statistic](samples))


@dataclass(frozen=True)
class Timing:
    samples_s: tuple[float, ...]
    warmup: int
    stable: bool
    faults_per_run: float | None = None  # page faults per timed run (None: not countable here)

    @property
    def median_s(self) -> float:
        return float(np.median(self.samples_s))

    @property
    def min_s(self) -> float:
        return float(min(self.samples_s))

    @property
    def max_s(self) -> float:
        return float(max(self.samples_s))

    @property
    def iqr_s(self) -> float:
        q1, q3 = np.percentile(self.samples_s, [25, 75])
        return float(q3 - q1)

    @property
    def spread(self) -> float:
        """IQR / median."""
        return self.iqr_s / self.median_s if self.median_s > 0 else 0.0

    @property
    def noisy(self) -> bool:
        return self.spread > NOISY_IQR

    def summary(self) -> dict:
        return {"latency_s": self.median_s, "min_s": self.min_s, "max_s": self.max_s, "iqr_s": self.iqr_s,
                "repeats": len(self.samples_s), "warmup": self.warmup, "stable": self.stable,
                "page_faults_per_run": self.faults_per_run}


def spread_of(samples) -> dict:
    """min / median / max / IQR of a list of seconds (for pooled or merged samples)."""
    t = Timing(tuple(float(s) for s in samples), 0, True)
    return {"min_s": t.min_s, "median_s": t.median_s, "max_s": t.max_s, "iqr_s": t.iqr_s, "spread": t.spread}


def noise_warning(label: str, samples) -> str | None:
    """One line when the runs of ``label`` varied by more than ``NOISY_IQR`` (IQR / median)."""
    t = Timing(tuple(float(s) for s in samples), 0, True)
    if not t.noisy:
        return None
    return (f"{label}: runs varied by {t.spread:.0%} (IQR/median; min {t.min_s * 1e3:.3g} ms, median "
            f"{t.median_s * 1e3:.3g} ms, max {t.max_s * 1e3:.3g} ms): the machine is probably busy")


def _stable(samples: list[float], window: int, rel_tol: float) -> bool:
    if len(samples) < 2 * window:
        return False
    m_all = float(np.median(samples))
    m_before = float(np.median(samples[:-window]))
    return m_all > 0 and abs(m_all - m_before) <= rel_tol * m_all


def timed_runs(
    fn: Callable[[], object],
    *,
    warmup: int = 3,
    min_repeats: int = 10,
    max_repeats: int = 100,
    max_seconds: float = 10.0,
    rel_tol: float = STABLE_REL_TOL,
    sync: Callable[[], None] | None = None,
    on_run: Callable[[int, int], None] | None = None,
    clock: Callable[[], float] | str = time.perf_counter,
    before: Callable[[], object] | None = None,
    warmup_s: float = WARMUP_S,
) -> Timing:
    """Time ``fn`` with warm-up and a stability rule (see the module docstring).

    ``sync`` is called before and after each run (CUDA synchronise); ``on_run(i, max_total)`` after
    each call, for progress bars; ``before()`` before each timed run, untimed; ``clock``: ``"wall"``, ``"cpu"`` (``CLOCKS``) or a function.
    """
    if isinstance(clock, str):
        clock = clock_function(clock)
    if warmup < 0 or min_repeats < 1 or max_repeats < min_repeats:
        raise ValueError(f"need warmup >= 0 and 1 <= min_repeats <= max_repeats; got {warmup}, {min_repeats}, {max_repeats}")
    total = warmup + max_repeats
    warm_start, i = clock(), 0
    while i < warmup or (i < MAX_WARMUP_RUNS and clock() - warm_start < warmup_s):
        fn()
        i += 1
        if on_run:
            on_run(min(i, warmup), total)
    samples: list[float] = []
    window = max(3, min_repeats // 2)
    faults0 = page_faults()
    start = clock()
    stable = False
    while len(samples) < max_repeats:
        if before:  # untimed, e.g. evicting the caches
            before()
        if sync:
            sync()
        t0 = clock()
        fn()
        if sync:
            sync()
        samples.append(clock() - t0)
        if on_run:
            on_run(warmup + len(samples), total)
        if len(samples) >= min_repeats:
            stable = _stable(samples, window, rel_tol)
            if stable or clock() - start >= max_seconds:
                break
    faults1 = page_faults()
    per_run = None if faults0 is None or faults1 is None else (faults1 - faults0) / len(samples)
    return Timing(tuple(samples), i, stable, per_run)
