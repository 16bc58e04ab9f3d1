"""Sensitivity: parameter changes (every distribution kind), hour profiles, rankings,
Kendall tau, the tornado table, and one end-to-end ``--quick`` run."""

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from sim.cli import main
from sim.cli.sensitivity import default_options
from sim.config import load_scenario
from sim.config.distributions import Empirical, Exponential, Fixed, Gamma, LogNormal, sampler
from sim.planning.sensitivity import (
    PARAMETER_NAMES,
    apply_setting,
    kendall_tau,
    open_hours_mask,
    option_gains,
    profile_alternative,
    rank_options,
    ranking_table,
    scale_distribution,
    settings,
    shift_probabilities,
    tornado_table,
)
from tests.conftest import SCENARIOS, TEST_SCENARIOS

SMALL = TEST_SCENARIOS / "small.yaml"

DISTS = [
    Exponential(dist="exponential", mean=12.0),
    LogNormal(dist="lognormal", mean=40.0, sd=30.0),
    Gamma(dist="gamma", mean=20.0, sd=10.0),
    Fixed(dist="fixed", value=7.5),
    Empirical(dist="empirical", values=[5.0, 20.0, 60.0]),
    Empirical(dist="empirical", values=[5.0, 20.0, 60.0], weights=[1.0, 2.0, 7.0]),
]


@pytest.mark.parametrize("dist", DISTS,
                         ids=lambda d: d.dist + ("_w" if getattr(d, "weights", None) else ""))
@pytest.mark.parametrize("factor", [0.5, 0.8, 1.2, 2.0])
def test_scaling_scales_the_mean_and_every_draw(dist, factor):
    scaled = scale_distribution(dist, factor)
    assert type(scaled) is type(dist)
    assert scaled.mean_min == pytest.approx(dist.mean_min * factor), \
        f"scaled mean {scaled.mean_min} vs {factor} x {dist.mean_min}"
    if hasattr(dist, "sd"):
        assert scaled.sd == pytest.approx(dist.sd * factor), "sd scaled with the mean (same CV)"
    if isinstance(dist, Empirical):
        assert scaled.weights == dist.weights, "empirical weights kept"
    # Common random numbers: the same stream gives exactly factor x the original draws.
    a = sampler(dist)(np.random.default_rng(7), 500)
    b = sampler(scaled)(np.random.default_rng(7), 500)
    np.testing.assert_allclose(b, factor * a, rtol=1e-9, err_msg="scaled draws vs factor x draws")


def test_scaling_rejects_a_non_positive_factor():
    with pytest.raises(ValueError, match="> 0"):
        scale_distribution(DISTS[0], 0.0)


def test_probability_shift_is_clipped():
    assert shift_probabilities([0.95, 0.5, 0.05], 0.1) == pytest.approx([1.0, 0.6, 0.15])
    assert shift_probabilities([0.95, 0.5, 0.05], -0.1) == pytest.approx([0.85, 0.4, 0.0])


def test_hour_profile_alternatives_keep_the_open_hours_weight(small):
    hours = small.phone.opening_hours
    p = np.asarray(small.demand.phone.hour_profile)
    mask = open_hours_mask(hours)
    assert mask.sum() == 9 and mask[9] and mask[17] and not mask[18], "Mon-Fri 9-18: hours 9..17"
    assert profile_alternative(list(p), hours, "default") == pytest.approx(list(p))
    for kind in ("flat", "morning_heavy"):
        alt = np.asarray(profile_alternative(list(p), hours, kind))
        assert alt[mask].sum() == pytest.approx(p[mask].sum()), f"{kind}: weight in open hours kept"
        np.testing.assert_allclose(alt[~mask], p[~mask], err_msg=f"{kind}: closed hours unchanged")
    flat = np.asarray(profile_alternative(list(p), hours, "flat"))
    assert np.ptp(flat[mask]) == pytest.approx(0.0), "flat: equal weight in every open hour"
    morning = np.asarray(profile_alternative(list(p), hours, "morning_heavy"))
    assert morning[9] == pytest.approx(2 * morning[13]) and morning[12] == pytest.approx(morning[9])
    assert morning[13] == pytest.approx(morning[17])
    with pytest.raises(ValueError, match="unknown hour profile"):
        profile_alternative(list(p), hours, "evening")


def test_settings_are_applied_on_top_of_each_scenarios_own_values():
    base = load_scenario(SCENARIOS / "baseline_2020.yaml")
    by = {(s.parameter, s.level): s for s in settings()}
    assert len(by) == 1 + 2 * len(PARAMETER_NAMES)
    assert apply_setting(base, by[("base", "base")]) == base
    s = apply_setting(base, by[("handling_time", "high")])
    assert (s.phone.talk_min.mean, s.phone.talk_min.sd) == pytest.approx((48.0, 36.0))
    assert (s.phone.wrap_up_min.mean, s.phone.wrap_up_min.sd) == pytest.approx((24.0, 12.0))
    s = apply_setting(base, by[("redial_probability", "low")])
    assert s.phone.redial.probability == pytest.approx([0.8, 0.77, 0.74, 0.7, 0.65])
    s = apply_setting(base, by[("redial_delay", "high")])
    assert s.phone.redial.delay_min.mean == pytest.approx(10.0)
    s = apply_setting(base, by[("option0_share", "high")])
    assert s.phone.option0.probability == pytest.approx(0.2)
    s = apply_setting(base, by[("message_share", "low")])
    assert s.phone.answering_machine.message_probability == pytest.approx(0.1)
    s = apply_setting(base, by[("hour_profile", "high")])
    assert s.demand.phone.hour_profile != base.demand.phone.hour_profile
    # An option with its own values gets the same change on top of them.
    own = load_scenario(SCENARIOS / "baseline_2020.yaml",
                        {"phone.option0.probability": 0.3,
                         "phone.talk_min": {"dist": "fixed", "value": 30}})
    high0 = apply_setting(own, by[("option0_share", "high")]).phone.option0.probability
    low0 = apply_setting(own, by[("option0_share", "low")]).phone.option0.probability
    assert (low0, high0) == pytest.approx((0.15, 0.6)), "x0.5 and x2 of the option's own 0.3"
    talk = apply_setting(own, by[("handling_time", "low")]).phone.talk_min
    assert talk.value == pytest.approx(24.0), "x0.8 of the option's fixed 30 min"
    # Changes never leak into the scenario they were applied to (frozen, copied).
    assert base.phone.talk_min.mean == 40.0


def test_unknown_parameter_is_refused():
    with pytest.raises(ValueError, match="unknown parameter"):
        settings(["talk_time"])


# ------------------------------------------------------------------------------- rankings


def test_kendall_tau_against_scipy():
    ref = ["a", "b", "c", "d"]
    assert kendall_tau(ref, ref) == pytest.approx(1.0)
    assert kendall_tau(ref, ref[::-1]) == pytest.approx(-1.0)
    one_swap = ["b", "a", "c", "d"]
    assert kendall_tau(ref, one_swap) == pytest.approx(1 - 2 * 1 / 6), "one discordant pair of six"
    other = ["c", "a", "d", "b"]
    expected = stats.kendalltau([0, 1, 2, 3], [other.index(x) for x in ref]).statistic
    assert kendall_tau(ref, other) == pytest.approx(expected)
    with pytest.raises(ValueError, match="different options"):
        kendall_tau(ref, ["a", "b", "c", "e"])


def _gains(rows):
    return pd.DataFrame(rows, columns=["parameter", "level", "setting", "option", "gain",
                                       "cost_per_extra_caller"])


def test_rank_by_gain_and_by_cost():
    g = _gains([("base", "base", "base", "free_small", 0.01, 0.0),
                ("base", "base", "base", "free_big", 0.03, 0.0),
                ("base", "base", "base", "paid", 0.10, 300.0),
                ("base", "base", "base", "useless", -0.001, np.nan),
                ("base", "base", "base", "cheap", 0.02, 100.0)])
    assert rank_options(g, "gain") == ["paid", "free_big", "cheap", "free_small", "useless"]
    assert rank_options(g, "cost") == ["free_big", "free_small", "cheap", "paid", "useless"], \
        "zero cost first (ties by gain), then EUR per caller, no extra callers last"


def test_ranking_table_compares_with_the_base_ranking():
    rows = []
    for param, level, label, gains in [("base", "base", "base", [0.3, 0.2, 0.1]),
                                       ("x", "low", "lo", [0.3, 0.1, 0.2]),
                                       ("x", "high", "hi", [0.1, 0.2, 0.3])]:
        rows += [(param, level, label, o, v, 100.0) for o, v in zip("ABC", gains, strict=True)]
    t = ranking_table(_gains(rows))
    gain = t[t["criterion"] == "gain"].set_index("setting")
    assert gain.loc["base", "ranking"] == "A > B > C" and gain.loc["base", "kendall_tau"] == 1.0
    assert gain.loc["lo", "kendall_tau"] == pytest.approx(1 / 3) and gain.loc["lo", "top_same"]
    assert gain.loc["hi", "kendall_tau"] == pytest.approx(-1.0) and not gain.loc["hi", "top_same"]


def test_option_gains_are_paired_per_replication():
    rows = []
    for rep, (b, o) in enumerate([(0.50, 0.56), (0.40, 0.47), (0.60, 0.65)]):
        rows.append(("base", "base", "base", "S", rep, b, 1000 * b, 100.0))
        rows.append(("base", "base", "base", "O", rep, o, 1000 * o, 150.0))
    per_rep = pd.DataFrame(rows, columns=["parameter", "level", "setting", "scenario",
                                          "replication", "answer_rate_caller",
                                          "callers_answered", "cost_total"])
    g = option_gains(per_rep, "S").iloc[0]
    d = np.array([0.06, 0.07, 0.05])
    assert g["gain"] == pytest.approx(d.mean())
    half = stats.t.ppf(0.975, 2) * d.std(ddof=1) / np.sqrt(3)
    assert g["gain_high"] - g["gain"] == pytest.approx(half), "paired t interval of the differences"
    assert g["extra_cost"] == pytest.approx(50.0)
    assert g["cost_per_extra_caller"] == pytest.approx(50.0 / 60.0)


def test_tornado_sorted_by_swing_including_the_base():
    v = pd.DataFrame([("base", "base", "base", 0.50, np.nan, np.nan),
                      ("a", "low", "x0.8", 0.52, 0.51, 0.53),
                      ("a", "high", "x1.2", 0.47, 0.46, 0.48),
                      ("b", "low", "flat", 0.545, 0.54, 0.55),
                      ("b", "high", "morning", 0.53, 0.52, 0.54),
                      ("c", "low", "-0.1", 0.495, 0.49, 0.50),
                      ("c", "high", "+0.1", 0.51, 0.50, 0.52)],
                     columns=["parameter", "level", "setting", "mean", "ci_low", "ci_high"])
    t = tornado_table(v)
    assert list(t["parameter"]) == ["a", "b", "c"], "swings 0.05, 0.045 (b: base to 0.545), 0.015"
    assert t.set_index("parameter").loc["b", "width"] == pytest.approx(0.045), \
        "both settings on one side: the swing runs from the base to the far end"
    assert t["base"].eq(0.50).all()


def test_default_options_need_the_scenarios_horizon(small):
    kept, skipped = default_options(small, {})
    assert kept == [] and len(skipped) == 6, "the subsidy files cover 2020, small two weeks"
    base = load_scenario(SCENARIOS / "baseline_2020.yaml")
    kept, skipped = default_options(base, {})
    assert [o.name for o in kept] == ["extra_line_peak_days", "option0_overflow",
                                      "faster_callbacks", "interprovince_overflow",
                                      "chat_three_lines", "all_measures"]


# --------------------------------------------------------------------------- end to end


def test_sensitivity_quick_end_to_end(tmp_path, capsys):
    week = tmp_path / "week.yaml"
    week.write_text(f"base: {SMALL}\nname: week\nhorizon: {{start: 2020-02-10, end: 2020-02-16}}\n")
    opts = []
    for name, body in [("monday_line", "phone: {staffing: {extra: [{from: 2020-02-10, "
                                        "to: 2020-02-16, weekdays: [mon], lines: 1}]}}"),
                       ("overflow", "phone: {overflow: {policy: any_free}}")]:
        f = tmp_path / f"{name}.yaml"
        f.write_text(f"base: {week}\nname: {name}\n{body}\n")
        opts.append(str(f))
    out = tmp_path / "sens"
    # Two parameters keep it fast; every parameter's change is tested above without simulating.
    assert main(["sensitivity", str(week), "--options", *opts, "--params", "handling_time",
                 "message_share", "--quick", "--jobs", "1", "--out", str(out), "--quiet",
                 "--no-report"]) == 0  # the report: test_report
    for name in ["summary.txt", "meta.json", "settings.csv", "per_rep.csv", "values.csv",
                 "tornado.csv", "gains.csv", "ranking.csv", "figures/tornado.png",
                 "figures/tornado.svg", "figures/ranking.png", "figures/ranking.svg"]:
        assert (out / name).exists(), f"{name} missing from the results folder"
    per_rep = pd.read_csv(out / "per_rep.csv")
    assert len(per_rep) == 5 * 3 * 2, f"5 settings x 3 scenarios x 2 reps, got {len(per_rep)}"
    tornado = pd.read_csv(out / "tornado.csv")
    assert list(tornado["parameter"]) in (["handling_time", "message_share"],
                                          ["message_share", "handling_time"])
    assert tornado["width"].is_monotonic_decreasing, "widest swing first"
    t = tornado.set_index("parameter")
    assert t.loc["handling_time", "low"] > t.loc["handling_time", "high"], \
        "shorter calls (x0.8) answer more callers than longer (x1.2) on the same random numbers"
    ranking = pd.read_csv(out / "ranking.csv")
    assert len(ranking) == 2 * 5 and set(ranking["criterion"]) == {"gain", "cost"}
    base = ranking[ranking["level"] == "base"]
    assert (base["kendall_tau"] == 1.0).all() and base["top_same"].all()
    meta = json.loads((out / "meta.json").read_text())
    assert meta["options"] == ["monday_line", "overflow"] and meta["replications"] == 2
    assert "widest swing" in capsys.readouterr().out
