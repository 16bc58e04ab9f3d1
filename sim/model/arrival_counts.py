"""How many new contacts a scenario's arrival processes bring: the exact expectation over
the horizon, and the number drawn in each replication (issue 16, control variates).

The new contacts of a channel are those of its arrival process
(:func:`sim.model.arrivals.channel_arrivals`): new phone callers, new chat visitors, new
e-mails, over ``horizon.days`` days. Contacts that come from another channel (a chat
visitor switching to the phone) or again later (repeat contacts, later retries) are not
new contacts: they are consequences of the model, not its input, and their mean is not
known. So the drawn count is read from the arrival streams themselves, not from the KPIs
(``callers`` equals it only while repeat contacts and channel switching are off).

The offered work of the new contacts is known in mean too: each new contact's handling
time is drawn when it is created, from its own stream (``talk.phone`` and
``wrapup.phone``; ``duration.chat``; ``handling.email``), independently of how many
contacts there are, so E[sum of N handling times] = E[N] x mean handling time (Wald's
identity; the distributions' means are exact, ``mean_min``). It is work *offered*, drawn
for every new contact whether or not it is answered; a repeat episode's or a switched
contact's own draws are not in it.
"""

from __future__ import annotations

import numpy as np

from sim.config import Scenario
from sim.config.distributions import sampler
from sim.model.arrivals import drawn_count, expected_count, expected_rate
from sim.model.callers import phone_opening
from sim.model.streams import Streams

CHANNELS = ("phone", "chat", "email")


def _work(scn: Scenario, channel: str):
    """(stream name, duration spec) of the handling-time draws of a new contact, as the
    model draws them (sim.model.callers, chats, emails)."""
    if channel == "phone":
        return [("talk.phone", scn.phone.talk_min), ("wrapup.phone", scn.phone.wrap_up_min)]
    if channel == "chat":
        return [("duration.chat", scn.chat.duration_min)]
    return [("handling.email", scn.email.handling_min)]


def _opening(scn: Scenario, channel: str):
    """The channel's open intervals when its demand needs them (the phone's
    out-of-hours share), else None, as :func:`sim.model.callers.draw_phone_callers`."""
    if channel != "phone" or scn.demand.phone.out_of_hours_share is None:
        return None
    return phone_opening(scn)


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


def expected_controls(scn: Scenario) -> dict[str, float]:
    """Exact means of the controls of :func:`drawn_controls`: per channel the expected
    new contacts (``phone``, ``chat``, ``email``) and their expected offered work in
    hours (``phone_work_h``, ...: expected count x mean handling time)."""
    counts = expected_new_contacts(scn)
    out = dict(counts)
    for ch in CHANNELS:
        out[f"{ch}_work_h"] = counts[ch] * sum(spec.mean_min for _, spec in _work(scn, ch)) / 60.0
    return out


def drawn_controls(scn: Scenario, seed: int, replications) -> dict[str, np.ndarray]:
    """Per replication (in the order of ``replications``): the new contacts per channel
    (:func:`drawn_new_contacts`) and their offered work in hours (``<channel>_work_h``:
    the handling times the model drew for them, from the same streams, summed)."""
    reps = [int(r) for r in replications]
    counts = drawn_new_contacts(scn, seed, reps)
    out = dict(counts)
    for ch in CHANNELS:
        draws = [(name, sampler(spec)) for name, spec in _work(scn, ch)]
        out[f"{ch}_work_h"] = np.array([
            sum(float(draw(Streams(seed, r)(name), int(n)).sum()) for name, draw in draws) / 3600.0
            for r, n in zip(reps, counts[ch], strict=True)])
    return out
