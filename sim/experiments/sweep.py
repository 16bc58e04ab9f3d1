"""Sweeps: one base scenario, a grid or list of overrides, one tidy table of results.

A sweep file (YAML)::

    base: ../scenarios/baseline_2020.yaml     # relative to the sweep file
    name: lines_and_routing
    replications: 10
    seed: 1
    grid:                                     # every combination ...
      phone.staffing.lines: [1, 2, 3]
      phone.option0.routing.policy: [fixed, least_busy]
    points:                                   # ... and/or listed points
      - {phone.staffing.lines: 1, phone.overflow.policy: any_free}

Every point is run with the same seed and replications (common random numbers across
points). The results folder holds ``sweep.csv`` (one row per point and replication:
point, the swept settings, replication, and every overall KPI as a column),
``sweep_summary.csv`` (per point and KPI: mean, CI), the resolved scenario of each point
and ``meta.json``. Finished points are checkpointed (``--resume``).
"""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from sim.config import ScenarioError, load_scenario
from sim.config.loading import _confined, _line_of, _read_yaml


class SweepFile(BaseModel):
    """A validated sweep file (see module docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    base: str
    name: str = "sweep"
    replications: int = Field(default=10, ge=1)
    seed: int = Field(default=1, ge=0)
    grid: dict[str, list[Any]] = {}
    points: list[dict[str, Any]] = []

    @model_validator(mode="after")
    def _something_to_sweep(self) -> SweepFile:
        if not self.grid and not self.points:
            raise ValueError("give a 'grid' or 'points' to sweep over")
        for k, v in self.grid.items():
            if not v:
                raise ValueError(f"grid.{k} has no values")
        return self

    def expand(self) -> list[dict[str, Any]]:
        """All points: the grid's combinations, then the listed points."""
        keys = list(self.grid)
        combos = [dict(zip(keys, vals, strict=True)) for vals in itertools.product(*self.grid.values())]
        return (combos if keys else []) + [dict(p) for p in self.points]


def load_sweep(path: Path, overrides: dict[str, Any] | None = None, allow_large: bool = False):
    """Validate a sweep file and every point's scenario; return (sweep, [(point, scenario)]).

    The ``base:`` obeys the same confinement as a scenario's ``base:`` (inside the project
    or the sweep file's folder); more than ``guard.MAX_SWEEP_POINTS`` points are refused
    before any is expanded unless ``allow_large``.
    """
    from sim.experiments.guard import check_points

    path = Path(path)
    data, text = _read_yaml(path)
    try:
        sweep = SweepFile.model_validate(data)
    except ValidationError as e:
        err = e.errors()[0]
        keys = [k for k in err["loc"] if k not in ("dict[str,list[any]]",)]
        msg = "unknown key" if err["type"] == "extra_forbidden" else err["msg"].removeprefix("Value error, ")
        raise ScenarioError(path, ".".join(map(str, keys)), msg, _line_of(text, keys)) from None
    base = _confined(path, sweep.base, _line_of(text, ["base"]))
    n = (math.prod(len(v) for v in sweep.grid.values()) if sweep.grid else 0) + len(sweep.points)
    check_points(n, path, allow_large)
    points = []
    for i, point in enumerate(sweep.expand()):
        try:
            scn = load_scenario(base, {**(overrides or {}), **point,
                                       "name": f"{sweep.name}_{i:03d}"})
        except ScenarioError as e:
            where = "grid" if i < len(list(itertools.product(*sweep.grid.values()))) and sweep.grid else "points"
            raise ScenarioError(path, f"{where} (point {i}): {e.path}", e.message,
                                _line_of(text, [where])) from None
        points.append((point, scn))
    return sweep, points


def tidy(points: list[dict[str, Any]], results) -> pd.DataFrame:
    """One row per point and replication; swept settings and overall KPIs as columns."""
    frames = []
    for i, (point, res) in enumerate(zip(points, results, strict=True)):
        k = res.kpis()
        wide = k[k["by"] == "all"].pivot(index="replication", columns="kpi", values="value").reset_index()
        wide.columns.name = None
        for key, value in reversed(list(point.items())):
            wide.insert(0, key, json.dumps(value) if isinstance(value, list | dict) else value)
        wide.insert(0, "point", i)
        frames.append(wide)
    return pd.concat(frames, ignore_index=True)


def summary(table: pd.DataFrame, params: list[str], level: float = 0.95) -> pd.DataFrame:
    """Per point and KPI: mean, sd, n and Student-t interval over replications."""
    from sim.experiments.replications import summarise

    kpi_cols = [c for c in table.columns if c not in ("point", "replication", *params)]
    long = table.melt(id_vars=["point", "replication"], value_vars=kpi_cols, var_name="kpi")
    long = long.assign(by="point", key=long["point"].astype(str))[["replication", "by", "key", "kpi", "value"]]
    s = summarise(long, level).rename(columns={"key": "point"}).drop(columns="by")
    s["point"] = s["point"].astype(int)
    settings = table.drop_duplicates("point")[["point", *params]]
    return settings.merge(s, on="point")
