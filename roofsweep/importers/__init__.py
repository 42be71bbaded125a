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

__all__ = ["READERS", "ModelFileError", "is_model_file", "load_model_file"]


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
