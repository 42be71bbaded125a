"""Cost formulas keyed by aten op name, and the named sets of ops that cost nothing.

Each formula is a small pure function of the op's argument *shapes* that returns the op's
multiply-accumulates (1 MAC = 2 FLOPs). Ops are registered under their overload-packet name
(``convolution``, ``addmm``...); in-place variants (``relu_``) share the formula of their base op.

An op is in exactly one of these groups (``classify(name)`` tells which):

* ``compute``  - has a MAC formula here (``COMPUTE_FORMULAS``): conv, matmul family, attention.
* ``norm``     - normalisation; 0 MACs, its tensors move (BatchNorm can fold into a conv).
* ``activation`` - pointwise nonlinearities; 0 MACs, fuse into their producer when possible.
* ``elementwise`` - other pointwise ops (adds, multiplies, copies); 0 MACs, tensors move.
* ``pool``     - pooling and reductions; 0 MACs, tensors move.
* ``other``    - softmax, concatenation, resampling, padding; 0 MACs, tensors move.
* ``zero``     - views, reshapes, allocation: no arithmetic and no memory traffic (``ZERO_COST_OPS``).

Anything else is *unsupported*: the tracer reports it with its count and never costs it at zero
silently. Add a formula with ``@register_compute("op_name")``; registering a name twice is an error.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

Shape = Sequence[int]
Formula = Callable[..., int]

COMPUTE_FORMULAS: dict[str, Formula] = {}
# The op_type a compute op gets in the LayerTable when the formula does not decide it.
COMPUTE_OP_TYPE: dict[str, str] = {}


def register_compute(*names: str, op_type: str) -> Callable[[Formula], Formula]:
    def deco(fn: Formula) -> Formula:
        for n in names:
            if n in COMPUTE_FORMULAS:
                raise ValueError(f"a MAC formula for aten.{n} is already registered")
            COMPUTE_FORMULAS[n] = fn
            COMPUTE_OP_TYPE[n] = op_type
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


@register_compute("convolution", "_convolution", op_type="conv2d")
def _conv(x: Shape, w: Shape, out: Shape, transposed: bool = False, groups: int = 1) -> int:
    return conv_macs(x, w, out, transposed, groups)


def conv_op_type(x_shape: Shape, w_shape: Shape, groups: int, transposed: bool) -> str:
    """``dwconv2d`` when each channel has its own filter, ``fc`` for a 1x1 conv on a 1x1 map."""
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


# ------------------------------------------------------------------------------- matmuls
@register_compute("mm", op_type="matmul")
def _mm(a: Shape, b: Shape) -> int:
    m, k = a
    k2, n = b
    assert k == k2, (a, b)
    return m * k * n


@register_compute("addmm", op_type="matmul")
def _addmm(bias: Shape, a: Shape, b: Shape) -> int:
    return _mm(a, b)


@register_compute("bmm", op_type="matmul")
def _bmm(a: Shape, b: Shape) -> int:
    bs, m, k = a
    _, k2, n = b
    assert k == k2, (a, b)
    return bs * m * k * n


@register_compute("baddbmm", op_type="matmul")
def _baddbmm(bias: Shape, a: Shape, b: Shape) -> int:
    return _bmm(a, b)


@register_compute("matmul", op_type="matmul")
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


@register_compute("linear", op_type="fc")
def _linear(x: Shape, w: Shape) -> int:
    return prod(x[:-1]) * int(w[1]) * int(w[0])


def _broadcast(a: Shape, b: Shape) -> list[int]:
    n = max(len(a), len(b))
    a = [1] * (n - len(a)) + list(a)
    b = [1] * (n - len(b)) + list(b)
    return [max(x, y) for x, y in zip(a, b)]


# ----------------------------------------------------------------------------- attention
def attention_macs(q: Shape, k: Shape, v: Shape) -> int:
    """softmax(Q K^T) V: ``batch * Lq * Lk * (E + Ev)`` MACs.

    ``q = (*batch_q, Lq, E)``, ``k = (*batch_k, Lk, E)``, ``v = (*batch_k, Lk, Ev)``; batch dims
    broadcast, so a single shared key/value head (multi-query attention) costs the same as one
    repeated for every query head: every query head still multiplies against it.
    """
    batch = _broadcast(q[:-2], k[:-2])
    lq, e = q[-2], q[-1]
    lk, ev = k[-2], v[-1]
    return prod(batch) * lq * lk * (e + ev)


@register_compute(
    "scaled_dot_product_attention",
    "_scaled_dot_product_attention_math",
    "_scaled_dot_product_flash_attention",
    "_scaled_dot_product_flash_attention_for_cpu",
    "_scaled_dot_product_efficient_attention",
    "_scaled_dot_product_cudnn_attention",
    "_scaled_dot_product_fused_attention_overrideable",
    op_type="attention",
)
def _sdpa(q: Shape, k: Shape, v: Shape) -> int:
    return attention_macs(q, k, v)


@register_compute("_flash_attention_forward", "_efficient_attention_forward", op_type="attention")
def _sdpa_bshd(q: Shape, k: Shape, v: Shape) -> int:
    """The low-level flash/efficient kernels take (batch, seq, heads, dim)."""
    bq, lq, hq, e = q
    _, lk, _, ev = v
    return bq * hq * lq * lk * (e + ev)


# -------------------------------------------------------------------- memory-only groups
NORM_OPS = frozenset(
    {
        "native_batch_norm",
        "_native_batch_norm_legit",
        "_native_batch_norm_legit_no_training",
        "_native_batch_norm_legit_functional",
        "batch_norm",
        "native_layer_norm",
        "layer_norm",
        "native_group_norm",
        "group_norm",
        "_fused_rms_norm",
        "rms_norm",
        "instance_norm",
    }
)
BATCH_NORM_OPS = frozenset(n for n in NORM_OPS if "batch_norm" in n)

# aten name -> activation name reported in the LayerTable's ``activation`` column.
ACTIVATION_OPS: dict[str, str] = {
    "relu": "relu",
    "relu6": "relu6",
    "hardtanh": "hardtanh",  # nn.ReLU6 is hardtanh(0, 6); the tracer names it relu6
    "hardswish": "hardswish",
    "hardsigmoid": "hardsigmoid",
    "gelu": "gelu",
    "silu": "silu",
    "sigmoid": "sigmoid",
    "tanh": "tanh",
    "leaky_relu": "leaky_relu",
    "elu": "elu",
    "selu": "selu",
    "celu": "celu",
    "mish": "mish",
    "softplus": "softplus",
    "prelu": "prelu",
    "_prelu_kernel": "prelu",
    "threshold": "threshold",
    "clamp": "clamp",
    "clamp_min": "clamp_min",
    "clamp_max": "clamp_max",
    "log_sigmoid_forward": "log_sigmoid",
}

ELEMENTWISE_OPS = frozenset(
    {
        "add", "sub", "rsub", "mul", "div", "neg", "abs", "exp", "log", "sqrt", "rsqrt", "pow",
        "reciprocal", "maximum", "minimum", "where", "masked_fill", "erf", "sin", "cos",
        "clone", "copy", "_to_copy", "fill", "lerp", "addcmul", "addcdiv", "square",
        "floor", "ceil", "round", "sign", "logical_not", "eq", "ne", "lt", "le", "gt", "ge",
    }
)

POOL_OPS = frozenset(
    {
        "mean", "sum", "amax", "amin", "max", "min", "avg_pool1d", "avg_pool2d", "avg_pool3d",
        "adaptive_avg_pool1d", "adaptive_avg_pool2d", "_adaptive_avg_pool2d", "adaptive_avg_pool3d",
        "_adaptive_avg_pool3d", "max_pool1d", "max_pool2d", "max_pool3d",
        "max_pool2d_with_indices", "max_pool3d_with_indices", "adaptive_max_pool2d", "var",
        "var_mean", "std", "std_mean", "norm", "linalg_vector_norm", "argmax", "logsumexp",
    }
)

OTHER_MEMORY_OPS = frozenset(
    {
        "_softmax", "_safe_softmax", "softmax", "_log_softmax", "log_softmax", "cat", "stack",
        "constant_pad_nd", "reflection_pad2d", "replication_pad2d", "upsample_nearest2d",
        "upsample_bilinear2d", "_upsample_bilinear2d_aa", "_upsample_nearest_exact2d",
        "grid_sampler_2d", "index", "index_select", "gather", "embedding", "roll", "flip",
        "pixel_shuffle", "pixel_unshuffle", "im2col", "col2im", "topk", "sort", "cumsum",
        "scatter", "index_put", "_unsafe_index", "repeat", "tril", "triu",
    }
)

# Ops with neither arithmetic nor memory traffic of their own: views and reshapes alias their
# input, allocation and metadata ops create uninitialised storage or describe tensors.
ZERO_COST_OPS = frozenset(
    {
        # views / reshapes
        "view", "_unsafe_view", "reshape", "_reshape_alias", "view_as", "t", "transpose",
        "permute", "expand", "expand_as", "unsqueeze", "squeeze", "flatten", "unflatten",
        "slice", "select", "narrow", "alias", "detach", "as_strided", "split",
        "split_with_sizes", "unbind", "chunk", "diagonal", "movedim", "swapaxes", "contiguous",
        "lift_fresh", "numpy_T", "unfold", "view_as_real", "view_as_complex",
        # allocation / constants (no data read)
        "empty", "empty_like", "empty_strided", "new_empty", "new_empty_strided", "zeros",
        "zeros_like", "ones", "ones_like", "full", "full_like", "new_zeros", "new_ones",
        "new_full", "arange", "scalar_tensor", "lift_fresh_copy",
        # eval-mode no-ops
        "dropout", "native_dropout", "feature_dropout", "alpha_dropout",
        # parameter initialisation (happens when models are built inside the trace)
        "uniform", "normal", "kaiming_uniform", "zero", "bernoulli", "random",
        # metadata
        "sym_size", "sym_stride", "sym_numel", "sym_storage_offset", "_local_scalar_dense",
        "_assert_async", "_assert_tensor_metadata", "_functional_assert_async",
    }
)


def base_name(packet_name: str) -> tuple[str, bool]:
    """``relu_ -> ('relu', True)``; ``_softmax -> ('_softmax', False)``."""
    if packet_name.endswith("_") and not packet_name.endswith("__") and len(packet_name) > 1:
        return packet_name[:-1], True
    return packet_name, False


def classify(name: str) -> str:
    """Which cost group an aten op (base name) belongs to; ``unsupported`` if none."""
    if name in COMPUTE_FORMULAS:
        return "compute"
    if name in NORM_OPS:
        return "norm"
    if name in ACTIVATION_OPS:
        return "activation"
    if name in ELEMENTWISE_OPS:
        return "elementwise"
    if name in POOL_OPS:
        return "pool"
    if name in OTHER_MEMORY_OPS:
        return "other"
    if name in ZERO_COST_OPS:
        return "zero"
    return "unsupported"


def _check_activation_vocabulary() -> None:
    from roofsweep.layertable import ACTIVATIONS

    unknown = set(ACTIVATION_OPS.values()) - ACTIVATIONS
    assert not unknown, f"activations missing from layertable.ACTIVATIONS: {sorted(unknown)}"


def _check_disjoint() -> None:
    groups = [set(COMPUTE_FORMULAS), NORM_OPS, set(ACTIVATION_OPS), ELEMENTWISE_OPS, POOL_OPS,
              OTHER_MEMORY_OPS, ZERO_COST_OPS]
    seen: set[str] = set()
    for g in groups:
        dup = seen & set(g)
        assert not dup, f"ops in two cost groups: {sorted(dup)}"
        seen |= set(g)


_check_disjoint()
_check_activation_vocabulary()
