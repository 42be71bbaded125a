"""``validate --fit-out``: the profile at the fitted ridge point (the paper's Table 16 fit)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from roofsweep.errors import OutputError


def check_fit_out(path: Path, force: bool) -> None:
    """Refuse, before measuring, a ``--fit-out`` that exists (without ``--force``), is a folder,
    lacks a .yaml suffix or cannot be written."""
    from roofsweep.report.bundle import check_writable

    path = Path(path)
    if path.is_dir() or path.suffix.lower() not in (".yaml", ".yml"):
        raise OutputError(f"{path}: --fit-out needs a file path ending in .yaml")
    if path.exists() and not force:
        raise OutputError(f"{path}: exists; pass --force to replace it")
    check_writable(path, what="profile", folder=False)


def fitted_profile(profile, result):
    """``profile`` with the fitted ridge point: the bandwidth kept, the validated dtype's peak set
    to RP x bandwidth, named ``<name>-fitted-rp``; its ``measured`` block records the fit."""
    dt = result.dtype
    bw = result.fit.bandwidth_bytes_per_s
    peaks = dict(profile.peak_macs_per_s)
    peaks[dt] = float(result.fit.ridge_point * bw)
    measured = dict(profile.measured or {})
    measured.update({
        "fitted_ridge_point": float(result.fit.ridge_point),
        "fitted_spearman": float(result.fit.spearman),
        "fitted_scale": float(result.fit.scale),
        "fitted_on": ", ".join(map(str, result.models["model"])),
        "fit_method": "MobileNetV4 Table 16: ridge point maximising Spearman with measured latency",
    })
    return dataclasses.replace(
        profile, name=f"{profile.name}-fitted-rp", display_name=f"{profile.display_name} (fitted RP)",
        peak_macs_per_s=peaks, bandwidth_bytes_per_s=float(bw), measured=measured, calibration=None,
        default_dtype=dt if dt in peaks else profile.default_dtype)
