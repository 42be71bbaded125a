"""Measure a model on onnxruntime: ONNX export, whole-model latency, per-node profiler times.

* **Export**: ``torch.onnx.export`` (TorchScript exporter, ``dynamo=False``: ~10x faster than
  the dynamo exporter and its node names carry the module path, ``/blocks/blocks.3/conv/Conv``)
  of the model with BN folded where the LayerTable fused it (as on torch), random weights,
  the traced input shape, opset 18.
* **Session**: CPU execution provider (``CUDAExecutionProvider`` for ``device="cuda"``, a one-line
  error when that provider is absent), ``ORT_ENABLE_ALL`` graph optimisations (onnxruntime
  fuses conv + activation, folds BN, picks NCHWc layouts), ``intra_op_num_threads = threads``,
  sequential execution, denormals as zero (``session.set_denormal_as_zero``, as torch's
  flush; see docs/ground-truth.md).
* **Whole-model latency**: ``roofsweep.measure.timing.timed_runs`` on ``session.run`` (no
  profiling).
* **Per layer**: a second session with ``enable_profiling``; onnxruntime's JSON trace has one
  ``Node`` event ``<node name>_kernel_time`` per node per run. The node name's scope
  (``/a/a.b/Op`` -> module ``a.b``; a fused node is named after its last member's output,
  ``/blocks.0/act/Relu_output_0_nchwc``) gives the module path; the median over runs of each
  node's time is summed per module and attributed to LayerTable rows exactly like torch's
  per-module self times (``roofsweep.measure.attribution``). Nodes onnxruntime inserts
  (``ReorderInput``/``ReorderOutput`` layout changes) have no scope: they are reported as
  unattributed (``<runtime>``), never dropped.
"""

from __future__ import annotations

import json
import os
import re
import statistics
import tempfile
from collections import defaultdict
from pathlib import Path

from roofsweep.errors import MeasurementError
from roofsweep.measure.attribution import ROOT, attribute
from roofsweep.measure.latency import MeasureResult
from roofsweep.measure.prepare import _clock, _materialise, _one_line, fold_batchnorms
from roofsweep.measure.timing import statistic_of, timed_runs

RUNTIME_UNATTRIBUTED = "<runtime>"
OPSET = 18
_KERNEL = re.compile(r"^(?P<node>.*)_kernel_time$")


def ort_module():
    """``onnxruntime``, or a one-line error naming the extra."""
    try:
        import onnxruntime
    except ImportError:
        from roofsweep.measure.fit import MissingExtraError

        raise MissingExtraError('the onnxruntime runtime needs onnxruntime and onnx: pip install "roofsweep[ort]"') from None
    return onnxruntime


def export_onnx(model, x, path: Path, label: str) -> None:
    """TorchScript-exporter ONNX file of ``model`` on ``x``; ``MeasurementError`` naming the op."""
    import warnings

    import torch

    try:
        import onnx  # noqa: F401  (the exporter needs it)
    except ImportError:
        from roofsweep.measure.fit import MissingExtraError

        raise MissingExtraError('ONNX export needs onnx: pip install "roofsweep[ort]"') from None
    try:
        with warnings.catch_warnings(), torch.inference_mode(False), torch.no_grad():
            warnings.simplefilter("ignore")
            torch.onnx.export(model, (x,), str(path), dynamo=False, opset_version=OPSET,
                              input_names=["input"], do_constant_folding=True)
    except Exception as exc:  # the exporter raises many types; all mean "cannot export"
        raise MeasurementError(f"{label}: cannot export to ONNX: {_one_line(exc)}") from exc


def node_module(node_name: str, modules: set[str]) -> str:
    """Module path of an ONNX node from its scoped name (see the module docstring).

    ``/features/features.0/features.0.0/Conv`` and ``/features/0/0/Conv`` both give
    ``features.0.0``; an op called in a module's own ``forward`` (``/blocks.2/Add``) gives that
    module; a name without a scope gives ``RUNTIME_UNATTRIBUTED``; a top-level op ``<root>``.
    """
    if "/" not in node_name:
        return RUNTIME_UNATTRIBUTED
    segments = [s for s in node_name.split("/")[:-1] if s]
    path = ""
    for seg in segments:
        path = seg if (path and seg.startswith(path + ".")) or not path else f"{path}.{seg}"
    while path and path not in modules:  # innermost scope that is a real module
        path = path.rpartition(".")[0]
    return path or ROOT


def profile_node_times(trace_events: list, modules: set[str], runs: int) -> dict[str, float]:
    """Median per-run time (s) of each module from onnxruntime profiler events."""
    per_node: dict[str, list[float]] = defaultdict(list)
    for ev in trace_events:
        if ev.get("cat") != "Node":
            continue
        m = _KERNEL.match(str(ev.get("name", "")))
        if m:
            per_node[m.group("node")].append(float(ev.get("dur", 0)) * 1e-6)  # microseconds
    out: dict[str, float] = defaultdict(float)
    for node, times in per_node.items():
        # a node runs once per run; pad missing runs with 0 so the median is per run
        times = times + [0.0] * max(0, runs - len(times))
        out[node_module(node, modules)] += statistics.median(times)
    return dict(out)


def _session(ort, path: Path, threads: int, device: str, profile_prefix: str | None):
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.intra_op_num_threads = int(threads)
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.add_session_config_entry("session.set_denormal_as_zero", "1")
    so.log_severity_level = 3
    if profile_prefix:
        so.enable_profiling = True
        so.profile_file_prefix = profile_prefix
    provider = "CUDAExecutionProvider" if device == "cuda" else "CPUExecutionProvider"
    if provider not in ort.get_available_providers():
        raise MeasurementError(f"onnxruntime has no {provider} on this host (device '{device}'); use --device cpu")
    return ort.InferenceSession(str(path), so, providers=[provider])


def _profiled_self_times(psess, feed: dict, per_layer_repeats: int, modules: set[str],
                         whole_s: float) -> tuple[dict[str, float], float]:
    """Per-module self times from onnxruntime's profiler over ``per_layer_repeats`` runs (after
    one warm-up run), rescaled so they sum to ``whole_s``; returns (times, the scale)."""
    for _ in range(per_layer_repeats + 1):
        psess.run(None, feed)
    events = json.loads(Path(psess.end_profiling()).read_text())
    # the first run is a warm-up: drop its node events
    node_events = [e for e in events if e.get("cat") == "Node"]
    per_run = len(node_events) // (per_layer_repeats + 1) if node_events else 0
    module_self = profile_node_times(node_events[per_run:], modules, per_layer_repeats)
    # the profiler's clock is wall time: rescale to the whole-model figure, so the
    # per-layer times are shares of the latency measured with the chosen clock
    profiled = sum(module_self.values())
    profile_scale = whole_s / profiled if profiled > 0 else 1.0
    return {k: v * profile_scale for k, v in module_self.items()}, profile_scale


def measure_module_ort(module, example_input, *, layers=None, label: str = "model", device: str = "cpu",
                       repeats: int = 20, warmup: int = 5, per_layer: bool = True,
                       per_layer_repeats: int | None = None, fold_bn: bool = True, threads: int = 1,
                       max_repeats: int | None = None, max_seconds: float = 30.0, statistic: str = "median",
                       clock: str = "wall", flush_cache_bytes: int = 0, progress=None,
                       **_ignored) -> MeasureResult:
    """``measure_module``'s counterpart on onnxruntime (same result type; see module docstring)."""
    import copy

    import numpy as np
    import torch

    ort = ort_module()
    if repeats < 1 or warmup < 0:
        raise MeasurementError(f"repeats must be >= 1 and warmup >= 0, got {repeats} and {warmup}")
    if device not in ("cpu", "cuda"):
        raise MeasurementError(f"unsupported device '{device}'; valid: cpu, cuda")
    max_repeats = repeats if max_repeats is None else max(int(max_repeats), repeats)
    clock_fn = _clock(clock, int(threads))
    per_layer_repeats = per_layer_repeats or max(3, repeats // 2)
    model = copy.deepcopy(module)
    _materialise(model)
    folded = fold_batchnorms(model, layers) if fold_bn else []
    model.eval()
    shape = tuple(int(s) for s in (example_input.shape if isinstance(example_input, torch.Tensor) else example_input))
    x = example_input if isinstance(example_input, torch.Tensor) else torch.randn(shape, generator=torch.Generator().manual_seed(0))
    modules = {p for p, _ in model.named_modules() if p}
    with tempfile.TemporaryDirectory(prefix="roofsweep-ort-") as tmp:
        path = Path(tmp) / "model.onnx"
        export_onnx(model, x, path, label)
        feed = {"input": x.numpy().astype(np.float32)}
        try:
            sess = _session(ort, path, threads, device, None)
            total = warmup + max_repeats
            before = None
            if flush_cache_bytes > 0:  # weights cold, input hot (see prepare._time_forward)
                buf = np.zeros(int(flush_cache_bytes) // 4, dtype=np.float32)

                def before():
                    np.add(buf, 1.0, out=buf)
                    feed["input"].sum()
            timing = timed_runs(lambda: sess.run(None, feed), warmup=warmup, min_repeats=repeats, before=before,
                                max_repeats=max_repeats, max_seconds=max_seconds, clock=clock_fn,
                                on_run=(lambda i, n: progress(f"{label}: onnxruntime", i, total)) if progress else None)
            module_self: dict[str, float] = {}
            profile_scale = None
            if per_layer:
                module_self, profile_scale = _profiled_self_times(
                    _session(ort, path, threads, device, os.path.join(tmp, "profile")), feed, per_layer_repeats,
                    modules, statistic_of(timing.samples_s, statistic))
        except MeasurementError:
            raise
        except Exception as exc:  # onnxruntime raises its own exception types
            raise MeasurementError(f"{label} cannot run on onnxruntime: {_one_line(exc)}") from exc
    per_rows, unattributed, unmatched = None, {}, []
    if per_layer and layers is not None:
        att = attribute(layers, module_self)
        per_rows = layers.copy()
        per_rows["measured_s"] = att.measured_s.to_numpy()
        unattributed, unmatched = att.unattributed_s, att.unmatched_rows
    return MeasureResult(
        model=label, device=device, threads=int(threads), latency_s=statistic_of(timing.samples_s, statistic),
        latencies_s=list(timing.samples_s), warmup=warmup, repeats=len(timing.samples_s), input_shape=shape,
        module_self_s=module_self, hooked_total_s=sum(module_self.values()) if module_self else None,
        layers=per_rows, unattributed_s=unattributed, unmatched_rows=unmatched,
        meta={"folded_bn": folded, "runtime": "onnxruntime", "stable": timing.stable, "statistic": statistic, "clock": clock,
              "onnxruntime_version": ort.__version__, "graph_optimization": "ORT_ENABLE_ALL",
              "per_layer_repeats": per_layer_repeats if per_layer else 0, "profile_scale": profile_scale},
    )
