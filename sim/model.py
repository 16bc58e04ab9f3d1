"""The SimPy model of the helpline: it plays out contacts and records events, nothing else.

One generator per journey (habit 1): :meth:`Helpline.caller` tells one caller's story,
attempt after attempt; :meth:`Helpline.attempt` tells one attempt at a line group.
Decisions are calls to the pure functions in :mod:`sim.routing`. Every random number a
caller will need is drawn when the caller is created (habit 5), from named streams, so
the same caller behaves the same under every staffing option.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np
import simpy

from sim import routing
from sim.arrivals import hourly_rate, sample_arrivals
from sim.calendar import (
    DAY_S,
    TAIL_DAYS,
    OpenIntervals,
    StepFunction,
    closed_days,
    open_intervals,
    staffed_lines,
)
from sim.config import PROVINCES, Scenario
from sim.distributions import sampler
from sim.eventlog import (
    ABANDONED,
    ANSWERED,
    BUSY,
    CLOSED,
    CLOSED_IN_QUEUE,
    END_ANSWERED,
    END_GAVE_UP,
    END_MAX_ATTEMPTS,
    END_NO_OPENING,
    EventLog,
)
from sim.streams import Streams


@dataclass(frozen=True)
class PhoneCallers:
    """Attributes of every phone caller of a replication, drawn up front (row = caller).

    Times in seconds. ``redial_u[i, k]`` is caller i's uniform draw for the decision
    after attempt k+1; ``retry_delay_s[i, k]`` the delay before attempt k+2 after a busy
    tone, ``closed_delay_s[i, k]`` after the closed message (counted from the opening).
    """

    arrival_at: np.ndarray
    home: np.ndarray
    option0: np.ndarray
    talk_s: np.ndarray
    wrap_s: np.ndarray
    patience_s: np.ndarray
    redial_u: np.ndarray
    retry_delay_s: np.ndarray
    closed_delay_s: np.ndarray

    def __len__(self) -> int:
        return len(self.arrival_at)


@dataclass(frozen=True)
class Calendar:
    """Everything time-dependent the model looks up, in seconds since the start."""

    phone_open: OpenIntervals
    phone_lines: dict[str, StepFunction]
    horizon_s: float


def build_calendar(scn: Scenario) -> Calendar:
    start, n_days = scn.horizon.start, scn.horizon.days + TAIL_DAYS
    closed = closed_days(start, n_days, scn.calendar)
    hours = scn.phone.opening_hours
    return Calendar(
        phone_open=open_intervals(start, n_days, hours, closed),
        phone_lines=staffed_lines(start, n_days, hours, closed, scn.phone.staffing),
        horizon_s=scn.horizon.days * DAY_S,
    )


def draw_phone_callers(scn: Scenario, streams: Streams) -> PhoneCallers:
    """New phone callers of the horizon and all their attributes."""
    phone = scn.phone
    rate = hourly_rate(scn.demand.phone, scn.horizon.start, scn.horizon.days)
    arrival_at = sample_arrivals(rate, streams("arrivals.phone"))
    n = len(arrival_at)
    shares = np.array([phone.province_shares[p] for p in PROVINCES], dtype=float)
    home = streams("caller.province").choice(len(PROVINCES), size=n, p=shares / shares.sum())
    option0 = streams("caller.option0").random(n) < phone.option0.probability
    k = phone.redial.max_attempts
    patience = (
        sampler(phone.queue.patience_min)(streams("patience.phone"), n)
        if phone.queue.patience_min is not None
        else np.full(n, np.inf)
    )
    return PhoneCallers(
        arrival_at=arrival_at,
        home=home,
        option0=option0,
        talk_s=sampler(phone.talk_min)(streams("talk.phone"), n),
        wrap_s=sampler(phone.wrap_up_min)(streams("wrapup.phone"), n),
        patience_s=patience,
        redial_u=streams("redial.decision").random((n, k)),
        retry_delay_s=sampler(phone.redial.delay_min)(streams("redial.delay"), n * k).reshape(n, k),
        closed_delay_s=sampler(phone.closed.delay_min)(streams("closed.delay"), n * k).reshape(n, k),
    )


class LineGroup:
    """The staffed lines of one province, with an optional waiting room.

    ``busy`` counts lines in use (calls, callbacks, blended e-mails); the number staffed
    at time t is ``lines(t)``. A fall in staffing never interrupts work: the line is
    freed when the work ends. Other parts of the model (callbacks, e-mail blending)
    ``listen`` to be told when a line may have become free.
    """

    def __init__(self, env: simpy.Environment, index: int, lines: StepFunction, queue_cap: int):
        self.env = env
        self.index = index
        self.lines = lines
        self.queue_cap = queue_cap
        self.busy = 0
        self.queue: deque[tuple[simpy.Event, float]] = deque()  # (event, hold_s)
        self._listeners: list = []
        # Line time committed to work started today (seconds): the "least busy" routing
        # tie-break reads it, as an ACD would. Reset at the first seize of each day.
        self.committed_today = 0.0
        self._day = -1
        env.process(self._staffing_changes())

    def free_lines(self) -> int:
        return max(self.lines(self.env.now) - self.busy, 0)

    def has_free_line(self) -> bool:
        return self.busy < self.lines(self.env.now)

    def listen(self, callback) -> None:
        """Call ``callback(group)`` whenever a line is released or staffing rises."""
        self._listeners.append(callback)

    def seize(self, hold_s: float) -> None:
        """Take a line for work that will hold it ``hold_s`` seconds."""
        day = int(self.env.now // DAY_S)
        if day != self._day:
            self._day, self.committed_today = day, 0.0
        self.committed_today += hold_s
        self.busy += 1

    def release(self) -> None:
        self.busy -= 1
        self._serve_waiting()
        self._notify()

    def _notify(self) -> None:
        for callback in self._listeners:
            callback(self)

    def _serve_waiting(self) -> None:
        # FIFO: the longest-waiting caller gets the line that frees up.
        while self.queue and self.has_free_line():
            served, hold_s = self.queue.popleft()
            self.seize(hold_s)
            served.succeed(ANSWERED)

    def _staffing_changes(self):
        """Give new lines to waiting callers and listeners; send the queue away at closing."""
        times, values = self.lines.times, self.lines.values
        for t, v in zip(times, values, strict=True):
            if t > self.env.now:
                yield self.env.timeout(t - self.env.now)
            if v == 0:
                while self.queue:
                    self.queue.popleft()[0].succeed(CLOSED_IN_QUEUE)
            else:
                self._serve_waiting()
                self._notify()


class Helpline:
    """One replication of the helpline. ``run()`` returns the filled :class:`EventLog`."""

    def __init__(self, scn: Scenario, streams: Streams, log: EventLog | None = None):
        self.scn = scn
        self.env = simpy.Environment()
        self.log = log if log is not None else EventLog()
        self.cal = build_calendar(scn)
        self.callers = draw_phone_callers(scn, streams)
        qcap = scn.phone.queue.capacity
        self.groups = [
            LineGroup(self.env, i, self.cal.phone_lines[p], qcap) for i, p in enumerate(PROVINCES)
        ]

    def run(self) -> EventLog:
        self.env.process(self._arrivals())
        # Run until every journey has ended: callers who arrived before the horizon end
        # may redial after it; the calendar's tail keeps lines open for them.
        self.env.run()
        return self.log

    def _arrivals(self):
        env = self.env
        for i, at in enumerate(self.callers.arrival_at):
            yield env.timeout(at - env.now)
            env.process(self.caller(i))

    def caller(self, i: int):
        """One caller's journey: attempts until answered or they give up."""
        env, c, phone = self.env, self.callers, self.scn.phone
        redial = phone.redial
        attempt = 1
        while True:
            group = routing.target_group(int(c.home[i]), bool(c.option0[i]), phone.option0.routing)
            outcome = yield from self.attempt(i, attempt, group)
            if outcome == ANSWERED:
                end = END_ANSWERED
                break
            u = c.redial_u[i, attempt - 1]
            if outcome == CLOSED:
                again = attempt < redial.max_attempts and u < phone.closed.retry_probability
            else:
                again = routing.tries_again(u, attempt, redial.probability, redial.max_attempts)
            if not again:
                # Split "would have tried but hit the cap" from "chose to stop".
                p = phone.closed.retry_probability if outcome == CLOSED else redial.p_after(attempt)
                end = END_MAX_ATTEMPTS if attempt >= redial.max_attempts and u < p else END_GAVE_UP
                break
            if outcome == CLOSED:
                opens = self.cal.phone_open.next_open(env.now)
                if opens is None:
                    end = END_NO_OPENING
                    break
                delay = opens - env.now + c.closed_delay_s[i, attempt - 1]
            else:
                delay = c.retry_delay_s[i, attempt - 1]
            yield env.timeout(delay)
            attempt += 1
        self.log.caller_end(
            i, float(c.arrival_at[i]), int(c.home[i]), bool(c.option0[i]), end, attempt, env.now
        )

    def attempt(self, i: int, attempt: int, g: int):
        """One call attempt of caller ``i`` at line group ``g``; returns its outcome."""
        env, c, log = self.env, self.callers, self.log
        now = env.now
        if not self.cal.phone_open.is_open(now):
            log.attempt(i, attempt, now, g, CLOSED, 0.0, 0.0, 0.0)
            return CLOSED
        grp = self.groups[g]
        wait = 0.0
        talk, hold = float(c.talk_s[i]), float(c.talk_s[i] + c.wrap_s[i])
        if grp.has_free_line() and not grp.queue:
            grp.seize(hold)
        elif len(grp.queue) < grp.queue_cap:
            served = env.event()
            grp.queue.append((served, hold))
            yield served | env.timeout(c.patience_s[i])
            wait = env.now - now
            if not served.triggered:
                grp.queue.remove((served, hold))
                log.attempt(i, attempt, now, g, ABANDONED, wait, 0.0, 0.0)
                return ABANDONED
            if served.value == CLOSED_IN_QUEUE:
                log.attempt(i, attempt, now, g, CLOSED_IN_QUEUE, wait, 0.0, 0.0)
                return CLOSED_IN_QUEUE
        else:
            log.attempt(i, attempt, now, g, BUSY, 0.0, 0.0, 0.0)
            return BUSY
        log.attempt(i, attempt, now, g, ANSWERED, wait, talk, hold)
        yield env.timeout(hold)
        grp.release()
        return ANSWERED


def simulate(scn: Scenario, seed: int, replication: int) -> EventLog:
    """Run one replication and return its event log."""
    return Helpline(scn, Streams(seed, replication)).run()
