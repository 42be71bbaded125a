"""Render a report's figures: each drawn once, as SVG (and PNG only when asked), with progress.

Drawing is most of a report's cost, and almost all of it is matplotlib laying out and drawing
the figure. So each figure is laid out and drawn once, to SVG, which the HTML page inlines and
``figures/NAME.svg`` keeps; ``png=True`` draws it a second time to PNG with the layout frozen
(constrained layout is not run twice).

``ROOFSWEEP_FIGURE_WORKERS=N`` (or ``workers=N``) draws them in N forked worker processes
instead (each inherits the built figures; only the SVG/PNG results travel back), in order of
cost. It is off by default: measured on the 2-core build machine under load, two workers took
more wall time and ~15 % more CPU than one process (each worker warms matplotlib's text caches
again), see docs/benchmarks.md. Without ``fork`` (Windows, macOS spawn) figures are drawn here.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from matplotlib.figure import Figure

from roofsweep.report.figures.svg import figure_to_png, figure_to_svg, freeze_layout


@dataclass(frozen=True)
class RenderedFigure:
    svg: str
    png: bytes | None = None


def render_figure(fig: Figure, id_salt: str = "", png: bool = False, dpi: int = 100) -> RenderedFigure:
    """One figure as SVG text (hover texts included), plus PNG bytes when ``png``."""
    svg = figure_to_svg(fig, id_salt=id_salt)
    if not png:
        return RenderedFigure(svg)
    freeze_layout(fig)  # the SVG's layout serves the PNG too: one layout pass, not two
    return RenderedFigure(svg, figure_to_png(fig, dpi=dpi))


def render_figures(figures: Mapping[str, Figure], *, png: bool = False, dpi: int = 100,
                   salts: Mapping[str, str] | None = None, workers: int | None = None,
                   progress: Callable[[int, int], None] | None = None) -> dict[str, RenderedFigure]:
    """Every figure rendered (result in the given order); ``progress(done, total)`` is called
    after each one. ``salts`` maps a name to its SVG id salt (default: the name); ``workers``:
    processes to draw in (default: ``ROOFSWEEP_FIGURE_WORKERS``, else 1: this process)."""
    names = list(figures)
    jobs = [(n, (salts or {}).get(n, n)) for n in names]
    n_workers = min(len(jobs), _workers(workers))
    done: dict[str, RenderedFigure] = {}

    def finished(name: str, out: RenderedFigure) -> None:
        done[name] = out
        if progress is not None:
            progress(len(done), len(jobs))

    if n_workers <= 1:
        for name, salt in jobs:
            finished(name, render_figure(figures[name], id_salt=salt, png=png, dpi=dpi))
    else:
        global _SHARED
        _SHARED = (figures, png, dpi)  # inherited by the forked workers, never pickled
        try:
            ctx = multiprocessing.get_context("fork")
            with ctx.Pool(n_workers) as pool:
                for name, out in pool.imap_unordered(_render_shared, sorted(jobs, key=lambda j: -_cost(figures[j[0]]))):
                    finished(name, out)
        finally:
            _SHARED = None
    return {n: done[n] for n in names}


_SHARED: tuple | None = None


def _render_shared(job: tuple[str, str]) -> tuple[str, RenderedFigure]:
    figures, png, dpi = _SHARED
    name, salt = job
    return name, render_figure(figures[name], id_salt=salt, png=png, dpi=dpi)


def _cost(fig: Figure) -> int:
    """A figure's drawing cost, roughly: its visible panels."""
    return sum(1 for ax in fig.axes if ax.get_visible())


def _workers(asked: int | None) -> int:
    if asked is None:
        env = os.environ.get("ROOFSWEEP_FIGURE_WORKERS", "").strip()
        asked = int(env) if env.isdigit() else 1
    if "fork" not in multiprocessing.get_all_start_methods():
        return 1
    return max(1, asked)


__all__ = ["RenderedFigure", "render_figure", "render_figures"]
