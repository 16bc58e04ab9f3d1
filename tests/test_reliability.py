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

    def init(self, scn, streams, *args, **kwargs):
        real_init(self, scn, streams, *args, **kwargs)
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
    # One week (about 0.2 s a replication): the kill lands mid-way; no report (not the claim).
    args = [SMALL, "--reps", "8", "--seed", "3", "--jobs", "1", "--set", "horizon.end=2020-02-09",
            "--no-figures", "--no-report", "--quiet"]
    cmd = [sys.executable, str(ROOT / "run_sim.py"), *args, "--out", str(out)]
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
    # The resumed and the fresh run in this process: only the kill needs a process of its own.
    assert main([*args, "--out", str(out), "--resume"]) == 0
    resumed = pd.read_csv(out / "kpis_per_rep.csv")
    fresh = tmp_path / "fresh"
    assert main([*args, "--out", str(fresh)]) == 0
    pd.testing.assert_frame_equal(resumed, pd.read_csv(fresh / "kpis_per_rep.csv"))
    assert not partial.parent.exists(), "the checkpoint folder is removed once the results are written"


# ---------------------------------------------------------------------------------------
# Issue 13: the tool removes or replaces only what it made; faults leave nothing lost.
# ---------------------------------------------------------------------------------------

from pathlib import Path  # noqa: E402

from sim.cli import main  # noqa: E402
from sim.results import folders  # noqa: E402

# Four days and no report: these tests are about folders, not about the simulation.
RUN = [SMALL, "--reps", "2", "--seed", "2", "--jobs", "1", "--quiet", "--no-figures", "--no-report",
       "--set", "horizon.end=2020-02-06"]
# The full-disk test keeps the two weeks and the report: enough output to fill its 96 kB.
RUN_FULL = [SMALL, "--reps", "2", "--seed", "2", "--jobs", "1", "--quiet", "--no-figures"]


def children(pid: int) -> list[int]:
    """Process ids whose parent is ``pid`` (from /proc; Linux)."""
    out = []
    for stat in os.listdir("/proc"):
        if stat.isdigit():
            try:
                fields = Path(f"/proc/{stat}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid and fields[0] != "Z":
                out.append(int(stat))
    return out


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def wait_until(cond, limit: float = 60.0) -> bool:
    """Poll ``cond`` until true or ``limit`` seconds pass (a bound against hanging, not
    a timing claim)."""
    end = time.monotonic() + limit
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.05)
    return cond()


def start_parallel_run(tmp_path, reps: int = 400):
    # Many replications: the run must still be going when the test signals it after the
    # first one finished (40 could all finish in between on a fast or busy machine).
    # Only a run that ignores the signal pays for them.
    out = tmp_path / "res"
    cmd = [sys.executable, str(ROOT / "run_sim.py"), SMALL, "--reps", str(reps), "--seed", "3",
           "--jobs", "2", "--out", str(out), "--no-figures", "--quiet"]
    # SIGINT as at a terminal even when the test suite itself was started in the background
    # (a shell starts background jobs with SIGINT ignored, children inherit it, and Python
    # then keeps ignoring Ctrl-C: the run would rightly not stop).
    proc = subprocess.Popen(cmd, cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(ROOT)},
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    partial = tmp_path / ".res.partial" / "small"
    return proc, out, partial


def cleanup(proc, workers) -> None:
    for pid in [proc.pid, *workers]:
        if alive(pid):
            os.kill(pid, signal.SIGKILL)
    proc.wait(timeout=30)


def test_killed_main_process_leaves_no_worker_behind(tmp_path):
    proc, out, partial = start_parallel_run(tmp_path)
    workers: list[int] = []
    try:
        assert wait_until(lambda: len(list(partial.glob("rep*.pkl"))) >= 1), "no replication finished"
        workers = children(proc.pid)
        assert len(workers) >= 2, f"expected a pool of 2 workers, found {workers}"
        proc.send_signal(signal.SIGKILL)  # the main process alone
        proc.wait(timeout=30)
        assert wait_until(lambda: not any(alive(w) for w in workers), 30), \
            f"workers {[w for w in workers if alive(w)]} outlived their killed main process"
        assert not out.exists()
    finally:
        cleanup(proc, workers)


@pytest.mark.parametrize(("sig", "status"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_signal_to_main_process_stops_workers_and_keeps_finished(tmp_path, sig, status):
    proc, out, partial = start_parallel_run(tmp_path)
    workers: list[int] = []
    try:
        assert wait_until(lambda: len(list(partial.glob("rep*.pkl"))) >= 1), "no replication finished"
        workers = children(proc.pid)
        proc.send_signal(sig)  # to the main process only, not its process group
        try:
            _, err = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            pytest.fail(f"the run did not stop within 30 s of signal {sig}")
        assert proc.returncode == status, f"exit status {proc.returncode}, expected {status}: {err}"
        lines = err.strip().splitlines()
        assert len(lines) == 1 and "finished replications are saved" in lines[0], err
        assert not any(alive(w) for w in workers), "a worker outlived the stopped run"
        saved = sorted(partial.glob("rep*.pkl"))
        assert saved and all(p.stat().st_size > 40 for p in saved), "finished replications are kept"
        assert not out.exists()
    finally:
        cleanup(proc, workers)


def test_killed_during_final_write_keeps_earlier_results_and_cleans_up(tmp_path):
    out = tmp_path / "res"
    assert main([*RUN, "--out", str(out)]) == 0
    before = (out / "kpis_per_rep.csv").read_bytes()
    code = ("import sys, time, pathlib\n"
            "from sim.results.folders import write_atomic\n"
            "def fill(t):\n"
            "    (t / 'kpis_per_rep.csv').write_text('half')\n"
            "    print('writing', flush=True)\n"
            "    time.sleep(60)\n"
            "write_atomic(pathlib.Path(sys.argv[1]), fill, overwrite=True)\n")
    proc = subprocess.Popen([sys.executable, "-c", code, str(out)], env={**os.environ, "PYTHONPATH": str(ROOT)},
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "writing"
        proc.kill()
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert (out / "kpis_per_rep.csv").read_bytes() == before, "a killed write leaves the old results whole"
    assert list(tmp_path.glob(".res.tmp-*")), "the killed writer's unfinished folder is hidden beside it"
    assert main([*RUN, "--out", str(out), "--overwrite"]) == 0
    assert not list(tmp_path.glob(".res.tmp-*")), "the next write removes what the killed one left"


def test_two_runs_on_one_folder_the_second_is_refused(tmp_path, capsys):
    out = tmp_path / "res"
    with folders.output_lock(out):  # stands for a first run still going
        assert main([*RUN, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "another run" in err[0] and str(out) in err[0], err
    assert not out.exists()
    assert main([*RUN, "--out", str(out)]) == 0, "the lock is released with the first run"


def test_truncated_checkpoint_is_detected_and_run_again(small, tmp_path, monkeypatch, capsys):
    full = run(small, 3, seed=8, progress=False).kpis()
    ck = tmp_path / "ck"
    run(small, 3, seed=8, progress=False, checkpoint=ck)
    damaged = ck / "rep00001.pkl"
    damaged.write_bytes(damaged.read_bytes()[:-100])  # a write cut short
    flipped = ck / "rep00002.pkl"
    blob = bytearray(flipped.read_bytes())
    blob[-5] ^= 0xFF  # one altered byte
    flipped.write_bytes(bytes(blob))
    calls = []
    real = experiment.run_replication
    monkeypatch.setattr(experiment, "run_replication", lambda *a: calls.append(a[2]) or real(*a))
    resumed = run(small, 3, seed=8, progress=False, checkpoint=ck).kpis()
    assert calls == [1, 2], f"damaged replications run again, intact ones reused: {calls}"
    pd.testing.assert_frame_equal(full, resumed)
    assert capsys.readouterr().err.count("is damaged") == 2


def _mount_tmpfs(where, options: str):
    where.mkdir()
    p = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)], capture_output=True, text=True)
    if p.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({p.stderr.strip() or 'mount failed'}): needs root in a "
                    "container that allows mounts")


def test_full_disk_gives_one_line_and_nothing_half_written(tmp_path, capsys):
    disk = tmp_path / "disk"
    _mount_tmpfs(disk, "size=96k")
    try:
        rc = main([*RUN_FULL, "--out", str(disk / "res")])
        err = capsys.readouterr().err.strip().splitlines()
        assert rc == 1 and len(err) == 1 and "No space left on device" in err[0], (rc, err)
        assert not (disk / "res").exists(), "no results folder from a failed write"
        left = [p.name for p in disk.iterdir() if p.name != ".res.partial"]
        assert left == [], f"nothing half-written beside it: {left}"
        for p in (disk / ".res.partial").rglob("*"):
            assert not p.name.endswith(".tmp"), f"no half-written checkpoint: {p}"
    finally:
        subprocess.run(["umount", str(disk)], check=False)


def test_read_only_folder_gives_one_line(tmp_path, capsys):
    # As root, chmod does not stop writes: a read-only mount does.
    ro = tmp_path / "ro"
    _mount_tmpfs(ro, "size=1m,ro")
    try:
        rc = main([*RUN, "--out", str(ro / "res")])
        err = capsys.readouterr().err.strip().splitlines()
        assert rc == 1 and len(err) == 1 and "Read-only file system" in err[0], (rc, err)
        assert list(ro.iterdir()) == []
    finally:
        subprocess.run(["umount", str(ro)], check=False)


def test_never_replaces_what_it_did_not_make(tmp_path, capsys):
    mine = tmp_path / "notes"
    mine.mkdir()
    (mine / "keep.txt").write_text("mine")
    afile = tmp_path / "report.pdf"
    afile.write_text("mine")
    for target in (mine, afile):
        assert main([*RUN, "--out", str(target), "--overwrite"]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and str(target) in err[0] and "refusing" in err[0], err
    assert (mine / "keep.txt").read_text() == "mine" and afile.read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes", "report.pdf"], "nothing moved aside"
    # A checkpoint folder that is not ours is refused too, not emptied.
    fake = tmp_path / ".notes2.partial"
    fake.mkdir()
    (fake / "x").write_text("mine")
    assert main([*RUN, "--out", str(tmp_path / "notes2")]) == 2
    assert (fake / "x").exists()


def test_earlier_results_get_a_fresh_name_unless_overwrite(tmp_path, capsys):
    out = tmp_path / "sub" / "res"
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "other.txt").write_text("mine")
    assert main([*RUN, "--out", str(out)]) == 0
    capsys.readouterr()
    assert main([*RUN, "--out", str(out)]) == 0
    cap = capsys.readouterr()
    fresh = tmp_path / "sub" / "res-2"
    assert fresh.is_dir() and str(fresh) in cap.out and "res-2" in cap.err, "the fresh name is printed"
    assert main([*RUN, "--out", str(out), "--overwrite"]) == 0
    assert sorted(p.name for p in (tmp_path / "sub").iterdir()) == ["other.txt", "res", "res-2"]


def test_results_folders_follow_the_umask(tmp_path):
    old = os.umask(0o027)
    try:
        assert main([*RUN, "--out", str(tmp_path / "res")]) == 0
    finally:
        os.umask(old)
    assert (tmp_path / "res").stat().st_mode & 0o777 == 0o750, "group may read, as with any output"


def test_rerunning_one_replication_keeps_the_others(tmp_path, capsys):
    out = tmp_path / "res"
    part = folders.partial_folder(out, resume=False)
    small = load_scenario(SMALL, {"experiment.replications": 3})
    run(small, [0, 2], seed=1, progress=False, checkpoint=part / "small")  # rep 1 "failed"
    assert main([SMALL, "--reps", "3", "--seed", "1", "--rep", "1", "--out", str(out), "--jobs", "1",
                 "--quiet", "--no-figures", "--no-report"]) == 0
    assert sorted(p.name for p in (part / "small").glob("rep*.pkl")) == [
        "rep00000.pkl", "rep00001.pkl", "rep00002.pkl"], "--rep adds to the saved replications"
    assert main([SMALL, "--reps", "3", "--seed", "1", "--resume", "--out", str(out), "--overwrite",
                 "--jobs", "1", "--quiet", "--no-figures", "--no-report"]) == 0
    assert sorted(pd.read_csv(out / "kpis_per_rep.csv")["replication"].unique()) == [0, 1, 2]
    assert not part.exists(), "the checkpoint goes once the complete results are written"


@pytest.mark.parametrize("what", ["missing", "file", "not_results", "damaged"])
def test_plot_on_a_folder_that_is_not_results_is_one_line(tmp_path, capsys, what):
    folder = tmp_path / "f"
    if what == "file":
        folder.write_text("x")
    elif what == "not_results":
        folder.mkdir()
    elif what == "damaged":
        assert main([*RUN, "--out", str(folder)]) == 0
        (folder / "summary.csv").write_text("by,key\n1")
    capsys.readouterr()
    assert main(["plot", str(folder)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(folder) in err[0], err


def test_flag_errors_name_the_flag(capsys):
    assert main([SMALL, "--reps", "0", "--out", "never"]) == 2
    assert capsys.readouterr().err.strip() == "error: --reps: must be at least 1 (got 0)"


def test_memory_error_inside_a_replication_is_a_setting_error(monkeypatch, tmp_path, capsys):
    def huge(self):
        raise MemoryError("Unable to allocate 80.0 GiB for an array")

    monkeypatch.setattr(experiment.Helpline, "run", huge)
    assert main([*RUN, "--out", str(tmp_path / "res")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and ": demand.phone." in err[0] and "MemoryError" in err[0], err
    assert "--rep" not in err[0], "a setting problem is not a replication to rerun"
