"""Interval staffing tables (sim.results.intervals): exact numbers on a hand-made
attempts table, and the interval_table.csv of a small run against its KPIs."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd

from sim.config import PROVINCES
from sim.model.calendar import HOUR_S, StepFunction
from sim.results.intervals import average_intervals, interval_table

MONDAY = dt.date(2024, 1, 1)
H = HOUR_S


def _tiny():
    """Province 0: two lines Monday 09:00-12:00; five attempts on Monday and one after
    the horizon end (left out)."""
    rows = [  # at, outcome, wait_s, hold_s
        (8 * H, "closed", 0.0, 0.0),
        (9 * H + 600, "answered", 0.0, 1800.0),   # busy 09:10-09:40
        (9 * H + 1200, "busy", 0.0, 0.0),
        (9 * H + 1800, "answered", 600.0, 3600.0),  # busy 09:40-10:40
        (10 * H + 300, "busy", 0.0, 0.0),
        (14 * 24 * H + 9 * H, "busy", 0.0, 0.0),  # after a 7- or 14-day horizon
    ]
    a = pd.DataFrame(rows, columns=["at", "outcome", "wait_s", "hold_s"]).assign(group=0)
    none = StepFunction(np.array([0.0]), np.array([0]))
    lines = {p: none for p in PROVINCES}
    lines[PROVINCES[0]] = StepFunction(np.array([9 * H, 12 * H]), np.array([2, 0]))
    return a, lines


def _row(t, hour, prov=PROVINCES[0], weekday="mon"):
    r = t[(t["province"] == prov) & (t["weekday"] == weekday) & (t["hour"] == hour)]
    assert len(r) == 1, f"one row for {prov} {weekday} {hour}"
    return r.iloc[0]


def test_interval_table_exact_numbers():
    a, lines = _tiny()
    t = interval_table(a, lines, MONDAY, 7)
    assert len(t) == len(PROVINCES) * 7 * 24
    r8, r9, r10, r11 = (_row(t, h) for h in (8, 9, 10, 11))
    assert (r8["attempts"], r8["attempts_closed"], r8["staffed_lines"]) == (1, 1, 0)
    assert math.isnan(r8["busy_tone_share"]) and math.isnan(r8["occupancy"])
    assert (r9["attempts"], r9["busy_tones"], r9["answered"], r9["staffed_lines"]) == (3, 1, 2, 2)
    assert r9["busy_tone_share"] == 1 / 3
    # 09:10-09:40 and 09:40-10:00 busy on one of two lines: 3000 s of 7200 s.
    assert r9["occupancy"] == 3000 / 7200
    assert (r10["attempts"], r10["busy_tones"], r10["busy_tone_share"]) == (1, 1, 1.0)
    assert r10["occupancy"] == 2400 / 7200  # 10:00-10:40
    assert r11["occupancy"] == 0.0 and r11["attempts"] == 0
    assert (t["attempts"] * t["days"]).sum() == 5, "the attempt after the horizon is left out"
    # Over two weeks, the same Monday counts per day of that weekday: halved.
    t2 = interval_table(a, lines, MONDAY, 14)
    assert _row(t2, 9)["attempts"] == 1.5 and _row(t2, 9)["days"] == 2
    assert _row(t2, 9)["staffed_lines"] == 1.0  # staffing only on the first Monday


def test_average_intervals_mean_and_half_width():
    a, lines = _tiny()
    t1 = interval_table(a, lines, MONDAY, 7)
    t2 = interval_table(a[a["outcome"] != "busy"], lines, MONDAY, 7)  # no busy tones
    m = average_intervals([t1, t2])
    r9 = _row(m, 9)
    assert r9["busy_tone_share"] == (1 / 3 + 0) / 2
    # Student t with 1 degree of freedom: 12.706 * sd / sqrt(2), sd = (1/3) / sqrt(2).
    assert abs(r9["busy_tone_share_hw"] - 12.7062047 * (1 / 3) / 2) < 1e-6
    assert r9["replications"] == 2


def test_run_folder_has_interval_table(folders):
    """A 1-week run of 2 replications writes interval_table.csv; its attempts (per day
    of the weekday x days) add up to the attempts made inside the horizon (the sum of
    the by=month ``attempts`` KPI, mean of the replications; closed attempts included),
    and its staffed lines to the staffed line hours. (The run folder shared with the
    report tests: tests/conftest.py, ``folders``.)"""
    out = folders["run"]
    t = pd.read_csv(out / "interval_table.csv")
    k = pd.read_csv(out / "kpis_per_rep.csv", dtype={"key": str})
    assert len(t) == len(PROVINCES) * 7 * 24 and set(t["days"]) == {1}
    made = k[(k["by"] == "month") & (k["kpi"] == "attempts")].groupby("replication")["value"].sum()
    assert made.mean() > 0
    assert abs((t["attempts"] * t["days"]).sum() - made.mean()) < 1e-6, (
        f"interval attempts {(t['attempts'] * t['days']).sum()} vs KPI {made.mean()}")
    hours = k[(k["by"] == "all") & (k["kpi"] == "staffed_line_hours")]["value"].mean()
    assert abs((t["staffed_lines"] * t["days"]).sum() - hours) < 1e-6
    assert t["busy_tone_share"].dropna().between(0, 1).all()
    assert t["occupancy"].dropna().between(0, 1).all()
    assert (t["replications"] == 2).all()
    # The report shows it as a heat table (province x weekday rows), the workbook in full.
    from sim.results.html_report import build_report, fmt

    heat = next(t for t in build_report(out).tables if t.name == "intervals")
    assert len(heat.rows) == len(PROVINCES) * 7 and len(heat.frame) == len(t)
    staffed = t[t["staffed_lines"] > 0].iloc[0]
    row = next(r for r in heat.rows if r[0] == f"{staffed['province']} {staffed['weekday']}")
    cell = row[heat.columns.index(f"{staffed['hour']:02d}")]
    assert cell == fmt(staffed["busy_tone_share"], "pct"), f"page {cell} vs csv {staffed['busy_tone_share']}"
    # The run wrote its report (report.html, report.xlsx) with the same build.
    assert 'id="table-intervals"' in (out / "report.html").read_text(encoding="utf-8")
    assert len(pd.read_excel(out / "report.xlsx", sheet_name="intervals")) == len(t)
