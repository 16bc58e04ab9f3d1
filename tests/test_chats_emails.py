"""Chat and e-mail channels: config, exact reproducibility, invariants, theory, behaviour.

Statistical tests follow tests/test_theory_vs_sim.py: each replication gives one
estimate and the tolerance is the Student-t confidence interval of the mean over
replications, at a level Bonferroni-corrected for the comparisons in the test.
"""

import datetime as dt

import numpy as np
import pandas as pd
import pytest
import simpy
from pydantic import ValidationError
from scipy import stats

from sim.config import (
    CHAT_HOURS_2020,
    DEFAULT_CHAT_DEMAND,
    DEFAULT_EMAIL_DEMAND,
    CalendarConfig,
    ChannelDemand,
    Chat,
    ChatStaffing,
    Email,
    EmailStaffing,
    ExtraChatLines,
    Horizon,
    WeeklyHours,
)
from sim.config.distributions import Exponential, Fixed
from sim.data import monthly_2020
from sim.model.calendar import DAY_S, StepFunction, closed_days, lines_over_time
from sim.model.chats import CHAT_OUTCOMES, ChatChannel
from sim.model.emails import EMAIL_OUTCOMES, EmailChannel, pick_phone_group
from sim.model.helpline import Helpline
from sim.model.lines import LineGroup
from sim.model.streams import Streams
from sim.results.channel_metrics import chat_kpis, email_kpis, working_day_deadline_s
from sim.theory import exact as theory

ALWAYS_OPEN = WeeklyHours(
    **{d: ["00:00-24:00"] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
)
PHONE_HOURS = WeeklyHours(**{d: ["09:00-18:00"] for d in ("mon", "tue", "wed", "thu", "fri")})
NO_HOLIDAYS = CalendarConfig(holidays="none")
CALENDAR = CalendarConfig()  # Belgian public holidays closed
FLAT = {"weekday_factors": [1] * 7, "hour_profile": [1] * 24}
# Four weeks with Easter Monday (13 April 2020) in them.
APRIL = Horizon(start=dt.date(2020, 4, 6), end=dt.date(2020, 5, 3))


def run_channels(
    horizon,
    calendar=CALENDAR,
    chat=None,
    email=None,
    seed=1,
    rep=0,
    chat_demand=DEFAULT_CHAT_DEMAND,
    email_demand=DEFAULT_EMAIL_DEMAND,
    phone_groups=None,
    env=None,
):
    """Run the given channels to completion in one environment; return the channels."""
    env = env or simpy.Environment()
    streams = Streams(seed, rep)
    out = []
    if chat is not None:
        out.append(ChatChannel(env, horizon, calendar, chat, chat_demand, streams))
    if email is not None:
        out.append(
            EmailChannel(
                env, horizon, calendar, email, email_demand, streams, phone_groups=phone_groups
            )
        )
    for ch in out:
        ch.start()
    env.run()
    return out


def assert_in_ci(values, expected, what, n_comparisons):
    level = 1 - 0.01 / n_comparisons
    n = len(values)
    half = stats.t.ppf(0.5 + level / 2, n - 1) * values.std(ddof=1) / np.sqrt(n)
    assert abs(values.mean() - expected) <= half, (
        f"{what}: simulated mean {values.mean():.4f} +/- {half:.4f} ({level:.4f} CI over {n} reps) "
        f"vs theory {expected:.4f}"
    )


def assert_paired_greater(a, b, what):
    """One-sided paired t-test (common random numbers) that mean(a - b) > 0."""
    diff = np.asarray(a, float) - np.asarray(b, float)
    t = diff.mean() / (diff.std(ddof=1) / np.sqrt(len(diff)))
    assert t > stats.t.ppf(0.95, len(diff) - 1), (
        f"{what}: mean paired difference {diff.mean():.4f} (t = {t:.2f}, {len(diff)} reps)"
    )


def kpi(table, name, by="all", key="all"):
    row = table[(table["by"] == by) & (table["key"] == key) & (table["kpi"] == name)]
    assert len(row) == 1, f"one value of {name} for {by}={key}"
    return float(row["value"].iloc[0])


# --- config -------------------------------------------------------------------------------


def test_defaults_validate_and_round_trip():
    for model in (Chat(), Email()):
        again = type(model).model_validate(model.model_dump(mode="json", by_alias=True))
        assert again == model, f"{type(model).__name__} defaults must reload identically"
    chat = Chat()
    assert chat.staffing.lines == 1, "one chat line, as in 2020 (seed 004)"
    assert chat.opening_hours.minutes(0) == [(780, 1020), (1080, 1320)], (
        "Mon 13-17 & 18-22 (seed 002)"
    )
    assert chat.opening_hours.minutes(4) == [(780, 1020)] and chat.opening_hours.minutes(5) == []
    assert CHAT_HOURS_2020.minutes(0) == [(780, 1020)], "no evening chat before Sep 2021 (seed 000)"
    assert Email().response_targets_working_days == [1, 3] and not Email().blending
    for demand in (DEFAULT_CHAT_DEMAND, DEFAULT_EMAIL_DEMAND):
        assert ChannelDemand.model_validate(demand.model_dump()) == demand
    extra = ExtraChatLines.model_validate({"from": "2021-09-01", "to": "2021-12-31", "lines": 2})
    assert ExtraChatLines.model_validate(extra.model_dump(by_alias=True)) == extra


@pytest.mark.parametrize(
    "model, data, fragment",
    [
        (ChatStaffing, {"lines": -1}, "greater than or equal to 0"),
        (EmailStaffing, {"handlers": -2}, "greater than or equal to 0"),
        (Chat, {"wait_target_share": 1.5}, "less than or equal to 1"),
        (Chat, {"queue_capacity": -1}, "greater than or equal to 0"),
        (Chat, {"patience_min": {"dist": "exponential", "mean": 0}}, "greater than 0"),
        (Chat, {"wait_time_min": 3}, "Extra inputs are not permitted"),
        (Email, {"response_targets_working_days": [0, 3]}, "greater than or equal to 1"),
        (Email, {"staffing": {"handlers": 1, "shift": "09:00-17:00"}}, "Extra inputs"),
        (Email, {"staffing": {"hours": {"mon": ["17:00-09:00"]}}}, "ends before it starts"),
        (ExtraChatLines, {"lines": 1}, "give 'dates' or a 'from'/'to' range"),
        (ExtraChatLines, {"from": "2021-09-01", "lines": 1}, "both 'from' and 'to'"),
        (
            ExtraChatLines,
            {"dates": ["2021-09-01"], "hours": "25:00-26:00"},
            "impossible clock time",
        ),
        (ExtraChatLines, {"dates": ["2021-09-01"], "provinces": "all"}, "Extra inputs"),
    ],
)
def test_bad_values_are_rejected(model, data, fragment):
    with pytest.raises(ValidationError, match=fragment):
        model.model_validate(data)


def test_config_is_frozen():
    with pytest.raises(ValidationError):
        Chat().queue_capacity = 3


# --- pure pieces --------------------------------------------------------------------------


def _t(day, hh, mm=0):
    return day * DAY_S + hh * 3600 + mm * 60


def test_chat_lines_follow_hours_extras_and_holidays():
    start = dt.date(2021, 9, 6)  # a Monday
    closed = {dt.date(2021, 9, 8)}
    extra = [
        ExtraChatLines(
            **{"from": dt.date(2021, 9, 6), "to": dt.date(2021, 9, 12)},
            weekdays=["mon", "wed"],
            hours="19:00-23:00",
            lines=2,
        ),
        ExtraChatLines(dates=[dt.date(2021, 9, 7)], lines=1),
    ]
    lines = lines_over_time(start, 7, Chat().opening_hours, closed, 1, extra)
    assert lines(_t(0, 12)) == 0 and lines(_t(0, 13)) == 1 and lines(_t(0, 17, 30)) == 0
    assert lines(_t(0, 18, 30)) == 1 and lines(_t(0, 19)) == 3 and lines(_t(0, 21, 59)) == 3
    assert lines(_t(0, 22)) == 0, "extra hours beyond closing add nothing"
    assert lines(_t(1, 14)) == 2 and lines(_t(1, 20)) == 2, "a whole-day extra on Tuesday"
    assert lines(_t(2, 20)) == 0, "closed day: no lines, extras or not"
    assert lines(_t(4, 20)) == 0 and lines(_t(4, 14)) == 1, "Friday: no evening chat"
    assert lines(_t(5, 14)) == 0, "closed on Saturday"
    mon, tue, thu, fri = 8 + 2 * 3, 2 * 8, 8, 4
    assert lines.integral(0, 7 * DAY_S) / 3600 == mon + tue + thu + fri, "staffed line-hours"


def test_pick_phone_group():
    assert pick_phone_group([0, 0, 0], [0, 0, 0], -1) is None, "no free line anywhere"
    assert pick_phone_group([1, 2, 1], [0, 0, 0], -1) == 1, "most free lines"
    assert pick_phone_group([1, 2, 1], [0, 1, 0], -1) in (0, 2), (
        "a group with a queue serves callers"
    )
    assert pick_phone_group([1, 0, 1], [0, 0, 0], 0) == 2, "ties round-robin after the last"
    assert pick_phone_group([1, 0, 1], [0, 0, 0], 2) == 0, "round-robin wraps around"


def test_working_day_deadlines():
    start = dt.date(2020, 4, 6)  # Monday; Easter Monday is 13 April 2020
    at = np.array(
        [_t(0, 10), _t(4, 20), _t(5, 3), _t(6, 23), _t(7, 9)]
    )  # Mon, Fri, Sat, Sun, Easter Mon
    end_of = {d: (d + 1) * DAY_S for d in range(30)}
    assert list(working_day_deadline_s(at, start, 1)) == [
        end_of[1],
        end_of[7 + 1],
        end_of[8],
        end_of[8],
        end_of[8],
    ], "1 working day = end of the next working day; Easter Monday is not one"
    assert list(working_day_deadline_s(at, start, 3)) == [
        end_of[3],
        end_of[10],
        end_of[10],
        end_of[10],
        end_of[10],
    ]


# --- exact --------------------------------------------------------------------------------


def test_same_seed_same_tables():
    def tables(rep):
        chat, email = run_channels(APRIL, chat=Chat(), email=Email(), rep=rep)
        return chat.log.table(), email.log.table()

    c1, e1 = tables(0)
    c2, e2 = tables(0)
    pd.testing.assert_frame_equal(c1, c2)
    pd.testing.assert_frame_equal(e1, e2)
    c3, e3 = tables(1)
    assert not c1.equals(c3) and not e1.equals(e3), "another replication must give other tables"


def test_channels_use_their_own_streams():
    """Adding the e-mail channel (or blending) changes no chat visitor."""
    (alone,) = run_channels(APRIL, chat=Chat())
    both, _ = run_channels(APRIL, chat=Chat(), email=Email())
    pd.testing.assert_frame_equal(alone.log.table(), both.log.table())


# --- chat invariants ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def busy_chat():
    """Overloaded chat with a small queue and extra evening lines on some days."""
    cfg = Chat(
        staffing=ChatStaffing(
            lines=1,
            extra=[
                ExtraChatLines(
                    **{"from": dt.date(2020, 4, 14), "to": dt.date(2020, 4, 24)},
                    weekdays=["tue", "thu"],
                    hours="19:00-22:00",
                    lines=2,
                ),
            ],
        ),
        queue_capacity=2,
        patience_min=Exponential(dist="exponential", mean=5.0),
    )
    demand = DEFAULT_CHAT_DEMAND.model_copy(update={"annual": 25_000.0})
    (chat,) = run_channels(APRIL, chat=cfg, chat_demand=demand, seed=7)
    return chat, chat.log.table()


def test_every_chat_visitor_ends_in_exactly_one_state(busy_chat):
    chat, c = busy_chat
    assert len(c) == len(chat.visitors) and np.array_equal(c["chat"], np.arange(len(c))), (
        "one row per visitor created"
    )
    assert set(c["outcome"].astype(str)) == set(CHAT_OUTCOMES), "every outcome occurs here"
    assert np.array_equal(c["arrival_at"], chat.visitors.arrival_at)
    served = c["outcome"] == "answered"
    assert ((c["line"] >= 0) == served).all() and ((c["duration_s"] > 0) == served).all()


def test_no_chat_starts_while_closed(busy_chat):
    chat, c = busy_chat
    served = c[c["outcome"] == "answered"]
    begin = served["arrival_at"] + served["wait_s"]
    assert all(chat.open.is_open(t) for t in begin), "a chat started while the chat was closed"
    assert all(chat.lines(t) > 0 for t in begin), "a chat started with no line staffed"
    closed = c[c["outcome"] == "closed"]
    assert not any(chat.open.is_open(t) for t in closed["arrival_at"]), "'closed' while open"
    assert all(chat.open.is_open(t) for t in c.loc[c["outcome"] != "closed", "arrival_at"])
    easter_monday = (dt.date(2020, 4, 13) - APRIL.start).days
    on_holiday = c["arrival_at"] // DAY_S == easter_monday
    assert (c.loc[on_holiday, "outcome"] == "closed").all(), "closed on Easter Monday"
    sent_away = c[c["outcome"] == "closed_in_queue"]
    left = (sent_away["arrival_at"] + sent_away["wait_s"]).to_numpy()
    assert len(left) and np.abs(left[:, None] - chat.open.ends[None, :]).min(axis=1).max() < 1e-6, (
        "visitors are sent away exactly at a closing time"
    )


def test_chats_in_service_never_exceed_staffed_lines(busy_chat):
    chat, c = busy_chat
    served = c[c["outcome"] == "answered"]
    begin = (served["arrival_at"] + served["wait_s"]).to_numpy()
    end = begin + served["duration_s"].to_numpy()
    line = served["line"].to_numpy()
    assert chat.lines.values.max() == 3 and (line == 2).any(), "the extra lines were used"
    for b, k in zip(begin, line, strict=True):
        in_service = np.sum((begin <= b) & (end > b))
        assert in_service <= chat.lines(b), (
            f"{in_service} chats in service at t={b:.0f} s but {chat.lines(b)} lines staffed"
        )
        assert k < chat.lines(b), f"line {k} used at t={b:.0f} s with {chat.lines(b)} lines"
        same_line = (line == k) & (begin < b) & (end > b)
        assert not same_line.any(), f"line {k} holds two chats at t={b:.0f} s"


def test_numbered_line_group_takes_the_lowest_free_staffed_line():
    env = simpy.Environment()
    # 3 lines until t=10, then 2 (the chat lines after an extra line ends).
    grp = LineGroup(env, 0, StepFunction(np.array([0.0, 10.0]), np.array([3, 2])), 5, numbered=True)
    assert [grp.seize(1.0) for _ in range(3)] == [0, 1, 2]
    grp.release(0)
    env.run(until=10)  # staffing falls to 2 while lines 1 and 2 are busy
    assert not grp.has_free_line(), "2 busy of 2 staffed"
    grp.release(1)
    assert grp.seize(1.0) == 0, "the lowest free number, a staffed one"
    grp.release(2)
    assert grp.seize(1.0) == 1, "line 2 is above the staffed 2 lines and line 1 is free"
    with pytest.raises(ValueError, match="release"):
        grp.release()  # a numbered group needs the number back
    plain = LineGroup(env, 0, StepFunction(np.array([0.0]), np.array([1])), 0)
    assert plain.seize(1.0) == -1, "phone groups are not numbered"


def test_chat_waits_respect_patience_and_queue(busy_chat):
    chat, c = busy_chat
    ab = c[c["outcome"] == "abandoned"]
    assert np.allclose(ab["wait_s"], chat.visitors.patience_s[ab["chat"]]), (
        "an abandoning visitor waits exactly their patience"
    )
    waited = c[c["wait_s"] > 0]
    assert (waited["wait_s"] <= chat.visitors.patience_s[waited["chat"]] + 1e-6).all(), (
        "nobody waits longer than their patience"
    )
    blocked = c[c["outcome"] == "blocked"]
    assert (blocked["wait_s"] == 0).all()


# --- e-mail invariants --------------------------------------------------------------------


def test_every_email_ends_in_exactly_one_state_and_fifo():
    demand = DEFAULT_EMAIL_DEMAND.model_copy(update={"annual": 8000.0})  # overloaded
    (email,) = run_channels(APRIL, email=Email(), email_demand=demand, seed=3)
    e = email.log.table()
    assert len(e) == len(email.emails) and e["email"].is_unique
    assert set(e["outcome"].astype(str)) <= set(EMAIL_OUTCOMES)
    answered = e["outcome"] == "answered"
    assert answered.all() or (e.loc[~answered, "start_at"].isna().all()), (
        "after env.run() an e-mail is answered or was never started"
    )
    assert np.allclose(
        e.loc[answered, "done_at"] - e.loc[answered, "start_at"], e.loc[answered, "handling_s"]
    ), "handling lasts the drawn time"
    started = e.dropna(subset=["start_at"])
    assert started["start_at"].is_monotonic_increasing, "first come, first served (FIFO)"
    assert (started["start_at"] >= started["arrival_at"]).all()
    # Handlers: starts only on duty, never more at once than on duty.
    begin, end = started["start_at"].to_numpy(), started["done_at"].to_numpy()
    for b in begin:
        assert email.handlers(b) > 0, f"e-mail started at t={b:.0f} s with no handler on duty"
        assert np.sum((begin <= b) & (end > b)) <= email.handlers(b)
    day = pd.to_datetime(APRIL.start) + pd.to_timedelta(begin, unit="s")
    assert (day.day_of_week < 5).all() and not (day.normalize() == "2020-04-13").any(), (
        "handlers work Mon-Fri, not on Easter Monday"
    )
    assert (day.hour >= 9).all() and (day.hour < 17).all(), "handlers start work 9-17"
    arrivals = pd.to_datetime(APRIL.start) + pd.to_timedelta(e["arrival_at"], unit="s")
    assert (arrivals.dt.day_of_week >= 5).any() and (arrivals.dt.hour < 6).any(), (
        "e-mail arrives 24/7"
    )


def test_no_handlers_no_blending_leaves_everything_pending():
    (email,) = run_channels(APRIL, email=Email(staffing=EmailStaffing(handlers=0)))
    e = email.log.table()
    assert len(e) > 0 and (e["outcome"] == "pending").all(), "env.run() ends with a full backlog"
    k = email_kpis(e, APRIL.start, APRIL.days)
    assert kpi(k, "email_unanswered_end_of_run") == len(e) == kpi(k, "email_backlog_end")
    assert kpi(k, "email_within_1wd") == 0 and kpi(k, "email_answered") == 0


def test_stopping_early_leaves_emails_in_handling():
    (full,) = run_channels(APRIL, email=Email())
    first = full.log.table().sort_values("start_at").iloc[10]
    env = simpy.Environment()
    email = EmailChannel(env, APRIL, CALENDAR, Email(), DEFAULT_EMAIL_DEMAND, Streams(1, 0))
    email.start()
    env.run(until=first["start_at"] + first["handling_s"] / 2)  # in the middle of a handling
    e = email.log.table()
    assert set(e["outcome"].astype(str)) <= set(EMAIL_OUTCOMES)
    assert list(e.loc[e["outcome"] == "in_handling", "email"]) == [first["email"]], (
        "one handler, so exactly the e-mail being handled is in handling"
    )
    assert e.loc[e["outcome"] == "pending", "start_at"].isna().all()
    assert (e.loc[e["outcome"] == "answered", "done_at"] <= env.now).all()


# --- blending on phone lines --------------------------------------------------------------


class TinyPhone:
    """Poisson callers on real :class:`sim.model.helpline.LineGroup` objects, no redials.

    Calls arrive 24/7 to ``n_groups`` line groups open Mon-Fri 9-18; a caller finds the
    phone closed, a free line, a place in the queue (waits with exponential patience) or
    a busy tone. ``records``: (group, at, outcome, wait_s, hold_s) per call.
    """

    def __init__(
        self,
        env,
        horizon,
        lines_per_group,
        n_groups,
        calls_per_day,
        hold_min,
        queue_cap,
        patience_min,
        rng,
    ):
        self.env = env
        lines = lines_over_time(
            horizon.start, horizon.days + 60, PHONE_HOURS, set(), lines_per_group
        )
        self.lines = lines
        self.groups = [LineGroup(env, g, lines, queue_cap) for g in range(n_groups)]
        n = rng.poisson(calls_per_day * horizon.days)
        self.at = np.sort(rng.random(n) * horizon.days * DAY_S)
        self.group = rng.integers(0, n_groups, n)
        self.hold = rng.exponential(hold_min * 60, n)
        self.patience = rng.exponential(patience_min * 60, n)
        self.records = []
        env.process(self._arrivals())

    def _arrivals(self):
        for i, at in enumerate(self.at):
            yield self.env.timeout(at - self.env.now)
            self.env.process(self.call(i))

    def call(self, i):
        env, grp, now = self.env, self.groups[self.group[i]], self.env.now
        g, hold = int(self.group[i]), float(self.hold[i])
        if grp.lines(now) == 0:
            self.records.append((g, now, "closed", 0.0, 0.0))
            return
        if grp.has_free_line() and not grp.queue:
            grp.seize(hold)
        elif len(grp.queue) < grp.queue_cap:
            served = env.event()
            grp.queue.append((served, hold))
            yield served | env.timeout(self.patience[i])
            if not served.triggered:
                grp.queue.remove((served, hold))
                self.records.append((g, now, "abandoned", env.now - now, 0.0))
                return
            if served.value != "answered":
                self.records.append((g, now, "closed_in_queue", env.now - now, 0.0))
                return
        else:
            self.records.append((g, now, "busy", 0.0, 0.0))
            return
        self.records.append((g, now, "answered", env.now - now, hold))
        yield env.timeout(hold)
        grp.release()

    def table(self):
        return pd.DataFrame.from_records(
            self.records, columns=["group", "at", "outcome", "wait_s", "hold_s"]
        )


def tiny_phone_with_email(blending, seed, queue_cap=0, email_annual=6000.0, handlers=1):
    env = simpy.Environment()
    phone = TinyPhone(
        env,
        APRIL,
        1,
        3,
        calls_per_day=30,
        hold_min=30,
        queue_cap=queue_cap,
        patience_min=3,
        rng=np.random.default_rng(seed),
    )
    cfg = Email(blending=blending, staffing=EmailStaffing(handlers=handlers))
    demand = DEFAULT_EMAIL_DEMAND.model_copy(update={"annual": email_annual})
    (email,) = run_channels(
        APRIL, email=cfg, email_demand=demand, seed=seed, phone_groups=phone.groups, env=env
    )
    return phone, phone.table(), email.log.table()


@pytest.mark.parametrize("queue_cap", [0, 2])
def test_blending_never_over_occupies_phone_lines(queue_cap):
    phone, calls, e = tiny_phone_with_email(True, seed=5, queue_cap=queue_cap, handlers=0)
    on_phone = e[e["handler"] == "phone"]
    assert len(on_phone) > 50, "blending handled e-mails"
    for g in range(len(phone.groups)):
        served = calls[(calls["group"] == g) & (calls["outcome"] == "answered")]
        b_call = (served["at"] + served["wait_s"]).to_numpy()
        mine = on_phone[on_phone["group"] == g]
        b_mail = mine["start_at"].to_numpy()
        begin = np.concatenate([b_call, b_mail])
        end = np.concatenate([b_call + served["hold_s"].to_numpy(), mine["done_at"].to_numpy()])
        for b in begin:
            n = np.sum((begin <= b) & (end > b))
            assert n <= phone.lines(b), (
                f"group {g}: {n} calls + e-mails on the lines at t={b:.0f} s, "
                f"{phone.lines(b)} staffed"
            )
        assert all(phone.lines(b) > 0 for b in b_mail), f"group {g}: e-mail started while closed"
        queued = calls[(calls["group"] == g) & (calls["wait_s"] > 0)]
        for b in b_mail:
            waiting = (queued["at"] < b) & (queued["at"] + queued["wait_s"] > b)
            assert not waiting.any(), (
                f"group {g}: e-mail started at t={b:.0f} s while a caller waited"
            )
    if queue_cap:
        assert (calls["wait_s"] > 0).any(), "the phone queue was used"


def test_blending_trades_phone_answers_for_emails():
    """Paired over seeds: blending answers more e-mails and fewer calls (tiny phone)."""
    mails, calls = {True: [], False: []}, {True: [], False: []}
    horizon_s = APRIL.days * DAY_S
    for seed in range(6):
        for blend in (True, False):
            _, c, e = tiny_phone_with_email(blend, seed)
            mails[blend].append((e["done_at"] < horizon_s).sum())
            open_calls = c[c["outcome"] != "closed"]
            calls[blend].append((open_calls["outcome"] == "answered").mean())
    assert_paired_greater(mails[True], mails[False], "e-mails answered: blending minus not")
    assert_paired_greater(
        calls[False], calls[True], "phone answer rate: no blending minus blending"
    )


def test_blending_in_the_phone_model(small):
    """The real Helpline: blending takes phone line time (paired on the same seeds)."""
    demand = DEFAULT_EMAIL_DEMAND.model_copy(update={"annual": 6000.0})
    answered_calls, on_phone = {True: [], False: []}, {True: [], False: []}
    for rep in range(5):
        for blend in (True, False):
            model = Helpline(small, Streams(4, rep))
            # A channel the model does not know of: the run must walk the whole tail for
            # it (Helpline stops early only for its own contacts; sim.model.tail).
            model._stop_tail = False
            email = EmailChannel(
                model.env,
                small.horizon,
                small.calendar,
                Email(blending=blend),
                demand,
                Streams(4, rep),
                phone_groups=model.groups,
            )
            email.start()
            log = model.run()
            attempts, e = log.attempts_table(), email.log.table()
            answered_calls[blend].append((attempts["outcome"] == "answered").sum())
            on_phone[blend].append((e["handler"] == "phone").sum())
            assert (e["outcome"] == "answered").all(), "the calendar tail clears the backlog"
            assert model.env.peek() == float("inf"), "env.run() ran to completion"
    assert sum(on_phone[False]) == 0 and min(on_phone[True]) > 0
    assert_paired_greater(
        answered_calls[False], answered_calls[True], "answered calls: no blending minus blending"
    )


# --- behaviour ----------------------------------------------------------------------------


def test_more_chat_lines_do_not_lower_the_answer_rate():
    """Paired (common random numbers) over replications, one-sided t-test."""
    rates = {}
    for lines in (1, 2):
        cfg = Chat(staffing=ChatStaffing(lines=lines))
        rates[lines] = []
        for rep in range(6):
            (chat,) = run_channels(APRIL, chat=cfg, seed=11, rep=rep)
            k = chat_kpis(chat.log.table(), chat.lines, APRIL.start, APRIL.days)
            rates[lines].append(kpi(k, "chat_answer_rate"))
    assert_paired_greater(rates[2], rates[1], "chat answer rate: two lines minus one")


def test_default_demand_roughly_reproduces_2020():
    """The 2020 set-up answers about the published 911 chats and 1,440 e-mails (seed 000)."""
    published = monthly_2020().groupby("channel")["contacts"].sum()
    horizon = Horizon()  # 2020
    chats, mails = [], []
    for rep in range(5):
        chat, email = run_channels(
            horizon, chat=Chat(opening_hours=CHAT_HOURS_2020), email=Email(), seed=2020, rep=rep
        )
        chats.append(
            kpi(
                chat_kpis(chat.log.table(), chat.lines, horizon.start, horizon.days),
                "chat_answered",
            )
        )
        mails.append(
            kpi(email_kpis(email.log.table(), horizon.start, horizon.days), "email_answered")
        )
    assert abs(np.mean(chats) / published["chat"] - 1) < 0.06, (
        f"answered chats {np.mean(chats):.0f} vs published {published['chat']}"
    )
    assert abs(np.mean(mails) / published["email"] - 1) < 0.04, (
        f"answered e-mails {np.mean(mails):.0f} vs published {published['email']}"
    )


# --- KPIs ---------------------------------------------------------------------------------


def test_kpi_tables_are_tidy_and_add_up(busy_chat):
    chat, c = busy_chat
    k = chat_kpis(c, chat.lines, APRIL.start, APRIL.days)
    assert list(k.columns) == ["by", "key", "kpi", "value"]
    assert set(k["by"]) == {"all", "month"} and set(k.loc[k["by"] == "month", "key"]) == {
        "2020-04",
        "2020-05",
    }
    assert k["kpi"].str.startswith("chat_").all()
    parts = ["chat_answered", "chat_abandoned", "chat_blocked", "chat_closed_in_queue"]
    assert sum(kpi(k, p) for p in parts) == kpi(k, "chat_offered")
    assert kpi(k, "chat_offered") + kpi(k, "chat_closed") == kpi(k, "chat_visitors") == len(c)
    for name in ("chat_visitors", "chat_answered", "chat_staffed_hours", "chat_overtime_hours"):
        months = k[(k["by"] == "month") & (k["kpi"] == name)]["value"].sum()
        assert months == pytest.approx(kpi(k, name)), f"{name}: months add up to the total"
    assert kpi(k, "chat_staffed_hours") == pytest.approx(
        chat.lines.integral(0, APRIL.days * DAY_S) / 3600
    )
    busy_h = c["duration_s"].sum() / 3600  # every chat of this short horizon ends inside it
    assert 0.8 < kpi(k, "chat_utilisation") <= 1, "an overloaded chat is busy"
    assert kpi(k, "chat_utilisation") * kpi(k, "chat_staffed_hours") + kpi(
        k, "chat_overtime_hours"
    ) == pytest.approx(busy_h), "busy = inside staffed time + overtime"
    assert kpi(k, "chat_overtime_hours") > 0, "chats going on at closing time are finished"
    assert kpi(k, "chat_wait_p80_s") <= kpi(k, "chat_wait_p95_s")
    assert kpi(k, "chat_within_target") <= kpi(k, "chat_answer_rate")
    assert kpi(k, "chat_target_met") == 0, "an overloaded chat misses an 80% service level"
    easy = chat_kpis(c, chat.lines, APRIL.start, APRIL.days, 10**6, 0.0)
    assert kpi(easy, "chat_within_target") == kpi(k, "chat_answer_rate")
    assert kpi(easy, "chat_target_met") == 1

    demand = DEFAULT_EMAIL_DEMAND.model_copy(update={"annual": 5000.0})
    (email,) = run_channels(APRIL, email=Email(), email_demand=demand, seed=3)
    e = email.log.table()
    k = email_kpis(
        e, APRIL.start, APRIL.days, targets_working_days=[1, 3, 10], handlers=email.handlers
    )
    assert k["kpi"].str.startswith("email_").all()
    assert kpi(k, "email_received") == len(e)
    assert kpi(k, "email_within_1wd") <= kpi(k, "email_within_3wd") <= kpi(k, "email_within_10wd")
    horizon_s = APRIL.days * DAY_S
    assert kpi(k, "email_answered") == (e["done_at"] < horizon_s).sum()
    assert kpi(k, "email_backlog_end") == len(e) - kpi(k, "email_answered"), (
        "backlog at the horizon end = received - answered by then"
    )
    april_end = (dt.date(2020, 5, 1) - APRIL.start).days * DAY_S
    assert (
        kpi(k, "email_backlog_end", "month", "2020-04")
        == ((e["arrival_at"] < april_end) & ~(e["done_at"] <= april_end)).sum()
    )
    assert 0.9 < kpi(k, "email_staff_utilisation") <= 1.0, "an overloaded handler is busy"
    assert kpi(k, "email_staff_overtime_hours") > 0, "a handling started before 17:00 is finished"


# --- statistical (theory) -----------------------------------------------------------------

DAYS = 60
STATIONARY = Horizon(start=dt.date(2021, 1, 4), end=dt.date(2021, 1, 4) + dt.timedelta(DAYS - 1))


def stationary_chat(lines, lam_per_s, hold_min, patience, queue_capacity, reps, seed):
    """Per-replication chat KPIs of a 24/7 chat with Poisson arrivals, exponential chats."""
    cfg = Chat(
        opening_hours=ALWAYS_OPEN,
        staffing=ChatStaffing(lines=lines),
        queue_capacity=queue_capacity,
        patience_min=patience,
        duration_min=Exponential(dist="exponential", mean=hold_min),
    )
    demand = ChannelDemand(annual=lam_per_s * 365 * DAY_S, **FLAT)
    out = []
    for rep in range(reps):
        (chat,) = run_channels(
            STATIONARY, NO_HOLIDAYS, chat=cfg, chat_demand=demand, seed=seed, rep=rep
        )
        assert not closed_days(STATIONARY.start, DAYS, NO_HOLIDAYS)
        out.append(chat_kpis(chat.log.table(), chat.lines, STATIONARY.start, DAYS))
    return pd.concat(out, keys=range(reps), names=["replication"]).reset_index(level=0)


def per_rep(k, name):
    return k[(k["by"] == "all") & (k["kpi"] == name)].sort_values("replication")["value"].to_numpy()


@pytest.mark.slow
def test_chat_queue_with_exponential_patience_is_erlang_a():
    c, mu, theta, cap = 2, 1 / (20 * 60), 1 / (10 * 60), 40
    lam = 1.7 * mu  # offered load 1.7 erlang on 2 lines
    k = stationary_chat(
        c, lam, 20, Exponential(dist="exponential", mean=10), cap, reps=12, seed=202
    )
    th = theory.erlang_a(c, lam, mu, theta, queue_capacity=cap)
    assert_in_ci(
        per_rep(k, "chat_abandoned") / per_rep(k, "chat_offered"),
        th.p_abandon,
        "chat P(abandon)",
        3,
    )
    assert_in_ci(
        per_rep(k, "chat_share_waited"),
        th.p_wait / (1 - th.p_block),
        "chat P(wait | not blocked)",
        3,
    )
    assert_in_ci(per_rep(k, "chat_mean_wait_s"), th.mean_wait, "chat mean wait (s)", 3)


@pytest.mark.slow
def test_chat_with_infinite_patience_is_erlang_c():
    c, mu = 2, 1 / (20 * 60)
    lam = 1.2 * mu
    k = stationary_chat(c, lam, 20, Fixed(dist="fixed", value=1e9), 10_000, reps=12, seed=303)
    assert (per_rep(k, "chat_abandoned") == 0).all() and (per_rep(k, "chat_blocked") == 0).all()
    assert_in_ci(
        per_rep(k, "chat_share_waited"), theory.erlang_c(c, lam / mu), "chat Erlang C P(wait)", 2
    )
    assert_in_ci(
        per_rep(k, "chat_mean_wait_s"),
        theory.erlang_c_mean_wait(c, lam, mu),
        "chat Erlang C mean wait (s)",
        2,
    )
