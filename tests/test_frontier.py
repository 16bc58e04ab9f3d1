"""Efficiency frontier of compared options (issue 17): dominance, extended dominance, ICERs."""

from __future__ import annotations

import pandas as pd
import pytest

from sim.experiments.compare import efficiency_frontier


def _table(rows):
    return pd.DataFrame(rows, columns=["scenario", "cost", "effect"])


def test_hand_made_table_with_known_dominance():
    # base 0/0; routing is free and gains 100; line alone 10,000 for 150; bundle of
    # routing + line 10,000 for 220; an expensive option 30,000 for 200 (dominated by the
    # bundle); a middle option 6,000 for 120 whose ICER vs routing (300) exceeds the
    # bundle's ICER vs it (4,000 / 100 = 40): extendedly dominated.
    f = efficiency_frontier(_table([
        ("base", 0.0, 0.0), ("line", 10_000.0, 150.0), ("routing", 0.0, 100.0),
        ("bundle", 10_000.0, 220.0), ("expensive", 30_000.0, 200.0), ("middle", 6_000.0, 120.0),
    ])).set_index("scenario")
    assert f.loc["base", "status"] == "dominated" and f.loc["base", "compared_with"] == "routing"
    assert f.loc["routing", "status"] == "reference"
    assert f.loc["line", "status"] == "dominated" and f.loc["line", "compared_with"] == "bundle"
    assert f.loc["expensive", "status"] == "dominated"
    assert f.loc["middle", "status"] == "extendedly dominated"
    # The bundle is costed given the free routing change: EUR 10,000 for 120 extra callers,
    # not 10,000 for 220 (which would look cheaper than the line alone).
    assert f.loc["bundle", "status"] == "frontier" and f.loc["bundle", "compared_with"] == "routing"
    assert f.loc["bundle", "icer"] == pytest.approx(10_000 / 120)
    assert f.loc["bundle", "incremental_effect"] == pytest.approx(120)


def test_icers_rise_along_the_frontier_and_dominated_get_none():
    f = efficiency_frontier(_table([
        ("a", 0.0, 0.0), ("b", 100.0, 10.0), ("c", 300.0, 15.0), ("d", 1000.0, 20.0), ("e", 500.0, 12.0),
    ]))
    front = f[f["status"] == "frontier"]
    assert list(front["scenario"]) == ["b", "c", "d"]
    assert front["icer"].is_monotonic_increasing
    assert f.set_index("scenario").loc["e", "status"] == "dominated"
    assert f.loc[f["status"] != "frontier", "icer"].isna().all()
    assert list(f["cost"]) == sorted(f["cost"])  # cost order


def test_compare_writes_frontier_beside_cost_effectiveness(tmp_path):
    from sim.cli import main

    out = tmp_path / "cmp"
    args = ["compare", "scenarios/fitted_2020.yaml", "scenarios/subsidy/option0_overflow.yaml",
            "--reps", "2", "--jobs", "1", "--set", "horizon.start=2020-09-01", "--set",
            "horizon.end=2020-09-30", "--out", str(out), "-q", "--no-report"]
    assert main(args) == 0
    f = pd.read_csv(out / "frontier.csv")
    assert (out / "cost_effectiveness.csv").exists()
    assert set(f["scenario"]) == {"fitted_2020", "option0_overflow"}
    assert set(f["status"]) <= {"reference", "frontier", "dominated", "extendedly dominated"}
