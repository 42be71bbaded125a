"""Per-module self times of an eager torch model from forward hooks (see ``latency``'s docstring)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

from roofsweep.measure.attribution import ROOT

Progress = Callable[[str, float, float], None]


def sync(dev) -> None:
    if dev.type == "cuda":
        import torch

        torch.cuda.synchronize(dev)


class _SelfTimer:
    """Forward pre/post hooks on every module accumulating *self* time per module path."""

    def __init__(self, model, dev, clock=time.perf_counter) -> None:
        self.dev = dev
        self.clock = clock
        self.stack: list[list] = []  # [path, t0, children_inclusive]
        self.self_s: dict[str, float] = {}
        self.handles = []
        for path, m in model.named_modules():
            p = path or ROOT
            self.handles.append(m.register_forward_pre_hook(self._pre(p)))
            self.handles.append(m.register_forward_hook(self._post(p)))

    def _pre(self, path: str):
        def hook(_m, _inp):
            sync(self.dev)
            self.stack.append([path, self.clock(), 0.0])
        return hook

    def _post(self, path: str):
        def hook(_m, _inp, _out):
            sync(self.dev)
            t1 = self.clock()
            p, t0, children = self.stack.pop()
            assert p == path, (p, path)
            inclusive = t1 - t0
            self.self_s[p] = self.self_s.get(p, 0.0) + max(inclusive - children, 0.0)
            if self.stack:
                self.stack[-1][2] += inclusive
        return hook

    def reset(self) -> None:
        self.stack.clear()
        self.self_s = {}

    def remove(self) -> None:
        for h in self.handles:
            h.remove()


def hooked_self_times(model, x, dev, warmup: int, repeats: int, progress: Progress | None,
                      label: str, done: float, total: float, clock=time.perf_counter) -> tuple[dict[str, float], float]:
    timer = _SelfTimer(model, dev, clock)
    runs: list[dict[str, float]] = []
    totals: list[float] = []
    try:
        for i in range(warmup + repeats):
            if progress:
                progress(f"{label}: per-layer", done + i, total)
            timer.reset()
            sync(dev)
            t0 = clock()
            model(x)
            sync(dev)
            if i >= warmup:
                totals.append(clock() - t0)
                runs.append(dict(timer.self_s))
    finally:
        timer.remove()
    modules = list(dict.fromkeys(k for r in runs for k in r))
    med = {m: statistics.median(r.get(m, 0.0) for r in runs) for m in modules}
    return med, statistics.median(totals)


