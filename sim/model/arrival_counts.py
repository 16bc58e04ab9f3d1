"""How many new contacts a scenario's arrival processes bring: the exact expectation over
the horizon, and the number drawn in each replication (issue 16, control variates).

The new contacts of a channel are those of its arrival process
(:func:`sim.model.arrivals.channel_arrivals`): new phone callers, new chat visitors, new
e-mails, over ``horizon.days`` days. Contacts that come from another channel (a chat
visitor switching to the phone) or again later (repeat contacts, later retries) are not
new contacts: they are consequences of the model, not its input, and their mean is not
known. So the drawn count is read from the arrival streams themselves, not from the KPIs
(``callers`` equals it only while repeat contacts and channel switching are off).
"""

from __future__ import annotations

import numpy as np

from sim.config import Scenario
from sim.model.arrivals import drawn_count, expected_count, expected_rate
from sim.model.calendar import closed_days, open_intervals
from sim.model.streams import Streams

CHANNELS = ("phone", "chat", "email")


def _opening(scn: Scenario, channel: str):
    """The channel's open intervals when its demand needs them (the phone's
    out-of-hours share), else None, as :func:`sim.model.callers.draw_phone_callers`."""
    if channel != "phone" or scn.demand.phone.out_of_hours_share is None:
        return None
    start, days = scn.horizon.start, scn.horizon.days
    return open_intervals(start, days, scn.phone.opening_hours, closed_days(start, days, scn.calendar))


def expected_new_contacts(scn: Scenario) -> dict[str, float]:
    """Exact expected number of new contacts per channel over the horizon
    (:func:`sim.model.arrivals.expected_count`): ``{"phone": ..., "chat": ..., "email": ...}``."""
    start, days = scn.horizon.start, scn.horizon.days
    return {ch: expected_count(getattr(scn.demand, ch), start, days, _opening(scn, ch))
            for ch in CHANNELS}


def drawn_new_contacts(scn: Scenario, seed: int, replications) -> dict[str, np.ndarray]:
    """Number of new contacts per channel that replication ``r`` of ``seed`` draws, for
    each ``r`` in ``replications`` (the same streams as the simulation, ``Streams(seed, r)``):
    ``{channel: int array in the order of replications}``. Redraws only the counts, so it
    costs milliseconds per replication, and it is the count the simulation drew whether
    or not a channel was simulated (a channel left out draws nothing, but its count
    here is then not a control of anything)."""
    start, days = scn.horizon.start, scn.horizon.days
    reps = [int(r) for r in replications]
    out = {}
    for ch in CHANNELS:
        demand = getattr(scn.demand, ch)
        rate = expected_rate(demand, start, days, _opening(scn, ch))
        out[ch] = np.array([drawn_count(rate, demand, days, Streams(seed, r), ch) for r in reps],
                           dtype=np.int64)
    return out
