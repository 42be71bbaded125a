"""Model files as models: ONNX (``.onnx``) and TFLite (``.tflite``) importers (torch-free).

``load_model_file(path, input_shapes=None) -> TraceResult`` picks the reader by the file's
suffix from ``READERS``; the result is the same LayerTable the torch tracer gives (same op types,
BN/activation fusion, attention rows), with per-row ``weight_dtype`` / ``activation_dtype`` where
the file stores integer or half-precision tensors. Each format's parser is an optional extra:
``pip install "roofsweep[onnx]"`` / ``"roofsweep[tflite]"``.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from roofsweep.errors import did_you_mean
from roofsweep.importers.common import ModelFileError
from roofsweep.layertable import TraceResult

# suffix -> "module:function" of a reader ``fn(path, input_shapes=None, label=None) -> TraceResult``
READERS: dict[str, str] = {
    ".onnx": "roofsweep.importers.onnx:read_onnx",
    ".tflite": "roofsweep.importers.tflite:read_tflite",
}

# suffix -> "module:function" returning [(input name, declared dims)] without importing the model
INPUT_PEEKERS: dict[str, str] = {
    ".onnx": "roofsweep.importers.onnx.wire:input_shapes",
    ".tflite": "roofsweep.importers.tflite:input_shapes",
}

__all__ = ["READERS", "ModelFileError", "is_model_file", "load_model_file", "static_input_shape"]


def static_input_shape(path) -> tuple[int, ...] | None:
    """The first input's shape when the file declares it fully (no dynamic dims), else None;
    None too when the file cannot be peeked at (the import reports the problem)."""
    suffix = Path(str(path)).suffix.lower()
    module, _, fn = INPUT_PEEKERS[suffix].partition(":")
    try:
        inputs = getattr(importlib.import_module(module), fn)(str(path))
    except Exception:  # a missing extra or a bad file: load_model_file gives the one-line error
        return None
    if len(inputs) != 1 or not all(isinstance(d, int) and d > 0 for d in inputs[0][1]):
        return None
    return tuple(int(d) for d in inputs[0][1])


def is_model_file(spec: object) -> bool:
    """True for a path (str or ``Path``) ending in a suffix a reader is registered for."""
    return isinstance(spec, (str, Path)) and Path(str(spec)).suffix.lower() in READERS


def load_model_file(path, input_shapes=None, label: str | None = None) -> TraceResult:
    """Read and cost a model file. ``input_shapes``: one shape, a list (one per input) or a dict
    ``{input name: shape}``; needed where the file has dynamic dimensions."""
    suffix = Path(str(path)).suffix.lower()
    if suffix not in READERS:
        raise ModelFileError(f"{path}: " + did_you_mean(suffix or "(none)", READERS, "model file suffix"))
    module, _, fn = READERS[suffix].partition(":")
    return getattr(importlib.import_module(module), fn)(str(path), input_shapes, label)
