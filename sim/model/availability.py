"""Counsellors at the line: random absences and scheduled blocks (``phone.availability``).

A province's staffed lines (``lines(t)``) each have a counsellor: line slot ``k`` is
staffed while ``lines(t) > k``. Each slot's counsellor alternates between a period at the
line (exponential, mean set by the share at the line) and a period away (``away_min``);
the process runs around the clock from its own named stream ``availability.<province>``,
and an absence costs capacity only while its slot is staffed. Scheduled blocks
(``AwayBlock``, e.g. a weekly case meeting) take ``counsellors`` of the staffed lines on
top (at most every staffed line).

Counsellors away at time t: ``away(t) = min(lines(t), blocks(t) + #{k < lines(t) away})``.
The line group answers new work only while ``busy < lines(t) - away(t)``. An away period
is counted from the time it is due: a counsellor on a call then finishes it (work is
never interrupted) and is away for the rest of the period; the overrun shows as busy
time beyond the lines at the line. So an away counsellor never starts new work.

The model records every change of the away state (``EventLog.away``) and computes
nothing from it; ``sim.results.capacity`` turns the record into hours.

Cost (issue 16): lines are staffed about 45 of the 168 hours of a week, so most changes
happen while nobody reads them. The slots' changes are generated in pure Python, with
the same draws in the same order as one SimPy process per slot would make them (see
``Counsellors._trajectory``); a SimPy event is spent only on a change while the group
has a staffed line (then the line group is told, as before). A change while no line is
staffed has no effect on the line group (it has no free line, its ``idle_since`` is
already None and the recent occupancy has nothing at the line then), so it is applied
lazily, before the away state is next read (``away`` with staffed lines, or a record),
and recorded with its own time. Results are bit-identical to the process per slot
(``tests/test_availability.py`` compares the two record for record). A province's away
records stay in time order; between provinces, ``EventLog.away`` may list them in
another order than before (``sim.results.capacity`` reads each group by time).
"""

from __future__ import annotations

import datetime as dt
import heapq
import math
from collections import deque

import numpy as np
import simpy

from sim.config.capacity import Availability
from sim.config.distributions import Exponential, sampler
from sim.model.calendar import DAY_S, StepFunction
from sim.model.tail import delay_to as _delay_to

_ALL = 10**6  # "every staffed line" in a block count (capped by lines(t))
_TOP, _LEAVE, _BACK = 0, 1, 2  # a slot at the top of its loop, leaving, coming back


def block_counsellors(start: dt.date, n_days: int, province: str, cfg: Availability) -> StepFunction:
    """Counsellors of ``province`` in a scheduled block over time (``_ALL`` for "all")."""
    from sim.config.calendar import parse_interval

    delta: dict[float, int] = {}
    for d in range(n_days):
        day = start + dt.timedelta(d)
        for b in cfg.blocks:
            if b.applies(day, province):
                a, e = parse_interval(b.hours)
                n = _ALL if b.counsellors == "all" else b.counsellors
                delta[d * DAY_S + a * 60.0] = delta.get(d * DAY_S + a * 60.0, 0) + n
                delta[d * DAY_S + e * 60.0] = delta.get(d * DAY_S + e * 60.0, 0) - n
    times = sorted(t for t, v in delta.items() if v != 0)
    values = np.cumsum([delta[t] for t in times]).astype(int) if times else np.zeros(0, int)
    return StepFunction(np.asarray(times, dtype=float), np.asarray(values, dtype=int))


class Counsellors:
    """The counsellors of one province's line group: who is away, and when they change.

    ``away(t)``: counsellors away among the staffed lines at ``t`` (see the module
    docstring). The line ``group`` is told when counsellors leave
    (``counsellor_left``) and when they may have come back (``counsellor_returned``:
    an absence or a block ends), so waiting work can start. Each change is recorded as
    ``log.away_change(group, at, in_block, away_mask)`` (``away_mask``: bit k set while
    slot k's counsellor is away).
    """

    def __init__(self, env: simpy.Environment, index: int, province: str, lines: StepFunction,
                 start: dt.date, n_days: int, cfg: Availability, rng: np.random.Generator,
                 log, group):
        self.env = env
        self.index = index
        self.province = province
        self.lines = lines
        self.start = start
        self.cfg = cfg
        self.rng = rng
        self.log = log
        self.group_lines = group
        self.blocks = block_counsellors(start, n_days, province, cfg)
        self._has_blocks = len(self.blocks.times) > 0
        self.mask = 0  # bit k: slot k's counsellor is away (random absence); pending changes aside
        self._end = n_days * DAY_S  # the calendar's end: the slots stop there
        self._away_s = sampler(cfg.away_min)
        self._mean_of_day: dict[int, float | None] = {}  # day index -> _at_line_mean_s
        # Changes (at, bit, away) made while no line was staffed, not yet applied to
        # ``mask`` (in time order); ``_pending_from``: the first one's time (inf: none).
        self._pending: deque[tuple[float, int, bool]] = deque()
        self._pending_from = math.inf
        self._last_s = 0.0  # the slots' last event (set when the trajectory ends)
        # For an early end of the run (``finish_early``): the trajectory being walked, the
        # staffed change the process waits for, and the block changes recorded so far.
        self._traj = None
        self._next: tuple[float, int, bool] | None = None
        self._block_i = 0
        slots = int(lines.values.max()) if len(lines.values) else 0
        if slots:
            env.process(self._changes(slots))
        if self._has_blocks:
            env.process(self._block_changes())

    def away(self, t: float, n: int | None = None) -> int:
        """Counsellors away at ``t`` (the current time); ``n``: the staffed lines at
        ``t`` when the caller has looked them up already (``lines(t)``)."""
        if n is None:
            n = self.lines(t)
        if n == 0:
            return 0
        if t > self._pending_from:  # changes made while no line was staffed
            self._apply_pending(t)
        random = (self.mask & ((1 << n) - 1)).bit_count()  # at most n
        return min(n, self.blocks(t) + random) if self._has_blocks else random

    def _record(self) -> None:
        now = self.env.now
        if now > self._pending_from:
            self._apply_pending(now)
        self.log.away_change(self.index, now, self.blocks(now) if self._has_blocks else 0, self.mask)

    def _apply_pending(self, t: float) -> None:
        """Apply (and record, each at its own time) the pending changes before ``t``."""
        pending, mask, blocks = self._pending, self.mask, self.blocks
        while pending and pending[0][0] < t:
            at, bit, away = pending.popleft()
            mask = mask | bit if away else mask & ~bit
            self.log.away_change(self.index, at, blocks(at) if self._has_blocks else 0, mask)
        self.mask = mask
        self._pending_from = pending[0][0] if pending else math.inf

    def _at_line_mean_s(self, t: float) -> float | None:
        """Mean period at the line for a counsellor back at ``t`` (None: never away that
        day); the share is looked up once per day."""
        d = int(t // DAY_S)
        try:
            return self._mean_of_day[d]
        except KeyError:
            pass
        share = self.cfg.share_on(self.start + dt.timedelta(days=d), self.province)
        mean = None if share >= 1.0 else self._away_s_mean * share / (1.0 - share)
        self._mean_of_day[d] = mean
        return mean

    @property
    def _away_s_mean(self) -> float:
        return self.cfg.away_min.mean_min * 60.0

    def _trajectory(self, slots: int):
        """Yield every change ``(at, bit, away)`` of slots ``0..slots-1``, in time order.

        The same draws, in the same order, as one SimPy process per slot running

            while now < end:
                mean = _at_line_mean_s(now)
                if mean is None: wait until the next midnight; continue
                wait exponential(mean); if now >= end: stop
                leave; wait away_min; come back

        from the shared stream: a heap keyed as SimPy's event queue, (time, priority,
        order of scheduling), with the slots starting in order at time 0. Sets
        ``_last_s`` (the slots' last event) when it ends.
        """
        rng, end, mean_at = self.rng, self._end, self._at_line_mean_s
        if isinstance(self.cfg.away_min, Exponential):  # every draw is scale x standard exponential
            std, away_scale = _standard_exponentials(rng), self.cfg.away_min.mean * 60.0

            def at_line_s(mean: float) -> float:
                return mean * next(std)

            def away_s() -> float:
                return away_scale * next(std)
        else:
            def at_line_s(mean: float) -> float:
                return float(rng.exponential(mean))

            def away_s() -> float:
                return float(self._away_s(rng, 1)[0])
        # (time, priority: 0 start / 1 timeout, sequence, slot, what happens then)
        heap = [(0.0, 0, k, k, _TOP) for k in range(slots)]
        seq, last = slots, 0.0
        while heap:
            t, _, _, k, what = heapq.heappop(heap)
            if what == _LEAVE:
                if t >= end:
                    last = max(last, t)
                    continue
                yield t, 1 << k, True
                heapq.heappush(heap, (t + away_s(), 1, seq, k, _BACK))
                seq += 1
                continue
            if what == _BACK:
                yield t, 1 << k, False
            if t >= end:  # the top of the loop
                last = max(last, t)
                continue
            mean = mean_at(t)
            if mean is None:  # always at the line today: look again tomorrow
                heapq.heappush(heap, (t + ((t // DAY_S + 1) * DAY_S - t), 1, seq, k, _TOP))
            else:
                heapq.heappush(heap, (t + at_line_s(mean), 1, seq, k, _LEAVE))
            seq += 1
        self._last_s = last

    def _changes(self, slots: int):
        """Wake for the changes while a line is staffed; keep the others pending."""
        env, group, lines, pending = self.env, self.group_lines, self.lines, self._pending
        self._traj = traj = self._trajectory(slots)
        for at, bit, away in traj:
            if lines(at) == 0:  # no line staffed: nobody is told
                if not pending:
                    self._pending_from = at
                pending.append((at, bit, away))
                continue
            self._next = (at, bit, away)
            yield env.timeout(_delay_to(env.now, at))
            self._next = None
            if pending:  # every pending change comes before this one
                self._apply_pending(math.inf)
            if away:
                self.mask |= bit
                self._record()
                group.counsellor_left()
            else:
                self.mask &= ~bit
                self._record()
                group.counsellor_returned()
        # End where the slots' processes ended (the clock the run stops at, which the
        # callback desk's finish reads), then record what is left.
        if self._last_s > env.now:
            yield env.timeout(_delay_to(env.now, self._last_s))
        self._apply_pending(math.inf)

    def finish_early(self) -> float:
        """The run stops before the calendar's end (sim.model.tail): record every change
        the processes would still have recorded, and return the instant at which they
        would have ended (-inf: none runs).

        Each province's records are the ones the full run makes, in the same order: the
        slots' changes in time order, each block change after the changes before it
        (``_apply_pending`` records a change as the process would, with its own time and
        the mask after it). Only valid when nothing is in flight: then no line group
        has work or a queue, so a change tells nobody anything and records nothing more.
        """
        end = -math.inf
        pending = self._pending
        if self._traj is not None:
            if self._next is not None:  # drawn already; every pending change is earlier
                pending.append(self._next)
                self._next = None
            pending.extend(self._traj)  # the rest of the trajectory (sets _last_s)
            self._pending_from = pending[0][0] if pending else math.inf
            end = self._last_s
        if self._has_blocks:
            times = self.blocks.times.tolist()
            clock, reached = 0.0, []
            for t in times:  # the instants the block process reaches (sim.model.tail)
                if t > clock:
                    clock = clock + (t - clock)
                reached.append(clock)
            for at in reached[self._block_i:]:
                self._apply_pending(at)
                self.log.away_change(self.index, at, self.blocks(at), self.mask)
            self._block_i = len(times)
            if reached:
                end = max(end, reached[-1])
        self._apply_pending(math.inf)
        return end

    def _block_changes(self):
        env, before = self.env, 0
        for t, v in zip(self.blocks.times.tolist(), self.blocks.values.tolist(), strict=True):
            if t > env.now:
                yield env.timeout(t - env.now)
            self._record()
            self._block_i += 1
            if v < before:  # counsellors back from a block: waiting work may start
                self.group_lines.counsellor_returned()
            else:
                self.group_lines.counsellor_left()
            before = v


def _standard_exponentials(rng: np.random.Generator, batch: int = 1024):
    """``rng``'s standard exponential draws one at a time, drawn ``batch`` at a time.

    ``scale * next(...)`` is the value ``float(rng.exponential(scale))`` (or
    ``rng.exponential(scale, 1)[0]``) would give at the same point of the stream: numpy
    draws ``scale * standard_exponential()`` either way and fills an array one draw
    after the other. Draws beyond the last one used are never read (the stream is the
    province's own). The test against one process per slot checks the equality.
    """
    while True:
        yield from rng.standard_exponential(batch).tolist()
