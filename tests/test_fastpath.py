"""The event loop's cheaper stand-ins give exactly what the SimPy constructs give (issue 16).

sim.model.fastpath replaces ``env.timeout(d) | event`` and ``env.process(journey)`` on the
hot path; sim.model.lines and the helpline keep staffed lines and the opening state with
the instant of their next change instead of searching at every look-up. Each is checked
against the construct it replaces, record for record, on seeded random workloads that
make ties (equal instants) common, where event order matters most.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import simpy

from sim.model import fastpath
from sim.model.calendar import OpenIntervals, StepFunction
from sim.model.fastpath import start_journey, timeout_or
from sim.model.lines import LineGroup


def _workload(fast: bool, seed: int) -> list[tuple]:
    """Journeys on a grid of instants (many ties): each waits a random time or until a
    shared signal, signals are sent by others at random; returns the trace of
    (time, journey, what). ``fast``: the fastpath forms, else SimPy's own."""
    rng = np.random.default_rng(seed)
    env = simpy.Environment()
    trace: list[tuple] = []
    signals = [env.event() for _ in range(4)]
    starts = np.sort(rng.integers(0, 30, 40)).astype(float).tolist()
    waits = rng.integers(0, 6, (40, 5)).astype(float).tolist()
    pick = rng.integers(0, 4, (40, 5)).tolist()
    sends = rng.random((40, 5)).tolist()

    def journey(j):
        trace.append((env.now, j, "start"))
        for k in range(5):
            s = pick[j][k]
            if sends[j][k] < 0.3 and not signals[s].triggered:
                signals[s].succeed(j)
                signals[s] = env.event()
                trace.append((env.now, j, f"sent {s}"))
            if signals[s].callbacks is None:  # (processed already: a fresh one)
                signals[s] = env.event()
            if fast:
                yield timeout_or(env, waits[j][k], signals[s])
            else:
                yield env.timeout(waits[j][k]) | signals[s]
            trace.append((env.now, j, f"woke {k}"))
        trace.append((env.now, j, "end"))

    def arrivals():
        if fast:  # the shipped loop (phone, chat and e-mail use it)
            yield from fastpath.arrivals(env, list(starts), journey)
            return
        yield env.timeout(starts[0])
        for j in range(len(starts)):
            env.process(journey(j))
            if j + 1 < len(starts):
                yield env.timeout(starts[j + 1] - env.now)

    env.process(arrivals())
    env.run()
    return trace


@pytest.mark.parametrize("seed", range(5))
def test_fastpath_forms_give_the_same_trace_as_simpy(seed):
    simpy_trace, fast_trace = _workload(False, seed), _workload(True, seed)
    assert len(simpy_trace) > 200
    assert fast_trace == simpy_trace, "fastpath trace differs from the SimPy trace (same seed)"


def test_start_journey_raises_the_journeys_error():
    env = simpy.Environment()

    def journey():
        yield env.timeout(1.0)
        raise RuntimeError("boom")

    start_journey(journey())
    with pytest.raises(RuntimeError, match="boom"):
        env.run()


def test_state_at_matches_is_open_and_holds_until_the_change():
    rng = np.random.default_rng(3)
    starts = np.cumsum(rng.integers(1, 5, 30)).astype(float)
    ends = starts + rng.integers(1, 3, 30)
    ends = np.minimum(ends, np.append(starts[1:], math.inf))  # disjoint, some touching
    oi = OpenIntervals(starts, ends)
    times = np.sort(np.concatenate([rng.uniform(-2, starts[-1] + 5, 300), starts, ends])).tolist()
    for t in times:
        state, until = oi.state_at(t)
        assert state == oi.is_open(t), f"state_at({t}) != is_open({t})"
        assert until > t
        if until < math.inf:  # constant on [t, until), may change at until
            assert oi.is_open(np.nextafter(until, -math.inf)) == state


def test_line_group_staffed_lines_follow_the_step_function():
    """has_free_line / at_line with the cached value equal lines(now) at every instant,
    changes included, as time moves forward."""
    rng = np.random.default_rng(4)
    times = np.cumsum(rng.integers(1, 4, 40)).astype(float)
    values = rng.integers(0, 4, 40)
    lines = StepFunction(times, values)
    env = simpy.Environment()
    group = LineGroup(env, 0, lines, 0)
    seen = []

    def probe():
        for t in np.sort(np.concatenate([rng.uniform(0, times[-1] + 3, 200), times])).tolist():
            yield env.timeout(t - env.now)
            seen.append((group.at_line(), lines(env.now), group.has_free_line(), lines(env.now) > 0))

    env.process(probe())
    env.run()
    assert len(seen) == 240
    assert all(a == b and c == d for a, b, c, d in seen), "cached staffed lines differ from lines(now)"
