"""Where replications run: in this process, on local processes, or on a Dask cluster.

An executor maps a function over task tuples and yields the results in task order.
Every replication seeds its own random streams from (seed, replication, stream name),
so results are bit-identical whatever the executor.

Dask: ``DaskExecutor(address)`` connects to a running scheduler (``dask scheduler`` on
one machine, ``dask worker tcp://HOST:8786 --nthreads 1`` on each worker machine, with
this package installed on every worker); ``DaskExecutor(None, n_workers)`` starts a local
cluster of worker processes for this run.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor


def default_jobs() -> int:
    """Parallel processes by default: every core of this machine."""
    return max(1, os.cpu_count() or 1)


class Serial:
    name = "serial"

    def map(self, fn: Callable, tasks: list) -> Iterator:
        return map(fn, tasks)

    def close(self) -> None:
        pass


class Processes:
    """A process pool on this machine (``jobs`` processes), created per map."""

    name = "processes"

    def __init__(self, jobs: int):
        self.jobs = jobs

    def map(self, fn: Callable, tasks: list) -> Iterator:
        if self.jobs <= 1 or len(tasks) <= 1:
            yield from map(fn, tasks)
            return
        with ProcessPoolExecutor(max_workers=min(self.jobs, len(tasks))) as pool:
            yield from pool.map(fn, tasks)

    def close(self) -> None:
        pass


class DaskExecutor:
    """Tasks on a Dask cluster: the scheduler at ``address``, or a local cluster."""

    name = "dask"

    def __init__(self, address: str | None = None, n_workers: int = 2):
        from dask.distributed import Client, LocalCluster

        self._cluster = None
        if address is None:
            self._cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                                         dashboard_address=None)
            self.client = Client(self._cluster)
        else:
            self.client = Client(address)

    def map(self, fn: Callable, tasks: list) -> Iterable:
        from dask.distributed import as_completed

        if not tasks:
            return
        futures = self.client.map(fn, tasks, pure=False)
        order = {f.key: i for i, f in enumerate(futures)}
        done: dict[int, object] = {}
        nxt = 0
        # Yield in task order as results arrive (progress advances as they complete).
        for fut in as_completed(futures):
            done[order[fut.key]] = fut.result()
            while nxt in done:
                yield done.pop(nxt)
                nxt += 1

    def close(self) -> None:
        self.client.close()
        if self._cluster is not None:
            self._cluster.close()


def make_executor(kind: str, jobs: int, scheduler: str | None = None):
    """``kind``: "processes" (default) or "dask" (``scheduler`` address or a local cluster)."""
    if kind == "dask":
        return DaskExecutor(scheduler, n_workers=jobs)
    if kind == "serial" or jobs <= 1:
        return Serial()
    return Processes(jobs)


def add_executor_arguments(p) -> None:
    """The CLI options that choose where replications run."""
    p.add_argument("--executor", choices=["processes", "dask"], default="processes",
                   help="processes on this machine (default) or a Dask cluster")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="Dask scheduler address, e.g. tcp://10.0.0.5:8786 (default: a local cluster)")


def executor_from_args(args):
    return make_executor(args.executor, args.jobs, args.scheduler)
