"""Callers as they really behave (issue 15): attempt-dependent redials, later retries, no
attempt cap, repeat contacts, out-of-hours demand, switching channel.

Every mechanism is off by default; off, the model takes the path it always took (the
bit-identity of whole runs is checked with the CLI, see README). Stochastic tests fix
their seeds and take their tolerance from the replications' confidence interval.
"""

import numpy as np
import pytest
from scipy import stats

from sim.config import Scenario, load_scenario
from sim.model.callers import ArrayDraws, LazyDraws, draw_phone_callers, needs_lazy_draws
from sim.model.helpline import Helpline
from sim.model.streams import Streams
from tests.invariants import check_invariants


def scenario(small, **overrides):
    base = {k: v for k, v in small.model_dump(by_alias=True).items()}
    return load_scenario(None, {**base, **overrides})


def simulate(scn, seed=3, rep=0):
    model = Helpline(scn, Streams(seed, rep), channels=("phone",))
    log = model.run()
    return model, log


# --- off by default ---------------------------------------------------------------------


def test_every_new_setting_is_off_by_default():
    scn = Scenario()
    assert not needs_lazy_draws(scn.phone), "the default takes the up-front path"
    cb = scn.phone.callers
    assert not (cb.later.enabled or cb.repeat.enabled or cb.switch.enabled or cb.chat_switch.enabled)
    assert scn.demand.phone.out_of_hours_share is None


def test_array_draws_are_the_up_front_arrays(small):
    c = draw_phone_callers(small, Streams(2, 0))
    d = ArrayDraws(c)
    i = len(c) // 2
    for k in (1, 3, small.phone.redial.max_attempts):
        u, quick, closed, later_u, _ = d.block(i, k)
        assert (u, quick, closed) == (c.redial_u[i, k - 1], c.retry_delay_s[i, k - 1],
                                      c.closed_delay_s[i, k - 1])
        assert later_u == 1.0, "no later retry on the classic path"
        assert d.route_u(i, k) == c.route_u[i, k - 1]


# --- per-caller draws -------------------------------------------------------------------


def _lazy(small, **over):
    scn = scenario(small, **{"phone.redial.max_attempts": None, **over})
    return scn, LazyDraws(scn.phone, Streams(4, 1), lambda i: (i, 0))


def test_lazy_draws_do_not_depend_on_the_order_of_asking(small):
    scn, a = _lazy(small)
    _, b = _lazy(small)
    seq = [a.block(7, k) for k in range(1, 8)]
    assert b.block(7, 7) == seq[-1], "attempt 7 gets the 7th block however it is reached"
    assert b.block(3, 2) != seq[1], "another caller, other draws"
    b.done(7)
    assert b.block(7, 1) == seq[0], "a finished episode's stream can be recreated"


def test_attempt_dependent_delays_follow_their_distribution(small):
    # Delay after attempt 1: fixed 2 min; after attempt 2 and later: exponential mean 30.
    delays = [{"dist": "fixed", "value": 2}, {"dist": "exponential", "mean": 30}]
    _, d = _lazy(small, **{"phone.redial.delay_min": delays})
    first = np.array([d.block(i, 1)[1] for i in range(2000)])
    third = np.array([d.block(i, 3)[1] for i in range(2000)])
    assert np.all(first == 120.0)
    ks = stats.kstest(third / 60.0, stats.expon(scale=30).cdf)
    assert ks.pvalue > 0.001, f"delays after attempt 3 vs exponential(30 min): KS p={ks.pvalue:.2g}"


def test_no_attempt_cap_keeps_no_per_attempt_arrays_and_gives_geometric_attempts(small):
    # No line at all: every open attempt is a busy tone; redial probability 0.9 after
    # every attempt, no cap: attempts per caller are geometric with mean 10 (closed
    # attempts aside: the phone is closed only at night and the weekend, and a caller's
    # retry after the closed message has the same probability here).
    scn = scenario(small, **{"phone.redial.max_attempts": None, "phone.redial.probability": [0.9],
                             "phone.closed.retry_probability": 0.9,
                             "phone.staffing.lines": 0, "phone.answering_machine.enabled": False})
    model, log = simulate(scn)
    assert model.callers.redial_u.shape[1] == 0, "nothing drawn per attempt slot up front"
    c = log.callers_table()
    n = len(c)
    m, se = c["attempts"].mean(), c["attempts"].std(ddof=1) / np.sqrt(n)
    assert abs(m - 10.0) < 3 * se + 0.05, f"mean attempts {m:.2f} +/- {se:.2f} vs geometric mean 10"
    assert c["attempts"].max() > 40, "the cap is gone: some caller tries very often"
    assert (c["end"].astype(str) == "gave_up").all()


def test_later_retry_comes_on_a_later_day_at_opening(small):
    # One line, heavy load; no quick redial, always a later retry, 0 min after opening.
    scn = scenario(small, **{"phone.redial.probability": [0.0],
                             "phone.callers.later.probability": [1.0],
                             "phone.callers.later.delay_min": {"dist": "fixed", "value": 0},
                             "phone.redial.max_attempts": 3,
                             "phone.answering_machine.enabled": False,
                             "demand.phone.annual": 40000})
    model, log = simulate(scn)
    a = log.attempts_table()
    a = a.assign(day=(a["at"] // 86400).astype(int))
    prev = a.groupby("caller")["day"].shift()
    after_fail = a[(a["attempt"] > 1)]
    reason = a.groupby("caller")["outcome"].shift().loc[after_fail.index].astype(str)
    later = after_fail[reason.isin(["busy", "abandoned"])]
    assert len(later) > 50
    assert (later["day"] > prev.loc[later.index]).all(), "a later retry is on a later day"
    starts = set(model.cal.phone_open.starts.tolist())
    assert later["at"].isin(starts).all(), "exactly at an opening (delay 0)"
    check_invariants(model, log)


# --- repeat contacts ----------------------------------------------------------------------


REPEAT = {"phone.callers.repeat.probability_answered": 0.5,
          "phone.callers.repeat.probability_unanswered": 0.5,
          "phone.callers.repeat.delay_days": {"dist": "fixed", "value": 0.5},
          "phone.callers.repeat.max_repeats": 2,
          "phone.callers.repeat.time_of_day": "exact"}


def _episodes(log):
    c, e = log.callers_table(), log.episodes_table()
    c = c.merge(e, on="caller", how="left")
    c["number"] = c["number"].fillna(c["caller"]).astype(int)
    c["repeat"] = c["repeat"].fillna(0).astype(int)
    return c


def test_repeat_contacts_conserve_episodes(small):
    scn = scenario(small, **REPEAT)
    model, log = simulate(scn)
    check_invariants(model, log)  # every episode ends exactly once, attempts 1..n
    c = _episodes(log).sort_values(["number", "repeat"])
    n = len(model.callers)
    assert (c["number"] < n).all(), "every repeat belongs to a number that called first"
    assert c.groupby("number")["repeat"].apply(lambda r: list(r) == list(range(len(r)))).all(), \
        "repeats of a number are numbered 0, 1, ... without gaps"
    assert c["repeat"].max() <= 2
    prev_end = c.groupby("number")["end_at"].shift()
    gap = (c["arrival_at"] - prev_end)[c["repeat"] > 0]
    assert np.allclose(gap, 0.5 * 86400), "a repeat starts delay_days after the previous episode ends"
    assert (c.loc[c["repeat"] > 0, "arrival_at"] < scn.horizon.days * 86400).all()


def test_repeats_come_at_hours_people_call(small):
    # time_of_day "profile" with no out-of-hours demand on opening days: a repeat on an
    # opening day falls inside the opening hours, on the day the delay gives or the next.
    scn = scenario(small, **{**REPEAT, "phone.callers.repeat.time_of_day": "profile",
                             "phone.callers.repeat.delay_days": {"dist": "exponential", "mean": 2},
                             "demand.phone.out_of_hours_share": 0.0})
    model, log = simulate(scn)
    c = _episodes(log).sort_values(["number", "repeat"])
    prev_end = c.groupby("number")["end_at"].shift()
    rep = c[c["repeat"] > 0]
    assert len(rep) > 50
    oi = model.cal.phone_open
    opening_days = set((oi.starts // 86400).astype(int).tolist())
    day = (rep["arrival_at"] // 86400).astype(int)
    on_open_day = day.isin(opening_days)
    assert on_open_day.sum() > 20
    assert all(oi.is_open(t) for t in rep.loc[on_open_day, "arrival_at"]), "inside opening hours"
    assert (rep["arrival_at"] >= prev_end.loc[rep.index]).all(), "never before the previous episode ended"


def test_repeat_probability_is_honoured(small):
    # Share of first episodes (ending in the first week, so their repeat falls inside
    # the horizon) that are followed by a repeat: binomial with p = 0.5.
    scn = scenario(small, **REPEAT)
    got, n = 0, 0
    for rep in range(3):
        _, log = simulate(scn, seed=8, rep=rep)
        c = _episodes(log)
        first = c[(c["repeat"] == 0) & (c["end_at"] < 7 * 86400)]
        n += len(first)
        got += int(first["number"].isin(c.loc[c["repeat"] == 1, "number"]).sum())
    lo, hi = stats.binomtest(got, n, 0.5).proportion_ci(0.999)
    assert lo <= 0.5 <= hi, f"share repeated {got}/{n} vs probability 0.5 (99.9% CI {lo:.3f}-{hi:.3f})"


def test_repeat_decisions_are_common_random_numbers(small):
    # The same number makes the same repeat decision and waits the same delay whether
    # there are 1 or 3 lines a province (only then can staffing options be compared).
    over = {**REPEAT, "phone.callers.repeat.delay_days": {"dist": "exponential", "mean": 2},
            "phone.callers.repeat.probability_unanswered": 0.5}
    a = _episodes(simulate(scenario(small, **over))[1]).set_index(["number", "repeat"])
    b = _episodes(simulate(scenario(small, **over, **{"phone.staffing.lines": 3}))[1]).set_index(
        ["number", "repeat"])
    both = a.index.intersection(b.index)
    firsts = [k for k in both if k[1] == 0 and (k[0], 1) in both]
    assert len(firsts) > 20
    da = [a.loc[(k[0], 1), "arrival_at"] - a.loc[k, "end_at"] for k in firsts]
    db = [b.loc[(k[0], 1), "arrival_at"] - b.loc[k, "end_at"] for k in firsts]
    assert np.allclose(da, db), "the same number waits the same days before its repeat"


def test_number_kpis_by_hand():
    import pandas as pd

    from sim.results.numbers import number_kpis
    # Number 0: episode 0 (caller 0: busy, answered) and repeat (caller 2: closed, busy);
    # number 1: caller 1 (busy). Window covers everything.
    attempts = pd.DataFrame({"caller": [0, 0, 1, 2, 2], "attempt": [1, 2, 1, 1, 2],
                             "at": [10.0, 20.0, 30.0, 40.0, 50.0],
                             "outcome": ["busy", "answered", "busy", "closed", "busy"]})
    callers = pd.DataFrame({"caller": [0, 1, 2], "arrival_at": [10.0, 30.0, 40.0]})
    episodes = pd.DataFrame({"caller": [2], "number": [0], "repeat": [1]})
    v = {r[2]: r[3] for r in number_kpis(attempts, callers, episodes, 0.0, 100.0)}
    assert v["numbers"] == 2 and v["attempts_per_number"] == 2.5
    assert v["attempts_open_per_number"] == 2.0 and v["answered_per_number"] == 0.5
    assert v["share_numbers_answered"] == 0.5 and v["answer_rate_attempt"] == 0.2
    assert v["answer_rate_attempt_open"] == 0.25 and v["episodes_per_number"] == 1.5
    assert v["repeat_episodes"] == 1 and v["mean_attempts_open_episode"] == 4 / 3


# --- out-of-hours demand ------------------------------------------------------------------


def test_out_of_hours_share_rescales_each_opening_day_exactly(small):
    from sim.model.arrivals import interval_rate, open_fraction, rescale_out_of_hours
    from sim.model.calendar import closed_days, open_intervals

    start, days = small.horizon.start, small.horizon.days
    oi = open_intervals(start, days, small.phone.opening_hours, closed_days(start, days, small.calendar))
    rate = interval_rate(small.demand.phone, start, days)
    f = open_fraction(oi.starts, oi.ends, len(rate), 3600.0)
    new = rescale_out_of_hours(rate, f, 24, 0.1)
    r, n, ff = rate.reshape(days, 24), new.reshape(days, 24), f.reshape(days, 24)
    assert np.allclose(r.sum(axis=1), n.sum(axis=1)), "each day's total is kept"
    opening = ff.sum(axis=1) > 0
    assert opening.any() and (~opening).any()
    closed_share = (n * (1 - ff)).sum(axis=1) / n.sum(axis=1)
    assert np.allclose(closed_share[opening], 0.1), "10% of an opening day's demand is out of hours"
    assert np.allclose(n[~opening], r[~opening]), "days without opening hours are left alone"
    # Within a day, the closed hours keep the profile's shape (one factor per day).
    for d in np.flatnonzero(opening):
        part = (r[d] * (1 - ff[d])) > 0
        ratio = n[d][part] / r[d][part]
        assert np.allclose(ratio, ratio[0]), f"day {d}: the closed hours keep their shape"


def test_out_of_hours_share_in_the_simulated_arrivals(small):
    from sim.model.calendar import closed_days, open_intervals

    scn = scenario(small, **{"demand.phone.out_of_hours_share": 0.1, "demand.phone.annual": 60000})
    c = draw_phone_callers(scn, Streams(5, 0))
    start, days = scn.horizon.start, scn.horizon.days
    oi = open_intervals(start, days, scn.phone.opening_hours, closed_days(start, days, scn.calendar))
    day = (c.arrival_at // 86400).astype(int)
    on_open_day = np.isin(day, (oi.starts // 86400).astype(int))
    outside = np.array([not oi.is_open(t) for t in c.arrival_at[on_open_day]])
    lo, hi = stats.binomtest(int(outside.sum()), len(outside), 0.1).proportion_ci(0.999)
    assert lo <= 0.1 <= hi, f"out-of-hours share {outside.mean():.3f} vs setting 0.1 (99.9% CI {lo:.3f}-{hi:.3f})"


# --- switching channel ----------------------------------------------------------------------


SWITCH = {"phone.callers.switch.chat_probability": 0.3,
          "phone.callers.switch.email_probability": 0.4,
          "phone.callers.chat_switch.email_probability": 0.3,
          "phone.callers.chat_switch.phone_probability": 0.5}


@pytest.fixture(scope="module")
def switched(small):
    scn = scenario(small, **SWITCH)
    model = Helpline(scn, Streams(6, 0))
    return scn, model, model.run()


def test_switched_contacts_are_counted_once_per_channel(switched):
    scn, model, log = switched
    check_invariants(model, log)
    s, c = log.switches_table(), log.callers_table()
    chats, emails = log.chats.table(), log.emails.table()
    n_phone, n_chat, n_mail = len(model.callers), len(model.chat.visitors), len(model.email.emails)
    for ch, n_new, ids in (("phone", n_phone, c["caller"]), ("chat", n_chat, chats["chat"]),
                           ("email", n_mail, emails["email"])):
        into = s.loc[s["to_channel"] == ch, "to_id"]
        assert ids.is_unique, f"every {ch} contact ends once"
        assert len(ids) == n_new + len(into), f"{ch}: new contacts + switched in = all contacts"
        assert into.is_unique and set(into) == set(ids[ids >= n_new]), f"{ch}: each switched-in contact once"
    # Only those who gave up switch, and a switched contact does not switch again.
    ends = c.set_index("caller")["end"].astype(str)
    from_phone = s.loc[s["from_channel"] == "phone", "from_id"]
    assert ends.loc[from_phone].isin(["gave_up", "max_attempts"]).all()
    outcome = chats.set_index("chat")["outcome"].astype(str)
    assert outcome.loc[s.loc[s["from_channel"] == "chat", "from_id"]].isin(
        ["closed", "abandoned", "blocked", "closed_in_queue"]).all()
    assert (s.loc[s["from_channel"] == "chat", "from_id"] < n_chat).all()
    number = dict(zip(log.episodes_table()["caller"], log.episodes_table()["number"], strict=True))
    assert all(number.get(i, i) < n_phone for i in from_phone), "a caller from the chat does not switch back"
    for pair in (("phone", "chat"), ("phone", "email"), ("chat", "email"), ("chat", "phone")):
        assert ((s["from_channel"] == pair[0]) & (s["to_channel"] == pair[1])).sum() > 0, pair


def test_switch_probabilities_are_honoured(switched):
    # Among phone callers who gave up: chat with 0.3, else e-mail with 0.4 (0.28 in all).
    _, model, log = switched
    c, s = log.callers_table(), log.switches_table()
    gave_up = c[c["end"].astype(str).isin(["gave_up", "max_attempts"]) & (c["caller"] < len(model.callers))]
    to = s[s["from_channel"] == "phone"].set_index("from_id")["to_channel"].reindex(gave_up["caller"])
    for ch, p in (("chat", 0.3), ("email", 0.7 * 0.4)):
        k = int((to == ch).sum())
        lo, hi = stats.binomtest(k, len(gave_up), p).proportion_ci(0.999)
        assert lo <= p <= hi, f"phone -> {ch}: {k}/{len(gave_up)} vs {p} (99.9% CI {lo:.3f}-{hi:.3f})"


def test_people_kpis_by_hand():
    import pandas as pd

    from sim.results.switching import people_kpis
    # Phone caller 0 gives up -> chat 1 (switched in, answered). Chat visitor 0 finds the
    # chat closed -> phone caller 1 (new number n_phone + 0 = 1), unanswered. E-mail 0 answered.
    callers = pd.DataFrame({"caller": [0, 1], "end": ["gave_up", "gave_up"]})
    episodes = pd.DataFrame({"caller": [1], "number": [1], "repeat": [0]})  # n_phone=1: chat 0
    chats = pd.DataFrame({"chat": [0, 1], "outcome": ["closed", "answered"]})
    emails = pd.DataFrame({"email": [0], "outcome": ["answered"]})
    switches = pd.DataFrame({"from_channel": ["phone", "chat"], "from_id": [0, 0],
                             "to_channel": ["chat", "phone"], "to_id": [1, 1], "at": [1.0, 2.0]})
    v = {r[2]: r[3] for r in people_kpis(callers, episodes, chats, emails, switches, 1, 1, 1)}
    # People: phone number 0 (phone 0, chat 1: answered), chat visitor 0 (chat 0, phone 1),
    # e-mail 0 (answered).
    assert v["people"] == 3 and v["contacts_per_person"] == 5 / 3
    assert v["answered_contacts_per_person"] == 2 / 3 and v["share_people_answered"] == 2 / 3
    assert v["switches_phone_chat"] == 1 and v["switches_chat_phone"] == 1
    assert v["share_switched_answered"] == 0.5


# --- against an exact chain -----------------------------------------------------------------


def test_by_attempt_chain_reduces_to_the_retrial_chain():
    from sim.theory import exact as theory

    one = theory.retrial_loss(1, 1 / 1000, 1 / 1200, 0.6, 1 / 900)
    for classes in (1, 2):
        many = theory.retrial_loss_by_attempt(1, 1 / 1000, 1 / 1200, [0.6] * classes, [1 / 900] * classes,
                                              max_orbit=40 if classes == 1 else 16)
        assert many.truncation_mass < 1e-8
        assert np.isclose(many.p_lost_caller, one.p_lost_caller, rtol=1e-9), classes
        assert np.isclose(many.mean_attempts_per_caller, one.mean_attempts_per_caller, rtol=1e-9), classes


@pytest.mark.slow
def test_attempt_dependent_persistence_and_delays_match_the_exact_chain():
    # One line, all callers in one province, 24/7, exponential talk; after busy tone 1
    # redial with 0.9 after ~exp(2 min), after busy tone 2 or more with 0.6 after
    # ~exp(20 min); no attempt cap. The exact chain has one orbit class per number of
    # busy tones (2 classes, the last repeating).
    from sim.experiments.replications import run, t_interval
    from sim.theory import exact as theory
    from sim.theory.validation import MU, stationary

    shares = {"Antwerpen": 1.0, "Limburg": 0.0, "Oost-Vlaanderen": 0.0, "Vlaams-Brabant": 0.0,
              "West-Vlaanderen": 0.0}
    scn = stationary(1, annual=30_000, days=60, **{
        "phone.province_shares": shares,
        "phone.redial.probability": [0.9, 0.6], "phone.redial.max_attempts": None,
        "phone.redial.delay_min": [{"dist": "exponential", "mean": 2}, {"dist": "exponential", "mean": 20}],
        "phone.closed.retry_probability": 0.0})
    lam = 30_000 / (365 * 86400)
    th = theory.retrial_loss_by_attempt(1, lam, MU, [0.9, 0.6], [1 / 120, 1 / 1200], max_orbit=40)
    assert th.truncation_mass < 1e-8
    res = run(scn, 6, seed=21, jobs=1, progress=False)
    level = 1 - 0.01 / 2  # two measures, 1% family-wise
    for kpi, want in (("answer_rate_caller", 1 - th.p_lost_caller),
                      ("mean_attempts", th.mean_attempts_per_caller)):
        m, lo, hi = t_interval(res.values(kpi), level)
        assert lo <= want <= hi, (f"{kpi}: simulated {m:.4f} [{lo:.4f}, {hi:.4f}] ({level:.3f} CI over 6 reps) "
                                  f"vs exact chain {want:.4f}")


# --- settings -------------------------------------------------------------------------------


@pytest.mark.parametrize("overrides, path", [
    ({"demand.chat.out_of_hours_share": 0.1}, "demand"),
    ({"demand.phone.out_of_hours_share": 1.0}, "demand.phone.out_of_hours_share"),
    ({"phone.callers.numbers_from": "2020-03-01", "phone.callers.numbers_to": "2020-02-01"}, "phone.callers"),
    ({"phone.redial.delay_min": []}, "phone.redial.delay_min"),
    ({"phone.callers.repeat.probability_answered": 1.5}, "phone.callers.repeat.probability_answered"),
])
def test_bad_settings_are_refused_with_their_path(overrides, path):
    from sim.config import ScenarioError

    with pytest.raises(ScenarioError) as e:
        load_scenario(None, overrides)
    assert path in str(e.value), str(e.value)
