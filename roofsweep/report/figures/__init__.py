"""Matplotlib figures of roofline results (object-oriented API only; no pyplot state).

Each ``plot_*`` function draws on an ``Axes`` it is given and returns it; each ``figure_*``
function builds a multi-panel ``matplotlib.figure.Figure`` (``Figure()``, no pyplot) and returns
it. Inputs are the DataFrames of docs/contracts.md: the long-form sweep (``latency_s``, ``point``,
``ridge_point``, ``top1``, ``on_frontier``...) and per-layer roofline tables (``time_s``,
``op_type``, ``intensity_macs_per_byte``...). Values a log axis cannot show (zero, negative,
infinite, NaN) are dropped, never plotted and never an error.

Modules: ``style`` (colours, titles, log ticks), ``accuracy`` (paper Fig. 2), ``layers`` (paper
Fig. 3), ``ridge`` (latency vs ridge point), ``roofline`` (roofline chart), ``optype`` (time by op
type), ``measured`` (predicted vs measured), ``labels`` (label placement), ``svg`` (SVG with
hover text), ``render`` (a report's figures, drawn once, with progress).
"""

from roofsweep.report.figures.accuracy import figure_accuracy_vs_latency, plot_accuracy_vs_latency
from roofsweep.report.figures.layers import figure_layer_latency, layer_latency_figures, plot_layer_latency
from roofsweep.report.figures.measured import plot_predicted_vs_measured
from roofsweep.report.figures.optype import figure_time_by_op_type, plot_time_by_op_type
from roofsweep.report.figures.render import RenderedFigure, render_figure, render_figures
from roofsweep.report.figures.ridge import plot_latency_vs_ridge_point
from roofsweep.report.figures.roofline import figure_rooflines, plot_roofline
from roofsweep.report.figures.style import (FAMILY_COLORS, OP_COLORS, OP_LABELS, PAPER_POINT_NAMES, family_colors,
                                            new_figure, op_color, point_title)
from roofsweep.report.figures.svg import figure_to_png, figure_to_svg, tooltip_of

__all__ = [
    "FAMILY_COLORS", "OP_COLORS", "OP_LABELS", "PAPER_POINT_NAMES", "family_colors", "op_color", "point_title",
    "plot_accuracy_vs_latency", "figure_accuracy_vs_latency", "plot_layer_latency", "figure_layer_latency",
    "layer_latency_figures", "plot_latency_vs_ridge_point", "plot_roofline", "figure_rooflines",
    "plot_time_by_op_type", "figure_time_by_op_type", "plot_predicted_vs_measured", "new_figure",
    "figure_to_svg", "figure_to_png", "tooltip_of", "render_figure", "render_figures", "RenderedFigure",
]
