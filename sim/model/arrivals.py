"""Time-varying arrival rates and exact non-homogeneous Poisson sampling.

The rate is built per hour of the horizon: yearly level x month x weekday x hour-of-day
x trend x dated events (lockdowns, campaigns). Within an hour the intensity is taken as
constant at the *mean* of the continuous rate over that hour (events are averaged on a
10-minute grid), and the number of arrivals in each hour is drawn exactly as
Poisson(integral of the rate over the hour). So no peak, however short, is skipped:
the expected count in every hour equals the rate integral.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from sim.config import ChannelDemand, DemandEvent

HOUR_S = 3600.0
_SUB = 6  # sub-points per hour for averaging event multipliers (10-minute midpoints)


def _normalised(weights: list[float]) -> np.ndarray:
    w = np.asarray(weights, dtype=float)
    return w / w.mean()


def event_multiplier(event: DemandEvent, days: np.ndarray, start: dt.date) -> np.ndarray:
    """``1 + amplitude * shape`` at times ``days`` (days since ``start``, floats)."""
    t0 = (event.start - start).days
    since = days - t0
    shape = np.zeros_like(days)
    active = since >= 0
    if event.end is not None:
        active &= days < (event.end - start).days + 1  # end date included
    if event.decay_days is None:
        shape[active] = 1.0
    else:
        past = np.maximum(since - event.plateau_days, 0.0)
        shape[active] = np.exp(-past[active] / event.decay_days)
    return 1.0 + event.amplitude * shape


def hourly_rate(demand: ChannelDemand, start: dt.date, n_days: int) -> np.ndarray:
    """Expected new contacts in each hour of ``n_days`` days from ``start`` (length 24 n)."""
    dates = [start + dt.timedelta(d) for d in range(n_days)]
    month = _normalised(demand.month_factors)[[d.month - 1 for d in dates]]
    weekday = _normalised(demand.weekday_factors)[[d.weekday() for d in dates]]
    per_day = demand.annual / 365.0 * month * weekday
    hour = _normalised(demand.hour_profile) / 24.0
    rate = (per_day[:, None] * hour[None, :]).ravel()
    # Event multipliers and trend, averaged over each hour on a 10-minute grid.
    sub = (np.arange(24 * n_days)[:, None] + (np.arange(_SUB) + 0.5) / _SUB) / 24.0
    mult = np.ones_like(sub)
    for ev in demand.events:
        mult *= event_multiplier(ev, sub, start)
    if demand.trend_per_year:
        mult *= (1.0 + demand.trend_per_year) ** (sub / 365.0)
    return rate * mult.mean(axis=1)


def sample_arrivals(rate_per_hour: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Sorted arrival times (seconds) of an NHPP with piecewise-constant hourly rate."""
    counts = rng.poisson(rate_per_hour)
    hours = np.repeat(np.arange(len(rate_per_hour)), counts)
    return np.sort((hours + rng.random(hours.size)) * HOUR_S)
