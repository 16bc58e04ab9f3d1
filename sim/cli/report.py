"""``run_sim.py report DIR``: the planner's report of a results folder.

Writes ``DIR/report.html`` (one self-contained page: question, headline table with 95%
confidence intervals, figures, simulated against published figures, assumptions and
sources, how to reproduce) and ``DIR/report.xlsx`` (the same tables, one sheet each);
see :mod:`sim.results.html_report`. Works for every kind of results folder.

The other commands call :func:`add_report_argument` and :func:`report_after` (one line
each) to write the report at their end unless ``--no-report``.
"""

from __future__ import annotations

import sys
from pathlib import Path

from sim.cli.common import add_output_arguments


def add_arguments(p) -> None:
    p.add_argument("results", type=Path, help="results folder (any kind: run, compare, sweep, "
                                              "validate, optimise, sensitivity, fit)")
    p.add_argument("--no-xlsx", action="store_true", help="only report.html")
    p.add_argument("--fte-hours", type=float, default=1560.0, metavar="HOURS",
                   help="productive hours of one full-time counsellor a year, for staffed hours "
                        "as FTE (assumption; default 1560, about 130 a month)")
    add_output_arguments(p)


def main(args) -> int:
    from sim.cli.common import fail
    from sim.results.html_report import write_report

    if args.fte_hours <= 0:
        return fail(f"--fte-hours: {args.fte_hours:g} must be > 0", 2)
    try:
        written = write_report(args.results, xlsx=not args.no_xlsx, hours_per_fte=args.fte_hours)
    except (FileNotFoundError, ValueError, KeyError, AttributeError, TypeError) as e:
        return fail(f"{args.results}: not a readable results folder ({type(e).__name__}: {e})", 2)
    print("report written: " + ", ".join(str(p) for p in written))
    return 0


def add_report_argument(p) -> None:
    """``--no-report`` for a command that writes a results folder."""
    p.add_argument("--no-report", action="store_true",
                   help="do not write report.html and report.xlsx into the results folder")


def report_after(args, folder: Path) -> None:
    """Write the report of ``folder`` unless ``--no-report``.

    The results are already saved: a report that fails is a warning (stderr) that says
    how to retry, not a failed command.
    """
    if getattr(args, "no_report", False) or not Path(folder, "meta.json").exists():
        return
    from sim.results.html_report import write_report

    try:
        write_report(folder)
    except Exception as e:  # noqa: BLE001 - the results must not be lost to a report bug
        print(f"warning: report not written ({type(e).__name__}: {e}); retry with "
              f"python run_sim.py report {folder}", file=sys.stderr)
