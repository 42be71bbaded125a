"""The package's front door: lazy top-level names, and which imports stay torch-free."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest

import roofsweep


@pytest.mark.parametrize("name", roofsweep.__all__)
def test_every_advertised_name_resolves(name):
    assert getattr(roofsweep, name) is not None


def test_unknown_attribute():
    with pytest.raises(AttributeError):
        roofsweep.not_a_thing  # noqa: B018


def test_engine_and_cli_import_without_torch():
    code = (
        "import sys, roofsweep, roofsweep.cli, roofsweep.analysis, roofsweep.engine.costmodel, roofsweep.engine.roofline, "
        "roofsweep.engine.sweep, roofsweep.engine.pareto, roofsweep.hardware, roofsweep.zoo, roofsweep.trace, "
        "roofsweep.report.terminal, roofsweep.config, roofsweep.measure\n"
        "roofsweep.resolve('mnv2-1.5x'); roofsweep.get_profile('pixel6-cpu')\n"
        "print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# ------------------------------------------------------------------------- compute once
@pytest.fixture(scope="module")
def analysis():
    from roofsweep.analysis import analyze
    from roofsweep.hardware import get_profile

    hw = [get_profile(n) for n in ("pixel6-cpu", "galaxy-s23-gpu", "paper-rp5-slow-cpu")]
    return analyze(["mnv3-small", "mnv2-0.5x"], hardware=hw, preset="paper", ridge_points="0,5,50,500")


def _count_costings(monkeypatch) -> list:
    import roofsweep.engine.costmodel as cm_mod
    import roofsweep.engine.points as points_mod

    calls: list = []
    real = cm_mod.apply_cost_model

    def counted(*a, **k):
        calls.append(a[2] if len(a) > 2 else k.get("dtype"))
        return real(*a, **k)

    monkeypatch.setattr(points_mod, "apply_cost_model", counted)  # CostCache costs
    monkeypatch.setattr(cm_mod, "apply_cost_model", counted)
    return calls


def test_analyze_costs_each_dtype_once(monkeypatch, analysis):
    from roofsweep.analysis import analyze

    calls = _count_costings(monkeypatch)
    analyze(analysis.models, hardware=analysis.profiles, preset="paper", ridge_points="0,5,50,500")
    # paper preset: int8 everywhere, but galaxy-s23-gpu has only fp16 -> two costings, not nine
    assert sorted(calls) == ["fp16", "int8"]


def test_analysis_holds_totals_dominant_layers_and_rows(analysis):
    from roofsweep.analysis import totals
    from roofsweep.engine.roofline import dominant_layers

    for m in analysis.models:
        t = analysis.totals.loc[m.label]
        ref = totals(m, analysis.cost_model)
        for k in ("macs", "params", "weight_bytes", "activation_bytes", "bytes", "intensity_macs_per_byte", "layers"):
            assert t[k] == ref[k], k
        assert t["macs"] == float(analysis.costed.loc[analysis.costed["model"] == m.label, "macs"].sum())
        for p in ("RP 5", "RP 500"):
            mine = analysis.dominant_at(m.label)
            mine = mine[mine["point"] == p].reset_index(drop=True)
            pd.testing.assert_frame_equal(mine, dominant_layers(analysis.layers(m.label, p), 5))
    rows = analysis.rows
    assert len(rows) == len(analysis.rp_sweep) + len(analysis.profile_sweep)
    assert set(rows["latency_is"]) == {"bound"}
    assert analysis.same_as == {"paper-rp5-slow-cpu": "RP 5"}
    assert set(rows.loc[rows["point"] == "paper-rp5-slow-cpu", "same_as"]) == {"RP 5"}
    share = dict(zip(analysis.frontier_share["model"], analysis.frontier_share["frontier_share"]))
    assert dict(zip(rows["model"], rows["frontier_share"])) == share
    # the dtype fallback is decided once (engine.sweep.profile_dtype) and reported from it
    assert [p.dtype for p in analysis.profile_points] == ["int8", "fp16", "int8"]
    assert any("galaxy-s23-gpu has no int8 peak" in n for n in analysis.notes)


def test_report_reads_the_analysis_without_costing(monkeypatch, analysis):
    from roofsweep.report.assemble import build_report

    calls = _count_costings(monkeypatch)
    report, figures = build_report(analysis, "roofsweep test")
    assert calls == []
    assert report.summary_dict()["frontier_share"] == {
        m: float(v) for m, v in zip(analysis.frontier_share["model"], analysis.frontier_share["frontier_share"])}
    assert "latency_is" in report.sweep_df and report.same_as == analysis.same_as
