"""Ground truth: measure this host and real models, and check the roofline against them.

* ``probe``      - peak MAC/s per dtype (GEMM) and DRAM bandwidth (STREAM) -> a hardware profile
* ``latency``    - whole-model and per-layer latency of a real model (torch)
* ``attribution``- per-module self times -> LayerTable rows (torch-free)
* ``stats``      - Spearman / Pearson, hand-checkable (torch-free)
* ``validate``   - predicted vs measured per model, layer and op type; the paper's Table 16
                   ridge-point fit (torch-free)

The library returns data and never prints. Long-running calls take ``progress``, a callable
``progress(description: str, done: float, total: float)`` that the CLI maps to a progress bar.
Importing this package does not import torch; the names below load their module on first use.
The validation entry point is ``roofsweep.measure.validate.validate`` (not re-exported here: the
name is also its module's).
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "probe_host": "probe",
    "ProbeResult": "probe",
    "write_probe_profile": "probe",
    "measure_model": "latency",
    "measure_module": "latency",
    "measure_models": "latency",
    "merge_results": "latency",
    "MeasureResult": "latency",
    "attribute": "attribution",
    "spearman": "stats",
    "pearson": "stats",
    "pearson_log": "stats",
    "rankdata": "stats",
    "fit_ridge_point": "validate",
    "ValidationResult": "validate",
    "RidgeFit": "validate",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        module = importlib.import_module(f"roofsweep.measure.{_EXPORTS[name]}")
        return getattr(module, name)
    raise AttributeError(f"module 'roofsweep.measure' has no attribute '{name}'")
