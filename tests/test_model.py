"""The phone model: exact reproducibility, invariants, routing decisions, behaviour."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from sim.config import PROVINCES, load_scenario
from sim.experiments.replications import run
from sim.model.eventlog import CALLER_ENDS
from sim.model.helpline import Helpline, routing
from sim.model.streams import Streams


def simulate(scn, seed=3, rep=0):
    model = Helpline(scn, Streams(seed, rep))
    log = model.run()
    return model, log.attempts_table(), log.callers_table()


# --- exact --------------------------------------------------------------------------------


def test_same_seed_same_event_log(small):
    _, a1, c1 = simulate(small)
    _, a2, c2 = simulate(small)
    pd.testing.assert_frame_equal(a1, a2)
    pd.testing.assert_frame_equal(c1, c2)
    _, a3, _ = simulate(small, rep=1)
    assert not a1.equals(a3), "another replication must give another log"


def test_parallel_equals_serial(small):
    serial = run(small, 3, seed=5, jobs=1, progress=False).kpis()
    parallel = run(small, 3, seed=5, jobs=2, progress=False).kpis()
    pd.testing.assert_frame_equal(serial, parallel)


def test_streams_are_independent_of_each_other():
    s = Streams(1, 0)
    a = s("talk.phone").random(5)
    assert np.array_equal(a, Streams(1, 0)("talk.phone").random(5))
    assert not np.array_equal(a, s("redial.delay").random(5))
    assert not np.array_equal(a, Streams(1, 1)("talk.phone").random(5))


# --- invariants ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def busy_system(small):
    # Overloaded, with a queue and extra lines on one day: exercises every path.
    scn = load_scenario(None, {
        **{k: v for k, v in small.model_dump(by_alias=True).items() if k != "phone"},
        "phone.queue.capacity": 2,
        "phone.queue.patience_min": {"dist": "exponential", "mean": 3},
        "phone.staffing.extra": [{"dates": ["2020-02-05"], "lines": 1, "hours": "11:00-15:00"}],
        "demand.phone.annual": 30000,
    })
    return (scn, *simulate(scn, seed=11))


@pytest.mark.parametrize("which", ["small", "busy"])
def test_every_caller_ends_in_exactly_one_outcome(which, small, busy_system):
    scn, (model, a, c) = (small, simulate(small)) if which == "small" else (busy_system[0], busy_system[1:])
    assert len(c) == len(model.callers), "one caller row per created caller"
    assert c["caller"].is_unique and set(c["end"].astype(str)) <= set(CALLER_ENDS)
    n = a.groupby("caller")["attempt"].agg(["count", "max"])
    assert (n["count"] == n["max"]).all(), "attempts are numbered 1..n without gaps"
    assert np.array_equal(n.loc[c["caller"], "count"].to_numpy(), c["attempts"].to_numpy())
    answered = a[a["outcome"] == "answered"].groupby("caller").size()
    assert answered.max() == 1, "nobody is answered twice"
    ended_answered = set(c.loc[c["end"] == "answered", "caller"])
    assert ended_answered == set(answered.index), "answered callers end as answered"
    last = a.groupby("caller")["outcome"].last()
    assert (last[list(ended_answered)] == "answered").all(), "answered is the last attempt"


def test_busy_lines_never_exceed_staffed_lines(busy_system):
    scn, model, a, _ = busy_system
    served = a[a["outcome"] == "answered"]
    assert (served["wait_s"] > 0).any(), "the queue was used"
    for g, prov in enumerate(PROVINCES):
        s = served[served["group"] == g]
        begin = (s["at"] + s["wait_s"]).to_numpy()
        end = begin + s["hold_s"].to_numpy()
        for b in begin:
            in_service = np.sum((begin <= b) & (end > b))
            assert in_service <= model.cal.phone_lines[prov](b), (
                f"{prov}: {in_service} calls in service at t={b:.0f} s "
                f"but only {model.cal.phone_lines[prov](b)} lines staffed")


def test_nothing_answered_outside_opening_hours(busy_system):
    _, model, a, _ = busy_system
    served = a[a["outcome"] == "answered"]
    begin = served["at"] + served["wait_s"]
    assert all(model.cal.phone_open.is_open(t) for t in begin), "a call started while closed"
    closed = a[a["outcome"] == "closed"]
    assert not any(model.cal.phone_open.is_open(t) for t in closed["at"]), "closed message while open"


def test_waits_respect_patience_and_queue(busy_system):
    _, model, a, _ = busy_system
    ab = a[a["outcome"] == "abandoned"]
    assert len(ab) > 0
    assert np.allclose(ab["wait_s"].to_numpy(), model.callers.patience_s[ab["caller"].to_numpy()]), (
        "an abandoning caller waits exactly their patience")


# --- pure decisions -----------------------------------------------------------------------


def test_redial_decision():
    probs = [0.9, 0.5]
    assert routing.tries_again(0.89, 1, probs, 5) and not routing.tries_again(0.9, 1, probs, 5)
    assert routing.tries_again(0.49, 4, probs, 5), "the last probability repeats"
    assert not routing.tries_again(0.0, 5, probs, 5), "no attempt beyond the maximum"


# --- behaviour ----------------------------------------------------------------------------


def test_redials_off_means_one_attempt(small):
    scn = load_scenario(None, {**small.model_dump(by_alias=True), "phone.redial.probability": [0.0],
                               "phone.closed.retry_probability": 0.0})
    _, a, c = simulate(scn)
    assert (c["attempts"] == 1).all() and len(a) == len(c)


def test_more_lines_do_not_lower_the_answer_rate(small):
    """Paired (common random numbers) difference over replications, one-sided t-test."""
    two = load_scenario(None, {**small.model_dump(by_alias=True), "phone.staffing.lines": 2})
    def rate(scn):
        k = run(scn, 6, seed=21, progress=False).kpis()
        k = k[(k["by"] == "all") & (k["kpi"] == "answer_rate_caller")]
        return k.sort_values("replication")["value"].to_numpy()
    diff = rate(two) - rate(small)
    t = diff.mean() / (diff.std(ddof=1) / np.sqrt(len(diff)))
    assert t > stats.t.ppf(0.95, len(diff) - 1), (
        f"two lines per province should answer more callers than one: mean paired difference "
        f"{diff.mean():.3f} (t = {t:.1f})")


# --- channels left out (issue 16) --------------------------------------------------------


def test_leaving_chat_and_email_out_keeps_every_phone_record_and_the_costs(small):
    """``channels=("phone",)``: the phone's event log is the full model's, record for
    record, and so are the phone KPIs and the costs (staffed hours need no simulation)."""
    from sim.experiments.replications import run_replication

    full_model, phone_model = Helpline(small, Streams(4, 1)), Helpline(small, Streams(4, 1),
                                                                        channels=("phone",))
    full, phone = full_model.run(), phone_model.run()
    assert phone_model.channels == {"phone"} and len(full.chats.records) > 0
    assert len(phone.chats.records) == 0 and len(phone.emails.received) == 0, "chat/e-mail simulated"
    for what in ("attempts", "callers", "messages", "callbacks"):
        assert getattr(full, what) == getattr(phone, what), f"phone {what} differ"
    k_full = run_replication(small, 4, 1).kpis.set_index(["by", "key", "kpi"])["value"]
    k_phone = run_replication(small, 4, 1, channels=["phone"]).kpis.set_index(
        ["by", "key", "kpi"])["value"]
    assert set(k_phone.index) < set(k_full.index), "a KPI the full run does not have"
    pd.testing.assert_series_equal(k_phone, k_full.loc[k_phone.index], check_exact=True)
    kept = set(k_phone.index.get_level_values("kpi"))
    assert {"cost_total", "chat_staffed_hours", "email_staff_staffed_hours"} <= kept
    assert not kept & {"chat_answered", "email_answered"}, "KPIs of a channel not simulated"


def test_blended_email_is_simulated_even_when_left_out(small):
    scn = load_scenario(None, {**small.model_dump(by_alias=True), "email.blending": True})
    model = Helpline(scn, Streams(2, 0), channels=("phone",))
    assert model.channels == {"phone", "email"}, "blended e-mail takes phone lines"
    with pytest.raises(ValueError, match="unknown channel"):
        Helpline(small, Streams(2, 0), channels=("phone", "fax"))
