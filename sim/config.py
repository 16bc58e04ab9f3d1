"""Scenario files -> one validated, frozen :class:`Scenario`.

This module is the ONLY place defaults live. A scenario file is YAML; it may name a
``base:`` scenario (a path relative to the file) whose keys it overrides, and the CLI
may apply ``--set dotted.path=value`` overrides on top. Mappings merge key by key;
lists and scalars replace. Every problem becomes one :class:`ScenarioError` naming the
file, the dotted field path, the YAML line where known, and what is wrong.

Units at this edge: dates as ``YYYY-MM-DD``, clock times as ``HH:MM``, durations in
minutes (keys end in ``_min``), demand in callers per year. The model converts to
seconds since the scenario start.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from sim.distributions import Distribution, Exponential, Fixed, Gamma, LogNormal

PROVINCES: tuple[str, ...] = (
    "Antwerpen",
    "Limburg",
    "Oost-Vlaanderen",
    "Vlaams-Brabant",
    "West-Vlaanderen",
)
Province = Literal["Antwerpen", "Limburg", "Oost-Vlaanderen", "Vlaams-Brabant", "West-Vlaanderen"]
WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
Probability = Annotated[float, Field(ge=0.0, le=1.0)]

# Population on 1 January 2020 (Statbel, "Bevolking per gemeente 1/1/2020"). Brussels'
# Dutch speakers are counted under Vlaams-Brabant, as the issue asks: we take 10% of
# Brussels' 1,218,255 inhabitants (assumption; language surveys such as the BRIO
# Taalbarometer put home-language Dutch speakers between about 5% and 16%).
POPULATION_2020: dict[str, int] = {
    "Antwerpen": 1_869_730,
    "Limburg": 877_370,
    "Oost-Vlaanderen": 1_525_255,
    "Vlaams-Brabant": 1_155_843 + 121_826,
    "West-Vlaanderen": 1_200_945,
}

_STRICT = ConfigDict(extra="forbid", frozen=True)
_HHMM = re.compile(r"^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$")


def _shown(file: str | Path) -> str:
    """A file as the user would name it: relative to the working directory if inside it."""
    p = Path(file)
    if p.is_absolute():
        try:
            return str(p.relative_to(Path.cwd()))
        except ValueError:
            return str(p)
    return str(file)


class ScenarioError(Exception):
    """A scenario problem, printable as one line: ``file:line: path: message``."""

    def __init__(self, file: str | Path | None, path: str, message: str, line: int | None = None):
        self.file = _shown(file) if file is not None else "<scenario>"
        self.path = path
        self.message = message
        self.line = line
        super().__init__(str(self))

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{where}: {self.path or '(top level)'}: {self.message}"


# ---------------------------------------------------------------------------------------
# Calendar and opening hours
# ---------------------------------------------------------------------------------------


def parse_interval(text: str) -> tuple[int, int]:
    """``"09:00-18:00"`` -> (540, 1080) minutes after midnight; ``24:00`` is allowed."""
    m = _HHMM.match(text.strip())
    if not m:
        raise ValueError(f"{text!r} is not an interval of the form HH:MM-HH:MM")
    h1, m1, h2, m2 = (int(g) for g in m.groups())
    if not (0 <= h1 <= 24 and 0 <= h2 <= 24 and m1 < 60 and m2 < 60):
        raise ValueError(f"{text!r} has an impossible clock time")
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if start > 24 * 60 or end > 24 * 60:
        raise ValueError(f"{text!r} goes past 24:00")
    if end <= start:
        raise ValueError(f"{text!r} ends before it starts")
    return start, end


class WeeklyHours(BaseModel):
    """Opening hours per weekday as lists of ``"HH:MM-HH:MM"`` intervals (local time)."""

    model_config = _STRICT
    mon: list[str] = []
    tue: list[str] = []
    wed: list[str] = []
    thu: list[str] = []
    fri: list[str] = []
    sat: list[str] = []
    sun: list[str] = []

    @field_validator("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    @classmethod
    def _valid_intervals(cls, v: list[str]) -> list[str]:
        spans = sorted(parse_interval(s) for s in v)
        for (_, e1), (s2, _) in zip(spans, spans[1:], strict=False):
            if s2 < e1:
                raise ValueError(f"opening intervals {v} overlap")
        return v

    def minutes(self, weekday: int) -> list[tuple[int, int]]:
        """Sorted open intervals of weekday ``0=mon .. 6=sun`` in minutes after midnight."""
        return list(_day_minutes(tuple(getattr(self, WEEKDAYS[weekday]))))


@functools.lru_cache(maxsize=256)
def _day_minutes(intervals: tuple[str, ...]) -> tuple[tuple[int, int], ...]:
    # Parsed once per distinct day, not once per simulated day.
    return tuple(sorted(parse_interval(s) for s in intervals))


def _weekly(mon_fri: list[str], sat: list[str] | None = None) -> WeeklyHours:
    return WeeklyHours(
        mon=mon_fri, tue=mon_fri, wed=mon_fri, thu=mon_fri, fri=mon_fri, sat=sat or []
    )


class Horizon(BaseModel):
    """Simulated period, both dates included. Time zero is ``start`` at 00:00."""

    model_config = _STRICT
    start: dt.date = dt.date(2020, 1, 1)
    end: dt.date = dt.date(2020, 12, 31)

    @model_validator(mode="after")
    def _ordered(self) -> Horizon:
        if self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}")
        return self

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


class CalendarConfig(BaseModel):
    """Days on which the helpline is closed, on top of the weekly opening hours.

    Belgian public holidays come from the ``holidays`` package (country ``BE``). The
    seeds do not say 1712 closes on them; we assume it does (as most CAW services do),
    and ``open_on_holidays`` or ``open_dates`` switch that off.
    """

    model_config = _STRICT
    holidays: Literal["BE", "none"] = "BE"
    open_on_holidays: bool = False
    closed_dates: list[dt.date] = []
    open_dates: list[dt.date] = []


# ---------------------------------------------------------------------------------------
# Phone
# ---------------------------------------------------------------------------------------


class ExtraStaff(BaseModel):
    """Extra staffed lines on listed days or date ranges (for example peak days).

    Applies on every date in ``dates`` and on every date in ``[from, to]``; optionally
    only on some weekdays and during part of the day (``hours``). ``lines`` is added to
    the base staffing while the channel is open.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    name: str = ""
    dates: list[dt.date] = []
    from_: dt.date | None = Field(default=None, alias="from")
    to: dt.date | None = None
    weekdays: list[Weekday] | None = None
    hours: str | None = None
    lines: int = Field(default=1, ge=1)

    @field_validator("hours")
    @classmethod
    def _hours(cls, v: str | None) -> str | None:
        if v is not None:
            parse_interval(v)
        return v

    @model_validator(mode="after")
    def _has_days(self) -> ExtraStaff:
        if (self.from_ is None) != (self.to is None):
            raise ValueError("give both 'from' and 'to' for a date range")
        if self.from_ is not None and self.to < self.from_:
            raise ValueError(f"'to' {self.to} is before 'from' {self.from_}")
        if not self.dates and self.from_ is None:
            raise ValueError("give 'dates' or a 'from'/'to' range")
        return self

    def applies(self, day: dt.date) -> bool:
        """Whether these extra lines are staffed on ``day`` (at some hour)."""
        if self.weekdays is not None and WEEKDAYS[day.weekday()] not in self.weekdays:
            return False
        in_range = self.from_ is not None and self.from_ <= day <= self.to
        return in_range or day in self.dates


class ExtraLines(ExtraStaff):
    """Extra phone lines: as :class:`ExtraStaff`, for all or some ``provinces``."""

    provinces: list[Province] | Literal["all"] = "all"


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
    listed dates and periods.
    """

    model_config = _STRICT
    policy: Literal["off", "any_free", "neighbours"] = "off"
    neighbours: dict[Province, list[Province]] = {k: list(v) for k, v in DEFAULT_NEIGHBOURS.items()}
    when: Literal["always", "peak_days"] = "always"
    peak_dates: list[dt.date] = []
    peak_periods: list[Period] = []

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
    """

    model_config = _STRICT
    policy: Literal["immediate", "after_idle", "target_delay"] = "after_idle"
    idle_min: Distribution = Fixed(dist="fixed", value=30.0)
    target_delay_min: float = Field(default=24 * 60.0, gt=0)
    reach_probability: Probability = 0.6
    failed_min: Distribution = Fixed(dist="fixed", value=2.0)
    max_tries: int = Field(default=3, ge=1)
    retry_spacing_min: Distribution = Fixed(dist="fixed", value=120.0)


class AnsweringMachine(BaseModel):
    """Messages left after a busy tone, returned by callbacks.

    The answering machine existed before the 2021 subsidy; the subsidy paid for faster
    callbacks (seed 000 answer 3). "Ruim driekwart" of callers stay anonymous (seed
    000 answer 5), so by default a quarter of messages carry a usable number. The
    share of busy-tone callers who leave a message at all is not published
    (assumption: 20%). A caller leaves at most one message; a message without a number
    is counted but cannot be returned.
    """

    model_config = _STRICT
    enabled: bool = True
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
    """

    model_config = _STRICT
    probability: list[Probability] = Field(
        default=[0.85, 0.8, 0.75, 0.7, 0.6, 0.5], min_length=1
    )
    delay_min: Distribution = Field(
        default=LogNormal(dist="lognormal", mean=15.0, sd=20.0)
    )
    max_attempts: int = Field(default=12, ge=1)

    def p_after(self, attempt: int) -> float:
        """Probability of a new try after failed attempt number ``attempt`` (1-based)."""
        return self.probability[min(attempt, len(self.probability)) - 1]


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
    """

    model_config = _STRICT
    annual: float = Field(default=9000.0, gt=0)
    month_factors: list[Annotated[float, Field(ge=0)]] = [1.0] * 12
    weekday_factors: list[Annotated[float, Field(ge=0)]] = [1.1, 1.05, 1.0, 1.0, 0.95, 0.5, 0.4]
    hour_profile: list[Annotated[float, Field(ge=0)]] = DEFAULT_PHONE_HOUR_PROFILE
    trend_per_year: float = Field(default=0.0, gt=-1.0)
    events: list[DemandEvent] = []

    _months = field_validator("month_factors")(_fixed_len(12, "month_factors"))
    _weekdays = field_validator("weekday_factors")(_fixed_len(7, "weekday_factors"))
    _hours = field_validator("hour_profile")(_fixed_len(24, "hour_profile"))


# ---------------------------------------------------------------------------------------
# Chat and e-mail (1712 is a phone, chat and e-mail helpline: in 2024 27% of contacts
# came by chat and 13% by e-mail, seed 002; in 2020 911 chats and 1,440 e-mails were
# registered, seed 000). Registered contacts are answered ones, so demand is set above.
# ---------------------------------------------------------------------------------------

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

# Working hours of the counsellors who answer e-mail (assumption: office hours). E-mail
# itself arrives 24/7 ("24/7, 7/7, via het contactformulier", seed 002).
EMAIL_HOURS = WeeklyHours(
    mon=["09:00-17:00"],
    tue=["09:00-17:00"],
    wed=["09:00-17:00"],
    thu=["09:00-17:00"],
    fri=["09:00-17:00"],
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
    # KPIs: chat_within_target and chat_target_met (sim.channel_metrics).
    wait_target_min: float = Field(default=5.0, ge=0)
    wait_target_share: Probability = 0.8


# ---------------------------------------------------------------------------------------
# E-mail
# ---------------------------------------------------------------------------------------


class EmailStaffing(BaseModel):
    """Counsellors who handle e-mail (one e-mail at a time each) and their hours.

    ``handlers`` work ``hours`` on days the helpline is open (public holidays off, as
    for phone). The seeds do not say how e-mail is staffed; assumption: one counsellor
    office hours, enough for the ~6 e-mails a working day of 2020 (seed 000). With
    ``Email.blending`` these handlers are *in addition to* the phone lines.
    """

    model_config = _STRICT
    handlers: int = Field(default=1, ge=0)
    hours: WeeklyHours = EMAIL_HOURS


class Email(BaseModel):
    """The e-mail channel: e-mails arrive 24/7 (seed 002) and wait in one FIFO backlog.

    An e-mail is handled by a free ``staffing`` handler during their hours; a handling
    started before the end of the working day is finished. With ``blending`` the
    provincial phone counsellors also answer e-mail: a phone line that is free (staffed,
    open, not busy) in a line group with nobody waiting in its queue takes the oldest
    e-mail, and the line is busy while the e-mail is handled. The backlog carries over
    from day to day.
    """

    model_config = _STRICT
    staffing: EmailStaffing = EmailStaffing()
    # Reading, answering in writing and registering one e-mail (assumption).
    handling_min: Distribution = LogNormal(dist="lognormal", mean=40.0, sd=25.0)
    # Response targets in working days (Mon-Fri except Belgian public holidays): an
    # e-mail received on day d is answered within k working days if it is answered
    # before the end of the k-th working day after d (assumption: 1 and 3 days).
    response_targets_working_days: list[Annotated[int, Field(ge=1)]] = Field(
        default=[1, 3], min_length=1
    )
    # Phone counsellors answer e-mail between calls (off by default: 2020 set-up unknown).
    blending: bool = False


# ---------------------------------------------------------------------------------------
# Demand
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


class Costs(BaseModel):
    """What staffed time costs, for comparing options (euro per staffed hour).

    Nothing is published on 1712's costs. Assumption: about EUR 50 per staffed hour,
    the employer cost of a bachelor-level counsellor in the Flemish social-profit sector
    (about EUR 6,500 a month over about 130 productive hours). ``subsidy_budget`` is the
    money available over the horizon for extra capacity (optional).
    """

    model_config = _STRICT
    phone_line_hour: float = Field(default=50.0, ge=0)
    chat_line_hour: float = Field(default=50.0, ge=0)
    email_handler_hour: float = Field(default=50.0, ge=0)
    subsidy_budget: float | None = Field(default=None, ge=0)


class Experiment(BaseModel):
    """Replications and seed; the CLI's ``--reps`` and ``--seed`` override these."""

    model_config = _STRICT
    seed: int = Field(default=1, ge=0)
    replications: int = Field(default=20, ge=1)


class Scenario(BaseModel):
    """A complete, validated scenario. Build one with :func:`load_scenario`."""

    model_config = _STRICT
    name: str = "default"
    description: str = ""
    horizon: Horizon = Horizon()
    calendar: CalendarConfig = CalendarConfig()
    phone: Phone = Phone()
    chat: Chat = Chat()
    email: Email = Email()
    demand: Demand = Demand()
    costs: Costs = Costs()
    experiment: Experiment = Experiment()

    def to_yaml(self) -> str:
        """The fully resolved scenario (all defaults written out) as YAML."""
        data = self.model_dump(mode="json", by_alias=True)
        return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


# ---------------------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------------------


class _Loader(yaml.SafeLoader):
    """Safe YAML (no object construction) that leaves dates as text.

    pydantic then parses them, so an impossible date such as 2020-02-30 is reported with
    its dotted path instead of failing inside the YAML parser.
    """


def _no_duplicates(loader: _Loader, node: yaml.MappingNode, deep: bool = False) -> dict:
    # A key given twice is almost always an editing slip; PyYAML would keep the last.
    seen: dict = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r} (also on line {seen[key]})", key_node.start_mark)
        seen[key] = key_node.start_mark.line + 1
    return yaml.SafeLoader.construct_mapping(loader, node, deep)


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _no_duplicates)
_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _load(text: str):
    return yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader is a SafeLoader


def _read_yaml(path: Path) -> tuple[dict, str]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError(path, "", "file not found") from None
    except OSError as e:
        raise ScenarioError(path, "", f"cannot read file ({e.strerror})") from None
    try:
        data = _load(text)
    except yaml.YAMLError as e:
        line = getattr(getattr(e, "problem_mark", None), "line", None)
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise ScenarioError(path, "", f"malformed YAML: {problem}", None if line is None else line + 1) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ScenarioError(path, "", f"a scenario must be a mapping of keys, not {type(data).__name__}")
    return data, text


def _merge(base: dict, over: dict) -> dict:
    """Mappings merge key by key; anything else in ``over`` replaces ``base``."""
    out = dict(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _merge(out[k], v)
        else:
            out[k] = v
    return out


# Where a ``base:`` may point: inside the project (the repository holding this package)
# or inside the folder of the scenario named on the command line. A scenario file cannot
# pull in arbitrary files from elsewhere on the machine.
PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _inside(path: Path, roots: tuple[Path, ...]) -> bool:
    return any(path == r or r in path.parents for r in roots)


def _resolve_bases(
    path: Path, seen: tuple[Path, ...] = (), roots: tuple[Path, ...] = ()
) -> tuple[dict, list[tuple[Path, str]]]:
    """Read ``path`` and its chain of ``base:`` files; return merged data and sources."""
    path = path.resolve()
    roots = roots or (PROJECT_ROOT, path.parent)
    if path in seen:
        chain = " -> ".join(p.name for p in (*seen, path))
        raise ScenarioError(seen[-1], "base", f"scenario includes itself ({chain})")
    data, text = _read_yaml(path)
    base = data.pop("base", None)
    sources = [(path, text)]
    if base is None:
        return data, sources
    if not isinstance(base, str):
        raise ScenarioError(path, "base", "must be a path to another scenario file")
    base_path = (path.parent / base).resolve()
    line = _line_of(text, ["base"])
    if not _inside(base_path, roots):
        raise ScenarioError(path, "base", f"{base!r} is outside the project and the scenario's folder", line)
    if not base_path.is_file():
        raise ScenarioError(path, "base", f"base scenario {base!r} does not exist", line)
    base_data, base_sources = _resolve_bases(base_path, (*seen, path), roots)
    return _merge(base_data, data), sources + base_sources


def _line_of(text: str, keys: list[str | int]) -> int | None:
    """1-based line of a dotted path in YAML text, or None if the path is not there."""
    try:
        node = yaml.compose(text)
    except yaml.YAMLError:
        return None
    line = None
    for key in keys:
        if isinstance(node, yaml.MappingNode):
            match = [v for k, v in node.value if k.value == str(key)]
            if not match:
                return line
            node = match[0]
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
        else:
            return line
        line = node.start_mark.line + 1
    return line


def _set_path(data: dict, dotted: str, value: Any, known: dict) -> None:
    """Set ``dotted`` in ``data``; the path must exist in ``known`` (defaults + file)."""
    keys = dotted.split(".")
    node, ref = data, known
    for i, key in enumerate(keys):
        here = ".".join(keys[: i + 1])
        if not isinstance(ref, dict) or key not in ref:
            raise ScenarioError("--set", dotted, f"no such setting ({here!r} does not exist)")
        if i == len(keys) - 1:
            node[key] = value
        else:
            if not isinstance(node.get(key), dict):
                node[key] = {}
            node, ref = node[key], ref[key]


def _loc_to_path(loc: tuple) -> list[str | int]:
    # pydantic puts the tag of a discriminated union (e.g. 'lognormal') and the name of
    # a union member (e.g. 'function-after[...]') in the location; they are not keys.
    out: list[str | int] = []
    for part in loc:
        if isinstance(part, str) and (
            part in {"exponential", "lognormal", "gamma", "fixed", "empirical"}
            or "[" in part
            or part in {"int", "str", "list", "dict"}
        ):
            continue
        out.append(part)
    return out


def parse_overrides(items: list[str] | None) -> dict[str, Any]:
    """``["a.b=3", "c=[1, 2]"]`` -> ``{"a.b": 3, "c": [1, 2]}`` (values parsed as YAML)."""
    out: dict[str, Any] = {}
    for item in items or []:
        if "=" not in item:
            raise ScenarioError("--set", item, "expected PATH=VALUE")
        key, raw = item.split("=", 1)
        try:
            out[key.strip()] = _load(raw)
        except yaml.YAMLError:
            raise ScenarioError("--set", key.strip(), f"value {raw!r} is not valid YAML") from None
    return out


def load_scenario(path: str | Path | None = None, overrides: dict[str, Any] | None = None) -> Scenario:
    """Load, merge (``base:``), override (``--set``) and validate a scenario.

    ``path=None`` gives the default scenario (plus overrides). Raises
    :class:`ScenarioError` with file, dotted path and YAML line on any problem.
    """
    if path is None:
        data, sources = {}, []
    else:
        data, sources = _resolve_bases(Path(path))
    known = _merge(Scenario().model_dump(by_alias=True), data)
    for dotted, value in (overrides or {}).items():
        _set_path(data, dotted, value, known)
    try:
        return Scenario.model_validate(data)
    except ValidationError as e:
        err = e.errors()[0]
        keys = _loc_to_path(err["loc"])
        dotted = ".".join(str(k) for k in keys)
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
        elif msg.startswith("Value error, "):
            msg = msg[len("Value error, ") :]
        if "input" in err and err["type"] not in ("extra_forbidden", "missing") and not isinstance(err["input"], dict | list):
            msg = f"{msg} (got {err['input']!r})"
        # Report the file that sets this path (the scenario itself before its bases).
        if dotted in (overrides or {}):
            raise ScenarioError("--set", dotted, msg) from None
        for src, text in sources:
            line = _line_of(text, keys)
            if line is not None:
                raise ScenarioError(src, dotted, msg, line) from None
        raise ScenarioError(sources[0][0] if sources else None, dotted, msg) from None
