"""Executors: serial, processes and Dask give bit-identical KPIs for the same seed."""

import pandas as pd
import pytest

from sim.experiments.executors import DaskExecutor, Processes, Serial
from sim.experiments.replications import run


@pytest.fixture(scope="module")
def serial_kpis(small):
    return run(small, 4, seed=12, progress=False, executor=Serial()).kpis()


def test_processes_equal_serial(small, serial_kpis):
    pd.testing.assert_frame_equal(serial_kpis, run(small, 4, seed=12, progress=False, executor=Processes(2)).kpis())


def test_dask_local_cluster_and_scheduler_address_equal_serial(small, serial_kpis):
    from dask.distributed import LocalCluster

    local = DaskExecutor(None, n_workers=2)
    try:
        pd.testing.assert_frame_equal(serial_kpis, run(small, 4, seed=12, progress=False, executor=local).kpis())
    finally:
        local.close()
    # A scheduler given by its address, as for a cluster of several machines (a worker thread
    # is enough to exercise the address path; worker processes were tested just above).
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        remote = DaskExecutor(cluster.scheduler_address)
        try:
            res = run(small, 4, seed=12, progress=False, executor=remote)
        finally:
            remote.close()
    pd.testing.assert_frame_equal(serial_kpis, res.kpis())


def _pid(_task) -> int:
    import os

    return os.getpid()


def test_kept_pool_serves_every_map_and_gives_serial_results(small, serial_kpis):
    """``Processes(2, keep=True)``: one pool for several maps (its workers' process ids
    repeat across maps), KPIs bit-identical to a serial run, and closed afterwards."""
    import os

    with Processes(2, keep=True) as ex:
        first = set(ex.map(_pid, list(range(8))))
        kp = run(small, 4, seed=12, progress=False, executor=ex).kpis()
        second = set(ex.map(_pid, list(range(8))))
        assert os.getpid() not in first | second, "tasks ran in the main process, not the pool"
        assert first & second, f"no worker served both maps: {first} vs {second}"
        pool = ex._pool
    assert ex._pool is None and pool is not None, "the kept pool was not closed by the with block"
    pd.testing.assert_frame_equal(serial_kpis, kp)


def _wait_for_flag(task) -> int:
    """Task 0 waits (at most 60 s) until task 1 has left its flag file, then a little
    longer; task 1 leaves the flag and returns at once. So task 1 finishes first."""
    import time
    from pathlib import Path

    i, flag = task
    if i == 1:
        Path(flag).write_text("1")
        return i
    deadline = time.monotonic() + 60
    while not Path(flag).exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.3)
    return i


@pytest.mark.parametrize("make", [lambda: Processes(2), lambda: Processes(2, keep=True)],
                         ids=["pool per map", "kept pool"])
def test_map_unordered_yields_tasks_as_they_finish(tmp_path, make):
    """A command that saves each finished replication for ``--resume`` must get a task a
    worker finished while an earlier task still runs (else an interruption loses it):
    ``as_finished`` yields task 1 before the task 0 that waits for it; ``map`` keeps task
    order; an executor with only ``map`` falls back to task order."""
    from sim.experiments.executors import as_finished

    tasks = [(0, str(tmp_path / "flag_a")), (1, str(tmp_path / "flag_a"))]
    with make() as ex:
        got = list(as_finished(ex, _wait_for_flag, tasks))
        assert got == [(1, 1), (0, 0)], f"(index, result) in finishing order expected, got {got}"
        tasks = [(0, str(tmp_path / "flag_b")), (1, str(tmp_path / "flag_b"))]
        assert list(ex.map(_wait_for_flag, tasks)) == [0, 1], "map must keep task order"

    class OnlyMap:
        def map(self, fn, tasks):
            return map(fn, tasks)

    assert list(as_finished(OnlyMap(), len, ["ab", "c"])) == [(0, 2), (1, 1)]
    assert list(as_finished(Serial(), len, ["ab", "c"])) == [(0, 2), (1, 1)]
