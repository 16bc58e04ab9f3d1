"""What every command shares: the one-line error."""

from __future__ import annotations

import sys


def fail(message: str, status: int) -> int:
    """Print ``error: message`` on stderr and return the exit status."""
    print(f"error: {message}", file=sys.stderr)
    return status


# Command-line numbers and their smallest sensible value; checked before the scenario is
# read so that ``--reps 0`` is reported as ``--reps``, not as the setting it overrides.
_FLAG_MINIMA = {"reps": 1, "seed": 0, "jobs": 1, "rep": 0, "keep_events": 0, "max_reps": 1}


def check_flags(args) -> None:
    """Raise a ScenarioError naming the flag for a number out of range."""
    from sim.errors import ScenarioError

    for dest, low in _FLAG_MINIMA.items():
        value = getattr(args, dest, None)
        if value is not None and value < low:
            flag = "--" + dest.replace("_", "-")
            raise ScenarioError(flag, "", f"must be at least {low} (got {value})")


def load_with_flags(path, args, overrides: dict | None = None):
    """Load ``path`` with ``--set`` overrides and ``--reps``/``--seed``; flags checked first."""
    from sim.config import load_scenario, parse_overrides

    check_flags(args)
    over = {**parse_overrides(getattr(args, "set", [])), **(overrides or {})}
    if getattr(args, "reps", None) is not None:
        over["experiment.replications"] = args.reps
    if getattr(args, "seed", None) is not None:
        over["experiment.seed"] = args.seed
    return load_scenario(path, over)
