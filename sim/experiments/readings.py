"""Comparisons under several readings of the evidence, and which conclusions survive.

A reading (:mod:`sim.config.reading`) is an overlay of settings. :func:`overlay` turns it
into the ``--set`` style overrides of one scenario file; :func:`robustness` tabulates the
paired gain of each option and its cost per extra caller under every reading; and
:func:`verdicts` says, per option, its rank in each reading, the range of its gain and
cost, and whether the ranking is the same in all readings. Within a reading every
scenario runs on the same seeds (common random numbers); readings are separate
experiments, so the ranges across readings are differences of model, not noise.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.config import load_scenario
from sim.config.loading import PROJECT_ROOT
from sim.config.reading import Reading, load_reading
from sim.errors import ScenarioError

READINGS_DIR = PROJECT_ROOT / "scenarios" / "readings"  # not the working folder
ROBUSTNESS_COLUMNS = ["option", "kpi", "reading", "diff", "ci_low", "ci_high"]


def find_readings(spec: str, flag: str = "--readings") -> list[Reading]:
    """Readings named by ``spec``: a folder (every ``*.yaml`` in it, by name), or a
    comma-separated list of files or names (a name means ``scenarios/readings/NAME.yaml``)."""
    p = Path(spec)
    if p.is_dir():
        files = sorted(p.glob("*.yaml"))
        if not files:
            raise ScenarioError(flag, "", f"folder {spec} holds no *.yaml reading")
    else:
        files = []
        for item in (s.strip() for s in spec.split(",")):
            if not item:
                continue
            f = Path(item)
            if not f.suffix:
                f = READINGS_DIR / f"{item}.yaml"
            if not f.exists():
                known = ", ".join(sorted(x.stem for x in READINGS_DIR.glob("*.yaml")))
                raise ScenarioError(flag, "", f"no reading {item!r} (no file {f}); known: {known}")
            files.append(f)
        if not files:
            raise ScenarioError(flag, "", f"{spec!r} names no reading")
    readings = [load_reading(f) for f in files]
    names = [r.name for r in readings]
    if len(set(names)) != len(names):
        raise ScenarioError(flag, "", f"reading names must differ: {names}")
    return readings


def _get(data: dict, dotted: str) -> Any:
    node: Any = data
    for key in dotted.split("."):
        if not isinstance(node, dict) or key not in node:
            raise KeyError(dotted)
        node = node[key]
    return node


def _clip(item: Any, start: dt.date, end: dt.date) -> Any | None:
    """A dated list item (``from``/``to``) clipped to [start, end]; None if wholly outside."""
    if not isinstance(item, dict) or "from" not in item or "to" not in item:
        return item
    a, b = dt.date.fromisoformat(str(item["from"])), dt.date.fromisoformat(str(item["to"]))
    if b < start or a > end:
        return None
    return {**item, "from": max(a, start).isoformat(), "to": min(b, end).isoformat()}


def overlay(reading: Reading, scenario_file: Path, overrides: dict | None = None) -> dict:
    """Overrides that lay ``reading`` over ``scenario_file`` (with ``overrides`` applied
    after it, e.g. a comparison's ``--set horizon...``): the reading's ``set`` as is, its
    ``append`` items added to the scenario's own lists (dated items clipped to the
    horizon). The scenario keeps its name."""
    over = dict(reading.set)
    if reading.append:
        scn = load_scenario(scenario_file, {**over, **(overrides or {})})
        dump = scn.model_dump(mode="json", by_alias=True)
        for path, items in reading.append.items():
            try:
                current = _get(dump, path)
            except KeyError:
                raise ScenarioError(reading.file, f"append.{path}", "no such setting") from None
            if not isinstance(current, list):
                raise ScenarioError(reading.file, f"append.{path}", "is not a list setting")
            added = [c for c in (_clip(i, scn.horizon.start, scn.horizon.end) for i in items) if c is not None]
            over[path] = current + added
    return {**over, **(overrides or {})}


def robustness(per_reading: dict[str, tuple[pd.DataFrame, pd.DataFrame]],
               fronts: dict[str, pd.DataFrame] | None = None) -> pd.DataFrame:
    """Long table ``option, kpi, reading, diff, ci_low, ci_high`` from, per reading, the
    comparison's :func:`sim.experiments.compare.paired` table and
    :func:`sim.experiments.compare.cost_effectiveness` table.

    KPIs: ``answer_rate_caller`` (paired difference with the base, proportion),
    ``callers_answered`` (extra callers), ``extra_cost`` (EUR) and
    ``cost_per_extra_caller`` (EUR; NaN when the gain is not shown); with ``fronts``
    (per reading, :func:`sim.experiments.compare.frontier`) also ``icer``: EUR per extra
    caller against the previous option on the efficiency frontier (NaN when the option is
    dominated or the frontier's reference; no interval).
    """
    rows = []
    for reading, (table, ce) in per_reading.items():
        names = list(dict.fromkeys(table["scenario"]))
        t = table[(table["by"] == "all") & (table["key"] == "all")].set_index(["scenario", "kpi"])
        c = ce.set_index("scenario")
        for name in names[1:]:
            for kpi in ("answer_rate_caller", "callers_answered"):
                r = t.loc[(name, kpi)]
                rows.append((name, kpi, reading, r["diff"], r["diff_low"], r["diff_high"]))
            for kpi, col in (("extra_cost", "extra_cost"), ("cost_per_extra_caller", "cost_per_extra_caller")):
                r = c.loc[name]
                rows.append((name, kpi, reading, r[col], r[f"{col}_low"], r[f"{col}_high"]))
            if fronts is not None:
                f = fronts[reading].set_index("scenario").loc[name]
                rows.append((name, "icer", reading, f["icer"], np.nan, np.nan))
    return pd.DataFrame(rows, columns=ROBUSTNESS_COLUMNS)


def ranks(per_reading: dict[str, tuple[pd.DataFrame, pd.DataFrame]],
          kpi: str = "answer_rate_caller") -> pd.DataFrame:
    """Rank of every scenario (base included) by its mean ``kpi`` in each reading (1 =
    highest): rows scenarios, columns readings."""
    out = {}
    for reading, (table, _) in per_reading.items():
        t = table[(table["by"] == "all") & (table["key"] == "all") & (table["kpi"] == kpi)]
        s = t.set_index("scenario")["mean"]
        out[reading] = s.rank(ascending=False, method="min").astype(int)
    return pd.DataFrame(out)


def verdicts(rob: pd.DataFrame, rk: pd.DataFrame) -> list[str]:
    """One line per option: its rank in each reading, the range of its gain (points of
    callers answered, and whether its 95% CI excludes zero in every reading) and of its
    cost per extra caller, then one line on whether the ranking is the same in all."""
    lines = []
    readings = list(rk.columns)
    same = bool((rk.nunique(axis=1) == 1).all())
    for option in dict.fromkeys(rob["option"]):
        o = rob[rob["option"] == option]
        g = o[o["kpi"] == "answer_rate_caller"]
        gain = g["diff"] * 100
        shown = bool(((g["ci_low"] > 0) | (g["ci_high"] < 0)).all())
        c = o[o["kpi"] == "cost_per_extra_caller"]["diff"]
        extra = o[o["kpi"] == "extra_cost"]["diff"]
        if (extra == 0).all():
            cost_range = "free (no extra cost)"
        elif c.isna().all():
            cost_range = "no cost per caller (gain not shown)"
        else:
            cost_range = (f"EUR {np.nanmin(c):,.0f} to {np.nanmax(c):,.0f} per extra caller"
                          + (" (n/a in some readings)" if c.isna().any() else ""))
        icer = o[o["kpi"] == "icer"]["diff"]
        if len(icer) and not (extra == 0).all():
            on = icer.notna().sum()
            cost_range += (f"; on the efficiency frontier in {on} of {len(icer)} readings"
                           + (f", ICER EUR {icer.min():,.0f} to {icer.max():,.0f} per extra caller"
                              if on else ""))
        rank_text = ", ".join(f"{r} {rk.loc[option, r]}" for r in readings)
        lines.append(f"{option}: rank {rank_text}; gain {gain.min():+.1f} to {gain.max():+.1f} pt "
                     f"({'shown at 95% in every reading' if shown else 'NOT shown at 95% in every reading'}); "
                     f"{cost_range}; ranking {'the same' if rk.loc[option].nunique() == 1 else 'differs'} "
                     "across readings")
    lines.append(f"ranking of all {len(rk)} scenarios by answer rate per caller: "
                 f"{'the same in every reading' if same else 'NOT the same in every reading'} "
                 f"({len(readings)} readings)")
    return lines
