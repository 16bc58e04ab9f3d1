"""Arrival rates and NHPP sampling: counts per interval against the rate integral."""

import datetime as dt

import numpy as np
from scipy import stats

from sim.config import ChannelDemand, DemandEvent
from sim.model.arrivals import event_multiplier, hourly_rate, sample_arrivals


def test_annual_level_month_weekday_and_hour_factors():
    d = ChannelDemand(annual=3650, weekday_factors=[1] * 7, hour_profile=[1] * 24)
    rate = hourly_rate(d, dt.date(2021, 1, 1), 365)
    assert np.isclose(rate.sum(), 3650), "annual is the yearly count with flat factors"
    d2 = ChannelDemand(annual=3650, month_factors=[2] + [1] * 11, weekday_factors=[1] * 7,
                       hour_profile=[0] * 9 + [1] * 9 + [0] * 6)
    r2 = hourly_rate(d2, dt.date(2021, 1, 1), 365).reshape(365, 24)
    assert r2[:, :9].sum() == 0 and r2[:, 18:].sum() == 0
    jan, feb = r2[:31].sum(axis=1).mean(), r2[31:59].sum(axis=1).mean()
    assert np.isclose(jan / feb, 2.0), "month factor 2 doubles January's daily rate"


def test_event_shape_plateau_decay_and_end():
    ev = DemandEvent(name="x", start=dt.date(2020, 2, 10), amplitude=1.0, plateau_days=2, decay_days=3)
    days = np.array([39.5, 40.5, 41.9, 42.0, 45.0])  # day 40 = 10 Feb
    m = event_multiplier(ev, days, dt.date(2020, 1, 1))
    assert np.allclose(m, [1, 2, 2, 2, 1 + np.exp(-1)])
    step = DemandEvent(name="y", start=dt.date(2020, 1, 2), end=dt.date(2020, 1, 3), amplitude=-0.5)
    assert np.allclose(event_multiplier(step, np.array([0.5, 1.5, 2.5, 3.5]), dt.date(2020, 1, 1)),
                       [1, 0.5, 0.5, 1])


def test_counts_per_interval_match_rate_integral():
    """Poisson dispersion test per day, and a one-day peak is neither skipped nor smeared."""
    d = ChannelDemand(annual=20_000, events=[DemandEvent(name="peak", start=dt.date(2020, 3, 4),
                                                         end=dt.date(2020, 3, 4), amplitude=9.0)])
    start, n_days = dt.date(2020, 3, 1), 60
    rate = hourly_rate(d, start, n_days)
    rng = np.random.default_rng(7)
    reps = 200
    counts = np.zeros((reps, n_days))
    for r in range(reps):
        t = sample_arrivals(rate, rng)
        assert np.all(np.diff(t) >= 0), "arrival times are sorted"
        counts[r] = np.bincount((t // 86400).astype(int), minlength=n_days)
    expected = rate.reshape(n_days, 24).sum(axis=1)
    # Mean count per day: z-score against the Poisson standard error over reps.
    z = (counts.mean(axis=0) - expected) / np.sqrt(expected / reps)
    assert np.abs(z).max() < 4.0, f"daily mean counts deviate from the rate integral: max |z| = {np.abs(z).max():.2f}"
    # The peak day (3 March + 1 = 4 March, index 3) has 10x the rate of its neighbours.
    assert counts[:, 3].mean() > 8 * counts[:, 2].mean(), "a one-day campaign peak is sampled"
    # Overall dispersion: chi-square of the total count over reps against Poisson.
    tot = counts.sum(axis=1)
    chi2 = ((tot - expected.sum()) ** 2 / expected.sum()).sum()
    p = stats.chi2.sf(chi2, reps)
    assert p > 1e-3, f"total counts over {reps} reps not Poisson(rate integral): chi2={chi2:.1f}, p={p:.2g}"


def test_quarter_hour_profile_keeps_a_short_peak_and_sums_to_the_hourly_rate():
    """A 96-value profile (quarter hours): the hourly rate is the sum of its quarters, a
    profile that repeats each hourly value four times gives the hourly model's rate, and a
    15-minute peak is sampled in its own quarter hour (mean count against the rate
    integral, z-score on the Poisson standard error)."""
    from sim.model.arrivals import interval_rate, intervals_per_hour

    hourly = ChannelDemand(annual=20_000)
    quarters = ChannelDemand(annual=20_000, hour_profile=[v for v in hourly.hour_profile for _ in range(4)])
    start, n_days = dt.date(2020, 3, 1), 30
    assert intervals_per_hour(quarters) == 4
    assert np.allclose(hourly_rate(quarters, start, n_days), hourly_rate(hourly, start, n_days))
    profile = [1.0] * 96
    profile[10 * 4 + 1] = 20.0  # 10:15-10:30 twenty times busier than the rest of the day
    peak = ChannelDemand(annual=36_500, weekday_factors=[1] * 7, hour_profile=profile)
    rate = interval_rate(peak, start, n_days)
    assert np.isclose(rate.sum(), 36_500 / 365 * n_days), "the profile only shapes the day"
    rng = np.random.default_rng(11)
    reps, counts = 100, np.zeros(96)
    for _ in range(reps):
        t = sample_arrivals(rate, rng, 900.0)
        counts += np.bincount(((t % 86400) // 900).astype(int), minlength=96)
    expected = rate.reshape(n_days, 96).sum(axis=0) * reps
    z = (counts - expected) / np.sqrt(expected)
    assert np.abs(z).max() < 4.5, f"quarter-hour counts vs rate integral: max |z| = {np.abs(z).max():.2f}"
    assert counts[41] > 10 * counts[40], "the 15-minute peak stays in its quarter hour"


def test_quarter_hour_profile_runs_in_the_model():
    """A scenario with a 96-value phone profile simulates, and arrivals fall in the
    quarter hours the profile opens (only 09:00-09:15 here)."""
    from sim.config import load_scenario
    from sim.model.callers import draw_phone_callers
    from sim.model.streams import Streams

    profile = [0.0] * 96
    profile[9 * 4] = 1.0
    scn = load_scenario("tests/scenarios/small.yaml", {"demand.phone.hour_profile": profile})
    arrivals = draw_phone_callers(scn, Streams(3, 0)).arrival_at
    assert len(arrivals) > 0
    in_day = arrivals % 86400
    assert in_day.min() >= 9 * 3600 and in_day.max() < 9 * 3600 + 900, (
        f"arrivals outside 09:00-09:15: {in_day.min() / 3600:.3f}-{in_day.max() / 3600:.3f} h")


def test_daily_busyness_gives_negative_binomial_day_counts():
    """With busyness_cv = c, a day's count has variance m + c^2 m^2. Estimated c^2 from
    2,000 days against the set value; tolerance from a bootstrap 99.9% interval over days."""
    from sim.model.arrivals import channel_arrivals
    from sim.model.streams import Streams

    cv, n_days = 0.3, 2000
    d = ChannelDemand(annual=365 * 40, weekday_factors=[1] * 7, month_factors=[1] * 12,
                      busyness_cv=cv)
    t = channel_arrivals(d, dt.date(2020, 1, 1), n_days, Streams(5, 0), "phone")
    day = np.bincount((t // 86400).astype(int), minlength=n_days)
    m = day.mean()

    def c2(x):
        return (x.var(ddof=1) - x.mean()) / x.mean() ** 2

    rng = np.random.default_rng(0)
    boot = np.array([c2(day[rng.integers(0, n_days, n_days)]) for _ in range(2000)])
    lo, hi = np.quantile(boot, [0.0005, 0.9995])
    assert lo <= cv**2 <= hi, f"estimated cv^2 {c2(day):.4f} [{lo:.4f}, {hi:.4f}] vs set {cv**2}"
    assert abs(m - 40) < 4 * np.sqrt((40 + cv**2 * 1600) / n_days), f"mean per day {m:.2f} vs 40"


def test_hour_profile_of_a_wrong_length_is_refused():
    import pytest
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="24 k values"):
        ChannelDemand(hour_profile=[1.0] * 25)
    with pytest.raises(ValidationError, match="24 k values"):
        ChannelDemand(hour_profile=[1.0] * (24 * 7))  # 7 does not divide 60
