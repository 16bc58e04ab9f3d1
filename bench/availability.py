"""Cost of the counsellors' absences (``phone.availability``) per replication (issue 16).

    python bench/availability.py                     # fitted_2020, against commit 6658ba3
    python bench/availability.py --before REV --repeat 5 --scenario scenarios/subsidy/all_measures.yaml

Compares ``sim/model/availability.py`` as it is with the same file at git revision
``--before`` (default 6658ba3: one SimPy process per line slot, around the clock), both
in this process: the old file is loaded as a module of its own and swapped in for
``sim.model.helpline.Counsellors``. Workload: ``run_replication(scn, seed, 0)`` (the
model with its KPIs, as ``run`` does it), best CPU time (``time.process_time``) of
``--repeat`` round-robin runs. Also printed: SimPy events scheduled per replication
(counted in one untimed run of each), and whether the KPI tables are equal to the bit
(they must be: the change skips only events that change nothing).
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import tempfile
from pathlib import Path

from _common import ROOT, header, interleaved_best

import sim.model.helpline as helpline
from sim.config import load_scenario
from sim.experiments.replications import run_replication


def module_at(rev: str):
    """``sim/model/availability.py`` at git revision ``rev``, imported as a new module."""
    src = subprocess.run(["git", "show", f"{rev}:sim/model/availability.py"], cwd=ROOT,
                         capture_output=True, text=True, check=True).stdout
    path = Path(tempfile.mkdtemp()) / "availability_before.py"
    path.write_text(src)
    spec = importlib.util.spec_from_file_location("availability_before", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


def count_events(run) -> int:
    """SimPy events scheduled during ``run()``."""
    import simpy.core

    original, n = simpy.core.Environment.schedule, [0]

    def schedule(self, *a, **k):
        n[0] += 1
        return original(self, *a, **k)

    simpy.core.Environment.schedule = schedule
    try:
        run()
    finally:
        simpy.core.Environment.schedule = original
    return n[0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", default="6658ba3", help="git revision of the old mechanism")
    ap.add_argument("--scenario", default=str(ROOT / "scenarios" / "fitted_2020.yaml"))
    ap.add_argument("--repeat", type=int, default=3, help="round-robin runs of each (default 3)")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()

    header(f"bench/availability.py: one replication, availability before ({args.before}) and now")
    scn = load_scenario(args.scenario)
    if not scn.phone.availability.enabled:
        sys.exit(f"{args.scenario}: phone.availability is off; nothing to compare")
    versions = {"before": module_at(args.before).Counsellors, "now": helpline.Counsellors}

    def job(name):
        def fn():
            helpline.Counsellors = versions[name]
            try:
                return run_replication(scn, args.seed, 0).kpis
            finally:
                helpline.Counsellors = versions["now"]
        return fn

    jobs = {name: job(name) for name in versions}
    events = {name: count_events(fn) for name, fn in jobs.items()}
    _, cpu, last = interleaved_best(jobs, args.repeat)
    same = last["before"].equals(last["now"])
    print(f"   {'version':<8s} {'CPU s':>8s} {'SimPy events':>13s}")
    for name in versions:
        print(f"   {name:<8s} {cpu[name]:8.3f} {events[name]:13,d}")
    print(f"   now / before: CPU {cpu['now'] / cpu['before']:.3f}, events "
          f"{events['now'] / events['before']:.3f}; KPI tables equal to the bit: {same}")
    if not same:
        sys.exit(1)


if __name__ == "__main__":
    main()
