"""The planner's loop (issue 16): what a run, an optimisation and a sensitivity analysis cost.

    python bench/planner.py                   # the three commands below, 2 processes
    python bench/planner.py --only run        # one of run, optimise, sensitivity
    python bench/planner.py --jobs 1

Workloads, each a fresh ``python run_sim.py ...`` child process (imports included):

* ``run``: the README main run with 4 replications,
  ``run_sim.py scenarios/fitted_2020.yaml --reps 4 --seed 1 --quiet --no-figures``;
* ``optimise``: ``run_sim.py optimise scenarios/fitted_2020.yaml --target
  "answer_rate_per_caller>=0.8" --set horizon.start=2020-09-01 --set
  horizon.end=2020-12-31 --quick`` (1 search and 3 confirmation replications);
* ``sensitivity``: ``run_sim.py sensitivity scenarios/fitted_2020.yaml --quick`` with the
  same September-December horizon (2 replications of 13 settings x 7 scenarios);
* ``sensitivity_morris``: the same with ``--screen morris`` (a Morris screening of 2
  trajectories x 7 points on the scenario alone, then the tornado and ranking of the 3
  kept parameters: 7 settings x 7 scenarios). Not in the default set (``--only``).

Each is timed as CPU seconds of the child and of every process it waited for (its
worker processes: ``resource.getrusage(RUSAGE_CHILDREN)``) and as wall seconds. Both
are also given in **units**: the CPU (wall) seconds of one bare-SimPy Erlang A run of
about 100,000 callers (``bench/erlang_a.py``'s ``bare_resource``: ``simpy.Resource`` and
``request | timeout``, on ``bench/scenarios/erlang_a.yaml``), best of ``--unit-repeat``
runs in this process, half before and half after the workloads. Units travel between
machines (and between loads) far better than seconds; CPU units better than wall
units, which still count the time spent waiting for a core on a busy machine.
"""

from __future__ import annotations

import argparse
import gc
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import ROOT, header
from erlang_a import SCENARIO, bare_resource, draw, system

from sim.config import load_scenario

SEP_DEC = ["--set", "horizon.start=2020-09-01", "--set", "horizon.end=2020-12-31"]
FITTED = "scenarios/fitted_2020.yaml"


def workloads(jobs: int, scenario: str = FITTED) -> dict[str, list[str]]:
    j = ["--jobs", str(jobs)]
    FITTED = scenario  # noqa: N806 (the workloads read as in the module docstring)
    return {
        "run": [FITTED, "--reps", "4", "--seed", "1", "--quiet", "--no-figures", *j],
        "optimise": ["optimise", FITTED, "--target", "answer_rate_per_caller>=0.8", *SEP_DEC,
                     "--quick", "--quiet", *j],
        "sensitivity": ["sensitivity", FITTED, "--quick", *SEP_DEC, "--quiet", *j],
        "sensitivity_morris": ["sensitivity", FITTED, "--quick", "--screen", "morris", *SEP_DEC,
                               "--quiet", *j],
    }


def children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def time_command(args: list[str], out: Path) -> tuple[float, float, str]:
    """CPU seconds (the child and its waited-for children), wall seconds, last line."""
    c0, t0 = children_cpu(), time.perf_counter()
    done = subprocess.run([sys.executable, "run_sim.py", *args, "--out", str(out)], cwd=ROOT,
                          capture_output=True, text=True, check=False)
    wall, cpu = time.perf_counter() - t0, children_cpu() - c0
    if done.returncode not in (0, 1):  # optimise exits 1 when the target is missed
        raise SystemExit(f"run_sim.py {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    lines = done.stdout.strip().splitlines()
    return cpu, wall, lines[-1] if lines else ""


def unit_runs(s: dict, n: int, best: dict[str, float]) -> None:
    """``n`` bare-SimPy Erlang A runs; keep the best CPU and wall seconds in ``best``."""
    for _ in range(n):
        data = draw(s, 1)
        gc.collect()
        t0, c0 = time.perf_counter(), time.process_time()
        status = bare_resource(*data, s["c"], s["K"])
        best["wall"] = min(best["wall"], time.perf_counter() - t0)
        best["cpu"] = min(best["cpu"], time.process_time() - c0)
        best["callers"] = len(status)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", nargs="+",
                    choices=["run", "optimise", "sensitivity", "sensitivity_morris"],
                    help="workloads to time (default: run, optimise, sensitivity)")
    ap.add_argument("--jobs", type=int, default=2, help="--jobs of every command (default 2)")
    ap.add_argument("--keep", type=Path, metavar="DIR",
                    help="write the results folders to DIR/<workload> (a new folder) and keep them")
    ap.add_argument("--scenario", default=FITTED,
                    help=f"the fitted scenario of every workload (default {FITTED}; the figures of "
                         "the second session were measured on scenarios/fitted/per_caller/fitted_2020.yaml, "
                         "the default before availability_half was promoted)")
    ap.add_argument("--unit-repeat", type=int, default=4,
                    help="bare-SimPy unit runs, half before and half after (default 4)")
    args = ap.parse_args()

    header("bench/planner.py: the planner's loop in CPU seconds and bare-SimPy units")
    s = system(load_scenario(SCENARIO))
    unit = {"cpu": float("inf"), "wall": float("inf"), "callers": 0}
    unit_runs(s, (args.unit_repeat + 1) // 2, unit)
    chosen = {k: v for k, v in workloads(args.jobs, args.scenario).items()
              if (k in args.only if args.only else k != "sensitivity_morris")}
    if args.keep is not None:
        args.keep.mkdir(parents=True, exist_ok=False)
    tmp = args.keep or Path(tempfile.mkdtemp(prefix="bench_planner_"))
    rows = {}
    try:
        for name, cmd in chosen.items():
            cpu, wall, last = time_command(cmd, tmp / name)
            rows[name] = (cpu, wall)
            print(f"   {name:<18s} {cpu:8.1f} s CPU {wall:8.1f} s wall   {last}", flush=True)
    finally:
        if args.keep is None:
            shutil.rmtree(tmp)  # our own temporary folder
    unit_runs(s, args.unit_repeat // 2, unit)
    print(f"-- unit: bare SimPy Erlang A, {unit['callers']:,d} callers: best "
          f"{unit['cpu']:.2f} s CPU, {unit['wall']:.2f} s wall")
    print(f"   {'workload':<18s} {'CPU s':>8s} {'wall s':>8s} {'CPU units':>10s} {'wall units':>10s}")
    for name, (cpu, wall) in rows.items():
        print(f"   {name:<18s} {cpu:8.1f} {wall:8.1f} {cpu / unit['cpu']:10.1f} "
              f"{wall / unit['wall']:10.1f}")


if __name__ == "__main__":
    main()
