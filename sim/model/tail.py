"""Ending a replication's run once the calendar's tail can change nothing more (issue 16).

The staffing calendars run ``TAIL_DAYS`` beyond the horizon so that contacts still in
flight at its end can be answered, called back or sent away (sim.model.calendar). Once
every arrival has happened and nothing is in flight (no phone journey, no pending
switch or repeat contact, no chat, no e-mail being handled, no open message or waiting
e-mail that a line staffed later could still take), the rest of the run would only walk
the staffing calendars, the counsellors' absences and timers nobody waits for any
more: it records nothing but absences. :class:`sim.model.helpline.Helpline` then stops
(``env.run()`` ends at a check event that raises ``StopSimulation``), records the
absences the rest of the run would have recorded (``Counsellors.finish_early``), and
moves the clock to the instant the full run would have ended (:func:`jump`), so that
``CallbackDesk.finish()`` resolves the same messages at the same instant and everything
after it happens as before. Results are bit-identical to running the whole tail
(tests/test_tail.py compares the event logs record for record).

The helpers here compute, without running them, the instants that processes walking a
finite list of change times would reach.
"""

from __future__ import annotations

import math

import simpy

from sim.model.calendar import StepFunction


def process_end(times: list[float]) -> float:
    """The clock when a process started at time 0 that waits for each instant of
    ``times`` in turn (``if t > now: yield env.timeout(t - now)``, as
    ``LineGroup._staffing_changes``, ``EmailChannel._shifts`` and
    ``Counsellors._block_changes`` do) has reached the last one: the same float
    arithmetic as SimPy's (``now + (t - now)``, which may differ from ``t`` by an ulp)."""
    now = 0.0
    for t in times:
        if t > now:
            now = now + (t - now)
    return now


def staffed_until(lines: StepFunction) -> float:
    """The instant from which ``lines(t)`` is zero for ever (-inf: never staffed; inf:
    staffed for ever)."""
    values = lines._v
    for i in range(len(values) - 1, -1, -1):
        if values[i] > 0:
            return lines._t[i + 1] if i + 1 < len(values) else math.inf
    return -math.inf


def latest_scheduled(env: simpy.Environment) -> float:
    """The instant of the last event scheduled in ``env`` (its clock if none is).

    Reads SimPy's event queue (``Environment._queue``, a heap of ``(time, priority,
    id, event)``; SimPy 4), which has no public accessor."""
    return max((item[0] for item in env._queue), default=env.now)


def delay_to(now: float, t: float) -> float:
    """The delay that SimPy adds to ``now`` to land exactly on ``t >= now``: ``t - now``
    rounded may miss by an ulp, and the event's time must be ``t`` itself."""
    d = t - now
    while now + d < t:
        d = math.nextafter(d, math.inf)
    while now + d > t:
        d = math.nextafter(d, -math.inf)
    return d


def jump(env: simpy.Environment, at: float) -> None:
    """Drop every scheduled event and set the clock to ``at`` (>= now).

    For the end of the tail only: what is dropped records nothing (the caller has
    checked that nothing is in flight). SimPy has no public way to do this; it sets
    ``Environment._queue`` and ``_now`` (SimPy 4), which tests/test_tail.py checks
    against the full run."""
    if at < env.now:
        raise ValueError(f"jump to {at} before the clock ({env.now})")
    env._queue.clear()
    env._now = at
