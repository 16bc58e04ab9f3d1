"""meta.json provenance: package version, git commit (dirty or not), library versions."""

import shutil
import subprocess

import pytest

from sim.results import provenance as P


def test_provenance_names_version_python_and_libraries():
    p = P.provenance()
    assert p["version"] and p["python"]
    assert set(p["libraries"]) == {"simpy", "numpy", "pandas", "scipy", "pydantic"}
    assert all(p["libraries"].values()), f"every library is installed here: {p['libraries']}"


@pytest.mark.skipif(shutil.which("git") is None, reason="git not installed")
def test_git_commit_and_dirty_flag(tmp_path, monkeypatch):
    def git(*args):
        return subprocess.run(["git", "-C", str(tmp_path), *args], check=True, capture_output=True,
                              text=True).stdout.strip()

    monkeypatch.setattr(P, "_ROOT", tmp_path)
    assert P.git_commit() is None, "not a checkout: no commit"
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    git("init", "-q")
    git("add", "pyproject.toml")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "init")
    head = git("rev-parse", "HEAD")
    (tmp_path / "results.csv").write_text("untracked files do not count\n")
    assert P.git_commit() == head
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'y'\n")
    assert P.git_commit() == f"{head}-dirty"
