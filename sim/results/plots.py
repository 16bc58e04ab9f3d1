"""Figures. Each function takes data and an axis, draws, and returns the axis (habit 11).

The data are summary tables as saved in a results folder (``by, key, kpi, mean,
ci_low, ci_high``); no statistics are computed and no files are written here.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.ticker import MaxNLocator

from sim.config import WEEKDAYS


def _series(summary: pd.DataFrame, by: str, kpi: str) -> pd.DataFrame:
    s = summary[(summary["by"] == by) & (summary["kpi"] == kpi)]
    return s.sort_values("key").reset_index(drop=True)


def _pct(v, _pos=None) -> str:
    """Axis label of a share: ``40%``, never ``-0%``."""
    text = f"{v:.0%}"
    return "0%" if text == "-0%" else text


def _pp(v, _pos=None) -> str:
    """Axis label of a difference of shares in percentage points: ``+5 pp``, ``0 pp``."""
    x = round(100 * v, 6)
    return "0 pp" if x == 0 else f"{x:+g} pp"


def _count(v, _pos=None) -> str:
    text = f"{v:,.0f}"
    return "0" if text == "-0" else text


def _errors(s: pd.DataFrame) -> np.ndarray:
    lo = (s["mean"] - s["ci_low"]).fillna(0).to_numpy()
    hi = (s["ci_high"] - s["mean"]).fillna(0).to_numpy()
    return np.vstack([lo, hi])


def answered_per_month(summary: pd.DataFrame, ax: Axes, observed: pd.Series | None = None) -> Axes:
    """Answered calls per month (mean and 95% CI); published counts as markers if given.

    ``observed`` is indexed by month (``YYYY-MM``).
    """
    s = _series(summary, "month", "answered")
    x = np.arange(len(s))
    ax.bar(x, s["mean"], yerr=_errors(s), capsize=3, color="#4C72B0", label="simulated (95% CI)")
    if observed is not None:
        obs = observed.reindex(s["key"])
        ax.plot(x, obs.to_numpy(), "o", color="#DD8452", label="published (source document 000)")
    ax.set_xticks(x, s["key"], rotation=45, ha="right")
    ax.set_ylabel("answered phone calls per month")
    ax.set_title("Answered phone calls per month")
    ax.legend()
    return ax


def answer_rate_per_month(summary: pd.DataFrame, ax: Axes, published_range=None) -> Axes:
    """Answer rate per caller and per attempt by month, with 95% confidence bands.

    ``published_range``: optional ``(first_month, last_month, low, high)`` drawn as a
    shaded box, e.g. the 40-45% of Sep-Dec 2020 (seed 000).
    """
    for kpi, label, colour in [
        ("answer_rate_caller", "per caller (ever answered)", "#4C72B0"),
        ("answer_rate_attempt", "per attempt (open hours)", "#55A868"),
    ]:
        s = _series(summary, "month", kpi)
        x = np.arange(len(s))
        ax.plot(x, s["mean"], "-o", color=colour, label=label, ms=3)
        ax.fill_between(x, s["ci_low"], s["ci_high"], color=colour, alpha=0.25, lw=0)
        ax.set_xticks(x, s["key"], rotation=45, ha="right")
    if published_range is not None:
        first, last, lo, hi = published_range
        keys = list(_series(summary, "month", "answer_rate_caller")["key"])
        if first in keys and last in keys:
            i0, i1 = keys.index(first), keys.index(last)
            ax.fill_between([i0 - 0.4, i1 + 0.4], lo, hi, color="#DD8452", alpha=0.3,
                            label="published 40-45% (source document 000)")
    ax.set_ylim(0, 1)
    ax.yaxis.set_major_formatter(_pct)
    ax.set_ylabel("share answered")
    ax.set_title("Answer rate by month (95% CI)")
    ax.legend(loc="upper right", fontsize=8)
    return ax


def attempts_histogram(summary: pd.DataFrame, ax: Axes) -> Axes:
    """Share of callers by number of attempts they made (mean and 95% CI)."""
    s = summary[(summary["by"] == "attempts") & (summary["kpi"] == "share_callers")].copy()
    s["order"] = s["key"].str.rstrip("+").astype(int)
    s = s.sort_values("order")
    x = np.arange(len(s))
    ax.bar(x, s["mean"], yerr=_errors(s), capsize=3, color="#4C72B0")
    ax.set_xticks(x, s["key"])
    ax.yaxis.set_major_formatter(_pct)
    ax.set_xlabel("attempts per caller")
    ax.set_ylabel("share of callers")
    ax.set_title("Attempts per caller")
    return ax


def utilisation_heatmap(summary: pd.DataFrame, ax: Axes) -> Axes:
    """Mean line utilisation by weekday and hour (only staffed hours are coloured)."""
    s = summary[(summary["by"] == "weekday_hour") & (summary["kpi"] == "utilisation")]
    grid = np.full((7, 24), np.nan)
    for key, value in zip(s["key"], s["mean"], strict=True):
        day, hour = key.split()
        grid[WEEKDAYS.index(day), int(hour)] = value
    hours = np.flatnonzero(~np.all(np.isnan(grid), axis=0))
    days = np.flatnonzero(~np.all(np.isnan(grid), axis=1))
    if len(hours) == 0:
        ax.set_title("Line utilisation (no staffed hours)")
        return ax
    sub = grid[np.ix_(days, np.arange(hours.min(), hours.max() + 1))]
    im = ax.imshow(sub, vmin=0, vmax=1, cmap="viridis", aspect="auto")
    ax.set_yticks(range(len(days)), [WEEKDAYS[d] for d in days])
    cols = np.arange(hours.min(), hours.max() + 1)
    ax.set_xticks(range(len(cols)), [f"{h:02d}" for h in cols])
    ax.set_xlabel("hour of day (start)")
    for (r, k), v in np.ndenumerate(sub):
        if not np.isnan(v):
            ax.text(k, r, f"{v:.0%}", ha="center", va="center", fontsize=7,
                    color="white" if v < 0.6 else "black")
    ax.figure.colorbar(im, ax=ax, format=_pct, label="busy share of staffed time")
    ax.set_title("Line utilisation by weekday and hour")
    return ax


def compare_bars(table: pd.DataFrame, ax: Axes, kpi: str, label: str, percent: bool = False) -> Axes:
    """One bar per scenario: mean of an overall KPI with its 95% CI (a compare table)."""
    s = table[(table["by"] == "all") & (table["key"] == "all") & (table["kpi"] == kpi)]
    x = np.arange(len(s))
    colours = ["#999999"] + ["#4C72B0"] * (len(s) - 1)  # the base in grey
    ax.bar(x, s["mean"], yerr=_errors(s), capsize=3, color=colours)
    ax.set_xticks(x, s["scenario"], rotation=30, ha="right")
    if percent:
        ax.yaxis.set_major_formatter(_pct)
    ax.set_ylabel(label)  # may hold a second line: the period the totals cover
    ax.set_title(f"{label.splitlines()[0]} by option (95% CI; base in grey)")
    return ax


def compare_differences(table: pd.DataFrame, ax: Axes, kpi: str, label: str,
                        percent: bool = False) -> Axes:
    """Paired difference of an overall KPI between each option and the base (the first
    scenario), with its 95% CI; percentage points for shares."""
    s = table[(table["by"] == "all") & (table["key"] == "all") & (table["kpi"] == kpi)]
    base, s = s.iloc[0]["scenario"], s.iloc[1:]
    y = np.arange(len(s))[::-1]
    lo = (s["diff"] - s["diff_low"]).fillna(0).to_numpy()
    hi = (s["diff_high"] - s["diff"]).fillna(0).to_numpy()
    colours = ["#55A868" if d > 0 else "#C44E52" if d < 0 else "#999999" for d in s["diff"]]
    ax.barh(y, s["diff"], xerr=np.vstack([lo, hi]), capsize=3, color=colours, height=0.6)
    ax.axvline(0, color="grey", lw=0.8)
    ax.set_yticks(y, s["scenario"])
    if percent:  # ticks on whole or half percentage points, not 2.5 pp
        ax.xaxis.set_major_locator(MaxNLocator(steps=[1, 2, 5, 10]))
    ax.xaxis.set_major_formatter(_pp if percent else _count)
    unit = " (percentage points)" if percent else ""
    period = " ".join(label.splitlines()[1:])
    ax.set_xlabel(f"difference with {base}{unit}" + (f", {period}" if period else ""))
    ax.set_title(f"{label.splitlines()[0]}: difference with {base} (paired, 95% CI)")
    return ax


def answered_vs_published(table: pd.DataFrame, ax: Axes, label: str) -> Axes:
    """Simulated answered contacts per month (mean, 95% CI) against the published counts.

    ``table``: rows of one channel from :func:`sim.results.published.monthly_vs_published`
    (``month, mean, ci_low, ci_high, published, source``).
    """
    s = table.sort_values("month").reset_index(drop=True)
    # A count is not negative: the interval of few replications is drawn cut at 0.
    s = s.assign(ci_low=s["ci_low"].clip(lower=0))
    x = np.arange(len(s))
    ax.bar(x, s["mean"], yerr=_errors(s), capsize=3, color="#4C72B0", label="simulated (95% CI)")
    ax.plot(x, s["published"], "D", color="#DD8452", ms=7,
            label=f"published ({s['source'].iloc[0]})")
    ax.set_xticks(x, s["month"], rotation=45, ha="right")
    ax.yaxis.set_major_formatter(_count)
    ax.set_ylabel(f"{label} per month")
    ax.set_title(f"{label[0].upper()}{label[1:]} per month: simulated against published")
    ax.legend(fontsize=8)
    return ax


def cost_vs_extra_answered(ce: pd.DataFrame, ax: Axes, period: str = "per year") -> Axes:
    """Extra cost against extra callers answered per option, both with 95% CIs.

    ``period``: what the totals cover, for the axis labels (e.g. "over 2020-01-01 to
    2020-03-31").
    """
    for _, r in ce.iterrows():
        ax.errorbar(r["extra_callers"], r["extra_cost"],
                    xerr=[[r["extra_callers"] - r["extra_callers_low"]], [r["extra_callers_high"] - r["extra_callers"]]],
                    yerr=[[r["extra_cost"] - r["extra_cost_low"]], [r["extra_cost_high"] - r["extra_cost"]]],
                    fmt="o", capsize=3)
        free = r["extra_cost"] == 0 and r["extra_cost_low"] == r["extra_cost_high"] == 0
        ax.annotate(r["scenario"] + (" (free)" if free else ""), (r["extra_callers"], r["extra_cost"]),
                    textcoords="offset points",
                    xytext=(5, 5), fontsize=8)
    ax.axhline(0, color="grey", lw=0.5)
    ax.axvline(0, color="grey", lw=0.5)
    ax.margins(0.15)  # room for the option names beside the points
    ax.xaxis.set_major_formatter(_count)
    ax.yaxis.set_major_formatter(_count)
    ax.set_xlabel(f"extra callers answered (vs base), {period}")
    ax.set_ylabel(f"extra cost of staffed hours (EUR)\n{period}")
    ax.set_title("Cost versus extra callers answered")
    return ax


def sweep_curves(summary: pd.DataFrame, params: list[str], ax: Axes, kpi: str, label: str,
                 percent: bool = False) -> Axes:
    """A KPI against the first swept setting, one curve per value of the second (95% CI)."""
    s = summary[summary["kpi"] == kpi]
    x_name = params[0]
    groups = [(None, s)] if len(params) < 2 else list(s.groupby(params[1], dropna=False, sort=True))
    xs = list(dict.fromkeys(s.sort_values(x_name)[x_name]))
    numeric = all(isinstance(v, int | float | np.number) for v in xs)
    for value, g in groups:
        g = g.sort_values(x_name)
        x = g[x_name].to_numpy(dtype=float) if numeric else np.array([xs.index(v) for v in g[x_name]])
        if value is None:
            lab = "all points"
        elif value != value:  # NaN: listed points that do not set the second setting
            lab = "listed points"
        else:
            lab = f"{params[1]} = {value}"
        ax.plot(x, g["mean"], "-o", ms=3, label=lab)
        ax.fill_between(x, g["ci_low"], g["ci_high"], alpha=0.25, lw=0)
    if not numeric:
        ax.set_xticks(range(len(xs)), [str(v) for v in xs])
    if percent:
        ax.yaxis.set_major_formatter(_pct)
    ax.set_xlabel(x_name)
    ax.set_ylabel(label)
    ax.set_title(f"{label} against {x_name} (95% CI)")
    ax.legend(fontsize=8)
    return ax


def validation_chart(t: pd.DataFrame, ax: Axes) -> Axes:
    """Simulated / theoretical value per measure with the simulation's CI (1 = exact)."""
    y = np.arange(len(t))[::-1]
    ratio = t["simulated"] / t["theory"]
    lo = t["ci_low"] / t["theory"]
    hi = t["ci_high"] / t["theory"]
    for yi, r, a, b, ok in zip(y, ratio, lo, hi, t["agrees"], strict=True):
        colour = "#4C72B0" if ok else "#C44E52"
        ax.errorbar([r], [yi], xerr=[[r - a], [b - r]], fmt="o", ms=3, color=colour, capsize=2)
    ax.axvline(1.0, color="grey", lw=0.8)
    ax.set_yticks(y, [f"{c}: {m}" for c, m in zip(t["case"], t["measure"], strict=True)], fontsize=7)
    ax.set_xlabel("simulated / exact (with the simulation's confidence interval)")
    ax.set_title("Validation: simulation against queueing theory")
    return ax
