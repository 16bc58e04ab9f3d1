"""``run_sim.py plot DIR``: redraw the figures of a results folder without simulating."""

from __future__ import annotations

from pathlib import Path

from sim.cli.common import add_output_arguments


def add_arguments(p) -> None:
    p.add_argument("results", type=Path, help="results folder written by a run")
    add_output_arguments(p)


def main(args) -> int:

    import pandas as pd

    from sim.cli.common import fail

    folder = args.results
    meta_file = folder / "meta.json"
    if not folder.is_dir():
        return fail(f"{folder}: not a results folder ({'a file' if folder.exists() else 'does not exist'})", 2)
    if not meta_file.exists():
        return fail(f"{folder}: not a results folder (no meta.json)", 2)
    from sim.results.folders import owned

    if not owned(folder, "results"):  # redrawing could replace someone else's figures/
        return fail(f"{folder}: not a results folder this tool made (no marker file); "
                    "figures are redrawn only in the tool's own folders", 2)
    try:
        return _plot(folder, meta_file, args)
    except (ValueError, KeyError, OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as e:
        # A damaged folder (edited, truncated, files missing): one line, not a traceback.
        why = f"{type(e).__name__}: {e}".splitlines()[0]
        return fail(f"{folder}: damaged results folder ({why}); run the scenario again", 2)


def _plot(folder: Path, meta_file: Path, args) -> int:
    import json

    import pandas as pd

    from sim.cli.common import fail
    from sim.results import figures
    from sim.results.folders import read_run

    meta = json.loads(meta_file.read_text(encoding="utf-8"))
    kind = meta.get("kind", "run") if isinstance(meta, dict) else None
    if kind == "run":
        summary, _meta = read_run(folder)
        written = figures.run_figures(summary, folder)
    elif kind == "compare":
        table = pd.read_csv(folder / "compare.csv", dtype={"key": str})
        ce_file = folder / "cost_effectiveness.csv"
        ce = pd.read_csv(ce_file) if ce_file.exists() and ce_file.stat().st_size > 1 else pd.DataFrame()
        written = figures.compare_figures(table, ce, folder)
    elif kind == "sweep":
        written = figures.sweep_figures(pd.read_csv(folder / "sweep_summary.csv"), meta, folder)
    else:
        return fail(f"{folder}: unknown results kind {kind!r} in meta.json", 2)
    if args.verbose:
        print("\n".join(str(f) for f in written))
    print(f"{len(written)} figure files written to {args.results / 'figures'}")
    return 0
