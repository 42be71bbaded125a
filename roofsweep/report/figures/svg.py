"""SVG export with hover text: each tooltip-carrying artist's text becomes an SVG ``<title>``.

Tooltips are recorded on the figure they belong to (``tip`` / ``tip_points`` while drawing;
``tooltips(fig)`` reads them back), keyed by the artist's SVG id - no module-level state, so a
figure's tooltips live and die with it. ``figure_to_svg`` draws the figure once and puts each
text into its artist's group; for a scatter, the i-th text into the i-th point's element.
"""

from __future__ import annotations

import hashlib
import io
import re
from html import escape

import matplotlib
from matplotlib.figure import Figure

_ATTR = "_roofsweep_tooltips"


def _root(artist) -> Figure:
    fig = artist.get_figure(root=True) if hasattr(artist, "get_figure") else artist.figure
    if fig is None:
        raise ValueError("tooltips need an artist already added to a figure")
    return fig


def tooltips(fig: Figure) -> dict[str, str | list[str]]:
    """The figure's hover texts by SVG id (one text, or one per point of a scatter)."""
    tips = getattr(fig, _ATTR, None)
    if tips is None:
        tips = {}
        setattr(fig, _ATTR, tips)
    return tips


def tip(artist, text: str):
    """Attach hover text to an artist (an SVG ``<title>`` once written by figure_to_svg)."""
    tips = tooltips(_root(artist))
    gid = f"rstip-{len(tips)}"
    artist.set_gid(gid)
    tips[gid] = text
    return artist


def tip_points(collection, texts) -> object:
    """One hover text per point of a scatter (``PathCollection``), in offset order.

    One artist for many points draws far faster than one artist per point; ``figure_to_svg``
    gives each point's SVG element its own ``<title>``. Only finite offsets may be passed to the
    scatter (matplotlib skips the others when drawing, which would shift the texts)."""
    tips = tooltips(_root(collection))
    gid = f"rstip-{len(tips)}"
    collection.set_gid(gid)
    tips[gid] = list(texts)
    return collection


def tooltip_of(artist) -> str | list[str] | None:
    """The hover text attached to ``artist`` (None if it has none)."""
    gid = artist.get_gid()
    return tooltips(_root(artist)).get(gid) if gid else None


def figure_to_svg(fig: Figure, id_salt: str = "") -> str:
    """The figure as SVG text, with each tooltip-carrying artist's hover text as a ``<title>``.

    ``id_salt`` makes the SVG's internal ids (markers, clip paths) differ between figures, so
    several can be inlined in one HTML page without their ``<defs>`` colliding.
    """
    buf = io.StringIO()
    # text as <text> elements (selectable, smaller, and no glyph outlines to compute), in the
    # page's sans-serif font when DejaVu Sans (matplotlib's, whose metrics placed the labels) is missing
    with matplotlib.rc_context({"svg.hashsalt": f"roofsweep-{id_salt}", "svg.fonttype": "none",
                                "font.sans-serif": ["DejaVu Sans", "Bitstream Vera Sans", "Arial", "Helvetica",
                                                    "sans-serif"]}):
        fig.savefig(buf, format="svg")
    svg = buf.getvalue()
    tips = tooltips(fig)
    if not tips:
        return svg
    # ids are per figure: salted so that several figures inlined in one page keep them unique
    salt = hashlib.blake2s(id_salt.encode("utf-8", "replace"), digest_size=4).hexdigest()
    out, pos = [], 0
    for m in _TIP_GROUP.finditer(svg):
        text = tips.get(m.group(1))
        if text is None or m.start() < pos:
            continue
        opening = svg[pos:m.start()] + m.group(0).replace(m.group(1), f"{m.group(1)}-{salt}", 1)
        if isinstance(text, str):
            out += [opening, f"<title>{escape(text)}</title>"]
            pos = m.end()
            continue
        end = _group_end(svg, m.end())
        out += [opening, title_points(svg[m.end():end], text)]
        pos = end
    out.append(svg[pos:])
    return "".join(out)


_TIP_GROUP = re.compile(r'<g id="(rstip-\d+)"[^>]*>')
_G_TAG = re.compile(r"<g[\s>]|</g>")
_POINT_ELEMENT = re.compile(r"<(use|path)\b([^>]*?)\s*/>")
_DEFS = re.compile(r"<defs>.*?</defs>", re.S)


def _group_end(svg: str, start: int) -> int:
    """Index of the ``</g>`` closing the group whose opening tag ends at ``start``."""
    depth = 1
    for m in _G_TAG.finditer(svg, start):
        depth += 1 if m.group(0) != "</g>" else -1
        if depth == 0:
            return m.start()
    return len(svg)


def title_points(body: str, texts: list[str]) -> str:
    """A scatter's SVG group body with a ``<title>`` inside each point's element (``<use>`` when
    matplotlib shares one marker path, else ``<path>``), the i-th text for the i-th point. If the
    element count does not match (a renderer change), the group gets one summary title instead
    of misattributed ones."""
    defs = [(m.start(), m.end()) for m in _DEFS.finditer(body)]

    def in_defs(i: int) -> bool:
        return any(a <= i < b for a, b in defs)

    points = [m for m in _POINT_ELEMENT.finditer(body) if not in_defs(m.start())]
    if len(points) != len(texts):
        return f"<title>{escape(texts[0] if len(texts) == 1 else f'{len(texts)} points')}</title>" + body
    out, pos = [], 0
    for m, text in zip(points, texts):
        out += [body[pos:m.start()], f"<{m.group(1)}{m.group(2)}><title>{escape(text)}</title></{m.group(1)}>"]
        pos = m.end()
    out.append(body[pos:])
    return "".join(out)


def figure_to_png(fig: Figure, dpi: int = 100) -> bytes:
    """The figure as PNG bytes (for reports asked to keep PNG files too)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def freeze_layout(fig: Figure) -> None:
    """Keep the axes where the last draw's layout engine put them and stop re-running it.

    Call after a figure has been drawn once, before drawing it again in another format:
    constrained layout works in figure units, so its result does not depend on the format or
    dpi, and re-running it is a large share of drawing time."""
    engine = fig.get_layout_engine()
    if engine is not None and type(engine).__name__ != "PlaceHolderLayoutEngine":
        fig.set_layout_engine("none")


__all__ = ["tip", "tip_points", "tooltips", "tooltip_of", "figure_to_svg", "figure_to_png", "freeze_layout",
           "title_points"]
