"""Measure this host's peak MAC/s per dtype and its DRAM bandwidth -> a hardware profile.

Method (what ``roofsweep probe`` runs; sizes are parameters so tests can run tiny):

* **Compute**: square GEMMs ``C = A @ B`` of side n for each n in ``gemm_sizes`` (n**3 MACs each),
  in each dtype torch can run here: fp32, bf16 and fp16 through ``torch.matmul``, int8 through
  ``torch._int_mm`` (int8 x int8 -> int32, the kernel quantized inference uses). After ``warmup``
  untimed calls, ``repeats`` timed calls; the rate of a size is ``n**3 / median(time)``; the
  dtype's peak is the best size's rate. A dtype whose GEMM raises is skipped ("not supported");
  one that runs but reaches less than ``min_fast_fraction`` of the fp32 rate is skipped as having
  no fast path (torch emulates it) - a skipped dtype is named in the notes, never faked.
* **Bandwidth**: STREAM-style kernels on float32 arrays of ``stream_bytes`` each - *copy*
  (``b.copy_(a)``: reads n, writes n bytes) and *triad* (``a = b + s * c``: reads 2n, writes n).
  Bytes counted = bytes read + bytes written (write-allocate traffic is not counted, as in STREAM).
  Rate = bytes / median(time); the profile's bandwidth is the best kernel's rate. Arrays default
  to 8x the last-level cache (read from ``/sys/devices/system/cpu/cpu0/cache``) and at least
  256 MiB, capped at 1 GiB and at an eighth of available memory per array (noted when capped).
* Threads: ``torch.get_num_threads()`` (set it, or ``OMP_NUM_THREADS``, before probing).

The library prints nothing: pass ``progress(description, done, total)`` to follow along.
"""

from __future__ import annotations

import datetime as _dt
import platform
import re
import socket
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from roofsweep.errors import MeasurementError

Progress = Callable[[str, float, float], None]

PROBE_DTYPES: tuple[str, ...] = ("fp32", "bf16", "fp16", "int8")
DEFAULT_GEMM_SIZES: tuple[int, ...] = (1024, 2048, 4096)
QUICK_GEMM_SIZES: tuple[int, ...] = (512, 1024)
MIN_STREAM_BYTES = 256 * 2**20
MAX_STREAM_BYTES = 2**30
QUICK_STREAM_BYTES = 64 * 2**20
LLC_MULTIPLE = 8


@dataclass
class ProbeResult:
    """What ``probe_host`` measured. ``profile()`` turns it into a ``HardwareProfile``."""

    name: str
    display_name: str
    peak_macs_per_s: dict[str, float]
    bandwidth_bytes_per_s: float
    default_dtype: str
    measured: dict
    notes: str
    skipped: dict[str, str] = field(default_factory=dict)  # dtype -> why it is not in the profile
    gemm: pd.DataFrame | None = None    # dtype, size, macs, median_s, macs_per_s
    stream: pd.DataFrame | None = None  # kernel, array_bytes, bytes_moved, median_s, bytes_per_s

    @property
    def ridge_point(self) -> float:
        return self.peak_macs_per_s[self.default_dtype] / self.bandwidth_bytes_per_s

    def profile(self):
        """The ``roofsweep.hardware.HardwareProfile`` of this host (kind ``cpu``)."""
        from roofsweep.hardware.profile import HardwareProfile

        return HardwareProfile(
            name=self.name,
            display_name=self.display_name,
            kind="cpu",
            peak_macs_per_s=dict(self.peak_macs_per_s),
            bandwidth_bytes_per_s=float(self.bandwidth_bytes_per_s),
            default_dtype=self.default_dtype,
            sources=("measured on this host by roofsweep probe (GEMM and STREAM-style microbenchmarks)",),
            notes=self.notes,
            measured=dict(self.measured),
        )


def write_probe_profile(result: ProbeResult, path: str | Path) -> Path:
    """Write the probed profile as YAML (atomically, through ``roofsweep.hardware``)."""
    from roofsweep.hardware.loader import write_profile

    return write_profile(result.profile(), path)


# ------------------------------------------------------------------------------ host facts
def hostname_slug(hostname: str | None = None) -> str:
    """``'My_Box.local' -> 'my-box-local'`` (a valid profile name part)."""
    h = (hostname if hostname is not None else socket.gethostname()).lower()
    slug = re.sub(r"[^a-z0-9]+", "-", h).strip("-")
    return slug or "unknown"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def _parse_cache_size(text: str) -> int | None:
    m = re.match(r"^\s*(\d+)\s*([KMG]?)", text)
    if not m:
        return None
    return int(m.group(1)) * {"": 1, "K": 2**10, "M": 2**20, "G": 2**30}[m.group(2)]


def last_level_cache_bytes(root: str | Path = "/sys/devices/system/cpu/cpu0/cache") -> int | None:
    """Size of the highest-level data/unified cache of cpu0, or None when sysfs does not say."""
    best: tuple[int, int] | None = None
    for idx in sorted(Path(root).glob("index*")):
        try:
            if (idx / "type").read_text().strip() == "Instruction":
                continue
            level = int((idx / "level").read_text().strip())
            size = _parse_cache_size((idx / "size").read_text())
        except (OSError, ValueError):
            continue
        if size and (best is None or level > best[0]):
            best = (level, size)
    return best[1] if best else None


def _available_memory_bytes() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def default_stream_bytes(llc_bytes: int | None, available_bytes: int | None = None) -> tuple[int, str]:
    """Bytes per STREAM array and a note on how that was chosen.

    8 x LLC, at least 256 MiB, at most 1 GiB and at most available memory / 8 (three arrays live at
    once in the triad). E.g. a 32 MiB LLC -> 256 MiB; a 260 MiB LLC -> capped at 1 GiB (4x LLC).
    """
    want = max(MIN_STREAM_BYTES, LLC_MULTIPLE * llc_bytes) if llc_bytes else MIN_STREAM_BYTES
    cap = MAX_STREAM_BYTES
    if available_bytes:
        cap = min(cap, max(available_bytes // 8, 16 * 2**20))
    size = min(want, cap)
    if llc_bytes:
        note = f"{size / 2**20:.0f} MiB per array = {size / llc_bytes:.1f}x the {llc_bytes / 2**20:.0f} MiB LLC"
        if size < want:
            note += f" (capped from {LLC_MULTIPLE}x LLC by memory limits)"
    else:
        note = f"{size / 2**20:.0f} MiB per array (LLC size unknown)"
    return int(size), note


# ------------------------------------------------------------------------------ timing
def _median_time(fn: Callable[[], object], warmup: int, repeats: int) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _gemm_fn(dtype: str, n: int):
    """A zero-argument callable running one n x n x n GEMM in ``dtype``."""
    import torch

    if dtype == "int8":
        a = torch.randint(-128, 128, (n, n), dtype=torch.int8)
        b = torch.randint(-128, 128, (n, n), dtype=torch.int8)
        return lambda: torch._int_mm(a, b)
    tdt = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16, "fp64": torch.float64}.get(dtype)
    if tdt is None:
        raise MeasurementError(f"probe cannot measure dtype '{dtype}'; valid: {', '.join(PROBE_DTYPES)}, fp64")
    a = torch.randn(n, n).to(tdt)
    b = torch.randn(n, n).to(tdt)
    c = torch.empty(n, n, dtype=tdt)
    return lambda: torch.matmul(a, b, out=c)


def measure_gemm(dtype: str, sizes: Sequence[int], warmup: int = 1, repeats: int = 5,
                 progress: Progress | None = None, done: float = 0, total: float = 0) -> pd.DataFrame:
    """GEMM rate of each size: columns dtype, size, macs, median_s, macs_per_s."""
    rows = []
    for i, n in enumerate(sizes):
        if progress:
            progress(f"GEMM {dtype} {n}x{n}", done + i, total)
        fn = _gemm_fn(dtype, n)
        t = _median_time(fn, warmup, repeats)
        rows.append({"dtype": dtype, "size": n, "macs": float(n) ** 3, "median_s": t,
                     "macs_per_s": float(n) ** 3 / t})
        del fn
    return pd.DataFrame(rows)


def measure_stream(array_bytes: int, warmup: int = 1, repeats: int = 5,
                   progress: Progress | None = None, done: float = 0, total: float = 0) -> pd.DataFrame:
    """STREAM copy and triad on float32 arrays: columns kernel, array_bytes, bytes_moved,
    median_s, bytes_per_s (bytes moved = read + written)."""
    import torch

    n = max(1, array_bytes // 4)
    nbytes = n * 4
    a = torch.ones(n, dtype=torch.float32)
    b = torch.full((n,), 2.0, dtype=torch.float32)
    rows = []
    if progress:
        progress(f"bandwidth: copy {nbytes / 2**20:.0f} MiB", done, total)
    t = _median_time(lambda: b.copy_(a), warmup, repeats)
    rows.append({"kernel": "copy", "array_bytes": nbytes, "bytes_moved": 2 * nbytes,
                 "median_s": t, "bytes_per_s": 2 * nbytes / t})  # read a, write b
    c = torch.full((n,), 0.5, dtype=torch.float32)
    if progress:
        progress(f"bandwidth: triad {nbytes / 2**20:.0f} MiB", done + 1, total)
    t = _median_time(lambda: torch.add(b, c, alpha=3.0, out=a), warmup, repeats)
    rows.append({"kernel": "triad", "array_bytes": nbytes, "bytes_moved": 3 * nbytes,
                 "median_s": t, "bytes_per_s": 3 * nbytes / t})  # read b and c, write a
    del a, b, c
    return pd.DataFrame(rows)


def _supported(dtype: str) -> str | None:
    """None if a tiny GEMM in ``dtype`` runs here, else the one-line reason it does not."""
    try:
        _gemm_fn(dtype, 64)()
    except MeasurementError as exc:
        return str(exc)
    except (RuntimeError, NotImplementedError, TypeError, AttributeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return f"not supported by torch on this host ({first[:120]})"
    return None


# ------------------------------------------------------------------------------ the probe
def probe_host(
    dtypes: Sequence[str] = PROBE_DTYPES,
    progress: Progress | None = None,
    quick: bool = False,
    *,
    gemm_sizes: Sequence[int] | None = None,
    stream_bytes: int | None = None,
    warmup: int = 1,
    repeats: int | None = None,
    min_fast_fraction: float = 0.5,
    name: str | None = None,
) -> ProbeResult:
    """Measure peak MAC/s per dtype and DRAM bandwidth on this host (see the module docstring).

    ``quick`` uses GEMM sides 512/1024, 64 MiB arrays and 3 repeats (seconds, not minutes; the
    figures are lower bounds). fp32 is always measured: it is the profile's default dtype.
    """
    if repeats is None:
        repeats = 3 if quick else 5
    sizes = _checked_options(repeats, warmup, name, gemm_sizes, quick)
    order = ["fp32"] + [d for d in dict.fromkeys(dtypes) if d != "fp32"]
    llc = last_level_cache_bytes()
    stream_bytes, stream_note = _stream_size(stream_bytes, quick, llc)

    total = len(order) * len(sizes) + 2
    gemm_frames, peaks, best_size, skipped = _peaks(order, sizes, warmup, repeats, progress, total, min_fast_fraction)
    done = len(order) * len(sizes)
    stream = measure_stream(stream_bytes, warmup, repeats, progress, done, total)
    done += 2
    if progress:
        progress("done", total, total)
    return _probe_result(name, peaks, best_size, skipped, gemm_frames, stream, stream_note, sizes, llc,
                         warmup, repeats, quick)


def _checked_options(repeats: int, warmup: int, name: str | None, gemm_sizes, quick: bool) -> tuple:
    """Validate ``probe_host``'s options before minutes of measuring; returns the GEMM sizes."""
    if repeats < 1 or warmup < 0:
        raise MeasurementError(f"repeats must be >= 1 and warmup >= 0, got {repeats} and {warmup}")
    if name is not None:  # checked before minutes of measuring, not when the profile is written
        from roofsweep.hardware.loader import NAME_RE

        if not NAME_RE.match(name):
            raise MeasurementError(
                f"profile name must be a lower-case slug matching [a-z0-9][a-z0-9._-]*, got {name!r}"
            )
    sizes = tuple(gemm_sizes) if gemm_sizes else (QUICK_GEMM_SIZES if quick else DEFAULT_GEMM_SIZES)
    if any(int(s) < 16 for s in sizes):
        raise MeasurementError(f"GEMM sizes must be >= 16, got {list(sizes)}")
    return sizes


def _stream_size(stream_bytes: int | None, quick: bool, llc) -> tuple[int, str]:
    """(STREAM array bytes, how they were chosen) - given, quick, or sized past the LLC."""
    if stream_bytes is None:
        if quick:
            stream_bytes, stream_note = QUICK_STREAM_BYTES, "64 MiB per array (quick mode; may sit partly in cache)"
        else:
            stream_bytes, stream_note = default_stream_bytes(llc, _available_memory_bytes())
    else:
        stream_note = f"{stream_bytes / 2**20:.4g} MiB per array (given)"
        if llc:
            stream_note += f" = {stream_bytes / llc:.2g}x the LLC"
    if stream_bytes < 4:
        raise MeasurementError(f"stream_bytes must be at least 4, got {stream_bytes}")
    return stream_bytes, stream_note


def _peaks(order: list[str], sizes, warmup: int, repeats: int, progress, total: int, min_fast_fraction: float):
    """GEMM every dtype in ``order`` (fp32 first): (GEMM frames, peak per listed dtype, best size
    per listed dtype, skipped dtype -> reason). A dtype slower than ``min_fast_fraction`` of fp32
    has no fast path and is skipped; fp32 failing is a ``MeasurementError``."""
    done = 0
    gemm_frames: list[pd.DataFrame] = []
    peaks: dict[str, float] = {}
    best_size: dict[str, int] = {}
    skipped: dict[str, str] = {}
    for dtype in order:
        reason = _supported(dtype)
        if reason is not None:
            skipped[dtype] = reason
            done += len(sizes)
            continue
        df = measure_gemm(dtype, sizes, warmup, repeats, progress, done, total)
        done += len(sizes)
        gemm_frames.append(df)
        best = df.loc[df["macs_per_s"].idxmax()]
        rate = float(best["macs_per_s"])
        if dtype != "fp32" and rate < min_fast_fraction * peaks["fp32"]:
            skipped[dtype] = (f"runs but has no fast path here: {rate / peaks['fp32']:.2f}x the fp32 rate "
                              f"(below {min_fast_fraction:g}x); not listed")
            continue
        peaks[dtype] = rate
        best_size[dtype] = int(best["size"])
    if "fp32" not in peaks:
        raise MeasurementError(f"fp32 GEMM cannot run on this host: {skipped.get('fp32')}")
    return gemm_frames, peaks, best_size, skipped


def _probe_result(name, peaks, best_size, skipped, gemm_frames, stream: pd.DataFrame, stream_note: str,
                  sizes, llc, warmup: int, repeats: int, quick: bool) -> ProbeResult:
    """The ``ProbeResult``: the measured rates, a notes line and the ``measured`` provenance."""
    import torch

    bw = float(stream["bytes_per_s"].max())
    best_kernel = str(stream.loc[stream["bytes_per_s"].idxmax(), "kernel"])
    threads = torch.get_num_threads()
    model = cpu_model()
    slug = hostname_slug()
    notes = [
        f"Measured by `roofsweep probe` with {threads} torch thread{'' if threads == 1 else 's'} on {model}.",
        f"Peaks: median of {repeats} timed square GEMMs after {warmup} warm-up, best of sides "
        f"{', '.join(map(str, sizes))}. Bandwidth: best of STREAM copy/triad ({stream_note}), "
        "bytes read + written.",
    ]
    for d, why in skipped.items():
        notes.append(f"{d} skipped: {why}.")
    measured = {
        "date": _dt.date.today().isoformat(),
        "method": "torch GEMM (matmul; _int_mm for int8) + STREAM copy/triad; median of repeats",
        "torch_version": torch.__version__.split("+")[0],
        "threads": int(threads),
        "cpu_model": model,
        "hostname": socket.gethostname(),
        "llc_bytes": int(llc) if llc else None,
        "gemm_sizes": [int(s) for s in sizes],
        "gemm_best_size": best_size,
        "stream_array_bytes": int(stream["array_bytes"].iloc[0]),
        "stream_best_kernel": best_kernel,
        "stream_bytes_per_s": {str(k): float(v) for k, v in zip(stream["kernel"], stream["bytes_per_s"])},
        "repeats": int(repeats),
        "warmup": int(warmup),
        "quick": bool(quick),
    }
    if measured["llc_bytes"] is None:
        del measured["llc_bytes"]
    return ProbeResult(
        name=name or f"host-{slug}",
        display_name=f"{model} ({threads} thread{'' if threads == 1 else 's'}, measured)",
        peak_macs_per_s=peaks,
        bandwidth_bytes_per_s=bw,
        default_dtype="fp32",
        measured=measured,
        notes=" ".join(notes),
        skipped=skipped,
        gemm=pd.concat(gemm_frames, ignore_index=True),
        stream=stream,
    )
