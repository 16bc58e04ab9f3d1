"""Opening hours, public holidays and staffed lines as step functions of time.

Time is seconds since the scenario start at 00:00 local time. Each day is 24 h: we do
not model daylight-saving shifts (opening hours are wall-clock times, so a 23-hour or
25-hour day would only move the night). The calendar extends past the horizon end so
that callers who redial after the last day still find the helpline's next opening.
"""

from __future__ import annotations

import bisect
import datetime as dt
from dataclasses import dataclass

import holidays as holidays_lib
import numpy as np

from sim.config import PROVINCES, WEEKDAYS, CalendarConfig, ExtraLines, PhoneStaffing, WeeklyHours

DAY_S = 86_400.0
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


@dataclass(frozen=True)
class OpenIntervals:
    """Sorted, disjoint open intervals ``[starts[i], ends[i])`` in seconds."""

    starts: np.ndarray
    ends: np.ndarray

    def is_open(self, t: float) -> bool:
        i = bisect.bisect_right(self.starts, t) - 1
        return i >= 0 and t < self.ends[i]

    def next_open(self, t: float) -> float | None:
        """Earliest time >= t at which the channel is open (None past the calendar)."""
        i = bisect.bisect_right(self.starts, t) - 1
        if i >= 0 and t < self.ends[i]:
            return t
        if i + 1 < len(self.starts):
            return float(self.starts[i + 1])
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

    def __call__(self, t: float) -> int:
        i = bisect.bisect_right(self.times, t) - 1
        return int(self.values[i]) if i >= 0 else 0

    def integral(self, t0: float, t1: float) -> float:
        """Integral over ``[t0, t1)`` (for example staffed line-seconds)."""
        if len(self.times) == 0:
            return 0.0
        edges = np.append(self.times, np.inf)
        lo = np.clip(edges[:-1], t0, t1)
        hi = np.clip(edges[1:], t0, t1)
        return float(np.sum((hi - lo) * self.values))


def _extra_applies(x: ExtraLines, day: dt.date, province: str) -> bool:
    if x.provinces != "all" and province not in x.provinces:
        return False
    if x.weekdays is not None and WEEKDAYS[day.weekday()] not in x.weekdays:
        return False
    in_range = x.from_ is not None and x.from_ <= day <= x.to
    return in_range or day in x.dates


def staffed_lines(
    start: dt.date, n_days: int, hours: WeeklyHours, closed: set[dt.date], staffing: PhoneStaffing
) -> dict[str, StepFunction]:
    """Staffed lines per province over time: base lines plus applicable extras while open.

    Zero whenever the channel is closed. An extra with ``hours`` adds its lines only in
    the overlap of those hours with the opening hours.
    """
    from sim.config import parse_interval  # local: keeps the import list short

    out: dict[str, StepFunction] = {}
    for prov in PROVINCES:
        times: list[float] = []
        values: list[int] = []

        def put(t: float, v: int, times=times, values=values) -> None:
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
            extras = [x for x in staffing.extra if _extra_applies(x, day, prov)]
            for a, b in hours.minutes(day.weekday()):
                cuts = {a, b}
                for x in extras:
                    if x.hours is not None:
                        h0, h1 = parse_interval(x.hours)
                        cuts |= {min(max(h0, a), b), min(max(h1, a), b)}
                cuts = sorted(cuts)
                for c0, c1 in zip(cuts, cuts[1:], strict=False):
                    lines = staffing.lines[prov]
                    for x in extras:
                        if x.hours is None:
                            lines += x.lines
                        else:
                            h0, h1 = parse_interval(x.hours)
                            if h0 <= c0 and c1 <= h1:
                                lines += x.lines
                    put(d * DAY_S + c0 * 60.0, lines)
                put(d * DAY_S + b * 60.0, 0)
        out[prov] = StepFunction(np.asarray(times, dtype=float), np.asarray(values, dtype=int))
    return out
