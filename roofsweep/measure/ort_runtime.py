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
  per-module self times (``roofsweep.measure.attribution``). A node onnxruntime made by
  fusing others carries no scope (``Gelu_token_8``, ``SkipLayerNormalization``, a fused conv
  + activation named after a graph output ``3_nchwc``): the profiled session also writes its
  optimised graph, and such a node is traced through its output tensors to the exported node
  that wrote them (``node_origins``). Nodes onnxruntime inserts to change the layout (``ReorderInput``/``ReorderOutput``,
  known by their op, ``LAYOUT_OPS``) are reported as unattributed ``<layout>``; a node that
  can be traced to no module as ``<runtime>``; neither is dropped.
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
from roofsweep.measure.attribution import ROOT, measured_rows
from roofsweep.measure.latency import MeasureResult
from roofsweep.measure.prepare import _allocator, _clock, _materialise, _one_line, fold_batchnorms
from roofsweep.measure.timing import statistic_of, timed_runs

RUNTIME_UNATTRIBUTED = "<runtime>"
#: Unattributed key of the layout changes onnxruntime inserts (``LAYOUT_OPS``).
LAYOUT_CHANGES = "<layout>"
#: Ops onnxruntime inserts around the kernels (NCHWc layout changes, host/device copies): a
#: model pays them at its ends and around ops without an NCHWc kernel, once per run.
LAYOUT_OPS = frozenset({"ReorderInput", "ReorderOutput", "MemcpyToHost", "MemcpyFromHost"})
OPSET = 18
OPTIMISED_SUFFIX = "-optimised.onnx"
_KERNEL = re.compile(r"^(?P<node>.*)_kernel_time$")
_RENAMED = re.compile(r"(_nchwc)+$")  # onnxruntime's suffix for a node named after its output


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


def node_module(node_name: str, modules: set[str], origins: dict[str, str] | None = None) -> str:
    """Module path of an ONNX node from its scoped name (see the module docstring).

    ``/features/features.0/features.0.conv/Conv`` and ``/features/0/conv/Conv`` both give
    ``features.0.conv``; ``/layer2/layer2.0/downsample/downsample.0/Conv`` (a segment named
    relative to the one before it) gives ``layer2.0.downsample.0``; an op called in a module's
    own ``forward`` (``/blocks.2/Add``) gives that module; a top-level op ``<root>``. A name
    without a scope is looked up in ``origins`` (``node_origins``), as it is and less
    onnxruntime's ``_nchwc`` suffix; failing that it gives ``RUNTIME_UNATTRIBUTED``.
    """
    name = node_name[len("fused "):] if node_name.startswith("fused ") else node_name
    if "/" not in name and origins:
        name = origins.get(name) or origins.get(_RENAMED.sub("", name)) or name
    if "/" not in name:
        return RUNTIME_UNATTRIBUTED
    path, prev = "", ""
    for seg in (s for s in name.split("/")[:-1] if s):
        if prev and seg.startswith(prev + "."):  # named relative to the segment before
            path = path[:len(path) - len(prev)] + seg
        else:
            path = f"{path}.{seg}" if path else seg
        prev = seg
    while path and path not in modules:  # innermost scope that is a real module
        path = path.rpartition(".")[0]
    return path or ROOT


def _graph(path: Path):
    import onnx

    return onnx.load(str(path), load_external_data=False).graph


def node_origins(exported: Path, optimised: Path | None = None) -> dict[str, str]:
    """Where each unscoped node comes from: tensor name -> the exported node that writes it, and
    (from onnxruntime's ``optimised`` graph, when it was written) fused node name -> the
    exported node that wrote one of its outputs, else the origin of the node that wrote its
    first input (a ``Gelu`` fused between two layout changes belongs to the conv before it)."""
    writer = {out: node.name for node in _graph(exported).node for out in node.output if node.name}
    origins = dict(writer)
    if optimised is None or not optimised.is_file():
        return origins
    nodes = list(_graph(optimised).node)
    wrote = {out: node for node in nodes for out in node.output}

    def origin(node) -> str | None:
        seen: set[str] = set()
        while "/" not in node.name:
            known = next((writer[o] for o in (_RENAMED.sub("", out) for out in node.output) if o in writer), None)
            if known:
                return known
            first = next((i for i in node.input if i), None)
            if first is None or first in seen:
                return None
            seen.add(first)
            if _RENAMED.sub("", first) in writer:
                return writer[_RENAMED.sub("", first)]
            if first not in wrote:
                return None
            node = wrote[first]
        return node.name

    for node in nodes:
        if node.name and "/" not in node.name:
            src = origin(node)
            if src:
                origins[node.name] = src
    return origins


def profile_node_times(trace_events: list, modules: set[str], runs: int,
                       origins: dict[str, str] | None = None) -> dict[str, float]:
    """Median per-run time (s) of each module from onnxruntime profiler events; the layout
    changes onnxruntime inserts (``LAYOUT_OPS``, by op) under ``LAYOUT_CHANGES``."""
    per_node: dict[str, list[float]] = defaultdict(list)
    op_of: dict[str, str] = {}
    for ev in trace_events:
        if ev.get("cat") != "Node":
            continue
        m = _KERNEL.match(str(ev.get("name", "")))
        if m:
            per_node[m.group("node")].append(float(ev.get("dur", 0)) * 1e-6)  # microseconds
            op_of[m.group("node")] = str((ev.get("args") or {}).get("op_name", ""))
    out: dict[str, float] = defaultdict(float)
    for node, times in per_node.items():
        # a node runs once per run; pad missing runs with 0 so the median is per run
        times = times + [0.0] * max(0, runs - len(times))
        key = LAYOUT_CHANGES if op_of[node] in LAYOUT_OPS else node_module(node, modules, origins)
        out[key] += statistics.median(times)
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
        so.optimized_model_filepath = profile_prefix + OPTIMISED_SUFFIX  # for node_origins
    provider = "CUDAExecutionProvider" if device == "cuda" else "CPUExecutionProvider"
    if provider not in ort.get_available_providers():
        raise MeasurementError(f"onnxruntime has no {provider} on this host (device '{device}'); use --device cpu")
    return ort.InferenceSession(str(path), so, providers=[provider])


def kernel_runs(node_events: list, per_run: int) -> list[float]:
    """Per profiled run: the seconds its kernels took, layout changes (``LAYOUT_OPS``) excluded
    - a graph's own work without ``session.run``'s cost around it (input and output handling),
    which a one-layer graph pays once per layer but a model once."""
    out = []
    for start in range(0, len(node_events) - per_run + 1, max(per_run, 1)):
        out.append(sum(float(e.get("dur", 0)) * 1e-6 for e in node_events[start:start + per_run]
                       if _KERNEL.match(str(e.get("name", "")))
                       and str((e.get("args") or {}).get("op_name", "")) not in LAYOUT_OPS))
    return out


#: Warm-up of a profiled session: a fresh session's kernels run up to ~40 % slower for their
#: first ~20 runs (a one-layer graph's ``Conv``: 70 us in runs 1-5, 50 us from run 20 on), so at
#: least one run, and more until ``PROFILE_WARMUP_RUNS`` runs or ``PROFILE_WARMUP_S`` seconds.
PROFILE_WARMUP_RUNS = 25
PROFILE_WARMUP_S = 0.1


def profile_warmup(psess, feed: dict) -> int:
    """Run ``psess`` until warm (see ``PROFILE_WARMUP_RUNS``); returns how many runs it took."""
    import time

    start, runs = time.perf_counter(), 0
    while runs < 1 or (runs < PROFILE_WARMUP_RUNS and time.perf_counter() - start < PROFILE_WARMUP_S):
        psess.run(None, feed)
        runs += 1
    return runs


def _profiled_self_times(psess, feed: dict, per_layer_repeats: int, modules: set[str],
                         whole_s: float, origins: dict[str, str]) -> tuple[dict[str, float], float, list[float]]:
    """Per-module self times from onnxruntime's profiler over ``per_layer_repeats`` runs (after
    ``profile_warmup`` runs), rescaled so they sum to ``whole_s``; returns (times, the scale,
    the kernel seconds of each profiled run (``kernel_runs``))."""
    warm = profile_warmup(psess, feed)
    for _ in range(per_layer_repeats):
        psess.run(None, feed)
    events = json.loads(Path(psess.end_profiling()).read_text())
    # drop the warm-up runs' node events
    node_events = [e for e in events if e.get("cat") == "Node"]
    per_run = len(node_events) // (per_layer_repeats + warm) if node_events else 0
    node_events = node_events[warm * per_run:]
    module_self = profile_node_times(node_events, modules, per_layer_repeats, origins)
    # the profiler's clock is wall time: rescale to the whole-model figure, so the
    # per-layer times are shares of the latency measured with the chosen clock
    profiled = sum(module_self.values())
    profile_scale = whole_s / profiled if profiled > 0 else 1.0
    kernels = kernel_runs(node_events, per_run) if per_run else []
    return {k: v * profile_scale for k, v in module_self.items()}, profile_scale, kernels


def measure_module_ort(module, example_input, *, layers=None, label: str = "model", device: str = "cpu",
                       repeats: int = 20, warmup: int = 5, per_layer: bool = True,
                       per_layer_repeats: int | None = None, fold_bn: bool = True, threads: int = 1,
                       max_repeats: int | None = None, max_seconds: float = 30.0, statistic: str = "median",
                       clock: str = "wall", flush_cache_bytes: int = 0, allocator: str = "retain",
                       progress=None, **_ignored) -> MeasureResult:
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
    allocator = _allocator(allocator)
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
            profile_scale, kernels = None, []
            if per_layer:
                prefix = os.path.join(tmp, "profile")
                psess = _session(ort, path, threads, device, prefix)
                module_self, profile_scale, kernels = _profiled_self_times(
                    psess, feed, per_layer_repeats, modules, statistic_of(timing.samples_s, statistic),
                    node_origins(path, Path(prefix + OPTIMISED_SUFFIX)))
        except MeasurementError:
            raise
        except Exception as exc:  # onnxruntime raises its own exception types
            raise MeasurementError(f"{label} cannot run on onnxruntime: {_one_line(exc)}") from exc
    per_rows, unattributed, unmatched = None, {}, []
    if per_layer and layers is not None:
        per_rows, unattributed, unmatched = measured_rows(layers, module_self)
    return MeasureResult(
        model=label, device=device, threads=int(threads), latency_s=statistic_of(timing.samples_s, statistic),
        latencies_s=list(timing.samples_s), warmup=warmup, repeats=len(timing.samples_s), input_shape=shape,
        module_self_s=module_self, hooked_total_s=sum(module_self.values()) if module_self else None,
        layers=per_rows, unattributed_s=unattributed, unmatched_rows=unmatched,
        meta={"folded_bn": folded, "runtime": "onnxruntime", "stable": timing.stable, "statistic": statistic, "clock": clock,
              "onnxruntime_version": ort.__version__, "graph_optimization": "ORT_ENABLE_ALL",
              "per_layer_repeats": per_layer_repeats if per_layer else 0, "profile_scale": profile_scale,
              "kernel_runs_s": kernels, "allocator": allocator, "page_faults_per_run": timing.faults_per_run},
    )
