"""The chat channel's settings: hours, staffed chat lines, queue and patience."""

from __future__ import annotations

from pydantic import (
    BaseModel,
    Field,
)

from sim.config.calendar import ExtraStaff, WeeklyHours
from sim.config.common import _STRICT, Probability
from sim.config.distributions import Distribution, Exponential, LogNormal

# Chat and e-mail opening hours

# 2024: "Ma-do, 13u-17u & 18u-22u; vr, 13u-17u" (seed 002). The evening chat until 22h
# came with the chat expansion of September 2021 (seed 000, answer 6).
CHAT_HOURS_2024 = WeeklyHours(
    mon=["13:00-17:00", "18:00-22:00"],
    tue=["13:00-17:00", "18:00-22:00"],
    wed=["13:00-17:00", "18:00-22:00"],
    thu=["13:00-17:00", "18:00-22:00"],
    fri=["13:00-17:00"],
)

# 2020 (assumption; no seed gives the 2020 chat hours). Chat was reachable "elke werkdag"
# (seed 004) with one chat line, and the evening hours came only in September 2021 (seed
# 000). We take the 2024 afternoon block on every working day, plus Thursday 17:00-19:00:
# in 2019 the Thursday-evening phone trial (17-19h) was replaced by "een extra
# chatmoment" (seed 001); we put that extra chat moment in the trial's slot.
CHAT_HOURS_2020 = WeeklyHours(
    mon=["13:00-17:00"],
    tue=["13:00-17:00"],
    wed=["13:00-17:00"],
    thu=["13:00-19:00"],
    fri=["13:00-17:00"],
)

# ---------------------------------------------------------------------------------------
# Chat
# ---------------------------------------------------------------------------------------


class ExtraChatLines(ExtraStaff):
    """Extra staffed chat lines on listed days or date ranges (peak moments).

    The shape of :class:`sim.config.ExtraLines` without provinces (there is one chat
    pool): applies on every date in ``dates`` and every date in ``[from, to]``,
    optionally only on some ``weekdays`` and during part of the day (``hours``).
    ``lines`` is added to the base chat lines while the chat is open. Since September
    2021 "op piekmomenten zijn er tot 3 chatlijnen actief" (seed 000, answer 6), i.e.
    up to 2 extra lines on top of one.
    """


class ChatStaffing(BaseModel):
    """Staffed chat lines: ``lines`` while the chat is open, plus ``extra`` at peaks.

    Default one line, as in 2020: "één telefoonlijn per provincie en één chatlijn"
    (seed 004). A line is one counsellor holding one chat conversation at a time.
    """

    model_config = _STRICT
    lines: int = Field(default=1, ge=0)
    extra: list[ExtraChatLines] = []


class Chat(BaseModel):
    """The chat channel: one pool of chat lines with a FIFO waiting queue.

    A visitor outside ``opening_hours`` (or on a closed day of the calendar) finds the
    chat closed. Otherwise a free line answers at once; if every line is busy the
    visitor waits in the queue if one of its ``queue_capacity`` places is free (else
    they are turned away: "blocked") until answered or their patience runs out. Visitors
    still waiting when the chat closes are sent away ("closed_in_queue"). A chat that
    is going on at closing time is finished.
    """

    model_config = _STRICT
    # 2024 hours (seed 002); scenarios for 2020 use CHAT_HOURS_2020 (assumption above).
    opening_hours: WeeklyHours = CHAT_HOURS_2024
    staffing: ChatStaffing = ChatStaffing()
    # Chat software shows "you are number k in the queue"; how many places 1712's chat
    # offers is not published (assumption: 5).
    queue_capacity: int = Field(default=5, ge=0)
    # How long a chat visitor waits in the queue before closing the window (assumption:
    # exponential, mean 10 minutes; chat visitors can do something else while waiting).
    patience_min: Distribution = Exponential(dist="exponential", mean=15.0)
    # Conversation plus registration, holding the chat line (assumption: typing is
    # slower than talking; the phone baseline holds a line about an hour per call).
    duration_min: Distribution = LogNormal(dist="lognormal", mean=40.0, sd=25.0)
    # Service-level target: a share ``wait_target_share`` of the visitors who find the
    # chat open should be answered within ``wait_target_min`` minutes (assumption: the
    # contact-centre convention "80% within a few minutes"; 1712 publishes no target).
    # KPIs: chat_within_target and chat_target_met (sim.results.channel_metrics).
    wait_target_min: float = Field(default=5.0, ge=0)
    wait_target_share: Probability = 0.8


