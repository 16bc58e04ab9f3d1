"""Capacity KPIs of the phone lines when counsellors are not always at them (issue 14).

Computed only when ``phone.availability`` is on (otherwise the at-the-line hours equal
the staffed hours, which ``staffed_line_hours`` in :mod:`sim.results.metrics` already
gives, and the KPI table stays as it was). From the event log:

- ``at_line_hours``: line-hours with a counsellor at the line, the integral of
  ``lines(t) - away(t)`` (``away`` as :mod:`sim.model.availability` defines it, rebuilt
  from the recorded changes ``EventLog.away``);
- ``away_line_hours``: staffed line-hours whose counsellor was away
  (``staffed_line_hours - at_line_hours``);
- ``at_line_share``: ``at_line_hours / staffed_line_hours``;
- ``talk_hours`` and ``wrap_up_hours``: talk and registration time of answered calls,
  by the hour the call started; ``other_line_work_hours``: callback tries and blended
  e-mails (their line time is not split into talk and wrap-up);
- ``occupancy``: busy line-seconds within the at-the-line time over the at-the-line
  time, ``integral of min(busy, at_line) / integral of at_line``: the share of the
  time counsellors were at the line that they spent on work. A call that runs into
  its counsellor's away period counts as overrun, not as occupancy (as in
  :func:`sim.theory.exact.availability_loss`).

By ``all``, ``province``, ``month`` and ``province_month`` (key ``"<province> YYYY-MM"``).
Hours are line-hours within the horizon.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from sim.config import PROVINCES
from sim.model.calendar import HOUR_S, StepFunction, month_of
from sim.model.eventlog import ANSWERED
from sim.results.metrics import kpi_rows, line_use_per_hour, safe_div


def at_line_lines(lines: StepFunction, away: pd.DataFrame) -> StepFunction:
    """Lines with a counsellor at them over time, from staffed ``lines`` and the away
    changes of one group (``at``, ``in_block``, ``away_mask``)."""
    away = away.sort_values("at", kind="stable")
    times = np.unique(np.concatenate([lines.times, away["at"].to_numpy(float)]))
    if len(times) == 0:
        return lines
    k = np.searchsorted(lines.times, times, "right") - 1
    staffed = np.where(k >= 0, lines.values[np.maximum(k, 0)], 0)
    j = np.searchsorted(away["at"].to_numpy(float), times, "right") - 1
    block = np.where(j >= 0, away["in_block"].to_numpy()[np.maximum(j, 0)], 0)
    mask = np.where(j >= 0, away["away_mask"].to_numpy()[np.maximum(j, 0)], 0)
    random = np.zeros_like(staffed)
    for slot in range(int(staffed.max(initial=0))):
        random += ((mask >> slot) & 1) * (slot < staffed)
    at_line = staffed - np.minimum(staffed, block + random)
    return StepFunction(times.astype(float), at_line.astype(int))


def capacity_kpis(attempts: pd.DataFrame, away: pd.DataFrame, lines: dict[str, StepFunction],
                  start: dt.date, n_days: int, callbacks: pd.DataFrame | None = None,
                  emails: pd.DataFrame | None = None) -> pd.DataFrame:
    """Tidy KPI rows (``by, key, kpi, value``) of the capacity KPIs (module docstring)."""
    n_hours = n_days * 24
    hour_month = month_of(start, np.arange(n_hours) * HOUR_S)
    calls = attempts[attempts["outcome"] == ANSWERED]
    begin = (calls["at"] + calls["wait_s"]).to_numpy()
    work = [pd.DataFrame({"begin": begin, "end": begin + calls["hold_s"].to_numpy(),
                          "group": calls["group"].to_numpy(), "talk": calls["talk_s"].to_numpy(),
                          "wrap": (calls["hold_s"] - calls["talk_s"]).to_numpy(), "other": 0.0})]
    if callbacks is not None and len(callbacks):
        work.append(pd.DataFrame({"begin": callbacks["at"].to_numpy(),
                                  "end": (callbacks["at"] + callbacks["hold_s"]).to_numpy(),
                                  "group": callbacks["group"].to_numpy(), "talk": 0.0, "wrap": 0.0,
                                  "other": callbacks["hold_s"].to_numpy()}))
    if emails is not None and len(emails):
        blended = emails[emails["group"] >= 0]
        held = (blended["done_at"] - blended["start_at"]).to_numpy()
        work.append(pd.DataFrame({"begin": blended["start_at"].to_numpy(), "end": blended["done_at"].to_numpy(),
                                  "group": blended["group"].to_numpy(), "talk": 0.0, "wrap": 0.0,
                                  "other": held}))
    work = pd.concat(work, ignore_index=True)
    hour = np.floor(work["begin"].to_numpy() / HOUR_S).astype(np.int64)
    inside = (hour >= 0) & (hour < n_hours)

    # Per province and clock hour: [staffed, at_line, busy within at_line, talk, wrap, other].
    parts = np.zeros((len(PROVINCES), 6, n_hours))
    for gi, prov in enumerate(PROVINCES):
        at_line = at_line_lines(lines[prov], away[away["group"] == gi])
        mine = (work["group"].to_numpy() == gi)
        within, _, at = line_use_per_hour(work["begin"].to_numpy()[mine], work["end"].to_numpy()[mine],
                                          at_line, n_hours)
        parts[gi, 0] = lines[prov].per_hour(n_hours)
        parts[gi, 1], parts[gi, 2] = at, within
        sel = mine & inside
        for row, col in ((3, "talk"), (4, "wrap"), (5, "other")):
            parts[gi, row] = np.bincount(hour[sel], weights=work[col].to_numpy()[sel], minlength=n_hours)

    def values(p: np.ndarray) -> dict[str, float]:
        staffed, at, within, talk, wrap, other = p.sum(axis=-1) / HOUR_S
        return {"at_line_hours": at, "away_line_hours": staffed - at, "at_line_share": safe_div(at, staffed),
                "talk_hours": talk, "wrap_up_hours": wrap, "other_line_work_hours": other,
                "occupancy": safe_div(within, at)}

    rows = kpi_rows("all", "all", values(parts.sum(axis=0)))
    for gi, prov in enumerate(PROVINCES):
        rows += kpi_rows("province", prov, values(parts[gi]))
    for month in np.unique(hour_month):
        m = hour_month == month
        rows += kpi_rows("month", month, values(parts[:, :, m].sum(axis=0)))
        for gi, prov in enumerate(PROVINCES):
            rows += kpi_rows("province_month", f"{prov} {month}", values(parts[gi][:, m]))
    return pd.DataFrame.from_records(rows, columns=["by", "key", "kpi", "value"])
