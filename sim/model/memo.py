"""Per-process memo of the set-up a replication shares with others (issue 16).

The planner's commands (``optimise``, ``sensitivity``, ``compare``) simulate many
scenarios that differ only in capacity on common random numbers: replication r of every
one draws the same callers, chat visitors and e-mails, and every replication of one
scenario builds the same calendars. Each piece is made once per process here and handed
out again, keyed by exactly the inputs it depends on (the JSON of the configuration it
reads, the horizon, the seed and the replication number where it draws), so a hit gives
the very values a fresh computation would give: results are bit-identical.

Why drawing can be skipped: every purpose draws from its own named stream, a fresh
generator seeded from (seed, replication, stream name) at each ``streams(name)`` call
(:mod:`sim.model.streams`), so a piece not drawn again shifts no other stream.

Pieces handed out are shared between runs, so they are frozen: every numpy array in
them is read-only (``flags.writeable = False``; a run that tried to write would fail,
not change another run), sets are frozensets, and dicts are copied per hand-out.
(The Python lists inside the calendars' step functions and open intervals are not
frozen, nor counted in the byte bound: nothing writes them after they are built.)
The memo is bounded: at most :data:`MAX_ENTRIES` pieces and :data:`MAX_BYTES` of
arrays per process, the least recently used dropped first. A pool worker has its own
memo (it fills as the worker runs its tasks; nothing crosses processes).

Off unless a command turns it on (:meth:`Memo.on`): only the commands that simulate
several scenarios on the same replications gain from it (their worker,
:func:`sim.planning.optimise._replication`, does), whereas ``run`` simulates each
replication once and would only hold up to :data:`MAX_BYTES` of callers per process
for nothing (its peak memory stays that of one replication).
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator

import numpy as np
from pydantic import BaseModel

from sim.model.streams import Streams

# A year of phone callers with their per-attempt draws is about 13 MB (fitted_2020: 15,400
# callers x 15 attempts); 256 MB keeps the confirmation replications (10 by default) of
# a schedule and those of the search together.
MAX_BYTES = 256 * 2**20
MAX_ENTRIES = 64


def part(x) -> str:
    """Text of one input of a key: a pydantic model as its JSON, anything else repr."""
    return x.model_dump_json() if isinstance(x, BaseModel) else repr(x)


def key(kind: str, *inputs) -> tuple:
    """A memo key: the piece's name and the text of each input it depends on."""
    return (kind, *(part(x) for x in inputs))


def drawn_key(kind: str, streams, *inputs) -> tuple | None:
    """The key of a piece drawn from ``streams``: its seed and replication with the
    inputs; None (not memoised) for anything but a plain :class:`Streams`, whose draws
    are decided by (seed, replication, stream name) alone."""
    if type(streams) is not Streams:
        return None
    return key(kind, streams.seed, streams.replication, *inputs)


def _freeze(x, arrays: list[np.ndarray]):
    """``x`` with its arrays read-only (in place: the memo's own objects) and sets frozen;
    the arrays are collected in ``arrays`` (for the byte count)."""
    if isinstance(x, np.ndarray):
        x.flags.writeable = False
        arrays.append(x)
        return x
    if isinstance(x, set):
        return frozenset(x)
    if isinstance(x, tuple):
        return tuple(_freeze(v, arrays) for v in x)
    if isinstance(x, dict):
        return {k: _freeze(v, arrays) for k, v in x.items()}
    if dataclasses.is_dataclass(x) and not isinstance(x, type):
        for f in dataclasses.fields(x):
            v = getattr(x, f.name)
            w = _freeze(v, arrays)
            if w is not v:
                object.__setattr__(x, f.name, w)  # (frozen dataclasses too: our own object)
        return x
    return x


class Memo:
    """A bounded LRU memo of frozen pieces (module docstring); ``hits`` and ``misses``
    count look-ups."""

    def __init__(self, max_entries: int = MAX_ENTRIES, max_bytes: int = MAX_BYTES):
        self.max_entries, self.max_bytes = max_entries, max_bytes
        self.enabled = False  # (see the module docstring: on())
        self._items: OrderedDict[Hashable, tuple[object, int]] = OrderedDict()
        self._bytes = 0
        self.hits = self.misses = 0

    def get(self, k: Hashable | None, make: Callable[[], object]) -> object:
        """The piece of key ``k``: from the memo, or ``make()`` frozen and remembered.
        A dict is handed out as a copy (its values shared). ``k`` None: ``make()``, not
        remembered."""
        if not self.enabled or k is None:
            return make()
        got = self._items.get(k)
        if got is not None:
            self._items.move_to_end(k)
            self.hits += 1
            value = got[0]
        else:
            self.misses += 1
            arrays: list[np.ndarray] = []
            value = _freeze(make(), arrays)
            size = sum(a.nbytes for a in arrays)
            if size <= self.max_bytes:
                self._items[k] = (value, size)
                self._bytes += size
                while len(self._items) > self.max_entries or self._bytes > self.max_bytes:
                    _, (_, dropped) = self._items.popitem(last=False)
                    self._bytes -= dropped
        return dict(value) if isinstance(value, dict) else value

    def clear(self) -> None:
        self._items.clear()
        self._bytes = 0
        self.hits = self.misses = 0

    def __len__(self) -> int:
        return len(self._items)

    @contextlib.contextmanager
    def on(self) -> Iterator[None]:
        """Pieces remembered and handed out inside the block (what is remembered stays
        for the next block)."""
        before, self.enabled = self.enabled, True
        try:
            yield
        finally:
            self.enabled = before

    @contextlib.contextmanager
    def disabled(self) -> Iterator[None]:
        """Every piece computed afresh inside the block (tests, benchmarks)."""
        before, self.enabled = self.enabled, False
        try:
            yield
        finally:
            self.enabled = before


# The process's memo, shared by the model's modules.
MEMO = Memo()
