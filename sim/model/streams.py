"""Named random streams: one numpy Generator per purpose.

Each stream is seeded from (seed, replication, stable hash of its name), so adding a
stream shifts no other, and two scenarios run with the same seed share the random
numbers of every stream they both use (common random numbers).
"""

from __future__ import annotations

import zlib

import numpy as np


def stream_key(name: str) -> int:
    """Stable 32-bit hash of a stream name (``hash()`` is salted per process)."""
    return zlib.crc32(name.encode("utf-8"))


class Streams:
    """Factory of named streams for one replication: ``streams("talk.phone")``."""

    def __init__(self, seed: int, replication: int):
        self.seed = int(seed)
        self.replication = int(replication)

    def __call__(self, name: str) -> np.random.Generator:
        ss = np.random.SeedSequence(self.seed, spawn_key=(self.replication, stream_key(name)))
        return np.random.Generator(np.random.PCG64(ss))
