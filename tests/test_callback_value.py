"""Issue 14, callbacks: a message's fading value and expiry, dedicated callback time and a
message decision at every busy tone.

Each option switched off must reproduce the results of commit 873bb92 exactly (a KPI
table of that commit is kept in tests/data). The comparisons with exact results use
closed forms or sim.theory.exact, with tolerances from replication confidence intervals.
"""

import math

import numpy as np
import pandas as pd
import pytest

from sim.config import PROVINCES, load_scenario
from sim.experiments.replications import run_replication, t_interval
from sim.model import callbacks as cbk
from sim.model.helpline import Helpline
from sim.model.streams import Streams
from tests.conftest import TEST_SCENARIOS
from tests.invariants import check_invariants

GOLDEN = TEST_SCENARIOS.parent / "data" / "golden_callbacks_873bb92.csv"
ALWAYS_OPEN = {d: ["00:00-24:00"] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}

# The scenario of tests/data/golden_callbacks_873bb92.csv (seed 9, replication 0).
BUSY = {
    "phone.answering_machine.message_probability": 0.6,
    "phone.answering_machine.number_probability": 0.7,
    "phone.answering_machine.callbacks.policy": "target_delay",
    "phone.answering_machine.callbacks.target_delay_min": 60,
    "phone.option0.routing.policy": "least_busy",
    "phone.overflow.policy": "any_free",
    "demand.phone.annual": 20_000,
}


def busy(small, **more):
    return load_scenario(None, {**small.model_dump(by_alias=True), **BUSY, **more})


def golden_table() -> pd.DataFrame:
    return pd.read_csv(GOLDEN, keep_default_na=False, na_values=[""], dtype={"key": str})


def assert_same_kpis(table: pd.DataFrame, golden: pd.DataFrame, what: str) -> None:
    t = table.reset_index(drop=True)
    assert list(t["kpi"]) == list(golden["kpi"]), f"{what}: KPI rows differ from commit 873bb92"
    same = (t["value"].to_numpy() == golden["value"].to_numpy()) | (
        t["value"].isna().to_numpy() & golden["value"].isna().to_numpy())
    bad = t.loc[~same, ["by", "key", "kpi", "value"]].assign(golden=golden.loc[~same, "value"])
    assert same.all(), f"{what}: KPIs differ from commit 873bb92:\n{bad.head(10)}"


# --- options off: results of commit 873bb92 -----------------------------------------------


def test_defaults_reproduce_commit_873bb92_exactly(small):
    table = run_replication(busy(small), 9, 0).kpis
    assert_same_kpis(table, golden_table(), "defaults")


def test_options_that_cannot_act_reproduce_commit_873bb92(small):
    """Fading with an astronomically long half-life and an expiry after the calendar's
    tail change no decision: every KPI of the old model is the same (the new KPIs come
    on top)."""
    scn = busy(small, **{"phone.answering_machine.callbacks.reach_half_life_h": 1e15,
                         "phone.answering_machine.callbacks.expire_after_h": 1e6})
    table = run_replication(scn, 9, 0).kpis
    new = {"messages_expired", "share_messages_expired", "callback_value", "callback_value_per_message"}
    assert set(table["kpi"]) - set(golden_table()["kpi"]) == new
    assert_same_kpis(table[~table["kpi"].isin(new)], golden_table(), "inactive fading and expiry")
    v = table.set_index("kpi")["value"]
    assert v["messages_expired"] == 0


# --- fading and expiry: pure rule and invariants ------------------------------------------


def test_reach_probability_fades_by_half_lives_and_never_exceeds_the_base():
    assert cbk.reach_probability(0.6, 12 * 3600.0, None) == 0.6
    assert cbk.reach_probability(0.6, 0.0, 5.0) == 0.6
    assert cbk.reach_probability(0.6, 10 * 3600.0, 5.0) == pytest.approx(0.15)
    ages = np.linspace(0, 500 * 3600.0, 1001)
    p = np.array([cbk.reach_probability(0.8, a, 3.0) for a in ages])
    assert (p <= 0.8).all() and (np.diff(p) < 0).all(), "reach falls with age, never above the base"


@pytest.fixture(scope="module")
def fading(small):
    scn = busy(small, **{"phone.answering_machine.callbacks.reach_half_life_h": 3.0,
                         "phone.answering_machine.callbacks.expire_after_h": 5.0})
    model = Helpline(scn, Streams(9, 0))
    return scn, model, model.run()


def test_expired_messages_are_never_called_back(fading):
    scn, model, log = fading
    m, cb = log.messages_table(), log.callbacks_table()
    expired = m[m["state"] == cbk.EXPIRED]
    assert len(expired) > 10, "the scenario lets messages expire"
    after = 5.0 * 3600
    tries = cb.merge(m[["message", "left_at"]], on="message")
    assert (tries["at"] - tries["left_at"] < after).all(), "no try starts once a message has expired"
    assert not set(cb.loc[cb["reached"], "message"]) & set(expired["message"])
    # An expired message closes at its expiry, or when a try holding a line then ends.
    age = expired["resolved_at"] - expired["left_at"]
    assert (age >= after - 1e-6).all()
    assert (age <= after + scn.phone.answering_machine.callbacks.failed_min.value * 60 + 1e-6).all()
    check_invariants(model, log)


def test_every_message_ends_in_exactly_one_state_with_expiry(fading):
    _, model, log = fading
    m, c = log.messages_table(), log.callers_table()
    assert len(m) == len(model.desk.messages) and m["message"].is_unique
    assert set(m["state"].astype(str)) <= set(cbk.MESSAGE_STATES) and m["state"].notna().all()
    assert (m["state"] != cbk.PENDING).all(), "the calendar's tail lets every message close"
    by_callback = set(c.loc[c["end"] == "answered_callback", "caller"])
    assert not set(m.loc[m["state"] == cbk.EXPIRED, "caller"]) & by_callback, \
        "the caller of an expired message is not answered by a callback (they may redial)"


# --- fading and expiry against a closed form ----------------------------------------------


def idle_server_scenario(**callbacks):
    """Antwerpen (one line) gets every caller; Limburg's 20 idle lines return the
    messages of the central mailbox at once; no redials: a message is tried at ages
    0, f + s, 2(f + s), ... (f: failed try, s: spacing) until reached or it expires."""
    shares = {p: 0.0 for p in PROVINCES} | {"Antwerpen": 1.0}
    return load_scenario(None, {
        "name": "idle_callback_server",
        "horizon": {"start": "2021-01-04", "end": "2021-02-27"},
        "calendar.holidays": "none",
        "phone.opening_hours": ALWAYS_OPEN,
        "phone.staffing.lines": {"Antwerpen": 1, "Limburg": 20},
        "phone.province_shares": shares,
        "phone.talk_min": {"dist": "exponential", "mean": 20},
        "phone.wrap_up_min": {"dist": "fixed", "value": 0},
        "phone.option0.probability": 0.0,
        "phone.redial.probability": [0.0],
        "phone.closed.retry_probability": 0.0,
        "phone.answering_machine": {
            "message_probability": 1.0, "number_probability": 1.0, "mailbox": "central",
            "redial_after_message": False,
            "callbacks": {"policy": "immediate", "failed_min": {"dist": "fixed", "value": 6},
                          "retry_spacing_min": {"dist": "fixed", "value": 54}, **callbacks}},
        "demand.phone.annual": 15_000,
        "demand.phone.weekday_factors": [1] * 7,
        "demand.phone.hour_profile": [1] * 24,
        "chat.staffing.lines": 0,
        "email.staffing.handlers": 0,
    })


@pytest.mark.parametrize("half_life_h", [None, 2.0])
def test_share_returned_before_expiry_matches_closed_form(half_life_h):
    """P(returned) = 1 - prod_k (1 - p0 0.5^(a_k/h)) over the tries at ages a_k = k hours
    before the expiry (3.5 h: tries at 0, 1, 2 and 3 h); the rest expire."""
    p0, expire_h, reps = 0.6, 3.5, 4
    scn = idle_server_scenario(reach_probability=p0, expire_after_h=expire_h, max_tries=10,
                               reach_half_life_h=half_life_h)
    ages = [k for k in range(10) if k < expire_h]
    p = [cbk.reach_probability(p0, a * 3600.0, half_life_h) for a in ages]
    exact = 1.0 - math.prod(1.0 - x for x in p)
    shares, tries_ok = [], []
    for r in range(reps):
        m = Helpline(scn, Streams(5, r), channels=["phone"]).run().messages_table()
        assert set(m["state"].astype(str)) <= {cbk.CALLBACK, cbk.EXPIRED}
        shares.append(float((m["state"] == cbk.CALLBACK).mean()))
        tries_ok.append(m["tries"].max() <= len(ages))
    assert all(tries_ok), "no message is tried after it expired"
    mean, lo, hi = t_interval(shares, level=0.99)
    assert lo <= exact <= hi, (f"share of messages called back before expiry: simulated {mean:.4f} "
                               f"(99% CI {lo:.4f}-{hi:.4f}, {reps} reps) vs closed form {exact:.4f}")


# --- dedicated callback time ----------------------------------------------------------------

DEDICATED = {"lines": 1, "hours": {"mon": ["09:00-13:00"], "wed": ["14:00-20:00"]},
             "provinces": ["Antwerpen", "Limburg"]}


@pytest.fixture(scope="module")
def dedicated(small):
    scn = busy(small, **{"phone.answering_machine.callbacks.dedicated": DEDICATED})
    model = Helpline(scn, Streams(9, 0))
    return scn, model, model.run()


def test_dedicated_lines_serve_only_callbacks_within_their_hours(dedicated):
    scn, model, log = dedicated
    a, cb, m = log.attempts_table(), log.callbacks_table(), log.messages_table()
    assert (a["group"] < len(PROVINCES)).all(), "no caller is answered on a dedicated line"
    on_ded = cb[cb["group"] >= len(PROVINCES)]
    assert len(on_ded) > 10, "the dedicated lines return messages"
    served = {PROVINCES[g - len(PROVINCES)] for g in on_ded["group"]}
    assert served <= {"Antwerpen", "Limburg"}, "only the provinces given have dedicated lines"
    start = pd.Timestamp(scn.horizon.start)
    when = start + pd.to_timedelta(on_ded["at"], unit="s")
    mon = (when.dt.day_of_week == 0) & (when.dt.hour >= 9) & (when.dt.hour < 13)
    wed = (when.dt.day_of_week == 2) & (when.dt.hour >= 14) & (when.dt.hour < 20)
    assert (mon | wed).all(), "dedicated tries start only in the dedicated hours"
    # A dedicated line of a province returns only its own province's messages (per-province mailbox).
    own = on_ded.merge(m[["message", "group"]].rename(columns={"group": "box"}), on="message")
    assert (own["group"] - len(PROVINCES) == own["box"]).all()
    check_invariants(model, log)


def test_dedicated_hours_are_costed_and_leave_phone_kpis_of_other_work_alone(small):
    scn = busy(small, **{"phone.answering_machine.callbacks.dedicated": DEDICATED,
                         "costs.callback_line_hour": 40.0})
    v = run_replication(scn, 9, 0).kpis.query("by == 'all'").set_index("kpi")["value"]
    # Two weeks (3 Feb - 16 Feb 2020, no holiday): 2 Mondays x 4 h + 2 Wednesdays x 6 h,
    # for 2 provinces with one line each.
    assert v["callback_line_staffed_hours"] == pytest.approx(2 * (2 * 4 + 2 * 6))
    assert v["cost_callbacks"] == pytest.approx(40.0 * v["callback_line_staffed_hours"])
    assert v["cost_total"] == pytest.approx(v["cost_phone"] + v["cost_chat"] + v["cost_email"]
                                            + v["cost_callbacks"])
    golden = golden_table().query("by == 'all'").set_index("kpi")["value"]
    assert v["staffed_line_hours"] == golden["staffed_line_hours"], "phone line hours unchanged"
    assert v["staffed_hours_total"] == pytest.approx(golden["staffed_hours_total"] + 40.0)
    assert 0 < v["callback_line_utilisation"] <= 1
    assert v["callbacks_dedicated"] > 0


def test_without_live_lines_only_dedicated_lines_return_messages(small):
    scn = busy(small, **{"phone.answering_machine.callbacks.dedicated":
                         {**DEDICATED, "provinces": "all", "live_lines": False}})
    model = Helpline(scn, Streams(9, 0))
    log = model.run()
    cb = log.callbacks_table()
    assert len(cb) > 10 and (cb["group"] >= len(PROVINCES)).all(), "no callback on a live line"
    check_invariants(model, log)


# --- a message decision at every busy tone --------------------------------------------------


def test_message_decision_rule():
    md = cbk.message_decision
    assert md("once_per_caller", 0.3, 0.5, False, False, 0.2, 0.4, 0.9, 0.9) == (True, True)
    assert md("once_per_caller", 0.3, 0.5, True, False, 0.2, 0.4, 0.1, 0.1) == (False, False), \
        "once per caller: never a second message"
    assert md("once_per_caller", 0.3, 0.5, False, False, 0.5, 0.4, 0.1, 0.1) == (False, False)
    assert md("every_busy_tone", 0.3, 0.5, True, False, 0.9, 0.9, 0.2, 0.6) == (True, False), \
        "every busy tone: this tone's draws decide, also after an earlier (closed) message"
    assert md("every_busy_tone", 0.3, 0.5, True, True, 0.0, 0.0, 0.0, 0.0) == (False, False), \
        "never a second open message"


def test_every_busy_tone_keeps_one_open_message_per_caller(small):
    scn = busy(small, **{"phone.answering_machine.decision": "every_busy_tone",
                         "phone.answering_machine.number_probability": 0.3})
    model = Helpline(scn, Streams(9, 0))
    log = model.run()
    m = log.messages_table()
    assert not m["caller"].is_unique, "callers who redial leave further messages"
    for _, g in m.sort_values("left_at").groupby("caller"):
        assert (g["left_at"].to_numpy()[1:] >= g["resolved_at"].to_numpy()[:-1]).all(), \
            "a new message only once the caller's previous one is closed"
    assert (m.groupby("caller")["state"].apply(lambda s: (s == cbk.CALLBACK).sum()) <= 1).all()
    check_invariants(model, log)


def test_message_decisions_against_the_exact_chain_with_redials():
    """Both decision rules against sim.theory.exact.answering_machine_redials (one line,
    Poisson arrivals, redials, messages, callbacks), Bonferroni-corrected 99% intervals
    over the replications (the battery runs this case longer: run_sim.py validate)."""
    from sim.theory.validation import answering_machine_redials_case

    comparisons = answering_machine_redials_case(reps=6, seed=14, jobs=1, days=60)
    level = 1 - 0.01 / len(comparisons)
    for c in comparisons:
        m, lo, hi = t_interval(c.values, level)
        assert lo <= c.theory <= hi, (f"{c.case}, {c.measure}: simulated {m:.5g} [{lo:.5g}, {hi:.5g}] "
                                      f"({level:.4f} CI, {len(c.values)} reps) vs exact chain {c.theory:.5g}")
    by = {(c.case.split()[-1], c.measure): t_interval(c.values)[0] for c in comparisons}
    assert by[("every_busy_tone", "messages per caller")] > by[("once_per_caller", "messages per caller")] + 0.03
