"""Label placement: point labels that never overlap each other, placed when the figure is drawn.

``label_points(ax, xs, ys, texts, colors)`` adds one annotation per point and a ``PointLabels``
artist that positions them at draw time - after the layout engine has sized the axes, with the
renderer's real text extents - so what is checked is what is drawn. Each label tries spots
around its point (right, left, above, below, the diagonals; near, then farther) and takes the
first that overlaps no label placed before it, no other point and no line of the axes, and stays
inside the axes; failing that, the spot with the least overlap. A label that would still overlap
another label, or leave the axes, is hidden: its point keeps its hover text and its colour in
the legend. ``spread`` is the 1-D version, for names along an axis.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib import cbook
from matplotlib.artist import Artist
from matplotlib.axes import Axes

# candidate directions (unit offsets from the point); near ring first, then a farther one
_DIRECTIONS = ((1, 0), (-1, 0), (0, 1), (0, -1), (0.75, 0.75), (0.75, -0.75), (-0.75, 0.75), (-0.75, -0.75))
_RINGS = (1.0, 2.2)


class PointLabels(Artist):
    """Positions ``labels`` (annotations of ``ax``) next to their points when drawn."""

    def __init__(self, ax: Axes, labels: list, marker_radius_pt: float = 6.0):
        super().__init__()
        self.labels = labels
        self.marker_radius_pt = marker_radius_pt
        self.set_zorder(-100)  # drawn (i.e. placing) before every label and line
        self.set_in_layout(False)
        self.axes = ax

    def draw(self, renderer):
        place_labels(self.axes, self.labels, renderer, self.marker_radius_pt)

    def get_window_extent(self, renderer=None):
        from matplotlib.transforms import Bbox

        return Bbox.null()


def label_points(ax: Axes, xs, ys, texts: Sequence[str], colors: Sequence[str], *, fontsize: float = 7.0,
                 marker_radius_pt: float = 6.0) -> list:
    """Annotate each (x, y) with its text, placed without overlaps at draw time; returns them."""
    labels = []
    for x, y, text, color in zip(xs, ys, texts, colors):
        ann = ax.annotate(str(text), (x, y), xytext=(0, 0), textcoords="offset points", ha="left",
                          va="bottom", fontsize=fontsize, color=color, zorder=4, annotation_clip=False)
        ann.set_in_layout(False)
        labels.append(ann)
    if labels:
        ax.add_artist(PointLabels(ax, labels, marker_radius_pt))
    return labels


def _line_segments(ax: Axes) -> np.ndarray:
    """Every visible line's segments in display pixels, shape (n, 4): x0, y0, x1, y1."""
    segs = []
    for line in ax.lines:
        x, y = np.asarray(line.get_xdata(), float), np.asarray(line.get_ydata(), float)
        if not line.get_visible() or len(x) < 2 or line.get_linestyle() in ("None", "", " "):
            continue
        style = line.get_drawstyle()
        if style in cbook.STEP_LOOKUP_MAP and style != "default":
            x, y = cbook.STEP_LOOKUP_MAP[style](x, y)
        pts = line.get_transform().transform(np.column_stack([x, y]))
        ok = np.isfinite(pts).all(axis=1)
        seg = np.column_stack([pts[:-1], pts[1:]])[ok[:-1] & ok[1:]]
        segs.append(seg)
    return np.concatenate(segs) if segs else np.zeros((0, 4))


def _crossings(box, segs: np.ndarray) -> int:
    """How many segments cross the box (Liang-Barsky clipping, vectorised)."""
    if not len(segs):
        return 0
    x0, y0, x1, y1 = box
    dx, dy = segs[:, 2] - segs[:, 0], segs[:, 3] - segs[:, 1]
    t0, t1 = np.zeros(len(segs)), np.ones(len(segs))
    hit = np.ones(len(segs), bool)
    for p, q in ((-dx, segs[:, 0] - x0), (dx, x1 - segs[:, 0]), (-dy, segs[:, 1] - y0), (dy, y1 - segs[:, 1])):
        parallel = p == 0
        hit &= ~(parallel & (q < 0))
        with np.errstate(divide="ignore", invalid="ignore"):
            r = np.where(parallel, 0.0, q / np.where(parallel, 1.0, p))
        t0 = np.where(~parallel & (p < 0), np.maximum(t0, r), t0)
        t1 = np.where(~parallel & (p > 0), np.minimum(t1, r), t1)
    return int((hit & (t0 <= t1)).sum())


def _overlap(a, b) -> float:
    return max(0.0, min(a[2], b[2]) - max(a[0], b[0])) * max(0.0, min(a[3], b[3]) - max(a[1], b[1]))


def place_labels(ax: Axes, labels: list, renderer, marker_radius_pt: float = 6.0) -> None:
    """Position ``labels`` (offset-points annotations, ha left / va bottom) around their points."""
    if not labels:
        return
    px_per_pt = ax.figure.dpi / 72.0
    frame = ax.get_window_extent(renderer)
    points = np.array([ax.transData.transform(a.xy) for a in labels])
    r = marker_radius_pt * px_per_pt
    markers = [(x - r, y - r, x + r, y + r) for x, y in points]
    segs = _line_segments(ax)
    placed: list[tuple] = []
    for i in sorted(range(len(labels)), key=lambda i: (points[i][0], -points[i][1])):
        ann = labels[i]
        ann.set_visible(True)
        ann.xyann = (0.0, 0.0)
        ext = ann.get_window_extent(renderer)
        w, h = ext.width, ext.height
        ox, oy = ext.x0 - points[i][0], ext.y0 - points[i][1]  # text box corner relative to the anchor
        best, best_score = None, np.inf
        for ring in _RINGS:
            gap = (r + 2 * px_per_pt) * ring
            for ux, uy in _DIRECTIONS:
                cx = points[i][0] + ux * gap - (w if ux < 0 else w / 2 if ux == 0 else 0)
                cy = points[i][1] + uy * gap - (h if uy < 0 else h / 2 if uy == 0 else 0)
                box = (cx, cy, cx + w, cy + h)
                clash = sum(_overlap(box, b) for b in placed)
                outside = w * h - _overlap(box, (frame.x0, frame.y0, frame.x1, frame.y1))
                score = 10 * (clash + outside) + sum(_overlap(box, m) for j, m in enumerate(markers) if j != i)
                score += 0.25 * w * h * _crossings(box, segs)
                if score < best_score - 1e-9:
                    best, best_score = (box, clash, outside), score
                if score <= 0:
                    break
            if best_score <= 0:
                break
        box, clash, outside = best
        if clash > 0.5 or outside > 0.5:  # no spot left: the point keeps its tooltip instead
            ann.set_visible(False)
            continue
        placed.append(box)
        ann.xyann = ((box[0] - points[i][0] - ox) / px_per_pt, (box[1] - points[i][1] - oy) / px_per_pt)


def spread(targets: Sequence[float], gap: float, lo: float = 0.0, hi: float = 1.0) -> list[float]:
    """1-D label placement: positions as close as possible to ``targets`` (any order), at least
    ``gap`` apart, inside [lo, hi]. Overlapping neighbours merge into a cluster centred on the
    mean of its targets, until no two clusters overlap."""
    n = len(targets)
    if n == 0:
        return []
    gap = min(gap, (hi - lo) / max(n - 1, 1))
    order = sorted(range(n), key=lambda i: targets[i])
    clusters = [[i] for i in order]

    def start(c: list[int]) -> float:
        width = (len(c) - 1) * gap
        s = sum(targets[i] for i in c) / len(c) - width / 2
        return min(max(s, lo), hi - width)

    merged = True
    while merged:
        merged = False
        for k in range(len(clusters) - 1):
            a, b = clusters[k], clusters[k + 1]
            if start(a) + len(a) * gap > start(b) + 1e-12:
                clusters[k:k + 2] = [a + b]
                merged = True
                break
    pos = [0.0] * n
    for c in clusters:
        s = start(c)
        for j, i in enumerate(c):
            pos[i] = s + j * gap
    return pos


__all__ = ["label_points", "place_labels", "PointLabels", "spread"]
