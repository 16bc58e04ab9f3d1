"""``run_sim.py compare BASE OPTION ...``: scenarios on common random numbers, paired
differences with the first and cost-effectiveness."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from sim.cli.report import add_report_argument, report_after
from sim.experiments.executors import add_executor_arguments, default_jobs


def add_arguments(p) -> None:
    p.add_argument("scenarios", type=Path, nargs="+", help="base scenario, then the options")
    p.add_argument("--reps", type=int, help="replications (default: the base scenario's)")
    p.add_argument("--seed", type=int, help="base seed (default: the base scenario's)")
    p.add_argument("--out", type=Path, default=Path("results/compare"), help="results folder")
    p.add_argument("--set", action="append", default=[], metavar="PATH=VALUE",
                   help="override a setting in every scenario (repeatable)")
    p.add_argument("--jobs", type=int, default=default_jobs(), help="parallel processes")
    p.add_argument("--quiet", action="store_true", help="no progress bar or table")
    p.add_argument("--resume", action="store_true",
                   help="reuse the replications an interrupted comparison finished")
    add_executor_arguments(p)
    add_report_argument(p)


def main(args) -> int:
    import datetime as dt
    import shutil

    from sim import __version__
    from sim.cli.common import fail
    from sim.config import load_scenario, parse_overrides
    from sim.experiments.compare import compare_table, cost_effectiveness, cost_table, paired
    from sim.experiments.executors import executor_from_args
    from sim.experiments.replications import run
    from sim.results.figures import compare_figures
    from sim.results.folders import partial_folder, write_atomic

    overrides = parse_overrides(args.set)
    scns = [load_scenario(p, overrides) for p in args.scenarios]
    names = [s.name for s in scns]
    if len(set(names)) != len(names):
        return fail(f"scenario names must differ to be compared: {names}", 2)
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
    report_after(args, args.out)
    if not args.quiet:
        print(f"\n{len(scns)} scenarios, {reps} replications each, seed {seed}; "
              "differences are paired (common random numbers) with 95% CIs\n")
        print(text)
        print()
    best = table[(table["by"] == "all") & (table["kpi"] == "answer_rate_caller")].sort_values("mean").iloc[-1]
    print(f"compared {len(scns)} scenarios ({reps} reps, {wall:.1f} s); highest answer rate per caller: "
          f"{best['scenario']} {best['mean']:.1%} -> {args.out}")
    return 0
