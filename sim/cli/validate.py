"""``run_sim.py validate``: the validation battery, printed, saved and drawn.

Exit status 0 when every measure agrees with theory, 1 when one does not.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from sim.cli.common import add_output_arguments, base_meta
from sim.experiments.replications import default_jobs
from sim.results.folders import write_atomic
from sim.theory.validation import validate


def add_arguments(p) -> None:
    p.add_argument("--reps", type=int, default=12, help="replications per case (default 12)")
    p.add_argument("--days", type=int, default=120, help="simulated days per replication (default 120)")
    p.add_argument("--seed", type=int, default=101, help="seed of the first case (default 101)")
    p.add_argument("--out", type=Path, default=Path("results/validation"), help="results folder")
    p.add_argument("--jobs", type=int, default=default_jobs(), help="parallel processes")
    p.add_argument("--quick", action="store_true", help="fewer days and replications (a smoke test)")
    add_output_arguments(p)


def table_text(t) -> str:
    lines = []
    for case, g in t.groupby("case", sort=False):
        lines.append(case)
        for _, r in g.iterrows():
            mark = "ok " if r["agrees"] else "OFF"
            lines.append(f"  {mark} {r['measure']:<42} simulated {r['simulated']:>10.4g} "
                         f"[{r['ci_low']:.4g}, {r['ci_high']:.4g}]   theory {r['theory']:.4g}")
    return "\n".join(lines)


def main(args) -> int:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from sim.results.figures import save_figure
    from sim.results.folders import fresh_out
    from sim.results.plots import validation_chart

    fresh_out(args.out, announce=False)  # refuse a place that is not ours before simulating

    reps, days = (6, 40) if args.quick else (args.reps, args.days)
    t0 = time.perf_counter()
    progress = None if args.quiet else (lambda name: print(f"  running {name} ...", flush=True))
    t = validate(reps=reps, seed=args.seed, jobs=args.jobs, days=days, progress=progress)
    wall = time.perf_counter() - t0
    text = table_text(t)
    meta = base_meta("validation", replications=reps, days=days, seed=args.seed,
                     level=float(t["level"].iloc[0]), wall_time_s=round(wall, 2))

    def fill(tmp: Path) -> None:
        t.to_csv(tmp / "validation.csv", index=False)
        (tmp / "validation.txt").write_text(text + "\n", encoding="utf-8")
        (tmp / "meta.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
        (tmp / "figures").mkdir()
        fig, ax = plt.subplots(figsize=(9, 0.32 * len(t) + 1.5))
        validation_chart(t, ax)
        save_figure(fig, tmp / "figures", "validation")

    out = write_atomic(args.out, fill)  # a fresh name if earlier results are there
    if not args.quiet:
        print(f"\nSimulation vs theory ({reps} replications of {days} days per case; "
              f"{meta['level']:.4f} confidence intervals, Bonferroni over {len(t)} measures)\n")
        print(text)
        print()
    bad = t[~t["agrees"]]
    print(f"validation: {len(t) - len(bad)} of {len(t)} measures agree with theory ({wall:.0f} s) -> {out}")
    return 0 if bad.empty else 1
