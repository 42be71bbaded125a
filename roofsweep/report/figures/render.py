"""Render a report's figures: each drawn once, as SVG (and PNG only when asked), with progress.

Drawing is most of a report's cost, and almost all of it is matplotlib laying out and drawing
the figure. So each figure is laid out and drawn once, to SVG, which the HTML page inlines and
``figures/NAME.svg`` keeps; ``png=True`` draws it a second time to PNG with the layout frozen
(constrained layout is not run twice).
"""

from __future__ import annotations

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
                   salts: Mapping[str, str] | None = None,
                   progress: Callable[[int, int], None] | None = None) -> dict[str, RenderedFigure]:
    """Every figure rendered, in order; ``progress(done, total)`` is called after each one.
    ``salts`` maps a name to its SVG id salt (default: the name)."""
    out: dict[str, RenderedFigure] = {}
    total = len(figures)
    for k, (name, fig) in enumerate(figures.items(), start=1):
        out[name] = render_figure(fig, id_salt=(salts or {}).get(name, name), png=png, dpi=dpi)
        if progress is not None:
            progress(k, total)
    return out


__all__ = ["RenderedFigure", "render_figure", "render_figures"]
