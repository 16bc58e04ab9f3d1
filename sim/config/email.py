"""The e-mail channel's settings: handlers, their hours, blending with phone lines."""

from __future__ import annotations

from typing import Annotated

from pydantic import (
    BaseModel,
    Field,
)

from sim.config.calendar import WeeklyHours
from sim.config.common import _STRICT
from sim.config.distributions import Distribution, LogNormal

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

