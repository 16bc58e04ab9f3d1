"""One replication of the 2020 baseline year: wall time and peak memory.

    python bench/baseline_year.py            # best of 5; memory of 1 vs 20 replications
    python bench/baseline_year.py --quick    # best of 3; memory of 1 vs 5 replications

Time (best of N, round-robin in this process, wall clock and CPU time):

* model alone: ``Helpline(scn, Streams(seed, 0)).run()`` (calendar, callers, event loop);
* model + KPIs: ``sim.experiments.replications.run_replication`` (+ event tables + KPI tables).

The baseline runs the phone, chat and e-mail channels in one event loop.

Memory, each figure from a fresh Python process that first imports the package and
runs a two-week warm-up (so lazy imports such as the holiday tables are not counted):

* peak RSS above the warm-up, untraced (Linux: VmHWM after a reset; see
  ``bench/_common.py`` for why not ``ru_maxrss`` in a child process);
* for single replications, peak and retained Python allocations (``tracemalloc``, in
  a separate process: tracing slows the run and costs memory of its own), retained both
  as the run leaves it and after ``gc.collect()`` (the difference is garbage held in
  reference cycles);
* the pickled size of what is kept (the event log, or the ``RunResult``);

for the model alone, model + KPIs, and ``sim.experiments.replications.run(scn, R, seed, jobs=1)`` with
R = 1 and R = 20 (flat memory is the goal: each replication keeps its KPI table and
drops its events), R = 20 with ``keep_events=20`` for contrast, and R = 20 as a loop
of ``run_replication`` with ``gc.collect()`` after each (a proposed change).
"""

from __future__ import annotations

import argparse
import time

from _common import CHILD_PROLOGUE, ROOT, header, interleaved_best, run_child

from sim.config import load_scenario
from sim.experiments.replications import run_replication
from sim.model.helpline import Helpline
from sim.model.streams import Streams

SCENARIO = ROOT / "scenarios" / "baseline_2020.yaml"

# The body of a memory child. {what} is one of the WORKLOADS below; the child prints
# one JSON line.
CHILD_BODY = """
import pickle
small = load_scenario({scenario!r}, {{"horizon.start": "2020-02-03", "horizon.end": "2020-02-16"}})
sim.experiments.replications.run_replication(small, 99, 0)          # warm-up: lazy imports, holiday tables
gc.collect()
rss_before = rss_now_mib()
how = reset_peak()
if {trace}:
    tracemalloc.start()
t0 = time.perf_counter()
kept = {what}
wall = time.perf_counter() - t0
out = {{"wall_s": wall, "rss_before_mib": rss_before, "rss_peak_mib": peak_mib(how),
        "peak_from": how, "kept_pickled_mib": len(pickle.dumps(kept)) / 2**20}}
if {trace}:
    cur, peak = tracemalloc.get_traced_memory()
    gc.collect()
    out.update(traced_peak_mib=peak / 2**20, traced_now_mib=cur / 2**20,
               traced_after_gc_mib=tracemalloc.get_traced_memory()[0] / 2**20)
print(json.dumps(out))
"""

# The same replications as ``run(..., jobs=1)`` with a full garbage collection after
# each: shows whether memory grows because of uncollected reference cycles.
LOOP_GC = ("[(sim.experiments.replications.run_replication(scn, {seed}, r), gc.collect())[0] "
           "for r in range({R})]")

WORKLOADS = {
    "model alone": "sim.model.helpline.Helpline(scn, Streams({seed}, 0)).run()",
    "model + KPIs": "sim.experiments.replications.run_replication(scn, {seed}, 0)",
    "run(), 1 rep": "sim.experiments.replications.run(scn, 1, {seed}, jobs=1, progress=False)",
    "run(), {R} reps": "sim.experiments.replications.run(scn, {R}, {seed}, jobs=1, progress=False)",
    "run(), {R} reps, keep_events={R}":
        "sim.experiments.replications.run(scn, {R}, {seed}, jobs=1, keep_events={R}, progress=False)",
    "{R} x run_replication + gc.collect()": LOOP_GC,
}


def memory(name: str, code: str, trace: bool) -> dict:
    body = CHILD_PROLOGUE.format(scenario=str(SCENARIO)) + CHILD_BODY.format(
        scenario=str(SCENARIO), what=code, trace=trace)
    return run_child(body)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="best of 3; 1 vs 5 replications")
    ap.add_argument("--repeat", type=int, help="timed runs of each variant (best kept)")
    ap.add_argument("--reps", type=int, help="replications for the memory test (default 20)")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args(argv)
    repeat = a.repeat or (3 if a.quick else 5)
    reps = a.reps or (5 if a.quick else 20)
    seed = a.seed
    scn = load_scenario(SCENARIO)
    header(f"baseline year: {SCENARIO.relative_to(ROOT)}, {scn.horizon.days} days")

    model = Helpline(scn, Streams(seed, 0))
    log = model.run()
    n_callers, n_attempts = len(model.callers), len(log.attempts)
    print(f"   seed {seed}, replication 0: {n_callers:,d} callers, {n_attempts:,d} attempts, "
          f"{len(log.messages):,d} messages, {len(log.callbacks):,d} callback tries, "
          f"{len(log.chats.records):,d} chats, {len(log.emails.received):,d} e-mails")

    variants = {
        "model alone": lambda: Helpline(scn, Streams(seed, 0)).run(),
        "model + KPIs (run_replication)": lambda: run_replication(scn, seed, 0),
    }
    print(f"-- timing: best of {repeat}, round-robin")
    best, cpu, _ = interleaved_best(variants, repeat)
    print(f"-- wall time of one replication (best of {repeat})")
    for k in variants:
        print(f"   {k:<32s} {best[k]:6.3f} s wall  {cpu[k]:6.3f} s cpu")
    m, mk = "model alone", "model + KPIs (run_replication)"
    print(f"   model alone: {n_callers / best[m]:,.0f} phone callers/s, {n_attempts / best[m]:,.0f} "
          f"attempts/s (wall; chats and e-mails run in the same event loop)")
    print(f"   (model + KPIs) / model alone: {best[mk] / best[m]:.2f}x wall, "
          f"{cpu[mk] / cpu[m]:.2f}x cpu (event tables + KPI tables: "
          f"{best[mk] - best[m]:.3f} s)")

    print(f"-- memory in MiB (fresh process per line, above an interpreter with sim imported "
          f"and a warm-up run; {reps} reps)")
    print(f"   {'':<36s} {'peak RSS':>9s} {'traced':>7s} {'traced':>9s} {'after':>7s} "
          f"{'kept':>9s}")
    print(f"   {'':<36s} {'increase':>9s} {'peak':>7s} {'at end':>9s} {'gc':>7s} "
          f"{'(pickled)':>9s}")
    t0 = time.perf_counter()
    rows = {}
    for label, code in WORKLOADS.items():
        label = label.format(R=reps)
        code = code.format(seed=seed, R=reps)
        untraced = memory(label, code, trace=False)
        # tracemalloc doubles a run's time: only the single replications are traced.
        trace = "reps" not in label and "gc.collect" not in label
        traced = memory(label, code, trace=True) if trace else {}
        rows[label] = (untraced, traced)
        peak = untraced["rss_peak_mib"] - untraced["rss_before_mib"]

        def col(key, traced=traced):
            return f"{traced[key]:7.1f}" if traced else "      -"

        print(f"   {label:<36s} {peak:9.1f} {col('traced_peak_mib')} {col('traced_now_mib'):>9s} "
              f"{col('traced_after_gc_mib')} {untraced['kept_pickled_mib']:9.2f}   "
              f"({untraced['wall_s']:.1f} s, peak from {untraced['peak_from']})", flush=True)
    one = rows["run(), 1 rep"]
    many = rows[f"run(), {reps} reps"]
    keep = rows[f"run(), {reps} reps, keep_events={reps}"]
    loop = rows[f"{reps} x run_replication + gc.collect()"]

    def rss(u):
        return u["rss_peak_mib"] - u["rss_before_mib"]

    print(f"   run(): peak RSS {reps} reps / 1 rep = {rss(many[0]) / rss(one[0]):.2f}x")
    print(f"   with gc.collect() after each replication: peak RSS {reps} reps / 1 rep = "
          f"{rss(loop[0]) / rss(one[0]):.2f}x")
    kept = (many[0]["kept_pickled_mib"] - one[0]["kept_pickled_mib"]) / (reps - 1)
    kept_ev = (keep[0]["kept_pickled_mib"] - one[0]["kept_pickled_mib"]) / (reps - 1)
    print(f"   kept per extra replication (pickled): {kept * 1024:.0f} KiB (KPI table); "
          f"with keep_events {kept_ev * 1024:.0f} KiB")
    print(f"   memory children took {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
