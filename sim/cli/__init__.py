"""Command line: ``python run_sim.py COMMAND ...`` or the console script ``helpline-sim
COMMAND ...`` (``run_sim.py SCENARIO.yaml`` is ``run``).

One thin module per command (``sim/cli/<command>.py``: ``add_arguments(parser)`` and
``main(args) -> int``). Only the chosen command's module is imported, and heavy
libraries only when it runs, so ``--help``, ``--version`` and bad input answer at once.
Bad input ends with one line on stderr (file, field, problem) and exit status 2; a failed
replication names its scenario, replication and seed and exits with status 1.
"""

from __future__ import annotations

import argparse
import difflib
import importlib
import sys
from pathlib import Path

from sim import __version__
from sim.cli.common import fail
from sim.errors import MissingDataError, OutputError, ReplicationError, ScenarioError, Terminated

# name -> one-line help; the module is sim.cli.<name>.
COMMANDS: dict[str, str] = {
    "run": "simulate a scenario and write a results folder",
    "compare": "run scenarios on common random numbers and compare with the first",
    "plot": "redraw the figures of a results folder without simulating",
    "fit": "fit 2020 demand to the published counts and calibrate caller behaviour",
    "sweep": "run a sweep file: a base scenario and a grid or list of overrides",
    "validate": "simulation against exact queueing results (exit 1 if one disagrees)",
    "optimise": "cheapest extra staffed lines that reach a KPI target",
    "sensitivity": "one-at-a-time sensitivity: tornado and ranking",
    "report": "write the planner's report (report.html, report.xlsx) of a results folder",
    "backtest": "run a fitted scenario in other years (2017-2019, Feb 2019, 2024) against published counts",
    "readings": "score the fitted readings (in-sample, backtest, plausibility) and pick the best",
}


def program_name(argv0: str | None = None) -> str:
    """How the user invoked us, for help and usage: the file name of ``sys.argv[0]``,
    ``run_sim.py`` or the console script ``helpline-sim`` (pyproject [project.scripts])."""
    name = Path(sys.argv[0] if argv0 is None else argv0).name
    return name if name and name != "-c" else "helpline-sim"


def _parser(command: str | None) -> argparse.ArgumentParser:
    """The parser, with the arguments of ``command`` only (the others list their help)."""
    prog = program_name()
    p = argparse.ArgumentParser(
        prog=prog,
        description="Hulplijn 1712 call-centre simulator. "
        f"Default command: run a scenario ({prog} SCENARIO.yaml ...). "
        "Output levels, the same for every command: -q/--quiet prints only the final line; "
        "the default adds tables and progress bars (on a terminal only); -v/--verbose adds "
        "progress also when output is redirected, and step-by-step detail.",
    )
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = p.add_subparsers(dest="command", required=True)
    for name, text in COMMANDS.items():
        sp = sub.add_parser(name, help=text, description=text)
        if name == command:
            importlib.import_module(f"sim.cli.{name}").add_arguments(sp)
            if any(a.dest == "out" for a in sp._actions):  # every command writing a folder
                sp.add_argument("--overwrite", action="store_true",
                                help="replace an existing results folder made by this tool "
                                     "(default: write beside it under a fresh name)")
                sp.add_argument("--allow-large", action="store_true",
                                help="run even when the work estimate is far beyond a planning "
                                     "run (see README, 'Nothing is lost')")
    return p


# Commands whose finished replications are saved as they finish and reused by --resume.
RESUMABLE = ("run", "compare", "sweep", "optimise", "sensitivity", "backtest")


def resume_hint(command: str | None, argv: list[str]) -> str:
    """What to tell a user whose ``command`` stopped early: the same command line with
    ``--resume`` (as typed: ``python run_sim.py ...`` or ``helpline-sim ...``), or that the
    command has no such flag."""
    if command not in RESUMABLE:
        return f"{command or 'the command'} has no --resume: run it again from the start"
    import shlex

    arg0 = sys.argv[0] if sys.argv and sys.argv[0] not in ("", "-c") else "helpline-sim"
    prog = ["python", arg0] if arg0.endswith(".py") else [program_name(arg0)]
    rest = argv if "--resume" in argv else [*argv, "--resume"]
    return "finished replications are saved; resume with: " + shlex.join([*prog, *rest])


def _command(argv: list[str]) -> tuple[str | None, list[str], str | None]:
    """(command, argv with the command first, problem): ``SCENARIO ...`` means ``run``."""
    if not argv or argv[0].startswith("-"):
        return None, argv, None
    first = argv[0]
    if first in COMMANDS:
        return first, argv, None
    close = difflib.get_close_matches(first, COMMANDS, n=1, cutoff=0.7)
    if close and not Path(first).exists() and not first.endswith((".yaml", ".yml")):
        return None, argv, f"unknown command {first!r}; did you mean {close[0]!r}?"
    return "run", ["run", *argv], None


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    command, argv, problem = _command(argv)
    if problem:
        return fail(problem, 2)
    args = _parser(command).parse_args(argv)
    from sim.experiments.executors import stop_all, stop_on_signals
    from sim.results import folders

    folders.OVERWRITE = getattr(args, "overwrite", False)
    try:
        with stop_on_signals():
            return importlib.import_module(f"sim.cli.{args.command}").main(args)
    except ScenarioError as e:
        return fail(str(e), 2)
    except OutputError as e:
        return fail(str(e), 2)
    except Terminated:
        stop_all()
        return fail(f"terminated; {resume_hint(args.command, argv)}", 143)
    except ReplicationError as e:
        from sim.experiments.guard import setting_error

        setting = setting_error(e, getattr(args, "scenario", None))
        if setting is not None:
            return fail(str(setting), 2)
        failed = getattr(e, "failed", [e.replication])
        if args.command == "run":
            return fail(f"{e}; failed replications {failed}; the others are saved: rerun one alone with "
                        f"--seed {e.seed} --rep {e.replication}, or all with --resume", 1)
        return fail(f"{e}; failed replications {failed}; "
                    + resume_hint(args.command, argv).replace("resume with", "once mended, resume with"), 1)
    except MissingDataError as e:
        return fail(str(e), 1)
    except KeyboardInterrupt:
        stop_all()
        return fail(f"interrupted; {resume_hint(args.command, argv)}", 130)
    except OSError as e:  # a full or read-only disk, a folder that vanished: one line
        where = f"{e.filename}: " if e.filename else ""
        return fail(f"cannot write {where}{e.strerror or e}; nothing half-written was left", 1)
