"""``env.timeout(delay) | event`` without SimPy's Condition machinery (issue 16).

A process that waits for "``delay`` seconds, or until ``event`` succeeds, whichever comes
first" (a caller between redials who may be called back; the callback desk between
decisions) gets a plain event that the first of the two wakes. The same events are
scheduled at the same moments as with the ``|`` form (the timeout when the wait starts;
the wake-up when the first of the two is processed), so the order of events, and every
result, is the same; what is saved is the Condition's bookkeeping (its value, the
removal of its callbacks), a measurable share of the event loop.
"""

from __future__ import annotations

import simpy


def timeout_or(env: simpy.Environment, delay: float, event: simpy.Event) -> simpy.Event:
    """An event that succeeds (value None) once ``delay`` seconds have passed or
    ``event`` has been processed, whichever is first. ``event`` must not have been
    processed yet."""
    wake = env.event()

    def fire(_event, wake=wake):
        if not wake.triggered:
            wake.succeed()

    env.timeout(delay).callbacks.append(fire)
    event.callbacks.append(fire)
    return wake
