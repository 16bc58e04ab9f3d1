"""Where the time goes: cProfile and py-spy on the Erlang A workload and the baseline year.

    python bench/profile_model.py                # both workloads, cProfile and py-spy
    python bench/profile_model.py --quick        # 20,000 Erlang A callers
    python bench/profile_model.py --top 25 --no-py-spy

Workloads: the project's model alone on ``bench/scenarios/erlang_a.yaml``
(``Helpline(...).run()``), and ``run_replication`` of ``scenarios/baseline_2020.yaml``
(model + event tables + KPIs). For each: the top functions by own time (tottime) and
by cumulative time under cProfile (which inflates the cost of small Python functions,
so read it for the shape, not the proportions), then a py-spy sampling profile of the
same workload in a child process (no instrumentation overhead; lines, not only
functions): the top lines by own samples and the top functions by inclusive samples.
py-spy is used when its executable is found (``pip install py-spy``; it needs
permission to ptrace its child, which most containers grant to the same user).
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import os
import pstats
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

from _common import BENCH, ROOT, header

from sim.config import load_scenario
from sim.experiments.replications import run_replication
from sim.model.helpline import Helpline
from sim.model.streams import Streams

ERLANG_A = BENCH / "scenarios" / "erlang_a.yaml"
BASELINE = ROOT / "scenarios" / "baseline_2020.yaml"


def short(path: str) -> str:
    """``.../site-packages/simpy/core.py`` -> ``simpy/core.py``; project files relative."""
    p = path.replace(os.sep, "/")
    for marker in ("site-packages/", str(ROOT).replace(os.sep, "/") + "/"):
        if marker in p:
            return p.split(marker, 1)[1]
    return p.rsplit("/", 1)[-1] if "/" in p else p


def cprofile(fn, top: int) -> None:
    fn()  # warm-up outside the profile: first-call imports and caches
    prof = cProfile.Profile()
    prof.enable()
    fn()
    prof.disable()
    st = pstats.Stats(prof).stats  # (file, line, func) -> (cc, nc, tt, ct, callers)
    total = max(v[3] for v in st.values())
    rows = [(short(f), ln, fn_, nc, tt, ct) for (f, ln, fn_), (_, nc, tt, ct, _) in st.items()]
    for key, label in ((4, "own time (tottime)"), (5, "cumulative time")):
        print(f"   cProfile, top {top} by {label}; total {total:.2f} s under the profiler")
        print(f"   {'calls':>9s} {'tottime':>8s} {'cumtime':>8s} {'cum %':>6s}  function")
        for f, ln, fn_, nc, tt, ct in sorted(rows, key=lambda r: -r[key])[:top]:
            print(f"   {nc:>9,d} {tt:8.3f} {ct:8.3f} {100 * ct / total:5.1f}%  {fn_} ({f}:{ln})")


def py_spy_exe() -> str | None:
    here = Path(sys.executable).with_name("py-spy")
    return str(here) if here.exists() else shutil.which("py-spy")


def py_spy(code: str, inside: str, top: int, rate: int) -> None:
    """Sample ``code`` in a child; report samples whose stack contains ``inside``."""
    exe = py_spy_exe()
    if exe is None:
        print("   py-spy: not installed (pip install py-spy); skipped")
        return
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "raw.txt"
        cmd = [exe, "record", "--format", "raw", "--rate", str(rate), "--output", str(raw),
               "--", sys.executable, "-c", code]
        out = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, check=False)
        if out.returncode != 0 or not raw.exists():
            print(f"   py-spy failed (exit {out.returncode}): {out.stderr.strip()[-300:]}")
            return
        lines = raw.read_text().splitlines()
    own: Counter = Counter()
    incl: Counter = Counter()
    n = 0
    for line in lines:
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        if not any(inside in f for f in frames):
            continue
        k = int(count)
        n += k
        own[frames[-1]] += k
        for func in {f.rsplit(":", 1)[0] + ")" for f in frames}:  # drop the line number
            incl[func] += k
    if not n:
        print(f"   py-spy: no samples inside {inside!r}")
        return
    print(f"   py-spy at {rate} Hz: {n:,d} samples inside {inside!r}")
    print(f"   top {top} lines by own samples:")
    for frame, k in own.most_common(top):
        print(f"   {100 * k / n:5.1f}%  {frame}")
    print(f"   top {top} functions by inclusive samples:")
    for func, k in incl.most_common(top):
        print(f"   {100 * k / n:5.1f}%  {func}")


CHILD = """
from sim.config import load_scenario
from sim.experiments.replications import run_replication
from sim.model.helpline import Helpline
from sim.model.streams import Streams
scn = load_scenario({path!r}, {overrides!r})
for r in range({reps}):
    {call}
"""


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="20,000 Erlang A callers")
    ap.add_argument("--top", type=int, default=15)
    ap.add_argument("--rate", type=int, default=250, help="py-spy samples per second")
    ap.add_argument("--no-py-spy", action="store_true")
    a = ap.parse_args(argv)
    overrides = {}
    if a.quick:
        overrides["horizon.end"] = str(dt.date(2021, 1, 1) + dt.timedelta(72))
    header("profiles of the project's model")

    ea = load_scenario(ERLANG_A, overrides)
    print(f"-- Erlang A workload, model alone ({ea.horizon.days} days)")
    cprofile(lambda: Helpline(ea, Streams(1, 0)).run(), a.top)
    if not a.no_py_spy:
        py_spy(CHILD.format(path=str(ERLANG_A), overrides=overrides, reps=2,
                            call="Helpline(scn, Streams(1, r)).run()"),
               "run (sim/model.py", a.top, a.rate)

    base = load_scenario(BASELINE)
    print("-- baseline year 2020, model + KPIs (run_replication)")
    cprofile(lambda: run_replication(base, 1, 0), a.top)
    if not a.no_py_spy:
        py_spy(CHILD.format(path=str(BASELINE), overrides={}, reps=6,
                            call="run_replication(scn, 1, r)"),
               "run_replication (sim/experiment.py", a.top, a.rate)


if __name__ == "__main__":
    main()
