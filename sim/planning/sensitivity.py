"""One-at-a-time sensitivity of the answer rate and of the ranking of subsidy options.

The calibrated behaviour parameters of the model are uncertain (nothing about them is
published; see README, "Assumptions"). Each parameter below is moved to a low and a high
setting, one at a time, with everything else at its scenario value; every setting is
simulated on common random numbers (same seed and replications), so the difference
between settings is not blurred by sampling noise. The same change is applied to the
base scenario and to every subsidy option, each on top of its own values.

Parameters, settings and why (the ranges are judgement calls, stated so they can be
argued with):

* ``handling_time``: talk and wrap-up time x0.8 / x1.2 (every draw scaled: the mean and
  the spread move together, the coefficient of variation stays). The hand-set one-hour
  line-holding time of the 2020 baseline was chosen to reproduce about half of the
  attempts being lost; +-20% is the spread of plausible helpline call lengths around it.
* ``redial_probability``: the redial probability after every attempt shifted by -0.10 /
  +0.10 (clipped to [0, 1]). The seeds give 3-4 attempts per caller (Proximus sample,
  seed 000), which the baseline's 0.75-0.90 reproduces only roughly.
* ``redial_delay``: the delay before a redial x0.5 / x2 (a quick redial versus trying
  again later in the day).
* ``hour_profile``: the hour-of-day shape of phone demand, which is not observable
  (seed 000 answer 2): ``flat`` (the same demand in every opening hour) and
  ``morning_heavy`` (twice the demand per hour before 13:00 as after), each keeping the
  share of demand that falls in the opening hours (and the profile outside them) as in
  the scenario, so only the shape within the opening hours changes.
* ``option0_share``: the share choosing option 0 x0.5 / x2 (0.05 / 0.20 around the
  assumed 0.10: not published).
* ``message_share``: the share of busy-tone callers leaving a message x0.5 / x2
  (0.10 / 0.40 around the assumed 0.20: not published).

Pure pieces here (distribution scaling, profile alternatives, rankings, Kendall tau,
tables) are tested without simulating; :mod:`sim.cli.sensitivity` runs them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.config import Scenario, WeeklyHours
from sim.config.distributions import Distribution, Empirical, Exponential, Fixed, Gamma, LogNormal
from sim.experiments.replications import t_interval
from sim.results.proportions import is_proportion

# ---------------------------------------------------------------------------------------
# Pure parameter changes
# ---------------------------------------------------------------------------------------


def scale_distribution(dist: Distribution, factor: float) -> Distribution:
    """The distribution of ``factor x X``: the mean (and sd) scaled, the shape kept.

    exponential: mean; lognormal and gamma: mean and sd (so the coefficient of variation
    and the fitted shape stay); fixed: value; empirical: every value (weights kept). With
    the same random stream every draw is exactly ``factor`` times the original draw, so
    scaled scenarios keep their common random numbers.
    """
    if factor <= 0:
        raise ValueError(f"scale factor must be > 0, got {factor}")
    if isinstance(dist, Exponential):
        return Exponential(dist="exponential", mean=dist.mean * factor)
    if isinstance(dist, LogNormal):
        return LogNormal(dist="lognormal", mean=dist.mean * factor, sd=dist.sd * factor)
    if isinstance(dist, Gamma):
        return Gamma(dist="gamma", mean=dist.mean * factor, sd=dist.sd * factor)
    if isinstance(dist, Fixed):
        return Fixed(dist="fixed", value=dist.value * factor)
    if isinstance(dist, Empirical):
        return Empirical(dist="empirical", values=[v * factor for v in dist.values],
                         weights=None if dist.weights is None else list(dist.weights))
    raise TypeError(f"unknown distribution {dist!r}")


def shift_probabilities(probs: list[float], delta: float) -> list[float]:
    """Every probability plus ``delta``, clipped to [0, 1]."""
    return [float(min(1.0, max(0.0, p + delta))) for p in probs]


def open_hours_mask(hours: WeeklyHours) -> np.ndarray:
    """24 booleans: hour h is open on at least one weekday (any overlap with the hour)."""
    mask = np.zeros(24, dtype=bool)
    for wd in range(7):
        for a, b in hours.minutes(wd):
            mask[a // 60:(b + 59) // 60] = True
    return mask


def profile_alternative(profile: list[float], hours: WeeklyHours, kind: str,
                        morning_end_hour: int = 13, morning_ratio: float = 2.0) -> list[float]:
    """An alternative hour-of-day profile with the same weight in the open hours.

    ``default``: unchanged. ``flat``: equal weight in every open hour.
    ``morning_heavy``: open hours before ``morning_end_hour`` get ``morning_ratio`` times
    the weight of the later open hours. The weights outside the open hours are kept,
    and the open hours' total is kept, so the share of demand meeting a closed helpline
    does not change: only the shape within the opening hours does.
    """
    p = np.asarray(profile, dtype=float)
    if kind == "default":
        return [float(x) for x in p]
    mask = open_hours_mask(hours)
    if not mask.any():
        raise ValueError("the channel has no opening hours")
    if kind == "flat":
        shape = np.ones(24)
    elif kind == "morning_heavy":
        shape = np.where(np.arange(24) < morning_end_hour, morning_ratio, 1.0)
    else:
        raise ValueError(f"unknown hour profile {kind!r}: default, flat or morning_heavy")
    out = p.copy()
    out[mask] = shape[mask] / shape[mask].sum() * p[mask].sum()
    return [float(x) for x in out]


@dataclass(frozen=True)
class Setting:
    """One value of one parameter: a label and the change it makes to a scenario dict."""

    parameter: str
    level: str  # "base", "low" or "high"
    label: str
    change: Callable[[dict, Scenario], None] | None  # edits the dumped scenario in place


def _scale(path: tuple[str, ...], factor: float) -> Callable[[dict, Scenario], None]:
    def change(d: dict, scn: Scenario) -> None:
        obj = scn
        node = d
        for key in path[:-1]:
            obj, node = getattr(obj, key), node[key]
        value = getattr(obj, path[-1])
        if isinstance(value, list):  # attempt-dependent redial delays: scale each
            node[path[-1]] = [scale_distribution(v, factor).model_dump() for v in value]
        else:
            node[path[-1]] = scale_distribution(value, factor).model_dump()
    return change


def _handling(factor: float) -> Callable[[dict, Scenario], None]:
    talk, wrap = _scale(("phone", "talk_min"), factor), _scale(("phone", "wrap_up_min"), factor)

    def change(d: dict, scn: Scenario) -> None:
        talk(d, scn)
        wrap(d, scn)
    return change


def _redial_shift(delta: float) -> Callable[[dict, Scenario], None]:
    def change(d: dict, scn: Scenario) -> None:
        probs = scn.phone.redial.probability
        d["phone"]["redial"]["probability"] = shift_probabilities(probs, delta)
    return change


def _profile(kind: str) -> Callable[[dict, Scenario], None]:
    def change(d: dict, scn: Scenario) -> None:
        d["demand"]["phone"]["hour_profile"] = profile_alternative(
            scn.demand.phone.hour_profile, scn.phone.opening_hours, kind)
    return change


def _prob_scale(path: tuple[str, ...], factor: float) -> Callable[[dict, Scenario], None]:
    def change(d: dict, scn: Scenario) -> None:
        obj, node = scn, d
        for key in path[:-1]:
            obj, node = getattr(obj, key), node[key]
        node[path[-1]] = float(min(1.0, getattr(obj, path[-1]) * factor))
    return change


# (parameter, description, (low label, low change), (high label, high change))
PARAMETERS: list[tuple[str, str, tuple[str, Callable], tuple[str, Callable]]] = [
    ("handling_time", "talk + wrap-up time (scaled)",
     ("x0.8", _handling(0.8)), ("x1.2", _handling(1.2))),
    ("redial_probability", "redial probability (shifted, clipped to [0, 1])",
     ("-0.10", _redial_shift(-0.10)), ("+0.10", _redial_shift(0.10))),
    ("redial_delay", "delay before a redial (scaled)",
     ("x0.5", _scale(("phone", "redial", "delay_min"), 0.5)),
     ("x2", _scale(("phone", "redial", "delay_min"), 2.0))),
    ("hour_profile", "hour-of-day profile within opening hours",
     ("flat", _profile("flat")), ("morning_heavy", _profile("morning_heavy"))),
    ("option0_share", "share choosing option 0 (scaled)",
     ("x0.5", _prob_scale(("phone", "option0", "probability"), 0.5)),
     ("x2", _prob_scale(("phone", "option0", "probability"), 2.0))),
    ("message_share", "share of busy-tone callers leaving a message (scaled)",
     ("x0.5", _prob_scale(("phone", "answering_machine", "message_probability"), 0.5)),
     ("x2", _prob_scale(("phone", "answering_machine", "message_probability"), 2.0))),
]
PARAMETER_NAMES = [p[0] for p in PARAMETERS]


def settings(parameters: list[str] | None = None) -> list[Setting]:
    """The base setting, then low and high of every (chosen) parameter."""
    chosen = parameters or PARAMETER_NAMES
    unknown = [p for p in chosen if p not in PARAMETER_NAMES]
    if unknown:
        raise ValueError(f"unknown parameter(s) {unknown}; choose from {PARAMETER_NAMES}")
    out = [Setting("base", "base", "base", None)]
    for name, _desc, (lo_label, lo), (hi_label, hi) in PARAMETERS:
        if name in chosen:
            out += [Setting(name, "low", lo_label, lo), Setting(name, "high", hi_label, hi)]
    return out


def apply_setting(scn: Scenario, setting: Setting) -> Scenario:
    """The scenario with the setting's change applied on top of its own values."""
    if setting.change is None:
        return scn
    d = scn.model_dump(by_alias=True)
    setting.change(d, scn)
    return Scenario.model_validate(d)


def describe(scn: Scenario, setting: Setting) -> str:
    """What the setting means for this scenario in its own units (for the tables)."""
    s = apply_setting(scn, setting)
    p = s.phone
    return {
        "base": "scenario values",
        "handling_time": f"mean {p.talk_min.mean_min + p.wrap_up_min.mean_min:.0f} min",
        "redial_probability": "[" + ", ".join(f"{x:.2f}" for x in p.redial.probability) + "]",
        "redial_delay": f"mean {p.redial.delay_after(1).mean_min:.1f} min",
        "hour_profile": setting.label,
        "option0_share": f"{p.option0.probability:.2f}",
        "message_share": f"{p.answering_machine.message_probability:.2f}",
    }[setting.parameter]


# ---------------------------------------------------------------------------------------
# Analysis of the per-replication results
# ---------------------------------------------------------------------------------------


SETTING_KEYS = ["parameter", "level", "setting"]


def base_values(per_rep: pd.DataFrame, base: str, kpi: str = "answer_rate_caller") -> pd.DataFrame:
    """KPI of the base scenario per setting: mean and 95% CI.

    ``per_rep``: columns ``parameter, level, setting, scenario, replication`` and KPIs.
    """
    rows = []
    b = per_rep[per_rep["scenario"] == base]
    for (param, level, label), g in b.groupby(["parameter", "level", "setting"], sort=False):
        m, lo, hi = t_interval(g[kpi].to_numpy(), proportion=is_proportion(kpi))
        rows.append({"parameter": param, "level": level, "setting": label, "mean": m,
                     "ci_low": lo, "ci_high": hi})
    return pd.DataFrame(rows)


def tornado_table(values: pd.DataFrame) -> pd.DataFrame:
    """One row per parameter: the KPI at its low and high setting, the base value and the
    swing ``width`` = max - min of (low, base, high); sorted widest first."""
    base = float(values.loc[values["level"] == "base", "mean"].iloc[0])
    rows = []
    for param, g in values[values["level"] != "base"].groupby("parameter", sort=False):
        lo = g[g["level"] == "low"].iloc[0]
        hi = g[g["level"] == "high"].iloc[0]
        span = [lo["mean"], hi["mean"], base]
        rows.append({"parameter": param, "low_setting": lo["setting"],
                     "high_setting": hi["setting"], "base": base, "low": lo["mean"],
                     "high": hi["mean"],
                     "low_ci_low": lo["ci_low"], "low_ci_high": lo["ci_high"],
                     "high_ci_low": hi["ci_low"], "high_ci_high": hi["ci_high"],
                     "width": max(span) - min(span)})
    out = pd.DataFrame(rows).sort_values("width", ascending=False, kind="stable")
    return out.reset_index(drop=True)


def option_gains(per_rep: pd.DataFrame, base: str) -> pd.DataFrame:
    """Per setting and option: paired gain in answer rate per caller over the base
    scenario under the same setting (mean, 95% CI), extra cost, extra callers answered
    (mean, CI) and cost per extra caller answered (ratio of the means; NaN when the
    option answers no more callers on average). ``extra_callers_shown`` says whether the
    extra callers' CI lies above zero (otherwise the ratio is not established)."""
    rows = []
    keys = ["parameter", "level", "setting"]
    for (param, level, label), g in per_rep.groupby(keys, sort=False):
        b = g[g["scenario"] == base].set_index("replication")
        for opt, o in g[g["scenario"] != base].groupby("scenario", sort=False):
            o = o.set_index("replication").loc[b.index]
            gain = (o["answer_rate_caller"] - b["answer_rate_caller"]).to_numpy()
            callers = (o["callers_answered"] - b["callers_answered"]).to_numpy()
            cost = (o["cost_total"] - b["cost_total"]).to_numpy()
            gm, glo, ghi = t_interval(gain)
            cm, clo, chi = t_interval(callers)
            k = float(np.mean(cost))
            per = k / cm if cm > 0 else float("nan")
            rows.append({"parameter": param, "level": level, "setting": label, "option": opt,
                         "gain": gm, "gain_low": glo, "gain_high": ghi, "extra_cost": k,
                         "extra_callers": cm, "extra_callers_low": clo, "extra_callers_high": chi,
                         "cost_per_extra_caller": per, "extra_callers_shown": bool(clo > 0)})
    return pd.DataFrame(rows)


def rank_options(g: pd.DataFrame, by: str) -> list[str]:
    """Options of one setting, best first.

    ``by="gain"``: largest gain in answer rate per caller first.
    ``by="cost"``: lowest cost per extra caller answered first; options that answer no
    more callers on average (NaN cost per caller) last; ties (e.g. several
    options that cost nothing) broken by the larger gain.
    """
    if by == "gain":
        order = g.sort_values(["gain", "option"], ascending=[False, True], kind="stable")
    elif by == "cost":
        key = g["cost_per_extra_caller"].fillna(np.inf)
        order = g.assign(_k=key, _g=-g["gain"]).sort_values(["_k", "_g", "option"], kind="stable")
    else:
        raise ValueError(f"unknown ranking criterion {by!r}: gain or cost")
    return list(order["option"])


def kendall_tau(reference: list[str], other: list[str]) -> float:
    """Kendall's tau-b between two rankings of the same options (1: identical order,
    -1: reversed). NaN with fewer than two options."""
    if sorted(reference) != sorted(other):
        raise ValueError(f"rankings hold different options: {reference} vs {other}")
    if len(reference) < 2:
        return float("nan")
    pos = {o: i for i, o in enumerate(other)}
    from scipy import stats  # here: a slow import the simulation never needs

    tau = stats.kendalltau(np.arange(len(reference)), [pos[o] for o in reference]).statistic
    return float(tau)


def ranking_table(gains: pd.DataFrame) -> pd.DataFrame:
    """Per setting and criterion: the ranking (``a > b > c``), its Kendall tau against the
    base setting's ranking, and whether the top option is the base setting's top option."""
    rows = []
    for by in ("gain", "cost"):
        ref = rank_options(gains[gains["level"] == "base"], by)
        for (param, level, label), g in gains.groupby(SETTING_KEYS, sort=False):
            r = rank_options(g, by)
            rows.append({"criterion": by, "parameter": param, "level": level, "setting": label,
                         "ranking": " > ".join(r), "kendall_tau": kendall_tau(ref, r),
                         "top": r[0], "top_same": r[0] == ref[0]})
    return pd.DataFrame(rows)


def ranks_long(gains: pd.DataFrame, by: str) -> pd.DataFrame:
    """Rank (1 = best) of each option under each setting, for the ranking chart."""
    rows = []
    for (param, level, label), g in gains.groupby(["parameter", "level", "setting"], sort=False):
        for i, opt in enumerate(rank_options(g, by), start=1):
            rows.append({"parameter": param, "level": level, "setting": label, "option": opt,
                         "rank": i})
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------------
# Figures (data and an axis in, the axis out)
# ---------------------------------------------------------------------------------------


def plot_tornado(table: pd.DataFrame, ax, label: str = "answer rate per caller"):
    """Tornado chart: per parameter a bar from the base value to the low setting's value
    and one to the high setting's value, widest swing on top; settings written at the
    bar ends. ``table`` as returned by :func:`tornado_table`."""
    t = table.reset_index(drop=True)
    base = float(t["base"].iloc[0]) if len(t) else 0.0
    y = np.arange(len(t))[::-1]
    for yi, (_, r) in zip(y, t.iterrows(), strict=True):
        for end, name, colour in [("low", "low_setting", "#4C72B0"),
                                  ("high", "high_setting", "#DD8452")]:
            v = r[end]
            ax.barh(yi, v - base, left=base, color=colour, height=0.6,
                    label=f"{end} setting" if yi == y[0] else None)
            ax.text(v, yi, f" {r[name]} ", va="center",
                    ha="left" if v >= base else "right", fontsize=8)
    ax.axvline(base, color="black", lw=1)
    ax.set_yticks(y, t["parameter"])
    ax.set_xlabel(f"{label} (base {base:.1%})")
    ax.xaxis.set_major_formatter(lambda x, _pos: f"{x:.0%}")
    lo = min(t[["low", "high"]].min().min(), base) if len(t) else base
    hi = max(t[["low", "high"]].max().max(), base) if len(t) else base
    pad = (hi - lo) * 0.25 or 0.01
    ax.set_xlim(lo - pad, hi + pad)
    ax.set_title("Sensitivity of the answer rate per caller (one parameter at a time)")
    ax.legend(loc="lower right", fontsize=8)
    return ax


def plt_colours() -> list[str]:
    """A fixed palette, so an option keeps its colour across panels (sorted by name)."""
    return ["#4C72B0", "#DD8452", "#55A868", "#C44E52", "#8172B2", "#937860", "#DA8BC3",
            "#8C8C8C", "#CCB974", "#64B5CD"]


def plot_ranking(ranks: pd.DataFrame, ax, title: str = "Ranking of the options"):
    """Bump chart: rank of every option (1 = best, top) under every setting (x).
    ``ranks`` as returned by :func:`ranks_long`."""
    cols = list(dict.fromkeys(zip(ranks["parameter"], ranks["setting"], strict=True)))
    x = {c: i for i, c in enumerate(cols)}
    colours = plt_colours()
    for i, opt in enumerate(sorted(ranks["option"].unique())):
        g = ranks[ranks["option"] == opt]
        xs = [x[(p, s)] for p, s in zip(g["parameter"], g["setting"], strict=True)]
        ax.plot(xs, g["rank"], "-o", ms=4, label=opt, color=colours[i % len(colours)])
    n = int(ranks["rank"].max()) if len(ranks) else 1
    ax.set_yticks(range(1, n + 1))
    ax.set_ylim(n + 0.5, 0.5)
    ax.set_xticks(range(len(cols)), [f"{p}\n{s}" if p != "base" else "base" for p, s in cols],
                  rotation=60, ha="right", fontsize=7)
    ax.set_ylabel("rank (1 = best)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5))
    return ax
