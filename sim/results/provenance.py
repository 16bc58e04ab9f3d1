"""What produced a results folder: package version, git commit, library versions.

Every command that writes ``meta.json`` adds :func:`provenance` to it, so a figure can be
traced to the exact code and libraries that made it (habit 10). Cheap: one or two
``git`` calls with a timeout and ``importlib.metadata`` look-ups; never raises.
"""

from __future__ import annotations

import platform
import subprocess
from importlib import metadata
from pathlib import Path

from sim import __version__

# The libraries whose versions can change simulated numbers or their summaries.
LIBRARIES = ("simpy", "numpy", "pandas", "scipy", "pydantic")

# The checkout this package was imported from, if any: the folder holding ``sim/`` must
# also hold this project's pyproject.toml and a .git entry (a folder, or a file in a
# worktree). An installed copy in site-packages has neither, so it reports no commit
# rather than the commit of whatever repository the virtual environment happens to sit in.
_ROOT = Path(__file__).resolve().parents[2]


def _git(*args: str, timeout_s: float = 5.0) -> str | None:
    """Output of ``git -C ROOT args`` (stripped), or None if git is missing or fails."""
    try:
        out = subprocess.run(["git", "-C", str(_ROOT), *args], capture_output=True, text=True,
                             timeout=timeout_s, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip()


def git_commit() -> str | None:
    """``<40-hex commit>`` of the checkout, ``<commit>-dirty`` if tracked files differ from
    it (uncommitted changes), None when not run from a git checkout of this project.

    Untracked files (results folders, notebooks' scratch) do not count as dirty."""
    if not ((_ROOT / "pyproject.toml").is_file() and (_ROOT / ".git").exists()):
        return None
    commit = _git("rev-parse", "HEAD")
    if not commit:
        return None
    status = _git("status", "--porcelain", "--untracked-files=no")
    if status is None:
        return commit
    return f"{commit}-dirty" if status else commit


def library_versions() -> dict[str, str | None]:
    """Installed version of each of :data:`LIBRARIES` (None if not installed)."""
    out: dict[str, str | None] = {}
    for name in LIBRARIES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def provenance() -> dict:
    """Keys for ``meta.json``: ``version`` (this package), ``git_commit`` (see
    :func:`git_commit`), ``python`` and ``libraries`` (name -> version)."""
    return {"version": __version__, "git_commit": git_commit(),
            "python": platform.python_version(), "libraries": library_versions()}
