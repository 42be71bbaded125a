"""MAC formulas keyed by aten op name, each declaring the op arguments it takes.

Each formula is a small pure function of an op's argument *shapes* (and a few flags) that
returns the op's multiply-accumulates (1 MAC = 2 FLOPs). It is registered under the ops'
overload-packet names (``convolution``, ``addmm``...) together with its **argument spec**:
``takes`` names, in order, the op's schema arguments the formula receives (``"out"`` is the
op's first output). Tensors arrive as shape tuples, other arguments as they are, an absent
optional argument as ``None``. The spec also declares the op's LayerTable ``op_type`` (a string,
or a function of the same arguments), which argument holds a bias, and which output dimension
counts the layer's channels. The tracer binds every compute op the same way
(``ComputeFormula.bind``) - no op names in the tracer. In-place variants (``relu_``) share the
entry of their base op.

An op is in exactly one group (``classify(name)`` tells which):

* ``compute``  - has a MAC formula here (``COMPUTE_FORMULAS``): conv, matmul family, attention.
* ``norm``, ``activation``, ``elementwise``, ``pool``, ``other`` - 0 MACs, their tensors move
  (``opsets.py``); ``zero`` - views, reshapes, allocation, constants: nothing moves.

Anything else is *unsupported*: the tracer reports it with its count and never costs it at zero
silently. Add a formula with ``@register_compute("op_name", takes=(...), op_type=...)``;
registering a name twice is an error.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from roofsweep.trace.opsets import (  # noqa: F401 - re-exported: the op vocabulary lives there
    ACTIVATION_OPS,
    BATCH_NORM_OPS,
    ELEMENTWISE_OPS,
    NORM_OPS,
    OTHER_MEMORY_OPS,
    POOL_OPS,
    ZERO_COST_OPS,
)

Shape = Sequence[int]
Formula = Callable[..., int]
OUT = "out"  # the pseudo-argument naming an op's first output


@dataclass(frozen=True)
class ComputeFormula:
    """One registered MAC formula and its argument spec (see the module docstring)."""

    fn: Formula
    takes: tuple[str, ...]
    op_type: str | Callable[..., str]
    bias: str | None = None  # the argument holding a bias, if the op takes one
    channel_dim: int | None = None  # output dim whose size is the layer's channel count

    def bind(self, schema_names: Sequence[str]) -> tuple[int, ...]:
        """Where each declared argument sits in a call: its position in ``schema_names``, or
        ``-1`` for the output. Computed once per aten overload by the tracer."""
        pos = []
        for name in self.takes:
            if name == OUT:
                pos.append(-1)
            elif name in schema_names:
                pos.append(list(schema_names).index(name))
            else:
                raise ValueError(f"formula {self.fn.__name__} takes '{name}', not an argument of the op")
        return tuple(pos)

    def macs(self, values: Sequence) -> int:
        return int(self.fn(*values))

    def kind(self, values: Sequence) -> str:
        return self.op_type(*values) if callable(self.op_type) else self.op_type


COMPUTE_FORMULAS: dict[str, ComputeFormula] = {}


def register_compute(
    *names: str,
    op_type: str | Callable[..., str],
    takes: Sequence[str] | None = None,
    bias: str | None = None,
    channel_dim: int | None = None,
) -> Callable[[Formula], Formula]:
    """Register ``fn`` as the MAC formula of the aten ops ``names``.

    ``takes`` defaults to the formula's own parameter names, which must then be schema names.
    """

    def deco(fn: Formula) -> Formula:
        for n in names:
            if n in COMPUTE_FORMULAS:
                raise ValueError(f"a MAC formula for aten.{n} is already registered")
        spec_takes = tuple(takes) if takes is not None else fn.__code__.co_varnames[: fn.__code__.co_argcount]
        entry = ComputeFormula(fn, spec_takes, op_type, bias, channel_dim)
        for n in names:
            COMPUTE_FORMULAS[n] = entry
        return fn

    return deco


def prod(xs: Shape) -> int:
    return math.prod(int(x) for x in xs)


# --------------------------------------------------------------------------- convolution
def conv_macs(x_shape: Shape, w_shape: Shape, out_shape: Shape, transposed: bool, groups: int) -> int:
    """Every output element of a (grouped) conv sums ``C_in/groups * prod(kernel)`` products.

    ``w_shape`` is ``(C_out, C_in/groups, *kernel)`` for a conv and ``(C_in, C_out/groups,
    *kernel)`` for a transposed conv, whose every *input* element scatters into
    ``C_out/groups * prod(kernel)`` outputs.
    """
    kernel = prod(w_shape[2:])
    if transposed:
        return prod(x_shape) * int(w_shape[1]) * kernel
    return prod(out_shape) * int(w_shape[1]) * kernel


def conv_op_type(x_shape: Shape, w_shape: Shape, out_shape: Shape = (), transposed: bool = False,
                 groups: int = 1) -> str:
    """``conv3d`` for a 3-D kernel (video); else ``dwconv2d`` when each channel has its own
    filter, ``fc`` for a 1x1 conv on a 1x1 map, ``conv2d`` otherwise (1-D convs included)."""
    if len(w_shape) == 5:
        return "conv3d"
    c_in = int(x_shape[1]) if len(x_shape) > 1 else 1
    if not transposed and groups > 1 and groups == c_in and int(w_shape[1]) == 1:
        return "dwconv2d"
    if (
        not transposed
        and groups == 1
        and len(w_shape) > 2
        and prod(w_shape[2:]) == 1
        and prod(x_shape[2:]) == 1
    ):
        return "fc"
    return "conv2d"


@register_compute(
    "convolution", "_convolution",
    takes=("input", "weight", OUT, "transposed", "groups"),
    op_type=conv_op_type, bias="bias", channel_dim=1,
)
def _conv(x: Shape, w: Shape, out: Shape, transposed: bool = False, groups: int = 1) -> int:
    return conv_macs(x, w, out, bool(transposed), int(groups))


# ------------------------------------------------------------------------------- matmuls
# A matmul whose operand is a weight becomes ``fc`` in the tracer (op_type "matmul" + params).
@register_compute("mm", takes=("self", "mat2"), op_type="matmul", channel_dim=-1)
def _mm(a: Shape, b: Shape) -> int:
    m, k = a
    k2, n = b
    assert k == k2, (a, b)
    return m * k * n


@register_compute("addmm", takes=("mat1", "mat2"), op_type="matmul", bias="self", channel_dim=-1)
def _addmm(a: Shape, b: Shape) -> int:
    return _mm(a, b)


@register_compute("bmm", takes=("self", "mat2"), op_type="matmul", channel_dim=-1)
def _bmm(a: Shape, b: Shape) -> int:
    bs, m, k = a
    _, k2, n = b
    assert k == k2, (a, b)
    return bs * m * k * n


@register_compute("baddbmm", takes=("batch1", "batch2"), op_type="matmul", bias="self", channel_dim=-1)
def _baddbmm(a: Shape, b: Shape) -> int:
    return _bmm(a, b)


@register_compute("matmul", takes=("self", "other"), op_type="matmul", channel_dim=-1)
def _matmul(a: Shape, b: Shape) -> int:
    """N-D matmul with broadcasting batch dims (1-D operands promoted as torch does)."""
    a = list(a)
    b = list(b)
    if len(a) == 1:
        a = [1, a[0]]
    if len(b) == 1:
        b = [b[0], 1]
    batch = _broadcast(a[:-2], b[:-2])
    return prod(batch) * a[-2] * a[-1] * b[-1]


@register_compute("linear", takes=("input", "weight"), op_type="fc", bias="bias", channel_dim=-1)
def _linear(x: Shape, w: Shape) -> int:
    return prod(x[:-1]) * int(w[1]) * int(w[0])


def _broadcast(a: Shape, b: Shape) -> list[int]:
    n = max(len(a), len(b))
    a = [1] * (n - len(a)) + list(a)
    b = [1] * (n - len(b)) + list(b)
    return [max(x, y) for x, y in zip(a, b)]


# ----------------------------------------------------------------------------- attention
def attention_macs(q: Shape, k: Shape, v: Shape, enable_gqa: bool = False) -> int:
    """softmax(Q K^T) V: ``batch * Lq * Lk * (E + Ev)`` MACs.

    ``q = (*batch_q, Lq, E)``, ``k = (*batch_k, Lk, E)``, ``v = (*batch_k, Lk, Ev)``; batch dims
    broadcast, so a single shared key/value head (multi-query attention) costs the same as one
    repeated for every query head: every query head still multiplies against it. With
    ``enable_gqa`` the key/value heads repeat over the query heads: the query's batch dims count.
    """
    batch = list(q[:-2]) if enable_gqa else _broadcast(q[:-2], k[:-2])
    lq, e = q[-2], q[-1]
    lk, ev = k[-2], v[-1]
    return prod(batch) * lq * lk * (e + ev)


@register_compute(
    "scaled_dot_product_attention",
    "_scaled_dot_product_attention_math",
    op_type="attention",
    takes=("query", "key", "value", "enable_gqa"),
)
def _sdpa(q: Shape, k: Shape, v: Shape, enable_gqa: bool | None = False) -> int:
    return attention_macs(q, k, v, bool(enable_gqa))


@register_compute(
    "_scaled_dot_product_flash_attention",
    "_scaled_dot_product_flash_attention_for_cpu",
    "_scaled_dot_product_efficient_attention",
    "_scaled_dot_product_cudnn_attention",
    "_scaled_dot_product_fused_attention_overrideable",
    op_type="attention",
    takes=("query", "key", "value"),
)
def _sdpa_kernel(q: Shape, k: Shape, v: Shape) -> int:
    return attention_macs(q, k, v)


@register_compute(
    "_flash_attention_forward", "_efficient_attention_forward",
    op_type="attention", takes=("query", "key", "value"),
)
def _sdpa_bshd(q: Shape, k: Shape, v: Shape) -> int:
    """The low-level flash/efficient kernels take (batch, seq, heads, dim)."""
    bq, lq, hq, e = q
    _, lk, _, ev = v
    return bq * hq * lq * lk * (e + ev)


@register_compute(
    "_native_multi_head_attention",
    takes=("query", "key", "embed_dim", "qkv_weight", "proj_weight"),
    op_type="attention", bias="qkv_bias", channel_dim=-1,
)
def _native_mha(q: Shape, k: Shape, embed_dim: int, qkv_w: Shape, proj_w: Shape) -> int:
    """``nn.MultiheadAttention``'s fused fast path (eval, no grad, real CPU/CUDA tensors): the
    q projection, the k and v projections, attention over all heads, the out projection.
    With ``L`` queries, ``S`` keys, width ``E``: ``2 L E^2 + 2 S E^2 + L S (E + E)`` per batch;
    the decomposed path (three rows) counts the same."""
    e = int(embed_dim)
    lq, lk = prod(q[:-1]), prod(k[:-1])  # batch x tokens
    batch = prod(q[:-2]) if len(q) > 2 else 1
    return lq * e * e + 2 * lk * e * e + batch * q[-2] * k[-2] * 2 * e + lq * e * int(proj_w[0])


# ------------------------------------------------------------------ memory-only groups
# The op_type of a row started by an op of each memory-only group.
MEMORY_OP_TYPE = {
    "norm": "other", "activation": "elementwise", "elementwise": "elementwise", "pool": "pool",
    "other": "other",
}


def _hardtanh(args, kwargs) -> str:
    lo = args[1] if len(args) > 1 else kwargs.get("min_val", -1.0)
    hi = args[2] if len(args) > 2 else kwargs.get("max_val", 1.0)
    return "relu6" if (float(lo), float(hi)) == (0.0, 6.0) else "hardtanh"


# Activations whose name depends on their arguments: nn.ReLU6 is hardtanh(0, 6).
_ACTIVATION_BY_ARGS: dict[str, Callable[..., str]] = {"hardtanh": _hardtanh}


def activation_name(name: str, args, kwargs) -> str:
    """The ``activation`` column's value for an activation op called with these arguments."""
    by_args = _ACTIVATION_BY_ARGS.get(name)
    return by_args(args, kwargs) if by_args is not None else ACTIVATION_OPS[name]


# ---------------------------------------------------------------------------- groups
def base_name(packet_name: str) -> tuple[str, bool]:
    """``relu_ -> ('relu', True)``; ``_softmax -> ('_softmax', False)``."""
    if packet_name.endswith("_") and not packet_name.endswith("__") and len(packet_name) > 1:
        return packet_name[:-1], True
    return packet_name, False


_GROUPS: tuple[tuple[str, object], ...] = (
    ("compute", COMPUTE_FORMULAS),
    ("norm", NORM_OPS),
    ("activation", ACTIVATION_OPS),
    ("elementwise", ELEMENTWISE_OPS),
    ("pool", POOL_OPS),
    ("other", OTHER_MEMORY_OPS),
    ("zero", ZERO_COST_OPS),
)


def classify(name: str) -> str:
    """Which cost group an aten op (base name) belongs to; ``unsupported`` if none."""
    for group, members in _GROUPS:
        if name in members:
            return group
    return "unsupported"


def _check_activation_vocabulary() -> None:
    from roofsweep.layertable import ACTIVATIONS

    unknown = set(ACTIVATION_OPS.values()) - ACTIVATIONS
    assert not unknown, f"activations missing from layertable.ACTIVATIONS: {sorted(unknown)}"


def _check_disjoint() -> None:
    seen: set[str] = set()
    for _, members in _GROUPS:
        dup = seen & set(members)
        assert not dup, f"ops in two cost groups: {sorted(dup)}"
        seen |= set(members)


_check_disjoint()
_check_activation_vocabulary()
