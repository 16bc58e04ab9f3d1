"""``run_sim.py run SCENARIO`` (or just ``run_sim.py SCENARIO``): simulate a scenario and
write a self-describing results folder. Heavy modules are imported when the command runs."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from sim.cli.report import add_report_argument, report_after
from sim.experiments.executors import add_executor_arguments, default_jobs


def add_arguments(p) -> None:
    p.add_argument("scenario", type=Path, help="scenario YAML file")
    p.add_argument("--reps", type=int, help="replications (default: the scenario's experiment.replications)")
    p.add_argument("--seed", type=int, help="base seed (default: the scenario's experiment.seed)")
    p.add_argument("--out", type=Path, help="results folder (default: results/<scenario name>)")
    p.add_argument("--set", action="append", default=[], metavar="PATH=VALUE",
                   help="override a scenario setting, e.g. --set phone.queue.capacity=2 (repeatable)")
    p.add_argument("--jobs", type=int, default=default_jobs(),
                   help="parallel processes (default: all cores)")
    p.add_argument("--keep-events", type=int, nargs="?", const=1, default=0, metavar="N",
                   help="also save the attempts and callers tables of the first N replications")
    p.add_argument("--no-figures", action="store_true", help="skip drawing figures")
    p.add_argument("--resume", action="store_true",
                   help="reuse the replications an interrupted run of the same scenario finished")
    p.add_argument("--rep", type=int, metavar="R", help="run only replication R (to rerun a failed one)")
    p.add_argument("--precision", metavar="KPI=HALF_WIDTH",
                   help="add replications until the 95%% CI half-width of an overall KPI is at most "
                        "HALF_WIDTH, e.g. answer_rate_caller=0.005 (starts at --reps, default 5)")
    p.add_argument("--max-reps", type=int, default=500, help="upper limit for --precision")
    add_executor_arguments(p)
    p.add_argument("--quiet", action="store_true", help="no progress bar or table, only the final line")
    add_report_argument(p)


def main(args) -> int:
    import datetime as dt
    import platform
    import shutil

    from sim import __version__
    from sim.cli.common import fail
    from sim.config import load_scenario, parse_overrides
    from sim.experiments.executors import executor_from_args
    from sim.experiments.replications import run, run_to_precision, summarise
    from sim.results.figures import run_figures
    from sim.results.folders import partial_folder, summary_table, write_run

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
                return fail(f"--precision: {args.precision!r} is not KPI=HALF_WIDTH", 2)
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
    report_after(args, out)
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
