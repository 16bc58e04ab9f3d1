# Settings shared by scripts/evidence_2020_runs.sh and scripts/evidence_refit.sh (sourced,
# not run): 4 replications, seed 1, 2 jobs; the Sep-Dec horizon with two weeks of warm-up
# (tables use the Sep-Dec month rows only); the caller-side callback settings that
# faster_callbacks.yaml says the base must share.
R="--reps 4 --seed 1 --jobs 2 --quiet --overwrite --no-report"
S=scenarios/subsidy
H=(--set horizon.start=2020-08-15 --set horizon.end=2020-12-31)
CB=(--set phone.answering_machine.callbacks.reach_half_life_h=24
    --set phone.answering_machine.callbacks.expire_after_h=72)
