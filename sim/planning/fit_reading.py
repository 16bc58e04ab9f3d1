"""``fit --reading NAME``: the 2020 fit under a reading of the evidence (issue 17).

A reading (``scenarios/readings/NAME.yaml``, :mod:`sim.config.reading`) names the answer
rate the behaviour is calibrated to (``fit_target``) and, unless its overlay is itself a
fit result (``fit_uses_overlay: false``, as for ``per_attempt``), settings the fit takes
as given: the reading is laid over the fit's ``--base`` and the result written, fully
resolved, as the base of the re-fit. The fitted scenarios then go to
``scenarios/fitted/NAME/`` (``fitted_2020.yaml`` and its counterfactuals, beside
``base.yaml``), leaving ``scenarios/fitted_2020.yaml`` alone.
"""

from __future__ import annotations

import os
from pathlib import Path

from sim.config import load_scenario
from sim.config.reading import Reading
from sim.experiments.readings import find_readings, overlay


def is_reading_name(value: str) -> bool:
    """Whether ``--reading`` names a reading file rather than ``caller``/``attempt``."""
    return value not in ("caller", "attempt")


def reading_of(value: str) -> Reading:
    """The reading named by ``--reading`` (a name in scenarios/readings/ or a file)."""
    readings = find_readings(value, flag="--reading")
    if len(readings) != 1:
        from sim.errors import ScenarioError

        raise ScenarioError("--reading", "", f"names {len(readings)} readings; fit takes one")
    return readings[0]


def write_base(reading: Reading, base: Path, folder: Path) -> Path:
    """``folder/base.yaml``: ``base`` with the reading laid over it (when the overlay is a
    fit input), every setting written out, with a header naming reading and sources."""
    over = overlay(reading, base) if reading.fit_uses_overlay else {}
    scn = load_scenario(base, {**over, "name": f"{load_scenario(base).name}_{reading.name}"})
    folder.mkdir(parents=True, exist_ok=True)
    header = [f"# Base of the 2020 fit under the reading '{reading.name}' ({reading.file}), written by",
              f"# `fit --reading {reading.name}`: {base} "
              + ("with the reading's overlay" if reading.fit_uses_overlay else "unchanged (the reading's "
                 "overlay is a fit result)") + "; every setting written out. Rests on:"]
    header += [f"#   {s}" for s in reading.rests_on]
    path = folder / "base.yaml"
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text("\n".join(header) + "\n" + scn.to_yaml(), encoding="utf-8")
    os.replace(tmp, path)
    return path
