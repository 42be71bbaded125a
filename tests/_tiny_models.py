"""Callables for the ``package.module:callable`` external-model tests (see test_zoo.py)."""

import torch
from torch import nn


def tiny() -> nn.Module:
    # conv 3->8 3x3 (216 + 8 bias = 224 params) -> ReLU -> pool -> flatten -> fc 8->10 (90 params)
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(1), nn.Linear(8, 10)
    )


def not_a_module():
    return 3


def broken() -> nn.Module:
    raise ValueError("deliberately broken")


NOT_CALLABLE = 42


class _Cumprod(nn.Module):
    def forward(self, x):
        return x.cumprod(dim=1)  # no cost formula: must be reported, not silently zero


def with_unsupported() -> nn.Module:
    return nn.Sequential(nn.Conv2d(3, 4, 1), _Cumprod())


class _ReadsValuesInInit(nn.Module):
    """Its constructor reads a tensor's value, which the meta device cannot do."""

    def __init__(self):
        super().__init__()
        width = int(torch.tensor(6).item())
        self.conv = nn.Conv2d(3, width, 3)

    def forward(self, x):
        return self.conv(x)


def needs_real_init() -> nn.Module:
    return _ReadsValuesInInit()


def exits() -> nn.Module:
    raise SystemExit(3)  # user code that quits must not end roofsweep silently


def linear_only() -> nn.Module:
    return nn.Linear(8, 4)  # applied to an image input, the shapes cannot match


class _Raises(nn.Module):
    """A forward that fails with an ordinary Python error (not a torch one)."""

    def __init__(self, exc: BaseException):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 1)
        self.exc = exc

    def forward(self, x):
        self.conv(x)
        raise self.exc


def raises_zero_division() -> nn.Module:
    return _Raises(ZeroDivisionError("division by zero"))


def raises_key_error() -> nn.Module:
    return _Raises(KeyError("missing_key"))


def raises_attribute_error() -> nn.Module:
    return _Raises(AttributeError("'Net' object has no attribute 'head'"))


def raises_stop_iteration() -> nn.Module:
    return _Raises(StopIteration())


class TwoInputs(nn.Module):
    """Two images in (like an optical-flow network): one conv each, then their difference."""

    def __init__(self):
        super().__init__()
        self.a = nn.Conv2d(3, 4, 3, bias=False)
        self.b = nn.Conv2d(3, 4, 1, bias=False)

    def forward(self, x, y):
        return self.a(x) - self.b(y)


def two_inputs() -> nn.Module:
    return TwoInputs()


class KeepPositive(nn.Module):
    """Control flow that reads values: a conv, then only the positive outputs go on (like the
    score threshold of a detector) - nonzero has no meta-device kernel."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 1)
        self.fc = nn.Linear(1, 2)

    def forward(self, x):
        y = self.conv(x).flatten()
        kept = y[torch.nonzero(y > 0).squeeze(1)]
        return self.fc(kept[:, None])


def keep_positive() -> nn.Module:
    return KeepPositive()


def tiny_param(depth: int = 1, width: int = 4, kernel: int = 3) -> nn.Module:
    """A parameterised callable for callable search spaces (test_search_callable.py).

    On a 1x3x8x8 input: conv 3->width kxk (pad k//2) then (depth-1) convs width->width kxk, each
    + ReLU, then global pool and fc width->10. MACs = 64*k*k*(3*width + (depth-1)*width*width)
    + 10*width."""
    if depth == 99:
        raise ValueError("depth 99 is not buildable")
    layers: list[nn.Module] = [nn.Conv2d(3, width, kernel, padding=kernel // 2), nn.ReLU()]
    for _ in range(depth - 1):
        layers += [nn.Conv2d(width, width, kernel, padding=kernel // 2), nn.ReLU()]
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(1), nn.Linear(width, 10)]
    return nn.Sequential(*layers)
