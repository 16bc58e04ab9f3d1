"""``run_sim.py readings``: score every fitted reading of the evidence (in-sample error,
backtest error, plausibility of its parameters) and say which one the main run should
use, by the rule of :mod:`sim.planning.reading_scores` (docs/readings.md)."""

from __future__ import annotations

from pathlib import Path

from sim.cli.common import add_output_arguments
from sim.experiments.executors import default_jobs


def add_arguments(p) -> None:
    p.add_argument("--readings", metavar="DIR_OR_LIST", default=None,
                   help="readings to score (a folder of reading files or a comma-separated list of "
                        "names or files; default scenarios/readings)")
    p.add_argument("--fitted", type=Path, default=None, metavar="DIR",
                   help="where fit --reading NAME wrote the fits (DIR/NAME/fitted_2020.yaml; default "
                        "scenarios/fitted)")
    p.add_argument("--fit-reports", type=Path, default=Path("results/fit"), metavar="DIR",
                   help="fit report folders (DIR/NAME/monthly.csv, sep_dec.csv; default results/fit); "
                        "a reading without one is simulated for its in-sample scores")
    p.add_argument("--reps", type=int, default=10,
                   help="replications per backtested year (and per in-sample simulation; default 10)")
    p.add_argument("--seed", type=int, default=1, help="seed, the same for every reading (default 1)")
    p.add_argument("--carry", choices=["trend", "level"], default="trend",
                   help="backtest demand in other years: carried by the fitted trend (default) or held")
    p.add_argument("--capacity-2024", type=Path, default=None,
                   help="scenario whose staffing and routing the 2024 backtest uses (default the subsidy "
                        "scenario of backtest)")
    p.add_argument("--out", type=Path, default=Path("results/readings"), help="results folder")
    p.add_argument("--jobs", type=int, default=default_jobs(), help="parallel processes")
    add_output_arguments(p)


def main(args) -> int:
    import datetime as dt
    import json
    import sys
    import time

    from sim import __version__
    from sim.cli.common import check_flags, fail
    from sim.config import load_scenario
    from sim.experiments.readings import FITTED_DIR, READINGS_DIR, find_readings
    from sim.planning.reading_scores import (
        LEGEND,
        RULE,
        choose,
        find_fitted,
        in_sample_from_report,
        score_readings,
        scores_text,
    )
    from sim.results.folders import fresh_out, output_lock, write_atomic
    from sim.results.provenance import provenance

    check_flags(args)
    readings = find_readings(args.readings or str(READINGS_DIR))
    fitted_dir = args.fitted or FITTED_DIR
    fitted, missing = find_fitted(readings, fitted_dir, args.fit_reports)
    if not fitted:
        return fail(f"no reading has a fitted scenario in {fitted_dir} (expected NAME/fitted_2020.yaml, "
                    "written by: fit --reading NAME)", 2)
    for f in fitted:  # a bad fitted file or fit report is one line before any simulation
        load_scenario(f.scenario)
        if f.report is not None:
            in_sample_from_report(f.report, f.reading.fit_target)
    if args.capacity_2024 is not None:
        load_scenario(args.capacity_2024)
    fresh_out(args.out, announce=False)
    log = None if args.quiet else (lambda m: print(m, file=sys.stderr, flush=True))
    t0 = time.perf_counter()
    with output_lock(args.out):
        scores, backtests = score_readings(fitted, args.reps, args.seed, args.jobs, args.carry,
                                           args.capacity_2024, log)
        best, why = choose(scores)
        wall = time.perf_counter() - t0
        flagged = not bool(scores.set_index("reading").loc[best, "plausible"])
        verdict = (f"best reading: {best} ({why})" + (" -- its parameters are NOT plausible" if flagged else ""))
        skipped = (f"not scored (no {fitted_dir}/NAME/fitted_2020.yaml): {', '.join(missing)}"
                   if missing else "")
        text = "\n".join([scores_text(scores), "", LEGEND, "", RULE, verdict] + ([skipped] if skipped else []))
        meta = {"kind": "readings", "readings": {r.name: r.file for r in readings},
                "fitted_dir": str(fitted_dir), "fit_reports": str(args.fit_reports),
                "scored": [f.reading.name for f in fitted], "not_fitted": missing, "best": best,
                "why": why, "seed": args.seed, "replications": args.reps, "carry": args.carry,
                "capacity_2024": None if args.capacity_2024 is None else str(args.capacity_2024),
                "version": __version__, "wall_time_s": round(wall, 3), "command": " ".join(sys.argv),
                "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), **provenance()}

        def fill(tmp: Path) -> None:
            scores.to_csv(tmp / "scores.csv", index=False)
            backtests.to_csv(tmp / "backtests.csv", index=False)
            (tmp / "scores.txt").write_text(text + "\n", encoding="utf-8")
            (tmp / "meta.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")

        out = write_atomic(args.out, fill)
    if not args.quiet:
        print(f"\n{len(scores)} fitted readings, seed {args.seed}, {args.reps} replications per "
              f"backtested year\n")
        print(scores_text(scores) + "\n")
        print(RULE)
        if skipped:
            print(skipped)
    print(f"{verdict} -> {out}")
    return 0
