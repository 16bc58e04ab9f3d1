"""``run_sim.py run SCENARIO`` (or just ``run_sim.py SCENARIO``): simulate a scenario and
write a self-describing results folder. Heavy modules are imported when the command runs."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from sim.cli.common import (
    add_figures_argument,
    add_output_arguments,
    add_run_arguments,
    base_meta,
    progress,
)
from sim.cli.report import add_report_argument, report_after
from sim.experiments.executors import add_executor_arguments


def add_arguments(p) -> None:
    p.add_argument("scenario", type=Path, help="scenario YAML file")
    add_run_arguments(p, reps="replications (default: the scenario's experiment.replications)",
                      seed="base seed (default: the scenario's experiment.seed)",
                      out="results folder (default: results/<scenario name>)",
                      set_="override a scenario setting, e.g. --set phone.queue.capacity=2 "
                           "(repeatable)",
                      jobs="parallel processes (default: all cores)")
    p.add_argument("--keep-events", type=int, nargs="?", const=1, default=0, metavar="N",
                   help="also save the attempts and callers tables of the first N replications")
    add_figures_argument(p)
    p.add_argument("--resume", action="store_true",
                   help="reuse the replications an interrupted run of the same scenario finished")
    p.add_argument("--rep", type=int, metavar="R", help="run only replication R (to rerun a failed one)")
    p.add_argument("--precision", metavar="KPI=HALF_WIDTH",
                   help="add replications until the 95%% CI half-width of an overall KPI is at most "
                        "HALF_WIDTH, e.g. answer_rate_caller=0.005 (starts at --reps, default 5)")
    p.add_argument("--max-reps", type=int, default=500, help="upper limit for --precision")
    add_executor_arguments(p)
    add_output_arguments(p)
    add_report_argument(p)


def main(args) -> int:
    from sim.cli.common import load_with_flags
    from sim.experiments.guard import check_work
    from sim.results.folders import fresh_out, output_lock, partial_folder, safe_name

    scn = load_with_flags(args.scenario, args)
    reps, seed = scn.experiment.replications, scn.experiment.seed
    check_work(scn, args.scenario, max(reps, args.max_reps if args.precision else 0), args.allow_large,
               "--max-reps" if args.precision else "--reps" if args.reps else "experiment.replications")
    out = args.out or Path("results") / safe_name(scn.name)
    which = [args.rep] if args.rep is not None else reps
    fresh_out(out, announce=False)  # refuse a place that is not ours before simulating
    with output_lock(out):
        # --rep R adds (or reruns) one replication among those saved: never empties them.
        partial = partial_folder(out, args.resume or args.rep is not None)
        return _run(args, scn, reps, seed, out, which, partial / safe_name(scn.name), partial)


def _run(args, scn, reps, seed, out, which, checkpoint, partial) -> int:
    from sim.cli.common import fail
    from sim.experiments.executors import executor_from_args
    from sim.experiments.replications import run, run_to_precision, summarise
    from sim.results.control_variates import cv_table, run_controls
    from sim.results.folders import remove_partial, summary_table, write_run

    partial_root = partial
    partial = checkpoint
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
                                               progress=progress(args), checkpoint=partial,
                                               executor=executor, interval_tables=True)
            reps = len(result.replications)
            if not args.quiet:
                print(f"precision: {kpi} half-width {reached:.4g} after {reps} replications "
                      f"(target {target_hw:g}{', max reached' if reached > target_hw else ''})")
        else:
            result = run(scn, which, seed, jobs=args.jobs, keep_events=args.keep_events,
                         progress=progress(args), checkpoint=partial, executor=executor,
                         interval_tables=True)
    finally:
        executor.close()
    wall = time.perf_counter() - t0
    per_rep = result.kpis()
    summary = summarise(per_rep)
    summary_cv = run_controls(per_rep, scn, seed)  # beside summary.csv, which it leaves alone
    meta = base_meta("run", scenario=scn.name, scenario_file=str(args.scenario),
                     overrides=args.set, seed=seed,
                     replications=reps if args.rep is None else [args.rep],
                     wall_time_s=round(wall, 3), jobs=args.jobs)

    def figures(folder):
        from sim.results.figures import run_figures  # here: matplotlib only when drawing

        run_figures(summary, folder)

    out = write_run(out, result, summary, meta, None if args.no_figures else figures, summary_cv=summary_cv)
    if args.rep is None:
        remove_partial(partial_root)
    else:
        print(f"replication {args.rep} saved with the others in {partial_root}; "
              "complete the run with --resume", file=sys.stderr)
    report_after(args, out)
    if not args.quiet:
        print(f"\nScenario {scn.name!r}: {reps} replications, seed {seed}\n")
        print(summary_table(summary))
        print()
        print(cv_table(summary_cv))
        print()
    idx = summary.set_index(["by", "key", "kpi"])["mean"]
    print(
        f"{scn.name}: answer rate per caller {idx[('all', 'all', 'answer_rate_caller')]:.1%}, "
        f"per attempt {idx[('all', 'all', 'answer_rate_attempt')]:.1%}, "
        f"{idx[('all', 'all', 'mean_attempts')]:.2f} attempts per caller "
        f"({reps} reps, {wall:.1f} s) -> {out}"
    )
    return 0
