"""Replications of the 2020 baseline on 1 and 2 processes: speed-up and identical results.

    python bench/parallel.py            # 20 replications, best of 3 (about 1 min)
    python bench/parallel.py --quick    # 6 replications, best of 2

Times ``sim.experiments.replications.run(scn, R, seed, jobs=J, progress=False)`` for J = 1 and J = 2,
round-robin in this process (the pool is started inside the timed call, as a user's
run starts it), and checks that the per-replication KPIs of the parallel run are
identical, value for value, to the serial run's. The speed-up is the ratio of the
best wall times; on a 2-core machine shared with other work it is bounded by what the
other work leaves: the load average is printed before and after, and "cores busy"
(CPU time of this process and its workers over wall time) shows how much of the two
cores the run actually got. (The per-run "cpu" column counts this process only, so it
is near zero for jobs=2.)
"""

from __future__ import annotations

import argparse
import os
import time

from _common import ROOT, header, interleaved_best

from sim.config import load_scenario
from sim.experiments.replications import run

SCENARIO = ROOT / "scenarios" / "baseline_2020.yaml"


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="6 replications, best of 2")
    ap.add_argument("--reps", type=int, help="replications per run (default 20)")
    ap.add_argument("--repeat", type=int, help="timed runs of each variant (best kept)")
    ap.add_argument("--jobs", type=int, nargs="+", default=[1, 2], help="process counts")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args(argv)
    reps = a.reps or (6 if a.quick else 20)
    repeat = a.repeat or (2 if a.quick else 3)
    scn = load_scenario(SCENARIO)
    header(f"parallel replications: {SCENARIO.relative_to(ROOT)}, {reps} replications")

    def timed(j: int):
        """The run, and the cores it kept busy: (own + workers' CPU time) / wall time."""
        t0, w0 = os.times(), time.perf_counter()
        result = run(scn, reps, a.seed, jobs=j, progress=False)
        t1, wall = os.times(), time.perf_counter() - w0
        cpu = sum(t1[:4]) - sum(t0[:4])  # user + system, this process and its children
        return result, cpu / wall

    variants = {f"jobs={j}": (lambda j=j: timed(j)) for j in a.jobs}
    best, _, last = interleaved_best(variants, repeat)
    serial = f"jobs={a.jobs[0]}"
    ref = last[serial][0].kpis()
    print(f"-- wall time of {reps} replications (best of {repeat}; 'cores busy' of the last "
          f"run = CPU time of this process and its workers / wall time)")
    for k in variants:
        same = last[k][0].kpis().equals(ref)
        print(f"   {k:<8s} {best[k]:7.2f} s  {reps / best[k]:5.2f} reps/s  speed-up "
              f"{best[serial] / best[k]:4.2f}x  cores busy {last[k][1]:4.2f}  "
              f"KPIs identical to {serial}: {same}")
        if not same:
            raise SystemExit(f"{k}: results differ from the serial run")
    load = os.getloadavg()
    print(f"   load average after: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} "
          f"({os.cpu_count()} cpus)")


if __name__ == "__main__":
    main()
