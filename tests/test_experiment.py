"""Replications: precision mode, Student-t summaries, paired comparisons."""

import numpy as np
import pandas as pd
from scipy import stats

from sim.experiments.compare import cost_effectiveness, paired
from sim.experiments.replications import run, run_to_precision, summarise


def test_precision_mode_reaches_the_target_and_equals_a_plain_run(small):
    res, h = run_to_precision(small, seed=2, kpi="answer_rate_caller", half_width=0.012, min_reps=3,
                              progress=False)
    n = len(res.replications)
    assert h <= 0.012 and n > 3, f"half-width {h:.4f} after {n} replications"
    pd.testing.assert_frame_equal(res.kpis(), run(small, n, seed=2, progress=False).kpis())


def test_summary_is_a_student_t_interval():
    per_rep = pd.DataFrame({"replication": range(5), "by": "all", "key": "all", "kpi": "x",
                            "value": [1.0, 2.0, 3.0, 4.0, 10.0]})
    s = summarise(per_rep).iloc[0]
    v = per_rep["value"].to_numpy()
    half = stats.t.ppf(0.975, 4) * v.std(ddof=1) / np.sqrt(5)
    assert np.isclose(s["mean"], 4.0) and np.isclose(s["half_width"], half)


def test_paired_difference_is_narrower_than_independent_intervals(small):
    from sim.config import load_scenario

    two = load_scenario(None, {**small.model_dump(by_alias=True), "name": "two", "phone.staffing.lines": 2})
    a, b = run(small, 6, seed=4, progress=False), run(two, 6, seed=4, progress=False)
    t = paired([a, b]).set_index(["scenario", "by", "key", "kpi"])
    row = t.loc[("two", "all", "all", "answer_rate_caller")]
    paired_width = row["diff_high"] - row["diff_low"]
    independent = ((row["ci_high"] - row["ci_low"]) + (t.loc[("small", "all", "all", "answer_rate_caller"), "ci_high"]
                   - t.loc[("small", "all", "all", "answer_rate_caller"), "ci_low"]))
    assert paired_width < independent, "common random numbers make the paired interval narrower"
    ce = cost_effectiveness([a, b]).iloc[0]
    assert ce["extra_cost"] == ce["extra_hours"] * 50.0, "cost = extra staffed hours x EUR 50 (default)"
    assert ce["cost_per_extra_caller_low"] < ce["cost_per_extra_caller"] < ce["cost_per_extra_caller_high"]


def _per_rep(kpi, values):
    return pd.DataFrame({"replication": range(len(values)), "by": "all", "key": "all",
                         "kpi": kpi, "value": values})


def test_proportion_interval_stays_inside_0_1_with_two_replications():
    # Two replications near the top: the t-interval (t quantile 12.7) runs past 100%.
    values = [0.97, 0.995]
    t_high = np.mean(values) + stats.t.ppf(0.975, 1) * np.std(values, ddof=1) / np.sqrt(2)
    assert t_high > 1, f"the example must break the plain t-interval (high {t_high})"
    s = summarise(_per_rep("answer_rate_caller", values)).iloc[0]
    assert 0 < s["ci_low"] < s["mean"] < s["ci_high"] < 1, \
        f"logit interval [{s['ci_low']}, {s['ci_high']}] around mean {s['mean']} inside (0, 1)"
    # The same values under a KPI not declared a proportion keep the t-interval.
    u = summarise(_per_rep("mean_attempts", values)).iloc[0]
    assert np.isclose(u["ci_high"], t_high), (u["ci_high"], t_high)
    assert np.isclose(s["half_width"], u["half_width"]), "half_width stays the t half-width"


def test_proportion_interval_is_the_delta_method_logit_interval():
    values = np.array([0.30, 0.34, 0.41, 0.37])
    s = summarise(_per_rep("chat_answer_rate", values)).iloc[0]
    m, se = values.mean(), values.std(ddof=1) / 2
    half = stats.t.ppf(0.975, 3) * se / (m * (1 - m))
    logit = np.log(m / (1 - m))
    expected = 1 / (1 + np.exp(-(logit - half))), 1 / (1 + np.exp(-(logit + half)))
    assert np.allclose([s["ci_low"], s["ci_high"]], expected), (s, expected)
    # Far from the bounds it is close to the t-interval (within 10% of its half-width).
    t_half = stats.t.ppf(0.975, 3) * se
    assert abs(s["ci_low"] - (m - t_half)) < 0.1 * t_half and abs(s["ci_high"] - (m + t_half)) < 0.1 * t_half


def test_proportion_at_a_bound_and_families():
    s = summarise(pd.concat([_per_rep("email_within_3wd", [1.0, 1.0, 1.0]),
                             _per_rep("share_waited", [0.0, 0.0, 0.0])])).set_index("kpi")
    assert s.loc["email_within_3wd", ["ci_low", "ci_high"]].tolist() == [1.0, 1.0]
    assert s.loc["share_waited", ["ci_low", "ci_high"]].tolist() == [0.0, 0.0]
    from sim.results.proportions import is_proportion
    assert is_proportion("email_within_12wd") and not is_proportion("email_within_wd")
    assert not is_proportion("utilisation") and not is_proportion("callers_answered")


def test_paired_differences_of_proportions_keep_t_intervals(small):
    from sim.experiments.replications import Replication, RunResult, t_interval

    def result(name, values):
        reps = [Replication(r, pd.DataFrame([("all", "all", "answer_rate_caller", v)],
                                             columns=["by", "key", "kpi", "value"]))
                for r, v in enumerate(values)]
        return RunResult(small.model_copy(update={"name": name}), 1, reps)

    base, option = [0.20, 0.30, 0.25], [0.26, 0.31, 0.27]
    t = paired([result("base", base), result("option", option)])
    row = t.set_index("scenario").loc["option"]
    m, lo, hi = t_interval(np.subtract(option, base))
    assert lo < 0, "the example's difference interval crosses zero"
    assert np.isclose(row["diff_low"], lo) and np.isclose(row["diff_high"], hi), \
        f"paired difference [{row['diff_low']}, {row['diff_high']}] vs t-interval [{lo}, {hi}]"
    m, lo, hi = t_interval(option, proportion=True)
    assert np.isclose(row["ci_low"], lo) and np.isclose(row["ci_high"], hi), (row, lo, hi)
