"""Ground truth: measure this host and real models, and check the roofline against them.

* ``probe``      - peak MAC/s per dtype (GEMM) and DRAM bandwidth (STREAM) -> a hardware profile
* ``latency``    - whole-model and per-layer latency of a real model (torch)
* ``attribution``- per-module self times -> LayerTable rows (torch-free)
* ``stats``      - Spearman / Pearson, hand-checkable (torch-free)
* ``validate``   - predicted vs measured per model, layer and op type; the paper's Table 16
                   ridge-point fit (torch-free)
* ``accuracy``   - every predictor's error and correlation (torch-free)
* ``timing``     - hygiene: warm-up, repeat until stable, spread, noise warning (torch-free)
* ``runtimes``   - the runtimes a model is measured on (torch eager, onnxruntime)
* ``ort_runtime``- ONNX export, onnxruntime latency and profiler times matched to rows
* ``microbench`` / ``calibrate`` / ``fit`` - ``roofsweep calibrate``: microbenchmarks, the
                   calibrated latency model's fit (``fit`` is torch-free), the profile section
* ``run``        - measure many models (skipping the broken ones) and validate

The library returns data and never prints. Long-running calls take ``progress``, a callable
``progress(description: str, done: float, total: float)`` that the CLI maps to a progress bar.
Importing this package does not import torch; the names below load their module on first use.
The validation entry point is ``roofsweep.measure.validate.validate`` and the calibration's
``roofsweep.measure.calibrate.calibrate`` (not re-exported here: each name is also its module's).
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
    "CalibrationRun": "calibrate",
    "fit_latency_model": "fit",
    "run_validation": "run",
    "measure_refs": "run",
    "timed_runs": "timing",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        module = importlib.import_module(f"roofsweep.measure.{_EXPORTS[name]}")
        return getattr(module, name)
    raise AttributeError(f"module 'roofsweep.measure' has no attribute '{name}'")
