"""``run_sim.py plot DIR``: redraw the figures of a results folder without simulating."""

from __future__ import annotations

from pathlib import Path

from sim.cli.common import add_output_arguments


def add_arguments(p) -> None:
    p.add_argument("results", type=Path, help="results folder written by a run")
    add_output_arguments(p)


def main(args) -> int:
    import json

    import pandas as pd

    from sim.cli.common import fail
    from sim.results import figures
    from sim.results.folders import read_run

    folder = args.results
    meta_file = folder / "meta.json"
    if not meta_file.exists():
        return fail(f"{folder}: not a results folder (no meta.json)", 2)
    kind = json.loads(meta_file.read_text(encoding="utf-8")).get("kind", "run")
    if kind == "run":
        summary, _meta = read_run(folder)
        written = figures.run_figures(summary, folder)
    elif kind == "compare":
        table = pd.read_csv(folder / "compare.csv", dtype={"key": str})
        ce_file = folder / "cost_effectiveness.csv"
        ce = pd.read_csv(ce_file) if ce_file.exists() and ce_file.stat().st_size > 1 else pd.DataFrame()
        written = figures.compare_figures(table, ce, folder)
    elif kind == "sweep":
        meta = json.loads(meta_file.read_text(encoding="utf-8"))
        written = figures.sweep_figures(pd.read_csv(folder / "sweep_summary.csv"), meta, folder)
    else:
        return fail(f"{folder}: unknown results kind {kind!r} in meta.json", 2)
    if args.verbose:
        print("\n".join(str(f) for f in written))
    print(f"{len(written)} figure files written to {args.results / 'figures'}")
    return 0
