"""One utilisation definition for phone, chat and e-mail (sim.results.metrics docstring).

Exact tier: :func:`line_use_per_hour` on a hand-worked case with a staffing drop inside
an hour. Statistical tier: in a 24/7 Erlang-B (phone) / Erlang-C (chat, e-mail) scenario
each channel's utilisation equals its carried load per line (offered load / lines when
nobody is lost), within the Student-t interval over replications (Bonferroni-corrected,
family-wise 1%), with no overtime (staffing never falls) and every value within [0, 1].
"""

import numpy as np
import pytest

from sim.config import PROVINCES
from sim.experiments.replications import run, t_interval
from sim.model.calendar import StepFunction
from sim.results.metrics import line_use_per_hour
from sim.theory import exact as theory
from sim.theory.validation import ALWAYS_OPEN, MU, province_rates, stationary

UTILISATION = ("utilisation", "chat_utilisation", "email_staff_utilisation")
OVERTIME = ("overtime_line_hours", "chat_overtime_hours", "email_staff_overtime_hours")


def test_line_use_is_exact_when_staffing_falls_inside_an_hour():
    # 2 lines 00:00-00:30, 1 line 00:30-01:00, closed from 01:00. Work [0, 50 min) and
    # [10 min, 70 min): busy 1 / 2 / 2 / 1 / 1 on the cuts 0, 10, 30, 50, 60, 70 min.
    lines = StepFunction(np.array([0.0, 1800.0, 3600.0]), np.array([2, 1, 0]))
    within, overtime, staffed = line_use_per_hour([0.0, 600.0], [3000.0, 4200.0], lines, 2)
    assert staffed.tolist() == [5400.0, 0.0]
    # Hour 0: min(busy, lines) = 1x10 + 2x20 + 1x20 + 1x10 min = 80 min; 20 min of the
    # second line's work ran past the drop to 1 line. Hour 1: all 10 min are overtime.
    # (Clipping busy time to staffed time per clock hour, as chat and e-mail did, gives
    # min(100, 90) = 90 min within and 10 min overtime in hour 0: wrong.)
    assert within.tolist() == [4800.0, 0.0], "busy line-seconds within the staffed lines"
    assert overtime.tolist() == [1200.0, 600.0], "work beyond the staffed lines"
    assert within.sum() + overtime.sum() == 3000.0 + 3600.0, "busy time = within + overtime"


def test_line_use_drops_work_after_the_horizon_and_ignores_empty_work():
    lines = StepFunction(np.array([0.0]), np.array([1]))  # one line for ever
    within, overtime, staffed = line_use_per_hour([3000.0, 100.0], [4000.0, 100.0], lines, 1)
    assert within.tolist() == [600.0] and overtime.tolist() == [0.0] and staffed.tolist() == [3600.0]


CHAT_LOAD = EMAIL_LOAD = 1.2  # erlang on 2 lines / handlers: utilisation 0.6
HOLD_MIN = 20.0


@pytest.fixture(scope="module")
def erlang_run():
    """24/7, 30 days, 10 replications: phone Erlang B per province (no queue, no redials),
    chat and e-mail Erlang C (2 lines / handlers, infinite queue and patience)."""
    per_erlang = 365 * 86400 / (HOLD_MIN * 60)  # annual arrivals that offer one erlang
    scn = stationary(
        {"Antwerpen": 1, "Limburg": 1, "Oost-Vlaanderen": 2, "Vlaams-Brabant": 3, "West-Vlaanderen": 2},
        annual=60_000,
        days=30,
        **{
            "chat.opening_hours": ALWAYS_OPEN,
            "chat.staffing.lines": 2,
            "chat.queue_capacity": 100_000,
            "chat.patience_min": {"dist": "fixed", "value": 1e9},
            "chat.duration_min": {"dist": "exponential", "mean": HOLD_MIN},
            "demand.chat.annual": CHAT_LOAD * per_erlang,
            "demand.chat.weekday_factors": [1] * 7,
            "demand.chat.hour_profile": [1] * 24,
            "email.staffing.handlers": 2,
            "email.staffing.hours": ALWAYS_OPEN,
            "email.handling_min": {"dist": "exponential", "mean": HOLD_MIN},
            "demand.email.annual": EMAIL_LOAD * per_erlang,
            "demand.email.weekday_factors": [1] * 7,
            "demand.email.hour_profile": [1] * 24,
        },
    )
    return scn, run(scn, 10, seed=404, progress=False)


def test_utilisation_equals_carried_load_per_line(erlang_run):
    scn, res = erlang_run
    lines = scn.phone.staffing.lines
    cases = [
        (f"phone utilisation, {p} ({lines[p]} lines, Erlang B: a(1 - B)/c)",
         res.values("utilisation", "province", p),
         lam / MU * (1 - theory.erlang_b(lines[p], lam / MU)) / lines[p])
        for p, lam in zip(PROVINCES, province_rates(scn), strict=True)
    ]
    cases += [
        ("chat_utilisation (2 lines, Erlang C: a/c)", res.values("chat_utilisation"), CHAT_LOAD / 2),
        ("email_staff_utilisation (2 handlers, Erlang C: a/c)",
         res.values("email_staff_utilisation"), EMAIL_LOAD / 2),
    ]
    level = 1 - 0.01 / len(cases)
    for what, values, expected in cases:
        assert len(values) == 10, what
        m, lo, hi = t_interval(values, level)
        assert lo <= expected <= hi, (
            f"{what}: simulated {m:.4f} [{lo:.4f}, {hi:.4f}] ({level:.4f} CI over {len(values)} reps) "
            f"vs theory {expected:.4f}")


def test_utilisation_within_0_1_and_no_overtime_without_staffing_drops(erlang_run):
    _, res = erlang_run
    k = res.kpis()
    util = k[k["kpi"].isin(UTILISATION)]
    assert set(util["kpi"]) == set(UTILISATION), "every channel reports its utilisation"
    assert util["value"].between(0, 1).all(), util[~util["value"].between(0, 1)]
    over = k[k["kpi"].isin(OVERTIME)]
    assert set(over["kpi"]) == set(OVERTIME)
    assert (over["value"] == 0).all(), "24/7 staffing never falls: no work runs past it"


def test_overtime_is_counted_apart_at_closing():
    # The same phone lines, open 09:00-17:00 with 40-minute calls: calls going on at
    # 17:00 are finished in overtime, which stays out of the utilisation.
    hours = {d: ["09:00-17:00"] for d in ALWAYS_OPEN}
    scn = stationary({p: 2 for p in PROVINCES}, annual=30_000, hold_min=40, days=14,
                     **{"phone.opening_hours": hours})
    res = run(scn, 1, seed=5, progress=False)
    k = res.kpis()
    util = k[k["kpi"] == "utilisation"]["value"]
    assert util.between(0, 1).all(), "utilisation within [0, 1] in every row (month, hour, ...)"
    over = res.values("overtime_line_hours")[0]
    assert over > 0, "calls going on at closing time are finished in overtime"
    staffed = res.values("staffed_line_hours")[0]
    assert staffed == pytest.approx(14 * 8 * 2 * len(PROVINCES)), "8 h a day, 2 lines, 5 provinces"
    hour_util = k[(k["by"] == "weekday_hour") & (k["kpi"] == "utilisation")]
    assert set(hour_util["key"].str[-2:].astype(int)) == set(range(9, 17)), "only staffed hours"
