"""``run_sim.py backtest SCENARIO``: run a fitted scenario in years it was not fitted to
(2017-2019, the February 2019 window, 2024) and compare with the published counts.
The method is in :mod:`sim.planning.backtest`."""

from __future__ import annotations

from pathlib import Path

from sim.cli.common import add_output_arguments, base_meta
from sim.experiments.executors import default_jobs


def add_arguments(p) -> None:
    p.add_argument("scenario", type=Path, help="the fitted scenario (e.g. scenarios/fitted_2020.yaml)")
    p.add_argument("--reps", type=int, default=10, help="replications per year (default 10)")
    p.add_argument("--seed", type=int, help="seed (default: the scenario's)")
    p.add_argument("--carry", choices=["trend", "level"], default="trend",
                   help="demand in other years: carried by the scenario's trend (default) or held "
                        "at its level")
    p.add_argument("--capacity-2024", type=Path, default=Path("scenarios/subsidy/demand_2024_with_subsidy.yaml"),
                   help="scenario whose staffing, routing and chat hours are used for 2024 (its "
                        "demand is NOT used)")
    p.add_argument("--out", type=Path, default=Path("results/backtest"), help="results folder")
    p.add_argument("--jobs", type=int, default=default_jobs(), help="parallel processes")
    p.add_argument("--resume", action="store_true",
                   help="reuse the replications an interrupted backtest with the same --out "
                        "finished (each saved as it finishes)")
    add_output_arguments(p)


def main(args) -> int:
    import json
    import sys
    import time

    from sim.cli.common import check_flags
    from sim.config import load_scenario
    from sim.experiments.saved import resumable
    from sim.planning.backtest import backtest, table_text
    from sim.results.folders import fresh_out, safe_name, write_atomic

    check_flags(args)
    scn = load_scenario(args.scenario)
    load_scenario(args.capacity_2024)  # a bad capacity file is refused before simulating
    seed = scn.experiment.seed if args.seed is None else args.seed
    fresh_out(args.out, announce=False)
    t0 = time.perf_counter()
    log = None if args.quiet else (lambda m: print(m, file=sys.stderr))
    with resumable(args.out, args.resume, quiet=args.quiet) as saved:
        table, scns = backtest(args.scenario, args.reps, seed, args.jobs, args.capacity_2024,
                               args.carry, log, saved)
        wall = time.perf_counter() - t0
        meta = base_meta("backtest", scenario=str(args.scenario), carry=args.carry,
                         capacity_2024=str(args.capacity_2024), seed=seed, replications=args.reps,
                         wall_time_s=round(wall, 3))
        text = table_text(table)

        def fill(tmp: Path) -> None:
            table.to_csv(tmp / "backtest.csv", index=False)
            (tmp / "backtest.txt").write_text(text + "\n", encoding="utf-8")
            for year, s in scns.items():
                (tmp / f"scenario_{safe_name(str(year))}.yaml").write_text(s.to_yaml(), encoding="utf-8")
            (tmp / "meta.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")

        out = write_atomic(args.out, fill)
    if not args.quiet:
        print(f"\nbacktest of {scn.name}: {args.reps} replications a year, seed {seed}, demand carried "
              f"by {'the fitted trend' if args.carry == 'trend' else 'the fitted level'}, no 2020 events; "
              "published vs simulated registered contacts (95% CI over replications)\n")
        print(text + "\n")
    worst = table.loc[table["error_pct"].abs().idxmax()]
    print(f"backtest of {scn.name} ({args.reps} reps, {wall:.1f} s): largest error {worst['target']} "
          f"{worst['error_pct']:+.0f}% -> {out}")
    return 0
