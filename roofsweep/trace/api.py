"""Building a model on the meta device and tracing it (imports torch).

``trace_module`` never modifies the module it is given: it traces a meta-device copy (a model
already on the meta device is traced as it is, its train/eval flags restored afterwards). A model
whose control flow reads tensor values (detection: ``nonzero``, ``nms``, ``.item()``) cannot run
on the meta device; it is then traced once more on real CPU tensors holding random data, and its
rows are marked ``data_dependent``.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence

import torch
from torch.utils._python_dispatch import TorchDispatchMode

from roofsweep.errors import ModelBuildError, RoofsweepError
from roofsweep.layertable import TraceResult
from roofsweep.trace.fusion import fuse
from roofsweep.trace.tracer import RawTrace, run_trace

# Errors a user's forward() may raise on a well-formed input it does not accept: each becomes a
# one-line ModelBuildError naming the model. (BaseException such as KeyboardInterrupt propagates.)
_FORWARD_ERRORS = (
    RuntimeError, ValueError, TypeError, IndexError, KeyError, AttributeError, AssertionError,
    OverflowError, ZeroDivisionError, StopIteration, NotImplementedError, ArithmeticError,
    LookupError, MemoryError,
)
# The largest input (elements over all inputs) traced on real CPU tensors: 64 M floats, 256 MB.
MAX_REAL_INPUT_ELEMS = 64 * 2**20


def _first_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return text[0] if text else type(e).__name__


def _described(e: BaseException) -> str:
    """``KeyError: 'head'`` - the type tells what a bare message (``'head'``) does not."""
    text = str(e).strip().splitlines()
    return f"{type(e).__name__}: {text[0]}" if text else type(e).__name__


def input_shapes(shape) -> tuple[tuple[int, ...], ...]:
    """One shape (``(1, 3, 224, 224)``) or a sequence of shapes, one per positional input."""
    if isinstance(shape, (tuple, list)) and shape and isinstance(shape[0], (tuple, list)):
        return tuple(tuple(int(d) for d in s) for s in shape)
    return (tuple(int(d) for d in shape),)


def _shape_text(shapes: Sequence[tuple[int, ...]]) -> str:
    return ", ".join("x".join(map(str, s)) for s in shapes)


def _is_data_dependent(e: BaseException) -> bool:
    """The meta device cannot run this model: an op reads tensor values (or has no meta kernel)."""
    if isinstance(e, NotImplementedError):
        return True
    text = str(e)
    return isinstance(e, RuntimeError) and ("meta tensor" in text or "data-dependent" in text
                                            or "'Meta' backend" in text)


def _on_meta(model: torch.nn.Module) -> bool:
    """Every parameter and buffer is on the meta device (one walk over the module tree)."""
    for m in model.modules():
        for t in (*m._parameters.values(), *m._buffers.values()):
            if t is not None and t.device.type != "meta":
                return False
    return True


def meta_copy(model: torch.nn.Module) -> torch.nn.Module:
    """A copy of ``model`` on the meta device; the original (its weights, device) is untouched.

    Parameters and buffers are replaced by meta tensors *before* copying, so no weight data is
    ever duplicated.
    """
    memo: dict[int, object] = {}
    for t in (*model.parameters(), *model.buffers()):
        meta = torch.empty_like(t, device="meta")
        memo[id(t)] = torch.nn.Parameter(meta, requires_grad=t.requires_grad) \
            if isinstance(t, torch.nn.Parameter) else meta
    try:
        return copy.deepcopy(model, memo)
    except Exception as e:  # noqa: BLE001 - a module holding something that cannot be copied
        raise ModelBuildError(f"cannot copy the model to trace it: {_first_line(e)}") from e


def _cpu_copy(model: torch.nn.Module) -> torch.nn.Module:
    """A CPU copy with data: the weights it has, or a fresh initialisation of a meta model."""
    if not _on_meta(model):
        return copy.deepcopy(model).to("cpu")
    cpu = copy.deepcopy(model).to_empty(device="cpu")
    with torch.no_grad():
        for t in (*cpu.parameters(), *cpu.buffers()):
            if t.is_floating_point():
                t.normal_(0.0, 0.02)
            else:
                t.zero_()
        for m in cpu.modules():  # each module's own initialisation where it has one
            reset = getattr(m, "reset_parameters", None)
            if callable(reset):
                reset()
    return cpu


def _run(model, shapes, label: str, check_shapes: bool, real: bool) -> RawTrace:
    device = "cpu" if real else "meta"
    try:
        generator = torch.Generator().manual_seed(0)
        examples = [torch.rand(s, generator=generator) if real else torch.empty(s, device=device)
                    for s in shapes]
        return run_trace(model, examples, check_shapes=check_shapes, real=real)
    except RoofsweepError:
        raise
    except _FORWARD_ERRORS as e:
        if not real and _is_data_dependent(e):
            raise _DataDependent(e) from e
        raise ModelBuildError(
            f"tracing {label} on input {_shape_text(shapes)} failed: {_described(e)}"
        ) from e


class _DataDependent(Exception):
    def __init__(self, cause: BaseException):
        super().__init__(str(cause))
        self.cause = cause


def trace_module(
    model: torch.nn.Module,
    input_shape,
    label: str = "model",
    check_shapes: bool = False,
    meta: dict | None = None,
    cpu_model: Callable[[], torch.nn.Module] | None = None,
) -> TraceResult:
    """Trace an ``nn.Module`` on one input shape, or a sequence of shapes (one per input).

    The module is never modified. ``cpu_model`` builds a CPU copy with initialised weights for a
    data-dependent model given on the meta device (else its meta copy is initialised afresh).
    """
    if not isinstance(model, torch.nn.Module):
        raise ModelBuildError(f"{label}: expected a torch.nn.Module, got {type(model).__name__}")
    shapes = input_shapes(input_shape)
    target = model if _on_meta(model) else meta_copy(model)
    training = [m for m in target.modules() if m.training]
    try:
        for m in training:  # eval(), remembering what to restore on a module the caller holds
            m.training = False
        raw = _run(target, shapes, label, check_shapes, real=False)
    except _DataDependent as dd:
        raw = _trace_real(model, cpu_model, shapes, label, dd.cause)
    finally:
        for m in training:
            m.training = True
    info = dict(meta or {})
    info.update(input_shapes=[list(s) for s in shapes], data_dependent=raw.data_dependent,
                derived_weight_ops=raw.derived_weight_ops)
    return TraceResult(
        model=label,
        layers=fuse(raw.records, label, data_dependent=raw.data_dependent),
        params=raw.params,
        input_shape=shapes[0],
        unsupported_ops=raw.unsupported,
        zero_cost_ops=raw.zero_cost,
        meta=info,
    )


def _trace_real(model, cpu_model, shapes, label: str, cause: BaseException) -> RawTrace:
    """The fallback for models whose control flow reads tensor values: real tensors on the CPU."""
    elems = sum(math.prod(s) for s in shapes)
    if elems > MAX_REAL_INPUT_ELEMS:
        raise ModelBuildError(
            f"tracing {label} on input {_shape_text(shapes)} failed: {_first_line(cause)} "
            f"(the model reads tensor values; a trace on real tensors is limited to "
            f"{MAX_REAL_INPUT_ELEMS:,} input elements)"
        ) from cause
    try:
        cpu = cpu_model() if cpu_model is not None and _on_meta(model) else _cpu_copy(model)
    except RoofsweepError:
        raise
    except Exception as e:  # noqa: BLE001
        raise ModelBuildError(f"building {label} on the CPU to trace it on real tensors failed: "
                              f"{_described(e)}") from e
    compile_ = torch.compile
    torch.compile = _eager_compile  # torchvision compiles its roi_align fallback on first call
    try:
        return _run(cpu.eval(), shapes, label, check_shapes=False, real=True)
    finally:
        torch.compile = compile_


def _eager_compile(model=None, **_kwargs):
    """``torch.compile`` while tracing on real tensors: the function itself, run eagerly, so the
    recorders see its ops (and torch._dynamo, seconds to import, stays unloaded)."""
    return model if model is not None else (lambda fn: fn)


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
    from roofsweep import zoo

    given = getattr(ref, "module", None)
    model = given if given is not None else build_on_meta(ref)
    meta = {
        "spec": ref.spec,
        "width": ref.width,
        "resolution": ref.resolution,
        "batch": ref.batch,
        "family": ref.family,
        "display_name": ref.display_name,
        "top1": ref.top1,
        "top1_source": ref.top1_source,
        "input_source": getattr(ref, "input_source", ""),
    }
    shapes = getattr(ref, "input_shapes", (ref.input_shape,))
    return trace_module(model, shapes, ref.label, check_shapes=check_shapes, meta=meta,
                        cpu_model=None if given is not None else (lambda: zoo.build(ref)))
