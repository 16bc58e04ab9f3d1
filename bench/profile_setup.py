"""Where a search replication's CPU goes: set-up versus event loop (issue 16).

    python bench/profile_setup.py                      # both fitted scenarios, 2 replications
    python bench/profile_setup.py --reps 3 --scenario scenarios/fitted_2020.yaml

One phone-only, overall-only replication as ``optimise`` and ``sensitivity`` run it
(:func:`sim.planning.optimise._replication`: ``channels=("phone",)``,
``overall_only=True``) of a schedule one increment beyond the scenario, under cProfile.
The scenario itself runs first on the same replications, as in a search batch (so
a per-process memo of shared set-up, :mod:`sim.model.memo`, holds its pieces). The CPU is split into the pieces of a replication by the cumulative time of the
function that makes each (a piece nested in another is subtracted from it): scenario
loading (once per command) and the ``with_schedule`` copy (once per candidate), the
calendars and staffing step functions, arrival sampling, caller draws, the chat and
e-mail channels built but not run, the event loop, the KPI tables, and the pickling of a
task to a pool worker and of its result back. cProfile inflates small Python functions
(the event loop most), so read the shares as an upper bound for the loop.
"""

from __future__ import annotations

import argparse
import cProfile
import pickle
import pstats
import time
from pathlib import Path

from _common import header

from sim.config import load_scenario
from sim.model.helpline import Helpline
from sim.model.memo import MEMO
from sim.model.streams import Streams
from sim.planning.optimise import _replication, candidate_increments, with_schedule

SCENARIOS = ["scenarios/fitted_2020.yaml", "scenarios/fitted/per_caller/fitted_2020.yaml"]

# (label, function name, file suffix): cumulative time of these; nested ones subtracted.
PIECES = [
    ("calendars & staffing step functions", "build_calendar", "sim/model/helpline.py"),
    ("caller draws (phone)", "draw_phone_callers", "sim/model/callers.py"),
    ("chat channel built, not run", "__init__", "sim/model/chats.py"),
    ("e-mail channel built, not run", "__init__", "sim/model/emails.py"),
    ("Helpline.__init__ (all set-up)", "__init__", "sim/model/helpline.py"),
    ("event loop (Helpline.run)", "run", "sim/model/helpline.py"),
    ("replication total", "run_replication", "sim/experiments/replications.py"),
]


def cum(stats: dict, func: str, suffix: str) -> float:
    return sum(v[3] for (f, _, fn), v in stats.items()
               if fn == func and f.replace("\\", "/").endswith(suffix))


def channel_arrivals_in_callers(stats: dict) -> float:
    # channel_arrivals is called by draw_phone_callers (phone) and by the chat and e-mail
    # draws: take the phone's share from its callers' record.
    for (_f, _, fn), v in stats.items():
        if fn == "channel_arrivals":
            callers = v[4]
            return sum(c[3] for (cf, _, cfn), c in callers.items() if cfn == "draw_phone_callers")
    return 0.0


def plain_times(base, scn, reps: int) -> dict[str, float]:
    """Process seconds of the pieces without the profiler, best over ``reps`` replications."""
    best: dict[str, float] = {}

    def timed(name, fn):
        t0 = time.process_time()
        out = fn()
        best[name] = min(best.get(name, float("inf")), time.process_time() - t0)
        return out

    for r in range(reps):
        _replication((base, 1, r, ("phone",), True))  # (as above: set-up shared, if memoised)
        with MEMO.on():  # as _replication runs them, so the residual below compares like with like
            model = timed("Helpline.__init__", lambda r=r: Helpline(scn, Streams(1, r), channels=("phone",)))
            timed("event loop", model.run)
        timed("replication", lambda r=r: _replication((scn, 1, r, ("phone",), True)))
    best["KPIs/tables (replication - init - loop)"] = (
        best["replication"] - best["Helpline.__init__"] - best["event loop"])
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", nargs="+", default=SCENARIOS)
    ap.add_argument("--reps", type=int, default=2, help="replications profiled (default 2)")
    a = ap.parse_args()
    header("bench/profile_setup.py: set-up versus event loop of a search replication")
    import sim

    root = Path(sim.__file__).resolve().parent.parent  # scenarios of the tree measured
    print(f"   sim imported from {root} (PYTHONPATH picks the tree)")
    for path in a.scenario:
        t0 = time.process_time()
        scn = load_scenario(root / path)
        t_load = time.process_time() - t0
        inc = candidate_increments(scn)[0]
        t0 = time.process_time()
        cand = with_schedule(scn, {inc: 1})
        t_copy = time.process_time() - t0
        tasks = [(cand, 1, r, ("phone",), True) for r in range(a.reps)]
        _replication((cand, 1, 99, ("phone",), True))  # warm-up: imports, first-call caches
        # As in a search batch: the scenario itself runs before the candidate, on the
        # same replications (with sim.model.memo, the candidate then shares its set-up).
        for t in tasks:
            _replication((scn, *t[1:]))
        prof = cProfile.Profile()
        c0 = time.process_time()
        prof.enable()
        outs = [_replication(t) for t in tasks]
        prof.disable()
        cpu = (time.process_time() - c0) / a.reps
        st = pstats.Stats(prof).stats
        t0 = time.process_time()
        for t, o in zip(tasks, outs, strict=True):
            pickle.loads(pickle.dumps(t, protocol=pickle.HIGHEST_PROTOCOL))
            pickle.loads(pickle.dumps(o, protocol=pickle.HIGHEST_PROTOCOL))
        t_pickle = (time.process_time() - t0) / a.reps
        plain = plain_times(scn, cand, a.reps)
        v = {label: cum(st, fn, suf) / a.reps for label, fn, suf in PIECES}
        arr = channel_arrivals_in_callers(st) / a.reps
        total = v["replication total"]
        init = v["Helpline.__init__ (all set-up)"]
        rows = [
            ("calendars & staffing step functions", v["calendars & staffing step functions"]),
            ("arrival sampling (phone)", arr),
            ("caller draws (phone, without arrivals)", v["caller draws (phone)"] - arr),
            ("chat channel built (visitors drawn), not run", v["chat channel built, not run"]),
            ("e-mail channel built (e-mails drawn), not run", v["e-mail channel built, not run"]),
            ("rest of Helpline.__init__", init - v["calendars & staffing step functions"]
             - v["caller draws (phone)"] - v["chat channel built, not run"]
             - v["e-mail channel built, not run"]),
            ("event loop (Helpline.run)", v["event loop (Helpline.run)"]),
            ("KPIs / tables (rest of run_replication)", total - init - v["event loop (Helpline.run)"]),
        ]
        print(f"-- {path}: one phone-only overall-only replication, {a.reps} profiled; "
              f"{cpu:.2f} s CPU each without the profiler overhead removed")
        print(f"   {'piece':<48s} {'s (cProfile)':>12s} {'share':>6s}")
        for label, s in rows:
            print(f"   {label:<48s} {s:12.3f} {100 * s / total:5.1f}%")
        print(f"   {'replication total (cProfile)':<48s} {total:12.3f} 100.0%")
        print("   without the profiler (process time per replication, best of the replications): "
              + ", ".join(f"{k} {x:.3f} s" for k, x in plain.items()))
        print(f"   once per command: load_scenario {t_load:.3f} s; per candidate: with_schedule "
              f"{t_copy:.3f} s; per replication: pickle task + result both ways {t_pickle:.4f} s "
              "(no profiler)")


if __name__ == "__main__":
    main()
