"""``compare --select KPI``: the Kim-Nelson selection on simulated scenarios (two weeks of
the baseline, one process), and its one-line errors."""

import json

import pandas as pd
import pytest

from sim.cli import main
from tests.conftest import TEST_SCENARIOS

SMALL = str(TEST_SCENARIOS / "small.yaml")


def options(tmp_path):
    files = []
    for name, lines in [("two_lines", 2), ("three_lines", 3)]:
        f = tmp_path / f"{name}.yaml"
        f.write_text(f"base: {SMALL}\nname: {name}\nphone: {{staffing: {{lines: {lines}}}}}\n")
        files.append(str(f))
    return files


def test_select_picks_the_clear_best_and_says_what_it_used(tmp_path, capsys):
    """One, two and three lines per province: more lines answer more callers (CRN), the
    selection ends with three_lines; every scenario took part in at least n0 = 3
    replications, the table uses the common count, and the selection's observations are
    the table's (the first stage in full, later ones phone-only: the same phone KPI)."""
    out = tmp_path / "sel"
    assert main(["compare", SMALL, *options(tmp_path), "--select", "answer_rate_caller", "--n0", "3",
                 "--max-reps", "8", "--delta", "0.01", "--out", str(out), "--jobs", "1", "--quiet",
                 "--no-report", "--no-figures"]) == 0
    last = capsys.readouterr().out.strip().splitlines()
    assert last[-2].startswith("selected three_lines on answer_rate_caller"), last
    sel = pd.read_csv(out / "selection.csv").set_index("scenario")
    assert sel.loc["three_lines", "status"] == "selected"
    assert (sel["replications_used"] >= 3).all() and (sel["replications_run"] >= sel["replications_used"]).all()
    meta = json.loads((out / "meta.json").read_text())
    m = meta["selection"]
    assert m["settled"] and m["selected"] == "three_lines" and m["channels_simulated"] == ["phone"]
    assert (m["kpi"], m["delta"], m["alpha"], m["n0"], m["max_reps"]) == ("answer_rate_caller", 0.01, 0.05, 3, 8)
    common = int(sel["replications_used"].min())
    assert meta["replications"] == m["table_replications"] == common
    text = (out / "compare.txt").read_text()
    assert text.startswith("Selection of the best on answer_rate_caller") and "within 0.01 of the best" in text
    for name in sel.index:
        k = pd.read_csv(out / f"kpis_per_rep_{name}.csv")
        k = k[(k["by"] == "all") & (k["kpi"] == "answer_rate_caller")]
        assert sorted(k["replication"]) == list(range(common))
        if sel.loc[name, "replications_used"] == common:
            assert k["value"].mean() == sel.loc[name, "mean"], (
                f"{name}: the selection's mean over {common} phone-only replications against the "
                "full replications of the table")


@pytest.mark.parametrize("flags, flag, words", [
    (["--select", "no_such_kpi"], "--select", "unknown KPI"),
    (["--select", "answer_rate_caller", "--delta", "0"], "--delta", "> 0"),
    (["--select", "answer_rate_caller", "--delta", "-0.01"], "--delta", "> 0"),
    (["--select", "answer_rate_caller", "--delta", "nan"], "--delta", "> 0"),
    (["--select", "answer_rate_caller", "--n0", "1"], "--n0", "at least 2"),
    (["--select", "answer_rate_caller", "--max-reps", "4"], "--max-reps", "at least --n0 = 5"),
    (["--select", "answer_rate_caller", "--alpha", "1"], "--alpha", "between 0 and 1"),
    (["--select", "callers_answered"], "--delta", "not a rate"),
    (["--delta", "0.01"], "--delta", "only applies with --select"),
    (["--select", "answer_rate_caller", "--readings", "scenarios/readings"], "--select", "--readings"),
])
def test_bad_selection_settings_give_one_line(tmp_path, capsys, flags, flag, words):
    out = tmp_path / "never"
    assert main(["compare", SMALL, SMALL, "--out", str(out), "--quiet", *flags]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and flag in err[0] and words in err[0], err
    assert not out.exists()


def test_resume_reuses_the_selections_replications(tmp_path, capsys, monkeypatch):
    """Interrupted after the selection (while the table's replications run), ``--resume``
    loads the selection's saved (phone-only) replications instead of simulating them, and
    ends the same way with the same counts as an uninterrupted run. An alpha of 1e-9
    keeps both scenarios in the race to the cap (5): two later stages, not settled."""
    import sim.experiments.replications as replications

    option = tmp_path / "least_busy.yaml"
    option.write_text(f"base: {SMALL}\nname: least_busy\nphone: {{option0: {{routing: {{policy: least_busy}}}}}}\n")
    flags = [str(option), "--select", "answer_rate_caller", "--n0", "3", "--max-reps", "5", "--alpha", "1e-9",
             "--jobs", "1", "--quiet", "--no-report", "--no-figures"]
    ref = tmp_path / "ref"
    assert main(["compare", SMALL, *flags, "--out", str(ref)]) == 0
    out = tmp_path / "cut"
    real = replications.run

    calls = []

    def interrupted(*a, **k):  # the first stage runs, then Ctrl-C during the table
        calls.append(1)
        if len(calls) > 2:
            raise KeyboardInterrupt
        return real(*a, **k)

    monkeypatch.setattr(replications, "run", interrupted)
    assert main(["compare", SMALL, *flags, "--out", str(out)]) == 130  # Ctrl-C: work kept
    assert not out.exists()
    monkeypatch.setattr(replications, "run", real)
    capsys.readouterr()
    assert main(["compare", SMALL, *flags, "--out", str(out), "--resume"]) == 0
    first = json.loads((ref / "meta.json").read_text())["selection"]
    runs = first["model_runs"]
    assert runs == 4 and not first["settled"] and first["survivors"] == ["small", "least_busy"], first
    got = json.loads((out / "meta.json").read_text())["selection"]
    assert (got["model_runs"], got["resumed"]) == (0, runs), (
        f"resumed run: {got['model_runs']} simulated, {got['resumed']} loaded; the uninterrupted "
        f"run simulated {runs}")
    pd.testing.assert_frame_equal(pd.read_csv(out / "selection.csv"), pd.read_csv(ref / "selection.csv"))
