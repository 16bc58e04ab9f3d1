"""A line group: staffed lines with one FIFO waiting room and one staffing mechanism.

Used for the phone lines of each province and for the pool of chat lines: both follow
the same rules (a free line answers at once, else the FIFO queue if it has room, new
lines serve the queue at once, the queue is sent away when staffing falls to zero, a
fall in staffing never interrupts work).
"""

from __future__ import annotations

import heapq
import math
from bisect import bisect_right
from collections import deque

import simpy

from sim.model.calendar import (
    DAY_S,
    StepFunction,
)

# How a wait in a line group's queue ends (also attempt outcomes in sim.model.eventlog,
# which takes them from here: this module is below the logs, which import the chat model).
ANSWERED = "answered"  # a line took the work
CLOSED_IN_QUEUE = "closed_in_queue"  # still waiting when staffing fell to zero


class LineGroup:
    """Staffed lines (one province's phone lines, or the chat lines) with a waiting room.

    ``busy`` counts lines in use (calls, callbacks, blended e-mails, chats); the number
    staffed at time t is ``lines(t)``. A fall in staffing never interrupts work: the line
    is freed when the work ends. Other parts of the model (callbacks, e-mail blending)
    ``listen`` to be told when a line may have become free.

    Waiting: an entry ``(event, hold_s)`` appended to ``queue`` (room: ``queue_cap``) is
    answered FIFO; its event succeeds with ``ANSWERED`` (in a numbered group: the number
    of the line that answers) or with ``CLOSED_IN_QUEUE`` when staffing falls to zero.
    Whoever waits removes their own entry when they give up.

    Numbered lines (``numbered=True``, the chat pool, whose log names the line): lines are
    numbered 0, 1, ... and ``seize`` takes the lowest free number, which is always a
    staffed one (fewer lines are busy than staffed, so one of 0..lines(t)-1 is free; a
    number above that may still be finishing work after a fall in staffing). The holder
    gives the number back with ``release(line)``. Phone groups are not numbered (no KPI
    needs the line, and the callback desk releases without a number): ``seize`` returns -1.
    """

    def __init__(
        self,
        env: simpy.Environment,
        index: int,
        lines: StepFunction,
        queue_cap: int,
        numbered: bool = False,
    ):
        self.env = env
        self.index = index
        self.lines = lines
        # The staffing steps as Python lists, and the value in force now with the instant
        # of the next change: the model asks "lines now?" at almost every event (225,000
        # times per 2020 year) and time never goes back, so a look-up is one comparison
        # and a search only when a change has passed (issue 16). ``_staffed_now`` gives
        # exactly ``lines(now)`` (bisect_right: a change at ``now`` counts).
        self._line_t, self._line_v = lines._t, lines._v
        self._n = 0  # lines(t) for t before the first change
        self._n_until = self._line_t[0] if self._line_t else math.inf
        self.queue_cap = queue_cap
        self.numbered = numbered
        self.busy = 0
        self.queue: deque[tuple[simpy.Event, float]] = deque()  # (event, hold_s)
        # Numbered groups: numbers 0.._next_number-1 handed out before and given back
        # (a heap: the lowest comes first); every number from _next_number on is free.
        self._returned: list[int] = []
        self._next_number = 0
        self._listeners: list = []
        # Line time committed to work started today (seconds): the "least busy" routing
        # tie-break reads it, as an ACD would. Reset at the first seize of each day.
        self.committed_today = 0.0
        self._day = -1
        # Since when the group has had at least one free line (None while fully busy or
        # closed): the callback policy "after the line has been idle for some minutes".
        self.idle_since: float | None = None
        # Counsellors away from their staffed line (sim.model.availability), or None:
        # every staffed line has its counsellor at it (the default).
        self.counsellors = None
        # Busy share at the line over a recent window (sim.model.pooling), or None when
        # no routing decision reads it (the default).
        self.recent = None
        env.process(self._staffing_changes())

    def _staffed_now(self, now: float) -> int:
        """``lines(now)``, searched afresh; caches it until the next change."""
        t = self._line_t
        i = bisect_right(t, now)
        self._n = self._line_v[i - 1] if i > 0 else 0
        self._n_until = t[i] if i < len(t) else math.inf
        return self._n

    def at_line(self) -> int:
        """Lines whose counsellor is at the line now: staffed minus away (never negative)."""
        now = self.env.now
        n = self._n if now < self._n_until else self._staffed_now(now)  # = self.lines(now)
        if self.counsellors is None:
            return n
        return n - self.counsellors.away(now, n)

    def free_lines(self) -> int:
        return max(self.at_line() - self.busy, 0)

    def has_free_line(self) -> bool:
        # at_line() inlined: this runs at every arrival, release and queue check.
        now = self.env.now
        n = self._n if now < self._n_until else self._staffed_now(now)
        if self.counsellors is not None:
            n -= self.counsellors.away(now, n)
        return self.busy < n

    def counsellor_returned(self) -> None:
        """A counsellor is back at the line: serve the queue, tell the listeners."""
        self._record_recent()
        self._serve_waiting()
        if self._mark_idle():  # (a line is free: one look-up for both; issue 16)
            self._notify()

    def counsellor_left(self) -> None:
        """A counsellor went away (their line may still finish a call)."""
        self._record_recent()
        self._mark_idle()

    def _record_recent(self) -> None:
        if self.recent is not None:
            self.recent.record(self.env.now, self.busy, self.at_line())

    def listen(self, callback) -> None:
        """Call ``callback(group)`` whenever a line is released or staffing rises."""
        self._listeners.append(callback)

    def clear_listeners(self) -> None:
        self._listeners.clear()

    def seize(self, hold_s: float) -> int:
        """Take a free line for work that will hold it ``hold_s`` seconds.

        Returns the line's number in a numbered group (the lowest free one), else -1.
        """
        day = int(self.env.now // DAY_S)
        if day != self._day:
            self._day, self.committed_today = day, 0.0
        self.committed_today += hold_s
        self.busy += 1
        if self.recent is not None:  # (a call saved per seize when nothing reads it)
            self._record_recent()
        if not self.has_free_line():
            self.idle_since = None
        if not self.numbered:
            return -1
        if self._returned:
            return heapq.heappop(self._returned)
        self._next_number += 1
        return self._next_number - 1

    def release(self, line: int = -1) -> None:
        """Free a line (in a numbered group: line number ``line``, as ``seize`` gave it)."""
        if self.numbered:
            if not 0 <= line < self._next_number:
                raise ValueError(f"release({line}): not a line number handed out by seize")
            heapq.heappush(self._returned, line)
        self.busy -= 1
        if self.recent is not None:
            self._record_recent()
        self._serve_waiting()
        self._mark_idle()
        self._notify()

    def _mark_idle(self) -> bool:
        """Start or end the idle period; returns whether a line is free now."""
        if not self.has_free_line():
            self.idle_since = None
            return False
        if self.idle_since is None:
            self.idle_since = self.env.now
        return True

    def _notify(self) -> None:
        for callback in self._listeners:
            callback(self)

    def _serve_waiting(self) -> None:
        # FIFO: the longest-waiting caller gets the line that frees up.
        while self.queue and self.has_free_line():
            served, hold_s = self.queue.popleft()
            line = self.seize(hold_s)
            served.succeed(line if self.numbered else ANSWERED)

    def _staffing_changes(self):
        """Give new lines to waiting callers and listeners; send the queue away at closing."""
        # Python floats, not numpy scalars: they become SimPy's clock (bench/README.md).
        times, values = self.lines.times.tolist(), self.lines.values.tolist()
        for t, v in zip(times, values, strict=True):
            if t > self.env.now:
                yield self.env.timeout(t - self.env.now)
            self._record_recent()
            if v == 0:
                while self.queue:
                    self.queue.popleft()[0].succeed(CLOSED_IN_QUEUE)
            else:
                self._serve_waiting()
            self._mark_idle()
            if v > 0:
                self._notify()


