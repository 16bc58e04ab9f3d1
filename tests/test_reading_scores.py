"""Scores of the readings (issue 17): pure scoring on small frames, the choice rule, and one
short end-to-end run of ``readings`` on a ``fit --quick`` result."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.config import load_scenario
from sim.planning.backtest import targets
from sim.planning.reading_scores import (
    BACKTEST_PARTS,
    MAX_HANDLING_MIN,
    backtest_scores,
    choose,
    in_sample,
    plausibility,
)

FITTED = Path("scenarios/fitted_2020.yaml")
# The fit with counsellors always at the line: 83 min per answered call.
PER_CALLER = Path("scenarios/fitted/per_caller/fitted_2020.yaml")


def test_in_sample_error_is_the_mean_absolute_relative_error_and_uses_the_readings_rate():
    monthly = pd.DataFrame({"channel": ["phone", "phone", "chat", "chat"],
                            "month": ["2020-01", "2020-02"] * 2,
                            "observed": [100.0, 200.0, 10.0, 20.0],
                            "simulated": [110.0, 180.0, 10.0, 25.0]})
    sepdec = {"answer_rate_caller": 0.43, "answer_rate_attempt": 0.12, "mean_attempts": 3.5}
    s = in_sample(monthly, sepdec, "caller")
    # phone: |+10%| and |-10%| -> 10%; chat: 0% and 25% -> 12.5%; all four cells: 11.25%
    assert s["insample_phone_pct"] == pytest.approx(10.0)
    assert s["insample_chat_pct"] == pytest.approx(12.5)
    assert s["insample_error_pct"] == pytest.approx(11.25)
    assert s["sepdec_rate"] == 0.43 and s["sepdec_rate_in_range"] and s["sepdec_attempts_in_range"]
    a = in_sample(monthly, sepdec, "attempt")  # the same run, scored in the attempt sense
    assert a["sepdec_rate"] == 0.12 and not a["sepdec_rate_in_range"]
    assert not in_sample(monthly, {**sepdec, "mean_attempts": 2.1}, "caller")["sepdec_attempts_in_range"]


def _backtest(errors: dict[str, float]) -> pd.DataFrame:
    """The real backtest targets, simulated = published x (1 + error) (error by prefix, else 0)."""
    t = targets()[["target", "published"]].copy()
    e = np.array([next((v for k, v in errors.items() if name.startswith(k)), 0.0) for name in t["target"]])
    t["simulated"] = t["published"] * (1 + e)
    t["error_pct"] = 100 * e
    return t


def test_backtest_score_counts_each_non_sum_target_once_and_the_2024_split_in_points():
    assert len(BACKTEST_PARTS) == 8
    names = targets()["target"]
    for p in BACKTEST_PARTS:  # every part names exactly one row of the real table
        assert names.str.startswith(p).sum() == 1, p
    b = backtest_scores(_backtest({"2017 phone": 0.16, "10-27 Feb 2019": -0.08}))
    assert b["backtest_error_pct"] == pytest.approx((16 + 8) / 8)
    assert b["backtest_feb2019_pct"] == pytest.approx(-8.0)
    assert b["backtest_2024_split_pts"] == pytest.approx(0.0, abs=1e-9)
    # 2024 chat at half its published count: its share falls; half the |share shifts| in points
    b = backtest_scores(_backtest({"2024 chat": -0.5}))
    c24 = targets()
    c24 = c24[c24["target"].str.match(r"2024 (phone|chat|e-mail)")]["published"].to_numpy(float)
    sim = c24 * np.array([1, 0.5, 1])
    expected = 50 * np.abs(sim / sim.sum() - c24 / c24.sum()).sum()
    assert b["backtest_2024_split_pts"] == pytest.approx(expected)
    assert b["backtest_2024_split_pts"] > 5


def test_plausibility_flags_long_calls_high_redial_and_odd_demand_never_hides_them():
    fitted = load_scenario(PER_CALLER)
    answered = 5702.0  # published phone 2020 (seed 000)
    p = plausibility(fitted, answered)
    assert p["handling_min"] == pytest.approx(fitted.phone.talk_min.mean_min + fitted.phone.wrap_up_min.mean_min)
    assert p["handling_min"] > MAX_HANDLING_MIN and not p["plausible"] and "talk + wrap-up" in p["flags"]
    promoted = plausibility(load_scenario(FITTED), answered)
    assert promoted["plausible"], f"the promoted fitted_2020.yaml is flagged: {promoted['flags']}"
    short = load_scenario(FITTED, {"phone.talk_min": {"dist": "lognormal", "mean": 25.0, "sd": 15.0},
                                   "phone.wrap_up_min": {"dist": "gamma", "mean": 10.0, "sd": 5.0}})
    s = plausibility(short, answered)
    assert s["handling_min"] == pytest.approx(35.0) and s["plausible"] and s["flags"] == ""
    assert "redial probability" in plausibility(load_scenario(FITTED, {
        "phone.talk_min": {"dist": "lognormal", "mean": 25.0, "sd": 15.0},
        "phone.wrap_up_min": {"dist": "gamma", "mean": 10.0, "sd": 5.0},
        "phone.redial.probability": [0.97]}), answered)["flags"]
    # the same demand against ten times the answered calls: fewer than 1 caller per answer
    assert "new callers per answered call" in plausibility(short, 10 * s["demand_ratio"] * answered)["flags"]


def _scores(rows):
    return pd.DataFrame(rows, columns=["reading", "plausible", "backtest_error_pct", "insample_error_pct"])


def test_choice_puts_plausible_first_then_backtest_then_in_sample_within_a_tie():
    s = _scores([("a", False, 5.0, 1.0), ("b", True, 20.0, 9.0), ("c", True, 12.0, 8.0)])
    best, why = choose(s)
    assert best == "c" and "2 of 3 readings have plausible parameters" in why and "12.0%" in why
    s = _scores([("a", True, 12.0, 3.0), ("b", True, 12.6, 1.0), ("c", True, 14.0, 0.5)])
    best, why = choose(s)
    assert best == "b" and "ties" in why and "a 12.0%" in why  # within 1 point; c is not
    best, why = choose(_scores([("a", False, 30.0, 1.0), ("b", False, 10.0, 9.0)]))
    assert best == "b" and "no reading of 2 has plausible parameters" in why
    with pytest.raises(ValueError):
        choose(_scores([]))


def test_readings_command_scores_a_quick_fit_end_to_end(quick_fit, tmp_path, capsys):
    from sim.cli import main

    out = tmp_path / "readings"  # the shared fit (conftest.quick_fit) is read-only
    rc = main(["readings", "--readings", "per_caller,per_attempt", "--fitted", str(quick_fit / "scenarios" / "fitted"),
               "--fit-reports", str(quick_fit / "results" / "fit"), "--reps", "2", "--jobs", "1",
               "--out", str(out)])
    assert rc == 0
    printed = capsys.readouterr().out
    scores = pd.read_csv(out / "scores.csv")
    assert list(scores["reading"]) == ["per_caller"]  # per_attempt has no fit here: named, not scored
    assert "not scored" in printed and "per_attempt" in printed
    assert "best reading: per_caller" in printed
    row = scores.iloc[0]
    # in-sample scores come from the fit's own report, as written there
    monthly = pd.read_csv(quick_fit / "results" / "fit" / "per_caller" / "monthly.csv")
    expected = ((monthly["simulated"] - monthly["observed"]).abs() / monthly["observed"]).mean() * 100
    assert row["insample_error_pct"] == pytest.approx(expected)
    assert "QUICK" in row["notes"]
    # the backtest error is that of the reading's fitted scenario's backtest table
    bt = pd.read_csv(out / "backtests.csv")
    assert row["backtest_error_pct"] == pytest.approx(backtest_scores(bt)["backtest_error_pct"])
    assert json.loads((out / "meta.json").read_text())["best"] == "per_caller"


def test_in_sample_by_simulation_counts_answered_contacts_per_month_as_the_fit_does():
    """Without a fit report the in-sample scores come from simulating the fitted scenario:
    its monthly sums must be those of the fit's own counter on the same seeds."""
    from sim.planning.fit_run import answered_by_day
    from sim.planning.reading_scores import in_sample_by_simulation, published_monthly

    scn = load_scenario(FITTED, {"horizon.start": "2020-10-01", "horizon.end": "2020-11-30"})
    s = in_sample_by_simulation(scn, 2, 1, 1, "caller")
    by_day = answered_by_day(scn, 2, 1, 1)
    pub = published_monthly().set_index(["channel", "month"])["observed"]
    for c in ("phone", "chat", "email"):
        sims = [by_day[c][:, :31].sum(axis=1).mean(), by_day[c][:, 31:].sum(axis=1).mean()]
        obs = [pub[(c, "2020-10")], pub[(c, "2020-11")]]
        expected = np.mean([abs(a - b) / b * 100 for a, b in zip(sims, obs, strict=True)])
        assert s[f"insample_{c}_pct"] == pytest.approx(expected), f"{c}: simulated months vs the fit's counter"
    assert 0 < s["sepdec_rate"] < 1 and s["sepdec_attempts"] >= 1
