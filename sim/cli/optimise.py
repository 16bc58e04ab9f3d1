"""``run_sim.py optimise SCENARIO --target KPI>=VALUE [--budget EUR]``: staffing optimiser.

Greedy marginal analysis on common random numbers (:mod:`sim.planning.optimise`): the cheapest
extra staffed lines (per province, part of day and weekdays; chat lines) that reach the
target, or with ``--budget`` the best value of the KPI for that money. The schedule is
confirmed on more replications and compared with an Erlang B quick estimate, which is
simulated too. Results folder (written atomically)::

    summary.txt            schedule, cost, achieved KPIs with 95% CIs, trace, Erlang estimate
    schedule.csv           the chosen increments: lines, line-hours, cost
    trace.csv              one row per greedy step (candidate chosen, KPI, cost)
    candidates.csv         every candidate evaluated at every step
    confirmations.csv      every confirmation run (KPI, CI, met)
    erlang.csv             Erlang estimate per province and part of day
    compare.csv            base / optimised / Erlang schedule, paired differences (by=all)
    cost_effectiveness.csv extra hours, cost and callers of both schedules vs the base
    scenario_*.yaml        the base, optimised and Erlang scenarios, fully resolved
    meta.json              target, budget, seed, replications, version, wall time
    figures/optimise_path.(png|svg)

"Target reached" means the confirmed 95% CI clears the threshold; a schedule whose mean
meets it while its CI includes it is reported "not shown at 95%", with the confirmation
replications that would settle it. Exit status 0 when the target is reached (or a
budget-only search ends), 1 otherwise (not reached, or not shown at 95%).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pandas as pd

from sim.cli.common import (
    add_figures_argument,
    add_output_arguments,
    add_readings_arguments,
    base_meta,
)
from sim.cli.report import add_report_argument, report_after
from sim.config import ScenarioError, load_scenario, parse_overrides
from sim.experiments.executors import add_executor_arguments, executor_from_args
from sim.experiments.replications import default_jobs, t_interval
from sim.experiments.saved import resumable
from sim.planning.optimise import (
    TARGET_KPIS,
    Evaluations,
    candidate_increments,
    erlang_estimate,
    erlang_schedule,
    optimise,
    parse_parts,
    parse_target,
    parse_weekday_groups,
    plot_path,
    search_note,
    with_schedule,
)
from sim.results.folders import fresh_out, safe_name, write_atomic
from sim.results.proportions import is_proportion

ERLANG_KPIS = {"answer_rate_caller", "answer_rate_attempt"}
PHONE_SHOWN = ["answer_rate_caller", "answer_rate_attempt", "callers_answered", "mean_attempts",
               "callers_answered_callback", "staffed_line_hours", "staffed_hours_total",
               "cost_total", "utilisation"]
CHAT_SHOWN = ["chat_answered", "chat_answer_rate", "chat_mean_wait_s"]
LABELS = {"answer_rate_caller": "answer rate per caller",
          "answer_rate_attempt": "answer rate per attempt"}


def add_arguments(p) -> None:
    p.add_argument("scenario", type=Path, help="scenario YAML file")
    p.add_argument("--target", metavar="KPI>=VALUE",
                   help="e.g. 'answer_rate_per_caller>=0.8' (also 80%%); KPIs: "
                        + ", ".join(sorted(TARGET_KPIS)) + "; aliases answer_rate_per_caller, "
                        "answer_rate_per_attempt. Without a threshold: best value for --budget")
    p.add_argument("--budget", type=float, metavar="EUR",
                   help="money for extra staffed hours over the simulated horizon")
    p.add_argument("--reps", type=int, default=2,
                   help="replications per candidate evaluation (default 2; paired on common seeds)")
    p.add_argument("--confirm-reps", type=int, default=10,
                   help="replications to confirm a schedule and for the final CIs (default 10)")
    p.add_argument("--settle-max", type=int, metavar="N",
                   help="confirm sequentially: --confirm-reps replications, then twice as many, "
                        "... up to N, stopping as soon as the interval shows the target met or "
                        "missed (Bonferroni over the looks, 95%% overall); default: a fixed count")
    p.add_argument("--seed", type=int, help="seed (default: the scenario's experiment.seed)")
    p.add_argument("--set", action="append", default=[], metavar="PATH=VALUE",
                   help="override a setting, e.g. a representative period: "
                        "--set horizon.start=2020-03-01 --set horizon.end=2020-05-31")
    p.add_argument("--channels", nargs="+", choices=["phone", "chat"],
                   help="channels whose lines are candidates (default: the target KPI's channel)")
    p.add_argument("--parts", metavar="HH:MM-HH:MM,...",
                   help="parts of day for phone increments (default: opening hours cut at 13:00)")
    p.add_argument("--chat-parts", metavar="HH:MM-HH:MM,...",
                   help="parts of day for chat increments (default: chat hours cut at 13:00)")
    p.add_argument("--weekday-groups", metavar="DAYS;DAYS",
                   help="weekday groups for increments, e.g. 'mon,tue;wed,thu,fri' "
                        "(default: one group, every open weekday; more groups = more candidates)")
    p.add_argument("--max-steps", type=int, default=60, help="most increments to add (default 60)")
    p.add_argument("--jobs", type=int, default=default_jobs(), help="parallel processes")
    p.add_argument("--quick", action="store_true",
                   help="1 search and 3 confirmation replications (a smoke test)")
    p.add_argument("--out", type=Path, help="results folder (default: results/optimise_<scenario>)")
    p.add_argument("--resume", action="store_true",
                   help="reuse the replications an interrupted search with the same --out "
                        "finished (each saved as it finishes)")
    add_output_arguments(p)
    add_figures_argument(p, replot=False)
    add_executor_arguments(p)
    add_report_argument(p)
    add_readings_arguments(p)


def _table(df: pd.DataFrame, formats: dict[str, str]) -> str:
    """Aligned text table of the listed columns with their formats."""
    cells = [[c for c in formats]]
    for _, r in df.iterrows():
        cells.append([("" if pd.isna(r[c]) else fmt.format(r[c])) for c, fmt in formats.items()])
    widths = [max(len(row[i]) for row in cells) for i in range(len(formats))]
    return "\n".join("  " + "  ".join(v.ljust(w) if i == 0 else v.rjust(w)
                                      for i, (v, w) in enumerate(zip(row, widths, strict=True)))
                     for row in cells)


def _verdict(target, m: float, lo: float, hi: float) -> str:
    """How a confirmed KPI stands against the target: shown, met on average only, missed."""
    if target.shown(lo, hi):
        return "meets the target, shown at 95%"
    return "meets the target on average, not shown at 95%" if target.met(m) else "misses the target"


def _confirmed(res, kpi: str) -> tuple[float, float, float]:
    return t_interval(res.values(kpi), proportion=is_proportion(kpi))


def main(args) -> int:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from sim.experiments.compare import compare_table, cost_effectiveness, cost_table, paired
    from sim.results.figures import save_figure

    if getattr(args, "readings", None):
        from sim.planning.reading_runs import run_under_readings

        parse_target(args.target)  # a bad target is one line before any reading runs
        return run_under_readings(args, main, "optimise")
    target = parse_target(args.target)
    if target.value is None and args.budget is None:
        raise ScenarioError("--target", args.target or "", "give a threshold, e.g. "
                            "answer_rate_per_caller>=0.8, or a --budget")
    if args.budget is not None and args.budget < 0:
        raise ScenarioError("--budget", str(args.budget), "must be >= 0 euro")
    reps, confirm_reps = (1, 3) if args.quick else (args.reps, args.confirm_reps)
    if reps < 1 or confirm_reps < 2:
        raise ScenarioError("--reps", str(reps),
                            "need at least 1 search and 2 confirmation replications")
    settle_max = getattr(args, "settle_max", None)
    if settle_max is not None and settle_max <= confirm_reps:
        raise ScenarioError("--settle-max", str(settle_max),
                            f"must exceed the confirmation replications ({confirm_reps})")
    scn = load_scenario(args.scenario, parse_overrides(args.set))
    seed = scn.experiment.seed if args.seed is None else args.seed
    phone_parts, chat_parts = parse_parts(args.parts), parse_parts(args.chat_parts)
    groups = parse_weekday_groups(args.weekday_groups)
    channels = tuple(args.channels or (target.channel,))
    cands = candidate_increments(scn, channels, phone_parts, chat_parts, groups)
    if not cands:
        raise ScenarioError("--channels", " ".join(channels),
                            "no candidate increments (channel closed?)")
    out = args.out or Path("results") / f"optimise_{safe_name(scn.name)}"
    fresh_out(out, announce=False)  # refuse a place that is not ours before searching
    log = (lambda _m: None) if args.quiet else (lambda m: print(m, flush=True))
    budget_text = "" if args.budget is None else f", budget EUR {args.budget:,.0f}"
    log(f"optimise {scn.name}: target {target.text}{budget_text}; {len(cands)} candidates "
        f"per step, {reps} search / {confirm_reps} confirmation replications, seed {seed}")

    partial = getattr(args, "partial", None)  # --readings: the reading's own folder
    with resumable(out, args.resume, partial, args.quiet) as saved:
        t0 = time.perf_counter()
        executor = executor_from_args(args, keep=True)  # (memo kept: issue 16)
        # No replication is simulated twice, nor again after an interruption (--resume).
        cache = Evaluations(executor, saved=saved)
        try:
            result = optimise(scn, target, executor, budget=args.budget, reps=reps,
                              confirm_reps=confirm_reps, seed=seed, candidates=cands,
                              max_steps=args.max_steps, log=log, cache=cache,
                              settle_max=settle_max)
            t_search = time.perf_counter() - t0
            n_conf = result.confirmations[-1]["replications"]  # the last look's count
            base = cache.run(scn, n_conf, seed)
            optimised = result.final
            erl_table, erl_res = None, None
            if target.kpi in ERLANG_KPIS and target.value is not None and "phone" in channels:
                erl_table = erlang_estimate(scn, target.value, phone_parts)
                erl_scn = with_schedule(scn, erlang_schedule(scn, erl_table), name=f"{scn.name}_erlang")
                log(f"Erlang estimate: {int(erl_table['extra_lines'].sum())} extra line blocks, "
                    f"EUR {erl_table['extra_cost'].sum():,.0f}; simulating it ...")
                erl_res = cache.run(erl_scn, n_conf, seed)
        finally:
            executor.close()
        wall = time.perf_counter() - t0

        results = [base, optimised] + ([erl_res] if erl_res is not None else [])
        table = paired(results)
        table_all = table[table["by"] == "all"].reset_index(drop=True)
        shown = PHONE_SHOWN + (CHAT_SHOWN if "chat" in channels else [])
        table_shown = table_all[table_all["kpi"].isin(shown)]
        ce = cost_effectiveness(results)
        kpi = target.kpi
        points = []
        for label, res in [("confirmed optimum", optimised), ("Erlang estimate", erl_res)]:
            if res is None:
                continue
            m, lo, hi = _confirmed(res, kpi)
            row = ce[ce["scenario"] == res.scenario.name].iloc[0]
            points.append({"label": label, "scenario": res.scenario.name,
                           "extra_cost": row["extra_cost"], "kpi": m, "ci_low": lo, "ci_high": hi})
        points = pd.DataFrame(points)
        m_opt, lo_opt, hi_opt = points.iloc[0][["kpi", "ci_low", "ci_high"]]
        total_cost = float(result.increments["cost"].sum()) if len(result.increments) else 0.0
        total_hours = float(result.increments["line_hours"].sum()) if len(result.increments) else 0.0

        lines = [f"Staffing optimiser: scenario {scn.name} ({scn.horizon.start} to {scn.horizon.end}), "
                 f"target {target.text}{budget_text}",
                 f"Method: greedy marginal analysis on common random numbers (seed {seed}): "
                 f"{len(cands)} candidate increments per step, {reps} replication(s) per evaluation; "
                 + (f"a schedule that meets the target is confirmed on {confirm_reps} replications."
                    if settle_max is None else
                    f"a schedule that meets the target is confirmed sequentially on {confirm_reps}, "
                    f"then twice as many, ... up to {settle_max} replications, until its interval "
                    "(Bonferroni over the looks, 95% overall) shows the target met or missed."),
                 search_note(result),
                 f"Result: {result.status} - {result.message}",
                 f"Ceiling: with {result.ceiling_lines} extra lines in every candidate block "
                 f"{LABELS.get(kpi, kpi)} is {result.ceiling:.4g} (search replications): no "
                 "staffing of these blocks does better.", "",
                 "Chosen schedule (extra staffed lines on top of the scenario's own staffing, "
                 "over the whole horizon):"]
        if len(result.increments):
            lines.append(_table(result.increments, {"channel": "{}", "province": "{}", "hours": "{}",
                                                    "weekdays": "{}", "lines": "{:d}",
                                                    "line_hours": "{:,.0f}", "cost": "{:,.0f}"}))
        else:
            lines.append("  (none)")
        lines += [f"  total: {total_hours:,.0f} extra staffed hours, EUR {total_cost:,.0f}", "",
                  f"{LABELS.get(kpi, kpi)} with the chosen schedule: {m_opt:.4g} "
                  f"[95% CI {lo_opt:.4g}, {hi_opt:.4g}] on {n_conf} replications"
                  + (f": {_verdict(target, m_opt, lo_opt, hi_opt)}" if target.value is not None else ""),
                  "",
                  f"Achieved KPIs ({n_conf} replications, 95% CIs; differences paired with "
                  "the base):",
                  compare_table(table_shown), "", cost_table(ce), "",
                  "Search trace (KPI on the search replications; cost: extra over the horizon, EUR):",
                  _table(result.trace, {"step": "{:d}", "added": "{}", "kpi": "{:.4f}",
                                        "extra_cost": "{:,.0f}", "gain_per_keur": "{:.5f}"})]
        if erl_table is not None:
            m_e, lo_e, hi_e = points.iloc[1][["kpi", "ci_low", "ci_high"]]
            lines += ["", f"Erlang B quick estimate (per province and part of day, blocking <= "
                          f"{1 - target.value:.3g}; load = new callers per open hour x "
                          f"{erl_table['holding_min'].iloc[0]:.0f} min holding time; redials, "
                          "callbacks and overflow ignored):",
                      _table(erl_table, {"province": "{}", "part": "{}",
                                         "callers_per_open_hour": "{:.3f}", "load_erlang": "{:.3f}",
                                         "base_lines": "{:d}", "blocking_at_base": "{:.3f}",
                                         "lines_needed": "{:d}", "blocking_at_c": "{:.3f}",
                                         "extra_line_hours": "{:,.0f}", "extra_cost": "{:,.0f}"}),
                      f"  Erlang schedule: {erl_table['extra_line_hours'].sum():,.0f} extra "
                      f"line-hours, EUR {erl_table['extra_cost'].sum():,.0f}; simulated "
                      f"{LABELS.get(kpi, kpi)} {m_e:.4g} [95% CI {lo_e:.4g}, {hi_e:.4g}] "
                      f"({_verdict(target, m_e, lo_e, hi_e)})",
                      f"  Greedy schedule: {total_hours:,.0f} extra line-hours, EUR {total_cost:,.0f}; "
                      f"simulated {m_opt:.4g} [95% CI {lo_opt:.4g}, {hi_opt:.4g}]"]
        elif target.kpi not in ERLANG_KPIS or target.value is None:
            lines += ["", f"Erlang quick estimate: not applicable to {target.text} (only answer-rate "
                          "targets with a threshold)"]
        text = "\n".join(lines)
        meta = base_meta("optimise", scenario=scn.name, scenario_file=str(args.scenario),
                         overrides=args.set, target=target.text, target_kpi=kpi,
                         target_value=target.value, budget=args.budget, status=result.status,
                         message=result.message, seed=seed, search_replications=reps,
                         confirm_replications=n_conf, settle_max=settle_max,
                         ceiling=result.ceiling,
                         ceiling_lines=result.ceiling_lines, candidates=[c.label for c in cands],
                         steps=int(len(result.trace) - 1), extra_cost=total_cost,
                         extra_line_hours=total_hours, kpi_confirmed=m_opt,
                         kpi_ci=[lo_opt, hi_opt], wall_time_s=round(wall, 2),
                         search_time_s=round(t_search, 2), jobs=args.jobs,
                         model_runs=cache.simulated + cache.resumed,
                         model_runs_resumed=cache.resumed,
                         model_runs_reused=cache.requested - cache.simulated - cache.resumed,
                         gains_reused=result.reused, reuse_off_because=result.reuse_reasons)

        def fill(tmp: Path) -> None:
            result.increments.to_csv(tmp / "schedule.csv", index=False)
            result.trace.to_csv(tmp / "trace.csv", index=False)
            result.evaluations.to_csv(tmp / "candidates.csv", index=False)
            pd.DataFrame(result.confirmations).to_csv(tmp / "confirmations.csv", index=False)
            table_all.to_csv(tmp / "compare.csv", index=False)
            ce.to_csv(tmp / "cost_effectiveness.csv", index=False)
            points.to_csv(tmp / "points.csv", index=False)
            if erl_table is not None:
                erl_table.to_csv(tmp / "erlang.csv", index=False)
            for res in results:
                (tmp / f"scenario_{safe_name(res.scenario.name)}.yaml").write_text(res.scenario.to_yaml(),
                                                                         encoding="utf-8")
            (tmp / "summary.txt").write_text(text + "\n", encoding="utf-8")
            (tmp / "meta.json").write_text(json.dumps(meta, indent=2, default=str), encoding="utf-8")
            if args.no_figures:
                return
            (tmp / "figures").mkdir()
            fig, ax = plt.subplots(figsize=(8, 5))
            plot_path(result.trace, points, ax, LABELS.get(kpi, kpi), target.value, result.ceiling)
            save_figure(fig, tmp / "figures", "optimise_path")

        out = write_atomic(out, fill)  # a fresh name if earlier results are there
    report_after(args, out)
    if not args.quiet:
        print()
        print(text)
        print()
    print(f"optimise {scn.name}: {result.status}; {kpi} {m_opt:.4g} [{lo_opt:.4g}, {hi_opt:.4g}] "
          f"for EUR {total_cost:,.0f} extra ({len(result.trace) - 1} steps, {wall:.0f} s) -> {out}")
    budget_search_ended = target.value is None and result.status in (
        "budget spent", "no improvement", "max steps")
    ok = result.success or budget_search_ended
    return 0 if ok else 1
