"""Published hulplijn 1712 figures, transcribed into ``sim/data/*.csv``.

Each loader reads one file and returns a tidy DataFrame with parsed dates. The
provenance of every file (seed document, passage, caveats) is in ``sim/data/README.md``;
each row also carries a ``source`` column. Counts are registered (answered) contacts,
not demand: unanswered call attempts are not in these tables.

The files are package data, so a non-editable install (``pip install .``) has them too.
A missing file raises :class:`MissingDataError` naming it; nothing falls back silently.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from sim.errors import MissingDataError  # noqa: F401 (re-exported: sim.data.MissingDataError)

DATA_DIR = Path(__file__).resolve().parent

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _read(name: str) -> pd.DataFrame:
    path = DATA_DIR / name
    if not path.is_file():
        raise MissingDataError(
            f"data file {path} is missing: the published figures ship with the package in "
            "sim/data/ (pyproject.toml [tool.setuptools.package-data]); reinstall the package "
            "or restore the file from the repository"
        )
    return pd.read_csv(path)


def monthly_2020() -> pd.DataFrame:
    """Registered contacts per month and channel in 2020 (seed 000).

    Columns: month (Period[M]), channel (phone, email, chat, blank = channel not
    recorded), contacts (int, contacts per month), source. Empty cells in the
    published 'Leeg' column are transcribed as 0.
    """
    df = _read("contacts_2020_monthly.csv")
    df["month"] = pd.PeriodIndex(df["month"], freq="M")
    return df.astype({"contacts": "int64"})


def monthly_2020_totals() -> pd.DataFrame:
    """Published row totals of the 2020 monthly table (seed 000).

    Columns: month (Period[M]), total (int, contacts per month, all channels), source.
    """
    df = _read("contacts_2020_monthly_totals.csv")
    df["month"] = pd.PeriodIndex(df["month"], freq="M")
    return df.astype({"total": "int64"})


def yearly() -> pd.DataFrame:
    """Registered contacts per year 2017-2020 (seed 003).

    Columns: year (int), channel (phone_and_email, chat, total), contacts (int, per
    year), source. Chat rows are absent for 2017-2018 (published as '-').
    """
    return _read("contacts_yearly.csv").astype({"year": "int64", "contacts": "int64"})


def contacts_2024() -> pd.DataFrame:
    """Channel shares of the 9,594 contacts (unique callers) in 2024 (seed 002).

    Columns: year (int), channel (phone, chat, email), share (fraction 0-1 of all
    contacts, rounded to whole percent in the source), contacts_total (int, per year),
    source.
    """
    return _read("contacts_2024.csv").astype({"share": "float64", "contacts_total": "int64"})


def campaign_feb2020() -> pd.DataFrame:
    """Facts from the February 2020 press release (seed 004), one row per fact.

    Columns: quantity, value (float; unit given in ``unit``), unit, window_start and
    window_end (datetime64, inclusive; NaT for figures without a period), source, note
    (Dutch wording). The same quantity appears once per window (2020 and 2019).
    """
    df = _read("campaign_feb2020.csv")
    for col in ("window_start", "window_end"):
        df[col] = pd.to_datetime(df[col], format="%Y-%m-%d")
    return df.astype({"value": "float64"})


def campaigns() -> pd.DataFrame:
    """Campaigns and media moments that put 1712 in the picture (seeds 000-004).

    Columns: date and end_date (datetime64; end_date inclusive, NaT for one-day events),
    precision (day, month, season, year: how exact ``date`` is), title (Dutch),
    source, note.
    """
    df = _read("campaigns.csv")
    for col in ("date", "end_date"):
        df[col] = pd.to_datetime(df[col], format="%Y-%m-%d")
    return df


def lockdowns() -> pd.DataFrame:
    """Belgian COVID-19 measure periods 2020-2021 (external, public record; not in seeds).

    Columns: name (first_lockdown, second_lockdown), phase, start and end (datetime64,
    both inclusive), description, decided_by, approximate (bool), source.
    """
    df = _read("lockdowns_belgium.csv")
    for col in ("start", "end"):
        df[col] = pd.to_datetime(df[col], format="%Y-%m-%d")
    return df.astype({"approximate": "bool"})


def opening_hours() -> pd.DataFrame:
    """Opening hours per channel and weekday (seed 002, valid 2024).

    Columns: channel (phone, chat, email), weekday (Mon..Sun), weekday_num (int,
    0 = Monday as in ``datetime.weekday()``), open and close (timedelta64 since
    midnight; close 24:00 = end of day), valid_year (int), source. A channel with two
    rows on one day has a break between them; days without rows are closed.
    """
    df = _read("opening_hours.csv")
    df.insert(2, "weekday_num", df["weekday"].map(WEEKDAYS.index).astype("int64"))
    for col in ("open", "close"):
        df[col] = pd.to_timedelta(df[col] + ":00")
    return df.astype({"valid_year": "int64"})


def capacity_facts() -> pd.DataFrame:
    """Quantitative capacity facts (lines, answer rate, redials, anonymity; seeds 000-004).

    Columns: fact, value_low and value_high (float; NaN where the source gives only an
    upper or lower bound), unit, period (ISO 8601 date or interval, as text), source,
    note (Dutch wording and caveats).
    """
    return _read("capacity_facts.csv").astype({"value_low": "float64", "value_high": "float64"})
