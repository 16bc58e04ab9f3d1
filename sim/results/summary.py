"""Summaries of per-replication KPIs: means with Student-t confidence intervals, and
intervals on the logit scale for proportions (so they stay inside 0-100%).

Pure statistics on tidy tables; the experiment layer calls them after its replications,
the report and the published-figures comparison call them on saved results.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.results.proportions import is_proportion


def t_half_width(x, level: float = 0.95) -> float:
    """Half-width of the Student-t interval of the mean of ``x`` (NaN for < 2 values)."""
    from scipy import special  # not scipy.stats: t.ppf is special.stdtrit, and
    # scipy.stats costs about a second of imports (issue 16); values bit-identical

    x = np.asarray(x, dtype=float)
    if len(x) < 2:
        return float("nan")
    return float(special.stdtrit(len(x) - 1, 0.5 + level / 2) * x.std(ddof=1) / np.sqrt(len(x)))


def logit_interval(mean: np.ndarray, sd: np.ndarray, n: np.ndarray,
                   level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Confidence interval ``(low, high)`` of the mean of a proportion over replications,
    built on the logit scale and mapped back, so it stays inside (0, 1).

    Why this interval: the replication is the unit of independence (callers within one
    replication share the same congestion), so the interval must come from the spread of
    the replication values, as the Student-t interval does; Wilson or Clopper-Pearson on
    callers pooled over replications would treat every caller as an independent trial and
    be far too narrow. The t-interval itself runs past 0% or 100% when the mean is near a
    bound and there are few replications (2 or 3: t quantile 12.7 or 4.3). So the standard
    error of the mean is carried to the logit scale by the delta method,
    se_logit = (sd / sqrt(n)) / (m (1 - m)), the Student-t interval with n - 1 degrees of
    freedom is taken there and mapped back with the logistic function (the "logit" method
    of R's survey::svyciprop). It always contains the mean, is asymmetric near a bound,
    and agrees with the t-interval when the mean is far from 0 and 1 and the interval is
    narrow. A mean of exactly 0 or 1 (every replication at the bound) gives [m, m]; fewer
    than 2 values give NaN. Arguments are arrays of the same length (or scalars).
    """
    from scipy import special  # not scipy.stats: t.ppf is special.stdtrit, and
    # scipy.stats costs about a second of imports (issue 16); values bit-identical

    m, sd, n = (np.asarray(v, dtype=float) for v in (mean, sd, n))
    tq = special.stdtrit(np.maximum(n - 1, 1), 0.5 + level / 2)
    inside = (m > 0) & (m < 1)
    mi = np.where(inside, m, 0.5)  # placeholder where the logit is undefined
    se = np.where(inside, sd / np.sqrt(np.maximum(n, 1)) / (mi * (1 - mi)), 0.0)
    centre = np.log(mi / (1 - mi))
    low = np.where(inside, 1 / (1 + np.exp(-(centre - tq * se))), m)
    high = np.where(inside, 1 / (1 + np.exp(-(centre + tq * se))), m)
    few = n < 2
    return np.where(few, np.nan, low), np.where(few, np.nan, high)


def t_interval(x, level: float = 0.95, proportion: bool = False) -> tuple[float, float, float]:
    """Mean and interval ``(mean, low, high)`` of replication values; NaNs are left out.

    Student-t; with ``proportion=True`` (a KPI declared in :mod:`sim.results.proportions`)
    the logit interval of :func:`logit_interval`, which stays inside 0-1."""
    x = np.asarray(x, dtype=float)
    x = x[~np.isnan(x)]
    if len(x) == 0:
        return float("nan"), float("nan"), float("nan")
    if proportion:
        m = float(x.mean())
        sd = float(x.std(ddof=1)) if len(x) > 1 else float("nan")
        lo, hi = logit_interval(np.array([m]), np.array([sd]), np.array([len(x)]), level)
        return m, float(lo[0]), float(hi[0])
    m, h = float(x.mean()), t_half_width(x, level)
    return m, m - h, m + h


def summarise(per_rep: pd.DataFrame, level: float = 0.95, bounded: bool = True) -> pd.DataFrame:
    """Mean, sd and confidence interval over replications per (by, key, kpi).

    NaN values (a KPI undefined in a replication, e.g. a rate with no attempts) are left
    out; ``n`` says how many replications remain. ``half_width`` is the Student-t
    half-width on the KPI's own scale (its precision). ``ci_low, ci_high`` is the
    Student-t interval, except for the KPIs declared proportions in
    :mod:`sim.results.proportions` when ``bounded`` (the default): their interval is
    :func:`logit_interval`, inside 0-1 and asymmetric near a bound. Pass
    ``bounded=False`` for values that are not the KPIs themselves (paired differences).
    """
    from scipy import special  # not scipy.stats: t.ppf is special.stdtrit, and
    # scipy.stats costs about a second of imports (issue 16); values bit-identical

    g = per_rep.dropna(subset=["value"]).groupby(["by", "key", "kpi"], sort=False)["value"]
    out = g.agg(mean="mean", sd="std", n="count").reset_index()
    tq = special.stdtrit(np.maximum(out["n"].to_numpy() - 1, 1), 0.5 + level / 2)
    half = np.where(out["n"] > 1, tq * out["sd"] / np.sqrt(out["n"]), np.nan)
    out["half_width"] = half
    out["ci_low"] = out["mean"] - half
    out["ci_high"] = out["mean"] + half
    if bounded:
        prop = out["kpi"].map(is_proportion).to_numpy(dtype=bool)
        if prop.any():
            p = out.loc[prop]
            low, high = logit_interval(p["mean"], p["sd"], p["n"], level)
            out.loc[prop, "ci_low"] = low
            out.loc[prop, "ci_high"] = high
    return out
