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
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import simpy

from sim.config.capacity import Availability
from sim.config.distributions import sampler
from sim.model.calendar import DAY_S, StepFunction

_ALL = 10**6  # "every staffed line" in a block count (capped by lines(t))


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
        self.mask = 0  # bit k: slot k's counsellor is away (random absence)
        self._end = n_days * DAY_S  # the calendar's end: the processes stop there
        self._away_s = sampler(cfg.away_min)
        slots = int(lines.values.max()) if len(lines.values) else 0
        for k in range(slots):
            env.process(self._slot(k))
        if len(self.blocks.times):
            env.process(self._block_changes())

    def away(self, t: float, n: int | None = None) -> int:
        """Counsellors away at ``t``; ``n``: the staffed lines at ``t`` when the caller
        has looked them up already (``lines(t)``)."""
        if n is None:
            n = self.lines(t)
        if n == 0:
            return 0
        random = (self.mask & ((1 << n) - 1)).bit_count()
        return min(n, self.blocks(t) + random)

    def _record(self) -> None:
        self.log.away_change(self.index, self.env.now, self.blocks(self.env.now), self.mask)

    def _at_line_mean_s(self) -> float | None:
        """Mean period at the line for a counsellor back now (None: never away)."""
        day = self.start + dt.timedelta(days=int(self.env.now // DAY_S))
        share = self.cfg.share_on(day, self.province)
        if share >= 1.0:
            return None
        return self._away_s_mean * share / (1.0 - share)

    @property
    def _away_s_mean(self) -> float:
        return self.cfg.away_min.mean_min * 60.0

    def _slot(self, k: int):
        env, bit = self.env, 1 << k
        while env.now < self._end:
            mean = self._at_line_mean_s()
            if mean is None:  # always at the line today: look again tomorrow
                yield env.timeout((env.now // DAY_S + 1) * DAY_S - env.now)
                continue
            yield env.timeout(float(self.rng.exponential(mean)))
            if env.now >= self._end:
                break
            self.mask |= bit
            self._record()
            self.group_lines.counsellor_left()
            yield env.timeout(float(self._away_s(self.rng, 1)[0]))
            self.mask &= ~bit
            self._record()
            self.group_lines.counsellor_returned()

    def _block_changes(self):
        env, before = self.env, 0
        for t, v in zip(self.blocks.times.tolist(), self.blocks.values.tolist(), strict=True):
            if t > env.now:
                yield env.timeout(t - env.now)
            self._record()
            if v < before:  # counsellors back from a block: waiting work may start
                self.group_lines.counsellor_returned()
            else:
                self.group_lines.counsellor_left()
            before = v
