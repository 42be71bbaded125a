"""The runtimes a model can be measured on (registry) and thread pinning.

``RUNTIMES`` maps a name to the function that measures an ``nn.Module`` on it; every function
takes ``(module, input_shape, *, layers, label, device, repeats, warmup, max_repeats,
max_seconds, per_layer, per_layer_repeats, threads, progress)`` and returns a ``MeasureResult``.
Add a runtime by adding an entry.
"""

from __future__ import annotations

import importlib
import os

from roofsweep.errors import ConfigError, MeasurementError

RUNTIMES: dict[str, str] = {
    "torch": "roofsweep.measure.latency:measure_module",
    "onnxruntime": "roofsweep.measure.ort_runtime:measure_module_ort",
}


def runtime_function(name: str):
    """The measuring function of runtime ``name``; a one-line error for an unknown or missing one."""
    if name not in RUNTIMES:
        raise ConfigError(f"unknown runtime '{name}'; valid: {', '.join(RUNTIMES)}")
    if name == "onnxruntime":
        from roofsweep.measure.ort_runtime import ort_module

        ort_module()  # raises the one-line "pip install roofsweep[ort]" error
    mod, _, fn = RUNTIMES[name].partition(":")
    return getattr(importlib.import_module(mod), fn)


def runtime_versions(name: str) -> dict[str, str]:
    import torch

    out = {"torch": torch.__version__.split("+")[0]}
    if name == "onnxruntime":
        from roofsweep.measure.ort_runtime import ort_module

        out["onnxruntime"] = ort_module().__version__
    return out


def max_threads() -> int:
    return max(64, 4 * (os.cpu_count() or 1))  # far past this, thread pools exhaust memory or crash


def set_threads(threads: int | None) -> int:
    """Pin torch's intra-op threads (onnxruntime sessions take the same number); returns it."""
    import torch

    if threads is None:
        return torch.get_num_threads()
    most = max_threads()
    if isinstance(threads, bool) or not 1 <= int(threads) <= most:
        raise ConfigError(f"--threads must be from 1 to {most} on this host, got {threads}")
    torch.set_num_threads(int(threads))
    return int(threads)


def check_device(device: str) -> str:
    """``cpu`` or ``cuda`` (available); one-line error otherwise - before any measuring."""
    import torch

    if device not in ("cpu", "cuda"):
        raise MeasurementError(f"unsupported device '{device}'; valid: cpu, cuda")
    if device == "cuda" and not torch.cuda.is_available():
        raise MeasurementError("device 'cuda' asked for but CUDA is not available on this host; use --device cpu")
    return device
