"""The phone channel's settings: staffing, option 0, overflow, answering machine, queue, redials."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from sim.config.calendar import ExtraStaff, WeeklyHours, _weekly, parse_interval
from sim.config.callbacks import DedicatedCallbacks
from sim.config.callers import Callers
from sim.config.capacity import Availability, Pooling
from sim.config.common import _STRICT, POPULATION_2020, PROVINCES, Probability, Province, Weekday
from sim.config.distributions import Distribution, Exponential, Fixed, Gamma, LogNormal


class ExtraLines(ExtraStaff):
    """Extra phone lines: as :class:`ExtraStaff`, for all or some ``provinces``.

    ``peak_share`` (optional, 0-1): peak days from the scenario's own forecast. Of the
    days this entry would otherwise apply to (its dates, range and weekdays, open for the
    phone, inside the horizon), only the share ``peak_share`` with the highest expected
    phone demand (new callers a day: the rate of :mod:`sim.model.arrivals`, events and
    trend included) get the lines; ties go to the earlier day. Default off: every such
    day. The subsidy's goal is "de bereikbaarheid tijdens piekdagen verhogen door een
    extra telefoonlijn in te zetten in alle provincies" (seed 000); which days are peak
    days is not published, so the forecast decides rather than a fixed weekday.
    """

    provinces: list[Province] | Literal["all"] = "all"
    peak_share: float | None = Field(default=None, gt=0, le=1)


class PhoneStaffing(BaseModel):
    """Staffed phone lines per province over time.

    Default: one line per province, as in 2020 (seed 004: "één telefoonlijn per
    provincie"). ``lines`` may be one number for every province or a mapping.
    """

    model_config = _STRICT
    lines: dict[Province, Annotated[int, Field(ge=0)]] = {p: 1 for p in PROVINCES}
    extra: list[ExtraLines] = []

    @field_validator("lines", mode="before")
    @classmethod
    def _one_number_for_all(cls, v: Any) -> Any:
        if isinstance(v, int) and not isinstance(v, bool):
            return {p: v for p in PROVINCES}
        if isinstance(v, dict):
            missing = [p for p in PROVINCES if p not in v]
            return {**{p: 1 for p in missing}, **v}
        return v


class Option0Routing(BaseModel):
    """Where IVR option 0 ("I don't know or won't say my province") goes.

    - ``fixed``: always ``province`` (the pre-2021 behaviour, seed 000 answer 3). The
      province is not published: we assume Vlaams-Brabant, the team that also serves
      Brussels, where callers who cannot name a Flemish province most likely live.
    - ``round_robin``: the next province in a fixed cycle, hunting on along the cycle to
      the first with a free line; the cycle advances by one per option-0 call.
    - ``least_busy``: the province with the most free lines now; ties go to the one with
      the least line time committed today (calls, callbacks and e-mails started since
      midnight), then to a random draw from the caller's own stream.
    - ``any_free``: any province with a free line, chosen at random (caller's stream).

    Since 2021 option 0 is an overflow line to "the least busy provinces and/or lines
    that are free at that moment" (seed 000 answer 3): ``least_busy`` or ``any_free``.
    When no line is free anywhere, the call gets a busy tone like any other.
    """

    model_config = _STRICT
    policy: Literal["fixed", "round_robin", "least_busy", "any_free"] = "fixed"
    province: Province = "Vlaams-Brabant"


class Option0(BaseModel):
    """Share of callers who choose option 0 and how option 0 is routed.

    The share is not published (assumption: 10%).
    """

    model_config = _STRICT
    probability: Probability = 0.10
    routing: Option0Routing = Option0Routing()


class Period(BaseModel):
    """A date range, both ends included."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    from_: dt.date = Field(alias="from")
    to: dt.date

    @model_validator(mode="after")
    def _ordered(self) -> Period:
        if self.to < self.from_:
            raise ValueError(f"'to' {self.to} is before 'from' {self.from_}")
        return self


# Neighbouring provinces in order of shared border length (assumption; the seed only
# says callers "may be passed to another region that has capacity", seed 000).
DEFAULT_NEIGHBOURS: dict[str, list[str]] = {
    "Antwerpen": ["Oost-Vlaanderen", "Vlaams-Brabant", "Limburg"],
    "Limburg": ["Vlaams-Brabant", "Antwerpen"],
    "Oost-Vlaanderen": ["West-Vlaanderen", "Antwerpen", "Vlaams-Brabant"],
    "Vlaams-Brabant": ["Antwerpen", "Oost-Vlaanderen", "Limburg"],
    "West-Vlaanderen": ["Oost-Vlaanderen"],
}


class Overflow(BaseModel):
    """Passing a call to another province when every line of its own is busy.

    Seed 000: "bellers op piekmomenten in hun regio worden doorgeschakeld naar een
    andere regio waar op dat ogenblik wel capaciteit is". Overflow is tried only when
    the target province has no free line (before the caller would queue or hear a busy
    tone). ``any_free``: another province with a free line (most free lines first, then
    a random draw); ``neighbours``: the first province with a free line in the ordered
    list of the target province. With ``when: peak_days`` it is active only on the
    listed dates and periods. ``weekdays`` and ``hours`` (``"HH:MM-HH:MM"``, local time)
    limit it further to peak moments of the week and the day ("op piekmomenten", seed
    000; which moments is an assumption); absent, every day and hour. Limits on the
    receiving province (occupancy, extra talk time) are in ``phone.pooling``.
    """

    model_config = _STRICT
    policy: Literal["off", "any_free", "neighbours"] = "off"
    neighbours: dict[Province, list[Province]] = {k: list(v) for k, v in DEFAULT_NEIGHBOURS.items()}
    when: Literal["always", "peak_days"] = "always"
    peak_dates: list[dt.date] = []
    peak_periods: list[Period] = []
    weekdays: list[Weekday] | None = None
    hours: str | None = None

    @field_validator("hours")
    @classmethod
    def _hours(cls, v: str | None) -> str | None:
        if v is not None:
            parse_interval(v)
        return v

    @field_validator("neighbours", mode="before")
    @classmethod
    def _fill(cls, v: Any) -> Any:
        if isinstance(v, dict):
            return {**{p: [] for p in PROVINCES}, **v}
        return v

    @model_validator(mode="after")
    def _not_self(self) -> Overflow:
        for p, order in self.neighbours.items():
            if p in order:
                raise ValueError(f"neighbours of {p} list {p} itself")
        if self.when == "peak_days" and not (self.peak_dates or self.peak_periods):
            raise ValueError("when: peak_days needs peak_dates or peak_periods")
        return self


class Callbacks(BaseModel):
    """How staff return answering-machine messages (seed 000 answer 3 and 5).

    A callback is made by a free line of the mailbox's province (for a central mailbox,
    the province with the most free lines, ties to the least line time committed
    today), only while open and when no caller is waiting in that line group's queue:

    - ``immediate``: as soon as a line is free;
    - ``after_idle``: only once the line group has had a free line for ``idle_min``
      (drawn afresh each time the group goes from fully busy to having a free line);
    - ``target_delay``: as ``after_idle``, but a message older than
      ``target_delay_min`` is returned as soon as a line is free.

    The oldest eligible message goes first. Each try reaches the caller with
    ``reach_probability``; a successful callback holds the line for the caller's talk
    and wrap-up time, a failed one for ``failed_min``. A message is tried at most
    ``max_tries`` times, ``retry_spacing_min`` apart; then it is abandoned. Defaults are
    assumptions (nothing is published on callbacks).

    A message's value fades (both off by default; values are assumptions, nothing is
    published): with ``reach_half_life_h`` a try at age a hours reaches the caller with
    ``reach_probability * 0.5 ** (a / reach_half_life_h)`` (the caller is less often
    there, or no longer wants the call); with ``expire_after_h`` a message not returned
    within that many hours expires (the need has passed or was met elsewhere): it is
    never called back and ends in the state ``expired``.

    ``dedicated`` (default none): staffed lines that only return messages, see
    :class:`sim.config.callbacks.DedicatedCallbacks`.
    """

    model_config = _STRICT
    policy: Literal["immediate", "after_idle", "target_delay"] = "after_idle"
    idle_min: Distribution = Fixed(dist="fixed", value=30.0)
    target_delay_min: float = Field(default=24 * 60.0, gt=0)
    reach_probability: Probability = 0.6
    failed_min: Distribution = Fixed(dist="fixed", value=2.0)
    max_tries: int = Field(default=3, ge=1)
    retry_spacing_min: Distribution = Fixed(dist="fixed", value=120.0)
    reach_half_life_h: float | None = Field(default=None, gt=0)
    expire_after_h: float | None = Field(default=None, gt=0)
    dedicated: DedicatedCallbacks | None = None


class AnsweringMachine(BaseModel):
    """Messages left after a busy tone, returned by callbacks.

    The answering machine existed before the 2021 subsidy; the subsidy paid for faster
    callbacks (seed 000 answer 3). The share of messages with a usable number,
    ``number_probability``, is 25% by default: "ruim driekwart" of callers stay
    anonymous (seed 000 answer 5), and in 2024 47% of contacts were anonymous, 28%
    unknown and 25% not anonymous (seed 002, "anonieme contactnames"); 25% is the share
    known to have given their identity (if every "unknown" contact would leave a number
    it would be 53%). That a caller's anonymity on the call is their choice on the
    answering machine is an assumption. The share of busy-tone callers who leave a
    message at all is not published (assumption: 20%). A message without a number is
    counted but cannot be returned.

    ``decision`` (when the choice is made; assumption, not published):

    - ``once_per_caller`` (default, the model before issue 14): one draw per caller
      decides at their first busy tone; a caller leaves at most one message;
    - ``every_busy_tone``: at every busy tone a caller without an open message leaves
      one with ``message_probability`` (a fresh draw per busy tone, from the streams
      ``message.leave.tone`` and ``message.number.tone``), so a caller who redials may
      leave a message at a later busy tone, or a new one after an earlier message was
      closed (without a number, expired, abandoned).
    """

    model_config = _STRICT
    enabled: bool = True
    decision: Literal["once_per_caller", "every_busy_tone"] = "once_per_caller"
    message_probability: Probability = 0.20
    number_probability: Probability = 0.25
    mailbox: Literal["per_province", "central"] = "per_province"
    redial_after_message: bool = True
    callbacks: Callbacks = Callbacks()


class QueueConfig(BaseModel):
    """Waiting room per province line group.

    1712 has none: a caller who finds every line busy hears a busy tone (capacity 0).
    Capacity > 0 with a patience distribution gives Erlang C / Erlang A behaviour.
    """

    model_config = _STRICT
    capacity: int = Field(default=0, ge=0)
    patience_min: Distribution | None = None

    @model_validator(mode="after")
    def _patience_needed(self) -> QueueConfig:
        if self.capacity > 0 and self.patience_min is None:
            raise ValueError("a queue (capacity > 0) needs 'patience_min'")
        return self


class Redial(BaseModel):
    """What a caller does after a busy tone (or abandoning the queue).

    ``probability[k-1]`` is the chance of trying again after failed attempt ``k``; the
    last value repeats. Hand-set defaults (assumption, to be calibrated to the Proximus
    sample of 3-4 attempts per caller, seed 000 answer 6).

    ``delay_min`` is one distribution, or a list whose k-th entry is the delay after
    failed attempt k (the last repeats: e.g. quick first redials, slower later ones).
    ``max_attempts: null`` means no limit (attempts are then drawn per caller as they
    are needed, so memory does not grow with the cap; ``sim.model.callers``).
    """

    model_config = _STRICT
    probability: list[Probability] = Field(
        default=[0.85, 0.8, 0.75, 0.7, 0.6, 0.5], min_length=1
    )
    delay_min: Distribution | Annotated[list[Distribution], Field(min_length=1)] = Field(
        default=LogNormal(dist="lognormal", mean=15.0, sd=20.0)
    )
    max_attempts: int | None = Field(default=12, ge=1)

    def p_after(self, attempt: int) -> float:
        """Probability of a new try after failed attempt number ``attempt`` (1-based)."""
        return self.probability[min(attempt, len(self.probability)) - 1]

    def delay_after(self, attempt: int) -> Distribution:
        """Delay before the quick redial after failed attempt ``attempt`` (1-based):
        ``delay_min`` itself, or its ``attempt``-th entry when it is a list (the last
        entry repeats)."""
        d = self.delay_min
        return d[min(attempt, len(d)) - 1] if isinstance(d, list) else d

    @property
    def cap(self) -> float:
        """``max_attempts``, or infinity when unlimited (``null``)."""
        return float("inf") if self.max_attempts is None else self.max_attempts


class ClosedBehaviour(BaseModel):
    """What a caller does on hearing the "we are closed" message.

    With ``retry_probability`` they call again after the next opening, ``delay_min``
    after it opens (assumption; out-of-hours calls are not registered, seed 001 answer 4).
    """

    model_config = _STRICT
    retry_probability: Probability = 0.5
    delay_min: Distribution = Field(
        default=Exponential(dist="exponential", mean=120.0)
    )


class Phone(BaseModel):
    """The phone channel: five provincial line groups behind an IVR menu."""

    model_config = _STRICT
    # Mon-Fri 9-18 (seed 002, "Ma-vr, 9u-18u").
    opening_hours: WeeklyHours = _weekly(["09:00-18:00"])
    province_shares: dict[Province, Annotated[float, Field(ge=0)]] = dict(POPULATION_2020)
    option0: Option0 = Option0()
    staffing: PhoneStaffing = PhoneStaffing()
    queue: QueueConfig = QueueConfig()
    # Talk and registration ("wrap-up") times are not published; hand-set assumption.
    talk_min: Distribution = Field(
        default=LogNormal(dist="lognormal", mean=25.0, sd=15.0)
    )
    wrap_up_min: Distribution = Field(
        default=Gamma(dist="gamma", mean=10.0, sd=5.0)
    )
    redial: Redial = Redial()
    closed: ClosedBehaviour = ClosedBehaviour()
    overflow: Overflow = Overflow()
    answering_machine: AnsweringMachine = AnsweringMachine()
    # Capacity as it really is (issue 14; sim/config/capacity.py, docs/capacity.md).
    availability: Availability = Availability()
    pooling: Pooling = Pooling()
    # Later retries, repeat contacts, switching channel (sim/config/callers.py); all off.
    callers: Callers = Callers()

    @field_validator("province_shares", mode="before")
    @classmethod
    def _all_provinces(cls, v: Any) -> Any:
        if isinstance(v, dict):
            return {**{p: 0.0 for p in PROVINCES}, **v}
        return v

    @field_validator("province_shares")
    @classmethod
    def _positive_total(cls, v: dict[str, float]) -> dict[str, float]:
        if sum(v.values()) <= 0:
            raise ValueError("province shares must not all be zero")
        return v

