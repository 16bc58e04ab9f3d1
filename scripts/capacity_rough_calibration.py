"""Rough manual calibration for docs/capacity.md (issue 14): with counsellors at the line
a share of the time (assumption), what talk + wrap-up keeps the answered Sep-Dec 2020
calls at the published level (1,824 = 398 + 459 + 512 + 455, seed 000)?

Scales the fitted talk and wrap-up distributions of scenarios/fitted_2020.yaml (mean and
sd) by each factor, with ``phone.availability`` on (share given, absences exponential
with a mean of 30 min, assumption), phone only, few replications: ROUGH.
Run: python scripts/capacity_rough_calibration.py REPS FACTORS [SHARE]
     e.g. python scripts/capacity_rough_calibration.py 3 0.6,0.55 0.6
(without SHARE the fitted scenario without availability is run first, then share 0.6).
"""
import sys

import pandas as pd

from sim.config import load_scenario
from sim.experiments.replications import run_replication
from sim.planning.calibrate import period_stats

MONTHS = ["2020-09", "2020-10", "2020-11", "2020-12"]
REPS = int(sys.argv[1]) if len(sys.argv) > 1 else 3
FACTORS = [float(x) for x in sys.argv[2].split(",")] if len(sys.argv) > 2 else [1.0, 0.6]
SHARE = float(sys.argv[3]) if len(sys.argv) > 3 else 0.6
TALK, TALK_SD, WRAP, WRAP_SD = 55.613, 41.71, 27.806, 13.903  # scenarios/fitted_2020.yaml

variants = [] if len(sys.argv) > 3 else [("fitted_2020 (availability off)", None, 1.0)]
variants += [(f"availability {SHARE}, hold x{f:.2f}", SHARE, f) for f in FACTORS]
for name, share, f in variants:
    ov = {"phone.talk_min": {"dist": "lognormal", "mean": TALK * f, "sd": TALK_SD * f},
          "phone.wrap_up_min": {"dist": "gamma", "mean": WRAP * f, "sd": WRAP_SD * f}}
    if share is not None:
        ov["phone.availability"] = {"enabled": True, "share": share,
                                    "away_min": {"dist": "exponential", "mean": 30}}
    scn = load_scenario("scenarios/fitted_2020.yaml", ov)
    k = pd.concat([run_replication(scn, 1, r, channels=["phone"]).kpis.assign(replication=r)
                   for r in range(REPS)])
    st = period_stats(k, MONTHS)
    mean = st.mean()
    allk = k[(k.by == "all") & (k.key == "all")].groupby("kpi").value.mean()
    print(f"{name:38s} hold {(TALK + WRAP) * f:5.1f} min  answered Sep-Dec {mean['answered']:6.0f} "
          f"(sd over reps {st['answered'].std():.0f}; published 1824)  callers answered "
          f"{mean['answer_rate_caller']:.3f}  attempts/caller {mean['mean_attempts']:.2f}  utilisation "
          f"{mean['utilisation']:.3f}  occupancy at the line {allk.get('occupancy', float('nan')):.3f}",
          flush=True)
