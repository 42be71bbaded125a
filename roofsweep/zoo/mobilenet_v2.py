"""MobileNetV2 (Sandler et al. 2018, arXiv:1801.04381).

Stem conv 3x3 s2 (32) + inverted residual blocks (t, c, n, s), a 1x1 conv to 1280 + ReLU6 *before*
pooling, pool, dropout, FC 1280 -> classes. Matches torchvision's ``mobilenet_v2`` at every
``width_mult`` (and timm's ``_gen_mobilenet_v2``): block channels ``make_divisible(c * alpha)``,
the stem scaled too, and the 1280 head kept at full width for alpha < 1, scaled for alpha > 1
(``make_divisible(1280 * max(1, alpha))``, TF-slim's ``finegrain_classification_mode``).
"""

from __future__ import annotations

from collections import OrderedDict

from torch import nn

from roofsweep.zoo.blocks import ConvBNAct, InvertedResidual, MobileNet, classifier_head, make_divisible

# (expand ratio t, out channels c, repeats n, first stride s)
V2_SETTING: tuple[tuple[int, int, int, int], ...] = (
    (1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2),
    (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1),
)


def mnv2(width_multiplier: float = 1.0, num_classes: int = 1000) -> nn.Module:
    act = nn.ReLU6
    stem_chs = make_divisible(32 * width_multiplier)
    stem = ConvBNAct(3, stem_chs, 3, 2, act_layer=act)
    blocks: list[nn.Module] = []
    in_chs = stem_chs
    for t, c, n, s in V2_SETTING:
        out_chs = make_divisible(c * width_multiplier)
        for i in range(n):
            # torchvision: hidden = round(in * t); in is a multiple of 8 so this is exact
            blocks.append(
                InvertedResidual(in_chs, int(round(in_chs * t)), out_chs, 3, s if i == 0 else 1, act)
            )
            in_chs = out_chs
    last_chs = make_divisible(1280 * max(1.0, width_multiplier))
    head = nn.Sequential(
        OrderedDict(
            conv=ConvBNAct(in_chs, last_chs, 1, act_layer=act),
            **classifier_head(last_chs, num_classes, dropout=0.2),
        )
    )
    return MobileNet(stem, blocks, head, name="mnv2").eval()
