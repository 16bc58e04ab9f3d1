"""The corpus of bad scenario files (tests/bad_inputs/): each gives one clear line.

Each file's first line says what it expects: ``# expect: dotted.path | fragment``.
"""

import subprocess
import sys
from pathlib import Path

import pytest

from sim.config import ScenarioError, load_scenario
from tests.conftest import ROOT

CORPUS = sorted((Path(__file__).parent / "bad_inputs").glob("*.yaml"))


def expectation(f: Path) -> tuple[str, str]:
    head = f.read_text(encoding="utf-8").splitlines()[0]
    path, fragment = head.removeprefix("# expect:").split("|")
    return path.strip(), fragment.strip()


def test_corpus_is_large_enough():
    assert len(CORPUS) >= 30, f"the issue asks for at least 30 bad inputs, found {len(CORPUS)}"


@pytest.mark.parametrize("f", CORPUS, ids=lambda f: f.stem)
def test_bad_file_names_file_path_and_problem(f):
    path, fragment = expectation(f)
    with pytest.raises(ScenarioError) as err:
        load_scenario(f)
    e = err.value
    assert (e.path or "(top level)") == path, f"{f.name}: error path {e.path!r}, expected {path!r} ({e})"
    assert fragment in e.message, f"{f.name}: message {e.message!r} lacks {fragment!r}"
    text = str(e)
    assert "\n" not in text and Path(e.file).name.endswith(".yaml"), f"{f.name}: {text}"


def test_cli_exit_status_2_and_no_traceback_for_every_bad_file(tmp_path):
    """One subprocess per file would be slow: run them in one interpreter via main()."""
    code = (
        "import sys, contextlib, io\n"
        "from sim.cli import main\n"
        "bad = []\n"
        "for f in sys.argv[1:]:\n"
        "    err = io.StringIO()\n"
        "    with contextlib.redirect_stderr(err):\n"
        "        rc = main([f, '--quiet', '--out', 'never'])\n"
        "    lines = err.getvalue().strip().splitlines()\n"
        "    if rc != 2 or len(lines) != 1 or not lines[0].startswith('error: '):\n"
        "        bad.append((f, rc, lines))\n"
        "print(bad)\n"
    )
    p = subprocess.run([sys.executable, "-c", code, *map(str, CORPUS)], capture_output=True, text=True,
                       cwd=tmp_path, env={"PYTHONPATH": str(ROOT), "PATH": ""})
    assert p.returncode == 0 and "Traceback" not in p.stderr, p.stderr
    assert p.stdout.strip() == "[]", f"files without exit 2 and one error line: {p.stdout}"
    assert not (tmp_path / "never").exists()
