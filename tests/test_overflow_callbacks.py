"""Issue 3: conservation of callers and messages with overflow and callbacks, and the
measures' effects. (The comparisons with exact Markov chains are validation cases in
sim/theory/validation.py, run by tests/test_theory_vs_sim.py.)"""

import numpy as np
import pandas as pd
import pytest

from sim.config import PROVINCES, load_scenario
from sim.experiments.replications import run
from sim.model import callbacks as cbk
from sim.model.eventlog import CALLER_ENDS
from sim.model.helpline import Helpline
from sim.model.streams import Streams

# --- conservation -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def busy_with_messages(small):
    scn = load_scenario(None, {
        **small.model_dump(by_alias=True),
        "phone.answering_machine.message_probability": 0.6,
        "phone.answering_machine.number_probability": 0.7,
        "phone.answering_machine.callbacks.policy": "target_delay",
        "phone.answering_machine.callbacks.target_delay_min": 60,
        "phone.option0.routing.policy": "least_busy",
        "phone.overflow.policy": "any_free",
        "demand.phone.annual": 20_000,
    })
    model = Helpline(scn, Streams(9, 0))
    log = model.run()
    return scn, model, log


def test_every_message_ends_in_exactly_one_state(busy_with_messages):
    _, model, log = busy_with_messages
    m, cb = log.messages_table(), log.callbacks_table()
    assert len(m) == len(model.desk.messages) > 50, "every message left is recorded once"
    assert m["message"].is_unique and set(m["state"].astype(str)) <= set(cbk.MESSAGE_STATES)
    assert (m["resolved_at"] >= m["left_at"]).all()
    reached = cb[cb["reached"]]
    assert reached["message"].is_unique, "a message is returned successfully at most once"
    assert set(reached["message"]) == set(m.loc[m["state"] == cbk.CALLBACK, "message"])
    tries = cb.groupby("message").size()
    assert (tries <= model.scn.phone.answering_machine.callbacks.max_tries).all()
    no_number = m[m["state"] == cbk.NO_NUMBER]
    assert not set(no_number["message"]) & set(cb["message"]), "no callback to a message without number"
    assert m["caller"].is_unique, "a caller leaves at most one message"


def test_callers_all_accounted_for_with_callbacks(busy_with_messages):
    _, model, log = busy_with_messages
    c, a, m = log.callers_table(), log.attempts_table(), log.messages_table()
    assert len(c) == len(model.callers) and c["caller"].is_unique
    assert set(c["end"].astype(str)) <= set(CALLER_ENDS)
    via_cb = set(c.loc[c["end"] == "answered_callback", "caller"])
    assert via_cb == set(m.loc[m["state"] == cbk.CALLBACK, "caller"]), "answered by callback <=> message called back"
    direct = set(a.loc[a["outcome"] == "answered", "caller"])
    assert not direct & via_cb, "a caller who got through is not called back again"


def test_callbacks_only_on_free_open_lines(busy_with_messages):
    _, model, log = busy_with_messages
    a, cb = log.attempts_table(), log.callbacks_table()
    assert all(model.cal.phone_open.is_open(t) for t in cb["at"]), "callback while closed"
    work = pd.concat([
        a.loc[a["outcome"] == "answered"].assign(begin=lambda d: d["at"] + d["wait_s"])[["group", "begin", "hold_s"]],
        cb.assign(begin=cb["at"])[["group", "begin", "hold_s"]],
    ])
    for g, prov in enumerate(PROVINCES):
        w = work[work["group"] == g]
        b, e = w["begin"].to_numpy(), (w["begin"] + w["hold_s"]).to_numpy()
        for t in b:
            n = np.sum((b <= t) & (e > t))
            assert n <= model.cal.phone_lines[prov](t), f"{prov}: {n} busy at {t:.0f} s"


def _scanning_desk(self, box: int):
    """The desk as it was before its mailboxes were indexed (issue 16): every decision
    scans the whole mailbox. Kept here as the reference the indexed desk must equal."""
    env = self.env
    while not self._closed:
        self._wake[box] = env.event()
        queue = list(self.boxes[box].values())
        eligible = [m for m in queue if m.eligible_at <= env.now and not m.in_progress]
        timers = []
        if eligible:
            oldest = min(eligible, key=lambda m: m.left_at)
            groups = self._candidates(box)
            if groups:
                groups.sort(key=lambda g: (-g.free_lines(), g.committed_today, g.index))
                group = groups[0]
                ready = self._ready_at(group, oldest)
                if ready <= env.now:
                    self._call(oldest, group)
                    continue
                timers.append(ready - env.now)
        waiting = [m.eligible_at - env.now for m in queue if m.eligible_at > env.now and not m.in_progress]
        if waiting:
            timers.append(min(waiting))
        if timers:
            yield self._wake[box] | env.timeout(min(timers))
        else:
            yield self._wake[box]


@pytest.mark.parametrize("mailbox,policy", [("per_province", "after_idle"),
                                            ("central", "target_delay"),
                                            ("per_province", "immediate")])
def test_indexed_desk_decides_as_a_full_scan(small, monkeypatch, mailbox, policy):
    """The heaps of the desk give exactly the decisions of scanning every message: the
    same callbacks, messages and attempts, record for record, on a busy fortnight."""
    scn = load_scenario(None, {
        **small.model_dump(by_alias=True),
        "phone.answering_machine.message_probability": 0.8,
        "phone.answering_machine.mailbox": mailbox,
        "phone.answering_machine.callbacks.policy": policy,
        "phone.answering_machine.callbacks.target_delay_min": 45,
        "phone.answering_machine.callbacks.reach_probability": 0.3,
        "phone.answering_machine.callbacks.retry_spacing_min": {"dist": "exponential", "mean": 20},
        "demand.phone.annual": 40_000,
    })
    indexed = Helpline(scn, Streams(5, 0)).run()
    monkeypatch.setattr(cbk.CallbackDesk, "_desk", _scanning_desk)
    scanned = Helpline(scn, Streams(5, 0)).run()
    assert len(scanned.callbacks) > 200, "the check needs many callbacks to mean something"
    assert indexed.callbacks == scanned.callbacks, "callbacks differ from the full scan's"
    assert indexed.messages == scanned.messages, "message outcomes differ from the full scan's"
    assert indexed.attempts == scanned.attempts, "call attempts differ from the full scan's"


def test_subsidy_measures_raise_the_answer_rate(small):
    """Each measure, on common random numbers, answers more callers than the baseline."""
    base = small.model_dump(by_alias=True)

    def rates(**over):
        k = run(load_scenario(None, {**base, **over}), 6, seed=33, progress=False).kpis()
        k = k[(k["by"] == "all") & (k["kpi"] == "answer_rate_caller")].sort_values("replication")
        return k["value"].to_numpy()

    ref = rates()
    for name, over in {
        "option 0 least busy": {"phone.option0.routing.policy": "least_busy"},
        "overflow any free": {"phone.overflow.policy": "any_free"},
        "immediate callbacks": {"phone.answering_machine.callbacks.policy": "immediate"},
    }.items():
        diff = rates(**over) - ref
        half = 3.0 * diff.std(ddof=1) / np.sqrt(len(diff))  # ~99% t-interval, 5 d.o.f.
        assert diff.mean() > -half, f"{name}: paired difference {diff.mean():.4f} +/- {half:.4f} is negative"
        assert diff.mean() > 0 or name == "immediate callbacks", f"{name} should help: {diff}"
