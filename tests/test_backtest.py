"""Backtest (issue 17): demand carried across years, published targets, the table."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.config import load_scenario
from sim.planning import backtest as B

FITTED = Path("scenarios/fitted_2020.yaml")


def test_carried_annual_compounds_the_trend_both_ways_and_holds_the_level():
    assert B.carried_annual(1000.0, 0.05, 365) == pytest.approx(1050.0)
    assert B.carried_annual(1000.0, 0.05, -3 * 365) == pytest.approx(1000.0 / 1.05**3)
    # Back and forth returns the level (the model's (1 + trend)^(days / 365) convention).
    there = B.carried_annual(1000.0, 0.0445, 1461)
    assert B.carried_annual(there, 0.0445, -1461) == pytest.approx(1000.0)
    assert B.carried_annual(1000.0, 0.05, -1000, carry="level") == 1000.0
    with pytest.raises(ValueError):
        B.carried_annual(1000.0, 0.05, 1, carry="flat")


def test_year_scenarios_move_horizon_drop_events_and_take_2024_capacity_not_its_demand():
    fitted = load_scenario(FITTED)
    scns = B.year_scenarios(FITTED)
    s17, s24 = scns[2017], scns[2024]
    assert s17.horizon.start == dt.date(2017, 1, 1) and s17.horizon.end == dt.date(2017, 12, 31)
    trend = fitted.demand.phone.trend_per_year
    days = (dt.date(2017, 1, 1) - dt.date(2020, 1, 1)).days
    assert s17.demand.phone.annual == pytest.approx(fitted.demand.phone.annual * (1 + trend) ** (days / 365))
    assert all(not getattr(s.demand, c).events for s in scns.values() for c in B.CHANNELS)
    # Behaviour stays the fitted scenario's; capacity of 2024 comes from the subsidy file,
    # its demand (calibrated to 2024) does not.
    cap = load_scenario(B.DEFAULT_CAPACITY_2024)
    assert s24.phone.talk_min == fitted.phone.talk_min and s24.phone.redial == fitted.phone.redial
    assert s24.phone.staffing == cap.phone.staffing and s24.chat.opening_hours == cap.chat.opening_hours
    assert s24.demand.chat.annual != cap.demand.chat.annual
    assert s24.demand.chat.annual == pytest.approx(fitted.demand.chat.annual * (1 + trend) ** (1461 / 365))


def test_targets_are_the_published_figures():
    t = B.targets().set_index("target")["published"]
    assert t["2017 phone + e-mail"] == 4812 and t["2019 chat"] == 159 and t["2019 total"] == 5409
    assert t["10-27 Feb 2019 (all channels)"] == 244
    assert t["2024 total"] == 9594
    assert t[[k for k in t.index if k.startswith("2024 ") and "%" in k]].sum() == pytest.approx(9594, abs=2)


def test_score_sums_channels_over_the_target_days():
    start = dt.date(2019, 1, 1)
    n = 365
    ones = np.ones((3, n))
    by_day = {2019: {"phone": ones * 2, "chat": ones, "email": ones * 0}}
    tgts = pd.DataFrame([("win", 2019, ("phone", "chat"), dt.date(2019, 2, 10), dt.date(2019, 2, 27), 27, "x")],
                        columns=["target", "year", "channels", "first", "last", "published", "source"])
    row = B.score(tgts, by_day, {2019: start}, {2019: "s"}).iloc[0]
    assert row["simulated"] == 18 * 3  # 18 days x (2 + 1)
    assert row["error_pct"] == pytest.approx(100 * (54 - 27) / 27)


def test_backtest_command_short_run(tmp_path, capsys):
    """Two replications: every published target is in the table, the CI holds the mean."""
    from sim.cli import main

    out = tmp_path / "bt"
    assert main(["backtest", str(FITTED), "--reps", "2", "--jobs", "1", "--out", str(out), "-q"]) == 0
    table = pd.read_csv(out / "backtest.csv")
    assert list(table.columns[:6]) == ["target", "published", "simulated", "ci_low", "ci_high", "error_pct"]
    assert set(B.targets()["target"]) == set(table["target"])
    # Every target has a finite, proper interval (2 replications) and a finite error.
    ok = (np.isfinite(table[["simulated", "ci_low", "ci_high", "error_pct"]]).all(axis=1)
          & (table["ci_low"] < table["ci_high"]) & (table["simulated"] > 0))
    assert ok.all(), f"degenerate interval or error in rows {table.loc[~ok, 'target'].tolist()}"
    assert "backtest of fitted_2020" in capsys.readouterr().out
