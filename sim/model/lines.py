"""A line group: the staffed lines of one province, with an optional waiting room."""

from __future__ import annotations

from collections import deque

import simpy

from sim.model.calendar import (
    DAY_S,
    StepFunction,
)
from sim.model.eventlog import (
    ANSWERED,
    CLOSED_IN_QUEUE,
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
        # Since when the group has had at least one free line (None while fully busy or
        # closed): the callback policy "after the line has been idle for some minutes".
        self.idle_since: float | None = None
        env.process(self._staffing_changes())

    def free_lines(self) -> int:
        return max(self.lines(self.env.now) - self.busy, 0)

    def has_free_line(self) -> bool:
        return self.busy < self.lines(self.env.now)

    def listen(self, callback) -> None:
        """Call ``callback(group)`` whenever a line is released or staffing rises."""
        self._listeners.append(callback)

    def clear_listeners(self) -> None:
        self._listeners.clear()

    def seize(self, hold_s: float) -> None:
        """Take a line for work that will hold it ``hold_s`` seconds."""
        day = int(self.env.now // DAY_S)
        if day != self._day:
            self._day, self.committed_today = day, 0.0
        self.committed_today += hold_s
        self.busy += 1
        if not self.has_free_line():
            self.idle_since = None

    def release(self) -> None:
        self.busy -= 1
        self._serve_waiting()
        self._mark_idle()
        self._notify()

    def _mark_idle(self) -> None:
        if not self.has_free_line():
            self.idle_since = None
        elif self.idle_since is None:
            self.idle_since = self.env.now

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
            self._mark_idle()
            if v > 0:
                self._notify()


