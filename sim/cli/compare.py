"""``run_sim.py compare BASE OPTION ...``: scenarios on common random numbers, paired
differences with the first and cost-effectiveness."""

from __future__ import annotations

import time
from pathlib import Path

from sim.cli.common import (
    add_figures_argument,
    add_output_arguments,
    add_readings_arguments,
    add_run_arguments,
    base_meta,
    progress,
)
from sim.cli.report import add_report_argument, report_after
from sim.experiments.executors import add_executor_arguments


def add_arguments(p) -> None:
    p.add_argument("scenarios", type=Path, nargs="+", help="base scenario, then the options")
    add_run_arguments(p, reps="replications (default: the base scenario's)",
                      seed="base seed (default: the base scenario's)", out="results folder",
                      out_default=Path("results/compare"),
                      set_="override a setting in every scenario (repeatable)")
    add_output_arguments(p)
    add_figures_argument(p)
    add_readings_arguments(p, "and write robustness.csv with one verdict per option")
    p.add_argument("--resume", action="store_true",
                   help="reuse the replications an interrupted comparison finished")
    add_executor_arguments(p)
    add_report_argument(p)
    g = p.add_argument_group("ranking and selection (Kim-Nelson KN; README: Comparing options)")
    g.add_argument("--select", metavar="KPI",
                   help="select the best scenario on this overall KPI (e.g. answer_rate_caller) with "
                        "the fewest replications: clearly worse ones stop early; the comparison "
                        "table then uses the replications every scenario took part in")
    g.add_argument("--delta", type=float,
                   help="indifference zone in the KPI's units: differences smaller than this do not "
                        "matter (default 0.005 for a rate: an assumption)")
    g.add_argument("--alpha", type=float, help="1 - confidence of the selection (default 0.05)")
    g.add_argument("--n0", type=int, help="first-stage replications of every scenario (default 5)")
    g.add_argument("--max-reps", type=int,
                   help="at most this many replications of a scenario (default 40); stopped there, "
                        "the survivors are reported")


# Defaults of --select's settings (README: the indifference zone is an assumption).
SELECT_DEFAULTS = {"alpha": 0.05, "n0": 5, "max_reps": 40}


def _selection_settings(args) -> dict | None:
    """The validated settings of ``--select`` (None without it); ScenarioError naming the
    flag for a bad one."""
    import math

    from sim.errors import ScenarioError

    given = [f for f in ("delta", "alpha", "n0", "max_reps") if getattr(args, f) is not None]
    if args.select is None:
        if given:
            raise ScenarioError("--" + given[0].replace("_", "-"), "", "only applies with --select KPI")
        return None
    if args.readings:
        raise ScenarioError("--select", "", "does not combine with --readings (one selection per "
                            "reading is not implemented)")
    from sim.planning.select_best import default_delta, selection_kpi

    kpi, channel, higher = selection_kpi(args.select)
    delta = args.delta if args.delta is not None else default_delta(kpi)
    if delta is None:
        raise ScenarioError("--delta", "", f"{kpi} is not a rate: give the indifference zone in its "
                            "units (the smallest difference that matters)")
    if not (math.isfinite(delta) and delta > 0):
        raise ScenarioError("--delta", "", f"must be a number > 0 (got {delta})")
    alpha = SELECT_DEFAULTS["alpha"] if args.alpha is None else args.alpha
    if not (math.isfinite(alpha) and 0 < alpha < 1):
        raise ScenarioError("--alpha", "", f"must lie strictly between 0 and 1 (got {alpha})")
    n0 = SELECT_DEFAULTS["n0"] if args.n0 is None else args.n0
    if n0 < 2:
        raise ScenarioError("--n0", "", f"must be at least 2: the first stage estimates the variances "
                            f"of the differences (got {n0})")
    max_reps = SELECT_DEFAULTS["max_reps"] if args.max_reps is None else args.max_reps
    if max_reps < n0:
        raise ScenarioError("--max-reps", "", f"must be at least --n0 = {n0} (got {max_reps})")
    return {"kpi": kpi, "channel": channel, "higher_better": higher, "delta": delta, "alpha": alpha,
            "n0": n0, "max_reps": max_reps}


def main(args) -> int:
    from sim.cli.common import check_flags, fail
    from sim.config import load_scenario, parse_overrides
    from sim.experiments.guard import check_work
    from sim.results.folders import (
        fresh_out,
        output_lock,
        partial_folder,
        remove_partial,
        safe_name,
        write_atomic,
    )

    check_flags(args)
    select = _selection_settings(args)

    if len(args.scenarios) < 2:
        return fail("compare needs a base scenario and at least one option to compare with it "
                    f"(got {len(args.scenarios)}); for one scenario use: run {args.scenarios[0]}", 2)
    overrides = parse_overrides(args.set)
    if args.fitted is not None and not args.readings:
        return fail("--fitted only applies with --readings (the readings' own fits)", 2)
    if args.readings:
        return _with_readings(args, overrides)
    scns = [load_scenario(p, overrides) for p in args.scenarios]
    names = [s.name for s in scns]
    if len(set(names)) != len(names):
        return fail(f"scenario names must differ to be compared: {names}", 2)
    if len({safe_name(n) for n in names}) != len(names):
        return fail(f"scenario names must differ as folder names to be compared: {names}", 2)
    reps = args.reps or scns[0].experiment.replications
    seed = scns[0].experiment.seed if args.seed is None else args.seed
    # With --select, the most the selection may simulate.
    n, flag = ((select["max_reps"], "--max-reps") if select is not None
               else (reps, "--reps" if args.reps else "experiment.replications"))
    for s, f in zip(scns, args.scenarios, strict=True):
        check_work(s, f, n, args.allow_large, flag)
    # The heavy layers only now: a bad scenario has been reported without loading them.
    from sim.experiments.compare import (
        compare_table,
        cost_effectiveness,
        cost_table,
        frontier,
        frontier_text,
        headline_text,
        paired,
    )
    from sim.experiments.executors import executor_from_args
    from sim.experiments.replications import run
    from sim.results.figures import compare_figures

    t0 = time.perf_counter()
    fresh_out(args.out, announce=False)  # refuse a place that is not ours before simulating
    lock = output_lock(args.out)
    lock.__enter__()  # held until the folder is written (released on any exit)
    try:
        partial = partial_folder(args.out, args.resume)
        # --select maps many small batches: its workers are forked once (closed below).
        executor = executor_from_args(args, keep=select is not None)
        try:
            if select is not None:
                first = [run(s, select["n0"], seed, jobs=args.jobs, progress=progress(args),
                             checkpoint=partial / safe_name(s.name), executor=executor) for s in scns]
                selection, reps = _select(args, select, scns, seed, executor, partial,
                                          {s.name: r.values(select["kpi"]) for s, r in zip(scns, first, strict=True)})
            results = [run(s, reps, seed, jobs=args.jobs, progress=progress(args),
                           checkpoint=partial / safe_name(s.name), executor=executor) for s in scns]
        finally:
            executor.close()
    except BaseException:
        lock.__exit__(None, None, None)
        raise
    wall = time.perf_counter() - t0
    table = paired(results)
    ce = cost_effectiveness(results)
    front = frontier(results)
    text = compare_table(table) + "\n\n" + cost_table(ce) + "\n\n" + frontier_text(front)
    meta = base_meta("compare", scenarios=names, files=[str(p) for p in args.scenarios],
                     overrides=args.set, seed=seed, replications=reps, wall_time_s=round(wall, 3))
    if select is not None:
        from sim.planning.select_best import selection_table, selection_text

        fixed = args.reps or scns[0].experiment.replications
        sel_table = selection_table(*selection[:2])
        sel_text = selection_text(selection[0], select["kpi"], sel_table, fixed, reps, selection[2],
                                  " and ".join(sorted({"phone", select["channel"]})))
        text = sel_text + "\n\n" + text
        meta["selection"] = _selection_meta(select, selection, sel_table, fixed, reps)

    def fill(tmp: Path) -> None:
        import json

        for s, r in zip(scns, results, strict=True):
            (tmp / f"scenario_{safe_name(s.name)}.yaml").write_text(s.to_yaml(), encoding="utf-8")
            r.kpis().assign(scenario=s.name).to_csv(tmp / f"kpis_per_rep_{safe_name(s.name)}.csv", index=False)
        table.to_csv(tmp / "compare.csv", index=False)
        if select is not None:
            sel_table.to_csv(tmp / "selection.csv", index=False)
        ce.to_csv(tmp / "cost_effectiveness.csv", index=False)
        front.to_csv(tmp / "frontier.csv", index=False)
        (tmp / "compare.txt").write_text(text + "\n", encoding="utf-8")
        (tmp / "meta.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
        if not args.no_figures:
            compare_figures(table, ce, tmp)

    try:
        out = write_atomic(args.out, fill)
        remove_partial(partial)
    finally:
        lock.__exit__(None, None, None)
    report_after(args, out)
    if not args.quiet and not args.verbose and select is not None:  # verbose: in the full text
        print("\n" + sel_text)
    if not args.quiet:
        print(f"\n{len(scns)} scenarios, {reps} replications each, seed {seed}; "
              "differences are paired (common random numbers) with 95% CIs\n")
        print(headline_text(table, ce))
        print("\n" + frontier_text(front))
        print(f"\nevery KPI with CIs and paired differences: {out / 'compare.txt'}\n")
        if args.verbose:
            print(text + "\n")
    best = table[(table["by"] == "all") & (table["kpi"] == "answer_rate_caller")].sort_values("mean").iloc[-1]
    if select is not None:
        sel = selection[0]
        what = f"selected {sel.selected}" if sel.settled else f"not settled: {', '.join(sel.survivors)} remain"
        print(f"{what} on {select['kpi']} (KN, delta {select['delta']:g}, {1 - select['alpha']:.0%}; "
              f"{int(sel_table['replications_run'].sum())} replications for the selection)")
    print(f"compared {len(scns)} scenarios ({reps} reps, {wall:.1f} s); highest answer rate per caller: "
          f"{best['scenario']} {best['mean']:.1%} -> {out}")
    return 0


def _select(args, select: dict, scns: list, seed: int, executor, partial: Path, first: dict):
    """Run KN (:func:`sim.planning.select_best.run_selection`) from ``first`` (the KPI of
    the first stage, simulated in full for the table), later stages on replications of
    the KPI's channels saved in the partial folder (``--resume`` reuses them). Returns ``((state, simulated, model_runs,
    resumed), common)``: ``model_runs`` the simulations done (not resumed, not shared),
    ``resumed`` those loaded from the partial folder, ``common`` the
    replication count every scenario took part in, for the table."""
    import sys

    from sim.experiments.saved import SavedResults
    from sim.planning.optimise import Evaluations
    from sim.planning.select_best import run_selection

    def report(state) -> None:
        if args.verbose:
            print(f"selection: replication {state.stage}, {len(state.survivors)} remain: "
                  f"{', '.join(state.survivors)}", file=sys.stderr, flush=True)

    saved = SavedResults(partial / ".selection")
    cache = Evaluations(executor, channels=(select["channel"],), saved=saved)
    state, simulated = run_selection(scns, select["kpi"], seed, cache, delta=select["delta"],
                                     alpha=select["alpha"], n0=select["n0"], max_reps=select["max_reps"],
                                     workers=args.jobs, first_stage=first, report=report)
    line = saved.summary("replications of the selection")
    if line is not None and (not args.quiet or saved.unused):
        print(line, file=sys.stderr)
    return (state, simulated, cache.simulated, cache.resumed), min(state.used.values())


def _selection_meta(select: dict, selection, table, fixed: int, common: int) -> dict:
    """What meta.json records of the selection: settings, outcome and counts."""
    state, simulated, runs, resumed = selection
    return {"method": "Kim-Nelson KN (2001), common random numbers", "kpi": select["kpi"],
            "higher_better": select["higher_better"], "delta": select["delta"], "alpha": select["alpha"],
            "n0": select["n0"], "max_reps": select["max_reps"], "eta": state.eta, "h2": state.h2,
            "settled": state.settled, "selected": state.selected, "tied": list(state.tied),
            "survivors": list(state.survivors), "stage": state.stage,
            "replications_used": dict(state.used), "replications_run": dict(simulated),
            "replications_total": int(table["replications_run"].sum()), "model_runs": runs,
            "resumed": resumed,
            "channels_simulated": sorted({"phone", select["channel"]}),
            "fixed_count_reps": fixed, "fixed_count_total": fixed * len(state.names),
            "table_replications": common, "guarantee": state.guarantee()}


def _with_readings(args, overrides: dict) -> int:
    """``compare --readings``: the same comparison under each reading (an overlay of every
    scenario, :mod:`sim.experiments.readings`); common random numbers within a reading."""
    import json

    from sim.cli.common import fail
    from sim.config import load_scenario
    from sim.experiments.compare import cost_effectiveness, frontier, frontier_text, paired
    from sim.experiments.executors import executor_from_args
    from sim.experiments.guard import check_work
    from sim.experiments.readings import (
        FITTED_DIR,
        base_text,
        find_readings,
        ranks,
        reading_scenario,
        robustness,
        verdicts,
    )
    from sim.experiments.replications import run
    from sim.results.folders import (
        fresh_out,
        output_lock,
        partial_folder,
        remove_partial,
        safe_name,
        write_atomic,
    )

    readings = find_readings(args.readings)
    fitted_dir = args.fitted or FITTED_DIR
    for p in args.scenarios:
        load_scenario(p, overrides)  # a bad file is reported as itself, before any reading
    plan, used = {}, {}
    for r in readings:
        pairs = [reading_scenario(r, p, overrides, fitted_dir) for p in args.scenarios]
        plan[r.name], used[r.name] = [s for s, _ in pairs], [u for _, u in pairs]
    bases = [base_text(r, used[r], args.scenarios, fitted_dir) for r in plan]
    first = next(iter(plan.values()))
    names = [s.name for s in first]
    if len(set(names)) != len(names):
        return fail(f"scenario names must differ to be compared: {names}", 2)
    reps = args.reps or first[0].experiment.replications
    seed = first[0].experiment.seed if args.seed is None else args.seed
    for scns in plan.values():
        for s, f in zip(scns, args.scenarios, strict=True):
            check_work(s, f, reps, args.allow_large, "--reps" if args.reps else "experiment.replications")
    t0 = time.perf_counter()
    fresh_out(args.out, announce=False)
    with output_lock(args.out):
        partial = partial_folder(args.out, args.resume)
        executor = executor_from_args(args)
        per_reading, fronts = {}, {}
        try:
            for reading, scns in plan.items():
                results = [run(s, reps, seed, jobs=args.jobs, progress=progress(args),
                               checkpoint=partial / safe_name(reading) / safe_name(s.name), executor=executor)
                           for s in scns]
                table, ce = paired(results), cost_effectiveness(results)
                per_reading[reading], fronts[reading] = (table, ce), frontier(results)
        finally:
            executor.close()
        wall = time.perf_counter() - t0
        rob = robustness(per_reading, fronts)
        rk = ranks(per_reading)
        lines = verdicts(rob, rk)
        text = "\n".join(lines) + "\n\nbase of each reading:\n" + "\n".join(bases) + \
            "\n\nrank by answer rate per caller (1 = highest)\n" + rk.to_string() + \
            "".join(f"\n\n[{r}]\n" + frontier_text(fronts[r]) for r in plan)
        meta = base_meta("compare_readings", scenarios=names, files=[str(p) for p in args.scenarios],
                         readings={r.name: r.file for r in readings}, fitted_dir=str(fitted_dir),
                         bases={r: dict(zip(map(str, args.scenarios), used[r], strict=True)) for r in plan},
                         overrides=args.set, seed=seed,
                         replications=reps, wall_time_s=round(wall, 3))

        def fill(tmp: Path) -> None:
            rob.to_csv(tmp / "robustness.csv", index=False)
            rk.to_csv(tmp / "ranks.csv", index_label="scenario")
            (tmp / "robustness.txt").write_text(text + "\n", encoding="utf-8")
            for reading, (table, ce) in per_reading.items():
                sub = tmp / safe_name(reading)
                sub.mkdir()
                table.to_csv(sub / "compare.csv", index=False)
                ce.to_csv(sub / "cost_effectiveness.csv", index=False)
                fronts[reading].to_csv(sub / "frontier.csv", index=False)
                for s in plan[reading]:
                    (sub / f"scenario_{safe_name(s.name)}.yaml").write_text(s.to_yaml(), encoding="utf-8")
            (tmp / "meta.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")

        out = write_atomic(args.out, fill)
        remove_partial(partial)
    if not args.quiet:
        print(f"\n{len(names)} scenarios under {len(plan)} readings, {reps} replications each, seed {seed}; "
              "gains are paired differences with the base (95% CI) within a reading\n")
        print("base of each reading:\n  " + "\n  ".join(bases) + "\n")
        print("\n".join(lines[:-1]) + "\n")
    print(f"{lines[-1]} -> {out}")
    return 0
