"""The planner's report (``run_sim.py report DIR``): one self-contained HTML page and a
workbook for every kind of results folder, labels that say what they mean, and a
headless-browser check that the page loads, shows every figure and prints the numbers
of ``summary.csv``.

The folders come from small runs (one week, 2 replications, one process); the
validation and fit folders, which take a minute or more to make, are written by hand
with the columns those commands write.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from html.parser import HTMLParser

import pandas as pd
import pytest

from sim.cli import main
from sim.results.folders import mark
from sim.results.html_report import build_report, fmt, interval, staffing_table


def _validation_folder(folder):
    folder.mkdir()
    pd.DataFrame({"case": ["Erlang B", "Erlang B"], "measure": ["blocking", "utilisation"],
                  "simulated": [0.38, 0.61], "ci_low": [0.35, 0.58], "ci_high": [0.41, 0.64],
                  "theory": [0.387, 0.6], "agrees": [True, True], "level": [0.99, 0.99],
                  "replications": [6, 6]}).to_csv(folder / "validation.csv", index=False)
    mark(folder, "results")  # stands for a folder the validate command wrote
    (folder / "meta.json").write_text(json.dumps({"kind": "validation", "replications": 6,
                                                  "days": 40, "seed": 101, "level": 0.99,
                                                  "version": "0.1.0"}))
    return folder


def _fit_folder(folder):
    folder.mkdir()
    pd.DataFrame({"channel": ["phone", "chat", "email", "all"],
                  "observed": [5702, 911, 1440, 8053], "fitted": [5700.0, 910.0, 1441.0, 8051.0],
                  "simulated": [5650.0, 905.0, 1430.0, 7985.0], "sim_hw": [60.0, 12.0, 9.0, None],
                  "error": [-52.0, -6.0, -10.0, -68.0],
                  "rel_error": [-0.009, -0.0066, -0.0069, -0.0084]}).to_csv(
        folder / "totals.csv", index=False)
    pd.DataFrame({"scenario": ["fitted_2020"], "window_answered": [425.0], "window_hw": [9.0],
                  "published_2020": [429], "published_2019": [244],
                  "uplift_vs_no_campaigns": [0.7]}).to_csv(folder / "campaign_window.csv",
                                                           index=False)
    mark(folder, "results")  # stands for a folder the fit command wrote
    (folder / "meta.json").write_text(json.dumps({"kind": "fit", "seed": 1, "reps": 8,
                                                  "version": "0.1.0",
                                                  "command": "python run_sim.py fit"}))
    return folder


# --------------------------------------------------------------------------- labels

def test_labels_say_what_they_mean():
    assert fmt(0.435, "pct") == "43.5%"
    assert fmt(0.14, "pct", signed=True) == "+14.0 pp", "a difference of shares is in pp"
    assert fmt(-0.00001, "pct") == "0.0%" and fmt(-0.00001, "pct", signed=True) == "0.0 pp"
    assert fmt(-0.4, "int") == "0" and fmt(-0.04, "f1") == "0.0", "no -0"
    assert fmt(1234.4, "int", signed=True) == "+1,234"
    assert fmt(float("nan"), "int") == "n/a"
    assert interval(0.5, 0.4, 0.6, "pct") == "50.0% [40.0%, 60.0%]"
    assert interval(0.98, 0.9, 1.07, "pct") == "98.0% [90.0%, 100.0%]", "a share stops at 100%"
    assert interval(20, -5, 45, "int") == "20 [0, 45]", "a count is not negative"
    assert interval(-0.02, -0.05, 0.01, "pct", signed=True) == "-2.0 pp [-5.0 pp, +1.0 pp]", \
        "a difference keeps its sign and is not cut"
    assert interval(3, 3, 3, "int") == "3", "no interval when every replication agrees"


def test_staffed_hours_as_fte_and_cost_per_year():
    hours = 1560 * 91 / 365.25  # one FTE's productive hours over 91 days
    t = staffing_table({"a": {"staffed_hours_total": hours, "cost_total": 9100.0}}, 91)
    row = t.frame.iloc[0]
    assert row["fte"] == pytest.approx(1.0) and row["cost_per_year_eur"] == pytest.approx(
        9100 * 365.25 / 91), "FTE = hours / (1560 x days / 365.25); cost scaled to a year"
    assert "assumption" in t.caption
    half = staffing_table({"a": {"staffed_hours_total": hours}}, 91, hours_per_fte=3120)
    assert half.frame.iloc[0]["fte"] == pytest.approx(0.5)


# --------------------------------------------------------------------------- every kind

@pytest.mark.parametrize("kind", ["run", "compare", "sweep", "optimise", "sensitivity"])
def test_report_of_every_kind_is_one_self_contained_page_and_a_workbook(folders, kind):
    check_report(folders[kind], kind)


@pytest.mark.parametrize("kind", ["validation", "fit"])
def test_report_of_a_hand_made_folder_is_one_self_contained_page_and_a_workbook(tmp_path, kind):
    # Hand-made folders: the command writes no report (they do not wait for ``folders``).
    folder = {"validation": _validation_folder, "fit": _fit_folder}[kind](tmp_path / kind)
    assert main(["report", str(folder)]) == 0
    check_report(folder, kind)


def check_report(folder, kind):
    html = (folder / "report.html").read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html), \
        "nothing is loaded from the network"
    assert "<link" not in html and "@import" not in html, "CSS is inline"
    figs = list((folder / "figures").glob("*.png")) if (folder / "figures").exists() else []
    assert html.count('src="data:image/png;base64,') == len(figs), \
        f"every figure of the folder is embedded ({len(figs)} PNG files)"
    for section in ("question", "results", "published", "assumptions", "reproduce"):
        assert f'id="{section}"' in html, f"section {section} missing from the {kind} report"
    assert "source document 000" in html and not re.search(r"\bseed 00\d", html), \
        "seed documents are called source documents"
    text = re.sub(r"<[^>]+>", " ", html.split("<style>")[0] + html.split("</style>")[1])
    assert not re.search(r"(?<![\w.+-])-0(\.0+)?(%| pp)?(?![\d.,])", text), "no -0 on the page"
    wb = pd.read_excel(folder / "report.xlsx", sheet_name=None)
    report = build_report(folder)
    assert set(wb) >= {"about"} | {t.name[:31] for t in report.tables + report.published}
    assert len(wb["about"]) > 0 and len(wb[(report.tables + report.published)[0].name[:31]]) > 0


def test_run_report_numbers_equal_the_summary(folders):
    folder = folders["run"]
    summary = pd.read_csv(folder / "summary.csv", dtype={"key": str}).set_index(
        ["by", "key", "kpi"])
    head = build_report(folder).tables[0]
    assert head.headline and len(head.rows) >= 15
    for row, attrs in zip(head.rows, head.row_attrs, strict=True):
        by, key, kpi = attrs["data-kpi"].split("|")
        assert row[1] == fmt(summary.loc[(by, key, kpi), "mean"], attrs["data-format"]), \
            f"{kpi}: page shows {row[1]}, summary.csv has {summary.loc[(by, key, kpi), 'mean']}"
    wb = pd.read_excel(folder / "report.xlsx", sheet_name="headline")
    m = wb[wb["by"] == "all"].set_index("kpi")["mean"]
    assert m["answer_rate_caller"] == pytest.approx(
        summary.loc[("all", "all", "answer_rate_caller"), "mean"], abs=5e-5)
    pub = pd.read_excel(folder / "report.xlsx", sheet_name="published_2020_monthly")
    assert set(pub["channel"]) == {"phone", "chat", "email"} and set(pub["month"]) == {"2020-02"}
    assert list(pub.loc[pub["channel"] == "phone", "published"]) == [421], \
        "February 2020 phone contacts of source document 000"


def test_compare_report_gives_differences_in_pp_and_free_options(folders):
    html = (folders["compare"] / "report.html").read_text(encoding="utf-8")
    ce = pd.read_csv(folders["compare"] / "cost_effectiveness.csv").set_index("scenario")
    assert ce.loc["overflow", "extra_cost"] == 0 and ce.loc["two_lines", "extra_cost"] > 0
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", html, flags=re.S)
    cost_rows = [r for r in rows if "<td" in r and "overflow</td>" in r and "free" in r]
    assert cost_rows, "an option without extra staffed hours is 'free', not EUR 0 [0, 0]"
    assert re.search(r"[+-]\d+\.\d pp \[", html), "differences of answer rates in pp with a CI"
    assert "EUR 0.0 [0.0, 0.0]" not in html and "callers answered per year" not in html
    names = {p.name for p in (folders["compare"] / "figures").glob("*.png")}
    assert "compare_diff_answer_rate_caller.png" in names, "paired differences drawn"


def test_figure_labels_name_the_horizon(tmp_path):
    from sim.results.figures import horizon_label

    (tmp_path / "scenario_a.yaml").write_text("horizon: {start: 2020-01-01, end: 2020-04-30}\n")
    assert horizon_label(tmp_path) == "over 2020-01-01 to 2020-04-30 (121 days)", \
        "a four-month horizon is not 'per year'"
    (tmp_path / "scenario_a.yaml").write_text("horizon: {start: 2024-01-01, end: 2024-12-31}\n")
    assert horizon_label(tmp_path) == "per year"


def test_report_written_unless_no_report(folders):
    for kind in ("run", "compare", "sweep", "optimise", "sensitivity"):
        assert (folders[kind] / "report.html").exists(), f"{kind} writes its report"
    assert not (folders["noreport"] / "report.html").exists()
    assert not (folders["noreport"] / "report.xlsx").exists()


def test_report_of_a_folder_without_meta_is_one_line_exit_2(tmp_path, capsys):
    assert main(["report", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "no meta.json" in err and str(tmp_path) in err
    (tmp_path / "meta.json").write_text('{"kind": "nonsense"}')
    assert main(["report", str(tmp_path)]) == 2
    assert "unknown results kind 'nonsense'" in capsys.readouterr().err


def test_report_draws_figures_for_a_folder_without_any(folders, tmp_path):
    folder = tmp_path / "nofig"
    shutil.copytree(folders["noreport"], folder)  # made with --no-figures
    assert not (folder / "figures").exists()
    assert main(["report", str(folder)]) == 0
    html = (folder / "report.html").read_text(encoding="utf-8")
    assert html.count("data:image/png;base64,") >= 4
    assert not (folder / "figures").exists(), "the report writes nothing but its two files"


# --------------------------------------------------------------------------- browser

def _browser() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    return None


class _Cells(HTMLParser):
    """Headline rows of the rendered DOM: data-kpi -> texts of the row's cells."""

    def __init__(self):
        super().__init__()
        self.rows: dict[str, list[str]] = {}
        self.status: dict[str, str] = {}
        self._kpi = None
        self._cell = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "tr" and "data-kpi" in a:
            self._kpi = a["data-kpi"]
            self.rows[self._kpi] = []
        elif tag == "td" and self._kpi:
            self._cell = ""
        elif a.get("id") == "report-status":
            self.status = a

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data

    def handle_endtag(self, tag):
        if tag == "td" and self._cell is not None:
            self.rows[self._kpi].append(self._cell.strip())
            self._cell = None
        elif tag == "tr":
            self._kpi = None


def _number(text: str) -> float:
    v = float(text.replace(",", "").rstrip("%"))
    return v / 100 if text.endswith("%") else v


def test_report_in_a_headless_browser(folders):
    browser = _browser()
    if browser is None:
        pytest.skip("no headless browser: install chromium (apt-get install -y chromium) to run "
                    "the rendering check")
    folder = folders["run"]
    page = (folder / "report.html").resolve().as_uri()
    dom = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu",
                          "--virtual-time-budget=5000", "--dump-dom", page],
                         capture_output=True, text=True, timeout=120).stdout
    cells = _Cells()
    cells.feed(dom)
    status = cells.status
    n_png = len(list((folder / "figures").glob("*.png")))
    assert status.get("data-images") == str(n_png), f"page status: {status}"
    assert status.get("data-broken") == "", f"figures not displayed: {status.get('data-broken')}"
    assert status.get("data-errors") == "", f"script errors: {status.get('data-errors')}"
    summary = pd.read_csv(folder / "summary.csv", dtype={"key": str}).set_index(
        ["by", "key", "kpi"])
    assert len(cells.rows) >= 15, "the headline table is on the page"
    for key, row in cells.rows.items():
        by, k, kpi = key.split("|")
        shown, mean = row[1], summary.loc[(by, k, kpi), "mean"]
        # The page rounds: 0.1% for shares, 0.01 or 0.1 or 1 otherwise.
        decimals = len(shown.rstrip("%").partition(".")[2])
        tol = (0.5 * 10 ** -decimals) / (100 if shown.endswith("%") else 1) + 1e-12
        assert abs(_number(shown) - mean) <= tol, \
            f"{kpi}: the page shows {shown}, summary.csv has mean {mean}"


def test_staffing_rows_add_up_with_dedicated_callback_lines():
    """The FTE table lists every staffed channel, so its rows add up to 'all channels'
    (dedicated callback lines were missing: the rows summed to less than the total)."""
    from sim.results.html_report import staffing_table

    m = {"staffed_line_hours": 3870.0, "chat_staffed_hours": 380.0,
         "email_staff_staffed_hours": 688.0, "callback_line_staffed_hours": 860.0,
         "staffed_hours_total": 5798.0, "cost_total": 289900.0}
    t = staffing_table({"faster_callbacks": m}, days=122)
    hours = dict(zip(t.frame["channel"], t.frame["staffed_hours"], strict=True))
    parts = sum(v for k, v in hours.items() if k != "all channels")
    assert parts == hours["all channels"], f"channel rows sum to {parts}, total {hours['all channels']}"
