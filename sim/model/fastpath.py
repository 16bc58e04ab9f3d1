"""Lighter stand-ins for two SimPy constructs on the event loop's hot path (issue 16).

* :func:`timeout_or` for ``env.timeout(delay) | event`` (a caller between redials who
  may be called back, the callback desk between decisions, a chat visitor in the queue);
* :func:`start_journey` for ``env.process(generator)`` when nobody waits for the process
  (a new phone caller, a new chat visitor).

Both schedule the same events at the same moments as the SimPy form, less the ones
whose processing does nothing, so events are processed in the same order and every
result is the same (checked with ``cmp`` on the results of four scenarios; bench/README.md
section 7). SimPy orders events by (time, priority, insertion counter); leaving out an
event that no one listens to changes the counter of later events, never their order.
"""

from __future__ import annotations

from collections.abc import Generator

import simpy


def timeout_or(env: simpy.Environment, delay: float, event: simpy.Event) -> simpy.Event:
    """An event that succeeds (value None) once ``delay`` seconds have passed or
    ``event`` has been processed, whichever is first; ``event`` must not have been
    processed yet. Like ``env.timeout(delay) | event``: the timeout is scheduled now and
    the wake-up when the first of the two is processed (as the Condition would be), but
    without the Condition's bookkeeping (its value, the removal of its callbacks)."""
    wake = env.event()

    def fire(_event, wake=wake):
        if not wake.triggered:
            wake.succeed()

    env.timeout(delay).callbacks.append(fire)
    event.callbacks.append(fire)
    return wake


def start_journey(journey: Generator) -> None:
    """Run ``journey`` (a generator yielding SimPy events, as a process does) from now on.

    Equivalent to ``env.process(journey)`` for a process nobody waits for, **when called
    where SimPy would process the new process's start next**: the start of a process
    is an urgent event at the current instant, processed before anything else pending,
    so a process started at the end of a step (after everything that step schedules)
    runs its first part right after that step. Here it runs at once, which is the same
    order; what is saved is the start event and the end event (a process that ends is
    an event too, processed with no one listening), two of a caller's three or four
    events. Each later part runs when the event it waits for is processed, as with
    SimPy's ``Process``. An exception in the journey propagates out of ``env.run()``.
    """
    def resume(event) -> None:
        # SimPy's Process._resume, without the process event: send the event's value
        # (or throw its exception) until the journey waits for an unprocessed event.
        while True:
            if not event._ok:  # handed to the journey, as Process._resume does: not re-raised
                event._defused = True
            try:
                event = journey.send(event._value) if event._ok else journey.throw(event._value)
            except StopIteration:
                return
            if event.callbacks is not None:  # not processed yet: resume when it is
                event.callbacks.append(resume)
                return

    resume(_START)


def arrivals(env: simpy.Environment, times: list[float], journey) -> Generator:
    """The arrivals process of a channel: ``journey(i)`` starts at ``times[i]`` (Python
    floats: SimPy's clock), as ``env.timeout(times[i] - env.now)`` then
    ``env.process(journey(i))`` would start it: the next arrival is scheduled first, then
    the journey's first part runs (:func:`start_journey`). Use as ``yield from``."""
    if not times:
        return
    yield env.timeout(times[0] - env.now)
    for i in range(len(times)):
        later = env.timeout(times[i + 1] - env.now) if i + 1 < len(times) else None
        start_journey(journey(i))
        if later is not None:
            yield later


class _Start:
    """What a journey's first step is sent: None, as SimPy's start event sends."""

    _ok = True
    _value = None


_START = _Start()
