"""How much the control variates save (issue 16, "variance reduction where it is exact").

    python bench/control_variates.py RESULTS_FOLDER [RESULTS_FOLDER ...]

Reads a ``run`` results folder (its ``scenario.yaml``, ``meta.json`` and
``kpis_per_rep.csv``), redraws each replication's controls from its streams
(:func:`sim.model.arrival_counts.drawn_controls`: new contacts per channel, and their
offered work in hours) and prints, per overall KPI:

- ``rho``: the correlation over replications between the KPI and its channel's new
  contacts; ``1-rho^2``: the variance ratio the control gives with many replications;
- the variance ratio of *this* run (controlled / plain variance of the mean, as in
  ``summary_cv.csv``) with the count, with the offered work, and with both; with n
  replications it carries the cost of estimating beta, about (n-2)/(n-3) x (1-rho^2),
  and a random factor 1 + n d^2 / S from how far this run's mean count is from its
  expectation;
- ``reps x``: 1 / ratio with the count, how many times the replications the plain mean
  needs for the same variance (below 1: the control costs more than it gives).

No timing: it only reads results and redraws counts (milliseconds per replication).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

from sim.config import load_scenario
from sim.model.arrival_counts import drawn_controls, expected_controls
from sim.results.control_variates import controlled_mean

KPIS = {
    "phone": ["callers_answered", "answered", "answer_rate_caller", "answer_rate_attempt",
              "mean_attempts", "attempts", "busy_tones", "callers_gave_up", "messages_left",
              "utilisation"],
    "chat": ["chat_answered", "chat_answer_rate", "chat_mean_wait_s"],
    "email": ["email_answered", "email_mean_response_h"],
}


def table(folder: Path) -> pd.DataFrame:
    meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    scn = load_scenario(folder / "scenario.yaml")
    per = pd.read_csv(folder / "kpis_per_rep.csv", dtype={"key": str})
    wide = per[per["by"] == "all"].pivot_table(index="replication", columns="kpi", values="value")
    reps = list(wide.index)
    ctl = pd.DataFrame(drawn_controls(scn, meta["seed"], reps), index=reps)
    exp = expected_controls(scn)
    rows = []
    for ch, kpis in KPIS.items():
        work = f"{ch}_work_h"
        for kpi in kpis:
            if kpi not in wide:
                continue
            y = wide[kpi].to_numpy()
            ratio = {}
            for label, names in (("count", [ch]), ("work", [work]), ("both", [ch, work])):
                ratio[label] = controlled_mean(y, ctl[names].to_numpy(), [exp[n] for n in names]).variance_ratio
            rho = float(np.corrcoef(y, ctl[ch])[0, 1])
            rows.append({"kpi": kpi, "control": ch, "rho": rho, "1-rho^2": 1 - rho**2,
                         "ratio count": ratio["count"], "ratio work": ratio["work"],
                         "ratio both": ratio["both"], "reps x": 1 / ratio["count"]})
    d = (ctl.mean() - pd.Series(exp)) / (ctl.std(ddof=1) / np.sqrt(len(reps)))
    print(f"== {folder}: {scn.name}, {len(reps)} replications, seed {meta['seed']}")
    print("   this run's mean count - expectation, in standard errors: "
          + ", ".join(f"{k} {d[k]:+.2f}" for k in ("phone", "chat", "email")))
    return pd.DataFrame(rows)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("folders", type=Path, nargs="+")
    args = p.parse_args()
    for folder in args.folders:
        t = table(folder)
        print("| " + " | ".join(t.columns) + " |")
        print("|" + " --- |" * len(t.columns))
        for r in t.itertuples(index=False):
            print("| " + " | ".join(v if isinstance(v, str) else f"{v:.3f}" for v in r) + " |")
        print()


if __name__ == "__main__":
    main()
