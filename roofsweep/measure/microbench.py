"""Microbenchmarks for ``roofsweep calibrate``: small modules spanning a LayerTable's op classes.

Each microbenchmark is one layer (or one small block) built from ``torch.nn``, never a model
that is validated: k x k convolutions (stem, 3x3 at several channel counts and resolutions,
stride 1 and 2), pointwise 1x1 convolutions (expansion and projection shapes, the narrow
layers of width-scaled models included), depthwise 3x3 and 5x5 with stride 1 and 2 and 1x1 (a
per-channel scale), activation pairs (one pointwise and one depthwise shape with each
activation and with none, so an activation's cost is a difference of two measurements), fully
connected GEMMs (classifier heads, skinny 1x1-map convs of squeeze-excite blocks, token-wise
linears), elementwise (residual add of two tensors, SE gate multiply, standalone activations),
channel concatenations, pooling (global average, max), attention (projections +
``scaled_dot_product_attention`` at several widths, head counts and sequence lengths), and
``other`` (layer norm, softmax after an activation x activation matmul), and a small op inside
1-64 nested containers (the per-module-call cost of eager PyTorch), and chains of 2 and 6
identical layers (so the per-layer cost separates from the per-run cost).

A convolution is followed by BatchNorm and an activation, as in the models, so that the
measured module and its LayerTable row (BN folded, activation fused) are what a model's row is.
Each is traced by the same tracer and costed by the same cost model as the models
(``roofsweep.measure.calibrate``), so the fit is in the engine's own units.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class Microbench:
    label: str
    kind: str                    # the op class it is meant to exercise
    build: Callable[[], object]  # -> nn.Module (random weights)
    input_shape: tuple[int, ...]


def _act(name: str):
    from torch import nn

    return {"relu": nn.ReLU, "relu6": nn.ReLU6, "hswish": nn.Hardswish, "gelu": nn.GELU, "silu": nn.SiLU,
            "hsig": nn.Hardsigmoid, "sigmoid": nn.Sigmoid,
            "none": nn.Identity}[name]()


def _conv(cin: int, cout: int, k: int, stride: int, groups: int, act: str):
    from torch import nn

    def build():
        return nn.Sequential(nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False),
                             nn.BatchNorm2d(cout), _act(act))
    return build


def _linear(cin: int, cout: int, act: str):
    from torch import nn

    def build():
        return nn.Sequential(nn.Linear(cin, cout), _act(act))
    return build


def _chain(k: int, build_one):
    from torch import nn

    def build():
        return nn.Sequential(*[build_one() for _ in range(k)])
    return build


def _nested(depth: int):
    from torch import nn

    def build():
        m = nn.ReLU()
        for _ in range(depth):
            m = nn.Sequential(m)
        return m
    return build


def _module(name: str, *args):
    def build():
        return _blocks()[name](*args)
    return build


def _blocks() -> dict:
    """nn.Module classes for the non-Sequential microbenchmarks (built lazily: torch import)."""
    import torch
    import torch.nn.functional as F
    from torch import nn

    def torch_sigmoid(x):
        return x.sigmoid()

    class Add(nn.Module):  # a residual add: two distinct operands read, one written
        def __init__(self, shape):
            super().__init__()
            # the second operand is a buffer of the input's shape: a tensor of its own, as the
            # skip branch of a model is (``x + x`` reads one tensor twice, from cache: ~1.5x faster)
            self.register_buffer("skip", torch.randn(shape, generator=torch.Generator().manual_seed(1)))

        def forward(self, x):
            return x + self.skip

    class Concat(nn.Module):  # a channel concatenation of two distinct tensors (GhostNet, SqueezeNet)
        def __init__(self, shape):
            super().__init__()
            self.register_buffer("other", torch.randn(shape, generator=torch.Generator().manual_seed(2)))

        def forward(self, x):
            return torch.cat([x, self.other], 1)

    class Gate(nn.Module):  # squeeze-excite gate without the FCs: global pool, then multiply
        def forward(self, x):
            return x * x.mean((2, 3), keepdim=True)

    class Act(nn.Module):
        def __init__(self, kind):
            super().__init__()
            self.fn = {"hswish": F.hardswish, "sigmoid": torch_sigmoid, "gelu": F.gelu}[kind]

        def forward(self, x):
            return self.fn(x)

    class Attention(nn.Module):
        def __init__(self, dim, heads):
            super().__init__()
            self.heads = heads
            self.qkv = nn.Linear(dim, 3 * dim)
            self.proj = nn.Linear(dim, dim)

        def forward(self, x):
            b, n, c = x.shape
            q, k, v = self.qkv(x).reshape(b, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
            y = F.scaled_dot_product_attention(q, k, v)
            return self.proj(y.transpose(1, 2).reshape(b, n, c))

    class MatmulSoftmax(nn.Module):
        def forward(self, x):
            return (x @ x.transpose(-1, -2)).softmax(-1)

    return {"add": Add, "concat": Concat, "gate": Gate, "act": Act, "attention": Attention, "matmul_softmax": MatmulSoftmax,
            "layernorm": nn.LayerNorm, "avgpool": lambda: nn.AdaptiveAvgPool2d(1),
            "maxpool": lambda: nn.MaxPool2d(3, 2, 1)}


def _specs() -> list[Microbench]:
    out: list[Microbench] = []

    def add(label, kind, build, shape):
        out.append(Microbench(label, kind, build, tuple(shape)))

    # k x k dense convolutions: (cin, cout, resolution, stride, activation)
    for cin, cout, r, s, a in [(3, 16, 224, 2, "hswish"), (3, 32, 224, 2, "relu"), (3, 24, 256, 2, "relu"),
                               (16, 16, 112, 1, "relu"), (32, 32, 56, 1, "relu"), (32, 64, 112, 2, "relu"),
                               (64, 64, 56, 1, "relu"), (64, 64, 28, 1, "none"), (128, 128, 28, 1, "relu"),
                               (128, 256, 28, 2, "relu"), (256, 256, 14, 1, "relu"), (512, 512, 7, 1, "relu"),
                               (32, 128, 56, 1, "relu"), (48, 192, 28, 1, "relu"), (96, 384, 14, 1, "gelu"),
                               (8, 8, 112, 1, "relu"), (16, 32, 56, 2, "relu")]:
        add(f"conv3x3 {cin}->{cout} @{r} s{s} {a}", "conv2d", _conv(cin, cout, 3, s, 1, a), (1, cin, r, r))
    # pointwise 1x1 convolutions: (cin, cout, resolution, activation)
    for cin, cout, r, a in [(16, 96, 112, "relu6"), (96, 24, 56, "none"), (24, 144, 56, "relu6"),
                            (144, 24, 56, "none"), (32, 192, 28, "hswish"), (192, 32, 28, "none"),
                            (64, 384, 14, "relu6"), (384, 64, 14, "none"), (96, 576, 14, "hswish"),
                            (576, 96, 14, "none"), (160, 960, 7, "hswish"), (960, 160, 7, "none"),
                            (320, 1280, 7, "relu6"), (256, 1024, 14, "relu"), (1024, 256, 14, "none"),
                            (64, 256, 56, "relu"), (256, 64, 56, "relu"), (512, 2048, 7, "relu"),
                            (2048, 512, 7, "relu"), (128, 512, 28, "gelu"),
                            (40, 240, 28, "silu"), (672, 112, 14, "none"),
                            # narrow layers of width-scaled models (0.35x-0.75x): few input channels
                            (8, 32, 112, "relu"), (16, 8, 112, "none"), (12, 36, 56, "relu6"),
                            (32, 12, 56, "none"), (24, 72, 56, "relu"), (40, 120, 28, "hswish"),
                            (120, 40, 28, "none"), (48, 24, 28, "none")]:
        add(f"conv1x1 {cin}->{cout} @{r} {a}", "conv2d", _conv(cin, cout, 1, 1, 1, a), (1, cin, r, r))
    # depthwise: (channels, resolution, kernel, stride, activation)
    for c, r, k, s, a in [(32, 112, 3, 1, "relu6"), (96, 112, 3, 2, "relu6"), (144, 56, 3, 1, "relu6"),
                          (144, 56, 3, 2, "relu6"), (192, 28, 3, 1, "relu6"), (384, 14, 3, 1, "relu6"),
                          (576, 14, 3, 2, "relu6"), (960, 7, 3, 1, "relu6"), (16, 112, 3, 1, "relu"),
                          (72, 56, 5, 2, "relu"), (120, 28, 5, 1, "hswish"), (240, 28, 5, 1, "hswish"),
                          (480, 14, 5, 1, "hswish"), (672, 14, 5, 2, "hswish"), (960, 7, 5, 1, "hswish"),
                          (64, 56, 5, 1, "none"), (256, 14, 3, 1, "none"), (1152, 7, 5, 1, "relu"),
                          (240, 28, 3, 1, "silu"), (8, 112, 3, 1, "relu"), (24, 56, 3, 2, "relu6"),
                          (48, 28, 5, 1, "hswish")]:
        add(f"dw{k}x{k} {c} @{r} s{s} {a}", "dwconv2d", _conv(c, c, k, s, c, a), (1, c, r, r))
    # depthwise 1x1 (a per-channel scale: the re-parameterisable branches of MobileOne/FastViT)
    for c, r, a in [(64, 56, "none"), (128, 28, "relu"), (256, 14, "none"), (512, 7, "none")]:
        add(f"dw1x1 {c} @{r} {a}", "dwconv2d", _conv(c, c, 1, 1, c, a), (1, c, r, r))
    # activation pairs: one pointwise and one depthwise shape with each activation and with none,
    # so an activation's own cost is the difference of two measurements (fused into the conv on
    # one runtime, a kernel of its own on another) rather than confounded with the conv's shape
    for a in ("none", "relu", "relu6", "hswish", "hsig", "sigmoid", "silu", "gelu"):
        add(f"pair conv1x1 64->256 @28 {a}", "conv2d", _conv(64, 256, 1, 1, 1, a), (1, 64, 28, 28))
        add(f"pair dw3x3 144 @56 {a}", "dwconv2d", _conv(144, 144, 3, 1, 144, a), (1, 144, 56, 56))
    # fully connected: heads on (1, cin); SE 1x1 convs on a 1x1 map; token-wise linears
    for cin, cout in [(1280, 1000), (1024, 1000), (960, 1280), (576, 1024), (2048, 1000), (768, 1000)]:
        add(f"fc {cin}->{cout}", "fc", _linear(cin, cout, "none"), (1, cin))
    for cin, cout, a in [(96, 24, "relu"), (24, 96, "hsig"), (240, 64, "relu"), (64, 240, "sigmoid"),
                         (960, 240, "relu"), (240, 960, "none")]:
        add(f"se-fc {cin}->{cout} {a}", "fc", _conv(cin, cout, 1, 1, 1, a), (1, cin, 1, 1))
    for n, cin, cout, a in [(196, 192, 576, "none"), (196, 384, 1536, "gelu"), (49, 512, 1536, "none"),
                            (784, 64, 256, "gelu"), (196, 768, 768, "none"), (256, 144, 432, "none")]:
        add(f"token-fc {n}x{cin}->{cout} {a}", "fc", _linear(cin, cout, a), (1, n, cin))
    # elementwise
    for c, r in [(24, 112), (32, 56), (64, 28), (96, 14), (160, 7), (256, 56)]:
        add(f"add {c} @{r}", "elementwise", _module("add", (1, c, r, r)), (1, c, r, r))
    for c, r in [(16, 112), (48, 56), (96, 28), (240, 14)]:
        add(f"concat {c}+{c} @{r}", "other", _module("concat", (1, c, r, r)), (1, c, r, r))
    for kind, c, r in [("hswish", 16, 112), ("hswish", 96, 28), ("sigmoid", 240, 14), ("gelu", 64, 56)]:
        add(f"{kind} {c} @{r}", "elementwise", _module("act", kind), (1, c, r, r))
    for c, r in [(96, 56), (240, 28), (672, 14), (960, 7)]:
        add(f"se-gate {c} @{r}", "elementwise", _module("gate"), (1, c, r, r))
    # pooling
    for c, r in [(2048, 7), (960, 7), (512, 14), (1280, 7), (64, 56)]:
        add(f"global-avgpool {c} @{r}", "pool", _module("avgpool"), (1, c, r, r))
    for c, r in [(64, 112), (32, 56)]:
        add(f"maxpool3x3 {c} @{r}", "pool", _module("maxpool"), (1, c, r, r))
    # attention: (tokens, width, heads)
    for n, c, h in [(49, 256, 4), (49, 512, 8), (196, 192, 3), (196, 384, 6), (256, 128, 4),
                    (784, 64, 2), (64, 256, 8), (144, 144, 4)]:
        add(f"attention n{n} d{c} h{h}", "attention", _module("attention", c, h), (1, n, c))
    # other: layer norm; matmul + softmax
    for n, c in [(196, 192), (49, 768), (784, 64), (3136, 96)]:
        add(f"layernorm {n}x{c}", "other", _module("layernorm", c), (1, n, c))
    for h, n, d in [(4, 49, 32), (8, 196, 64), (2, 256, 32)]:
        add(f"matmul-softmax h{h} n{n} d{d}", "matmul", _module("matmul_softmax"), (1, h, n, d))
    # chains of k identical layers: per-layer cost separates from per-run cost (one forward /
    # session.run per chain, k layers)
    for k in (2, 6):
        add(f"chain{k} conv1x1 96->96 @28", "conv2d", _chain(k, _conv(96, 96, 1, 1, 1, "relu6")), (1, 96, 28, 28))
        add(f"chain{k} dw3x3 144 @28", "dwconv2d", _chain(k, _conv(144, 144, 3, 1, 144, "relu6")), (1, 144, 28, 28))
        add(f"chain{k} token-fc 196x192->192", "fc", _chain(k, _linear(192, 192, "none")), (1, 196, 192))
        add(f"chain{k} layernorm 196x192", "other", _chain(k, _module("layernorm", 192)), (1, 196, 192))
        add(f"chain{k} add 64 @28", "elementwise", _chain(k, _module("add", (1, 64, 28, 28))), (1, 64, 28, 28))
    # framework overhead: a small op wrapped in d nested containers (one module call each)
    for d in (1, 8, 32, 64):
        add(f"nested x{d}", "calls", _nested(d), (1, 8, 8, 8))
    return out


MICROBENCHMARKS: tuple[Microbench, ...] = tuple(_specs())


def select(quick: bool = False) -> tuple[Microbench, ...]:
    """All microbenchmarks, or every third (still every op class) for a quick calibration."""
    if not quick:
        return MICROBENCHMARKS
    kinds: dict[str, list[Microbench]] = {}
    for m in MICROBENCHMARKS:
        kinds.setdefault(m.kind, []).append(m)
    return tuple(m for ms in kinds.values() for m in (ms[::3] if len(ms) >= 6 else ms))
