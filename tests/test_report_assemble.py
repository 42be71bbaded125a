"""Which figures a report shows and how they are chosen (assemble.py helpers)."""

from __future__ import annotations

from types import SimpleNamespace

import report_fixtures as F
from roofsweep.report import assemble as A


def test_spread_pick_keeps_ends_and_order():
    items = list(range(14))
    assert A.spread_pick(items, 20) == items
    picked = A.spread_pick(items, 5)
    assert len(picked) == 5 and picked[0] == 0 and picked[-1] == 13 and picked == sorted(picked)
    assert A.spread_pick(items, 1) == [0] and A.spread_pick(items, 0) == []


def test_profile_panels_by_ridge_point_without_duplicates_of_rp_panels():
    # "paper-rp5" has exactly the RP 5 panel's peak, bandwidth and dtype: drawn once, not twice
    profiles = [("pixel8-edgetpu", 433.8), ("paper-rp5", 5.0), ("pixel6-cpu", 31.2)]
    sweep = F.sweep(models=["mnv1", "mnv2"], rps=(0.0, 5.0, 500.0), profiles=profiles)
    hw = sweep["hardware"] != ""
    analysis = SimpleNamespace(rp_sweep=sweep[~hw], profile_sweep=sweep[hw])
    assert A.distinct_profile_points(analysis) == ["pixel6-cpu", "pixel8-edgetpu"]
    assert "paper-rp5" in A._duplicates_note(analysis, ["pixel6-cpu", "pixel8-edgetpu"])


def test_roofline_grids_go_to_the_most_pareto_relevant_models():
    from types import SimpleNamespace

    import pandas as pd

    from roofsweep.report.assemble import roofline_models

    a = SimpleNamespace(frontier_share=pd.DataFrame(
        {"model": ["a", "b", "c", "d", "e", "f"], "frontier_share": [0.1, float("nan"), 1.0, 0.5, 0.0, 0.5]}))
    assert roofline_models(a, ["a", "b", "c"]) == ["a", "b", "c"]  # up to four: all, as given
    # c (100 %), d and f (50 %, given order), a (10 %); e (0 %) and b (no top-1) left out
    assert roofline_models(a, ["a", "b", "c", "d", "e", "f"]) == ["c", "d", "f", "a"]
