"""Finished work of a long command, saved as it completes and reused by ``--resume``.

``run``, ``compare`` and ``sweep`` checkpoint the replications of one scenario at a time
(:class:`sim.experiments.replications.Checkpoint`). ``optimise``, ``sensitivity`` and
``backtest`` evaluate many scenarios, each under its own options (channels simulated,
overall KPIs only, what is kept of a simulation), so their unit of work is one
replication of one scenario under those options. :class:`SavedResults` keeps each
finished unit in one file of the command's partial folder (``.NAME.partial`` beside
its ``--out``, :func:`sim.results.folders.partial_folder`), named by a SHA-256 of
everything that decides the result (:meth:`SavedResults.key`): the tool's version, the
resolved scenario, the seed, the replication, the channels and the options. A unit is
reused only when that key is the same; a file made for anything else is never read as
this unit, and is counted and named in one line (:meth:`SavedResults.summary`).

Replications draw from streams seeded by (seed, replication, stream name) (common
random numbers), and pickle keeps floats exact, so a resumed command's results are
bit-identical to an uninterrupted one.

Each file is ``MAGIC + SHA-256(payload) + payload`` with the payload a pickle of
``(key, value)``, written under a temporary name, flushed to disk and renamed (as
``Checkpoint`` does): a killed command or machine never leaves a half-written unit, and
a truncated or altered file is reported in one line and simulated again.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pickle
import sys
from collections.abc import Callable
from pathlib import Path


def write_durable(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that a crash leaves the old file or the new one, never
    a torn one: a temporary file beside it, flushed and synced, then renamed (also the
    run's checkpoints, :class:`sim.experiments.replications.Checkpoint`)."""
    tmp = path.with_name(path.name + ".tmp")
    try:
        with tmp.open("wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


MAGIC = b"H1712SR1"
_HEAD = len(MAGIC) + 32  # magic + SHA-256 of the payload


def digest(*parts: object) -> str:
    """A SHA-256 (hex) of ``parts``: strings and bytes as they are, anything else by its
    ``repr`` (tuples of strings, numbers and None, whose repr is stable); each part is
    length-prefixed, so ``("ab", "c")`` and ``("a", "bc")`` differ."""
    h = hashlib.sha256()
    for p in parts:
        b = p if isinstance(p, bytes) else (p if isinstance(p, str) else repr(p)).encode("utf-8")
        h.update(len(b).to_bytes(8, "little"))
        h.update(b)
    return h.hexdigest()


class SavedResults:
    """Units of work saved in ``folder`` (None: nothing is saved or reused).

    ``load(key)`` returns a saved value or None; ``save(key, value)`` writes one as soon
    as it is finished. ``loaded`` and ``saved`` count them; ``found`` is the number of
    files there at the start (those of an interrupted run when resuming).
    """

    def __init__(self, folder: Path | None, warn: Callable[[str], None] | None = None):
        self.folder = None if folder is None else Path(folder)
        self._warn = warn or (lambda m: print(m, file=sys.stderr))
        self._names: set[str] = set()
        if self.folder is not None:
            self.folder.mkdir(parents=True, exist_ok=True)
            self._names = {p.stem for p in self.folder.glob("*.pkl")}
        self.found = len(self._names)
        self._used: set[str] = set()
        self.loaded = 0
        self.saved = 0

    @staticmethod
    def key(*parts: object) -> str:
        """The key of a unit: :func:`digest` of the tool's version and ``parts`` (the
        scenario's resolved content, seed, replication, channels, options)."""
        from sim import __version__

        return digest("hulplijn-sim", __version__, *parts)

    def _file(self, key: str) -> Path:
        return self.folder / f"{key}.pkl"

    def load(self, key: str):
        """The value saved under ``key``, or None (not saved, or damaged: then reported
        in one line, removed, and the unit is simply done again)."""
        if self.folder is None or key not in self._names:
            return None
        f = self._file(key)
        try:
            blob = f.read_bytes()
        except OSError:
            blob = b""
        payload = blob[_HEAD:]
        ok = blob[:len(MAGIC)] == MAGIC and hashlib.sha256(payload).digest() == blob[len(MAGIC):_HEAD]
        item = None
        if ok:
            try:
                item = pickle.loads(payload)  # noqa: S301 - our own file, checksum verified
            except Exception:  # noqa: BLE001 - any unreadable file is simply done again
                item = None
        if not (isinstance(item, tuple) and len(item) == 2 and item[0] == key):
            self._warn(f"warning: {f} is damaged (truncated or altered); it is simulated again")
            f.unlink(missing_ok=True)
            self._names.discard(key)
            return None
        self._used.add(key)
        self.loaded += 1
        return item[1]

    def save(self, key: str, value) -> None:
        """Write ``value`` under ``key`` at once (temporary file, flushed, renamed)."""
        if self.folder is None:
            return
        payload = pickle.dumps((key, value), protocol=pickle.HIGHEST_PROTOCOL)
        write_durable(self._file(key), MAGIC + hashlib.sha256(payload).digest() + payload)
        self._names.add(key)
        self._used.add(key)
        self.saved += 1

    @property
    def unused(self) -> int:
        """Files present at the start that this command neither reused nor rewrote: made
        for another scenario, seed, replication, channels or options."""
        return len(self._names - self._used)

    def summary(self, what: str = "replications") -> str | None:
        """One line on what a resumed command reused and ignored (None when it found
        nothing saved)."""
        if self.folder is None or not self.found:
            return None
        line = f"resumed: {self.loaded} saved {what} reused from {self.folder}"
        if self.unused:
            line += (f"; {self.unused} saved for another scenario, seed, replication, channels "
                     "or options ignored")
        return line


@contextlib.contextmanager
def resumable(out: Path, resume: bool, partial: Path | None = None, quiet: bool = False,
              what: str = "replications"):
    """The saved units of the command writing ``out``, for the length of the command.

    Holds ``out``'s lock (:func:`sim.results.folders.output_lock`: a second command with
    the same ``--out`` is refused instead of mixing its units), opens its partial folder
    (:func:`sim.results.folders.partial_folder`: emptied first unless ``resume``) and
    yields a :class:`SavedResults` on it. ``partial``: a folder given by the caller
    instead (``--readings``: one per reading inside the readings command's own partial
    folder, which that command empties and removes). When the block ends normally
    (the results folder written), a resumed command says in one line what it reused and
    ignored, and the partial folder is removed; after an interruption or a failure
    everything saved stays for ``--resume``.
    """
    from sim.results.folders import output_lock, partial_folder, remove_partial

    with output_lock(out):
        folder = partial if partial is not None else partial_folder(out, resume)
        saved = SavedResults(folder)
        if resume and saved.found and not quiet:
            print(f"resuming: {saved.found} saved {what} found in {folder}", file=sys.stderr)
        try:
            yield saved
        except BaseException:
            # Stopped before anything was saved (bad input found late): leave no empty folder.
            if partial is None and not any(folder.rglob("*.pkl")):
                remove_partial(folder)
            raise
        line = saved.summary(what)
        if line is not None and (not quiet or saved.unused):
            print(line, file=sys.stderr)
        if partial is None:
            remove_partial(folder)
