"""Scores of the readings of the evidence, and which one the main run should use (issue 17).

Every reading with a fitted scenario (``fit --reading NAME`` wrote
``scenarios/fitted/NAME/fitted_2020.yaml``) is scored three ways, each shown, none hidden:

* **in-sample**: 2020 answered contacts per month and channel against the published ones
  (seed 000): mean absolute relative error over the 36 months x channels, and the
  Sep-Dec 2020 answer rate in the reading's own sense (``fit_target``: per caller or per
  attempt) and attempts per caller against the published 40-45% and 3-4 (seed 000). From
  the fit's report folder (``results/fit/NAME``: ``monthly.csv``, ``sep_dec.csv``) when it
  is there, else by simulating the fitted scenario;
* **backtest** (:mod:`sim.planning.backtest`, nothing refitted): the mean absolute error
  of the eight targets that are not sums of others (2017-2019 phone + e-mail, 2019 chat,
  the 10-27 February 2019 window, 2024 phone, chat and e-mail), with the 2017-2019
  totals, the window, the 2024 total and the 2024 channel split shown beside it;
* **plausibility of the parameters** (:func:`plausibility`): talk + wrap-up
  (registration) per answered call at most 45 minutes (issue 17), redial probability
  after a failed attempt at most 0.95, new phone callers per answered call in 2020
  between 1 and 3 (the last two: assumptions).

:func:`choose` then picks the reading for the main run by a fixed rule (docs/readings.md):
plausible parameters first; among those the lowest backtest error; backtest errors within
:data:`BACKTEST_TIE_PTS` points of the lowest count as a tie, settled by the lowest
in-sample error. The scoring functions are pure (frames and scenarios in, numbers out);
:func:`score_readings` runs what is missing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sim.config import Scenario, load_scenario
from sim.config.reading import Reading

CHANNELS = ("phone", "chat", "email")
TARGET_RATE = (0.40, 0.45)  # seed 000: "slechts tussen de 40 en 45% van de oproepen"
TARGET_ATTEMPTS = (3.0, 4.0)  # seed 000: "gemiddeld 3 à 4 pogingen"
MAX_HANDLING_MIN = 45.0  # issue 17: more than 45 min of talk and registration per call is implausible
MAX_REDIAL_PROBABILITY = 0.95  # assumption: above it nearly every caller retries without end
DEMAND_RATIO = (1.0, 3.0)  # assumption: new phone callers per answered call in 2020
BACKTEST_TIE_PTS = 1.0  # backtest errors this close (percentage points) are a tie
RATE_KPI = {"caller": "answer_rate_caller", "attempt": "answer_rate_attempt"}
# Backtest targets that are not sums of other targets (so no year or channel counts twice).
BACKTEST_PARTS = ("2017 phone + e-mail", "2018 phone + e-mail", "2019 phone + e-mail", "2019 chat",
                  "10-27 Feb 2019", "2024 phone", "2024 chat", "2024 e-mail")

SCORE_COLUMNS = [
    "reading", "fit_target", "fitted", "in_sample_source",
    "insample_error_pct", "insample_phone_pct", "insample_chat_pct", "insample_email_pct",
    "sepdec_rate", "sepdec_rate_in_range", "sepdec_attempts", "sepdec_attempts_in_range",
    "backtest_error_pct", "backtest_2017_2019_total_pct", "backtest_feb2019_pct",
    "backtest_2024_total_pct", "backtest_2024_split_pts",
    "handling_min", "redial_probability", "demand_ratio", "plausible", "flags", "notes",
]


# ---------------------------------------------------------------------------------------
# Pure scoring
# ---------------------------------------------------------------------------------------


def in_sample(monthly: pd.DataFrame, sepdec: dict, fit_target: str) -> dict:
    """In-sample scores from ``monthly`` (``channel, month, observed, simulated``: answered
    contacts per month) and ``sepdec`` (Sep-Dec 2020 means: ``answer_rate_caller``,
    ``answer_rate_attempt``, ``mean_attempts``).

    Errors in percent: mean over months of ``|simulated - observed| / observed``, per
    channel and over all 36 cells. The Sep-Dec rate is the one of ``fit_target``.
    """
    rel = (monthly["simulated"] - monthly["observed"]).abs() / monthly["observed"] * 100.0
    per = rel.groupby(monthly["channel"]).mean()
    rate = float(sepdec[RATE_KPI[fit_target]])
    att = float(sepdec["mean_attempts"])
    return {"insample_error_pct": float(rel.mean()),
            **{f"insample_{c}_pct": float(per.get(c, np.nan)) for c in CHANNELS},
            "sepdec_rate": rate,
            "sepdec_rate_in_range": bool(TARGET_RATE[0] <= round(rate, 4) <= TARGET_RATE[1]),
            "sepdec_attempts": att,
            "sepdec_attempts_in_range": bool(TARGET_ATTEMPTS[0] <= att <= TARGET_ATTEMPTS[1])}


def _rows(table: pd.DataFrame, prefix: str) -> pd.DataFrame:
    return table[table["target"].str.startswith(prefix)]


def backtest_scores(table: pd.DataFrame) -> dict:
    """Backtest scores from a ``backtest.csv`` table (``target, published, simulated,
    error_pct``): the mean absolute error of :data:`BACKTEST_PARTS` (the score), of the
    2017-2019 totals, the February 2019 window and the 2024 total, and the 2024 channel
    split: half the sum over channels of |simulated share - published share|, in
    percentage points (the share of 2024 contacts the model puts in the wrong channel)."""
    parts = pd.concat([_rows(table, p) for p in BACKTEST_PARTS])
    totals = pd.concat([_rows(table, f"{y} total") for y in (2017, 2018, 2019)])
    c24 = pd.concat([_rows(table, f"2024 {c}") for c in ("phone", "chat", "e-mail")])
    sim_share = c24["simulated"] / c24["simulated"].sum()
    pub_share = c24["published"] / c24["published"].sum()
    return {"backtest_error_pct": float(parts["error_pct"].abs().mean()),
            "backtest_2017_2019_total_pct": float(totals["error_pct"].abs().mean()),
            "backtest_feb2019_pct": float(_rows(table, "10-27 Feb 2019")["error_pct"].iloc[0]),
            "backtest_2024_total_pct": float(_rows(table, "2024 total")["error_pct"].iloc[0]),
            "backtest_2024_split_pts": float(50.0 * (sim_share - pub_share).abs().sum())}


def plausibility(scn: Scenario, answered_phone_2020: float) -> dict:
    """Parameters of a fitted scenario and whether each is plausible.

    ``handling_min``: mean talk + wrap-up (registration) of an answered call [min];
    ``redial_probability``: the highest redial probability after a failed attempt;
    ``demand_ratio``: expected new phone callers over the horizon (the rate integral of
    :func:`sim.model.arrivals.hourly_rate`) per published answered phone call
    ``answered_phone_2020``. ``flags`` names every bound crossed (empty: plausible).
    """
    from sim.model.arrivals import hourly_rate

    handling = float(scn.phone.talk_min.mean_min + scn.phone.wrap_up_min.mean_min)
    redial = float(max(scn.phone.redial.probability))
    demand = float(hourly_rate(scn.demand.phone, scn.horizon.start, scn.horizon.days).sum())
    ratio = demand / answered_phone_2020
    flags = []
    if handling > MAX_HANDLING_MIN:
        flags.append(f"talk + wrap-up {handling:.0f} min per answered call > {MAX_HANDLING_MIN:.0f}")
    if redial > MAX_REDIAL_PROBABILITY:
        flags.append(f"redial probability {redial:.3f} > {MAX_REDIAL_PROBABILITY}")
    if not DEMAND_RATIO[0] <= ratio <= DEMAND_RATIO[1]:
        flags.append(f"{ratio:.2f} new callers per answered call outside {DEMAND_RATIO[0]:g}-"
                     f"{DEMAND_RATIO[1]:g}")
    return {"handling_min": handling, "redial_probability": redial, "demand_ratio": ratio,
            "plausible": not flags, "flags": "; ".join(flags)}


def choose(scores: pd.DataFrame, tie_pts: float = BACKTEST_TIE_PTS) -> tuple[str, str]:
    """The reading for the main run and why (one sentence), by the rule of the module
    docstring. ``scores`` needs ``reading, plausible, backtest_error_pct,
    insample_error_pct``."""
    if scores.empty:
        raise ValueError("no reading to choose from")
    pool = scores[scores["plausible"].astype(bool)]
    first = (f"{len(pool)} of {len(scores)} readings have plausible parameters"
             if len(pool) else f"no reading of {len(scores)} has plausible parameters (all are "
                               "candidates; the winner is flagged)")
    if pool.empty:
        pool = scores
    low = pool["backtest_error_pct"].min()
    tied = pool[pool["backtest_error_pct"] <= low + tie_pts]
    best = tied.sort_values(["insample_error_pct", "backtest_error_pct", "reading"]).iloc[0]
    if len(tied) == 1:
        why = f"lowest backtest error ({best['backtest_error_pct']:.1f}%)"
    else:
        others = ", ".join(f"{r} {b:.1f}%" for r, b in zip(tied["reading"], tied["backtest_error_pct"],
                                                           strict=True) if r != best["reading"])
        why = (f"backtest error {best['backtest_error_pct']:.1f}% ties within {tie_pts:g} point with "
               f"{others}; lowest in-sample error ({best['insample_error_pct']:.1f}%)")
    return str(best["reading"]), f"{first}; {why}"


# ---------------------------------------------------------------------------------------
# Gathering: fit report files, or simulation
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Fitted:
    """A reading with its fitted scenario and, if there, the fit's report folder."""

    reading: Reading
    scenario: Path
    report: Path | None


def find_fitted(readings: list[Reading], fitted_dir: Path, reports_dir: Path) -> tuple[list[Fitted], list[str]]:
    """The readings that have ``fitted_dir/NAME/fitted_2020.yaml``, and the names of those
    that do not. A report is ``reports_dir/NAME`` when it holds ``monthly.csv`` and
    ``sep_dec.csv``."""
    found, missing = [], []
    for r in readings:
        f = Path(fitted_dir) / r.name / "fitted_2020.yaml"
        if not f.is_file():
            missing.append(r.name)
            continue
        rep = Path(reports_dir) / r.name
        ok = (rep / "monthly.csv").is_file() and (rep / "sep_dec.csv").is_file()
        found.append(Fitted(r, f, rep if ok else None))
    return found, missing


def _read(path: Path, columns: tuple[str, ...]) -> pd.DataFrame:
    """A fit report table with the columns the scores need; a problem is one line."""
    from sim.errors import ScenarioError

    try:
        df = pd.read_csv(path)
    except (OSError, ValueError) as e:
        raise ScenarioError(path, "", f"cannot be read as a table ({e})") from None
    missing = [c for c in columns if c not in df.columns]
    if missing or df.empty:
        raise ScenarioError(path, ", ".join(missing) or "", "missing column(s)" if missing else "no rows")
    return df


def in_sample_from_report(folder: Path, fit_target: str, scenario: Path | None = None) -> tuple[dict, str]:
    """In-sample scores from a fit report folder, and notes (quick fit, not converged, or a
    report whose ``meta.json`` does not list ``scenario`` among the files its fit wrote)."""
    monthly = _read(folder / "monthly.csv", ("channel", "month", "observed", "simulated"))
    sepdec = _read(folder / "sep_dec.csv", ("answer_rate_caller", "answer_rate_attempt", "mean_attempts"))
    sepdec = sepdec.iloc[0].to_dict()  # the first row: the fitted scenario's check run
    notes = []
    meta = folder / "meta.json"
    if meta.is_file():
        m = json.loads(meta.read_text(encoding="utf-8"))
        if m.get("quick"):
            notes.append("QUICK fit (not a real fit)")
        if m.get("converged") is False:
            notes.append("fit not converged")
        wrote = {Path(f).resolve() for f in m.get("scenarios", [])}
        if scenario is not None and wrote and Path(scenario).resolve() not in wrote:
            notes.append(f"fit report {folder} was written by a fit of other files than {scenario}")
    return in_sample(monthly, sepdec, fit_target), "; ".join(notes)


def published_monthly() -> pd.DataFrame:
    """Published answered contacts per month and channel, 2020 (seed 000)."""
    from sim import data

    m = data.monthly_2020()
    m = m[m["channel"].isin(CHANNELS)]
    return pd.DataFrame({"channel": m["channel"], "month": m["month"].astype(str),
                         "observed": m["contacts"].astype(float)})


def in_sample_by_simulation(scn: Scenario, reps: int, seed: int, jobs: int, fit_target: str) -> dict:
    """In-sample scores by simulating the fitted scenario (when no fit report is there):
    answered contacts per month as the fit counts them
    (:func:`sim.planning.fit_run.answered_by_day`) and Sep-Dec KPIs as the calibration
    measures them (:func:`sim.planning.calibrate.period_stats`), means of ``reps``
    replications on seed ``seed``."""
    from sim.experiments.replications import run
    from sim.planning.calibrate import period_stats
    from sim.planning.fit_run import answered_by_day

    by_day = answered_by_day(scn, reps, seed, jobs)
    days = pd.period_range(scn.horizon.start, periods=scn.horizon.days, freq="D").asfreq("M").astype(str)
    rows = []
    for c in CHANNELS:
        per_month = pd.DataFrame(by_day[c].T, index=days).groupby(level=0).sum().mean(axis=1)
        rows += [{"channel": c, "month": m, "simulated": float(v)} for m, v in per_month.items()]
    monthly = published_monthly().merge(pd.DataFrame(rows), on=["channel", "month"], how="inner")
    stats = period_stats(run(scn, reps, seed, jobs=jobs, progress=False).kpis()).mean().to_dict()
    return in_sample(monthly, stats, fit_target)


def score_one(f: Fitted, reps: int, seed: int, jobs: int, carry: str = "trend",
              capacity_2024: Path | None = None, log=None) -> tuple[dict, pd.DataFrame]:
    """Every score of one fitted reading (a row of ``scores.csv``) and its backtest table."""
    from sim.planning.backtest import DEFAULT_CAPACITY_2024, backtest

    scn = load_scenario(f.scenario)
    say = log or (lambda _m: None)
    if f.report is not None:
        ins, notes = in_sample_from_report(f.report, f.reading.fit_target, f.scenario)
        source = str(f.report)
    else:
        say(f"{f.reading.name}: no fit report; simulating 2020 ({reps} replications)")
        ins = in_sample_by_simulation(scn, reps, seed, jobs, f.reading.fit_target)
        notes, source = "", f"simulated ({reps} replications)"
    say(f"{f.reading.name}: backtest ({reps} replications a year)")
    table, _ = backtest(f.scenario, reps, seed, jobs, capacity_2024 or DEFAULT_CAPACITY_2024, carry)
    answered = published_monthly().query("channel == 'phone'")["observed"].sum()
    row = {"reading": f.reading.name, "fit_target": f.reading.fit_target, "fitted": str(f.scenario),
           "in_sample_source": source, **ins, **backtest_scores(table),
           **plausibility(scn, answered), "notes": notes}
    return {c: row.get(c) for c in SCORE_COLUMNS}, table.assign(reading=f.reading.name)


def score_readings(fitted: list[Fitted], reps: int, seed: int, jobs: int, carry: str = "trend",
                   capacity_2024: Path | None = None, log=None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``scores.csv`` (one row per reading, :data:`SCORE_COLUMNS`) and every reading's
    backtest table (long, with a ``reading`` column). Every reading runs on seed ``seed``."""
    rows, tables = [], []
    for f in fitted:
        row, table = score_one(f, reps, seed, jobs, carry, capacity_2024, log)
        rows.append(row)
        tables.append(table)
    return pd.DataFrame(rows, columns=SCORE_COLUMNS), pd.concat(tables, ignore_index=True)


def scores_text(scores: pd.DataFrame) -> str:
    """The score table as aligned text (errors in %, rates in %, flags spelt out)."""
    t = pd.DataFrame({
        "reading": scores["reading"],
        "target": scores["fit_target"],
        "in-sample": scores["insample_error_pct"].map("{:.1f}%".format),
        "Sep-Dec rate": [f"{r:.1%}{'' if ok else ' !'}" for r, ok in
                         zip(scores["sepdec_rate"], scores["sepdec_rate_in_range"], strict=True)],
        "attempts": [f"{a:.2f}{'' if ok else ' !'}" for a, ok in
                     zip(scores["sepdec_attempts"], scores["sepdec_attempts_in_range"], strict=True)],
        "backtest": scores["backtest_error_pct"].map("{:.1f}%".format),
        "2017-19": scores["backtest_2017_2019_total_pct"].map("{:.1f}%".format),
        "Feb 2019": scores["backtest_feb2019_pct"].map("{:+.1f}%".format),
        "2024": scores["backtest_2024_total_pct"].map("{:+.1f}%".format),
        "2024 split": scores["backtest_2024_split_pts"].map("{:.1f} pt".format),
        "handling": scores["handling_min"].map("{:.0f} min".format),
        "redial": scores["redial_probability"].map("{:.3f}".format),
        "callers/answered": scores["demand_ratio"].map("{:.2f}".format),
        "plausible": scores["plausible"].map({True: "yes", False: "NO"}),
    })
    lines = [t.to_string(index=False)]
    for _, r in scores.iterrows():
        if r["flags"] or r["notes"]:
            lines.append(f"  {r['reading']}: " + "; ".join(x for x in (r["flags"], r["notes"]) if x))
    return "\n".join(lines)


LEGEND = ("in-sample: mean |error| of 2020 answered contacts per month and channel (seed 000); "
          "Sep-Dec rate: answer rate in the reading's sense (target), ' !' outside 40-45%; "
          "attempts: per caller, ' !' outside 3-4 (seed 000); backtest: mean |error| of 2017-2019 "
          "phone + e-mail, 2019 chat, 10-27 Feb 2019, 2024 phone/chat/e-mail (nothing refitted); "
          "2017-19: mean |error| of the yearly totals; 2024 split: share of 2024 contacts in the "
          f"wrong channel; plausible: talk + wrap-up <= {MAX_HANDLING_MIN:.0f} min (issue 17), redial "
          f"probability <= {MAX_REDIAL_PROBABILITY} and {DEMAND_RATIO[0]:g}-{DEMAND_RATIO[1]:g} new "
          "callers per answered call (assumptions)")

RULE = ("rule: readings with plausible parameters first (all, if none is); among them the lowest "
        f"backtest error; backtest errors within {BACKTEST_TIE_PTS:g} point of the lowest are a tie, "
        "settled by the lowest in-sample error")
