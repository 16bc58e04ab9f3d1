"""The tail stop (issue 16): SimPy events and CPU of one replication, before and after.

    python bench/tail_stop.py --before /path/to/checkout/of/3577ff2   # two trees
    python bench/tail_stop.py                                         # this tree, switch off/on

Workloads: ``scenarios/fitted_2020.yaml`` for one week (1-7 January 2020), one month
(January) and the year. For each tree (or each setting of the private switch
``Helpline._stop_tail``) a fresh process runs ``run_replication`` (model + tables +
KPIs) once as a warm-up, then reports the CPU (process time) of one more run, and the
SimPy events of the model alone (``Environment.step`` wrapped: a count). Rounds
alternate the two variants; the best of the rounds is kept (``--rounds``, default 3).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

from _common import ROOT, header

HORIZONS = {"week": "2020-01-07", "month": "2020-01-31", "year": None}

CHILD = r"""
import json, sys, time
tree, stop, end = sys.argv[1], sys.argv[2] == "1", sys.argv[3]
sys.path.insert(0, tree)
import sim
assert sim.__file__.startswith(tree), (sim.__file__, tree)
from sim.config import load_scenario
from sim.experiments.replications import run_replication
from sim.model.helpline import Helpline
from sim.model.streams import Streams
over = {} if end == "None" else {"horizon.end": end}
scn = load_scenario(tree + "/scenarios/fitted_2020.yaml", over)
if hasattr(Helpline, "_stop_tail"):
    Helpline._stop_tail = stop
run_replication(scn, 1, 0)  # warm-up: imports, holidays, caches
t = time.process_time()
run_replication(scn, 1, 0)
cpu = time.process_time() - t
model = Helpline(scn, Streams(1, 0))
n = [0]
step = model.env.step
def counted():
    n[0] += 1
    step()
model.env.step = counted
model.run()
print(json.dumps({"cpu": cpu, "events": n[0], "stopped_at": getattr(model, "stopped_at", None)}))
"""


def child(tree: str, stop: bool, end: str | None) -> dict:
    env = dict(os.environ, PYTHONPATH=tree)
    out = subprocess.run([sys.executable, "-c", CHILD, tree, "1" if stop else "0", str(end)],
                         capture_output=True, text=True, check=True, env=env, cwd=tree)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--before", help="a checkout of the code before the stop (default: this tree, switch off)")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    header("the tail stop: one replication of fitted_2020")
    variants = {"before": (args.before or str(ROOT), args.before is not None), "after": (str(ROOT), True)}
    if args.before is None:
        variants["before"] = (str(ROOT), False)
    best: dict[tuple[str, str], dict] = {}
    for r in range(args.rounds):
        for name, end in HORIZONS.items():
            for v, (tree, stop) in variants.items():
                res = child(tree, stop, end)
                key = (name, v)
                if key not in best or res["cpu"] < best[key]["cpu"]:
                    best[key] = {**res, "cpus": best.get(key, {}).get("cpus", []) + [res["cpu"]]}
                else:
                    best[key]["cpus"].append(res["cpu"])
        print(f"   round {r + 1} done, load {os.getloadavg()[0]:.2f}", flush=True)
    print(f"   {'horizon':8s} {'events before':>14s} {'events after':>13s} {'CPU before':>11s} "
          f"{'CPU after':>10s} {'after/before':>13s}  (best of {args.rounds}; all runs)")
    for name in HORIZONS:
        b, a = best[(name, "before")], best[(name, "after")]
        print(f"   {name:8s} {b['events']:>14,d} {a['events']:>13,d} {b['cpu']:>10.3f}s {a['cpu']:>9.3f}s "
              f"{a['cpu'] / b['cpu']:>13.2f}  before {[round(x, 3) for x in b['cpus']]}, "
              f"after {[round(x, 3) for x in a['cpus']]}")


if __name__ == "__main__":
    main()
