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


SIMULATED = ("run", "compare", "sweep", "optimise", "sensitivity", "noreport")


@pytest.fixture(scope="session")
def folders(tmp_path_factory):
    """Results folders of every kind that simulates quickly (one week of small.yaml, 2
    replications, one process), made through the CLI once per test session and shared by
    the pytest-xdist workers (``noreport``: without report and figures). Read-only: a
    test that writes copies its folder first."""
    root = shared_folder(tmp_path_factory, "report-folders", _simulate_every_kind)
    return {k: root / k for k in SIMULATED}


def _simulate_every_kind(root):
    from sim.cli import main

    week = root / "week.yaml"
    week.write_text(f"base: {TEST_SCENARIOS / 'small.yaml'}\nname: week\n"
                    "horizon: {start: 2020-02-10, end: 2020-02-16}\n")
    two = root / "two.yaml"
    two.write_text(f"base: {week}\nname: two_lines\nphone: {{staffing: {{lines: 2}}}}\n")
    free = root / "free.yaml"
    free.write_text(f"base: {week}\nname: overflow\nphone: {{overflow: {{policy: any_free}}}}\n")
    sweep = root / "sweep.yaml"
    sweep.write_text(f"base: {week}\nname: lines\nreplications: 2\nseed: 1\n"
                     "grid:\n  phone.staffing.lines: [1, 2]\n")
    common = ["--jobs", "1", "--quiet"]
    out = {k: root / k for k in SIMULATED}
    assert main([str(week), "--reps", "2", "--out", str(out["run"]), *common]) == 0
    assert main(["compare", str(week), str(two), str(free), "--reps", "2",
                 "--out", str(out["compare"]), *common]) == 0
    assert main(["sweep", str(sweep), "--out", str(out["sweep"]), *common]) == 0
    main(["optimise", str(week), "--target", "answer_rate_per_caller>=0.6", "--quick",
          "--max-steps", "1", "--out", str(out["optimise"]), *common])
    assert main(["sensitivity", str(week), "--options", str(two), "--params", "handling_time",
                 "--quick", "--out", str(out["sensitivity"]), *common]) == 0
    assert main([str(week), "--reps", "2", "--no-report", "--no-figures", "--out", str(out["noreport"]),
                 *common]) == 0


@pytest.fixture(scope="session")
def quick_fit(tmp_path_factory):
    """One ``fit --quick --reading per_caller`` per test session (shared by the workers),
    in a project-like layout: ``scenarios/fitted/per_caller/`` and
    ``results/fit/per_caller/``. Read-only (test_fit checks it, test_reading_scores scores it)."""
    def build(root: Path) -> None:
        from sim.cli import main

        assert main(["fit", "--quick", "--quiet", "--reading", "per_caller", "--jobs", "1",
                     "--scenario-out", str(root / "scenarios"),
                     "--out", str(root / "results" / "fit" / "per_caller")]) == 0

    return shared_folder(tmp_path_factory, "quick_fit", build)


# Tests that take seconds, and the shared folders several tests wait for, start first: the
# pytest-xdist workers then end together on the many short tests instead of one worker
# finishing a long test alone (longest-first scheduling; the order of the rest is kept).
_FIRST_FIXTURES = {"quick_fit", "folders"}


def pytest_collection_modifyitems(items):
    def first(item) -> bool:
        return (item.get_closest_marker("slow") is not None
                or bool(_FIRST_FIXTURES & set(getattr(item, "fixturenames", ()))))

    items.sort(key=lambda item: not first(item))  # stable: False (first) before True
