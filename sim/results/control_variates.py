"""Control variates: a KPI's mean over replications corrected by quantities whose mean
is known exactly (issue 16, "variance reduction where it is exact").

The number of new phone callers in a replication is random (Poisson arrivals), but its
expectation is known from the scenario (:func:`sim.model.arrival_counts.expected_new_contacts`).
A replication that drew more callers than expected also answers more of them, so the
answered callers ``Y`` and the drawn callers ``C`` are strongly correlated across
replications. The controlled estimator

    Y_cv = mean(Y) - beta_hat' (mean(C) - E[C])

removes the part of mean(Y)'s error that the controls' own error explains. ``beta_hat``
is the least-squares slope of Y on C over the replications, and Y_cv is the intercept of
the regression of Y on ``C - E[C]`` (Law, *Simulation Modeling and Analysis*, 5th ed.,
section 11.4, method of control variates; Lavenberg and Welch 1981; Nelson 1990,
"Control variate remedies", Operations Research 38(6)). Its variance is estimated by the
regression's residual variance ``s^2 = sum(e^2) / (n - 1 - q)`` times
``1/n + d' S^-1 d`` (``d = mean(C) - E[C]``, ``S`` the centred cross-product matrix of
the controls): the variance of the intercept. The confidence interval is Student-t with
``n - 1 - q`` degrees of freedom for ``q`` controls.

Unbiasedness, honestly: with a *known* beta the estimator is unbiased whatever the
distributions, since E[C] is exact. With beta *estimated* from the same replications,
as here, it is unbiased and the t interval exact only when (Y, C) are jointly normal
(Lavenberg and Welch); otherwise it is consistent and its bias is O(1/n), negligible
against its standard error for the counts of a year's replication (sums of thousands of
callers, near normal). Hence at least ``q + 3`` replications: fewer give NaN and a note
instead of an interval (with ``q + 2`` there is one degree of freedom left and the t
quantile is 12.7).

The variance ratio is the controlled variance over the plain one (``sd(Y)^2 / n``): the
plain mean needs ``1 / ratio`` times the replications for the same variance.
:func:`controlled_mean` and :func:`controlled_summary` are pure numpy/pandas;
:func:`run_controls` redraws the controls of a run (no SimPy, no file writing).

Where it is used: ``run`` writes ``summary_cv.csv`` (:data:`RUN_KPIS`), beside the plain
``summary.csv``, which it leaves as it was. Not in compare, optimise or sensitivity: their
paired differences on common random numbers already cancel the arrival noise, since every
option sees the same arrivals (the same ``arrivals.*`` streams), so the drawn count is
the same in both members of a pair and explains nothing of their difference.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.results.summary import t_half_width

# The overall KPIs ``run`` reports with controls, and their controls (sim.model.arrival_counts):
# one control each, the new contacts of the KPI's own channel drawn in the replication.
# The other channels' arrivals are independent of a KPI, and the offered work (handling
# times drawn) is 0.87 correlated with the count and explained no more of any phone KPI
# on fitted_2020 (bench/README.md, section 13): more controls would only cost degrees of
# freedom. The first three are the headline KPIs (the control does not pay for them on
# fitted_2020: their variance comes from congestion, not from how many callers came);
# the next three are driven by demand and gain.
RUN_KPIS = {
    "callers_answered": ["phone"],
    "answered": ["phone"],
    "answer_rate_caller": ["phone"],
    "attempts": ["phone"],
    "busy_tones": ["phone"],
    "callers_gave_up": ["phone"],
    "chat_answered": ["chat"],
    "email_answered": ["email"],
}

COLUMNS = ["by", "key", "kpi", "controls", "n", "df", "mean", "half_width", "ci_low", "ci_high",
           "plain_mean", "plain_half_width", "variance_ratio", "reps_factor", "beta",
           "control_mean", "control_expected", "note"]


@dataclass(frozen=True)
class ControlledMean:
    """The controlled mean of one KPI and how it compares with the plain mean.

    ``mean, half_width, ci_low, ci_high``: controlled estimate and its Student-t interval
    (``df = n - 1 - q``); ``plain_mean, plain_half_width``: the ordinary mean and its
    Student-t half-width (``n - 1`` df); ``variance_ratio``: controlled variance / plain
    variance of the mean; ``beta``: the estimated slopes, one per control (KPI units per
    control unit); ``note``: why a value is NaN, else empty."""

    mean: float
    half_width: float
    plain_mean: float
    plain_half_width: float
    variance_ratio: float
    beta: tuple[float, ...]
    n: int
    df: int
    note: str = ""

    @property
    def ci_low(self) -> float:
        return self.mean - self.half_width

    @property
    def ci_high(self) -> float:
        return self.mean + self.half_width


def _t(df: int, level: float) -> float:
    from scipy import special  # t.ppf without scipy.stats' import cost (as summary.py)

    return float(special.stdtrit(df, 0.5 + level / 2))


def controlled_mean(y, controls, expected, level: float = 0.95) -> ControlledMean:
    """Controlled mean of the per-replication values ``y`` (length n) with controls
    ``controls`` (n values, or an n x q array) of known means ``expected`` (q values).

    Replications where ``y`` or a control is NaN are left out (``n`` counts the rest).
    Fewer than ``q + 3`` replications, or a control that does not vary (or controls that
    are collinear), give NaN for the controlled values and a ``note`` saying why; the
    plain mean is still given."""
    y = np.asarray(y, dtype=float)
    c = np.asarray(controls, dtype=float).reshape(len(y), -1)
    mu = np.asarray(expected, dtype=float).reshape(-1)
    q = c.shape[1]
    if mu.size != q:
        raise ValueError(f"{q} control(s) but {mu.size} expected value(s)")
    keep = ~np.isnan(y) & ~np.isnan(c).any(axis=1)
    y, c = y[keep], c[keep]
    n = len(y)
    plain = float(y.mean()) if n else float("nan")
    plain_hw = t_half_width(y, level)  # (NaN for fewer than 2)
    nan_beta = (float("nan"),) * q

    def refuse(note: str) -> ControlledMean:
        return ControlledMean(float("nan"), float("nan"), plain, plain_hw, float("nan"), nan_beta,
                              n, max(n - 1 - q, 0), note)

    if n < q + 3:
        return refuse(f"{n} replication(s): at least {q + 3} needed for {q} control(s)")
    x = np.column_stack([np.ones(n), c - mu])
    if np.linalg.matrix_rank(c - c.mean(axis=0)) < q:
        return refuse("a control does not vary over the replications (or controls are collinear)")
    coef, *_ = np.linalg.lstsq(x, y, rcond=None)
    resid = y - x @ coef
    df = n - 1 - q
    s2 = float(resid @ resid) / df
    var = s2 * float(np.linalg.inv(x.T @ x)[0, 0])
    plain_var = float(y.var(ddof=1)) / n
    ratio = var / plain_var if plain_var > 0 else float("nan")
    note = "" if plain_var > 0 else "the KPI does not vary over the replications"
    return ControlledMean(float(coef[0]), _t(df, level) * np.sqrt(var), plain, plain_hw, ratio,
                          tuple(float(b) for b in coef[1:]), n, df, note)


def controlled_summary(per_rep: pd.DataFrame, controls: pd.DataFrame, expected: dict[str, float],
                       spec: dict[str, list[str]], level: float = 0.95) -> pd.DataFrame:
    """Controlled means of overall KPIs, one row each (columns :data:`COLUMNS`).

    ``per_rep``: the tidy per-replication KPIs (``replication, by, key, kpi, value``);
    only the ``by == "all"`` rows are used. ``controls``: one row per replication, a
    ``replication`` column and one column per control (e.g. ``phone``: new phone
    callers drawn). ``expected``: each control's exact mean. ``spec``: KPI name -> the
    controls to use for it; a KPI missing from ``per_rep`` is skipped. ``beta``,
    ``control_mean`` and ``control_expected`` are written ``;``-separated when there is
    more than one control."""
    overall = per_rep[(per_rep["by"] == "all") & (per_rep["key"] == "all")]
    wide = overall.pivot_table(index="replication", columns="kpi", values="value", aggfunc="first",
                               dropna=False)
    table = controls.set_index("replication").join(wide, how="inner")
    rows = []
    for kpi, names in spec.items():
        if kpi not in table.columns:
            continue
        c = table[names].to_numpy(dtype=float)
        r = controlled_mean(table[kpi].to_numpy(dtype=float), c, [expected[k] for k in names], level)

        def fmt(vals) -> str:
            return ";".join(f"{v:.10g}" for v in vals)

        rows.append({
            "by": "all", "key": "all", "kpi": kpi, "controls": ";".join(names), "n": r.n, "df": r.df,
            "mean": r.mean, "half_width": r.half_width, "ci_low": r.ci_low, "ci_high": r.ci_high,
            "plain_mean": r.plain_mean, "plain_half_width": r.plain_half_width,
            "variance_ratio": r.variance_ratio,
            "reps_factor": 1.0 / r.variance_ratio if r.variance_ratio > 0 else float("nan"),
            "beta": fmt(r.beta), "control_mean": fmt(np.nanmean(c, axis=0)) if len(c) else "",
            "control_expected": fmt(expected[k] for k in names), "note": r.note})
    return pd.DataFrame(rows, columns=COLUMNS)


def run_controls(per_rep: pd.DataFrame, scn, seed: int, spec: dict[str, list[str]] | None = None,
                 level: float = 0.95) -> pd.DataFrame:
    """:func:`controlled_summary` of a run's per-replication KPIs (``spec``, default
    :data:`RUN_KPIS`), with the new contacts each replication drew (redrawn from the
    replication's arrival streams, ``Streams(seed, r)``, as the simulation drew them) and
    their exact expectations as controls."""
    from sim.model.arrival_counts import drawn_controls, expected_controls

    reps = sorted(int(r) for r in per_rep["replication"].unique())
    controls = pd.DataFrame({"replication": reps, **drawn_controls(scn, seed, reps)})
    return controlled_summary(per_rep, controls, expected_controls(scn),
                              RUN_KPIS if spec is None else spec, level)


def cv_table(cv: pd.DataFrame, level: float = 0.95) -> str:
    """The controlled means of :func:`run_controls` as an aligned text table: plain and
    controlled mean with their intervals, the variance ratio and how many times the
    replications the plain mean would need for the same variance (``1 / ratio``)."""
    from sim.results.folders import HEADLINE, _fmt

    labels = {kpi: (label.strip(), fmt) for by, key, kpi, label, fmt in HEADLINE if by == "all"}
    pct = f"{int(level * 100)}%"
    head = [("KPI", f"plain mean [{pct} CI]", f"controlled [{pct} CI]", "var. ratio", "reps x")]
    for r in cv.itertuples():
        label, fmt = labels.get(r.kpi, (r.kpi, "{:.4g}"))
        plain = (f"{_fmt(fmt, r.plain_mean)} [{_fmt(fmt, r.plain_mean - r.plain_half_width)}, "
                 f"{_fmt(fmt, r.plain_mean + r.plain_half_width)}]")
        ctrl = (f"{_fmt(fmt, r.mean)} [{_fmt(fmt, r.ci_low)}, {_fmt(fmt, r.ci_high)}]"
                if r.mean == r.mean else f"n/a ({r.note})")
        head.append((label, plain, ctrl, _fmt("{:.3f}", r.variance_ratio), _fmt("{:.1f}", r.reps_factor)))
    widths = [max(len(row[i]) for row in head) for i in range(5)]
    lines = ["Control variates (summary_cv.csv): each mean corrected by its channel's new contacts drawn "
             "vs their exact expectation",
             "(Student-t on n-1-q df; var. ratio = controlled / plain variance of the mean; reps x = 1 / ratio, "
             "below 1: keep the plain mean)"]
    for row in head:
        lines.append("  ".join([row[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(row[1:], widths[1:],
                                                                                    strict=True)]))
    return "\n".join(lines)
