"""Measure a real model's latency, whole and per layer, on this machine.

Method (documented in ``docs/ground-truth.md``):

* The model is built with random weights (``reset_parameters`` for anything built on the meta
  device), put in ``eval()`` mode and run under ``torch.inference_mode()`` on one fixed random
  input of the traced shape.
* BatchNorm is folded into the convolution it follows wherever the LayerTable fused the two
  (a row's ``modules`` names a ``Conv2d`` and then a ``BatchNorm2d``), so the measured network is
  the network the LayerTable describes ("BN folded into its conv"). ``fold_bn=False`` keeps it.
  Activations are *not* fused: eager PyTorch runs them as separate kernels.
* Denormals flushed to zero (``torch.set_flush_denormal(True)`` for the measurement, then off
  again): with random weights the activations of deep networks can be tiny (~1e-23 in
  MNv4-Hybrid-L), their products fall into the denormal range, and x86 arithmetic on denormals is
  up to ~100x slower - a data artefact a trained network does not have. (MNv4-Hybrid-M measured
  62.5 ms with denormals, 40.2 ms flushed; its attention 7.7 ms vs 1.1 ms.) ``flush_denormal=False``
  keeps IEEE denormals.
* Memory format: ``channels_last`` (NHWC) by default for 4-D inputs, the layout PyTorch's CPU
  convolution kernels (oneDNN) are fast in. In the default NCHW layout PyTorch runs depthwise
  convolutions through a slow fallback (measured ~25x slower for a 3x3 depthwise conv on
  1x96x112x112 on the 2-core development host), which would make the measurement a benchmark of
  that fallback rather than of the hardware. ``memory_format="contiguous"`` keeps NCHW.
* **Whole-model latency**: ``warmup`` untimed forwards, then ``repeats`` timed forwards with no
  hooks attached; the result is the median (``torch.cuda.synchronize()`` around each on CUDA).
* **Per-layer latency**: a separate run with a forward pre-hook and a forward hook on every
  module. Each module's *inclusive* time is post - pre; its *self* time is inclusive minus the
  inclusive times of the child modules it called (a module called twice accumulates). The median
  self time per module over ``per_layer_repeats`` hooked forwards is then attributed to the
  LayerTable rows by ``roofsweep.measure.attribution.attribute`` (a row gets the self times of
  the modules in its ``modules`` column; a module shared by several rows is split among them).
  Hook overhead (a few microseconds per module) inflates small layers, which is why the
  whole-model latency comes from the hook-free run; ``hooked_total_s`` reports the hooked total.
"""

from __future__ import annotations

import copy
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import pandas as pd

from roofsweep.errors import MeasurementError, RoofsweepError
from roofsweep.measure.attribution import ROOT, attribute

Progress = Callable[[str, float, float], None]
MEMORY_FORMATS = ("channels_last", "contiguous")


@dataclass
class MeasureResult:
    """Measured latency of one model on one device.

    ``latency_s`` is the hook-free median; ``module_self_s`` maps module path (``<root>`` for the
    top module) -> median self time in the hooked run; ``layers`` is the LayerTable (when one was
    given) with a ``measured_s`` column (shared modules split equally; ``validate`` re-splits in
    proportion to predicted time). ``unattributed_s``: self time of modules no row names.
    """

    model: str
    device: str
    threads: int
    latency_s: float
    latencies_s: list[float]
    warmup: int
    repeats: int
    input_shape: tuple[int, ...]
    module_self_s: dict[str, float] = field(default_factory=dict)
    hooked_total_s: float | None = None
    layers: pd.DataFrame | None = None
    unattributed_s: dict[str, float] = field(default_factory=dict)
    unmatched_rows: list[int] = field(default_factory=list)
    meta: dict = field(default_factory=dict)

    def summary(self) -> dict:
        """One flat row for tables / JSON."""
        return {
            "model": self.model,
            "device": self.device,
            "threads": self.threads,
            "latency_s": self.latency_s,
            "min_s": min(self.latencies_s),
            "max_s": max(self.latencies_s),
            "repeats": self.repeats,
            "warmup": self.warmup,
            "hooked_total_s": self.hooked_total_s,
            "unattributed_s": sum(self.unattributed_s.values()),
        }


# ------------------------------------------------------------------------------ helpers
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
    """Fold each ``BatchNorm2d`` into the ``Conv2d`` that a LayerTable row fused it with.

    The conv gets ``w * g / sqrt(v + eps)`` and bias ``(b - m) * g / sqrt(v + eps) + beta``; the BN
    module is replaced by ``nn.Identity`` (it stays in the module tree, so the row's ``modules``
    still match). Returns the paths of the folded BN modules.
    """
    import torch
    from torch import nn

    if layers is None or "modules" not in layers.columns:
        return []
    named = dict(module.named_modules())
    folded: list[str] = []
    for mods in layers["modules"]:
        if not isinstance(mods, str):
            continue
        paths = [p.strip() for p in mods.split(",") if p.strip()]
        for a, b in zip(paths, paths[1:]):
            conv, bn = named.get(a), named.get(b)
            if not (isinstance(conv, nn.Conv2d) and isinstance(bn, nn.BatchNorm2d)):
                continue
            if bn.num_features != conv.out_channels or not bn.track_running_stats:
                continue
            with torch.no_grad():
                scale = bn.weight / torch.sqrt(bn.running_var + bn.eps) if bn.affine else \
                    1.0 / torch.sqrt(bn.running_var + bn.eps)
                shift = bn.bias if bn.affine else torch.zeros_like(bn.running_mean)
                conv.weight.mul_(scale.reshape(-1, 1, 1, 1))
                old_b = conv.bias if conv.bias is not None else torch.zeros_like(bn.running_mean)
                new_b = (old_b - bn.running_mean) * scale + shift
                conv.bias = nn.Parameter(new_b.detach().clone())
            parent_path, _, leaf = b.rpartition(".")
            parent = named[parent_path] if parent_path else module
            setattr(parent, leaf, nn.Identity())
            named[b] = getattr(parent, leaf)
            folded.append(b)
    return folded


def _sync(dev) -> None:
    if dev.type == "cuda":
        import torch

        torch.cuda.synchronize(dev)


def _time_forward(model, x, dev, warmup: int, repeats: int, progress: Progress | None,
                  label: str, done: float, total: float) -> list[float]:
    times: list[float] = []
    for i in range(warmup + repeats):
        if progress:
            progress(f"{label}: {'warm-up' if i < warmup else 'timing'}", done + i, total)
        _sync(dev)
        t0 = time.perf_counter()
        model(x)
        _sync(dev)
        if i >= warmup:
            times.append(time.perf_counter() - t0)
    return times


class _SelfTimer:
    """Forward pre/post hooks on every module accumulating *self* time per module path."""

    def __init__(self, model, dev) -> None:
        self.dev = dev
        self.stack: list[list] = []  # [path, t0, children_inclusive]
        self.self_s: dict[str, float] = {}
        self.handles = []
        for path, m in model.named_modules():
            p = path or ROOT
            self.handles.append(m.register_forward_pre_hook(self._pre(p)))
            self.handles.append(m.register_forward_hook(self._post(p)))

    def _pre(self, path: str):
        def hook(_m, _inp):
            _sync(self.dev)
            self.stack.append([path, time.perf_counter(), 0.0])
        return hook

    def _post(self, path: str):
        def hook(_m, _inp, _out):
            _sync(self.dev)
            t1 = time.perf_counter()
            p, t0, children = self.stack.pop()
            assert p == path, (p, path)
            inclusive = t1 - t0
            self.self_s[p] = self.self_s.get(p, 0.0) + max(inclusive - children, 0.0)
            if self.stack:
                self.stack[-1][2] += inclusive
        return hook

    def reset(self) -> None:
        self.stack.clear()
        self.self_s = {}

    def remove(self) -> None:
        for h in self.handles:
            h.remove()


def _hooked_self_times(model, x, dev, warmup: int, repeats: int, progress: Progress | None,
                       label: str, done: float, total: float) -> tuple[dict[str, float], float]:
    timer = _SelfTimer(model, dev)
    runs: list[dict[str, float]] = []
    totals: list[float] = []
    try:
        for i in range(warmup + repeats):
            if progress:
                progress(f"{label}: per-layer", done + i, total)
            timer.reset()
            _sync(dev)
            t0 = time.perf_counter()
            model(x)
            _sync(dev)
            if i >= warmup:
                totals.append(time.perf_counter() - t0)
                runs.append(dict(timer.self_s))
    finally:
        timer.remove()
    modules = list(dict.fromkeys(k for r in runs for k in r))
    med = {m: statistics.median(r.get(m, 0.0) for r in runs) for m in modules}
    return med, statistics.median(totals)


# ------------------------------------------------------------------------------ public API
def measure_module(
    module,
    example_input,
    *,
    layers: pd.DataFrame | None = None,
    label: str = "model",
    device: str = "cpu",
    repeats: int = 20,
    warmup: int = 5,
    per_layer: bool = True,
    per_layer_repeats: int | None = None,
    fold_bn: bool = True,
    memory_format: str = "channels_last",
    flush_denormal: bool = True,
    progress: Progress | None = None,
    _copy: bool = True,
) -> MeasureResult:
    """Measure an ``nn.Module`` on ``example_input`` (a tensor, or a shape for a random normal one).

    ``layers`` is the module's LayerTable (needed to fold BN and to report per-layer rows; without
    it only per-module self times are returned). The module is copied before BN folding unless
    the caller owns it (``_copy=False``). Raises ``MeasurementError`` (one line) when the model
    cannot run on the device.
    """
    import torch

    if repeats < 1 or warmup < 0:
        raise MeasurementError(f"repeats must be >= 1 and warmup >= 0, got {repeats} and {warmup}")
    dev = _device(device)
    if memory_format not in MEMORY_FORMATS:
        raise MeasurementError(f"unknown memory format '{memory_format}'; valid: {', '.join(MEMORY_FORMATS)}")
    if per_layer_repeats is None:
        per_layer_repeats = max(3, repeats // 2)
    model = module
    if _copy and fold_bn and layers is not None:
        model = copy.deepcopy(module)
    _materialise(model)
    folded = fold_batchnorms(model, layers) if fold_bn else []
    model.eval()
    hook_warmup = min(warmup, 2)  # the hooked run follows a warm model
    total = warmup + repeats + (hook_warmup + per_layer_repeats if per_layer else 0)
    flushed = bool(flush_denormal and torch.set_flush_denormal(True))
    try:
        if isinstance(example_input, torch.Tensor):
            x = example_input
        else:  # inside the try: an input too large for memory is a one-line error
            shape = tuple(int(s) for s in example_input)
            x = torch.randn(shape, generator=torch.Generator().manual_seed(0))
        model = model.to(dev)
        x = x.to(dev)
        if memory_format == "channels_last" and x.dim() == 4:
            model = model.to(memory_format=torch.channels_last)
            x = x.contiguous(memory_format=torch.channels_last)
        else:
            memory_format = "contiguous"
        with torch.inference_mode():
            times = _time_forward(model, x, dev, warmup, repeats, progress, label, 0, total)
            module_self: dict[str, float] = {}
            hooked_total = None
            if per_layer:
                module_self, hooked_total = _hooked_self_times(
                    model, x, dev, hook_warmup, per_layer_repeats, progress, label,
                    warmup + repeats, total)
    except MeasurementError:
        raise
    except (RuntimeError, ValueError, TypeError, NotImplementedError, AssertionError, MemoryError) as exc:
        raise MeasurementError(f"{label} cannot run on {dev}: {_one_line(exc)}") from exc
    finally:
        if flushed:
            torch.set_flush_denormal(False)
    if progress:
        progress(f"{label}: done", total, total)

    per_rows = None
    unattributed: dict[str, float] = {}
    unmatched: list[int] = []
    if per_layer and layers is not None:
        att = attribute(layers, module_self)
        per_rows = layers.copy()
        per_rows["measured_s"] = att.measured_s.to_numpy()
        unattributed, unmatched = att.unattributed_s, att.unmatched_rows
    return MeasureResult(
        model=label,
        device=str(dev),
        threads=torch.get_num_threads(),
        latency_s=statistics.median(times),
        latencies_s=times,
        warmup=warmup,
        repeats=repeats,
        input_shape=tuple(x.shape),
        module_self_s=module_self,
        hooked_total_s=hooked_total,
        layers=per_rows,
        unattributed_s=unattributed,
        unmatched_rows=unmatched,
        meta={
            "folded_bn": folded,
            "memory_format": memory_format,
            "flush_denormal": flushed,
            "per_layer_repeats": per_layer_repeats if per_layer else 0,
            "torch_version": torch.__version__.split("+")[0],
        },
    )


def measure_model(
    ref,
    device: str = "cpu",
    repeats: int = 20,
    warmup: int = 5,
    per_layer: bool = True,
    *,
    per_layer_repeats: int | None = None,
    fold_bn: bool = True,
    memory_format: str = "channels_last",
    flush_denormal: bool = True,
    layers: pd.DataFrame | None = None,
    progress: Progress | None = None,
) -> MeasureResult:
    """Build ``ref`` (a ``ModelRef``) with random weights and measure it (see module docstring).

    The LayerTable comes from ``roofsweep.trace.load_or_trace(ref)`` unless ``layers`` is given.
    """
    from roofsweep import zoo

    if layers is None and (per_layer or fold_bn):
        from roofsweep.trace import load_or_trace

        layers = load_or_trace(ref).layers
    try:
        built = zoo.build(ref)
    except RoofsweepError:
        raise  # already a one-line domain error (e.g. ModelBuildError)
    except (RuntimeError, ValueError, TypeError) as exc:
        raise MeasurementError(f"{ref.label}: cannot build the model: {_one_line(exc)}") from exc
    module = built[0] if isinstance(built, tuple) else built
    return measure_module(
        module, ref.input_shape, layers=layers, label=ref.label, device=device, repeats=repeats,
        warmup=warmup, per_layer=per_layer, per_layer_repeats=per_layer_repeats, fold_bn=fold_bn,
        memory_format=memory_format, flush_denormal=flush_denormal, progress=progress, _copy=False,
    )


def measure_models(refs: Sequence, progress: Progress | None = None, **kwargs) -> dict[str, MeasureResult]:
    """``measure_model`` for each ref, keyed by label (progress descriptions name the model)."""
    out: dict[str, MeasureResult] = {}
    for ref in refs:
        out[ref.label] = measure_model(ref, progress=progress, **kwargs)
    return out


def self_time_table(result: MeasureResult) -> pd.DataFrame:
    """``module, self_s`` sorted by time (for reports)."""
    items: Mapping[str, float] = result.module_self_s
    df = pd.DataFrame({"module": list(items), "self_s": list(items.values())})
    return df.sort_values("self_s", ascending=False, ignore_index=True)


def merge_results(results: Sequence[MeasureResult]) -> MeasureResult:
    """Combine several measurements of one model (e.g. rounds interleaved with other models, to
    spread the effect of load from other processes): whole-model samples are pooled and their
    median taken; each module's self time is the median over the results; per-layer rows are
    re-attributed from those medians."""
    if not results:
        raise MeasurementError("nothing to merge")
    first = results[0]
    if any(r.model != first.model for r in results):
        raise MeasurementError(f"cannot merge measurements of different models: {sorted({r.model for r in results})}")
    latencies = [t for r in results for t in r.latencies_s]
    with_layers = [r for r in results if r.module_self_s]
    modules = list(dict.fromkeys(m for r in with_layers for m in r.module_self_s))
    self_s = {m: statistics.median(r.module_self_s.get(m, 0.0) for r in with_layers) for m in modules}
    hooked = [r.hooked_total_s for r in results if r.hooked_total_s is not None]
    layers = next((r.layers for r in results if r.layers is not None), None)
    unattributed: dict[str, float] = {}
    unmatched: list[int] = []
    if layers is not None and self_s:
        att = attribute(layers, self_s)
        layers = layers.copy()
        layers["measured_s"] = att.measured_s.to_numpy()
        unattributed, unmatched = att.unattributed_s, att.unmatched_rows
    return MeasureResult(
        model=first.model, device=first.device, threads=first.threads,
        latency_s=statistics.median(latencies), latencies_s=latencies,
        warmup=first.warmup, repeats=sum(r.repeats for r in results), input_shape=first.input_shape,
        module_self_s=self_s, hooked_total_s=statistics.median(hooked) if hooked else None,
        layers=layers, unattributed_s=unattributed, unmatched_rows=unmatched,
        meta={**first.meta, "merged": len(results)},
    )
