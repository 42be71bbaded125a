"""The paper's figures, checked by what is drawn: panel layout, titles, ranges, tick labels and
label overlaps measured with the renderer's bounding boxes, colours, markers."""

from __future__ import annotations

import inspect

import numpy as np
import pandas as pd
import pytest
from matplotlib.axes import Axes
from matplotlib.collections import PathCollection
from matplotlib.colors import to_hex
from matplotlib.figure import Figure

import report_fixtures as F
from roofsweep.report import figures as P
from roofsweep.report.figures import accuracy, layers, measured, optype, ridge, roofline, style

# The rest of the paper's Fig. 2 (13 models with the fixture's seven), same tuple shape as F.MODELS.
FIG2_EXTRA = [
    ("mnv1-0.5x", "MobileNetV1", "MobileNetV1-0.5x", 0.5, 224, 65.7, 13, 0.5),
    ("mnv1-1.5x", "MobileNetV1", "MobileNetV1-1.5x", 1.5, 224, 76.8, 13, 1.5),
    ("mnv2-2x", "MobileNetV2", "MobileNetV2-2x", 2.0, 224, 78.4, 17, 2.0),
    ("mnv3-large-0.5x", "MobileNetV3", "MobileNetV3-Large-0.5x", 0.5, 224, 69.2, 15, 0.5),
    ("mnv3-large-1.5x", "MobileNetV3", "MobileNetV3-Large-1.5x", 1.5, 224, 77.5, 15, 1.5),
    ("mnv4-conv-l", "MobileNetV4", "MNv4-Conv-L", 1.0, 384, 82.9, 18, 2.0),
]
PAPER_POINTS = ["RP 0", "RP 5", "RP 50", "RP 500"]


def _fig2_sweep() -> pd.DataFrame:
    return F.sweep(extra_models=FIG2_EXTRA, profiles=[])


def _drawn(fig):
    """Draw ``fig`` on an Agg canvas and return its renderer (for real text extents)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return canvas.get_renderer()


def _boxes(texts, renderer):
    return [t.get_window_extent(renderer) for t in texts if t.get_visible() and t.get_text()]


def _overlapping(boxes) -> list[tuple[int, int]]:
    return [(i, j) for i in range(len(boxes)) for j in range(i) if boxes[i].overlaps(boxes[j])]


# ------------------------------------------------------------------------------- Fig. 2
def test_fig2_is_one_row_of_four_paper_panels():
    sweep = _fig2_sweep()
    assert sweep["model"].nunique() == 13
    fig = P.figure_accuracy_vs_latency(sweep, PAPER_POINTS)
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert len(axes) == 4
    fig.draw_without_rendering()
    rows = {round(ax.get_position().y0, 6) for ax in axes}
    assert len(rows) == 1  # one row
    assert [ax.get_title() for ax in axes] == ["RP: 0.00 MACs/byte \u2013 MACs", "RP: 5.00 MACs/byte \u2013 Slow CPU",
                                               "RP: 50.00 MACs/byte \u2013 Fast CPU",
                                               "RP: 500.00 MACs/byte \u2013 Accelerator"]
    assert all(ax.get_ylim() == (64.0, 84.0) for ax in axes)
    legend = fig.legends[0]
    assert legend.get_title().get_text() == "Model Family"
    assert [t.get_text() for t in legend.get_texts()] == ["MobileNetV4", "MobileNetV3", "MobileNetV2", "MobileNetV1",
                                                          "Pareto frontier"]
    # every model of every panel is a point (13 a panel), coloured by family
    for ax in axes:
        pts = [c for c in ax.collections if c.get_label() in style.FAMILY_COLORS]
        assert sum(len(c.get_offsets()) for c in pts) == 13
        assert {c.get_label(): to_hex(c.get_facecolor()[0]) for c in pts} == style.FAMILY_COLORS


def test_fig2_grid_option_and_automatic_y_range_outside_the_paper_one():
    sweep = _fig2_sweep()
    fig = P.figure_accuracy_vs_latency(sweep, PAPER_POINTS, ncols=2)
    fig.draw_without_rendering()
    assert len({round(ax.get_position().y0, 6) for ax in fig.axes}) == 2  # 2 x 2
    low = sweep.copy()
    low.loc[low["model"] == "mnv2-0.5x", "top1"] = 55.0  # below the paper's axis: not cut off
    ax = P.plot_accuracy_vs_latency(Figure().add_subplot(), low, "RP 5")
    assert ax.get_ylim()[0] < 55.0


@pytest.mark.parametrize("ncols", [4, 2])
def test_fig2_labels_never_overlap_each_other_points_or_the_frame(ncols):
    fig = P.figure_accuracy_vs_latency(_fig2_sweep(), PAPER_POINTS, ncols=ncols)
    renderer = _drawn(fig)
    shown = 0
    for ax in [a for a in fig.axes if a.get_visible()]:
        labels = [t for t in ax.texts if t.get_visible()]
        boxes = _boxes(labels, renderer)
        shown += len(boxes)
        assert not _overlapping(boxes), [(labels[i].get_text(), labels[j].get_text()) for i, j in _overlapping(boxes)]
        frame = ax.get_window_extent(renderer)
        assert all(frame.x0 - 1 <= b.x0 and b.x1 <= frame.x1 + 1 and frame.y0 - 1 <= b.y0 and b.y1 <= frame.y1 + 1
                   for b in boxes)
        # no label covers the centre of any point drawn in the panel
        centres = np.concatenate([c.get_offset_transform().transform(c.get_offsets()) for c in ax.collections])
        for b, t in zip(boxes, labels):
            inside = [(x, y) for x, y in centres if b.x0 < x < b.x1 and b.y0 < y < b.y1]
            assert not inside, t.get_text()
    assert shown >= 0.8 * 13 * 4  # labels are left to the tooltip only where no spot is free


def test_narrow_log_ranges_still_have_tick_labels():
    # the Fig. 3 config's RP 50 / 500 panels: four models within a factor of about 1.6
    sweep = F.sweep(models=["mnv1", "mnv2", "mnv4-conv-s", "mnv4-conv-m"], profiles=[])
    for point in ("RP 50", "RP 500"):
        rows = sweep[sweep["point"] == point]
        sweep.loc[rows.index, "latency_s"] = np.linspace(5.1e-5, 8.0e-5, len(rows))
    fig = P.figure_accuracy_vs_latency(sweep, PAPER_POINTS)
    renderer = _drawn(fig)
    for ax in fig.axes:
        lo, hi = ax.get_xlim()
        labels = [t for t in ax.get_xticklabels() if t.get_text() and lo <= t.get_position()[0] <= hi]
        assert len(labels) >= 2, (ax.get_title(), [t.get_text() for t in ax.get_xticklabels()])
        assert not [t.get_text() for t in labels if "$" in t.get_text() or "10^" in t.get_text()]
        assert not _overlapping(_boxes(labels, renderer))


@pytest.mark.parametrize("lo, hi", [(0.051, 0.08), (0.9, 1.1), (0.3, 4.0), (0.02, 80.0), (1e-3, 1e7), (45.0, 46.0)])
def test_readable_log_locator_labels_any_range(lo, hi):
    ticks = style.ReadableLogLocator().tick_values(lo, hi)
    inside = [t for t in ticks if lo <= t <= hi]
    assert 2 <= len(inside) <= 9, ticks
    assert len({style.log_tick(t) for t in inside}) == len(inside)  # distinct labels
    assert not [t for t in inside if "e" in style.log_tick(t)]  # never 1e+03
    assert style.log_tick(1000) == "1000" and style.log_tick(2e-5) == "0.00002"


# ------------------------------------------------------------------------------- Fig. 3
def test_fig3_rows_of_the_paper_config():
    models = ("mnv1", "mnv2-1.5x", "mnv3-large", "mnv4-conv-m")
    tables = F.layer_tables(models=models, rps=(5.0, 500.0))
    names = {"RP 5": style.rp_title(5.0), "RP 500": style.rp_title(500.0)}
    figs = P.layer_latency_figures(tables, op_types=layers.PAPER_OPS, point_titles=names)
    assert [len(f.axes) for f in figs] == [4, 4]  # one image a row: at most four panels each
    assert [f.get_suptitle() for f in figs] == ["RP: 5.00 MACs/byte \u2013 Slow CPU: latency per layer (\u00b5s)",
                                                "RP: 500.00 MACs/byte \u2013 Accelerator: latency per layer (\u00b5s)"]
    for f in figs:
        for ax in f.axes:
            assert not ax.patches  # dots, not bars
            fc = [c for c in ax.collections if c.get_label() == "FC"]
            assert len(fc) == 1 and to_hex(fc[0].get_facecolor()[0]) == "#d62728"  # FC red


def test_one_or_two_models_put_the_points_in_one_image():
    figs = P.layer_latency_figures(F.layer_tables(models=("mnv1",), rps=(5.0, 500.0)),
                                   point_titles={"RP 5": style.rp_title(5.0)})
    assert len(figs) == 1 and len(figs[0].axes) == 2
    first, second = figs[0].axes
    assert first.get_ylabel() == "RP: 5.00 MACs/byte \u2013 Slow CPU\nLatency per layer (\u00b5s)"
    assert second.get_ylabel() == "RP 500\nLatency per layer (\u00b5s)"
    assert [len(f.axes) for f in P.layer_latency_figures(F.layer_tables(models=("mnv1", "mnv2"), rps=(5, 50, 500)))] \
        == [4, 2]


def test_attention_and_elementwise_rows_in_their_own_colours():
    df = F.per_layer("mnv4-conv-m", 5).copy()
    df.loc[df.index[3], "op_type"] = "attention"
    df.loc[df.index[4], "op_type"] = "matmul"
    ax = P.plot_layer_latency(Figure().add_subplot(), df)
    colours = {c.get_label(): to_hex(c.get_facecolor()[0]) for c in ax.collections}
    assert {"Attention", "MatMul", "Elementwise", "FC"} <= set(colours)
    assert len(set(colours.values())) == len(colours)
    assert sum(len(c.get_offsets()) for c in ax.collections) == len(df)


# ------------------------------------------------------------------------------ others
def test_device_markers_distinguish_models_of_one_family():
    sweep = F.rp_grid_sweep(models=["mnv2-0.5x", "mnv2", "mnv2-1.5x", "mnv4-conv-m"], n=6)
    ax = P.plot_latency_vs_ridge_point(Figure().add_subplot(), sweep)
    markers = [c for c in ax.collections if isinstance(c, PathCollection)]
    assert len(markers) == 4
    shapes = {tuple(np.round(c.get_paths()[0].vertices, 3).ravel()) for c in markers}
    assert len(shapes) == 4  # one marker shape per model, V2's three included
    svg = P.figure_to_svg(ax.figure)
    assert "<title>MobileNetV2-0.5x on pixel6-cpu (its own peak and bandwidth)" in svg  # names the device
    legend = {t.get_text(): h for t, h in zip(ax.get_legend().get_texts(), ax.get_legend().legend_handles)}
    assert legend["MobileNetV2"].get_marker() != legend["MobileNetV2-1.5x"].get_marker()


def test_predicted_vs_measured_labels_do_not_overlap():
    models = pd.DataFrame({"model": [f"model-{i}" for i in range(8)],
                           "predicted_s": np.geomspace(1e-3, 1.2e-3, 8), "measured_s": np.geomspace(2e-3, 2.3e-3, 8)})
    fig, ax = P.new_figure((6, 4.5))
    measured.plot_predicted_vs_measured(ax, models)
    renderer = _drawn(fig)
    assert not _overlapping(_boxes(ax.texts, renderer))
    labels = [t for t in ax.get_xticklabels() if t.get_text()]
    assert len(labels) >= 2


def test_every_plot_function_takes_an_axes_and_returns_it():
    fns = [f for mod in (accuracy, layers, ridge, roofline, optype, measured) for n, f in vars(mod).items()
           if n.startswith("plot_") and inspect.isfunction(f) and f.__module__ == mod.__name__]
    assert len(fns) == 6
    for f in fns:
        first = next(iter(inspect.signature(f).parameters.values()))
        assert first.name == "ax" and first.annotation in (Axes, "Axes"), f.__name__
    ax = Figure().add_subplot()
    assert P.plot_roofline(ax, F.per_layer("mnv1", 5), 2e11, 40e9) is ax


def test_tooltips_live_on_their_figure():
    fig, ax = P.new_figure()
    P.plot_layer_latency(ax, F.per_layer("mnv1", 5))
    other, ax2 = P.new_figure()
    P.plot_layer_latency(ax2, F.per_layer("mnv1", 500))
    from roofsweep.report.figures import svg

    assert svg.tooltips(fig) and svg.tooltips(other)
    assert not set(map(id, svg.tooltips(fig).values())) & set(map(id, svg.tooltips(other).values()))
    import roofsweep.report.figures.svg as module

    assert not [v for v in vars(module).values() if type(v).__name__ in ("WeakKeyDictionary", "WeakValueDictionary")]


def test_zoo_carries_the_accuracies_read_from_fig2():
    from roofsweep.zoo.registry import resolve

    for spec, top1 in (("mnv1-0.5x", 65.7), ("mnv1-1.5x", 76.8), ("mnv3-large-1.5x", 77.5)):
        ref = resolve(spec)
        assert ref.top1 == top1
        assert "Fig. 2: read from the plotted points" in ref.top1_source
    assert "Table 6" in resolve("mnv1").top1_source  # the printed values keep their table source


def test_report_accuracy_panels_are_one_row_preferring_the_papers_points():
    from roofsweep.report.assemble import accuracy_points

    nine = F.sweep(models=["mnv1", "mnv2"], rps=(0, 2, 5, 10, 20, 50, 100, 200, 500), profiles=[])
    assert accuracy_points(nine) == PAPER_POINTS
    other = F.sweep(models=["mnv1", "mnv2"], rps=(1, 2, 3, 4, 6, 7, 8), profiles=[])
    assert accuracy_points(other) == ["RP 1", "RP 3", "RP 6", "RP 8"]  # spread, both ends kept
    few = F.sweep(models=["mnv1", "mnv2"], rps=(500, 5, 50), profiles=[])
    assert accuracy_points(few) == ["RP 5", "RP 50", "RP 500"]  # by ridge point


def test_tooltips_name_the_ridge_point_or_device():
    tables = F.layer_tables(models=("mnv1",), rps=(5.0, 500.0))
    (fig,) = P.layer_latency_figures(tables, point_titles={"RP 5": style.rp_title(5.0)})
    svg = P.figure_to_svg(fig)
    assert "classifier (fc): " in svg and ", at RP: 5.00 MACs/byte \u2013 Slow CPU</title>" in svg
    assert ", at RP 500</title>" in svg
    df = F.per_layer("mnv1", 50).assign(point="pixel6-cpu", peak_macs_per_s=50 * 40e9, bandwidth_bytes_per_s=40e9)
    svg = P.figure_to_svg(P.figure_rooflines(df, ["pixel6-cpu"]))
    assert ", at pixel6-cpu</title>" in svg


def test_rendering_in_worker_processes_gives_the_same_svg(monkeypatch):
    tables = F.layer_tables(models=("mnv1", "mnv2"), rps=(5.0, 500.0))
    figs = {f"f{k}": fig for k, fig in enumerate(P.layer_latency_figures(tables))}
    figs["acc"] = P.figure_accuracy_vs_latency(F.sweep(models=["mnv1", "mnv2", "mnv4-conv-m"]), ["RP 5"])
    seen = []
    serial = P.render_figures(figs, workers=1)
    parallel = P.render_figures(figs, workers=2, progress=lambda d, t: seen.append((d, t)))
    assert list(parallel) == list(serial) and seen == [(1, 2), (2, 2)]
    import re

    def body(svg: str) -> str:  # less the time of writing and the clip / marker ids (differ per draw)
        svg = re.sub(r"<metadata>.*?</metadata>", "", svg, flags=re.S)
        return re.sub(r"\b([pm])[0-9a-f]{8,}\b", r"\1", svg)

    assert all(body(parallel[k].svg) == body(serial[k].svg) for k in figs)
    assert all("<title>" in parallel[k].svg for k in figs)
