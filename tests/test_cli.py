"""The command line: results folders, comparisons, plots, and one-line errors."""

import json
import subprocess
import sys

import pandas as pd
import pytest

from sim.cli import main
from sim.config import load_scenario
from tests.conftest import ROOT, TEST_SCENARIOS

SMALL = str(TEST_SCENARIOS / "small.yaml")


def test_run_writes_a_self_describing_folder(tmp_path, capsys):
    out = tmp_path / "res"
    assert main([SMALL, "--reps", "2", "--seed", "4", "--out", str(out), "--jobs", "1",
                 "--keep-events", "--quiet", "--no-report"]) == 0  # the report: test_report
    line = capsys.readouterr().out.strip().splitlines()[-1]
    assert line.startswith("small: answer rate per caller") and str(out) in line
    meta = json.loads((out / "meta.json").read_text())
    assert meta["seed"] == 4 and meta["replications"] == 2 and meta["version"]
    summary = pd.read_csv(out / "summary.csv")
    assert {"mean", "ci_low", "ci_high", "n"} <= set(summary.columns)
    per_rep = pd.read_csv(out / "kpis_per_rep.csv")
    assert set(per_rep["replication"]) == {0, 1}
    assert (out / "events" / "attempts_rep0.csv.gz").exists()
    for name in ["answered_per_month", "answer_rate_per_month", "attempts_per_caller", "utilisation_weekday_hour"]:
        assert (out / "figures" / f"{name}.png").exists() and (out / "figures" / f"{name}.svg").exists()
    assert load_scenario(out / "scenario.yaml") == load_scenario(SMALL, {"experiment.seed": 4,
                                                                      "experiment.replications": 2})
    assert not list(tmp_path.glob(".res.tmp-*")), "no temporary folder left behind"


def test_plot_redraws_from_saved_results(tmp_path):
    out = tmp_path / "res"
    assert main([SMALL, "--reps", "2", "--out", str(out), "--jobs", "1", "--no-figures", "--no-report",
                 "--set", "horizon.end=2020-02-06", "--quiet"]) == 0
    assert not (out / "figures").exists()
    assert main(["plot", str(out)]) == 0
    # 4 standard figures and, for a horizon in 2020, answered phone, chat and e-mail
    # contacts per month against source document 000.
    assert len(list((out / "figures").glob("*.png"))) == 7


def test_compare_gives_paired_differences(tmp_path, capsys):
    option = tmp_path / "two.yaml"
    option.write_text(f"base: {SMALL}\nname: two_lines\nphone: {{staffing: {{lines: 2}}}}\n")
    out = tmp_path / "cmp"
    assert main(["compare", SMALL, str(option), "--reps", "3", "--out", str(out), "--jobs", "1", "--quiet",
                 "--no-report", "--no-figures"]) == 0
    assert not (out / "figures").exists(), "--no-figures draws none"
    t = pd.read_csv(out / "compare.csv")
    row = t[(t["scenario"] == "two_lines") & (t["kpi"] == "answer_rate_caller") & (t["by"] == "all")].iloc[0]
    assert row["diff_low"] > 0, f"two lines answer more callers: paired CI [{row['diff_low']}, {row['diff_high']}]"
    base = t[(t["scenario"] == "small") & (t["kpi"] == "answer_rate_caller") & (t["by"] == "all")].iloc[0]
    assert base["diff"] == 0


def test_bad_input_is_one_line_with_exit_status_2(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("phone:\n  queue:\n    capacity: -1\n")
    p = subprocess.run([sys.executable, str(ROOT / "run_sim.py"), str(bad), "--out", str(tmp_path / "r")],
                       capture_output=True, text=True, cwd=tmp_path)
    assert p.returncode == 2
    assert p.stderr.strip().count("\n") == 0, f"one line expected, got: {p.stderr}"
    assert "Traceback" not in p.stderr
    assert p.stderr.startswith("error: bad.yaml:3: phone.queue.capacity:"), p.stderr
    assert not (tmp_path / "r").exists(), "no results folder for a bad scenario"


def test_bad_set_path_exit_2(capsys):
    assert main([SMALL, "--set", "phone.nonsense=1", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --set: phone.nonsense:") and "does not exist" in err


@pytest.mark.slow
def test_validate_command_writes_table_and_figure(tmp_path, capsys):
    # The command, not the agreement (tests/test_theory_vs_sim.py): 2 replications of 5 days.
    rc = main(["validate", "--reps", "2", "--days", "5", "--out", str(tmp_path / "v"), "--jobs", "1",
               "--quiet"])
    line = capsys.readouterr().out.strip().splitlines()[-1]
    t = pd.read_csv(tmp_path / "v" / "validation.csv")
    assert rc == (0 if t["agrees"].all() else 1), "exit status follows the agreement"
    assert len(t) >= 25 and (tmp_path / "v" / "figures" / "validation.png").exists()
    assert line.startswith(f"validation: {int(t['agrees'].sum())} of {len(t)} measures agree")


# --- output levels, provenance, the headline of compare, the program's name -----------


def test_every_command_accepts_quiet_and_verbose():
    from sim.cli import COMMANDS, _parser

    for name in COMMANDS:
        sub = next(a for a in _parser(name)._actions if a.dest == "command").choices[name]
        flags = {f for a in sub._actions for f in a.option_strings}
        assert {"-q", "--quiet", "-v", "--verbose"} <= flags, f"{name}: {sorted(flags)}"


def test_help_names_the_invoked_program():
    from sim.cli import program_name

    assert program_name("/venv/bin/helpline-sim") == "helpline-sim"
    p = subprocess.run([sys.executable, str(ROOT / "run_sim.py"), "--help"], capture_output=True,
                       text=True)
    assert p.stdout.startswith("usage: run_sim.py"), p.stdout[:80]


def test_compare_refuses_a_single_scenario(capsys):
    assert main(["compare", SMALL, "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "at least one option" in err[0], err


def test_compare_redirected_prints_the_headline_and_no_progress(tmp_path):
    option = tmp_path / "two.yaml"
    option.write_text(f"base: {SMALL}\nname: two_lines\nphone: {{staffing: {{lines: 2}}}}\n")
    out = tmp_path / "cmp"
    p = subprocess.run([sys.executable, str(ROOT / "run_sim.py"), "compare", SMALL, str(option),
                        "--reps", "2", "--jobs", "1", "--set", "horizon.end=2020-02-06",
                        "--no-report", "--no-figures", "--out", str(out)],
                       capture_output=True, text=True, cwd=ROOT)
    assert p.returncode == 0, p.stderr
    assert p.stderr == "", f"progress bars written to a redirected stderr: {p.stderr[:200]!r}"
    assert "rate/caller" in p.stdout and "EUR/extra caller" in p.stdout, p.stdout
    assert "staffed phone line-hours" not in p.stdout, "the full table stays in the folder"
    assert "staffed phone line-hours" in (out / "compare.txt").read_text()
    meta = json.loads((out / "meta.json").read_text())
    assert "git_commit" in meta and meta["libraries"]["simpy"], sorted(meta)
