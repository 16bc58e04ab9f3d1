"""Comparing scenarios on common random numbers: paired differences with CIs.

Every scenario runs replications 0..n-1 with the same seed, so replication r of each
option meets the same callers (same arrival times, attributes and draws) wherever the
scenarios share demand. The difference of a KPI between an option and the base is taken
per replication and summarised with its own Student-t interval, which is much narrower
than comparing two independent intervals.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.experiments.replications import RunResult, summarise, t_interval

# KPIs of the comparison table: (by, key, kpi, label, format).
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


def _ratio(name: str, num: np.ndarray, den: np.ndarray, den_low: float, den_high: float,
           level: float) -> dict[str, float]:
    """Ratio of means with a delta-method interval; NaN when the denominator's interval
    includes zero (the ratio then has no finite interval)."""
    n, a, b = len(num), num.mean(), den.mean()
    if n < 2 or b == 0 or not (den_low > 0 or den_high < 0):
        return {name: np.nan, f"{name}_low": np.nan, f"{name}_high": np.nan}
    r = a / b
    cov = np.cov(num, den, ddof=1)
    var = (cov[0, 0] - 2 * r * cov[0, 1] + r * r * cov[1, 1]) / (n * b * b)
    from scipy import stats  # here: a slow import most callers never need

    h = stats.t.ppf(0.5 + level / 2, n - 1) * np.sqrt(max(var, 0.0))
    return {name: r, f"{name}_low": r - h, f"{name}_high": r + h}


def cost_effectiveness(results: list[RunResult], level: float = 0.95) -> pd.DataFrame:
    """Extra staffed hours and cost of each option against the first, the extra callers
    (phone) and contacts (all channels) answered, and the cost per extra caller answered
    and per extra contact answered.

    Differences are paired per replication. The cost per extra caller is the ratio of
    mean extra cost to mean extra callers answered; its interval comes from the delta
    method on the paired replications (Var R ~ (Var a - 2R Cov(a,b) + R^2 Var b) / (n b^2)).
    It is left out (NaN) when the extra callers' interval includes zero: the ratio then has
    no finite interval.
    """
    base = results[0]
    budget = base.scenario.costs.subsidy_budget
    rows = []

    def contacts(r):
        return r.values("callers_answered") + r.values("chat_answered") + r.values("email_answered")

    for res in results[1:]:
        d_cost = res.values("cost_total") - base.values("cost_total")
        d_hours = res.values("staffed_hours_total") - base.values("staffed_hours_total")
        d_callers = res.values("callers_answered") - base.values("callers_answered")
        d_contacts = contacts(res) - contacts(base)
        row = {"scenario": res.scenario.name}
        for name, x in [("extra_hours", d_hours), ("extra_cost", d_cost), ("extra_callers", d_callers),
                        ("extra_contacts", d_contacts)]:
            row[name], row[f"{name}_low"], row[f"{name}_high"] = t_interval(x, level)
        row.update(_ratio("cost_per_extra_caller", d_cost, d_callers, row["extra_callers_low"],
                          row["extra_callers_high"], level))
        row.update(_ratio("cost_per_extra_contact", d_cost, d_contacts, row["extra_contacts_low"],
                          row["extra_contacts_high"], level))
        row["within_budget"] = (None if budget is None else bool(row["extra_cost"] <= budget))
        rows.append(row)
    return pd.DataFrame(rows)


def cost_table(ce: pd.DataFrame) -> str:
    """Text table of :func:`cost_effectiveness` (one line per option)."""
    if ce.empty:
        return ""

    def ci(r, k, fmt):
        if pd.isna(r[k]):
            return "n/a"
        if pd.isna(r[f"{k}_low"]):
            return fmt.format(r[k])
        return f"{fmt.format(r[k])} [{fmt.format(r[f'{k}_low'])}, {fmt.format(r[f'{k}_high'])}]"

    width = max(len(n) for n in ce["scenario"])
    lines = ["cost-effectiveness versus the base (paired, 95% CI; contacts = phone callers + chats"
             " + e-mails answered)",
             f"  {'option':<{width}}  {'extra staffed hours':<22} {'extra cost (EUR)':<30} "
             f"{'extra callers answered':<24} {'EUR per extra caller':<24} "
             f"{'extra contacts answered':<24} EUR per extra contact"]
    for _, r in ce.iterrows():
        lines.append(f"  {r['scenario']:<{width}}  {ci(r, 'extra_hours', '{:,.0f}'):<22} "
                     f"{ci(r, 'extra_cost', '{:,.0f}'):<30} {ci(r, 'extra_callers', '{:,.0f}'):<24} "
                     f"{ci(r, 'cost_per_extra_caller', '{:,.1f}'):<24} "
                     f"{ci(r, 'extra_contacts', '{:,.0f}'):<24} {ci(r, 'cost_per_extra_contact', '{:,.1f}')}")
    return "\n".join(lines)
