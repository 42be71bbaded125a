"""MobileNetV1 (Howard et al. 2017, arXiv:1704.04861).

Stem conv 3x3 s2 (32) + 13 depthwise-separable blocks (dw 3x3 + BN + ReLU6, pw 1x1 + BN + ReLU6),
global average pool, FC 1024 -> classes. No residuals. Matches timm's ``mobilenetv1_100``
(4,231,976 parameters); the width multiplier scales every layer through ``make_divisible``,
including the last 1024-wide block and therefore the classifier's input (as timm's
``_gen_mobilenet_v1``; V1 has no separate wide head layer to keep).
"""

from __future__ import annotations

from torch import nn

from roofsweep.zoo.blocks import ConvBNAct, DepthwiseSeparable, MobileNet, classifier_head, make_divisible

# (out_channels, stride) of the 13 depthwise-separable blocks
V1_BLOCKS: tuple[tuple[int, int], ...] = (
    (64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2),
    (512, 1), (512, 1), (512, 1), (512, 1), (512, 1),
    (1024, 2), (1024, 1),
)


def mnv1(width_multiplier: float = 1.0, num_classes: int = 1000) -> nn.Module:
    def ch(c: int) -> int:
        return make_divisible(c * width_multiplier)

    act = nn.ReLU6
    stem_chs = ch(32)
    stem = ConvBNAct(3, stem_chs, 3, 2, act_layer=act)
    blocks: list[nn.Module] = []
    in_chs = stem_chs
    for c, s in V1_BLOCKS:
        blocks.append(DepthwiseSeparable(in_chs, ch(c), s, act_layer=act))
        in_chs = ch(c)
    head = nn.Sequential(classifier_head(in_chs, num_classes))
    return MobileNet(stem, blocks, head, name="mnv1").eval()
