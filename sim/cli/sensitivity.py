"""``run_sim.py sensitivity SCENARIO [--options OPTION.yaml ...]``: one-at-a-time sensitivity.

Every uncertain parameter of :mod:`sim.planning.sensitivity` is set low and high in turn, on the
scenario and on every subsidy option (the same change on top of each option's own
values), all on common random numbers. Reports how much the answer rate per caller
moves (tornado chart) and how the ranking of the options changes (by gain in answer
rate per caller, and by cost per extra caller answered; Kendall tau against the base
ranking). Default options: the files of ``scenarios/subsidy/`` listed in
``DEFAULT_OPTIONS`` whose horizon equals the scenario's (after ``--set``).

Results folder (written atomically)::

    summary.txt        settings, tornado table, rankings, robustness verdict
    settings.csv       parameter, level, setting and what it means in the scenario's units
    per_rep.csv        every setting x scenario x replication: the overall KPIs used
    values.csv         the scenario's KPIs per setting (mean, 95% CI)
    tornado.csv        per parameter: low, base, high and swing, widest first
    gains.csv          per setting and option: paired gain, extra cost, cost per extra caller
    ranking.csv        per criterion and setting: ranking, Kendall tau, top option the same?
    meta.json
    figures/tornado.(png|svg), figures/ranking.(png|svg)

With ``--screen morris`` (:mod:`sim.planning.screening`) a Morris screening on the scenario
alone comes first; the tables above then hold the kept parameters only, and also::

    morris.csv         per parameter: mu, mu*, sigma, mu*'s 95% half-width, kept
    morris_points.csv  every design point: trajectory, factors on [0, 1], their values, the
                       answer rate per caller (mean over the replications)
    figures/morris.(png|svg)
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
    progress,
)
from sim.cli.report import add_report_argument, report_after
from sim.config import PROJECT_ROOT, ScenarioError, load_scenario, parse_overrides
from sim.experiments.executors import add_executor_arguments, executor_from_args
from sim.experiments.replications import default_jobs, tqdm_disable
from sim.experiments.saved import resumable
from sim.planning.optimise import Evaluations, evaluate
from sim.planning.sensitivity import (
    PARAMETER_NAMES,
    PARAMETERS,
    apply_setting,
    base_values,
    describe,
    option_gains,
    plot_ranking,
    plot_tornado,
    ranking_table,
    ranks_long,
    settings,
    tornado_table,
)
from sim.results.folders import fresh_out, safe_name, write_atomic

DEFAULT_OPTIONS = ["extra_line_peak_days", "option0_overflow", "faster_callbacks",
                   "interprovince_overflow", "chat_three_lines", "all_measures"]
TRAJECTORIES, TRAJECTORIES_QUICK = 4, 2  # --screen morris: default trajectories
KEEP = 3  # --screen morris: parameters kept for the tornado (an assumption: half of six)
KPIS = ["answer_rate_caller", "answer_rate_attempt", "callers_answered", "answered",
        "mean_attempts", "cost_total", "staffed_hours_total"]


def add_arguments(p) -> None:
    p.add_argument("scenario", type=Path, help="base scenario YAML file")
    p.add_argument("--options", type=Path, nargs="+",
                   help="option scenarios to rank (default: scenarios/subsidy/{"
                        + ",".join(DEFAULT_OPTIONS) + "}.yaml with the scenario's horizon)")
    p.add_argument("--params", nargs="+", choices=PARAMETER_NAMES,
                   help="parameters to vary (default: all)")
    p.add_argument("--screen", choices=["morris"],
                   help="screen the parameters first (Morris elementary effects on the scenario "
                        "alone), then the tornado and the ranking for the kept ones only")
    p.add_argument("--trajectories", type=int, metavar="R",
                   help=f"--screen: Morris trajectories of {len(PARAMETER_NAMES) + 1} points each "
                        f"(default {TRAJECTORIES}, {TRAJECTORIES_QUICK} with --quick)")
    p.add_argument("--keep", type=int, metavar="K",
                   help=f"--screen: keep the K parameters with the largest mu* (default {KEEP})")
    p.add_argument("--reps", type=int, default=4,
                   help="replications per setting and scenario (default 4)")
    p.add_argument("--seed", type=int, help="seed (default: the scenario's experiment.seed)")
    p.add_argument("--set", action="append", default=[], metavar="PATH=VALUE",
                   help="override a setting in the scenario and every option (repeatable)")
    p.add_argument("--jobs", type=int, default=default_jobs(), help="parallel processes")
    p.add_argument("--quick", action="store_true", help="2 replications (a smoke test)")
    p.add_argument("--out", type=Path,
                   help="results folder (default: results/sensitivity_<scenario>)")
    p.add_argument("--resume", action="store_true",
                   help="reuse the replications an interrupted sensitivity run with the same "
                        "--out finished (each saved as it finishes)")
    add_output_arguments(p)
    add_figures_argument(p, replot=False)
    add_executor_arguments(p)
    add_report_argument(p)
    add_readings_arguments(p)


def default_options(scn, overrides: dict) -> tuple[list, list[str]]:
    """The default subsidy options that share the scenario's horizon, and the skipped names."""
    kept, skipped = [], []
    for name in DEFAULT_OPTIONS:
        opt = load_scenario(PROJECT_ROOT / "scenarios" / "subsidy" / f"{name}.yaml", overrides)
        if opt.horizon == scn.horizon:
            kept.append(opt)
        else:
            skipped.append(name)
    return kept, skipped


def _fmt_table(df: pd.DataFrame, formats: dict[str, str]) -> str:
    cells = [list(formats)]
    for _, r in df.iterrows():
        cells.append([("" if pd.isna(r[c]) else fmt.format(r[c])) for c, fmt in formats.items()])
    widths = [max(len(row[i]) for row in cells) for i in range(len(formats))]
    return "\n".join("  " + "  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip()
                     for row in cells)


def robustness(ranking: pd.DataFrame, by: str) -> str:
    """One sentence on how stable the ranking by ``by`` is across settings."""
    r = ranking[(ranking["criterion"] == by) & (ranking["level"] != "base")]
    if r.empty:
        return f"ranking by {by}: no settings"
    base = ranking[(ranking["criterion"] == by) & (ranking["level"] == "base")].iloc[0]
    worst = r.loc[r["kendall_tau"].idxmin()] if r["kendall_tau"].notna().any() else None
    changed = r[~r["top_same"]]
    what = "gain in answer rate per caller" if by == "gain" else "cost per extra caller"
    tau = r["kendall_tau"]
    text = (f"ranking by {what}: base {base['ranking']}; Kendall tau vs base from "
            f"{tau.min():.2f} to {tau.max():.2f} (mean {tau.mean():.2f})")
    if worst is not None:
        text += f", lowest at {worst['parameter']} {worst['setting']}"
    if changed.empty:
        text += f"; the top option ({base['top']}) stays first under every setting"
    else:
        text += ("; the top option changes under " + ", ".join(
            f"{p} {s} (-> {t})" for p, s, t in zip(changed["parameter"], changed["setting"],
                                                   changed["top"], strict=True)))
    robust = changed.empty and r["kendall_tau"].min() >= 0.6
    return text + (". Robust." if robust else ". Not fully robust.")


def unclear_options(gains: pd.DataFrame) -> list[str]:
    """Options whose paired gain CI includes zero under at least one setting."""
    touches = (gains["gain_low"] <= 0) & (gains["gain_high"] >= 0)
    return sorted(gains.loc[touches, "option"].unique())


def screen_plan(args) -> tuple[int, int] | None:
    """(trajectories, keep) of ``--screen morris``, None without it; bad values and flags
    that need ``--screen`` (or clash with it) raise a one-line ScenarioError."""
    if not getattr(args, "screen", None):
        for flag, value in [("--trajectories", getattr(args, "trajectories", None)),
                            ("--keep", getattr(args, "keep", None))]:
            if value is not None:
                raise ScenarioError(flag, "", "needs --screen morris")
        return None
    if args.params:
        raise ScenarioError("--screen", "", "the screening chooses the parameters itself: "
                                            "give --screen or --params, not both")
    trajectories = args.trajectories if args.trajectories is not None else (
        TRAJECTORIES_QUICK if args.quick else TRAJECTORIES)
    if trajectories < 2:
        raise ScenarioError("--trajectories", "", f"must be at least 2 (got {trajectories}): "
                                                  "mu* and sigma need two effects per parameter")
    keep = KEEP if args.keep is None else args.keep
    if not 1 <= keep <= len(PARAMETER_NAMES):
        raise ScenarioError("--keep", "", f"must be from 1 to {len(PARAMETER_NAMES)} (got {keep})")
    return trajectories, keep


def screening_lines(scn_name: str, morris: pd.DataFrame, plan: tuple[int, int], points: int,
                    reps: int, seed: int) -> list[str]:
    """The "Screening" section of summary.txt."""
    from sim.planning.screening import LEVELS, not_separated

    trajectories, keep = plan
    kept = list(morris.loc[morris["kept"], "parameter"])
    out = list(morris.loc[~morris["kept"], "parameter"])
    lines = ["", f"Screening (Morris elementary effects, SALib): {trajectories} trajectories x "
                 f"{len(morris) + 1} = {points} points on a {LEVELS}-level grid (seed {seed}), each "
                 f"simulated on {scn_name} only (phone, {reps} replications, the same seed: common "
                 "random numbers); the response is the answer rate per caller, mean over the "
                 "replications; effects are per the parameter's whole low..high range:",
             _fmt_table(morris.sort_values("mu_star", ascending=False, kind="stable"),
                        {"parameter": "{}", "mu": "{:+.2%}", "mu_star": "{:.2%}",
                         "mu_star_conf": "{:.2%}", "sigma": "{:.2%}", "kept": "{}"}),
             f"Kept for the tornado and the ranking (the {keep} largest mu*; --keep, an "
             f"assumption): {', '.join(kept)}."]
    if out:
        largest = morris.loc[~morris["kept"], "mu_star"].max()
        lines.append(f"Screened out: {', '.join(out)} (mu* at most {largest:.2%}). The options' "
                     "ranking was NOT simulated under these parameters: only their effect on the "
                     f"answer rate per caller of {scn_name} was screened.")
        close = not_separated(morris, kept)
        if close:
            lines.append(f"Caution: the screening does not separate {', '.join(close)} from the kept "
                         "parameters (mu* + its 95% half-width reaches the smallest kept mu*); more "
                         "--trajectories or a larger --keep would settle it.")
    return lines


def main(args) -> int:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from tqdm import tqdm  # not tqdm.auto: bars on a terminal only, no widget warning

    from sim.results.figures import save_figure

    if getattr(args, "readings", None):
        if getattr(args, "screen", None):
            # Each reading would keep its own factors, and the readings' tornadoes would no
            # longer line up: not built.
            raise ScenarioError("--screen", "", "does not combine with --readings (each reading "
                                "would keep its own factors; not implemented)")
        from sim.planning.reading_runs import run_under_readings

        files = args.options or [PROJECT_ROOT / "scenarios" / "subsidy" / f"{n}.yaml" for n in DEFAULT_OPTIONS]
        return run_under_readings(args, main, "sensitivity", files)
    overrides = parse_overrides(args.set)
    scn = load_scenario(args.scenario, overrides)
    seed = scn.experiment.seed if args.seed is None else args.seed
    reps = 2 if args.quick else args.reps
    if reps < 2:
        raise ScenarioError("--reps", str(reps),
                            "need at least 2 replications for confidence intervals")
    plan = screen_plan(args)
    skipped: list[str] = []
    if args.options:
        options = [load_scenario(p, overrides) for p in args.options]
        bad = [o.name for o in options if o.horizon != scn.horizon]
        if bad:
            raise ScenarioError("--options", ", ".join(bad),
                                f"horizon differs from the scenario's ({scn.horizon.start} to "
                                f"{scn.horizon.end}); common random numbers need the same horizon")
    else:
        options, skipped = default_options(scn, overrides)
    names = [scn.name] + [o.name for o in options]
    if len(set(names)) != len(names):
        raise ScenarioError("--options", ", ".join(names), "scenario names must differ")
    if plan is None:
        sets = settings(args.params)
        runs = [(s, x, apply_setting(x, s)) for s in sets for x in [scn, *options]]
    else:
        from sim.planning.screening import apply_point, factor_values, morris_design

        design = morris_design(plan[0], seed)
        points = [apply_point(scn, x) for x in design]
    out = args.out or Path("results") / f"sensitivity_{safe_name(scn.name)}"
    fresh_out(out, announce=False)  # refuse a place that is not ours before searching
    if not args.quiet and plan is None:
        print(f"sensitivity {scn.name}: {len(sets)} settings x {len(names)} scenarios x {reps} "
              f"replications = {len(runs) * reps} runs (seed {seed})"
              + (f"; default options skipped (other horizon): {', '.join(skipped)}"
                 if skipped else ""),
              flush=True)
    elif not args.quiet:
        print(f"sensitivity {scn.name}: Morris screening, {len(points)} points x {reps} replications "
              f"on {scn.name}, then the tornado of the {plan[1]} kept parameters: {1 + 2 * plan[1]} "
              f"settings x {len(names)} scenarios x {reps} replications (seed {seed})"
              + (f"; default options skipped (other horizon): {', '.join(skipped)}"
                 if skipped else ""),
              flush=True)

    partial = getattr(args, "partial", None)  # --readings: the reading's own folder
    with resumable(out, args.resume, partial, args.quiet) as saved:
        t0 = time.perf_counter()
        executor = executor_from_args(args, keep=True)  # (memo kept: issue 16)
        # KPIS are phone KPIs and costs (staffed hours, which need no simulation): chat and
        # e-mail are not simulated, and a setting that leaves a scenario unchanged reuses
        # its replications. The phone KPIs are bit-identical to a full run's.
        cache = Evaluations(executor, channels=("phone",), saved=saved)
        try:
            if plan is not None:
                # Stage 1: every design point on the scenario alone, on common random
                # numbers (the same seed and replications for every point).
                from sim.planning.screening import keep_factors, morris_table

                bar = tqdm(total=len(points) * reps, unit="rep", disable=tqdm_disable(progress(args)),
                           leave=False)
                try:
                    pframes = evaluate(points, reps, seed, executor, progress=bar.update, cache=cache)
                finally:
                    bar.close()
                y = [float(f["answer_rate_caller"].mean()) for f in pframes]
                morris = morris_table(design, y, seed)
                kept = keep_factors(morris, plan[1])
                morris["kept"] = morris["parameter"].isin(kept)
                point_rows = pd.DataFrame(
                    [{"point": i, "trajectory": i // (len(PARAMETER_NAMES) + 1),
                      **{f"x_{k}": float(v) for k, v in zip(PARAMETER_NAMES, x, strict=True)},
                      **{f"value_{k}": v for k, v in factor_values(x).items()},
                      "answer_rate_caller": yi}
                     for i, (x, yi) in enumerate(zip(design, y, strict=True))])
                screened_runs = cache.simulated + cache.resumed
                # Stage 2: the one-at-a-time tornado and ranking for the kept parameters.
                sets = settings(kept)
                runs = [(s, x, apply_setting(x, s)) for s in sets for x in [scn, *options]]
            bar = tqdm(total=len(runs) * reps, unit="rep", disable=tqdm_disable(progress(args)),
                       leave=False)
            try:
                frames = evaluate([r[2] for r in runs], reps, seed, executor, progress=bar.update,
                                  cache=cache)
            finally:
                bar.close()
        finally:
            executor.close()
        wall = time.perf_counter() - t0

        per_rep = pd.concat([f[[k for k in KPIS if k in f]].reset_index().assign(
            parameter=s.parameter, level=s.level, setting=s.label, scenario=x.name)
            for (s, x, _), f in zip(runs, frames, strict=True)], ignore_index=True)
        per_rep = per_rep[["parameter", "level", "setting", "scenario", "replication",
                           *[k for k in KPIS if k in per_rep]]]
        setting_rows = pd.DataFrame([{"parameter": s.parameter, "level": s.level, "setting": s.label,
                                      "description": describe(scn, s)} for s in sets])
        values = base_values(per_rep, scn.name)
        for kpi in ("answered", "mean_attempts"):
            values[kpi] = per_rep[per_rep["scenario"] == scn.name].groupby(
                ["parameter", "level", "setting"], sort=False)[kpi].mean().to_numpy()
        values = setting_rows.merge(values, on=["parameter", "level", "setting"])
        tornado = tornado_table(values)
        gains = option_gains(per_rep, scn.name) if options else pd.DataFrame()
        ranking = ranking_table(gains) if options else pd.DataFrame()

        desc = {p[0]: p[1] for p in PARAMETERS}
        lines = [f"Sensitivity of {scn.name} ({scn.horizon.start} to {scn.horizon.end}), one parameter "
                 f"at a time, {reps} replications per setting and scenario, seed {seed} (common random "
                 "numbers)", "Options: " + (", ".join(o.name for o in options) or "(none)")
                 + (f"; skipped (other horizon): {', '.join(skipped)}" if skipped else "")]
        if plan is not None:
            lines += screening_lines(scn.name, morris, plan, len(points), reps, seed)
        lines += ["", "Settings (low / high; the base is the scenario's own values):"]
        for param in dict.fromkeys(setting_rows["parameter"]):
            if param == "base":
                continue
            g = setting_rows[setting_rows["parameter"] == param].set_index("level")
            lines.append(f"  {param:<19} {desc[param]}: {g.loc['low', 'setting']} "
                         f"({g.loc['low', 'description']}) / {g.loc['high', 'setting']} "
                         f"({g.loc['high', 'description']})")
        base = values[values["level"] == "base"].iloc[0]
        lines += ["", f"Answer rate per caller of {scn.name}: base {base['mean']:.1%} "
                      f"[95% CI {base['ci_low']:.1%}, {base['ci_high']:.1%}]; tornado, widest swing "
                      "first:",
                  _fmt_table(tornado, {"parameter": "{}", "low_setting": "{}", "low": "{:.1%}",
                                       "high_setting": "{}", "high": "{:.1%}", "width": "{:.1%}"}), "",
                  "All settings (answer rate per caller with 95% CI, answered calls, attempts per "
                  "caller):",
                  _fmt_table(values, {"parameter": "{}", "setting": "{}", "description": "{}",
                                      "mean": "{:.1%}", "ci_low": "{:.1%}", "ci_high": "{:.1%}",
                                      "answered": "{:,.0f}", "mean_attempts": "{:.2f}"})]
        verdicts = []
        if options:
            for by, title in [("gain", "Ranking by gain in answer rate per caller over the base"),
                              ("cost", "Ranking by cost per extra caller answered (lowest first)")]:
                lines += ["", f"{title}:",
                          _fmt_table(ranking[ranking["criterion"] == by],
                                     {"parameter": "{}", "setting": "{}", "ranking": "{}",
                                      "kendall_tau": "{:.2f}", "top_same": "{}"})]
            verdicts = [robustness(ranking, "gain"), robustness(ranking, "cost")]
            unclear = unclear_options(gains)
            if unclear:
                verdicts.append("options whose gain is not distinguishable from zero (95% CI includes "
                                f"0) under at least one setting: {', '.join(unclear)}; their places "
                                "among themselves are left to noise")
            lines += ["", "Robustness:"] + [f"  {v}" for v in verdicts]
        top = tornado.iloc[0]
        finding = (f"widest swing: {top['parameter']} ({top['low_setting']}: {top['low']:.1%}, "
                   f"{top['high_setting']}: {top['high']:.1%}, base {top['base']:.1%})")
        lines += ["", f"Main finding: {finding}."]
        text = "\n".join(lines)
        meta = base_meta("sensitivity", scenario=scn.name, scenario_file=str(args.scenario),
                         options=[o.name for o in options], skipped_options=skipped,
                         overrides=args.set,
                         parameters=[s.parameter for s in sets if s.level == "low"], seed=seed,
                         replications=reps, runs=len(runs),
                         model_runs=cache.simulated + cache.resumed, model_runs_resumed=cache.resumed,
                         replications_shared=cache.restaffed,
                         channels_simulated=["phone"], wall_time_s=round(wall, 2), jobs=args.jobs,
                         finding=finding, robustness=verdicts)
        if plan is not None:
            from sim.planning.screening import LEVELS

            meta.update(design="morris", trajectories=plan[0], points=len(points),
                        levels=LEVELS, keep=plan[1], kept=kept,
                        screened_out=[p for p in PARAMETER_NAMES if p not in kept],
                        model_runs_screening=screened_runs)

        def fill(tmp: Path) -> None:
            setting_rows.to_csv(tmp / "settings.csv", index=False)
            per_rep.to_csv(tmp / "per_rep.csv", index=False)
            values.to_csv(tmp / "values.csv", index=False)
            tornado.to_csv(tmp / "tornado.csv", index=False)
            if options:
                gains.to_csv(tmp / "gains.csv", index=False)
                ranking.to_csv(tmp / "ranking.csv", index=False)
            if plan is not None:
                morris[["parameter", "mu", "mu_star", "sigma", "mu_star_conf", "kept"]].to_csv(
                    tmp / "morris.csv", index=False)
                point_rows.to_csv(tmp / "morris_points.csv", index=False)
            (tmp / "summary.txt").write_text(text + "\n", encoding="utf-8")
            (tmp / "meta.json").write_text(json.dumps(meta, indent=2, default=str), encoding="utf-8")
            if args.no_figures:
                return
            (tmp / "figures").mkdir()
            fig, ax = plt.subplots(figsize=(8, 0.55 * len(tornado) + 1.8))
            plot_tornado(tornado, ax)
            save_figure(fig, tmp / "figures", "tornado")
            if options:
                fig, axes = plt.subplots(2, 1, figsize=(10, 9), sharex=True)
                plot_ranking(ranks_long(gains, "gain"), axes[0],
                             "Rank by gain in answer rate per caller")
                plot_ranking(ranks_long(gains, "cost"), axes[1],
                             "Rank by cost per extra caller answered")
                save_figure(fig, tmp / "figures", "ranking")
            if plan is not None:
                from sim.planning.screening import plot_morris

                fig, ax = plt.subplots(figsize=(8, 6))
                plot_morris(morris, ax)
                save_figure(fig, tmp / "figures", "morris")

        out = write_atomic(out, fill)  # a fresh name if earlier results are there
    report_after(args, out)
    if not args.quiet:
        print()
        print(text)
        print()
    screened = "" if plan is None else (f"{len(points) * reps} screening runs ({', '.join(kept)} "
                                        "kept), then ")
    print(f"sensitivity {scn.name}: {finding}; {screened}{len(runs) * reps} runs in {wall:.0f} s "
          f"-> {out}")
    return 0
