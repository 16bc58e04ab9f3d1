"""The 2020 fit pipeline behind ``run_sim.py fit`` (docs/fit.md): calibration, demand fit,
bootstrap, check and counterfactual runs, and the fitted scenario files."""


from __future__ import annotations

import contextlib
import functools
import json
import os
import textwrap
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from sim import __version__
from sim.config import PROJECT_ROOT, Scenario, load_scenario
from sim.experiments.executors import Processes
from sim.experiments.replications import run, t_half_width
from sim.model.eventlog import ANSWERED, ATTEMPT_COLUMNS, CALLER_COLUMNS, END_CALLBACK
from sim.planning import calibrate as cal
from sim.planning import fit as F
from sim.planning.fit_cost import CostMeter

DEFAULT_BASE = PROJECT_ROOT / "scenarios" / "baseline_2020.yaml"
SCENARIO_NAME = "fitted_2020"

# Alternative hour-of-day profiles of phone demand for the sensitivity run (the
# default profile is sim.config.DEFAULT_PHONE_HOUR_PROFILE). Call times are not
# recorded (seed 000 answer 2), so none of them can be checked against data.
_OPEN = [1.0 if 9 <= h < 18 else 0.0 for h in range(24)]
HOUR_PROFILES: dict[str, list[float]] = {
    # Everybody calls during the opening hours, evenly: no closed message on weekdays.
    "flat_opening_hours": _OPEN,
    # Most calls in the morning, falling through the day, a little in the evening.
    "morning_heavy": [0.02] * 7 + [0.3, 1.2, 2.6, 2.4, 2.0, 1.4, 1.2, 1.0, 0.8, 0.6,
                                   0.5, 0.3, 0.25, 0.2, 0.15, 0.1, 0.05],
    # Evenly from 8 to 22: a third of the calls fall outside the opening hours.
    "flat_8_to_22": [1.0 if 8 <= h < 22 else 0.02 for h in range(24)],
}
# Lags (days) between a lockdown's start and the demand response, profiled in round 1.
LOCKDOWN_LAGS = (0, 7, 14, 21, 28)
# Alternative mean redial delays (minutes) for the delay sensitivity run.
REDIAL_DELAYS = (2.0, 15.0)
# Re-calibrate when the fitted demand moved the Sep-Dec targets this far off.
RATE_TOL, ATTEMPTS_TOL = 0.0075, 0.12


@dataclass(frozen=True)
class Settings:
    reading: str
    reps: int
    cal_reps: int
    check_reps: int
    iterations: int
    boot: int
    seed: int
    jobs: int
    family: str
    redial_delay: float | None
    base: Path
    out: Path
    scenario_out: Path
    sensitivity: bool
    quick: bool
    cal_evals: int = 12
    other_cal_evals: int = 4
    delay_cal_evals: int = 3
    rounds: int = 2
    sens_iterations: int = 2
    hour_profiles: tuple[str, ...] = tuple(HOUR_PROFILES)
    delays: tuple[float, ...] = REDIAL_DELAYS
    lags: tuple[int, ...] = LOCKDOWN_LAGS
    cal_grid: bool = True
    # Replications of the report-only counterfactual runs (no lockdown, no campaigns);
    # None: check_reps (issue 16: fewer is a documented option, not the default).
    report_reps: int | None = None

    @classmethod
    def from_args(cls, args) -> Settings:
        s = cls(reading=args.reading, reps=args.reps, cal_reps=args.cal_reps,
                check_reps=args.check_reps, iterations=args.iterations, boot=args.boot,
                seed=args.seed, jobs=max(1, args.jobs), family=args.family,
                redial_delay=args.redial_delay, base=args.base, out=args.out,
                scenario_out=args.scenario_out, sensitivity=not args.no_sensitivity,
                quick=args.quick)
        if args.quick:
            # Not a real fit: enough to exercise every step (one least-squares step of the
            # calibration, two fixed-point iterations, a check run with 3 replications, the
            # smallest that gives a usable t interval) in about half a minute.
            s = cls(**{**asdict(s), "reps": min(s.reps, 2), "cal_reps": min(s.cal_reps, 2),
                       "check_reps": min(s.check_reps, 3), "iterations": min(s.iterations, 2),
                       "boot": min(s.boot, 10), "cal_evals": 1, "other_cal_evals": 0,
                       "rounds": 1, "sens_iterations": 1, "hour_profiles": ("flat_opening_hours",),
                       "delays": (), "lags": (14,), "cal_grid": False})
        # Report-only work at lower precision (issue 16), asked for by name; applied
        # after --quick so that they can lower it further.
        over = {"report_reps": getattr(args, "report_reps", None),
                "other_cal_evals": getattr(args, "other_cal_evals", None),
                "delay_cal_evals": getattr(args, "delay_cal_evals", None)}
        s = cls(**{**asdict(s), **{k: v for k, v in over.items() if v is not None}})
        for name in ("reps", "cal_reps", "check_reps", "iterations"):
            if getattr(s, name) < (2 if name != "iterations" else 1):
                raise ValueError(f"--{name.replace('_', '-')} is too small")
        if s.report_reps is not None and not 2 <= s.report_reps <= s.check_reps:
            raise ValueError("--report-reps must be between 2 and --check-reps")
        for name in ("other_cal_evals", "delay_cal_evals"):
            if getattr(s, name) < 0:
                raise ValueError(f"--{name.replace('_', '-')} must not be negative")
        return s

    @property
    def counterfactual_reps(self) -> int:
        """Replications of the counterfactual runs (and of the fitted row they are
        compared with)."""
        return self.check_reps if self.report_reps is None else self.report_reps


# ---------------------------------------------------------------------------------------
# Simulating 2020 for the demand fit
# ---------------------------------------------------------------------------------------


def initial_params() -> dict[str, float]:
    """Starting values (roughly the hand-set baseline): the fit moves away from them."""
    return {
        "phone.annual": 7000.0, "phone.lockdown_amplitude": 0.8, "phone.lockdown_decay_days": 120.0,
        "chat.annual": 2500.0, "chat.lockdown_amplitude": 3.0, "chat.lockdown_decay_days": 365.0,
        "email.annual": 1150.0, "email.lockdown_amplitude": 0.8, "email.lockdown_decay_days": 30.0,
        "campaign_feb_amplitude": 0.6, "campaign_amplitude": 0.2, "lockdown2_amplitude": 0.15,
    }


def demand_overrides(params: dict[str, float], spec: F.DemandSpec, lockdowns: bool = True,
                     campaigns: bool = True) -> dict:
    return {f"demand.{c}": F.to_channel_demand(params, spec, c, lockdowns, campaigns)
            .model_dump(mode="json") for c in F.CHANNELS}


def build_scenario(base_path: Path, spec: F.DemandSpec, params: dict[str, float],
                   behaviour: cal.Behaviour, base: Scenario, name: str = SCENARIO_NAME,
                   lockdowns: bool = True, campaigns: bool = True) -> Scenario:
    over = {"name": name, **demand_overrides(params, spec, lockdowns, campaigns),
            **behaviour.overrides(base)}
    return load_scenario(base_path, over)


def monthly_answered(per_rep: pd.DataFrame, months: list[str]) -> dict[str, np.ndarray]:
    """Answered contacts per replication (rows) and month (columns) per channel.

    Phone: answered calls in the month plus callers of the month answered by a callback
    (both are registered conversations); chat by arrival month; e-mail by answer month.
    """
    m = per_rep[(per_rep["by"] == "month") & per_rep["key"].isin(months)]
    w = m.pivot_table(index="replication", columns=["kpi", "key"], values="value", aggfunc="sum")

    def get(kpi):
        return w[kpi].reindex(columns=months).fillna(0.0).to_numpy()

    return {"phone": get("answered") + get("callers_answered_callback"),
            "chat": get("chat_answered"), "email": get("email_answered")}


class Simulator:
    """Simulated answered contacts (channels x 13 bins) of demand parameters, and the
    standard error of each channel's yearly count.

    Runs 2020 with ``reps`` replications and a fixed seed (common random numbers);
    keeps the KPIs of the last run. The phone count in the campaign window comes from
    the attempts and callers tables; chat and e-mail window counts are their expected
    window demand x February's answer probability (the window is not simulated
    separately for them; both are small and e-mail is nearly all answered).
    """

    def __init__(self, settings: Settings, base: Scenario, spec: F.DemandSpec,
                 model: F.DemandModel, behaviour: cal.Behaviour, executor=None):
        self.settings, self.base, self.spec, self.model = settings, base, spec, model
        self.behaviour = behaviour
        self.executor = executor  # where replications run (default: a pool per run)
        self.months = spec.months()
        self.last_kpis: pd.DataFrame | None = None
        self.runs = 0
        # Chat and e-mail KPI rows of replications 0.. already simulated, by the part of
        # the scenario they depend on (:func:`other_channels_key`): a simulation whose
        # chat and e-mail are the same runs the phone alone and reuses them.
        self.other_channels: dict[str, pd.DataFrame] = {}
        self.phone_only_runs = 0

    def scenario(self, params: dict[str, float]) -> Scenario:
        return build_scenario(self.settings.base, self.spec, params, self.behaviour, self.base)

    def remember(self, scn: Scenario, kpis: pd.DataFrame) -> None:
        """Keep the chat and e-mail KPI rows of ``kpis`` (per replication, all channels
        simulated, seed ``settings.seed``) of scenario ``scn`` for reuse."""
        key = other_channels_key(scn)
        if key is not None:
            self.other_channels[key] = kpis[is_other_channel_kpi(kpis["kpi"])]

    def __call__(self, params: dict[str, float]) -> tuple[np.ndarray, np.ndarray]:
        s = self.settings
        scn = self.scenario(params)
        lo, hi = window_seconds(self.spec)
        key = other_channels_key(scn)
        known = self.other_channels.get(key)
        if known is not None and not set(range(s.reps)) <= set(known["replication"]):
            known = None
        # The phone's answered calls in the campaign window, counted in the worker.
        window = functools.partial(phone_window_count, lo=lo, hi=hi)
        result = run(scn, s.reps, s.seed, jobs=s.jobs, progress=False, executor=self.executor,
                     reducer=window, channels=("phone",) if known is not None else None)
        self.runs += 1
        kp = result.kpis()
        if known is not None:
            # Chat and e-mail as simulated before (their events do not depend on the
            # phone's: other_channels_key), in place of the rows a phone-only run has.
            self.phone_only_runs += 1
            mine = known[known["replication"] < s.reps]
            kp = pd.concat([kp[~kp["kpi"].isin(set(mine["kpi"]))], mine], ignore_index=True)
        elif key is not None:
            self.remember(scn, kp)
        self.last_kpis = kp
        A = np.zeros((len(F.CHANNELS), F.N_BINS))
        per = monthly_answered(kp, self.months)
        for ci, c in enumerate(F.CHANNELS):
            A[ci, :F.N_MONTHS] = per[c].mean(axis=0)
        phone_w = [r.extra for r in result.replications]
        E = self.model.expected(params)
        A[0, F.WINDOW] = float(np.mean(phone_w))
        for ci in (1, 2):
            A[ci, F.WINDOW] = E[ci, F.WINDOW] * A[ci, 1] / E[ci, 1]
        se = np.array([per[c].sum(axis=1).std(ddof=1) / np.sqrt(s.reps) for c in F.CHANNELS])
        return np.maximum(A, 1e-3), se


def phone_window_count(scn: Scenario, model, log, lo: float, hi: float) -> int:
    """Phone contacts answered in ``[lo, hi)`` (seconds) of one replication: calls
    answered (answer instant) and callers answered by a callback (its end); a ``reducer``
    of :func:`sim.experiments.replications.run`, counted from the event log's records in
    the worker instead of shipping the attempts and callers tables to the main process."""
    i_at, i_out, i_wait = (ATTEMPT_COLUMNS.index(c) for c in ("at", "outcome", "wait_s"))
    i_end, i_end_at = CALLER_COLUMNS.index("end"), CALLER_COLUMNS.index("end_at")
    n = sum(1 for r in log.attempts
            if r[i_out] == ANSWERED and lo <= r[i_at] + r[i_wait] < hi)
    return n + sum(1 for r in log.callers
                   if r[i_end] == END_CALLBACK and r[i_end_at] is not None and lo <= r[i_end_at] < hi)


def is_other_channel_kpi(kpi: pd.Series) -> pd.Series:
    """Whether a KPI is one of chat's or e-mail's (``chat_*``, ``email_*``)."""
    return kpi.str.startswith("chat_") | kpi.str.startswith("email_")


def other_channels_key(scn: Scenario) -> str | None:
    """What the chat and e-mail results of a replication depend on: the scenario without
    its phone settings and phone demand (and name). None when the phone and the other
    channels interact (e-mail blended onto phone lines, callers switching channel), so
    that chat and e-mail cannot be taken from another simulation. Otherwise every channel
    draws from its own named streams and shares no line with the phone
    (:class:`sim.model.helpline.Helpline`), so chat and e-mail are the same, record for
    record, whatever the phone's demand or behaviour (tests/test_fit.py checks it)."""
    callers = scn.phone.callers
    if scn.email.blending or callers.switch.enabled or callers.chat_switch.enabled:
        return None
    d = scn.model_dump(mode="json")
    for k in ("phone", "name", "description"):
        d.pop(k, None)
    d["demand"].pop("phone")
    return json.dumps(d, sort_keys=True)


def window_seconds(spec: F.DemandSpec) -> tuple[float, float]:
    first, last = spec.window
    return ((first - spec.start).days * 86400.0, ((last - spec.start).days + 1) * 86400.0)


def _answered_by_day(args: tuple) -> dict[str, np.ndarray]:
    """One replication: answered contacts per channel and day of the horizon."""
    from sim.model.helpline import Helpline
    from sim.model.streams import Streams

    scn, seed, rep, *rest = args
    channels = rest[0] if rest else None
    model = Helpline(scn, Streams(seed, rep), channels=channels)
    return answered_by_day_of(scn, model, model.run())


def answered_by_day_of(scn: Scenario, model, log) -> dict[str, np.ndarray]:
    """Answered contacts per channel and day of the horizon of one simulated replication
    (``model`` after its run, ``log`` its event log); a ``reducer`` for
    :func:`sim.experiments.replications.run`, so that the check run gives its KPIs and
    these counts from the same simulation."""
    from sim.model.chats import ANSWERED as CHAT_ANSWERED

    n = scn.horizon.days
    a, cb = log.attempts_table(), log.callbacks_table()

    def days(t):
        d = np.floor(np.asarray(t, float) / 86400.0).astype(int)
        return np.bincount(d[(d >= 0) & (d < n)], minlength=n)

    phone = days((a["at"] + a["wait_s"])[a["outcome"] == ANSWERED])
    phone = phone + days(cb.loc[cb["reached"].astype(bool), "at"])
    out = {"phone": phone, "chat": np.zeros(n, dtype=int), "email": np.zeros(n, dtype=int)}
    # A channel left out (``channels``) is not simulated: it answers nothing.
    if "chat" in model.channels:
        ch = log.chats.table()
        out["chat"] = days(ch.loc[ch["outcome"] == CHAT_ANSWERED, "arrival_at"])
    if "email" in model.channels:
        out["email"] = days(log.emails.table()["done_at"].dropna())
    return out


def answered_by_day(scn: Scenario, reps: int, seed: int, jobs: int,
                    channels: tuple[str, ...] | None = None, executor=None) -> dict[str, np.ndarray]:
    """Answered contacts per channel: array replications x days (common random numbers).

    ``channels`` (default all) are the channels simulated; the others count 0.
    ``executor``: where the replications run (default a pool of ``jobs`` processes)."""
    ex = executor or Processes(jobs)
    outs = list(ex.map(_answered_by_day, [(scn, seed, r, channels) for r in range(reps)]))
    return stack_by_day(outs)


def stack_by_day(outs: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Per-replication day counts (:func:`answered_by_day_of`) as replications x days."""
    return {c: np.vstack([o[c] for o in outs]) for c in F.CHANNELS}


def _mean_hw(x: np.ndarray) -> tuple[float, float]:
    x = np.asarray(x, float)
    return float(x.mean()), t_half_width(x)


# ---------------------------------------------------------------------------------------
# The whole fit
# ---------------------------------------------------------------------------------------


@dataclass
class Outcome:
    """Everything the report and the scenario files need."""

    settings: Settings
    base: Scenario
    spec: F.DemandSpec
    obs: F.Observations
    best: F.FitResult
    response: F.Response
    trace: pd.DataFrame
    converged: bool
    lag_profile: pd.DataFrame
    behaviour: cal.Behaviour
    calibrations: dict[str, cal.Calibration]
    params_table: pd.DataFrame
    gof: pd.DataFrame
    monthly: pd.DataFrame
    totals: pd.DataFrame
    sepdec: pd.DataFrame
    window: pd.DataFrame
    counterfactuals: pd.DataFrame
    fixed_profiles: pd.DataFrame
    hour_sensitivity: pd.DataFrame
    delay_sensitivity: pd.DataFrame
    calibration_trace: pd.DataFrame
    wall_s: float = 0.0
    simulations: int = 0
    meta: dict = field(default_factory=dict)
    # The cost of each step (sim.planning.fit_cost; cost.csv of the report).
    meter: CostMeter = field(default_factory=CostMeter)


def fit_all(s: Settings, log, meter: CostMeter | None = None) -> Outcome:
    """Run the whole procedure (module docstring) and collect the results."""
    # One process pool for the whole fit (about 80 batches of replications): its workers
    # are forked once, not once per batch.
    meter = meter or CostMeter()
    with Processes(s.jobs, keep=True) as ex:
        o = _fit_all(s, log, meter.executor(ex), meter)
    o.meter = meter
    return o


def _fit_all(s: Settings, log, ex, meter: CostMeter) -> Outcome:
    """:func:`fit_all` with its replications on executor ``ex``; the cost of each step
    measured by ``meter`` (and logged)."""

    @contextlib.contextmanager
    def step(name):
        with meter.step(name):
            yield
        log(meter.log_line(name))

    t0 = time.perf_counter()
    base = load_scenario(s.base)
    # One lag given: use it; several: profile them in round 1.
    spec = F.default_spec(base, lockdown_lag_days=s.lags[0] if len(s.lags) == 1 else 0)
    model = F.DemandModel(spec)
    obs = F.observations(spec)
    delay = s.redial_delay or base.phone.redial.delay_after(1).mean_min
    behaviour = cal.Behaviour(1.0, 0.85, delay)
    params = initial_params()
    sepdec_obs = float(obs.monthly[0, 8:12].sum())
    sims = 0
    log(f"fit 2020: reading '{s.reading}', {s.reps} replications per simulation, seed {s.seed}; "
        f"trend fixed at {spec.trend_per_year:+.2%}/year (registered contacts 2017-2019)")

    calibs: dict[str, cal.Calibration] = {}
    traces, fp_traces = [], []
    lag_prof = pd.DataFrame()
    fp = None
    eps = None
    jac = None  # Jacobian of the Sep-Dec statistics, handed from calibration to calibration
    for rnd in range(1, s.rounds + 1):
        log(f"round {rnd}: calibrating behaviour to Sep-Dec 2020 ({s.reading} reading)")
        phone = F.to_channel_demand(params, spec, "phone")
        with step(f"round {rnd}: calibration ({s.reading})"):
            c = cal.calibrate(s.base, phone, sepdec_obs, s.reading, behaviour, s.cal_reps,
                              s.seed, s.jobs, max_evals=s.cal_evals, grid=s.cal_grid and rnd == 1,
                              log=log, executor=ex, jac0=jac)
        jac = c.jacobian
        sims += c.evaluations
        traces.append(pd.DataFrame(c.trace).assign(round=rnd, reading=s.reading))
        behaviour = c.behaviour
        calibs[s.reading] = c
        # Carry the Sep-Dec level found by the calibration into the whole year (start).
        params = {**params, "phone.annual": params["phone.annual"] * c.demand_scale}
        log(f"round {rnd}: demand fit (simulate 2020 <-> maximum likelihood)")
        with step(f"round {rnd}: demand fit"):
            sim = Simulator(s, base, spec, model, behaviour, executor=ex)
            if rnd == 1 and len(s.lags) > 1:
                fp = F.fixed_point(sim, model, obs, params, max_iter=2, tol=0.01, eps=eps,
                                   family=s.family, log=log)
                fp_traces.append(fp.trace.assign(round=rnd, lockdown_lag_days=spec.lockdown_lag_days))
                lag_prof = F.profile_lag(spec, fp.response, obs, fp.fit.params, s.lags, fp.fit.phi,
                                         s.family)
                lag = int(lag_prof.loc[lag_prof["loglik"].idxmax(), "lockdown_lag_days"])
                log("lockdown response lag (profile log-likelihood): " + ", ".join(
                    f"{r.lockdown_lag_days} d {r.delta_loglik:+.1f}" for r in lag_prof.itertuples())
                    + f" -> {lag} days")
                spec = F.with_params(spec, lockdown_lag_days=lag)
                model = F.DemandModel(spec)
                sim.spec, sim.model.helpline = spec, model
                eps, params = fp.response.eps, fp.fit.params
            fp = F.fixed_point(sim, model, obs, params, max_iter=s.iterations, tol=0.01, eps=eps,
                               family=s.family, log=log)
            fp_traces.append(fp.trace.assign(round=rnd, lockdown_lag_days=spec.lockdown_lag_days))
            sims += sim.runs
            eps, params = fp.response.eps, fp.fit.params
        st = cal.summarise_stats(cal.period_stats(sim.last_kpis))
        miss_rate = st[cal.RATE_KPI[s.reading]] - cal.Targets().rate_mid
        miss_att = st["mean_attempts"] - cal.Targets().attempts_mid
        log(f"round {rnd}: Sep-Dec with the fitted demand: per caller "
            f"{st['answer_rate_caller']:.1%}, per attempt {st['answer_rate_attempt']:.1%}, "
            f"{st['mean_attempts']:.2f} attempts per caller")
        if abs(miss_rate) <= RATE_TOL and abs(miss_att) <= ATTEMPTS_TOL:
            break
    best, resp = fp.fit, fp.response

    other = [r for r in cal.READINGS if r != s.reading][0]
    log(f"calibrating the other reading ('{other}') for the report")
    with step(f"other reading: calibration ({other})"):
        c = cal.calibrate(s.base, F.to_channel_demand(params, spec, "phone"), sepdec_obs, other,
                          cal.Behaviour(behaviour.handling_scale, behaviour.persistence, delay),
                          s.cal_reps, s.seed, s.jobs, max_evals=s.other_cal_evals,
                          grid=s.cal_grid and s.other_cal_evals > 0, log=log, executor=ex,
                          jac0=jac)
    sims += c.evaluations
    traces.append(pd.DataFrame(c.trace).assign(round=0, reading=other))
    calibs[other] = c

    log(f"bootstrap: {s.boot} refits with the simulated response held fixed")
    with step("bootstrap"):
        # The refits on the pool's workers (idle here), a few groups each.
        boot = F.bootstrap(F.DemandModel(spec, sub=1), resp, best, s.boot, s.seed,
                           mapper=ex.map, chunks=2 * s.jobs if s.jobs > 1 else 1)
    ptab = parameter_table(best, boot, spec)
    gof = F.goodness_of_fit(obs, best.mu, best.phi, len(F.PARAM_NAMES) + (s.family == "negbin"))
    with step("profiles of fixed assumptions"):
        fixed = fixed_profiles(base, spec, resp, obs, best, s.family)

    log(f"check run: {s.check_reps} replications of the fitted scenario and counterfactuals")
    scn = build_scenario(s.base, spec, params, behaviour, base)
    # One simulation per replication gives the check's KPIs and its answered per day
    # (the fitted scenario's row of the counterfactual tables).
    with step("check run"):
        checked = run(scn, s.check_reps, s.seed, jobs=s.jobs, progress=False, executor=ex,
                      reducer=answered_by_day_of)
        check = checked.kpis()
        fitted_by_day = stack_by_day([r.extra for r in checked.replications])
        per = monthly_answered(check, spec.months())
        monthly, totals = monthly_table(obs, best, resp, per, spec, F.DemandModel(spec))
        sepdec = sepdec_table(check, calibs, base)
    with step("counterfactuals"):
        window, counter = counterfactual_tables(s, base, spec, params, behaviour, obs, scn,
                                                fitted_by_day, executor=ex)
    sims += 3

    hour_sens = pd.DataFrame()
    delay_sens = pd.DataFrame()
    if s.sensitivity:
        with step("hour-profile sensitivity"):
            hour_sens = hour_sensitivity(s, base, spec, best, behaviour, obs, eps, check, log, ex,
                                         checked_scn=scn)
        sims += int(hour_sens["simulations"].sum())
        with step("redial-delay sensitivity"):
            delay_sens, n = delay_sensitivity(s, spec, params, behaviour, calibs[s.reading],
                                              sepdec_obs, base, log, ex)
        sims += n
    return Outcome(settings=s, base=base, spec=spec, obs=obs, best=best, response=resp,
                   trace=pd.concat(fp_traces, ignore_index=True), converged=fp.converged,
                   lag_profile=lag_prof, behaviour=behaviour,
                   calibrations=calibs, params_table=ptab, gof=gof, monthly=monthly,
                   totals=totals, sepdec=sepdec, window=window, counterfactuals=counter,
                   fixed_profiles=fixed, hour_sensitivity=hour_sens,
                   delay_sensitivity=delay_sens,
                   calibration_trace=pd.concat(traces, ignore_index=True),
                   wall_s=time.perf_counter() - t0, simulations=sims)


PARAM_NOTES = {
    "annual": "new contacts a year without events (2020 level at 1 Jan)",
    "lockdown_amplitude": "first lockdown: demand x (1 + a) on the plateau 18 Mar - 3 May",
    "lockdown_decay_days": "decay after the plateau, exp(-days / d); also for the 2nd lockdown",
    "campaign_feb_amplitude": "'Als je eens wist': x (1 + a) 11-25 Feb, then 7-day decay",
    "campaign_amplitude": "other dated campaigns: x (1 + a) on the day, 7-day decay",
    "lockdown2_amplitude": "second lockdown: x (1 + a) 2-30 Nov, then the channel's decay",
    "phi": "negative binomial dispersion: variance mu + phi mu^2 (moment estimate)",
}


def parameter_table(best: F.FitResult, boot: pd.DataFrame, spec: F.DemandSpec) -> pd.DataFrame:
    tab = F.parameter_table(best, boot)
    tab.insert(1, "channel", [n.split(".")[0] if "." in n else "all" for n in tab["parameter"]])
    tab["status"] = "fitted"
    tab["note"] = [PARAM_NOTES[n.split(".")[-1]] for n in tab["parameter"]]
    fixed = [
        ("lockdown_lag_days", "all", spec.lockdown_lag_days,
         "profiled (whole days; lag_profile.csv): demand response starts this long after "
         "18 Mar and 2 Nov"),
        ("trend_per_year", "all", spec.trend_per_year,
         "fixed: growth of registered phone + e-mail contacts 2017-2019 (contacts_yearly.csv)"),
        ("lockdown_plateau_days", "all", spec.lockdowns[0][2],
         "fixed: confinement 18 Mar - 3 May 2020 (lockdowns_belgium.csv)"),
        ("lockdown2_plateau_days", "all", spec.lockdowns[1][2],
         "fixed: lockdown 2 - 30 Nov 2020 (lockdowns_belgium.csv)"),
        ("campaign_feb_plateau_days", "all", spec.feb_campaign.plateau_days,
         "fixed: first to last Canvas broadcast, 11-25 Feb (campaigns.csv)"),
        ("campaign_decay_days", "all", spec.feb_campaign.decay_days,
         "fixed: not identifiable from monthly counts (see fixed_profiles.csv)"),
    ]
    rows = [{"parameter": n, "channel": c, "estimate": v, "boot_sd": np.nan, "ci_low": np.nan,
             "ci_high": np.nan, "status": note.split(":")[0].split(" ")[0], "note": note}
            for n, c, v, note in fixed]
    return pd.concat([tab, pd.DataFrame(rows)], ignore_index=True)


def fixed_profiles(base: Scenario, spec: F.DemandSpec, resp: F.Response, obs: F.Observations,
                   best: F.FitResult, family: str) -> pd.DataFrame:
    """Refits (response held fixed) with other values of the fixed campaign decay and
    trend: the log-likelihood says whether the data prefer another value."""
    rows = []
    for what, values in (("campaign_decay_days", (3.0, 7.0, 14.0, 28.0)),
                         ("trend_per_year", (0.0, spec.trend_per_year, 0.10))):
        for v in values:
            if what == "campaign_decay_days":
                sp = F.default_spec(base, campaign_decay_days=v,
                                    lockdown_lag_days=spec.lockdown_lag_days)
            else:
                sp = F.with_params(spec, trend_per_year=v)
            f = F.fit(F.DemandModel(sp), resp, obs, best.params, family=family, phi=best.phi)
            rows.append({"fixed": what, "value": v, "loglik": f.loglik,
                         "delta_loglik": f.loglik - best.loglik,
                         **{k: f.params[k] for k in ("phone.annual", "campaign_feb_amplitude",
                                                     "campaign_amplitude")}})
    return pd.DataFrame(rows)


def monthly_table(obs, best, resp, per, spec, model) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Observed, fitted and simulated (check run) answered per channel and month."""
    rows, tots = [], []
    for ci, c in enumerate(F.CHANNELS):
        sims = per[c]
        for k, m in enumerate(spec.months()):
            mean, hw = _mean_hw(sims[:, k])
            y = obs.monthly[ci, k]
            rows.append({"channel": c, "month": m, "observed": y, "fitted": best.mu[ci, k],
                         "simulated": mean, "sim_hw": hw, "error": mean - y,
                         "rel_error": (mean - y) / y, "expected_demand": best.E[ci, k],
                         "p_answer": resp.A[ci, k] / resp.E[ci, k], "elasticity": resp.eps[ci, k]})
        mean, hw = _mean_hw(sims.sum(axis=1))
        y = obs.monthly[ci].sum()
        tots.append({"channel": c, "observed": y, "fitted": best.mu[ci, :F.N_MONTHS].sum(),
                     "simulated": mean, "sim_hw": hw, "error": mean - y, "rel_error": (mean - y) / y,
                     "fit_error": best.mu[ci, :F.N_MONTHS].sum() - y,
                     "expected_demand": best.E[ci, :F.N_MONTHS].sum()})
    mon = pd.DataFrame(rows)
    tot = pd.DataFrame(tots)
    allrow = {"channel": "all", "observed": tot["observed"].sum(), "fitted": tot["fitted"].sum(),
              "simulated": tot["simulated"].sum(), "sim_hw": np.nan,
              "error": tot["error"].sum(), "rel_error": tot["error"].sum() / tot["observed"].sum(),
              "fit_error": tot["fit_error"].sum(), "expected_demand": tot["expected_demand"].sum()}
    tot = pd.concat([tot, pd.DataFrame([allrow])], ignore_index=True)
    tot["mean_abs_rel_error_month"] = [
        mon.loc[mon["channel"] == c, "rel_error"].abs().mean() if c != "all"
        else mon["rel_error"].abs().mean() for c in tot["channel"]]
    return mon, tot


def sepdec_table(check: pd.DataFrame, calibs: dict[str, cal.Calibration],
                 base: Scenario) -> pd.DataFrame:
    """Sep-Dec KPIs of the fitted scenario (check run) and of both calibrations."""
    st = cal.summarise_stats(cal.period_stats(check))
    rows = [{"source": "fitted scenario (check run)", **st}]
    for reading, c in calibs.items():
        rows.append({"source": f"calibration, {reading} reading", **c.stats,
                     **asdict(c.behaviour), "handling_min": c.behaviour.handling_min(base),
                     "demand_scale_sep_dec": c.demand_scale})
    return pd.DataFrame(rows)


def counterfactual_tables(s: Settings, base, spec, params, behaviour, obs, scn,
                          fitted_by_day=None, executor=None):
    """Window counts (10-27 Feb) and 2020 totals of the fitted scenario, without
    campaigns and without lockdowns (same seeds, ``s.counterfactual_reps`` replications).
    ``fitted_by_day``: the fitted scenario's answered per day (:func:`answered_by_day` of
    ``scn``) when the caller already simulated it (the check run: its first replications)."""
    lo, hi = (int(x // 86400) for x in window_seconds(spec))
    feb = pd.Period(spec.months()[1], freq="M")
    f_lo = (feb.start_time.date() - spec.start).days
    f_hi = f_lo + feb.days_in_month
    variants = {
        SCENARIO_NAME: scn,
        f"{SCENARIO_NAME}_no_campaigns": build_scenario(
            s.base, spec, params, behaviour, base, f"{SCENARIO_NAME}_no_campaigns", campaigns=False),
        f"{SCENARIO_NAME}_no_lockdown": build_scenario(
            s.base, spec, params, behaviour, base, f"{SCENARIO_NAME}_no_lockdown", lockdowns=False),
    }
    n = s.counterfactual_reps
    if fitted_by_day is not None:  # the check's first n replications: the same seeds
        fitted_by_day = {c: x[:n] for c, x in fitted_by_day.items()}
    by_day = {k: (fitted_by_day if k == SCENARIO_NAME and fitted_by_day is not None
                  else answered_by_day(v, n, s.seed, s.jobs, executor=executor))
              for k, v in variants.items()}
    w_rows, c_rows = [], []
    for name, d in by_day.items():
        win = sum(d[c][:, lo:hi].sum(axis=1) for c in F.CHANNELS)
        feb_all = sum(d[c][:, f_lo:f_hi].sum(axis=1) for c in F.CHANNELS)
        mean, hw = _mean_hw(win)
        w_rows.append({"scenario": name, "window_answered": mean, "window_hw": hw,
                       "february_answered": feb_all.mean(),
                       "window_share_of_february": float((win / feb_all).mean()),
                       **{f"window_{c}": d[c][:, lo:hi].sum(axis=1).mean() for c in F.CHANNELS}})
        row = {"scenario": name}
        for c in F.CHANNELS:
            m, h = _mean_hw(d[c].sum(axis=1))
            row[f"{c}_answered"], row[f"{c}_hw"] = m, h
        row["all_answered"] = sum(row[f"{c}_answered"] for c in F.CHANNELS)
        c_rows.append(row)
    window = pd.DataFrame(w_rows)
    fitted = window.loc[0, "window_answered"]
    window["uplift_vs_no_campaigns"] = fitted / window.loc[1, "window_answered"] - 1
    window["published_2020"] = obs.window
    window["published_february"] = obs.feb_total
    window["published_share"] = obs.window / obs.feb_total
    window["published_2019"] = 244
    return window, pd.DataFrame(c_rows)


def hour_sensitivity(s, base, spec, best, behaviour, obs, eps, check, log,
                     executor=None, checked_scn: Scenario | None = None) -> pd.DataFrame:
    """Refit demand with other phone hour profiles (behaviour held fixed). ``check``: KPIs
    of the check run (of ``checked_scn``, the fitted scenario)."""
    st = cal.summarise_stats(cal.period_stats(check))
    rows = [{"hour_profile": "default", "iterations": 0, "simulations": 0,
             **_sens_row(best, F.DemandModel(spec), st)}]
    for name in s.hour_profiles:
        log(f"hour-profile sensitivity: {name}")
        sp = F.with_params(spec, hour_profiles={**spec.hour_profiles,
                                                "phone": tuple(HOUR_PROFILES[name])})
        m = F.DemandModel(sp)
        sim = Simulator(s, base, sp, m, behaviour, executor=executor)
        # Its first simulation (the fitted demand) differs from the check run in the phone
        # alone: chat and e-mail come from the check's first replications.
        if checked_scn is not None:
            sim.remember(checked_scn, check)
        fp = F.fixed_point(sim, m, obs, best.params, max_iter=s.sens_iterations, tol=0.01,
                           eps=eps, family=s.family)
        st = cal.summarise_stats(cal.period_stats(sim.last_kpis))
        log(f"  {sim.runs} simulations, {sim.phone_only_runs} of the phone alone (chat and "
            "e-mail reused)")
        rows.append({"hour_profile": name, "iterations": len(fp.trace), "simulations": sim.runs,
                     **_sens_row(fp.fit, m, st)})
    out = pd.DataFrame(rows)
    ref = out.iloc[0]
    out["phone_demand_change"] = out["phone_expected_2020"] / ref["phone_expected_2020"] - 1
    return out


def _sens_row(f: F.FitResult, model: F.DemandModel, st: dict) -> dict:
    """Fitted phone demand and the Sep-Dec KPIs of the last simulation."""
    E = model.expected(f.params)
    return {"phone_annual": f.params["phone.annual"], "phone_expected_2020": E[0, :F.N_MONTHS].sum(),
            "phone_answered_2020_fitted": f.mu[0, :F.N_MONTHS].sum(),
            "sepdec_answer_rate_caller": st["answer_rate_caller"],
            "sepdec_answer_rate_attempt": st["answer_rate_attempt"],
            "sepdec_mean_attempts": st["mean_attempts"], "sepdec_utilisation": st["utilisation"]}


def delay_sensitivity(s, spec, params, behaviour, main: cal.Calibration, sepdec_obs, base, log,
                      executor=None):
    """Calibrate the chosen reading again with other fixed redial delays."""
    rows = [main.row(base)]
    n = 0
    for d in s.delays:
        log(f"redial-delay sensitivity: {d:g} min")
        c = cal.calibrate(s.base, F.to_channel_demand(params, spec, "phone"), sepdec_obs, s.reading,
                          cal.Behaviour(behaviour.handling_scale, behaviour.persistence, d),
                          s.cal_reps, s.seed, s.jobs, demand_scale=main.demand_scale,
                          max_evals=s.delay_cal_evals, log=log, executor=executor,
                          jac0=main.jacobian)
        n += c.evaluations
        rows.append(c.row(base))
    return pd.DataFrame(rows), n


# ---------------------------------------------------------------------------------------
# Scenario files
# ---------------------------------------------------------------------------------------


def _round(x: float, digits: int = 5) -> float:
    return float(f"{x:.{digits}g}")


def _demand_dict(params, spec, channel, lockdowns=True, campaigns=True) -> dict:
    d = F.to_channel_demand(params, spec, channel, lockdowns, campaigns).model_dump(mode="json")
    d["annual"] = _round(d["annual"])
    d["trend_per_year"] = _round(d["trend_per_year"], 4)
    for e in d["events"]:
        e["amplitude"] = _round(e["amplitude"], 4)
        if e["decay_days"] is not None:
            e["decay_days"] = _round(e["decay_days"], 4)
        if e["end"] is None:
            del e["end"]
    return d


class _Dumper(yaml.SafeDumper):
    pass


def _flow_dicts(dumper, data):
    # Events and distributions as one-line mappings; everything else in block style.
    flow = len(data) <= 8 and all(not isinstance(v, dict | list) for v in data.values())
    return dumper.represent_mapping("tag:yaml.org,2002:map", data, flow_style=flow)


_Dumper.add_representer(dict, _flow_dicts)


def _dump(data: dict) -> str:
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100,
                     default_flow_style=None)


def _comment(paragraphs: list[str]) -> str:
    """YAML comment lines: each paragraph wrapped at 96 characters; lines starting with
    two spaces are kept as they are."""
    out = []
    for par in paragraphs:
        if not par:
            out.append("#")
        elif par.startswith("  "):
            out.append(f"# {par}")
        else:
            out += [f"# {ln}" for ln in textwrap.wrap(par, 96)]
    return "\n".join(out) + "\n"


def fitted_scenario_text(o: Outcome, base_ref: str) -> str:
    s, b, p = o.settings, o.behaviour, o.best.params
    tot = o.totals.set_index("channel")
    st = o.sepdec.iloc[0]
    header = [
        "Fitted 2020 scenario of hulplijn 1712 (issue 5). Written by the fit command; do not "
        "edit by hand: rerun it.",
        f"  {o.meta['command']}",
        f"  {o.meta['created']}, version {__version__}, seed {s.seed}, {s.reps} replications "
        f"per simulation, wall time {o.wall_s:.0f} s{' (QUICK: not a real fit)' if s.quick else ''}",
        "",
        "Demand (phone, chat, e-mail) fitted by maximum likelihood (negative binomial) to the "
        "published answered contacts per month of 2020 (seed 000) and the 429 contacts of "
        "10-27 February 2020 (seed 004), through the simulated answer probability (fixed "
        "point of simulate <-> fit; docs/fit.md). The lockdown events start "
        f"{o.spec.lockdown_lag_days} days after the decisions of 18 March and 2 November "
        "(profiled lag of the demand response). Published vs simulated answered in 2020 "
        f"(check run, {s.check_reps} replications, 95% CI):",
    ]
    for ch in F.CHANNELS:
        r = tot.loc[ch]
        header.append(f"  {ch:5s}: {r['observed']:,.0f} published, {r['simulated']:,.0f} +/- "
                      f"{r['sim_hw']:.0f} simulated ({r['rel_error']:+.1%}); mean |error| per "
                      f"month {r['mean_abs_rel_error_month']:.1%}")
    header += [
        f"Behaviour calibrated to Sep-Dec 2020 ({s.reading} reading of the 40-45% answered; "
        f"3-4 attempts per caller; seed 000): talk + wrap-up x{b.handling_scale:.3f} of the "
        f"baseline (mean {b.handling_min(o.base):.0f} min), redial probability "
        f"{b.persistence:.3f} after every failed attempt, redial delay {b.delay_min:g} min "
        f"(fixed). Sep-Dec in the check run: {st['answer_rate_caller']:.1%} of callers "
        f"answered, {st['answer_rate_attempt']:.1%} of attempts, {st['mean_attempts']:.2f} "
        "attempts per caller.",
        "Weekday factors and hour profiles are assumptions (call times are not recorded, seed "
        "000 answer 2): the base scenario's. Trend, lockdown plateaus and campaign decay are "
        "fixed; parameters.txt in the fit report lists fitted and fixed values with 95% "
        "intervals.",
    ]
    body = {
        "base": base_ref,
        "name": SCENARIO_NAME,
        "description": (
            "2020 with demand fitted to the published answered contacts and caller behaviour "
            f"calibrated to Sep-Dec 2020 ({s.reading} reading); all other settings from the "
            "baseline."),
        "phone": {
            "talk_min": b.overrides(o.base)["phone.talk_min"],
            "wrap_up_min": b.overrides(o.base)["phone.wrap_up_min"],
            "redial": {"probability": [round(b.persistence, 4)],
                       "delay_min": b.overrides(o.base)["phone.redial.delay_min"]},
        },
        "demand": {ch: _demand_dict(p, o.spec, ch) for ch in F.CHANNELS},
    }
    return _comment(header) + _dump(body)


def derived_scenario_text(o: Outcome, kind: str) -> str:
    p = o.best.params
    no_lock = kind == "no_lockdown"
    cf = o.counterfactuals.set_index("scenario")
    name = f"{SCENARIO_NAME}_{kind}"
    what = "lockdowns" if no_lock else "media campaigns"
    header = [
        f"Counterfactual of {SCENARIO_NAME}.yaml: the fitted 2020 demand without the {what} "
        "(same levels, trend and other events, same behaviour). Written by the fit command.",
        f"Simulated answered in 2020 ({o.settings.check_reps} replications): "
        + ", ".join(f"{c} {cf.loc[name, f'{c}_answered']:,.0f}" for c in F.CHANNELS)
        + " (fitted scenario: "
        + ", ".join(f"{c} {cf.loc[SCENARIO_NAME, f'{c}_answered']:,.0f}" for c in F.CHANNELS)
        + ").",
    ]
    body = {
        "base": f"{SCENARIO_NAME}.yaml",
        "name": name,
        "description": f"Fitted 2020 demand without the {what} (counterfactual).",
        "demand": {ch: {"events": _demand_dict(p, o.spec, ch, lockdowns=not no_lock,
                                               campaigns=no_lock)["events"]}
                   for ch in F.CHANNELS},
    }
    return _comment(header) + _dump(body)


def _write_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def write_scenarios(o: Outcome) -> list[Path]:
    folder = Path(o.settings.scenario_out)
    folder.mkdir(parents=True, exist_ok=True)
    base_ref = os.path.relpath(Path(o.settings.base).resolve(), folder.resolve())
    out = [folder / f"{SCENARIO_NAME}.yaml"]
    _write_text(out[0], fitted_scenario_text(o, base_ref))
    for kind in ("no_lockdown", "no_campaigns"):
        out.append(folder / f"{SCENARIO_NAME}_{kind}.yaml")
        _write_text(out[-1], derived_scenario_text(o, kind))
    return out


# ---------------------------------------------------------------------------------------
# Figures (habit 11: data and an axis in, the axis out)
# ---------------------------------------------------------------------------------------


