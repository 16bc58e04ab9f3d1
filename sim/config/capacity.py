"""Capacity as it really is: counsellor availability and limits on pooling (issue 14).

Two settings, both OFF by default so every earlier result stays bit-identical:

- :class:`Availability` (``phone.availability``): a staffed line is not always
  answered. 1712 counsellors also do face-to-face work and need frequent case meetings
  (seeds 001 and 004: "naast hun werk voor 1712 ook face-to-face begeleiding",
  "intervisie en casusbesprekingen"); ``share`` is the share of open time a counsellor
  is at the line, as random absences, plus ``blocks`` scheduled each week (a case
  meeting). Every number here is an assumption: nothing on it is published.
- :class:`Pooling` (``phone.pooling``): human limits on overflow and option-0 routing
  (seed 000: calls are passed "op piekmomenten" to a region "waar op dat ogenblik wel
  capaciteit is"; seed 004: regional knowledge of the local social map).

Semantics (docs/capacity.md): an away period is counted from the time it is due. A
counsellor whose away period comes while they are on a call finishes the call (work is
never interrupted) and then leaves for what remains of the period; during the overrun
their line counts as busy, and no new work starts on it. Counsellors of a province are
interchangeable: the number at the line is the staffed lines minus those away.
"""

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

from sim.config.calendar import parse_interval
from sim.config.common import _STRICT, PROVINCES, WEEKDAYS, Probability, Province, Weekday
from sim.config.distributions import Distribution, Exponential

Share = Annotated[float, Field(gt=0.0, le=1.0)]


def _per_province(v: Any) -> Any:
    """One number for every province, or a mapping (missing provinces: 1.0, always at the line)."""
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return {p: v for p in PROVINCES}
    if isinstance(v, dict):
        return {**{p: 1.0 for p in PROVINCES}, **v}
    return v


class SharePeriod(BaseModel):
    """A share at the line for a date range (both ends included), replacing ``share``.

    The range may start before or end after the horizon (only its overlap matters).
    """

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    from_: dt.date = Field(alias="from")
    to: dt.date
    share: dict[Province, Share]
    source: str = "assumption"

    @field_validator("share", mode="before")
    @classmethod
    def _one_number(cls, v: Any) -> Any:
        return _per_province(v)

    @model_validator(mode="after")
    def _ordered(self) -> SharePeriod:
        if self.to < self.from_:
            raise ValueError(f"'to' {self.to} is before 'from' {self.from_}")
        return self


class AwayBlock(BaseModel):
    """A scheduled absence each week (for example a case meeting), in local clock time.

    On each of ``weekdays`` during ``hours``, ``counsellors`` counsellors of each of
    ``provinces`` are away (``all``: every staffed line). Optionally only within a date
    range ``from``-``to``. A counsellor on a call when the block starts joins when the
    call ends; the block ends on time.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    name: str = ""
    weekdays: list[Weekday] = Field(min_length=1)
    hours: str
    provinces: list[Province] | Literal["all"] = "all"
    counsellors: Annotated[int, Field(ge=1)] | Literal["all"] = "all"
    from_: dt.date | None = Field(default=None, alias="from")
    to: dt.date | None = None

    @field_validator("hours")
    @classmethod
    def _hours(cls, v: str) -> str:
        parse_interval(v)
        return v

    @model_validator(mode="after")
    def _range(self) -> AwayBlock:
        if (self.from_ is None) != (self.to is None):
            raise ValueError("give both 'from' and 'to' for a date range")
        if self.from_ is not None and self.to < self.from_:
            raise ValueError(f"'to' {self.to} is before 'from' {self.from_}")
        return self

    def applies(self, day: dt.date, province: str) -> bool:
        if self.provinces != "all" and province not in self.provinces:
            return False
        if WEEKDAYS[day.weekday()] not in self.weekdays:
            return False
        return self.from_ is None or self.from_ <= day <= self.to


class Availability(BaseModel):
    """Whether a staffed phone line has a counsellor at it (``phone.availability``).

    Each staffed line's counsellor alternates between periods at the line and away
    (other duties, face-to-face work, breaks; seeds 001 and 004). Away periods are drawn
    from ``away_min``; periods at the line are exponential with the mean that gives the
    long-run ``share`` at the line: ``mean_away x share / (1 - share)``. ``share`` is one
    number or one per province (1.0: never away); ``periods`` replace it on date ranges
    (the share in force when a counsellor comes back sets their next period at the
    line). The on/off process runs around the clock; only absences while the line is
    staffed cost capacity. ``blocks`` add scheduled absences (case meetings).

    Defaults: off. ``share`` 0.6 and a 30-minute mean absence are assumptions.
    """

    model_config = _STRICT
    enabled: bool = False
    share: dict[Province, Share] = {p: 0.6 for p in PROVINCES}
    away_min: Distribution = Exponential(dist="exponential", mean=30.0)
    periods: list[SharePeriod] = []
    blocks: list[AwayBlock] = []

    @field_validator("share", mode="before")
    @classmethod
    def _one_number(cls, v: Any) -> Any:
        return _per_province(v)

    def share_on(self, day: dt.date, province: str) -> float:
        """Share at the line on ``day`` (the last listed period covering it wins)."""
        s = self.share[province]
        for p in self.periods:
            if p.from_ <= day <= p.to:
                s = p.share[province]
        return s


class Pooling(BaseModel):
    """Human limits on passing calls to another province (overflow and option 0).

    - ``occupancy_cap``: no overflow or option-0 call goes to a province whose
      counsellors were busy more than this share of their time at the line over the
      last ``window_min`` minutes (a team that has had no breathing space is not given
      more; assumption). 1.0: no limit.
    - ``extra_talk_min``: minutes added to the talk time of a call answered by a
      province other than the caller's home province (the counsellor lacks local
      knowledge of the social map; seed 004). 0: none.

    Defaults: off (bit-identical results).
    """

    model_config = _STRICT
    occupancy_cap: Probability = 1.0
    window_min: float = Field(default=60.0, gt=0)
    extra_talk_min: float = Field(default=0.0, ge=0)
    applies_to: list[Literal["overflow", "option0"]] = ["overflow", "option0"]
