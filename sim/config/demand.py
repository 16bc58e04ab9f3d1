"""Demand: arrival rates of new contacts per channel, with dated events."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    Field,
    field_validator,
    model_validator,
)

from sim.config.common import _STRICT

# ---------------------------------------------------------------------------------------
# Demand
# ---------------------------------------------------------------------------------------


class DemandEvent(BaseModel):
    """A dated multiplicative effect on the arrival rate (lockdown, media campaign).

    Multiplier ``1 + amplitude * shape(t)``: shape is 0 before ``start``, 1 for
    ``plateau_days``, then decays as ``exp(-days / decay_days)``; with no ``decay_days``
    it stays 1 until ``end`` (or the end of the horizon). After ``end`` it is 0.
    """

    model_config = _STRICT
    name: str
    kind: Literal["lockdown", "campaign", "other"] = "campaign"
    start: dt.date
    end: dt.date | None = None
    amplitude: float = Field(gt=-1.0)
    plateau_days: float = Field(default=0.0, ge=0)
    decay_days: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _ordered(self) -> DemandEvent:
        if self.end is not None and self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}")
        return self


def _fixed_len(n: int, what: str):
    def check(v: list[float]) -> list[float]:
        if len(v) != n:
            raise ValueError(f"{what} needs {n} values, got {len(v)}")
        if sum(v) <= 0:
            raise ValueError(f"{what} must not all be zero")
        return v

    return check


# Hour-of-day profile of phone demand. Not observable: the registration system does not
# record call times (seed 000, answer 2). Assumption: most demand in office hours with a
# late-morning and early-afternoon peak; a little in the evening and at night (those
# callers hear the closed message). Relative weights, normalised to mean 1.
DEFAULT_PHONE_HOUR_PROFILE = [
    0.05, 0.03, 0.02, 0.02, 0.02, 0.05, 0.15, 0.40,   # 00-08
    0.90, 1.50, 1.90, 1.80, 1.40, 1.70, 1.80, 1.70,   # 08-16
    1.50, 1.20, 0.80, 0.60, 0.50, 0.40, 0.25, 0.10,   # 16-24
]  # fmt: skip


class ChannelDemand(BaseModel):
    """Arrival rate of new contacts (first attempts) of one channel.

    rate(t) [per day] = ``annual`` / 365 x month factor x weekday factor x hour profile
    x (1 + trend_per_year)^(years since start) x product of event multipliers.
    Month, weekday and hour factors are relative weights normalised to mean 1, so
    ``annual`` is the expected yearly number of new contacts without events and trend.

    ``hour_profile`` has 24 values (one per hour) or 24 k values for k intervals an hour
    (k dividing 60: 48 values are half hours, 96 quarter hours, 288 five minutes), so a
    within-hour shape or a short peak is kept; arrivals are drawn exactly per interval.
    ``busyness_cv`` > 0 multiplies each day's rate by a gamma factor with mean 1 and that
    coefficient of variation (day-to-day overdispersion, as call-centre forecasts and the
    fit's negative binomial assume). Default 0, off: an assumption, since nothing
    published gives daily counts of 1712 to estimate it from.

    ``out_of_hours_share`` (phone only): on every day with opening hours, the share of
    that day's demand that arrives while the phone is closed. When set, the hour
    profile is rescaled separately inside and outside the opening hours (its shape in
    each part is kept, the day's total too); days without opening hours are left as
    they are. None (default): the profile alone decides. See README "Out-of-hours
    calls" for a suggested value from seed 001.
    """

    model_config = _STRICT
    annual: float = Field(default=9000.0, gt=0)
    month_factors: list[Annotated[float, Field(ge=0)]] = [1.0] * 12
    weekday_factors: list[Annotated[float, Field(ge=0)]] = [1.1, 1.05, 1.0, 1.0, 0.95, 0.5, 0.4]
    hour_profile: list[Annotated[float, Field(ge=0)]] = DEFAULT_PHONE_HOUR_PROFILE
    trend_per_year: float = Field(default=0.0, gt=-1.0)
    events: list[DemandEvent] = []
    busyness_cv: float = Field(default=0.0, ge=0.0, le=2.0)
    # Phone only (sim.model.arrivals.rescale_out_of_hours): share of each opening day's
    # demand that falls outside the opening hours; None keeps the hour profile as it is.
    out_of_hours_share: float | None = Field(default=None, ge=0.0, lt=1.0)

    _months = field_validator("month_factors")(_fixed_len(12, "month_factors"))
    _weekdays = field_validator("weekday_factors")(_fixed_len(7, "weekday_factors"))

    @field_validator("hour_profile")
    @classmethod
    def _day_profile(cls, v: list[float]) -> list[float]:
        k, rest = divmod(len(v), 24)
        if rest or k == 0 or 60 % k:
            raise ValueError(f"hour_profile needs 24 values (hourly) or 24 k values for k "
                             f"intervals an hour, k dividing 60 (48, 72, 96, ... 1440); got {len(v)}")
        if sum(v) <= 0:
            raise ValueError("hour_profile must not all be zero")
        return v


# ---------------------------------------------------------------------------------------
# Chat and e-mail (1712 is a phone, chat and e-mail helpline: in 2024 27% of contacts
# came by chat and 13% by e-mail, seed 002; in 2020 911 chats and 1,440 e-mails were
# registered, seed 000). Registered contacts are answered ones, so demand is set above.
# ---------------------------------------------------------------------------------------
# Hour-of-day profile of chat demand (assumption; nothing is published about when
# chats arrive, seed 000 answer 2). Chat is "vooral bij minderjarigen een populair
# medium" (seed 004): mostly afternoon and evening, some at night. Much of it falls
# outside the opening hours; those visitors find the chat closed.
DEFAULT_CHAT_HOUR_PROFILE = [
    0.35, 0.20, 0.10, 0.05, 0.05, 0.05, 0.10, 0.25,   # 00-08
    0.50, 0.70, 0.90, 1.00, 1.10, 1.30, 1.40, 1.50,   # 08-16
    1.50, 1.40, 1.50, 1.70, 1.90, 1.90, 1.50, 0.80,   # 16-24
]  # fmt: skip

# E-mail is written at any hour (seed 002: 24/7), with a daytime bias (assumption).
DEFAULT_EMAIL_HOUR_PROFILE = [
    0.35, 0.25, 0.15, 0.10, 0.10, 0.15, 0.35, 0.70,   # 00-08
    1.10, 1.40, 1.50, 1.50, 1.30, 1.40, 1.50, 1.40,   # 08-16
    1.30, 1.20, 1.20, 1.30, 1.40, 1.30, 1.00, 0.60,   # 16-24
]  # fmt: skip

# New chat visitors a year (without events), hand-set so that the 2020 set-up
# (CHAT_HOURS_2020, one line, the defaults above, Belgian holidays closed) answers about
# 911 chats in 2020 (seed 000; simulated about 910). Demand is far above the answered
# chats: with 22 open hours a week about 70% of the visitors find the chat closed, and
# about a third of those who find it open leave the queue unanswered. With the 2024
# hours (the ``Chat`` default) the same demand and one line answer about 1,600.
# Weekday factors: fewer on Friday and at the weekend (assumption).
DEFAULT_CHAT_DEMAND = ChannelDemand(
    annual=6650.0,
    weekday_factors=[1.05, 1.05, 1.0, 1.0, 0.9, 0.75, 0.85],
    hour_profile=DEFAULT_CHAT_HOUR_PROFILE,
)

# New e-mails a year (without events): 1,440 e-mails were registered in 2020 (seed 000).
# Nearly every e-mail is answered in the end, so demand is only a little above that (the
# backlog at the year end is answered the next year; simulated about 1,440 answered in
# 2020 with the defaults). Weekday factors: assumption.
DEFAULT_EMAIL_DEMAND = ChannelDemand(
    annual=1450.0,
    weekday_factors=[1.15, 1.1, 1.05, 1.0, 0.95, 0.8, 0.9],
    hour_profile=DEFAULT_EMAIL_HOUR_PROFILE,
)


class Demand(BaseModel):
    model_config = _STRICT
    phone: ChannelDemand = ChannelDemand()
    chat: ChannelDemand = DEFAULT_CHAT_DEMAND
    email: ChannelDemand = DEFAULT_EMAIL_DEMAND

    @model_validator(mode="after")
    def _out_of_hours_phone_only(self) -> Demand:
        for name in ("chat", "email"):
            if getattr(self, name).out_of_hours_share is not None:
                raise ValueError(f"{name}.out_of_hours_share: only the phone's demand has an "
                                 "out-of-hours share (leave it unset)")
        return self

