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
