"""Results folders and the printed summary.

A results folder describes itself (habit 10)::

    scenario.yaml        the fully resolved scenario (all defaults written out)
    meta.json            seed, replications, package version, wall time, command, kind
    kpis_per_rep.csv     replication, by, key, kpi, value
    summary.csv          by, key, kpi, mean, sd, n, half_width, ci_low, ci_high
    summary.txt          the table printed at the end of the run
    summary_cv.csv       ``run`` only: controlled means of overall KPIs, with the new
                         contacts drawn as control variates (sim.results.control_variates)
    interval_table.csv   ``run`` only: province, weekday, hour -> attempts, busy-tone share,
                         answered, occupancy, staffed lines per day of that weekday, mean
                         of the replications (sim.results.intervals)
    events/              attempts and callers of the first replications (if kept)
    figures/             PNG and SVG figures, rebuilt by ``run_sim.py plot DIR``

The folder is written under a temporary name and renamed into place, so an interrupted
run leaves either a complete folder or none. Every folder the tool makes carries a marker
file (``.hulplijn-sim``); only such folders are ever replaced or removed.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from sim.config import PROVINCES
from sim.errors import OutputError

if TYPE_CHECKING:
    import pandas as pd

# The headline rows of the printed summary: (by, key, kpi, label, format).
HEADLINE = [
    ("all", "all", "callers", "offered callers", "{:,.0f}"),
    ("all", "all", "attempts", "call attempts", "{:,.0f}"),
    ("all", "all", "answered", "calls answered directly", "{:,.0f}"),
    ("all", "all", "callers_answered", "callers answered (incl. by callback)", "{:,.0f}"),
    ("all", "all", "answer_rate_caller", "answer rate per caller", "{:.1%}"),
    ("all", "all", "answer_rate_attempt", "answer rate per attempt (open hours)", "{:.1%}"),
    ("all", "all", "answer_rate_attempt_all", "answer rate per attempt (all)", "{:.1%}"),
    ("all", "all", "mean_attempts", "attempts per caller", "{:.2f}"),
    ("all", "all", "mean_attempts_answered", "attempts per answered caller", "{:.2f}"),
    ("all", "all", "share_2plus_attempts", "callers needing 2+ attempts", "{:.1%}"),
    ("all", "all", "busy_tones", "busy tones", "{:,.0f}"),
    ("all", "all", "closed_attempts", "attempts while closed", "{:,.0f}"),
    ("all", "all", "abandoned", "abandoned in queue", "{:,.0f}"),
    ("all", "all", "callers_gave_up", "callers who gave up", "{:,.0f}"),
    ("all", "all", "utilisation", "line utilisation", "{:.1%}"),
] + [("province", p, "answer_rate_caller", f"answer rate per caller, {p}", "{:.1%}") for p in PROVINCES] + [
    ("all", "all", "messages_left", "answering-machine messages", "{:,.0f}"),
    ("all", "all", "messages_with_number", "  with a number", "{:,.0f}"),
    ("all", "all", "callers_answered_callback", "  callers answered by callback", "{:,.0f}"),
    ("all", "all", "callback_delay_mean_h", "  mean delay to callback (h)", "{:.1f}"),
    ("all", "all", "chat_visitors", "chat visitors", "{:,.0f}"),
    ("all", "all", "chat_closed", "  chat closed", "{:,.0f}"),
    ("all", "all", "chat_answered", "  chats answered", "{:,.0f}"),
    ("all", "all", "chat_answer_rate", "  chat answer rate (while open)", "{:.1%}"),
    ("all", "all", "chat_abandoned", "  chats abandoned", "{:,.0f}"),
    ("all", "all", "chat_mean_wait_s", "  chat mean wait (s)", "{:,.0f}"),
    ("all", "all", "chat_wait_p80_s", "  chat wait, 80th percentile (s)", "{:,.0f}"),
    ("all", "all", "chat_wait_p95_s", "  chat wait, 95th percentile (s)", "{:,.0f}"),
    ("all", "all", "chat_within_target", "  chats answered within target", "{:.1%}"),
    ("all", "all", "chat_utilisation", "  chat line utilisation", "{:.1%}"),
    ("all", "all", "email_received", "e-mails received", "{:,.0f}"),
    ("all", "all", "email_answered", "  e-mails answered", "{:,.0f}"),
    ("all", "all", "email_mean_response_h", "  mean response time (h)", "{:.1f}"),
    ("all", "all", "email_within_1wd", "  answered within 1 working day", "{:.1%}"),
    ("all", "all", "email_within_3wd", "  answered within 3 working days", "{:.1%}"),
    ("all", "all", "email_backlog_end", "  backlog at horizon end", "{:,.0f}"),
    ("all", "all", "email_answered_by_phone", "  handled on phone lines (blending)", "{:,.0f}"),
]


# The KPIs a comparison shows, with labels and formats (compare.txt, the report).
COMPARE_KPIS = [
    ("all", "all", "answer_rate_caller", "answer rate per caller", "{:.1%}"),
    ("all", "all", "answer_rate_attempt", "answer rate per attempt", "{:.1%}"),
    ("all", "all", "callers_answered", "answered callers", "{:,.0f}"),
    ("all", "all", "mean_attempts", "attempts per caller", "{:.2f}"),
    ("all", "all", "callers_answered_callback", "answered by callback", "{:,.0f}"),
    ("all", "all", "callback_delay_mean_h", "callback delay (h)", "{:.1f}"),
    ("all", "all", "answered_other_province", "answered in other province", "{:,.0f}"),
    ("all", "all", "staffed_line_hours", "staffed phone line-hours", "{:,.0f}"),
    ("all", "all", "staffed_hours_total", "staffed hours, all channels", "{:,.0f}"),
    ("all", "all", "cost_total", "cost of staffed hours (EUR)", "{:,.0f}"),
    ("all", "all", "utilisation", "line utilisation", "{:.1%}"),
    ("all", "all", "chat_answered", "chats answered", "{:,.0f}"),
    ("all", "all", "chat_answer_rate", "chat answer rate", "{:.1%}"),
    ("all", "all", "chat_mean_wait_s", "chat mean wait (s)", "{:,.0f}"),
    ("all", "all", "email_answered", "e-mails answered", "{:,.0f}"),
    ("all", "all", "email_mean_response_h", "e-mail mean response (h)", "{:.1f}"),
    ("all", "all", "email_within_1wd", "e-mail within 1 working day", "{:.1%}"),
    ("all", "all", "email_answered_by_phone", "e-mails handled on phone lines", "{:,.0f}"),
]


def _isna(x) -> bool:
    return x is None or x != x  # NaN is the only value unequal to itself


def _fmt(fmt: str, x: float) -> str:
    return "n/a" if _isna(x) else fmt.format(x)


def summary_table(summary: pd.DataFrame, level: float = 0.95) -> str:
    """Headline KPIs as an aligned text table with confidence intervals."""
    idx = summary.set_index(["by", "key", "kpi"])
    lines = []
    width = max(len(h[3]) for h in HEADLINE)
    lines.append(f"{'KPI':<{width}}  {'mean':>10}  {int(level * 100)}% confidence interval")
    for by, key, kpi, label, fmt in HEADLINE:
        if (by, key, kpi) not in idx.index:
            continue
        row = idx.loc[(by, key, kpi)]
        ci = "" if _isna(row["half_width"]) else f"[{_fmt(fmt, row['ci_low'])}, {_fmt(fmt, row['ci_high'])}]"
        lines.append(f"{label:<{width}}  {_fmt(fmt, row['mean']):>10}  {ci}")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------
# Ownership: the tool replaces or removes only folders it can prove it made.
# ---------------------------------------------------------------------------------------

# A file of our own inside every folder the tool creates; its content says which kind
# ("results": a finished results folder, "partial": saved replications of a run).
MARKER = ".hulplijn-sim"
_TOOL = "hulplijn-1712-sim"

# Set once by the command line (``--overwrite``): may an existing results folder made
# by this tool be replaced? Otherwise a new run picks a fresh name (NAME-2, NAME-3, ...).
OVERWRITE = False


def safe_name(name: str) -> str:
    """A scenario or sweep name as one harmless path component: letters, digits, ``._-``
    kept, anything else ``_``; no leading dot; never empty (``"scenario"``)."""
    s = re.sub(r"[^A-Za-z0-9._-]+", "_", str(name)).lstrip(".")[:100]
    return s if s.strip("_") else "scenario"


def mark(folder: Path, kind: str) -> None:
    """Write the ownership marker of ``kind`` into ``folder`` (with the writing process)."""
    info = {"tool": _TOOL, "kind": kind, "pid": os.getpid()}
    (Path(folder) / MARKER).write_text(json.dumps(info) + "\n", encoding="utf-8")


def _alive(pid) -> bool:
    try:
        os.kill(int(pid), 0)
    except (ProcessLookupError, ValueError, TypeError):
        return False
    except PermissionError:
        return True
    return True


def _remove_stale(out_dir: Path) -> None:
    """Remove what a killed writer of ``out_dir`` left beside it: its unfinished
    ``.NAME.tmp-*`` folder and a replaced ``.NAME.old-PID`` one (ours, writer gone)."""
    for d in out_dir.parent.glob(f".{glob.escape(out_dir.name)}.tmp-*"):
        if owned(d, "tmp") and not _alive(_info(d).get("pid")):
            shutil.rmtree(d, ignore_errors=True)
    for d in out_dir.parent.glob(f".{glob.escape(out_dir.name)}.old-*"):
        if owned(d, "results") and not _alive(d.name.rsplit("-", 1)[-1]):
            shutil.rmtree(d, ignore_errors=True)


def _info(folder: Path) -> dict:
    try:
        info = json.loads((Path(folder) / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return info if isinstance(info, dict) else {}


def owned(folder: Path, kind: str) -> bool:
    """Whether ``folder`` is a real folder (not a link) carrying our marker of ``kind``."""
    folder = Path(folder)
    if folder.is_symlink() or not folder.is_dir():
        return False
    info = _info(folder)
    return info.get("tool") == _TOOL and info.get("kind") == kind


def _refuse(path: Path, why: str) -> OutputError:
    return OutputError(f"{path}: {why}; refusing to replace or remove it (choose another --out)")


def fresh_out(out_dir: Path, overwrite: bool | None = None, announce: bool = True) -> Path:
    """Where a new results folder for ``out_dir`` goes.

    Nothing there: ``out_dir``. A results folder this tool made: ``out_dir`` itself with
    ``overwrite``, else the first free ``NAME-2``, ``NAME-3``, ... (printed on stderr).
    Anything else (a file, a link, someone's folder): :class:`OutputError`.
    """
    out_dir = Path(out_dir)
    overwrite = OVERWRITE if overwrite is None else overwrite
    if not os.path.lexists(out_dir):
        return out_dir
    if not owned(out_dir, "results"):
        what = "is a file" if out_dir.is_file() and not out_dir.is_symlink() else \
            "is a link" if out_dir.is_symlink() else "exists and is not a results folder made by this tool"
        raise _refuse(out_dir, what)
    if overwrite:
        return out_dir
    n = 2
    while os.path.lexists(out_dir.with_name(f"{out_dir.name}-{n}")):
        n += 1
    new = out_dir.with_name(f"{out_dir.name}-{n}")
    if announce:
        print(f"note: {out_dir} holds earlier results; writing to {new} (--overwrite replaces it)",
              file=sys.stderr)
    return new


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_atomic(out_dir: Path, fill, overwrite: bool | None = None) -> Path:
    """Create a results folder by calling ``fill(tmp_dir)`` and renaming it into place.

    Returns the folder written: ``out_dir``, or a fresh name beside it when ``out_dir``
    holds earlier results and ``overwrite`` (default: the ``--overwrite`` flag) is off
    (see :func:`fresh_out`). An earlier results folder is replaced only once the new one is
    complete; anything the tool did not make is never replaced. Permissions follow the
    umask, like any other output.
    """
    out_dir = fresh_out(Path(out_dir), overwrite)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale(out_dir)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-", dir=out_dir.parent))
    try:
        os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes 0700; results are ordinary output
        mark(tmp, "tmp")  # unfinished: removed by a later run if this process is killed
        fill(tmp)
        mark(tmp, "results")
        if os.path.lexists(out_dir):
            if not owned(out_dir, "results"):  # checked again: it may have changed meanwhile
                raise _refuse(out_dir, "is not a results folder made by this tool")
            old = out_dir.with_name(f".{out_dir.name}.old-{os.getpid()}")
            os.replace(out_dir, old)
            os.replace(tmp, out_dir)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out_dir


def partial_folder(out_dir: Path, resume: bool) -> Path:
    """Where finished replications wait until ``out_dir`` is written (``.NAME.partial``
    beside it, marked as ours); emptied first unless the run resumes (or adds one
    replication). A folder of that name that the tool did not make is refused."""
    out_dir = Path(out_dir)
    folder = out_dir.parent / f".{out_dir.name}.partial"
    if os.path.lexists(folder):
        if not owned(folder, "partial"):
            raise _refuse(folder, "is not a checkpoint folder made by this tool")
        if not resume:
            shutil.rmtree(folder)
    if not folder.exists():
        folder.mkdir(parents=True)
        mark(folder, "partial")
    return folder


def remove_partial(folder: Path) -> None:
    """Remove a checkpoint folder once its results are written (only if it is ours)."""
    if owned(folder, "partial"):
        shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def output_lock(out_dir: Path):
    """Hold ``.NAME.lock`` beside ``out_dir`` for the length of a run, so that a second
    run with the same ``--out`` is refused instead of mixing checkpoints."""
    import fcntl

    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    path = out_dir.parent / f".{out_dir.name}.lock"
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o666)  # never through a link
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            try:
                holder = path.read_text(encoding="utf-8").strip() or "?"
            except OSError:
                holder = "?"
            raise OutputError(f"{out_dir}: another run (process {holder}) is writing there; "
                              "wait for it or choose another --out") from None
        # The file may have been removed by the run that held it just before we locked.
        try:
            same = os.stat(path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    try:
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield path
    finally:
        with contextlib.suppress(OSError):
            os.unlink(path)
        os.close(fd)


def write_run(out_dir: Path, result, summary: pd.DataFrame, meta: dict, figures=None,
              summary_cv: pd.DataFrame | None = None) -> Path:
    """Write a run's results folder (see module docstring). ``figures(dir)`` draws plots;
    ``summary_cv`` (:func:`sim.results.control_variates.run_controls`) is written when given."""

    def fill(tmp: Path) -> None:
        (tmp / "scenario.yaml").write_text(result.scenario.to_yaml(), encoding="utf-8")
        (tmp / "meta.json").write_text(json.dumps(meta, indent=2, default=str), encoding="utf-8")
        result.kpis().to_csv(tmp / "kpis_per_rep.csv", index=False)
        summary.to_csv(tmp / "summary.csv", index=False)
        intervals = result.interval_table() if hasattr(result, "interval_table") else None
        if intervals is not None:  # sim.results.intervals: per province x weekday x hour
            intervals.to_csv(tmp / "interval_table.csv", index=False)
        (tmp / "summary.txt").write_text(summary_table(summary) + "\n", encoding="utf-8")
        if summary_cv is not None:
            summary_cv.to_csv(tmp / "summary_cv.csv", index=False)
        kept = [r for r in result.replications if r.attempts is not None]
        if kept:
            (tmp / "events").mkdir()
            for r in kept:
                r.attempts.to_csv(tmp / "events" / f"attempts_rep{r.replication}.csv.gz", index=False)
                r.callers.to_csv(tmp / "events" / f"callers_rep{r.replication}.csv.gz", index=False)
        if figures is not None:
            figures(tmp)

    return write_atomic(out_dir, fill)


def read_run(out_dir: Path) -> tuple[pd.DataFrame, dict]:
    """Summary and meta of a results folder (for plots without simulating again)."""
    out_dir = Path(out_dir)
    import pandas as pd  # here, not at import: bad input must answer before pandas loads

    summary = pd.read_csv(out_dir / "summary.csv", dtype={"key": str})
    meta = json.loads((out_dir / "meta.json").read_text(encoding="utf-8"))
    return summary, meta
