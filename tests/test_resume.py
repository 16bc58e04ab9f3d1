"""--resume for optimise, sensitivity and backtest (issue 16: every long command resumable).

Each command is interrupted (a KeyboardInterrupt injected after k finished replications,
as Ctrl-C would), then resumed: the results folder must equal an uninterrupted run's
file for file (meta.json aside: it records times and the command line; SVG files embed
their creation date), and the resumed run must simulate only the replications the
interrupted one did not finish. One week of tests/scenarios/small.yaml, 2 replications,
one process.
"""

from __future__ import annotations

import filecmp
import json
from pathlib import Path

import pytest

import sim.planning.backtest as backtest_mod
import sim.planning.optimise as optimise_mod
from sim.cli import main
from sim.config import load_scenario
from sim.experiments.saved import SavedResults, digest
from tests.conftest import TEST_SCENARIOS

SMALL = str(TEST_SCENARIOS / "small.yaml")
WEEK = ["--set", "horizon.end=2020-02-09"]
COMMON = ["--jobs", "1", "--no-report", "--no-figures", "--quiet"]


class Interrupt:
    """Wraps a worker function: counts the replications it simulates and raises
    KeyboardInterrupt (Ctrl-C) instead of starting number ``stop_after + 1``."""

    def __init__(self, real, stop_after: int | None = None):
        self.real, self.stop_after, self.calls = real, stop_after, 0

    def __call__(self, task):
        if self.stop_after is not None and self.calls >= self.stop_after:
            raise KeyboardInterrupt
        self.calls += 1
        return self.real(task)


def same_files(a: Path, b: Path) -> list[str]:
    """Files that differ (or exist in one folder only) between two results folders,
    meta.json and SVG figures aside."""
    def files(root):
        return {p.relative_to(root) for p in root.rglob("*") if p.is_file()
                and p.name != "meta.json" and p.suffix != ".svg"}
    fa, fb = files(a), files(b)
    diff = sorted(str(f) for f in fa ^ fb)
    diff += sorted(str(f) for f in fa & fb if not filecmp.cmp(a / f, b / f, shallow=False))
    return diff


def interrupted_then_resumed(monkeypatch, capsys, tmp_path, module, worker: str, args: list[str],
                             stop_after: int, ok=(0,)) -> tuple[int, int, Path, Path]:
    """Run ``args`` uninterrupted, interrupted after ``stop_after`` replications, then
    with --resume. Returns (replications of the uninterrupted run, of the resumed run,
    the uninterrupted folder, the resumed folder) and checks the interruption's message."""
    real = getattr(module, worker)
    full = Interrupt(real)
    monkeypatch.setattr(module, worker, full)
    assert main([*args, "--out", str(tmp_path / "full")]) in ok
    assert full.calls > stop_after, f"the test needs more than {stop_after} replications, got {full.calls}"

    out = tmp_path / "res"
    cut = Interrupt(real, stop_after)
    monkeypatch.setattr(module, worker, cut)
    capsys.readouterr()
    assert main([*args, "--out", str(out)]) == 130
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "resume with:" in err[0] and err[0].endswith("--resume") \
        and args[0] in err[0], f"the interruption names the command to resume: {err}"
    assert not out.exists(), "an interrupted command writes no results folder"
    partial = tmp_path / ".res.partial"
    saved = list(partial.rglob("*.pkl"))
    assert len(saved) == stop_after, f"{stop_after} finished replications saved, found {len(saved)}"

    again = Interrupt(real)
    monkeypatch.setattr(module, worker, again)
    assert main([*args, "--out", str(out), "--resume"]) in ok
    assert not partial.exists(), "the partial folder is removed once the results are written"
    return full.calls, again.calls, tmp_path / "full", out


@pytest.mark.parametrize("screen", [False, True], ids=["one at a time", "screen morris"])
def test_sensitivity_resumes_bit_identical(monkeypatch, capsys, tmp_path, screen):
    """One at a time: an option (ranking, gains and a shared, restaffed run), cut after 5.
    --screen morris: 14 screening points x 2 replications, then 3 settings x 2, cut after
    30, in the second stage: the screening comes back from the saved replications."""
    if screen:
        args, stop = ["sensitivity", SMALL, *WEEK, "--quick", "--screen", "morris", "--keep", "1",
                      *COMMON], 30
    else:
        option = tmp_path / "option.yaml"
        opt = load_scenario(SMALL, {"name": "small_more_option0", "phone.option0.probability": 0.3})
        option.write_text(opt.to_yaml(), encoding="utf-8")
        args, stop = ["sensitivity", SMALL, *WEEK, "--quick", "--params", "handling_time",
                      "--options", str(option), *COMMON], 5
    n_full, n_resumed, full, res = interrupted_then_resumed(
        monkeypatch, capsys, tmp_path, optimise_mod, "_replication", args, stop_after=stop)
    assert n_resumed == n_full - stop, (f"the resumed run simulates only the {n_full - stop} "
                                        f"missing replications, simulated {n_resumed}")
    assert same_files(full, res) == [], "resumed and uninterrupted results differ"
    meta = json.loads((res / "meta.json").read_text())
    assert (meta["model_runs"], meta["model_runs_resumed"]) == (n_full, stop)


def test_sensitivity_under_readings_resumes_bit_identical(monkeypatch, capsys, tmp_path):
    # Interrupted in the second reading: the first reading's replications are reused too.
    option = tmp_path / "option.yaml"
    opt = load_scenario(SMALL, {"name": "small_more_option0", "phone.option0.probability": 0.3})
    option.write_text(opt.to_yaml(), encoding="utf-8")
    args = ["sensitivity", SMALL, *WEEK, "--quick", "--params", "handling_time",
            "--options", str(option), "--readings", "per_attempt,per_caller", *COMMON]
    n_full, n_resumed, full, res = interrupted_then_resumed(
        monkeypatch, capsys, tmp_path, optimise_mod, "_replication", args, stop_after=9)
    assert n_full > 9 + 1 and n_resumed == n_full - 9, \
        f"the resumed run simulates only the {n_full - 9} missing replications, simulated {n_resumed}"
    assert same_files(full, res) == [], "resumed and uninterrupted results differ"


def test_optimise_resumes_bit_identical(monkeypatch, capsys, tmp_path):
    args = ["optimise", SMALL, *WEEK, "--target", "answer_rate_per_caller>=0.9", "--quick",
            "--parts", "09:00-18:00", "--max-steps", "2", *COMMON]
    n_full, n_resumed, full, res = interrupted_then_resumed(
        monkeypatch, capsys, tmp_path, optimise_mod, "_replication", args, stop_after=7, ok=(0, 1))
    assert n_resumed == n_full - 7, (f"the resumed run simulates only the {n_full - 7} missing "
                                     f"replications, simulated {n_resumed}")
    assert same_files(full, res) == [], "resumed and uninterrupted results differ"


def test_backtest_resumes_bit_identical(monkeypatch, capsys, tmp_path):
    # Two weeks of each backtested year instead of the whole year (the table is then not
    # a backtest, but the same for both runs, which is what is compared).
    real = backtest_mod.year_overrides

    def short(scn, year, carry="trend"):
        return {**real(scn, year, carry), "horizon.end": f"{year}-01-14"}

    monkeypatch.setattr(backtest_mod, "year_overrides", short)
    args = ["backtest", SMALL, "--reps", "2", "--jobs", "1", "--quiet"]
    n_full, n_resumed, full, res = interrupted_then_resumed(
        monkeypatch, capsys, tmp_path, backtest_mod, "_year_replication", args, stop_after=3)
    assert (n_full, n_resumed) == (8, 5), f"4 years x 2 replications, 3 saved: got {n_full}, {n_resumed}"
    assert same_files(full, res) == [], "resumed and uninterrupted results differ"


def test_saved_results_for_other_settings_are_ignored_in_one_line(monkeypatch, capsys, tmp_path):
    args = ["sensitivity", SMALL, *WEEK, "--quick", "--params", "handling_time", "--jobs", "1",
            "--no-report", "--out", str(tmp_path / "res")]
    real = optimise_mod._replication
    monkeypatch.setattr(optimise_mod, "_replication", Interrupt(real, 2))
    assert main([*args, "--seed", "1", "-q"]) == 130
    counted = Interrupt(real)
    monkeypatch.setattr(optimise_mod, "_replication", counted)
    capsys.readouterr()
    assert main([*args, "--seed", "2", "--resume"]) == 0  # another seed: nothing reusable
    err = capsys.readouterr().err
    assert counted.calls == 6, f"3 settings x 2 replications simulated anew, got {counted.calls}"
    lines = [x for x in err.splitlines() if "ignored" in x]
    assert len(lines) == 1 and "resumed: 0 saved replications reused" in lines[0] \
        and "2 saved for another scenario, seed" in lines[0], err


def test_saved_results_are_keyed_and_checked(tmp_path, capsys):
    saved = SavedResults(tmp_path)
    k = saved.key("scenario", 1, 0, ("phone",))
    assert k != saved.key("scenario", 1, 1, ("phone",)) != saved.key("scenario", 2, 0, ("phone",))
    assert digest("ab", "c") != digest("a", "bc"), "parts are length-prefixed"
    saved.save(k, {"x": 0.1 + 0.2})
    assert SavedResults(tmp_path).load(k) == {"x": 0.1 + 0.2}, "a float comes back exact"
    assert SavedResults(tmp_path).load(saved.key("other")) is None
    f = tmp_path / f"{k}.pkl"
    f.write_bytes(f.read_bytes()[:-3])  # truncated, as by a full disk or a crash
    again = SavedResults(tmp_path)
    assert again.load(k) is None and not f.exists(), "a damaged file is dropped and done again"
    assert "is damaged" in capsys.readouterr().err
    # A valid file renamed to another unit's key is not taken for that unit.
    saved.save(k, 1)
    other = saved.key("other")
    f.rename(tmp_path / f"{other}.pkl")
    assert SavedResults(tmp_path).load(other) is None


def test_bad_input_found_late_leaves_no_partial_folder(tmp_path, capsys):
    # Under a reading none of the default options shares the one-week horizon: refused
    # after the partial folder was opened, which must not stay behind empty.
    out = tmp_path / "res"
    assert main(["sensitivity", SMALL, *WEEK, "--quick", "--readings", "per_caller",
                 "--out", str(out), "-q"]) == 2
    assert "no option shares the scenario's horizon" in capsys.readouterr().err
    assert not (tmp_path / ".res.partial").exists() and not out.exists()


@pytest.mark.parametrize("command", ["optimise", "sensitivity", "backtest"])
def test_resume_flag_exists(command, capsys):
    with pytest.raises(SystemExit):
        main([command, "--help"])
    assert "--resume" in capsys.readouterr().out


def test_commands_without_resume_do_not_promise_it():
    from sim.cli import resume_hint

    assert "has no --resume" in resume_hint("fit", ["fit"])
    assert resume_hint("sensitivity", ["sensitivity", "x.yaml"]).endswith("sensitivity x.yaml --resume")
