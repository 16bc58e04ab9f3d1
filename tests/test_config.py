"""Scenario loading: defaults, base: inheritance, --set overrides and clear errors."""

import datetime as dt

import pytest

from sim.config import PROVINCES, Scenario, ScenarioError, load_scenario, parse_overrides
from tests.conftest import SCENARIOS


def write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_defaults_are_the_2020_set_up():
    scn = load_scenario()
    assert scn.phone.staffing.lines == {p: 1 for p in PROVINCES}, "one line per province (seed 004)"
    assert scn.phone.opening_hours.minutes(0) == [(540, 1080)], "phone Mon 9-18 (seed 002)"
    assert scn.phone.opening_hours.minutes(5) == [], "phone closed on Saturday"
    assert scn.phone.queue.capacity == 0, "1712 has no waiting room: busy tone"


def test_baseline_loads_and_round_trips(tmp_path):
    scn = load_scenario(SCENARIOS / "baseline_2020.yaml")
    assert scn.name == "baseline_2020"
    again = load_scenario(write(tmp_path, "resolved.yaml", scn.to_yaml()))
    assert again == scn, "the resolved scenario written to results folders must reload identically"


def test_base_inheritance_and_set_overrides(tmp_path):
    write(tmp_path, "parent.yaml", "name: parent\nphone: {staffing: {lines: 2}, option0: {probability: 0.2}}\n")
    child = write(tmp_path, "child.yaml", "base: parent.yaml\nname: child\nphone: {option0: {probability: 0.3}}\n")
    scn = load_scenario(child, parse_overrides(["phone.staffing.lines=3", "horizon.end=2020-01-31"]))
    assert scn.name == "child"
    assert scn.phone.option0.probability == 0.3, "child overrides parent key by key"
    assert scn.phone.staffing.lines["Limburg"] == 3, "--set overrides the files"
    assert scn.horizon.end == dt.date(2020, 1, 31)


def test_lines_mapping_fills_missing_provinces():
    scn = load_scenario(None, {"phone.staffing.lines": {"Antwerpen": 3}})
    assert scn.phone.staffing.lines["Antwerpen"] == 3 and scn.phone.staffing.lines["Limburg"] == 1


@pytest.mark.parametrize(
    "text, path, fragment, line",
    [
        ("phone:\n  talk_minutes: 3\n", "phone.talk_minutes", "unknown key", 2),
        ("phone:\n  queue:\n    capacity: lots\n", "phone.queue.capacity", "integer", 3),
        ("horizon: {start: 2020-03-01, end: 2020-02-01}\n", "horizon", "before start", 1),
        ("phone:\n  option0: {probability: 1.5}\n", "phone.option0.probability", "less than or equal to 1", 2),
        ("phone:\n  talk_min: {dist: lognormal, mean: 10, sd: -2}\n", "phone.talk_min.sd", "greater than 0", 2),
        ("phone:\n  opening_hours: {mon: ['09:00-12:00', '11:00-18:00']}\n", "phone.opening_hours.mon", "overlap", 2),
        ("phone:\n  opening_hours: {tue: ['18:00-09:00']}\n", "phone.opening_hours.tue", "ends before it starts", 2),
        ("phone:\n  staffing: {lines: {Brussel: 1}}\n", "phone.staffing.lines.Brussel", "Antwerpen", 2),
        ("phone:\n  option0: {routing: {policy: smart}}\n", "phone.option0.routing.policy", "fixed", 2),
        ("phone:\n  queue: {capacity: 2}\n", "phone.queue", "patience_min", 2),
        ("demand:\n  phone: {annual: 0}\n", "demand.phone.annual", "greater than 0", 2),
        ("demand:\n  phone: {month_factors: [1, 2]}\n", "demand.phone.month_factors", "12 values", 2),
    ],
)
def test_bad_scenarios_give_one_clear_line(tmp_path, text, path, fragment, line):
    f = write(tmp_path, "bad.yaml", text)
    with pytest.raises(ScenarioError) as err:
        load_scenario(f)
    e = err.value
    assert e.path == path, f"error path {e.path!r} should be {path!r} ({e})"
    assert fragment in e.message, f"message {e.message!r} should mention {fragment!r}"
    assert e.line == line, f"YAML line {e.line} should be {line} ({e})"
    assert "\n" not in str(e) and str(e).startswith(str(f)), f"one line naming the file: {e}"


def test_malformed_yaml_and_missing_base(tmp_path):
    with pytest.raises(ScenarioError, match="malformed YAML"):
        load_scenario(write(tmp_path, "a.yaml", "phone: {talk_min: [1, 2\n"))
    with pytest.raises(ScenarioError, match="does not exist"):
        load_scenario(write(tmp_path, "b.yaml", "base: nowhere.yaml\n"))
    with pytest.raises(ScenarioError, match="includes itself"):
        load_scenario(write(tmp_path, "c.yaml", "base: c.yaml\n"))
    with pytest.raises(ScenarioError, match="not a mapping|mapping of keys"):
        load_scenario(write(tmp_path, "d.yaml", "- 1\n- 2\n"))


def test_bad_set_path_is_an_error():
    with pytest.raises(ScenarioError, match="does not exist") as err:
        load_scenario(None, parse_overrides(["phone.talk_minutes=3"]))
    assert err.value.file == "--set"
    with pytest.raises(ScenarioError, match="PATH=VALUE"):
        parse_overrides(["phone.talk_min"])


def test_scenario_is_frozen():
    scn = Scenario()
    with pytest.raises(Exception):  # noqa: B017 - pydantic raises ValidationError
        scn.name = "x"
