"""Plots tested by content (titles, labels, scales, artists, legend entries), not pixels."""

from __future__ import annotations

import math

import numpy as np
from matplotlib.collections import PathCollection
from matplotlib.figure import Figure

import report_fixtures as F
from roofsweep.report import figures as P
from roofsweep.report.figures import style, svg as S


def _ax():
    return Figure().add_subplot()


def _legend_texts(legend) -> list[str]:
    return [t.get_text() for t in legend.get_texts()]


# --------------------------------------------------------------------- accuracy vs latency
def test_accuracy_vs_latency_panel_content():
    sweep = F.sweep()
    ax = P.plot_accuracy_vs_latency(_ax(), sweep, "RP 50")
    assert ax.get_xscale() == "log"
    assert ax.get_xlabel() == "Roofline latency (ms)"
    assert "top-1" in ax.get_ylabel()
    assert ax.get_title() == "RP: 50.00 MACs/byte \u2013 Fast CPU"  # the paper's panel title
    rows = sweep[sweep["point"] == "RP 50"]
    # one joining line per family (several points), one marker artist per model
    family_lines = [ln for ln in ax.lines if ln.get_linestyle() == "-" and len(ln.get_xdata()) > 1]
    assert len(family_lines) == rows.loc[rows.groupby("family")["model"].transform("size") > 1, "family"].nunique()
    assert len([t for t in ax.texts]) == len(rows)  # every model labelled
    assert {t.get_text() for t in ax.texts} == set(rows["display_name"])
    # x data are milliseconds
    xs = np.concatenate([ln.get_xdata() for ln in family_lines])
    assert np.isclose(xs.max(), rows["latency_s"].max() * 1e3)
    # frontier: a dashed black step line through exactly the frontier models
    dashed = [ln for ln in ax.lines if ln.get_linestyle() == "--"]
    assert len(dashed) == 1 and dashed[0].get_color() == "black"
    assert sorted(dashed[0].get_ydata()) == sorted(rows.loc[rows["on_frontier"], "top1"])
    # the paper's legend: "Model Family", V4 first down to V1
    assert _legend_texts(ax.get_legend()) == ["MobileNetV4", "MobileNetV3", "MobileNetV2", "MobileNetV1",
                                              "Pareto frontier"]
    assert ax.get_legend().get_title().get_text() == "Model Family"
    # legend outside the axes (anchored right of it)
    assert ax.get_legend().get_bbox_to_anchor().x0 >= ax.get_window_extent().x1 - 1


def test_accuracy_vs_latency_family_colours():
    ax = P.plot_accuracy_vs_latency(_ax(), F.sweep(), "RP 5")
    colours = {ln.get_color() for ln in ax.lines if ln.get_linestyle() == "-"}
    assert set(P.FAMILY_COLORS.values()) <= colours


def test_accuracy_vs_latency_drops_unplottable_rows():
    sweep = F.sweep(models=["mnv1", "mnv2"]).copy()
    sweep.loc[(sweep["model"] == "mnv1") & (sweep["point"] == "RP 5"), "latency_s"] = 0.0
    sweep.loc[(sweep["model"] == "mnv2") & (sweep["point"] == "RP 5"), "top1"] = np.nan
    ax = P.plot_accuracy_vs_latency(_ax(), sweep, "RP 5")  # both rows unplottable: no crash
    assert "no models" in ax.texts[0].get_text()
    sweep.loc[sweep["point"] == "RP 50", "latency_s"] = [math.inf, 1e-3]
    ax = P.plot_accuracy_vs_latency(_ax(), sweep, "RP 50")
    assert [t.get_text() for t in ax.texts] == ["MobileNetV2"]


def test_figure_accuracy_vs_latency_one_panel_per_point():
    sweep = F.sweep()
    points = ["RP 0", "RP 5", "RP 50", "RP 500", "pixel6-cpu"]
    fig = P.figure_accuracy_vs_latency(sweep, points)
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title().split(" ")[0:2] for ax in visible][:4] == [["RP:", "0.00"], ["RP:", "5.00"], ["RP:", "50.00"],
                                                                      ["RP:", "500.00"]]
    assert visible[4].get_title() == "pixel6-cpu (RP 31.2)"
    assert len(visible) == 5
    assert all(ax.get_legend() is None for ax in visible)  # one shared figure legend instead
    assert "Pareto frontier" in _legend_texts(fig.legends[0])


def test_other_families_take_other_colours():
    extra = [("ext", "resnet", "ResNet-50", 1.0, 224, 76.1, 8, 2.0)]
    ax = P.plot_accuracy_vs_latency(_ax(), F.sweep(models=["mnv1"], extra_models=extra), "RP 50")
    assert "resnet" in _legend_texts(ax.get_legend())
    resnet = [c for c in ax.collections if c.get_label() == "resnet"][0]
    assert np.asarray(resnet.get_offsets())[0][1] == 76.1
    from matplotlib.colors import to_hex
    assert to_hex(resnet.get_facecolor()[0]) not in P.FAMILY_COLORS.values()


# -------------------------------------------------------------------------- layer latency
def _dots(ax):
    """(x, y) of every dot of a per-layer panel, and the scatters by legend label."""
    scatters = {c.get_label(): c for c in ax.collections if isinstance(c, PathCollection)}
    xy = np.concatenate([np.asarray(c.get_offsets()) for c in scatters.values()]) if scatters else np.zeros((0, 2))
    return xy, scatters


def test_layer_latency_dots_by_op_type():
    # dots, as the paper draws them (Fig. 3): one scatter per op type, one dot per layer, no bars
    df = F.per_layer("mnv4-conv-m", 500)
    ax = P.plot_layer_latency(_ax(), df)
    assert ax.get_xlabel() == "Layer index"
    assert "\u00b5s" in ax.get_ylabel()
    assert ax.get_title() == "mnv4-conv-m"
    assert not ax.patches
    xy, scatters = _dots(ax)
    assert len(xy) == len(df)  # one dot per layer
    assert np.allclose(sorted(xy[:, 1]), sorted(df["time_s"] * 1e6))
    assert _legend_texts(ax.get_legend()) == ["Conv2D", "DW-Conv2D", "FC", "Elementwise", "Pool"]
    assert list(scatters) == ["Conv2D", "DW-Conv2D", "FC", "Elementwise", "Pool"]
    # the paper's colours: FC red, conv blue, depthwise orange; the others their own
    from matplotlib.colors import to_hex
    colour = {k: to_hex(c.get_facecolor()[0]) for k, c in scatters.items()}
    assert colour["FC"] == "#d62728" and colour["Conv2D"] == "#1f77b4" and colour["DW-Conv2D"] == "#ff7f0e"
    assert len(set(colour.values())) == len(colour)


def test_layer_latency_paper_op_filter():
    df = F.per_layer("mnv1", 5)
    ax = P.plot_layer_latency(_ax(), df, op_types=("conv2d", "dwconv2d", "fc"))
    assert len(_dots(ax)[0]) == df["op_type"].isin(["conv2d", "dwconv2d", "fc"]).sum()
    assert _legend_texts(ax.get_legend()) == ["Conv2D", "DW-Conv2D", "FC"]


def test_figure_layer_latency_grid_shares_y_per_row():
    # one image per point (a row of the paper's Fig. 3), the y axis shared along it
    tables = F.layer_tables(models=("mnv1", "mnv2-1.5x", "mnv4-conv-m"), rps=(5.0, 500.0))
    figs = P.layer_latency_figures(tables, point_titles={"RP 5": "RP: 5.00 MACs/byte \u2013 Slow CPU"})
    assert len(figs) == 2
    rows = [fig.axes for fig in figs]
    assert [ax.get_title() for ax in rows[0]] == ["mnv1", "mnv2-1.5x", "mnv4-conv-m"]
    assert figs[0].get_suptitle() == "RP: 5.00 MACs/byte \u2013 Slow CPU: latency per layer (\u00b5s)"
    assert figs[1].get_suptitle() == "RP 500: latency per layer (\u00b5s)"
    shared = rows[0][0].get_shared_y_axes()
    assert shared.joined(rows[0][0], rows[0][2]) and not shared.joined(rows[0][0], rows[1][0])
    assert _legend_texts(figs[0].legends[0]) == ["Conv2D", "DW-Conv2D", "FC", "Elementwise", "Pool"]
    assert rows[0][0].get_ylim()[1] > rows[1][0].get_ylim()[1]  # RP 5 is slower than RP 500


def test_layer_latency_figures_at_most_four_panels():
    models = ("mnv1", "mnv2", "mnv2-0.5x", "mnv2-1.5x", "mnv4-conv-s", "mnv4-conv-m")
    tables = F.layer_tables(models=models, rps=(5.0, 50.0, 500.0))
    figs = P.layer_latency_figures(tables)
    assert [len(f.axes) for f in figs] == [4, 2] * 3  # 3 points x (4 + 2 models)
    assert [ax.get_title() for f in figs[:2] for ax in f.axes] == list(models)
    import pytest

    with pytest.raises(ValueError, match="at most 4"):
        P.figure_layer_latency(tables, "RP 5", models)


def test_figure_layer_latency_missing_cell_does_not_crash():
    tables = F.layer_tables(models=("mnv1", "mnv2"), rps=(5.0,))
    tables[("mnv2", "RP 500")] = F.per_layer("mnv2", 500)
    figs = P.layer_latency_figures(tables)
    assert any(t.get_text() == "not computed" for fig in figs for ax in fig.axes for t in ax.texts)



# ------------------------------------------------------------------ latency vs ridge point

def test_latency_vs_ridge_point():
    sweep = F.rp_grid_sweep(models=["mnv1", "mnv2", "mnv4-conv-m"], n=10)
    ax = P.plot_latency_vs_ridge_point(_ax(), sweep)
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    assert "MAC/byte" in ax.get_xlabel() and "(ms)" in ax.get_ylabel()
    curves = [ln for ln in ax.lines if len(ln.get_xdata()) > 2 and ln.get_label()[0] != "_"]
    assert [c.get_label() for c in curves] == ["MobileNetV1", "MobileNetV2", "MNv4-Conv-M"]
    assert all(min(c.get_xdata()) > 0 for c in curves)  # RP 0 left off the log axis
    assert len(curves[0].get_xdata()) == 10
    # profiles: a vertical line each, and a name above the axes
    assert sorted(_profile_labels(ax)) == sorted(n for n, _ in F.PROFILES)
    vlines = [ln for ln in ax.lines if ln.get_linestyle() == ":"]
    assert sorted(ln.get_xdata()[0] for ln in vlines) == sorted(rp for _, rp in F.PROFILES)
    # the curves hold the bandwidth fixed, the crosses use each profile's own: the legend says so
    texts = _legend_texts(ax.get_legend())
    assert any(t.startswith("ridge-point sweep") and "bandwidth fixed at 40 GB/s" in t for t in texts)
    assert any(t.startswith("model on a profile") and "own peak and" in t for t in texts)
    # one scatter of crosses per model (not one artist per cross), a hover text per cross
    crosses = [c for c in ax.collections if isinstance(c, PathCollection)]
    assert len(crosses) == 3
    assert all(len(P.tooltip_of(c)) == len(c.get_offsets()) == len(F.PROFILES) for c in crosses)


def _profile_labels(ax) -> list[str]:
    (top,) = ax.child_axes  # the secondary x axis carrying the profile names
    return [t.get_text() for t in top.get_xticklabels()]


def test_crowded_profile_labels_do_not_overlap():
    # ridge points as close as the shipped profiles' (31.2 / 32.9, 203 / 206 / 207.5 MAC/B)
    profiles = {f"profile-{i}": rp for i, rp in enumerate(
        [5, 18, 31.2, 32.9, 39.7, 46.7, 50, 147, 153, 203.1, 206.1, 207.5, 231.7, 295, 347.3, 433.8, 500, 4000])}
    fig, ax = P.new_figure((9.5, 5.2))
    P.plot_latency_vs_ridge_point(ax, F.rp_grid_sweep(models=["mnv1"], n=8), profiles)
    fig.draw_without_rendering()
    (top,) = ax.child_axes
    boxes = sorted((t.get_window_extent() for t in top.get_xticklabels()), key=lambda b: b.x0)
    assert len(boxes) == len(profiles)
    assert all(a.x1 <= b.x0 + 0.5 for a, b in zip(boxes, boxes[1:]))  # side by side, no overlap
    assert all(b.y0 >= ax.get_window_extent().y1 for b in boxes)  # above the data area
    title = ax.title.get_window_extent()
    assert all(b.y1 <= title.y0 + 1 for b in boxes)  # and below the title


def test_latency_vs_ridge_point_explicit_profiles():
    sweep = F.sweep(models=["mnv1"], profiles=[])
    ax = P.plot_latency_vs_ridge_point(_ax(), sweep, profiles={"my-npu": 120.0})
    assert _profile_labels(ax) == ["my-npu"]


# ------------------------------------------------------------------------------- roofline
def test_roofline_chart():
    df = F.per_layer("mnv4-conv-m", 50)
    peak, bw = 50 * 40e9, 40e9
    ax = P.plot_roofline(_ax(), df, peak, bw)
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    assert "intensity" in ax.get_xlabel() and "MAC/s" in ax.get_ylabel()
    roof = [ln for ln in ax.lines if ln.get_label() == "roof"][0]
    y = roof.get_ydata()
    assert np.isclose(y.max(), peak / 1e9)  # flat compute roof
    x = roof.get_xdata()
    slope = (np.log(y[1]) - np.log(y[0])) / (np.log(x[1]) - np.log(x[0]))
    assert np.isclose(slope, 1.0)  # memory roof: slope 1 on log-log
    scatters = [c for c in ax.collections if isinstance(c, PathCollection)]
    with_macs = df[df["macs"] > 0]
    assert sum(len(c.get_offsets()) for c in scatters) == len(with_macs)
    assert {c.get_label() for c in scatters} == {"Conv2D", "DW-Conv2D", "FC"}
    texts = " ".join(t.get_text() for t in ax.texts)
    assert "ridge 50 MAC/B" in texts
    assert f"{(df['macs'] == 0).sum()} layer(s) with no MACs" in texts


def test_roofline_infinite_bandwidth_has_no_ridge():
    df = F.per_layer("mnv1", 0)  # RP 0: bandwidth inf, memory time 0
    ax = P.plot_roofline(_ax(), df, 200e9, math.inf)
    roof = [ln for ln in ax.lines if ln.get_label() == "roof"][0]
    assert np.allclose(roof.get_ydata(), 200.0)
    assert not any("ridge" in t.get_text() for t in ax.texts)


# -------------------------------------------------------------------------- time by op type
def test_time_by_op_type_stacked():
    tables = F.layer_tables(models=("mnv1", "mnv4-conv-m"), rps=(5.0, 500.0))
    ax = P.plot_time_by_op_type(_ax(), tables)
    ops = {o for df in tables.values() for o in df["op_type"]}
    assert len(ax.patches) == len(ops) * len(tables)
    assert _legend_texts(ax.get_legend()) == ["Conv2D", "DW-Conv2D", "FC", "Elementwise", "Pool"]
    # each bar's stack reaches the model's total latency at that point, in ms
    tops = {}
    for p in ax.patches:
        x = round(p.get_x() + p.get_width() / 2)
        tops[x] = max(tops.get(x, 0), p.get_y() + p.get_height())
    assert np.allclose([tops[i] for i in range(len(tables))], [df["time_s"].sum() * 1e3 for df in tables.values()])
    assert [t.get_text() for t in ax.get_xticklabels()] == [f"{m}\n{p}" for m, p in tables]
    ax = P.plot_time_by_op_type(_ax(), tables, share=True)
    assert "%" in ax.get_ylabel()


# ---------------------------------------------------------------------------- robustness
def test_empty_inputs_do_not_crash():
    empty_sweep = F.sweep().iloc[0:0]
    P.plot_accuracy_vs_latency(_ax(), empty_sweep, "RP 5")
    P.plot_latency_vs_ridge_point(_ax(), empty_sweep)
    empty_layers = F.per_layer("mnv1", 5).iloc[0:0]
    P.plot_layer_latency(_ax(), empty_layers)
    P.plot_roofline(_ax(), empty_layers, 1e9, 1e9)
    P.plot_time_by_op_type(_ax(), {})
    P.figure_accuracy_vs_latency(empty_sweep)


# --------------------------------------------------------------------------------- saving
def test_render_writes_svg_and_png_on_request_with_tooltips():
    fig, ax = P.new_figure()
    P.plot_accuracy_vs_latency(ax, F.sweep(), "RP 500")
    out = P.render_figure(fig, id_salt="fig2")
    assert out.png is None  # SVG only unless PNG is asked for
    assert "<title>MNv4-Conv-M (MobileNetV4): top-1 79.9%" in out.svg
    # the tooltip names the ridge point
    assert "at RP: 500.00 MACs/byte \u2013 Accelerator</title>" in out.svg
    both = P.render_figure(fig, id_salt="fig2", png=True)
    assert both.png[:8] == b"\x89PNG\r\n\x1a\n" and len(both.png) > 10_000


def test_svg_ids_differ_between_figures():
    svgs = []
    for salt in ("a", "b"):
        fig, ax = P.new_figure()
        P.plot_roofline(ax, F.per_layer("mnv1", 50), 2e12, 40e9)
        svgs.append(P.figure_to_svg(fig, id_salt=salt))
    import re
    ids = [set(re.findall(r'id="(p[0-9a-f]{6,}|m[0-9a-f]{6,})"', s)) for s in svgs]
    assert ids[0] and not ids[0] & ids[1]


# ------------------------------------------------------------------ readability and speed
def test_layer_latency_x_counts_only_plotted_layers():
    # the paper's Fig. 3 x axis counts the conv / depthwise / FC layers only: no gaps where the
    # LayerTable has memory-only rows (adds, pooling), whose index is kept in the hover text
    df = F.per_layer("mnv4-conv-m", 5)
    ax = P.plot_layer_latency(_ax(), df, op_types=("conv2d", "dwconv2d", "fc"))
    shown = df[df["op_type"].isin(["conv2d", "dwconv2d", "fc"])].sort_values("index")
    assert len(shown) < len(df)  # the fixture has memory-only rows to skip
    xy, scatters = _dots(ax)
    assert np.allclose(sorted(xy[:, 0]), np.arange(len(shown)))
    assert ax.get_xlim()[1] < len(shown) + 1
    classifier = shown.iloc[-1]
    fc = scatters["FC"]
    last = int(np.argmax(np.asarray(fc.get_offsets())[:, 0]))
    assert np.isclose(np.asarray(fc.get_offsets())[last, 1], classifier["time_s"] * 1e6)
    tip = P.tooltip_of(fc)[last]
    assert tip.startswith(f"layer {len(shown) - 1} (#{classifier['index']} in the layer table) classifier")


def test_roofline_tooltips_one_per_layer_in_svg():
    df = F.per_layer("mnv4-conv-m", 50)
    fig, ax = P.new_figure()
    P.plot_roofline(ax, df, 50 * 40e9, 40e9)
    assert not [ln for ln in ax.lines if ln.get_alpha() == 0.0]  # no invisible per-layer markers
    svg = P.figure_to_svg(fig)
    with_macs = df[df["macs"] > 0]
    for name in with_macs["name"]:
        assert f" {name} (" in svg
    # each point's own element carries its title, in the scatter's order
    import re
    titled = re.findall(r'<use [^>]*x="([0-9.]+)"[^>]*><title>#(\d+) ', svg)
    assert len(titled) == len(with_macs)
    xs = {int(i): float(x) for x, i in titled}  # x position (log intensity) of layer #i's element
    by_intensity = with_macs.sort_values("intensity_macs_per_byte", kind="stable")["index"].tolist()
    assert np.all(np.diff([xs[i] for i in by_intensity]) >= -1e-3)


def test_point_tooltips_survive_any_point_count():
    import re
    for n in (1, 2, 40):
        fig, ax = P.new_figure()
        sc = ax.scatter(np.arange(1, n + 1), np.arange(1, n + 1), marker="x")
        S.tip_points(sc, [f"pt<{i}>" for i in range(n)])
        svg = P.figure_to_svg(fig)
        assert re.findall(r"<title>pt&lt;(\d+)&gt;</title>", svg) == [str(i) for i in range(n)]


def test_svg_title_falls_back_when_points_do_not_match():
    body = '<defs><path id="m1" d="M 0 0"/></defs><g><use xlink:href="#m1" x="1" y="1"/></g>'
    out = S.title_points(body, ["a", "b"])  # two texts, one element: no guessing
    assert out.startswith("<title>2 points</title>") and out.endswith(body)
    assert S.title_points(body, ["a"]).count("<title>a</title>") == 1


def test_log_axes_use_plain_numbers():
    df = F.per_layer("mnv4-conv-m", 5)
    fig, ax = P.new_figure()
    P.plot_roofline(ax, df, 5 * 40e9, 40e9)
    fig.draw_without_rendering()
    labels = [t.get_text() for t in ax.get_xticklabels() + ax.get_yticklabels() if t.get_text()]
    labels += [t.get_text() for t in ax.get_xticklabels(minor=True) + ax.get_yticklabels(minor=True) if t.get_text()]
    assert labels and not [t for t in labels if "$" in t or "10^" in t]
    assert style.log_tick(1e4) == "10k" and style.log_tick(2e6) == "2M" and style.log_tick(0.05) == "0.05"


def test_roofline_annotations_stay_inside_axes():
    # a ridge near the right edge (coral-edgetpu: RP 4000) puts its labels left of the ridge
    df = F.per_layer("mnv4-conv-m", 500)
    for peak, bw in ((2e12, 0.5e9), (5 * 40e9, 40e9)):
        fig, ax = P.new_figure((5, 3.5))
        P.plot_roofline(ax, df, peak, bw, legend=False)
        fig.draw_without_rendering()
        box = ax.get_window_extent()
        for t in ax.texts:
            e = t.get_window_extent()
            assert box.x0 - 1 <= e.x0 and e.x1 <= box.x1 + 1 and e.y1 <= box.y1 + 1, t.get_text()


def test_accuracy_labels_do_not_overlap():
    sweep = F.sweep()
    fig = P.figure_accuracy_vs_latency(sweep, ["RP 0", "RP 500"])
    fig.draw_without_rendering()
    for ax in fig.axes:
        assert len(ax.texts) == sweep["model"].nunique()
        boxes = [t.get_window_extent() for t in ax.texts if t.get_visible()]
        assert len(boxes) == sweep["model"].nunique()
        overlaps = [(i, j) for i in range(len(boxes)) for j in range(i) if boxes[i].overlaps(boxes[j])]
        assert not overlaps, [(ax.texts[i].get_text(), ax.texts[j].get_text()) for i, j in overlaps]


def test_profile_titles_round_the_ridge_point():
    assert P.point_title("raspberry-pi5", 17.99862, "raspberry-pi5") == "raspberry-pi5 (RP 18)"
    assert P.point_title("galaxy-s23-gpu", 32.86857, "galaxy-s23-gpu") == "galaxy-s23-gpu (RP 32.87)"
    assert P.point_title("coral", 4000.0, "coral") == "coral (RP 4000)"


def test_figure_time_by_op_type_small_multiples():
    tables = F.layer_tables(models=("mnv1", "mnv2", "mnv4-conv-m"), rps=(5.0, 50.0, 500.0))
    fig = P.figure_time_by_op_type(tables, labels={"mnv1": "MobileNetV1"}, titles={"RP 5": "RP 5 - Slow CPU"})
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in visible] == ["RP 5 - Slow CPU", "RP 50", "RP 500"]
    for ax in visible:  # one bar per model, labelled by model
        assert [t.get_text() for t in ax.get_xticklabels()] == ["MobileNetV1", "mnv2", "mnv4-conv-m"]
        assert ax.get_legend() is None
    assert "Conv2D" in _legend_texts(fig.legends[0])
    one_model = {k: v for k, v in tables.items() if k[0] == "mnv1"}
    fig = P.figure_time_by_op_type(one_model)
    assert len(fig.axes) == 1 and [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["RP 5", "RP 50", "RP 500"]


def test_render_lays_out_once():
    fig, ax = P.new_figure()
    P.plot_roofline(ax, F.per_layer("mnv1", 50), 2e12, 40e9)
    P.render_figure(fig, png=True)
    pos = ax.get_position().bounds
    from matplotlib.layout_engine import PlaceHolderLayoutEngine

    engine = fig.get_layout_engine()  # frozen after the first format: the PNG reuses the layout
    assert engine is None or isinstance(engine, PlaceHolderLayoutEngine)
    P.figure_to_svg(fig)
    assert ax.get_position().bounds == pos


def test_render_figures_reports_progress():
    figs = {}
    for k in range(3):
        fig, ax = P.new_figure((3, 2))
        P.plot_roofline(ax, F.per_layer("mnv1", 5), 2e11, 40e9, legend=False)
        figs[f"f{k}"] = fig
    seen = []
    out = P.render_figures(figs, progress=lambda done, total: seen.append((done, total)))
    assert seen == [(1, 3), (2, 3), (3, 3)] and list(out) == ["f0", "f1", "f2"]
