"""Replications of a scenario: seeds, executors, Student-t summaries.

Replication r of seed s uses streams seeded from (s, r, stream name), so a replication
gives the same result whether it runs alone, serially or in a process pool, and two
scenarios with the same seed share their random numbers replication by replication.
"""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats
from tqdm.auto import tqdm

from sim.config import Scenario
from sim.metrics import kpis
from sim.model import Helpline
from sim.streams import Streams


@dataclass
class Replication:
    """KPIs of one replication, and its event tables when asked to keep them."""

    replication: int
    kpis: pd.DataFrame
    attempts: pd.DataFrame | None = None
    callers: pd.DataFrame | None = None


@dataclass
class RunResult:
    scenario: Scenario
    seed: int
    replications: list[Replication] = field(default_factory=list)

    def kpis(self) -> pd.DataFrame:
        """Per-replication KPIs stacked: ``replication, by, key, kpi, value``."""
        return pd.concat(
            [r.kpis.assign(replication=r.replication) for r in self.replications],
            ignore_index=True,
        )[["replication", "by", "key", "kpi", "value"]]


class ReplicationError(RuntimeError):
    """A replication failed; names what is needed to rerun it alone."""

    def __init__(self, scenario: str, replication: int, seed: int, cause: BaseException | str):
        self.scenario, self.replication, self.seed = scenario, replication, seed
        self.cause = cause if isinstance(cause, str) else f"{type(cause).__name__}: {cause}"
        super().__init__(
            f"replication {replication} of scenario {scenario!r} (seed {seed}) failed: {self.cause}"
        )

    def __reduce__(self):  # must cross process boundaries intact
        return (ReplicationError, (self.scenario, self.replication, self.seed, self.cause))


def run_replication(scn: Scenario, seed: int, replication: int, keep_events: bool = False) -> Replication:
    """Simulate one replication and reduce it to KPIs (plus tables if ``keep_events``)."""
    try:
        model = Helpline(scn, Streams(seed, replication))
        log = model.run()
        attempts, callers = log.attempts_table(), log.callers_table()
        table = kpis(attempts, callers, model.cal.phone_lines, scn.horizon.start, scn.horizon.days,
                     log.messages_table(), log.callbacks_table())
    except Exception as e:  # keep the context a planner needs to rerun it
        raise ReplicationError(scn.name, replication, seed, e) from e
    if keep_events:
        return Replication(replication, table, attempts, callers)
    return Replication(replication, table)


def _run_one(args: tuple) -> Replication:
    return run_replication(*args)


def default_jobs() -> int:
    return max(1, os.cpu_count() or 1)


def run(
    scn: Scenario,
    replications: int,
    seed: int,
    jobs: int = 1,
    keep_events: int = 0,
    progress: bool = True,
) -> RunResult:
    """Run ``replications`` replications; keep event tables of the first ``keep_events``.

    With ``jobs > 1`` replications run in a process pool; results are identical to a
    serial run because each replication seeds its own streams.
    """
    tasks = [(scn, seed, r, r < keep_events) for r in range(replications)]
    bar = tqdm(total=replications, desc=f"{scn.name}", unit="rep", disable=not progress, leave=False)
    results: list[Replication] = []
    if jobs <= 1 or replications == 1:
        for t in tasks:
            results.append(_run_one(t))
            bar.update()
    else:
        with ProcessPoolExecutor(max_workers=min(jobs, replications)) as pool:
            for rep in pool.map(_run_one, tasks):
                results.append(rep)
                bar.update()
    bar.close()
    return RunResult(scn, seed, sorted(results, key=lambda r: r.replication))


def summarise(per_rep: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """Mean, sd and Student-t confidence interval over replications per (by, key, kpi).

    NaN values (a KPI undefined in a replication, e.g. a rate with no attempts) are left
    out; ``n`` says how many replications remain.
    """
    g = per_rep.dropna(subset=["value"]).groupby(["by", "key", "kpi"], sort=False)["value"]
    out = g.agg(mean="mean", sd="std", n="count").reset_index()
    tq = stats.t.ppf(0.5 + level / 2, np.maximum(out["n"] - 1, 1))
    half = np.where(out["n"] > 1, tq * out["sd"] / np.sqrt(out["n"]), np.nan)
    out["half_width"] = half
    out["ci_low"] = out["mean"] - half
    out["ci_high"] = out["mean"] + half
    return out
