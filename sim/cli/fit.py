"""``run_sim.py fit``: fit 2020 demand to the published counts and calibrate behaviour.

Procedure (docs/fit.md):

1. **Behaviour** (:mod:`sim.planning.calibrate`): handling scale, redial persistence and the
   Sep-Dec phone demand level so that Sep-Dec 2020 gives the published answered calls,
   the target answer rate (``--reading``) and 3-4 attempts per caller.
2. **Demand** (:mod:`sim.planning.fit`): fixed point of simulating 2020 (all channels, fixed
   seed) and maximum likelihood of the demand parameters against the published monthly
   answered contacts and the February campaign window.
3. If the Sep-Dec answer rate or attempts of the fitted demand moved out of tolerance,
   1-2 once more from the fitted demand.
4. The other reading is calibrated too (reported, not written to the scenario);
   parametric bootstrap of the demand parameters; profiles of fixed assumptions; a
   check run with more replications; counterfactuals (no lockdown, no campaigns);
   hour-profile and redial-delay sensitivity.

Writes ``fitted_2020.yaml`` and the counterfactual scenarios to ``--scenario-out``
and a self-describing report folder to ``--out`` (written atomically).
"""


from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from sim.cli.common import add_output_arguments, base_meta
from sim.config import PROJECT_ROOT
from sim.experiments.replications import default_jobs
from sim.planning import fit as F
from sim.planning.fit_report import write_report
from sim.planning.fit_run import DEFAULT_BASE, Settings, fit_all, write_scenarios


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--reading", default="caller",
                   help="what the published 40-45%% answered (Sep-Dec 2020) counts: callers "
                        "(default) or attempt(s); the other is reported too. Or a reading of "
                        "the evidence (a name in scenarios/readings/ or a file): the fit under "
                        "that reading, written to scenarios/fitted/NAME/ (docs/readings.md)")
    p.add_argument("--reps", type=int, default=8,
                   help="replications per simulation of 2020 in the demand fit (default 8)")
    p.add_argument("--cal-reps", type=int, default=6,
                   help="replications per simulation of Sep-Dec in the calibration (default 6)")
    p.add_argument("--check-reps", type=int, default=20,
                   help="replications of the final check and counterfactual runs (default 20)")
    p.add_argument("--iterations", type=int, default=6,
                   help="maximum simulate-and-fit iterations of the demand fit (default 6)")
    p.add_argument("--boot", type=int, default=200, help="bootstrap samples (default 200)")
    p.add_argument("--seed", type=int, default=1, help="seed (common random numbers; default 1)")
    p.add_argument("--jobs", type=int, default=default_jobs(), help="parallel processes")
    p.add_argument("--family", choices=("negbin", "poisson"), default="negbin",
                   help="count distribution of the published counts (default negbin)")
    p.add_argument("--redial-delay", type=float, default=None, metavar="MIN",
                   help="mean redial delay held fixed in the calibration (default: the base "
                        "scenario's)")
    p.add_argument("--base", type=Path, default=DEFAULT_BASE,
                   help="base scenario (non-demand settings; default scenarios/baseline_2020.yaml)")
    p.add_argument("--out", type=Path, default=Path("results/fit"), help="report folder")
    p.add_argument("--scenario-out", type=Path, default=None,
                   help="folder for fitted_2020*.yaml (default scenarios/; with --quick, "
                        "OUT_scenarios beside --out, so a smoke test never replaces the committed fit)")
    p.add_argument("--no-sensitivity", action="store_true",
                   help="skip the hour-profile and redial-delay sensitivity runs")
    # Report-only work at lower precision (issue 16): the fitted scenario is unchanged,
    # the report's rows named here are less precise. Defaults: the full precision.
    p.add_argument("--report-reps", type=int, default=None, metavar="N",
                   help="replications of the report-only counterfactual runs (no lockdown, "
                        "no campaigns; default --check-reps)")
    p.add_argument("--other-cal-evals", type=int, default=None, metavar="N",
                   help="search steps of the other reading's calibration, reported only "
                        "(default 4 after a 6-point grid; 0: one simulation at the fitted "
                        "behaviour, no grid)")
    p.add_argument("--delay-cal-evals", type=int, default=None, metavar="N",
                   help="search steps of each redial-delay sensitivity calibration (default 3)")
    p.add_argument("--quick", action="store_true",
                   help="few replications and iterations (for tests; not a real fit)")
    add_output_arguments(p)


def main(args) -> int:
    from sim.planning.fit_cost import CostMeter
    from sim.planning.fit_reading import is_reading_name, reading_of, write_base

    t0 = time.perf_counter()
    meter = CostMeter()
    if args.scenario_out is None:
        quick_out = args.out.parent / f"{args.out.name}_scenarios"  # beside the report folder
        args.scenario_out = quick_out if args.quick else PROJECT_ROOT / "scenarios"
    try:  # the numbers checked before anything is written
        Settings.from_args(args)
    except ValueError as e:
        print(f"fit: {e}", file=sys.stderr)
        return 2
    if is_reading_name(args.reading):
        reading = reading_of(args.reading)
        folder = Path(args.scenario_out) / "fitted" / reading.name
        args.base = write_base(reading, args.base, folder)
        args.scenario_out, args.reading = folder, reading.fit_target
        if args.out == Path("results/fit"):
            args.out = Path("results/fit") / reading.name
    s = Settings.from_args(args)
    quiet = args.quiet

    def log(msg: str) -> None:
        if not quiet:
            print(msg, flush=True)

    # The interpreter's start, imports and the reading's base scenario, before the fit.
    meter.add("start (imports, settings)", time.process_time(), time.perf_counter() - t0)
    o = fit_all(s, log, meter)
    o.meta = base_meta(
        "fit", reading=s.reading, seed=s.seed, reps=s.reps, cal_reps=s.cal_reps,
        check_reps=s.check_reps, iterations=s.iterations, boot=s.boot, family=s.family,
        # the report's precision options (issue 16), so a reduced report says so
        report_reps=s.counterfactual_reps, other_cal_evals=s.other_cal_evals,
        delay_cal_evals=s.delay_cal_evals,
        quick=s.quick, jobs=s.jobs, base=str(s.base), simulations=o.simulations,
        converged=o.converged, command="python run_sim.py " + " ".join(sys.argv[1:]))
    o.wall_s = time.perf_counter() - t0
    o.meta["wall_time_s"] = round(o.wall_s, 1)
    o.meta["cpu_s_before_report"] = round(float(meter.table().iloc[-1]["cpu_s"]), 1)
    with meter.step("scenario files and report"):
        files = write_scenarios(o)
        o.meta["scenarios"] = [str(f) for f in files]
        write_report(o)
    log(meter.log_line("scenario files and report"))
    o.wall_s = time.perf_counter() - t0
    cost = meter.table().iloc[-1]
    log(f"cost of the fit: {cost['cpu_s']:.0f} s CPU ({cost['cpu_workers_s']:.0f} s in pool "
        f"workers), {cost['simulations']:.0f} simulations, {cost['replications']:.0f} "
        f"replications ({cost['replication_days']:,.0f} simulated days); cost.txt in the report")
    tot = o.totals.set_index("channel")
    st = o.sepdec.iloc[0]
    print("fit: answered 2020 simulated vs published: "
          + ", ".join(f"{c} {tot.loc[c, 'simulated']:,.0f}/{tot.loc[c, 'observed']:,.0f}"
                      for c in F.CHANNELS)
          + f"; Sep-Dec {st['answer_rate_caller']:.1%} of callers, {st['answer_rate_attempt']:.1%} "
          f"of attempts, {st['mean_attempts']:.2f} attempts/caller ({s.reading} reading); "
          f"{o.wall_s:.0f} s -> {s.out}, {files[0]}")
    return 0
