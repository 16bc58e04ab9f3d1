"""Human limits on pooling (phone.pooling, phone.overflow weekdays/hours; issue 14).

Pure decision functions without SimPy, the sliding-window occupancy, and the model's
use of them: no overflow into a province over the cap, no overflow outside the allowed
moments, extra talk time exactly when another province answers.
"""

import numpy as np
import pytest

from sim.config import ScenarioError, load_scenario
from sim.model import routing
from sim.model.helpline import Helpline
from sim.model.pooling import RecentOccupancy
from sim.model.streams import Streams
from sim.theory.validation import stationary


def test_under_cap_hides_free_lines_of_provinces_over_the_cap():
    assert routing.under_cap([1, 2, 0, 1], [0.9, 0.5, 0.1, 0.8], 0.8) == [0, 2, 0, 1]
    assert routing.under_cap([1, 2], [1.0, 1.0], 1.0) == [1, 2]  # cap 1: no limit


def test_overflow_and_option0_respect_the_capped_free_lines():
    free = routing.under_cap([0, 1, 2, 1, 0], [0.9, 0.95, 0.99, 0.2, 0.1], 0.9)
    assert routing.overflow_target(0, "any_free", free, [1, 2, 3], [0.0] * 5, 0.0) == 3
    assert routing.overflow_target(0, "neighbours", free, [1, 2], [0.0] * 5, 0.0) is None
    target, _ = routing.route_option0("least_busy", 3, free, [0.0] * 5, 0, 0.0)
    assert target == 3


def test_in_peak_moment_weekdays_and_hours():
    # Day 0 is a Monday (first_weekday 0); Tue 10:30 is day 1, 37,800 s into it.
    tue_1030 = 86_400 + 10.5 * 3600
    assert routing.in_peak_moment(tue_1030, 0, None, None)
    assert routing.in_peak_moment(tue_1030, 0, {1}, (600, 720))
    assert not routing.in_peak_moment(tue_1030, 0, {0, 2}, None)
    assert not routing.in_peak_moment(tue_1030, 0, None, (660, 720))
    assert not routing.in_peak_moment(tue_1030, 6, {1}, None)  # day 0 a Sunday: day 1 is Monday
    assert routing.in_peak_moment(12 * 3600, 0, None, (600, 720)) is False  # 12:00 is the end


def test_pooled_talk_time_only_outside_the_home_province():
    assert routing.pooled_talk_s(600.0, 2, 2, 300.0) == 600.0
    assert routing.pooled_talk_s(600.0, 1, 2, 300.0) == 900.0


def test_recent_occupancy_over_a_sliding_window():
    occ = RecentOccupancy(window_s=3600)
    occ.record(0.0, 0, 2)
    occ.record(1800.0, 1, 2)  # one of two lines busy from 30 min
    assert occ.occupancy(3600.0) == pytest.approx(0.25)
    occ.record(3600.0, 2, 1)  # two busy, one counsellor at the line: min(busy, at_line) = 1
    assert occ.occupancy(5400.0) == pytest.approx((1800 * 1 + 1800 * 1) / (1800 * 2 + 1800 * 1))
    assert occ.occupancy(7200.0 + 3600) == pytest.approx(1.0)  # old steps dropped, last still counts
    empty = RecentOccupancy(window_s=60)
    empty.record(0.0, 0, 0)
    assert empty.occupancy(30.0) == 0.0


def test_overflow_hours_are_validated():
    with pytest.raises(ScenarioError, match="overflow.hours"):
        load_scenario(None, {"phone.overflow.hours": "25:00-26:00"})
    with pytest.raises(ScenarioError, match="occupancy_cap"):
        load_scenario(None, {"phone.pooling.occupancy_cap": 1.5})


# --- in the model -------------------------------------------------------------------------

LINES = {"Antwerpen": 1, "Limburg": 1, "Oost-Vlaanderen": 1, "Vlaams-Brabant": 1, "West-Vlaanderen": 1}


def _answered(overrides, days=20, seed=11):
    scn = stationary(LINES, annual=30_000, days=days, **{"phone.overflow.policy": "any_free", **overrides})
    model = Helpline(scn, Streams(seed, 0), channels=["phone"])
    log = model.run()
    a = log.attempts_table()
    callers = log.callers_table().set_index("caller")
    a = a[a["outcome"] == "answered"].assign(home=lambda d: callers.loc[d["caller"], "home"].to_numpy())
    return model, a


def test_a_cap_of_zero_stops_overflow_into_busy_teams():
    """Cap 0 over 60 min: a call may overflow only into a team with no work in the last hour."""
    _, free_pool = _answered({})
    _, capped = _answered({"phone.pooling.occupancy_cap": 0.0, "phone.pooling.window_min": 60})
    moved = (free_pool["group"] != free_pool["home"]).sum()
    assert moved > 100, "the test needs overflow to happen without a cap"
    begin = (capped["at"] + capped["wait_s"]).to_numpy()
    end = begin + capped["hold_s"].to_numpy()
    group = capped["group"].to_numpy()
    into_busy = 0
    for k in np.flatnonzero(group != capped["home"].to_numpy()):
        t, g = begin[k], group[k]
        others = (group == g) & (np.arange(len(group)) != k)
        into_busy += bool(np.any(others & (begin < t) & (end > t - 3600)))
    assert into_busy == 0, f"{into_busy} calls overflowed into a team busy in the last hour"
    # Without the cap such calls exist (the check can fail).
    begin = (free_pool["at"] + free_pool["wait_s"]).to_numpy()
    end = begin + free_pool["hold_s"].to_numpy()
    group = free_pool["group"].to_numpy()
    uncapped_into_busy = sum(
        bool(np.any((group == group[k]) & (np.arange(len(group)) != k) & (begin < begin[k])
                    & (end > begin[k] - 3600)))
        for k in np.flatnonzero(group != free_pool["home"].to_numpy()))
    assert uncapped_into_busy > 0


def test_overflow_only_at_the_allowed_moments():
    _, a = _answered({"phone.overflow.weekdays": ["tue", "wed"], "phone.overflow.hours": "10:00-12:00"})
    moved = a[a["group"] != a["home"]]
    assert len(moved) > 0
    start = np.datetime64("2021-01-04")  # a Monday, the validation scenarios' start
    when = start + (moved["at"].to_numpy() * 1e6).astype("timedelta64[us]")
    weekday = (when.astype("datetime64[D]").view("int64") - 4) % 7  # 1970-01-01 was a Thursday
    minute = (moved["at"].to_numpy() % 86_400) / 60
    assert set(weekday) <= {1, 2}, "overflow outside Tuesday and Wednesday"
    assert minute.min() >= 600 and minute.max() < 720, "overflow outside 10:00-12:00"


def test_extra_talk_time_exactly_when_another_province_answers():
    model, a = _answered({"phone.pooling.extra_talk_min": 7})
    drawn = np.asarray(model._talk)[a["caller"].to_numpy()]
    other = (a["group"] != a["home"]).to_numpy()
    assert other.sum() > 0 and (~other).sum() > 0
    np.testing.assert_allclose(a["talk_s"].to_numpy()[other], drawn[other] + 420.0)
    np.testing.assert_allclose(a["talk_s"].to_numpy()[~other], drawn[~other])
    np.testing.assert_allclose((a["hold_s"] - a["talk_s"]).to_numpy(),
                               np.asarray(model.callers.wrap_s)[a["caller"].to_numpy()], atol=1e-6)


def test_limits_off_leave_the_event_log_unchanged():
    scn = stationary(LINES, annual=30_000, days=10, **{"phone.overflow.policy": "any_free"})
    same = stationary(LINES, annual=30_000, days=10, **{
        "phone.overflow.policy": "any_free", "phone.pooling.occupancy_cap": 1.0,
        "phone.pooling.extra_talk_min": 0, "phone.overflow.weekdays": list(
            ("mon", "tue", "wed", "thu", "fri", "sat", "sun")), "phone.overflow.hours": "00:00-24:00"})
    a = Helpline(scn, Streams(2, 0), channels=["phone"]).run()
    b = Helpline(same, Streams(2, 0), channels=["phone"]).run()
    assert a.attempts == b.attempts
