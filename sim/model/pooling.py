"""Recent occupancy of a line group, for the human limits on pooling (``phone.pooling``).

An ACD-like view the routing decision reads (as ``committed_today`` is): the share of
the last ``window_s`` seconds that the group's counsellors at the line spent busy,
``integral of min(busy, at_line) / integral of at_line`` over ``[now - window_s, now]``
(NaN-free: 0 when nobody was at the line). The line group reports each change of its
busy lines or lines at the line; between two reports both are constant, so the
integral is exact. This is a decision input, not a KPI (KPIs come from the event log).
"""

from __future__ import annotations

from collections import deque


class RecentOccupancy:
    """Busy and at-the-line lines of one group as step functions over a sliding window."""

    def __init__(self, window_s: float):
        self.window_s = window_s
        self._steps: deque[tuple[float, int, int]] = deque()  # (from, busy, at_line)

    def record(self, now: float, busy: int, at_line: int) -> None:
        if self._steps and self._steps[-1][0] == now:
            self._steps.pop()
        self._steps.append((now, busy, at_line))
        # Keep one step that starts at or before the window's start.
        while len(self._steps) > 1 and self._steps[1][0] <= now - self.window_s:
            self._steps.popleft()

    def occupancy(self, now: float) -> float:
        """Busy share of the time at the line in ``[now - window_s, now]``."""
        start = now - self.window_s
        busy_s = at_s = 0.0
        steps = list(self._steps)
        for k, (t, busy, at_line) in enumerate(steps):
            t0 = max(t, start)
            t1 = steps[k + 1][0] if k + 1 < len(steps) else now
            if t1 > t0:
                busy_s += min(busy, at_line) * (t1 - t0)
                at_s += at_line * (t1 - t0)
        return busy_s / at_s if at_s > 0 else 0.0
