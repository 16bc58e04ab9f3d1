"""Time-varying arrival rates and exact non-homogeneous Poisson sampling.

The rate is built per interval of the horizon (an hour, or finer when the day profile has
more than 24 values: 96 values are quarter hours): yearly level x month x weekday x
time-of-day profile x trend x dated events (lockdowns, campaigns). Within an interval the
intensity is taken as constant at the *mean* of the continuous rate over that interval
(events are averaged on a grid of at most 10 minutes), and the number of arrivals in each
interval is drawn exactly as Poisson(integral of the rate over the interval). So no peak,
however short, is skipped: the expected count in every interval equals the rate integral.

Optionally each day's rate is multiplied by a random busyness factor (gamma, mean 1,
coefficient of variation ``busyness_cv``): the day-to-day overdispersion that call-centre
forecasts carry (a doubly stochastic Poisson process).
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from sim.config import ChannelDemand, DemandEvent

HOUR_S = 3600.0
DAY_S = 24 * HOUR_S
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


def intervals_per_hour(demand: ChannelDemand) -> int:
    """Intervals of the day profile in one hour (1: hourly, 4: quarter hours)."""
    return len(demand.hour_profile) // 24


def interval_rate(demand: ChannelDemand, start: dt.date, n_days: int) -> np.ndarray:
    """Expected new contacts in each interval of ``n_days`` days from ``start``.

    Length ``24 k n_days`` for ``k`` intervals per hour (:func:`intervals_per_hour`)."""
    k = intervals_per_hour(demand)
    per_day_n = 24 * k
    dates = [start + dt.timedelta(d) for d in range(n_days)]
    month = _normalised(demand.month_factors)[[d.month - 1 for d in dates]]
    weekday = _normalised(demand.weekday_factors)[[d.weekday() for d in dates]]
    per_day = demand.annual / 365.0 * month * weekday
    hour = _normalised(demand.hour_profile) / per_day_n
    rate = (per_day[:, None] * hour[None, :]).ravel()
    # Event multipliers and trend, averaged over each interval on a grid of at most 10
    # minutes (six points an hour, as the fit's fast model assumes for hourly profiles).
    n_sub = -(-_SUB // k)
    sub = (np.arange(per_day_n * n_days)[:, None] + (np.arange(n_sub) + 0.5) / n_sub) / per_day_n
    mult = np.ones_like(sub)
    for ev in demand.events:
        mult *= event_multiplier(ev, sub, start)
    if demand.trend_per_year:
        mult *= (1.0 + demand.trend_per_year) ** (sub / 365.0)
    return rate * mult.mean(axis=1)


def hourly_rate(demand: ChannelDemand, start: dt.date, n_days: int) -> np.ndarray:
    """Expected new contacts in each hour of ``n_days`` days from ``start`` (length 24 n)."""
    rate = interval_rate(demand, start, n_days)
    k = intervals_per_hour(demand)
    return rate if k == 1 else rate.reshape(-1, k).sum(axis=1)


def daily_busyness(rng: np.random.Generator, n_days: int, cv: float) -> np.ndarray:
    """Random busyness factor of each day: gamma with mean 1 and coefficient of variation
    ``cv`` (so a day's count has variance mean + cv^2 mean^2: negative binomial)."""
    shape = 1.0 / cv**2
    return rng.gamma(shape, 1.0 / shape, size=n_days)


def sample_arrivals(rate: np.ndarray, rng: np.random.Generator,
                    interval_s: float = HOUR_S) -> np.ndarray:
    """Sorted arrival times (seconds) of an NHPP with a piecewise-constant rate:
    ``rate[i]`` expected arrivals in ``[i, i + 1) * interval_s``."""
    counts = rng.poisson(rate)
    slots = np.repeat(np.arange(len(rate)), counts)
    return np.sort((slots + rng.random(slots.size)) * interval_s)


def open_fraction(starts: np.ndarray, ends: np.ndarray, n: int, interval_s: float) -> np.ndarray:
    """Share of each of ``n`` intervals of ``interval_s`` seconds (from time 0) that lies
    in the open intervals ``[starts[i], ends[i])`` (sorted, disjoint)."""
    xs = np.column_stack([starts, ends]).ravel()
    cum = np.column_stack([np.zeros(len(starts)), ends - starts]).ravel().cumsum()
    opened = np.interp(np.arange(n + 1) * interval_s, xs, cum, left=0.0, right=cum[-1] if len(cum) else 0.0)
    return np.clip(np.diff(opened) / interval_s, 0.0, 1.0)


def rescale_out_of_hours(rate: np.ndarray, open_frac: np.ndarray, per_day_n: int,
                         share: float) -> np.ndarray:
    """``rate`` (per interval) rescaled so that, on every day with opening hours,
    ``share`` of the day's expected demand falls in its closed part.

    Each interval's rate is split by its open fraction; the open and closed parts are
    scaled separately, keeping the day's total and the profile's shape within each part.
    A part with no weight in the profile gets its demand spread evenly over its time.
    Days without opening hours (weekends, holidays) keep their rate."""
    r = rate.reshape(-1, per_day_n)
    f = open_frac.reshape(-1, per_day_n)
    w_in, w_out = r * f, r * (1.0 - f)
    total = r.sum(axis=1, keepdims=True)
    w_in = np.where(w_in.sum(axis=1, keepdims=True) > 0, w_in, f)
    w_out = np.where(w_out.sum(axis=1, keepdims=True) > 0, w_out, 1.0 - f)
    s_in, s_out = w_in.sum(axis=1, keepdims=True), w_out.sum(axis=1, keepdims=True)
    mixed = (s_in > 0) & (s_out > 0)
    new = np.where(mixed, (1.0 - share) * total * w_in / np.where(mixed, s_in, 1.0)
                   + share * total * w_out / np.where(mixed, s_out, 1.0), r)
    return new.ravel()


def expected_rate(demand: ChannelDemand, start: dt.date, n_days: int, opening=None) -> np.ndarray:
    """Expected new contacts per interval (:func:`interval_rate`), with the out-of-hours
    share applied when it is set (``opening``: the channel's ``OpenIntervals``)."""
    rate = interval_rate(demand, start, n_days)
    if demand.out_of_hours_share is not None:
        per_day_n = 24 * intervals_per_hour(demand)
        frac = open_fraction(opening.starts, opening.ends, per_day_n * n_days, DAY_S / per_day_n)
        rate = rescale_out_of_hours(rate, frac, per_day_n, demand.out_of_hours_share)
    return rate


def time_in_day(day_rate: np.ndarray, u_interval: float, u_within: float) -> float:
    """Seconds after midnight drawn from one day's expected arrivals per interval
    (``day_rate``), with two uniform draws: the interval, then the place within it."""
    cum = np.cumsum(day_rate)
    k = int(np.searchsorted(cum, u_interval * cum[-1], "right"))
    k = min(k, len(day_rate) - 1)
    return (k + u_within) * DAY_S / len(day_rate)


def channel_arrivals(demand: ChannelDemand, start: dt.date, n_days: int, streams,
                     channel: str, opening=None) -> np.ndarray:
    """Arrival times (seconds) of a channel's new contacts over ``n_days`` days.

    Streams: ``arrivals.<channel>`` for the counts and times; ``busyness.<channel>`` for
    the daily factors, drawn only when ``busyness_cv`` > 0 (so switching it on changes
    no other random number). ``opening`` (an ``OpenIntervals``) is needed only when
    ``demand.out_of_hours_share`` is set (:func:`rescale_out_of_hours`)."""
    rate = with_busyness(expected_rate(demand, start, n_days, opening), demand, n_days, streams,
                         channel)
    return sample_arrivals(rate, streams(f"arrivals.{channel}"),
                           HOUR_S / intervals_per_hour(demand))


def with_busyness(rate: np.ndarray, demand: ChannelDemand, n_days: int, streams,
                  channel: str) -> np.ndarray:
    """``rate`` (expected contacts per interval, :func:`expected_rate`) times each day's
    busyness factor (stream ``busyness.<channel>``); ``rate`` itself when
    ``busyness_cv`` is 0 (no draw then)."""
    if demand.busyness_cv > 0:
        factor = daily_busyness(streams(f"busyness.{channel}"), n_days, demand.busyness_cv)
        rate = (rate.reshape(n_days, -1) * factor[:, None]).ravel()
    return rate


def drawn_count(rate: np.ndarray, demand: ChannelDemand, n_days: int, streams,
                channel: str) -> int:
    """The number of new contacts :func:`channel_arrivals` draws for this ``streams``
    (its replication), from the same ``rate`` (:func:`expected_rate`) without drawing
    their times: the same busyness factors and the same Poisson counts per interval
    (the first draw of :func:`sample_arrivals` on stream ``arrivals.<channel>``), so it
    equals ``len(channel_arrivals(...))`` exactly. Used as a control variate."""
    busy = with_busyness(rate, demand, n_days, streams, channel)
    return int(streams(f"arrivals.{channel}").poisson(busy).sum())


def expected_count(demand: ChannelDemand, start: dt.date, n_days: int, opening=None) -> float:
    """Exact expectation of the number of new contacts :func:`channel_arrivals` draws
    over ``n_days`` days from ``start``: the sum of :func:`expected_rate` (levels, month,
    weekday and hour factors, trend, campaigns and lockdowns averaged per interval, the
    out-of-hours share). The daily busyness factor does not change it: the factor is
    gamma with shape ``1/cv^2`` and scale ``cv^2``, mean exactly 1, and a Poisson count
    given the factors has mean ``rate x factor``, so E[count] = sum(rate) x E[factor] =
    sum(rate) (only the variance grows, :func:`daily_busyness`)."""
    return float(expected_rate(demand, start, n_days, opening).sum())
