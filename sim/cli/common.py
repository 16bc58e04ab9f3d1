"""What every command shares: the one-line error and the output levels.

Output levels, the same for every command:

* ``-q/--quiet``: only the final line (and errors and warnings on stderr);
* default: tables and the narrative log; progress bars only when stderr is a terminal,
  so nothing but results reaches a log file when output is redirected;
* ``-v/--verbose``: also progress when output is redirected (bars written as lines to
  stderr), and the extra detail a command has (e.g. the files ``plot`` writes).
"""

from __future__ import annotations

import sys
from pathlib import Path


def fail(message: str, status: int) -> int:
    """Print ``error: message`` on stderr and return the exit status."""
    print(f"error: {message}", file=sys.stderr)
    return status


def add_output_arguments(p) -> None:
    """``-q/--quiet`` and ``-v/--verbose`` (mutually exclusive); see the module docstring."""
    g = p.add_mutually_exclusive_group()
    g.add_argument("-q", "--quiet", action="store_true",
                   help="only the final line (errors and warnings still go to stderr)")
    g.add_argument("-v", "--verbose", action="store_true",
                   help="also show progress when output is redirected, and more detail")


def add_run_arguments(p, *, reps: str, seed: str, out: str, set_: str, out_default=None,
                      jobs: str = "parallel processes") -> None:
    """``--reps --seed --out --set --jobs`` of the commands that simulate scenarios (run,
    compare, sweep), in this order, with each command's help texts (``out_default``: a
    Path, or None when the command names the folder after its scenario or sweep)."""
    from pathlib import Path

    from sim.experiments.executors import default_jobs  # light: no pandas, no plotting

    p.add_argument("--reps", type=int, help=reps)
    p.add_argument("--seed", type=int, help=seed)
    p.add_argument("--out", type=Path, default=out_default, help=out)
    p.add_argument("--set", action="append", default=[], metavar="PATH=VALUE", help=set_)
    p.add_argument("--jobs", type=int, default=default_jobs(), help=jobs)


def add_figures_argument(p, replot: bool = True) -> None:
    """``--no-figures``: write tables and text only (a run's four figures cost 2.2 CPU-s
    to draw as PNG and SVG, measured when issue 16 was filed; ``replot``: ``run_sim.py plot DIR`` can draw them later)."""
    later = " (run_sim.py plot DIR draws them later)" if replot else ""
    p.add_argument("--no-figures", action="store_true", help=f"skip drawing figures{later}")


def base_meta(kind: str, **fields) -> dict:
    """The ``meta.json`` of a results folder: ``kind``, the command's own ``fields``, then
    what every folder records unless the command gave it: package version, Python
    version, command line, creation time (UTC) and provenance (git commit, libraries)."""
    import datetime as dt
    import platform

    from sim import __version__
    from sim.results.provenance import provenance

    meta = {"kind": kind, **fields}
    defaults = {"version": __version__, "python": platform.python_version(),
                "command": " ".join(sys.argv),
                "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), **provenance()}
    for key, value in defaults.items():
        meta.setdefault(key, value)
    return meta


def progress(args) -> bool | None:
    """Progress setting for :func:`sim.experiments.replications.run`: False when quiet,
    True when verbose (always shown), None otherwise (shown on a terminal only)."""
    if getattr(args, "quiet", False):
        return False
    return True if getattr(args, "verbose", False) else None


# Command-line numbers and their smallest sensible value; checked before the scenario is
# read so that ``--reps 0`` is reported as ``--reps``, not as the setting it overrides.
_FLAG_MINIMA = {"reps": 1, "seed": 0, "jobs": 1, "rep": 0, "keep_events": 0, "max_reps": 1}


def check_flags(args) -> None:
    """Raise a ScenarioError naming the flag for a number out of range."""
    from sim.errors import ScenarioError

    for dest, low in _FLAG_MINIMA.items():
        value = getattr(args, dest, None)
        if value is not None and value < low:
            flag = "--" + dest.replace("_", "-")
            raise ScenarioError(flag, "", f"must be at least {low} (got {value})")


def load_with_flags(path, args, overrides: dict | None = None):
    """Load ``path`` with ``--set`` overrides and ``--reps``/``--seed``; flags checked first."""
    from sim.config import load_scenario, parse_overrides

    check_flags(args)
    over = {**parse_overrides(getattr(args, "set", [])), **(overrides or {})}
    if getattr(args, "reps", None) is not None:
        over["experiment.replications"] = args.reps
    if getattr(args, "seed", None) is not None:
        over["experiment.seed"] = args.seed
    return load_scenario(path, over)


def add_readings_arguments(p, what: str = "one subfolder each, with robustness.csv and verdict "
                           "lines (docs/readings.md)") -> None:
    """``--readings`` and ``--fitted`` of compare, optimise and sensitivity (issue 17)."""
    p.add_argument("--readings", metavar="DIR_OR_LIST",
                   help="run under each reading of the evidence (a folder of reading files, e.g. "
                        "scenarios/readings, or a comma-separated list of names or files), " + what)
    p.add_argument("--fitted", type=Path, metavar="DIR",
                   help="with --readings: where fit --reading NAME wrote each reading's fit "
                        "(default scenarios/fitted); a reading with DIR/NAME/fitted_2020.yaml "
                        "runs on it, the others as an overlay on the scenarios as given")
