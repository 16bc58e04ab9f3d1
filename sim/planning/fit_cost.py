"""What each step of the fit costs (issue 16): CPU seconds, wall seconds and simulations.

:class:`CostMeter` wraps the fit's executor and counts, per named step (``with
meter.step("check run"):``), the batches of replications it maps, the replications,
the simulated days (a year replication of 2020 is 366 days, a Sep-Dec calibration
replication 137) and which channels ran; and it measures the CPU time of the main
process and of every replication run by a pool worker (timed in the worker, so no
process is polled and nothing is counted twice when the replications run in the main
process). The fit writes the table to ``cost.csv`` / ``cost.txt`` of its report and
logs one line per step. Wall times depend on the machine's load, simulations and
replication-days do not.
"""

from __future__ import annotations

import contextlib
import functools
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass

import pandas as pd

from sim.config import Scenario


@dataclass
class StepCost:
    """One step of the fit: wall and CPU seconds; batches of replications mapped
    (simulations), replications, simulated days (replications x horizon days) and the
    channels simulated (``all`` or e.g. ``phone``; ``-`` when nothing was simulated)."""

    step: str
    wall_s: float = 0.0
    cpu_s: float = 0.0
    cpu_main_s: float = 0.0
    cpu_workers_s: float = 0.0
    simulations: int = 0
    replications: int = 0
    replication_days: int = 0
    channels: str = "-"


def _timed(fn: Callable, task) -> tuple[int, float, object]:
    """Run ``fn(task)`` and return (process id, CPU seconds it took, its result); a
    module-level function so that it reaches pool workers."""
    t = time.process_time()
    out = fn(task)
    return os.getpid(), time.process_time() - t, out


def _channels_of(task: tuple) -> str:
    # The replication functions of the fit take (scenario, seed, replication, ...) with
    # the channel list (or None = all) among the rest.
    for el in task[3:]:
        if isinstance(el, tuple | list) and el and all(isinstance(x, str) for x in el):
            return "+".join(el)
    return "all"


class CostMeter:
    """Per-step cost of the fit (module docstring)."""

    def __init__(self) -> None:
        self.rows: list[StepCost] = []
        self._current: StepCost | None = None
        self._open: tuple[StepCost, float, float] | None = None  # step, wall and CPU at entry

    @contextlib.contextmanager
    def step(self, name: str) -> Iterator[StepCost]:
        """Measure the block as step ``name`` (steps do not nest; a name used twice adds
        up)."""
        row = next((r for r in self.rows if r.step == name), None)
        if row is None:
            row = StepCost(name)
            self.rows.append(row)
        self._current = row
        self._open = (row, time.perf_counter(), time.process_time())
        try:
            yield row
        finally:
            self._close_open()
            self._current = None

    def _close_open(self) -> None:
        row, w, c = self._open
        row.wall_s += time.perf_counter() - w
        row.cpu_main_s += time.process_time() - c
        row.cpu_s = row.cpu_main_s + row.cpu_workers_s
        self._open = (row, time.perf_counter(), time.process_time())

    def add(self, name: str, cpu_main_s: float, wall_s: float) -> None:
        """A step measured elsewhere (e.g. the interpreter's start and imports)."""
        self.rows.append(StepCost(name, wall_s=wall_s, cpu_s=cpu_main_s, cpu_main_s=cpu_main_s))

    def executor(self, ex) -> MeteredExecutor:
        """``ex`` with every batch of replications counted against the current step."""
        return MeteredExecutor(ex, self)

    def _count(self, tasks: list) -> None:
        row = self._current
        if row is None:
            return
        if not tasks or not isinstance(tasks[0][0], Scenario):
            return  # other work on the pool (the bootstrap's refits): CPU only
        row.simulations += 1
        row.replications += len(tasks)
        row.replication_days += sum(int(t[0].horizon.days) for t in tasks)
        chans = {_channels_of(t) for t in tasks} | ({row.channels} - {"-"})
        row.channels = ", ".join(sorted(chans))

    def _worker_cpu(self, pid: int, cpu: float) -> None:
        # Replications run in this process are in its own process time already.
        if self._current is not None and pid != os.getpid():
            self._current.cpu_workers_s += cpu
            self._current.cpu_s = self._current.cpu_main_s + self._current.cpu_workers_s

    def table(self) -> pd.DataFrame:
        """One row per step (:class:`StepCost`) and a ``total`` row; a step still open
        (the report that writes this table) counts up to now."""
        if self._current is not None:
            self._close_open()
        df = pd.DataFrame([asdict(r) for r in self.rows])
        if df.empty:
            return pd.DataFrame(columns=list(StepCost.__dataclass_fields__))
        tot = {c: df[c].sum() for c in df.columns if c not in ("step", "channels")}
        return pd.concat([df, pd.DataFrame([{"step": "total", **tot, "channels": ""}])],
                         ignore_index=True)

    def log_line(self, name: str) -> str:
        r = next(r for r in self.rows if r.step == name)
        sims = (f"{r.simulations} simulations, {r.replications} replications "
                f"({r.replication_days:,} days, {r.channels})" if r.simulations else "no simulation")
        return (f"  cost of '{name}': {r.cpu_s:.1f} s CPU ({r.cpu_workers_s:.1f} s in pool "
                f"workers), {r.wall_s:.1f} s wall; {sims}")


class MeteredExecutor:
    """An executor (``map(fn, tasks)`` in task order) that reports to a :class:`CostMeter`."""

    def __init__(self, ex, meter: CostMeter):
        self.ex, self.meter = ex, meter
        self.name = getattr(ex, "name", "metered")

    def map(self, fn: Callable, tasks: list) -> Iterator:
        tasks = list(tasks)
        self.meter._count(tasks)
        for pid, cpu, out in self.ex.map(functools.partial(_timed, fn), tasks):
            self.meter._worker_cpu(pid, cpu)
            yield out

    def close(self) -> None:
        self.ex.close()
