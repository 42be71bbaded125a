"""Building blocks shared by the MobileNet V1-V4 builders.

Module names are chosen so that a per-layer trace reads well: a ``ConvBNAct`` has children
``conv``, ``bn`` and (when it has one) ``act``, so its rows are named ``blocks.3.expand.conv``;
optional parts that a block does not have are simply absent (no ``nn.Identity`` placeholders).

Everything here builds under ``with torch.device("meta"):``: initialisation uses only ``nn.init``
functions and factory calls, never data-dependent code.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

ActLayer = Callable[[], nn.Module] | None


def make_divisible(v: float, divisor: int = 8, min_value: int | None = None) -> int:
    """Round ``v`` to the nearest multiple of ``divisor``, never below ``min_value`` (default the
    divisor) and never more than 10 % below ``v`` (TF-slim / torchvision / timm rule).

    >>> make_divisible(32 * 0.75), make_divisible(1280 * 0.35), make_divisible(20)
    (24, 448, 24)
    """
    min_value = divisor if min_value is None else min_value
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


class ConvBNAct(nn.Sequential):
    """``conv`` (bias-free) -> ``bn`` -> optional ``act``. ``groups=-1`` means depthwise."""

    def __init__(
        self,
        in_chs: int,
        out_chs: int,
        kernel_size: int = 1,
        stride: int = 1,
        groups: int = 1,
        act_layer: ActLayer = nn.ReLU,
    ) -> None:
        groups = in_chs if groups == -1 else groups
        layers: OrderedDict[str, nn.Module] = OrderedDict(
            conv=nn.Conv2d(
                in_chs, out_chs, kernel_size, stride=stride, padding=kernel_size // 2,
                groups=groups, bias=False,
            ),
            bn=nn.BatchNorm2d(out_chs),
        )
        if act_layer is not None:
            layers["act"] = act_layer()
        super().__init__(layers)


class DepthwiseSeparable(nn.Module):
    """MobileNetV1 block: ``dw`` 3x3 + BN + act, ``pw`` 1x1 + BN + act. No residual."""

    def __init__(self, in_chs: int, out_chs: int, stride: int = 1, act_layer: ActLayer = nn.ReLU6):
        super().__init__()
        self.dw = ConvBNAct(in_chs, in_chs, 3, stride, groups=-1, act_layer=act_layer)
        self.pw = ConvBNAct(in_chs, out_chs, 1, act_layer=act_layer)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pw(self.dw(x))


class SqueezeExcite(nn.Module):
    """V3 squeeze-excite: global pool -> 1x1 ``reduce`` (bias) -> ReLU -> 1x1 ``expand`` (bias)
    -> hard-sigmoid ``gate`` -> multiply the input."""

    def __init__(self, chs: int, rd_chs: int, act_layer: ActLayer = nn.ReLU,
                 gate_layer: ActLayer = nn.Hardsigmoid) -> None:
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.reduce = nn.Conv2d(chs, rd_chs, 1, bias=True)
        self.act = act_layer()
        self.expand = nn.Conv2d(rd_chs, chs, 1, bias=True)
        self.gate = gate_layer()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = self.gate(self.expand(self.act(self.reduce(self.pool(x)))))
        return x * s


class InvertedResidual(nn.Module):
    """V2/V3 inverted residual: ``expand`` 1x1 (absent when ``mid == in``) -> ``dw`` kxk ->
    optional ``se`` -> linear ``proj`` 1x1; residual add iff stride 1 and in == out."""

    def __init__(
        self,
        in_chs: int,
        mid_chs: int,
        out_chs: int,
        kernel_size: int = 3,
        stride: int = 1,
        act_layer: ActLayer = nn.ReLU6,
        se_chs: int | None = None,
    ) -> None:
        super().__init__()
        self.has_skip = stride == 1 and in_chs == out_chs
        self.expand = ConvBNAct(in_chs, mid_chs, 1, act_layer=act_layer) if mid_chs != in_chs else None
        self.dw = ConvBNAct(mid_chs, mid_chs, kernel_size, stride, groups=-1, act_layer=act_layer)
        self.se = SqueezeExcite(mid_chs, se_chs) if se_chs else None
        self.proj = ConvBNAct(mid_chs, out_chs, 1, act_layer=None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x
        if self.expand is not None:
            y = self.expand(y)
        y = self.dw(y)
        if self.se is not None:
            y = self.se(y)
        y = self.proj(y)
        return x + y if self.has_skip else y


class LayerScale(nn.Module):
    """Per-channel learnable scale ``gamma`` (init ``init_value``), as in the MNv4 hybrids."""

    def __init__(self, chs: int, init_value: float = 1e-5) -> None:
        super().__init__()
        self.gamma = nn.Parameter(torch.full((chs,), init_value))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gamma.view(1, -1, 1, 1)


class UniversalInvertedBottleneck(nn.Module):
    """MNv4 UIB ``uib(start_dw_k, middle_dw_k, stride, out, expand)``.

    ``dw_start`` (dw + BN, no activation) -> ``expand`` 1x1 to ``make_divisible(in * expand)``
    + BN + act -> ``dw_mid`` (dw + BN + act) -> ``proj`` 1x1 + BN (linear) -> optional
    ``layer_scale``; residual add iff stride 1 and in == out. A kernel size of 0 means that
    depthwise conv is absent. The stride goes to the middle dw if present, else the start dw.
    """

    def __init__(
        self,
        in_chs: int,
        out_chs: int,
        start_dw_k: int,
        mid_dw_k: int,
        stride: int = 1,
        expand_ratio: float = 4.0,
        act_layer: ActLayer = nn.ReLU,
        layer_scale_init: float | None = None,
    ) -> None:
        super().__init__()
        if stride > 1 and not (start_dw_k or mid_dw_k):
            raise ValueError("a strided UIB needs a start or middle depthwise conv")
        self.has_skip = stride == 1 and in_chs == out_chs
        mid_chs = make_divisible(in_chs * expand_ratio)
        self.dw_start = (
            ConvBNAct(in_chs, in_chs, start_dw_k, stride if not mid_dw_k else 1, groups=-1,
                      act_layer=None)
            if start_dw_k else None
        )
        self.expand = ConvBNAct(in_chs, mid_chs, 1, act_layer=act_layer)
        self.dw_mid = (
            ConvBNAct(mid_chs, mid_chs, mid_dw_k, stride, groups=-1, act_layer=act_layer)
            if mid_dw_k else None
        )
        self.proj = ConvBNAct(mid_chs, out_chs, 1, act_layer=None)
        self.layer_scale = LayerScale(out_chs, layer_scale_init) if layer_scale_init is not None else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x
        if self.dw_start is not None:
            y = self.dw_start(y)
        y = self.expand(y)
        if self.dw_mid is not None:
            y = self.dw_mid(y)
        y = self.proj(y)
        if self.layer_scale is not None:
            y = self.layer_scale(y)
        return x + y if self.has_skip else y


class FusedIB(nn.Module):
    """MNv4 ``fused_ib(k, stride, out, expand)``: a *full* kxk conv to ``make_divisible(in *
    expand)`` + BN + act (``expand``), then a linear 1x1 ``proj`` + BN. Residual iff stride 1
    and in == out (never the case in the official models)."""

    def __init__(
        self,
        in_chs: int,
        out_chs: int,
        kernel_size: int = 3,
        stride: int = 2,
        expand_ratio: float = 4.0,
        act_layer: ActLayer = nn.ReLU,
    ) -> None:
        super().__init__()
        self.has_skip = stride == 1 and in_chs == out_chs
        mid_chs = make_divisible(in_chs * expand_ratio)
        self.expand = ConvBNAct(in_chs, mid_chs, kernel_size, stride, act_layer=act_layer)
        self.proj = ConvBNAct(mid_chs, out_chs, 1, act_layer=None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.proj(self.expand(x))
        return x + y if self.has_skip else y


class _KVProjection(nn.Sequential):
    """K or V path: optional ``down`` 3x3 depthwise conv (stride ``kv_stride``) + ``norm`` (only
    when ``kv_stride > 1``, as in the official code), then the 1x1 ``proj`` (no bias)."""

    def __init__(self, dim: int, out_dim: int, kv_stride: int, dw_kernel_size: int = 3) -> None:
        layers: OrderedDict[str, nn.Module] = OrderedDict()
        if kv_stride > 1:
            layers["down"] = nn.Conv2d(
                dim, dim, dw_kernel_size, stride=kv_stride, padding=dw_kernel_size // 2,
                groups=dim, bias=False,
            )
            layers["norm"] = nn.BatchNorm2d(dim)
        layers["proj"] = nn.Conv2d(dim, out_dim, 1, bias=False)
        super().__init__(layers)


class MultiQueryAttention2d(nn.Module):
    """Mobile MQA attention on NCHW maps: ``heads`` query heads, one shared K and V head.

    ``query``: 1x1 conv C -> heads*key_dim (no bias, query stride 1); ``key`` / ``value``: see
    ``_KVProjection``; softmax(Q K^T / sqrt(key_dim)) V via
    ``F.scaled_dot_product_attention`` with q ``(B, heads, Lq, key_dim)`` and k / v
    ``(B, 1, Lkv, dim)`` broadcast to the heads with ``expand`` (a view, no copy);
    ``output``: 1x1 conv heads*value_dim -> C (no bias).
    Channel layout of the projections is head-major, as in the official code and timm.
    """

    def __init__(self, dim: int, num_heads: int, key_dim: int, value_dim: int, kv_stride: int = 1,
                 dw_kernel_size: int = 3) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.key_dim = key_dim
        self.value_dim = value_dim
        self.kv_stride = kv_stride
        self.query = nn.Conv2d(dim, num_heads * key_dim, 1, bias=False)
        self.key = _KVProjection(dim, key_dim, kv_stride, dw_kernel_size)
        self.value = _KVProjection(dim, value_dim, kv_stride, dw_kernel_size)
        self.output = nn.Conv2d(num_heads * value_dim, dim, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, _, h, w = x.shape
        heads = self.num_heads
        # (B, heads*kd, H, W) -> (B, heads, kd, L) -> (B, heads, L, kd)
        q = self.query(x).reshape(b, heads, self.key_dim, h * w).transpose(-1, -2)
        # (B, kd, Hk, Wk) -> (B, kd, Lkv) -> (B, 1, Lkv, kd), broadcast to the heads as a view
        k = self.key(x).flatten(2).transpose(1, 2).unsqueeze(1)
        v = self.value(x).flatten(2).transpose(1, 2).unsqueeze(1)
        k = k.expand(b, heads, k.shape[2], self.key_dim)
        v = v.expand(b, heads, v.shape[2], self.value_dim)
        o = F.scaled_dot_product_attention(q, k, v)  # (B, heads, L, vd); scale 1/sqrt(kd)
        # (B, heads, L, vd) -> (B, heads, vd, L) -> (B, heads*vd, H, W): channel = head*vd + d
        o = o.transpose(-1, -2).reshape(b, heads * self.value_dim, h, w)
        return self.output(o)


class MobileMQA(nn.Module):
    """MNv4 hybrid attention block: pre-norm ``norm`` (BN) -> ``attn`` -> ``layer_scale`` ->
    residual add."""

    def __init__(self, dim: int, num_heads: int, key_dim: int, kv_stride: int = 1,
                 layer_scale_init: float | None = 1e-5) -> None:
        super().__init__()
        self.norm = nn.BatchNorm2d(dim)
        self.attn = MultiQueryAttention2d(dim, num_heads, key_dim, key_dim, kv_stride)
        self.layer_scale = LayerScale(dim, layer_scale_init) if layer_scale_init is not None else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.attn(self.norm(x))
        if self.layer_scale is not None:
            y = self.layer_scale(y)
        return x + y


class MobileNet(nn.Module):
    """The common container: ``stem`` -> ``blocks`` (flat ``nn.Sequential``) -> ``head``."""

    def __init__(self, stem: nn.Module, blocks: list[nn.Module], head: nn.Sequential,
                 name: str = "") -> None:
        super().__init__()
        self.stem = stem
        self.blocks = nn.Sequential(*blocks)
        self.head = head
        self.arch_name = name
        init_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.blocks(self.stem(x)))


def init_weights(model: nn.Module) -> None:
    """Conventional MobileNet initialisation (meta-safe: only ``nn.init`` calls)."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0, 0.01)
            nn.init.zeros_(m.bias)


def classifier_head(in_chs: int, num_classes: int, dropout: float = 0.0) -> OrderedDict[str, nn.Module]:
    """``pool`` -> ``flatten`` -> optional ``dropout`` -> ``fc``, as an ordered dict to extend."""
    layers: OrderedDict[str, nn.Module] = OrderedDict(
        pool=nn.AdaptiveAvgPool2d(1), flatten=nn.Flatten(1)
    )
    if dropout:
        layers["dropout"] = nn.Dropout(dropout)
    layers["fc"] = nn.Linear(in_chs, num_classes)
    return layers
