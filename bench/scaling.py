"""How the model's cost per call attempt grows with phone demand (issue 16).

    python bench/scaling.py                    # fitted 2020 scenario, demand x1 and x8
    python bench/scaling.py --quick            # September-December only
    python bench/scaling.py --factors 1 2 4 8 --repeat 3

Workload: one replication of ``Helpline(scn, Streams(seed, 0)).run()`` (drawing the
callers, the phone model with its answering machine and callbacks, chat and e-mail in
the same event loop; no event tables, no KPIs) of ``scenarios/fitted_2020.yaml`` with
``demand.phone.annual`` multiplied by each factor, the lines as they are. The figure is
CPU seconds (``time.process_time``) per 1,000 phone attempts, best of ``--repeat``
round-robin runs, and its ratio to the first factor's. A model whose cost per event is
O(1) gives a ratio near 1 (chat and e-mail, which do not grow with phone demand, even
push it below 1); a scan over every waiting message at each decision makes it grow
with the demand, because the queues of messages grow with it.
"""

from __future__ import annotations

import argparse

from _common import ROOT, header, interleaved_best

from sim.config import load_scenario
from sim.model.helpline import Helpline
from sim.model.streams import Streams

FITTED = ROOT / "scenarios" / "fitted_2020.yaml"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--factors", type=float, nargs="+", default=[1.0, 8.0],
                    help="multipliers of the scenario's annual phone demand (default 1 8)")
    ap.add_argument("--repeat", type=int, default=2, help="round-robin runs of each (default 2)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--quick", action="store_true", help="horizon September-December 2020")
    args = ap.parse_args()

    header("bench/scaling.py: CPU per 1,000 phone attempts against phone demand")
    base = load_scenario(FITTED)
    overrides = {"horizon.start": "2020-09-01", "horizon.end": "2020-12-31"} if args.quick else {}
    annual = base.demand.phone.annual
    scns = {f"demand x{f:g}": load_scenario(FITTED, {**overrides, "demand.phone.annual": annual * f})
            for f in args.factors}
    attempts: dict[str, int] = {}

    def job(name):
        def fn():
            log = Helpline(scns[name], Streams(args.seed, 0)).run()
            attempts[name] = len(log.attempts)
            return None
        return fn

    _, cpu, _ = interleaved_best({name: job(name) for name in scns}, args.repeat)
    first = next(iter(scns))
    per_k = {name: cpu[name] / attempts[name] * 1000 for name in scns}
    print(f"   {'variant':<14s} {'attempts':>10s} {'CPU s':>8s} {'CPU s / 1,000 attempts':>24s} "
          f"{'ratio':>7s}")
    for name in scns:
        print(f"   {name:<14s} {attempts[name]:>10,d} {cpu[name]:>8.2f} {per_k[name]:>24.4f} "
              f"{per_k[name] / per_k[first]:>7.2f}")


if __name__ == "__main__":
    main()
