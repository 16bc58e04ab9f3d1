#!/usr/bin/env bash
# Runs behind docs/evidence_2020.md (issues 14 and 15). 4 replications, seed 1, 2 jobs.
# Measured before fitted_2020.yaml was promoted to the availability_half fit: reproduces
# docs/evidence_2020.md sections (a)-(c) and issue 15 at commit dba78d7 (git worktree add
# /tmp/ev_old dba78d7). For the refit, scripts/evidence_refit.sh.
# Usage: bash scripts/evidence_2020_runs.sh OUTDIR   (then python scripts/evidence_2020.py OUTDIR)
set -euo pipefail
OUT=${1:-/tmp/ev}
mkdir -p "$OUT"
source "$(dirname "$0")/evidence_settings.sh"  # R, S, H (Sep-Dec), CB
# availability settings of scenarios/fitted_2020_availability.yaml, applied on top
AV=(--set "phone.talk_min={dist: lognormal, mean: 33.368, sd: 25.026}"
    --set "phone.wrap_up_min={dist: gamma, mean: 16.684, sd: 8.342}"
    --set "phone.availability={enabled: true, share: 0.6, away_min: {dist: exponential, mean: 30}}")
# README "Both figures at once" repeat-contact setting (horizon included), exact overrides
RP=(--set horizon.start=2020-08-15 --set horizon.end=2020-12-31
    --set "phone.talk_min={dist: lognormal, mean: 22, sd: 16.5}"
    --set "phone.wrap_up_min={dist: gamma, mean: 11, sd: 5.5}"
    --set demand.phone.annual=2600 --set demand.phone.out_of_hours_share=0.1
    --set phone.callers.repeat.probability_answered=0.8 --set phone.callers.repeat.probability_unanswered=0.2
    --set "phone.callers.repeat.delay_days={dist: exponential, mean: 10}" --set phone.callers.repeat.max_repeats=50
    --set phone.callers.numbers_from=2020-09-01 --set phone.callers.numbers_to=2020-12-31)
set -x
# issue 14 (a): the key point of the rough calibration (phone only, 2020, share 0.6, x0.60)
python scripts/capacity_rough_calibration.py 4 0.6 0.6 > "$OUT/calibration.txt"
# issue 14 (b): whole 2020, both scenarios
python run_sim.py scenarios/fitted_2020.yaml $R --no-figures --out "$OUT/year_fitted"
python run_sim.py scenarios/fitted_2020_availability.yaml $R --no-figures --out "$OUT/year_avail"
# issue 14 (c): subsidy options before / after availability
python run_sim.py compare scenarios/fitted_2020.yaml $S/extra_line_peak_days.yaml $S/option0_overflow.yaml \
  $S/interprovince_overflow.yaml $R "${H[@]}" --out "$OUT/cmp_before"
python run_sim.py compare scenarios/fitted_2020.yaml $S/faster_callbacks.yaml $R "${H[@]}" "${CB[@]}" --out "$OUT/cmp_before_cb"
python run_sim.py compare scenarios/fitted_2020.yaml $S/extra_line_peak_days.yaml $S/option0_overflow.yaml \
  $S/interprovince_overflow.yaml $R "${H[@]}" "${AV[@]}" --out "$OUT/cmp_after"
python run_sim.py compare scenarios/fitted_2020.yaml $S/faster_callbacks.yaml $R "${H[@]}" "${AV[@]}" "${CB[@]}" --out "$OUT/cmp_after_cb"
# issue 15: repeat-contact setting, base vs extra line and option-0 overflow
python run_sim.py compare scenarios/fitted_2020.yaml $S/extra_line_peak_days.yaml $S/option0_overflow.yaml \
  $R "${RP[@]}" --out "$OUT/cmp_repeat"
