"""Routing decisions as pure functions (no SimPy, no state of their own).

Each takes what it needs to know about the system now and returns a line group index.
Random decisions take their uniform draw as an argument, so they are testable and keep
random streams aligned across scenarios.
"""

from __future__ import annotations

from sim.config import PROVINCES, Option0Routing


def target_group(home: int, option0: bool, policy: Option0Routing) -> int:
    """Line group (province index) an attempt is offered to.

    A caller who picks their province goes to that province's lines. Option 0 goes to
    the province named by the ``fixed`` policy (the pre-2021 behaviour, seed 000).
    """
    if not option0:
        return home
    if policy.policy == "fixed":
        return PROVINCES.index(policy.province)
    raise ValueError(f"unknown option-0 routing policy {policy.policy!r}")


def tries_again(u: float, attempt: int, probabilities: list[float], max_attempts: int) -> bool:
    """Whether a caller whose attempt number ``attempt`` failed makes another attempt.

    ``probabilities[k-1]`` applies after attempt k (the last value repeats); no attempt
    beyond ``max_attempts``. ``u`` is the caller's uniform draw for this decision.
    """
    if attempt >= max_attempts:
        return False
    p = probabilities[min(attempt, len(probabilities)) - 1]
    return u < p
