"""Routing decisions are pure functions: tested without SimPy, with hypothesis."""

from hypothesis import given, settings
from hypothesis import strategies as st

from sim.model import routing

N = 5
free_lines = st.lists(st.integers(0, 3), min_size=N, max_size=N)
committed = st.lists(st.floats(0, 1e5, allow_nan=False), min_size=N, max_size=N)
unit = st.floats(0, 1, exclude_max=True)
POLICIES = ["round_robin", "least_busy", "any_free"]


@settings(max_examples=300, database=None, derandomize=True)
@given(free_lines, committed, st.integers(0, N - 1), unit, st.sampled_from(POLICIES))
def test_option0_never_to_a_busy_line_while_one_is_free(free, comm, rr, u, policy):
    g, rr_after = routing.route_option0(policy, 3, free, comm, rr, u)
    assert 0 <= g < N and 0 <= rr_after < N
    if any(f > 0 for f in free):
        assert free[g] > 0, f"{policy} sent the call to busy province {g} while {free} had free lines"


@settings(max_examples=100, database=None, derandomize=True)
@given(free_lines, committed, st.integers(0, N - 1), unit)
def test_fixed_is_deterministic(free, comm, rr, u):
    assert routing.route_option0("fixed", 2, free, comm, rr, u) == (2, rr)


@settings(max_examples=200, database=None, derandomize=True)
@given(free_lines, committed, unit)
def test_least_busy_takes_most_free_then_least_committed(free, comm, u):
    g = routing.least_busy(free, comm, u)
    assert free[g] == max(free)
    assert comm[g] == min(c for f, c in zip(free, comm, strict=True) if f == max(free))


def test_round_robin_cycles_and_hunts():
    free = [1, 1, 1, 1, 1]
    seen, rr = [], 0
    for _ in range(6):
        g, rr = routing.route_option0("round_robin", 0, free, [0] * 5, rr, 0.5)
        seen.append(g)
    assert seen == [0, 1, 2, 3, 4, 0]
    assert routing.route_option0("round_robin", 0, [0, 0, 0, 1, 0], [0] * 5, 1, 0.5) == (3, 2)


def test_random_tie_break_uses_the_draw():
    free, comm = [1, 1, 1, 1, 1], [0.0] * 5
    picks = {routing.route_option0("any_free", 0, free, comm, 0, u)[0] for u in (0.0, 0.21, 0.41, 0.61, 0.99)}
    assert picks == {0, 1, 2, 3, 4}


@settings(max_examples=300, database=None, derandomize=True)
@given(free_lines, committed, st.integers(0, N - 1), unit)
def test_overflow_any_free_finds_a_free_line_elsewhere(free, comm, own, u):
    free = list(free)
    free[own] = 0
    g = routing.overflow_target(own, "any_free", free, [], comm, u)
    if any(f > 0 for i, f in enumerate(free) if i != own):
        assert g is not None and g != own and free[g] > 0
    else:
        assert g is None, "no overflow when no other province has a free line"


def test_overflow_neighbours_in_order():
    free = [0, 1, 0, 1, 0]
    assert routing.overflow_target(0, "neighbours", free, [2, 3, 1], [0] * 5, 0.5) == 3
    assert routing.overflow_target(0, "neighbours", free, [2, 4], [0] * 5, 0.5) is None
    assert routing.overflow_target(0, "off", free, [1], [0] * 5, 0.5) is None
