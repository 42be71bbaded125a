"""The named sets of aten ops that cost no MACs: which group each belongs to (torch-free).

``formulas.classify`` looks an op up here after the MAC formulas. Each op is in exactly one set
(checked at import). An op in none of them, and without a MAC formula, is *unsupported*: the
tracer reports it with its count and never costs it at zero silently.
"""

from __future__ import annotations

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
        "bitwise_not", "bitwise_and", "bitwise_or", "bitwise_xor", "logical_and", "logical_or",
        "log2", "log1p", "expm1", "atan2", "trunc", "remainder", "fmod", "floor_divide",
        "isnan", "isinf", "nan_to_num",
    }
)

POOL_OPS = frozenset(
    {
        "mean", "sum", "amax", "amin", "max", "min", "avg_pool1d", "avg_pool2d", "avg_pool3d",
        "adaptive_avg_pool1d", "adaptive_avg_pool2d", "_adaptive_avg_pool2d", "adaptive_avg_pool3d",
        "_adaptive_avg_pool3d", "max_pool1d", "max_pool2d", "max_pool3d",
        "max_pool2d_with_indices", "max_pool3d_with_indices", "adaptive_max_pool2d", "var",
        "var_mean", "std", "std_mean", "norm", "linalg_vector_norm", "argmax", "argmin",
        "logsumexp", "prod", "any", "all",
    }
)

OTHER_MEMORY_OPS = frozenset(
    {
        "_softmax", "_safe_softmax", "softmax", "_log_softmax", "log_softmax", "cat", "stack",
        "constant_pad_nd", "reflection_pad1d", "reflection_pad2d", "reflection_pad3d",
        "replication_pad1d", "replication_pad2d", "replication_pad3d",
        "upsample_nearest1d", "upsample_nearest2d", "upsample_nearest3d",
        "_upsample_nearest_exact1d", "_upsample_nearest_exact2d", "_upsample_nearest_exact3d",
        "upsample_linear1d", "upsample_bilinear2d", "_upsample_bilinear2d_aa",
        "upsample_bicubic2d", "_upsample_bicubic2d_aa", "upsample_trilinear3d",
        "grid_sampler_2d", "index", "index_select", "gather", "embedding", "roll", "flip",
        "pixel_shuffle", "pixel_unshuffle", "im2col", "col2im", "topk", "sort", "cumsum",
        "scatter", "index_put", "_unsafe_index", "repeat", "tril", "triu",
        # data-dependent output sizes (met on real tensors only: detection post-processing)
        "nonzero", "masked_select", "nms", "_unique2", "unique_dim", "unique_consecutive",
        "argsort", "roi_align",
    }
)

# Ops with neither arithmetic nor memory traffic of their own: views and reshapes alias their
# input, allocation and metadata ops create uninitialised storage or describe tensors, and
# constants built from arguments alone (``arange``, ``linspace``) read no tensor.
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
        "new_full", "arange", "linspace", "logspace", "scalar_tensor", "lift_fresh_copy",
        # eval-mode no-ops
        "dropout", "native_dropout", "feature_dropout", "alpha_dropout",
        # parameter initialisation (happens when models are built inside the trace)
        "uniform", "normal", "kaiming_uniform", "zero", "bernoulli", "random",
        # metadata
        "sym_size", "sym_stride", "sym_numel", "sym_storage_offset", "_local_scalar_dense",
        "_assert_async", "_assert_tensor_metadata", "_functional_assert_async",
    }
)
