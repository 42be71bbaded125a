"""Render a report's figures: each drawn once, as SVG (and PNG only when asked), with progress.

Drawing is most of a report's cost, and almost all of it is matplotlib laying out and drawing
the figure. So each figure is laid out and drawn once, to SVG, which the HTML page inlines and
``figures/NAME.svg`` keeps; ``png=True`` draws it a second time to PNG with the layout frozen
(constrained layout is not run twice).

Where more than one CPU is free and there are several figures, they are drawn in forked worker
processes (each inherits the built figures; only the SVG/PNG results travel back), in order of
cost so the workers finish together. ``ROOFSWEEP_FIGURE_WORKERS`` sets the number of workers
(``1``: draw in this process). Without ``fork`` (Windows, macOS spawn), figures are drawn here.
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
    processes to draw in (default: ``ROOFSWEEP_FIGURE_WORKERS``, else the free CPUs, at most 4)."""
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
        if env.isdigit():
            asked = int(env)
    if "fork" not in multiprocessing.get_all_start_methods():
        return 1
    if asked is not None:
        return max(1, asked)
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(4, cpus))


__all__ = ["RenderedFigure", "render_figure", "render_figures"]
