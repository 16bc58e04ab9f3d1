"""Command line: ``python run_sim.py SCENARIO [options]`` and ``run_sim.py plot DIR``.

Bad input ends with one line on stderr (file, field, problem) and exit status 2; a
failed replication names its scenario, replication and seed and exits with status 1.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import platform
import shutil
import sys
import time
from pathlib import Path

from sim import __version__
from sim.config import ScenarioError, load_scenario, parse_overrides
from sim.executors import add_executor_arguments, executor_from_args
from sim.experiment import ReplicationError, default_jobs, run, run_to_precision, summarise
from sim.report import partial_folder, read_run, summary_table, write_run

# Commands that live in their own modules: name -> (module, one-line help). Each module
# defines ``add_arguments(parser)`` and ``main(args) -> int`` (exit status); it may raise
# ScenarioError for bad input like the built-in commands.
MODULE_COMMANDS: dict[str, tuple[str, str]] = {
    "fit": ("sim.fit_cmd", "fit 2020 demand to the published counts and calibrate caller behaviour"),
    "sweep": ("sim.sweep_cmd", "run a sweep file: a base scenario and a grid or list of overrides"),
    "validate": ("sim.validate_cmd", "simulation against exact queueing results (exit 1 if one disagrees)"),
    "optimise": ("sim.optimise_cmd", "cheapest extra staffed lines that reach a KPI target"),
    "sensitivity": ("sim.sensitivity_cmd", "one-at-a-time sensitivity: tornado and ranking"),}
COMMANDS = ("run", "compare", "plot", *MODULE_COMMANDS)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="run_sim.py",
        description="Hulplijn 1712 call-centre simulator. "
        "Default command: run a scenario (run_sim.py SCENARIO.yaml ...).",
    )
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    r = sub.add_parser("run", help="simulate a scenario and write a results folder")
    r.add_argument("scenario", type=Path, help="scenario YAML file")
    r.add_argument("--reps", type=int, help="replications (default: the scenario's experiment.replications)")
    r.add_argument("--seed", type=int, help="base seed (default: the scenario's experiment.seed)")
    r.add_argument("--out", type=Path, help="results folder (default: results/<scenario name>)")
    r.add_argument("--set", action="append", default=[], metavar="PATH=VALUE",
                   help="override a scenario setting, e.g. --set phone.queue.capacity=2 (repeatable)")
    r.add_argument("--jobs", type=int, default=default_jobs(),
                   help="parallel processes (default: all cores)")
    r.add_argument("--keep-events", type=int, nargs="?", const=1, default=0, metavar="N",
                   help="also save the attempts and callers tables of the first N replications")
    r.add_argument("--no-figures", action="store_true", help="skip drawing figures")
    r.add_argument("--resume", action="store_true",
                   help="reuse the replications an interrupted run of the same scenario finished")
    r.add_argument("--rep", type=int, metavar="R", help="run only replication R (to rerun a failed one)")
    r.add_argument("--precision", metavar="KPI=HALF_WIDTH",
                   help="add replications until the 95%% CI half-width of an overall KPI is at most "
                        "HALF_WIDTH, e.g. answer_rate_caller=0.005 (starts at --reps, default 5)")
    r.add_argument("--max-reps", type=int, default=500, help="upper limit for --precision")
    add_executor_arguments(r)
    r.add_argument("--quiet", action="store_true", help="no progress bar or table, only the final line")

    c = sub.add_parser("compare", help="run scenarios on common random numbers and compare with the first")
    c.add_argument("scenarios", type=Path, nargs="+", help="base scenario, then the options")
    c.add_argument("--reps", type=int, help="replications (default: the base scenario's)")
    c.add_argument("--seed", type=int, help="base seed (default: the base scenario's)")
    c.add_argument("--out", type=Path, default=Path("results/compare"), help="results folder")
    c.add_argument("--set", action="append", default=[], metavar="PATH=VALUE",
                   help="override a setting in every scenario (repeatable)")
    c.add_argument("--jobs", type=int, default=default_jobs(), help="parallel processes")
    c.add_argument("--quiet", action="store_true", help="no progress bar or table")
    c.add_argument("--resume", action="store_true",
                   help="reuse the replications an interrupted comparison finished")
    add_executor_arguments(c)

    pl = sub.add_parser("plot", help="redraw the figures of a results folder without simulating")
    pl.add_argument("results", type=Path, help="results folder written by a run")

    for name, (module, text) in MODULE_COMMANDS.items():
        importlib.import_module(module).add_arguments(sub.add_parser(name, help=text))
    return p


def _fail(message: str, status: int) -> int:
    print(f"error: {message}", file=sys.stderr)
    return status


def cmd_run(args) -> int:
    from sim.figures import run_figures

    overrides = parse_overrides(args.set)
    if args.reps is not None:
        overrides["experiment.replications"] = args.reps
    if args.seed is not None:
        overrides["experiment.seed"] = args.seed
    scn = load_scenario(args.scenario, overrides)
    reps, seed = scn.experiment.replications, scn.experiment.seed
    out = args.out or Path("results") / scn.name
    which = [args.rep] if args.rep is not None else reps
    partial = partial_folder(out, args.resume) / scn.name
    t0 = time.perf_counter()
    executor = executor_from_args(args)
    try:
        if args.precision:
            kpi, _, target = args.precision.partition("=")
            try:
                target_hw = float(target)
            except ValueError:
                return _fail(f"--precision: {args.precision!r} is not KPI=HALF_WIDTH", 2)
            result, reached = run_to_precision(scn, seed, kpi, target_hw, min_reps=args.reps or 5,
                                               max_reps=args.max_reps, jobs=args.jobs,
                                               progress=not args.quiet, checkpoint=partial,
                                               executor=executor)
            reps = len(result.replications)
            if not args.quiet:
                print(f"precision: {kpi} half-width {reached:.4g} after {reps} replications "
                      f"(target {target_hw:g}{', max reached' if reached > target_hw else ''})")
        else:
            result = run(scn, which, seed, jobs=args.jobs, keep_events=args.keep_events,
                         progress=not args.quiet, checkpoint=partial, executor=executor)
    finally:
        executor.close()
    wall = time.perf_counter() - t0
    summary = summarise(result.kpis())
    meta = {
        "kind": "run",
        "scenario": scn.name,
        "scenario_file": str(args.scenario),
        "overrides": args.set,
        "seed": seed,
        "replications": reps if args.rep is None else [args.rep],
        "version": __version__,
        "python": platform.python_version(),
        "wall_time_s": round(wall, 3),
        "jobs": args.jobs,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": " ".join(sys.argv),
    }
    write_run(out, result, summary, meta, None if args.no_figures else lambda d: run_figures(summary, d))
    shutil.rmtree(partial.parent, ignore_errors=True)
    if not args.quiet:
        print(f"\nScenario {scn.name!r}: {reps} replications, seed {seed}\n")
        print(summary_table(summary))
        print()
    idx = summary.set_index(["by", "key", "kpi"])["mean"]
    print(
        f"{scn.name}: answer rate per caller {idx[('all', 'all', 'answer_rate_caller')]:.1%}, "
        f"per attempt {idx[('all', 'all', 'answer_rate_attempt')]:.1%}, "
        f"{idx[('all', 'all', 'mean_attempts')]:.2f} attempts per caller "
        f"({reps} reps, {wall:.1f} s) -> {out}"
    )
    return 0


def cmd_compare(args) -> int:
    from sim.compare import compare_table, cost_effectiveness, cost_table, paired
    from sim.figures import compare_figures
    from sim.report import write_atomic

    overrides = parse_overrides(args.set)
    scns = [load_scenario(p, overrides) for p in args.scenarios]
    names = [s.name for s in scns]
    if len(set(names)) != len(names):
        return _fail(f"scenario names must differ to be compared: {names}", 2)
    reps = args.reps or scns[0].experiment.replications
    seed = scns[0].experiment.seed if args.seed is None else args.seed
    t0 = time.perf_counter()
    partial = partial_folder(args.out, args.resume)
    executor = executor_from_args(args)
    try:
        results = [run(s, reps, seed, jobs=args.jobs, progress=not args.quiet,
                       checkpoint=partial / s.name, executor=executor) for s in scns]
    finally:
        executor.close()
    wall = time.perf_counter() - t0
    table = paired(results)
    ce = cost_effectiveness(results)
    text = compare_table(table) + "\n\n" + cost_table(ce)
    meta = {"kind": "compare", "scenarios": names, "files": [str(p) for p in args.scenarios],
            "overrides": args.set, "seed": seed, "replications": reps, "version": __version__,
            "wall_time_s": round(wall, 3), "command": " ".join(sys.argv),
            "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}

    def fill(tmp: Path) -> None:
        import json

        for s, r in zip(scns, results, strict=True):
            (tmp / f"scenario_{s.name}.yaml").write_text(s.to_yaml(), encoding="utf-8")
            r.kpis().assign(scenario=s.name).to_csv(tmp / f"kpis_per_rep_{s.name}.csv", index=False)
        table.to_csv(tmp / "compare.csv", index=False)
        ce.to_csv(tmp / "cost_effectiveness.csv", index=False)
        (tmp / "compare.txt").write_text(text + "\n", encoding="utf-8")
        (tmp / "meta.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
        compare_figures(table, ce, tmp)

    write_atomic(args.out, fill)
    shutil.rmtree(partial, ignore_errors=True)
    if not args.quiet:
        print(f"\n{len(scns)} scenarios, {reps} replications each, seed {seed}; "
              "differences are paired (common random numbers) with 95% CIs\n")
        print(text)
        print()
    best = table[(table["by"] == "all") & (table["kpi"] == "answer_rate_caller")].sort_values("mean").iloc[-1]
    print(f"compared {len(scns)} scenarios ({reps} reps, {wall:.1f} s); highest answer rate per caller: "
          f"{best['scenario']} {best['mean']:.1%} -> {args.out}")
    return 0


def cmd_plot(args) -> int:
    import json

    import pandas as pd

    from sim import figures

    folder = args.results
    meta_file = folder / "meta.json"
    if not meta_file.exists():
        return _fail(f"{folder}: not a results folder (no meta.json)", 2)
    kind = json.loads(meta_file.read_text(encoding="utf-8")).get("kind", "run")
    if kind == "run":
        summary, _meta = read_run(folder)
        written = figures.run_figures(summary, folder)
    elif kind == "compare":
        table = pd.read_csv(folder / "compare.csv", dtype={"key": str})
        ce_file = folder / "cost_effectiveness.csv"
        ce = pd.read_csv(ce_file) if ce_file.exists() and ce_file.stat().st_size > 1 else pd.DataFrame()
        written = figures.compare_figures(table, ce, folder)
    elif kind == "sweep":
        meta = json.loads(meta_file.read_text(encoding="utf-8"))
        written = figures.sweep_figures(pd.read_csv(folder / "sweep_summary.csv"), meta, folder)
    else:
        return _fail(f"{folder}: unknown results kind {kind!r} in meta.json", 2)
    print(f"{len(written)} figure files written to {args.results / 'figures'}")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    # `run_sim.py SCENARIO ...` is short for `run_sim.py run SCENARIO ...`.
    if argv and argv[0] not in COMMANDS and not argv[0].startswith("-"):
        argv.insert(0, "run")
    args = _parser().parse_args(argv)
    try:
        builtin = {"run": cmd_run, "compare": cmd_compare, "plot": cmd_plot}
        if args.command in builtin:
            return builtin[args.command](args)
        return importlib.import_module(MODULE_COMMANDS[args.command][0]).main(args)
    except ScenarioError as e:
        return _fail(str(e), 2)
    except ReplicationError as e:
        failed = getattr(e, "failed", [e.replication])
        return _fail(f"{e}; failed replications {failed}; the others are saved: rerun one alone with "
                     f"--seed {e.seed} --rep {e.replication}, or all with --resume", 1)
    except KeyboardInterrupt:
        return _fail("interrupted; finished replications are saved (rerun with --resume)", 130)

