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

import functools
from collections import Counter
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch.overrides import TorchFunctionMode
from torch.utils._python_dispatch import TorchDispatchMode

from roofsweep.trace import formulas as fm
from roofsweep.trace.shapes import FAST_SHAPES, broadcast

_SDPA = F.scaled_dot_product_attention
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
        self.derived_weight_ops: Counter[str] = Counter()
        self.suspended = False
        self.check_shapes = False
        self.real = False  # tensors hold data: compute every op, no fast shapes

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


@dataclass(frozen=True)
class _OpInfo:
    """What the tracer needs to know about one aten overload (computed once per overload)."""

    name: str  # base name: relu_ -> relu
    group: str  # formulas.classify()
    formula: fm.ComputeFormula | None = None
    positions: tuple[int, ...] = ()  # where each argument the formula takes sits in a call
    bias_pos: int | None = None
    schema_names: tuple[str, ...] = ()


def _op_info(func) -> _OpInfo:
    name, _ = fm.base_name(func.overloadpacket.__name__)
    group = fm.classify(name)
    if group != "compute":
        return _OpInfo(name, group)
    formula = fm.COMPUTE_FORMULAS[name]
    names = tuple(a.name for a in func._schema.arguments)
    bias_pos = names.index(formula.bias) if formula.bias in names else None
    return _OpInfo(name, group, formula, formula.bind(names), bias_pos, names)


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
        self._info: dict[object, _OpInfo] = {}

    def _run(self, func, args, kwargs):
        if self.s.real:
            return func(*args, **kwargs)
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
        info = self._info.get(func)
        if info is None:
            info = self._info[func] = _op_info(func)
        name, group = info.name, info.group
        out = self._run(func, args, kwargs)
        if group == "zero":
            _alias_outputs(s, name, args, out)
            return out
        targs = _tensor_args(args, kwargs)
        if targs and all(id(t) in s.param_ids for t in targs):
            # Computed from parameters alone (weight standardisation, a relative-position bias
            # gathered from its table): a weight, read by the layer that uses it - not a layer.
            s.derived_weight_ops[name] += 1
            s.register_outputs(out, 0, param=True)
            return out
        if group == "unsupported":
            s.unsupported[func.overloadpacket.__name__] += 1
            s.register_outputs(out, UNKNOWN)
            return out
        rec = s.new_record(name, group, targs, out)
        if info.formula is not None:
            _cost_compute(rec, info, args, kwargs, out, s)
        else:
            rec.op_type = fm.MEMORY_OP_TYPE[group]
            if group == "activation":
                rec.activation = fm.activation_name(name, args, kwargs)
        if name in fm.BATCH_NORM_OPS:
            x = targs[0]
            rec.channels = int(x.shape[1]) if x.dim() > 1 else int(x.shape[0])
            # A BatchNorm folds into 2 per-channel vectors (scale, shift) when it cannot fold
            # into a conv: its running stats are not separate weights at inference time.
            rec.weight_elems = min(rec.weight_elems, 2 * rec.channels)
        s.register_outputs(out, rec.index)
        return out


def _alias_outputs(s: _State, name: str, args, out) -> None:
    """Views alias their input: the output has the input's producer (or is a parameter)."""
    s.zero_cost[name] += 1
    src = next((a for a in args if isinstance(a, torch.Tensor)), None)
    if src is None:
        s.register_outputs(out, UNKNOWN)
    elif id(src) in s.param_ids:
        s.register_outputs(out, 0, param=True)
    else:
        s.register_outputs(out, s.producer.get(id(src), UNKNOWN))


def _assert_same_shapes(func, fast, ref) -> None:
    fs = [fast] if isinstance(fast, torch.Tensor) else list(fast)
    rs = [ref] if isinstance(ref, torch.Tensor) else list(ref)
    assert [tuple(t.shape) for t in fs] == [tuple(t.shape) for t in rs], (func, fs, rs)
    assert [t.dtype for t in fs] == [t.dtype for t in rs], (func, fs, rs)


def _first(out):
    return out[0] if isinstance(out, (tuple, list)) else out


def _cost_compute(rec: OpRecord, info: _OpInfo, args, kwargs, out, s: _State) -> None:
    """Cost a compute op from its registered formula, bound by the formula's argument spec."""
    first = _first(out)
    values = []
    for pos in info.positions:
        if pos < 0:
            v = first
        else:
            v = args[pos] if pos < len(args) else kwargs.get(info.schema_names[pos])
        values.append(tuple(v.shape) if isinstance(v, torch.Tensor) else v)
    formula = info.formula
    rec.macs = formula.macs(values)
    rec.op_type = formula.kind(values)
    if info.bias_pos is not None:
        pos = info.bias_pos
        bias = args[pos] if pos < len(args) else kwargs.get(info.schema_names[pos])
        rec.has_bias = isinstance(bias, torch.Tensor) and s.is_param(bias)
    if rec.op_type == "matmul" and rec.params:
        rec.op_type = "fc"  # a product with a weight matrix is a fully-connected layer
    if formula.channel_dim is not None and rec.op_type != "matmul" and isinstance(first, torch.Tensor):
        # Output channels, for folding a BatchNorm or a per-channel bias into the layer.
        rec.channels = int(first.shape[formula.channel_dim]) if first.dim() else 0


def _attention_output(shape: tuple[int, ...], q: torch.Tensor) -> torch.Tensor:
    """An empty attention output laid out as the fused kernels write it: (batch, L, heads, E)
    in memory, seen as (batch, heads, L, E). The usual ``out.transpose(1, 2).reshape(B, L, C)``
    that follows is then a view, as it is after a real fused kernel, not a charged copy."""
    if len(shape) != 4:
        return torch.empty(shape, dtype=q.dtype, device=q.device)
    b, h, lq, e = shape
    return torch.empty((b, lq, h, e), dtype=q.dtype, device=q.device).transpose(1, 2)


def _nested_sdpa(s: _State, sdpa, *args, **kwargs):
    """``F.scaled_dot_product_attention`` as seen from inside a torch Python function that the
    function mode is already running (``F.multi_head_attention_forward``): the mode is off there,
    so the module attribute itself is swapped for the trace."""
    if s.suspended:
        return sdpa(*args, **kwargs)
    return _record_sdpa(s, args, kwargs)


class _AttentionCatcher(TorchFunctionMode):
    """Costs ``F.scaled_dot_product_attention`` as one op, before any kernel choice."""

    def __init__(self, state: _State):
        super().__init__()
        self.s = state

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func is _SDPA and not self.s.suspended:
            return _record_sdpa(self.s, args, kwargs)
        return func(*args, **kwargs)


@functools.lru_cache(maxsize=1)
def _sdpa_info() -> _OpInfo:
    return _op_info(torch.ops.aten.scaled_dot_product_attention.default)


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
        out = _SDPA(*args, **kwargs) if s.real else _attention_output(out_shape, q)
    finally:
        s.suspended = False
    targs = [q, k, v] + ([mask] if isinstance(mask, torch.Tensor) else [])
    rec = s.new_record("scaled_dot_product_attention", "compute", targs, out)
    # F.scaled_dot_product_attention takes the aten op's arguments: its formula binds the same way.
    _cost_compute(rec, _sdpa_info(), args, kwargs, out, s)
    s.register_outputs(out, rec.index)
    return out


@dataclass
class RawTrace:
    records: list[OpRecord]
    unsupported: dict[str, int]
    zero_cost: dict[str, int]
    params: int
    derived_weight_ops: dict[str, int] = field(default_factory=dict)
    data_dependent: bool = False  # traced on real CPU tensors


def run_trace(model: torch.nn.Module, example, check_shapes: bool = False, real: bool = False) -> RawTrace:
    """Run ``model(*examples)`` once under the recorders.

    ``example`` is one tensor or a sequence of them (one per positional input), on the meta
    device - or, with ``real``, CPU tensors holding data: every op then computes for real (no
    fast shapes), for models whose control flow reads tensor values.
    """
    examples = [example] if isinstance(example, torch.Tensor) else list(example)
    module_names = {id(m): n for n, m in model.named_modules(remove_duplicate=False)}
    params = {id(p): p for p in model.parameters()}
    param_ids = set(params) | {id(b) for b in model.buffers()}
    state = _State(module_names, param_ids)
    state.check_shapes = check_shapes
    state.real = real
    for x in examples:
        state.producer[id(x)] = MODEL_INPUT

    def pre(mod, _inp):
        state.stack.append(mod)

    def post(mod, _inp, _out):
        if state.stack and state.stack[-1] is mod:
            state.stack.pop()

    h1 = torch.nn.modules.module.register_module_forward_pre_hook(pre)
    h2 = torch.nn.modules.module.register_module_forward_hook(post)
    sdpa = F.scaled_dot_product_attention
    F.scaled_dot_product_attention = functools.partial(_nested_sdpa, state, sdpa)
    try:
        with torch.no_grad(), _AttentionCatcher(state), _DispatchRecorder(state):
            model(*examples)
    finally:
        F.scaled_dot_product_attention = sdpa
        h1.remove()
        h2.remove()
    return RawTrace(
        records=state.records,
        unsupported=dict(state.unsupported),
        zero_cost=dict(state.zero_cost),
        params=sum(p.numel() for p in params.values()),
        derived_weight_ops=dict(state.derived_weight_ops),
        data_dependent=real,
    )
