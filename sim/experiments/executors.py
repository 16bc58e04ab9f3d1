"""Where replications run: in this process, on local processes, or on a Dask cluster.

An executor maps a function over task tuples and yields the results in task order
(``map``), or as ``(index, result)`` pairs in the order they finish (``map_unordered``;
:func:`as_finished` works with any executor). A command that saves every finished
replication for ``--resume`` collects them as they finish, so an interruption loses
none that a worker had finished while an earlier task was still running.
Every replication seeds its own random streams from (seed, replication, stream name),
so results are bit-identical whatever the executor.

Dask: ``DaskExecutor(address)`` connects to a running scheduler (``dask scheduler`` on
one machine, ``dask worker tcp://HOST:8786 --nthreads 1`` on each worker machine, with
this package installed on every worker); ``DaskExecutor(None, n_workers)`` starts a local
cluster of worker processes for this run.
"""

from __future__ import annotations

import contextlib
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

    def map_unordered(self, fn: Callable, tasks: list) -> Iterator[tuple[int, object]]:
        return enumerate(map(fn, tasks))

    def close(self) -> None:
        pass


def _in_task_order(pairs: Iterable[tuple[int, object]]) -> Iterator:
    """The results of ``(index, result)`` pairs in task order, each yielded as soon as
    every earlier one has arrived."""
    done: dict[int, object] = {}
    nxt = 0
    for i, out in pairs:
        done[i] = out
        while nxt in done:
            yield done.pop(nxt)
            nxt += 1


def as_finished(executor, fn: Callable, tasks: list) -> Iterator[tuple[int, object]]:
    """``(index, result)`` of every task, in the order the tasks finish when the executor
    can tell (``map_unordered``), else in task order (any object with ``map``)."""
    unordered = getattr(executor, "map_unordered", None)
    if unordered is not None:
        return unordered(fn, tasks)
    return enumerate(executor.map(fn, tasks))


def _worker_init(parent: int) -> None:
    """Run in each pool worker: leave Ctrl-C to the main process (which stops the pool),
    die quietly when the main process stops the pool (SIGTERM), and die with the main
    process even when it is killed outright (SIGKILL)."""
    import signal
    import threading
    import time

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # A forked worker inherits the main process's SIGTERM handler (stop_on_signals), which
    # raises in the middle of a task and prints a traceback when _stop terminates the pool.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:  # Linux: the kernel sends SIGKILL when the parent dies
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:  # died before prctl took effect
        os._exit(1)

    def watch() -> None:  # elsewhere (and as a second line): poll for the parent
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, daemon=True, name="parent-watch").start()


def _stop(pool: ProcessPoolExecutor) -> None:
    """Stop a pool at once: terminate its workers (SIGTERM), drop queued tasks."""
    procs = list((getattr(pool, "_processes", None) or {}).values())  # no public API for this
    for p in procs:
        with contextlib.suppress(Exception):
            p.terminate()
    pool.shutdown(wait=False, cancel_futures=True)
    for p in procs:
        with contextlib.suppress(Exception):
            p.join(timeout=2)
            if p.is_alive():
                p.kill()


class Processes:
    """A process pool on this machine (``jobs`` processes).

    By default a pool is created per ``map`` and shut down after it. ``keep=True``
    keeps one pool for every ``map`` until :meth:`close` (or the end of a ``with``
    block): a command that maps many small batches (the fit: about 80) then forks its
    workers once instead of once per batch. Results are the same either way (every
    replication seeds its own streams).

    Interrupted (Ctrl-C, SIGTERM, an error while collecting), the pool's workers are
    terminated at once instead of finishing their replications; a killed main process
    takes its workers with it.
    """

    name = "processes"

    def __init__(self, jobs: int, keep: bool = False):
        self.jobs = jobs
        self.keep = keep
        self._pool: ProcessPoolExecutor | None = None

    def _new_pool(self, workers: int) -> ProcessPoolExecutor:
        pool = ProcessPoolExecutor(max_workers=workers, initializer=_worker_init,
                                   initargs=(os.getpid(),))
        _LIVE.add(pool)
        return pool

    def map(self, fn: Callable, tasks: list) -> Iterator:
        return _in_task_order(self.map_unordered(fn, tasks))

    def map_unordered(self, fn: Callable, tasks: list) -> Iterator[tuple[int, object]]:
        """``(index, result)`` as the tasks finish, on a pool of its own or the kept one;
        interrupted (Ctrl-C, SIGTERM, an error while collecting, the consumer stopping),
        the pool's workers are stopped at once."""
        from concurrent.futures import as_completed

        if self.jobs <= 1 or len(tasks) <= 1:
            yield from enumerate(map(fn, tasks))
            return
        kept = self.keep
        if kept and self._pool is None:
            self._pool = self._new_pool(self.jobs)
        pool = self._pool if kept else self._new_pool(min(self.jobs, len(tasks)))
        try:
            futures = {pool.submit(fn, t): i for i, t in enumerate(tasks)}
            for fut in as_completed(futures):
                yield futures[fut], fut.result()
        except BaseException:
            _stop(pool)
            _LIVE.discard(pool)
            if kept:
                self._pool = None
            raise
        if not kept:
            _LIVE.discard(pool)
            pool.shutdown(wait=True)

    def close(self) -> None:
        """Shut the kept pool down (its workers finish their task first)."""
        if self._pool is not None:
            _LIVE.discard(self._pool)
            self._pool.shutdown(wait=True)
            self._pool = None

    def __enter__(self) -> Processes:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# Pools still running, stopped by :func:`stop_all` when the command is interrupted
# outside the pool's own frame.
_LIVE: set = set()


def stop_all() -> None:
    """Terminate the workers of every pool still running in this process."""
    for pool in list(_LIVE):
        _stop(pool)
        _LIVE.discard(pool)


@contextlib.contextmanager
def stop_on_signals():
    """SIGTERM raises :class:`sim.errors.Terminated` (a KeyboardInterrupt) in the main
    thread, so that it unwinds like Ctrl-C: workers stopped, finished replications kept.
    Outside the main thread this does nothing."""
    import signal
    import threading

    from sim.errors import Terminated

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        raise Terminated()

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
        stop_all()


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
        return _in_task_order(self.map_unordered(fn, tasks))

    def map_unordered(self, fn: Callable, tasks: list) -> Iterator[tuple[int, object]]:
        from dask.distributed import as_completed

        if not tasks:
            return
        futures = self.client.map(fn, tasks, pure=False)
        order = {f.key: i for i, f in enumerate(futures)}
        for fut in as_completed(futures):
            yield order[fut.key], fut.result()

    def close(self) -> None:
        self.client.close()
        if self._cluster is not None:
            self._cluster.close()


def make_executor(kind: str, jobs: int, scheduler: str | None = None, keep: bool = False):
    """``kind``: "processes" (default) or "dask" (``scheduler`` address or a local cluster).
    ``keep``: processes kept for every batch until ``close()`` (:class:`Processes`)."""
    if kind == "dask":
        return DaskExecutor(scheduler, n_workers=jobs)
    if kind == "serial" or jobs <= 1:
        return Serial()
    return Processes(jobs, keep=keep)


def add_executor_arguments(p) -> None:
    """The CLI options that choose where replications run."""
    p.add_argument("--executor", choices=["processes", "dask"], default="processes",
                   help="processes on this machine (default) or a Dask cluster")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="Dask scheduler address, e.g. tcp://10.0.0.5:8786 (default: a local cluster)")


def executor_from_args(args, keep: bool = False):
    """The executor the CLI options ask for. ``keep=True`` for a command that maps many
    batches and closes its executor (``optimise``, ``sensitivity``): the pool's workers
    are forked once and keep their memo of shared set-up (:mod:`sim.model.memo`) from
    batch to batch."""
    return make_executor(args.executor, args.jobs, args.scheduler, keep=keep)
