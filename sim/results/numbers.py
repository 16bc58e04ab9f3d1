"""Caller KPIs per episode and per phone number (issue 15: repeat contacts).

Two populations answer the two published figures differently:

- **episode** (the caller view of :mod:`sim.results.metrics`): one need, the attempts
  made about it until answered or given up;
- **number** (how a telecom operator's sample sees callers, seed 000 "gemiddeld 3 a 4
  pogingen"): everything one phone number did within a window of dates, over all its
  episodes. Without repeat contacts a number has one episode, but a window still cuts
  episodes that started before it or end after it.

KPIs (``by="numbers"``, ``key="window"``), over the attempts made inside the window:

- ``numbers``: numbers with at least one attempt in the window;
- ``attempts_per_number`` (all attempts, closed message included) and
  ``attempts_open_per_number`` (made while open: the closed message left out);
- ``answered_per_number``: answered calls per number (callbacks not counted: they are
  calls from 1712, not attempts);
- ``share_numbers_answered``: numbers answered at least once in the window;
- ``answer_rate_attempt`` / ``answer_rate_attempt_open``: answered calls over all
  attempts / over attempts made while open (the "40-45% of calls answered" read per
  incoming call);
- ``episodes_per_number``, ``repeat_episodes``: episodes begun in the window per number,
  and how many of those were repeat contacts;
- ``mean_attempts_open_episode``: attempts made while open per episode begun in the window.

Times are seconds since the scenario start; the window is ``[from, to + 1 day)``.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from sim.model.calendar import DAY_S
from sim.model.eventlog import ANSWERED, CLOSED
from sim.results.metrics import kpi_rows, safe_div


def window_s(start: dt.date, days: int, frm: dt.date | None, to: dt.date | None) -> tuple[float, float]:
    """[lo, hi) in seconds for the dates ``frm``..``to`` (both included; the horizon
    by default)."""
    lo = 0.0 if frm is None else (frm - start).days * DAY_S
    hi = days * DAY_S if to is None else ((to - start).days + 1) * DAY_S
    return float(lo), float(hi)


def number_kpis(attempts: pd.DataFrame, callers: pd.DataFrame, episodes: pd.DataFrame,
                lo_s: float, hi_s: float) -> list[tuple]:
    """Tidy KPI rows of the number view over ``[lo_s, hi_s)`` (module docstring).

    ``episodes``: the event log's episodes table (caller, number, repeat); callers not
    in it are episode 0 of their own number."""
    number_of = pd.Series(callers["caller"].to_numpy(), index=callers["caller"].to_numpy())
    if len(episodes):
        number_of.loc[episodes["caller"].to_numpy()] = episodes["number"].to_numpy()
    a = attempts[(attempts["at"] >= lo_s) & (attempts["at"] < hi_s)]
    num = number_of.reindex(a["caller"].to_numpy()).to_numpy()
    out = a["outcome"].astype(str).to_numpy()
    answered = out == ANSWERED
    is_open = out != CLOSED
    numbers = np.unique(num)
    n = len(numbers)
    answered_numbers = len(np.unique(num[answered]))
    c = callers[(callers["arrival_at"] >= lo_s) & (callers["arrival_at"] < hi_s)]
    repeats = set(episodes["caller"].tolist()) if len(episodes) else set()
    begun = c["caller"].to_numpy()
    a_begun = attempts[attempts["caller"].isin(begun)]
    return kpi_rows("numbers", "window", {
        "numbers": n,
        "attempts_per_number": safe_div(len(a), n),
        "attempts_open_per_number": safe_div(int(is_open.sum()), n),
        "answered_per_number": safe_div(int(answered.sum()), n),
        "share_numbers_answered": safe_div(answered_numbers, n),
        "answer_rate_attempt": safe_div(int(answered.sum()), len(a)),
        "answer_rate_attempt_open": safe_div(int(answered.sum()), int(is_open.sum())),
        "episodes_per_number": safe_div(len(c), len(np.unique(number_of.reindex(begun).to_numpy()))),
        "repeat_episodes": sum(1 for x in begun.tolist() if x in repeats),
        "mean_attempts_open_episode": safe_div(int((a_begun["outcome"] != CLOSED).sum()), len(c)),
    })
