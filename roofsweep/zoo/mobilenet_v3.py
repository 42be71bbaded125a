"""MobileNetV3-Large and -Small (Howard et al. 2019, arXiv:1905.02244).

The bneck tables are torchvision's ``mobilenet_v3_large/small`` (identical to the paper's Tables 1
and 2). Head: 1x1 conv to 960 (Small: 576) + hard-swish *before* pooling, pool, FC 960 -> 1280
(Small 576 -> 1024) + hard-swish, dropout, FC -> classes.

Width multiplier alpha, following the official TF code (TF-slim / Model Garden, as also timm):
 * output channels and the stem: ``make_divisible(c * alpha)``;
 * expanded channels: ``make_divisible(in * ratio)`` with the table's ratio ``exp / in`` applied to
   the *scaled* input (``ir_..._e2.3_c80``), not ``make_divisible(exp * alpha)`` as torchvision
   does - they agree at alpha = 1 but not elsewhere (at 0.75 the official/timm model has 4.0 M
   params and 155 M MACs, the paper's Table 3 figures; torchvision's 3.4 M / 140 M);
 * SE squeeze: ``make_divisible(expanded / 4)``;
 * the 1280 (Small: 1024) FC is kept at full width for alpha < 1 and scaled for alpha > 1
   (``make_divisible(1280 * max(1, alpha))``, the spec's rule; torchvision scales it both ways,
   timm never).
"""

from __future__ import annotations

from collections import OrderedDict

from torch import nn

from roofsweep.zoo.blocks import ConvBNAct, InvertedResidual, MobileNet, make_divisible

# (in, kernel, expanded, out, use_se, activation RE/HS, stride) - torchvision's bneck tables
V3_LARGE: tuple[tuple[int, int, int, int, bool, str, int], ...] = (
    (16, 3, 16, 16, False, "RE", 1),
    (16, 3, 64, 24, False, "RE", 2),
    (24, 3, 72, 24, False, "RE", 1),
    (24, 5, 72, 40, True, "RE", 2),
    (40, 5, 120, 40, True, "RE", 1),
    (40, 5, 120, 40, True, "RE", 1),
    (40, 3, 240, 80, False, "HS", 2),
    (80, 3, 200, 80, False, "HS", 1),
    (80, 3, 184, 80, False, "HS", 1),
    (80, 3, 184, 80, False, "HS", 1),
    (80, 3, 480, 112, True, "HS", 1),
    (112, 3, 672, 112, True, "HS", 1),
    (112, 5, 672, 160, True, "HS", 2),
    (160, 5, 960, 160, True, "HS", 1),
    (160, 5, 960, 160, True, "HS", 1),
)
V3_SMALL: tuple[tuple[int, int, int, int, bool, str, int], ...] = (
    (16, 3, 16, 16, True, "RE", 2),
    (16, 3, 72, 24, False, "RE", 2),
    (24, 3, 88, 24, False, "RE", 1),
    (24, 5, 96, 40, True, "HS", 2),
    (40, 5, 240, 40, True, "HS", 1),
    (40, 5, 240, 40, True, "HS", 1),
    (40, 5, 120, 48, True, "HS", 1),
    (48, 5, 144, 48, True, "HS", 1),
    (48, 5, 288, 96, True, "HS", 2),
    (96, 5, 576, 96, True, "HS", 1),
    (96, 5, 576, 96, True, "HS", 1),
)


def _mnv3(table, last_conv: int, last_fc: int, width_multiplier: float, num_classes: int,
          name: str) -> nn.Module:
    def ch(c: float) -> int:
        return make_divisible(c * width_multiplier)

    stem_chs = ch(16)
    stem = ConvBNAct(3, stem_chs, 3, 2, act_layer=nn.Hardswish)
    blocks: list[nn.Module] = []
    in_chs = stem_chs
    for tin, k, texp, tout, se, act, s in table:
        mid = make_divisible(in_chs * texp / tin)
        out = ch(tout)
        blocks.append(
            InvertedResidual(
                in_chs, mid, out, k, s,
                act_layer=nn.Hardswish if act == "HS" else nn.ReLU,
                se_chs=make_divisible(mid / 4) if se else None,
            )
        )
        in_chs = out
    conv_chs = ch(last_conv)
    fc_chs = make_divisible(last_fc * max(1.0, width_multiplier))
    head = nn.Sequential(
        OrderedDict(
            conv=ConvBNAct(in_chs, conv_chs, 1, act_layer=nn.Hardswish),
            pool=nn.AdaptiveAvgPool2d(1),
            flatten=nn.Flatten(1),
            hidden=nn.Linear(conv_chs, fc_chs),
            hidden_act=nn.Hardswish(),
            dropout=nn.Dropout(0.2),
            fc=nn.Linear(fc_chs, num_classes),
        )
    )
    return MobileNet(stem, blocks, head, name=name).eval()


def mnv3_large(width_multiplier: float = 1.0, num_classes: int = 1000) -> nn.Module:
    return _mnv3(V3_LARGE, 960, 1280, width_multiplier, num_classes, "mnv3-large")


def mnv3_small(width_multiplier: float = 1.0, num_classes: int = 1000) -> nn.Module:
    return _mnv3(V3_SMALL, 576, 1024, width_multiplier, num_classes, "mnv3-small")
