"""Building a model on the meta device and tracing it (imports torch)."""

from __future__ import annotations

import torch
from torch.utils._python_dispatch import TorchDispatchMode

from roofsweep.errors import ModelBuildError, RoofsweepError
from roofsweep.layertable import TraceResult
from roofsweep.trace.fusion import fuse
from roofsweep.trace.tracer import run_trace


def _first_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return text[0] if text else type(e).__name__


def trace_module(
    model: torch.nn.Module,
    input_shape: tuple[int, ...],
    label: str = "model",
    check_shapes: bool = False,
    meta: dict | None = None,
) -> TraceResult:
    """Trace an ``nn.Module`` (moved to the meta device if it is not there) on one input shape."""
    model = model.eval()
    if any(p.device.type != "meta" for p in model.parameters()):
        model = model.to("meta")
    try:
        example = torch.empty(tuple(input_shape), device="meta")
        raw = run_trace(model, example, check_shapes=check_shapes)
    except RoofsweepError:
        raise
    except (RuntimeError, ValueError, TypeError, IndexError, AssertionError, OverflowError) as e:
        shape = "x".join(map(str, input_shape))
        raise ModelBuildError(f"tracing {label} on input {shape} failed: {_first_line(e)}") from e
    layers = fuse(raw.records, label)
    return TraceResult(
        model=label,
        layers=layers,
        params=raw.params,
        input_shape=tuple(int(s) for s in input_shape),
        unsupported_ops=raw.unsupported,
        zero_cost_ops=raw.zero_cost,
        meta=dict(meta or {}),
    )


class _SkipInPlaceInit(TorchDispatchMode):
    """While a model is *built* on the meta device, in-place ops can only be weight init
    (``uniform_``, ``normal_``, ``fill_``...). On meta they compute nothing yet still run torch's
    Python reference kernels, which costs more than tracing the model; return them at once."""

    @classmethod
    def _should_skip_dynamo(cls) -> bool:  # see _DispatchRecorder: no torch._dynamo import
        return False

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        name = func.overloadpacket.__name__
        if name.endswith("_") and not name.endswith("__") and args and isinstance(args[0], torch.Tensor) \
                and args[0].device.type == "meta":
            return args[0]
        return func(*args, **(kwargs or {}))


def build_on_meta(ref) -> torch.nn.Module:
    """Build the model a ``ModelRef`` names on the meta device (no memory, no weight init).

    A few external models cannot be *constructed* on the meta device (their ``__init__`` reads
    tensor values, e.g. ``.item()``); those are built on the CPU, then moved to the meta device.
    """
    from roofsweep import zoo

    try:
        with torch.device("meta"), _SkipInPlaceInit():
            return zoo.build(ref)
    except ModelBuildError as e:
        if ref.is_zoo or "meta tensor" not in str(e):
            raise
    return zoo.build(ref).to("meta")


def trace(ref, check_shapes: bool = False) -> TraceResult:
    """Build the model named by a ``ModelRef`` on the meta device and trace it."""
    model = build_on_meta(ref)
    meta = {
        "spec": ref.spec,
        "width": ref.width,
        "resolution": ref.resolution,
        "batch": ref.batch,
        "family": ref.family,
        "display_name": ref.display_name,
        "top1": ref.top1,
        "top1_source": ref.top1_source,
    }
    return trace_module(model, ref.input_shape, ref.label, check_shapes=check_shapes, meta=meta)
