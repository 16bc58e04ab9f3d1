"""KPIs of the chat and e-mail channels from their tables (pure pandas/numpy, no SimPy).

Same tidy format as :func:`sim.results.metrics.kpis`: columns ``by, key, kpi, value`` with
``by`` in {"all", "month"} and ``key`` "all" or "YYYY-MM"; every KPI name starts with
``chat_`` or ``email_``. Times inside the tables are seconds since the scenario start.

**Chat** (visitors grouped by the month of their arrival, all inside the horizon):

- ``chat_visitors`` (all), ``chat_closed`` (came while closed), ``chat_offered``
  (came while open = visitors - closed), ``chat_answered``, ``chat_abandoned``,
  ``chat_blocked`` (queue full), ``chat_closed_in_queue`` (sent away at closing);
- ``chat_answer_rate``: answered / offered;
- ``chat_share_waited``: share of the offered, not blocked visitors who had to queue
  (Erlang C/A "P(wait)");
- ``chat_mean_wait_s``: mean time in the queue over the offered, not blocked visitors,
  zero for those answered at once, the time until leaving for those who abandoned or
  were sent away (Erlang A's E[min(W, patience)]);
- ``chat_wait_p80_s``, ``chat_wait_p95_s``: 80th / 95th percentile of the time to
  answer of the answered chats;
- ``chat_target_met``: 1 if ``chat_within_target`` reaches the target share
  (``Chat.wait_target_share``), else 0; its mean over replications is the probability
  that the month (or the horizon) meets the service level;
- ``chat_within_target``: share of the offered visitors answered within the target
  wait (``Chat.wait_target_min``); abandoned, blocked and sent-away visitors count as
  not answered within it;
- ``chat_utilisation``, ``chat_staffed_hours``, ``chat_overtime_hours``: the one
  utilisation definition of :mod:`sim.results.metrics` (busy line-seconds within the
  staffed line-seconds over the staffed line-seconds; overtime, the line time of chats
  going on beyond the staffed lines, such as chats finished after closing or after
  extra lines ended, apart, in hours), inside the horizon (by month: that month's hours).

**E-mail.** Three views, because the questions differ:

- *cohort* (e-mails grouped by the month they arrived): ``email_received``,
  ``email_mean_response_h`` (arrival to answer, hours, answered e-mails only) and
  ``email_within_{k}wd`` for each target k: share of the received e-mails answered
  within k working days. **Working days** are Monday to Friday except Belgian public
  holidays (the ``holidays`` package, country BE; the scenario's own closed or open
  dates do not change this definition). An e-mail received on day d (any hour, also a
  weekend or holiday) is answered within k working days if it is answered before the
  end (24:00) of the k-th working day after d; so "1 working day" means by the end of
  the next working day. E-mails never answered count as late.
- *flow* (by the month in which they were answered, inside the horizon; comparable with
  the registered e-mails per month of seed 000): ``email_answered``,
  ``email_answered_by_phone`` (blending: answered on a phone line) and
  ``email_phone_line_hours`` (phone line time spent on e-mail, to add to the phone
  lines' busy time).
- *stock*: ``email_backlog_end``: e-mails received and not yet answered (waiting or in
  handling) at the end of the month, or for key "all" at the horizon end.
  ``email_unanswered_end_of_run`` (key "all" only): e-mails still not answered when
  the simulation stopped, after the calendar tail (normally 0).
- ``email_staff_utilisation``, ``email_staff_staffed_hours`` and
  ``email_staff_overtime_hours`` (if the handlers' StepFunction is given): the same
  definition for the e-mail handlers (an e-mail started before the end of the working
  day is finished in overtime). E-mails handled on phone lines count on the phone lines
  (``utilisation`` in :mod:`sim.results.metrics`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import holidays as holidays_lib
import numpy as np
import pandas as pd

from sim.config import Chat, Email
from sim.model.calendar import DAY_S, HOUR_S, StepFunction, month_of, per_hour
from sim.model.chats import ABANDONED, ANSWERED, BLOCKED, CLOSED, CLOSED_IN_QUEUE
from sim.model.emails import ANSWERED as EMAIL_ANSWERED
from sim.model.emails import PHONE, STAFF
from sim.results.metrics import kpi_rows, line_use_per_hour, safe_div, utilisation_kpis

# Defaults of the scenario settings the KPIs need (they live in sim.config).
_WAIT_TARGET_MIN = Chat().wait_target_min
_WAIT_TARGET_SHARE = Chat().wait_target_share
_TARGETS_WORKING_DAYS = tuple(Email().response_targets_working_days)
COLUMNS = ["by", "key", "kpi", "value"]
# Names of the utilisation KPIs (definition in sim.results.metrics).
CHAT_USE = ("chat_utilisation", "chat_staffed_hours", "chat_overtime_hours")
EMAIL_STAFF_USE = ("email_staff_utilisation", "email_staff_staffed_hours", "email_staff_overtime_hours")


# ---------------------------------------------------------------------------------------
# Chat
# ---------------------------------------------------------------------------------------


def _chat_group(c: pd.DataFrame, target_s: float, target_share: float) -> dict[str, float]:
    out = c["outcome"]
    n = len(c)
    closed = int((out == CLOSED).sum())
    offered = n - closed
    answered = out == ANSWERED
    blocked = int((out == BLOCKED).sum())
    admitted = ~out.isin([CLOSED, BLOCKED]).to_numpy()  # answered at once or queued
    waited = (c["wait_s"] > 0) | out.isin([ABANDONED, CLOSED_IN_QUEUE])
    waits = c.loc[answered, "wait_s"].to_numpy()
    within = safe_div((waits <= target_s).sum(), offered)
    return {
        "chat_visitors": n,
        "chat_closed": closed,
        "chat_offered": offered,
        "chat_answered": int(answered.sum()),
        "chat_abandoned": int((out == ABANDONED).sum()),
        "chat_blocked": blocked,
        "chat_closed_in_queue": int((out == CLOSED_IN_QUEUE).sum()),
        "chat_answer_rate": safe_div(answered.sum(), offered),
        "chat_share_waited": safe_div(waited.to_numpy()[admitted].sum(), admitted.sum()),
        "chat_mean_wait_s": safe_div(c.loc[admitted, "wait_s"].sum(), admitted.sum()),
        "chat_wait_p80_s": float(np.percentile(waits, 80)) if len(waits) else float("nan"),
        "chat_wait_p95_s": float(np.percentile(waits, 95)) if len(waits) else float("nan"),
        "chat_within_target": within,
        "chat_target_met": float(within >= target_share) if offered else float("nan"),
    }


def chat_kpis(
    chats: pd.DataFrame,
    chat_lines: StepFunction,
    start: dt.date,
    n_days: int,
    wait_target_min: float = _WAIT_TARGET_MIN,
    wait_target_share: float = _WAIT_TARGET_SHARE,
) -> pd.DataFrame:
    """Tidy KPI table (``by, key, kpi, value``) of the chat channel over the horizon.

    ``chats`` is ``ChatChannel.log.table()``, ``chat_lines`` ``ChatChannel.lines``,
    ``n_days`` the horizon length in days, ``wait_target_min`` and ``wait_target_share``
    the scenario's ``chat.wait_target_min`` and ``chat.wait_target_share``.
    """
    n_hours = n_days * 24
    target_s = wait_target_min * 60.0
    rows: list[tuple] = kpi_rows("all", "all", _chat_group(chats, target_s, wait_target_share))
    months = month_of(start, chats["arrival_at"])
    for month, g in chats.groupby(months, sort=True):
        rows += kpi_rows("month", month, _chat_group(g, target_s, wait_target_share))

    served = chats[chats["outcome"] == ANSWERED]
    begin = (served["arrival_at"] + served["wait_s"]).to_numpy()
    use = line_use_per_hour(begin, begin + served["duration_s"].to_numpy(), chat_lines, n_hours)
    hour_month = month_of(start, np.arange(n_hours) * HOUR_S)
    for by, key, m in [("all", "all", slice(None))] + [
        ("month", month, hour_month == month) for month in np.unique(hour_month)
    ]:
        rows += kpi_rows(by, key, utilisation_kpis(*(x[m] for x in use), CHAT_USE))
    return pd.DataFrame.from_records(rows, columns=COLUMNS)


# ---------------------------------------------------------------------------------------
# E-mail
# ---------------------------------------------------------------------------------------


def be_holidays(first_year: int, last_year: int) -> np.ndarray:
    """Belgian public holidays of the years ``first_year..last_year`` (datetime64[D])."""
    days = holidays_lib.country_holidays("BE", years=range(first_year, last_year + 1))
    return np.array(sorted(days), dtype="datetime64[D]")


def working_day_deadline_s(arrival_at, start: dt.date, k: int) -> np.ndarray:
    """Deadline (seconds since the start) for "answered within ``k`` working days".

    The end (24:00) of the k-th working day after the arrival day; working days are
    Monday-Friday except Belgian public holidays. An arrival on a weekend or holiday
    counts from the previous working day, so its first working day is the next one.
    """
    day = np.floor(np.asarray(arrival_at, dtype=float) / DAY_S).astype(np.int64)
    first = np.datetime64(start, "D")
    dates = first + day.astype("timedelta64[D]")
    last_year = start.year + int(day.max(initial=0)) // 365 + 2
    due = np.busday_offset(dates, k, roll="backward", holidays=be_holidays(start.year, last_year))
    return ((due - first).astype(np.int64) + 1) * DAY_S


def _email_cohort(e: pd.DataFrame, deadlines: dict[int, np.ndarray]) -> dict[str, float]:
    answered = (e["outcome"] == EMAIL_ANSWERED).to_numpy()
    response_h = (e["done_at"] - e["arrival_at"]).to_numpy()[answered] / HOUR_S
    out = {
        "email_received": len(e),
        "email_mean_response_h": float(response_h.mean()) if len(response_h) else float("nan"),
    }
    done = e["done_at"].to_numpy()
    for k, due in deadlines.items():
        on_time = np.zeros(len(e), dtype=bool)
        on_time[answered] = done[answered] <= due[answered]
        out[f"email_within_{k}wd"] = safe_div(on_time.sum(), len(e))
    return out


def _email_flow(e: pd.DataFrame) -> dict[str, float]:
    phone = (e["handler"] == PHONE).to_numpy()
    return {
        "email_answered": len(e),
        "email_answered_by_phone": int(phone.sum()),
    }


def _backlog_at(e: pd.DataFrame, t: float) -> int:
    done = e["done_at"].to_numpy()
    return int(((e["arrival_at"].to_numpy() < t) & ~(done <= t)).sum())  # NaN: not done


def email_kpis(
    emails: pd.DataFrame,
    start: dt.date,
    n_days: int,
    targets_working_days: Sequence[int] = _TARGETS_WORKING_DAYS,
    handlers: StepFunction | None = None,
) -> pd.DataFrame:
    """Tidy KPI table (``by, key, kpi, value``) of the e-mail channel over the horizon.

    ``emails`` is ``EmailChannel.log.table()``, ``targets_working_days`` the scenario's
    ``email.response_targets_working_days`` and ``handlers`` ``EmailChannel.handlers``
    (for ``email_staff_utilisation``; left out if None).
    """
    n_hours = n_days * 24
    horizon_s = n_days * DAY_S
    hour_month = month_of(start, np.arange(n_hours) * HOUR_S)
    months = np.unique(hour_month)
    month_end_s = {m: float(np.flatnonzero(hour_month == m)[-1] + 1) * HOUR_S for m in months}
    deadlines = {
        k: working_day_deadline_s(emails["arrival_at"], start, k) for k in targets_working_days
    }
    rows: list[tuple] = []

    # Cohort: by month of arrival.
    rows += kpi_rows("all", "all", _email_cohort(emails, deadlines))
    arrived = month_of(start, emails["arrival_at"])
    for month in months:
        m = arrived == month
        if m.any():
            rows += kpi_rows(
                "month", month, _email_cohort(emails[m], {k: d[m] for k, d in deadlines.items()})
            )

    # Flow: by month of answer, inside the horizon.
    done = emails[emails["done_at"] < horizon_s]
    rows += kpi_rows("all", "all", _email_flow(done))
    answered_month = month_of(start, done["done_at"])
    for month in months:
        rows += kpi_rows("month", month, _email_flow(done[answered_month == month]))
    on_phone = emails[emails["handler"] == PHONE]
    line_h = per_hour(on_phone["start_at"], on_phone["done_at"], 1.0, n_hours) / HOUR_S
    rows += kpi_rows("all", "all", {"email_phone_line_hours": line_h.sum()})
    for month in months:
        rows += kpi_rows("month", month, {"email_phone_line_hours": line_h[hour_month == month].sum()})

    # Stock: backlog at month ends and at the horizon end.
    rows += kpi_rows(
        "all",
        "all",
        {
            "email_backlog_end": _backlog_at(emails, horizon_s),
            "email_unanswered_end_of_run": int((emails["outcome"] != EMAIL_ANSWERED).sum()),
        },
    )
    for month in months:
        rows += kpi_rows(
            "month", month, {"email_backlog_end": _backlog_at(emails, month_end_s[month])}
        )

    if handlers is not None:
        staff = emails[emails["handler"] == STAFF]
        use = line_use_per_hour(staff["start_at"], staff["done_at"], handlers, n_hours)
        rows += kpi_rows("all", "all", utilisation_kpis(*use, EMAIL_STAFF_USE))
        for month in months:
            m = hour_month == month
            rows += kpi_rows("month", month, utilisation_kpis(*(x[m] for x in use), EMAIL_STAFF_USE))
    return pd.DataFrame.from_records(rows, columns=COLUMNS)


def staffed_hours_kpis(lines: StepFunction, start: dt.date, n_days: int, kpi: str) -> pd.DataFrame:
    """The rows of one staffed-hours KPI (``kpi``: ``chat_staffed_hours`` or
    ``email_staff_staffed_hours``), overall then by month, as :func:`chat_kpis` and
    :func:`email_kpis` give them, from the staffing alone (``lines``: ``ChatChannel.lines``
    or ``EmailChannel.handlers``): for a channel that was not simulated, whose other KPIs
    nobody reads (issue 16). The same sums of ``lines.per_hour`` as theirs, so the same
    values bit for bit."""
    n_hours = n_days * 24
    staffed = lines.per_hour(n_hours)
    hour_month = month_of(start, np.arange(n_hours) * HOUR_S)
    rows: list[tuple] = kpi_rows("all", "all", {kpi: staffed.sum() / HOUR_S})
    for month in np.unique(hour_month):
        rows += kpi_rows("month", month, {kpi: staffed[hour_month == month].sum() / HOUR_S})
    return pd.DataFrame.from_records(rows, columns=COLUMNS)
