"""Nothing lost: checkpoints, --resume after a kill, failing replications kept apart."""

import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest

import sim.experiments.replications as experiment
from sim.config import ScenarioError, load_scenario
from sim.experiments.replications import ReplicationError, run
from tests.conftest import ROOT, TEST_SCENARIOS

SMALL = str(TEST_SCENARIOS / "small.yaml")


def test_resume_is_bit_identical_and_skips_finished(small, tmp_path, monkeypatch):
    full = run(small, 4, seed=8, progress=False).kpis()
    ck = tmp_path / "ck"
    run(small, [0, 1], seed=8, progress=False, checkpoint=ck)  # "interrupted" after two
    calls = []
    real = experiment.run_replication
    monkeypatch.setattr(experiment, "run_replication", lambda *a: calls.append(a[2]) or real(*a))
    resumed = run(small, 4, seed=8, progress=False, checkpoint=ck).kpis()
    assert calls == [2, 3], f"only the missing replications are simulated, got {calls}"
    pd.testing.assert_frame_equal(full, resumed)


def test_checkpoint_refuses_another_scenario(small, tmp_path):
    run(small, [0], seed=8, progress=False, checkpoint=tmp_path)
    other = load_scenario(None, {**small.model_dump(by_alias=True), "phone.staffing.lines": 2})
    with pytest.raises(ScenarioError, match="another scenario"):
        run(other, 2, seed=8, progress=False, checkpoint=tmp_path)
    with pytest.raises(ScenarioError, match="another scenario"):
        run(small, 2, seed=9, progress=False, checkpoint=tmp_path)


def test_failed_replication_is_named_and_the_others_kept(small, tmp_path, monkeypatch):
    real = experiment.Helpline.run

    def flaky(self):
        if self.streams_replication == 1:
            raise RuntimeError("injected fault")
        return real(self)

    real_init = experiment.Helpline.__init__

    def init(self, scn, streams, log=None):
        real_init(self, scn, streams, log)
        self.streams_replication = streams.replication

    monkeypatch.setattr(experiment.Helpline, "__init__", init)
    monkeypatch.setattr(experiment.Helpline, "run", flaky)
    with pytest.raises(ReplicationError) as err:
        run(small, 3, seed=5, progress=False, checkpoint=tmp_path)
    e = err.value
    assert (e.replication, e.seed, e.scenario) == (1, 5, "small") and e.failed == [1]
    assert "injected fault" in str(e) and "replication 1" in str(e) and "seed 5" in str(e)
    assert [r.replication for r in e.result.replications] == [0, 2], "the other replications are kept"
    assert sorted(p.name for p in tmp_path.glob("rep*.pkl")) == ["rep00000.pkl", "rep00002.pkl"]


def test_killed_run_leaves_no_results_folder_and_resumes(tmp_path):
    out = tmp_path / "res"
    cmd = [sys.executable, str(ROOT / "run_sim.py"), SMALL, "--reps", "8", "--seed", "3", "--jobs", "1",
           "--out", str(out), "--no-figures", "--quiet"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([*cmd], cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    partial = tmp_path / ".res.partial" / "small"
    deadline = time.time() + 60
    while time.time() < deadline and len(list(partial.glob("rep*.pkl"))) < 2:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = len(list(partial.glob("rep*.pkl")))
    assert 2 <= done < 8, f"the run should be killed mid-way ({done} replications saved)"
    assert not out.exists(), "a killed run leaves no results folder"
    assert subprocess.run([*cmd, "--resume"], cwd=tmp_path, env=env).returncode == 0
    resumed = pd.read_csv(out / "kpis_per_rep.csv")
    fresh = tmp_path / "fresh"
    cmd_fresh = [*cmd[:-4], "--out", str(fresh), "--no-figures", "--quiet"]
    assert subprocess.run(cmd_fresh, cwd=tmp_path, env=env).returncode == 0
    pd.testing.assert_frame_equal(resumed, pd.read_csv(fresh / "kpis_per_rep.csv"))
    assert not partial.parent.exists(), "the checkpoint folder is removed once the results are written"
