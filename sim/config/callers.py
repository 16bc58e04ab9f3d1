"""How callers behave beyond one busy tone: later retries, repeat contacts, switching channel.

Every setting here is OFF by default (probability 0), so a scenario that does not set
them gives the same results, number for number, as before they existed. Values are
assumptions unless a seed is named; README "Callers as they really behave" lists them.
Durations of distributions are in minutes (``*_min``) as everywhere, except
``RepeatContacts.delay_days`` whose distribution is read in days.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, Field, model_validator

from sim.config.common import _STRICT, Probability
from sim.config.distributions import Distribution, Exponential, Fixed


class LaterRetry(BaseModel):
    """A retry at a later opening (the next calendar day that opens), not a quick redial.

    After a failed attempt ``k`` (busy tone or abandoned queue) a caller who does not
    redial quickly (``phone.redial.probability``) tries again at the first opening on a
    later day with ``probability[k-1]`` (the last value repeats), ``delay_min`` after
    that opening. Default 0: off (assumption; nothing is published on when callers try
    again, seed 000 only gives 3 to 4 attempts on average).
    """

    model_config = _STRICT
    probability: list[Probability] = Field(default=[0.0], min_length=1)
    delay_min: Distribution = Field(default=Exponential(dist="exponential", mean=120.0))  # assumption

    @property
    def enabled(self) -> bool:
        return any(p > 0 for p in self.probability)

    def p_after(self, attempt: int) -> float:
        return self.probability[min(attempt, len(self.probability)) - 1]


class RepeatContacts(BaseModel):
    """A caller (one phone number) contacting again after an episode has ended.

    An episode is what a caller does about one need: attempts until answered or given
    up. After it ends, the same number starts a new episode with
    ``probability_answered`` (helped: a follow-up, a new event) or
    ``probability_unanswered`` (not reached, comes back later), ``delay_days`` (a
    distribution read in DAYS) after the end, at most ``max_repeats`` times per number.
    The new episode has the number's home province and option-0 choice and its own talk
    time, patience and redial draws. ``time_of_day``: ``profile`` (default) keeps the
    day the delay gives and draws the hour from that day's phone demand (hour profile,
    out-of-hours share; the next day if that hour has passed), as people call at the
    hours people call; ``exact`` starts exactly ``delay_days`` after the end. Default 0: off (assumption: 1712 publishes no
    repeat rate; the telecom sample of 3 to 4 attempts per caller, seed 000, counts per
    number, which is why this exists).
    """

    model_config = _STRICT
    probability_answered: Probability = 0.0
    probability_unanswered: Probability = 0.0
    delay_days: Distribution = Field(default=Exponential(dist="exponential", mean=14.0))  # assumption
    max_repeats: int = Field(default=3, ge=0, le=1000)  # assumption
    time_of_day: Literal["profile", "exact"] = "profile"

    @property
    def enabled(self) -> bool:
        return self.max_repeats > 0 and (self.probability_answered > 0 or self.probability_unanswered > 0)


class PhoneSwitch(BaseModel):
    """A phone caller who gives up (no more attempts, not answered) tries another channel.

    With ``chat_probability`` they start a chat (``delay_min`` later; if the chat is
    closed then, they find it closed, as any chat visitor does), else with
    ``email_probability`` they write an e-mail. Default 0: off (seed 000: "We weten niet
    of sommige bellers de stap zetten naar andere communicatiekanalen").
    """

    model_config = _STRICT
    chat_probability: Probability = 0.0
    email_probability: Probability = 0.0
    delay_min: Distribution = Field(default=Fixed(dist="fixed", value=1.0))  # assumption

    @property
    def enabled(self) -> bool:
        return self.chat_probability > 0 or self.email_probability > 0


class ChatSwitch(BaseModel):
    """A chat visitor who finds the chat closed, blocked or leaves the queue unanswered
    tries another channel: e-mail with ``email_probability``, else the phone with
    ``phone_probability`` (a new phone caller, ``delay_min`` later; outside the phone's
    opening hours they hear the closed message). Default 0: off (assumption)."""

    model_config = _STRICT
    email_probability: Probability = 0.0
    phone_probability: Probability = 0.0
    delay_min: Distribution = Field(default=Fixed(dist="fixed", value=1.0))  # assumption

    @property
    def enabled(self) -> bool:
        return self.email_probability > 0 or self.phone_probability > 0


class Callers(BaseModel):
    """Phone callers' behaviour beyond the first episode (``phone.callers``).

    ``numbers_from`` / ``numbers_to`` (dates, both included; default the horizon): the
    window of the per-number KPIs (:mod:`sim.results.numbers`), e.g. Sep-Dec 2020 for
    the telecom sample's 3 to 4 attempts. Those KPIs are reported when repeat contacts
    are on or a window is set (so results of scenarios without them keep their rows).
    """

    model_config = _STRICT
    numbers_from: dt.date | None = None
    numbers_to: dt.date | None = None
    later: LaterRetry = LaterRetry()
    repeat: RepeatContacts = RepeatContacts()
    switch: PhoneSwitch = PhoneSwitch()
    chat_switch: ChatSwitch = ChatSwitch()

    @property
    def number_kpis(self) -> bool:
        return self.repeat.enabled or self.numbers_from is not None or self.numbers_to is not None

    @model_validator(mode="after")
    def _ordered(self) -> Callers:
        if self.numbers_from and self.numbers_to and self.numbers_to < self.numbers_from:
            raise ValueError(f"numbers_to {self.numbers_to} is before numbers_from {self.numbers_from}")
        return self


__all__ = ["LaterRetry", "RepeatContacts", "PhoneSwitch", "ChatSwitch", "Callers"]
