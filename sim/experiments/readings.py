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


def _appended(reading: Reading, paths: list[str], scn) -> dict:
    """Overrides adding the reading's ``append`` items of ``paths`` to the lists ``scn``
    already has (dated items clipped to its horizon; items wholly outside left out)."""
    dump = scn.model_dump(mode="json", by_alias=True)
    out = {}
    for path in paths:
        try:
            current = _get(dump, path)
        except KeyError:
            raise ScenarioError(reading.file, f"append.{path}", "no such setting") from None
        if not isinstance(current, list):
            raise ScenarioError(reading.file, f"append.{path}", "is not a list setting")
        items = (_clip(i, scn.horizon.start, scn.horizon.end) for i in reading.append[path])
        out[path] = current + [c for c in items if c is not None]
    return out


def overlay(reading: Reading, scenario_file: Path, overrides: dict | None = None) -> dict:
    """Overrides that lay ``reading`` over ``scenario_file`` (with ``overrides`` applied
    after it, e.g. a comparison's ``--set horizon...``): the reading's ``set`` as is, its
    ``append`` items added to the scenario's own lists (dated items clipped to the
    horizon). The scenario keeps its name."""
    over = dict(reading.set)
    if reading.append:
        scn = load_scenario(scenario_file, {**over, **(overrides or {})})
        over.update(_appended(reading, list(reading.append), scn))
    return {**over, **(overrides or {})}


# ---------------------------------------------------------------------------------------
# A reading's own fitted scenario as the base (``fit --reading NAME``)
# ---------------------------------------------------------------------------------------

FITTED_DIR = PROJECT_ROOT / "scenarios" / "fitted"  # fit --reading NAME writes NAME/ here
DEFAULT_FITTED = PROJECT_ROOT / "scenarios" / "fitted_2020.yaml"  # what the options rest on


def fitted_file(reading: Reading, fitted_dir: Path = FITTED_DIR) -> Path | None:
    """``fitted_dir/NAME/fitted_2020.yaml`` of the reading, or None when it was not fitted."""
    f = Path(fitted_dir) / reading.name / "fitted_2020.yaml"
    return f if f.is_file() else None


def _flatten(data: dict, prefix: str = "") -> dict:
    """Nested settings -> dotted overrides of their leaves (a mapping merges key by key,
    anything else replaces: the rule of ``base:`` files)."""
    out = {}
    for k, v in data.items():
        path = f"{prefix}{k}"
        if isinstance(v, dict) and v:
            out.update(_flatten(v, path + "."))
        else:
            out[path] = v
    return out


def own_settings(scenario_file: Path, base: Path = DEFAULT_FITTED) -> dict | None:
    """What ``scenario_file`` sets on top of ``base`` (through its chain of ``base:``
    files), as dotted overrides; ``{}`` for ``base`` itself, None when the file does not
    rest on ``base``. The file must load (:func:`sim.config.load_scenario`) first."""
    from sim.config.loading import _merge, _read_yaml

    target = Path(base).resolve()
    chain, p = [], Path(scenario_file).resolve()
    while p != target:
        if len(chain) > 50:  # a cycle; load_scenario reports it properly
            return None
        data, _ = _read_yaml(p)
        chain.append({k: v for k, v in data.items() if k != "base"})
        if "base" not in data:
            return None
        p = (p.parent / data["base"]).resolve()
    merged: dict = {}
    for data in reversed(chain):  # the deepest base first, the file itself last
        merged = _merge(merged, data)
    return _flatten(merged)


def _touches(path: str, paths) -> bool:
    """Whether a setting in ``paths`` is ``path``, inside it, or contains it."""
    return any(p == path or p.startswith(path + ".") or path.startswith(p + ".") for p in paths)


def reading_scenario(reading: Reading, scenario_file: Path, overrides: dict | None = None,
                     fitted_dir: Path | None = FITTED_DIR) -> tuple[Any, str]:
    """``scenario_file`` under ``reading``, and which base it used.

    When the reading has a fitted scenario (``fitted_dir/NAME/fitted_2020.yaml``) and the
    file rests on ``scenarios/fitted_2020.yaml`` (as the subsidy options do), the file's
    own settings are laid on the reading's fit instead (``"fitted"``). The reading's
    overlay is then not laid again: its fit either took it as input (``fit_uses_overlay``)
    or replaced it (the overlay was itself a fit result) -- except where the file's own
    settings would undo it: a ``set`` path the file sets too is set again, and ``append``
    items are added again to a list the file replaces. Otherwise the reading is laid over
    the file as it is (``"overlay"``, :func:`overlay`). ``overrides`` (``--set``) come last.
    The scenario keeps the file's name, so names match across readings.
    """
    name = load_scenario(scenario_file).name  # a bad file is reported as itself first
    fitted = fitted_file(reading, fitted_dir) if fitted_dir is not None else None
    own = own_settings(scenario_file) if fitted is not None else None
    if fitted is None or own is None:
        return load_scenario(scenario_file, overlay(reading, scenario_file, overrides)), "overlay"
    over = {**own, "name": name}
    if reading.fit_uses_overlay:
        over.update({p: v for p, v in reading.set.items() if _touches(p, own)})
        again = [p for p in reading.append if _touches(p, own)]
        if again:
            scn = load_scenario(fitted, {**over, **(overrides or {})})
            over.update(_appended(reading, again, scn))
    return load_scenario(fitted, {**over, **(overrides or {})}), "fitted"


def base_text(reading: str, used: list[str], files: list, fitted_dir: Path | None = FITTED_DIR) -> str:
    """One line: which base each scenario of a reading used (fitted or overlay)."""
    if set(used) == {"fitted"}:
        return f"{reading}: base = its fitted scenario {Path(fitted_dir) / reading / 'fitted_2020.yaml'}"
    if set(used) == {"overlay"}:
        why = ("no fitted scenario" if fitted_dir is None
               or not (Path(fitted_dir) / reading / "fitted_2020.yaml").is_file()
               else "the scenarios do not rest on scenarios/fitted_2020.yaml")
        return f"{reading}: base = the reading's overlay on the scenarios as given ({why})"
    parts = ", ".join(f"{Path(f).name} {u}" for f, u in zip(files, used, strict=True))
    return f"{reading}: base mixed ({parts}); 'overlay' files do not rest on scenarios/fitted_2020.yaml"


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
