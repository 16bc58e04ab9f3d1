"""The run stops once the calendar's tail can change nothing more (sim.model.tail).

Exact tests: the same seed run with the stop and with the whole tail (the private
switch ``Helpline._stop_tail = False``, the behaviour before) must give the same event
log record for record, every province's absence records in the same order, and the
same clock at the end (where ``CallbackDesk.finish`` resolves what is still open). The
workloads are built so that each thing the tail can still change is there at the
horizon end: redials and retries after the closed message, messages on the answering
machine (returned in the tail, expiring, or never returnable), chats in the queue,
e-mails in the backlog, channel switches and repeat contacts, absences and blocks.
"""

from __future__ import annotations

import numpy as np
import pytest

from sim.config import PROVINCES, load_scenario
from sim.model.calendar import DAY_S, TAIL_DAYS, StepFunction
from sim.model.helpline import Helpline
from sim.model.streams import Streams
from sim.model.tail import process_end, staffed_until


def _run(scn, stop: bool, seed: int, rep: int = 0):
    model = Helpline(scn, Streams(seed, rep))
    model._stop_tail = stop
    steps = [0]
    step = model.env.step

    def counted():  # SimPy events processed (a count, not a time)
        steps[0] += 1
        step()

    model.env.step = counted
    log = model.run()
    return model, log, steps[0]


def _same_as_full_tail(scn, seed: int):
    """Run both ways; assert every record is equal; return (stopped model, log, events
    with the stop, events with the whole tail)."""
    model, log, n_stop = _run(scn, True, seed)
    ref_model, ref, n_full = _run(scn, False, seed)
    for name in ("attempts", "callers", "messages", "callbacks", "episodes", "switches"):
        assert getattr(log, name) == getattr(ref, name), f"{name}: stopped run != whole tail"
    assert log.chats.records == ref.chats.records, "chats: stopped run != whole tail"
    for part in ("received", "started", "done"):
        assert getattr(log.emails, part) == getattr(ref.emails, part), f"e-mails {part}: stopped != whole tail"
    for g in range(len(PROVINCES)):  # (between provinces the order is not defined)
        mine, theirs = [r for r in log.away if r[0] == g], [r for r in ref.away if r[0] == g]
        assert mine == theirs, f"group {g}: absence records differ ({len(mine)} vs {len(theirs)})"
    assert len(log.away) == len(ref.away)
    assert model.env.now == ref_model.env.now, (
        f"the run ended at {model.env.now}, the whole tail at {ref_model.env.now}")
    assert ref_model.stopped_at is None
    return model, log, n_stop, n_full


def _fitted_week(**over):
    base = {"horizon": {"start": "2020-02-03", "end": "2020-02-09"}}  # Mon-Sun: ends on a closed day
    base.update(over)
    return load_scenario("scenarios/fitted_2020.yaml", base)


def test_redials_messages_and_absences_across_the_horizon_end():
    """The fitted scenario (absences on), a week ending on a Sunday: callers retry after
    the closed message on Monday, messages left in the week are returned in the tail."""
    scn = _fitted_week(**{"phone.answering_machine.message_probability": 0.6,
                          "phone.answering_machine.number_probability": 1.0})
    model, log, n_stop, n_full = _same_as_full_tail(scn, seed=3)
    end = scn.horizon.days * DAY_S
    assert any(r[2] >= end for r in log.attempts), "no attempt after the horizon end"
    assert any(r[3] < end <= r[5] for r in log.messages), "no message open across the horizon end"
    assert any(r[1] >= end for r in log.away), "no absence record in the tail"
    # The run stopped early: once the last journey and message ended, not at the tail's end.
    assert model.stopped_at is not None and model.stopped_at < end + TAIL_DAYS * DAY_S
    assert model.stopped_at >= max(r[6] for r in log.callers)
    assert n_stop < n_full, f"{n_stop} events with the stop, {n_full} without"


def test_run_with_nothing_in_flight_stops_at_once_and_processes_fewer_events():
    """No answering machine, no chat or e-mail demand at night: the last caller's
    journey ends in the horizon, and the run stops without walking the 60 days."""
    scn = _fitted_week(**{"phone.availability.enabled": False})
    model, log, n_stop, n_full = _same_as_full_tail(scn, seed=1)
    assert model.stopped_at is not None
    assert model.stopped_at < scn.horizon.days * DAY_S + TAIL_DAYS * DAY_S
    # The whole tail walks every staffing change of 60 more days; the stop walks none.
    # (at least one change a day, on and off, of half the provinces' lines: a loose floor)
    assert n_full - n_stop > TAIL_DAYS * 2 * len(PROVINCES) * 0.5, (n_stop, n_full)


def test_messages_nobody_can_return_are_pending_at_the_same_instant():
    """Only dedicated callback lines return messages, and only Antwerpen's: the other
    mailboxes' messages can never be returned. They must not hold the run up, and
    ``finish`` must mark them pending at the instant the whole tail ends."""
    scn = _fitted_week(**{
        "phone.answering_machine.message_probability": 0.8,
        "phone.answering_machine.number_probability": 1.0,
        "phone.answering_machine.callbacks.dedicated": {
            "lines": 1, "provinces": ["Antwerpen"], "live_lines": False}})
    model, log, n_stop, n_full = _same_as_full_tail(scn, seed=5)
    pending = [r for r in log.messages if r[4] == "pending"]
    assert pending and all(r[5] == model.env.now for r in pending)
    assert any(r[4] == "callback" for r in log.messages), "the dedicated line returned nothing"
    assert model.stopped_at is not None and model.stopped_at < scn.horizon.days * DAY_S + 30 * DAY_S
    assert n_stop < n_full


def test_chats_emails_switches_and_repeats_across_the_horizon_end():
    """E-mail backlog over the weekend (handled on Monday, in the tail), blended e-mail,
    expiring messages, switching channel (chats and e-mails started in the tail) and
    repeat contacts, absences with a block."""
    scn = load_scenario("scenarios/fitted/channel_switching/fitted_2020.yaml", {
        "horizon": {"start": "2020-02-03", "end": "2020-02-09"},
        "chat.queue_capacity": 5,
        "email.blending": True,
        "phone.answering_machine.message_probability": 0.6,
        "phone.answering_machine.number_probability": 1.0,
        "phone.answering_machine.callbacks.expire_after_h": 30,
        "phone.callers.repeat": {"probability_answered": 0.3, "probability_unanswered": 0.5,
                                 "delay_days": {"dist": "exponential", "mean": 2.0}},
        "phone.availability": {"enabled": True, "share": 0.6, "blocks": [
            {"weekdays": ["mon"], "hours": "09:00-10:00", "counsellors": 1}]}})
    model, log, n_stop, n_full = _same_as_full_tail(scn, seed=2)
    end = scn.horizon.days * DAY_S
    started = {e: t for e, t, *_ in log.emails.started}
    assert any(a < end <= started.get(e, -1.0) for e, a, _ in log.emails.received), \
        "no e-mail of the horizon handled in the tail"
    assert any(r[1] >= end and r[2] == "answered" for r in log.chats.records), \
        "no chat (switched from the phone) answered in the tail"
    assert any(r[4] == "expired" for r in log.messages), "no message expired"
    assert log.switches and log.episodes, "no switch or repeat contact"
    assert any(r[1] > 0 for r in log.away) or any(r[2] > 0 for r in log.away), "no block recorded"
    assert model.stopped_at is not None and n_stop < n_full


def test_an_email_backlog_nobody_handles_does_not_hold_the_run():
    """No e-mail handler and no blending: e-mails stay pending, the run still stops."""
    scn = _fitted_week(**{"email.staffing.handlers": 0, "email.blending": False})
    model, log, n_stop, n_full = _same_as_full_tail(scn, seed=4)
    assert log.emails.received and not log.emails.started
    assert model.stopped_at is not None and model.stopped_at < scn.horizon.days * DAY_S + DAY_S


def test_process_end_and_staffed_until():
    assert process_end([0.0, 60.0, 120.0]) == 120.0
    assert process_end([]) == 0.0
    sf = StepFunction(np.array([10.0, 20.0, 30.0, 40.0]), np.array([1, 0, 2, 0]))
    assert staffed_until(sf) == 40.0
    assert staffed_until(StepFunction(np.array([5.0]), np.array([0]))) == -np.inf
    assert staffed_until(StepFunction(np.array([5.0]), np.array([3]))) == np.inf


@pytest.mark.parametrize("end", ["2020-02-05", "2020-02-29"])
def test_same_kpis_with_and_without_the_stop(end):
    """The replication's KPI table, through run_replication, is the same either way."""
    from sim.experiments.replications import run_replication

    scn = load_scenario("scenarios/subsidy/all_measures.yaml", {"horizon": {"start": "2020-02-01", "end": end}})
    got = run_replication(scn, 1, 0, interval_tables=True)
    Helpline._stop_tail = False
    try:
        ref = run_replication(scn, 1, 0, interval_tables=True)
    finally:
        Helpline._stop_tail = True
    assert got.kpis.equals(ref.kpis), "KPIs: stopped run != whole tail"
    assert got.intervals.equals(ref.intervals), "interval table: stopped run != whole tail"
