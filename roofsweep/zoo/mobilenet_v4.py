"""MobileNetV4 Conv-S/M/L and Hybrid-M/L (Qin et al. 2024, arXiv:2404.10518).

Block lists follow the official TF Model Garden code (``official/vision/modeling/backbones/
mobilenet.py``) as ported by timm's ``_gen_mobilenet_v4``; where the paper's tables differ (block
order in Hybrid-M, Conv-L/Hybrid-L widths) the code wins. Notation (see
``shared/reference/mobilenet_architectures.md``):

``("cn", k, s, c)``            convbn: kxk conv + BN + act
``("fib", k, s, c, e)``        FusedIB: full kxk conv to ``in * e`` + BN + act, linear 1x1 + BN
``("uib", a, m, s, c, e)``     UIB with start dw ``a`` and middle dw ``m`` (0 = absent)
``("mqa", heads, dim, kvs)``   Mobile MQA at the current width, key = value dim ``dim``

Head (all five): ``head.conv`` convbn(1, 1, 960) at the last spatial size -> ``head.pool`` ->
``head.hidden`` 1x1 conv 960 -> 1280 + BN + act *after* pooling -> ``head.flatten`` ->
``head.fc`` Linear 1280 -> classes.

Width multiplier alpha exactly as timm's ``_gen_mobilenet_v4(channel_multiplier=alpha)``: every
block's output channels and the 960 head conv are ``make_divisible(c * alpha)``; expansions are
``make_divisible(in * e)`` of the scaled input; the stem is kept at full width for alpha < 1
(``fix_stem``) and scaled otherwise; the 1280 post-pool layer is never scaled; the MQA head
count and key/value dims are not scaled.
"""

from __future__ import annotations

from collections import OrderedDict

from torch import nn

from roofsweep.zoo.blocks import (
    ActLayer,
    ConvBNAct,
    FusedIB,
    MobileMQA,
    MobileNet,
    UniversalInvertedBottleneck,
    make_divisible,
)

Spec = tuple


def _rep(n: int, *blocks: Spec) -> list[Spec]:
    return [b for _ in range(n) for b in blocks]


def _uib(a: int, m: int, s: int, c: int, e: float = 4.0) -> Spec:
    return ("uib", a, m, s, c, e)


CONV_S: list[Spec] = [
    ("cn", 3, 2, 32), ("cn", 1, 1, 32),
    ("cn", 3, 2, 96), ("cn", 1, 1, 64),
    _uib(5, 5, 2, 96, 3), *_rep(4, _uib(0, 3, 1, 96, 2)), _uib(3, 0, 1, 96, 4),
    _uib(3, 3, 2, 128, 6), _uib(5, 5, 1, 128, 4), _uib(0, 5, 1, 128, 4), _uib(0, 5, 1, 128, 3),
    *_rep(2, _uib(0, 3, 1, 128, 4)),
]

CONV_M: list[Spec] = [
    ("fib", 3, 2, 48, 4),
    _uib(3, 5, 2, 80, 4), _uib(3, 3, 1, 80, 2),
    _uib(3, 5, 2, 160, 6), *_rep(2, _uib(3, 3, 1, 160, 4)), _uib(3, 5, 1, 160, 4),
    _uib(3, 3, 1, 160, 4), _uib(3, 0, 1, 160, 4), _uib(0, 0, 1, 160, 2), _uib(3, 0, 1, 160, 4),
    _uib(5, 5, 2, 256, 6), _uib(5, 5, 1, 256, 4), *_rep(2, _uib(3, 5, 1, 256, 4)),
    _uib(0, 0, 1, 256, 4), _uib(3, 0, 1, 256, 4), _uib(3, 5, 1, 256, 2), _uib(5, 5, 1, 256, 4),
    *_rep(2, _uib(0, 0, 1, 256, 4)), _uib(5, 0, 1, 256, 2),
]

# Conv-L and Hybrid-L share their first stages (all expansions 4).
_L_STAGES_012: list[Spec] = [
    ("fib", 3, 2, 48, 4),
    _uib(3, 5, 2, 96), _uib(3, 3, 1, 96),
    _uib(3, 5, 2, 192), *_rep(3, _uib(3, 3, 1, 192)), _uib(3, 5, 1, 192),
]
_L_STAGE3_CONV: list[Spec] = [
    _uib(5, 5, 2, 512), *_rep(3, _uib(5, 5, 1, 512)), _uib(5, 0, 1, 512), _uib(5, 3, 1, 512),
    *_rep(2, _uib(5, 0, 1, 512)), _uib(5, 3, 1, 512), _uib(5, 5, 1, 512),
]

CONV_L: list[Spec] = [
    *_L_STAGES_012, *_rep(5, _uib(5, 3, 1, 192)), _uib(3, 0, 1, 192),
    *_L_STAGE3_CONV, *_rep(3, _uib(5, 0, 1, 512)),
]

_MQA_M16 = ("mqa", 4, 64, 2)  # Hybrid-M at 16x16 (C=160): 4 heads, dim 64, kv_stride 2
_MQA_M8 = ("mqa", 4, 64, 1)  # Hybrid-M at 8x8 (C=256): 4 heads, dim 64, kv_stride 1
HYBRID_M: list[Spec] = [
    ("fib", 3, 2, 48, 4),
    _uib(3, 5, 2, 80, 4), _uib(3, 3, 1, 80, 2),
    _uib(3, 5, 2, 160, 6), _uib(0, 0, 1, 160, 2), _uib(3, 3, 1, 160, 4), _uib(3, 5, 1, 160, 4),
    _MQA_M16, _uib(3, 3, 1, 160, 4), _MQA_M16, _uib(3, 0, 1, 160, 4),
    _MQA_M16, _uib(3, 3, 1, 160, 4), _MQA_M16, _uib(3, 0, 1, 160, 4),
    _uib(5, 5, 2, 256, 6), _uib(5, 5, 1, 256, 4), *_rep(2, _uib(3, 5, 1, 256, 4)),
    _uib(0, 0, 1, 256, 2), _uib(3, 5, 1, 256, 2), _uib(0, 0, 1, 256, 2), _uib(0, 0, 1, 256, 4),
    _MQA_M8, _uib(3, 0, 1, 256, 4), _MQA_M8, _uib(5, 5, 1, 256, 4),
    _MQA_M8, _uib(5, 0, 1, 256, 4), _MQA_M8, _uib(5, 0, 1, 256, 4),
]

_MQA_L24 = ("mqa", 8, 48, 2)  # Hybrid-L at 24x24 (C=192): 8 heads, dim 48, kv_stride 2
_MQA_L12 = ("mqa", 8, 64, 1)  # Hybrid-L at 12x12 (C=512): 8 heads, dim 64, kv_stride 1
HYBRID_L: list[Spec] = [
    *_L_STAGES_012, *_rep(2, _uib(5, 3, 1, 192)),
    *_rep(3, _MQA_L24, _uib(5, 3, 1, 192)), _MQA_L24, _uib(3, 0, 1, 192),
    *_L_STAGE3_CONV, *_rep(4, _MQA_L12, _uib(5, 0, 1, 512)),
]


def _mnv4(
    arch: list[Spec],
    stem_chs: int,
    act_layer: ActLayer,
    width_multiplier: float,
    num_classes: int,
    name: str,
    layer_scale_init: float | None = None,
) -> nn.Module:
    def ch(c: int) -> int:
        return make_divisible(c * width_multiplier)

    # timm: fix_stem=channel_multiplier < 1.0
    stem_out = stem_chs if width_multiplier < 1.0 else ch(stem_chs)
    stem = ConvBNAct(3, stem_out, 3, 2, act_layer=act_layer)
    blocks: list[nn.Module] = []
    in_chs = stem_out
    for spec in arch:
        kind = spec[0]
        if kind == "cn":
            _, k, s, c = spec
            blocks.append(ConvBNAct(in_chs, ch(c), k, s, act_layer=act_layer))
            in_chs = ch(c)
        elif kind == "fib":
            _, k, s, c, e = spec
            blocks.append(FusedIB(in_chs, ch(c), k, s, e, act_layer=act_layer))
            in_chs = ch(c)
        elif kind == "uib":
            _, a, m, s, c, e = spec
            blocks.append(
                UniversalInvertedBottleneck(
                    in_chs, ch(c), a, m, s, e, act_layer=act_layer, layer_scale_init=layer_scale_init
                )
            )
            in_chs = ch(c)
        elif kind == "mqa":
            _, heads, dim, kvs = spec
            blocks.append(MobileMQA(in_chs, heads, dim, kvs, layer_scale_init=layer_scale_init))
        else:  # pragma: no cover - internal table error
            raise AssertionError(f"unknown MNv4 block kind {kind!r}")
    head_chs = ch(960)
    hidden_chs = 1280  # timm: num_features=1280, not scaled by channel_multiplier
    head = nn.Sequential(
        OrderedDict(
            conv=ConvBNAct(in_chs, head_chs, 1, act_layer=act_layer),
            pool=nn.AdaptiveAvgPool2d(1),
            hidden=ConvBNAct(head_chs, hidden_chs, 1, act_layer=act_layer),
            flatten=nn.Flatten(1),
            fc=nn.Linear(hidden_chs, num_classes),
        )
    )
    return MobileNet(stem, blocks, head, name=name).eval()


def mnv4_conv_s(width_multiplier: float = 1.0, num_classes: int = 1000) -> nn.Module:
    return _mnv4(CONV_S, 32, nn.ReLU, width_multiplier, num_classes, "mnv4-conv-s")


def mnv4_conv_m(width_multiplier: float = 1.0, num_classes: int = 1000) -> nn.Module:
    return _mnv4(CONV_M, 32, nn.ReLU, width_multiplier, num_classes, "mnv4-conv-m")


def mnv4_conv_l(width_multiplier: float = 1.0, num_classes: int = 1000) -> nn.Module:
    return _mnv4(CONV_L, 24, nn.ReLU, width_multiplier, num_classes, "mnv4-conv-l")


def mnv4_hybrid_m(width_multiplier: float = 1.0, num_classes: int = 1000) -> nn.Module:
    return _mnv4(HYBRID_M, 32, nn.ReLU, width_multiplier, num_classes, "mnv4-hybrid-m",
                 layer_scale_init=1e-5)


def mnv4_hybrid_l(width_multiplier: float = 1.0, num_classes: int = 1000) -> nn.Module:
    return _mnv4(HYBRID_L, 24, nn.GELU, width_multiplier, num_classes, "mnv4-hybrid-l",
                 layer_scale_init=1e-5)
