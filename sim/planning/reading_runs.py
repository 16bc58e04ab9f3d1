"""``optimise --readings`` and ``sensitivity --readings`` (issue 17): the same search or
tornado under each reading of the evidence, and which conclusions survive all of them.

Each reading gives its own version of the scenario (and of the options to rank):
:func:`sim.experiments.readings.reading_scenario`, i.e. the reading's fitted scenario when
``fit --reading NAME`` wrote one and the file rests on ``scenarios/fitted_2020.yaml``,
else the reading's overlay on the file as given. The command itself then runs unchanged
on those scenarios, once per reading, into a subfolder named after the reading (common
random numbers within a reading: the command's own seed for every scenario). The
top-level folder adds ``robustness.csv``, ``robustness.txt`` and ``meta.json``.

* optimise: per reading the chosen staffing, its cost and the confirmed KPI; verdict lines
  say whether the chosen staffing is the same in every reading, the range of its cost and
  in how many readings the target is shown at 95%.
* sensitivity: per reading the tornado (every parameter, ranked by swing); verdict lines
  give the top factors per reading, whether the widest one is the same in every reading,
  and whether the options' ranking by gain (base setting) is the same.

The command's ``main`` is passed in (the planning layer does not import the command line).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import pandas as pd

from sim.config import load_scenario, parse_overrides
from sim.experiments.readings import FITTED_DIR, base_text, find_readings, reading_scenario
from sim.experiments.saved import resumable
from sim.results.folders import fresh_out, safe_name, write_atomic

TOP_FACTORS = 3  # factors named per reading in the sensitivity verdicts


def _write(scn, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{safe_name(scn.name)}.yaml"
    path.write_text(scn.to_yaml(), encoding="utf-8")
    return path


def run_under_readings(args: argparse.Namespace, main: Callable[[argparse.Namespace], int], kind: str,
                       option_files: Sequence[Path] | None = None) -> int:
    """Run ``main`` (the ``optimise`` or ``sensitivity`` command) once per reading of
    ``args.readings`` and write the robustness folder; the exit status is the worst of
    the runs. ``option_files`` (sensitivity): the options to rank, each re-based per
    reading; options whose horizon differs from the scenario's under a reading are left
    out in that reading (and named)."""
    overrides = parse_overrides(args.set)
    load_scenario(args.scenario, overrides)  # a bad file is reported as itself, first
    readings = find_readings(args.readings)
    fitted_dir = getattr(args, "fitted", None) or FITTED_DIR
    name = load_scenario(args.scenario).name
    out = Path(args.out or Path("results") / f"{kind}_readings_{safe_name(name)}")
    fresh_out(out, announce=False)  # refuse a place that is not ours before computing
    out.parent.mkdir(parents=True, exist_ok=True)
    # Each reading's units of work are saved in its own subfolder of this command's partial
    # folder (kept until the robustness folder is written): --resume reuses them.
    with resumable(out, getattr(args, "resume", False), quiet=args.quiet) as saved:
        staging = out.parent / f".{out.name}.readings-{os.getpid()}"  # ours: removed at the end
        staging.mkdir()
        status, bases, skipped, files = 0, [], {}, {}
        try:
            for r in readings:
                scn, used = reading_scenario(r, args.scenario, overrides, fitted_dir)
                where = staging / "scenarios" / safe_name(r.name)
                sub = argparse.Namespace(**{**vars(args), "readings": None, "set": [],
                                            "scenario": _write(scn, where), "out": staging / safe_name(r.name),
                                            "partial": saved.folder / safe_name(r.name)})
                uses, kept = [used], [Path(args.scenario)]
                if option_files is not None:
                    opts = []
                    for f in option_files:
                        o, u = reading_scenario(r, f, overrides, fitted_dir)
                        if o.horizon != scn.horizon:
                            skipped.setdefault(r.name, []).append(o.name)
                            continue
                        opts.append(_write(o, where))
                        uses.append(u)
                        kept.append(Path(f))
                    if not opts:
                        from sim.errors import ScenarioError

                        raise ScenarioError("--options", ", ".join(map(str, option_files)),
                                            f"no option shares the scenario's horizon under reading {r.name}")
                    sub.options = opts
                bases.append(base_text(r.name, uses, kept, fitted_dir))
                files[r.name] = {str(f): u for f, u in zip(kept, uses, strict=True)}
                if not args.quiet:
                    print(f"\n=== reading {r.name}: {bases[-1].split(': ', 1)[1]}", flush=True)
                status = max(status, main(sub))
            per = {r.name: staging / safe_name(r.name) for r in readings}
            if kind == "optimise":
                rob, lines = optimise_robustness(per)
            else:
                rob, lines = sensitivity_robustness(per)
            text = "\n".join(lines + ["", "base of each reading:"] + bases
                             + [f"options left out in {k} (other horizon): {', '.join(v)}" for k, v in skipped.items()])
            meta = {"kind": f"{kind}_readings", "scenario_file": str(args.scenario),
                    "readings": {r.name: r.file for r in readings}, "fitted_dir": str(fitted_dir),
                    "bases": files, "overrides": args.set, "status": status,
                    "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "command": " ".join(sys.argv),
                    "verdicts": lines}

            def fill(tmp: Path) -> None:
                for reading, folder in per.items():
                    shutil.move(str(folder), str(tmp / safe_name(reading)))
                rob.to_csv(tmp / "robustness.csv", index=False)
                (tmp / "robustness.txt").write_text(text + "\n", encoding="utf-8")
                (tmp / "meta.json").write_text(json.dumps(meta, indent=2, default=str), encoding="utf-8")

            written = write_atomic(out, fill)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    if not args.quiet:
        print("\n" + "\n".join(["base of each reading:"] + [f"  {b}" for b in bases]) + "\n")
        print("\n".join(lines[:-1]))
    print(f"{lines[-1]} -> {written}")
    return status


# ---------------------------------------------------------------------------------------
# optimise
# ---------------------------------------------------------------------------------------

OPTIMISE_COLUMNS = ["reading", "status", "target", "kpi", "ci_low", "ci_high", "extra_cost",
                    "extra_line_hours", "schedule"]


def schedule_text(schedule: pd.DataFrame) -> str:
    """A chosen schedule (``schedule.csv``) as one comparable string, sorted; '' for none."""
    if schedule.empty:
        return ""
    rows = [f"{r['channel']} {r['province']} {r['hours']} {r['weekdays']} x{int(r['lines'])}"
            for _, r in schedule.iterrows()]
    return "; ".join(sorted(rows))


def optimise_table(per: dict[str, tuple[dict, pd.DataFrame]]) -> pd.DataFrame:
    """``robustness.csv`` of optimise: per reading its ``meta.json`` and ``schedule.csv``."""
    rows = []
    for reading, (meta, schedule) in per.items():
        lo, hi = meta["kpi_ci"]
        rows.append({"reading": reading, "status": meta["status"], "target": meta["target"],
                     "kpi": meta["kpi_confirmed"], "ci_low": lo, "ci_high": hi,
                     "extra_cost": meta["extra_cost"], "extra_line_hours": meta["extra_line_hours"],
                     "schedule": schedule_text(schedule)})
    return pd.DataFrame(rows, columns=OPTIMISE_COLUMNS)


def optimise_verdicts(table: pd.DataFrame) -> list[str]:
    """One line per reading (its schedule, cost, KPI), then the verdict lines."""
    lines = []
    for _, r in table.iterrows():
        lines.append(f"{r['reading']}: {r['status']}; EUR {r['extra_cost']:,.0f} extra "
                     f"({r['extra_line_hours']:,.0f} line-hours); {r['target']}: {r['kpi']:.4g} "
                     f"[{r['ci_low']:.4g}, {r['ci_high']:.4g}]; staffing: {r['schedule'] or '(none)'}")
    n = len(table)
    reached = int((table["status"] == "target reached").sum())
    lines.append(f"extra cost EUR {table['extra_cost'].min():,.0f} to {table['extra_cost'].max():,.0f} "
                 f"over the readings; status per reading: "
                 + ", ".join(f"{a} {b}" for a, b in zip(table["reading"], table["status"], strict=True))
                 + f" (target reached and shown at 95% in {reached} of {n})")
    distinct = table["schedule"].nunique()
    lines.append("chosen staffing: " + ("the same in every reading" if distinct == 1 else
                                        f"NOT the same in every reading ({distinct} different schedules "
                                        f"in {n} readings)"))
    return lines


def optimise_robustness(per: dict[str, Path]) -> tuple[pd.DataFrame, list[str]]:
    """Robustness table and verdicts from each reading's optimise folder."""
    data = {}
    for reading, folder in per.items():
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
        sched = pd.read_csv(folder / "schedule.csv") if (folder / "schedule.csv").stat().st_size > 1 else pd.DataFrame()
        data[reading] = (meta, sched)
    table = optimise_table(data)
    return table, optimise_verdicts(table)


# ---------------------------------------------------------------------------------------
# sensitivity
# ---------------------------------------------------------------------------------------

SENSITIVITY_COLUMNS = ["reading", "rank", "parameter", "low_setting", "low", "base", "high_setting",
                       "high", "width"]


def sensitivity_table(tornados: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """``robustness.csv`` of sensitivity: each reading's tornado, ranked by swing (1 = widest)."""
    frames = [t.assign(reading=r, rank=range(1, len(t) + 1)) for r, t in tornados.items()]
    return pd.concat(frames, ignore_index=True)[SENSITIVITY_COLUMNS]


def sensitivity_verdicts(table: pd.DataFrame, rankings: dict[str, str] | None = None,
                         top: int = TOP_FACTORS) -> list[str]:
    """Top factors per reading, then whether the widest factor, the top ``top`` factors
    and (with ``rankings``: reading -> options' ranking by gain at the base setting) the
    ranking of the options are the same in every reading."""
    lines = []
    tops = {}
    for reading, t in table.groupby("reading", sort=False):
        t = t.sort_values("rank")
        tops[reading] = list(t["parameter"].head(top))
        factors = ", ".join(f"{p} ({w * 100:.1f} pt)" for p, w in zip(t["parameter"].head(top),
                                                                      t["width"].head(top), strict=True))
        lines.append(f"{reading}: top factors {factors}"
                     + (f"; options by gain: {rankings[reading]}" if rankings and reading in rankings else ""))
    first = {r: v[0] for r, v in tops.items()}
    lines.append("widest factor: " + ("the same in every reading (" + next(iter(first.values())) + ")"
                                      if len(set(first.values())) == 1 else
                                      "NOT the same in every reading (" + ", ".join(
                                          f"{r} {p}" for r, p in first.items()) + ")"))
    same_top = len({frozenset(v) for v in tops.values()}) == 1
    lines.append(f"top {top} factors: " + ("the same set in every reading" if same_top
                                           else "NOT the same set in every reading"))
    if rankings:
        same = len(set(rankings.values())) == 1
        lines.append("ranking of the options by gain: " + ("the same in every reading" if same
                                                           else "NOT the same in every reading"))
    # The last line is the one a quiet run prints.
    lines.append(f"sensitivity under {len(tops)} readings: widest factor "
                 + ("the same" if len(set(first.values())) == 1 else "differs")
                 + (f", options' ranking {'the same' if len(set(rankings.values())) == 1 else 'differs'}"
                    if rankings else ""))
    return lines


def sensitivity_robustness(per: dict[str, Path]) -> tuple[pd.DataFrame, list[str]]:
    """Robustness table and verdicts from each reading's sensitivity folder."""
    tornados, rankings = {}, {}
    for reading, folder in per.items():
        tornados[reading] = pd.read_csv(folder / "tornado.csv")
        if (folder / "ranking.csv").is_file():
            rk = pd.read_csv(folder / "ranking.csv")
            base = rk[(rk["criterion"] == "gain") & (rk["level"] == "base")]
            if len(base):
                rankings[reading] = str(base["ranking"].iloc[0])
    table = sensitivity_table(tornados)
    return table, sensitivity_verdicts(table, rankings or None)
