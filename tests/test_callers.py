"""Callers as they really behave (issue 15): attempt-dependent redials, later retries, no
attempt cap, repeat contacts, out-of-hours demand, switching channel.

Every mechanism is off by default; off, the model takes the path it always took (the
bit-identity of whole runs is checked with the CLI, see README). Stochastic tests fix
their seeds and take their tolerance from the replications' confidence interval.
"""

import numpy as np
from scipy import stats

from sim.config import Scenario, load_scenario
from sim.model.callers import ArrayDraws, LazyDraws, draw_phone_callers, needs_lazy_draws
from sim.model.helpline import Helpline
from sim.model.streams import Streams
from tests.invariants import check_invariants


def scenario(small, **overrides):
    base = {k: v for k, v in small.model_dump(by_alias=True).items()}
    return load_scenario(None, {**base, **overrides})


def simulate(scn, seed=3, rep=0):
    model = Helpline(scn, Streams(seed, rep), channels=("phone",))
    log = model.run()
    return model, log


# --- off by default ---------------------------------------------------------------------


def test_every_new_setting_is_off_by_default():
    scn = Scenario()
    assert not needs_lazy_draws(scn.phone), "the default takes the up-front path"
    cb = scn.phone.callers
    assert not (cb.later.enabled or cb.repeat.enabled or cb.switch.enabled or cb.chat_switch.enabled)
    assert scn.demand.phone.out_of_hours_share is None


def test_array_draws_are_the_up_front_arrays(small):
    c = draw_phone_callers(small, Streams(2, 0))
    d = ArrayDraws(c)
    i = len(c) // 2
    for k in (1, 3, small.phone.redial.max_attempts):
        u, quick, closed, later_u, _ = d.block(i, k)
        assert (u, quick, closed) == (c.redial_u[i, k - 1], c.retry_delay_s[i, k - 1],
                                      c.closed_delay_s[i, k - 1])
        assert later_u == 1.0, "no later retry on the classic path"
        assert d.route_u(i, k) == c.route_u[i, k - 1]


# --- per-caller draws -------------------------------------------------------------------


def _lazy(small, **over):
    scn = scenario(small, **{"phone.redial.max_attempts": None, **over})
    return scn, LazyDraws(scn.phone, Streams(4, 1), lambda i: (i, 0))


def test_lazy_draws_do_not_depend_on_the_order_of_asking(small):
    scn, a = _lazy(small)
    _, b = _lazy(small)
    seq = [a.block(7, k) for k in range(1, 8)]
    assert b.block(7, 7) == seq[-1], "attempt 7 gets the 7th block however it is reached"
    assert b.block(3, 2) != seq[1], "another caller, other draws"
    b.done(7)
    assert b.block(7, 1) == seq[0], "a finished episode's stream can be recreated"


def test_attempt_dependent_delays_follow_their_distribution(small):
    # Delay after attempt 1: fixed 2 min; after attempt 2 and later: exponential mean 30.
    delays = [{"dist": "fixed", "value": 2}, {"dist": "exponential", "mean": 30}]
    _, d = _lazy(small, **{"phone.redial.delay_min": delays})
    first = np.array([d.block(i, 1)[1] for i in range(2000)])
    third = np.array([d.block(i, 3)[1] for i in range(2000)])
    assert np.all(first == 120.0)
    ks = stats.kstest(third / 60.0, stats.expon(scale=30).cdf)
    assert ks.pvalue > 0.001, f"delays after attempt 3 vs exponential(30 min): KS p={ks.pvalue:.2g}"


def test_no_attempt_cap_keeps_no_per_attempt_arrays_and_gives_geometric_attempts(small):
    # No line at all: every open attempt is a busy tone; redial probability 0.9 after
    # every attempt, no cap: attempts per caller are geometric with mean 10 (closed
    # attempts aside: the phone is closed only at night and the weekend, and a caller's
    # retry after the closed message has the same probability here).
    scn = scenario(small, **{"phone.redial.max_attempts": None, "phone.redial.probability": [0.9],
                             "phone.closed.retry_probability": 0.9,
                             "phone.staffing.lines": 0, "phone.answering_machine.enabled": False})
    model, log = simulate(scn)
    assert model.callers.redial_u.shape[1] == 0, "nothing drawn per attempt slot up front"
    c = log.callers_table()
    n = len(c)
    m, se = c["attempts"].mean(), c["attempts"].std(ddof=1) / np.sqrt(n)
    assert abs(m - 10.0) < 3 * se + 0.05, f"mean attempts {m:.2f} +/- {se:.2f} vs geometric mean 10"
    assert c["attempts"].max() > 40, "the cap is gone: some caller tries very often"
    assert (c["end"].astype(str) == "gave_up").all()


def test_later_retry_comes_on_a_later_day_at_opening(small):
    # One line, heavy load; no quick redial, always a later retry, 0 min after opening.
    scn = scenario(small, **{"phone.redial.probability": [0.0],
                             "phone.callers.later.probability": [1.0],
                             "phone.callers.later.delay_min": {"dist": "fixed", "value": 0},
                             "phone.redial.max_attempts": 3,
                             "phone.answering_machine.enabled": False,
                             "demand.phone.annual": 40000})
    model, log = simulate(scn)
    a = log.attempts_table()
    a = a.assign(day=(a["at"] // 86400).astype(int))
    prev = a.groupby("caller")["day"].shift()
    after_fail = a[(a["attempt"] > 1)]
    reason = a.groupby("caller")["outcome"].shift().loc[after_fail.index].astype(str)
    later = after_fail[reason.isin(["busy", "abandoned"])]
    assert len(later) > 50
    assert (later["day"] > prev.loc[later.index]).all(), "a later retry is on a later day"
    starts = set(model.cal.phone_open.starts.tolist())
    assert later["at"].isin(starts).all(), "exactly at an opening (delay 0)"
    check_invariants(model, log)
