"""Phone callers and every attribute they will need, drawn when they are created (habit 5)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.config import PROVINCES, Scenario
from sim.config.distributions import sampler
from sim.model.arrivals import channel_arrivals
from sim.model.streams import Streams


@dataclass(frozen=True)
class PhoneCallers:
    """Attributes of every phone caller of a replication, drawn up front (row = caller).

    Times in seconds. ``redial_u[i, k]`` is caller i's uniform draw for the decision
    after attempt k+1; ``retry_delay_s[i, k]`` the delay before attempt k+2 after a busy
    tone, ``closed_delay_s[i, k]`` after the closed message (counted from the opening).
    Streams are drawn whether or not a feature is switched on, so switching it on does
    not change any caller's other attributes.
    """

    arrival_at: np.ndarray
    home: np.ndarray
    option0: np.ndarray
    talk_s: np.ndarray
    wrap_s: np.ndarray
    patience_s: np.ndarray
    redial_u: np.ndarray
    retry_delay_s: np.ndarray
    closed_delay_s: np.ndarray
    route_u: np.ndarray  # (n, max_attempts): random tie-breaks of routing per attempt
    message_u: np.ndarray  # leaves a message after a busy tone if < message_probability
    number_u: np.ndarray  # the message has a usable number if < number_probability
    reach_u: np.ndarray  # (n, max_tries): callback try k reaches the caller
    failed_s: np.ndarray  # (n, max_tries): line time of a failed callback try
    spacing_s: np.ndarray  # (n, max_tries): wait before the next try after a failed one
    # (n, max_attempts): message decision after a busy tone on attempt k+1, and whether
    # that message has a number (answering_machine.decision: every_busy_tone).
    message_tone_u: np.ndarray
    number_tone_u: np.ndarray

    def __len__(self) -> int:
        return len(self.arrival_at)


def draw_phone_callers(scn: Scenario, streams: Streams) -> PhoneCallers:
    """New phone callers of the horizon and all their attributes."""
    phone = scn.phone
    arrival_at = channel_arrivals(scn.demand.phone, scn.horizon.start, scn.horizon.days, streams,
                                  "phone")
    n = len(arrival_at)
    shares = np.array([phone.province_shares[p] for p in PROVINCES], dtype=float)
    home = streams("caller.province").choice(len(PROVINCES), size=n, p=shares / shares.sum())
    option0 = streams("caller.option0").random(n) < phone.option0.probability
    k = phone.redial.max_attempts
    cb = phone.answering_machine.callbacks
    patience = (
        sampler(phone.queue.patience_min)(streams("patience.phone"), n)
        if phone.queue.patience_min is not None
        else np.full(n, np.inf)
    )
    return PhoneCallers(
        arrival_at=arrival_at,
        home=home,
        option0=option0,
        talk_s=sampler(phone.talk_min)(streams("talk.phone"), n),
        wrap_s=sampler(phone.wrap_up_min)(streams("wrapup.phone"), n),
        patience_s=patience,
        redial_u=streams("redial.decision").random((n, k)),
        retry_delay_s=sampler(phone.redial.delay_min)(streams("redial.delay"), n * k).reshape(n, k),
        closed_delay_s=sampler(phone.closed.delay_min)(streams("closed.delay"), n * k).reshape(n, k),
        route_u=streams("routing").random((n, k)),
        message_u=streams("message.leave").random(n),
        number_u=streams("message.number").random(n),
        reach_u=streams("callback.reach").random((n, cb.max_tries)),
        failed_s=sampler(cb.failed_min)(streams("callback.failed"), n * cb.max_tries).reshape(n, cb.max_tries),
        spacing_s=sampler(cb.retry_spacing_min)(streams("callback.spacing"), n * cb.max_tries).reshape(
            n, cb.max_tries),
        message_tone_u=streams("message.leave.tone").random((n, k)),
        number_tone_u=streams("message.number.tone").random((n, k)),
    )
