"""Aten-level tracing on the meta device.

The model runs once on the ``meta`` device (no weights allocated, no arithmetic) under a
``TorchDispatchMode`` that sees every aten op after autograd and composite decomposition. Global
module forward hooks keep a stack of the modules being run, so each op is attributed to its
innermost module. A ``TorchFunctionMode`` catches ``F.scaled_dot_product_attention`` before it
decomposes, so attention is one op whatever kernel the backend would pick.

The result is a list of ``OpRecord`` (one per costed op) with data-flow links - which op produced
each activation input - that ``fusion.py`` groups into LayerTable rows. Tensor identity (``id``)
is the link; every tensor is kept alive until the trace ends so ids are never reused.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch.overrides import TorchFunctionMode
from torch.utils._python_dispatch import TorchDispatchMode

from roofsweep.trace import formulas as fm
from roofsweep.trace.shapes import FAST_SHAPES, broadcast

MODEL_INPUT = -1  # producer id of the network's input tensor
UNKNOWN = -2  # produced by an unsupported op, or a constant made inside forward


@dataclass
class OpRecord:
    index: int
    op: str  # aten base name, e.g. "convolution", "relu"
    group: str  # formulas.classify(): compute | norm | activation | elementwise | pool | other
    module: str
    module_type: str
    macs: int = 0
    op_type: str = "other"
    activation: str = ""
    weight_elems: int = 0
    has_bias: bool = False
    channels: int = 0  # output channels (for folding a BatchNorm into a bias)
    # activation inputs: (producer index, distinct elements, shape)
    inputs: list[tuple[int, int, tuple[int, ...]]] = field(default_factory=list)
    # parameter inputs: (distinct elements, shape)
    params: list[tuple[int, tuple[int, ...]]] = field(default_factory=list)
    output_elems: int = 0
    output_shape: tuple[int, ...] = ()
    modules: list[str] = field(default_factory=list)


def distinct_elems(t: torch.Tensor) -> int:
    """Elements actually stored behind a view: broadcast (stride-0) dims count once."""
    n = 1
    for size, stride in zip(t.shape, t.stride()):
        if stride != 0:
            n *= size
    return n


class _State:
    def __init__(self, module_names: dict[int, str], param_ids: set[int]):
        self.module_names = module_names
        self.param_ids = set(param_ids)
        self.stack: list[torch.nn.Module] = []
        self.records: list[OpRecord] = []
        self.producer: dict[int, int] = {}  # id(tensor) -> producer index / MODEL_INPUT / UNKNOWN
        self.keepalive: list[object] = []
        self.unsupported: Counter[str] = Counter()
        self.zero_cost: Counter[str] = Counter()
        self.suspended = False
        self.check_shapes = False

    # -- module attribution -------------------------------------------------------------
    def current_module(self) -> tuple[str, str]:
        if not self.stack:
            return "<root>", ""
        mod = self.stack[-1]
        return self.module_names.get(id(mod), "<root>") or "<root>", type(mod).__name__

    # -- tensors ----------------------------------------------------------------------------
    def is_param(self, t: torch.Tensor) -> bool:
        return id(t) in self.param_ids

    def register_outputs(self, out: object, producer: int, param: bool = False) -> None:
        if isinstance(out, torch.Tensor):
            self.keepalive.append(out)
            if param:
                self.param_ids.add(id(out))
            else:
                self.producer[id(out)] = producer
        elif isinstance(out, (tuple, list)):
            for o in out:
                self.register_outputs(o, producer, param)

    def new_record(self, op: str, group: str, tensor_args: list[torch.Tensor], out) -> OpRecord:
        module, module_type = self.current_module()
        rec = OpRecord(len(self.records), op, group, module, module_type, modules=[module])
        for t in tensor_args:
            if id(t) in self.param_ids:
                rec.params.append((distinct_elems(t), tuple(t.shape)))
            else:
                rec.inputs.append(
                    (self.producer.get(id(t), UNKNOWN), distinct_elems(t), tuple(t.shape))
                )
        rec.weight_elems = sum(p[0] for p in rec.params)
        first = out[0] if isinstance(out, (tuple, list)) else out
        if isinstance(first, torch.Tensor):
            rec.output_elems = first.numel()
            rec.output_shape = tuple(first.shape)
        self.records.append(rec)
        return rec


def _tensor_args(args, kwargs) -> list[torch.Tensor]:
    out = []
    for a in args:
        if isinstance(a, torch.Tensor):
            out.append(a)
        elif isinstance(a, (list, tuple)):
            out.extend(x for x in a if isinstance(x, torch.Tensor))
    if kwargs:
        out.extend(v for v in kwargs.values() if isinstance(v, torch.Tensor))
    return out


class _DispatchRecorder(TorchDispatchMode):
    @classmethod
    def _should_skip_dynamo(cls) -> bool:
        # torch wraps a mode's __torch_dispatch__ in a lazily imported ``dynamo.disable``, whose
        # first call imports torch._dynamo (over a second). A tracer never runs under
        # torch.compile, so it opts out, as torch's own docstring for this hook shows.
        return False

    def __init__(self, state: _State):
        super().__init__()
        self.s = state
        self._info: dict[object, tuple[str, bool, str]] = {}

    def _op_info(self, func) -> tuple[str, bool, str]:
        info = self._info.get(func)
        if info is None:
            name, inplace = fm.base_name(func.overloadpacket.__name__)
            info = (name, inplace, fm.classify(name))
            self._info[func] = info
        return info

    def _run(self, func, args, kwargs):
        fast = FAST_SHAPES.get((func.overloadpacket.__name__, func._overloadname))
        if fast is not None:
            out = fast(args, kwargs)
            if out is not None:
                if self.s.check_shapes:
                    ref = func(*args, **kwargs)
                    _assert_same_shapes(func, out, ref)
                return out
        return func(*args, **kwargs)

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        s = self.s
        if s.suspended:
            return func(*args, **kwargs)
        name, inplace, group = self._op_info(func)
        out = self._run(func, args, kwargs)
        if group == "zero":
            s.zero_cost[name] += 1
            # Views alias their input: the output has the input's producer (or is a parameter).
            src = next((a for a in args if isinstance(a, torch.Tensor)), None)
            if src is not None:
                if id(src) in s.param_ids:
                    s.register_outputs(out, 0, param=True)
                else:
                    s.register_outputs(out, s.producer.get(id(src), UNKNOWN))
            else:
                s.register_outputs(out, UNKNOWN)
            return out
        if group == "unsupported":
            s.unsupported[func.overloadpacket.__name__] += 1
            s.register_outputs(out, UNKNOWN)
            return out

        targs = _tensor_args(args, kwargs)
        rec = s.new_record(name, group, targs, out)
        if group == "compute":
            _cost_compute(rec, name, args, kwargs, targs, out, s)
        elif group == "activation":
            act = fm.ACTIVATION_OPS[name]
            if name == "hardtanh" and _hardtanh_bounds(args, kwargs) == (0.0, 6.0):
                act = "relu6"
            rec.activation = act
            rec.op_type = "elementwise"
        elif group == "elementwise":
            rec.op_type = "elementwise"
        elif group == "pool":
            rec.op_type = "pool"
        else:  # norm, other
            rec.op_type = "other"
        if group == "norm" and name in fm.BATCH_NORM_OPS:
            x = targs[0]
            rec.channels = int(x.shape[1]) if x.dim() > 1 else int(x.shape[0])
            # A BatchNorm folds into 2 per-channel vectors (scale, shift) when it cannot fold
            # into a conv: its running stats are not separate weights at inference time.
            rec.weight_elems = min(rec.weight_elems, 2 * rec.channels)
        s.register_outputs(out, rec.index)
        return out


def _hardtanh_bounds(args, kwargs) -> tuple[float, float]:
    lo = args[1] if len(args) > 1 else kwargs.get("min_val", -1.0)
    hi = args[2] if len(args) > 2 else kwargs.get("max_val", 1.0)
    return float(lo), float(hi)


def _assert_same_shapes(func, fast, ref) -> None:
    fs = [fast] if isinstance(fast, torch.Tensor) else list(fast)
    rs = [ref] if isinstance(ref, torch.Tensor) else list(ref)
    assert [tuple(t.shape) for t in fs] == [tuple(t.shape) for t in rs], (func, fs, rs)
    assert [t.dtype for t in fs] == [t.dtype for t in rs], (func, fs, rs)


def _cost_compute(rec: OpRecord, name: str, args, kwargs, targs, out, s: _State) -> None:
    formula = fm.COMPUTE_FORMULAS[name]
    rec.op_type = fm.COMPUTE_OP_TYPE[name]
    shp = [tuple(a.shape) if isinstance(a, torch.Tensor) else a for a in args]
    if name in ("convolution", "_convolution"):
        x, w, bias = args[0], args[1], args[2]
        transposed, groups = bool(args[6]), int(args[8])
        first = out[0] if isinstance(out, (tuple, list)) else out
        rec.macs = formula(tuple(x.shape), tuple(w.shape), tuple(first.shape), transposed, groups)
        rec.op_type = fm.conv_op_type(tuple(x.shape), tuple(w.shape), groups, transposed)
        rec.has_bias = bias is not None
        rec.channels = int(first.shape[1])
    elif name in ("mm", "bmm", "matmul"):
        rec.macs = formula(shp[0], shp[1])
    elif name in ("addmm", "baddbmm"):
        rec.macs = formula(shp[0], shp[1], shp[2])
        rec.has_bias = isinstance(args[0], torch.Tensor) and s.is_param(args[0])
    elif name == "linear":
        rec.macs = formula(shp[0], shp[1])
        rec.has_bias = len(args) > 2 and args[2] is not None
    else:  # attention kernels: (q, k, v, ...)
        rec.macs = formula(shp[0], shp[1], shp[2])
    if rec.op_type == "matmul" and rec.params:
        # A product with a weight matrix is a fully-connected layer.
        rec.op_type = "fc"
        first = out[0] if isinstance(out, (tuple, list)) else out
        rec.channels = int(first.shape[-1])


class _AttentionCatcher(TorchFunctionMode):
    """Costs ``F.scaled_dot_product_attention`` as one op, before any kernel choice."""

    def __init__(self, state: _State):
        super().__init__()
        self.s = state

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func is F.scaled_dot_product_attention and not self.s.suspended:
            return _record_sdpa(self.s, args, kwargs)
        return func(*args, **kwargs)


def _record_sdpa(s: _State, args, kwargs) -> torch.Tensor:
    names = ("query", "key", "value", "attn_mask")
    bound = dict(zip(names, args))
    bound.update({k: v for k, v in kwargs.items() if k in names})
    q, k, v = bound["query"], bound["key"], bound["value"]
    mask = bound.get("attn_mask")
    if kwargs.get("enable_gqa"):  # grouped-query: key/value heads repeat over the query heads
        batch = tuple(q.shape[:-2])
    else:
        batch = broadcast(q.shape[:-2], k.shape[:-2])
    if batch is None:
        raise RuntimeError(
            f"scaled_dot_product_attention: query dims {tuple(q.shape)} and key dims {tuple(k.shape)} "
            "do not broadcast"
        )
    out_shape = (*batch, q.shape[-2], v.shape[-1])
    s.suspended = True
    try:
        out = torch.empty(out_shape, dtype=q.dtype, device=q.device)
    finally:
        s.suspended = False
    targs = [q, k, v] + ([mask] if isinstance(mask, torch.Tensor) else [])
    rec = s.new_record("scaled_dot_product_attention", "compute", targs, out)
    rec.op_type = "attention"
    qs = (*batch, q.shape[-2], q.shape[-1])
    rec.macs = fm.attention_macs(qs, tuple(k.shape), tuple(v.shape))
    s.register_outputs(out, rec.index)
    return out


@dataclass
class RawTrace:
    records: list[OpRecord]
    unsupported: dict[str, int]
    zero_cost: dict[str, int]
    params: int


def run_trace(model: torch.nn.Module, example: torch.Tensor, check_shapes: bool = False) -> RawTrace:
    """Run ``model(example)`` once under the recorders; ``example`` must be on the meta device."""
    module_names = {id(m): n for n, m in model.named_modules(remove_duplicate=False)}
    params = {id(p): p for p in model.parameters()}
    param_ids = set(params) | {id(b) for b in model.buffers()}
    state = _State(module_names, param_ids)
    state.check_shapes = check_shapes
    state.producer[id(example)] = MODEL_INPUT

    def pre(mod, _inp):
        state.stack.append(mod)

    def post(mod, _inp, _out):
        if state.stack and state.stack[-1] is mod:
            state.stack.pop()

    h1 = torch.nn.modules.module.register_module_forward_pre_hook(pre)
    h2 = torch.nn.modules.module.register_module_forward_hook(post)
    try:
        with torch.no_grad(), _AttentionCatcher(state), _DispatchRecorder(state):
            model(example)
    finally:
        h1.remove()
        h2.remove()
    return RawTrace(
        records=state.records,
        unsupported=dict(state.unsupported),
        zero_cost=dict(state.zero_cost),
        params=sum(p.numel() for p in params.values()),
    )
