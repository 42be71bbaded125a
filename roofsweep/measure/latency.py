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
from collections.abc import Sequence
from dataclasses import dataclass, field

import pandas as pd

from roofsweep.errors import MeasurementError, RoofsweepError
from roofsweep.measure.allocator import fault_warning
from roofsweep.measure.attribution import measured_rows
from roofsweep.measure.hooks import hooked_self_times
from roofsweep.measure.prepare import (  # noqa: F401 - fold_batchnorms is public here too
    Progress,
    _allocator,
    _clock,
    _device,
    _materialise,
    _one_line,
    _time_forward,
    fold_batchnorms,
)
from roofsweep.measure.timing import STATISTICS, noise_warning, spread_of, statistic_of

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

    def warning(self) -> str | None:
        """One line when the timed runs varied by more than 20 % (IQR / median) or page-faulted
        (``allocator.fault_warning``), else None."""
        found = [w for w in (noise_warning(self.model, self.latencies_s),
                             fault_warning(self.model, self.meta.get("page_faults_per_run"),
                                           self.meta.get("allocator"))) if w]
        return "; ".join(found) if found else None

    def summary(self) -> dict:
        """One flat row for tables / JSON: the median and the spread of the timed runs."""
        spread = spread_of(self.latencies_s)
        return {
            "model": self.model,
            "runtime": self.meta.get("runtime", "torch"),
            "device": self.device,
            "threads": self.threads,
            "latency_s": self.latency_s,
            "min_s": spread["min_s"],
            "max_s": spread["max_s"],
            "iqr_s": spread["iqr_s"],
            "repeats": self.repeats,
            "warmup": self.warmup,
            "hooked_total_s": self.hooked_total_s,
            "unattributed_s": sum(self.unattributed_s.values()),
            "allocator": self.meta.get("allocator"),
            "page_faults_per_run": self.meta.get("page_faults_per_run"),
        }


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
    max_repeats: int | None = None,
    max_seconds: float = 30.0,
    threads: int | None = None,
    statistic: str = "median",
    clock: str = "wall",
    flush_cache_bytes: int = 0,
    allocator: str = "retain",
    progress: Progress | None = None,
    _copy: bool = True,
) -> MeasureResult:
    """Measure an ``nn.Module`` on ``example_input`` (a tensor, or a shape for a random normal one).

    ``layers`` is the module's LayerTable (needed to fold BN and to report per-layer rows; without
    it only per-module self times are returned). The module is copied before BN folding unless
    the caller owns it (``_copy=False``). Timing: ``warmup`` untimed runs, then at least
    ``repeats`` timed ones, more (up to ``max_repeats``, default ``repeats``, or ``max_seconds``)
    until the median is stable (``roofsweep.measure.timing``). ``allocator``: what happens to
    freed memory (``roofsweep.measure.allocator``: ``retain``, the default, or ``system``).
    Raises ``MeasurementError`` (one line) when the model cannot run on the device.
    """
    import torch

    max_repeats, per_layer_repeats, clock_fn, dev = _checked_options(
        repeats, warmup, max_repeats, statistic, threads, clock, device, memory_format, per_layer_repeats)
    allocator = _allocator(allocator)
    model = module
    if _copy and fold_bn and layers is not None:
        model = copy.deepcopy(module)
    _materialise(model)
    folded = fold_batchnorms(model, layers) if fold_bn else []
    model.eval()
    hook_warmup = min(warmup, 2)  # the hooked run follows a warm model
    total = warmup + max_repeats + (hook_warmup + per_layer_repeats if per_layer else 0)
    flushed = bool(flush_denormal and torch.set_flush_denormal(True))
    try:
        x, memory_format, timing, module_self, hooked_total = _timed(
            model, example_input, dev, memory_format, label, progress, total, clock_fn,
            (warmup, repeats, max_repeats, max_seconds, flush_cache_bytes),
            (per_layer, hook_warmup, per_layer_repeats))
    finally:
        if flushed:
            torch.set_flush_denormal(False)
    if progress:
        progress(f"{label}: done", total, total)
    meta = {
        "folded_bn": folded,
        "memory_format": memory_format,
        "flush_denormal": flushed,
        "per_layer_repeats": per_layer_repeats if per_layer else 0,
        "torch_version": torch.__version__.split("+")[0],
        "runtime": "torch",
        "stable": timing.stable,
        "statistic": statistic,
        "clock": clock,
        "allocator": allocator,
        "page_faults_per_run": timing.faults_per_run,
    }
    return _result(label, dev, timing, statistic, warmup, x, module_self, hooked_total,
                   layers if per_layer else None, meta)


def _result(label: str, dev, timing, statistic: str, warmup: int, x, module_self: dict[str, float],
            hooked_total, layers: pd.DataFrame | None, meta: dict) -> MeasureResult:
    """The ``MeasureResult`` of one measurement: per-layer rows attributed when ``layers`` is
    given (per-layer runs only)."""
    import torch

    per_rows = None
    unattributed: dict[str, float] = {}
    unmatched: list[int] = []
    if layers is not None:
        per_rows, unattributed, unmatched = measured_rows(layers, module_self)
    return MeasureResult(
        model=label,
        device=str(dev),
        threads=torch.get_num_threads(),
        latency_s=statistic_of(timing.samples_s, statistic),
        latencies_s=list(timing.samples_s),
        warmup=warmup,
        repeats=len(timing.samples_s),
        input_shape=tuple(x.shape),
        module_self_s=module_self,
        hooked_total_s=hooked_total,
        layers=per_rows,
        unattributed_s=unattributed,
        unmatched_rows=unmatched,
        meta=meta,
    )


def _checked_options(repeats, warmup, max_repeats, statistic, threads, clock, device, memory_format,
                     per_layer_repeats):
    """Validate ``measure_module``'s options (and set the thread count) before anything runs;
    returns (max_repeats, per_layer_repeats, clock function, device)."""
    import torch

    if repeats < 1 or warmup < 0:
        raise MeasurementError(f"repeats must be >= 1 and warmup >= 0, got {repeats} and {warmup}")
    max_repeats = repeats if max_repeats is None else max(int(max_repeats), repeats)
    if statistic not in STATISTICS:
        raise MeasurementError(f"unknown statistic '{statistic}'; valid: {', '.join(STATISTICS)}")
    if threads is not None:
        torch.set_num_threads(int(threads))
    clock_fn = _clock(clock, torch.get_num_threads())
    dev = _device(device)
    if memory_format not in MEMORY_FORMATS:
        raise MeasurementError(f"unknown memory format '{memory_format}'; valid: {', '.join(MEMORY_FORMATS)}")
    if per_layer_repeats is None:
        per_layer_repeats = max(3, repeats // 2)
    return max_repeats, per_layer_repeats, clock_fn, dev


def _timed(model, example_input, dev, memory_format: str, label: str, progress, total: float, clock_fn,
           whole: tuple, hooked: tuple):
    """Move model and input to ``dev`` (and NHWC), then the hook-free timed runs and, when
    asked, the hooked per-module run. ``whole``: (warmup, repeats, max_repeats, max_seconds,
    flush_cache_bytes); ``hooked``: (per_layer, hook_warmup, per_layer_repeats). Returns
    (input, memory format used, timing, module self times, hooked total). A model that cannot
    run is a one-line ``MeasurementError``."""
    import torch

    warmup, repeats, max_repeats, max_seconds, flush_cache_bytes = whole
    per_layer, hook_warmup, per_layer_repeats = hooked
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
            timing = _time_forward(model, x, dev, warmup, repeats, max_repeats, max_seconds, progress,
                                   label, total, clock_fn, flush_cache_bytes)
            module_self: dict[str, float] = {}
            hooked_total = None
            if per_layer:
                module_self, hooked_total = hooked_self_times(
                    model, x, dev, hook_warmup, per_layer_repeats, progress, label,
                    warmup + max_repeats, total, clock_fn)
    except MeasurementError:
        raise
    except (RuntimeError, ValueError, TypeError, NotImplementedError, AssertionError, MemoryError) as exc:
        raise MeasurementError(f"{label} cannot run on {dev}: {_one_line(exc)}") from exc
    return x, memory_format, timing, module_self, hooked_total


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
    runtime: str = "torch",
    **timing,
) -> MeasureResult:
    """Build ``ref`` (a ``ModelRef``) with random weights and measure it (see module docstring)
    on ``runtime`` (``roofsweep.measure.runtimes.RUNTIMES``: torch eager or onnxruntime).

    The LayerTable comes from ``roofsweep.trace.load_or_trace(ref)`` unless ``layers`` is given.
    ``timing``: ``max_repeats``, ``max_seconds``, ``statistic``, ``threads`` (see ``measure_module``).
    """
    from roofsweep.measure.runtimes import runtime_function

    measure = runtime_function(runtime)
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
    extra = {"memory_format": memory_format, "flush_denormal": flush_denormal, "_copy": False} \
        if runtime == "torch" else {}
    return measure(
        module, ref.input_shape, layers=layers, label=ref.label, device=device, repeats=repeats,
        warmup=warmup, per_layer=per_layer, per_layer_repeats=per_layer_repeats, fold_bn=fold_bn,
        progress=progress, **extra, **timing,
    )


def measure_models(refs: Sequence, progress: Progress | None = None, **kwargs) -> dict[str, MeasureResult]:
    """``measure_model`` for each ref, keyed by label (progress descriptions name the model)."""
    out: dict[str, MeasureResult] = {}
    for ref in refs:
        out[ref.label] = measure_model(ref, progress=progress, **kwargs)
    return out


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
        layers, unattributed, unmatched = measured_rows(layers, self_s)
    return MeasureResult(
        model=first.model, device=first.device, threads=first.threads,
        latency_s=statistic_of(latencies, first.meta.get("statistic", "median")), latencies_s=latencies,
        warmup=first.warmup, repeats=sum(r.repeats for r in results), input_shape=first.input_shape,
        module_self_s=self_s, hooked_total_s=statistics.median(hooked) if hooked else None,
        layers=layers, unattributed_s=unattributed, unmatched_rows=unmatched,
        meta={**first.meta, "merged": len(results), "page_faults_per_run": _mean_faults(results)},
    )


def _mean_faults(results: Sequence[MeasureResult]) -> float | None:
    """Page faults per timed run over merged measurements (weighted by their runs); None if unknown."""
    known = [(r.meta.get("page_faults_per_run"), len(r.latencies_s)) for r in results]
    if not known or any(f is None for f, _ in known):
        return None
    runs = sum(n for _, n in known)
    return sum(f * n for f, n in known) / runs if runs else None
