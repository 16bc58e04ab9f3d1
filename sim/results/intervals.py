"""Interval staffing tables: per province x weekday x clock hour, what an Erlang
calculator gives a planner, but from the simulation (issue 18).

One replication (:func:`interval_table`), from its attempts table and the staffed-lines
step functions, as :func:`sim.results.metrics.kpis` reads them; then the mean over
replications (:func:`average_intervals`). Columns, all **per day of that weekday** (the
totals over the horizon divided by ``days``, the number of such weekdays in the horizon):

- ``attempts``: phone attempts made in that hour (the hour the caller dialled), closed
  ones included (demand outside the opening hours is demand too); ``attempts_closed``:
  of which made while the line group was closed; ``busy_tones``; ``answered`` (attempts
  of that hour that were answered, whenever the answer came);
- ``busy_tone_share``: busy tones / attempts made while open (NaN without any);
- ``occupancy``: busy line time within the staffed time / staffed line time, the
  project's utilisation (:func:`sim.results.metrics.line_use_per_hour`: answered calls,
  callback tries and blended e-mails hold lines; work past a fall in staffing is
  overtime, not counted); NaN when no line is staffed;
- ``staffed_lines``: mean staffed lines over the hour (staffed line-hours per day).

Attempts are those made inside the horizon and counted at the line group they reached
(``province``, as the attempt view by province in :mod:`sim.results.metrics`).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from sim.config import PROVINCES, WEEKDAYS
from sim.model.calendar import DAY_S, HOUR_S, StepFunction
from sim.model.eventlog import ANSWERED, BUSY, CLOSED
from sim.results.metrics import phone_line_use

KEYS = ["province", "weekday", "hour"]
COLUMNS = ["days", "attempts", "attempts_closed", "busy_tones", "answered", "busy_tone_share",
           "occupancy", "staffed_lines"]


def _ratio(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a / b element by element, NaN where b is zero (as metrics.safe_div)."""
    return np.where(b > 0, a / np.where(b > 0, b, 1), np.nan)


def interval_table(attempts: pd.DataFrame, lines: dict[str, StepFunction], start: dt.date,
                   n_days: int, callbacks: pd.DataFrame | None = None,
                   emails: pd.DataFrame | None = None,
                   use: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None) -> pd.DataFrame:
    """Interval table of one replication: one row per province x weekday x hour (all
    ``5 x 7 x 24``, also empty ones), columns :data:`COLUMNS` per day of that weekday.
    ``use``: :func:`sim.results.metrics.phone_line_use` of the same arguments, when the
    caller has it already (``run_replication`` computes it once for the KPIs and this)."""
    n_hours = n_days * 24
    hour_dates = pd.to_datetime(start) + pd.to_timedelta(np.arange(n_hours), unit="h")
    slot = hour_dates.day_of_week.to_numpy() * 24 + hour_dates.hour.to_numpy()  # per hour
    day_wd = (pd.to_datetime(start) + pd.to_timedelta(np.arange(n_days), unit="D")).day_of_week
    days = np.bincount(day_wd.to_numpy(), minlength=7)  # days of each weekday in the horizon

    inside = attempts[attempts["at"] < n_days * DAY_S]
    a_slot = slot[(inside["at"].to_numpy() // HOUR_S).astype(np.int64)]
    group = inside["group"].to_numpy()
    out = inside["outcome"].to_numpy()
    within_all, _, staffed_all = (use if use is not None
                                  else phone_line_use(attempts, lines, n_days, callbacks, emails))

    def count(mask, g):
        return np.bincount(a_slot[mask & (group == g)], minlength=7 * 24)

    everything = np.ones(len(inside), bool)
    frames = []
    for g, prov in enumerate(PROVINCES):
        w = np.bincount(slot, weights=within_all[g], minlength=7 * 24)
        s = np.bincount(slot, weights=staffed_all[g], minlength=7 * 24)
        made, closed = count(everything, g), count(out == CLOSED, g)
        busy, answered = count(out == BUSY, g), count(out == ANSWERED, g)
        d = np.repeat(days, 24).astype(float)
        per_day = np.where(d > 0, 1.0 / np.maximum(d, 1), np.nan)
        frames.append(pd.DataFrame({
            "province": prov, "weekday": np.repeat(WEEKDAYS, 24), "hour": np.tile(np.arange(24), 7),
            "days": d.astype(int), "attempts": made * per_day, "attempts_closed": closed * per_day,
            "busy_tones": busy * per_day, "answered": answered * per_day,
            "busy_tone_share": _ratio(busy, made - closed), "occupancy": _ratio(w, s),
            "staffed_lines": s / HOUR_S * per_day}))
    return pd.concat(frames, ignore_index=True)[KEYS + COLUMNS]


def average_intervals(tables: list[pd.DataFrame], level: float = 0.95) -> pd.DataFrame:
    """Mean over replications of each column of :func:`interval_table` (the shares: mean
    of the replications' shares, those without a value left out), with the Student-t
    ``level`` half-width of the busy-tone share (``busy_tone_share_hw``; NaN with fewer
    than two replications that have a value) and ``replications``."""
    from sim.results.summary import t_half_width

    stacked = pd.concat(tables, ignore_index=True)
    g = stacked.groupby(KEYS, sort=False)
    mean = g[COLUMNS].mean()
    mean["busy_tone_share_hw"] = g["busy_tone_share"].agg(
        lambda v: t_half_width(v.dropna().to_numpy(), level) if v.notna().sum() >= 2 else np.nan)
    mean["days"] = mean["days"].astype(int)  # the same in every replication
    mean["replications"] = len(tables)
    return mean.reset_index()
