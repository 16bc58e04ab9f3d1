"""Checks across settings that no single field can make: dates that fall outside the
horizon, a date both closed and open, an empty name. Each problem is (keys, message,
about_horizon); the loader reports a date outside the horizon only when the same file
(or ``--set``) sets both, since a short test horizon over a full-year base is normal."""

from __future__ import annotations

import datetime as dt
import math

from pydantic import BaseModel

from sim.config.calendar import ExtraStaff
from sim.config.capacity import AwayBlock, SharePeriod
from sim.config.demand import DemandEvent


def _walk(model: BaseModel, keys: list):
    """Every sub-model with its path (aliases, list indices)."""
    yield keys, model
    for name, f in type(model).model_fields.items():
        value = getattr(model, name)
        here = [*keys, f.alias or name]
        if isinstance(value, BaseModel):
            yield from _walk(value, here)
        elif isinstance(value, list | tuple):
            for i, v in enumerate(value):
                if isinstance(v, BaseModel):
                    yield from _walk(v, [*here, i])


def semantic_problems(scn) -> list[tuple[list, str, bool]]:
    start, end = scn.horizon.start, scn.horizon.end
    out: list[tuple[list, str, bool]] = []
    if not scn.name.strip():
        out.append((["name"], "must not be empty (it names the results folder)", False))

    def outside(d: dt.date) -> bool:
        return d < start or d > end

    for keys, m in _walk(scn, []):
        for name, f in type(m).model_fields.items():  # "inf" or "nan" written as text
            v = getattr(m, name)
            for i, x in enumerate(v.values() if isinstance(v, dict) else v if isinstance(v, list) else [v]):
                if isinstance(x, float) and not math.isfinite(x):
                    sub = [] if not isinstance(v, dict | list) else [list(v)[i] if isinstance(v, dict) else i]
                    out.append(([*keys, f.alias or name, *sub], f"must be a finite number (got {x!r})", False))
        if isinstance(m, DemandEvent):
            if m.start > end or (m.end is not None and m.end < start):
                out.append(([*keys, "start"], f"event {m.name!r} ({m.start} to {m.end or 'open end'}) "
                                              f"lies outside the horizon {start} to {end}", True))
        elif isinstance(m, ExtraStaff):
            for i, d in enumerate(m.dates):
                if outside(d):
                    out.append(([*keys, "dates", i], f"{d} is outside the horizon {start} to {end}", True))
            if m.from_ is not None and (m.from_ > end or m.to < start):
                out.append(([*keys, "from"], f"the range {m.from_} to {m.to} lies outside the horizon "
                                             f"{start} to {end}", True))
        # A share period or block range may start before or end after the horizon; one
        # wholly outside it is almost certainly a wrong year.
        elif isinstance(m, SharePeriod | AwayBlock) and m.from_ is not None and (m.from_ > end or m.to < start):
            out.append(([*keys, "from"], f"the range {m.from_} to {m.to} lies outside the horizon "
                                         f"{start} to {end}", True))
    both = sorted(set(scn.calendar.closed_dates) & set(scn.calendar.open_dates))
    for d in both:
        i = scn.calendar.open_dates.index(d)
        out.append((["calendar", "open_dates", i], f"{d} is also in calendar.closed_dates: "
                                                   "a date cannot be both closed and open", False))
    return out
