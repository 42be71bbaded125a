"""The hardware profile: what the roofline needs to know about one device.

A profile is a frozen record of peak compute per dtype (MAC/s, dense, 1 MAC = 2 ops) and DRAM
bandwidth (bytes/s). The ridge point is *derived*, never stored::

    ridge_point(dtype) = peak_macs_per_s[dtype] / bandwidth_bytes_per_s      [MAC/byte]

A layer whose intensity (MACs per byte moved) is below the ridge point is memory-bound on this
device; above it, compute-bound. ``bandwidth_bytes_per_s == math.inf`` is the paper's "MACs only"
archetype (RP 0): memory time is zero, so the ridge point is reported as 0.0.

This module imports no torch and does no I/O; YAML reading and writing live in ``loader.py``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from roofsweep.errors import ProfileError, did_you_mean

#: The values ``HardwareProfile.kind`` may take.
KINDS: tuple[str, ...] = ("cpu", "gpu", "dsp", "npu", "edgetpu", "other")


@dataclass(frozen=True)
class HardwareProfile:
    """One device. Construct through ``roofsweep.hardware.load_profile`` / ``get_profile`` for
    files; direct construction (e.g. by a probe or a sweep) is checked by ``__post_init__``.

    ``peak_macs_per_s`` and ``measured`` are dicts, so they are left out of ``hash()``; equality
    compares every field.
    """

    name: str  # registry key, e.g. "pixel6-cpu"
    display_name: str
    kind: str  # cpu | gpu | dsp | npu | edgetpu | other
    peak_macs_per_s: dict[str, float] = field(hash=False)  # dtype -> MAC/s (dense)
    bandwidth_bytes_per_s: float  # DRAM; math.inf for the "MACs only" archetype (RP 0)
    default_dtype: str  # key of peak_macs_per_s
    onchip_bytes: float | None = None
    sources: tuple[str, ...] = ()
    notes: str = ""
    estimated: tuple[str, ...] = ()  # field paths that are estimates, e.g. "peak_macs_per_s.int8"
    measured: dict | None = field(default=None, hash=False)  # written by `roofsweep probe`
    # written by `roofsweep calibrate`: a roofsweep.hardware.calibration.Calibration
    calibration: Any = field(default=None, hash=False)
    path: str | None = field(default=None, compare=False)  # file it came from

    def __post_init__(self) -> None:
        # Invariants every consumer relies on; the loader reports friendlier, per-field messages
        # for files before it ever gets here.
        where = f"hardware profile '{self.name}'"
        if self.kind not in KINDS:
            raise ProfileError(f"{where}: kind: must be one of {', '.join(KINDS)}, got {self.kind!r}")
        if not self.peak_macs_per_s:
            raise ProfileError(f"{where}: peak_macs_per_s: needs at least one dtype")
        for dtype, peak in self.peak_macs_per_s.items():
            if not (isinstance(peak, (int, float)) and math.isfinite(peak) and peak > 0):
                raise ProfileError(
                    f"{where}: peak_macs_per_s.{dtype}: must be a finite number > 0, got {peak!r}"
                )
        if self.default_dtype not in self.peak_macs_per_s:
            raise ProfileError(
                f"{where}: default_dtype: '{self.default_dtype}' has no peak; "
                f"valid: {', '.join(self.peak_macs_per_s)}"
            )
        bw = self.bandwidth_bytes_per_s
        if not (isinstance(bw, (int, float)) and not math.isnan(bw) and bw > 0):
            raise ProfileError(
                f"{where}: bandwidth_bytes_per_s: must be > 0 (math.inf for MACs-only), got {bw!r}"
            )
        if self.onchip_bytes is not None and not (
            math.isfinite(self.onchip_bytes) and self.onchip_bytes > 0
        ):
            raise ProfileError(
                f"{where}: onchip_bytes: must be a finite number > 0, got {self.onchip_bytes!r}"
            )

    # ------------------------------------------------------------------------------ queries
    @property
    def dtypes(self) -> tuple[str, ...]:
        """The dtypes this device has a peak for, in file order."""
        return tuple(self.peak_macs_per_s)

    def _dtype(self, dtype: str | None) -> str:
        if dtype is None:
            return self.default_dtype
        if dtype not in self.peak_macs_per_s:
            raise ProfileError(
                f"hardware profile '{self.name}': "
                + did_you_mean(dtype, self.peak_macs_per_s, "dtype for this device")
            )
        return dtype

    def peak(self, dtype: str | None = None) -> float:
        """Peak MAC/s for ``dtype`` (default: ``default_dtype``)."""
        return float(self.peak_macs_per_s[self._dtype(dtype)])

    def ridge_point(self, dtype: str | None = None) -> float:
        """Ridge point in MAC/byte: peak / bandwidth; 0.0 when bandwidth is infinite.

        Example: 1.59744e12 MAC/s over 51.2e9 B/s -> 31.2 MAC/byte.
        """
        peak = self.peak(dtype)
        if math.isinf(self.bandwidth_bytes_per_s):
            return 0.0
        return peak / float(self.bandwidth_bytes_per_s)

    def is_estimated(self, field_path: str) -> bool:
        """Whether ``field_path`` (e.g. ``"peak_macs_per_s.int8"``, ``"bandwidth"``) is marked as
        an estimate - directly or through a parent (``"peak_macs_per_s"`` covers every dtype).
        ``bandwidth``/``bandwidth_bytes_per_s`` and ``onchip_memory``/``onchip_bytes`` are
        synonyms."""
        marked = {_canonical_path(p) for p in self.estimated}
        path = _canonical_path(field_path)
        parts = path.split(".")
        return any(".".join(parts[: i + 1]) in marked for i in range(len(parts)))


_PATH_SYNONYMS = {"bandwidth_bytes_per_s": "bandwidth", "onchip_bytes": "onchip_memory"}


def _canonical_path(path: str) -> str:
    head, _, rest = path.partition(".")
    head = _PATH_SYNONYMS.get(head, head)
    return f"{head}.{rest}" if rest else head
