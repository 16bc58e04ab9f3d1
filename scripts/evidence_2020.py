"""Tables of docs/evidence_2020.md (issues 14 and 15) from the results folders written by
scripts/evidence_2020_runs.sh. Prints Markdown.

Run: bash scripts/evidence_2020_runs.sh /tmp/ev && python scripts/evidence_2020.py /tmp/ev

Conventions (as the fit counts them, sim/planning/fit_run.py and calibrate.period_stats):
phone contacts = answered calls + callers answered by a callback (KPIs ``answered`` +
``callers_answered_callback``, month rows). Sep-Dec figures sum the month rows 2020-09 to
2020-12 of each replication; paired differences are taken per replication (common random
numbers) and their 95% intervals are Student t with n-1 degrees of freedom.
Working days: Monday-Friday minus Belgian public holidays (``holidays`` package, BE).
"""
import sys
from pathlib import Path

import holidays
import numpy as np
import pandas as pd
from scipy import stats

from sim.data import monthly_2020

OUT = Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/ev")
SEPDEC = ["2020-09", "2020-10", "2020-11", "2020-12"]


def ci(x, fmt="{:.1f}", scale=1.0):
    """'mean [low, high]' of a per-replication array (95% t interval)."""
    x = np.asarray(x, float) * scale
    m = x.mean()
    h = stats.t.ppf(0.975, len(x) - 1) * x.std(ddof=1) / np.sqrt(len(x)) if len(x) > 1 else np.nan
    return f"{fmt.format(m)} [{fmt.format(m - h)}, {fmt.format(m + h)}]"


def month_wide(path):
    """Per replication x month, every KPI of the month rows."""
    k = pd.read_csv(path)
    m = k[k["by"] == "month"]
    return m.pivot_table(index=["replication", "key"], columns="kpi", values="value", aggfunc="sum")


def sepdec(path):
    """Sep-Dec phone figures per replication."""
    w = month_wide(path)
    w = w[w.index.get_level_values("key").isin(SEPDEC)].fillna(0.0)
    g = w.assign(tot_att=w["mean_attempts"] * w["callers"]).groupby(level="replication").sum()
    return pd.DataFrame({
        "contacts": g["answered"] + g["callers_answered_callback"],
        "answered_calls": g["answered"],
        "callers_answered": g["callers_answered"],
        "answer_rate_caller": g["callers_answered"] / g["callers"],
        "answer_rate_attempt_open": g["answered"] / g["attempts_open"],
        "mean_attempts": g["tot_att"] / g["callers"],
    })


def working_days():
    be = holidays.BE(years=2020)
    d = pd.date_range("2020-01-01", "2020-12-31", freq="D")
    wd = pd.Series([(x.weekday() < 5 and x.date() not in be) for x in d], index=d)
    return wd.groupby(wd.index.to_period("M")).sum()


def per_working_day(folders=(("fitted_2020", "year_fitted"), ("fitted_2020_availability", "year_avail"))):
    """Published vs simulated phone contacts per working day; ``folders``: (label, run
    folder under OUT) pairs."""
    pub = monthly_2020()
    pub = pub[pub["channel"] == "phone"].set_index("month")["contacts"]
    wd = working_days()
    runs = {name: month_wide(OUT / d / "kpis_per_rep.csv") for name, d in folders}
    print("| month | working days | published phone contacts | published per working day | "
          + " | ".join(f"{name} per working day" for name in runs) + " |")
    print("| --- | ---: | ---: | ---: |" + " ---: |" * len(runs))
    for p in pub.index:
        key, n = str(p), int(wd[p])
        cells = []
        for w in runs.values():
            x = w.xs(key, level="key").fillna(0.0)
            cells.append(ci((x["answered"] + x["callers_answered_callback"]) / n))
        print(f"| {key} | {n} | {pub[p]} | {pub[p] / n:.1f} | " + " | ".join(cells) + " |")
    # whole year and Sep-Dec
    for label, months in [("Sep-Dec", SEPDEC), ("year", [str(p) for p in pub.index])]:
        n = int(sum(wd[pd.Period(m)] for m in months))
        tot = int(sum(pub[pd.Period(m)] for m in months))
        cells = []
        for w in runs.values():
            x = w[w.index.get_level_values("key").isin(months)].fillna(0.0)
            s = (x["answered"] + x["callers_answered_callback"]).groupby(level="replication").sum()
            cells.append(ci(s / n))
        print(f"| **{label}** | {n} | {tot} | {tot / n:.1f} | " + " | ".join(cells) + " |")


def compare_table(folder, options, label):
    """Paired Sep-Dec differences of each option against the base of a compare folder."""
    f = OUT / folder
    base_name = "fitted_2020"
    base = sepdec(f / f"kpis_per_rep_{base_name}.csv")
    ce = pd.read_csv(f / "cost_effectiveness.csv").set_index("scenario")
    print(f"\n*{label}* (`{folder}`): base Sep-Dec phone contacts {ci(base['contacts'], '{:.0f}')}, "
          f"callers answered {ci(base['callers_answered'], '{:.0f}')}, "
          f"answer rate per caller {ci(base['answer_rate_caller'], '{:.1f}', 100)}%\n")
    print("| option | extra callers answered | extra phone contacts | answer rate per caller (pp) "
          "| answer rate per attempt open (pp) | extra cost EUR (15 Aug-31 Dec) | EUR per extra caller (15 Aug-31 Dec) |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for o in options:
        x = sepdec(f / f"kpis_per_rep_{o}.csv")
        d = x - base
        r = ce.loc[o]
        cost = f"{r['extra_cost']:,.0f}"
        cpc = ("n/a" if pd.isna(r["cost_per_extra_caller"]) else
               f"{r['cost_per_extra_caller']:.0f} [{r['cost_per_extra_caller_low']:.0f}, "
               f"{r['cost_per_extra_caller_high']:.0f}]")
        print(f"| {o} | {ci(d['callers_answered'], '{:+.0f}')} | {ci(d['contacts'], '{:+.0f}')} "
              f"| {ci(d['answer_rate_caller'], '{:+.1f}', 100)} "
              f"| {ci(d['answer_rate_attempt_open'], '{:+.1f}', 100)} | {cost} | {cpc} |")


def change_table():
    """After minus before: change of each option's extra callers answered (Sep-Dec), paired
    per replication (same seeds in both comparisons)."""
    print("\n| option | extra callers answered: after minus before |")
    print("| --- | ---: |")
    for o, fb, fa in [("extra_line_peak_days", "cmp_before", "cmp_after"),
                      ("option0_overflow", "cmp_before", "cmp_after"),
                      ("interprovince_overflow", "cmp_before", "cmp_after"),
                      ("faster_callbacks", "cmp_before_cb", "cmp_after_cb")]:
        def gain(f, o=o):
            return (sepdec(OUT / f / f"kpis_per_rep_{o}.csv")["callers_answered"]
                    - sepdec(OUT / f / "kpis_per_rep_fitted_2020.csv")["callers_answered"])
        if (OUT / fa / "cost_effectiveness.csv").exists() and (OUT / fb / "cost_effectiveness.csv").exists():
            print(f"| {o} | {ci(gain(fa) - gain(fb), '{:+.0f}')} |")


def numbers_table(folder, scenarios):
    """Per-number (window Sep-Dec) and per-episode (Sep-Dec months) KPIs."""
    f = OUT / folder
    rows = ["answer_rate_attempt_open", "answer_rate_attempt", "attempts_open_per_number",
            "attempts_per_number", "share_numbers_answered", "answered_per_number",
            "episodes_per_number", "repeat_episodes", "mean_attempts_open_episode", "numbers"]
    data = {}
    for s in scenarios:
        k = pd.read_csv(f / f"kpis_per_rep_{s}.csv")
        n = k[k["by"] == "numbers"]
        data[s] = (n, sepdec(f / f"kpis_per_rep_{s}.csv"))
    print("| KPI (Sep-Dec 2020) | " + " | ".join(scenarios) + " |")
    print("| --- |" + " ---: |" * len(scenarios))
    for kpi in rows:
        cells = []
        for s in scenarios:
            n = data[s][0]
            v = n[n["kpi"] == kpi].sort_values("replication")["value"]
            pct = kpi.startswith(("answer_rate", "share"))
            cells.append("n/a" if v.empty else ci(v, "{:.1f}" if pct else "{:.2f}", 100 if pct else 1)
                         + ("%" if pct else ""))
        print(f"| `{kpi}` (numbers window Sep-Dec) | " + " | ".join(cells) + " |")
    for kpi, pct in [("answer_rate_caller", True), ("mean_attempts", False), ("answered_calls", False),
                     ("contacts", False)]:
        cells = [ci(data[s][1][kpi], "{:.1f}" if pct else "{:.2f}" if kpi == "mean_attempts" else "{:.0f}",
                    100 if pct else 1) + ("%" if pct else "") for s in scenarios]
        print(f"| `{kpi}` (per episode, Sep-Dec months) | " + " | ".join(cells) + " |")
    # paired gains of the options on the per-number KPIs
    b = data[scenarios[0]][0]
    print("\n| option vs base (repeat setting) | extra callers (episodes) answered | extra answered calls "
          "| extra phone contacts | `share_numbers_answered` (pp) | `answer_rate_attempt_open` (pp) |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for s in scenarios[1:]:
        d = data[s][1] - data[scenarios[0]][1]
        n = data[s][0]

        def pdiff(kpi, n=n):
            a = n[n["kpi"] == kpi].sort_values("replication")["value"].to_numpy()
            c = b[b["kpi"] == kpi].sort_values("replication")["value"].to_numpy()
            return ci(a - c, "{:+.1f}", 100)
        print(f"| {s} | {ci(d['callers_answered'], '{:+.0f}')} | {ci(d['answered_calls'], '{:+.0f}')} "
              f"| {ci(d['contacts'], '{:+.0f}')} | {pdiff('share_numbers_answered')} "
              f"| {pdiff('answer_rate_attempt_open')} |")


if __name__ == "__main__":
    print("## Calibration key point (capacity_rough_calibration.py 4 0.6 0.6)\n")
    cal = OUT / "calibration.txt"
    print("```\n" + (cal.read_text().strip() if cal.exists() else "(not run)") + "\n```\n")
    print("## Phone contacts per working day, 2020\n")
    per_working_day()
    print("\n## Subsidy options, Sep-Dec 2020\n")
    opts = ["extra_line_peak_days", "option0_overflow", "interprovince_overflow"]
    for folder, options, label in [("cmp_before", opts, "before: fitted_2020"),
                                   ("cmp_before_cb", ["faster_callbacks"], "before: fitted_2020, callback decay/expiry on all"),
                                   ("cmp_after", opts, "after: availability settings on all"),
                                   ("cmp_after_cb", ["faster_callbacks"], "after: availability + callback decay/expiry on all"),
                                   ("cmp_repeat", ["extra_line_peak_days", "option0_overflow"],
                                    "repeat-contact setting (README), for comparison")]:
        if (OUT / folder / "cost_effectiveness.csv").exists():
            compare_table(folder, options, label)
        else:
            print(f"\n*{label}*: not run\n")
    change_table()
    print("\n## Repeat-contact setting, per-number KPIs\n")
    if (OUT / "cmp_repeat" / "cost_effectiveness.csv").exists():
        numbers_table("cmp_repeat", ["fitted_2020", "extra_line_peak_days", "option0_overflow"])
