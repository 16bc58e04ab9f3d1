"""Set-up shared by scenarios that differ only in capacity (sim.model.memo; issue 16).

A memoised piece must equal a freshly computed one bit for bit and be read-only; two
scenarios that differ only in capacity share it, two that differ in demand (or in
replication or seed) do not; and a replication that takes its set-up from the memo has
the same KPIs as one that computes everything afresh.
"""

import dataclasses

import numpy as np
import pandas as pd
import pytest

from sim.config import load_scenario
from sim.experiments.replications import run_replication
from sim.model.callers import draw_phone_callers, phone_callers
from sim.model.helpline import Helpline
from sim.model.memo import MEMO, Memo
from sim.model.streams import Streams
from sim.planning.optimise import candidate_increments, with_schedule

from .conftest import TEST_SCENARIOS


@pytest.fixture
def memo():
    MEMO.clear()
    with MEMO.on():
        yield MEMO
    MEMO.clear()


@pytest.fixture(scope="module")
def scenarios():
    """small.yaml, the same with two more lines (capacity) and with 20% more phone
    demand (demand)."""
    small = load_scenario(TEST_SCENARIOS / "small.yaml")
    more = with_schedule(small, {candidate_increments(small)[0]: 2})
    busier = load_scenario(TEST_SCENARIOS / "small.yaml",
                           {"demand.phone.annual": small.demand.phone.annual * 1.2})
    return small, more, busier


def arrays(x) -> dict[str, np.ndarray]:
    return {f.name: getattr(x, f.name) for f in dataclasses.fields(x)
            if isinstance(getattr(x, f.name), np.ndarray)}


def test_memoised_callers_equal_fresh_ones_and_are_read_only(scenarios, memo):
    small = scenarios[0]
    got = phone_callers(small, Streams(3, 1))
    assert phone_callers(small, Streams(3, 1)) is got, "a second look-up should be a hit"
    fresh = draw_phone_callers(small, Streams(3, 1))
    assert len(fresh) > 100
    for name, a in arrays(fresh).items():
        b = getattr(got, name)
        assert a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b), \
            f"{name}: memoised caller draws differ from freshly drawn ones"
        assert not b.flags.writeable, f"{name}: handed out writeable from the memo"
        with pytest.raises(ValueError):
            b[...] = 0


def test_capacity_shares_the_set_up_demand_does_not(scenarios, memo):
    small, more, busier = scenarios
    assert more.phone.staffing != small.phone.staffing
    a, b, c = (Helpline(s, Streams(1, 0)) for s in scenarios)
    # More lines: the same callers, chat visitors, e-mails and opening hours.
    assert b.callers is a.callers
    assert b.chat.visitors is a.chat.visitors and b.email.emails is a.email.emails
    assert b.cal.phone_open is a.cal.phone_open
    # ... but its own staffed lines.
    assert [b.cal.phone_lines[p].integral(0, 1e9) for p in b.cal.phone_lines] != \
        [a.cal.phone_lines[p].integral(0, 1e9) for p in a.cal.phone_lines]
    # More demand: other callers (more of them); its chat and e-mail are as before.
    assert c.callers is not a.callers and len(c.callers) > len(a.callers)
    assert c.chat.visitors is a.chat.visitors
    # Another replication or seed: other draws.
    assert Helpline(small, Streams(1, 1)).callers is not a.callers
    assert Helpline(small, Streams(2, 0)).callers is not a.callers
    # The same scenario again (next replication of a search): staffed lines shared,
    # handed out in a dict of its own.
    again = Helpline(small, Streams(1, 1))
    assert again.cal.phone_lines is not a.cal.phone_lines
    assert all(again.cal.phone_lines[p] is a.cal.phone_lines[p] for p in a.cal.phone_lines)


def test_a_streams_subclass_is_not_memoised(scenarios, memo):
    class Other(Streams):
        pass

    small = scenarios[0]
    first = phone_callers(small, Other(1, 0))
    assert phone_callers(small, Other(1, 0)) is not first
    assert first.arrival_at.flags.writeable


def test_shared_set_up_leaves_the_kpis_bit_identical(scenarios, memo):
    small, more, _ = scenarios
    with MEMO.disabled():
        fresh = run_replication(more, 1, 0, channels=("phone",), overall_only=True).kpis
    assert len(MEMO) == 0
    run_replication(small, 1, 0, channels=("phone",), overall_only=True)  # fills the memo
    hits = MEMO.hits
    shared = run_replication(more, 1, 0, channels=("phone",), overall_only=True).kpis
    assert MEMO.hits > hits, "the capacity scenario should take its set-up from the memo"
    pd.testing.assert_frame_equal(shared, fresh, check_exact=True,
                                  obj="KPIs with shared set-up vs computed afresh")


def test_memo_is_bounded_least_recently_used_first():
    m = Memo(max_entries=2, max_bytes=1000)
    # Off until a command turns it on (run would only hold memory): nothing remembered.
    assert m.get("a", lambda: "made") == "made" and m.get("a", lambda: "again") == "again"
    assert len(m) == 0
    m.enabled = True
    a = m.get("a", lambda: np.zeros(10))  # 80 bytes each
    m.get("b", lambda: np.zeros(10))
    assert m.get("a", lambda: None) is a  # a used last: b goes first
    m.get("c", lambda: np.zeros(10))
    assert len(m) == 2 and m.get("a", lambda: None) is a
    assert m.get("b", lambda: "made again") == "made again"
    big = m.get("big", lambda: np.zeros(200))  # 1,600 bytes: over the cap, not kept
    assert not big.flags.writeable and len(m) == 2
    assert m.get("big", lambda: "made again") == "made again"


def test_staffed_hours_of_a_channel_not_run_equal_those_of_its_full_kpis(scenarios):
    """A phone-only run reports of chat and e-mail only the staffed hours, now computed
    from the staffing alone: the same rows (overall and by month), value for value, as
    the full KPI functions give on the channel's (empty) log."""
    from sim.model.chats import ChatLog
    from sim.model.emails import EmailLog
    from sim.results.channel_metrics import chat_kpis, email_kpis, staffed_hours_kpis

    small = scenarios[0]
    model = Helpline(small, Streams(1, 0), channels=("phone",))
    start, days = small.horizon.start, small.horizon.days
    full = {
        "chat_staffed_hours": (chat_kpis(ChatLog().table(), model.chat.lines, start, days),
                               model.chat.lines),
        "email_staff_staffed_hours": (email_kpis(EmailLog().table(), start, days,
                                                 handlers=model.email.handlers), model.email.handlers),
    }
    for kpi, (table, lines) in full.items():
        want = table[table["kpi"] == kpi].reset_index(drop=True)
        got = staffed_hours_kpis(lines, start, days, kpi)
        assert len(want) > 1 and want["value"].iloc[0] > 0
        pd.testing.assert_frame_equal(got, want, check_exact=True,
                                      obj=f"{kpi} from the staffing vs from the full KPIs")


def test_callers_key_holds_what_the_draws_read_and_no_more(scenarios, memo):
    """The callback tries' count is drawn for (not shared); how fast a message's reach
    fades, and the staffing, are not (shared)."""
    small = scenarios[0]
    path = TEST_SCENARIOS / "small.yaml"
    tries = small.phone.answering_machine.callbacks.max_tries
    more_tries = load_scenario(path, {"phone.answering_machine.callbacks.max_tries": tries + 1})
    fading = load_scenario(path, {"phone.answering_machine.callbacks.reach_half_life_h": 24})
    a = phone_callers(small, Streams(1, 0))
    b = phone_callers(more_tries, Streams(1, 0))
    assert b is not a and b.reach_u.shape[1] == a.reach_u.shape[1] + 1
    assert phone_callers(fading, Streams(1, 0)) is a


def test_settings_left_out_of_the_callers_key_do_not_change_the_draws(memo):
    """CAPACITY_ONLY lists the phone settings the callers' draws do not read. Every
    subsidy option whose phone differs from the fitted scenario's only there (the key is
    the same) must draw the same callers when drawn afresh; and the options that change
    capacity, overflow and option 0's routing must be among them (else nothing is shared;
    faster_callbacks changes the callback tries' count and spacing, which are drawn)."""
    from sim.config import PROJECT_ROOT
    from sim.model.callers import CAPACITY_ONLY

    base = load_scenario(PROJECT_ROOT / "scenarios" / "fitted_2020.yaml")
    fresh = {}
    with MEMO.disabled():
        want = arrays(draw_phone_callers(base, Streams(1, 0)))
        for f in sorted((PROJECT_ROOT / "scenarios" / "subsidy").glob("*.yaml")):
            opt = load_scenario(f)
            if opt.horizon != base.horizon or opt.demand.phone != base.demand.phone \
                    or opt.calendar != base.calendar:
                continue
            if opt.phone.model_dump_json(exclude=CAPACITY_ONLY) \
                    == base.phone.model_dump_json(exclude=CAPACITY_ONLY):
                fresh[opt.name] = (opt.phone != base.phone,
                                   arrays(draw_phone_callers(opt, Streams(1, 0))))
    changed = sorted(n for n, (diff, _) in fresh.items() if diff)
    assert {"extra_line_peak_days", "option0_overflow", "interprovince_overflow"} <= set(changed), \
        f"options that change only capacity-side phone settings: {changed}"
    for name, (_, got) in fresh.items():
        for k, a in want.items():
            assert np.array_equal(a, got[k]), \
                f"{name}: {k} drawn differently although its phone differs only in CAPACITY_ONLY"
