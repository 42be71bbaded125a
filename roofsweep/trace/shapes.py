"""Fast output shapes for the ops that dominate CNN traces.

On the meta device torch computes every output's metadata with Python reference kernels
(``torch/_refs``, ``torch/_meta_registrations.py``), which cost far more than the costing itself.
For the handful of ops that make up most of a CNN (convolution, batch norm, pointwise ops,
matmuls, global pooling) the tracer computes the output shape here and allocates an empty meta
tensor instead. Each function returns ``None`` when it is not sure (unusual dtypes, strides,
arguments) and the tracer then runs torch's own meta kernel. ``trace(..., check_shapes=True)``
runs both and asserts they agree; the test suite traces every zoo model that way.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

_FLOAT = {torch.float32, torch.float16, torch.bfloat16, torch.float64}


def _empty(shape, like: torch.Tensor) -> torch.Tensor:
    return torch.empty(shape, dtype=like.dtype, device=like.device)


def broadcast(a, b) -> tuple[int, ...] | None:
    """The broadcast of two shapes, or None if they do not broadcast (torch then raises).

    Written out because ``torch.broadcast_shapes`` lazily imports torch's symbolic-shape
    machinery on first use, which costs more than tracing the whole zoo.
    """
    n = max(len(a), len(b))
    a = (1,) * (n - len(a)) + tuple(a)
    b = (1,) * (n - len(b)) + tuple(b)
    out = []
    for x, y in zip(a, b):
        if x != y and x != 1 and y != 1:
            return None
        out.append(y if x == 1 else x)
    return tuple(out)


def _plain(t: object) -> bool:
    return isinstance(t, torch.Tensor) and t.dtype in _FLOAT and t.is_contiguous()


def _conv(args, kwargs):
    x, w = args[0], args[1]
    if len(args) < 9 or not (_plain(x) and _plain(w)) or x.dim() != 4 or args[6]:
        return None  # only non-transposed 2-D convolutions take the fast path
    stride, padding, dilation = args[3], args[4], args[5]
    if len(stride) != 2 or len(padding) != 2 or len(dilation) != 2:
        return None
    n, c, h, wd = x.shape
    if w.dim() != 4 or c != w.shape[1] * args[8]:
        return None  # channel mismatch: let torch's kernel raise its own error
    kh, kw = w.shape[2], w.shape[3]
    oh = (h + 2 * padding[0] - dilation[0] * (kh - 1) - 1) // stride[0] + 1
    ow = (wd + 2 * padding[1] - dilation[1] * (kw - 1) - 1) // stride[1] + 1
    if oh < 1 or ow < 1:
        return None  # input smaller than the kernel: torch's kernel says so
    return _empty((n, w.shape[0], oh, ow), x)


def _batch_norm(args, kwargs):
    x = args[0]
    if not _plain(x):
        return None
    c = x.shape[1]
    return (_empty(x.shape, x), _empty((c,), x), _empty((c,), x))


def _batch_norm_no_training(args, kwargs):
    x = args[0]
    if not _plain(x):
        return None
    return (_empty(x.shape, x), _empty((0,), x), _empty((0,), x))


def _unary(args, kwargs):
    x = args[0]
    if not _plain(x):
        return None
    return _empty(x.shape, x)


def _unary_inplace(args, kwargs):
    x = args[0]
    return x if _plain(x) else None


def _binary(args, kwargs):
    a, b = args[0], args[1]
    if not _plain(a):
        return None
    if isinstance(b, torch.Tensor):
        if b.dtype != a.dtype or not b.is_contiguous() or b.device != a.device:
            return None
        if a.shape == b.shape:
            return _empty(a.shape, a)
        shape = broadcast(a.shape, b.shape)
        return None if shape is None else _empty(shape, a)
    if isinstance(b, (int, float)) and not isinstance(b, bool):
        return _empty(a.shape, a)
    return None


def _binary_inplace(args, kwargs):
    a, b = args[0], args[1]
    if not _plain(a):
        return None
    if isinstance(b, torch.Tensor):
        if b.dtype != a.dtype or broadcast(a.shape, b.shape) != tuple(a.shape):
            return None
    elif not isinstance(b, (int, float)) or isinstance(b, bool):
        return None
    return a


def _mean_dim(args, kwargs):
    x = args[0]
    if not _plain(x) or len(args) < 2 or kwargs.get("dtype") is not None:
        return None
    dims = args[1]
    if dims is None:
        return None
    keepdim = args[2] if len(args) > 2 else kwargs.get("keepdim", False)
    nd = x.dim()
    dims = {d % nd for d in dims}
    shape = [1 if i in dims else s for i, s in enumerate(x.shape)] if keepdim else [
        s for i, s in enumerate(x.shape) if i not in dims
    ]
    return _empty(shape, x)


def _addmm(args, kwargs):
    bias, a, b = args[0], args[1], args[2]
    if not (isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor)) or kwargs:
        return None
    if a.dtype not in _FLOAT or a.dtype != b.dtype or a.dim() != 2 or b.dim() != 2 or a.shape[1] != b.shape[0]:
        return None
    return _empty((a.shape[0], b.shape[1]), a)


def _mm(args, kwargs):
    a, b = args[0], args[1]
    if a.dtype not in _FLOAT or a.dtype != b.dtype or a.dim() != 2 or b.dim() != 2 or a.shape[1] != b.shape[0]:
        return None
    return _empty((a.shape[0], b.shape[1]), a)


def _bmm(args, kwargs):
    a, b = args[0], args[1]
    if a.dtype not in _FLOAT or a.dtype != b.dtype or a.dim() != 3 or b.dim() != 3 \
            or a.shape[0] != b.shape[0] or a.shape[2] != b.shape[1]:
        return None
    return _empty((a.shape[0], a.shape[1], b.shape[2]), a)


def _softmax(args, kwargs):
    x = args[0]
    if not _plain(x) or (len(args) > 2 and args[2] is not False):
        return None
    return _empty(x.shape, x)


# Keyed by (overload packet name, overload name).
FAST_SHAPES: dict[tuple[str, str], Callable] = {
    ("convolution", "default"): _conv,
    ("native_batch_norm", "default"): _batch_norm,
    ("_native_batch_norm_legit_no_training", "default"): _batch_norm_no_training,
    ("mean", "dim"): _mean_dim,
    ("addmm", "default"): _addmm,
    ("mm", "default"): _mm,
    ("bmm", "default"): _bmm,
    ("_softmax", "default"): _softmax,
}
for _name in ("relu", "hardswish", "hardsigmoid", "gelu", "silu", "sigmoid", "tanh", "clone"):
    FAST_SHAPES[(_name, "default")] = _unary
for _name in ("relu_", "hardswish_", "hardsigmoid_", "silu_", "sigmoid_", "tanh_"):
    FAST_SHAPES[(_name, "default")] = _unary_inplace
FAST_SHAPES[("hardtanh", "default")] = _unary
FAST_SHAPES[("hardtanh_", "default")] = _unary_inplace
for _name in ("add", "sub", "mul", "div"):
    FAST_SHAPES[(_name, "Tensor")] = _binary
    FAST_SHAPES[(_name, "Scalar")] = _binary
    FAST_SHAPES[(_name + "_", "Tensor")] = _binary_inplace
    FAST_SHAPES[(_name + "_", "Scalar")] = _binary_inplace
