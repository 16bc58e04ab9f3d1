"""What the proposed event-loop changes would gain: ``sim.model`` against a bench copy.

    python bench/prototype.py            # Erlang A (100,000 callers) and the baseline year
    python bench/prototype.py --quick    # Erlang A with 20,000 callers; fewer repeats

``bench/proto/fast_model.py`` is a copy of ``sim/model.py`` with four changes (its
docstring lists them; ``sim/`` is not touched). For each workload the script times,
round-robin in one process, the current model and the copy with the changes switched
on one after the other, and checks that every variant writes exactly the same event
log (every record of every channel) as the current model. On the Erlang A
workload the hand-rolled bare SimPy model of ``bench/erlang_a.py`` runs alongside, so
the ratio to bare SimPy can be read before and after.

It also checks change 4 (no reference cycles left after a run: the number of objects
that only the cyclic garbage collector can free) and times the month labels of
``sim.metrics.kpis`` (``strftime`` on every row) against a ``searchsorted`` on the
month boundaries, with the labels compared.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import time

import numpy as np
import pandas as pd
from _common import BENCH, ROOT, header, interleaved_best
from erlang_a import bare_counter, draw, system
from proto import fast_model

from sim.config import load_scenario
from sim.model import Helpline
from sim.streams import Streams


def variants_for(scn, seed: int) -> dict:
    def proto(**kw):
        return lambda: fast_model.Helpline(scn, Streams(seed, 0), **kw).run()

    off = {"cursors": False, "renege_single_event": False, "close_cycles": False}
    return {
        "current sim.model": lambda: Helpline(scn, Streams(seed, 0)).run(),
        "1 lists (HotCallers)": proto(**off),
        "1+2 + cursors": proto(**{**off, "cursors": True}),
        "1+2+3 + single-event renege": proto(**{**off, "cursors": True,
                                                "renege_single_event": True}),
        "1+2+3+4 + close cycles": proto(),
    }


def compare(title: str, scn, seed: int, repeat: int, bare=None) -> None:
    print(f"-- {title}")
    variants = variants_for(scn, seed)
    if bare is not None:
        variants["bare SimPy (hand-rolled counter)"] = bare
    best, cpu, last = interleaved_best(variants, repeat, verbose=False)
    ref = last["current sim.model"]
    cur = "current sim.model"
    for k in variants:
        # EventLog is a dataclass: == compares every record of every channel.
        same = "-" if k.startswith("bare") else last[k] == ref
        line = (f"   {k:<34s} {best[k]:6.3f} s  speed-up {best[cur] / best[k]:4.2f}x wall "
                f"{cpu[cur] / cpu[k]:4.2f}x cpu  same event log: {same}")
        if bare is not None and not k.startswith("bare"):
            bk = "bare SimPy (hand-rolled counter)"
            line += f"  / bare {best[bk] / best[k]:4.2f}x"
        print(line)
        if same is False:
            raise SystemExit(f"{k}: event log differs from sim.model")


def cycles(scn, seed: int) -> None:
    """Objects left in reference cycles by one run (freed only by gc.collect())."""
    print("-- objects only the cyclic GC can free after one run (baseline year)")
    for name, make in (("current sim.model", lambda: Helpline(scn, Streams(seed, 0))),
                       ("prototype, close_cycles", lambda: fast_model.Helpline(
                           scn, Streams(seed, 0)))):
        gc.collect()
        gc.disable()
        try:
            model = make()
            model.run()
            del model
            n = gc.collect()
        finally:
            gc.enable()
        print(f"   {name:<26s} {n:>8,d} objects")


def month_labels(scn, seed: int, repeat: int) -> None:
    """``strftime("%Y-%m")`` per row (sim.metrics.kpis) against searchsorted on month starts."""
    model = Helpline(scn, Streams(seed, 0))
    log = model.run()
    at = log.attempts_table()["at"]
    start = scn.horizon.start

    def current():
        return (pd.to_datetime(start) + pd.to_timedelta(at, unit="s")).dt.strftime("%Y-%m")

    def proposed():
        first = pd.Timestamp(start).to_period("M").to_timestamp()
        months = pd.date_range(first, periods=scn.horizon.days // 28 + 4, freq="MS")
        edges = ((months - pd.Timestamp(start)) / pd.Timedelta(seconds=1)).to_numpy()
        labels = np.asarray(months.strftime("%Y-%m"))
        return labels[np.searchsorted(edges, at.to_numpy(), side="right") - 1]

    best, _, last = interleaved_best({"strftime": current, "searchsorted": proposed},
                                     repeat, verbose=False)
    same = bool((last["strftime"].to_numpy() == last["searchsorted"]).all())
    print(f"-- month labels of {len(at):,d} attempts (Erlang A workload): strftime "
          f"{best['strftime'] * 1e3:.0f} ms, searchsorted {best['searchsorted'] * 1e3:.1f} ms "
          f"({best['strftime'] / best['searchsorted']:.0f}x), labels identical: {same}; "
          f"kpis() does this 3 times")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="20,000 Erlang A callers, best of 3")
    ap.add_argument("--repeat", type=int, help="timed runs of each variant (best kept)")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args(argv)
    repeat = a.repeat or (3 if a.quick else 5)
    overrides = {}
    if a.quick:
        overrides["horizon.end"] = str(dt.date(2021, 1, 1) + dt.timedelta(72))
    header("prototype of the event-loop changes (bench/proto/fast_model.py)")
    t0 = time.perf_counter()
    ea = load_scenario(BENCH / "scenarios" / "erlang_a.yaml", overrides)
    s = system(ea)
    compare(f"Erlang A workload ({ea.horizon.days} days), best of {repeat}", ea, a.seed, repeat,
            bare=lambda: bare_counter(*draw(s, a.seed), s["c"], s["K"]))
    base = load_scenario(ROOT / "scenarios" / "baseline_2020.yaml")
    compare(f"baseline year 2020, best of {repeat + 2}", base, a.seed, repeat + 2)
    cycles(base, a.seed)
    month_labels(ea, a.seed, repeat)
    print(f"   ({time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
