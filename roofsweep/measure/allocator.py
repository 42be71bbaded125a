"""What happens to freed memory while roofsweep measures, and the page faults it costs (torch-free).

Eager PyTorch allocates every intermediate tensor of a forward afresh and frees it when the next
layers no longer need it; on Linux the allocator is glibc's ``malloc``. glibc serves large
blocks from ``mmap`` (above a threshold it moves up and down with the blocks it has seen freed)
and gives the top of its heap back to the system once more than twice that threshold is free.
Depending on the sizes the process has freed before - not on the model alone - a forward can
therefore hand tens of MiB back to the system and fault them in again on the next run, one 4 KiB
page at a time. Measured on the 2-core development host, one process after another:

* MobileNetV2 (zoo, out-of-place ReLU6): 2,320 minor page faults per forward, 42.7 ms; the
  same model with memory retained: 0 faults, 29.9 ms (each fault ~5.5 us in this VM);
* MobileNetV1 0.75x faulted, MobileNetV1 1.0x did not; MNASNet, MobileNetV3, ResNet, ConvNeXt,
  LeViT and the other held-out models did not fault at all.

That is a property of the allocator's history, not of the model's kernels, and no per-layer
cost model can predict it. roofsweep therefore measures with freed memory **retained** by
default (``ALLOCATORS``: ``retain``): glibc is told (``mallopt``) to serve every block from its
heap and never to trim it, so a model's working memory is faulted in once, during warm-up, and
reused - what PyTorch's CPU performance tuning guide gets by preloading jemalloc or TCMalloc,
and what a serving process reaches in its steady state. ``system`` leaves glibc's defaults.
This is a process-wide setting (like the thread count) that cannot be undone: ``system`` after
``retain`` restores glibc's default thresholds, but fixed, not moving.

Whatever the policy, ``page_faults()`` counts the faults of the timed runs, every result reports
them per run, and ``fault_warning`` turns a run that faulted into a one-line warning. On a
system without glibc, ``retain`` measures with the system allocator and says so.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import platform

ALLOCATORS = ("retain", "system")
#: mallopt parameters (glibc's malloc.h) and glibc's defaults for them
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD, M_MMAP_MAX = -1, -3, -4
GLIBC_DEFAULTS = {M_TRIM_THRESHOLD: 128 * 1024, M_MMAP_THRESHOLD: 128 * 1024, M_MMAP_MAX: 65536}
RETAIN = {M_MMAP_MAX: 0, M_TRIM_THRESHOLD: 2**31 - 1}  # no mmap'd blocks; trim above 2 GiB free only
#: page faults per timed run above which a measurement is flagged (64 pages = 256 KiB per run)
FAULTS_PER_RUN_WARNING = 64

_applied: dict[str, str] = {}  # the policy in force in this process -> its effective name


def _glibc():
    """glibc's ``mallopt`` (a ctypes function), or None on another C library."""
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return libc.mallopt
    except (OSError, AttributeError):
        return None


def check_allocator(policy: str) -> str:
    """``policy`` if it is one of ``ALLOCATORS``; ``ValueError`` (one line) otherwise."""
    if policy not in ALLOCATORS:
        raise ValueError(f"unknown allocator policy '{policy}'; valid: {', '.join(ALLOCATORS)}")
    return policy


def use_allocator(policy: str = "retain") -> str:
    """Put ``policy`` in force for this process (idempotent); returns the effective policy:
    ``retain``, or ``system`` (asked for, or ``retain`` where the C library is not glibc)."""
    check_allocator(policy)
    if _applied.get("policy") == policy:
        return _applied["effective"]
    mallopt = _glibc()
    effective = "system"
    if mallopt is not None and (policy == "retain" or _applied):
        settings = RETAIN if policy == "retain" else GLIBC_DEFAULTS
        ok = all(mallopt(param, value) == 1 for param, value in settings.items())
        effective = policy if ok else "system"
    _applied.update(policy=policy, effective=effective)
    return effective


def page_faults() -> int | None:
    """Page faults (minor + major) of this process so far; None where ``resource`` is missing."""
    try:
        import resource
    except ImportError:  # not a Unix
        return None
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return int(usage.ru_minflt + usage.ru_majflt)


def fault_warning(label: str, faults_per_run: float | None, allocator: str | None) -> str | None:
    """One line when the timed runs of ``label`` page-faulted more than ``FAULTS_PER_RUN_WARNING``
    times each: they measured the allocator handing memory back, not only the model."""
    if faults_per_run is None or faults_per_run <= FAULTS_PER_RUN_WARNING:
        return None
    hint = ("measured with the C library's own policy; --allocator retain keeps freed memory on glibc"
            if allocator == "system" else "with freed memory retained: the system itself reclaimed memory")
    return (f"{label}: {faults_per_run:,.0f} page faults per run: freed memory went back to the system "
            f"and was faulted in again every run ({hint})")
