"""Distinct block configurations of a space: deriving, validating, building and tracing them.

A block's LayerTable depends only on its configuration - kind, input/output channels, input
side, stride, kernel / expansion choices, activation, batch - so every distinct configuration
is traced once on the meta device (``trace_blocks``) and cached on disk next to the model traces.
A candidate is the sequence stem, blocks..., head; ``plan_space`` maps each candidate's digits
to the configuration ID at every position with one table lookup per position.

Deriving configurations is torch-free (this module); building and tracing import torch lazily
(``search.blocktrace``, whose public names are re-exported here).
"""

from __future__ import annotations

import itertools
from dataclasses import astuple, dataclass

import numpy as np

from roofsweep.errors import ConfigError


def make_divisible(v: float, divisor: int = 8) -> int:
    """Same rule as ``roofsweep.zoo.blocks.make_divisible`` (kept torch-free here)."""
    new_v = max(divisor, int(v + divisor / 2) // divisor * divisor)
    return new_v + divisor if new_v < 0.9 * v else new_v


@dataclass(frozen=True)
class BlockConfig:
    """Everything a block's trace depends on. ``k1``/``k2``: stem/conv/FusedIB kernel, or the
    UIB start / middle depthwise kernels (0 = absent); ``extra``: the head's hidden width."""

    kind: str  # stem | uib | fib | conv | head
    in_ch: int
    out_ch: int
    side: int  # input height = width
    stride: int
    k1: int
    k2: int
    expand: float
    groups: int
    act: str
    batch: int
    extra: int = 0
    classes: int = 0

    @property
    def out_side(self) -> int:
        if self.kind == "head":
            return 1
        return (self.side - 1) // self.stride + 1  # odd kernels, padding k // 2

    @property
    def input_shape(self) -> tuple[int, int, int, int]:
        return (self.batch, self.in_ch, self.side, self.side)

    def key(self) -> str:
        return "|".join(str(v) for v in astuple(self))


@dataclass
class Position:
    """One position of the network: the axes its configuration depends on and a lookup table
    from their mixed-radix local code to a configuration ID."""

    label: str
    axes: list[int]
    mults: np.ndarray
    table: np.ndarray  # local code -> config ID


@dataclass
class Plan:
    configs: list[BlockConfig]
    positions: list[Position]

    def config_ids(self, digits: np.ndarray) -> np.ndarray:
        """(N, positions) config IDs of candidates given as (N, axes) digits."""
        from roofsweep.search.vector import lookup

        return lookup([(np.asarray(p.axes, dtype=np.int64), p.mults, p.table) for p in self.positions], digits)


def _odd(k: int, what: str, where: str, zero_ok: bool) -> None:
    if isinstance(k, bool) or k < 0 or (k == 0 and not zero_ok) or (k > 0 and k % 2 == 0):
        allowed = "0 (absent) or an odd size" if zero_ok else "an odd size"
        raise ConfigError(f"{where}: {what} {k} must be {allowed} (padding k//2 keeps the map centred)")


def _config(space, pos: str, slot, digits: dict[int, int], batch: int) -> BlockConfig:
    """The configuration at one position for the given axis digits (only the axes it needs)."""
    sp = space.spec
    res = sp.resolutions[digits[0]]
    alpha = sp.width_multipliers[digits[1]]

    def ch(c: int) -> int:
        return c if alpha == 1.0 else make_divisible(c * alpha)

    # walk the strides up to this position (they are not choices; cheap)
    side = (res - 1) // sp.stem.stride + 1
    in_ch = ch(sp.stem.channels)
    where = f"{space.source}: {pos}"
    if pos == "stem":
        if res < sp.stem.stride:
            raise ConfigError(f"{where}: stride {sp.stem.stride} shrinks resolution {res} px below 1 px")
        return BlockConfig("stem", 3, ch(sp.stem.channels), res, sp.stem.stride, sp.stem.kernel, 0, 0.0, 1,
                           sp.activation, batch)
    for i, s in enumerate(space.slots):
        if s is slot:
            break
        side = (side - 1) // s.spec.stride + 1
        in_ch = ch(sp.stages[s.stage].widths[digits[space.width_axis[s.stage]]])
    if pos == "head":
        h = sp.head
        return BlockConfig("head", in_ch, ch(h.channels), side, 1, 1, 0, 0.0, 1, sp.activation, batch,
                           h.hidden or 0, sp.num_classes)
    b = slot.spec
    out_ch = ch(sp.stages[slot.stage].widths[digits[space.width_axis[slot.stage]]])
    ax = space.block_axes[space.slots.index(slot)]
    pick = {f: getattr(b, f)[digits[a]] for f, a in ax.items()}
    if side < b.stride:
        raise ConfigError(f"{where}: stride {b.stride} shrinks a {side} px map below 1 px (resolution {res})")
    if b.type == "uib":
        k1, k2 = int(pick["start_dw"]), int(pick["mid_dw"])
        _odd(k1, "start_dw", where, True)
        _odd(k2, "mid_dw", where, True)
        if b.stride > 1 and not (k1 or k2):
            raise ConfigError(f"{where}: a strided UIB needs a start or middle depthwise conv (start_dw 0, mid_dw 0)")
        cfg = BlockConfig("uib", in_ch, out_ch, side, b.stride, k1, k2, float(pick["expand"]), 1, sp.activation, batch)
    elif b.type == "fib":
        _odd(int(pick["kernel"]), "kernel", where, False)
        cfg = BlockConfig("fib", in_ch, out_ch, side, b.stride, int(pick["kernel"]), 0, float(pick["expand"]), 1,
                          sp.activation, batch)
    else:
        _odd(int(pick["kernel"]), "kernel", where, False)
        if in_ch % b.groups or out_ch % b.groups:
            raise ConfigError(f"{where}: channels {in_ch} -> {out_ch} are not divisible by groups {b.groups}")
        cfg = BlockConfig("conv", in_ch, out_ch, side, b.stride, int(pick["kernel"]), 0, 0.0, b.groups,
                          sp.activation, batch)
    if cfg.expand and not cfg.expand > 0:
        raise ConfigError(f"{where}: expand must be > 0, got {cfg.expand:g}")
    return cfg


def _position_axes(space, p: int) -> list[int]:
    """Axes the configuration at slot ``p`` depends on: resolution, width multiplier, its own
    and the previous slot's stage width, its own block fields."""
    axes = [0, 1]
    slot = space.slots[p]
    if p > 0 and space.slots[p - 1].stage != slot.stage:
        axes.append(space.width_axis[space.slots[p - 1].stage])
    axes.append(space.width_axis[slot.stage])
    axes += list(space.block_axes[p].values())
    return axes


_END = object()  # "after the last slot": the head's position


def plan_space(space, batch: int = 1) -> Plan:
    """Every distinct configuration of the space and the lookup table of each position.

    Also validates every choice: an impossible block raises ``ConfigError`` naming it.
    Memoised on the space per batch.
    """
    plans = space.__dict__.setdefault("_plans", {})
    if batch not in plans:
        plans[batch] = _plan(space, batch)
    return plans[batch]


def _plan(space, batch: int) -> Plan:
    configs: dict[BlockConfig, int] = {}
    positions = []
    labels = ["stem"] + [s.label for s in space.slots] + ["head"]
    slots = [None] + list(space.slots) + [space.slots[-1]]
    for p, (label, slot) in enumerate(zip(labels, slots)):
        if label == "stem":
            axes = [0, 1]
        elif label == "head":
            axes = [0, 1, space.width_axis[space.slots[-1].stage]]
        else:
            axes = _position_axes(space, p - 1)
        radices = [int(space.radices[a]) for a in axes]
        mults = np.ones(len(axes), dtype=np.int64)
        for i in range(len(axes) - 2, -1, -1):
            mults[i] = mults[i + 1] * radices[i + 1]
        table = np.empty(int(np.prod(radices)), dtype=np.int64)
        for code, combo in enumerate(itertools.product(*[range(r) for r in radices])):
            digits = dict(zip(axes, combo))
            if label != "stem":  # earlier stages' widths do not matter beyond in_ch: use digit 0
                digits = {**{a: 0 for a in space.width_axis}, **digits}
            cfg = _config(space, label, _END if label == "head" else slot, digits, batch)
            table[code] = configs.setdefault(cfg, len(configs))
        positions.append(Position(label, axes, mults, table))
    return Plan(list(configs), positions)


def check_space(space) -> None:
    """``ConfigError`` naming the first impossible block of the space, if any."""
    plan_space(space)


# Building and tracing (torch, lazily) live in ``search.blocktrace``; re-exported here.
from roofsweep.search.blocktrace import (  # noqa: E402,F401
    EMPTY,
    TOGETHER,
    BlockTrace,
    build_block,
    build_candidate,
    build_candidate_spec,
    trace_blocks,
    used_configs,
)
