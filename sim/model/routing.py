"""Routing decisions as pure functions (no SimPy, no state of their own).

Each takes what it needs to know about the system now (free lines per province, line
time committed today) and returns a line group index (province, in the order of
``sim.config.PROVINCES``). Random choices take the caller's uniform draw ``u`` in
[0, 1) as an argument, so they are testable and keep random streams aligned across
scenarios. Definitions are in the docstrings of ``sim.config.Option0Routing`` and
``sim.config.Overflow``.
"""

from __future__ import annotations

from collections.abc import Sequence


def _pick(candidates: list[int], u: float) -> int:
    return candidates[min(int(u * len(candidates)), len(candidates) - 1)]


def least_busy(free: Sequence[int], committed: Sequence[float], u: float) -> int:
    """Most free lines now; ties to the least line time committed today; then ``u``."""
    most = max(free)
    tied = [g for g, f in enumerate(free) if f == most]
    least = min(committed[g] for g in tied)
    return _pick([g for g in tied if committed[g] == least], u)


def route_option0(
    policy: str,
    fixed: int,
    free: Sequence[int],
    committed: Sequence[float],
    rr_next: int,
    u: float,
) -> tuple[int, int]:
    """Province for an option-0 attempt, and the round-robin position after it.

    ``free[g]``: free lines of province g now (0 when closed or busy); ``committed[g]``:
    line seconds committed today; ``rr_next``: next province in the round-robin cycle.
    If no line is free anywhere, the returned province has none free either (busy
    tone, or its queue).
    """
    n = len(free)
    if policy == "fixed":
        return fixed, rr_next
    if policy == "round_robin":
        for step in range(n):
            g = (rr_next + step) % n
            if free[g] > 0:
                return g, (rr_next + 1) % n
        return rr_next % n, (rr_next + 1) % n
    if policy == "least_busy":
        return least_busy(free, committed, u), rr_next
    if policy == "any_free":
        with_free = [g for g in range(n) if free[g] > 0]
        return _pick(with_free or list(range(n)), u), rr_next
    raise ValueError(f"unknown option-0 routing policy {policy!r}")


def overflow_target(
    own: int,
    policy: str,
    free: Sequence[int],
    neighbours: Sequence[int],
    committed: Sequence[float],
    u: float,
) -> int | None:
    """Another province to take a call whose own province has no free line, or None.

    ``any_free``: among the other provinces with a free line, the least busy (most free
    lines, then least committed time, then ``u``); ``neighbours``: the first province in
    ``neighbours`` (ordered) with a free line.
    """
    if policy == "off":
        return None
    if policy == "neighbours":
        return next((g for g in neighbours if free[g] > 0), None)
    if policy == "any_free":
        others = [0 if g == own else f for g, f in enumerate(free)]
        if max(others) == 0:
            return None
        return least_busy(others, committed, u)
    raise ValueError(f"unknown overflow policy {policy!r}")


def tries_again(u: float, attempt: int, probabilities: Sequence[float], max_attempts: int) -> bool:
    """Whether a caller whose attempt number ``attempt`` failed makes another attempt.

    ``probabilities[k-1]`` applies after attempt k (the last value repeats); no attempt
    beyond ``max_attempts``. ``u`` is the caller's uniform draw for this decision.
    """
    if attempt >= max_attempts:
        return False
    p = probabilities[min(attempt, len(probabilities)) - 1]
    return u < p


# --- human limits on pooling (phone.pooling, phone.overflow weekdays/hours; issue 14) ---


def under_cap(free: Sequence[int], occupancy: Sequence[float], cap: float) -> list[int]:
    """``free`` with the provinces whose recent occupancy exceeds ``cap`` set to 0.

    A province over the cap takes no overflow or option-0 call (its counsellors have had
    no breathing space); ``cap >= 1`` leaves ``free`` as it is.
    """
    if cap >= 1.0:
        return list(free)
    return [0 if occ > cap else f for f, occ in zip(free, occupancy, strict=True)]


def in_peak_moment(now_s: float, first_weekday: int, weekdays: Sequence[int] | None,
                   span_min: tuple[int, int] | None) -> bool:
    """Whether overflow's weekday and clock-time limits allow it at ``now_s``.

    ``now_s``: seconds since the scenario start (00:00 of a day whose weekday is
    ``first_weekday``, 0 = Monday); ``weekdays``: allowed weekdays (None: all);
    ``span_min``: allowed clock time ``[from, to)`` in minutes after midnight (None: all day).
    """
    day, second = divmod(now_s, 86_400.0)
    if weekdays is not None and (first_weekday + int(day)) % 7 not in weekdays:
        return False
    return span_min is None or span_min[0] * 60.0 <= second < span_min[1] * 60.0


def pooled_talk_s(talk_s: float, answering: int, home: int, extra_s: float) -> float:
    """Talk time of a call answered by province ``answering`` for a caller from ``home``:
    ``extra_s`` more when they differ (no local knowledge of the social map, seed 004)."""
    return talk_s + extra_s if answering != home else talk_s
