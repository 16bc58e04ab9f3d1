"""Morris screening of the sensitivity parameters (``sensitivity --screen morris``).

The one-at-a-time design of :mod:`sim.planning.sensitivity` simulates every parameter's
low and high setting on the scenario *and* on every subsidy option: 13 settings x 7
scenarios. Most of that is spent on parameters that hardly move anything. A Morris
screening (elementary effects, Morris 1991; SALib's sampler and analysis) first asks
which parameters move the base scenario's answer rate per caller at all, at a cost of
``trajectories x (parameters + 1)`` points on the base scenario only; the tornado and
the option ranking are then simulated for the kept parameters only.

Each parameter becomes a continuous factor ``x`` on [0, 1] that spans exactly its
one-at-a-time low (``x = 0``) .. high (``x = 1``) range, so the screening and the
tornado speak of the same ranges:

* ``handling_time``: talk and wrap-up time x (0.8 .. 1.2), linear in ``x``;
* ``redial_probability``: every redial probability shifted by -0.10 .. +0.10, linear;
* ``redial_delay``: delay before a redial x 2^(2x - 1), i.e. 0.5 .. 2 on a log scale
  (``x = 0.5``: unchanged);
* ``hour_profile``: a mix weight: 0 = flat, 0.5 = the scenario's own profile,
  1 = morning_heavy, linear between neighbours (all three keep the open hours' weight,
  so every mix does too);
* ``option0_share`` and ``message_share``: x 2^(2x - 1) (0.5 .. 2, log scale), clipped
  to 1 as in the one-at-a-time settings.

The changes reuse the one-at-a-time change factories, so an end point of a factor gives
exactly (the same dumped dict) the scenario of that parameter's low or high setting.

Pure pieces (factor values, :func:`apply_point`, the design, the analysis, the choice
of kept factors, the figure) are here and tested without simulating;
:mod:`sim.cli.sensitivity` runs them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from sim.config import Scenario
from sim.planning.sensitivity import (
    PARAMETER_NAMES,
    _handling,
    _prob_scale,
    _redial_shift,
    _scale,
    profile_alternative,
)

LEVELS = 4  # Morris grid levels p: x in {0, 1/3, 2/3, 1}; the usual choice (Saltelli et al. 2004)
BOOTSTRAP = 1000  # resamples for mu*'s confidence interval (SALib's default is 100)


def _lerp(lo: float, hi: float, x: float) -> float:
    # (1 - x) lo + x hi rather than lo + x (hi - lo): exact at both ends (0.8 + 0.4 is not 1.2)
    return (1.0 - x) * lo + x * hi


def _log_factor(x: float) -> float:
    """0.5 .. 2 on a log scale: 2^(2x - 1); exactly 0.5, 1 and 2 at x = 0, 0.5, 1."""
    return float(2.0 ** (2.0 * x - 1.0))


def factor_values(x: Sequence[float]) -> dict[str, float]:
    """What a point ``x`` (six values on [0, 1], in :data:`PARAMETER_NAMES` order) means:
    handling, delay, option-0 and message factors (multipliers), redial shift
    (probability points) and the hour-profile mix weight (0 flat, 0.5 own, 1 morning)."""
    x = check_point(x)
    v = dict(zip(PARAMETER_NAMES, x, strict=True))
    return {"handling_time": _lerp(0.8, 1.2, v["handling_time"]),
            "redial_probability": _lerp(-0.10, 0.10, v["redial_probability"]),
            "redial_delay": _log_factor(v["redial_delay"]),
            "hour_profile": float(v["hour_profile"]),
            "option0_share": _log_factor(v["option0_share"]),
            "message_share": _log_factor(v["message_share"])}


def check_point(x: Sequence[float]) -> list[float]:
    """The point as six floats; ValueError unless six values on [0, 1]."""
    x = [float(v) for v in x]
    if len(x) != len(PARAMETER_NAMES):
        raise ValueError(f"a point has {len(PARAMETER_NAMES)} factors ({PARAMETER_NAMES}), got {len(x)}")
    bad = [n for n, v in zip(PARAMETER_NAMES, x, strict=True) if not 0.0 <= v <= 1.0]
    if bad:
        raise ValueError(f"factor(s) {bad} outside [0, 1]: {x}")
    return x


def mixed_profile(profile: list[float], hours, w: float) -> list[float]:
    """Hour profile at mix weight ``w``: flat (0) .. the scenario's own (0.5) ..
    morning_heavy (1), linear between neighbours (see
    :func:`sim.planning.sensitivity.profile_alternative`). Exactly each of the three at
    0, 0.5 and 1."""
    if not 0.0 <= w <= 1.0:
        raise ValueError(f"hour-profile mix weight must be in [0, 1], got {w}")
    own = np.asarray(profile_alternative(profile, hours, "default"))
    if w <= 0.5:
        other, a = np.asarray(profile_alternative(profile, hours, "flat")), 1.0 - 2.0 * w
    else:
        other, a = np.asarray(profile_alternative(profile, hours, "morning_heavy")), 2.0 * w - 1.0
    return [float(v) for v in a * other + (1.0 - a) * own]


def _profile_mix(w: float) -> Callable[[dict, Scenario], None]:
    def change(d: dict, scn: Scenario) -> None:
        d["demand"]["phone"]["hour_profile"] = mixed_profile(
            scn.demand.phone.hour_profile, scn.phone.opening_hours, w)
    return change


def point_changes(x: Sequence[float]) -> list[Callable[[dict, Scenario], None]]:
    """The six changes of point ``x`` (the one-at-a-time factories at the point's values)."""
    f = factor_values(x)
    return [_handling(f["handling_time"]),
            _redial_shift(f["redial_probability"]),
            _scale(("phone", "redial", "delay_min"), f["redial_delay"]),
            _profile_mix(f["hour_profile"]),
            _prob_scale(("phone", "option0", "probability"), f["option0_share"]),
            _prob_scale(("phone", "answering_machine", "message_probability"), f["message_share"])]


def apply_point(scn: Scenario, x: Sequence[float]) -> Scenario:
    """The scenario with all six factors of point ``x`` applied at once, each on top of
    the scenario's own values (the changes touch different fields, so their order does
    not matter)."""
    d = scn.model_dump(by_alias=True)
    for change in point_changes(x):
        change(d, scn)
    return Scenario.model_validate(d)


# ---------------------------------------------------------------------------------------
# The design and its analysis (SALib)
# ---------------------------------------------------------------------------------------


def problem() -> dict:
    """SALib's problem: the six factors, each on [0, 1]."""
    return {"num_vars": len(PARAMETER_NAMES), "names": list(PARAMETER_NAMES),
            "bounds": [[0.0, 1.0]] * len(PARAMETER_NAMES)}


def morris_design(trajectories: int, seed: int) -> np.ndarray:
    """Morris's sample: ``trajectories x 7`` points (rows) of six factors, on the
    :data:`LEVELS`-level grid, drawn with ``seed`` (the same seed gives the same design)."""
    if trajectories < 2:
        raise ValueError(f"need at least 2 trajectories, got {trajectories}")
    from SALib.sample import morris  # here: a slow import the other commands never need

    return morris.sample(problem(), trajectories, num_levels=LEVELS, seed=seed)


def morris_table(design: np.ndarray, y: Sequence[float], seed: int) -> pd.DataFrame:
    """Elementary-effects statistics per factor from SALib's analysis: ``mu`` (mean
    effect of moving the factor across its range's step, signed), ``mu_star`` (mean
    absolute effect: the importance), ``sigma`` (spread of the effects: interactions or
    non-linearity) and ``mu_star_conf`` (half-width of mu*'s 95% bootstrap interval,
    :data:`BOOTSTRAP` resamples drawn with ``seed``). Effects are in the units of ``y``
    per unit of ``x`` (the factor's whole low..high range)."""
    from SALib.analyze import morris

    res = morris.analyze(problem(), np.asarray(design, dtype=float), np.asarray(y, dtype=float),
                         num_resamples=BOOTSTRAP, conf_level=0.95, num_levels=LEVELS, seed=seed)
    return pd.DataFrame({"parameter": list(res["names"]),
                         "mu": np.asarray(res["mu"], dtype=float),
                         "mu_star": np.asarray(res["mu_star"], dtype=float),
                         "sigma": np.asarray(res["sigma"], dtype=float),
                         "mu_star_conf": np.asarray(res["mu_star_conf"], dtype=float)})


def keep_factors(table: pd.DataFrame, keep: int) -> list[str]:
    """The ``keep`` factors with the largest mu*, in :data:`PARAMETER_NAMES` order (ties:
    the earlier parameter). Keeping a fixed number is a stated assumption: it bounds the
    second stage's cost in advance ((1 + 2 keep) settings x scenarios x replications)."""
    if keep < 1:
        raise ValueError(f"keep at least 1 factor, got {keep}")
    order = table.assign(_i=[PARAMETER_NAMES.index(p) for p in table["parameter"]])
    top = order.sort_values(["mu_star", "_i"], ascending=[False, True], kind="stable")
    chosen = set(top["parameter"].iloc[:keep])
    return [p for p in PARAMETER_NAMES if p in chosen]


def not_separated(table: pd.DataFrame, kept: Sequence[str]) -> list[str]:
    """Screened-out factors whose mu* interval (mu* + conf) reaches the smallest kept mu*:
    the screening could not tell them apart from a kept factor."""
    k = table[table["parameter"].isin(kept)]
    out = table[~table["parameter"].isin(kept)]
    if k.empty or out.empty:
        return []
    floor = float(k["mu_star"].min())
    return list(out.loc[out["mu_star"] + out["mu_star_conf"] >= floor, "parameter"])


def plot_morris(table: pd.DataFrame, ax, label: str = "answer rate per caller"):
    """mu* (x, with its 95% bootstrap interval) against sigma (y), one labelled point per
    factor, kept factors filled; lines sigma = mu* and sigma = 0.5 mu* help read
    interaction (above) against a mainly linear effect (below). ``table`` as returned by
    :func:`morris_table` with a boolean ``kept`` column."""
    kept = table["kept"].astype(bool) if "kept" in table else pd.Series(True, index=table.index)
    for sel, face, name in [(kept, "#4C72B0", "kept (tornado)"), (~kept, "white", "screened out")]:
        t = table[sel]
        if t.empty:
            continue
        ax.errorbar(t["mu_star"], t["sigma"], xerr=t["mu_star_conf"], fmt="o", ms=7,
                    mfc=face, mec="#4C72B0", ecolor="#999999", capsize=3, label=name)
    # Labels alternately above and below, in order of mu*: close points stay readable.
    for i, (_, r) in enumerate(table.sort_values("mu_star", kind="stable").iterrows()):
        ax.annotate(r["parameter"], (r["mu_star"], r["sigma"]), textcoords="offset points",
                    xytext=(6, 5 if i % 2 == 0 else -12), fontsize=8)
    right = float(max((table["mu_star"] + table["mu_star_conf"]).max(), 1e-6))
    up = float(max(table["sigma"].max(), 1e-6))
    xs = np.array([0.0, right * 1.25])
    ax.plot(xs, xs, ls="--", lw=0.8, color="grey")
    ax.plot(xs, 0.5 * xs, ls=":", lw=0.8, color="grey")
    ax.set_xlim(0, right * 1.25)
    ax.set_ylim(0, up * 1.4)
    ax.set_xlabel(f"mu* (mean |elementary effect| on the {label}, over the factor's range)")
    ax.set_ylabel("sigma (spread of the effects)")
    ax.xaxis.set_major_formatter(lambda v, _pos: f"{v:.1%}")
    ax.yaxis.set_major_formatter(lambda v, _pos: f"{v:.1%}")
    ax.set_title("Morris screening (dashed: sigma = mu*, dotted: sigma = mu*/2)")
    ax.legend(fontsize=8, loc="upper left")
    return ax
