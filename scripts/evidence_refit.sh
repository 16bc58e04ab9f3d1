#!/usr/bin/env bash
# Runs behind docs/evidence_2020.md, section "The refit with availability" (issue 14):
# the fit under the availability_half reading (scenarios/fitted_2020.yaml since it was
# promoted) against the fit with counsellors always at the line (scenarios/fitted/per_caller).
# 4 replications, seed 1, 2 jobs.  Usage: bash scripts/evidence_refit.sh OUTDIR
#   then: python scripts/evidence_refit.py OUTDIR
set -euo pipefail
OUT=${1:-/tmp/ev3}
mkdir -p "$OUT"
source "$(dirname "$0")/evidence_settings.sh"  # R, S, H, CB
set -x
python run_sim.py scenarios/fitted/per_caller/fitted_2020.yaml $R --no-figures --out "$OUT/year_fitted"
python run_sim.py scenarios/fitted/availability_half/fitted_2020.yaml $R --no-figures --out "$OUT/year_avail"
# every option re-based on each reading's own fit (compare --readings, docs/readings.md)
python run_sim.py compare scenarios/fitted_2020.yaml $S/extra_line_peak_days.yaml $S/option0_overflow.yaml \
  $S/interprovince_overflow.yaml --readings per_caller,availability_half $R "${H[@]}" --out "$OUT/cmp"
python run_sim.py compare scenarios/fitted_2020.yaml $S/faster_callbacks.yaml \
  --readings per_caller,availability_half $R "${H[@]}" "${CB[@]}" --out "$OUT/cmp_cb"
