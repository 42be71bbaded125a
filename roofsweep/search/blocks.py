"""Distinct block configurations of a space: deriving, validating, building and tracing them.

A block's LayerTable depends only on its configuration - kind, input/output channels, input
side, stride, kernel / expansion choices, activation, batch - so every distinct configuration
is traced once on the meta device (``trace_blocks``) and cached on disk next to the model traces.
A candidate is the sequence stem, blocks..., head; ``plan_space`` maps each candidate's digits
to the configuration ID at every position with one table lookup per position.

Deriving configurations is torch-free; building and tracing import torch lazily.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
import os
import tempfile
from collections import OrderedDict
from dataclasses import astuple, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from roofsweep.errors import ConfigError
from roofsweep.layertable import LAYER_COLUMNS


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


# ---------------------------------------------------------------------- building (torch)
def _act_layer(name: str):
    from torch import nn

    return {"relu": nn.ReLU, "relu6": nn.ReLU6, "hardswish": nn.Hardswish, "gelu": nn.GELU, "silu": nn.SiLU}[name]


def build_block(cfg: BlockConfig):
    """The ``nn.Module`` of one configuration (call under ``torch.device('meta')``)."""
    from torch import nn

    from roofsweep.zoo.blocks import ConvBNAct, FusedIB, UniversalInvertedBottleneck

    act = _act_layer(cfg.act)
    if cfg.kind in ("stem", "conv"):
        return ConvBNAct(cfg.in_ch, cfg.out_ch, cfg.k1, cfg.stride, groups=cfg.groups, act_layer=act)
    if cfg.kind == "uib":
        return UniversalInvertedBottleneck(cfg.in_ch, cfg.out_ch, cfg.k1, cfg.k2, cfg.stride, cfg.expand, act_layer=act)
    if cfg.kind == "fib":
        return FusedIB(cfg.in_ch, cfg.out_ch, cfg.k1, cfg.stride, cfg.expand, act_layer=act)
    layers = OrderedDict(conv=ConvBNAct(cfg.in_ch, cfg.out_ch, 1, act_layer=act), pool=nn.AdaptiveAvgPool2d(1))
    width = cfg.out_ch
    if cfg.extra:
        layers["hidden"] = ConvBNAct(cfg.out_ch, cfg.extra, 1, act_layer=act)
        width = cfg.extra
    layers["flatten"] = nn.Flatten(1)
    layers["fc"] = nn.Linear(width, cfg.classes)
    return nn.Sequential(layers)


@dataclass
class BlockTrace:
    """One configuration's LayerTable as plain column lists (no per-block DataFrame: thousands
    of blocks are concatenated into one table), its parameter count and unsupported ops."""

    columns: dict[str, list]
    params: int
    unsupported: dict[str, int]

    def to_json(self) -> str:
        return json.dumps({"columns": self.columns, "params": self.params, "unsupported": self.unsupported})

    @classmethod
    def from_json(cls, text: str) -> "BlockTrace":
        d = json.loads(text)
        if set(d["columns"]) != set(LAYER_COLUMNS):
            raise ValueError("stale block cache entry")
        return cls(d["columns"], int(d["params"]), dict(d["unsupported"]))

    def layers(self) -> pd.DataFrame:
        return pd.DataFrame(self.columns).astype(LAYER_COLUMNS)


@functools.lru_cache(maxsize=1)
def _own_fingerprint() -> str:
    """This file builds the blocks: editing it invalidates cached block traces."""
    return hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:16]


def _block_cache_path(cfg: BlockConfig) -> Path | None:
    from roofsweep import __version__
    from roofsweep.trace.cache import TRACE_FORMAT, cache_dir, code_fingerprint

    d = cache_dir()
    if d is None:
        return None
    key = f"{__version__}|{TRACE_FORMAT}|{code_fingerprint()}|{_own_fingerprint()}|block|{cfg.key()}"
    return d / "blocks" / f"{cfg.kind}-{hashlib.sha256(key.encode()).hexdigest()[:24]}.json"


def _store(path: Path, text: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
        try:
            with os.fdopen(fd, "w") as f:
                f.write(text)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError:
        pass  # a read-only cache only costs speed


def _strip(path: str, prefix: str) -> str:
    if path == prefix:
        return "<root>"
    return path[len(prefix) + 1:] if path.startswith(prefix + ".") else path


def _trace_together(cfgs: list[BlockConfig]) -> list[BlockTrace]:
    """Trace several configurations in one pass: a wrapper runs block ``b<i>`` on a view of one
    flat meta input, so each block reads the network input exactly as when traced alone (views
    keep the input as producer), and the fused table is split back by module prefix."""
    import torch

    from roofsweep.trace.api import _SkipInPlaceInit
    from roofsweep.trace.fusion import fuse
    from roofsweep.trace.tracer import run_trace

    with torch.device("meta"), _SkipInPlaceInit():
        mods = [build_block(c) for c in cfgs]
    wrapper = _Together(mods, [c.input_shape for c in cfgs]).eval()
    numel = max(int(np.prod(c.input_shape)) for c in cfgs)
    raw = run_trace(wrapper, torch.empty(numel, device="meta"))
    table = fuse(raw.records, "block").to_dict("list")
    per: list[dict[str, list]] = [{c: [] for c in LAYER_COLUMNS} for _ in cfgs]
    for r in range(len(table["name"])):
        head = table["name"][r].split(".", 1)[0]
        i = int(head[1:])
        cols = per[i]
        for c in LAYER_COLUMNS:
            v = table[c][r]
            if c == "name":
                v = _strip(v, head)
            elif c == "modules":
                v = ",".join(_strip(m, head) for m in v.split(","))
            elif c == "reads_model_input":
                v = bool(v) and cfgs[i].kind == "stem"  # only the stem reads the network input
            elif c == "index":
                v = len(cols["index"])
            elif c == "model":
                v = cfgs[i].kind
            cols[c].append(v.item() if hasattr(v, "item") else v)
    unsupported = dict(raw.unsupported)  # attributed to the batch: rare, and reported in total
    return [BlockTrace(cols, sum(p.numel() for p in m.parameters()), unsupported if i == 0 else {})
            for i, (cols, m) in enumerate(zip(per, mods))]


def _Together(mods, shapes):
    """An ``nn.Module`` running block ``b<i>`` on the first elements of its input viewed as
    ``shapes[i]`` (built lazily: this module imports torch only to trace)."""
    from torch import nn

    class Together(nn.Module):
        def forward(self, x):
            for i, shape in enumerate(shapes):
                getattr(self, f"b{i}")(x[:int(np.prod(shape))].view(shape))
            return x

    t = Together()
    for i, m in enumerate(mods):
        t.add_module(f"b{i}", m)
    return t


TOGETHER = 64  # configurations traced per pass


EMPTY = BlockTrace({c: [] for c in LAYER_COLUMNS}, 0, {})  # stands for a configuration no candidate uses


def used_configs(plan: Plan, digits: np.ndarray, chunk: int = 200_000) -> np.ndarray:
    """Sorted IDs of the configurations the candidates ``digits`` use (a small sample needs
    only a few of a space's blocks traced)."""
    seen = np.zeros(len(plan.configs), dtype=bool)
    for c0 in range(0, len(digits), chunk):
        seen[plan.config_ids(digits[c0:c0 + chunk]).ravel()] = True
    return np.flatnonzero(seen)


def trace_blocks(configs: list[BlockConfig], use_cache: bool = True, progress=None) -> list[BlockTrace]:
    """The ``BlockTrace`` of every configuration: from the cache, else traced (``TOGETHER`` per
    pass) and stored. ``progress(n)`` is called with the number of configurations done."""
    out: list[BlockTrace | None] = [None] * len(configs)
    todo = []
    for i, cfg in enumerate(configs):
        path = _block_cache_path(cfg) if use_cache else None
        if path is not None and path.is_file():
            try:
                out[i] = BlockTrace.from_json(path.read_text())
                continue
            except (OSError, ValueError, KeyError, TypeError):
                pass
        todo.append(i)
    if progress is not None and len(todo) < len(configs):
        progress(len(configs) - len(todo))
    for c0 in range(0, len(todo), TOGETHER):
        idx = todo[c0:c0 + TOGETHER]
        for i, bt in zip(idx, _trace_together([configs[i] for i in idx])):
            out[i] = bt
            path = _block_cache_path(configs[i]) if use_cache else None
            if path is not None:
                _store(path, bt.to_json())
        if progress is not None:
            progress(len(idx))
    return out  # type: ignore[return-value]


def build_candidate(space, digits, batch: int = 1):
    """The assembled ``nn.Module`` of one candidate: ``stem -> blocks -> head`` (meta device),
    built from the same configurations the search costs."""
    import torch

    from roofsweep.trace.api import _SkipInPlaceInit
    from roofsweep.zoo.blocks import MobileNet

    plan = plan_space(space, batch)
    ids = plan.config_ids(np.asarray(digits, dtype=np.int64)[None, :])[0]
    cfgs = [plan.configs[i] for i in ids]
    with torch.device("meta"), _SkipInPlaceInit():
        mods = [build_block(c) for c in cfgs]
        return MobileNet(mods[0], mods[1:-1], mods[-1], name=space.spec.name).eval()


def build_candidate_spec(spec: str, batch: int = 1):
    """``build_candidate`` of a ``space:FILE#ID`` spec."""
    from roofsweep.search.space import load_space, parse_candidate_spec

    path, cid = parse_candidate_spec(spec)
    space = load_space(path)
    if getattr(space, "kind", "blocks") == "callable":
        from roofsweep.search.callables import build_callable_candidate

        return build_callable_candidate(space, cid)
    return build_candidate(space, space.digits_of(cid), batch)
