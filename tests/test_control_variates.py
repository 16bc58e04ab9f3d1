"""Control variates (issue 16): the exact expected number of new contacts, the counts
the simulation draws, and the controlled estimator (sim.results.control_variates)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from sim.config import load_scenario
from sim.model.arrival_counts import (
    drawn_controls,
    drawn_new_contacts,
    expected_controls,
    expected_new_contacts,
)
from sim.model.streams import Streams
from sim.results.control_variates import controlled_mean, controlled_summary

# Feb-Apr 2020 of the fitted scenario: the February campaign and the first lockdown
# (events), daily busyness and an out-of-hours share: every part of the rate that the
# expectation must carry.
EVERYTHING = {"horizon.start": "2020-02-01", "horizon.end": "2020-04-30",
              "demand.phone.busyness_cv": 0.25, "demand.chat.busyness_cv": 0.2,
              "demand.phone.out_of_hours_share": 0.1}


@pytest.fixture(scope="module")
def everything():
    return load_scenario("scenarios/fitted_2020.yaml", EVERYTHING)


def _model_draws(scn, seed, r):
    """New contacts per channel and their offered work (hours) as the model itself draws
    them (its own functions)."""
    from sim.model.callers import draw_phone_callers
    from sim.model.chats import draw_chat_visitors
    from sim.model.emails import draw_emails

    s, start, days = Streams(seed, r), scn.horizon.start, scn.horizon.days
    phone = draw_phone_callers(scn, s)
    chat = draw_chat_visitors(scn.demand.chat, scn.chat, start, days, s)
    email = draw_emails(scn.demand.email, scn.email, start, days, s)
    return {"phone": len(phone), "chat": len(chat.arrival_at), "email": len(email.arrival_at),
            "phone_work_h": (phone.talk_s + phone.wrap_s).sum() / 3600,
            "chat_work_h": chat.duration_s.sum() / 3600, "email_work_h": email.handling_s.sum() / 3600}


def test_drawn_controls_are_the_models_own(everything):
    """The redrawn counts and offered work (used as controls) equal what the model's
    own draws produce, replication by replication, with every rate feature on."""
    drawn = drawn_controls(everything, 7, range(3))
    for r in range(3):
        for name, v in _model_draws(everything, 7, r).items():
            assert drawn[name][r] == pytest.approx(v, rel=1e-12), (
                f"replication {r}, {name}: redrawn {drawn[name][r]} vs model {v}")


def test_mean_over_replications_matches_the_exact_expectation(everything):
    """Mean number of new contacts, and of their offered work, that the model draws over
    150 replications (its own draw functions) against the exact expectations: inside
    the 99.9% Student-t interval of the replications. Busyness on: the expectation is
    still the rate integral."""
    exp = expected_controls(everything)
    rows = [_model_draws(everything, 11, r) for r in range(150)]
    for name, e in exp.items():
        x = np.array([row[name] for row in rows], float)
        hw = stats.t.ppf(0.9995, len(x) - 1) * x.std(ddof=1) / np.sqrt(len(x))
        assert abs(x.mean() - e) <= hw, (
            f"{name}: mean drawn {x.mean():.1f} +/- {hw:.1f} (99.9%) vs exact expectation {e:.1f}")


def test_expectation_carries_the_busyness_free_rate_and_events(everything):
    """The expectation does not depend on busyness_cv (gamma factor of mean 1) and does
    on an event's amplitude (here the lockdown doubles: more expected callers)."""
    from sim.config import load_scenario as load

    calm = load("scenarios/fitted_2020.yaml", {**EVERYTHING, "demand.phone.busyness_cv": 0.0})
    assert expected_new_contacts(calm)["phone"] == expected_new_contacts(everything)["phone"]
    plain = load("scenarios/fitted_2020.yaml", {"horizon.start": "2020-02-01", "horizon.end": "2020-04-30"})
    e = expected_new_contacts(plain)
    # Without the out-of-hours share, the expectation is the rate integral itself.
    from sim.model.arrivals import interval_rate

    direct = interval_rate(plain.demand.phone, plain.horizon.start, plain.horizon.days).sum()
    assert e["phone"] == pytest.approx(direct, rel=1e-12), f"{e['phone']} vs {direct}"


def test_kpi_callers_equals_the_drawn_count(small):
    """With repeat contacts and switching off, the ``callers`` KPI of a simulated
    replication is the drawn count of new phone callers (so the control is the KPI's own)."""
    from sim.experiments.replications import run_replication

    rep = run_replication(small, 3, 0)
    k = rep.kpis.set_index(["by", "key", "kpi"])["value"]
    drawn = drawn_new_contacts(small, 3, [0])
    assert k[("all", "all", "callers")] == drawn["phone"][0]
    assert k[("all", "all", "chat_visitors")] == drawn["chat"][0]
    assert k[("all", "all", "email_received")] == drawn["email"][0]


# --- the controlled estimator ----------------------------------------------------------------


def test_controlled_mean_is_the_textbook_formula():
    """One control: Y_cv = mean(Y) - b (mean(C) - mu), b = cov(Y, C) / var(C), and its
    variance s^2 (1/n + d^2 / Sxx) with s^2 the residual variance on n - 2 df."""
    rng = np.random.default_rng(1)
    n, mu = 12, 1000.0
    c = rng.poisson(mu, n).astype(float)
    y = 0.4 * c + rng.normal(0, 5, n)
    r = controlled_mean(y, c, [mu])
    b = np.cov(y, c)[0, 1] / c.var(ddof=1)
    d = c.mean() - mu
    assert r.mean == pytest.approx(y.mean() - b * d, rel=1e-12)
    assert r.beta[0] == pytest.approx(b, rel=1e-10)
    resid = y - y.mean() - b * (c - c.mean())
    s2 = resid @ resid / (n - 2)
    var = s2 * (1 / n + d**2 / ((c - c.mean()) ** 2).sum())
    assert r.half_width == pytest.approx(stats.t.ppf(0.975, n - 2) * np.sqrt(var), rel=1e-10)
    assert r.variance_ratio == pytest.approx(var / (y.var(ddof=1) / n), rel=1e-10)
    assert r.df == n - 2 and r.n == n and r.note == ""
    assert r.plain_mean == pytest.approx(y.mean())


def test_interval_covers_the_true_mean_as_often_as_it_says():
    """Coverage of the 95% interval with an estimated beta, n = 8 and two controls, on
    jointly normal (Y, C), where it is exact (Lavenberg and Welch): the share of 2,000
    experiments whose interval holds the true mean is inside the 99.9% binomial interval
    around 0.95."""
    rng = np.random.default_rng(2)
    trials, n, hits = 2000, 8, 0
    mu = np.array([10.0, -3.0])
    for _ in range(trials):
        c = mu + rng.normal(0, [2.0, 1.0], size=(n, 2))
        y = 5.0 + c @ np.array([1.5, -2.0]) - (mu @ np.array([1.5, -2.0])) + rng.normal(0, 1.0, n)
        r = controlled_mean(y, c, mu)
        hits += r.ci_low <= 5.0 <= r.ci_high
    lo, hi = stats.binomtest(hits, trials, 0.95).proportion_ci(0.999)
    assert lo <= 0.95 <= hi, f"coverage {hits / trials:.4f} (99.9% CI {lo:.4f}-{hi:.4f}) vs 0.95"


def test_too_few_replications_or_a_constant_control_give_no_interval():
    r = controlled_mean([1.0, 2.0, 3.0], [10.0, 11.0, 13.0], [11.0])
    assert np.isnan(r.mean) and np.isnan(r.half_width) and "at least 4" in r.note
    assert r.plain_mean == pytest.approx(2.0), "the plain mean is still given"
    r = controlled_mean([1.0, 2.0, 3.0, 4.0], [10.0] * 4, [11.0])
    assert np.isnan(r.mean) and "does not vary" in r.note
    r = controlled_mean([1.0, 2.0, np.nan, 4.0, 5.0], [1.0, 2.0, 3.0, 5.0, 4.0], [3.0])
    assert r.n == 4 and r.df == 2, "a replication without a value is left out"
    with pytest.raises(ValueError):
        controlled_mean([1.0] * 5, np.ones((5, 2)), [1.0])


def test_controlled_summary_reads_the_tidy_table():
    import pandas as pd

    rng = np.random.default_rng(3)
    c = rng.poisson(500, 6)
    rows = []
    for r, ci in enumerate(c):
        rows += [(r, "all", "all", "callers_answered", 0.4 * ci + rng.normal()),
                 (r, "month", "2020-01", "callers_answered", 1.0)]
    per_rep = pd.DataFrame(rows, columns=["replication", "by", "key", "kpi", "value"])
    controls = pd.DataFrame({"replication": range(6), "phone": c})
    out = controlled_summary(per_rep, controls, {"phone": 500.0},
                             {"callers_answered": ["phone"], "not_there": ["phone"]})
    assert list(out["kpi"]) == ["callers_answered"], "a KPI absent from the table is skipped"
    direct = controlled_mean(per_rep.query("by == 'all'")["value"], c, [500.0])
    assert out["mean"].iloc[0] == direct.mean and out["n"].iloc[0] == 6
    assert out["variance_ratio"].iloc[0] < 0.1, "a strong control reduces the variance"


def test_run_writes_summary_cv_beside_an_unchanged_summary(tmp_path, small):
    """``run`` writes summary_cv.csv: its plain means are summary.csv's means, and its
    controlled means are :func:`controlled_mean` of kpis_per_rep.csv with the counts
    redrawn from the replications' streams (the ``callers`` column itself here)."""
    import pandas as pd

    from sim.cli import main
    from sim.results.control_variates import RUN_KPIS

    out = tmp_path / "run"
    assert main(["run", "tests/scenarios/small.yaml", "--reps", "5", "--seed", "4", "--jobs", "1",
                 "--out", str(out), "--quiet", "--no-figures", "--no-report"]) == 0
    cv = pd.read_csv(out / "summary_cv.csv")
    summary = pd.read_csv(out / "summary.csv", dtype={"key": str}).query("by == 'all'").set_index("kpi")
    per = pd.read_csv(out / "kpis_per_rep.csv", dtype={"key": str}).query("by == 'all'")
    wide = per.pivot_table(index="replication", columns="kpi", values="value")
    assert list(cv["kpi"]) == list(RUN_KPIS), "one row per KPI of RUN_KPIS"
    exp = expected_new_contacts(small)
    for row in cv.itertuples():
        assert row.plain_mean == pytest.approx(summary.loc[row.kpi, "mean"], rel=1e-12), row.kpi
        channel = RUN_KPIS[row.kpi][0]
        control = wide[{"phone": "callers", "chat": "chat_visitors", "email": "email_received"}[channel]]
        r = controlled_mean(wide[row.kpi], control, [exp[channel]])
        assert row.mean == pytest.approx(r.mean, rel=1e-9) and row.n == 5 and row.df == 3, row.kpi
        assert row.ci_low < row.mean < row.ci_high, f"{row.kpi}: the interval holds the mean"
