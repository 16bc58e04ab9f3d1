"""Results folders and the printed summary.

A results folder describes itself (habit 10)::

    scenario.yaml        the fully resolved scenario (all defaults written out)
    meta.json            seed, replications, package version, wall time, command, kind
    kpis_per_rep.csv     replication, by, key, kpi, value
    summary.csv          by, key, kpi, mean, sd, n, half_width, ci_low, ci_high
    summary.txt          the table printed at the end of the run
    events/              attempts and callers of the first replications (if kept)
    figures/             PNG and SVG figures, rebuilt by ``run_sim.py plot DIR``

The folder is written under a temporary name and renamed into place, so an interrupted
run leaves either a complete folder or none.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import pandas as pd

from sim.config import PROVINCES

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


def _fmt(fmt: str, x: float) -> str:
    return "n/a" if pd.isna(x) else fmt.format(x)


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
        ci = "" if pd.isna(row["half_width"]) else f"[{_fmt(fmt, row['ci_low'])}, {_fmt(fmt, row['ci_high'])}]"
        lines.append(f"{label:<{width}}  {_fmt(fmt, row['mean']):>10}  {ci}")
    return "\n".join(lines)


def write_atomic(out_dir: Path, fill) -> Path:
    """Create ``out_dir`` by calling ``fill(tmp_dir)`` and renaming it into place.

    An existing folder is replaced only once the new one is complete.
    """
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-", dir=out_dir.parent))
    try:
        fill(tmp)
        if out_dir.exists():
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
    beside it); emptied first unless the run resumes."""
    out_dir = Path(out_dir)
    folder = out_dir.parent / f".{out_dir.name}.partial"
    if not resume and folder.exists():
        shutil.rmtree(folder)
    return folder


def write_run(out_dir: Path, result, summary: pd.DataFrame, meta: dict, figures=None) -> Path:
    """Write a run's results folder (see module docstring). ``figures(dir)`` draws plots."""

    def fill(tmp: Path) -> None:
        (tmp / "scenario.yaml").write_text(result.scenario.to_yaml(), encoding="utf-8")
        (tmp / "meta.json").write_text(json.dumps(meta, indent=2, default=str), encoding="utf-8")
        result.kpis().to_csv(tmp / "kpis_per_rep.csv", index=False)
        summary.to_csv(tmp / "summary.csv", index=False)
        (tmp / "summary.txt").write_text(summary_table(summary) + "\n", encoding="utf-8")
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
    summary = pd.read_csv(out_dir / "summary.csv", dtype={"key": str})
    meta = json.loads((out_dir / "meta.json").read_text(encoding="utf-8"))
    return summary, meta
