"""Replications of a scenario: seeds, executors, Student-t summaries.

Replication r of seed s uses streams seeded from (s, r, stream name), so a replication
gives the same result whether it runs alone, serially or in a process pool, and two
scenarios with the same seed share their random numbers replication by replication.
"""

from __future__ import annotations

import hashlib
import pickle
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from sim.config import Scenario, ScenarioError
from sim.errors import ReplicationError  # noqa: F401 (re-exported)
from sim.experiments.executors import Processes, as_finished, default_jobs  # noqa: F401 (re-exported)
from sim.experiments.saved import write_durable
from sim.model.calendar import DAY_S
from sim.model.helpline import Helpline
from sim.model.streams import Streams
from sim.results.callback_metrics import callback_kpis
from sim.results.capacity import capacity_kpis
from sim.results.channel_metrics import chat_kpis, email_kpis, staffed_hours_kpis
from sim.results.intervals import average_intervals, interval_table
from sim.results.metrics import kpi_rows, kpis, phone_line_use
from sim.results.numbers import number_kpis, window_s
from sim.results.summary import (  # noqa: F401 (re-exported: the experiment's summaries)
    logit_interval,
    summarise,
    t_half_width,
    t_interval,
)
from sim.results.switching import people_kpis


@dataclass
class Replication:
    """KPIs of one replication, and its event tables when asked to keep them."""

    replication: int
    kpis: pd.DataFrame
    attempts: pd.DataFrame | None = None
    callers: pd.DataFrame | None = None
    # Interval staffing table (sim.results.intervals), only when the run asked for it.
    intervals: pd.DataFrame | None = None
    # What the run's ``reducer`` made of the replication's model and event log, if any.
    extra: object = None


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

    def interval_table(self) -> pd.DataFrame | None:
        """Mean interval staffing table over the replications that carry one
        (:func:`sim.results.intervals.average_intervals`); None when none does."""
        tables = [r.intervals for r in self.replications if r.intervals is not None]
        return average_intervals(tables) if tables else None



CHANNELS = ("phone", "chat", "email")


def run_replication(scn: Scenario, seed: int, replication: int, keep_events: bool = False,
                    channels: Sequence[str] | None = None, overall_only: bool = False,
                    interval_tables: bool = False,
                    reducer: Callable[[Scenario, Helpline, object], object] | None = None,
                    ) -> Replication:
    """Simulate one replication and reduce it to KPIs (plus tables if ``keep_events``).

    ``channels`` (default: all of :data:`CHANNELS`) names the channels whose results are
    needed; chat or e-mail left out is not simulated (see
    :class:`sim.model.helpline.Helpline`) and of its KPIs only the staffed hours, which
    the staffing calendar alone decides, are reported (so ``cost_*`` and
    ``staffed_hours_total`` stay complete). Phone KPIs are bit-identical either way.
    ``overall_only``: only the ``by="all"`` KPIs, equal to those of the full table.
    ``interval_tables``: also compute the interval staffing table
    (:func:`sim.results.intervals.interval_table`; for ``run``, not for search loops that
    need only the KPIs).
    ``reducer(scn, model, log)``: something more a command needs from the same
    simulation (e.g. answered contacts per day), kept as ``Replication.extra``; a
    module-level function, so that it reaches pool workers.
    """
    try:
        model = Helpline(scn, Streams(seed, replication), channels=channels)
        log = model.run()
        attempts, callers = log.attempts_table(), log.callers_table()
        emails = log.emails.table()
        start, days = scn.horizon.start, scn.horizon.days
        # A channel not simulated has no contacts: of its KPIs only the staffed hours.
        chat = (chat_kpis(log.chats.table(), model.chat.lines, start, days,
                          scn.chat.wait_target_min, scn.chat.wait_target_share)
                if "chat" in model.channels
                else staffed_hours_kpis(model.chat.lines, start, days, "chat_staffed_hours"))
        email = (email_kpis(emails, start, days, scn.email.response_targets_working_days,
                            handlers=model.email.handlers)
                 if "email" in model.channels
                 else staffed_hours_kpis(model.email.handlers, start, days, "email_staff_staffed_hours"))
        messages, callbacks = log.messages_table(), log.callbacks_table()
        # Line use per province and hour, once for the KPIs and the interval table.
        use = phone_line_use(attempts, model.cal.phone_lines, days, callbacks, emails)
        parts = [kpis(attempts, callers, model.cal.phone_lines, start, days, messages, callbacks, emails,
                      overall_only=overall_only, use=use),
                 chat, email]
        options = callback_option_kpis(scn, model, messages, callbacks)
        if options is not None:
            parts.append(options)
        table = pd.concat(parts, ignore_index=True)
        if scn.phone.availability.enabled:  # (else at the line = staffed: nothing to add)
            table = pd.concat([table, capacity_kpis(attempts, log.away_table(), model.cal.phone_lines, start, days,
                                                    callbacks, emails)], ignore_index=True)
        if overall_only:
            table = table[table["by"] == "all"].reset_index(drop=True)
        table = pd.concat([table, cost_kpis(table, scn)], ignore_index=True)
        behaviour = scn.phone.callers
        if behaviour.number_kpis:  # per phone number (repeat contacts; issue 15)
            lo, hi = window_s(start, days, behaviour.numbers_from, behaviour.numbers_to)
            rows = number_kpis(attempts, callers, log.episodes_table(), lo, hi)
            table = pd.concat([table, pd.DataFrame.from_records(rows, columns=table.columns)],
                              ignore_index=True)
        if behaviour.switch.enabled or behaviour.chat_switch.enabled:  # switching channel
            rows = people_kpis(callers, log.episodes_table(), log.chats.table(), emails,
                               log.switches_table(), len(model.callers), len(model.chat.visitors),
                               len(model.email.emails))
            table = pd.concat([table, pd.DataFrame.from_records(rows, columns=table.columns)],
                              ignore_index=True)
        intervals = (interval_table(attempts, model.cal.phone_lines, start, days, callbacks, emails, use=use)
                     if interval_tables else None)
        extra = reducer(scn, model, log) if reducer is not None else None
    except Exception as e:  # keep the context a planner needs to rerun it
        raise ReplicationError(scn.name, replication, seed, e) from e
    if keep_events:
        return Replication(replication, table, attempts, callers, intervals, extra)
    return Replication(replication, table, intervals=intervals, extra=extra)


def callback_option_kpis(scn: Scenario, model: Helpline, messages: pd.DataFrame,
                         callbacks: pd.DataFrame) -> pd.DataFrame | None:
    """Rows of :func:`sim.results.callback_metrics.callback_kpis` for the callback
    options the scenario switches on (None when none is: results without them are
    unchanged)."""
    cfg = scn.phone.answering_machine.callbacks
    dedicated = getattr(model.desk, "dedicated_lines", None)
    options = dict(expiry=cfg.expire_after_h is not None, half_life_h=cfg.reach_half_life_h,
                   dedicated=dedicated)
    if model.desk is None or not (options["expiry"] or cfg.reach_half_life_h is not None or dedicated):
        return None
    values = callback_kpis(messages, callbacks, scn.horizon.days * DAY_S, **options)
    return pd.DataFrame(kpi_rows("all", "all", values), columns=["by", "key", "kpi", "value"])


def phone_only_reusable(scn: Scenario) -> bool:
    """Whether a phone-only, overall-only replication of ``scn`` (``channels=("phone",)``,
    ``overall_only=True``) reads nothing of the chat and e-mail settings but their staffed
    hours: e-mail not blended onto phone lines, nobody switching channel, no per-number
    KPIs. Then scenarios that differ only in chat, e-mail and cost settings have the same
    phone results (:func:`restaffed`)."""
    behaviour = scn.phone.callers
    return not (scn.email.blending or behaviour.switch.enabled or behaviour.chat_switch.enabled
                or behaviour.number_kpis)


def restaffed(rep: Replication, scn: Scenario, seed: int) -> Replication:
    """A phone-only, overall-only replication of another scenario turned into that of
    ``scn``, which differs from it only in chat, e-mail or cost settings
    (:func:`phone_only_reusable` of both): the phone KPIs kept, the chat and e-mail staffed
    hours and the costs those of ``scn``, each computed as :func:`run_replication` computes
    it (the channels built, not run), so the table equals a run of ``scn`` value for value.
    """
    import simpy

    from sim.model.chats import ChatChannel
    from sim.model.emails import EmailChannel

    env, streams = simpy.Environment(), Streams(seed, rep.replication)
    start, days = scn.horizon.start, scn.horizon.days
    chat = ChatChannel(env, scn.horizon, scn.calendar, scn.chat, scn.demand.chat, streams)
    email = EmailChannel(env, scn.horizon, scn.calendar, scn.email, scn.demand.email, streams)
    hours = {
        "chat_staffed_hours": staffed_hours_kpis(chat.lines, start, days, "chat_staffed_hours"),
        "email_staff_staffed_hours": staffed_hours_kpis(email.handlers, start, days,
                                                        "email_staff_staffed_hours"),
    }
    table = rep.kpis[~rep.kpis["kpi"].isin(COST_KPIS)].copy()
    for kpi, t in hours.items():
        value = t.loc[(t["kpi"] == kpi) & (t["by"] == "all"), "value"]
        table.loc[(table["kpi"] == kpi) & (table["by"] == "all"), "value"] = value.iloc[0]
    table = table.reset_index(drop=True)
    return Replication(rep.replication, pd.concat([table, cost_kpis(table, scn)], ignore_index=True))


COST_KPIS = ("cost_phone", "cost_chat", "cost_email", "cost_callbacks", "cost_total",
             "staffed_hours_total")


def cost_kpis(table: pd.DataFrame, scn: Scenario) -> pd.DataFrame:
    """Staffed hours x cost per hour, per channel and in total (``by=all``); dedicated
    callback lines (``cost_callbacks``) only when the scenario has them."""
    v = table[table["by"] == "all"].set_index("kpi")["value"]
    c = scn.costs
    parts = {
        "cost_phone": v.get("staffed_line_hours", 0.0) * c.phone_line_hour,
        "cost_chat": v.get("chat_staffed_hours", 0.0) * c.chat_line_hour,
        "cost_email": v.get("email_staff_staffed_hours", 0.0) * c.email_handler_hour,
    }
    hours = v.get("staffed_line_hours", 0.0) + v.get("chat_staffed_hours", 0.0) + v.get(
        "email_staff_staffed_hours", 0.0)
    if "callback_line_staffed_hours" in v:  # dedicated callback lines, when configured
        parts["cost_callbacks"] = v["callback_line_staffed_hours"] * c.callback_line_hour
        hours += v["callback_line_staffed_hours"]
    parts["cost_total"] = sum(parts.values())
    parts["staffed_hours_total"] = hours
    return pd.DataFrame([("all", "all", k, float(x)) for k, x in parts.items()],
                        columns=["by", "key", "kpi", "value"])


def tqdm_disable(progress: bool | None) -> bool | None:
    """tqdm's ``disable`` for a progress setting: True (show) -> False, False (hide) ->
    True, None -> None, which tqdm reads as "only when the output is a terminal", so a
    redirected log gets no progress bars."""
    return None if progress is None else not progress


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
    bit-identical to an uninterrupted run. Each file starts with a SHA-256 of its
    content and is written under a temporary name, flushed to disk and renamed, so a
    killed run or a full disk never leaves a half-written replication; a damaged file
    (truncated, altered) is reported and that replication simply runs again.
    """

    MAGIC = b"H1712CK1"

    def __init__(self, folder: Path, scn: Scenario, seed: int):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        ident = f"seed: {seed}\n{scn.to_yaml()}"
        stamp = self.folder / "scenario.txt"
        if stamp.exists() and stamp.read_text(encoding="utf-8", errors="replace") != ident:
            raise ScenarioError("--resume", str(self.folder),
                                "the saved replications belong to another scenario or seed; "
                                "remove the folder or run without --resume")
        if not stamp.exists():
            self._write(stamp, ident.encode("utf-8"))

    def _file(self, r: int) -> Path:
        return self.folder / f"rep{r:05d}.pkl"

    _write = staticmethod(write_durable)

    def load(self, r: int) -> Replication | None:
        f = self._file(r)
        if not f.exists():
            return None
        blob = f.read_bytes()
        head, digest, payload = blob[:8], blob[8:40], blob[40:]
        if head == self.MAGIC and hashlib.sha256(payload).digest() == digest:
            try:
                rep = pickle.loads(payload)  # noqa: S301 - our own file, checksum verified
            except Exception:  # noqa: BLE001 - any unreadable file is simply run again
                rep = None
            if isinstance(rep, Replication) and rep.replication == r:
                return rep
        print(f"warning: {f} is damaged (truncated or altered); replication {r} runs again",
              file=sys.stderr)
        f.unlink(missing_ok=True)
        return None

    def save(self, rep: Replication) -> None:
        payload = pickle.dumps(rep, protocol=pickle.HIGHEST_PROTOCOL)
        self._write(self._file(rep.replication), self.MAGIC + hashlib.sha256(payload).digest() + payload)


def run(
    scn: Scenario,
    replications: int | list[int],
    seed: int,
    jobs: int = 1,
    keep_events: int = 0,
    progress: bool | None = None,
    checkpoint: Path | None = None,
    executor=None,
    interval_tables: bool = False,
    channels: Sequence[str] | None = None,
    reducer: Callable | None = None,
) -> RunResult:
    """Run replications ``0..replications-1`` (or the listed ones); keep event tables of
    the first ``keep_events``.

    With ``jobs > 1`` replications run in a process pool; results are identical to a
    serial run because each replication seeds its own streams (also on a Dask cluster:
    ``executor``). With ``checkpoint``,
    finished replications are saved there and reused when the run is repeated. A failed
    replication does not stop the others: they are kept (and checkpointed), and a
    :class:`ReplicationError` naming the first failure is raised at the end with the
    partial result attached as ``.result``. ``progress``: True shows a bar, False none,
    None (default) only when stderr is a terminal (:func:`tqdm_disable`).
    ``interval_tables``: each replication also carries its interval staffing table
    (:meth:`RunResult.interval_table`). ``channels`` and ``reducer``: as in
    :func:`run_replication` (a command that needs only the phone, or something more
    from each simulation).
    """
    store = Checkpoint(checkpoint, scn, seed) if checkpoint is not None else None
    reps = list(range(replications)) if isinstance(replications, int) else list(replications)
    results: list[Replication] = []
    todo = []
    for r in reps:
        done = store.load(r) if store is not None else None
        if (done is not None and (r >= keep_events or done.attempts is not None)
                and (not interval_tables or getattr(done, "intervals", None) is not None)
                and (reducer is None or getattr(done, "extra", None) is not None)):
            results.append(done)
        else:
            todo.append((scn, seed, r, r < keep_events, channels, False, interval_tables, reducer))
    from tqdm import (
        tqdm,  # here (workers never need it); not tqdm.auto: no widget warning in notebooks
    )

    bar = tqdm(total=len(reps), initial=len(results), desc=f"{scn.name}", unit="rep",
               disable=tqdm_disable(progress), leave=False)
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
    # As they finish (each checkpointed at once; the results are sorted below).
    for _, out in as_finished(executor or Processes(jobs), _run_one, todo):
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
    progress: bool | None = None,
    checkpoint: Path | None = None,
    level: float = 0.95,
    executor=None,
    interval_tables: bool = False,
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
                  checkpoint=checkpoint, executor=executor, interval_tables=interval_tables)
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
