"""Write the notebooks of this folder (run from the repository root:
``python notebooks/make_notebooks.py``). Edit the cells here, not in the .ipynb files,
so the notebooks stay small and reviewable.

``python notebooks/make_notebooks.py --execute`` also runs each notebook on small settings
(``HELPLINE_NOTEBOOK_QUICK=1``) with nbclient and stores the outputs (tables, PNG
figures), so the committed notebooks read well on a code host; each says so at the top.
"""

import os
import sys
from pathlib import Path

import nbformat as nbf
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

EXECUTE = "--execute" in sys.argv[1:]
STORED = ("*The outputs stored in this file come from a small run "
          "(`HELPLINE_NOTEBOOK_QUICK=1`: a short horizon and 2-4 replications), written by "
          "`python notebooks/make_notebooks.py --execute`, so that the notebook reads on a "
          "code host. Their numbers are illustrations, not results: run the notebook yourself "
          "(README, Notebooks) for the full settings.*")

SETUP = '''import os
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

ROOT = Path.cwd().parent if Path.cwd().name == "notebooks" else Path.cwd()
# The test suite runs every notebook with HELPLINE_NOTEBOOK_QUICK=1 (small settings), one
# process per notebook (the suite runs its tests in parallel already); else 2 processes.
QUICK = os.environ.get("HELPLINE_NOTEBOOK_QUICK") == "1"
JOBS = 1 if QUICK else 2'''

def execute(n, path):
    """Run notebook ``n`` on small settings in the notebooks folder; keep its outputs."""
    from nbclient import NotebookClient

    os.environ["HELPLINE_NOTEBOOK_QUICK"] = "1"
    # The kernel imports this checkout's package, wherever it is installed from.
    root = str(Path(path).resolve().parent.parent)
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))
    NotebookClient(n, timeout=1200, kernel_name="python3",
                   resources={"metadata": {"path": str(Path(path).parent)}}).execute()
    for cell in n.cells:  # timestamps only make diffs noisy
        cell.metadata.pop("execution", None)


def nb(cells, path):
    n = new_notebook(cells=cells[:1] + ([new_markdown_cell(STORED)] if EXECUTE else []) + cells[1:])
    n.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    if EXECUTE:
        execute(n, path)
    nbf.write(n, path)
    print(f"{path}: {Path(path).stat().st_size / 1e3:.0f} kB")

nb([
 new_markdown_cell("# 01 The 2020 data and the demand behind it\n\nThe public figures of hulplijn 1712 (transcribed in `sim/data/` from the seed documents, see `sim/data/README.md`) and how the simulated 2020 compares with them. The published counts are *answered/registered* contacts, not demand: the simulator's demand is set so that its **answered** contacts match them (`run_sim.py fit`, issue 5)."),
 new_code_cell(SETUP + '''
from sim import data
from sim.config import load_scenario
from sim.experiments.replications import run, summarise
from sim.results import plots'''),
 new_markdown_cell("## Answered contacts per month and channel, 2020 (seed 000)"),
 new_code_cell('''monthly = data.monthly_2020()
table = monthly.pivot(index="month", columns="channel", values="contacts")
table["total"] = table.sum(axis=1)
table'''),
 new_code_cell('''ax = table[["phone", "email", "chat"]].plot(kind="bar", stacked=True, figsize=(9, 4))
ax.set_ylabel("answered contacts per month")
ax.set_title("1712 in 2020: answered contacts by channel (seed 000); April = first lockdown")
plt.tight_layout()'''),
 new_markdown_cell("## Yearly totals and the February 2020 campaign"),
 new_code_cell('''display(data.yearly().pivot(index="year", columns="channel", values="contacts"))
data.campaign_feb2020()'''),
 new_markdown_cell("## Simulated 2020 against the published months\n\nThe fitted scenario when it exists (`scenarios/fitted_2020.yaml`), else the hand-set baseline."),
 new_code_cell('''path = ROOT / "scenarios" / "fitted_2020.yaml"
if not path.exists():
    path = ROOT / "scenarios" / "baseline_2020.yaml"
scn = load_scenario(path, {"horizon.end": "2020-03-31"} if QUICK else None)
reps = 2 if QUICK else 10
summary = summarise(run(scn, reps, seed=1, jobs=JOBS, progress=False).kpis())
phone = monthly[monthly["channel"] == "phone"]
observed = pd.Series(phone["contacts"].to_numpy(), index=phone["month"].astype(str))
fig, ax = plt.subplots(figsize=(9, 4))
plots.answered_per_month(summary, ax, observed)
ax.set_title(f"Answered phone calls per month: {scn.name} ({reps} replications) vs published")
plt.tight_layout()'''),
 new_code_cell('''# Totals over the simulated months, simulated (mean of replications) against published.
s = summary[summary["by"] == "month"].pivot(index="key", columns="kpi", values="mean")
months = [m for m in s.index if m in set(table.index.astype(str))]
published = table.set_index(table.index.astype(str)).loc[months]
pd.DataFrame({"simulated": [s.loc[months, k].sum() for k in ["answered", "chat_answered", "email_answered"]],
              "published": [published[c].sum() for c in ["phone", "chat", "email"]]},
             index=["phone", "chat", "e-mail"]).round(0)'''),
], "notebooks/01_data_and_fit.ipynb")

nb([
 new_markdown_cell("# 02 Model validation against queueing theory\n\nThe battery of `sim/theory/validation.py` (also `python run_sim.py validate`): cases where the exact answer is known (Erlang B, C and A, the redial/retrial loss system, the answering machine with callbacks, two groups with overflow, and a time-varying loss system solved exactly). A measure agrees when theory lies inside the simulation's confidence interval (Bonferroni-corrected, 1% family-wise error)."),
 new_code_cell(SETUP + '''
from sim.theory.validation import validate
from sim.results.plots import validation_chart'''),
 new_code_cell('''# QUICK (tests): 4 replications of 10 days run every case; the agreement needs the full size.
reps, days = (4, 10) if QUICK else (12, 120)
t = validate(reps=reps, days=days, jobs=JOBS)
t[["case", "measure", "simulated", "ci_low", "ci_high", "theory", "agrees"]]'''),
 new_code_cell('''fig, ax = plt.subplots(figsize=(9, 0.32 * len(t) + 1.5))
validation_chart(t, ax)
plt.tight_layout()
print(f"{t['agrees'].sum()} of {len(t)} measures agree with theory")'''),
 new_markdown_cell("## Why peaks matter: a daily profile against the same mean load\n\nThe exact periodic solution shows how much more blocking a peaked day causes than Erlang B with the day's mean load would suggest."),
 new_code_cell('''import numpy as np
from sim.theory import exact as theory
from sim.theory.validation import periodic_loss_blocking

mu = 1 / 1200  # 20-minute calls
rows = []
for peak in [1.0, 1.5, 2.0, 3.0]:
    profile = np.array([1.0] * 12 + [peak] * 12)
    lam = profile / profile.mean() / 1200  # mean load 1 erlang on one line
    rows.append({"peak / off-peak": peak, "exact blocking": periodic_loss_blocking(1, lam, mu),
                 "Erlang B at mean load": float(theory.erlang_b(1, 1.0))})
pd.DataFrame(rows)'''),
], "notebooks/02_validation.ipynb")

nb([
 new_markdown_cell("# 03 Comparing the subsidy options\n\nThe capacity subsidy (Dec 2021 - Nov 2024, seed 000) paid for an extra phone line per province on peak days, option 0 as an overflow line and faster callbacks; since Sep 2021 up to three chat lines at peaks. Each measure is a scenario in `scenarios/subsidy/`. Options are compared with the 2020 baseline on common random numbers: differences are paired per replication, with their own confidence intervals. Costs come from the scenarios' `costs` (EUR per staffed hour; an assumption)."),
 new_code_cell(SETUP + '''
from sim.experiments.compare import compare_table, cost_effectiveness, cost_table, paired
from sim.config import load_scenario
from sim.experiments.replications import run
from sim.results import plots'''),
 new_code_cell('''files = ["fitted_2020.yaml", "subsidy/extra_line_peak_days.yaml", "subsidy/option0_overflow.yaml",
         "subsidy/faster_callbacks.yaml", "subsidy/interprovince_overflow.yaml",
         "subsidy/chat_three_lines.yaml", "subsidy/all_measures.yaml"]
# QUICK (tests): the campaign week of February 2020 only.
quick = {"horizon.start": "2020-02-10", "horizon.end": "2020-02-16"} if QUICK else None
scenarios = [load_scenario(ROOT / "scenarios" / f, quick) for f in files]
reps = 2 if QUICK else 20
results = [run(s, reps, seed=1, jobs=JOBS, progress=False) for s in scenarios]
table = paired(results)
ce = cost_effectiveness(results)
print(compare_table(table))
print()
print(cost_table(ce))'''),
 new_code_cell('''fig, axes = plt.subplots(1, 2, figsize=(14, 4.5))
plots.compare_bars(table, axes[0], "answer_rate_caller", "answer rate per caller", percent=True)
plots.cost_vs_extra_answered(ce, axes[1])
plt.tight_layout()'''),
 new_markdown_cell("Reading the table: an option is better than the base when its paired difference interval excludes zero. The cost per extra caller answered divides the extra cost of staffed hours by the extra callers answered (delta-method interval); options that add no staffed hours (routing, overflow) cost nothing extra."),
], "notebooks/03_subsidy_options.ipynb")
print("written")
