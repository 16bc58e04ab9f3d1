"""Dedicated callback time: staffed lines reserved for returning answering-machine messages."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field

from sim.config.calendar import WeeklyHours, _weekly
from sim.config.common import _STRICT, Province


class DedicatedCallbacks(BaseModel):
    """Counsellor time that only returns messages (``phone.answering_machine.callbacks.dedicated``).

    The 2021 subsidy was to let 1712 handle answering-machine messages faster "met de
    extra capaciteit" (seed 000 answer 3); how that capacity was organised is not
    published. Here ``lines`` callback lines per province in ``provinces`` are staffed
    in ``hours`` (weekly, local time; closed on the days the calendar closes), and serve
    only callbacks: a message waiting in a mailbox the line serves is returned as soon
    as such a line is free (the ``policy`` of the live lines does not apply: nobody
    waits for this line). A central mailbox is served by every dedicated line. With
    ``live_lines: true`` (default) the live phone lines also return messages as before,
    under ``policy``; with ``false`` only the dedicated lines do. Their staffed hours are
    costed at ``costs.callback_line_hour``. Defaults (one line Mon-Fri 9-18 in every
    province) are assumptions.
    """

    model_config = _STRICT
    lines: Annotated[int, Field(ge=1)] = 1
    hours: WeeklyHours = _weekly(["09:00-18:00"])
    provinces: list[Province] | Literal["all"] = "all"
    live_lines: bool = True

    def serves(self, province: str) -> bool:
        return self.provinces == "all" or province in self.provinces
