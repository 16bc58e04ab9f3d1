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
