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
