"""Names shared by every part of the scenario schema: provinces, weekdays, the error type."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import (
    ConfigDict,
    Field,
)

from sim.errors import ScenarioError, _shown  # noqa: F401 (re-exported)

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




