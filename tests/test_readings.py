"""Readings of the evidence (issue 17): overlays, the robustness table and verdicts."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.config import ScenarioError, load_scenario
from sim.config.reading import load_reading
from sim.experiments.readings import find_readings, overlay, ranks, robustness, verdicts

FITTED = Path("scenarios/fitted_2020.yaml")
PEAK = Path("scenarios/subsidy/extra_line_peak_days.yaml")


def test_every_shipped_reading_is_documented_and_lays_over_the_scenarios():
    readings = find_readings("scenarios/readings")
    assert {"per_caller", "per_attempt", "low_out_of_hours", "capacity_raised_h2_2020"} <= {r.name for r in readings}
    docs = Path("docs/readings.md").read_text(encoding="utf-8")
    for r in readings:
        assert r.rests_on and r.rationale.strip()
        assert f"`{r.name}`" in docs, f"reading {r.name} is not described in docs/readings.md"
        for f in (FITTED, PEAK):
            load_scenario(f, overlay(r, f))


def test_per_caller_is_the_fitted_scenario_and_per_attempt_sets_the_reported_behaviour():
    fitted = load_scenario(FITTED)
    assert load_scenario(FITTED, overlay(load_reading("scenarios/readings/per_caller.yaml"), FITTED)) == fitted
    att = load_scenario(FITTED, overlay(load_reading("scenarios/readings/per_attempt.yaml"), FITTED))
    # docs/fit.md: handling x0.52 of the baseline (40 + 20 min) = 31 min, persistence 0.919.
    assert att.phone.talk_min.mean + att.phone.wrap_up_min.mean == pytest.approx(0.52 * 60)
    assert att.phone.redial.probability == [0.919]


def test_append_keeps_an_options_own_lines_and_clips_to_the_horizon():
    r = load_reading("scenarios/readings/capacity_raised_h2_2020.yaml")
    own = load_scenario(PEAK).phone.staffing.extra
    horizon = {"horizon.start": "2020-09-01", "horizon.end": "2020-12-31"}
    s = load_scenario(PEAK, overlay(r, PEAK, horizon))
    assert s.phone.staffing.extra[: len(own)] == own
    added = s.phone.staffing.extra[-1]
    assert (added.from_.isoformat(), added.to.isoformat()) == ("2020-09-01", "2020-12-31")
    assert len(s.phone.staffing.extra) == len(own) + 1


def test_bad_reading_is_one_line_naming_file_and_field(tmp_path):
    f = tmp_path / "bad.yaml"
    f.write_text("name: bad\nrationale: x\nrests_on: []\n", encoding="utf-8")
    with pytest.raises(ScenarioError) as e:
        load_reading(f)
    assert "bad.yaml" in str(e.value) and "rests_on" in str(e.value) and "\n" not in str(e.value)
    with pytest.raises(ScenarioError, match="no reading 'nosuch'"):
        find_readings("per_caller,nosuch")


def _per_reading(gains: dict[str, tuple[float, float]]):
    """Hand-made paired and cost tables: reading -> (gain of A, gain of B) in answer rate."""
    out = {}
    for reading, (ga, gb) in gains.items():
        rows = []
        for name, mean, d in (("base", 0.40, 0.0), ("A", 0.40 + ga, ga), ("B", 0.40 + gb, gb)):
            rows.append({"scenario": name, "by": "all", "key": "all", "kpi": "answer_rate_caller",
                         "mean": mean, "ci_low": mean - 0.01, "ci_high": mean + 0.01,
                         "diff": d, "diff_low": d - 0.01, "diff_high": d + 0.01})
            rows.append({"scenario": name, "by": "all", "key": "all", "kpi": "callers_answered",
                         "mean": 1000 * mean, "ci_low": 0, "ci_high": 0, "diff": 1000 * d,
                         "diff_low": 1000 * d - 5, "diff_high": 1000 * d + 5})
        ce = pd.DataFrame([{"scenario": n, "extra_cost": c, "extra_cost_low": c, "extra_cost_high": c,
                            "cost_per_extra_caller": c / (1000 * g), "cost_per_extra_caller_low": 0,
                            "cost_per_extra_caller_high": 0} for n, c, g in (("A", 1000.0, ga), ("B", 0.0, gb))])
        out[reading] = (pd.DataFrame(rows), ce)
    return out


def test_verdicts_report_ranks_ranges_and_whether_the_ranking_holds():
    same = _per_reading({"r1": (0.04, 0.02), "r2": (0.12, 0.03)})
    rob = robustness(same)
    assert list(rob.columns) == ["option", "kpi", "reading", "diff", "ci_low", "ci_high"]
    assert len(rob) == 2 * 2 * 4
    lines = verdicts(rob, ranks(same))
    assert lines[0].startswith("A: rank r1 1, r2 1; gain +4.0 to +12.0 pt")
    assert "EUR 8 to 25 per extra caller" in lines[0]
    assert "the same in every reading" in lines[-1]
    assert "free (no extra cost)" in lines[1]
    # With the frontiers: the ICER of A against the free B, and where A is dominated.
    fronts = {"r1": pd.DataFrame({"scenario": ["B", "base", "A"], "icer": [float("nan"), float("nan"), 50.0]}),
              "r2": pd.DataFrame({"scenario": ["B", "base", "A"], "icer": [float("nan")] * 3})}
    rob = robustness(same, fronts)
    assert rob[(rob["kpi"] == "icer") & (rob["option"] == "A")]["diff"].iloc[0] == 50.0
    assert "on the efficiency frontier in 1 of 2 readings, ICER EUR 50 to 50" in verdicts(rob, ranks(same))[0]
    flipped = _per_reading({"r1": (0.04, 0.02), "r2": (0.01, 0.03)})
    lines = verdicts(robustness(flipped), ranks(flipped))
    assert "ranking differs" in lines[0] and "NOT the same in every reading" in lines[-1]


def test_compare_with_readings_writes_robustness(tmp_path, capsys):
    from sim.cli import main

    out = tmp_path / "rob"
    args = ["compare", str(FITTED), "scenarios/subsidy/option0_overflow.yaml", "--readings",
            "per_caller,per_attempt", "--reps", "2", "--jobs", "1", "--set", "horizon.start=2020-10-01",
            "--set", "horizon.end=2020-10-31", "--out", str(out), "--no-report"]
    assert main(args) == 0
    rob = pd.read_csv(out / "robustness.csv")
    assert set(rob["reading"]) == {"per_caller", "per_attempt"} and set(rob["option"]) == {"option0_overflow"}
    assert (out / "per_attempt" / "frontier.csv").exists()
    printed = capsys.readouterr().out
    assert "option0_overflow: rank per_caller" in printed and "ranking of all 2 scenarios" in printed


def test_peak_days_pick_the_top_share_of_eligible_days_ties_to_the_earlier():
    from sim.model.calendar import peak_days

    demand = np.array([5.0, 9.0, 9.0, 1.0, 7.0, 3.0])
    eligible = np.array([True, True, True, True, True, False])
    assert peak_days(demand, eligible, 0.4).tolist() == [False, True, True, False, False, False]
    assert peak_days(demand, eligible, 0.2).tolist() == [False, True, False, False, False, False]
    assert peak_days(demand, eligible, 1.0).tolist() == eligible.tolist()


def test_forecast_peak_days_use_the_same_line_hours_on_other_days():
    from sim.model.helpline import build_calendar

    def line_hours(path):
        cal = build_calendar(load_scenario(path))
        f = cal.phone_lines["Antwerpen"]
        return float(np.sum(np.diff(np.append(f.times, f.times[-1])) * f.values)) / 3600

    fixed = Path("scenarios/subsidy/extra_line_peak_days.yaml")
    forecast = Path("scenarios/subsidy/extra_line_forecast_peak_days.yaml")
    assert line_hours(forecast) == line_hours(fixed)
    scn = load_scenario(forecast)
    from sim.model.arrivals import interval_rate
    from sim.model.calendar import closed_days, resolve_peak_shares

    days = scn.horizon.days
    daily = interval_rate(scn.demand.phone, scn.horizon.start, days).reshape(days, -1).sum(axis=1)
    (x,) = resolve_peak_shares(scn.phone.staffing.extra, scn.horizon.start, days, scn.phone.opening_hours,
                               closed_days(scn.horizon.start, days, scn.calendar), daily)
    picked = np.array([(d - scn.horizon.start).days for d in x.dates])
    others = np.setdiff1d(np.flatnonzero(daily > 0), picked)
    closed = closed_days(scn.horizon.start, days, scn.calendar)
    opened = [i for i in others if (day := scn.horizon.start + dt.timedelta(int(i))) not in closed
              and scn.phone.opening_hours.minutes(day.weekday())]
    assert daily[picked].min() >= daily[opened].max(), "a picked day has less forecast demand than one left out"


def test_fit_reading_writes_its_base_and_fits_under_it(tmp_path, monkeypatch):
    """``fit --reading NAME``: the reading laid over the fit's base (or not, when its
    overlay is a fit result), the calibration target and the output folder; the fit
    pipeline itself (tested by test_fit's --quick run) is stopped at its start."""
    import sim.cli.fit as fit_cli
    from sim.cli import main

    seen = {}

    class Stop(Exception):
        pass

    def fake_fit_all(s, log, meter=None):
        seen["s"] = s
        raise Stop

    monkeypatch.setattr(fit_cli, "fit_all", fake_fit_all)
    for name, target, profile_set in (("low_out_of_hours", "caller", True), ("per_attempt", "attempt", False)):
        with pytest.raises(Stop):
            main(["fit", "--quick", "-q", "--reading", name, "--scenario-out", str(tmp_path),
                  "--out", str(tmp_path / "report")])
        s = seen["s"]
        assert s.reading == target and Path(s.scenario_out) == tmp_path / "fitted" / name
        base = load_scenario(s.base)
        reading = load_reading(f"scenarios/readings/{name}.yaml")
        if profile_set:
            assert base.demand.phone.hour_profile == reading.set["demand.phone.hour_profile"]
        else:  # per_attempt's overlay is the calibration's result: the re-fit does not impose it
            assert base.phone.talk_min == load_scenario("scenarios/baseline_2020.yaml").phone.talk_min


def _fake_fit(folder: Path, reading_name: str, over: dict) -> Path:
    """A stand-in for ``fit --reading NAME``: scenarios/fitted_2020.yaml with ``over``,
    written fully resolved to ``folder/NAME/fitted_2020.yaml``."""
    (folder / reading_name).mkdir(parents=True)
    f = folder / reading_name / "fitted_2020.yaml"
    f.write_text(load_scenario(FITTED, over).to_yaml(), encoding="utf-8")
    return f


def test_a_fitted_reading_is_the_base_of_every_option_resting_on_fitted_2020(tmp_path):
    from sim.experiments.readings import own_settings, reading_scenario

    cap = load_reading("scenarios/readings/capacity_raised_h2_2020.yaml")
    # the fit took the reading's capacity as input and found other behaviour (redial 0.5)
    _fake_fit(tmp_path, cap.name, {**overlay(cap, FITTED), "phone.redial.probability": [0.5]})
    horizon = {"horizon.start": "2020-09-01", "horizon.end": "2020-12-31"}
    base, used = reading_scenario(cap, FITTED, horizon, tmp_path)
    assert used == "fitted" and base.name == "fitted_2020" and base.phone.redial.probability == [0.5]
    assert [e.name for e in base.phone.staffing.extra].count(cap.append["phone.staffing.extra"][0]["name"]) == 1
    # an option with its own extra lines keeps them, gets the reading's line again, and the fit's behaviour
    peak, used = reading_scenario(cap, PEAK, horizon, tmp_path)
    own = load_scenario(PEAK).phone.staffing.extra
    assert used == "fitted" and peak.name == "extra_line_peak_days" and peak.phone.redial.probability == [0.5]
    assert peak.phone.staffing.extra[: len(own)] == own and len(peak.phone.staffing.extra) == len(own) + 1
    # an option that does not touch the lines: its own routing on the fit, the fit's lines
    ov, _ = reading_scenario(cap, Path("scenarios/subsidy/option0_overflow.yaml"), horizon, tmp_path)
    assert ov.phone.option0 == load_scenario("scenarios/subsidy/option0_overflow.yaml").phone.option0
    assert ov.phone.staffing.extra == base.phone.staffing.extra
    # no fit, or a file not resting on fitted_2020.yaml: the overlay as before
    assert own_settings(Path("scenarios/baseline_2020.yaml")) is None
    s, used = reading_scenario(cap, Path("scenarios/baseline_2020.yaml"), horizon, tmp_path)
    assert used == "overlay" and s == load_scenario("scenarios/baseline_2020.yaml",
                                                    overlay(cap, Path("scenarios/baseline_2020.yaml"), horizon))
    low = load_reading("scenarios/readings/low_out_of_hours.yaml")
    s, used = reading_scenario(low, PEAK, horizon, tmp_path)
    assert used == "overlay" and s == load_scenario(PEAK, overlay(low, PEAK, horizon))


def test_a_readings_overlay_that_is_a_fit_result_is_replaced_by_its_fit(tmp_path):
    from sim.experiments.readings import reading_scenario

    att = load_reading("scenarios/readings/per_attempt.yaml")
    assert not att.fit_uses_overlay
    fit = {"phone.talk_min": {"dist": "lognormal", "mean": 25.0, "sd": 18.0}, "phone.redial.probability": [0.8]}
    _fake_fit(tmp_path, att.name, fit)
    s, used = reading_scenario(att, PEAK, None, tmp_path)
    assert used == "fitted" and s.phone.talk_min.mean == 25.0 and s.phone.redial.probability == [0.8]
    assert s.demand.phone.annual == load_scenario(FITTED).demand.phone.annual  # not the overlay's 6199


def test_compare_with_readings_says_which_base_each_reading_used(tmp_path, capsys):
    from sim.cli import main

    _fake_fit(tmp_path / "fitted", "per_attempt", {"phone.redial.probability": [0.8]})
    out = tmp_path / "rob"
    assert main(["compare", str(FITTED), "scenarios/subsidy/option0_overflow.yaml", "--readings",
                 "per_caller,per_attempt", "--fitted", str(tmp_path / "fitted"), "--reps", "2", "--jobs", "1",
                 "--set", "horizon.start=2020-10-01", "--set", "horizon.end=2020-10-15", "--out", str(out)]) == 0
    text = (out / "robustness.txt").read_text()
    assert "per_attempt: base = its fitted scenario" in text
    assert "per_caller: base = the reading's overlay on the scenarios as given (no fitted scenario)" in text
    assert "per_attempt: base = its fitted scenario" in capsys.readouterr().out
    ran = load_scenario(out / "per_attempt" / "scenario_option0_overflow.yaml")
    assert ran.phone.redial.probability == [0.8] and ran.phone.talk_min == load_scenario(FITTED).phone.talk_min


def test_optimise_and_sensitivity_verdicts_say_what_survives_every_reading():
    from sim.planning.reading_runs import (
        optimise_table,
        optimise_verdicts,
        schedule_text,
        sensitivity_table,
        sensitivity_verdicts,
    )

    def sched(*rows):
        return pd.DataFrame([{"channel": "phone", "province": p, "hours": "09:00-13:00", "weekdays": "mon-fri",
                              "lines": n} for p, n in rows])

    assert schedule_text(sched(("Limburg", 1), ("Antwerpen", 2))) == schedule_text(sched(("Antwerpen", 2), ("Limburg", 1)))
    meta = {"status": "target reached", "target": "answer_rate_caller>=0.5", "kpi_confirmed": 0.52,
            "kpi_ci": [0.51, 0.53], "extra_cost": 1000.0, "extra_line_hours": 20.0}
    same = optimise_table({"r1": (meta, sched(("Limburg", 1))), "r2": (meta, sched(("Limburg", 1)))})
    lines = optimise_verdicts(same)
    assert lines[-1] == "chosen staffing: the same in every reading"
    assert "shown at 95% in 2 of 2" in lines[-2]
    differ = optimise_table({"r1": (meta, sched(("Limburg", 1))),
                             "r2": ({**meta, "status": "not shown at 95%", "extra_cost": 3000.0}, sched(("Limburg", 2)))})
    lines = optimise_verdicts(differ)
    assert "NOT the same in every reading (2 different schedules" in lines[-1]
    assert "EUR 1,000 to 3,000" in lines[-2] and "shown at 95% in 1 of 2" in lines[-2]

    def tornado(*widths):
        return pd.DataFrame([{"parameter": p, "low_setting": "lo", "low": 0.4, "base": 0.45, "high_setting": "hi",
                              "high": 0.45 + w, "width": w} for p, w in widths])

    t = sensitivity_table({"r1": tornado(("handling_time", 0.10), ("redial_probability", 0.05)),
                           "r2": tornado(("redial_probability", 0.08), ("handling_time", 0.07))})
    assert list(t.columns) == ["reading", "rank", "parameter", "low_setting", "low", "base", "high_setting",
                               "high", "width"]
    lines = sensitivity_verdicts(t, {"r1": "a > b", "r2": "a > b"}, top=2)
    assert lines[0] == "r1: top factors handling_time (10.0 pt), redial_probability (5.0 pt); options by gain: a > b"
    assert "widest factor: NOT the same in every reading (r1 handling_time, r2 redial_probability)" in lines
    assert "top 2 factors: the same set in every reading" in lines
    assert "ranking of the options by gain: the same in every reading" in lines


def test_optimise_with_readings_runs_each_reading_into_its_subfolder(tmp_path, capsys):
    from sim.cli import main

    _fake_fit(tmp_path / "fitted", "per_attempt", {"phone.redial.probability": [0.8]})
    out = tmp_path / "opt"
    rc = main(["optimise", str(FITTED), "--target", "answer_rate_per_caller>=0.99", "--quick", "--max-steps", "1",
               "--set", "horizon.start=2020-10-01", "--set", "horizon.end=2020-10-07", "--readings",
               "per_caller,per_attempt", "--fitted", str(tmp_path / "fitted"), "--jobs", "1", "--no-report",
               "--no-figures", "--out", str(out)])
    assert rc == 1  # 99% is out of reach in one step: the worst reading's status
    rob = pd.read_csv(out / "robustness.csv")
    assert list(rob["reading"]) == ["per_caller", "per_attempt"]
    for r in ("per_caller", "per_attempt"):
        meta = json.loads((out / r / "meta.json").read_text())
        assert meta["kind"] == "optimise" and rob.set_index("reading").loc[r, "status"] == meta["status"]
    ran = load_scenario(out / "per_attempt" / "scenario_fitted_2020.yaml")
    assert ran.phone.redial.probability == [0.8] and ran.horizon.end == dt.date(2020, 10, 7)
    text = (out / "robustness.txt").read_text()
    assert "per_attempt: base = its fitted scenario" in text and "chosen staffing:" in text
    assert "chosen staffing:" in capsys.readouterr().out
    assert not list(tmp_path.glob(".opt.readings-*")), "the staging folder is left behind"


def test_an_option_that_switches_on_an_optional_section_is_rebased_on_a_fitted_reading():
    """faster_callbacks sets callbacks.dedicated (None by default): its own settings, as
    dotted paths, must still load on a reading's fit (they failed with 'no such setting')."""
    from sim.config.reading import load_reading
    from sim.experiments.readings import reading_scenario

    root = Path(__file__).resolve().parents[1]
    reading = load_reading(root / "scenarios" / "readings" / "per_caller.yaml")
    scn, kind = reading_scenario(reading, root / "scenarios" / "subsidy" / "faster_callbacks.yaml",
                                 None, root / "scenarios" / "fitted")
    assert kind == "fitted", f"faster_callbacks under per_caller used {kind}, expected its fit"
    cb = scn.phone.answering_machine.callbacks
    assert cb.dedicated is not None and cb.dedicated.lines == 1, \
        f"dedicated callback lines after re-basing: {cb.dedicated}, expected the option's 1 line"
    assert scn.phone.availability.enabled is False, \
        "per_caller's fit has counsellors always at the line; the re-based option must too"
