"""The answering machine: messages left after a busy tone and the callbacks that return them.

A :class:`Message` is created when a caller who heard a busy tone leaves one. It waits
in a mailbox (per province or central) until a free line of the right province returns
it under the policy of ``sim.config.Callbacks``. Each message ends in exactly one
state, recorded when it is reached:

- ``no_number``: left without a usable number; it cannot be returned;
- ``callback``: a callback reached the caller;
- ``answered_by_redial``: the caller got through on their own first;
- ``abandoned``: ``max_tries`` callbacks failed to reach the caller;
- ``expired``: not returned within ``expire_after_h`` (only with that setting); an
  expired message is never tried again (a try already holding a line at the expiry
  instant is finished, and the message expires when it ends);
- ``pending``: still waiting when the simulation ran out of calendar.

Whether a message was still pending *at the horizon end* is decided at metric time from
its ``left_at`` and ``resolved_at`` instants (habit 2).
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass, field

import numpy as np
import simpy

from sim.config import PROVINCES, Callbacks, Scenario
from sim.model.calendar import (
    TAIL_DAYS,
    StepFunction,
    lines_over_time,
    shared_closed_days,
)
from sim.model.fastpath import timeout_or
from sim.model.lines import LineGroup
from sim.model.tail import staffed_until

NO_NUMBER = "no_number"
CALLBACK = "callback"
ANSWERED_BY_REDIAL = "answered_by_redial"
ABANDONED = "abandoned"
EXPIRED = "expired"
PENDING = "pending"
MESSAGE_STATES = (NO_NUMBER, CALLBACK, ANSWERED_BY_REDIAL, ABANDONED, EXPIRED, PENDING)


def message_decision(decision: str, p_message: float, p_number: float, left_before: bool,
                     open_message: bool, u_caller: float, u_number: float, u_tone: float,
                     u_tone_number: float) -> tuple[bool, bool]:
    """(leaves a message, the message has a usable number) after a busy tone.

    ``once_per_caller``: only a caller who has left none yet, by their own draws
    (``u_caller``, ``u_number``: the same at every busy tone, so in effect decided at
    the first). ``every_busy_tone``: a caller without an open message, by the draws of
    this busy tone (``u_tone``, ``u_tone_number``). A message is left when its draw is
    below ``p_message``; it has a number when the number draw is below ``p_number``.
    """
    if decision == "once_per_caller":
        if left_before or not u_caller < p_message:
            return False, False
        return True, bool(u_number < p_number)
    if open_message or not u_tone < p_message:
        return False, False
    return True, bool(u_tone_number < p_number)


def reach_probability(base: float, age_s: float, half_life_h: float | None) -> float:
    """Chance that a callback try reaches the caller, for a message ``age_s`` seconds old.

    ``base`` (a probability) halves every ``half_life_h`` hours of age; None: no fading.
    Never above ``base`` for a non-negative age.
    """
    if half_life_h is None:
        return base
    return base * 0.5 ** (max(age_s, 0.0) / (half_life_h * 3600.0))


@dataclass(eq=False)
class Message:
    """One message on the answering machine (``caller`` indexes the phone callers)."""

    id: int
    caller: int
    group: int  # province whose busy tone led to the message
    mailbox: int  # mailbox index (the province, or 0 for a central mailbox)
    left_at: float
    done: simpy.Event  # succeeds with the final state
    eligible_at: float = 0.0
    tries: int = 0
    in_progress: bool = False
    state: str | None = field(default=None)
    queued: bool = True  # still in its mailbox (heap entries of a removed one are stale)
    expires_at: float = math.inf  # instant (s) after which it is never tried


def dedicated_lines(scn: Scenario) -> dict[str, StepFunction] | None:
    """Staffed dedicated callback lines per province over time (None: none configured).

    ``callbacks.dedicated.lines`` in its ``hours`` for the provinces it serves, zero
    elsewhere and on the days the calendar closes; over the horizon and its tail.
    """
    ded = scn.phone.answering_machine.callbacks.dedicated
    if ded is None:
        return None
    start, n_days = scn.horizon.start, scn.horizon.days + TAIL_DAYS
    closed = shared_closed_days(start, n_days, scn.calendar)
    return {p: lines_over_time(start, n_days, ded.hours, closed, ded.lines if ded.serves(p) else 0)
            for p in PROVINCES}


class CallbackDesk:
    """Mailboxes and the staff who return messages, for the phone line groups.

    ``log.message(...)`` and ``log.callback(...)`` receive the records. ``draws`` holds
    per-caller pre-drawn numbers: ``reach_u[i, k]``, ``failed_s[i, k]`` and
    ``spacing_s[i, k]`` for try k of caller i's message, and ``talk_s``/``wrap_s`` for a
    successful callback. Idle requirements belong to line groups, not callers: they come
    from their own stream (``idle_rng``).

    Each mailbox is indexed so that a decision costs O(log n) in the number of waiting
    messages, not O(n): ``boxes[b]`` (a dict, id -> message, in the order left) holds
    every open message; ``_ready[b]``, a heap keyed by ``(left_at, id)``, the messages that
    may be returned now; ``_later[b]``, a heap keyed by ``(eligible_at, id)``, those
    waiting out the spacing after a failed try. A message being tried is in neither.
    Removal is lazy: a message closed while in a heap is skipped when it reaches the top
    (``queued`` is False). The decisions are those of scanning the whole mailbox: the
    oldest eligible message (smallest ``left_at``, then the first left) and the earliest
    ``eligible_at`` still to come.

    Dedicated callback lines (``dedicated``: staffed lines per province, see
    :func:`dedicated_lines`) are line groups of their own, logged as group
    ``len(PROVINCES) + province index``; a free one returns the oldest eligible message
    of a mailbox it serves at once, before any live line is considered.
    """

    def __init__(self, env: simpy.Environment, cfg: Callbacks, central: bool, groups, callers,
                 idle_rng: np.random.Generator, idle_sampler, log,
                 dedicated: dict[str, StepFunction] | None = None):
        self.env = env
        self.cfg = cfg
        self.central = central
        self.groups = groups
        self.callers = callers
        self.log = log
        self._idle_rng, self._idle_sampler = idle_rng, idle_sampler
        n_boxes = 1 if central else len(groups)
        self.boxes: list[dict[int, Message]] = [{} for _ in range(n_boxes)]
        self._ready: list[list[tuple[float, int, Message]]] = [[] for _ in range(n_boxes)]
        self._later: list[list[tuple[float, int, Message]]] = [[] for _ in range(n_boxes)]
        self._wake: list[simpy.Event] = [env.event() for _ in range(n_boxes)]
        # True while mailbox b's desk waits for a wake-up alone (no timer running).
        self._idle = [False] * n_boxes
        self._idle_req: dict[int, tuple[float, float]] = {}
        self.messages: list[Message] = []
        self.engaged: set[int] = set()  # callers waiting in a line group's queue now
        self._closed = False
        self.dedicated_lines = dedicated
        self._live = cfg.dedicated is None or cfg.dedicated.live_lines
        self.dedicated_groups = [] if dedicated is None else [
            LineGroup(env, len(PROVINCES) + i, dedicated[p], 0) for i, p in enumerate(PROVINCES)]
        for g in (*groups, *self.dedicated_groups):
            g.listen(self._line_changed)
        for b in range(n_boxes):
            env.process(self._desk(b))
        # For the end of the run's tail (sim.model.tail): who is told when a message is
        # resolved or a callback try ends (``on_change()``; None: nobody), and per mailbox
        # the instant from which none of the lines that return its messages is staffed.
        self.on_change = None
        self._serving_until: list[float] | None = None

    # --- caller side --------------------------------------------------------------------

    def leave(self, caller: int, group: int, with_number: bool) -> Message:
        """Record a message; one without a number is closed at once as ``no_number``."""
        env = self.env
        box = 0 if self.central else group
        msg = Message(len(self.messages), caller, group, box, env.now, env.event(), env.now)
        self.messages.append(msg)
        if not with_number:
            self._resolve(msg, NO_NUMBER)
            return msg
        if self.cfg.expire_after_h is not None:
            after = self.cfg.expire_after_h * 3600.0
            msg.expires_at = msg.left_at + after
            env.timeout(after).callbacks.append(lambda _event, msg=msg: self._expire(msg))
        self.boxes[box][msg.id] = msg
        heapq.heappush(self._ready[box], (msg.left_at, msg.id, msg))
        self._kick(box)
        return msg

    def caller_got_through(self, msg: Message) -> None:
        """The caller reached a counsellor by redialling: no callback is needed."""
        if msg.state is None and not msg.in_progress:
            self._unqueue(msg)
            self._resolve(msg, ANSWERED_BY_REDIAL)
        elif msg.state is None:
            # A failed callback try is holding a line right now; close it when it ends.
            msg.state = ANSWERED_BY_REDIAL

    def _expire(self, msg: Message) -> None:
        """``expire_after_h`` has passed since ``msg`` was left."""
        if msg.state is not None:
            return  # closed already (or closing when its failed try ends)
        if msg.in_progress:
            msg.state = EXPIRED  # a failed try holds a line now; close it when it ends
            return
        self._unqueue(msg)
        self._resolve(msg, EXPIRED)

    def finish(self) -> None:
        """At the end of the simulation: every message still open is ``pending``; the
        desk processes end (so nothing is left in reference cycles)."""
        self._closed = True
        for b, box in enumerate(self.boxes):
            for msg in list(box.values()):
                msg.queued = False
                self._resolve(msg, PENDING)
            box.clear()
            self._ready[b].clear()
            self._later[b].clear()
            self._kick(b)
        for g in self.dedicated_groups:  # break the line -> listener -> desk cycle
            g.clear_listeners()

    # --- staff side ---------------------------------------------------------------------

    def _unqueue(self, msg: Message) -> None:
        """Take ``msg`` out of its mailbox (its heap entry, if any, goes stale)."""
        del self.boxes[msg.mailbox][msg.id]
        msg.queued = False

    def _resolve(self, msg: Message, state: str) -> None:
        msg.state = state
        self.log.message(msg.id, msg.caller, msg.group, msg.left_at, state, self.env.now, msg.tries)
        msg.done.succeed(state)
        if self.on_change is not None:
            self.on_change()

    def settles_from(self) -> float:
        """The instant from which no open message can change any more before
        :meth:`finish` (it would only be marked ``pending`` there): no callback try is
        holding a line for it, it cannot expire, its spacing after a failed try has run
        out and no line that returns its mailbox's messages is staffed from then on.
        inf while a try is going on, a message may still expire or its spacing still
        runs (their end tells ``on_change``); -inf when no message is open
        (sim.model.tail). Every finite value is a staffing change's instant."""
        if self._serving_until is None:
            until = []
            for b in range(len(self.boxes)):
                live = (self.groups if self.central else [self.groups[b]]) if self._live else []
                ded = self.dedicated_groups if self.central else self.dedicated_groups[b:b + 1]
                until.append(max([staffed_until(g.lines) for g in (*live, *ded)], default=-math.inf))
            self._serving_until = until
        latest = -math.inf
        for b, box in enumerate(self.boxes):
            if not box:
                continue
            latest = max(latest, self._serving_until[b])
            now = self.env.now
            for msg in box.values():
                # (Spacing still running: the desk's timer tells on_change when it ends.)
                if (msg.in_progress or msg.state is not None or msg.expires_at != math.inf
                        or msg.eligible_at > now):
                    return math.inf
        return latest

    def _kick(self, box: int) -> None:
        if not self._wake[box].triggered:
            self._wake[box].succeed()

    def _line_changed(self, group) -> None:
        box = 0 if self.central else group.index % len(PROVINCES)
        if self._idle[box] and not self.boxes[box]:
            # Nothing to return and no timer to renew: woken, the desk would only wait
            # again (an empty mailbox's heaps hold only closed messages). Skipping the
            # wake-up changes no result; it saves an event and a resume at most line
            # releases (13,000 of 18,000 per 2020 year; issue 16).
            return
        self._kick(box)

    def _candidates(self, box: int) -> list:
        if not self._live:
            return []
        groups = self.groups if self.central else [self.groups[box]]
        # A waiting caller comes before a callback.
        return [g for g in groups if g.has_free_line() and not g.queue]

    def _free_dedicated(self, box: int):
        """A free dedicated line for mailbox ``box`` (most free lines, then the least
        line time committed today, then the province order), or None."""
        if not self.dedicated_groups:
            return None
        groups = self.dedicated_groups if self.central else [self.dedicated_groups[box]]
        free = [g for g in groups if g.has_free_line()]
        if not free:
            return None
        return min(free, key=lambda g: (-g.free_lines(), g.committed_today, g.index))

    def _ready_at(self, group, oldest: Message) -> float:
        """Earliest time the policy lets ``group`` return ``oldest`` (given free lines)."""
        now = self.env.now
        if self.cfg.policy == "immediate":
            return now
        since = group.idle_since if group.idle_since is not None else now
        # One idle requirement per idle period of the group (drawn when first needed).
        key, req = self._idle_req.get(group.index, (None, 0.0))
        if key != since:
            req = float(self._idle_sampler(self._idle_rng, 1)[0])
            self._idle_req[group.index] = (since, req)
        ready = since + req
        if self.cfg.policy == "target_delay":
            ready = min(ready, oldest.left_at + self.cfg.target_delay_min * 60.0)
        return max(ready, now)

    def _desk(self, box: int):
        """Return the messages of one mailbox, one decision at a time."""
        env = self.env
        ready, later = self._ready[box], self._later[box]
        heappop, heappush = heapq.heappop, heapq.heappush
        while not self._closed:
            self._wake[box] = env.event()
            now = env.now
            # Messages whose spacing has run out become eligible (stale entries dropped).
            if later and later[0][0] <= now:
                while later and later[0][0] <= now:
                    msg = heappop(later)[2]
                    if msg.queued:
                        heappush(ready, (msg.left_at, msg.id, msg))
                if self.on_change is not None:  # (a message may have become settled)
                    self.on_change()
            while ready and not ready[0][2].queued:
                heappop(ready)
            timers = []
            if ready:
                oldest = ready[0][2]
                dedicated = self._free_dedicated(box)
                if dedicated is not None:
                    heappop(ready)
                    self._call(oldest, dedicated)
                    continue
                groups = self._candidates(box)
                if groups:
                    # Central mailbox: the province with most free lines, least busy today.
                    groups.sort(key=lambda g: (-g.free_lines(), g.committed_today, g.index))
                    group = groups[0]
                    ready_at = self._ready_at(group, oldest)
                    if ready_at <= now:
                        heappop(ready)
                        self._call(oldest, group)
                        continue
                    timers.append(ready_at - now)
            while later and not later[0][2].queued:
                heappop(later)
            if later:
                # (min(e) - now == min(e - now) exactly: rounding is monotonic.)
                timers.append(later[0][0] - now)
            if timers:
                yield timeout_or(env, min(timers), self._wake[box])
            else:
                self._idle[box] = True
                yield self._wake[box]
                self._idle[box] = False

    def _call(self, msg: Message, group) -> None:
        cfg, c = self.cfg, self.callers
        now = self.env.now
        if now >= msg.expires_at:  # its expiry falls at this very instant
            self._unqueue(msg)
            self._resolve(msg, EXPIRED)
            return
        k = msg.tries
        msg.tries += 1
        # A caller who is on the phone with us right now (waiting in a queue) is engaged.
        engaged = msg.caller in self.engaged
        p = reach_probability(cfg.reach_probability, now - msg.left_at, cfg.reach_half_life_h)
        reached = bool(c.reach_u[msg.caller, k] < p) and not engaged
        hold = float(c.talk_s[msg.caller] + c.wrap_s[msg.caller]) if reached else float(c.failed_s[msg.caller, k])
        group.seize(hold)
        self.log.callback(msg.id, msg.caller, msg.tries, self.env.now, group.index, reached, hold)
        if reached:
            self._unqueue(msg)
            self._resolve(msg, CALLBACK)
        else:
            msg.in_progress = True
        self.env.process(self._hold(msg, group, hold, reached))

    def _hold(self, msg: Message, group, hold: float, reached: bool):
        yield self.env.timeout(hold)
        group.release()
        if reached:
            return
        msg.in_progress = False
        if msg.state is not None:  # the caller got through, or it expired, during this try
            state, msg.state = msg.state, None
            self._unqueue(msg)
            self._resolve(msg, state)
        elif msg.tries >= self.cfg.max_tries:
            self._unqueue(msg)
            self._resolve(msg, ABANDONED)
        else:
            msg.eligible_at = self.env.now + float(self.callers.spacing_s[msg.caller, msg.tries - 1])
            heapq.heappush(self._later[msg.mailbox], (msg.eligible_at, msg.id, msg))
        self._kick(msg.mailbox)
        if self.on_change is not None:
            self.on_change()
