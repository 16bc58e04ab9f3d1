"""Sensitivity: parameter changes (every distribution kind), hour profiles, rankings,
Kendall tau, the tornado table, and one end-to-end ``--quick`` run."""

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from sim.cli import main
from sim.cli.sensitivity import default_options
from sim.config import Scenario, load_scenario
from sim.config.distributions import Empirical, Exponential, Fixed, Gamma, LogNormal, sampler
from sim.planning.screening import (
    apply_point,
    factor_values,
    keep_factors,
    mixed_profile,
    morris_design,
    morris_table,
    not_separated,
)
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


# ------------------------------------------------------------------- Morris screening


def _dump(scn):
    return scn.model_dump(by_alias=True)


@pytest.mark.parametrize("param", PARAMETER_NAMES)
def test_factor_end_points_are_the_low_and_high_settings(param):
    """x = 0 / 1 of one factor (the others at 0.5, where every factor leaves the scenario
    as it is) gives exactly the scenario of that parameter's low / high setting."""
    base = load_scenario(SCENARIOS / "baseline_2020.yaml")
    by = {(s.parameter, s.level): s for s in settings()}
    i = PARAMETER_NAMES.index(param)
    for level, v in [("low", 0.0), ("high", 1.0)]:
        x = [0.5] * len(PARAMETER_NAMES)
        x[i] = v
        assert _dump(apply_point(base, x)) == _dump(apply_setting(base, by[(param, level)])), \
            f"{param} at x={v} vs its {level} setting: dumped scenarios differ"


def test_mid_point_leaves_the_scenario_unchanged():
    base = load_scenario(SCENARIOS / "baseline_2020.yaml")
    mid = apply_point(base, [0.5] * len(PARAMETER_NAMES))
    assert _dump(mid) == _dump(base), "every factor at 0.5: the scenario's own values"
    assert mid.demand.phone.hour_profile == base.demand.phone.hour_profile


def test_factor_values_between_the_ends():
    v = factor_values([0.25, 0.75, 0.75, 0.25, 0.0, 1.0])
    assert v["handling_time"] == pytest.approx(0.9), "linear 0.8..1.2"
    assert v["redial_probability"] == pytest.approx(0.05), "linear -0.10..+0.10"
    assert v["redial_delay"] == pytest.approx(2 ** 0.5), "log scale 0.5..2: x=0.75 is sqrt 2"
    assert (v["option0_share"], v["message_share"]) == (0.5, 2.0)
    with pytest.raises(ValueError, match="outside"):
        factor_values([0.5, 0.5, 0.5, 0.5, 0.5, 1.5])
    with pytest.raises(ValueError, match="six|6"):
        factor_values([0.5] * 5)


def test_hour_profile_mix_runs_flat_own_morning(small):
    p, hours = list(small.demand.phone.hour_profile), small.phone.opening_hours
    flat = np.asarray(profile_alternative(p, hours, "flat"))
    morning = np.asarray(profile_alternative(p, hours, "morning_heavy"))
    assert mixed_profile(p, hours, 0.0) == list(flat)
    assert mixed_profile(p, hours, 0.5) == p, "mid point: the scenario's own profile, exactly"
    assert mixed_profile(p, hours, 1.0) == list(morning)
    np.testing.assert_allclose(mixed_profile(p, hours, 0.25), 0.5 * flat + 0.5 * np.asarray(p),
                               err_msg="a quarter: half flat, half own")
    np.testing.assert_allclose(mixed_profile(p, hours, 0.75), 0.5 * morning + 0.5 * np.asarray(p),
                               err_msg="three quarters: half own, half morning_heavy")
    mask = open_hours_mask(hours)
    assert np.sum(np.asarray(mixed_profile(p, hours, 0.8))[mask]) == pytest.approx(
        np.sum(np.asarray(p)[mask])), "every mix keeps the open hours' weight"


def test_every_design_point_is_a_valid_scenario_and_the_design_is_seeded():
    base = load_scenario(SCENARIOS / "baseline_2020.yaml")
    design = morris_design(2, seed=5)
    assert design.shape == (2 * (len(PARAMETER_NAMES) + 1), len(PARAMETER_NAMES))
    np.testing.assert_array_equal(design, morris_design(2, seed=5), err_msg="same seed, same design")
    assert set(np.round(design.ravel() * 3, 9)) <= {0.0, 1.0, 2.0, 3.0}, "the 4-level grid"
    for x in design:
        s = apply_point(base, x)
        assert isinstance(s, Scenario) and Scenario.model_validate(_dump(s)) == s
    with pytest.raises(ValueError, match="2 trajectories"):
        morris_design(1, seed=5)


def test_morris_table_finds_the_factors_of_a_known_function():
    """y = 3 x0 - x2 + 0.01 x5 (linear, no interaction): mu* is |coefficient| exactly and
    sigma 0; the two large ones are kept, the small one is separated from them."""
    design = morris_design(6, seed=3)
    y = 3 * design[:, 0] - design[:, 2] + 0.01 * design[:, 5]
    t = morris_table(design, y, seed=3).set_index("parameter")
    expected = dict.fromkeys(PARAMETER_NAMES, 0.0) | {
        "handling_time": 3.0, "redial_delay": 1.0, "message_share": 0.01}
    for p, coef in expected.items():
        assert t.loc[p, "mu_star"] == pytest.approx(coef, abs=1e-9), f"mu* of {p} vs |coef| {coef}"
        assert t.loc[p, "sigma"] == pytest.approx(0.0, abs=1e-9), f"{p}: linear, no spread"
    assert t.loc["redial_delay", "mu"] == pytest.approx(-1.0), "mu keeps the sign"
    kept = keep_factors(t.reset_index(), 2)
    assert kept == ["handling_time", "redial_delay"]
    assert not_separated(t.reset_index(), kept) == []
    assert keep_factors(t.reset_index(), 6) == PARAMETER_NAMES
    with pytest.raises(ValueError, match="at least 1"):
        keep_factors(t.reset_index(), 0)


def test_a_screened_out_factor_whose_interval_reaches_a_kept_one_is_named():
    t = pd.DataFrame({"parameter": ["a", "b", "c"], "mu_star": [0.05, 0.02, 0.015],
                      "mu_star_conf": [0.01, 0.01, 0.004]})
    assert not_separated(t, ["a", "b"]) == [], "0.015 + 0.004 < 0.02"
    assert not_separated(t.assign(mu_star_conf=[0.01, 0.01, 0.006]), ["a", "b"]) == ["c"]


def test_sensitivity_screen_morris_end_to_end(tmp_path, capsys):
    week = tmp_path / "week.yaml"
    week.write_text(f"base: {SMALL}\nname: week\nhorizon: {{start: 2020-02-10, end: 2020-02-16}}\n")
    opt = tmp_path / "overflow.yaml"
    opt.write_text(f"base: {week}\nname: overflow\nphone: {{overflow: {{policy: any_free}}}}\n")
    out = tmp_path / "screen"
    assert main(["sensitivity", str(week), "--options", str(opt), "--screen", "morris", "--quick",
                 "--keep", "2", "--jobs", "1", "--out", str(out), "--quiet", "--no-report"]) == 0
    for name in ["morris.csv", "morris_points.csv", "tornado.csv", "ranking.csv",
                 "figures/morris.png", "figures/morris.svg", "figures/tornado.png"]:
        assert (out / name).exists(), f"{name} missing from the results folder"
    morris = pd.read_csv(out / "morris.csv")
    assert list(morris.columns) == ["parameter", "mu", "mu_star", "sigma", "mu_star_conf", "kept"]
    assert sorted(morris["parameter"]) == sorted(PARAMETER_NAMES) and morris["kept"].sum() == 2
    kept = sorted(morris.loc[morris["kept"], "parameter"])
    top2 = sorted(morris.nlargest(2, "mu_star")["parameter"])
    assert kept == top2, f"kept {kept} vs the two largest mu* {top2}"
    assert len(pd.read_csv(out / "morris_points.csv")) == 2 * 7, "--quick: 2 trajectories x 7"
    tornado = pd.read_csv(out / "tornado.csv")
    assert sorted(tornado["parameter"]) == kept, "the tornado holds the kept parameters only"
    per_rep = pd.read_csv(out / "per_rep.csv")
    assert len(per_rep) == 5 * 2 * 2, f"5 settings x 2 scenarios x 2 reps, got {len(per_rep)}"
    meta = json.loads((out / "meta.json").read_text())
    assert (meta["design"], meta["trajectories"], meta["points"]) == ("morris", 2, 14)
    assert sorted(meta["kept"]) == kept
    summary = (out / "summary.txt").read_text()
    assert "Screening" in summary and "NOT simulated" in summary
    for p in set(PARAMETER_NAMES) - set(kept):
        assert p in summary.split("Screened out:")[1].split("\n")[0], f"{p} named as screened out"
    assert "screening runs" in capsys.readouterr().out
    assert main(["report", str(out)]) == 0
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "Screening (Morris)" in html and "NOT simulated" in html, "the report shows the screening"


@pytest.mark.parametrize("flags, problem", [
    (["--screen", "morris", "--trajectories", "1"], "--trajectories: must be at least 2"),
    (["--screen", "morris", "--keep", "0"], "--keep: must be from 1 to 6"),
    (["--screen", "morris", "--keep", "7"], "--keep: must be from 1 to 6"),
    (["--screen", "morris", "--params", "handling_time"], "--screen: the screening chooses"),
    (["--keep", "2"], "--keep: needs --screen morris"),
    (["--trajectories", "3"], "--trajectories: needs --screen morris"),
    (["--screen", "morris", "--readings", "per_caller,per_attempt"],
     "--screen: does not combine with --readings"),
])
def test_bad_screening_flags_are_one_line_exit_2(tmp_path, capsys, flags, problem):
    rc = main(["sensitivity", str(SMALL), *flags, "--out", str(tmp_path / "x"), "--quiet"])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and len(err.splitlines()) == 1, f"exit {rc}, stderr {err!r}"
    assert problem in err, f"{problem!r} not in {err!r}"
    assert not (tmp_path / "x").exists(), "nothing written for bad flags"
