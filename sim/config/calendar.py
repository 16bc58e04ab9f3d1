"""Horizon, calendar, opening hours and extra staff on dates (shared by every channel)."""

from __future__ import annotations

import datetime as dt
import functools
from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from sim.config.common import _HHMM, _STRICT, WEEKDAYS, Weekday

# ---------------------------------------------------------------------------------------
# Calendar and opening hours
# ---------------------------------------------------------------------------------------


def parse_interval(text: str) -> tuple[int, int]:
    """``"09:00-18:00"`` -> (540, 1080) minutes after midnight; ``24:00`` is allowed."""
    m = _HHMM.match(text.strip())
    if not m:
        raise ValueError(f"{text!r} is not an interval of the form HH:MM-HH:MM")
    h1, m1, h2, m2 = (int(g) for g in m.groups())
    if not (0 <= h1 <= 24 and 0 <= h2 <= 24 and m1 < 60 and m2 < 60):
        raise ValueError(f"{text!r} has an impossible clock time")
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if start > 24 * 60 or end > 24 * 60:
        raise ValueError(f"{text!r} goes past 24:00")
    if end <= start:
        raise ValueError(f"{text!r} ends before it starts")
    return start, end


class WeeklyHours(BaseModel):
    """Opening hours per weekday as lists of ``"HH:MM-HH:MM"`` intervals (local time)."""

    model_config = _STRICT
    mon: list[str] = []
    tue: list[str] = []
    wed: list[str] = []
    thu: list[str] = []
    fri: list[str] = []
    sat: list[str] = []
    sun: list[str] = []

    @field_validator("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    @classmethod
    def _valid_intervals(cls, v: list[str]) -> list[str]:
        spans = sorted(parse_interval(s) for s in v)
        for (_, e1), (s2, _) in zip(spans, spans[1:], strict=False):
            if s2 < e1:
                raise ValueError(f"opening intervals {v} overlap")
        return v

    def minutes(self, weekday: int) -> list[tuple[int, int]]:
        """Sorted open intervals of weekday ``0=mon .. 6=sun`` in minutes after midnight."""
        return list(_day_minutes(tuple(getattr(self, WEEKDAYS[weekday]))))


@functools.lru_cache(maxsize=256)
def _day_minutes(intervals: tuple[str, ...]) -> tuple[tuple[int, int], ...]:
    # Parsed once per distinct day, not once per simulated day.
    return tuple(sorted(parse_interval(s) for s in intervals))


def _weekly(mon_fri: list[str], sat: list[str] | None = None) -> WeeklyHours:
    return WeeklyHours(
        mon=mon_fri, tue=mon_fri, wed=mon_fri, thu=mon_fri, fri=mon_fri, sat=sat or []
    )


class Horizon(BaseModel):
    """Simulated period, both dates included. Time zero is ``start`` at 00:00."""

    model_config = _STRICT
    start: dt.date = dt.date(2020, 1, 1)
    end: dt.date = dt.date(2020, 12, 31)

    @model_validator(mode="after")
    def _ordered(self) -> Horizon:
        if self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}")
        return self

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


class CalendarConfig(BaseModel):
    """Days on which the helpline is closed, on top of the weekly opening hours.

    Belgian public holidays come from the ``holidays`` package (country ``BE``). The
    seeds do not say 1712 closes on them; we assume it does (as most CAW services do),
    and ``open_on_holidays`` or ``open_dates`` switch that off.
    """

    model_config = _STRICT
    holidays: Literal["BE", "none"] = "BE"
    open_on_holidays: bool = False
    closed_dates: list[dt.date] = []
    open_dates: list[dt.date] = []


class ExtraStaff(BaseModel):
    """Extra staffed lines on listed days or date ranges (for example peak days).

    Applies on every date in ``dates`` and on every date in ``[from, to]``; optionally
    only on some weekdays and during part of the day (``hours``). ``lines`` is added to
    the base staffing while the channel is open.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    name: str = ""
    dates: list[dt.date] = []
    from_: dt.date | None = Field(default=None, alias="from")
    to: dt.date | None = None
    weekdays: list[Weekday] | None = None
    hours: str | None = None
    lines: int = Field(default=1, ge=1)

    @field_validator("hours")
    @classmethod
    def _hours(cls, v: str | None) -> str | None:
        if v is not None:
            parse_interval(v)
        return v

    @model_validator(mode="after")
    def _has_days(self) -> ExtraStaff:
        if (self.from_ is None) != (self.to is None):
            raise ValueError("give both 'from' and 'to' for a date range")
        if self.from_ is not None and self.to < self.from_:
            raise ValueError(f"'to' {self.to} is before 'from' {self.from_}")
        if not self.dates and self.from_ is None:
            raise ValueError("give 'dates' or a 'from'/'to' range")
        return self

    def applies(self, day: dt.date) -> bool:
        """Whether these extra lines are staffed on ``day`` (at some hour)."""
        if self.weekdays is not None and WEEKDAYS[day.weekday()] not in self.weekdays:
            return False
        in_range = self.from_ is not None and self.from_ <= day <= self.to
        return in_range or day in self.dates


