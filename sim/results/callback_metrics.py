"""KPIs of the callback mechanisms that are off by default (fading value, expiry,
dedicated callback time), from the messages and callbacks tables.

They are reported only when a scenario switches one of them on, so that every existing
results table stays as it was (:func:`sim.experiments.replications.run_replication`
decides). States are counted as they stand at the horizon end, as in
:func:`sim.results.metrics.message_kpis`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.config import PROVINCES
from sim.model import callbacks as cbk
from sim.model.calendar import HOUR_S, StepFunction
from sim.results.metrics import line_use_per_hour, safe_div, utilisation_kpis

# Names of the dedicated callback lines' utilisation KPIs.
DEDICATED_USE = ("callback_line_utilisation", "callback_line_staffed_hours", "callback_line_overtime_hours")


def callback_kpis(messages: pd.DataFrame, callbacks: pd.DataFrame, horizon_s: float, *,
                  expiry: bool = False, half_life_h: float | None = None,
                  dedicated: dict[str, StepFunction] | None = None) -> dict[str, float]:
    """KPIs of the callback options in use.

    - ``expiry``: ``messages_expired`` (expired by the horizon end) and
      ``share_messages_expired`` (of messages with a number left in the horizon);
    - ``half_life_h``: ``callback_value``, the successful callbacks each weighted by
      ``0.5 ** (delay / half_life_h)`` (delay from leaving the message to the callback,
      hours): a callback is worth more when it comes sooner; and its mean per message
      with a number, ``callback_value_per_message``;
    - ``dedicated`` (staffed callback lines per province): ``callbacks_dedicated``
      (tries made on dedicated lines) and the utilisation, staffed hours and overtime
      of the dedicated lines, defined as for phone lines
      (:func:`sim.results.metrics.line_use_per_hour`). Dedicated lines are logged with
      group ``len(PROVINCES) + province index``.
    """
    m = messages[messages["left_at"] < horizon_s]
    by_end = m["resolved_at"] < horizon_s
    state = m["state"].astype(str).where(by_end, cbk.PENDING)
    with_number = int((m["state"] != cbk.NO_NUMBER).sum())
    out: dict[str, float] = {}
    if expiry:
        n = int((state == cbk.EXPIRED).sum())
        out |= {"messages_expired": n, "share_messages_expired": safe_div(n, with_number)}
    if half_life_h is not None:
        ok = m[(state == cbk.CALLBACK).to_numpy()]
        value = float(np.sum(0.5 ** ((ok["resolved_at"] - ok["left_at"]) / HOUR_S / half_life_h)))
        out |= {"callback_value": value, "callback_value_per_message": safe_div(value, with_number)}
    if dedicated is not None:
        n_hours = int(round(horizon_s / HOUR_S))
        cb = callbacks[callbacks["group"] >= len(PROVINCES)]
        out["callbacks_dedicated"] = int((cb["at"] < horizon_s).sum())
        begin = cb["at"].to_numpy()
        end = begin + cb["hold_s"].to_numpy()
        group = cb["group"].to_numpy() - len(PROVINCES)
        within = overtime = staffed = 0.0
        for gi, prov in enumerate(PROVINCES):
            mine = group == gi
            w, o, s = line_use_per_hour(begin[mine], end[mine], dedicated[prov], n_hours)
            within, overtime, staffed = within + w.sum(), overtime + o.sum(), staffed + s.sum()
        out |= utilisation_kpis(np.array([within]), np.array([overtime]), np.array([staffed]), DEDICATED_USE)
    return out
