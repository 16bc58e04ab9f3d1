"""Tables of docs/evidence_2020.md, "The refit with availability" (issue 14), from the
folders written by scripts/evidence_refit.sh. Prints Markdown.

Run: bash scripts/evidence_refit.sh /tmp/ev3 && python scripts/evidence_refit.py /tmp/ev3

Per working day: as scripts/evidence_2020.py. Subsidy options: ``robustness.csv`` of
``compare --readings`` (paired differences against the base within each reading, 95%
Student t over the replications; whole run, 15 Aug-31 Dec 2020).
"""
import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
import evidence_2020 as ev  # noqa: E402

OUT = Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/ev3")
ev.OUT = OUT
READINGS = {"per_caller": "before (always at the line, 83 min)",
            "availability_half": "after (half the time at the line, 41 min)"}


def options_table(folder: str) -> None:
    r = pd.read_csv(OUT / folder / "robustness.csv")
    print("| option | reading | extra callers answered | answer rate per caller (pp) | EUR per extra caller |")
    print("| --- | --- | ---: | ---: | ---: |")
    for (opt, reading), g in r.groupby(["option", "reading"], sort=False):
        k = g.set_index("kpi")

        def cell(kpi, fmt, scale=1.0, k=k):
            x = k.loc[kpi]
            return f"{fmt.format(x['diff'] * scale)} [{fmt.format(x['ci_low'] * scale)}, {fmt.format(x['ci_high'] * scale)}]"
        cost = "free" if k.loc["extra_cost", "diff"] == 0 else cell("cost_per_extra_caller", "{:.0f}")
        print(f"| {opt} | {READINGS.get(reading, reading)} | {cell('callers_answered', '{:+.0f}')} "
              f"| {cell('answer_rate_caller', '{:+.1f}', 100)} | {cost} |")


if __name__ == "__main__":
    print("## Phone contacts per working day, 2020\n")
    ev.per_working_day((("per_caller fit", "year_fitted"), ("availability_half fit", "year_avail")))
    for folder in ("cmp", "cmp_cb"):
        print(f"\n## Subsidy options (`{folder}`)\n")
        if (OUT / folder / "robustness.csv").exists():
            options_table(folder)
        else:
            print("(not run)")
