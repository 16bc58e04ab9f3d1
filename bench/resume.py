"""What saving for ``--resume`` costs (issue 16: every long command resumable).

    python bench/resume.py [--n 100]

``optimise``, ``sensitivity`` and ``backtest`` save every finished replication at once
(:class:`sim.experiments.saved.SavedResults`: pickle, SHA-256, write, flush to disk,
rename). This script times that for a replication as the sensitivity analysis and the
optimiser's search make it (phone only, overall KPIs only, one week of
``scenarios/fitted_2020.yaml``: the KPI table has the same rows for any horizon), and
the load on ``--resume``, as CPU and wall milliseconds per replication (mean of ``--n``).

The end-to-end figures of the README ("Nothing is lost") were measured with the CLI:

    ARGS="sensitivity scenarios/fitted_2020.yaml --quick --set horizon.start=2020-09-01 \\
          --set horizon.end=2020-12-31 --jobs 2 --no-report --out /tmp/sens"
    /usr/bin/time python run_sim.py $ARGS          # stopped with SIGTERM part-way
    /usr/bin/time python run_sim.py $ARGS --resume # simulates only the missing runs
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from _common import ROOT, header

from sim.config import load_scenario
from sim.experiments.replications import run_replication
from sim.experiments.saved import SavedResults
from sim.planning.optimise import scenario_key


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=100, help="replications saved and loaded")
    n = p.parse_args().n
    header("saving for --resume")
    scn = load_scenario(ROOT / "scenarios" / "fitted_2020.yaml",
                        {"horizon.start": "2020-09-01", "horizon.end": "2020-09-07"})
    rep = run_replication(scn, 1, 0, channels=("phone",), overall_only=True)
    key = (scenario_key(scn), ("phone",), True)
    value = (scenario_key(scn), rep)  # what Evaluations saves
    with tempfile.TemporaryDirectory() as d:
        saved = SavedResults(Path(d))
        c0, t0 = time.process_time(), time.perf_counter()
        for r in range(n):
            saved.save(saved.key(key, 1, r), value)
        c1, t1 = time.process_time(), time.perf_counter()
        size = sum(f.stat().st_size for f in Path(d).glob("*.pkl")) / n
        again = SavedResults(Path(d))
        c2, t2 = time.process_time(), time.perf_counter()
        for r in range(n):
            assert again.load(again.key(key, 1, r)) is not None
        c3, t3 = time.process_time(), time.perf_counter()
    print(f"   KPI table of {len(rep.kpis)} rows; file {size / 1024:.1f} kB")
    print(f"   save: {1000 * (c1 - c0) / n:.2f} ms CPU, {1000 * (t1 - t0) / n:.2f} ms wall per replication")
    print(f"   load: {1000 * (c3 - c2) / n:.2f} ms CPU, {1000 * (t3 - t2) / n:.2f} ms wall per replication")


if __name__ == "__main__":
    main()
