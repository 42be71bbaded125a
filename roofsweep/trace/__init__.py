"""Trace a model into a LayerTable.

``trace(ref)`` builds the model on the meta device and traces it (imports torch);
``load_or_trace(ref)`` answers from the on-disk cache first, so a repeat run imports no torch.
"""

from __future__ import annotations

from roofsweep.trace.cache import cache_dir, cache_path, load_cached, load_or_trace

__all__ = ["trace", "trace_module", "load_or_trace", "load_cached", "cache_dir", "cache_path"]


def trace(ref, check_shapes: bool = False):
    from roofsweep.trace.api import trace as _trace

    return _trace(ref, check_shapes=check_shapes)


def trace_module(model, input_shape, label: str = "model", check_shapes: bool = False, meta=None):
    from roofsweep.trace.api import trace_module as _trace_module

    return _trace_module(model, input_shape, label, check_shapes=check_shapes, meta=meta)
