"""Sweeps: validation, expansion, the tidy table, and figures redrawn from saved results."""

import pandas as pd
import pytest

from sim.cli import main
from sim.config import ScenarioError
from sim.experiments.sweep import SweepFile, load_sweep
from tests.conftest import TEST_SCENARIOS


def sweep_file(tmp_path, body):
    f = tmp_path / "sweep.yaml"
    f.write_text(f"base: {TEST_SCENARIOS / 'small.yaml'}\n{body}", encoding="utf-8")
    return f


def test_grid_and_points_expand():
    s = SweepFile(base="x.yaml", grid={"a": [1, 2], "b": ["x", "y"]}, points=[{"a": 9}])
    assert s.expand() == [{"a": 1, "b": "x"}, {"a": 1, "b": "y"}, {"a": 2, "b": "x"}, {"a": 2, "b": "y"}, {"a": 9}]


@pytest.mark.parametrize("body, path, fragment", [
    ("name: s\n", "", "give a 'grid' or 'points'"),
    ("grid: {phone.staffing.lines: []}\n", "", "has no values"),
    ("grid: {phone.staffing.lines: [1]}\nreplicates: 3\n", "replicates", "unknown key"),
    ("grid: {phone.staffing.linez: [1]}\n", "grid (point 0): phone.staffing.linez", "does not exist"),
    ("points: [{phone.queue.capacity: -1}]\n", "points (point 0): phone.queue.capacity", "greater than or equal"),
])
def test_bad_sweep_files(tmp_path, body, path, fragment):
    with pytest.raises(ScenarioError) as err:
        load_sweep(sweep_file(tmp_path, body))
    assert err.value.path == path and fragment in err.value.message, str(err.value)
    assert str(err.value).startswith(str(tmp_path / "sweep.yaml"))


def test_sweep_runs_and_plots_from_saved_results(tmp_path, capsys):
    f = sweep_file(tmp_path, "name: tiny\nreplications: 2\ngrid: {phone.staffing.lines: [1, 2]}\n"
                             "points: [{phone.overflow.policy: any_free}]\n")
    out = tmp_path / "res"
    assert main(["sweep", str(f), "--out", str(out), "--jobs", "1", "--quiet", "--no-figures",
                 "--no-report"]) == 0
    assert "tiny: 3 points x 2 reps" in capsys.readouterr().out
    t = pd.read_csv(out / "sweep.csv")
    assert len(t) == 3 * 2 and set(t["point"]) == {0, 1, 2}, "one row per point and replication"
    assert {"phone.staffing.lines", "phone.overflow.policy", "answer_rate_caller", "cost_total"} <= set(t.columns)
    s = pd.read_csv(out / "sweep_summary.csv")
    ar = s[s["kpi"] == "answer_rate_caller"].set_index("point")["mean"]
    assert ar[1] > ar[0], "two lines answer more callers than one"
    assert main(["plot", str(out)]) == 0
    assert (out / "figures" / "sweep_answer_rate_caller.png").exists()


def test_compare_folder_replots(tmp_path):
    option = tmp_path / "opt.yaml"
    option.write_text(f"base: {TEST_SCENARIOS / 'small.yaml'}\nname: opt\nphone: {{staffing: {{lines: 2}}}}\n")
    out = tmp_path / "cmp"
    assert main(["compare", str(TEST_SCENARIOS / "small.yaml"), str(option), "--reps", "2", "--out", str(out),
                 "--jobs", "1", "--quiet", "--no-report"]) == 0
    ce = pd.read_csv(out / "cost_effectiveness.csv")
    assert ce.loc[0, "extra_hours"] > 0 and ce.loc[0, "extra_callers"] > 0
    first = sorted(p.name for p in (out / "figures").iterdir())
    for p in (out / "figures").iterdir():
        p.unlink()
    assert main(["plot", str(out)]) == 0
    assert sorted(p.name for p in (out / "figures").iterdir()) == first
    assert "cost_vs_extra_answered.png" in first
