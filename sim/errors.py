"""The errors every layer may raise and the command line turns into one line.

Kept free of heavy imports, so that the command line can catch them without loading
pydantic, pandas or the model.
"""

from __future__ import annotations

from pathlib import Path


def _shown(file: str | Path) -> str:
    """A file as the user would name it: relative to the working directory if inside it."""
    p = Path(file)
    if p.is_absolute():
        try:
            return str(p.relative_to(Path.cwd()))
        except ValueError:
            return str(p)
    return str(file)


class ScenarioError(Exception):
    """A scenario problem, printable as one line: ``file:line: path: message``."""

    def __init__(self, file: str | Path | None, path: str, message: str, line: int | None = None):
        self.file = _shown(file) if file is not None else "<scenario>"
        self.path = path
        self.message = message
        self.line = line
        super().__init__(f"{self.file}: {path}: {message}")

        self.more: list[ScenarioError] = []  # further problems found in the same file

    def line_text(self) -> str:
        """This problem alone, as one line."""
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        if not self.path and self.file.startswith("--"):  # a command-line flag
            return f"{where}: {self.message}"
        return f"{where}: {self.path or '(top level)'}: {self.message}"

    def __str__(self) -> str:
        # One problem: one line. Several: a summary line, then one line per problem.
        if not self.more:
            return self.line_text()
        allp = [self, *self.more]
        return "\n".join([f"{self.file}: {len(allp)} problems", *("  " + e.line_text() for e in allp)])


class ReplicationError(RuntimeError):
    """A replication failed; names what is needed to rerun it alone."""

    def __init__(self, scenario: str, replication: int, seed: int, cause: BaseException | str):
        self.scenario, self.replication, self.seed = scenario, replication, seed
        self.cause = cause if isinstance(cause, str) else f"{type(cause).__name__}: {cause}"
        super().__init__(
            f"replication {replication} of scenario {scenario!r} (seed {seed}) failed: {self.cause}"
        )

    def __reduce__(self):  # must cross process boundaries intact
        return (ReplicationError, (self.scenario, self.replication, self.seed, self.cause))


class MissingDataError(FileNotFoundError):
    """A published data file (``sim/data/*.csv``) is not where the package expects it: a
    broken install or a deleted file. Raised instead of carrying on without the published
    series, so that no figure or fit silently loses its comparison with the published
    figures."""


class OutputError(Exception):
    """An output place the tool will not use (not its own, locked by another run):
    one line naming the path."""


class Terminated(KeyboardInterrupt):
    """SIGTERM received: stop like Ctrl-C (workers stopped, finished replications kept)."""
