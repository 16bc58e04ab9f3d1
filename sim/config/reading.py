"""A reading of the evidence: a named, documented scenario overlay (issue 17).

The seeds can be read in several defensible ways (what "40-45% of the calls answered"
counts, when callers call, when capacity was raised). A reading states one such choice
as settings laid over any scenario, so the same comparison can be run under each reading
and a conclusion judged by whether it survives all of them. File format
(``scenarios/readings/*.yaml``)::

    name: per_attempt
    rationale: >
      why this reading is defensible, and what it leaves out
    rests_on:
      - "seed 000: 'slechts tussen de 40 en 45% van de oproepen beantwoorden'"
      - docs/fit.md (calibration, reading 'attempt')
    set:                       # dotted paths, as --set; they replace
      phone.redial.probability: [0.919]
    append:                    # dotted paths of lists; items are added to the scenario's own
      phone.staffing.extra:
        - {name: ..., from: 2020-07-01, to: 2021-06-30, lines: 1}

``set`` replaces a setting in every scenario the reading is laid over; ``append`` adds
list items to what each scenario already has (so an option's own extra lines are kept).
Dated items appended are clipped to the horizon of the scenario they join (items wholly
outside it are left out), so one reading fits a short comparison horizon as well.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError

from sim.config.common import _STRICT
from sim.errors import ScenarioError


class Reading(BaseModel):
    """One reading file: name, rationale, sources and the overlay."""

    model_config = _STRICT
    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    rationale: str = Field(min_length=1)
    rests_on: list[str] = Field(min_length=1)
    set: dict[str, Any] = {}
    append: dict[str, list[Any]] = {}
    # For ``fit --reading NAME``: which published answer rate the behaviour is calibrated
    # to, and whether ``set``/``append`` are inputs of the fit (an hour profile, capacity)
    # or results of one (the per_attempt reading's calibrated behaviour, which a re-fit
    # replaces and so does not impose).
    fit_target: Literal["caller", "attempt"] = "caller"
    fit_uses_overlay: bool = True
    file: str | None = None  # where it was read from (filled by load_reading)


def load_reading(path: str | Path) -> Reading:
    """Read and validate a reading file; any problem is one :class:`ScenarioError`."""
    from sim.config.loading import _read_yaml

    path = Path(path)
    data, _ = _read_yaml(path)
    if "file" in data:
        raise ScenarioError(path, "file", "is set by the tool; remove it")
    try:
        return Reading.model_validate({**data, "file": str(path)})
    except ValidationError as e:
        err = e.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise ScenarioError(path, where, err["msg"]) from None
