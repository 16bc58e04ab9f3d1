"""Promote a reading's fit to the project's default fitted scenarios (issue 17).

    python scripts/promote_reading.py availability_half

Copies ``scenarios/fitted/NAME/fitted_2020{,_no_lockdown,_no_campaigns}.yaml`` to
``scenarios/`` with a header naming the reading, and the fitted scenario's ``base:``
rewritten to ``fitted/NAME/base.yaml`` (the only change to the copied text). This is how
the committed ``scenarios/fitted_2020.yaml`` was made from the ``availability_half`` fit,
after ``python run_sim.py readings --fit-reports docs/fits`` chose it (docs/readings.md).
It replaces the three files in ``scenarios/``, which the fit command or this script wrote.
"""
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FILES = ("fitted_2020.yaml", "fitted_2020_no_lockdown.yaml", "fitted_2020_no_campaigns.yaml")
HEADER = [
    "# PROMOTED: a copy of scenarios/fitted/{name}/{file} (the fit under the reading",
    "# '{name}', scenarios/readings/{name}.yaml), the reading that scores best",
    "# (python run_sim.py readings --fit-reports docs/fits; rule and scores in docs/readings.md).",
    "# The fit under the previous default (counsellors always at the line, 83 min per answered call)",
    "# is scenarios/fitted/per_caller/. Only `base:` differs from the copied file.",
    "#",
]


def promoted_text(name: str, file: str) -> str:
    text = (ROOT / "scenarios" / "fitted" / name / file).read_text(encoding="utf-8")
    text = text.replace("\nbase: base.yaml\n", f"\nbase: fitted/{name}/base.yaml\n")
    return "\n".join(h.format(name=name, file=file) for h in HEADER) + "\n" + text


if __name__ == "__main__":
    if len(sys.argv) != 2 or not (ROOT / "scenarios" / "fitted" / sys.argv[1] / FILES[0]).is_file():
        sys.exit("usage: python scripts/promote_reading.py NAME  (NAME: a folder of scenarios/fitted/)")
    for f in FILES:
        (ROOT / "scenarios" / f).write_text(promoted_text(sys.argv[1], f), encoding="utf-8")
        print(f"scenarios/{f} <- scenarios/fitted/{sys.argv[1]}/{f}")
