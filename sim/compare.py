"""Comparing scenarios on common random numbers: paired differences with CIs.

Every scenario runs replications 0..n-1 with the same seed, so replication r of each
option meets the same callers (same arrival times, attributes and draws) wherever the
scenarios share demand. The difference of a KPI between an option and the base is taken
per replication and summarised with its own Student-t interval, which is much narrower
than comparing two independent intervals.
"""

from __future__ import annotations

import pandas as pd

from sim.experiment import RunResult, summarise

# KPIs of the comparison table: (by, key, kpi, label, format).
COMPARE_KPIS = [
    ("all", "all", "answer_rate_caller", "answer rate per caller", "{:.1%}"),
    ("all", "all", "answer_rate_attempt", "answer rate per attempt", "{:.1%}"),
    ("all", "all", "callers_answered", "answered callers", "{:,.0f}"),
    ("all", "all", "mean_attempts", "attempts per caller", "{:.2f}"),
    ("all", "all", "callers_answered_callback", "answered by callback", "{:,.0f}"),
    ("all", "all", "callback_delay_mean_h", "callback delay (h)", "{:.1f}"),
    ("all", "all", "answered_other_province", "answered in other province", "{:,.0f}"),
    ("all", "all", "staffed_line_hours", "staffed line-hours", "{:,.0f}"),
    ("all", "all", "utilisation", "line utilisation", "{:.1%}"),
    ("all", "all", "chat_answered", "chats answered", "{:,.0f}"),
    ("all", "all", "chat_answer_rate", "chat answer rate", "{:.1%}"),
    ("all", "all", "chat_mean_wait_s", "chat mean wait (s)", "{:,.0f}"),
    ("all", "all", "email_answered", "e-mails answered", "{:,.0f}"),
    ("all", "all", "email_mean_response_h", "e-mail mean response (h)", "{:.1f}"),
    ("all", "all", "email_within_1wd", "e-mail within 1 working day", "{:.1%}"),
    ("all", "all", "email_answered_by_phone", "e-mails handled on phone lines", "{:,.0f}"),
]


def paired(results: list[RunResult], level: float = 0.95) -> pd.DataFrame:
    """Per option: mean and CI of each KPI, and the paired difference with the first.

    Columns: ``scenario, by, key, kpi, mean, ci_low, ci_high, diff, diff_low, diff_high``.
    """
    base = results[0].kpis().set_index(["replication", "by", "key", "kpi"])["value"]
    out = []
    for res in results:
        k = res.kpis()
        s = summarise(k, level).set_index(["by", "key", "kpi"])
        d = k.set_index(["replication", "by", "key", "kpi"])["value"] - base
        d = summarise(d.rename("value").reset_index(), level).set_index(["by", "key", "kpi"])
        table = s[["mean", "ci_low", "ci_high"]].join(
            d[["mean", "ci_low", "ci_high"]].rename(
                columns={"mean": "diff", "ci_low": "diff_low", "ci_high": "diff_high"}))
        out.append(table.reset_index().assign(scenario=res.scenario.name))
    cols = ["scenario", "by", "key", "kpi", "mean", "ci_low", "ci_high", "diff", "diff_low", "diff_high"]
    return pd.concat(out, ignore_index=True)[cols]


def compare_table(table: pd.DataFrame) -> str:
    """Text table: one block per KPI, one row per scenario (value and difference, CIs)."""
    lines = []
    names = list(dict.fromkeys(table["scenario"]))
    width = max(len(n) for n in names)
    idx = table.set_index(["scenario", "by", "key", "kpi"])
    for by, key, kpi, label, fmt in COMPARE_KPIS:
        if (names[0], by, key, kpi) not in idx.index:
            continue
        lines.append(f"\n{label}")
        for n in names:
            r = idx.loc[(n, by, key, kpi)]
            val = f"{fmt.format(r['mean'])} [{fmt.format(r['ci_low'])}, {fmt.format(r['ci_high'])}]"
            if n == names[0]:
                diff = "(base)"
            elif pd.isna(r["diff_low"]):
                diff = f"{fmt.format(r['diff'])}"
            else:
                diff = (f"{'+' if r['diff'] >= 0 else ''}{fmt.format(r['diff'])} "
                        f"[{fmt.format(r['diff_low'])}, {fmt.format(r['diff_high'])}]")
            lines.append(f"  {n:<{width}}  {val:<32}  {diff}")
    return "\n".join(lines).lstrip("\n")
