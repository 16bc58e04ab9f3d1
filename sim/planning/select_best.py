"""``compare --select KPI``: the Kim-Nelson procedure (:mod:`sim.experiments.selection`)
on simulated scenarios (issue 16).

Every scenario is simulated on common random numbers (same seed, replication ``r`` of
every scenario meets the same callers) in batches: replications ``r .. r+b-1`` of every
surviving scenario at once, so the pool stays busy (``b`` = the workers divided by the
survivors, at least 1). The replications come from an
:class:`sim.planning.optimise.Evaluations` cache: a replication asked for twice is
simulated once, and the command's partial folder keeps them for ``--resume``. A phone
KPI is selected on phone-only, overall-only replications (its value is bit-identical to
a full run's; scenarios differing only in chat or e-mail share one simulation); a chat
KPI simulates phone and chat. ``compare`` runs the first stage (``n0`` replications of
every scenario) in full instead, as its comparison table needs them anyway, and passes
their KPI in (``first_stage``).

Which KPIs can be selected on, and whether higher is better, is
:data:`sim.planning.optimise.TARGET_KPIS` (the overall phone and chat KPIs that
staffing moves).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

import pandas as pd

from sim.config import Scenario
from sim.errors import ScenarioError
from sim.experiments.selection import KN, Selection
from sim.planning.optimise import KPI_ALIASES, TARGET_KPIS, Evaluations, overall_kpis

# Indifference zone by default: half a percentage point for a share (answer rates), an
# assumption: the smallest difference in answer rate a planner at 1712 would act on.
# KPIs that are counts or attempts have no default: the planner names one (--delta).
DEFAULT_DELTA_SHARE = 0.005


def selection_kpi(name: str) -> tuple[str, str, bool]:
    """``(kpi, channel, higher_better)`` of ``--select NAME``; ScenarioError naming the
    flag for a KPI that cannot be selected on."""
    kpi = KPI_ALIASES.get(name, name)
    if kpi not in TARGET_KPIS:
        names = ", ".join(sorted([*TARGET_KPIS, *KPI_ALIASES]))
        raise ScenarioError("--select", "", f"unknown KPI {name!r}; choose one of {names}")
    channel, higher = TARGET_KPIS[kpi]
    return kpi, channel, higher


def default_delta(kpi: str) -> float | None:
    """The default indifference zone of ``kpi`` (None: none, the planner must give one)."""
    from sim.results.proportions import is_proportion

    return DEFAULT_DELTA_SHARE if is_proportion(kpi) else None


def run_selection(scenarios: Sequence[Scenario], kpi: str, seed: int, cache: Evaluations, *,
                  delta: float, alpha: float, n0: int, max_reps: int, workers: int,
                  first_stage: Mapping[str, Sequence[float]] | None = None,
                  report: Callable[[Selection], None] | None = None) -> tuple[Selection, dict[str, int]]:
    """KN over ``scenarios`` on ``kpi`` (overall, ``by="all"``), replications simulated
    through ``cache`` (its executor and channels). ``first_stage``: the KPI of
    replications ``0..n0-1`` of every scenario when already simulated (``compare`` runs
    them in full, as its table needs them anyway). ``report`` is called after each batch
    with the state. Returns the final state and the replications run per scenario (at
    least those used: a batch may run past an elimination)."""
    kpi, _, higher = selection_kpi(kpi)
    by_name = {s.name: s for s in scenarios}
    kn = KN(list(by_name), delta, alpha, n0, max_reps, higher)
    simulated = dict.fromkeys(by_name, 0)
    if first_stage is not None:
        for name in by_name:
            values = [float(v) for v in first_stage[name]]
            if len(values) != n0 or not all(math.isfinite(v) for v in values):
                raise ScenarioError("--select", "", f"{kpi} is not defined in every one of the first "
                                    f"{n0} replications of {name}: choose another KPI")
            simulated[name] = n0
        kn.add({name: first_stage[name] for name in by_name})
        if report is not None:
            report(kn.state())
    while not kn.done:
        first = kn.observed
        alive = [by_name[n] for n in kn.survivors]
        count = kn.wanted(batch=math.ceil(workers / len(alive)))
        reps = list(range(first, first + count))
        done = cache.replications(alive, reps, seed, overall_only=True)
        obs = {}
        for s, got in zip(alive, done, strict=True):
            values = [overall_kpis(rep).get(kpi, float("nan")) for rep in got]
            bad = [r for r, v in zip(reps, values, strict=True) if not math.isfinite(v)]
            if bad:
                raise ScenarioError("--select", "", f"{kpi} is not defined in replication {bad[0]} of "
                                    f"{s.name} (no {kpi.split('_')[0]} contacts?): choose another KPI")
            obs[s.name] = values
            simulated[s.name] = first + count
        kn.add(obs)
        if report is not None:
            report(kn.state())
    return kn.state(), simulated


def selection_table(sel: Selection, simulated: dict[str, int]) -> pd.DataFrame:
    """One row per scenario: its mean KPI over the replications it took part in
    (``replications_used``), the replications run for it (``replications_run``: a batch
    may run past its elimination; a scenario that differs from another only in chat or
    e-mail shares that one's phone simulation), the stage it was eliminated at, and its
    status."""
    rows = []
    for n in sel.names:
        if sel.settled and n == sel.selected:
            status = "selected"
        elif n in sel.tied:
            status = f"tied with {sel.selected} (identical on this KPI)"
        elif n in sel.survivors:
            status = "survivor (not settled)" if sel.done else "running"
        else:
            status = "eliminated"
        rows.append({"scenario": n, "mean": sel.means[n], "replications_used": sel.used[n],
                     "replications_run": simulated.get(n, 0),
                     "eliminated_at": sel.eliminated_at.get(n), "status": status})
    out = pd.DataFrame(rows)
    out["eliminated_at"] = out["eliminated_at"].astype("Int64")
    return out


def selection_text(sel: Selection, kpi: str, table: pd.DataFrame, fixed_reps: int, common: int,
                   model_runs: int, channels: str, fmt: str = "{:.4g}") -> str:
    """The selection section of ``compare.txt``: settings, verdict, guarantee, counts.

    Counts as ``compare`` runs them: the first stage (``n0`` of every scenario) in full,
    later stages on ``channels`` only (``model_runs`` simulations), and the table on
    ``common`` replications in full (the first stage, plus any beyond it)."""
    better = "higher" if sel.higher_better else "lower"
    n_max = "none" if sel.max_reps is None else str(sel.max_reps)
    lines = [f"Selection of the best on {kpi} ({better} is better): Kim-Nelson KN, indifference zone "
             f"delta = {fmt.format(sel.delta)}, confidence {1 - sel.alpha:.0%}, n0 = {sel.n0}, "
             f"at most {n_max} replications (h2 = {sel.h2:.3g})"]
    if sel.settled:
        head = f"selected: {sel.selected}"
        if len(sel.tied) > 1:
            head += f" (tied exactly with {', '.join(n for n in sel.tied if n != sel.selected)})"
        lines.append(head)
    else:
        lines.append(f"survivors: {', '.join(sel.survivors)}")
    lines.append(sel.guarantee(fmt))
    width = max(len(n) for n in table["scenario"])
    for _, r in table.iterrows():
        out = "" if pd.isna(r["eliminated_at"]) else f", out at replication {int(r['eliminated_at'])}"
        lines.append(f"  {r['scenario']:<{width}}  {fmt.format(r['mean'])} over {r['replications_used']} "
                     f"replications ({r['replications_run']} run{out}): {r['status']}")
    k, n0 = len(table), sel.n0
    later = int(table["replications_run"].sum()) - k * n0
    full = k * max(common, n0)
    lines.append(f"replications: {k} x {n0} = {k * n0} in full (the first stage, used by the table "
                 f"below too), {later} more of the survivors ({model_runs} model runs, {channels} only)"
                 + (f", {k * (common - n0)} more in full for the table" if common > n0 else "")
                 + f"; in all {full} in full + {model_runs} {channels}-only, against {k * fixed_reps} in "
                 f"full for a fixed-count comparison ({k} x {fixed_reps})")
    lines.append(f"the comparison below uses replications 0..{common - 1} ({common}: the count every "
                 "scenario took part in; the selection's means above use each scenario's own count)")
    return "\n".join(lines)
