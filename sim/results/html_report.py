"""The planner's report of a results folder: ``report.html`` (one self-contained file) and
``report.xlsx`` (the same tables, one sheet each).

Managers and funders read a report, not a folder of CSV files. The report says which
question the folder answers, gives the headline table with 95% confidence intervals,
the figures (embedded as base64 PNG: the file opens from a mail attachment, with no
network), the simulation against the published figures where they exist, the
assumptions with their sources and how to reproduce the folder.

Built only from what the folder holds (``meta.json`` says its ``kind``: run, compare,
sweep, validation, optimise, sensitivity, fit), so ``run_sim.py report DIR`` works on
old folders too. One builder per kind returns a :class:`Report`; :func:`write_report`
renders it with the Jinja2 template ``templates/report.html.j2`` (package data) and
writes the workbook with openpyxl.

Labels say what they mean: differences of rates in percentage points (``+14.0 pp``),
options without staffing cost ``free``, never ``-0.0``, totals "over the horizon"
with its length, and the seed documents as "source document 000" (``seed 000`` reads
like a random seed).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from sim.errors import OutputError
from sim.results.folders import owned, safe_name
from sim.results.published import CHANNEL_LABELS, source_label

# The seed documents (sim/data/README.md): number -> what it is.
SOURCE_DOCUMENTS = {
    "000": "Flemish Parliament, written question nr. 282 of 24 January 2022 (Parys), answer by "
           "minister Beke: 2020 monthly tables, capacity subsidy, campaigns 2020-2021",
    "001": "Written question 'Meldpunt 1712 - Oproepen 2019' with its answer (early 2020): 2019 "
           "Thursday-evening trial, 'Als je eens wist' broadcasts",
    "002": "1712 annual report (jaarrapport) 2024",
    "003": "Written question nr. 281 of 24 January 2022, 'Hulplijnen in Vlaanderen - Evaluatie': "
           "yearly table 2017-2020",
    "004": "1712 press release '76% meer oproepen naar hulplijn 1712' (late February 2020) and "
           "the website's 'Recente campagnes' page",
}

# Productive hours of one full-time counsellor a year: about 130 a month (the same figure as
# the cost assumption of sim.config.scenario.Costs). An assumption, changeable with
# ``run_sim.py report --fte-hours``.
HOURS_PER_FTE_YEAR = 1560.0

KINDS = ("run", "compare", "sweep", "validation", "validate", "optimise", "sensitivity", "fit")


# --------------------------------------------------------------------------- formatting

def _is_nan(x) -> bool:
    try:
        return x is None or bool(np.isnan(float(x)))
    except (TypeError, ValueError):
        return False


def _strip_zero_sign(s: str) -> str:
    """``-0.0%`` -> ``0.0%``, ``+0 pp`` -> ``0 pp``: a sign on a rounded zero says nothing."""
    digits = re.sub(r"[^0-9.]", "", s)
    if digits and float(digits or 0) == 0 and s[:1] in "+-":
        return s[1:]
    return s


def fmt(x, kind: str, signed: bool = False) -> str:
    """One number as the report prints it.

    ``kind``: ``pct`` (a share: 43.5%; signed, a difference in percentage points: +14.0 pp),
    ``int`` (1,234), ``f1``, ``f2``, ``f3``, ``text``. ``n/a`` for a missing value.
    """
    if kind == "text":
        return "" if x is None or (isinstance(x, float) and np.isnan(x)) else str(x)
    if _is_nan(x):
        return "n/a"
    x = float(x)
    sign = "+" if signed else ""
    if kind == "pct":
        s = f"{100 * x:{sign}.1f}" + (" pp" if signed else "%")
    elif kind == "int":
        s = f"{x:{sign},.0f}"
    elif kind in ("f1", "f2", "f3"):
        s = f"{x:{sign},.{kind[1]}f}"
    else:
        raise ValueError(f"unknown format kind {kind!r}")
    return _strip_zero_sign(s)


def interval(m, lo, hi, kind: str, signed: bool = False) -> str:
    """``mean [low, high]``; the mean alone when there is no interval.

    A level (``signed=False``) is a count, time or share, never negative, and a share is
    at most 100%: the Student-t interval of few replications can cross those limits, so
    it is cut at them (a difference is not cut).
    """
    if _is_nan(lo) or _is_nan(hi) or float(lo) == float(hi):
        return fmt(m, kind, signed)  # no interval, or the same in every replication
    if not signed:
        lo = max(float(lo), 0.0)
        hi = min(float(hi), 1.0) if kind == "pct" else float(hi)
    return f"{fmt(m, kind, signed)} [{fmt(lo, kind, signed)}, {fmt(hi, kind, signed)}]"


def _kind_of(fmt_string: str) -> str:
    if "%" in fmt_string:
        return "pct"
    if ".2f" in fmt_string:
        return "f2"
    if ".1f" in fmt_string:
        return "f1"
    return "int"


def kpi_formats() -> dict[str, tuple[str, str]]:
    """kpi -> (label, format kind), from the printed summary and the comparison table."""
    from sim.results.folders import COMPARE_KPIS, HEADLINE

    out: dict[str, tuple[str, str]] = {}
    for by, _key, kpi, label, f in HEADLINE + COMPARE_KPIS:
        if by == "all":
            out.setdefault(kpi, (label.strip(), _kind_of(f)))
    return out


def horizon_text(start, end) -> str:
    """``2020-01-01 to 2020-03-31 (91 days, 3.0 months)``."""
    s, e = dt.date.fromisoformat(str(start)), dt.date.fromisoformat(str(end))
    days = (e - s).days + 1
    return f"{s} to {e} ({days} days, {days / 365.25 * 12:.1f} months)"


# --------------------------------------------------------------------------- the report

@dataclass
class Table:
    """A table of the report: display rows (text) for HTML and a numeric frame for Excel.

    ``row_attrs``: per row, HTML data attributes (``data-kpi``, ``data-mean``) so tests
    and readers can tie a displayed number to ``summary.csv``.
    """

    name: str
    title: str
    caption: str
    columns: list[str]
    rows: list[list[str]]
    frame: pd.DataFrame
    row_attrs: list[dict[str, str]] = field(default_factory=list)
    headline: bool = False
    # Per cell HTML attributes (e.g. a heat colour and a tooltip), row by row; optional.
    cell_attrs: list[list[dict[str, str]]] = field(default_factory=list)


@dataclass
class Figure:
    title: str
    caption: str
    png_base64: str


@dataclass
class Report:
    kind: str
    title: str
    question: str
    answer: list[str]
    tables: list[Table] = field(default_factory=list)
    published: list[Table] = field(default_factory=list)
    published_notes: list[str] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)
    assumptions: list[tuple[str, str]] = field(default_factory=list)
    sources: list[tuple[str, str]] = field(default_factory=list)
    reproduce: list[tuple[str, str]] = field(default_factory=list)
    files: list[str] = field(default_factory=list)


def _frame_table(name: str, title: str, caption: str, df: pd.DataFrame,
                 formats: dict[str, str], headline: bool = False) -> Table:
    """A table whose display is ``df`` column by column with ``formats`` (col -> kind)."""
    cols = [c for c in formats if c in df.columns]
    rows = [[fmt(r[c], formats[c]) for c in cols] for _, r in df.iterrows()]
    return Table(name, title, caption, cols, rows, _rounded(df[cols]), headline=headline)


def _rounded(df: pd.DataFrame) -> pd.DataFrame:
    """Numbers rounded for the workbook: 4 decimals for shares and other values up to 1.5,
    2 otherwise (a column may mix shares and counts, as the headline table does)."""
    out = df.copy()
    for c in out.columns:
        if pd.api.types.is_float_dtype(out[c]):
            x = out[c]
            out[c] = x.round(4).where(x.abs() <= 1.5, x.round(2))
    return out


def _read_csv(folder: Path, name: str) -> pd.DataFrame | None:
    p = folder / name
    if not p.exists() or p.stat().st_size <= 1:
        return None
    return pd.read_csv(p, dtype={"key": str})


def _scenario_yaml(path: Path) -> dict:
    import yaml

    return yaml.safe_load(path.read_text(encoding="utf-8")) or {}


def _header_comment(scenario_file: str | None) -> str:
    """The leading comment block of a scenario file (its reasons and sources), if readable."""
    if not scenario_file:
        return ""
    p = Path(scenario_file)
    if not p.is_file():
        from sim.config import PROJECT_ROOT

        p = PROJECT_ROOT / scenario_file
    if not p.is_file():
        return ""
    lines = []
    for line in p.read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            break
        lines.append(line.lstrip("#").strip())
    return " ".join(lines)


# --------------------------------------------------------------------------- figures

FIGURE_CAPTIONS = {
    "answered_per_month": "Phone calls answered directly per month (mean of the replications "
                          "with 95% CI); the published counts, which include callbacks, are "
                          "in the 'against published' figures.",
    "answered_phone_vs_published": "Registered phone conversations per month (answered calls "
                                   "plus callbacks), simulated with 95% CI, against source "
                                   "document 000.",
    "answered_chat_vs_published": "Chats answered per month, simulated with 95% CI, against "
                                  "source document 000.",
    "answered_email_vs_published": "E-mails answered per month, simulated with 95% CI, against "
                                   "source document 000.",
    "answer_rate_per_month": "Share of callers ever answered and share of attempts answered, "
                             "by month, with 95% confidence bands.",
    "attempts_per_caller": "How many attempts callers made (share of callers, 95% CI).",
    "utilisation_weekday_hour": "Busy share of staffed line time by weekday and hour.",
    "cost_vs_extra_answered": "Extra cost of staffed hours against extra callers answered, "
                              "both paired with the base (95% CI).",
    "tornado": "Answer rate per caller with each uncertain parameter set low and high.",
    "ranking": "Rank of each option under every setting of the uncertain parameters.",
    "morris": "Morris screening: mean absolute effect (mu*, with its 95% interval) against the "
              "spread of the effects (sigma) per parameter; filled: kept for the tornado.",
    "validation": "Simulated / exact value per measure with the simulation's interval; 1 is "
                  "exact agreement.",
    "optimise_path": "Greedy search path: KPI against extra cost, step by step.",
}


def _caption(stem: str) -> str:
    if stem in FIGURE_CAPTIONS:
        return FIGURE_CAPTIONS[stem]
    if stem.startswith("compare_diff_"):
        return "Paired difference of each option with the base (95% CI; common random numbers)."
    if stem.startswith("compare_"):
        return "Level per option with its 95% CI; the base in grey."
    if stem.startswith("sweep_"):
        return "KPI against the swept setting (95% CI band)."
    return ""


KPI_WORDS = {"answer_rate_caller": "answer rate per caller", "callers_answered": "answered callers",
             "chat_answered": "chats answered", "mean_attempts": "attempts per caller",
             "email_mean_response_h": "e-mail mean response time", "answer_rate_attempt":
             "answer rate per attempt", "utilisation": "line utilisation", "cost_total":
             "cost of staffed hours"}


def _title(stem: str) -> str:
    for prefix, words in (("compare_diff_", "Difference with the base: "),
                          ("compare_", "By option: "), ("sweep_", "Sweep: ")):
        if stem.startswith(prefix):
            kpi = stem.removeprefix(prefix)
            return words + KPI_WORDS.get(kpi, kpi.replace("_", " "))
    text = stem.replace("_", " ").capitalize().replace("vs published", "against published")
    return text.replace(" email ", " e-mails ").replace(" chat ", " chats ")


# Figures a reader needs first come first: the answer (differences, cost), then the detail.
FIGURE_ORDER = ["compare_diff_answer_rate_caller", "cost_vs_extra_answered", "compare_diff_",
                "answer_rate_per_month", "answered_phone_vs_published",
                "answered_chat_vs_published", "answered_email_vs_published", "tornado"]


def _order(stem: str) -> tuple[int, str]:
    for i, prefix in enumerate(FIGURE_ORDER):
        if stem.startswith(prefix):
            return i, stem
    return len(FIGURE_ORDER), stem


def _embed_folder(fig_dir: Path) -> list[Figure]:
    figs = []
    for png in sorted(fig_dir.glob("*.png"), key=lambda p: _order(p.stem)):
        data = base64.b64encode(png.read_bytes()).decode("ascii")
        figs.append(Figure(_title(png.stem), _caption(png.stem), data))
    return figs


def _figures(folder: Path, kind: str) -> list[Figure]:
    """The folder's PNG figures; when it has none (``--no-figures``), the standard figures
    of its kind drawn into a temporary folder (nothing is written into ``folder``)."""
    fig_dir = folder / "figures"
    if fig_dir.is_dir() and any(fig_dir.glob("*.png")):
        return _embed_folder(fig_dir)
    if kind not in ("run", "compare", "sweep"):
        return []
    from sim.results import figures

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if kind == "run":
            for name in ("kpis_per_rep.csv", "scenario.yaml"):
                if (folder / name).exists():
                    (tmp / name).write_bytes((folder / name).read_bytes())
            figures.run_figures(pd.read_csv(folder / "summary.csv", dtype={"key": str}), tmp)
        elif kind == "compare":
            ce = _read_csv(folder, "cost_effectiveness.csv")
            figures.compare_figures(pd.read_csv(folder / "compare.csv", dtype={"key": str}),
                                    pd.DataFrame() if ce is None else ce, tmp)
        else:
            meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
            figures.sweep_figures(pd.read_csv(folder / "sweep_summary.csv"), meta, tmp)
        return _embed_folder(tmp / "figures")


# --------------------------------------------------------------------------- shared parts

def _published_tables(per_rep: pd.DataFrame, start, end) -> tuple[list[Table], list[str]]:
    """Simulated against published, for whatever part of the horizon has published figures."""
    from sim.results.published import monthly_vs_published, totals_2024_vs_published

    tables, notes = [], []
    mon = monthly_vs_published(per_rep)
    if not mon.empty:
        rows = [[CHANNEL_LABELS[r["channel"]], r["month"],
                 interval(r["mean"], r["ci_low"], r["ci_high"], "int"), fmt(r["published"], "int"),
                 fmt(r["difference"], "int", True), fmt(r["rel_difference"], "pct", True)
                 .replace(" pp", "%"), r["source"]] for _, r in mon.iterrows()]
        frame = mon.rename(columns={"mean": "simulated", "ci_low": "simulated_ci_low",
                                    "ci_high": "simulated_ci_high"}).drop(columns="n")
        tables.append(Table("published_2020_monthly", "Answered contacts per month, 2020",
                            "Simulated (mean [95% CI]) against the registered contacts published "
                            "in source document 000. Phone counts answered calls plus callers "
                            "answered by a callback (both are registered conversations).",
                            ["channel", "month", "simulated", "published", "difference",
                             "relative difference", "source"], rows, _rounded(frame)))
    tot = totals_2024_vs_published(per_rep, start, end)
    if not tot.empty:
        rows = [[CHANNEL_LABELS.get(r["channel"], "all channels"),
                 interval(r["mean"], r["ci_low"], r["ci_high"], "int"), fmt(r["published"], "int"),
                 fmt(r["difference"], "int", True),
                 fmt(r["rel_difference"], "pct", True).replace(" pp", "%"), r["source"]]
                for _, r in tot.iterrows()]
        tables.append(Table("published_2024_totals", "Answered contacts in 2024",
                            "Simulated over 2024 against the 9,594 contacts of source document "
                            "002; channel counts are 9,594 x the published channel share, which "
                            "is rounded to whole percent (about +-48 contacts).",
                            ["channel", "simulated", "published", "difference",
                             "relative difference", "source"], rows, _rounded(tot)))
    if str(start) <= "2020-02-10" and str(end) >= "2020-02-27":
        notes.append("The February 2020 campaign window (10-27 February: 429 contacts, 76% more "
                     "than the 244 of 2019, source document 004) needs daily counts, which a "
                     "results folder does not keep; the fit report (run_sim.py fit) compares "
                     "it (campaign_window.csv).")
    if not tables:
        notes.append(f"No published figures cover this horizon ({start} to {end}): 1712 "
                     "published monthly counts for 2020 (source document 000) and totals for "
                     "2024 (source document 002).")
    return tables, notes


def _scenario_assumptions(scn: dict, scenario_file: str | None) -> list[tuple[str, str]]:
    """The assumptions a planner should see, with the source of each value."""
    out: list[tuple[str, str]] = []
    if scn.get("description"):
        out.append((f"Scenario {scn.get('name')}: {scn['description']}", "scenario file"))
    note = _header_comment(scenario_file)
    if note:
        out.append((source_label(note), "scenario file comments"))
    phone = scn.get("phone", {})
    lines = phone.get("staffing", {}).get("lines")
    if lines is not None:
        out.append((f"Phone lines staffed per province: {lines} (plus the scenario's extra "
                    "blocks)", "source document 004: one line per province in 2020"))
    hours = phone.get("opening_hours", {})
    if hours:
        text = "; ".join(f"{d} {', '.join(v) if v else 'closed'}" for d, v in hours.items())
        out.append((f"Phone opening hours: {text}", "source document 002 (Mon-Fri 9-18)"))
    costs = scn.get("costs", {})
    if costs:
        out.append((f"Cost of a staffed hour: phone EUR {costs.get('phone_line_hour', 0):,.0f}, "
                    f"chat EUR {costs.get('chat_line_hour', 0):,.0f}, e-mail EUR "
                    f"{costs.get('email_handler_hour', 0):,.0f}",
                    "assumption (employer cost of a counsellor; nothing is published on costs)"))
    out += [
        ("Demand (new callers, chats, e-mails) fitted so that the simulated 2020 answers match "
         "the published monthly registered contacts", "fit against source document 000"),
        ("Caller behaviour (redial persistence, handling time) calibrated to a 40-45% answer "
         "rate and 3-4 attempts per caller in Sep-Dec 2020", "source document 000"),
        ("Published counts are answered (registered) contacts, not demand: unanswered "
         "attempts are not in any published figure", "source documents 000, 002"),
    ]
    return out


def _sources() -> list[tuple[str, str]]:
    return [(f"source document {k}", v) for k, v in SOURCE_DOCUMENTS.items()]


def _reproduce(meta: dict, folder: Path) -> list[tuple[str, str]]:
    cmd = meta.get("command", "")
    if cmd and not cmd.startswith("python"):
        cmd = "python " + re.sub(r"^\S*run_sim\.py", "run_sim.py", cmd)
    rows = [("command", cmd or "not recorded"),
            ("package version", str(meta.get("version", "not recorded"))),
            ("random seed", str(meta.get("seed", "not recorded")))]
    for k in ("replications", "search_replications", "confirm_replications", "reps"):
        if k in meta:
            rows.append((k.replace("_", " "), str(meta[k])))
    rows.append(("git commit", str(meta.get("git_commit") or meta.get("commit")
                                   or "not recorded in meta.json")))
    for k, label in (("python", "Python"), ("created", "created (UTC)"),
                     ("wall_time_s", "wall time (s)")):
        if k in meta:
            rows.append((label, str(meta[k])))
    rows.append(("results folder", str(folder)))
    rows.append(("report", f"python run_sim.py report {folder}"))
    return rows


# --------------------------------------------------------------------------- per kind

def _run(folder: Path, meta: dict, hours_per_fte: float = HOURS_PER_FTE_YEAR) -> Report:
    from sim.results.folders import HEADLINE

    summary = pd.read_csv(folder / "summary.csv", dtype={"key": str})
    per_rep = pd.read_csv(folder / "kpis_per_rep.csv", dtype={"key": str})
    scn = _scenario_yaml(folder / "scenario.yaml")
    start, end = scn["horizon"]["start"], scn["horizon"]["end"]
    hz = horizon_text(start, end)
    idx = summary.set_index(["by", "key", "kpi"])
    rows, attrs, recs = [], [], []
    for by, key, kpi, label, f in HEADLINE:
        if (by, key, kpi) not in idx.index:
            continue
        r = idx.loc[(by, key, kpi)]
        kind = _kind_of(f)
        ci = "" if _is_nan(r["half_width"]) else (
            interval(r["mean"], r["ci_low"], r["ci_high"], kind).partition(" ")[2])
        rows.append([label.strip(), fmt(r["mean"], kind), ci])
        attrs.append({"data-kpi": f"{by}|{key}|{kpi}", "data-format": kind})
        recs.append({"by": by, "key": key, "kpi": kpi, "label": label.strip(), "mean": r["mean"],
                     "ci_low": r["ci_low"], "ci_high": r["ci_high"], "n": r["n"]})
    reps = meta.get("replications")
    head = Table("headline", "Headline results",
                 f"Totals over the horizon, {hz}; mean of {reps} replications with its 95% "
                 "confidence interval (Student t, cut at 0 and at 100% where it crosses "
                 "them).", ["KPI", "mean", "95% CI"], rows,
                 _rounded(pd.DataFrame(recs)), attrs, headline=True)
    monthly = _monthly_table(summary)
    ar = idx.loc[("all", "all", "answer_rate_caller")]
    answer = [f"Over {hz}, {fmt(ar['mean'], 'pct')} of callers were answered (95% CI "
              f"{fmt(ar['ci_low'], 'pct')} to {fmt(ar['ci_high'], 'pct')}), "
              f"{fmt(idx.loc[('all', 'all', 'callers_answered'), 'mean'], 'int')} of "
              f"{fmt(idx.loc[('all', 'all', 'callers'), 'mean'], 'int')} callers, with "
              f"{fmt(idx.loc[('all', 'all', 'mean_attempts'), 'mean'], 'f2')} attempts per "
              "caller."]
    pub, notes = _published_tables(per_rep, start, end)
    staff = staffing_table({scn.get("name", "scenario"): _overall_means(per_rep)}, _days(scn),
                           hours_per_fte)
    intervals = interval_heat_table(_read_csv(folder, "interval_table.csv"))
    return Report("run", f"Scenario {scn.get('name', meta.get('scenario'))}",
                  f"What does scenario {scn.get('name')} give over {hz}: how many callers, chats "
                  "and e-mails are answered, how often callers must try again, and how busy the "
                  "lines are?", answer, [t for t in (head, monthly, staff, intervals) if t], pub, notes,
                  _figures(folder, "run"), _scenario_assumptions(scn, meta.get("scenario_file")),
                  _sources(), _reproduce(meta, folder))


def interval_heat_table(t: pd.DataFrame | None) -> Table | None:
    """Busy-tone share per province x weekday (rows) and clock hour (columns, only hours in
    which some province has staffed lines), coloured by its value, with attempts, answered
    calls, occupancy and staffed lines per day in each cell's tooltip; the workbook sheet
    ``intervals`` holds the whole ``interval_table.csv`` (sim.results.intervals)."""
    if t is None or t.empty:
        return None
    hours = sorted(t.loc[t["staffed_lines"] > 0, "hour"].unique())
    if not hours:
        return None
    rows, cells = [], []
    for (prov, wd), g in t.groupby(["province", "weekday"], sort=False):
        g = g.set_index("hour")
        row, attrs = [f"{prov} {wd}"], [{}]
        for h in hours:
            r = g.loc[h]
            share = r["busy_tone_share"]
            if r["staffed_lines"] <= 0:
                row.append("")
                attrs.append({"title": f"closed; {r['attempts']:.1f} attempts per day"})
                continue
            row.append(fmt(share, "pct"))
            tip = (f"{r['attempts']:.1f} attempts, {r['busy_tones']:.1f} busy tones, "
                   f"{r['answered']:.1f} answered per day; occupancy {fmt(r['occupancy'], 'pct')}; "
                   f"{r['staffed_lines']:.2f} staffed lines")
            if not _is_nan(r.get("busy_tone_share_hw")):
                tip += f"; busy-tone share 95% CI +/- {fmt(r['busy_tone_share_hw'], 'pct')}"
            a = {"title": tip}
            if not _is_nan(share):  # red, stronger with more busy tones
                a["style"] = f"background: rgba(196, 78, 82, {0.7 * float(share):.2f})"
            attrs.append(a)
        rows.append(row)
        cells.append(attrs)
    n = int(t["replications"].iloc[0]) if "replications" in t else None
    return Table("intervals", "Busy-tone share by interval",
                 "Share of the attempts made while open that got a busy tone, per province "
                 "(the line group reached) x weekday and clock hour; blank: no staffed line. "
                 f"Mean of {n} replications. Hover a cell for the attempts, busy tones and "
                 "answered calls per day of that weekday, the occupancy (busy line time within "
                 "staffed time) and the staffed lines; the workbook sheet 'intervals' has them "
                 "all (interval_table.csv).", ["province weekday"] + [f"{h:02d}" for h in hours],
                 rows, _rounded(t), cell_attrs=cells)


MONTHLY_KPIS = [("callers", "callers", "int"), ("answer_rate_caller", "answer rate per caller", "pct"),
                ("answered", "calls answered", "int"), ("mean_attempts", "attempts per caller", "f2"),
                ("utilisation", "line utilisation", "pct"), ("chat_answered", "chats answered", "int"),
                ("email_answered", "e-mails answered", "int")]


def _monthly_table(summary: pd.DataFrame) -> Table | None:
    s = summary[summary["by"] == "month"]
    if s.empty:
        return None
    kpis = [k for k in MONTHLY_KPIS if (s["kpi"] == k[0]).any()]
    months = sorted(s["key"].unique())
    idx = s.set_index(["key", "kpi"])
    rows, recs = [], []
    for m in months:
        row, rec = [m], {"month": m}
        for kpi, _label, kind in kpis:
            if (m, kpi) in idx.index:
                r = idx.loc[(m, kpi)]
                row.append(interval(r["mean"], r["ci_low"], r["ci_high"], kind))
                rec.update({kpi: r["mean"], f"{kpi}_ci_low": r["ci_low"],
                            f"{kpi}_ci_high": r["ci_high"]})
            else:
                row.append("n/a")
        rows.append(row)
        recs.append(rec)
    return Table("by_month", "By month", "Mean per month with 95% CI (callers by the month of "
                 "their first attempt, calls by the month they were made).",
                 ["month"] + [k[1] for k in kpis], rows, _rounded(pd.DataFrame(recs)))


STAFFING_ROWS = [("staffed_line_hours", "cost_phone", "phone lines"),
                 ("chat_staffed_hours", "cost_chat", "chat lines"),
                 ("email_staff_staffed_hours", "cost_email", "e-mail handlers"),
                 # only when the scenario has dedicated callback lines (issue 14)
                 ("callback_line_staffed_hours", "cost_callbacks", "dedicated callback lines"),
                 ("staffed_hours_total", "cost_total", "all channels")]


def staffing_table(means: dict[str, dict[str, float]], days: int,
                   hours_per_fte: float = HOURS_PER_FTE_YEAR) -> Table | None:
    """Staffed hours as full-time equivalents and costs per year, per scenario and channel.

    ``means``: scenario -> {kpi: mean over replications} (staffed hours and costs over a
    horizon of ``days`` days). FTE = staffed hours / (hours_per_fte x days / 365.25); the
    cost per year is the horizon's cost x 365.25 / days, i.e. the horizon's staffing all
    year round. Staffed hours do not vary between replications, so no interval.
    """
    rows, recs = [], []
    for name, m in means.items():
        for hours_kpi, cost_kpi, label in STAFFING_ROWS:
            if hours_kpi not in m:
                continue
            hours = m[hours_kpi]
            fte = hours / (hours_per_fte * days / 365.25)
            cost_year = m.get(cost_kpi, np.nan) * 365.25 / days
            rows.append([name, label, fmt(hours, "int"), fmt(fte, "f1"), fmt(cost_year, "int")])
            recs.append({"scenario": name, "channel": label, "staffed_hours": hours,
                         "fte": fte, "cost_per_year_eur": cost_year})
    if not rows:
        return None
    return Table("staffing_fte", "Staffing as full-time equivalents",
                 f"Staffed hours over the horizon ({days} days), as FTE at {hours_per_fte:,.0f} "
                 "productive hours per FTE a year (assumption: about 130 a month), and the cost "
                 "per year if the horizon's staffing held all year (assumption: cost per staffed "
                 "hour of the scenario).", ["scenario", "channel", "staffed hours",
                                            "FTE", "cost per year (EUR)"],
                 rows, _rounded(pd.DataFrame(recs)))


def _overall_means(per_rep: pd.DataFrame) -> dict[str, float]:
    a = per_rep[(per_rep["by"] == "all") & (per_rep["key"] == "all")]
    return a.groupby("kpi")["value"].mean().to_dict()


def _days(scn: dict) -> int:
    h = scn.get("horizon", {})
    return (dt.date.fromisoformat(str(h["end"])) - dt.date.fromisoformat(str(h["start"]))).days + 1


def _compare_tables(table: pd.DataFrame, ce: pd.DataFrame | None, hz: str) -> list[Table]:
    """Levels and paired differences per KPI and option; cost-effectiveness."""
    from sim.results.folders import COMPARE_KPIS

    t = table[(table["by"] == "all") & (table["key"] == "all")]
    names = list(dict.fromkeys(t["scenario"]))
    idx = t.set_index(["scenario", "kpi"])
    rows, attrs, recs = [], [], []
    for _by, _key, kpi, label, f in COMPARE_KPIS:
        if (names[0], kpi) not in idx.index:
            continue
        kind = _kind_of(f)
        for i, n in enumerate(names):
            r = idx.loc[(n, kpi)]
            level = interval(r["mean"], r["ci_low"], r["ci_high"], kind)
            if i == 0:
                diff = "base"
            elif r["diff"] == 0 and r["diff_low"] == r["diff_high"] == 0:
                # Equal in every replication (common random numbers): no change at all.
                diff = "no extra cost" if kpi == "cost_total" else "no change"
            else:
                diff = interval(r["diff"], r["diff_low"], r["diff_high"], kind, signed=True)
            rows.append([label if i == 0 else "", n, level, diff])
            attrs.append({"data-kpi": f"all|all|{kpi}", "data-scenario": n, "data-format": kind})
            recs.append({"kpi": kpi, "label": label, "scenario": n, **{c: r[c] for c in (
                "mean", "ci_low", "ci_high", "diff", "diff_low", "diff_high")}})
    out = [Table("comparison", "Options compared with the base",
                 f"Totals over the horizon, {hz}; mean [95% CI]. Differences are paired with the "
                 "base on common random numbers (same callers in every option); differences of "
                 "rates are in percentage points (pp).", ["KPI", "option", "level",
                                                          "difference with the base"],
                 rows, _rounded(pd.DataFrame(recs)), attrs, headline=True)]
    if ce is not None and not ce.empty:
        crow, crec = [], []
        for _, r in ce.iterrows():
            free = r["extra_cost"] == 0 and r["extra_cost_low"] == r["extra_cost_high"] == 0
            cost = "free" if free else interval(r["extra_cost"], r["extra_cost_low"],
                                                r["extra_cost_high"], "int", True)
            per_caller = "free" if free else interval(
                r["cost_per_extra_caller"], r["cost_per_extra_caller_low"],
                r["cost_per_extra_caller_high"], "f1")
            per_contact = "free" if free else interval(
                r["cost_per_extra_contact"], r["cost_per_extra_contact_low"],
                r["cost_per_extra_contact_high"], "f1")
            if not free and per_caller == "n/a":
                per_caller = "n/a (extra callers' CI includes 0)"
            crow.append([r["scenario"], interval(r["extra_hours"], r["extra_hours_low"],
                                                 r["extra_hours_high"], "int", True), cost,
                         interval(r["extra_callers"], r["extra_callers_low"],
                                  r["extra_callers_high"], "int", True), per_caller,
                         interval(r["extra_contacts"], r["extra_contacts_low"],
                                  r["extra_contacts_high"], "int", True), per_contact])
            crec.append(r.to_dict())
        out.append(Table("cost_effectiveness", "Cost-effectiveness",
                         f"Against the base, over the horizon ({hz}); paired, 95% CI. Cost: "
                         "staffed hours x cost per hour (an assumption); 'free' = the option adds "
                         "no staffed hours. Contacts = phone callers + chats + e-mails answered.",
                         ["option", "extra staffed hours", "extra cost (EUR)",
                          "extra callers answered", "EUR per extra caller",
                          "extra contacts answered", "EUR per extra contact"], crow,
                         _rounded(pd.DataFrame(crec))))
    return out


def _compare(folder: Path, meta: dict, hours_per_fte: float = HOURS_PER_FTE_YEAR) -> Report:
    table = pd.read_csv(folder / "compare.csv", dtype={"key": str})
    ce = _read_csv(folder, "cost_effectiveness.csv")
    names = meta["scenarios"]
    scns = {n: _scenario_yaml(folder / f"scenario_{safe_name(n)}.yaml") for n in names
            if (folder / f"scenario_{safe_name(n)}.yaml").exists()}
    base = scns.get(names[0], {})
    start, end = base.get("horizon", {}).get("start"), base.get("horizon", {}).get("end")
    hz = horizon_text(start, end) if start else "the horizon"
    tables = _compare_tables(table, ce, hz)
    means = {n: _overall_means(pd.read_csv(folder / f"kpis_per_rep_{safe_name(n)}.csv", dtype={"key": str}))
             for n in names if (folder / f"kpis_per_rep_{safe_name(n)}.csv").exists()}
    staff = staffing_table(means, _days(base), hours_per_fte) if start and means else None
    tables += [staff] if staff else []
    t = table[(table["by"] == "all") & (table["kpi"] == "answer_rate_caller")].set_index("scenario")
    answer = []
    for n in names[1:]:
        r = t.loc[n]
        extra = ""
        if ce is not None and not ce.empty and n in set(ce["scenario"]):
            c = ce.set_index("scenario").loc[n]
            extra = ("; free (no extra staffed hours)" if c["extra_cost"] == 0 else
                     f"; extra cost EUR {fmt(c['extra_cost'], 'int')} over the horizon")
        answer.append(f"{n}: answer rate per caller {fmt(r['mean'], 'pct')}, "
                      f"{interval(r['diff'], r['diff_low'], r['diff_high'], 'pct', True)} "
                      f"against {names[0]}{extra}.")
    per_rep_base = folder / f"kpis_per_rep_{safe_name(names[0])}.csv"
    pub, notes = ([], [])
    if per_rep_base.exists() and start:
        pub, notes = _published_tables(pd.read_csv(per_rep_base, dtype={"key": str}), start, end)
        for tb in pub:
            tb.caption = f"The base ({names[0]}). " + tb.caption
    assumptions = _scenario_assumptions(base, (meta.get("files") or [None])[0])
    for n, f in zip(names[1:], (meta.get("files") or [])[1:], strict=False):
        s = scns.get(n, {})
        text = f"Option {n}: {s.get('description', '')}"
        note = _header_comment(f)
        assumptions.append((text + (" " + source_label(note) if note else ""), "scenario file"))
    return Report("compare", f"Options compared: {', '.join(names[1:])} against {names[0]}",
                  f"Compared with {names[0]}, how much does each option ({', '.join(names[1:])}) "
                  f"change what callers, chatters and e-mailers get over {hz}, and at what "
                  "cost?", answer, tables, pub, notes, _figures(folder, "compare"), assumptions,
                  _sources(), _reproduce(meta, folder))


def _sweep(folder: Path, meta: dict, hours_per_fte: float = HOURS_PER_FTE_YEAR) -> Report:
    summ = pd.read_csv(folder / "sweep_summary.csv")
    params = meta["params"]
    shown = [("answer_rate_caller", "answer rate per caller", "pct"),
             ("answer_rate_attempt", "answer rate per attempt", "pct"),
             ("callers_answered", "callers answered", "int"),
             ("mean_attempts", "attempts per caller", "f2"),
             ("utilisation", "line utilisation", "pct"),
             ("cost_total", "cost of staffed hours (EUR)", "int")]
    shown = [s for s in shown if (summ["kpi"] == s[0]).any()]
    keycols = [c for c in ["point", *params] if c in summ.columns]
    group = "point" if "point" in summ.columns else keycols
    rows, recs = [], []
    for _, g in summ.groupby(group, sort=False, dropna=False):
        first = g.iloc[0]
        # A listed point may not set every swept setting: shown empty, not "nan".
        row = [fmt(first[c], "text") for c in keycols]
        rec = {c: first[c] for c in keycols}
        by_kpi = g.set_index("kpi")
        for kpi, _label, kind in shown:
            r = by_kpi.loc[kpi] if kpi in by_kpi.index else pd.Series(dtype=float)
            m, lo, hi = (r.get(c, np.nan) for c in ("mean", "ci_low", "ci_high"))
            row.append(interval(m, lo, hi, kind))
            rec.update({kpi: m, f"{kpi}_ci_low": lo, f"{kpi}_ci_high": hi})
        rows.append(row)
        recs.append(rec)
    head = Table("sweep", "Sweep points", f"Every point of the sweep, {meta.get('replications')} "
                 "replications each, mean [95% CI]; totals over each point's horizon.",
                 keycols + [s[1] for s in shown], rows, _rounded(pd.DataFrame(recs)),
                 headline=True)
    ar = summ[summ["kpi"] == "answer_rate_caller"].sort_values("mean")
    best = ar.iloc[-1]
    answer = [f"Highest answer rate per caller: {fmt(best['mean'], 'pct')} at "
              + ", ".join(f"{p} = {best[p]}" for p in params if not _is_nan(best.get(p)))
              + f"; lowest {fmt(ar.iloc[0]['mean'], 'pct')}."]
    scn_dir = folder / "scenarios"
    first = next(iter(sorted(scn_dir.glob("*.yaml"))), None) if scn_dir.is_dir() else None
    assumptions = _scenario_assumptions(_scenario_yaml(first) if first else {}, None)
    return Report("sweep", f"Sweep {meta.get('sweep', folder.name)}",
                  f"How do the KPIs change as {', '.join(params)} vary "
                  f"({meta.get('points')} points)?", answer, [head], [], [],
                  _figures(folder, "sweep"), assumptions, _sources(), _reproduce(meta, folder))


def _validation(folder: Path, meta: dict, hours_per_fte: float = HOURS_PER_FTE_YEAR) -> Report:
    t = pd.read_csv(folder / "validation.csv")
    t = t.assign(agrees=t["agrees"].map({True: "yes", False: "NO"}))
    table = _frame_table("validation", "Simulation against exact queueing results",
                         f"{meta.get('replications')} replications of {meta.get('days')} days per "
                         f"case; {meta.get('level', 0.95):.4f} confidence intervals (Bonferroni).",
                         t, {"case": "text", "measure": "text", "simulated": "f3",
                             "ci_low": "f3", "ci_high": "f3", "theory": "f3", "agrees": "text"},
                         headline=True)
    bad = int((t["agrees"] == "NO").sum())
    return Report("validation", "Validation against queueing theory",
                  "Does the simulator reproduce exact queueing results (Erlang B, C, A and "
                  "Markov-chain solutions) where they exist?",
                  [f"{len(t) - bad} of {len(t)} measures agree with theory."], [table], [], [],
                  _figures(folder, "validation"),
                  [("Test cases are textbook queues, not 1712 data", "queueing theory")],
                  _sources(), _reproduce(meta, folder))


def _optimise(folder: Path, meta: dict, hours_per_fte: float = HOURS_PER_FTE_YEAR) -> Report:
    table = pd.read_csv(folder / "compare.csv", dtype={"key": str})
    ce = _read_csv(folder, "cost_effectiveness.csv")
    names = list(dict.fromkeys(table["scenario"]))
    base = _scenario_yaml(folder / f"scenario_{names[0]}.yaml")
    hz = horizon_text(base["horizon"]["start"], base["horizon"]["end"])
    tables = []
    sched = _read_csv(folder, "schedule.csv")
    if sched is not None:
        tables.append(_frame_table("schedule", "Chosen schedule",
                                   "Extra staffed lines on top of the scenario's own staffing, "
                                   f"over the horizon ({hz}); cost in EUR (assumed cost per hour).",
                                   sched, {"channel": "text", "province": "text", "hours": "text",
                                           "weekdays": "text", "lines": "int",
                                           "line_hours": "int", "cost": "int"}))
    tables = _compare_tables(table, ce, hz)[:1] + tables + _compare_tables(table, ce, hz)[1:]
    trace = _read_csv(folder, "trace.csv")
    if trace is not None:
        tables.append(_frame_table("trace", "Search trace", "KPI on the search replications "
                                   "after each greedy step; extra cost over the horizon (EUR).",
                                   trace, {"step": "int", "added": "text", "kpi": "f3",
                                           "extra_cost": "int", "gain_per_keur": "f3"}))
    lo, hi = (meta.get("kpi_ci") or [np.nan, np.nan])[:2]
    answer = [f"{meta.get('status')}: {meta.get('message')}",
              f"{meta.get('target_kpi')} with the chosen schedule: "
              f"{interval(meta.get('kpi_confirmed'), lo, hi, 'f3')} on "
              f"{meta.get('confirm_replications')} replications, for EUR "
              f"{fmt(meta.get('extra_cost'), 'int')} extra ({fmt(meta.get('extra_line_hours'), 'int')}"
              " staffed line-hours) over the horizon."]
    assumptions = _scenario_assumptions(base, meta.get("scenario_file"))
    return Report("optimise", f"Staffing optimiser: {meta.get('scenario')}",
                  f"What is the cheapest set of extra staffed lines that reaches "
                  f"{meta.get('target')}" + (f" within EUR {meta['budget']:,.0f}"
                                             if meta.get("budget") else "")
                  + f" over {hz}?", answer, tables, [], [], _figures(folder, "optimise"),
                  assumptions, _sources(), _reproduce(meta, folder))


def _sensitivity(folder: Path, meta: dict, hours_per_fte: float = HOURS_PER_FTE_YEAR) -> Report:
    tornado = pd.read_csv(folder / "tornado.csv")
    values = pd.read_csv(folder / "values.csv")
    tables = [_frame_table("tornado", "Tornado: answer rate per caller",
                           "Answer rate per caller of the base scenario with each parameter low "
                           "and high, widest swing first.", tornado,
                           {"parameter": "text", "low_setting": "text", "low": "pct",
                            "base": "pct", "high_setting": "text", "high": "pct", "width": "pct"},
                           headline=True)]
    rows = [[r["parameter"], r["setting"], fmt(r.get("description"), "text"),
             interval(r["mean"], r["ci_low"], r["ci_high"], "pct"), fmt(r.get("answered"), "int"),
             fmt(r.get("mean_attempts"), "f2")] for _, r in values.iterrows()]
    tables.append(Table("settings", "All settings", "Answer rate per caller (95% CI), answered "
                        "calls and attempts per caller of the base scenario under each setting.",
                        ["parameter", "setting", "what it means", "answer rate per caller",
                         "answered calls", "attempts per caller"], rows, _rounded(values)))
    morris = _read_csv(folder, "morris.csv")  # sensitivity --screen morris
    screened = []
    if morris is not None:
        tables.append(_frame_table("morris", "Screening (Morris)",
                                   "Elementary effects on the base scenario's answer rate per "
                                   "caller, per parameter's whole range; only the kept parameters "
                                   "get the tornado and the ranking.", morris,
                                   {"parameter": "text", "mu": "pct", "mu_star": "pct",
                                    "mu_star_conf": "pct", "sigma": "pct", "kept": "text"}))
        out = [p for p, k in zip(morris["parameter"], morris["kept"], strict=True) if not k]
        if out:
            screened = [f"Screened out: {', '.join(out)}; the options' ranking was NOT simulated "
                        "under these (only their effect on the base's answer rate was screened)."]
    ranking = _read_csv(folder, "ranking.csv")
    if ranking is not None:
        tables.append(_frame_table("ranking", "Ranking of the options",
                                   "Per criterion and setting; Kendall tau against the base "
                                   "ranking.", ranking,
                                   {"criterion": "text", "parameter": "text", "setting": "text",
                                    "ranking": "text", "kendall_tau": "f2", "top_same": "text"}))
    scn = _scenario_yaml(folder / "scenario.yaml") if (folder / "scenario.yaml").exists() else {}
    settings = _read_csv(folder, "settings.csv")
    assumptions = _scenario_assumptions(scn, meta.get("scenario_file")) if scn else []
    if settings is not None:
        for _, r in settings[settings["level"] != "base"].iterrows():
            assumptions.append((f"{r['parameter']} {r['level']}: {r['setting']} "
                                f"({r['description']})", "assumption (range of the sensitivity)"))
    return Report("sensitivity", f"Sensitivity of {meta.get('scenario')}",
                  "How much do the answer rate and the ranking of the options "
                  f"({', '.join(meta.get('options', [])) or 'none'}) depend on the uncertain "
                  "parameters?", [meta.get("finding", "")] + list(meta.get("robustness", [])) + screened,
                  tables, [], [], _figures(folder, "sensitivity"), assumptions, _sources(),
                  _reproduce(meta, folder))


def _generic_kind(col: pd.Series) -> str:
    """Format of a column the report knows nothing about: text, whole numbers, or 3 decimals
    (counts such as callers print without decimals when they are large)."""
    if not pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col):
        return "text"
    x = col.dropna()
    if x.empty or (x == x.round()).all() or x.abs().min() >= 100:
        return "int"
    return "f3"


def _fit(folder: Path, meta: dict, hours_per_fte: float = HOURS_PER_FTE_YEAR) -> Report:
    tables, pub = [], []
    totals = _read_csv(folder, "totals.csv")
    if totals is not None:
        pub.append(_frame_table("fit_totals", "Answered contacts in 2020: simulated against "
                                "published", "Observed = source document 000; simulated = the "
                                "check run of the fitted scenario (mean and 95% half-width).",
                                totals, {"channel": "text", "observed": "int", "fitted": "int",
                                         "simulated": "int", "sim_hw": "int", "error": "int",
                                         "rel_error": "pct"}, headline=True))
    monthly = _read_csv(folder, "monthly.csv")
    if monthly is not None:
        pub.append(_frame_table("fit_monthly", "Answered contacts per month, 2020",
                                "Observed (source document 000), fitted and simulated.", monthly,
                                {"channel": "text", "month": "text", "observed": "int",
                                 "fitted": "f1", "simulated": "f1", "sim_hw": "f1",
                                 "rel_error": "pct"}))
    window = _read_csv(folder, "campaign_window.csv")
    if window is not None:
        pub.append(_frame_table("campaign_window", "February 2020 campaign window (10-27 Feb)",
                                "Answered contacts in the window, simulated (fitted scenario and "
                                "counterfactuals) against the 429 of source document 004.",
                                window, {"scenario": "text", "window_answered": "f1",
                                         "window_hw": "f1", "published_2020": "int",
                                         "published_2019": "int", "uplift_vs_no_campaigns":
                                         "pct"}))
    for name, title, caption in [
            ("parameters.csv", "Fitted parameters", "Maximum likelihood estimates with "
             "bootstrap intervals."),
            ("goodness_of_fit.csv", "Goodness of fit", "Per channel."),
            ("sep_dec.csv", "Sep-Dec 2020 behaviour", "Answer rate and attempts per caller of "
             "the fitted scenario and of both calibrations (target 40-45%, source document 000)."),
            ("counterfactuals.csv", "Counterfactuals", "2020 without campaigns, without "
             "lockdowns (same seeds).")]:
        df = _read_csv(folder, name)
        if df is not None:
            formats = {c: _generic_kind(df[c]) for c in df.columns}
            tables.append(_frame_table(name.removesuffix(".csv"), title, caption, df, formats))
    answer = []
    if totals is not None:
        answer.append("Answered in 2020, simulated / published: " + ", ".join(
            f"{r['channel']} {fmt(r['simulated'], 'int')} / {fmt(r['observed'], 'int')}"
            for _, r in totals.iterrows()) + ".")
    scn = _scenario_yaml(folder / "scenario.yaml") if (folder / "scenario.yaml").exists() else {}
    return Report("fit", "Fit of 2020 demand and caller behaviour",
                  "Which demand and caller behaviour make the simulated 2020 match the answered "
                  "contacts 1712 published?", answer, tables, pub, [],
                  _figures(folder, "fit"), _scenario_assumptions(scn, None) if scn else [],
                  _sources(), _reproduce(meta, folder))


BUILDERS = {"run": _run, "compare": _compare, "sweep": _sweep, "validation": _validation,
            "validate": _validation, "optimise": _optimise, "sensitivity": _sensitivity,
            "fit": _fit}


def build_report(folder: Path, hours_per_fte: float = HOURS_PER_FTE_YEAR) -> Report:
    """The report of a results folder (its kind from ``meta.json``).

    Raises FileNotFoundError when the folder has no meta.json and ValueError for an
    unknown kind.
    """
    folder = Path(folder)
    meta_file = folder / "meta.json"
    if not meta_file.is_file():
        raise FileNotFoundError(f"{folder}: not a results folder (no meta.json)")
    meta = json.loads(meta_file.read_text(encoding="utf-8"))
    kind = meta.get("kind", "run")
    if kind not in BUILDERS:
        raise ValueError(f"{folder}/meta.json: unknown results kind {kind!r} "
                         f"(expected one of {', '.join(BUILDERS)})")
    report = BUILDERS[kind](folder, meta, hours_per_fte)
    report.files = sorted(p.name for p in folder.iterdir()
                          if not p.name.startswith(".") and not p.name.startswith("report."))
    for t in report.tables + report.published:
        t.caption = source_label(t.caption)
    report.answer = [source_label(a) for a in report.answer if a]
    report.question = source_label(report.question)
    report.assumptions = [(source_label(a), source_label(s)) for a, s in report.assumptions]
    report.published_notes = [source_label(n) for n in report.published_notes]
    return report


def render_html(report: Report) -> str:
    """The report as one self-contained HTML page (Jinja2 template, package data)."""
    import jinja2

    from sim import __version__

    env = jinja2.Environment(loader=jinja2.PackageLoader("sim.results", "templates"),
                             autoescape=jinja2.select_autoescape(["html", "j2"]),
                             trim_blocks=True, lstrip_blocks=True)
    return env.get_template("report.html.j2").render(
        r=report, version=__version__,
        generated=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))


def write_xlsx(report: Report, path: Path) -> Path:
    """The report's tables in a workbook, one sheet per table (wide, rounded numbers)."""
    from openpyxl.utils import get_column_letter

    path = Path(path)
    used: set[str] = set()
    with pd.ExcelWriter(path, engine="openpyxl") as xw:
        about = pd.DataFrame([("question", report.question)]
                             + [("finding", a) for a in report.answer]
                             + report.reproduce, columns=["item", "value"])
        about.to_excel(xw, sheet_name="about", index=False)
        used.add("about")
        for t in report.tables + report.published:
            name = re.sub(r"[\[\]:*?/\\]", "_", t.name)[:31]
            base, i = name, 2
            while name in used:
                name = f"{base[:28]}_{i}"
                i += 1
            used.add(name)
            t.frame.to_excel(xw, sheet_name=name, index=False)
        for ws in xw.book.worksheets:
            for i, col in enumerate(ws.iter_cols(min_row=1, max_row=min(ws.max_row, 50)), 1):
                width = max((len(str(c.value)) for c in col if c.value is not None), default=8)
                ws.column_dimensions[get_column_letter(i)].width = min(max(width + 2, 8), 60)
            ws.freeze_panes = "A2"
    return path


def write_report(folder: Path, html: bool = True, xlsx: bool = True,
                 hours_per_fte: float = HOURS_PER_FTE_YEAR) -> list[Path]:
    """Write ``folder/report.html`` and ``folder/report.xlsx``; returns the paths written.

    ``hours_per_fte``: productive hours of one full-time counsellor a year (assumption).
    """
    folder = Path(folder)
    report = build_report(folder, hours_per_fte)
    if not owned(folder, "results"):  # report.html could be a file of someone else's
        raise OutputError(f"{folder}: not a results folder this tool made (no marker file); "
                          "the report is written only into the tool's own folders")
    written = []
    if html:
        p = folder / "report.html"
        p.write_text(render_html(report), encoding="utf-8")
        written.append(p)
    if xlsx:
        written.append(write_xlsx(report, folder / "report.xlsx"))
    return written
