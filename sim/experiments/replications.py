"""Replications of a scenario: seeds, executors, Student-t summaries.

Replication r of seed s uses streams seeded from (s, r, stream name), so a replication
gives the same result whether it runs alone, serially or in a process pool, and two
scenarios with the same seed share their random numbers replication by replication.
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from sim.config import Scenario, ScenarioError
from sim.errors import ReplicationError  # noqa: F401 (re-exported)
from sim.experiments.executors import Processes, default_jobs  # noqa: F401 (re-exported)
from sim.model.helpline import Helpline
from sim.model.streams import Streams
from sim.results.channel_metrics import chat_kpis, email_kpis
from sim.results.metrics import kpis


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

    def values(self, kpi: str, by: str = "all", key: str = "all") -> np.ndarray:
        """One KPI over the replications, in replication order."""
        k = self.kpis()
        k = k[(k["by"] == by) & (k["key"] == key) & (k["kpi"] == kpi)].sort_values("replication")
        return k["value"].to_numpy()

    def kpis(self) -> pd.DataFrame:
        """Per-replication KPIs stacked: ``replication, by, key, kpi, value``."""
        return pd.concat(
            [r.kpis.assign(replication=r.replication) for r in self.replications],
            ignore_index=True,
        )[["replication", "by", "key", "kpi", "value"]]




CHANNELS = ("phone", "chat", "email")


def run_replication(scn: Scenario, seed: int, replication: int, keep_events: bool = False,
                    channels: Sequence[str] | None = None, overall_only: bool = False) -> Replication:
    """Simulate one replication and reduce it to KPIs (plus tables if ``keep_events``).

    ``channels`` (default: all of :data:`CHANNELS`) names the channels whose results are
    needed; chat or e-mail left out is not simulated (see
    :class:`sim.model.helpline.Helpline`) and of its KPIs only the staffed hours, which
    the staffing calendar alone decides, are reported (so ``cost_*`` and
    ``staffed_hours_total`` stay complete). Phone KPIs are bit-identical either way.
    ``overall_only``: only the ``by="all"`` KPIs, equal to those of the full table.
    """
    try:
        model = Helpline(scn, Streams(seed, replication), channels=channels)
        log = model.run()
        attempts, callers = log.attempts_table(), log.callers_table()
        emails = log.emails.table()
        start, days = scn.horizon.start, scn.horizon.days
        chat = chat_kpis(log.chats.table(), model.chat.lines, start, days,
                         scn.chat.wait_target_min, scn.chat.wait_target_share)
        email = email_kpis(emails, start, days, scn.email.response_targets_working_days,
                           handlers=model.email.handlers)
        if "chat" not in model.channels:
            chat = chat[chat["kpi"] == "chat_staffed_hours"]
        if "email" not in model.channels:
            email = email[email["kpi"] == "email_staff_staffed_hours"]
        table = pd.concat([
            kpis(attempts, callers, model.cal.phone_lines, start, days,
                 log.messages_table(), log.callbacks_table(), emails, overall_only=overall_only),
            chat, email,
        ], ignore_index=True)
        if overall_only:
            table = table[table["by"] == "all"].reset_index(drop=True)
        table = pd.concat([table, cost_kpis(table, scn)], ignore_index=True)
    except Exception as e:  # keep the context a planner needs to rerun it
        raise ReplicationError(scn.name, replication, seed, e) from e
    if keep_events:
        return Replication(replication, table, attempts, callers)
    return Replication(replication, table)


def cost_kpis(table: pd.DataFrame, scn: Scenario) -> pd.DataFrame:
    """Staffed hours x cost per hour, per channel and in total (``by=all``)."""
    v = table[table["by"] == "all"].set_index("kpi")["value"]
    c = scn.costs
    parts = {
        "cost_phone": v.get("staffed_line_hours", 0.0) * c.phone_line_hour,
        "cost_chat": v.get("chat_staffed_hours", 0.0) * c.chat_line_hour,
        "cost_email": v.get("email_staff_staffed_hours", 0.0) * c.email_handler_hour,
    }
    parts["cost_total"] = sum(parts.values())
    parts["staffed_hours_total"] = (v.get("staffed_line_hours", 0.0) + v.get("chat_staffed_hours", 0.0)
                                    + v.get("email_staff_staffed_hours", 0.0))
    return pd.DataFrame([("all", "all", k, float(x)) for k, x in parts.items()],
                        columns=["by", "key", "kpi", "value"])


def _run_one(args: tuple) -> Replication | ReplicationError:
    # A failure is returned, not raised, so that the other replications are kept.
    try:
        return run_replication(*args)
    except ReplicationError as e:
        return e



class Checkpoint:
    """Finished replications of one scenario, saved one file each as they complete.

    A run given the same folder again (``--resume``) loads them instead of simulating
    again; the stored scenario must be identical. Pickle keeps the KPI values
    bit-identical to an uninterrupted run. Files are written under a temporary name
    and renamed, so a killed run never leaves a half-written replication.
    """

    def __init__(self, folder: Path, scn: Scenario, seed: int):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        ident = f"seed: {seed}\n{scn.to_yaml()}"
        stamp = self.folder / "scenario.txt"
        if stamp.exists() and stamp.read_text(encoding="utf-8") != ident:
            raise ScenarioError("--resume", str(self.folder),
                                "the saved replications belong to another scenario or seed; "
                                "remove the folder or run without --resume")
        stamp.write_text(ident, encoding="utf-8")

    def _file(self, r: int) -> Path:
        return self.folder / f"rep{r:05d}.pkl"

    def load(self, r: int) -> Replication | None:
        f = self._file(r)
        if not f.exists():
            return None
        with f.open("rb") as fh:
            return pickle.load(fh)  # noqa: S301 - our own files

    def save(self, rep: Replication) -> None:
        tmp = self._file(rep.replication).with_suffix(".tmp")
        with tmp.open("wb") as fh:
            pickle.dump(rep, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, self._file(rep.replication))


def run(
    scn: Scenario,
    replications: int | list[int],
    seed: int,
    jobs: int = 1,
    keep_events: int = 0,
    progress: bool = True,
    checkpoint: Path | None = None,
    executor=None,
) -> RunResult:
    """Run replications ``0..replications-1`` (or the listed ones); keep event tables of
    the first ``keep_events``.

    With ``jobs > 1`` replications run in a process pool; results are identical to a
    serial run because each replication seeds its own streams (also on a Dask cluster:
    ``executor``). With ``checkpoint``,
    finished replications are saved there and reused when the run is repeated. A failed
    replication does not stop the others: they are kept (and checkpointed), and a
    :class:`ReplicationError` naming the first failure is raised at the end with the
    partial result attached as ``.result``.
    """
    store = Checkpoint(checkpoint, scn, seed) if checkpoint is not None else None
    reps = list(range(replications)) if isinstance(replications, int) else list(replications)
    results: list[Replication] = []
    todo = []
    for r in reps:
        done = store.load(r) if store is not None else None
        if done is not None and (r >= keep_events or done.attempts is not None):
            results.append(done)
        else:
            todo.append((scn, seed, r, r < keep_events))
    from tqdm.auto import tqdm  # here: a second of imports that workers never need

    bar = tqdm(total=len(reps), initial=len(results), desc=f"{scn.name}", unit="rep",
               disable=not progress, leave=False)
    failures: list[ReplicationError] = []

    def collect(out: Replication | ReplicationError) -> None:
        if isinstance(out, ReplicationError):
            failures.append(out)
        else:
            results.append(out)
            if store is not None:
                store.save(out)
        bar.update()

    # ``executor`` (sim.experiments.executors): where replications run; default processes on this
    # machine, ``jobs`` of them.
    for out in (executor or Processes(jobs)).map(_run_one, todo):
        collect(out)
    bar.close()
    result = RunResult(scn, seed, sorted(results, key=lambda r: r.replication))
    if failures:
        first = min(failures, key=lambda e: e.replication)
        first.result = result
        first.failed = sorted(e.replication for e in failures)
        raise first
    return result


def run_to_precision(
    scn: Scenario,
    seed: int,
    kpi: str,
    half_width: float,
    min_reps: int = 5,
    max_reps: int = 500,
    jobs: int = 1,
    progress: bool = True,
    checkpoint: Path | None = None,
    level: float = 0.95,
    executor=None,
) -> tuple[RunResult, float]:
    """Add replications until the CI half-width of overall ``kpi`` is at most ``half_width``.

    Starts with ``min_reps``; then estimates the replications needed from the current
    standard deviation (n_needed = n (h / target)^2) and runs the missing ones, up to
    ``max_reps``. Returns the result and the half-width reached. Replications are the
    same as in a plain run with that number of replications (0..n-1).
    """
    done: list[Replication] = []
    n = max(min_reps, 2)
    while True:
        new = run(scn, list(range(len(done), n)), seed, jobs=jobs, progress=progress,
                  checkpoint=checkpoint, executor=executor)
        done += new.replications
        result = RunResult(scn, seed, done)
        v = result.values(kpi)
        v = v[~np.isnan(v)]
        if len(v) == 0:
            raise ScenarioError("--precision", kpi, "unknown overall KPI")
        h = t_half_width(v, level)
        if h <= half_width or n >= max_reps:
            return result, float(h)
        needed = int(np.ceil(n * (h / half_width) ** 2 * 1.1))  # 10% margin for noise
        n = min(max_reps, max(needed, n + max(jobs, 1)))


def t_half_width(x, level: float = 0.95) -> float:
    """Half-width of the Student-t interval of the mean of ``x`` (NaN for < 2 values)."""
    x = np.asarray(x, dtype=float)
    if len(x) < 2:
        return float("nan")
    from scipy import stats  # here: importing scipy.stats is most of this module's import time

    return float(stats.t.ppf(0.5 + level / 2, len(x) - 1) * x.std(ddof=1) / np.sqrt(len(x)))


def t_interval(x, level: float = 0.95) -> tuple[float, float, float]:
    """Mean and Student-t interval ``(mean, low, high)`` of replication values; NaNs are
    left out."""
    x = np.asarray(x, dtype=float)
    x = x[~np.isnan(x)]
    if len(x) == 0:
        return float("nan"), float("nan"), float("nan")
    m, h = float(x.mean()), t_half_width(x, level)
    return m, m - h, m + h


def summarise(per_rep: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """Mean, sd and Student-t confidence interval over replications per (by, key, kpi).

    NaN values (a KPI undefined in a replication, e.g. a rate with no attempts) are left
    out; ``n`` says how many replications remain.
    """
    g = per_rep.dropna(subset=["value"]).groupby(["by", "key", "kpi"], sort=False)["value"]
    out = g.agg(mean="mean", sd="std", n="count").reset_index()
    from scipy import stats

    tq = stats.t.ppf(0.5 + level / 2, np.maximum(out["n"] - 1, 1))
    half = np.where(out["n"] > 1, tq * out["sd"] / np.sqrt(out["n"]), np.nan)
    out["half_width"] = half
    out["ci_low"] = out["mean"] - half
    out["ci_high"] = out["mean"] + half
    return out
