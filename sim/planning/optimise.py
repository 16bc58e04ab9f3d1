"""Staffing optimiser: the cheapest extra staffed hours that reach a KPI target.

Method: **greedy marginal analysis on common random numbers.** The search starts from
the scenario as it is (its own ``extra`` lines included). A candidate is one increment
of capacity, "+1 phone line in province P on weekdays W during part of day D" or "+1
chat line on weekdays W during part of day D", added as a ``phone.staffing.extra`` /
``chat.staffing.extra`` entry over the whole horizon. At every step each candidate is
simulated on top of the current schedule with the same seed and replications
(``reps``, few: differences between candidates are paired, so they are far more precise
than the KPI itself), and the candidate with the largest gain in the target KPI per
euro is added. The euro cost of a candidate is the simulated difference in
``cost_total`` (staffed hours x ``costs`` of the scenario). The search stops when

* the target is met on the search replications and then confirmed on ``confirm_reps``
  replications (the confirmed mean meets the target), or
* with a budget, no candidate fits in what is left of it, or
* no candidate improves the KPI, or ``max_steps`` increments have been added.

The verdict is read from the confirmed 95% confidence interval: status ``"target
reached"`` only when the whole interval clears the threshold; when the mean meets it but
the interval straddles it, ``"not shown at 95%"``, with an estimate of the confirmation
replications that would settle it (:func:`replications_to_settle`).

Greedy marginal analysis is the classic heuristic for staffing integer line counts
(add the server with the best marginal return per unit cost; optimal when returns are
diminishing and separable, a good heuristic otherwise). It is not guaranteed optimal:
lines in different provinces interact through option 0, overflow and redials.

The Erlang quick estimate (:func:`erlang_estimate`) sizes every province and part of
day on its own as a loss system: offered load ``a = new callers per open hour x mean
holding time (talk + wrap-up)``, lines ``c`` the smallest with Erlang B ``B(c, a) <= 1 -
target``. It ignores redials (extra load, but also second chances), callbacks and
overflow; the simulator then tells what that staffing really achieves.

Units: money in euro over the simulated horizon, hours in staffed line-hours.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sim.config import PROVINCES, WEEKDAYS, Scenario, ScenarioError, WeeklyHours, parse_interval
from sim.experiments.executors import as_finished
from sim.experiments.replications import (
    CHANNELS,
    Replication,
    RunResult,
    phone_only_reusable,
    restaffed,
    run_replication,
    t_interval,
)
from sim.model.arrivals import hourly_rate
from sim.model.calendar import closed_days
from sim.model.memo import MEMO
from sim.planning.decoupling import reuse_reasons
from sim.results.proportions import is_proportion
from sim.theory.exact import erlang_b

# ---------------------------------------------------------------------------------------
# Targets
# ---------------------------------------------------------------------------------------

KPI_ALIASES: dict[str, str] = {
    "answer_rate_per_caller": "answer_rate_caller",
    "answer_rate_per_attempt": "answer_rate_attempt",
}

# Overall KPIs (by="all") that extra phone or chat lines can move, with the channel whose
# lines move them and whether higher is better. E-mail and cost KPIs are not targets.
TARGET_KPIS: dict[str, tuple[str, bool]] = {
    "answer_rate_caller": ("phone", True),
    "answer_rate_caller_direct": ("phone", True),
    "answer_rate_attempt": ("phone", True),
    "answer_rate_attempt_all": ("phone", True),
    "callers_answered": ("phone", True),
    "answered": ("phone", True),
    "mean_attempts": ("phone", False),
    "share_2plus_attempts": ("phone", False),
    "chat_answered": ("chat", True),
    "chat_answer_rate": ("chat", True),
    "chat_within_target": ("chat", True),
}

_TARGET = re.compile(r"^\s*([A-Za-z0-9_]+)\s*(>=|<=|=>|=<|>|<|==|=)?\s*(.*?)\s*$")


@dataclass(frozen=True)
class Target:
    """``kpi op value``: ``>=`` for a KPI where higher is better, ``<=`` otherwise."""

    kpi: str
    op: str
    value: float | None  # None: no threshold (maximise / minimise within a budget)
    text: str

    @property
    def sign(self) -> float:
        """+1 when the KPI should go up, -1 when it should go down."""
        return 1.0 if self.op == ">=" else -1.0

    @property
    def channel(self) -> str:
        return TARGET_KPIS[self.kpi][0]

    def met(self, x: float) -> bool:
        if self.value is None or x != x:  # no threshold, or NaN
            return False
        return x >= self.value if self.op == ">=" else x <= self.value

    def shown(self, low: float, high: float) -> bool:
        """True if the confidence interval ``[low, high]`` clears the threshold: all of it
        on the good side (``low >= value`` for ``>=``, ``high <= value`` for ``<=``)."""
        if self.value is None or low != low or high != high:
            return False
        return low >= self.value if self.op == ">=" else high <= self.value

    def missed(self, low: float, high: float) -> bool:
        """True if the confidence interval ``[low, high]`` lies wholly on the bad side of
        the threshold (``high < value`` for ``>=``, ``low > value`` for ``<=``)."""
        if self.value is None or low != low or high != high:
            return False
        return high < self.value if self.op == ">=" else low > self.value

    def gain(self, new: float, old: float) -> float:
        """Improvement from ``old`` to ``new`` in the target's direction."""
        return self.sign * (new - old)


def parse_target(text: str | None) -> Target:
    """``"answer_rate_per_caller>=0.8"`` -> Target; ``None`` or ``""``: maximise the answer
    rate per caller (budget mode). A bare KPI name means "best value for the budget".

    Raises ScenarioError("--target", text, message) naming the problem.
    """
    if text is None or not text.strip():
        return Target("answer_rate_caller", ">=", None, "answer_rate_caller (best for the budget)")
    m = _TARGET.match(text)
    if m is None or (m.group(2) is None and m.group(3)):
        raise ScenarioError("--target", text, "expected KPI>=VALUE or KPI<=VALUE, "
                            "e.g. answer_rate_per_caller>=0.8")
    name, op, raw = m.group(1), m.group(2), m.group(3)
    kpi = KPI_ALIASES.get(name, name)
    if kpi not in TARGET_KPIS:
        names = sorted([*TARGET_KPIS, *KPI_ALIASES])
        raise ScenarioError("--target", text, f"unknown target KPI {name!r}; choose one of "
                            f"{', '.join(names)}")
    higher_better = TARGET_KPIS[kpi][1]
    if op is None:
        return Target(kpi, ">=" if higher_better else "<=", None, f"{kpi} (best for the budget)")
    if op in ("==", "=", ">", "<"):
        raise ScenarioError("--target", text, f"operator {op!r} not supported: use >= or <=")
    op = {"=>": ">=", "=<": "<="}.get(op, op)
    if op != (">=" if higher_better else "<="):
        better = "higher" if higher_better else "lower"
        raise ScenarioError("--target", text, f"{kpi} is better when {better}: use "
                            f"{'>=' if higher_better else '<='}")
    percent = raw.endswith("%")
    try:
        value = float(raw[:-1] if percent else raw)
    except ValueError:
        raise ScenarioError("--target", text, f"threshold {raw!r} is not a number") from None
    if percent:
        value /= 100.0
    if is_proportion(kpi) and not 0.0 < value <= 1.0:
        raise ScenarioError("--target", text, f"{kpi} is a share: the threshold must lie in "
                            f"(0, 1] (or 0-100%), got {value:g}")
    if not np.isfinite(value) or value < 0:
        raise ScenarioError("--target", text,
                            f"threshold must be a finite number >= 0, got {raw!r}")
    return Target(kpi, op, value, f"{kpi}{op}{value:g}")


# ---------------------------------------------------------------------------------------
# Candidates
# ---------------------------------------------------------------------------------------


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def day_parts(hours: WeeklyHours, split_at: str = "13:00") -> list[str]:
    """Parts of the day for candidate increments, as ``"HH:MM-HH:MM"``.

    The opening intervals of all weekdays are merged (overlapping or touching ones
    join), and an interval is cut in two at ``split_at`` when that lies strictly inside
    it: Mon-Fri 9-18 -> 09:00-13:00 and 13:00-18:00; chat 13-17 and 18-22 -> those two.
    """
    h, m = (int(x) for x in split_at.split(":"))
    cut = h * 60 + m
    spans = sorted({iv for wd in range(7) for iv in hours.minutes(wd)})
    merged: list[list[int]] = []
    for a, b in spans:
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    out = []
    for a, b in merged:
        pieces = [(a, cut), (cut, b)] if a < cut < b else [(a, b)]
        out += [f"{_hhmm(x)}-{_hhmm(y)}" for x, y in pieces]
    return out


def open_weekdays(hours: WeeklyHours) -> tuple[str, ...]:
    """Weekdays with at least one opening interval, in calendar order."""
    return tuple(wd for wd in WEEKDAYS if getattr(hours, wd))


def _weekday_label(days: Sequence[str]) -> str:
    idx = [WEEKDAYS.index(d) for d in days]
    if len(idx) > 2 and idx == list(range(idx[0], idx[-1] + 1)):
        return f"{days[0]}-{days[-1]}"
    return ",".join(days)


@dataclass(frozen=True, order=True)
class Increment:
    """One extra staffed line: a channel, a province (phone only), a part of the day and
    the weekdays it applies, over the whole horizon."""

    channel: str  # "phone" or "chat"
    province: str | None
    hours: str  # "HH:MM-HH:MM"
    weekdays: tuple[str, ...]

    @property
    def label(self) -> str:
        where = f" {self.province}" if self.province else ""
        return f"{self.channel}{where} {self.hours} {_weekday_label(self.weekdays)}"

    def extra(self, lines: int, start: dt.date, end: dt.date) -> dict:
        """The ``staffing.extra`` entry of ``lines`` such increments."""
        entry = {"name": f"optimiser: {self.label}", "from": start, "to": end,
                 "weekdays": list(self.weekdays), "hours": self.hours, "lines": int(lines)}
        if self.channel == "phone":
            entry["provinces"] = [self.province]
        return entry


def parse_parts(text: str | None) -> list[str] | None:
    """``"09:00-13:00,13:00-18:00"`` -> list (validated); None -> None (derive)."""
    if text is None:
        return None
    parts = [p.strip() for p in text.split(",") if p.strip()]
    for p in parts:
        try:
            parse_interval(p)
        except ValueError as e:
            raise ScenarioError("--parts", text, str(e)) from None
    if not parts:
        raise ScenarioError("--parts", text, "give at least one HH:MM-HH:MM interval")
    return parts


def parse_weekday_groups(text: str | None) -> list[tuple[str, ...]] | None:
    """``"mon,tue;wed,thu,fri"`` -> [("mon", "tue"), ("wed", "thu", "fri")]; None -> None."""
    if text is None:
        return None
    groups = []
    for g in text.split(";"):
        days = tuple(d.strip().lower() for d in g.split(",") if d.strip())
        bad = [d for d in days if d not in WEEKDAYS]
        if bad or not days:
            raise ScenarioError("--weekday-groups", text, f"unknown weekday(s) {bad or g!r}; "
                                f"use {', '.join(WEEKDAYS)}, groups separated by ';'")
        groups.append(tuple(sorted(days, key=WEEKDAYS.index)))
    flat = [d for g in groups for d in g]
    if len(flat) != len(set(flat)):
        raise ScenarioError("--weekday-groups", text, "a weekday appears in two groups")
    return groups


def candidate_increments(
    scn: Scenario,
    channels: Sequence[str] = ("phone",),
    phone_parts: list[str] | None = None,
    chat_parts: list[str] | None = None,
    weekday_groups: list[tuple[str, ...]] | None = None,
) -> list[Increment]:
    """Every increment the search considers: per channel, (province x) part of day x
    weekday group. Parts default to :func:`day_parts` of the channel's opening hours;
    weekday groups default to one group, every weekday the channel opens. Groups are
    cut to the channel's open weekdays (a group with none is dropped)."""
    out: list[Increment] = []
    for channel in channels:
        hours = scn.phone.opening_hours if channel == "phone" else scn.chat.opening_hours
        parts = (phone_parts if channel == "phone" else chat_parts) or day_parts(hours)
        days_open = open_weekdays(hours)
        groups = [tuple(d for d in g if d in days_open) for g in (weekday_groups or [days_open])]
        groups = [g for g in groups if g]
        provinces = PROVINCES if channel == "phone" else (None,)
        for prov in provinces:
            for part in parts:
                for g in groups:
                    out.append(Increment(channel, prov, part, g))
    return out


Schedule = dict[Increment, int]


def with_schedule(scn: Scenario, schedule: Schedule, name: str | None = None) -> Scenario:
    """The scenario with the schedule's lines appended to its own ``staffing.extra``
    (date range = the horizon). Returns a validated Scenario."""
    data = scn.model_dump(by_alias=True)
    start, end = scn.horizon.start, scn.horizon.end
    for inc, n in schedule.items():
        if n > 0:
            data[inc.channel]["staffing"]["extra"].append(inc.extra(n, start, end))
    if name is not None:
        data["name"] = name
    return Scenario.model_validate(data)


def add(schedule: Schedule, inc: Increment, n: int = 1) -> Schedule:
    out = dict(schedule)
    out[inc] = out.get(inc, 0) + n
    return out


# ---------------------------------------------------------------------------------------
# Evaluation (shared with sim.planning.sensitivity)
# ---------------------------------------------------------------------------------------


def _overall(task: tuple) -> dict[str, float]:
    """Overall (by="all") KPIs of one replication: a picklable worker function."""
    scn, seed, rep = task
    return overall_kpis(run_replication(scn, seed, rep))


def overall_kpis(rep: Replication) -> dict[str, float]:
    """The overall (by="all") KPIs of a replication, name -> value."""
    k = rep.kpis
    return k[k["by"] == "all"].set_index("kpi")["value"].to_dict()


def _replication(task: tuple) -> Replication:
    """One replication with its KPI table: the picklable worker of :class:`Evaluations`,
    with the process's memo of shared set-up on (:mod:`sim.model.memo`): the scenarios
    it is asked for share their replications' callers and calendars."""
    scn, seed, rep, channels, overall_only = task
    with MEMO.on():
        return run_replication(scn, seed, rep, channels=channels, overall_only=overall_only)


def scenario_key(scn: Scenario) -> str:
    """What decides a replication's results: the resolved scenario without its name and
    description.

    They only label results (the model never reads them), so the optimiser's
    "optimised" scenario and the search's identical schedule share their replications.
    """
    return scn.model_dump_json(exclude={"name", "description"})


def phone_key(scn: Scenario) -> str:
    """What decides a phone-only, overall-only replication's phone results when
    :func:`sim.experiments.replications.phone_only_reusable`: the scenario without its
    name and description, its chat and e-mail settings and demand, and its costs (the staffed hours and
    costs they decide are recomputed, :func:`sim.experiments.replications.restaffed`).
    Scenarios differing only there (a chat-only subsidy option) share one simulation."""
    return scn.model_dump_json(exclude={"name": True, "description": True, "chat": True,
                                        "email": True, "costs": True, "demand": {"chat", "email"}})


class Evaluations:
    """Replications simulated so far, reused whenever the same one is asked for again.

    A replication is decided by the scenario (:func:`scenario_key`), the seed, the
    replication number and the channels simulated, so one asked for twice (the base
    scenario in the search and in the final comparison, the search replication of a
    schedule and its confirmation) is simulated once and the stored KPI table is reused:
    results are bit-identical to simulating it again. ``channels`` (default for every
    request; None: all) and ``overall_only`` (per request) are passed to
    :func:`run_replication`: phone KPIs and costs are the same with or without chat and
    e-mail, and overall KPIs the same with or without the others. ``simulated`` and ``requested`` count model
    runs done and asked for. KPI tables are kept in memory (tens of kB each).

    ``saved`` (:class:`sim.experiments.saved.SavedResults`, the command's partial folder):
    every replication simulated is also saved there as soon as it is finished, and one
    saved by an interrupted run of the command (``--resume``) is loaded instead of
    simulated, keyed by everything that decides it (the key above, seed, replication);
    ``resumed`` counts those. The values are the pickled KPI tables: bit-identical.
    """

    def __init__(self, executor, channels: Sequence[str] | None = None, saved=None):
        self.executor = executor
        self.channels = _channels(channels)
        self._done: dict[tuple, tuple[str, Replication]] = {}  # key -> (scenario_key, rep)
        self.saved = saved
        self.simulated = 0
        self.requested = 0
        self.resumed = 0  # replications loaded from ``saved`` instead of simulated
        self.restaffed = 0  # replications shared with a scenario differing only in chat/e-mail

    def replications(self, scenarios: Sequence[Scenario], reps: int | Sequence[int], seed: int,
                     progress: Callable[[int], None] | None = None,
                     channels: Sequence[str] | None = None,
                     overall_only: bool = False) -> list[list[Replication]]:
        """Replications ``reps`` (a count: ``0..reps-1``) of every scenario, simulating in
        one batch only those not done yet (so all cores stay busy). ``channels``: as in
        the constructor (default: the constructor's)."""
        reps = list(range(reps)) if isinstance(reps, int) else list(reps)
        ch = self.channels if channels is None else _channels(channels)
        full = [scenario_key(s) for s in scenarios]
        # Phone-only overall KPIs do not depend on chat and e-mail settings: scenarios
        # that differ only there share one simulation, restaffed for each (exact).
        shared = ch == ("phone",) and overall_only
        keys = [((phone_key(s) if shared and phone_only_reusable(s) else f), ch, overall_only)
                for s, f in zip(scenarios, full, strict=True)]
        todo: dict[tuple, tuple] = {}
        for s, k in zip(scenarios, keys, strict=True):
            for r in reps:
                if (k, seed, r) not in self._done and (k, seed, r) not in todo \
                        and not self._resume((k, seed, r)):
                    todo[(k, seed, r)] = (s, seed, r, ch, overall_only)
        self.requested += len(scenarios) * len(reps)
        if progress is not None and len(scenarios) * len(reps) > len(todo):
            progress(len(scenarios) * len(reps) - len(todo))
        keys_todo = list(todo)
        # As they finish, not in task order: each is saved at once, so an interruption
        # loses none a worker finished while an earlier task was still running.
        for i, out in as_finished(self.executor, _replication, list(todo.values())):
            key = keys_todo[i]
            self._done[key] = (scenario_key(todo[key][0]), out)
            if self.saved is not None:  # at once: an interruption loses no finished one
                self.saved.save(self.saved.key(*key), self._done[key])
            self.simulated += 1
            if progress is not None:
                progress(1)
        return [[self._stored(k, seed, r, s, f) for r in reps]
                for k, s, f in zip(keys, scenarios, full, strict=True)]

    def _resume(self, key: tuple) -> bool:
        """Whether the replication of ``key`` was loaded from ``saved`` (an interrupted
        run's), which then holds it as if simulated here."""
        if self.saved is None:
            return False
        got = self.saved.load(self.saved.key(*key))
        if got is None:
            return False
        self._done[key] = got
        self.resumed += 1
        return True

    def _stored(self, key: tuple, seed: int, r: int, scn: Scenario, full: str) -> Replication:
        """The stored replication for ``scn``: as simulated, or restaffed when it was
        simulated for a scenario that differs only in chat, e-mail or costs."""
        made_for, rep = self._done[(key, seed, r)]
        if made_for == full:
            return rep
        self.restaffed += 1
        return restaffed(rep, scn, seed)

    def run(self, scn: Scenario, reps: int, seed: int,
            channels: Sequence[str] | None = None) -> RunResult:
        """Replications ``0..reps-1`` of ``scn`` as :func:`sim.experiments.replications.run`
        returns them (without progress bar or checkpoints)."""
        return RunResult(scn, seed, self.replications([scn], reps, seed, channels=channels)[0])


def _channels(channels: Sequence[str] | None) -> tuple[str, ...]:
    """Channels in a canonical order (None: all), for the cache key."""
    return CHANNELS if channels is None else tuple(c for c in CHANNELS if c in {*channels, "phone"})


def evaluate(
    scenarios: Sequence[Scenario],
    reps: int,
    seed: int,
    executor,
    progress: Callable[[int], None] | None = None,
    cache: Evaluations | None = None,
    channels: Sequence[str] | None = None,
) -> list[pd.DataFrame]:
    """Replications ``0..reps-1`` of every scenario in one batch (so all cores stay busy).

    Returns per scenario a frame of overall KPIs, one row per replication (index).
    Same seed for every scenario: common random numbers. With ``cache``, replications
    it holds are reused (its executor is used); identical scenarios of the batch are
    simulated once either way. ``channels``: see :class:`Evaluations`.
    """
    cache = cache if cache is not None else Evaluations(executor)
    done = cache.replications(scenarios, reps, seed, progress, channels, overall_only=True)
    index = pd.RangeIndex(reps, name="replication")
    return [pd.DataFrame([overall_kpis(r) for r in reps_], index=index) for reps_ in done]


# ---------------------------------------------------------------------------------------
# Erlang quick estimate
# ---------------------------------------------------------------------------------------


def lines_for_blocking(a: float, max_blocking: float, c_max: int = 500) -> int:
    """Smallest c >= 1 with Erlang B(c, a) <= max_blocking."""
    if max_blocking >= 1.0:
        return 1
    for c in range(1, c_max + 1):
        if erlang_b(c, a) <= max_blocking:
            return c
    raise ValueError(f"more than {c_max} lines needed for load {a:.3g} erlang")


def route_shares(scn: Scenario) -> dict[str, float]:
    """Share of new callers whose first attempt reaches each province's lines.

    Callers choosing option 0 go to the fixed province (policy ``fixed``); under the
    other policies they are spread like everyone else (an approximation: the busiest
    province then gets less than its share). Overflow is ignored.
    """
    ph = scn.phone
    w = np.array([ph.province_shares[p] for p in PROVINCES], dtype=float)
    w /= w.sum()
    p0 = ph.option0.probability
    out = {}
    for i, p in enumerate(PROVINCES):
        if ph.option0.routing.policy == "fixed":
            out[p] = w[i] * (1 - p0) + (p0 if p == ph.option0.routing.province else 0.0)
        else:
            out[p] = w[i]
    return out


def open_minutes_by_hour(scn: Scenario, part: str) -> np.ndarray:
    """Minutes of each hour of the horizon (length 24 x days) in which the phone is open
    and the clock lies in ``part`` (closed days and weekday hours applied)."""
    start, n_days = scn.horizon.start, scn.horizon.days
    closed = closed_days(start, n_days, scn.calendar)
    p0, p1 = parse_interval(part)
    out = np.zeros(24 * n_days)
    for d in range(n_days):
        day = start + dt.timedelta(d)
        if day in closed:
            continue
        for a, b in scn.phone.opening_hours.minutes(day.weekday()):
            lo, hi = max(a, p0), min(b, p1)
            for h in range(lo // 60, (hi + 59) // 60):
                ov = min(hi, (h + 1) * 60) - max(lo, h * 60)
                if ov > 0:
                    out[d * 24 + h] += ov
    return out


def erlang_estimate(scn: Scenario, target: float, parts: list[str] | None = None) -> pd.DataFrame:
    """Lines per province and part of day that Erlang B says keep blocking <= 1 - target.

    One row per (province, part): open hours over the horizon, expected new callers in
    them, ``callers_per_open_hour`` (lambda), ``holding_min`` (mean talk + wrap-up),
    ``load_erlang`` (a = lambda x holding), ``base_lines`` (the scenario's
    ``staffing.lines``, its extras ignored), ``lines_needed`` (c), ``blocking_at_c``,
    ``extra_lines`` (c - base, at least 0), ``extra_line_hours`` and ``extra_cost``.
    With one part spanning the opening hours this is the plain per-province estimate.
    """
    parts = parts or day_parts(scn.phone.opening_hours)
    rate = hourly_rate(scn.demand.phone, scn.horizon.start, scn.horizon.days)
    shares = route_shares(scn)
    holding_min = scn.phone.talk_min.mean_min + scn.phone.wrap_up_min.mean_min
    rows = []
    for part in parts:
        minutes = open_minutes_by_hour(scn, part)
        open_h = minutes.sum() / 60.0
        callers_all = float(np.sum(rate * minutes / 60.0))
        for prov in PROVINCES:
            lines = scn.phone.staffing.lines[prov]
            callers = callers_all * shares[prov]
            lam = callers / open_h if open_h > 0 else 0.0
            a = lam * holding_min / 60.0
            c = lines_for_blocking(a, 1.0 - target) if open_h > 0 else lines
            extra = max(0, c - lines)
            rows.append({
                "province": prov, "part": part, "open_hours": open_h, "callers": callers,
                "callers_per_open_hour": lam, "holding_min": holding_min, "load_erlang": a,
                "base_lines": lines, "blocking_at_base": float(erlang_b(max(lines, 1), a)),
                "lines_needed": c, "blocking_at_c": float(erlang_b(c, a)),
                "extra_lines": extra, "extra_line_hours": extra * open_h,
                "extra_cost": extra * open_h * scn.costs.phone_line_hour,
            })
    return pd.DataFrame(rows)


def erlang_schedule(scn: Scenario, table: pd.DataFrame) -> Schedule:
    """The increments (all open weekdays) that bring each province/part to Erlang's c."""
    days = open_weekdays(scn.phone.opening_hours)
    return {Increment("phone", r["province"], r["part"], days): int(r["extra_lines"])
            for _, r in table.iterrows() if r["extra_lines"] > 0}


# ---------------------------------------------------------------------------------------
# The greedy search
# ---------------------------------------------------------------------------------------


@dataclass
class OptimiseResult:
    target: Target
    budget: float | None
    schedule: Schedule
    status: str  # "target reached" (95% CI clears it), "not shown at 95%", "target not reached", ...
    message: str
    trace: pd.DataFrame  # one row per step (step 0 = the scenario as it is)
    evaluations: pd.DataFrame  # every candidate evaluated at every step
    increments: pd.DataFrame  # schedule table: block, lines, line-hours, cost
    confirmations: list[dict] = field(default_factory=list)  # every confirmation tried
    final: RunResult | None = None  # confirmation run of the chosen schedule
    ceiling: float = float("nan")  # KPI with ceiling_lines extra lines in every block
    ceiling_lines: int = 0
    reuse: bool = False  # candidates' gains reused across provinces (decoupled scenario)
    reuse_reasons: list[str] = field(default_factory=list)  # why not, when not

    @property
    def reused(self) -> int:
        """Candidate evaluations taken from an earlier step instead of simulated."""
        e = self.evaluations
        return int((e["simulated_at_step"] != e["step"]).sum()) if len(e) else 0

    @property
    def success(self) -> bool:
        return self.status == "target reached"


def better(value: float, best: float, rel: float = 1e-9) -> bool:
    """Whether gain per euro ``value`` beats ``best`` by more than rounding: candidates
    within ``rel`` (relative) of each other are ties, and the earlier candidate keeps
    its place. Gains are counts of callers over a fixed number of callers, so two
    candidates differ by far more than this or not at all; the tolerance makes a reused
    gain (the same number, computed from other floats) decide as a re-simulated one."""
    return value > best + rel * abs(best)


def _mean(df: pd.DataFrame, kpi: str) -> float:
    return float(df[kpi].mean()) if kpi in df else float("nan")


def optimise(
    scn: Scenario,
    target: Target,
    executor,
    budget: float | None = None,
    reps: int = 2,
    confirm_reps: int = 10,
    seed: int = 1,
    candidates: list[Increment] | None = None,
    max_steps: int = 60,
    log: Callable[[str], None] | None = None,
    ceiling_lines: int = 20,
    cache: Evaluations | None = None,
    reuse: bool | None = None,
    settle_max: int | None = None,
) -> OptimiseResult:
    """Greedy marginal analysis (see the module docstring). ``budget`` in euro over the
    horizon; ``reps`` replications per candidate evaluation, ``confirm_reps`` for the
    confirmation of a schedule that meets the target on the search replications.

    First the *ceiling* is simulated: ``ceiling_lines`` extra lines in every candidate
    block at once (practically unlimited lines). When even that misses the target, the
    target cannot be reached by adding these lines (for the answer rate per caller: the
    callers who hear the closed message and never call back set the limit) and the
    search stops at once with status "target not reachable".

    ``cache`` (an :class:`Evaluations` on ``executor``; a new one by default) holds every
    replication simulated, so none is simulated twice; pass one to reuse the
    confirmation replications afterwards. The search simulates only the target's
    channel (phone KPIs and costs are bit-identical without chat and e-mail), and so do
    the confirmations (the target KPI is the same value as a full run's; the search's
    replications of the schedule are reused); only the schedule finally chosen is
    simulated with every channel and full tables, for the final comparison.

    ``reuse`` (default: when :func:`sim.planning.decoupling.reuse_reasons` finds none):
    a candidate in province Q keeps the gain and cost simulated at an earlier step as
    long as the schedule changed only in other provinces since; only the candidates of
    the province that changed, and the new schedule itself when its candidate was
    reused, are simulated. With decoupled provinces and a separable target KPI this
    gives the search of ``reuse=False`` (the same choices, trace and confirmations; the
    reused gains equal the re-simulated ones up to floating-point rounding). ``False``
    simulates every candidate at every step; ``True`` on a coupled scenario is an error.

    ``settle_max`` (default None: every confirmation on ``confirm_reps``): a confirmation
    is *sequential*: ``confirm_reps`` replications, then twice as many, and so on up to
    ``settle_max`` (:func:`confirmation_looks`), stopping at the first look whose
    interval settles the question: all of it on the target's good side (target shown)
    or all of it on the bad side (target missed). With L looks each interval is taken
    at level 1 - 0.05 / L (Bonferroni), so the verdict holds at 95% overall although
    the count was chosen on the data. A look that settles nothing at ``settle_max``
    leaves the verdict as with a fixed count. The final comparison then runs on the
    replications of the last confirmation."""
    if target.value is None and budget is None:
        raise ScenarioError("--target", target.text, "give a threshold (KPI>=VALUE) or a --budget")
    log = log or (lambda _msg: None)
    cache = cache if cache is not None else Evaluations(executor)
    # The search reads only the target KPI and the costs: the target's channel is
    # simulated, chat (unless targeted) and e-mail are not (their staffed hours, all
    # the costs need, come from the calendar). Confirmations simulate every channel.
    search = ("phone",) if target.channel == "phone" else ("phone", target.channel)
    cands = candidates if candidates is not None else candidate_increments(scn, (target.channel,))
    kpi = target.kpi
    why_not = reuse_reasons(scn, kpi, {c.channel for c in cands})
    if reuse and why_not:
        raise ValueError(f"cannot reuse gains across provinces: {'; '.join(why_not)}")
    reuse = not why_not if reuse is None else reuse
    # Candidate -> (step simulated, trial KPIs' mean, gain, cost, hours) for reuse.
    known: dict[Increment, tuple[int, float, float, float, float]] = {}
    changed: str | None = None  # province of the increment added last
    schedule: Schedule = {}
    unlimited = with_schedule(scn, {c: ceiling_lines for c in cands})
    cur, top = evaluate([scn, unlimited], reps, seed, executor, cache=cache, channels=search)
    ceiling = _mean(top, kpi)
    base_cost = _mean(cur, "cost_total")
    base_hours = _mean(cur, "staffed_hours_total")
    trace = [{"step": 0, "added": "(scenario as it is)", "kpi": _mean(cur, kpi),
              "extra_cost": 0.0, "extra_hours": 0.0, "step_cost": 0.0, "step_gain": 0.0,
              "gain_per_keur": float("nan")}]
    log(f"step 0: {kpi} {_mean(cur, kpi):.4g} on {reps} replication(s); ceiling with "
        f"{ceiling_lines} extra lines in every block: {ceiling:.4g}")
    evals: list[dict] = []
    steps_of: list[tuple[Increment, float, float]] = []  # increment, step cost, step hours
    confirmations: list[dict] = []
    final: np.ndarray | None = None  # confirmed values of the target KPI, then the full run
    status, message = "", ""

    if settle_max is not None and target.value is None:
        raise ScenarioError("--settle-max", str(settle_max),
                            "a sequential confirmation needs a threshold to settle (KPI>=VALUE)")
    looks = confirmation_looks(confirm_reps, settle_max)
    level = 0.95 if settle_max is None else 1.0 - 0.05 / len(looks)

    def confirm(sched: Schedule) -> tuple[bool, np.ndarray]:
        # Decided on the search's kind of replication (the target KPI is the same as a
        # full run's, value for value, and the search replications of the schedule are
        # reused); only the schedule finally chosen is simulated in full, below.
        for n in looks:  # one look with a fixed count; growing ones with settle_max
            values = evaluate([with_schedule(scn, sched)], n, seed, executor, cache=cache,
                              channels=search)[0][kpi].to_numpy()
            m, lo, hi = t_interval(values, level=level, proportion=is_proportion(kpi))
            if target.shown(lo, hi) or target.missed(lo, hi):
                break
        ok = target.met(m)
        row = {"step": len(trace) - 1, "replications": n, "kpi": m, "ci_low": lo, "ci_high": hi,
               "met": ok, "shown": target.shown(lo, hi)}
        if settle_max is not None:
            row.update(level=level, settled=target.shown(lo, hi) or target.missed(lo, hi))
        confirmations.append(row)
        log(f"  confirmation on {n} replications: {kpi} {m:.4g} [{lo:.4g}, {hi:.4g}] "
            f"-> {'met' if ok else 'not met'}"
            + (f" ({'' if target.shown(lo, hi) else 'not '}shown at 95%)" if ok else ""))
        return ok, values

    if target.value is not None and not target.met(ceiling):
        status = "target not reachable"
        message = (f"even {ceiling_lines} extra lines in every candidate block give {kpi} "
                   f"{ceiling:.4g}: what is still lost cannot be won by adding these lines")
    elif target.met(_mean(cur, kpi)):
        ok, final = confirm(schedule)
        if ok:
            status, message = "target reached", "the scenario as it is already meets the target"
    step = 0
    while not status:
        if step >= max_steps:
            status = "target not reached" if target.value is not None else "max steps"
            message = f"stopped after max_steps={max_steps} increments"
            break
        step += 1
        fresh = [c for c in cands if not reuse or c not in known or c.province == changed]
        trials = [with_schedule(scn, add(schedule, c)) for c in fresh]
        outs = dict(zip(fresh, evaluate(trials, reps, seed, executor, cache=cache,
                                        channels=search), strict=True))
        spent = trace[-1]["extra_cost"]
        best = None
        improving_unaffordable = False
        for c in cands:
            if c in outs:
                out = outs[c]
                known[c] = (step, _mean(out, kpi), target.gain(_mean(out, kpi), _mean(cur, kpi)),
                            float((out["cost_total"] - cur["cost_total"]).mean()),
                            float((out["staffed_hours_total"] - cur["staffed_hours_total"]).mean()))
            at, value, gain, d_cost, d_hours = known[c]
            if at != step:  # reused: its KPI on top of the current schedule, by its gain
                value = _mean(cur, kpi) + target.sign * gain
            affordable = budget is None or spent + d_cost <= budget + 1e-6
            per_keur = gain / d_cost * 1000.0 if d_cost > 0 else float("nan")
            evals.append({"step": step, "candidate": c.label, "kpi": value, "gain": gain,
                          "step_cost": d_cost, "step_hours": d_hours, "gain_per_keur": per_keur,
                          "affordable": affordable, "simulated_at_step": at})
            if d_cost <= 0 or gain <= 0:
                continue
            if not affordable:
                improving_unaffordable = True
            elif best is None or better(per_keur, best[0]):
                best = (per_keur, c, outs.get(c), d_cost, d_hours, gain)
        if best is None:
            if improving_unaffordable:
                status = "budget spent"
                message = (f"no improving increment fits in the remaining budget "
                           f"(EUR {budget - spent:,.0f} of {budget:,.0f} left)")
            else:
                status, message = "no improvement", "no candidate improves the target KPI"
            if target.value is not None:
                status = "target not reached"
            break
        per_keur, c, out, d_cost, d_hours, gain = best
        schedule = add(schedule, c)
        changed = c.province
        if out is None:  # a reused candidate: simulate the new schedule itself, and take
            # its step figures from that run, as without reuse (the same numbers, from
            # the same floats, so the trace and schedule table are bit-identical)
            out = evaluate([with_schedule(scn, schedule)], reps, seed, executor, cache=cache,
                           channels=search)[0]
            d_cost = float((out["cost_total"] - cur["cost_total"]).mean())
            d_hours = float((out["staffed_hours_total"] - cur["staffed_hours_total"]).mean())
            gain = target.gain(_mean(out, kpi), _mean(cur, kpi))
            per_keur = gain / d_cost * 1000.0
            row = next(r for r in reversed(evals) if r["candidate"] == c.label)
            row.update(kpi=_mean(out, kpi), gain=gain, step_cost=d_cost, step_hours=d_hours,
                       gain_per_keur=per_keur, simulated_at_step=step)
        steps_of.append((c, d_cost, d_hours))
        cur = out
        trace.append({"step": step, "added": c.label, "kpi": _mean(cur, kpi),
                      "extra_cost": _mean(cur, "cost_total") - base_cost,
                      "extra_hours": _mean(cur, "staffed_hours_total") - base_hours,
                      "step_cost": d_cost, "step_gain": gain, "gain_per_keur": per_keur})
        log(f"step {step}: + {c.label}: {kpi} {_mean(cur, kpi):.4g} "
            f"(+{gain:.4g} for EUR {d_cost:,.0f}; extra EUR {trace[-1]['extra_cost']:,.0f})")
        if target.met(_mean(cur, kpi)):
            ok, final = confirm(schedule)
            if ok:
                status, message = "target reached", \
                    f"confirmed on {confirmations[-1]['replications']} replications"
    if final is None or confirmations and confirmations[-1]["step"] != len(trace) - 1:
        _, final = confirm(schedule)
    final = cache.run(with_schedule(scn, schedule, name=f"{scn.name}_optimised"),
                      confirmations[-1]["replications"], seed,
                      channels=CHANNELS)  # every channel, the full tables
    if target.value is None:
        message += f"; best {kpi} for the budget {confirmations[-1]['kpi']:.4g}"
    if status == "target reached" and not confirmations[-1]["shown"]:
        status, message = NOT_SHOWN, not_shown_message(target, final.values(kpi),
                                                       confirmations[-1], settle_max)
    elif target.value is not None and status != "target reached":
        message = (f"target {target.text} not reached: {message}; confirmed {kpi} "
                   f"{confirmations[-1]['kpi']:.4g}")
    return OptimiseResult(target, budget, schedule, status, message, pd.DataFrame(trace),
                          pd.DataFrame(evals), increments_table(steps_of), confirmations, final,
                          ceiling, ceiling_lines, reuse, why_not)


NOT_SHOWN = "not shown at 95%"


def search_note(result: OptimiseResult) -> str:
    """One line for the summary: were candidates' gains reused across provinces, and why not."""
    if result.reuse:
        return (f"Provinces do not interact in this scenario: {result.reused} candidate "
                "evaluations were taken from the step that last simulated them (the schedule "
                "had changed only in other provinces since), the rest simulated.")
    if result.reuse_reasons:
        return ("Every candidate simulated at every step (provinces interact: "
                + "; ".join(result.reuse_reasons) + ").")
    return "Every candidate simulated at every step."


def replications_to_settle(values, threshold: float, level: float = 0.95,
                           n_max: int = 100_000) -> int | None:
    """Estimated replications whose Student-t interval of the mean would exclude
    ``threshold``, if the mean and standard deviation of ``values`` stayed as they are:
    the smallest n with t(n-1) sd / sqrt(n) < |mean - threshold|. None when that takes
    more than ``n_max`` (the mean sits on the threshold) or the spread is unknown.

    An estimate for planning the next run, not a promise: the mean moves as replications
    are added, so the verdict may go either way.
    """
    from scipy import stats

    x = np.asarray(values, dtype=float)
    x = x[~np.isnan(x)]
    if len(x) < 2:
        return None
    gap, sd = abs(float(x.mean()) - threshold), float(x.std(ddof=1))
    if sd == 0:
        return len(x) if gap > 0 else None
    if gap == 0:
        return None
    z = stats.norm.ppf(0.5 + level / 2)
    n = max(len(x), int(np.ceil((z * sd / gap) ** 2)))  # the normal bound is a lower bound
    while n <= n_max:
        if stats.t.ppf(0.5 + level / 2, n - 1) * sd / np.sqrt(n) < gap:
            return n
        n += max(1, n // 50)
    return None


def not_shown_message(target: Target, values, confirmation: dict,
                      settle_max: int | None = None) -> str:
    """The verdict when the confirmed mean meets the target but its CI includes it."""
    n = replications_to_settle(values, target.value)
    more = (f"about {n} confirmation replications (--confirm-reps {n}) would settle it, if the "
            "mean and spread stay as they are" if n is not None else
            "more replications will not settle it: the mean sits on the target")
    level = confirmation.get("level", 0.95)
    if settle_max is not None:
        more = f"not settled within --settle-max {settle_max} replications; " + more
    return (f"{target.kpi} {confirmation['kpi']:.4g} meets {target.text} on average, but its "
            f"{level * 100:.4g}% CI [{confirmation['ci_low']:.4g}, {confirmation['ci_high']:.4g}] on "
            f"{confirmation['replications']} replications includes the target; {more}")


def confirmation_looks(first: int, most: int | None) -> list[int]:
    """Replication counts at which a sequential confirmation looks: ``first``, then
    doubled until ``most`` (the last look is ``most`` itself). ``most`` None: one look."""
    if most is None or most <= first:
        return [first]
    looks = [first]
    while looks[-1] * 2 < most:
        looks.append(looks[-1] * 2)
    return looks + [most]


def increments_table(steps: list[tuple[Increment, float, float]]) -> pd.DataFrame:
    """The schedule as a table: one row per block, with lines, line-hours and cost
    (the simulated staffed-hour and cost differences of the steps that added it)."""
    rows: dict[Increment, dict] = {}
    for inc, cost, hours in steps:
        r = rows.setdefault(inc, {"channel": inc.channel, "province": inc.province or "",
                                  "hours": inc.hours, "weekdays": _weekday_label(inc.weekdays),
                                  "lines": 0, "line_hours": 0.0, "cost": 0.0})
        r["lines"] += 1
        r["line_hours"] += hours
        r["cost"] += cost
    cols = ["channel", "province", "hours", "weekdays", "lines", "line_hours", "cost"]
    return pd.DataFrame(list(rows.values()), columns=cols)


# ---------------------------------------------------------------------------------------
# Figure
# ---------------------------------------------------------------------------------------


def plot_path(trace: pd.DataFrame, points: pd.DataFrame, ax, kpi_label: str,
              target: float | None = None, ceiling: float | None = None):
    """KPI against extra cost (kEUR) along the greedy path, with confirmed points.

    ``trace``: columns ``extra_cost, kpi`` (search replications). ``points``: columns
    ``label, extra_cost, kpi, ci_low, ci_high`` (e.g. the confirmed optimum and the
    Erlang estimate), drawn with their 95% CIs. ``target`` and ``ceiling`` (the KPI with
    practically unlimited lines) as horizontal lines. Returns the axis.
    """
    ax.plot(trace["extra_cost"] / 1000, trace["kpi"], "-o", ms=3, color="#4C72B0",
            label="greedy path (search replications)")
    markers = ["D", "s", "^", "v"]
    colours = ["#C44E52", "#DD8452", "#55A868", "#8172B2"]
    for i, (_, p) in enumerate(points.iterrows()):
        err = None
        if p["ci_low"] == p["ci_low"]:
            err = [[p["kpi"] - p["ci_low"]], [p["ci_high"] - p["kpi"]]]
        ax.errorbar([p["extra_cost"] / 1000], [p["kpi"]], yerr=err, fmt=markers[i % 4],
                    color=colours[i % 4], capsize=4, ms=7, label=f"{p['label']} (95% CI)")
    if target is not None:
        ax.axhline(target, ls="--", color="grey", lw=1, label=f"target {target:g}")
    if ceiling is not None and ceiling == ceiling:
        ax.axhline(ceiling, ls=":", color="black", lw=1,
                   label=f"ceiling, unlimited lines ({ceiling:.3g})")
    ax.set_xlabel("extra cost over the horizon (kEUR)")
    ax.set_ylabel(kpi_label)
    ax.set_title("Greedy staffing search")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    return ax
