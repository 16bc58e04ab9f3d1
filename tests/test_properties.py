"""Property-based tests: random valid scenarios, the invariants of tests/invariants.py."""

import datetime as dt

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.config import PROVINCES, load_scenario
from sim.model.helpline import Helpline
from sim.model.streams import Streams
from tests.invariants import check_invariants

durations = st.one_of(
    st.builds(lambda m: {"dist": "exponential", "mean": m}, st.floats(1, 60)),
    st.builds(lambda m, s: {"dist": "lognormal", "mean": m, "sd": s}, st.floats(1, 60), st.floats(0.5, 40)),
    st.builds(lambda m, s: {"dist": "gamma", "mean": m, "sd": s}, st.floats(1, 60), st.floats(0.5, 40)),
    st.builds(lambda v: {"dist": "fixed", "value": v}, st.floats(0, 30)),
    st.builds(lambda vs: {"dist": "empirical", "values": vs}, st.lists(st.floats(0, 60), min_size=1, max_size=4)),
)
prob = st.floats(0, 1)


@st.composite
def scenarios(draw):
    start = dt.date(2020, 1, 1) + dt.timedelta(draw(st.integers(0, 350)))
    days = draw(st.integers(2, 8))
    queue = draw(st.integers(0, 3))
    extra_day = start + dt.timedelta(draw(st.integers(0, days - 1)))
    return load_scenario(None, {
        "horizon": {"start": str(start), "end": str(start + dt.timedelta(days - 1))},
        "calendar.open_on_holidays": draw(st.booleans()),
        "phone.staffing.lines": {p: draw(st.integers(0, 2)) for p in PROVINCES},
        "phone.staffing.extra": [{"dates": [str(extra_day)], "lines": draw(st.integers(1, 2)),
                                  "hours": draw(st.sampled_from(["10:00-12:00", "09:00-18:00", "17:30-20:00"]))}],
        "phone.queue": {"capacity": queue, "patience_min": draw(durations)} if queue else {"capacity": 0},
        "phone.talk_min": draw(durations),
        "phone.wrap_up_min": draw(durations),
        "phone.option0": {"probability": draw(prob), "routing": {
            "policy": draw(st.sampled_from(["fixed", "round_robin", "least_busy", "any_free"])),
            "province": draw(st.sampled_from(PROVINCES))}},
        "phone.overflow.policy": draw(st.sampled_from(["off", "any_free", "neighbours"])),
        "phone.redial": {"probability": draw(st.lists(prob, min_size=1, max_size=3)),
                         "delay_min": draw(durations), "max_attempts": draw(st.integers(1, 6))},
        "phone.closed.retry_probability": draw(prob),
        "phone.answering_machine": {
            "enabled": draw(st.booleans()), "message_probability": draw(prob),
            "number_probability": draw(prob), "mailbox": draw(st.sampled_from(["per_province", "central"])),
            "redial_after_message": draw(st.booleans()),
            "callbacks": {"policy": draw(st.sampled_from(["immediate", "after_idle", "target_delay"])),
                          "idle_min": draw(durations), "target_delay_min": draw(st.floats(1, 600)),
                          "reach_probability": draw(prob), "failed_min": draw(durations),
                          "max_tries": draw(st.integers(1, 4)), "retry_spacing_min": draw(durations)}},
        "demand.phone.annual": draw(st.floats(500, 40_000)),
    })


@settings(max_examples=40, deadline=None, database=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios(), st.integers(0, 1000))
def test_invariants_hold_for_random_valid_scenarios(scn, seed):
    model = Helpline(scn, Streams(seed, 0))
    check_invariants(model, model.run())
