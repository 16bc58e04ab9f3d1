"""The work a run asks for, estimated before simulating, and refused when it is far
beyond any planning question unless ``--allow-large`` says the planner means it.

A typo (an extra zero in ``annual``, a year 2200 as horizon end, ``max_attempts: 1e9``)
must give one line naming the setting, not hours of work or all the machine's memory.
The estimates are upper bounds from the scenario alone (no simulation): expected new
contacts = annual / 365 x days x growth from the trend x the largest event multipliers.

Limits (assumptions, generous: the largest planning run in this project, the fitted
2020 year with its campaigns, has about 40,000 phone callers a replication):

- contacts per replication: 5 million (about 100 times a busy year of 1712);
- horizon: 3,660 days (ten years);
- contacts over all replications: 200 million;
- memory of one replication's caller and event tables: 2 GB (and at most a quarter of the
  machine's memory); the per-caller tables are ``max_attempts`` and callback
  ``max_tries`` wide, so a huge cap drives this estimate;
- sweep points: 2,000.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

from sim.errors import ScenarioError

MAX_CONTACTS_PER_REP = 5_000_000
MAX_DAYS = 3660
MAX_CONTACTS_TOTAL = 200_000_000
MAX_MEMORY_BYTES = 2 * 1024**3
MAX_SWEEP_POINTS = 2000
# Bytes per phone caller: 8-byte attribute columns (about 10 plain ones, 4 per allowed
# attempt, 3 per callback try) plus about 300 bytes of event-table row per attempt.
_BYTES_ROW = 300


def _expected(ch, days: int) -> float:
    """Upper bound of a channel's new contacts over ``days`` (see module docstring)."""
    years = days / 365.0
    growth = math.exp(min(700.0, years * math.log1p(ch.trend_per_year))) if ch.trend_per_year > 0 else 1.0
    events = math.prod(1.0 + max(e.amplitude, 0.0) for e in ch.events)
    return ch.annual / 365.0 * days * growth * events


def estimate(scn) -> dict:
    """Expected contacts (per channel), attempts and memory of one replication."""
    from sim.model.callers import needs_lazy_draws  # here: the model loads numpy

    days = scn.horizon.days
    phone = _expected(scn.demand.phone, days)
    other = _expected(scn.demand.chat, days) + _expected(scn.demand.email, days)
    cap = scn.phone.redial.max_attempts
    # Per-attempt tables are drawn up front only on the classic path; drawn per caller as
    # needed (no cap, attempt-dependent delays, ...) they take no memory per attempt slot.
    k = 0 if needs_lazy_draws(scn.phone) else cap
    m = scn.phone.answering_machine.callbacks.max_tries
    attempts = phone * (4 if cap is None else min(cap, 4))  # redials are rarely more than a few
    memory = phone * 8 * (10 + 4 * k + 3 * m) + attempts * _BYTES_ROW + other * _BYTES_ROW
    return {"days": days, "phone": phone, "contacts": phone + other, "attempts": attempts,
            "memory": memory, "k": k, "m": m}


def _memory_limit() -> float:
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return MAX_MEMORY_BYTES
    return min(MAX_MEMORY_BYTES, total / 4)


def check_work(scn, file: str | Path | None, replications: int, allow: bool = False,
               reps_from: str = "experiment.replications") -> dict:
    """Raise :class:`ScenarioError` naming the driving setting when the run is far beyond a
    planning run; ``allow`` (``--allow-large``) lets it through. ``reps_from`` names where
    the number of replications was set (a flag such as ``--reps``, or the setting).
    Returns the estimate."""
    est = estimate(scn)
    if allow:
        return est
    hint = "; if you mean it, add --allow-large"

    def refuse(path: str, what: str) -> None:
        raise ScenarioError(file, path, what + hint)

    if est["days"] > MAX_DAYS:
        refuse("horizon.end", f"the horizon is {est['days']:,} days (over {MAX_DAYS:,}: ten years)")
    if est["contacts"] > MAX_CONTACTS_PER_REP:
        refuse(_demand_driver(scn), f"about {est['contacts']:,.0f} contacts per replication "
                                    f"(limit {MAX_CONTACTS_PER_REP:,}; a busy 1712 year has about 50,000)")
    mem_limit = _memory_limit()
    if est["memory"] > mem_limit:
        driver = ("phone.redial.max_attempts" if est["k"] >= max(est["m"], 50)
                  else "phone.answering_machine.callbacks.max_tries" if est["m"] >= 50
                  else "demand.phone.annual")
        refuse(driver, f"one replication would need about {est['memory'] / 1024**3:,.1f} GB "
                       f"({est['phone']:,.0f} phone callers x {est['k']:,} attempts x {est['m']:,} "
                       f"callback tries; limit {mem_limit / 1024**3:.1f} GB)")
    if est["contacts"] * replications > MAX_CONTACTS_TOTAL:
        raise ScenarioError(reps_from if reps_from.startswith("--") else file,
                            "" if reps_from.startswith("--") else reps_from, f"{replications:,} replications of about {est['contacts']:,.0f} "
                                          f"contacts each is over {MAX_CONTACTS_TOTAL:,} contacts{hint}")
    return est


def _demand_driver(scn) -> str:
    ch = {"phone": scn.demand.phone, "chat": scn.demand.chat, "email": scn.demand.email}
    days = scn.horizon.days
    name = max(ch, key=lambda c: _expected(ch[c], days))
    c = ch[name]
    if c.trend_per_year > 0 and days / 365 * math.log1p(c.trend_per_year) > math.log(10):
        return f"demand.{name}.trend_per_year"
    if math.prod(1 + max(e.amplitude, 0) for e in c.events) > 10:
        return f"demand.{name}.events"
    return f"demand.{name}.annual"


def check_points(n: int, file: str | Path, allow: bool = False) -> None:
    """Refuse a sweep of more than ``MAX_SWEEP_POINTS`` points unless ``allow``."""
    if n > MAX_SWEEP_POINTS and not allow:
        raise ScenarioError(file, "grid", f"the sweep has {n:,} points (limit {MAX_SWEEP_POINTS:,}); "
                                          "if you mean it, add --allow-large")


# Failures inside a replication that come from the size or values of settings, not from
# a fault of the run: reported as a setting error (exit 2), not "rerun replication R".
_SETTING_FAILURES = ("MemoryError", "OverflowError", "FloatingPointError", "ArrayMemoryError")
_SETTING_PHRASES = ("too large", "too big", "maximum allowed size", "negative dimensions", "out of bounds for int")


def setting_error(err, file: str | Path | None = None) -> ScenarioError | None:
    """A :class:`ReplicationError` caused by the scenario's size or values, as a
    ScenarioError naming the setting that drives the size; None for other failures."""
    cause = str(getattr(err, "cause", ""))
    kind = cause.split(":", 1)[0]
    if kind not in _SETTING_FAILURES and not any(p in cause.lower() for p in _SETTING_PHRASES):
        return None
    scn = getattr(getattr(err, "result", None), "scenario", None)
    if scn is None:
        return ScenarioError(file, "", f"the settings ask for more than can be simulated ({cause})")
    est = estimate(scn)
    driver = ("phone.redial.max_attempts" if est["k"] >= max(est["m"], 50)
              else "phone.answering_machine.callbacks.max_tries" if est["m"] >= 50
              else _demand_driver(scn))
    return ScenarioError(file, driver, f"the settings ask for more than can be simulated ({cause}; "
                                       f"about {est['contacts']:,.0f} contacts, {est['k']} attempts per "
                                       f"caller, {est['memory'] / 1024**3:,.1f} GB a replication)")
