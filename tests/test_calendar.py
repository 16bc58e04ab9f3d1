"""Calendar: opening hours, Belgian public holidays and staffed lines over time."""

import datetime as dt

import numpy as np

from sim.config import CalendarConfig, ExtraLines, PhoneStaffing, WeeklyHours, load_scenario
from sim.model.calendar import DAY_S, closed_days, open_intervals, staffed_lines


def _t(day: int, hh: int, mm: int = 0) -> float:
    return day * DAY_S + hh * 3600 + mm * 60


def test_belgian_holidays_closed_unless_configured():
    closed = closed_days(dt.date(2020, 1, 1), 366, CalendarConfig())
    for d in ["2020-01-01", "2020-04-13", "2020-05-01", "2020-07-21", "2020-11-11", "2020-12-25"]:
        assert dt.date.fromisoformat(d) in closed, f"{d} is a Belgian public holiday"
    assert dt.date(2020, 4, 14) not in closed
    opened = closed_days(dt.date(2020, 1, 1), 366, CalendarConfig(open_on_holidays=True))
    assert not opened
    some = closed_days(dt.date(2020, 1, 1), 366, CalendarConfig(open_dates=[dt.date(2020, 7, 21)]))
    assert dt.date(2020, 7, 21) not in some and dt.date(2020, 12, 25) in some


def test_open_intervals_follow_hours_and_holidays():
    scn = load_scenario()
    closed = closed_days(dt.date(2020, 4, 13), 7, scn.calendar)  # Mon 13 April = Easter Monday
    cal = open_intervals(dt.date(2020, 4, 13), 7, scn.phone.opening_hours, closed)
    assert not cal.is_open(_t(0, 10)), "closed on Easter Monday"
    assert cal.is_open(_t(1, 9)) and cal.is_open(_t(1, 17, 59)) and not cal.is_open(_t(1, 18))
    assert not cal.is_open(_t(5, 12)), "closed on Saturday"
    assert cal.next_open(_t(0, 10)) == _t(1, 9)
    assert cal.next_open(_t(4, 19)) is None, "nothing after Friday in a 7-day calendar"
    assert cal.open_seconds(0, 7 * DAY_S) == 4 * 9 * 3600


def test_evening_spans_and_midnight_join():
    hours = WeeklyHours(mon=["13:00-17:00", "18:00-22:00"], tue=["22:00-24:00"], wed=["00:00-02:00"])
    cal = open_intervals(dt.date(2024, 1, 8), 3, hours, set())  # a Monday
    assert cal.is_open(_t(0, 13)) and not cal.is_open(_t(0, 17, 30)) and cal.is_open(_t(0, 21, 59))
    assert len(cal.starts) == 3, "Tue 22-24 and Wed 0-2 form one span"


def test_extra_lines_on_peak_days_and_part_of_day():
    staffing = PhoneStaffing(
        lines=1,
        extra=[
            ExtraLines(dates=[dt.date(2020, 2, 11)], lines=1),
            ExtraLines(**{"from": dt.date(2020, 2, 12), "to": dt.date(2020, 2, 13)},
                       hours="12:00-14:00", provinces=["Limburg"], lines=2),
        ],
    )
    hours = WeeklyHours(mon=["09:00-18:00"], tue=["09:00-18:00"], wed=["09:00-18:00"], thu=["09:00-18:00"])
    lines = staffed_lines(dt.date(2020, 2, 10), 4, hours, set(), staffing)
    ant, lim = lines["Antwerpen"], lines["Limburg"]
    assert ant(_t(0, 10)) == 1 and ant(_t(1, 10)) == 2 and ant(_t(2, 13)) == 1
    assert ant(_t(1, 18)) == 0 and ant(_t(1, 8)) == 0, "no staffed line while closed"
    assert lim(_t(2, 11, 59)) == 1 and lim(_t(2, 12)) == 3 and lim(_t(3, 13, 59)) == 3 and lim(_t(3, 14)) == 1
    # Staffed line-hours over the four days: Antwerpen 9+18+9+9, Limburg 9+18+(9+4)+(9+4).
    assert np.isclose(ant.integral(0, 4 * DAY_S) / 3600, 45)
    assert np.isclose(lim.integral(0, 4 * DAY_S) / 3600, 53)
