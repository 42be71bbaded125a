"""Getting a torch model ready to time, shared by the torch and onnxruntime runtimes: the device,
random weights for a meta-device build, BatchNorm folded into its conv, the clock, and the
hook-free timed forwards (method in ``roofsweep.measure.latency``'s docstring and
``docs/ground-truth.md``). torch is imported inside each function.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from roofsweep.errors import MeasurementError
from roofsweep.measure.allocator import use_allocator
from roofsweep.measure.hooks import sync
from roofsweep.measure.timing import CLOCKS, timed_runs

Progress = Callable[[str, float, float], None]


def _device(device: str):
    import torch

    try:
        dev = torch.device(device) if not isinstance(device, torch.device) else device
    except (RuntimeError, TypeError):
        raise MeasurementError(f"unsupported device '{device}'; valid: cpu, cuda") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise MeasurementError(f"device '{device}' asked for but CUDA is not available on this host; use --device cpu")
    if dev.type not in ("cpu", "cuda"):
        raise MeasurementError(f"unsupported device '{device}'; valid: cpu, cuda")
    return dev


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return (text.splitlines()[0] if text else type(exc).__name__)[:200]


def _materialise(module) -> None:
    """Give a module built on the meta device real storage and fresh random parameters."""
    import torch

    if not any(t.is_meta for t in list(module.parameters()) + list(module.buffers())):
        return
    module.to_empty(device="cpu")
    with torch.no_grad():
        for m in module.modules():
            if hasattr(m, "reset_parameters"):
                m.reset_parameters()
            elif hasattr(m, "reset_running_stats"):
                m.reset_running_stats()


def fold_batchnorms(module, layers: pd.DataFrame | None) -> list[str]:
    """Fold each ``BatchNorm2d`` into the ``Conv2d``, and each ``BatchNorm1d`` into the ``Linear``
    (LeViT's linear + norm over the output features), that a LayerTable row fused it with.

    ``torch.nn.utils.fusion.fuse_conv_bn_weights`` / ``fuse_linear_bn_weights`` give the layer
    ``w * g / sqrt(v + eps)`` and bias ``(b - m) * g / sqrt(v + eps) + beta``; the BN module is
    replaced by ``nn.Identity`` (it stays in the module tree, so the row's ``modules`` still
    match). Returns the paths of the folded BN modules.
    """
    import torch
    from torch import nn
    from torch.nn.utils.fusion import fuse_conv_bn_weights, fuse_linear_bn_weights

    if layers is None or "modules" not in layers.columns:
        return []
    named = dict(module.named_modules())
    folded: list[str] = []
    for mods in layers["modules"]:
        if not isinstance(mods, str):
            continue
        paths = [p.strip() for p in mods.split(",") if p.strip()]
        for a, b in zip(paths, paths[1:]):
            layer, bn = named.get(a), named.get(b)
            if isinstance(layer, nn.Conv2d) and isinstance(bn, nn.BatchNorm2d):
                width = layer.out_channels
            elif isinstance(layer, nn.Linear) and isinstance(bn, nn.BatchNorm1d):
                width = layer.out_features
            else:
                continue
            if bn.num_features != width or not bn.track_running_stats:
                continue
            with torch.no_grad():
                if isinstance(layer, nn.Conv2d):
                    w, bias = fuse_conv_bn_weights(
                        layer.weight, layer.bias, bn.running_mean, bn.running_var, bn.eps,
                        bn.weight if bn.affine else None, bn.bias if bn.affine else None)
                else:
                    w, bias = fuse_linear_bn_weights(
                        layer.weight, layer.bias, bn.running_mean, bn.running_var, bn.eps,
                        bn.weight if bn.affine else torch.ones_like(bn.running_mean),
                        bn.bias if bn.affine else torch.zeros_like(bn.running_mean))
            layer.weight, layer.bias = w, bias
            parent_path, _, leaf = b.rpartition(".")
            parent = named[parent_path] if parent_path else module
            setattr(parent, leaf, nn.Identity())
            named[b] = getattr(parent, leaf)
            folded.append(b)
    return folded


def _allocator(policy: str) -> str:
    """``allocator.use_allocator(policy)``, with an unknown policy a one-line ``MeasurementError``."""
    try:
        return use_allocator(policy)
    except ValueError as exc:
        raise MeasurementError(str(exc)) from exc


def _clock(clock: str, threads: int):
    """The timing function of ``clock`` (``timing.CLOCKS``); CPU time only with one thread."""
    if clock not in CLOCKS:
        raise MeasurementError(f"unknown clock '{clock}'; valid: {', '.join(CLOCKS)}")
    if clock == "cpu" and threads != 1:
        raise MeasurementError(f"--clock cpu measures one thread's work; run with --threads 1 (got {threads} threads)")
    return CLOCKS[clock]


def _time_forward(model, x, dev, warmup: int, repeats: int, max_repeats: int, max_seconds: float,
                  progress: Progress | None, label: str, total: float, clock=None, flush_cache_bytes: int = 0):
    """Hook-free timing with warm-up and the stability rule of ``roofsweep.measure.timing``."""
    def on_run(i: int, _n: int) -> None:
        if progress:
            progress(f"{label}: {'warm-up' if i <= warmup else 'timing'}", i, total)

    before = None
    if flush_cache_bytes > 0:
        # rewrite a buffer larger than the per-core caches, then read the input back: the
        # layer's weights are cold and its input hot, as in a model (the previous layer has
        # just written it)
        import torch

        buf = torch.zeros(int(flush_cache_bytes) // 4)

        def before():
            buf.add_(1.0)
            x.sum()
    return timed_runs(lambda: model(x), warmup=warmup, before=before, min_repeats=repeats, max_repeats=max_repeats,
                      max_seconds=max_seconds, sync=lambda: sync(dev), on_run=on_run,
                      clock=clock or CLOCKS["wall"])
