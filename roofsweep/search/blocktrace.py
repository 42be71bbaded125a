"""Building and tracing block configurations (torch, imported lazily): ``build_block`` makes a
configuration's ``nn.Module``, ``trace_blocks`` traces every distinct configuration once on the
meta device (``TOGETHER`` per pass) and caches each ``BlockTrace`` on disk next to the model
traces; ``build_candidate`` assembles a whole candidate. Deriving the configurations is
``roofsweep.search.blocks`` (torch-free), which re-exports every public name here.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import tempfile
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from roofsweep.layertable import LAYER_COLUMNS

if TYPE_CHECKING:
    from roofsweep.search.blocks import BlockConfig, Plan


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
    """These files derive and build the blocks: editing either invalidates cached block traces."""
    here = Path(__file__).parent
    return hashlib.sha256(b"".join((here / f).read_bytes() for f in ("blocks.py", "blocktrace.py"))).hexdigest()[:16]


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

    from roofsweep.search.blocks import plan_space
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
