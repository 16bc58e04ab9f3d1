"""``run_sim.py sweep SWEEP.yaml``: run every point of a sweep file (see sim.experiments.sweep)."""

from __future__ import annotations

import json
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
from sim.config import parse_overrides
from sim.experiments.executors import add_executor_arguments, executor_from_args
from sim.experiments.replications import run
from sim.experiments.sweep import load_sweep, summary, tidy
from sim.results.folders import (
    fresh_out,
    output_lock,
    partial_folder,
    remove_partial,
    safe_name,
    write_atomic,
)


def add_arguments(p) -> None:
    p.add_argument("sweep", type=Path, help="sweep file (YAML)")
    add_run_arguments(p, reps="replications per point (default: the sweep file's)",
                      seed="seed (default: the sweep file's)",
                      out="results folder (default: results/<sweep name>)",
                      set_="override a setting at every point (repeatable)")
    p.add_argument("--resume", action="store_true", help="reuse finished replications")
    add_figures_argument(p)
    add_output_arguments(p)
    add_executor_arguments(p)
    add_report_argument(p)


def main(args) -> int:
    from sim.cli.common import check_flags
    from sim.experiments.guard import check_work

    check_flags(args)
    sweep, points = load_sweep(args.sweep, parse_overrides(args.set), allow_large=args.allow_large)
    reps = args.reps or sweep.replications
    seed = sweep.seed if args.seed is None else args.seed
    for _, scn in points:
        check_work(scn, args.sweep, reps, args.allow_large, "--reps" if args.reps else "replications")
    out = args.out or Path("results") / safe_name(sweep.name)
    fresh_out(out, announce=False)  # refuse a place that is not ours before simulating
    with output_lock(out):
        return _sweep(args, sweep, points, reps, seed, out)


def _sweep(args, sweep, points, reps, seed, out) -> int:
    from sim.results.figures import sweep_figures

    partial = partial_folder(out, args.resume)
    t0 = time.perf_counter()
    executor = executor_from_args(args)
    try:
        results = [run(scn, reps, seed, jobs=args.jobs, progress=progress(args),
                       checkpoint=partial / safe_name(scn.name), executor=executor) for _, scn in points]
    finally:
        executor.close()
    wall = time.perf_counter() - t0
    params = list(dict.fromkeys(k for p, _ in points for k in p))
    table = tidy([p for p, _ in points], results)
    summ = summary(table, params)
    meta = base_meta("sweep", sweep=sweep.name, file=str(args.sweep), params=params,
                     points=len(points), seed=seed, replications=reps, wall_time_s=round(wall, 3))

    def fill(tmp: Path) -> None:
        table.to_csv(tmp / "sweep.csv", index=False)
        summ.to_csv(tmp / "sweep_summary.csv", index=False)
        (tmp / "scenarios").mkdir()
        for _, scn in points:
            (tmp / "scenarios" / f"{safe_name(scn.name)}.yaml").write_text(scn.to_yaml(), encoding="utf-8")
        (tmp / "meta.json").write_text(json.dumps(meta, indent=2, default=str), encoding="utf-8")
        if not args.no_figures:
            sweep_figures(summ, meta, tmp)

    out = write_atomic(out, fill)
    remove_partial(partial)
    report_after(args, out)
    best = summ[summ["kpi"] == "answer_rate_caller"].sort_values("mean").iloc[-1]
    setting = ", ".join(f"{k}={best[k]}" for k in params if pd_notna(best[k]))
    print(f"{sweep.name}: {len(points)} points x {reps} reps ({wall:.1f} s); highest answer rate per "
          f"caller {best['mean']:.1%} at {setting} -> {out}")
    return 0


def pd_notna(x) -> bool:
    return x == x and x is not None  # NaN-safe for settings absent from some points
