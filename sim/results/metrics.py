"""KPIs of one replication from its tables (pure pandas/numpy, no SimPy).

Two views, because planners ask both questions:

- **Caller view** (cohort): callers are grouped by the month of their *first* attempt
  and by home province; all their attempts count, also redials after the month or the
  horizon end. KPIs: ``callers``, ``callers_answered``, ``answer_rate_caller``,
  ``mean_attempts``, ``mean_attempts_answered``, ``share_2plus_attempts``,
  ``callers_gave_up``, ``callers_max_attempts``.
- **Attempt view**: attempts are grouped by the month in which they were made (inside
  the horizon) and by the line group they reached. ``answered`` is comparable with the
  published monthly counts of answered calls (seed 000), which count by answer date.
  KPIs: ``attempts``, ``attempts_open`` (made while open), ``answered``, ``busy_tones``,
  ``closed_attempts``, ``abandoned``, ``answer_rate_attempt`` (answered / attempts made
  while open), ``answer_rate_attempt_all`` (answered / all attempts, closed included),
  ``share_waited`` and ``mean_wait_s`` (over attempts admitted to a line or the queue).

``utilisation`` is line-busy time (talk + wrap-up) over staffed line time, by month,
province and weekday x hour. The result is a tidy table: ``by, key, kpi, value``.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from sim.model import callbacks as cbk
from sim.model.calendar import DAY_S, HOUR_S, StepFunction, month_of, per_hour
from sim.config import PROVINCES, WEEKDAYS
from sim.model.eventlog import (
    ABANDONED,
    ANSWERED,
    BUSY,
    CLOSED,
    DIALLED,
    END_ANSWERED,
    END_CALLBACK,
    END_GAVE_UP,
    END_MAX_ATTEMPTS,
)

# Attempts-per-caller histogram: 1..ATTEMPTS_HIST_MAX-1 and a last bin "ATTEMPTS_HIST_MAX+".
ATTEMPTS_HIST_MAX = 10


def kpi_rows(by: str, key, values: dict[str, float]) -> list[tuple]:
    """Rows ``(by, key, kpi, value)`` of the tidy KPI table."""
    return [(by, str(key), k, float(v)) for k, v in values.items()]


def safe_div(a, b) -> float:
    """a / b, NaN when b is zero (a rate with nothing to count)."""
    return float(a) / float(b) if b else float("nan")


def _caller_kpis(c: pd.DataFrame) -> dict[str, float]:
    n = len(c)
    direct = c["end"] == END_ANSWERED
    answered = direct | (c["end"] == END_CALLBACK)
    return {
        "callers": n,
        "callers_answered": int(answered.sum()),
        "callers_answered_callback": int((c["end"] == END_CALLBACK).sum()),
        "answer_rate_caller": safe_div(answered.sum(), n),
        "answer_rate_caller_direct": safe_div(direct.sum(), n),
        "mean_attempts": safe_div(c["attempts"].sum(), n),
        "mean_attempts_answered": safe_div(c.loc[answered, "attempts"].sum(), answered.sum()),
        "share_2plus_attempts": safe_div((c["attempts"] >= 2).sum(), n),
        "callers_gave_up": int((c["end"] == END_GAVE_UP).sum()),
        "callers_max_attempts": int((c["end"] == END_MAX_ATTEMPTS).sum()),
    }


def _attempt_kpis(a: pd.DataFrame) -> dict[str, float]:
    out = a["outcome"]
    answered = int((out == ANSWERED).sum())
    closed = int((out == CLOSED).sum())
    queued_or_served = ~out.isin([CLOSED, BUSY]).to_numpy()
    offered = int(queued_or_served.sum())
    waited = int(((a["wait_s"] > 0) | (out == ABANDONED)).sum())
    return {
        "attempts": len(a),
        "attempts_open": len(a) - closed,
        "answered": answered,
        "busy_tones": int((out == BUSY).sum()),
        "closed_attempts": closed,
        "abandoned": int((out == ABANDONED).sum()),
        "answer_rate_attempt": safe_div(answered, len(a) - closed),
        "answer_rate_attempt_all": safe_div(answered, len(a)),
        # Waiting (only with a queue): over attempts made while open that were not
        # blocked, as in Erlang C/A; "waited" means found every line busy and queued.
        "share_waited": safe_div(waited, offered),
        "mean_wait_s": safe_div(a.loc[queued_or_served, "wait_s"].sum(), offered),
    }


def message_kpis(messages: pd.DataFrame, callbacks: pd.DataFrame, horizon_s: float) -> dict[str, float]:
    """Answering machine and callbacks; states as they stand at the horizon end.

    Messages left inside the horizon are counted; one resolved after the horizon end is
    ``messages_pending_end`` (it may still be returned in the calendar's tail). The
    delay is from leaving the message to the start of the callback that reached the
    caller (hours).
    """
    m = messages[messages["left_at"] < horizon_s]
    by_end = m["resolved_at"] < horizon_s
    state = m["state"].astype(str).where(by_end, cbk.PENDING)
    ok = m[(m["state"] == cbk.CALLBACK) & by_end]
    delay_h = (ok["resolved_at"] - ok["left_at"]) / 3600.0
    cb = callbacks[callbacks["at"] < horizon_s]
    return {
        "messages_left": len(m),
        "messages_with_number": int((m["state"] != cbk.NO_NUMBER).sum()),
        "messages_no_number": int((state == cbk.NO_NUMBER).sum()),
        "messages_called_back": int((state == cbk.CALLBACK).sum()),
        "messages_answered_by_redial": int((state == cbk.ANSWERED_BY_REDIAL).sum()),
        "messages_abandoned": int((state == cbk.ABANDONED).sum()),
        "messages_pending_end": int((state == cbk.PENDING).sum()),
        "callbacks_attempted": len(cb),
        "callbacks_successful": int(cb["reached"].sum()),
        "callback_delay_mean_h": float(delay_h.mean()) if len(delay_h) else float("nan"),
        "callback_delay_p80_h": float(delay_h.quantile(0.8)) if len(delay_h) else float("nan"),
    }


def flow_kpis(attempts: pd.DataFrame) -> list[tuple]:
    """Option-0 flows per province and the origin -> answering-province matrix."""
    rows: list[tuple] = []
    opt0 = attempts[(attempts["dialled"] == len(PROVINCES)) & (attempts["outcome"] != CLOSED)]
    for gi, prov in enumerate(PROVINCES):
        here = opt0[opt0["group"] == gi]
        rows += kpi_rows("option0_to", prov, {"attempts": len(here),
                                           "answered": int((here["outcome"] == ANSWERED).sum())})
    ans = attempts[attempts["outcome"] == ANSWERED]
    matrix = np.zeros((len(DIALLED), len(PROVINCES)), dtype=np.int64)
    np.add.at(matrix, (ans["dialled"].to_numpy(), ans["group"].to_numpy()), 1)
    for d, origin in enumerate(DIALLED):
        for g, prov in enumerate(PROVINCES):
            rows += kpi_rows("flow", f"{origin} > {prov}", {"answered": matrix[d, g]})
    own = ans["dialled"] == ans["group"]
    rows += kpi_rows("all", "all", {"answered_other_province": int((~own & (ans["dialled"] < len(PROVINCES))).sum())})
    return rows


def kpis(
    attempts: pd.DataFrame,
    callers: pd.DataFrame,
    lines: dict[str, StepFunction],
    start: dt.date,
    n_days: int,
    messages: pd.DataFrame | None = None,
    callbacks: pd.DataFrame | None = None,
    emails: pd.DataFrame | None = None,
    overall_only: bool = False,
) -> pd.DataFrame:
    """Tidy KPI table (``by, key, kpi, value``) of one replication over the horizon.

    ``emails`` (optional): e-mails handled on phone lines (blending) count as busy line
    time of their province. ``overall_only``: only the ``by="all"`` rows (computed by
    the same code, so equal to those of the full table), for callers that read nothing
    else (the optimiser's search, the sensitivity analysis).
    """
    full = not overall_only
    n_hours = n_days * 24
    horizon_s = n_days * DAY_S
    hour_month = month_of(start, np.arange(n_hours) * HOUR_S)
    rows: list[tuple] = []

    # Caller view.
    c = callers.assign(month=month_of(start, callers["arrival_at"])) if full else callers
    rows += kpi_rows("all", "all", _caller_kpis(c))
    for month, g in c.groupby("month", sort=True) if full else ():
        rows += kpi_rows("month", month, _caller_kpis(g))
    for prov, g in c.groupby("home_province", observed=False) if full else ():
        rows += kpi_rows("province", prov, _caller_kpis(g))
    counts = np.bincount(np.minimum(c["attempts"].to_numpy(), ATTEMPTS_HIST_MAX), minlength=ATTEMPTS_HIST_MAX + 1)
    for k in range(1, ATTEMPTS_HIST_MAX + 1) if full else ():
        label = f"{k}+" if k == ATTEMPTS_HIST_MAX else str(k)
        rows += kpi_rows("attempts", label, {"share_callers": safe_div(counts[k], len(c))})

    # Attempt view.
    rows += kpi_rows("all", "all", _attempt_kpis(attempts))
    if full:
        inside = attempts[attempts["at"] < horizon_s]
        for month, g in inside.groupby(month_of(start, inside["at"]), sort=True):
            rows += kpi_rows("month", month, _attempt_kpis(g))
    for prov, g in attempts.groupby("province", observed=False) if full else ():
        rows += kpi_rows("province", prov, _attempt_kpis(g))
    rows += flow_kpis(attempts)
    if messages is not None and callbacks is not None:
        rows += kpi_rows("all", "all", message_kpis(messages, callbacks, horizon_s))

    # Utilisation: busy line time (calls and callback tries) over staffed line time.
    served = attempts.loc[attempts["outcome"] == ANSWERED, ["at", "wait_s", "hold_s", "group"]]
    if callbacks is not None and len(callbacks):
        served = pd.concat([served, callbacks[["at", "hold_s", "group"]].assign(wait_s=0.0)])
    if emails is not None and len(emails):
        blended = emails[emails["group"] >= 0]
        served = pd.concat([served, pd.DataFrame({
            "at": blended["start_at"], "wait_s": 0.0,
            "hold_s": blended["done_at"] - blended["start_at"], "group": blended["group"]})])
    begin = (served["at"] + served["wait_s"]).to_numpy()
    busy = np.zeros((len(PROVINCES), n_hours))
    staffed = np.zeros((len(PROVINCES), n_hours))
    for gi, prov in enumerate(PROVINCES):
        mine = (served["group"] == gi).to_numpy()
        busy[gi] = per_hour(begin[mine], begin[mine] + served["hold_s"].to_numpy()[mine], 1.0, n_hours)
        staffed[gi] = lines[prov].per_hour(n_hours)
    rows += kpi_rows("all", "all", {"utilisation": safe_div(busy.sum(), staffed.sum()),
                                 "staffed_line_hours": staffed.sum() / HOUR_S})
    for gi, prov in enumerate(PROVINCES) if full else ():
        rows += kpi_rows("province", prov, {"utilisation": safe_div(busy[gi].sum(), staffed[gi].sum()),
                                         "staffed_line_hours": staffed[gi].sum() / HOUR_S})
    if overall_only:
        return _table([r for r in rows if r[0] == "all"])
    b_all, s_all = busy.sum(axis=0), staffed.sum(axis=0)
    for month in np.unique(hour_month):
        m = hour_month == month
        rows += kpi_rows("month", month, {"utilisation": safe_div(b_all[m].sum(), s_all[m].sum())})
    hour_dates = pd.to_datetime(start) + pd.to_timedelta(np.arange(n_hours), unit="h")
    wd = hour_dates.day_of_week.to_numpy()
    hr = hour_dates.hour.to_numpy()
    key = wd * 24 + hr
    b_wh = np.bincount(key, weights=b_all, minlength=7 * 24)
    s_wh = np.bincount(key, weights=s_all, minlength=7 * 24)
    for k in np.flatnonzero(s_wh > 0):
        rows += kpi_rows("weekday_hour", f"{WEEKDAYS[k // 24]} {k % 24:02d}",
                      {"utilisation": b_wh[k] / s_wh[k]})
    return _table(rows)


def _table(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame.from_records(rows, columns=["by", "key", "kpi", "value"])
