"""roofsweep: roofline hardware-cost analysis of neural networks.

The package is a one-way pipeline (see docs/contracts.md)::

    zoo  ->  trace (LayerTable)  ->  costmodel (bytes)  ->  roofline / sweep / pareto  ->  report

Only ``roofsweep.zoo`` builders and ``roofsweep.trace`` import torch; everything downstream of a
LayerTable is pure numpy/pandas, so sweeping cached tables never imports torch.

The names most notebooks need are importable from here (loaded on first use)::

    from roofsweep import analyze, resolve, load_or_trace, get_profile
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_LAZY = {
    "analyze": "roofsweep.analysis",
    "resolve": "roofsweep.zoo.registry",
    "list_models": "roofsweep.zoo.registry",
    "load_or_trace": "roofsweep.trace.cache",
    "trace_module": "roofsweep.trace",
    "get_profile": "roofsweep.hardware",
    "list_profiles": "roofsweep.hardware",
    "get_preset": "roofsweep.engine.costmodel",
    "apply_cost_model": "roofsweep.engine.costmodel",
    "roofline": "roofsweep.engine.roofline",
    "sweep_ridge_points": "roofsweep.engine.sweep",
    "sweep_profiles": "roofsweep.engine.sweep",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'roofsweep' has no attribute '{name}'")
