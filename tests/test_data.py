"""Transcription checks for sim/data/*.csv against the totals printed in the seed documents."""

import numpy as np
import pandas as pd
import pytest

from sim import data

# Column sums printed under the 2020 monthly table ("Som:"), seed 000.
PUBLISHED_COLUMN_SUMS = {"phone": 5702, "email": 1440, "chat": 911, "blank": 6}
PUBLISHED_TOTAL_2020 = 8059

LOADERS = [
    data.monthly_2020,
    data.monthly_2020_totals,
    data.yearly,
    data.contacts_2024,
    data.campaign_feb2020,
    data.campaigns,
    data.lockdowns,
    data.opening_hours,
    data.capacity_facts,
]


@pytest.mark.parametrize("loader", LOADERS, ids=lambda f: f.__name__)
def test_every_row_names_its_source(loader):
    df = loader()
    assert len(df) > 0, f"{loader.__name__}() returned no rows"
    assert df["source"].notna().all(), f"{loader.__name__}(): rows without a source value"


def test_missing_file_raises_clear_error(monkeypatch, tmp_path):
    monkeypatch.setattr(data, "DATA_DIR", tmp_path)
    with pytest.raises(FileNotFoundError, match="data file .*contacts_yearly.csv is missing"):
        data.yearly()


# --- 2020 monthly table (seed 000) -------------------------------------------------


def test_monthly_2020_is_complete_and_tidy():
    df = data.monthly_2020()
    assert len(df) == 12 * 4, f"expected 12 months x 4 channels = 48 rows, got {len(df)}"
    assert not df.duplicated(["month", "channel"]).any(), "duplicate (month, channel) rows"
    assert set(df["channel"]) == set(PUBLISHED_COLUMN_SUMS), (
        f"channels {set(df['channel'])} differ from the published columns "
        f"{set(PUBLISHED_COLUMN_SUMS)}"
    )
    assert (df["contacts"] >= 0).all(), "negative contact counts in the monthly table"
    assert df["month"].min() == pd.Period("2020-01", "M")
    assert df["month"].max() == pd.Period("2020-12", "M")


@pytest.mark.parametrize("channel", sorted(PUBLISHED_COLUMN_SUMS))
def test_monthly_channel_sums_match_published_column_sums(channel):
    df = data.monthly_2020()
    got = int(df.loc[df["channel"] == channel, "contacts"].sum())
    want = PUBLISHED_COLUMN_SUMS[channel]
    assert got == want, f"sum of monthly {channel} rows ({got}) != published column sum ({want})"


def test_monthly_grand_total_matches_published_total():
    got = int(data.monthly_2020()["contacts"].sum())
    assert got == PUBLISHED_TOTAL_2020, (
        f"sum of all month x channel cells ({got}) != published Totaal ({PUBLISHED_TOTAL_2020})"
    )
    totals = int(data.monthly_2020_totals()["total"].sum())
    assert totals == PUBLISHED_TOTAL_2020, (
        f"sum of the published monthly row totals ({totals}) != published Totaal "
        f"({PUBLISHED_TOTAL_2020})"
    )


def test_each_month_adds_up_to_published_row_total():
    # The published table is internally consistent: no discrepancy to document.
    by_month = data.monthly_2020().groupby("month")["contacts"].sum()
    totals = data.monthly_2020_totals().set_index("month")["total"]
    diff = (by_month - totals).loc[lambda s: s != 0]
    assert diff.empty, (
        f"channel sums per month differ from the published row totals: {diff.to_dict()}"
    )


def test_april_2020_is_the_peak_month():
    totals = data.monthly_2020_totals().set_index("month")["total"]
    assert totals.idxmax() == pd.Period("2020-04", "M"), (
        f"busiest month in the table is {totals.idxmax()}, expected April 2020 (first lockdown)"
    )


# --- yearly table (seed 003) -------------------------------------------------------


def _yearly_wide():
    return data.yearly().pivot(index="year", columns="channel", values="contacts")


def test_yearly_total_is_phone_and_email_plus_chat():
    wide = _yearly_wide()
    parts = wide["phone_and_email"] + wide["chat"].fillna(0)
    bad = wide.index[parts != wide["total"]].tolist()
    assert not bad, f"years where phone_and_email + chat != total: {bad}"


def test_chat_not_offered_before_2019():
    wide = _yearly_wide()
    assert wide.loc[[2017, 2018], "chat"].isna().all(), (
        "chat was published as '-' for 2017-2018; expected no chat rows for those years"
    )


def test_yearly_2020_matches_monthly_table():
    wide = _yearly_wide()
    monthly = data.monthly_2020().groupby("channel")["contacts"].sum()
    assert wide.loc[2020, "total"] == monthly.sum(), (
        f"yearly 2020 total ({wide.loc[2020, 'total']}) != monthly table total ({monthly.sum()})"
    )
    assert wide.loc[2020, "chat"] == monthly["chat"], (
        f"yearly 2020 chat ({wide.loc[2020, 'chat']}) != monthly chat sum ({monthly['chat']})"
    )
    # 7148 is phone + e-mail + blank (5702 + 1440 + 6), not phone + e-mail (7142).
    phone_email = monthly["phone"] + monthly["email"]
    assert wide.loc[2020, "phone_and_email"] == phone_email + monthly["blank"], (
        f"yearly 2020 phone_and_email ({wide.loc[2020, 'phone_and_email']}) != monthly "
        f"phone + email + blank ({phone_email + monthly['blank']})"
    )
    assert wide.loc[2020, "phone_and_email"] - phone_email == 6, (
        "expected yearly phone_and_email to exceed monthly phone + email by the 6 blank-channel "
        "contacts"
    )


# --- 2024 (seed 002) ---------------------------------------------------------------


def test_2024_shares_sum_to_one():
    df = data.contacts_2024()
    total = df["share"].sum()
    assert total == pytest.approx(1.0), f"2024 channel shares sum to {total}, not 1"
    assert (df["contacts_total"] == 9594).all(), "2024 contacts_total differs from 9,594"


# --- February 2020 campaign window (seed 004) --------------------------------------


def _fact(quantity, year):
    df = data.campaign_feb2020()
    row = df[(df["quantity"] == quantity) & (df["window_start"].dt.year == year)]
    assert len(row) == 1, f"expected one '{quantity}' row for {year}, got {len(row)}"
    return row.iloc[0]


def test_campaign_increase_matches_published_percentage():
    now, before = _fact("contacts", 2020)["value"], _fact("contacts", 2019)["value"]
    published = _fact("increase_vs_previous_year", 2020)["value"]
    assert round(now / before - 1, 2) == published, (
        f"429/244 - 1 = {now / before - 1:.4f} does not round to the published {published}"
    )


def test_campaign_per_day_figures_use_working_days():
    row = _fact("contacts", 2020)
    start, end = row["window_start"].date(), row["window_end"].date()
    calendar_days = (row["window_end"] - row["window_start"]).days + 1
    working_days = int(np.busday_count(start, end + pd.Timedelta(days=1)))
    assert (calendar_days, working_days) == (18, 14), (
        f"10-27 Feb 2020: expected 18 calendar / 14 working days, got "
        f"{calendar_days} / {working_days}"
    )
    per_day = _fact("contacts_per_day", 2020)["value"]
    assert round(row["value"] / working_days) == per_day, (
        f"429 / {working_days} working days = {row['value'] / working_days:.1f}, "
        f"published {per_day}"
    )
    assert round(row["value"] / calendar_days) != per_day, (
        f"429 / {calendar_days} calendar days = {row['value'] / calendar_days:.1f} also matches "
        f"the published {per_day}; the working-day reading would not be identified"
    )


def test_campaign_2019_per_day_uses_the_2020_divisor():
    # The same window in 2019 (Sun 10 - Wed 27 Feb) has 13 working days, yet the
    # published 17/day is 244 / 14: the release divided both years by 14.
    row = _fact("contacts", 2019)
    published = _fact("contacts_per_day", 2019)["value"]
    days_2019 = int(np.busday_count("2019-02-10", "2019-02-28"))
    assert days_2019 == 13, f"expected 13 working days in 10-27 Feb 2019, got {days_2019}"
    assert round(row["value"] / 14) == published, (
        f"244 / 14 = {row['value'] / 14:.1f} does not round to the published {published}"
    )
    assert round(row["value"] / days_2019) != published, (
        f"244 / 13 = {row['value'] / days_2019:.1f} unexpectedly matches the published {published}"
    )


def test_campaign_window_fits_inside_february_total():
    window = _fact("contacts", 2020)["value"]
    feb = data.monthly_2020_totals().set_index("month").loc[pd.Period("2020-02", "M"), "total"]
    assert window <= feb, f"window count ({window}) exceeds the February 2020 total ({feb})"


# --- dates and intervals -----------------------------------------------------------


def test_campaign_dates_parse_and_are_ordered():
    df = data.campaigns()
    assert df["date"].notna().all(), "campaigns with an unparsed date"
    has_end = df["end_date"].notna()
    assert (df.loc[has_end, "end_date"] >= df.loc[has_end, "date"]).all(), (
        "campaigns whose end_date is before date"
    )
    assert set(df["precision"]) <= {"day", "month", "season", "year"}, (
        f"unknown precision values {set(df['precision'])}"
    )
    broadcasts = df[df["title"].str.contains("uitzending")]["date"].dt.strftime("%m-%d")
    assert list(broadcasts) == ["02-11", "02-18", "02-25"], (
        f"'Als je eens wist' broadcasts {list(broadcasts)} != 11, 18, 25 February (seed 001)"
    )


def test_lockdown_periods_are_well_formed():
    df = data.lockdowns()
    assert df[["start", "end"]].notna().all().all(), "lockdown rows with an unparsed date"
    assert (df["end"] >= df["start"]).all(), "lockdown rows whose end is before start"
    for name, group in df.groupby("name"):
        gaps = group["start"].iloc[1:].to_numpy() - group["end"].iloc[:-1].to_numpy()
        assert (gaps == np.timedelta64(1, "D")).all(), (
            f"{name}: phases are not back-to-back (next start - previous end != 1 day)"
        )
    first = df[(df["name"] == "first_lockdown") & (df["phase"] == "lockdown")]
    assert first["start"].iloc[0] == pd.Timestamp("2020-03-18"), (
        f"first lockdown start {first['start'].iloc[0]} != 2020-03-18"
    )


def test_opening_hours_weekly_totals():
    df = data.opening_hours()
    assert (df["close"] > df["open"]).all(), "opening-hour rows with close <= open"
    hours = (df["close"] - df["open"]).groupby(df["channel"]).sum() / pd.Timedelta(hours=1)
    want = {"phone": 5 * 9, "chat": 4 * 8 + 4, "email": 7 * 24}
    assert hours.to_dict() == want, f"open hours per week {hours.to_dict()} != {want}"


def test_capacity_fact_ranges():
    df = data.capacity_facts()
    both = df["value_low"].notna() & df["value_high"].notna()
    assert (df.loc[both, "value_low"] <= df.loc[both, "value_high"]).all(), (
        "capacity facts with value_low > value_high"
    )
    rate = df.set_index("fact").loc["answer_rate"]
    assert (rate["value_low"], rate["value_high"]) == (0.40, 0.45), (
        f"answer rate Sep-Dec 2020 {rate['value_low']}-{rate['value_high']} != 0.40-0.45"
    )


# --- shipped with the package, and missing files fail loudly --------------------------


def test_every_data_file_is_declared_package_data():
    import fnmatch
    import tomllib

    from tests.conftest import ROOT

    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"]["sim.data"]
    files = sorted(p.name for p in data.DATA_DIR.iterdir() if p.suffix in (".csv", ".md"))
    assert files, "no data files found"
    missing = [f for f in files if not any(fnmatch.fnmatch(f, g) for g in declared)]
    assert not missing, f"{missing} not in pyproject package-data {declared}: a pip install drops them"


def test_a_non_editable_build_contains_the_data(tmp_path):
    """What `pip install .` installs: setuptools' build_py of a copy of the project (the step
    of a wheel build that collects packages and package data; no network needed)."""
    import shutil
    import subprocess
    import sys

    pytest.importorskip("setuptools")
    from tests.conftest import ROOT

    src = tmp_path / "src"
    shutil.copytree(ROOT / "sim", src / "sim", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    build = subprocess.run([sys.executable, "-c", "from setuptools import setup; setup()", "-q",
                            "build_py", "--build-lib", str(tmp_path / "lib")],
                           cwd=src, capture_output=True, text=True)
    assert build.returncode == 0, build.stderr[-500:]
    built = {p.name for p in (tmp_path / "lib" / "sim" / "data").iterdir()}
    expected = {p.name for p in data.DATA_DIR.glob("*.csv")}
    assert expected <= built, f"missing from the build: {sorted(expected - built)}"


def test_figures_fail_loudly_without_the_published_series(monkeypatch, tmp_path):
    from sim.results import figures

    monkeypatch.setattr(data, "DATA_DIR", tmp_path)
    with pytest.raises(data.MissingDataError, match="contacts_2020_monthly.csv is missing"):
        figures._observed_phone_2020()


def test_missing_data_is_one_line_on_the_command_line(monkeypatch, tmp_path, capsys):
    from sim.cli import main
    from tests.conftest import TEST_SCENARIOS

    monkeypatch.setattr(data, "DATA_DIR", tmp_path)
    rc = main([str(TEST_SCENARIOS / "small.yaml"), "--reps", "1", "--jobs", "1", "--quiet",
               "--out", str(tmp_path / "res")])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 1 and len(err) == 1 and "contacts_2020_monthly.csv is missing" in err[0], err
    assert not (tmp_path / "res").exists(), "no half-drawn results folder left behind"
