"""The SimPy model of the helpline: it plays out contacts and records events, nothing else.

One generator per journey (habit 1): :meth:`Helpline.caller` tells one caller's story,
attempt after attempt; :meth:`Helpline.attempt` tells one attempt at a line group.
Decisions are calls to the pure functions in :mod:`sim.model.routing`. Every random number a
caller will need is drawn when the caller is created (habit 5), from named streams, so
the same caller behaves the same under every staffing option.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import simpy
from simpy.core import StopSimulation

from sim.config import PROVINCES, WEEKDAYS, Scenario, parse_interval
from sim.config.distributions import sampler
from sim.model import routing
from sim.model.arrivals import expected_rate, interval_rate, time_in_day
from sim.model.availability import Counsellors
from sim.model.calendar import (
    DAY_S,
    TAIL_DAYS,
    OpenIntervals,
    StepFunction,
    open_intervals,
    resolve_peak_shares,
    shared_closed_days,
    staffed_lines,
)
from sim.model.callbacks import CALLBACK, CallbackDesk, dedicated_lines, message_decision
from sim.model.callers import (
    ArrayDraws,
    Episodes,
    LazyDraws,
    episode_stream,
    needs_lazy_draws,
    phone_callers,
    phone_opening,
    switch_to,
)
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
from sim.model.fastpath import arrivals, timeout_or
from sim.model.lines import LineGroup
from sim.model.memo import MEMO, key
from sim.model.pooling import RecentOccupancy
from sim.model.streams import Streams
from sim.model.tail import delay_to, jump, latest_scheduled, process_end


@dataclass(frozen=True)
class Calendar:
    """Everything time-dependent the model looks up, in seconds since the start."""

    phone_open: OpenIntervals
    phone_lines: dict[str, StepFunction]


def build_calendar(scn: Scenario) -> Calendar:
    """The phone's calendar. Each piece is made once per process for the inputs it reads
    (:mod:`sim.model.memo`): the open intervals for the horizon, calendar and opening
    hours (shared by scenarios that differ in staffing), the staffed lines also for the
    staffing (shared by the replications of a scenario)."""
    start, n_days = scn.horizon.start, scn.horizon.days + TAIL_DAYS
    closed = shared_closed_days(start, n_days, scn.calendar)
    hours = scn.phone.opening_hours
    staffing = scn.phone.staffing
    if any(x.peak_share is not None for x in staffing.extra):
        # Peak days from the scenario's own forecast of phone demand (within the horizon).
        days = scn.horizon.days
        daily = interval_rate(scn.demand.phone, start, days).reshape(days, -1).sum(axis=1)
        staffing = staffing.model_copy(update={"extra": resolve_peak_shares(
            staffing.extra, start, days, hours, closed, daily)})
    return Calendar(
        phone_open=MEMO.get(key("phone_open", start, n_days, scn.calendar, hours),
                            lambda: open_intervals(start, n_days, hours, closed)),
        # (peak shares resolved: the staffing key holds the resolved dates)
        phone_lines=MEMO.get(key("phone_lines", start, n_days, scn.calendar, hours, staffing),
                             lambda: staffed_lines(start, n_days, hours, closed, staffing)),
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

    # Stop once the calendar's tail can change nothing more (sim.model.tail); False runs
    # the whole tail as before (for tests and benchmarks that compare the two, and for a
    # caller who adds processes of its own to ``env``: the stop knows only the model's).
    _stop_tail = True

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
        self.callers = phone_callers(scn, streams)  # (shared with scenarios differing in capacity)
        phone = scn.phone
        self.streams = streams
        behaviour = phone.callers
        # Repeat contacts: every episode is a row of its own (numbers and repeat indices
        # in self.episodes); otherwise the new callers are the episodes, as always.
        # (Chat visitors switching to the phone become phone callers: episodes too.)
        self.episodes = (Episodes(self.callers, phone, streams)
                         if behaviour.repeat.enabled or behaviour.chat_switch.phone_probability > 0
                         else None)
        self._number_attrs: dict[int, tuple[int, bool]] = {}  # numbers switched in: home, option 0
        people = self.episodes if self.episodes is not None else self.callers
        self._message_u, self._number_u = people.message_u, people.number_u
        # Per-attempt draws: the up-front arrays, or per episode as attempts happen.
        key = self.episodes.key if self.episodes is not None else (lambda i: (i, 0))
        lazy = LazyDraws(phone, streams, key)
        self.draws = lazy if needs_lazy_draws(phone) else ArrayDraws(self.callers, lazy)
        self._repeat_delay = sampler(behaviour.repeat.delay_days)
        if behaviour.repeat.enabled:  # expected phone demand per interval of each day
            start, days = scn.horizon.start, scn.horizon.days
            self._day_rate = expected_rate(scn.demand.phone, start, days,
                                           phone_opening(scn)).reshape(days, -1)
        self._switch_delay = sampler(behaviour.switch.delay_min)
        self._later_on = behaviour.later.enabled  # (a property that loops: read once)
        self._shares = np.array([phone.province_shares[p] for p in PROVINCES], dtype=float)
        self._chat_from_phone: set[int] = set()  # chat visitors who came from the phone
        self._horizon_s = scn.horizon.days * DAY_S
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
        self._overflow_on = ov.policy != "off"
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
        # Whether the phone is open now, valid until _open_until (time only moves
        # forward: one search per change of state, not per attempt; issue 16).
        self._open_now, self._open_until = False, -math.inf
        am = phone.answering_machine
        self.desk = (
            CallbackDesk(self.env, am.callbacks, am.mailbox == "central", self.groups, people,
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
        # The end of the tail (sim.model.tail): phone journeys going on, those of them
        # waiting only for their message's outcome (caller -> message), switch and repeat
        # contacts still to start, whether every new caller has arrived, and the checks.
        self._busy = 0
        self._waiting: dict[int, object] = {}
        self._starting = 0
        self._arrived = False
        self._watching = False  # (set by run)
        self._check_due = False
        self._timed_check = math.inf
        self.stopped_at: float | None = None  # the instant the run stopped early, if it did

    def run(self) -> EventLog:
        env = self.env
        env.process(self._arrivals())
        if self.scn.phone.callers.chat_switch.enabled and "chat" in self.channels:
            self.chat.on_unanswered = self._chat_gave_up
        if "chat" in self.channels:
            self.chat.start()
        else:
            self.chat.arrived = True
        if "email" in self.channels:
            self.email.start()
        else:
            self.email.arrived = True
        self._watching = self._stop_tail
        if self._stop_tail:
            self.chat.on_end = self.email.on_end = self._maybe_stop
            if self.desk is not None:
                self.desk.on_change = self._maybe_stop
        # Run until every journey has ended: callers who arrived before the horizon end
        # may redial after it; the calendar's tail keeps lines open for them. The run
        # stops early once the tail can change nothing more (sim.model.tail).
        env.run()
        self._watching = False
        if self.stopped_at is not None:
            self._end_of_tail()
        if self.desk is not None:
            self.desk.finish()  # messages still open; their callers' journeys end now
            env.run()
        for g in self.groups:  # break the group -> listener -> desk/channel cycles
            g.clear_listeners()
        return self.log

    # --- the end of the tail (sim.model.tail) --------------------------------------------

    def _maybe_stop(self) -> None:
        """Something ended: once every arrival has happened and no journey is going on,
        check (in an event of its own, after whatever this instant still holds) whether
        anything can still change."""
        # (not self._arrived first: it holds for the whole horizon, at every journey's end)
        if (not self._arrived or self._check_due or not self.chat.arrived
                or not self.email.arrived or self._in_flight()):
            return
        self._check_due = True
        self.env.timeout(0).callbacks.append(self._check)

    def _in_flight(self) -> bool:
        """Whether the run may not stop now: not watching, a phone journey going on (not
        only waiting for its message's outcome), a switch or repeat contact still to
        start, a chat going on or an e-mail in handling."""
        return (not self._watching or self._busy > len(self._waiting) or bool(self._starting)
                or bool(self.chat.active) or self.email.in_handling() > 0)

    def _check(self, event) -> None:
        if event.value is None:  # (the immediate check; a timed one carries its instant)
            self._check_due = False
        elif event.value == self._timed_check:
            self._timed_check = math.inf
        if self._in_flight():
            return
        if any(msg.state is not None for msg in self._waiting.values()):
            return  # a caller is about to hear the outcome of their message
        settles = max(self.desk.settles_from() if self.desk is not None else -math.inf,
                      self.email.settles_from())
        now = self.env.now
        if settles > now:
            # Open messages or waiting e-mails that staff could still take: look again
            # once no line can (anything that ends before then looks again itself).
            if settles < self._timed_check:
                self._timed_check = settles
                self.env.timeout(delay_to(now, settles), value=settles).callbacks.append(self._check)
            return
        self.stopped_at = now
        raise StopSimulation(None)

    def _end_of_tail(self) -> None:
        """After the early stop: record the absences the rest of the run would have
        recorded and set the clock to the instant at which it would have ended (the last
        event scheduled, the staffing and shift processes' last changes, the absence
        processes' end), where ``CallbackDesk.finish`` resolves what is still open."""
        env = self.env
        end = latest_scheduled(env)
        groups = list(self.groups)
        if self.desk is not None:
            groups += self.desk.dedicated_groups
        if self.chat.group is not None:
            groups.append(self.chat.group)
        for g in groups:
            end = max(end, process_end(g.lines._t))
            if g.counsellors is not None:
                end = max(end, g.counsellors.finish_early())
        if "email" in self.channels:
            end = max(end, process_end(self.email.handlers._t))
        jump(env, end)

    def _arrivals(self):
        env = self.env
        # New callers only; without a process each (sim.model.fastpath; issue 16).
        yield from arrivals(env, self._arrival[:len(self.callers)], self.caller)
        self._arrived = True
        self._maybe_stop()

    # --- one caller ---------------------------------------------------------------------

    def caller(self, i: int):
        """One caller's journey (one episode): attempts until answered (directly or by a
        callback) or they give up; a caller who left a message with a number may wait for
        the callback. Quick redials, retries at the next opening after the closed
        message and (``phone.callers.later``) retries at a later day's opening.
        """
        # (Settings read once per caller, not once per attempt: issue 16.)
        env, phone, desk, draws = self.env, self.scn.phone, self.desk, self.draws
        redial, am, later = phone.redial, phone.answering_machine, phone.callers.later
        cap, redial_p, closed_p = redial.cap, redial.probability, phone.closed.retry_probability
        later_on = self._later_on  # (off: p_after is 0, and no draw u is below 0)
        every_tone = am.decision == "every_busy_tone"
        self._busy += 1
        attempt = 1
        msg = None  # the caller's message on the answering machine, if any
        end = None
        while end is None:
            outcome = yield from self.attempt(i, attempt)
            if outcome == ANSWERED:  # (a pending message was closed when the call began)
                end = END_ANSWERED
                break
            if outcome == BUSY and desk is not None:
                # Per-busy-tone draws only when the decision is made at every busy tone.
                tone_m, tone_n = draws.tone_u(i, attempt) if every_tone else (1.0, 1.0)
                leave, number = message_decision(
                    am.decision, am.message_probability, am.number_probability, msg is not None,
                    msg is not None and msg.state is None, self._message_u[i], self._number_u[i],
                    tone_m, tone_n)
                if leave:
                    msg = self.messages_of[i] = desk.leave(i, self.groups_last[i], number)
            waiting = msg is not None and msg.state is None  # a callback may still come
            u, quick_s, closed_s, later_u, later_s = draws.block(i, attempt)
            next_day = False
            if outcome == CLOSED:
                again = attempt < cap and u < closed_p
            else:
                again = routing.tries_again(u, attempt, redial_p, cap)
                if not again and later_on and attempt < cap and later_u < later.p_after(attempt):
                    again = next_day = True  # not now, but at a later day's opening
            if waiting and not am.redial_after_message:
                again = False
            if not again:
                if waiting:
                    self._waiting[i] = msg  # only the message's outcome can end this now
                    state = yield msg.done
                    del self._waiting[i]
                    end = END_CALLBACK if state == CALLBACK else END_GAVE_UP
                    break
                # Split "would have tried but hit the cap" from "chose to stop".
                if outcome == CLOSED:
                    wanted = u < closed_p
                else:
                    wanted = u < redial.p_after(attempt) or later_u < later.p_after(attempt)
                end = END_MAX_ATTEMPTS if attempt >= cap and wanted else END_GAVE_UP
                break
            if outcome == CLOSED or next_day:
                # After the closed message: the next opening; a later retry: the first
                # opening on a later day.
                t = env.now if outcome == CLOSED else (env.now // DAY_S + 1) * DAY_S
                opens = self.cal.phone_open.next_open(t)
                if opens is None:
                    end = END_NO_OPENING
                    break
                delay = opens - env.now + (closed_s if outcome == CLOSED else later_s)
            else:
                delay = quick_s
            if waiting:
                yield timeout_or(env, delay, msg.done)
                if msg.state == CALLBACK:
                    end = END_CALLBACK
                    break
            else:
                yield env.timeout(delay)
            attempt += 1
        draws.done(i)
        self.log.caller_end(i, self._arrival[i], self._home[i], self._option0[i], end, attempt, env.now)
        if self.episodes is not None and phone.callers.repeat.enabled:
            self._after_episode(i, end)
        if end in (END_GAVE_UP, END_MAX_ATTEMPTS) and phone.callers.switch.enabled:
            self._phone_gave_up(i)
        self._busy -= 1
        self._maybe_stop()

    # --- switching channel (sim.config.callers.PhoneSwitch, ChatSwitch) ------------------

    def _phone_gave_up(self, i: int):
        """A phone caller who gave up may start a chat or write an e-mail. Draws from
        stream ``caller.switch`` of (number, repeat). A contact that came from the chat
        does not switch again."""
        sw, email = self.scn.phone.callers.switch, self.scn.email
        number, r = self.episodes.key(i) if self.episodes is not None else (i, 0)
        if number >= len(self.callers):  # a number that came from the chat
            return
        rng = episode_stream(self.streams, "caller.switch", number, r)
        u = float(rng.random())
        delay = float(self._switch_delay(rng, 1)[0])
        duration = float(sampler(self.scn.chat.duration_min)(rng, 1)[0])
        patience = float(sampler(self.scn.chat.patience_min)(rng, 1)[0])
        handling = float(sampler(email.handling_min)(rng, 1)[0])
        to = switch_to(u, sw.chat_probability, sw.email_probability)
        if to == 1 and "chat" in self.channels:
            self._starting += 1
            self.env.process(self._switched(delay, "phone", i, "chat", (duration, patience)))
        elif to == 2 and "email" in self.channels:
            self._starting += 1
            self.env.process(self._switched(delay, "phone", i, "email", (handling,)))

    def _chat_gave_up(self, v: int, outcome: str):
        """A chat visitor who found the chat closed, full or left its queue may write an
        e-mail or phone (a new phone number). Stream ``chat.switch`` of the visitor."""
        if v in self._chat_from_phone:
            return
        sw = self.scn.phone.callers.chat_switch
        rng = episode_stream(self.streams, "chat.switch", v, 0)
        u = float(rng.random())
        delay = float(sampler(sw.delay_min)(rng, 1)[0])
        handling = float(sampler(self.scn.email.handling_min)(rng, 1)[0])
        home = int(np.searchsorted(np.cumsum(self._shares), rng.random() * self._shares.sum(), "right"))
        option0 = bool(rng.random() < self.scn.phone.option0.probability)
        to = switch_to(u, sw.email_probability, sw.phone_probability)
        if to == 1 and "email" in self.channels:
            self._starting += 1
            self.env.process(self._switched(delay, "chat", v, "email", (handling,)))
        elif to == 2:
            self._starting += 1
            self.env.process(self._switched(delay, "chat", v, "phone", (min(home, len(PROVINCES) - 1), option0)))

    def _switched(self, delay: float, src: str, src_id: int, dst: str, attrs: tuple):
        yield self.env.timeout(delay)
        # (The new contact's journey starts now: an e-mail's or a chat's in a process
        # started now, which runs before any check of the tail's end at this instant.)
        self._starting -= 1
        if dst == "chat":
            j = self.chat.add(*attrs)
            self._chat_from_phone.add(j)
        elif dst == "email":
            j = self.email.add(*attrs)
        else:  # a new phone number: n + chat visitor index
            number = len(self.callers) + src_id
            self._number_attrs[number] = attrs
            j = self._new_episode(number, 0)
        self.log.switch(src, src_id, dst, j, self.env.now)
        if dst == "phone":
            yield from self.caller(j)

    def _after_episode(self, i: int, end: str):
        """Repeat contacts (``phone.callers.repeat``): the same number may start a new
        episode some days after this one ended. Draws from stream ``caller.after`` of
        (number, repeat), so the decision is the same under every staffing option."""
        rep = self.scn.phone.callers.repeat
        number, r = self.episodes.key(i)
        if r >= rep.max_repeats:
            return
        rng = episode_stream(self.streams, "caller.after", number, r)
        u, u_interval, u_within = (float(x) for x in rng.random(3))
        delay = float(self._repeat_delay(rng, 1)[0]) * (DAY_S / 60.0)  # read in days
        helped = end in (END_ANSWERED, END_CALLBACK)
        p = rep.probability_answered if helped else rep.probability_unanswered
        at = self.env.now + delay
        if rep.time_of_day == "profile":  # that day, at an hour people call
            day = int(at // DAY_S)
            if day < len(self._day_rate):
                at = day * DAY_S + time_in_day(self._day_rate[day], u_interval, u_within)
                if at < self.env.now:
                    at += DAY_S
                delay = at - self.env.now
        # Only contacts that start inside the horizon (later ones belong to the next).
        if u < p and at < self._horizon_s:
            self._starting += 1
            self.env.process(self._repeat_contact(number, r + 1, delay))

    def _repeat_contact(self, number: int, r: int, delay: float):
        yield self.env.timeout(delay)
        self._starting -= 1
        yield from self.caller(self._new_episode(number, r))

    def _new_episode(self, number: int, r: int) -> int:
        """A phone episode starting now: episode ``r`` of ``number`` (its own draws)."""
        i = self.episodes.add(number, r)
        home, option0 = (self._number_attrs[number] if number in self._number_attrs
                         else (self._home[number], self._option0[number]))
        self._arrival.append(self.env.now)
        self._home.append(home)
        self._option0.append(option0)
        talk, wrap = self.episodes.talk_s[i], self.episodes.wrap_s[i]
        self._talk.append(talk)
        self._hold.append(talk + wrap)
        self._patience.append(self.episodes.patience_s[i])
        self.groups_last.append(0)
        self.log.episode(i, number, r)
        return i

    # --- one attempt --------------------------------------------------------------------

    def route(self, i: int, attempt: int) -> tuple[int, int]:
        """(province dialled, line group that takes the attempt) for caller i now.

        Option 0 is dialled as ``len(PROVINCES)``. Overflow to another province is tried
        when the target has no free line (see ``sim.config.Overflow``).
        """
        groups = self.groups
        # The routing draw ``u`` is read only where a decision uses it: the draws are
        # fixed per (caller, attempt) in advance or by stream position, so leaving it
        # unread shifts nothing (issue 16: one look-up less per attempt by default).
        if self._option0[i]:
            dialled = len(PROVINCES)
            policy = self.scn.phone.option0.routing.policy
            if policy == "fixed":
                target = self._fixed
            else:
                free = self._free("option0")
                committed = [g.committed_today for g in groups]
                target, self._rr_next = routing.route_option0(
                    policy, self._fixed, free, committed, self._rr_next, self.draws.route_u(i, attempt))
                if self._cap["option0"] < 1.0 and free[target] == 0:
                    target = self._fixed  # no free line under the cap: the default province
        else:
            dialled = target = self._home[i]
        if not self._overflow_on:  # (the default: no look-up of the overflow settings)
            return dialled, target
        ov = self.scn.phone.overflow
        if not groups[target].has_free_line() and (
            ov.when == "always" or int(self.env.now // DAY_S) in self._peak_days
        ) and routing.in_peak_moment(self.env.now, self.scn.horizon.start.weekday(), self._ov_weekdays,
                                     self._ov_span):
            free = self._free("overflow")
            committed = [g.committed_today for g in groups]
            other = routing.overflow_target(target, ov.policy, free, self._neighbours[target], committed,
                                            self.draws.route_u(i, attempt))
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
        if now >= self._open_until:  # the opening state changed since the last attempt
            self._open_now, self._open_until = self.cal.phone_open.state_at(now)
        if not self._open_now:
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
