"""The fit's report folder: tables, figures and the report text."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from sim.planning import fit as F
from sim.planning.fit_run import HOUR_PROFILES, Outcome, build_scenario
from sim.results.figures import save_figure
from sim.results.folders import write_atomic


def plot_channel_fit(monthly: pd.DataFrame, channel: str, ax: Axes) -> Axes:
    """Published, fitted and simulated (mean, 95% CI) answered contacts per month."""
    d = monthly[monthly["channel"] == channel].reset_index(drop=True)
    x = np.arange(len(d))
    ax.bar(x, d["simulated"], yerr=d["sim_hw"], capsize=2, color="#4C72B0", alpha=0.8,
           label="simulated (95% CI)")
    ax.plot(x, d["fitted"], "-", color="#55A868", lw=1.5, label="fitted mean")
    ax.plot(x, d["observed"], "o", color="#DD8452", label="published")
    ax.set_xticks(x, [m[5:] for m in d["month"]])
    ax.set_title(f"{channel}: answered contacts per month, 2020")
    ax.set_xlabel("month")
    ax.set_ylabel("answered contacts")
    ax.legend(fontsize=8)
    return ax


def plot_demand(monthly: pd.DataFrame, ax: Axes) -> Axes:
    """Fitted expected demand (new contacts) and published answered contacts per month."""
    colours = {"phone": "#4C72B0", "chat": "#C44E52", "email": "#8172B2"}
    for c, g in monthly.groupby("channel", sort=False):
        x = np.arange(len(g))
        ax.plot(x, g["expected_demand"], "-", color=colours.get(c), label=f"{c}: demand (fitted)")
        ax.plot(x, g["observed"], "o--", color=colours.get(c), ms=3, lw=0.8,
                label=f"{c}: answered (published)")
        ax.set_xticks(x, [m[5:] for m in g["month"]])
    ax.set_yscale("log")
    ax.set_xlabel("month of 2020")
    ax.set_ylabel("contacts per month (log scale)")
    ax.set_title("Fitted demand and answered contacts")
    ax.legend(fontsize=7, ncol=3)
    return ax


def plot_hour_profiles(profiles: dict[str, list[float]], ax: Axes) -> Axes:
    """Hour-of-day profiles (share of a day's demand per hour) of the sensitivity run."""
    for name, w in profiles.items():
        w = np.asarray(w, float)
        ax.step(np.arange(25), np.append(w, w[-1]) / w.sum(), where="post", label=name)
    ax.axvspan(9, 18, color="0.9", zorder=0, label="phone open (9-18)")
    ax.set_xlim(0, 24)
    ax.set_xticks(range(0, 25, 3))
    ax.set_xlabel("hour of day")
    ax.set_ylabel("share of the day's new callers")
    ax.set_title("Phone hour profiles (assumptions)")
    ax.legend(fontsize=7)
    return ax


def _figures(o: Outcome, folder: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from sim.config import DEFAULT_PHONE_HOUR_PROFILE

    folder.mkdir()

    def save(fig, name):
        save_figure(fig, folder, name)

    fig, axes = plt.subplots(3, 1, figsize=(9, 10))
    for ax, c in zip(axes, F.CHANNELS, strict=True):
        plot_channel_fit(o.monthly, c, ax)
    save(fig, "fitted_vs_observed")
    fig, ax = plt.subplots(figsize=(9, 4.5))
    plot_demand(o.monthly, ax)
    save(fig, "demand")
    fig, ax = plt.subplots(figsize=(8, 4))
    plot_hour_profiles({"default": DEFAULT_PHONE_HOUR_PROFILE,
                        **{k: HOUR_PROFILES[k] for k in o.settings.hour_profiles}}, ax)
    save(fig, "hour_profiles")


# ---------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------


def _fmt_table(df: pd.DataFrame, floatfmt: str = "{:,.4g}") -> str:
    def f(v):
        if isinstance(v, float | np.floating):
            return "" if np.isnan(v) else floatfmt.format(v)
        return str(v)

    cols = list(df.columns)
    cells = [[f(v) for v in row] for row in df.itertuples(index=False)]
    widths = [max(len(str(c)), *(len(r[i]) for r in cells)) if cells else len(str(c))
              for i, c in enumerate(cols)]
    lines = ["  ".join(str(c).rjust(w) for c, w in zip(cols, widths, strict=True))]
    lines += ["  ".join(v.rjust(w) for v, w in zip(r, widths, strict=True)) for r in cells]
    return "\n".join(lines)


def report_text(o: Outcome) -> str:
    s = o.settings
    mon = o.monthly.copy()
    wide = mon.pivot(index="month", columns="channel", values=["observed", "simulated", "rel_error"])
    tab = pd.DataFrame({"month": wide.index})
    for c in F.CHANNELS:
        tab[f"{c}_pub"] = wide[("observed", c)].to_numpy()
        tab[f"{c}_sim"] = wide[("simulated", c)].round(1).to_numpy()
        tab[f"{c}_err"] = [f"{v:+.1%}" for v in wide[("rel_error", c)]]
    ptab = o.params_table[["parameter", "estimate", "ci_low", "ci_high", "boot_sd", "status"]]
    cal_rows = pd.DataFrame([c.row(o.base) for c in o.calibrations.values()])
    cal_cols = ["reading", "handling_scale", "handling_min", "persistence", "delay_min",
                "demand_scale_sep_dec", "answer_rate_caller", "answer_rate_attempt",
                "mean_attempts", "utilisation", "rate_in_range", "attempts_in_range",
                "evaluations"]
    parts = [
        f"Fit of 2020 demand and caller behaviour ({'QUICK, not a real fit; ' if s.quick else ''}"
        f"reading '{s.reading}', seed {s.seed}, {s.reps} replications per simulation, "
        f"{o.simulations} simulations, wall time {o.wall_s:.0f} s)",
        "",
        f"Demand fixed point: {len(o.trace)} iterations, "
        f"{'converged' if o.converged else 'NOT converged'} (demand moved "
        f"{o.trace['max_rel_change_demand'].iloc[-1]:.2%} in the last step).",
        "",
        "Answered contacts per month: published vs simulated (check run, "
        f"{s.check_reps} replications)",
        _fmt_table(tab),
        "",
        "Totals 2020",
        _fmt_table(o.totals),
        "",
        "Goodness of fit (fitted means vs published counts)",
        _fmt_table(o.gof),
        "",
        "Parameters (95% parametric-bootstrap percentile intervals; response held fixed)",
        _fmt_table(ptab),
        "",
        "Behaviour calibration, Sep-Dec 2020 (targets: 40-45% answered, 3-4 attempts/caller)",
        _fmt_table(cal_rows[cal_cols]),
        "",
        "Sep-Dec KPIs of the fitted scenario (check run)",
        _fmt_table(o.sepdec.iloc[[0]][["answered", "answer_rate_caller", "answer_rate_attempt",
                                       "answer_rate_attempt_all", "mean_attempts",
                                       "mean_attempts_open", "utilisation"]]),
        "",
        "February 2020 campaign window (10-27 Feb, all channels)",
        _fmt_table(o.window),
        "",
        "Counterfactuals: answered in 2020",
        _fmt_table(o.counterfactuals),
        "",
        "Profiles of fixed assumptions (refits with the response held fixed)",
        _fmt_table(o.fixed_profiles),
    ]
    if len(o.lag_profile):
        parts += ["", "Lockdown response lag: profile log-likelihood (round 1)",
                  _fmt_table(o.lag_profile[["lockdown_lag_days", "loglik", "delta_loglik"]])]
    if len(o.hour_sensitivity):
        parts += ["", "Hour-profile sensitivity (phone; behaviour held fixed, demand refitted)",
                  _fmt_table(o.hour_sensitivity)]
    if len(o.delay_sensitivity):
        d = o.delay_sensitivity
        parts += ["", "Redial-delay sensitivity (calibration of the chosen reading per delay)",
                  _fmt_table(d[[c for c in cal_cols if c in d.columns]])]
    return "\n".join(parts) + "\n"


def write_report(o: Outcome) -> Path:
    s = o.settings

    def fill(tmp: Path) -> None:
        scn = build_scenario(s.base, o.spec, o.best.params, o.behaviour, o.base)
        (tmp / "scenario.yaml").write_text(scn.to_yaml(), encoding="utf-8")
        (tmp / "meta.json").write_text(json.dumps(o.meta, indent=2, default=str), encoding="utf-8")
        (tmp / "fit.txt").write_text(report_text(o), encoding="utf-8")
        o.monthly.to_csv(tmp / "monthly.csv", index=False)
        o.totals.to_csv(tmp / "totals.csv", index=False)
        o.gof.to_csv(tmp / "goodness_of_fit.csv", index=False)
        (tmp / "goodness_of_fit.txt").write_text(_fmt_table(o.gof) + "\n", encoding="utf-8")
        o.params_table.to_csv(tmp / "parameters.csv", index=False)
        (tmp / "parameters.txt").write_text(_fmt_table(o.params_table) + "\n", encoding="utf-8")
        cal_rows = pd.DataFrame([c.row(o.base) for c in o.calibrations.values()])
        cal_rows.to_csv(tmp / "calibration.csv", index=False)
        (tmp / "calibration.txt").write_text(_fmt_table(cal_rows) + "\n", encoding="utf-8")
        o.sepdec.to_csv(tmp / "sep_dec.csv", index=False)
        o.calibration_trace.to_csv(tmp / "calibration_trace.csv", index=False)
        o.trace.to_csv(tmp / "iterations.csv", index=False)
        o.window.to_csv(tmp / "campaign_window.csv", index=False)
        o.counterfactuals.to_csv(tmp / "counterfactuals.csv", index=False)
        o.fixed_profiles.to_csv(tmp / "fixed_profiles.csv", index=False)
        if len(o.lag_profile):
            o.lag_profile.to_csv(tmp / "lag_profile.csv", index=False)
        if len(o.hour_sensitivity):
            o.hour_sensitivity.to_csv(tmp / "hour_profile_sensitivity.csv", index=False)
            (tmp / "hour_profile_sensitivity.txt").write_text(
                _fmt_table(o.hour_sensitivity) + "\n", encoding="utf-8")
        if len(o.delay_sensitivity):
            o.delay_sensitivity.to_csv(tmp / "redial_delay_sensitivity.csv", index=False)
        # The simulated response the last fit used (answered A at demand E, elasticity).
        pd.DataFrame({"channel": np.repeat(F.CHANNELS, F.N_BINS),
                      "bin": [b for _ in F.CHANNELS for b in (*o.obs.months, "window")],
                      "answered_sim": o.response.A.ravel(), "expected_demand": o.response.E.ravel(),
                      "elasticity": o.response.eps.ravel()}).to_csv(tmp / "response.csv", index=False)
        _figures(o, tmp / "figures")
        # Last, so that the report's own step counts its figures (sim.planning.fit_cost).
        cost = o.meter.table()
        cost.to_csv(tmp / "cost.csv", index=False)
        (tmp / "cost.txt").write_text(
            "CPU and wall seconds and simulations per step of the fit (the report's own step "
            "up to this table)\n" + _fmt_table(cost, "{:,.1f}") + "\n", encoding="utf-8")

    return write_atomic(s.out, fill)


