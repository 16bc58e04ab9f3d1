"""Set the 2024 demand levels of scenarios/subsidy/demand_2024_with_subsidy.yaml.

With the 2024 capacity, the simulated answered contacts must match the published 2024
figures: 9,594 contacts, 60% phone, 27% chat, 13% e-mail (seed 002). Fixed-point
iteration: level <- level x published / simulated, 4 replications per step (seed 1).
Run: python scripts/calibrate_demand_2024.py   (prints the levels to put in the file)
"""
from pathlib import Path

from sim.config import load_scenario
from sim.experiments.replications import run, summarise

SCENARIO = Path(__file__).resolve().parent.parent / "scenarios/subsidy/demand_2024_with_subsidy.yaml"
target = {"phone": 9594 * 0.60, "chat": 9594 * 0.27, "email": 9594 * 0.13}
kpi = {"phone": "callers_answered", "chat": "chat_answered", "email": "email_answered"}
annual = {c: float(getattr(load_scenario(SCENARIO).demand, c).annual) for c in target}
for it in range(4):
    scn = load_scenario(SCENARIO,
                        {f"demand.{c}.annual": round(a) for c, a in annual.items()})
    s = summarise(run(scn, 4, 1, jobs=2, progress=False).kpis()).set_index(["by", "key", "kpi"])["mean"]
    got = {c: s[("all", "all", kpi[c])] for c in annual}
    print(it, {c: round(a) for c, a in annual.items()}, {c: round(g) for c, g in got.items()})
    annual = {c: annual[c] * target[c] / got[c] for c in annual}
print("final", {c: round(a) for c, a in annual.items()})
