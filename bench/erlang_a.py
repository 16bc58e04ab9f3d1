"""Erlang A workload: the project's model against bare SimPy and Ciw, in one run.

    python bench/erlang_a.py            # ~100,000 callers, best of 5 (about 1.5 min)
    python bench/erlang_a.py --quick    # ~20,000 callers, best of 3 (about 15 s)

One line group of c lines, Poisson arrivals, exponential talk time and patience, a
waiting room so large that nobody is blocked (M/M/c+M), set in
``bench/scenarios/erlang_a.yaml``. The same system runs as

* the project's model alone: ``sim.model.helpline.Helpline(scn, streams).run()`` (drawing the
  callers and building the calendar included), and model + KPIs:
  ``sim.experiments.replications.run_replication`` (event tables and the full KPI table included);
* bare SimPy, in two styles: ``simpy.Resource`` with ``request | timeout`` (SimPy's
  own ``bank_renege`` example) and a hand-rolled counter of busy lines with a deque of
  waiting events (the same algorithm as ``sim.model.helpline.LineGroup``, without the rest);
  both draw arrivals, talk times and patience from numpy;
* Ciw (``ciw.create_network`` with ``reneging_time_distributions``).

Printed: callers per second of each (best of N, round-robin in this process), the
ratios project / bare SimPy and project / Ciw against the issue's targets (>= 0.8 and
>= 1.5), and the abandonment probability of each against Erlang A
(``sim.theory.exact.erlang_a``) with a 99% batch-means confidence interval. A last check
runs the hand-rolled bare model on the project's own callers: the outcome of every
caller must be the same.
"""

from __future__ import annotations

import argparse
import datetime as dt
import time
from collections import deque

import numpy as np
import simpy
from _common import BENCH, batch_means, header, interleaved_best

from sim.config import load_scenario
from sim.config.distributions import Exponential, Fixed
from sim.experiments.replications import run_replication
from sim.model.eventlog import ABANDONED, ANSWERED
from sim.model.helpline import Helpline
from sim.model.streams import Streams
from sim.theory import exact as theory

SCENARIO = BENCH / "scenarios" / "erlang_a.yaml"
SERVED, RENEGED, BLOCKED = 0, 1, 2
TARGET_BARE, TARGET_CIW = 0.8, 1.5


# --- the system, read from the scenario ----------------------------------------------


def system(scn) -> dict:
    """c, lam, mu, theta (per second), queue capacity K and horizon T (s) of the scenario.

    Refuses a scenario for which Erlang A is not exact (so the three models simulate
    the same system as the theory).
    """
    ph, dem = scn.phone, scn.demand.phone
    shares = {p: s for p, s in ph.province_shares.items() if s > 0}
    flat = (len(set(dem.month_factors)) == 1 and len(set(dem.weekday_factors)) == 1
            and len(set(dem.hour_profile)) == 1 and not dem.events and not dem.trend_per_year)
    always = all(getattr(ph.opening_hours, d) == ["00:00-24:00"]
                 for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun"))
    ok = (len(shares) == 1 and flat and always and scn.calendar.holidays == "none"
          and isinstance(ph.talk_min, Exponential) and isinstance(ph.queue.patience_min, Exponential)
          and isinstance(ph.wrap_up_min, Fixed) and ph.wrap_up_min.value == 0
          and ph.option0.probability == 0 and max(ph.redial.probability) == 0
          and ph.closed.retry_probability == 0 and not ph.answering_machine.enabled
          and ph.overflow.policy == "off"
          # chat and e-mail share the event loop: they must (all but) vanish
          and scn.demand.chat.annual < 1 and scn.demand.email.annual < 1)
    if not ok:
        raise SystemExit(f"{SCENARIO}: not an Erlang A system (see the comments in the file)")
    (prov,) = shares
    return {
        "province": prov,
        "c": ph.staffing.lines[prov],
        "lam": dem.annual / (365 * 86400.0),
        "mu": 1 / (ph.talk_min.mean * 60.0),
        "theta": 1 / (ph.queue.patience_min.mean * 60.0),
        "K": ph.queue.capacity,
        "T": scn.horizon.days * 86400.0,
    }


# --- (a) the project's model ---------------------------------------------------------


def project_model(scn, seed: int):
    model = Helpline(scn, Streams(seed, 0))
    return model, model.run()


def project_model_kpis(scn, seed: int):
    return run_replication(scn, seed, 0)


def project_outcomes(log) -> tuple[np.ndarray, np.ndarray]:
    """Per caller in arrival order (= caller index): abandoned, waited (0/1)."""
    rows = sorted(log.attempts)  # one attempt per caller: (caller, attempt, at, ...)
    abandoned = np.array([r[5] == ABANDONED for r in rows])
    waited = np.array([r[6] > 0 or r[5] == ABANDONED for r in rows])
    return abandoned, waited


# --- (b) bare SimPy ------------------------------------------------------------------


def draw(s: dict, seed: int) -> tuple[list, list, list]:
    """Poisson arrivals on [0, T) (Poisson count, uniform times: as sim.model.arrivals), talk
    times and patience, as Python lists."""
    rng = np.random.default_rng(seed)
    n = rng.poisson(s["lam"] * s["T"])
    arrival_at = np.sort(rng.random(n) * s["T"])
    talk_s = rng.exponential(1 / s["mu"], n)
    patience_s = rng.exponential(1 / s["theta"], n)
    return arrival_at.tolist(), talk_s.tolist(), patience_s.tolist()


def bare_resource(arrival_at, talk_s, patience_s, c: int, cap: int) -> list:
    """simpy.Resource, ``req | timeout`` (SimPy's bank_renege example). Status per caller."""
    env = simpy.Environment()
    lines = simpy.Resource(env, capacity=c)
    status = [BLOCKED] * len(arrival_at)
    wait = [0.0] * len(arrival_at)

    def caller(i, talk, patience):
        if lines.count >= c and len(lines.queue) >= cap:
            return  # blocked
        t0 = env.now
        with lines.request() as req:
            got = yield req | env.timeout(patience)
            wait[i] = env.now - t0
            if req in got:
                status[i] = SERVED
                yield env.timeout(talk)
            else:
                status[i] = RENEGED

    def source():
        for i, at in enumerate(arrival_at):
            yield env.timeout(at - env.now)
            env.process(caller(i, talk_s[i], patience_s[i]))

    env.process(source())
    env.run()
    return status


def bare_counter(arrival_at, talk_s, patience_s, c: int, cap: int) -> list:
    """Hand-rolled: a count of busy lines and a FIFO deque of waiting events."""
    env = simpy.Environment()
    queue: deque = deque()
    busy = [0]
    status = [BLOCKED] * len(arrival_at)

    def caller(i, talk, patience):
        if busy[0] < c and not queue:
            busy[0] += 1
        elif len(queue) < cap:
            served = env.event()
            queue.append(served)
            yield served | env.timeout(patience)
            if not served.triggered:
                queue.remove(served)
                status[i] = RENEGED
                return
        else:
            return  # blocked
        status[i] = SERVED
        yield env.timeout(talk)
        if queue:
            queue.popleft().succeed()  # the line passes straight to the longest waiting
        else:
            busy[0] -= 1

    def source():
        for i, at in enumerate(arrival_at):
            yield env.timeout(at - env.now)
            env.process(caller(i, talk_s[i], patience_s[i]))

    env.process(source())
    env.run()
    return status


# --- (c) Ciw -------------------------------------------------------------------------


def ciw_run(s: dict, seed: int):
    """M/M/c+M in Ciw until T; returns (arrivals, records)."""
    import ciw  # here, so that bench/planner.py can use the bare models without Ciw

    net = ciw.create_network(
        arrival_distributions=[ciw.dists.Exponential(s["lam"])],
        service_distributions=[ciw.dists.Exponential(s["mu"])],
        number_of_servers=[s["c"]],
        queue_capacities=[s["K"]],
        reneging_time_distributions=[ciw.dists.Exponential(s["theta"])],
    )
    ciw.seed(seed)
    q = ciw.Simulation(net)
    q.simulate_until_max_time(s["T"])
    return q.nodes[0].number_of_individuals, q.get_all_records()


def ciw_outcomes(records, T: float) -> tuple[np.ndarray, np.ndarray]:
    """Per caller in arrival order: abandoned, waited. Callers who arrived in the last
    6 hours are left out: some of them are still in the system at T (no record)."""
    rows = sorted((r.arrival_date, r.record_type == "renege", r.waiting_time > 0)
                  for r in records if r.arrival_date < T - 6 * 3600)
    return np.array([r[1] for r in rows]), np.array([r[1] or r[2] for r in rows])


# --- main ----------------------------------------------------------------------------


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="~20,000 callers, best of 3")
    ap.add_argument("--repeat", type=int, help="timed runs of each variant (best kept)")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args(argv)
    overrides = {}
    if a.quick:  # 73 days instead of 365: a fifth of the callers at the same load
        overrides["horizon.end"] = str(dt.date(2021, 1, 1) + dt.timedelta(72))
    repeat = a.repeat or (3 if a.quick else 5)
    scn = load_scenario(SCENARIO, overrides)
    s = system(scn)
    header(f"Erlang A benchmark: M/M/{s['c']}+M, {scn.horizon.days} days")
    th = theory.erlang_a(s["c"], s["lam"], s["mu"], s["theta"], queue_capacity=s["K"])
    print(f"   lam {s['lam'] * 3600:.3f}/h, mean talk {1 / s['mu'] / 60:.1f} min, mean patience "
          f"{1 / s['theta'] / 60:.1f} min, load per line {s['lam'] / s['mu'] / s['c']:.3f}, "
          f"queue capacity {s['K']}")
    print(f"   Erlang A: P(abandon) {th.p_abandon:.4f}, P(wait) {th.p_wait:.4f}")

    seed = a.seed
    variants = {
        "project model": lambda: project_model(scn, seed),
        "project model + KPIs": lambda: project_model_kpis(scn, seed),
        "bare SimPy (Resource)": lambda: bare_resource(*draw(s, seed), s["c"], s["K"]),
        "bare SimPy (hand-rolled counter)": lambda: bare_counter(*draw(s, seed), s["c"], s["K"]),
        "Ciw": lambda: ciw_run(s, seed),
    }
    print(f"-- timing: {len(variants)} variants, {repeat} rounds, round-robin")
    best, cpu, last = interleaved_best(variants, repeat)

    model, log = last["project model"]
    n_callers = {
        "project model": len(model.callers),
        "project model + KPIs": len(model.callers),  # same seed, same callers
        "bare SimPy (Resource)": len(last["bare SimPy (Resource)"]),
        "bare SimPy (hand-rolled counter)": len(last["bare SimPy (hand-rolled counter)"]),
        "Ciw": last["Ciw"][0],
    }
    rate = {k: n_callers[k] / best[k] for k in variants}
    rate_cpu = {k: n_callers[k] / cpu[k] for k in variants}
    print(f"-- callers per second (best of {repeat}; wall clock, and CPU time of this process)")
    for k in variants:
        print(f"   {k:<34s} {n_callers[k]:>8,d} callers  {best[k]:6.3f} s {rate[k]:>8,.0f}/s wall"
              f"  {cpu[k]:6.3f} s {rate_cpu[k]:>8,.0f}/s cpu")

    print("-- ratios of callers/s (same run; the verdict uses wall clock)")
    verdicts = []
    for proj in ("project model", "project model + KPIs"):
        for ref, target in (("bare SimPy (Resource)", TARGET_BARE),
                            ("bare SimPy (hand-rolled counter)", TARGET_BARE), ("Ciw", TARGET_CIW)):
            r, rc = rate[proj] / rate[ref], rate_cpu[proj] / rate_cpu[ref]
            ok = "met" if r >= target else "NOT met"
            verdicts.append(r >= target)
            print(f"   {proj:<20s} / {ref:<32s} {r:5.2f}x wall {rc:5.2f}x cpu "
                  f"(target >= {target}: {ok})")

    # Correctness: all three against Erlang A, 99% batch-means CI over 20 batches.
    print("-- P(abandon) against Erlang A (99% batch-means CI, 20 batches, first 1% dropped)")
    ab_p, wait_p = project_outcomes(log)
    rep = last["project model + KPIs"].kpis
    k = rep[(rep["by"] == "province") & (rep["key"] == s["province"])].set_index("kpi")["value"]
    if k["abandoned"] != ab_p.sum():
        raise SystemExit("model alone and model + KPIs disagree on the same seed")
    st_r = np.array(last["bare SimPy (Resource)"])
    st_c = np.array(last["bare SimPy (hand-rolled counter)"])
    ab_c, wait_c = ciw_outcomes(last["Ciw"][1], s["T"])
    series = {
        "project model": ab_p,
        "bare SimPy (Resource)": st_r == RENEGED,
        "bare SimPy (hand-rolled counter)": st_c == RENEGED,
        "Ciw": ab_c,
    }
    all_ok = True
    for name, x in series.items():
        m, h = batch_means(x)
        ok = abs(m - th.p_abandon) <= h
        all_ok &= ok
        print(f"   {name:<34s} {m:.4f} +/- {h:.4f}  theory {th.p_abandon:.4f}  "
              f"{'inside' if ok else 'OUTSIDE'}")
    for name, x in (("project model", wait_p), ("Ciw", wait_c)):
        m, h = batch_means(x)
        print(f"   P(wait) {name:<26s} {m:.4f} +/- {h:.4f}  theory {th.p_wait:.4f}  "
              f"{'inside' if abs(m - th.p_wait) <= h else 'OUTSIDE'}")

    # Exactness: the hand-rolled bare model on the project's own callers.
    c = model.callers
    t0 = time.perf_counter()
    st = np.array(bare_counter(c.arrival_at.tolist(), c.talk_s.tolist(), c.patience_s.tolist(),
                               s["c"], s["K"]))
    proj = np.array([{ANSWERED: SERVED, ABANDONED: RENEGED}.get(r[5], BLOCKED)
                     for r in sorted(log.attempts)])
    same = int((st == proj).sum())
    print(f"-- same callers through bare SimPy: {same:,d} of {len(proj):,d} outcomes identical "
          f"({time.perf_counter() - t0:.1f} s)")
    print(f"== targets met: {sum(verdicts)} of {len(verdicts)} ratio checks; "
          f"theory check {'passed' if all_ok and same == len(proj) else 'FAILED'}")


if __name__ == "__main__":
    main()
