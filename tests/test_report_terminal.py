"""Terminal renderables on a fixed-width colourless console: key substrings, not goldens."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from rich.console import Console

import report_fixtures as F
from roofsweep.hardware.profile import HardwareProfile
from roofsweep.report import terminal as T


def render(renderable, width: int = 120) -> str:
    console = Console(width=width, color_system=None, record=True, file=open("/dev/null", "w"))
    console.print(renderable)
    return console.export_text()


def _lines_with(text: str, *needles: str) -> list[str]:
    return [ln for ln in text.splitlines() if all(n in ln for n in needles)]


def test_model_totals_panel():
    df = F.per_layer("mnv4-conv-m", 50)
    out = render(T.model_totals_panel(df, params=9_712_000, unsupported_ops={"aten.weird": 2}))
    t = T.model_totals(df)
    assert "mnv4-conv-m" in out
    assert _lines_with(out, "MACs", f"{t['macs'] / 1e9:.3g} GMAC")
    assert _lines_with(out, "params", "9.71 M")
    assert _lines_with(out, "weight bytes", f"{df['weight_bytes'].sum() / 1e6:.3g} MB")
    assert _lines_with(out, "activation bytes", f"{df['activation_bytes'].sum() / 1e6:.3g} MB")
    # mean intensity = total MACs / total bytes
    assert _lines_with(out, "mean intensity", f"{df['macs'].sum() / df['bytes'].sum():.3g} MAC/B")
    assert "aten.weird x2" in out


def _rp_and_profiles(models=("mnv1",)):
    from roofsweep.analysis import profile_duplicates

    sweep = F.sweep(models=list(models), profiles=F.PROFILES + [("paper-rp5", 5.0)])
    hw = sweep["hardware"] != ""
    return sweep, profile_duplicates(sweep[~hw], sweep[hw])


def test_sweep_table_splits_ridge_points_from_profiles():
    sweep, same = _rp_and_profiles()
    assert same == {"paper-rp5": "RP 5"}  # same peak, bandwidth and dtype as the RP 5 row
    out = render(T.sweep_table(sweep, same_as=same))
    assert "bandwidth fixed at 40 GB/s (the paper's convention): peak = RP x 40 GB/s" in out
    assert "MACs only (200 GMAC/s, memory free)" in out
    rp_part, hw_part = out.split("Hardware profiles")
    # the RP column rises monotonically: RP 0 is the "MACs only" row above it; no device between
    order = ["MACs only ", "RP 5 ", "RP 50 ", "RP 500 "]
    positions = [rp_part.index(p) for p in order]
    assert positions == sorted(positions)
    for name, _ in F.PROFILES:
        assert name not in rp_part and name in hw_part
    # the archetype is named on the RP row it repeats, not repeated as a device
    assert _lines_with(rp_part, "RP 5 ", "paper-rp5") and "paper-rp5" not in hw_part
    row = sweep[sweep["point"] == "RP 500"].iloc[0]
    assert _lines_with(rp_part, "RP 500", f"{row['latency_s'] * 1e6:.3g} us", "100%")
    # devices: their own peak and bandwidth, latencies labelled as roofline bounds
    px = sweep[sweep["point"] == "pixel6-cpu"].iloc[0]
    assert _lines_with(hw_part, "pixel6-cpu", "int8", "31.2", "1.25 TMAC/s", "40 GB/s",
                       f"{px['latency_s'] * 1e6:.3g} us", "bound")
    hw_rows = [ln for ln in hw_part.splitlines() if any(ln.startswith(n) for n, _ in F.PROFILES)]
    assert [ln.split()[0] for ln in hw_rows] == ["pixel6-cpu", "s23-cpu", "pixel4-dsp", "pixel8-edgetpu"]


def test_device_latency_label_comes_from_the_rows():
    sweep, same = _rp_and_profiles()
    sweep["latency_is"] = np.where(sweep["point"] == "s23-cpu", "calibrated", "bound")
    out = render(T.sweep_table(sweep, same_as=same))
    assert _lines_with(out, "s23-cpu", "calibrated") and _lines_with(out, "pixel6-cpu", "bound")
    assert not _lines_with(out, "pixel6-cpu", "calibrated")


def test_sweep_table_several_models_marks_frontier():
    sweep = F.sweep(models=["mnv1", "mnv2", "mnv4-conv-m"])
    out = render(T.sweep_table(sweep))
    assert "MobileNetV1" in out and "MNv4-Conv-M" in out
    assert "* = on the Pareto frontier" in out
    rp5 = _lines_with(out, "RP 5 ")[0]
    on = sweep[(sweep["point"] == "RP 5") & sweep["on_frontier"]]
    assert rp5.count("*") == len(on)


def test_dominant_layers_low_and_high_rp():
    low, high = F.per_layer("mnv4-conv-m", 0), F.per_layer("mnv4-conv-m", 500)
    out = render(T.dominant_layers_table({"RP 0": low, "RP 500": high}, top=3))
    top_low = low.sort_values("time_s", ascending=False).iloc[0]
    top_high = high.sort_values("time_s", ascending=False).iloc[0]
    assert _lines_with(out, "RP 0", top_low["name"], "compute")
    assert _lines_with(out, "RP 500", top_high["name"], "memory")
    assert len(_lines_with(out, "blocks.")) == 6


def test_layers_table_costed_and_raw():
    df = F.per_layer("mnv1", 50)
    out = render(T.layers_table(df, max_rows=5))
    assert "Layers: mnv1" in out and "stem.conv" in out and "blocks.1.expand.conv" in out
    assert "blocks.1.dw.conv" not in out
    assert f"{len(df) - 5} more layers not shown" in out
    for h in ("MACs", "weights", "activations", "intensity", "time", "share", "bound"):
        assert h in out
    raw = render(T.layers_table(F.layer_table("mnv1", 2)))
    assert "weight elems" in raw and "1x32x112x112" in raw


def test_models_table():
    rows = [{"name": "mnv4-conv-m", "family": "MobileNetV4", "display_name": "MNv4-Conv-M",
             "default_resolution": 256, "top1": 79.9, "aliases": ("mnv4-conv-medium",)},
            {"name": "ext", "family": "external", "display_name": "ext", "default_resolution": 224,
             "top1": math.nan, "aliases": ()}]
    out = render(T.models_table(rows))
    assert _lines_with(out, "mnv4-conv-m", "MNv4-Conv-M", "256", "79.9", "mnv4-conv-medium")
    assert _lines_with(out, "ext", "224", "-")


@pytest.fixture
def profiles():
    return [
        HardwareProfile("pixel8-edgetpu", "Pixel 8 EdgeTPU", "edgetpu", {"int8": 433.8 * 40e9}, 40e9, "int8",
                        estimated=("peak_macs_per_s.int8",), sources=("paper Table 16",)),
        HardwareProfile("pixel6-cpu", "Pixel 6 CPU", "cpu", {"int8": 31.2 * 51.2e9, "fp32": 7.8 * 51.2e9},
                        51.2e9, "int8", onchip_bytes=8 * 2**20, notes="big cores"),
    ]


def test_profile_list_sorted_by_ridge_point(profiles):
    out = render(T.profile_list_table(profiles))
    assert out.index("pixel6-cpu") < out.index("pixel8-edgetpu")
    assert _lines_with(out, "pixel6-cpu", "Pixel 6 CPU", "cpu", "int8", "51.2 GB/s", "31.2", "8.39 MB")
    assert _lines_with(out, "pixel8-edgetpu", "17.4 TMAC/s*", "433.8")
    assert "* = estimated" in out


def test_profile_panel(profiles):
    out = render(T.profile_panel(profiles[1]))
    assert "Pixel 6 CPU" in out and "51.2 GB/s" in out
    assert _lines_with(out, "int8 (default)", "31.2")
    assert _lines_with(out, "fp32", "7.8")
    assert "notes: big cores" in out
    est = render(T.profile_panel(profiles[0]))
    assert "(estimated)" in est and "source: paper Table 16" in est


def test_compare_table():
    sweep = F.sweep()
    share = pd.DataFrame({"model": sweep["model"].unique(), "frontier_share": 0.5})
    out = render(T.compare_table(sweep, frontier_share=share, points=["RP 5", "RP 500"]))
    lines = [ln for ln in out.splitlines() if ln.strip().startswith(("Mobile", "MNv4"))]
    top1 = [float(ln.split()[1]) for ln in lines]
    assert top1 == sorted(top1)  # ordered by accuracy
    assert _lines_with(out, "MNv4-Conv-M", "79.9", "1.3 GMAC", "50%")
    assert "Pareto frontier" in out


def test_compare_table_fits_120_columns_with_all_points():
    out = render(T.compare_table(F.sweep()))
    assert max(len(ln.rstrip()) for ln in out.splitlines()) <= 120
    assert "…" not in out  # nothing truncated


def test_compare_table_splits_points_rather_than_cutting():
    # as many points as `roofsweep compare` with every shipped profile: all values, all names
    profiles = [(f"profile-{i}-long-name", 10.0 * i + 1) for i in range(14)]
    sweep = F.sweep(rps=(0.0, 5.0, 500.0), profiles=profiles)
    share = pd.DataFrame({"model": sweep["model"].unique(), "frontier_share": 0.25})
    for width in (120, 80):
        out = render(T.compare_table(sweep, frontier_share=share, title="Cmp"), width=width)
        assert max(len(ln.rstrip()) for ln in out.splitlines()) <= width
        assert "…" not in out
        for name, _ in profiles:
            assert f" {name} " in out + " "  # headers whole, never folded
        assert "(points 1/" in out and out.count("MNv4-Conv-M ") >= 2  # model columns repeated
        assert out.count("25%") == sweep["model"].nunique()  # frontier share once, in the last part
        assert "Pareto frontier" in out
    # one table when everything fits
    out = render(T.compare_table(sweep, points=["RP 5", "RP 500"], title="Cmp"))
    assert "points 1/" not in out


def test_profile_list_never_cuts_names(profiles):
    long = HardwareProfile("paper-rp500-accelerator", "Paper archetype: accelerator (RP 500), a long text",
                           "npu", {"int8": 500 * 40e9}, 40e9, "int8", estimated=("peak_macs_per_s.int8",))
    for width in (120, 90, 80):
        out = render(T.profile_list_table(profiles + [long]), width=width)
        assert "paper-rp500-accelerator " in out and "…" not in out
        assert max(len(ln.rstrip()) for ln in out.splitlines()) <= width
    # the device text wraps where there is room, and is left out (not cut) where there is not
    assert "Paper archetype" in render(T.profile_list_table(profiles + [long]), width=120)
    assert "Paper archetype" not in render(T.profile_list_table(profiles + [long]), width=80)


def test_intensity_above_1000_is_plain():
    from roofsweep.units import fmt_intensity

    assert fmt_intensity(4000.0) == "4000 MAC/B" and fmt_intensity(433.8) == "434 MAC/B"


# ------------------------------------------------------------------ every table fits 80 / 120
def _fits(out: str, width: int, rows) -> None:
    """No line wider than the console, nothing cut, and every row on one line with its values
    whole (a wrapped cell would split a row over two lines)."""
    assert max(len(ln.rstrip()) for ln in out.splitlines()) <= width
    assert "…" not in out
    for cells in rows:
        assert _lines_with(out, *cells), cells


def _long_layers():
    names = {1: "blocks.0.expand.conv_with_a_long_module_name", 4: "blocks.1.attn.query_key_value.proj"}
    return F.layer_table("mnv1", 6, names=names)


def _cases():
    mnv4 = F.per_layer("mnv4-conv-m", 50)
    raw = _long_layers()
    sweep, same = _rp_and_profiles()
    multi, msame = _rp_and_profiles(("mnv1", "mnv2", "mnv4-conv-m"))
    zoo = [{"name": f"mnv4-hybrid-{s}", "display_name": f"MNv4-Hybrid-{s.upper()}", "family": "MobileNetV4",
            "default_resolution": 384, "top1": 83.4, "macs": 7.7e9, "params": 37_800_000,
            "aliases": (f"mnv4-hybrid-{s}arge", f"mobilenetv4_hybrid_{s}arge")} for s in ("l", "m")]
    low, high = F.per_layer("mnv4-conv-m", 5), F.per_layer("mnv4-conv-m", 500)
    return {
        "layers timed": (T.layers_table(mnv4), [(r["name"], r["bound"]) for _, r in mnv4.iterrows()]),
        "layers raw": (T.layers_table(raw), [(r["name"], r["op_type"]) for _, r in raw.iterrows()]),
        "sweep one model": (T.sweep_table(sweep, same_as=same),
                            [("RP 5 ", "paper-rp5")] + [(n, "bound") for n, _ in F.PROFILES]),
        "sweep three models": (T.sweep_table(multi, same_as=msame),
                               [("RP 500",), ("MobileNetV1", "MNv4-Conv-M")] + [(n, "bound") for n, _ in F.PROFILES]),
        "dominant": (T.dominant_layers_table({"RP 5": low, "RP 500": high}),
                     [("RP 5", low.sort_values("time_s").iloc[-1]["name"])]),
        "models": (T.models_table(zoo), [(r["name"], "83.4", "7.7 GMAC") for r in zoo]),
        "compare": (T.compare_table(multi, same_as=msame), [("MNv4-Conv-M", "79.9")]),
    }


@pytest.mark.parametrize("width", [80, 120])
@pytest.mark.parametrize("case", sorted(_cases()))
def test_every_table_fits_the_console(case, width):
    renderable, rows = _cases()[case]
    _fits(render(renderable, width=width), width, rows)


def test_layers_have_one_line_per_row_at_80_columns():
    raw = _long_layers()
    lines = render(T.layers_table(raw), width=80).splitlines()
    rows = [i for i, ln in enumerate(lines) if any(f" {n} " in f" {ln} " for n in raw["name"])]
    assert len(rows) == len(raw)
    assert rows == list(range(rows[0], rows[0] + len(raw)))  # no blank or wrapped lines between rows
    assert "not shown at this width" in lines[-1]  # a column was left out, and it says which


def test_dominant_layers_from_the_analysis_rows():
    from roofsweep.engine.roofline import dominant_layers

    low = F.per_layer("mnv4-conv-m", 5)
    rows = dominant_layers(low, 2).assign(point="RP 5")
    out = render(T.dominant_layers_table(rows))
    top = low.sort_values("time_s", ascending=False, kind="stable").iloc[0]
    assert _lines_with(out, "RP 5", top["name"], f"{top['time_s'] / low['time_s'].sum():.0%}")
    assert len(_lines_with(out, "blocks.")) + len(_lines_with(out, "stem.")) == 2
