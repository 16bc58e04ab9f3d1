"""Validation battery: the simulator against cases whose answer is known exactly.

Each case builds a scenario in which theory applies exactly (open 24/7, no holidays,
Poisson arrivals, exponential holding times unless the result is insensitive), runs it
and compares each measure's replication mean with the exact value. A measure *agrees*
when theory lies inside the Student-t confidence interval of the simulated mean, at a
level Bonferroni-corrected over every comparison of the battery (family-wise error 1%).

Cases: Erlang B (per-province blocking), Erlang C, Erlang A, the retrial (redial) loss
system with non-persistent callers, the answering machine with callbacks (also with
redials and a message decision at every busy tone or once per caller), two line
groups with one-way overflow, and a time-varying loss system with a daily rate profile,
solved exactly as a periodic Markov chain (matrix exponentials hour by hour).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import linalg

from sim.config import PROVINCES, Scenario, load_scenario
from sim.experiments.replications import run, t_interval
from sim.theory import exact as theory

ALWAYS_OPEN = {d: ["00:00-24:00"] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
HOLD_MIN = 20.0
MU = 1 / (HOLD_MIN * 60)


def stationary(lines, annual: float, hold_min: float = HOLD_MIN, days: int = 120, **more) -> Scenario:
    """A 24/7 scenario with Poisson arrivals and exponential holding times, no redials,
    no answering machine; ``more`` holds further dotted-path overrides."""
    end = np.datetime64("2021-01-04") + np.timedelta64(days - 1, "D")
    return load_scenario(None, {
        "name": "validation",
        "horizon": {"start": "2021-01-04", "end": str(end)},
        "calendar.holidays": "none",
        "phone.opening_hours": ALWAYS_OPEN,
        "phone.staffing.lines": lines,
        "phone.talk_min": {"dist": "exponential", "mean": hold_min},
        "phone.wrap_up_min": {"dist": "fixed", "value": 0},
        "phone.option0.probability": 0.0,
        "phone.redial.probability": [0.0],
        "phone.closed.retry_probability": 0.0,
        "phone.answering_machine.enabled": False,
        "demand.phone.annual": annual,
        "demand.phone.weekday_factors": [1] * 7,
        "demand.phone.hour_profile": [1] * 24,
        "chat.staffing.lines": 0,
        "email.staffing.handlers": 0,
        "demand.chat.annual": 1e-6,
        "demand.email.annual": 1e-6,
        **more,
    })


def province_rates(scn: Scenario) -> np.ndarray:
    """Arrival rate per province (per second) of a flat-demand scenario."""
    shares = np.array([scn.phone.province_shares[p] for p in PROVINCES])
    return scn.demand.phone.annual / (365 * 86400) * shares / shares.sum()


@dataclass(frozen=True)
class Comparison:
    case: str
    measure: str
    values: np.ndarray  # one per replication
    theory: float


# --- the cases --------------------------------------------------------------------------


def erlang_b_case(reps: int, seed: int, jobs: int, days: int) -> list[Comparison]:
    lines = {"Antwerpen": 1, "Limburg": 1, "Oost-Vlaanderen": 2, "Vlaams-Brabant": 3, "West-Vlaanderen": 2}
    scn = stationary(lines, annual=60_000, days=days)
    res = run(scn, reps, seed, jobs=jobs, progress=False)
    return [Comparison("Erlang B (loss system)", f"blocking, {p} ({lines[p]} lines)",
                       1 - res.values("answer_rate_attempt", "province", p),
                       float(theory.erlang_b(lines[p], lam / MU)))
            for p, lam in zip(PROVINCES, province_rates(scn), strict=True)]


def erlang_a_case(reps: int, seed: int, jobs: int, days: int) -> list[Comparison]:
    scn = stationary(2, annual=60_000, days=days, **{
        "phone.queue.capacity": 40, "phone.queue.patience_min": {"dist": "exponential", "mean": 10}})
    res = run(scn, reps, seed, jobs=jobs, progress=False)
    out = []
    for p, lam in list(zip(PROVINCES, province_rates(scn), strict=True))[:2]:
        th = theory.erlang_a(2, lam, MU, 1 / 600, queue_capacity=40)
        out += [
            Comparison("Erlang A (queue, patience)", f"P(abandon), {p}",
                       res.values("abandoned", "province", p) / res.values("attempts", "province", p),
                       th.p_abandon),
            Comparison("Erlang A (queue, patience)", f"P(wait), {p}", res.values("share_waited", "province", p),
                       th.p_wait),
            Comparison("Erlang A (queue, patience)", f"mean wait (s), {p}",
                       res.values("mean_wait_s", "province", p), th.mean_wait),
        ]
    return out


AWAY_MIN = 30.0  # mean absence (minutes) of the availability case


def availability_case(reps: int, seed: int, jobs: int, days: int) -> list[Comparison]:
    """Loss system whose counsellors are at the line 60% of the time (on/off CTMC)."""
    lines = {"Antwerpen": 1, "Limburg": 2, "Oost-Vlaanderen": 2, "Vlaams-Brabant": 1, "West-Vlaanderen": 1}
    share = 0.6
    scn = stationary(lines, annual=40_000, days=days, **{
        "phone.availability": {"enabled": True, "share": share,
                               "away_min": {"dist": "exponential", "mean": AWAY_MIN}}})
    beta = 1 / (AWAY_MIN * 60)
    alpha = beta * (1 - share) / share
    res = run(scn, reps, seed, jobs=jobs, progress=False)
    out = []
    for p, lam in list(zip(PROVINCES, province_rates(scn), strict=True))[:2]:
        th = theory.availability_loss(lam, MU, lines[p], alpha, beta)
        out += [
            Comparison("Counsellors away (on/off CTMC)", f"blocking, {p} ({lines[p]} lines)",
                       1 - res.values("answer_rate_attempt", "province", p), th.p_blocked),
            Comparison("Counsellors away (on/off CTMC)", f"occupancy at the line, {p} ({lines[p]} lines)",
                       res.values("occupancy", "province", p), th.occupancy),
        ]
    return out


def erlang_c_case(reps: int, seed: int, jobs: int, days: int) -> list[Comparison]:
    scn = stationary(2, annual=40_000, days=days, **{
        "phone.queue.capacity": 10_000, "phone.queue.patience_min": {"dist": "fixed", "value": 10**9}})
    res = run(scn, reps, seed, jobs=jobs, progress=False)
    out = []
    for p, lam in list(zip(PROVINCES, province_rates(scn), strict=True))[:2]:
        out += [
            Comparison("Erlang C (queue, infinite patience)", f"P(wait), {p}",
                       res.values("share_waited", "province", p), float(theory.erlang_c(2, lam / MU))),
            Comparison("Erlang C (queue, infinite patience)", f"mean wait (s), {p}",
                       res.values("mean_wait_s", "province", p), theory.erlang_c_mean_wait(2, lam, MU)),
        ]
    return out


def retrial_case(reps: int, seed: int, jobs: int, days: int) -> list[Comparison]:
    scn = stationary(1, annual=40_000, days=days, **{
        "phone.redial.probability": [0.6], "phone.redial.max_attempts": 60,
        "phone.redial.delay_min": {"dist": "exponential", "mean": 15}})
    res = run(scn, reps, seed, jobs=jobs, progress=False)
    out = []
    for p, lam in list(zip(PROVINCES, province_rates(scn), strict=True))[:2]:
        th = theory.retrial_loss(1, lam, MU, 0.6, 1 / 900)
        out += [
            Comparison("Redials (retrial loss system)", f"P(caller lost), {p}",
                       1 - res.values("answer_rate_caller", "province", p), th.p_lost_caller),
            Comparison("Redials (retrial loss system)", f"attempts per caller, {p}",
                       res.values("mean_attempts", "province", p), th.mean_attempts_per_caller),
        ]
    return out


def answering_machine_case(reps: int, seed: int, jobs: int, days: int) -> list[Comparison]:
    p_message, rate_cb, p_reach, fail_min = 0.5, 1 / (15 * 60), 0.7, 3.0
    shares = {p: 0.0 for p in PROVINCES} | {"Antwerpen": 1.0}
    scn = stationary(1, annual=15_000, days=days, **{
        "phone.province_shares": shares,
        "phone.answering_machine": {
            "enabled": True, "message_probability": p_message, "number_probability": 1.0,
            "mailbox": "per_province", "redial_after_message": False,
            "callbacks": {"policy": "after_idle", "idle_min": {"dist": "exponential", "mean": 1 / rate_cb / 60},
                          "reach_probability": p_reach, "failed_min": {"dist": "exponential", "mean": fail_min},
                          "max_tries": 60, "retry_spacing_min": {"dist": "fixed", "value": 0}}},
    })
    res = run(scn, reps, seed, jobs=jobs, progress=False)
    lam = scn.demand.phone.annual / (365 * 86400)
    th = theory.answering_machine(1, lam, MU, p_message, rate_cb, p_reach, mu_fail=1 / (fail_min * 60))
    callers = res.values("callers", "all", "all")
    case = "Answering machine with callbacks"
    return [
        Comparison(case, "P(busy tone)", 1 - res.values("answer_rate_attempt", "all", "all"), th.p_busy_tone),
        Comparison(case, "answered directly", res.values("answer_rate_caller_direct", "all", "all"),
                   th.p_answered_direct),
        Comparison(case, "answered by callback", res.values("callers_answered_callback", "all", "all") / callers,
                   th.p_answered_callback),
        Comparison(case, "time to callback (s)", res.values("callback_delay_mean_h", "all", "all") * 3600,
                   th.mean_time_to_callback),
    ]


def overflow_case(reps: int, seed: int, jobs: int, days: int) -> list[Comparison]:
    shares = {p: 0.0 for p in PROVINCES} | {"Antwerpen": 1.0, "Limburg": 1.0}
    scn = stationary({"Antwerpen": 1, "Limburg": 2}, annual=40_000, days=days, **{
        "phone.province_shares": shares, "phone.overflow.policy": "neighbours",
        "phone.overflow.neighbours": {"Antwerpen": ["Limburg"], "Limburg": []}})
    res = run(scn, reps, seed, jobs=jobs, progress=False)
    lam = scn.demand.phone.annual / (365 * 86400) / 2
    th = theory.overflow_two_groups(lam, lam, MU, 1, 2, overflow_1_to_2=True, overflow_2_to_1=False)
    out = []
    case = "Two groups, one-way overflow"
    for i, origin in enumerate(["Antwerpen", "Limburg"]):
        callers = res.values("callers", "province", origin)
        out += [
            Comparison(case, f"lost, calls to {origin}", 1 - res.values("answer_rate_caller", "province", origin),
                       th.p_blocked[i]),
            Comparison(case, f"answered by own group, {origin}",
                       res.values("answered", "flow", f"{origin} > {origin}") / callers, th.p_own[i]),
        ]
    out.append(Comparison(case, "answered by the other group, Antwerpen",
                          res.values("answered", "flow", "Antwerpen > Limburg")
                          / res.values("callers", "province", "Antwerpen"), th.p_other[0]))
    return out


def periodic_loss_blocking(c: int, lam_per_hour: np.ndarray, mu: float) -> float:
    """Exact time-average blocking of an M(t)/M/c/c system whose rate is constant within
    each hour and repeats daily: propagate the state distribution hour by hour with matrix
    exponentials until it repeats, then average arrivals x P(all busy) over the day.
    ``lam_per_hour``: 24 rates (per second); ``mu`` per second."""

    def generator(lam: float) -> np.ndarray:
        q = np.zeros((c + 1, c + 1))
        for k in range(c + 1):
            if k < c:
                q[k, k + 1] = lam
            if k > 0:
                q[k, k - 1] = k * mu
            q[k, k] = -q[k].sum()
        return q

    steps = [linalg.expm(generator(lam) * 3600.0) for lam in lam_per_hour]
    p = np.zeros(c + 1)
    p[0] = 1.0
    for _ in range(200):  # iterate days until the start-of-day distribution repeats
        start = p.copy()
        for s in steps:
            p = p @ s
        if np.abs(p - start).max() < 1e-13:
            break
    # Blocking: arrivals in an hour find all lines busy with the hour's mean P_c(t); the
    # mean over an hour is computed on a fine grid of the exact transient solution.
    blocked = offered = 0.0
    grid = 60
    for lam, s_hour in zip(lam_per_hour, steps, strict=True):
        q = generator(lam)
        small = linalg.expm(q * 3600.0 / grid)
        x = p.copy()
        pc = 0.0
        for _ in range(grid):  # trapezoid rule on P_c(t)
            y = x @ small
            pc += (x[c] + y[c]) / 2 / grid
            x = y
        blocked += lam * pc
        offered += lam
        p = p @ s_hour
    return blocked / offered


def time_varying_case(reps: int, seed: int, jobs: int, days: int) -> list[Comparison]:
    profile = [0.2] * 8 + [1.5, 2.5, 3.0, 2.8, 2.0, 2.6, 2.8, 2.4, 1.8, 1.2] + [0.6] * 6
    lines = {"Antwerpen": 2, "Limburg": 1, "Oost-Vlaanderen": 2, "Vlaams-Brabant": 2, "West-Vlaanderen": 1}
    scn = stationary(lines, annual=50_000, days=days, **{"demand.phone.hour_profile": profile})
    res = run(scn, reps, seed, jobs=jobs, progress=False)
    w = np.asarray(profile) / np.mean(profile)
    out = []
    for p, lam in list(zip(PROVINCES, province_rates(scn), strict=True))[:3]:
        exact = periodic_loss_blocking(lines[p], lam * w, MU)
        out.append(Comparison("Time-varying loss system (daily profile)", f"blocking, {p} ({lines[p]} lines)",
                              1 - res.values("answer_rate_attempt", "province", p), exact))
    return out


def answering_machine_redials_case(reps: int, seed: int, jobs: int, days: int) -> list[Comparison]:
    """Redials and the answering machine, the message decision at every busy tone and
    once per caller (issue 14), against :func:`sim.theory.exact.answering_machine_redials`."""
    p_message, p_redial, redial_min = 0.3, 0.6, 15.0
    rate_cb, p_reach, fail_min = 1 / (15 * 60), 0.7, 3.0
    shares = {p: 0.0 for p in PROVINCES} | {"Antwerpen": 1.0}
    out = []
    for decision, p_again in (("every_busy_tone", p_message), ("once_per_caller", 0.0)):
        scn = stationary(1, annual=15_000, days=days, **{
            "phone.province_shares": shares,
            "phone.redial.probability": [p_redial], "phone.redial.max_attempts": 60,
            "phone.redial.delay_min": {"dist": "exponential", "mean": redial_min},
            "phone.answering_machine": {
                "enabled": True, "decision": decision, "message_probability": p_message,
                "number_probability": 1.0, "mailbox": "per_province", "redial_after_message": False,
                "callbacks": {"policy": "after_idle",
                              "idle_min": {"dist": "exponential", "mean": 1 / rate_cb / 60},
                              "reach_probability": p_reach,
                              "failed_min": {"dist": "exponential", "mean": fail_min},
                              "max_tries": 60, "retry_spacing_min": {"dist": "fixed", "value": 0}}},
        })
        res = run(scn, reps, seed, jobs=jobs, progress=False)
        lam = scn.demand.phone.annual / (365 * 86400)
        th = theory.answering_machine_redials(1, lam, MU, p_message, p_again, p_redial, 1 / (redial_min * 60),
                                              rate_cb, p_reach, mu_fail=1 / (fail_min * 60))
        callers = res.values("callers", "all", "all")
        case = f"Answering machine with redials, message decision {decision}"
        out += [
            Comparison(case, "answered directly", res.values("answer_rate_caller_direct", "all", "all"),
                       th.p_answered_direct),
            Comparison(case, "answered by callback",
                       res.values("callers_answered_callback", "all", "all") / callers, th.p_answered_callback),
            Comparison(case, "messages per caller", res.values("messages_left", "all", "all") / callers,
                       th.messages_per_caller),
            Comparison(case, "attempts per caller", res.values("mean_attempts", "all", "all"),
                       th.attempts_per_caller),
        ]
    return out


CASES = [erlang_b_case, erlang_c_case, erlang_a_case, retrial_case, answering_machine_case,
         overflow_case, time_varying_case, answering_machine_redials_case,
         availability_case]


def validate(reps: int = 12, seed: int = 101, jobs: int = 1, days: int = 120,
             family_error: float = 0.01, progress=None) -> pd.DataFrame:
    """Run every case; one row per measure with simulation mean, CI, theory, agreement."""
    comparisons: list[Comparison] = []
    for i, case in enumerate(CASES):
        if progress:
            progress(case.__name__)
        comparisons += case(reps, seed + i, jobs, days)
    level = 1 - family_error / len(comparisons)
    rows = []
    for c in comparisons:
        m, lo, hi = t_interval(c.values, level)
        rows.append({"case": c.case, "measure": c.measure, "simulated": m, "ci_low": lo, "ci_high": hi,
                     "theory": c.theory, "agrees": bool(lo <= c.theory <= hi), "level": level,
                     "replications": len(c.values)})
    return pd.DataFrame(rows)
