"""Backtest: a scenario fitted to one year, run in other years, against what 1712 published.

The 2020 fit (``scenarios/fitted_2020.yaml``) uses only 2020 counts and the 10-27 February
2020 window. Whether its demand, behaviour and capacity tell the truth shows when the
same scenario is run where it was not fitted:

* **2017, 2018, 2019**: yearly registered contacts, "Telefoon (en e-mail)" and "Chat"
  (seed 003; ``sim.data.yearly``);
* **10-27 February 2019**: 244 contacts, all channels (seed 004, the press release's
  comparison window; "17 per dag" is 244 / 14);
* **2024**: 9,594 contacts, 60% phone, 27% chat, 13% e-mail (seed 002;
  ``sim.data.contacts_2024``), with the capacity of the subsidy years.

**Demand across years.** The scenario's ``annual`` is the level at its horizon start
(``sim.config.ChannelDemand``: the trend compounds from there), so a year ``d`` days
later starts at ``annual x (1 + trend)^(d / 365)`` (:func:`carried_annual`; ``carry =
"trend"``, the default) or at the fitted level itself (``carry = "level"``). Every dated
event (lockdowns, campaigns) is dropped: they belong to 2020. Nothing is fitted to the
backtested years; in particular the 2024 demand is NOT the hand-set one of
``scenarios/subsidy/demand_2024_with_subsidy.yaml`` (calibrated to 2024, which would make
the check circular): it is carried from the fit.

**Capacity across years.** 2017-2019: the scenario's own set-up (for the fit, 2020's:
one line per province, Mon-Fri 9-18, the 2020 chat hours) -- an assumption, since no seed
gives the hours of those years beyond a Thursday-evening phone trial in 2019 (seed 001).
Chat did not exist in 2017 and 2018 (seed 003 prints "-"): not simulated. 2019 chat runs
the whole year with the 2020 hours (assumption: its start date in 2019 is not
published; 159 chats suggest part of the year). 2024: the staffing, option 0, overflow,
answering machine and chat hours and lines of a capacity scenario (default
``scenarios/subsidy/demand_2024_with_subsidy.yaml``: the subsidy measures and the 2024
chat hours of seed 002), with the demand and behaviour of the scenario under test.

What counts as a contact is the fit's (``sim.planning.fit_run.answered_by_day``):
answered calls plus callers reached by a callback, chats answered (by arrival day) and
e-mails answered (by answer day).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sim import data
from sim.config import Scenario, load_scenario
from sim.experiments.replications import t_interval

CHANNELS = ("phone", "chat", "email")
DEFAULT_CAPACITY_2024 = Path("scenarios/subsidy/demand_2024_with_subsidy.yaml")

# The settings a capacity scenario brings to a backtested year (dotted paths). Demand and
# caller behaviour (talk, wrap-up, redials) stay those of the scenario under test.
CAPACITY_PATHS = ("phone.staffing", "phone.option0", "phone.overflow", "phone.answering_machine",
                  "phone.opening_hours", "phone.queue", "chat.opening_hours", "chat.staffing",
                  "email.blending")

COLUMNS = ["target", "published", "simulated", "ci_low", "ci_high", "error_pct", "source", "set_up"]


@dataclass(frozen=True)
class Year:
    """One backtested year: which channels existed and where its capacity comes from."""

    year: int
    channels: tuple[str, ...]
    set_up: str  # how capacity and hours were chosen (shown in the table)


YEARS = (
    Year(2017, ("phone", "email"), "scenario's set-up (assumption); no chat (seed 003: '-')"),
    Year(2018, ("phone", "email"), "scenario's set-up (assumption); no chat (seed 003: '-')"),
    Year(2019, CHANNELS, "scenario's set-up (assumption); chat all year (assumption)"),
    Year(2024, CHANNELS, "capacity scenario (subsidy measures, 2024 chat hours, seed 002)"),
)
WINDOW_2019 = (dt.date(2019, 2, 10), dt.date(2019, 2, 27))


def carried_annual(annual: float, trend_per_year: float, days: float, carry: str = "trend") -> float:
    """Yearly demand level [contacts a year] ``days`` after the level ``annual`` was set.

    ``carry="trend"``: compounded by ``trend_per_year`` (the model's own convention,
    ``(1 + trend)^(days / 365)``, also backwards for negative ``days``); ``"level"``: held.
    """
    if carry == "level":
        return float(annual)
    if carry != "trend":
        raise ValueError(f"carry must be 'trend' or 'level', got {carry!r}")
    return float(annual * (1.0 + trend_per_year) ** (days / 365.0))


def year_overrides(scn: Scenario, year: int, carry: str = "trend") -> dict:
    """Overrides that move ``scn`` to calendar ``year``: horizon, demand carried from the
    scenario's horizon start, no dated events."""
    start = dt.date(year, 1, 1)
    days = (start - scn.horizon.start).days
    over: dict = {"name": f"{scn.name}_{year}", "horizon.start": start.isoformat(),
                  "horizon.end": dt.date(year, 12, 31).isoformat()}
    for c in CHANNELS:
        d = getattr(scn.demand, c)
        over[f"demand.{c}.annual"] = carried_annual(d.annual, d.trend_per_year, days, carry)
        over[f"demand.{c}.events"] = []
    return over


def capacity_overrides(capacity: Scenario) -> dict:
    """The :data:`CAPACITY_PATHS` of a capacity scenario, as overrides."""
    dump = capacity.model_dump(mode="json", by_alias=True)
    over = {}
    for path in CAPACITY_PATHS:
        node = dump
        for key in path.split("."):
            node = node[key]
        over[path] = node
    return over


def targets() -> pd.DataFrame:
    """Published targets: ``target, year, channels, first, last, published, source``.

    ``channels`` are those whose contacts count; ``first``/``last`` the days (inclusive).
    """
    rows = []
    y = data.yearly()
    for year in (2017, 2018, 2019):
        sub = y[y["year"] == year].set_index("channel")["contacts"]
        span = (dt.date(year, 1, 1), dt.date(year, 12, 31))
        rows.append((f"{year} phone + e-mail", year, ("phone", "email"), *span,
                     int(sub["phone_and_email"]), "seed 003"))
        if "chat" in sub.index:
            rows.append((f"{year} chat", year, ("chat",), *span, int(sub["chat"]), "seed 003"))
        rows.append((f"{year} total", year, CHANNELS, *span, int(sub["total"]), "seed 003"))
    w = data.campaign_feb2020()
    n = w[(w["quantity"] == "contacts") & (w["window_start"] == pd.Timestamp(WINDOW_2019[0]))]
    rows.append(("10-27 Feb 2019 (all channels)", 2019, CHANNELS, *WINDOW_2019,
                 int(n["value"].iloc[0]), "seed 004"))
    c24 = data.contacts_2024()
    span = (dt.date(2024, 1, 1), dt.date(2024, 12, 31))
    total = int(c24["contacts_total"].iloc[0])
    for _, r in c24.iterrows():
        rows.append((f"2024 {r['channel'].replace('email', 'e-mail')} ({r['share']:.0%} of {total:,})",
                     2024, (r["channel"],), *span, round(r["share"] * total), "seed 002"))
    rows.append(("2024 total", 2024, CHANNELS, *span, total, "seed 002"))
    return pd.DataFrame(rows, columns=["target", "year", "channels", "first", "last", "published",
                                       "source"])


def score(tgts: pd.DataFrame, by_day: dict[int, dict[str, np.ndarray]],
          starts: dict[int, dt.date], set_ups: dict[int, str], level: float = 0.95) -> pd.DataFrame:
    """The backtest table from simulated answered contacts per day.

    ``by_day[year][channel]`` is an array replications x days of that year's run
    (``sim.planning.fit_run.answered_by_day``); each target sums its channels over its
    days per replication; mean and Student-t interval over the replications; error =
    (simulated - published) / published in percent.
    """
    rows = []
    for _, t in tgts.iterrows():
        d = by_day[t["year"]]
        lo = (t["first"] - starts[t["year"]]).days
        hi = (t["last"] - starts[t["year"]]).days + 1
        per_rep = sum(d[c][:, lo:hi].sum(axis=1) for c in t["channels"])
        m, a, b = t_interval(per_rep, level)
        rows.append({"target": t["target"], "published": t["published"], "simulated": m,
                     "ci_low": a, "ci_high": b,
                     "error_pct": 100.0 * (m - t["published"]) / t["published"],
                     "source": t["source"], "set_up": set_ups[t["year"]]})
    return pd.DataFrame(rows, columns=COLUMNS)


def year_scenarios(path: Path, capacity_2024: Path = DEFAULT_CAPACITY_2024,
                   carry: str = "trend") -> dict[int, Scenario]:
    """The scenario of ``path`` moved to each backtested year (see the module docstring)."""
    scn = load_scenario(path)
    out = {}
    for y in YEARS:
        over = year_overrides(scn, y.year, carry)
        if y.year == 2024:
            over.update(capacity_overrides(load_scenario(capacity_2024)))
        out[y.year] = load_scenario(path, over)
    return out


def _year_replication(task: tuple) -> dict[str, np.ndarray]:
    """One replication of a backtested year: answered contacts per channel and day of its
    horizon (:func:`sim.planning.fit_run.answered_by_day_of`); a picklable worker."""
    from sim.model.helpline import Helpline
    from sim.model.streams import Streams
    from sim.planning.fit_run import answered_by_day_of

    scn, seed, rep, channels = task
    model = Helpline(scn, Streams(seed, rep), channels=channels)
    return answered_by_day_of(scn, model, model.run())


def backtest(path: Path, reps: int, seed: int, jobs: int = 1,
             capacity_2024: Path = DEFAULT_CAPACITY_2024, carry: str = "trend",
             log=None, saved=None) -> tuple[pd.DataFrame, dict[int, Scenario]]:
    """Run the backtest of the scenario file ``path``: the table and the year scenarios.

    ``saved`` (:class:`sim.experiments.saved.SavedResults`, the command's partial folder):
    each year's replication is saved as soon as it is finished, and one saved by an
    interrupted backtest (``--resume``) is loaded instead of simulated, keyed by the
    year's resolved scenario, the seed, the replication and the channels simulated."""
    from sim.experiments.executors import Processes, as_finished
    from sim.planning.fit_run import stack_by_day

    scns = year_scenarios(path, capacity_2024, carry)
    by_day, starts, set_ups = {}, {}, {}
    for y in YEARS:
        scn = scns[y.year]
        tasks = [(scn, seed, r, y.channels) for r in range(reps)]
        keys = [None if saved is None else saved.key(scn.model_dump_json(), seed, r, y.channels)
                for r in range(reps)]
        outs = {r: v for r in range(reps)
                if keys[r] is not None and (v := saved.load(keys[r])) is not None}
        if log is not None:
            log(f"simulating {y.year} ({reps} replications"
                + (f", {len(outs)} of them saved by an interrupted run" if outs else "") + ")")
        todo = [t for t in tasks if t[2] not in outs]
        for i, out in as_finished(Processes(jobs), _year_replication, todo):  # saved as they finish
            task = todo[i]
            outs[task[2]] = out
            if saved is not None:  # at once: an interruption loses no finished replication
                saved.save(keys[task[2]], out)
        by_day[y.year] = stack_by_day([outs[r] for r in range(reps)])
        starts[y.year] = scn.horizon.start
        set_ups[y.year] = y.set_up
    return score(targets(), by_day, starts, set_ups), scns


def table_text(table: pd.DataFrame) -> str:
    """The backtest table as aligned text."""
    t = table.copy()
    t["published"] = t["published"].map("{:,.0f}".format)
    t["simulated"] = t["simulated"].map("{:,.0f}".format)
    t["95% CI"] = [f"[{a:,.0f}, {b:,.0f}]" for a, b in zip(table["ci_low"], table["ci_high"], strict=True)]
    t["error"] = table["error_pct"].map("{:+.1f}%".format)
    return t[["target", "published", "simulated", "95% CI", "error", "source"]].to_string(index=False)
