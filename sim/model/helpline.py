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

from sim.config import PROVINCES, WEEKDAYS, Scenario, parse_interval
from sim.config.distributions import sampler
from sim.model import routing
from sim.model.availability import Counsellors
from sim.model.calendar import (
    DAY_S,
    TAIL_DAYS,
    OpenIntervals,
    StepFunction,
    closed_days,
    open_intervals,
    staffed_lines,
)
from sim.model.callbacks import CALLBACK, CallbackDesk, dedicated_lines, message_decision
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
from sim.model.pooling import RecentOccupancy
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
    return Calendar(
        phone_open=open_intervals(start, n_days, hours, closed),
        phone_lines=staffed_lines(start, n_days, hours, closed, scn.phone.staffing),
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
        if phone.availability.enabled:  # counsellors not always at their staffed line
            for g, p in zip(self.groups, PROVINCES, strict=True):
                g.counsellors = Counsellors(
                    self.env, g.index, p, g.lines, scn.horizon.start, scn.horizon.days + TAIL_DAYS,
                    phone.availability, streams(f"availability.{p}"), self.log, g)
        # Human limits on pooling (sim.config.capacity.Pooling; all off by default).
        pool, ov = phone.pooling, phone.overflow
        self._cap = {k: pool.occupancy_cap if k in pool.applies_to else 1.0 for k in ("overflow", "option0")}
        if pool.occupancy_cap < 1.0:
            for g in self.groups:
                g.recent = RecentOccupancy(pool.window_min * 60.0)
        self._extra_talk_s = pool.extra_talk_min * 60.0
        self._ov_weekdays = None if ov.weekdays is None else {WEEKDAYS.index(d) for d in ov.weekdays}
        self._ov_span = None if ov.hours is None else parse_interval(ov.hours)
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
                         streams("callback.idle"), sampler(am.callbacks.idle_min), self.log,
                         dedicated_lines(scn))
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
            if outcome == BUSY and self.desk is not None:
                leave, number = message_decision(
                    am.decision, am.message_probability, am.number_probability, msg is not None,
                    msg is not None and msg.state is None, c.message_u[i], c.number_u[i],
                    c.message_tone_u[i, attempt - 1], c.number_tone_u[i, attempt - 1])
                if leave:
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
                free = self._free("option0")
                committed = [g.committed_today for g in groups]
                target, self._rr_next = routing.route_option0(
                    policy, self._fixed, free, committed, self._rr_next, u)
                if self._cap["option0"] < 1.0 and free[target] == 0:
                    target = self._fixed  # no free line under the cap: the default province
        else:
            dialled = target = self._home[i]
        ov = phone.overflow
        if ov.policy != "off" and not groups[target].has_free_line() and (
            ov.when == "always" or int(self.env.now // DAY_S) in self._peak_days
        ) and routing.in_peak_moment(self.env.now, self.scn.horizon.start.weekday(), self._ov_weekdays,
                                     self._ov_span):
            free = self._free("overflow")
            committed = [g.committed_today for g in groups]
            other = routing.overflow_target(target, ov.policy, free, self._neighbours[target], committed, u)
            if other is not None:
                target = other
        return dialled, target

    def _free(self, kind: str) -> list[int]:
        """Free lines per province for routing of ``kind``, provinces over the
        occupancy cap counted as having none (phone.pooling)."""
        free = [g.free_lines() for g in self.groups]
        cap = self._cap[kind]
        if cap >= 1.0:
            return free
        return routing.under_cap(free, [g.recent.occupancy(self.env.now) for g in self.groups], cap)

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
        if self._extra_talk_s and g != self._home[i]:  # answered outside the caller's province
            talk = routing.pooled_talk_s(talk, g, self._home[i], self._extra_talk_s)
            hold = hold + (talk - self._talk[i])
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
