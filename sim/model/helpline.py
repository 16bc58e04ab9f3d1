"""The SimPy model of the helpline: it plays out contacts and records events, nothing else.

One generator per journey (habit 1): :meth:`Helpline.caller` tells one caller's story,
attempt after attempt; :meth:`Helpline.attempt` tells one attempt at a line group.
Decisions are calls to the pure functions in :mod:`sim.model.routing`. Every random number a
caller will need is drawn when the caller is created (habit 5), from named streams, so
the same caller behaves the same under every staffing option.
"""

from __future__ import annotations

from dataclasses import dataclass

import simpy

from sim.config import PROVINCES, Scenario
from sim.config.distributions import sampler
from sim.model import routing
from sim.model.calendar import (
    DAY_S,
    TAIL_DAYS,
    OpenIntervals,
    StepFunction,
    closed_days,
    open_intervals,
    resolve_peak_shares,
    staffed_lines,
)
from sim.model.callbacks import CALLBACK, CallbackDesk
from sim.model.callers import draw_phone_callers
from sim.model.chats import ChatChannel
from sim.model.emails import EmailChannel
from sim.model.eventlog import (
    ABANDONED,
    ANSWERED,
    BUSY,
    CLOSED,
    END_ANSWERED,
    END_CALLBACK,
    END_GAVE_UP,
    END_MAX_ATTEMPTS,
    END_NO_OPENING,
    EventLog,
)
from sim.model.lines import LineGroup
from sim.model.streams import Streams


@dataclass(frozen=True)
class Calendar:
    """Everything time-dependent the model looks up, in seconds since the start."""

    phone_open: OpenIntervals
    phone_lines: dict[str, StepFunction]


def build_calendar(scn: Scenario) -> Calendar:
    start, n_days = scn.horizon.start, scn.horizon.days + TAIL_DAYS
    closed = closed_days(start, n_days, scn.calendar)
    hours = scn.phone.opening_hours
    staffing = scn.phone.staffing
    if any(x.peak_share is not None for x in staffing.extra):
        # Peak days from the scenario's own forecast of phone demand (within the horizon).
        from sim.model.arrivals import interval_rate

        days = scn.horizon.days
        daily = interval_rate(scn.demand.phone, start, days).reshape(days, -1).sum(axis=1)
        staffing = staffing.model_copy(update={"extra": resolve_peak_shares(
            staffing.extra, start, days, hours, closed, daily)})
    return Calendar(
        phone_open=open_intervals(start, n_days, hours, closed),
        phone_lines=staffed_lines(start, n_days, hours, closed, staffing),
    )




class Helpline:
    """One replication of the helpline. ``run()`` returns the filled :class:`EventLog`.

    ``channels`` (default all: phone, chat, e-mail) names the channels to simulate, for
    a caller who needs only some results (the sensitivity analysis needs only the
    phone's). The phone is always simulated; e-mail too while it is blended onto phone
    lines (it takes phone lines then). A channel left out is built (its staffing
    calendar stays readable, e.g. ``chat.lines``) but never started: none of its
    contacts arrive. Every channel draws from its own named streams and shares no line
    with the phone (e-mail blending aside), so the phone's events are the same with or
    without it, record for record; ``self.channels`` tells which ran.
    """

    def __init__(self, scn: Scenario, streams: Streams, log: EventLog | None = None,
                 channels=None):
        self.scn = scn
        wanted = {"phone", "chat", "email"} if channels is None else set(channels)
        unknown = wanted - {"phone", "chat", "email"}
        if unknown:
            raise ValueError(f"unknown channel(s) {sorted(unknown)}: phone, chat, email")
        wanted.add("phone")
        if scn.email.blending:
            wanted.add("email")
        self.channels = frozenset(wanted)
        self.env = simpy.Environment()
        self.log = log if log is not None else EventLog()
        self.cal = build_calendar(scn)
        self.callers = draw_phone_callers(scn, streams)
        phone = scn.phone
        self.groups = [
            LineGroup(self.env, i, self.cal.phone_lines[p], phone.queue.capacity)
            for i, p in enumerate(PROVINCES)
        ]
        self.groups_last = [0] * len(self.callers)  # line group of each caller's last attempt
        # Python lists of the per-caller values read in the event loop: numpy scalars
        # would make env.now and every heap key a numpy float (slower; bench/README.md).
        c = self.callers
        self._arrival = c.arrival_at.tolist()
        self._home = c.home.tolist()
        self._option0 = c.option0.tolist()
        self._talk = c.talk_s.tolist()
        self._hold = (c.talk_s + c.wrap_s).tolist()
        self._patience = c.patience_s.tolist()
        self.messages_of: dict[int, object] = {}  # caller -> message on the answering machine
        self._fixed = PROVINCES.index(phone.option0.routing.province)
        self._rr_next = 0
        self._neighbours = [
            [PROVINCES.index(q) for q in phone.overflow.neighbours[p]] for p in PROVINCES
        ]
        self._peak_days = peak_day_set(scn)
        am = phone.answering_machine
        self.desk = (
            CallbackDesk(self.env, am.callbacks, am.mailbox == "central", self.groups, self.callers,
                         streams("callback.idle"), sampler(am.callbacks.idle_min), self.log)
            if am.enabled
            else None
        )
        # Chat and e-mail channels in the same environment. Created after the phone lines
        # and the callback desk, so that callers and callbacks get a free line before a
        # blended e-mail does (listeners are told in order of registration).
        self.chat = ChatChannel(self.env, scn.horizon, scn.calendar, scn.chat, scn.demand.chat,
                                streams, self.log.chats)
        self.email = EmailChannel(self.env, scn.horizon, scn.calendar, scn.email, scn.demand.email,
                                  streams, self.log.emails, phone_groups=self.groups)

    def run(self) -> EventLog:
        self.env.process(self._arrivals())
        if "chat" in self.channels:
            self.chat.start()
        if "email" in self.channels:
            self.email.start()
        # Run until every journey has ended: callers who arrived before the horizon end
        # may redial after it; the calendar's tail keeps lines open for them.
        self.env.run()
        if self.desk is not None:
            self.desk.finish()  # messages still open; their callers' journeys end now
            self.env.run()
        for g in self.groups:  # break the group -> listener -> desk/channel cycles
            g.clear_listeners()
        return self.log

    def _arrivals(self):
        env = self.env
        for i, at in enumerate(self._arrival):
            yield env.timeout(at - env.now)
            env.process(self.caller(i))

    # --- one caller ---------------------------------------------------------------------

    def caller(self, i: int):
        """One caller's journey: attempts until answered (directly or by a callback) or
        they give up; a caller who left a message with a number may wait for the callback.
        """
        env, c, phone = self.env, self.callers, self.scn.phone
        redial, am = phone.redial, phone.answering_machine
        attempt = 1
        msg = None  # the caller's message on the answering machine, if any
        end = None
        while end is None:
            outcome = yield from self.attempt(i, attempt)
            if outcome == ANSWERED:  # (a pending message was closed when the call began)
                end = END_ANSWERED
                break
            if (outcome == BUSY and msg is None and self.desk is not None
                    and c.message_u[i] < am.message_probability):
                number = bool(c.number_u[i] < am.number_probability)
                msg = self.messages_of[i] = self.desk.leave(i, self.groups_last[i], number)
            waiting = msg is not None and msg.state is None  # a callback may still come
            u = c.redial_u[i, attempt - 1]
            if outcome == CLOSED:
                again = attempt < redial.max_attempts and u < phone.closed.retry_probability
            else:
                again = routing.tries_again(u, attempt, redial.probability, redial.max_attempts)
            if waiting and not am.redial_after_message:
                again = False
            if not again:
                if waiting:
                    state = yield msg.done
                    end = END_CALLBACK if state == CALLBACK else END_GAVE_UP
                    break
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
            if waiting:
                yield env.timeout(delay) | msg.done
                if msg.state == CALLBACK:
                    end = END_CALLBACK
                    break
            else:
                yield env.timeout(delay)
            attempt += 1
        self.log.caller_end(i, self._arrival[i], self._home[i], self._option0[i], end, attempt, env.now)

    # --- one attempt --------------------------------------------------------------------

    def route(self, i: int, attempt: int) -> tuple[int, int]:
        """(province dialled, line group that takes the attempt) for caller i now.

        Option 0 is dialled as ``len(PROVINCES)``. Overflow to another province is tried
        when the target has no free line (see ``sim.config.Overflow``).
        """
        c, phone, groups = self.callers, self.scn.phone, self.groups
        u = float(c.route_u[i, attempt - 1])
        if self._option0[i]:
            dialled = len(PROVINCES)
            policy = phone.option0.routing.policy
            if policy == "fixed":
                target = self._fixed
            else:
                free = [g.free_lines() for g in groups]
                committed = [g.committed_today for g in groups]
                target, self._rr_next = routing.route_option0(
                    policy, self._fixed, free, committed, self._rr_next, u)
        else:
            dialled = target = self._home[i]
        ov = phone.overflow
        if ov.policy != "off" and not groups[target].has_free_line() and (
            ov.when == "always" or int(self.env.now // DAY_S) in self._peak_days
        ):
            free = [g.free_lines() for g in groups]
            committed = [g.committed_today for g in groups]
            other = routing.overflow_target(target, ov.policy, free, self._neighbours[target], committed, u)
            if other is not None:
                target = other
        return dialled, target

    def attempt(self, i: int, attempt: int):
        """One call attempt of caller ``i``; returns its outcome."""
        env, log = self.env, self.log
        now = env.now
        if not self.cal.phone_open.is_open(now):
            dialled = len(PROVINCES) if self._option0[i] else self._home[i]
            target = self._fixed if self._option0[i] else dialled
            log.attempt(i, attempt, now, dialled, target, CLOSED, 0.0, 0.0, 0.0)
            return CLOSED
        dialled, g = self.route(i, attempt)
        self.groups_last[i] = g
        grp = self.groups[g]
        wait = 0.0
        talk, hold = self._talk[i], self._hold[i]
        if grp.has_free_line() and not grp.queue:
            grp.seize(hold)
        elif len(grp.queue) < grp.queue_cap:
            # One event decides the wait: a line (ANSWERED), closing (CLOSED_IN_QUEUE) or
            # the caller's patience running out (ABANDONED), whichever comes first.
            served = env.event()
            entry = (served, hold)
            grp.queue.append(entry)

            def renege(_timeout, served=served, entry=entry, queue=grp.queue):
                if not served.triggered:
                    queue.remove(entry)
                    served.succeed(ABANDONED)

            env.timeout(self._patience[i]).callbacks.append(renege)
            if self.desk is not None:
                self.desk.engaged.add(i)
            state = yield served
            if self.desk is not None:
                self.desk.engaged.discard(i)
            wait = env.now - now
            if state != ANSWERED:
                log.attempt(i, attempt, now, dialled, g, state, wait, 0.0, 0.0)
                return state
        else:
            log.attempt(i, attempt, now, dialled, g, BUSY, 0.0, 0.0, 0.0)
            return BUSY
        log.attempt(i, attempt, now, dialled, g, ANSWERED, wait, talk, hold)
        if i in self.messages_of:  # got through: their message needs no callback now
            self.desk.caller_got_through(self.messages_of.pop(i))
        yield env.timeout(hold)
        grp.release()
        return ANSWERED


def peak_day_set(scn: Scenario) -> set[int]:
    """Day indices (days since the start) on which overflow ``when: peak_days`` applies."""
    ov, start = scn.phone.overflow, scn.horizon.start
    days = {(d - start).days for d in ov.peak_dates}
    for p in ov.peak_periods:
        days |= set(range((p.from_ - start).days, (p.to - start).days + 1))
    return days
