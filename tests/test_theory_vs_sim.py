"""Statistical tier: the simulator against exact queueing results (sim/theory.py).

Each system is set up so that theory applies exactly: open 24/7, no holidays, flat
demand, exponential holding times. Each replication gives one estimate; the tolerance
is the Student-t confidence interval of the mean over replications, at a level
Bonferroni-corrected for the number of comparisons in the test. The initial transient
(the system starts empty) is short against the 120-day horizon.
"""

import numpy as np
import pytest
from scipy import stats

from sim import theory
from sim.config import PROVINCES, load_scenario
from sim.experiment import run

ALWAYS_OPEN = {d: ["00:00-24:00"] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
DAYS = 120


def stationary(lines, annual, hold_min, **more):
    """A 24/7 scenario with Poisson arrivals and exponential holding times."""
    return load_scenario(None, {
        "name": "stationary",
        "horizon": {"start": "2021-01-04", "end": f"2021-{1 + (DAYS + 3) // 31:02d}-01"},
        "calendar.holidays": "none",
        "phone.opening_hours": ALWAYS_OPEN,
        "phone.staffing.lines": lines,
        "phone.talk_min": {"dist": "exponential", "mean": hold_min},
        "phone.wrap_up_min": {"dist": "fixed", "value": 0},
        "phone.option0.probability": 0.0,
        "phone.redial.probability": [0.0],
        "phone.closed.retry_probability": 0.0,
        "phone.answering_machine.enabled": False,
        "demand.phone.annual": annual,
        "demand.phone.weekday_factors": [1] * 7,
        "demand.phone.hour_profile": [1] * 24,
        **more,
    })


def per_rep(result, by, key, kpi):
    k = result.kpis()
    k = k[(k["by"] == by) & (k["key"] == key) & (k["kpi"] == kpi)].sort_values("replication")
    return k["value"].to_numpy()


def assert_in_ci(values, expected, what, n_comparisons):
    level = 1 - 0.01 / n_comparisons
    n = len(values)
    half = stats.t.ppf(0.5 + level / 2, n - 1) * values.std(ddof=1) / np.sqrt(n)
    assert abs(values.mean() - expected) <= half, (
        f"{what}: simulated mean {values.mean():.4f} +/- {half:.4f} ({level:.4f} CI over {n} reps) "
        f"vs theory {expected:.4f}")


def province_rates(scn):
    """Arrival rate per province (per second) of a flat-demand scenario."""
    shares = np.array([scn.phone.province_shares[p] for p in PROVINCES])
    return scn.demand.phone.annual / (365 * 86400) * shares / shares.sum()


@pytest.mark.slow
def test_blocking_per_province_is_erlang_b():
    lines = {"Antwerpen": 1, "Limburg": 1, "Oost-Vlaanderen": 2, "Vlaams-Brabant": 3, "West-Vlaanderen": 2}
    scn = stationary(lines, annual=60_000, hold_min=20)  # lognormal would do too: B is insensitive
    res = run(scn, 12, seed=101, jobs=2, progress=False)
    lam = province_rates(scn)
    for p, rate in zip(PROVINCES, lam, strict=True):
        b = theory.erlang_b(lines[p], rate * 20 * 60)
        blocked = 1 - per_rep(res, "province", p, "answer_rate_attempt")
        assert_in_ci(blocked, b, f"blocking {p} ({lines[p]} lines)", len(PROVINCES))


@pytest.mark.slow
def test_queue_with_exponential_patience_is_erlang_a():
    scn = stationary(2, annual=60_000, hold_min=20, **{
        "phone.queue.capacity": 40,
        "phone.queue.patience_min": {"dist": "exponential", "mean": 10},
    })
    res = run(scn, 12, seed=202, jobs=2, progress=False)
    lam = province_rates(scn)
    mu, theta = 1 / (20 * 60), 1 / (10 * 60)
    for p, rate in zip(PROVINCES, lam, strict=True):
        th = theory.erlang_a(2, rate, mu, theta, queue_capacity=40)
        n_attempts = per_rep(res, "province", p, "attempts")
        assert_in_ci(per_rep(res, "province", p, "abandoned") / n_attempts, th.p_abandon,
                     f"P(abandon) {p}", 3 * len(PROVINCES))
        assert_in_ci(per_rep(res, "province", p, "share_waited"), th.p_wait,
                     f"P(wait) {p}", 3 * len(PROVINCES))
        assert_in_ci(per_rep(res, "province", p, "mean_wait_s"), th.mean_wait,
                     f"mean wait (s) {p}", 3 * len(PROVINCES))


@pytest.mark.slow
def test_infinite_patience_is_erlang_c():
    scn = stationary(2, annual=40_000, hold_min=20, **{
        "phone.queue.capacity": 10_000,
        "phone.queue.patience_min": {"dist": "fixed", "value": 10**9},
    })
    res = run(scn, 12, seed=303, jobs=2, progress=False)
    lam = province_rates(scn)
    mu = 1 / (20 * 60)
    for p, rate in zip(PROVINCES, lam, strict=True):
        a = rate / mu
        assert_in_ci(per_rep(res, "province", p, "share_waited"), theory.erlang_c(2, a),
                     f"Erlang C P(wait) {p}", 2 * len(PROVINCES))
        assert_in_ci(per_rep(res, "province", p, "mean_wait_s"), theory.erlang_c_mean_wait(2, rate, mu),
                     f"Erlang C mean wait (s) {p}", 2 * len(PROVINCES))


@pytest.mark.slow
def test_redials_match_the_retrial_loss_system():
    """Non-persistent callers with geometric redials and exponential redial delays."""
    scn = stationary(1, annual=40_000, hold_min=20, **{
        "phone.redial.probability": [0.6],
        "phone.redial.max_attempts": 60,
        "phone.redial.delay_min": {"dist": "exponential", "mean": 15},
    })
    res = run(scn, 12, seed=404, jobs=2, progress=False)
    lam = province_rates(scn)
    for p, rate in zip(PROVINCES, lam, strict=True):
        th = theory.retrial_loss(1, rate, 1 / 1200, 0.6, 1 / 900)
        assert_in_ci(1 - per_rep(res, "province", p, "answer_rate_caller"), th.p_lost_caller,
                     f"P(caller lost) {p}", 3 * len(PROVINCES))
        assert_in_ci(per_rep(res, "province", p, "mean_attempts"), th.mean_attempts_per_caller,
                     f"attempts per caller {p}", 3 * len(PROVINCES))
        assert_in_ci(1 - per_rep(res, "province", p, "answer_rate_attempt"), th.p_block_attempt,
                     f"P(busy) per attempt {p}", 3 * len(PROVINCES))
