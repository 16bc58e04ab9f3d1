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
from sim.results.folders import COMPARE_KPIS

# KPIs of the comparison table: (by, key, kpi, label, format).


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
        # Differences are not proportions (they span -1..1): plain t-intervals.
        d = summarise(d.rename("value").reset_index(), level, bounded=False).set_index(
            ["by", "key", "kpi"])
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
            if (n, by, key, kpi) not in idx.index:  # e.g. no callback made in a short run
                lines.append(f"  {n:<{width}}  {'n/a':<32}")
                continue
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


# The few KPIs a planner compares first: (kpi, column header, format). The full table
# (every KPI with CIs and paired differences) is written to the results folder.
HEADLINE_KPIS = [
    ("answer_rate_caller", "rate/caller", "{:.1%}"),
    ("answer_rate_attempt", "rate/attempt", "{:.1%}"),
    ("callers_answered", "callers answered", "{:,.0f}"),
    ("chat_answered", "chats answered", "{:,.0f}"),
    ("email_answered", "e-mails answered", "{:,.0f}"),
]


CHANGE = "change, pt (95% CI)"


def headline(table: pd.DataFrame, ce: pd.DataFrame) -> pd.DataFrame:
    """One row per scenario, text cells: the :data:`HEADLINE_KPIS` (means over the
    replications), the paired change of the answer rate per caller against the base in
    percentage points with its 95% CI, the extra staffed hours (all channels) and the cost
    per extra caller answered (EUR; ``n/a`` when the extra callers' CI includes zero).

    ``table`` is :func:`paired`, ``ce`` is :func:`cost_effectiveness` of the same results.
    """
    t = table[(table["by"] == "all") & (table["key"] == "all")].set_index(["scenario", "kpi"])
    names = list(dict.fromkeys(table["scenario"]))
    costs = ce.set_index("scenario") if not ce.empty else pd.DataFrame()
    rows = []
    for i, name in enumerate(names):
        row = {"scenario": name}
        for kpi, label, fmt in HEADLINE_KPIS:
            row[label] = fmt.format(t.loc[(name, kpi), "mean"]) if (name, kpi) in t.index else "-"
            if kpi == "answer_rate_caller":
                if i == 0:
                    row[CHANGE] = "(base)"
                else:
                    d = t.loc[(name, kpi)] * 100
                    row[CHANGE] = (f"{d['diff']:+.1f} pt [{d['diff_low']:+.1f}, "
                                              f"{d['diff_high']:+.1f}]")
        if i == 0 or name not in costs.index:
            row["extra staffed h"], row["EUR/extra caller"] = "-", "-"
        else:
            c = costs.loc[name]
            row["extra staffed h"] = f"{c['extra_hours']:,.0f}"
            row["EUR/extra caller"] = ("n/a" if pd.isna(c["cost_per_extra_caller"])
                                           else f"{c['cost_per_extra_caller']:,.0f}")
        rows.append(row)
    return pd.DataFrame(rows)


def headline_text(table: pd.DataFrame, ce: pd.DataFrame) -> str:
    """:func:`headline` as an aligned text table with a legend."""
    return (headline(table, ce).to_string(index=False, justify="right")
            + "\n  rate = answer rate; change = paired difference of the answer rate per caller "
            "with the base (percentage points, 95% CI); extra staffed h over all channels; "
            "EUR/extra caller = extra cost per extra caller answered (n/a: gain not shown)")


# ---------------------------------------------------------------------------------------
# Efficiency frontier (incremental cost-effectiveness, as health economics does it)
# ---------------------------------------------------------------------------------------

FRONTIER_COLUMNS = ["scenario", "cost", "effect", "status", "compared_with", "incremental_cost",
                    "incremental_effect", "icer"]


def efficiency_frontier(options: pd.DataFrame) -> pd.DataFrame:
    """Incremental cost-effectiveness of mutually exclusive options.

    ``options``: one row per option with ``scenario, cost, effect`` (cost and effect
    against a common reference; the reference itself is a row with 0, 0). Method (Drummond
    et al., *Methods for the Economic Evaluation of Health Care Programmes*, ch. on
    ICERs): order by cost (ties: larger effect first); an option is **dominated** when
    another costs no more and achieves at least as much (one of them strictly); among the
    others an option is **extendedly dominated** when its ICER against the previous one
    exceeds the next option's ICER (a mix of its neighbours would do better), removed
    one at a time until the ICERs rise along the frontier. Each option on the frontier is
    then costed against the previous frontier option (``compared_with``), so a paid
    measure bundled with a free one is charged for what it adds beyond the free one.
    The cheapest undominated option is the ``reference``. Dominated options are compared
    with the frontier option that dominates them (``compared_with``; no ICER).

    Returns :data:`FRONTIER_COLUMNS`, one row per option, in cost order; ``icer`` is the
    incremental cost per unit of incremental effect (EUR per extra caller answered in
    :func:`frontier`).
    """
    df = options[["scenario", "cost", "effect"]].copy()
    df = df.sort_values(["cost", "effect"], ascending=[True, False], kind="mergesort").reset_index(drop=True)
    status = {n: "" for n in df["scenario"]}
    against: dict[str, str | None] = dict.fromkeys(df["scenario"])
    rows = list(df.itertuples(index=False))
    # Strong dominance: someone costs no more and achieves at least as much, one strictly.
    for r in rows:
        for o in rows:
            if o.scenario != r.scenario and o.cost <= r.cost and o.effect >= r.effect and (
                    o.cost < r.cost or o.effect > r.effect):
                status[r.scenario] = "dominated"
                against[r.scenario] = o.scenario
                break
    front = [r for r in rows if status[r.scenario] != "dominated"]
    # Ties in both cost and effect: keep the first (cost order), the others dominated by it.
    kept = []
    for r in front:
        if kept and r.cost == kept[-1].cost and r.effect == kept[-1].effect:
            status[r.scenario], against[r.scenario] = "dominated", kept[-1].scenario
        else:
            kept.append(r)
    front = kept
    # Extended dominance: ICERs must rise along the frontier.
    changed = True
    while changed and len(front) > 2:
        changed = False
        icers = [(b.cost - a.cost) / (b.effect - a.effect) for a, b in zip(front, front[1:], strict=False)]
        for i in range(len(icers) - 1):
            if icers[i] > icers[i + 1]:
                r = front.pop(i + 1)
                status[r.scenario] = "extendedly dominated"
                against[r.scenario] = front[i].scenario
                changed = True
                break
    out = []
    by_name = {r.scenario: r for r in rows}
    for i, r in enumerate(front):
        if i == 0:
            status[r.scenario] = "reference"
        else:
            status[r.scenario] = "frontier"
            against[r.scenario] = front[i - 1].scenario
    for r in rows:
        a = against[r.scenario]
        row = {"scenario": r.scenario, "cost": r.cost, "effect": r.effect, "status": status[r.scenario],
               "compared_with": a, "incremental_cost": np.nan, "incremental_effect": np.nan,
               "icer": np.nan}
        if a is not None:
            row["incremental_cost"] = r.cost - by_name[a].cost
            row["incremental_effect"] = r.effect - by_name[a].effect
            if status[r.scenario] == "frontier":
                row["icer"] = row["incremental_cost"] / row["incremental_effect"]
        out.append(row)
    return pd.DataFrame(out, columns=FRONTIER_COLUMNS)


def frontier(results: list[RunResult], level: float = 0.95) -> pd.DataFrame:
    """:func:`efficiency_frontier` of compared scenarios: cost = mean extra cost of staffed
    hours (EUR) and effect = mean extra callers answered, both against the first scenario
    (which is in the table with 0, 0). Adds the paired interval of the incremental effect
    against ``compared_with`` (``incremental_effect_low/high``) and ``shown``: whether
    that interval excludes zero (else the step up the frontier is not shown at 95%)."""
    base = results[0]
    by_name = {r.scenario.name: r for r in results}
    opts = pd.DataFrame([{"scenario": r.scenario.name,
                          "cost": float((r.values("cost_total") - base.values("cost_total")).mean()),
                          "effect": float((r.values("callers_answered")
                                           - base.values("callers_answered")).mean())}
                         for r in results])
    f = efficiency_frontier(opts)
    lows, highs = [], []
    for _, r in f.iterrows():
        if r["compared_with"] is None or pd.isna(r["compared_with"]):
            lows.append(np.nan)
            highs.append(np.nan)
            continue
        d = by_name[r["scenario"]].values("callers_answered") - by_name[r["compared_with"]].values(
            "callers_answered")
        _, lo, hi = t_interval(d, level)
        lows.append(lo)
        highs.append(hi)
    f["incremental_effect_low"], f["incremental_effect_high"] = lows, highs
    f["shown"] = [bool(lo > 0 or hi < 0) if not np.isnan(lo) else None for lo, hi in zip(lows, highs, strict=True)]
    return f


def frontier_text(f: pd.DataFrame) -> str:
    """Short text of :func:`frontier`: one line per option in cost order."""
    if f.empty:
        return ""
    width = max(len(n) for n in f["scenario"])
    lines = ["efficiency frontier (options in cost order; each costed against the previous one on the "
             "frontier; effect = extra callers answered vs the base)"]
    for _, r in f.iterrows():
        head = f"  {r['scenario']:<{width}}  EUR {r['cost']:>9,.0f}  {r['effect']:>+7,.0f} callers  "
        if r["status"] == "reference":
            lines.append(head + "reference")
        elif r["status"] == "frontier":
            ci = ""
            if not pd.isna(r.get("incremental_effect_low", np.nan)):
                ci = f" [{r['incremental_effect_low']:+,.0f}, {r['incremental_effect_high']:+,.0f}]"
            lines.append(head + f"frontier: ICER EUR {r['icer']:,.0f} per extra caller vs "
                         f"{r['compared_with']} ({r['incremental_effect']:+,.0f} callers{ci})")
        else:
            lines.append(head + f"{r['status']} (by {r['compared_with']})")
    return "\n".join(lines)
