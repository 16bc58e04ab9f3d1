"""Figures. Each function takes data and an axis, draws, and returns the axis (habit 11).

The data are summary tables as saved in a results folder (``by, key, kpi, mean,
ci_low, ci_high``); no statistics are computed and no files are written here.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from sim.config import WEEKDAYS


def _series(summary: pd.DataFrame, by: str, kpi: str) -> pd.DataFrame:
    s = summary[(summary["by"] == by) & (summary["kpi"] == kpi)]
    return s.sort_values("key").reset_index(drop=True)


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
        ax.plot(x, obs.to_numpy(), "o", color="#DD8452", label="published (seed 000)")
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
                            label="published 40-45% (seed 000)")
    ax.set_ylim(0, 1)
    ax.yaxis.set_major_formatter(lambda v, _: f"{v:.0%}")
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
    ax.yaxis.set_major_formatter(lambda v, _: f"{v:.0%}")
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
    ax.figure.colorbar(im, ax=ax, format=lambda v, _: f"{v:.0%}", label="busy share of staffed time")
    ax.set_title("Line utilisation by weekday and hour")
    return ax
