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

**Utilisation, one definition for every channel** (:func:`line_use_per_hour`).
A channel has staffed lines (phone lines per province, chat lines, e-mail handlers):
``lines(t)``, a step function; and work that holds a line over ``[begin, end)``:
``busy(t)`` is the number of pieces of work going on at t. Then, over a period,

- staffed line-seconds ``S = integral of lines(t)``;
- busy line-seconds within the staffed time ``B = integral of min(busy(t), lines(t))``;
- overtime line-seconds ``O = integral of max(busy(t) - lines(t), 0)``: work that runs
  past a fall in staffing (a call, chat or e-mail started before closing, or before
  extra lines ended, is finished; sim.model.lines never interrupts work);
- utilisation ``B / S``, always within [0, 1]; the overtime is reported apart, in
  hours, and not counted in the utilisation. In contact-centre terms this is the
  occupancy of the staffed lines, one per channel.

The integrals are exact (work and staffing change at any instant, not only on the hour),
split by clock hour for the monthly and weekday x hour views; work after the horizon end
is left out. KPI names per channel:

- phone (this module; busy = answered calls' talk + wrap-up, callback tries and e-mails
  handled on phone lines): ``utilisation``, ``staffed_line_hours`` and
  ``overtime_line_hours``, by all / province / month; ``utilisation`` also by
  weekday x hour;
- chat (:mod:`sim.results.channel_metrics`): ``chat_utilisation``,
  ``chat_staffed_hours``, ``chat_overtime_hours``, by all / month;
- e-mail handlers (:mod:`sim.results.channel_metrics`): ``email_staff_utilisation``,
  ``email_staff_staffed_hours``, ``email_staff_overtime_hours``, by all / month (the
  e-mails handled on phone lines count on the phone lines, see
  ``email_phone_line_hours``).

Before this definition was shared (commit "one utilisation definition"), the phone
utilisation counted all busy time, also after closing, over staffed time, and chat and
e-mail clipped busy time to staffed time per clock hour only.

The result is a tidy table: ``by, key, kpi, value``.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from sim.config import PROVINCES, WEEKDAYS
from sim.model import callbacks as cbk
from sim.model.calendar import DAY_S, HOUR_S, StepFunction, month_of
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

# Names of the phone lines' utilisation KPIs (see the module docstring).
PHONE_USE = ("utilisation", "staffed_line_hours", "overtime_line_hours")

# Attempts-per-caller histogram: 1..ATTEMPTS_HIST_MAX-1 and a last bin "ATTEMPTS_HIST_MAX+".
ATTEMPTS_HIST_MAX = 10


def kpi_rows(by: str, key, values: dict[str, float]) -> list[tuple]:
    """Rows ``(by, key, kpi, value)`` of the tidy KPI table."""
    return [(by, str(key), k, float(v)) for k, v in values.items()]


def safe_div(a, b) -> float:
    """a / b, NaN when b is zero (a rate with nothing to count)."""
    return float(a) / float(b) if b else float("nan")


def line_use_per_hour(
    begin, end, lines: StepFunction, n_hours: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Line-seconds per clock hour of the first ``n_hours`` hours: (within, overtime, staffed).

    ``begin``/``end``: instants (seconds since the start) at which each piece of work
    took and freed a line; ``lines``: staffed lines over time. ``within`` is the busy
    time within the staffed time (integral of min(busy, lines)), ``overtime`` the rest of
    the busy time (integral of max(busy - lines, 0)), ``staffed`` ``lines.per_hour``.
    Exact: the time axis is cut at every start and end of work, staffing change and hour
    boundary, and busy and staffed lines are constant between two cuts.
    """
    begin, end = np.asarray(begin, float), np.asarray(end, float)
    keep = end > begin
    begin, end = np.sort(begin[keep]), np.sort(end[keep])
    staffed = lines.per_hour(n_hours)
    horizon_s = n_hours * HOUR_S
    cuts = np.unique(np.concatenate([begin, end, lines.times, np.arange(n_hours + 1) * HOUR_S]))
    cuts = cuts[(cuts >= 0) & (cuts <= horizon_s)]
    left, width = cuts[:-1], np.diff(cuts)
    # Work [b, e) is going on at t if b <= t < e; every e > b, so this count is exact.
    busy = np.searchsorted(begin, left, "right") - np.searchsorted(end, left, "right")
    # Zero before the first change (and everywhere for a group never staffed, whose
    # step function is empty: indexing its values would fail).
    k = np.searchsorted(lines.times, left, "right")
    staffed_now = np.concatenate([[0], lines.values])[k]
    inside = np.minimum(busy, staffed_now)
    hour = np.minimum((left // HOUR_S).astype(np.int64), n_hours - 1)
    within = np.bincount(hour, weights=inside * width, minlength=n_hours)[:n_hours]
    overtime = np.bincount(hour, weights=(busy - inside) * width, minlength=n_hours)[:n_hours]
    # within <= staffed exactly; the two sums are rounded differently.
    return np.minimum(within, staffed), overtime, staffed


def utilisation_kpis(within: np.ndarray, overtime: np.ndarray, staffed: np.ndarray,
                     names: tuple[str, str, str]) -> dict[str, float]:
    """KPIs (utilisation, staffed hours, overtime hours) named ``names`` from the line-
    seconds of :func:`line_use_per_hour` (summed over the hours, and lines, given)."""
    u, s, o = names
    return {u: safe_div(within.sum(), staffed.sum()), s: staffed.sum() / HOUR_S,
            o: overtime.sum() / HOUR_S}


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


def phone_line_work(attempts: pd.DataFrame, callbacks: pd.DataFrame | None = None,
                    emails: pd.DataFrame | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Work holding the phone lines: ``(begin, end, group)``, instants in seconds since the
    start and the line group's index; answered calls (talk and wrap-up), callback tries
    and e-mails handled on phone lines (blending), as :func:`kpis` counts them."""
    served = attempts.loc[attempts["outcome"] == ANSWERED, ["at", "wait_s", "hold_s", "group"]]
    if callbacks is not None and len(callbacks):
        served = pd.concat([served, callbacks[["at", "hold_s", "group"]].assign(wait_s=0.0)])
    if emails is not None and len(emails):
        blended = emails[emails["group"] >= 0]
        served = pd.concat([served, pd.DataFrame({
            "at": blended["start_at"], "wait_s": 0.0,
            "hold_s": blended["done_at"] - blended["start_at"], "group": blended["group"]})])
    begin = (served["at"] + served["wait_s"]).to_numpy()
    end = begin + served["hold_s"].to_numpy()
    return begin, end, served["group"].to_numpy()


def phone_line_use(attempts: pd.DataFrame, lines: dict[str, StepFunction], n_days: int,
                   callbacks: pd.DataFrame | None = None, emails: pd.DataFrame | None = None,
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(within, overtime, staffed) line-seconds per province (rows, in the order of
    ``PROVINCES``) and clock hour of the first ``n_days`` days: :func:`line_use_per_hour`
    of each province's :func:`phone_line_work`. Read by :func:`kpis` and
    :func:`sim.results.intervals.interval_table`, which may share one computation."""
    n_hours = n_days * 24
    begin, end, group = phone_line_work(attempts, callbacks, emails)
    within = np.zeros((len(PROVINCES), n_hours))
    overtime = np.zeros((len(PROVINCES), n_hours))
    staffed = np.zeros((len(PROVINCES), n_hours))
    for gi, prov in enumerate(PROVINCES):
        mine = group == gi
        within[gi], overtime[gi], staffed[gi] = line_use_per_hour(begin[mine], end[mine], lines[prov], n_hours)
    return within, overtime, staffed


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
    use: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
) -> pd.DataFrame:
    """Tidy KPI table (``by, key, kpi, value``) of one replication over the horizon.

    ``emails`` (optional): e-mails handled on phone lines (blending) count as busy line
    time of their province. ``overall_only``: only the ``by="all"`` rows (computed by
    the same code, so equal to those of the full table), for callers that read nothing
    else (the optimiser's search, the sensitivity analysis). ``use``: the result of
    :func:`phone_line_use` for the same arguments, when the caller has it already.
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

    # Utilisation (module docstring): calls, callback tries and blended e-mails hold lines.
    within, overtime, staffed = (use if use is not None
                                 else phone_line_use(attempts, lines, n_days, callbacks, emails))
    rows += kpi_rows("all", "all", utilisation_kpis(within, overtime, staffed, PHONE_USE))
    if overall_only:
        return _table([r for r in rows if r[0] == "all"])
    for gi, prov in enumerate(PROVINCES):
        rows += kpi_rows("province", prov, utilisation_kpis(within[gi], overtime[gi], staffed[gi], PHONE_USE))
    w_all, o_all, s_all = within.sum(axis=0), overtime.sum(axis=0), staffed.sum(axis=0)
    for month in np.unique(hour_month):
        m = hour_month == month
        rows += kpi_rows("month", month, utilisation_kpis(w_all[m], o_all[m], s_all[m], PHONE_USE))
    hour_dates = pd.to_datetime(start) + pd.to_timedelta(np.arange(n_hours), unit="h")
    wd = hour_dates.day_of_week.to_numpy()
    hr = hour_dates.hour.to_numpy()
    key = wd * 24 + hr
    w_wh = np.bincount(key, weights=w_all, minlength=7 * 24)
    s_wh = np.bincount(key, weights=s_all, minlength=7 * 24)
    for k in np.flatnonzero(s_wh > 0):
        rows += kpi_rows("weekday_hour", f"{WEEKDAYS[k // 24]} {k % 24:02d}",
                      {"utilisation": w_wh[k] / s_wh[k]})
    return _table(rows)


def _table(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame.from_records(rows, columns=["by", "key", "kpi", "value"])
