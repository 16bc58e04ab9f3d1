"""Draw the standard figures of a results folder from its saved summary.

Used at the end of a run and by ``run_sim.py plot DIR`` (no simulation needed).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from sim.results import plots  # noqa: E402


def _observed_phone_2020() -> pd.Series:
    """Published answered phone calls per month in 2020 (seed 000), index ``YYYY-MM``.

    Raises :class:`sim.data.MissingDataError` if the data file is missing: a figure
    without the published series would look complete while it is not."""
    from sim import data

    df = data.monthly_2020()
    phone = df[df["channel"] == "phone"]
    return pd.Series(phone["contacts"].to_numpy(), index=phone["month"].astype(str).to_numpy())


def horizon_label(folder: Path) -> str:
    """What totals in ``folder`` cover, for axis labels: ``over 2020-01-01 to 2020-03-31
    (91 days)``, or ``per year`` for a calendar year; from its (first) scenario file."""
    import datetime as dt

    import yaml

    files = sorted(Path(folder).glob("scenario*.yaml"))
    if not files:
        return "over the horizon"
    h = (yaml.safe_load(files[0].read_text(encoding="utf-8")) or {}).get("horizon", {})
    try:
        start, end = dt.date.fromisoformat(str(h["start"])), dt.date.fromisoformat(str(h["end"]))
    except (KeyError, ValueError):
        return "over the horizon"
    if (start.month, start.day, end.month, end.day) == (1, 1, 12, 31) and start.year == end.year:
        return "per year"
    return f"over {start} to {end} ({(end - start).days + 1} days)"


def save_figure(fig, folder: Path, name: str) -> list[Path]:
    """Write ``fig`` as ``folder/name.png`` and ``.svg`` (tight layout) and close it."""
    fig.tight_layout()
    out = [folder / f"{name}.png", folder / f"{name}.svg"]
    fig.savefig(out[0], dpi=120)
    fig.savefig(out[1])
    plt.close(fig)
    return out


def run_figures(summary: pd.DataFrame, folder: Path) -> list[Path]:
    """The standard figures of a single-scenario run, written to ``folder/figures``."""
    folder = Path(folder) / "figures"
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    months = set(summary.loc[summary["by"] == "month", "key"])
    observed = _observed_phone_2020()
    if observed is not None and not months & set(observed.index):
        observed = None

    # Simulated against published per channel (source document 000), counted as in the fit;
    # needs the per-replication KPIs, which the results folder holds beside the figures.
    per_rep_file = folder.parent / "kpis_per_rep.csv"
    published = pd.DataFrame()
    if per_rep_file.exists():
        from sim.results.published import CHANNEL_LABELS, monthly_vs_published

        published = monthly_vs_published(pd.read_csv(per_rep_file, dtype={"key": str}))
        for channel, g in published.groupby("channel", sort=False):
            fig, ax = plt.subplots(figsize=(9, 4.5))
            plots.answered_vs_published(g, ax, "answered " + CHANNEL_LABELS[channel])
            written += save_figure(fig, folder, f"answered_{channel}_vs_published")

    fig, ax = plt.subplots(figsize=(9, 4.5))
    # The published phone counts include callbacks: they are drawn against those above.
    plots.answered_per_month(summary, ax, None if not published.empty else observed)
    written += save_figure(fig, folder, "answered_per_month")

    fig, ax = plt.subplots(figsize=(9, 4.5))
    published = ("2020-09", "2020-12", 0.40, 0.45) if observed is not None else None
    plots.answer_rate_per_month(summary, ax, published)
    written += save_figure(fig, folder, "answer_rate_per_month")

    fig, ax = plt.subplots(figsize=(7, 4.5))
    plots.attempts_histogram(summary, ax)
    written += save_figure(fig, folder, "attempts_per_caller")

    fig, ax = plt.subplots(figsize=(10, 4))
    plots.utilisation_heatmap(summary, ax)
    written += save_figure(fig, folder, "utilisation_weekday_hour")
    return written


def compare_figures(table: pd.DataFrame, ce: pd.DataFrame, folder: Path) -> list[Path]:
    """Figures of a comparison: bars per option with CIs, cost against extra answered."""
    period = horizon_label(folder)
    folder = Path(folder) / "figures"
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    n_options = table["scenario"].nunique() - 1
    for kpi, label, pct in [("answer_rate_caller", "answer rate per caller", True),
                            ("callers_answered", f"answered callers\n{period}", False),
                            ("mean_attempts", "attempts per caller", False),
                            ("chat_answered", f"chats answered\n{period}", False),
                            ("email_mean_response_h", "e-mail mean response time (h)", False)]:
        if not (table["kpi"] == kpi).any():
            continue
        fig, ax = plt.subplots(figsize=(8, 4.5))
        plots.compare_bars(table, ax, kpi, label, pct)
        written += save_figure(fig, folder, f"compare_{kpi}")
        d = table[(table["by"] == "all") & (table["kpi"] == kpi)].iloc[1:]
        same = (d[["diff", "diff_low", "diff_high"]].fillna(0) == 0).all(axis=None)
        if n_options > 0 and not same and kpi in ("answer_rate_caller", "callers_answered",
                                                  "chat_answered"):
            fig, ax = plt.subplots(figsize=(8, 1.2 + 0.6 * n_options))
            plots.compare_differences(table, ax, kpi, label, pct)
            written += save_figure(fig, folder, f"compare_diff_{kpi}")
    if not ce.empty:
        fig, ax = plt.subplots(figsize=(8, 5))
        plots.cost_vs_extra_answered(ce, ax, period)
        written += save_figure(fig, folder, "cost_vs_extra_answered")
    return written


def sweep_figures(summary: pd.DataFrame, meta: dict, folder: Path) -> list[Path]:
    """Figures of a sweep: KPI curves against the swept settings."""
    folder = Path(folder) / "figures"
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    params = meta["params"]
    for kpi, label, pct in [("answer_rate_caller", "answer rate per caller", True),
                            ("answer_rate_attempt", "answer rate per attempt", True),
                            ("mean_attempts", "attempts per caller", False),
                            ("utilisation", "line utilisation", True),
                            ("cost_total", "cost of staffed hours (EUR)", False)]:
        if not (summary["kpi"] == kpi).any():
            continue
        fig, ax = plt.subplots(figsize=(8, 4.5))
        plots.sweep_curves(summary, params, ax, kpi, label, pct)
        written += save_figure(fig, folder, f"sweep_{kpi}")
    return written
