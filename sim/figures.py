"""Draw the standard figures of a results folder from its saved summary.

Used at the end of a run and by ``run_sim.py plot DIR`` (no simulation needed).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from sim import plots  # noqa: E402


def _observed_phone_2020() -> pd.Series | None:
    """Published answered phone calls per month in 2020 (seed 000), if data/ is there."""
    try:
        from sim import data

        df = data.monthly_2020()
    except (ImportError, FileNotFoundError):
        return None
    phone = df[df["channel"] == "phone"]
    return pd.Series(phone["contacts"].to_numpy(), index=phone["month"].astype(str).to_numpy())


def _save(fig, folder: Path, name: str) -> list[Path]:
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

    fig, ax = plt.subplots(figsize=(9, 4.5))
    plots.answered_per_month(summary, ax, observed)
    written += _save(fig, folder, "answered_per_month")

    fig, ax = plt.subplots(figsize=(9, 4.5))
    published = ("2020-09", "2020-12", 0.40, 0.45) if observed is not None else None
    plots.answer_rate_per_month(summary, ax, published)
    written += _save(fig, folder, "answer_rate_per_month")

    fig, ax = plt.subplots(figsize=(7, 4.5))
    plots.attempts_histogram(summary, ax)
    written += _save(fig, folder, "attempts_per_caller")

    fig, ax = plt.subplots(figsize=(10, 4))
    plots.utilisation_heatmap(summary, ax)
    written += _save(fig, folder, "utilisation_weekday_hour")
    return written
