"""Opening hours, public holidays and staffed lines as step functions of time.

Time is seconds since the scenario start at 00:00 local time. Each day is 24 h: we do
not model daylight-saving shifts (opening hours are wall-clock times, so a 23-hour or
25-hour day would only move the night). The calendar extends past the horizon end so
that callers who redial after the last day still find the helpline's next opening.
"""

from __future__ import annotations

import bisect
import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass

import holidays as holidays_lib
import numpy as np

from sim.config import (
    PROVINCES,
    CalendarConfig,
    ExtraStaff,
    PhoneStaffing,
    WeeklyHours,
    parse_interval,
)
from sim.model.memo import MEMO, key

DAY_S = 86_400.0
HOUR_S = 3_600.0
# Days simulated beyond the horizon end so that pending redials can still reach a line.
TAIL_DAYS = 60


def closed_days(start: dt.date, n_days: int, cfg: CalendarConfig) -> set[dt.date]:
    """Dates (within ``n_days`` from ``start``) on which the helpline is closed all day."""
    days = {start + dt.timedelta(d) for d in range(n_days)}
    out: set[dt.date] = set()
    if cfg.holidays == "BE" and not cfg.open_on_holidays:
        years = sorted({d.year for d in days})
        out |= {d for d in holidays_lib.country_holidays("BE", years=years) if d in days}
    out |= {d for d in cfg.closed_dates if d in days}
    out -= set(cfg.open_dates)
    return out


def shared_closed_days(start: dt.date, n_days: int, cfg: CalendarConfig) -> frozenset[dt.date]:
    """:func:`closed_days`, made once per process for each (start, days, calendar)
    (:mod:`sim.model.memo`): every channel and replication of a scenario, and every
    scenario with the same calendar, ask for the same days (the holiday look-up is the
    slow part)."""
    return MEMO.get(key("closed_days", start, n_days, cfg), lambda: closed_days(start, n_days, cfg))


def per_hour(starts: np.ndarray, ends: np.ndarray, weights: np.ndarray, n_hours: int) -> np.ndarray:
    """Sum of ``weight x overlap`` of intervals ``[starts, ends)`` with each hour (seconds).

    Intervals are split at hour boundaries; anything at or after ``n_hours`` is dropped.
    """
    starts, ends = np.asarray(starts, float), np.asarray(ends, float)
    weights = np.broadcast_to(np.asarray(weights, float), starts.shape)
    keep = ends > starts
    starts, ends, weights = starts[keep], ends[keep], weights[keep]
    first = np.floor(starts / HOUR_S).astype(np.int64)
    last = np.floor(np.nextafter(ends, -np.inf) / HOUR_S).astype(np.int64)
    n = last - first + 1
    idx = np.repeat(np.arange(len(starts)), n)
    hour = np.repeat(first, n) + (np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n))
    lo = np.maximum(starts[idx], hour * HOUR_S)
    hi = np.minimum(ends[idx], (hour + 1) * HOUR_S)
    ok = (hour >= 0) & (hour < n_hours)
    return np.bincount(hour[ok], weights=((hi - lo) * weights[idx])[ok], minlength=n_hours)


@dataclass(frozen=True)
class OpenIntervals:
    """Sorted, disjoint open intervals ``[starts[i], ends[i])`` in seconds."""

    starts: np.ndarray
    ends: np.ndarray

    def __post_init__(self):
        object.__setattr__(self, "_s", self.starts.tolist())  # see StepFunction
        object.__setattr__(self, "_e", self.ends.tolist())

    def is_open(self, t: float) -> bool:
        i = bisect.bisect_right(self._s, t) - 1
        return i >= 0 and t < self._e[i]

    def state_at(self, t: float) -> tuple[bool, float]:
        """(``is_open(t)``, the first instant after ``t`` at which that may change): the
        state holds on ``[t, until)``, so a caller whose time only moves forward (the
        model) need not search again before ``until`` (inf: never changes again)."""
        i = bisect.bisect_right(self._s, t) - 1
        if i >= 0 and t < self._e[i]:
            return True, self._e[i]
        return False, (self._s[i + 1] if i + 1 < len(self._s) else math.inf)

    def next_open(self, t: float) -> float | None:
        """Earliest time >= t at which the channel is open (None past the calendar)."""
        i = bisect.bisect_right(self._s, t) - 1
        if i >= 0 and t < self._e[i]:
            return t
        if i + 1 < len(self._s):
            return self._s[i + 1]
        return None

    def open_seconds(self, t0: float, t1: float) -> float:
        """Open time within ``[t0, t1)``."""
        lo = np.clip(self.starts, t0, t1)
        hi = np.clip(self.ends, t0, t1)
        return float(np.sum(hi - lo))


def open_intervals(
    start: dt.date, n_days: int, hours: WeeklyHours, closed: set[dt.date]
) -> OpenIntervals:
    starts: list[float] = []
    ends: list[float] = []
    for d in range(n_days):
        day = start + dt.timedelta(d)
        if day in closed:
            continue
        for a, b in hours.minutes(day.weekday()):
            s, e = d * DAY_S + a * 60.0, d * DAY_S + b * 60.0
            if starts and abs(ends[-1] - s) < 1e-9:  # 22:00-24:00 then 00:00-..: one span
                ends[-1] = e
            else:
                starts.append(s)
                ends.append(e)
    return OpenIntervals(np.asarray(starts), np.asarray(ends))


@dataclass(frozen=True)
class StepFunction:
    """Piecewise-constant integer function: ``values[i]`` on ``[times[i], times[i+1])``.

    Zero before ``times[0]`` and from the last change on as given by ``values[-1]``.
    """

    times: np.ndarray
    values: np.ndarray

    def __post_init__(self):
        # Look-ups happen several times per call in the event loop: bisect over Python
        # lists is about 2.5x faster than over numpy arrays and returns Python ints.
        object.__setattr__(self, "_t", self.times.tolist())
        object.__setattr__(self, "_v", self.values.tolist())

    def __call__(self, t: float) -> int:
        i = bisect.bisect_right(self._t, t) - 1
        return self._v[i] if i >= 0 else 0

    def per_hour(self, n_hours: int) -> np.ndarray:
        """Integral over each of the first ``n_hours`` hours (e.g. staffed line-seconds);
        the last value lasts for ever."""
        if len(self.times) == 0:
            return np.zeros(n_hours)
        ends = np.append(self.times[1:], self.times[-1])
        last = per_hour(self.times[-1:], [n_hours * HOUR_S], self.values[-1:], n_hours)
        return per_hour(self.times, ends, self.values, n_hours) + last

    def integral(self, t0: float, t1: float) -> float:
        """Integral over ``[t0, t1)`` (for example staffed line-seconds)."""
        if len(self.times) == 0:
            return 0.0
        edges = np.append(self.times, np.inf)
        lo = np.clip(edges[:-1], t0, t1)
        hi = np.clip(edges[1:], t0, t1)
        return float(np.sum((hi - lo) * self.values))


def lines_over_time(
    start: dt.date,
    n_days: int,
    hours: WeeklyHours,
    closed: set[dt.date],
    base: int,
    extra: Sequence[ExtraStaff] = (),
) -> StepFunction:
    """Staffed lines: ``base`` plus the applicable ``extra`` while open, zero while closed.

    Open means inside ``hours`` on a day not in ``closed``. An extra with ``hours`` adds
    its lines only where those hours overlap the opening hours. Used for phone lines
    (per province), chat lines and e-mail handlers.
    """
    times: list[float] = []
    values: list[int] = []

    def put(t: float, v: int) -> None:
        # Merge equal neighbours and a change at the same instant (24:00 = next 00:00).
        if values and values[-1] == v:
            return
        if times and times[-1] == t:
            values[-1] = v
            if len(values) > 1 and values[-2] == v:
                times.pop()
                values.pop()
            return
        times.append(t)
        values.append(v)

    for d in range(n_days):
        day = start + dt.timedelta(d)
        if day in closed:
            continue
        extras = [(x, None if x.hours is None else parse_interval(x.hours)) for x in extra if x.applies(day)]
        for a, b in hours.minutes(day.weekday()):
            cuts = {a, b}
            for _, span in extras:
                if span is not None:
                    cuts |= {min(max(span[0], a), b), min(max(span[1], a), b)}
            cuts = sorted(cuts)
            for c0, c1 in zip(cuts, cuts[1:], strict=False):
                lines = base + sum(x.lines for x, span in extras
                                   if span is None or (span[0] <= c0 and c1 <= span[1]))
                put(d * DAY_S + c0 * 60.0, lines)
            put(d * DAY_S + b * 60.0, 0)
    return StepFunction(np.asarray(times, dtype=float), np.asarray(values, dtype=int))


def staffed_lines(
    start: dt.date, n_days: int, hours: WeeklyHours, closed: set[dt.date], staffing: PhoneStaffing
) -> dict[str, StepFunction]:
    """Staffed phone lines per province over time (see :func:`lines_over_time`)."""
    return {
        prov: lines_over_time(start, n_days, hours, closed, staffing.lines[prov],
                              [x for x in staffing.extra if x.provinces == "all" or prov in x.provinces])
        for prov in PROVINCES
    }


def month_of(start: dt.date, at_s) -> np.ndarray:
    """Month label ("YYYY-MM") of instants in seconds since ``start`` at 00:00.

    Vectorised with ``searchsorted`` over month starts (string formatting per row was a
    measurable share of the KPI time; bench/README.md).
    """
    at = np.asarray(at_s, dtype=float)
    if at.size == 0:
        return np.asarray([], dtype=object)
    last = start + dt.timedelta(seconds=max(float(np.nanmax(at)), 0.0))
    starts, labels = [], []
    y, m = start.year, start.month
    while (y, m) <= (last.year, last.month):
        starts.append((dt.date(y, m, 1) - start).days * DAY_S)
        labels.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    idx = np.searchsorted(np.asarray(starts), at, side="right") - 1
    return np.asarray(labels, dtype=object)[np.maximum(idx, 0)]


def peak_days(daily_demand: np.ndarray, eligible: np.ndarray, share: float) -> np.ndarray:
    """Which days are peak days: of the ``eligible`` days (bool array), the
    ``ceil(share x count)`` with the highest ``daily_demand`` (expected new contacts a
    day); ties go to the earlier day. Returns a bool array like ``eligible``."""
    idx = np.flatnonzero(eligible)
    k = int(np.ceil(share * len(idx) - 1e-9))
    order = idx[np.argsort(-np.asarray(daily_demand, float)[idx], kind="stable")]
    out = np.zeros(len(eligible), dtype=bool)
    out[order[:k]] = True
    return out


def resolve_peak_shares(extra: Sequence, start: dt.date, n_days: int, hours: WeeklyHours,
                        closed: set[dt.date], daily_demand: np.ndarray) -> list:
    """``extra`` with every entry that has a ``peak_share`` replaced by the same lines on
    the dates :func:`peak_days` picks among the ``n_days`` days from ``start`` (entries
    that pick no day are left out); entries without one are returned unchanged."""
    out = []
    for x in extra:
        if getattr(x, "peak_share", None) is None:
            out.append(x)
            continue
        days = [start + dt.timedelta(d) for d in range(n_days)]
        eligible = np.array([x.applies(day) and day not in closed and bool(hours.minutes(day.weekday()))
                             for day in days])
        chosen = peak_days(daily_demand[:n_days], eligible, x.peak_share)
        dates = [days[i] for i in np.flatnonzero(chosen)]
        if dates:
            out.append(x.model_copy(update={"dates": dates, "from_": None, "to": None, "weekdays": None,
                                            "peak_share": None}))
    return out
