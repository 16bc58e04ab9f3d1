import fcntl
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from sim.config import load_scenario

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"
TEST_SCENARIOS = Path(__file__).resolve().parent / "scenarios"


@pytest.fixture(scope="session")
def small():
    """Two weeks of the baseline (tests/scenarios/small.yaml)."""
    return load_scenario(TEST_SCENARIOS / "small.yaml")


def shared_folder(tmp_path_factory, name: str, build: Callable[[Path], None]) -> Path:
    """A folder filled by ``build(folder)`` once per test session, also across the
    pytest-xdist workers (each worker has its own session: the first to get here builds,
    the others wait on a file lock and reuse it). Treat it as read-only: a test that
    writes into it copies it first (``shutil.copytree(folder, tmp_path / ...)``).

    For results that cost seconds to make and that several tests only read (the
    pytest-xdist recipe for session fixtures run once; fcntl: Linux and macOS)."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # shared by the workers of this run
    folder, done = root / f"shared-{name}", root / f"shared-{name}.done"
    with open(root / f"shared-{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file is closed
        if not done.exists():
            if folder.exists():  # a build that failed in another worker: start again
                shutil.rmtree(folder)
            folder.mkdir()
            build(folder)
            done.touch()
    return folder
