"""Counsellor availability (phone.availability, issue 14): exact, statistical, invariant.

- Statistical: blocking and occupancy at the line (sim.results.capacity) of a 24/7 loss system whose counsellors alternate exponential
  periods at the line and away, simulated on fixed seeds, against the exact on/off CTMC
  (sim.theory.exact.availability_loss), for c = 1 and c = 2 lines; the tolerance is the
  Student-t interval over replications (Bonferroni over the comparisons, 1% family-wise).
- Invariant: no work starts on a line group unless a line with a counsellor at it is
  free; a scheduled block of every counsellor answers nothing.
- Off by default: availability enabled with share 1.0 and no blocks gives the same
  event log, record for record, as availability off.
"""

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from sim.config import PROVINCES, ScenarioError, load_scenario
from sim.experiments.replications import t_interval
from sim.model.calendar import DAY_S
from sim.model.helpline import Helpline
from sim.model.streams import Streams
from sim.theory import exact as theory
from sim.theory.validation import availability_case, stationary


def test_ctmc_reduces_to_erlang_b_when_counsellors_are_never_away():
    r = theory.availability_loss(1 / 600, 1 / 1200, 2, alpha=1e-12, beta=1.0)
    assert np.isclose(r.p_blocked, theory.erlang_b(2, 2.0), rtol=1e-8)


def test_ctmc_one_line_by_hand():
    """c = 1: four states; blocking = 1 - P(idle and at the line), solved by hand."""
    lam, mu, alpha, beta = 0.3, 1.0, 0.2, 0.5
    r = theory.availability_loss(lam, mu, 1, alpha, beta)
    # States (b, a): 00, 10, 01, 11. Balance equations solved with numpy as a check of the
    # generator the solver builds (written out here independently).
    Q = np.array([
        [-(lam + alpha), lam, alpha, 0],
        [mu, -(mu + alpha), 0, alpha],
        [beta, 0, -beta, 0],
        [0, beta, mu, -(beta + mu)],
    ])
    A = np.vstack([Q.T[:-1], np.ones(4)])
    pi = np.linalg.solve(A, np.array([0, 0, 0, 1.0]))
    assert np.isclose(r.p_blocked, 1 - pi[0], rtol=1e-10)
    assert np.isclose(r.mean_away, alpha / (alpha + beta), rtol=1e-10)


def test_simulated_blocking_agrees_with_the_on_off_ctmc():
    comparisons = availability_case(reps=8, seed=7, jobs=1, days=40)
    assert {c.measure for c in comparisons} == {
        "blocking, Antwerpen (1 lines)", "blocking, Limburg (2 lines)",
        "occupancy at the line, Antwerpen (1 lines)", "occupancy at the line, Limburg (2 lines)"}
    level = 1 - 0.01 / len(comparisons)
    for c in comparisons:
        m, lo, hi = t_interval(c.values, level)
        assert lo <= c.theory <= hi, (
            f"{c.measure}: simulated {m:.4f} [{lo:.4f}, {hi:.4f}] ({level:.3f} CI over {len(c.values)} reps) "
            f"vs on/off CTMC {c.theory:.4f}")
    # The comparison can fail: the same case without absences is far from the CTMC.
    lines = 1
    lam = 40_000 / (365 * 86400) * load_scenario().phone.province_shares["Antwerpen"] / sum(
        load_scenario().phone.province_shares.values())
    assert theory.erlang_b(lines, lam * 1200) < comparisons[0].theory - 0.1


def _model(overrides, days=20, seed=3):
    scn = stationary({p: 2 for p in PROVINCES}, annual=40_000, days=days, **overrides)
    return Helpline(scn, Streams(seed, 0), channels=["phone"])


def _guard_seizes(model):
    """Wrap each phone group's seize: count work started without a free line at the line."""
    bad = []
    for g in model.groups:
        original = g.seize

        def seize(hold_s, g=g, original=original):
            if g.busy >= g.at_line():
                bad.append((g.index, g.env.now, g.busy, g.at_line()))
            return original(hold_s)

        g.seize = seize
    return bad


def test_no_work_starts_on_a_line_whose_counsellor_is_away():
    model = _model({"phone.availability": {"enabled": True, "share": 0.5},
                    "phone.queue.capacity": 1, "phone.queue.patience_min": {"dist": "exponential", "mean": 10},
                    "phone.answering_machine.enabled": True,
                    "phone.answering_machine.callbacks.policy": "immediate",
                    "phone.answering_machine.message_probability": 0.5,
                    "phone.answering_machine.number_probability": 1.0})
    bad = _guard_seizes(model)
    log = model.run()
    assert len(log.away) > 100, "the absences did not happen"
    assert bad == [], f"work started with no counsellor free at the line: {bad[:5]}"
    answered = sum(1 for r in log.attempts if r[5] == "answered")
    assert answered > 0
    # The same from the event log alone: at every start of work, the work already going on
    # in the group is less than the lines at the line rebuilt from the recorded absences.
    from sim.results.capacity import at_line_lines
    from tests.invariants import check_invariants

    a, cb, away = log.attempts_table(), log.callbacks_table(), log.away_table()
    work = pd.concat([
        a.loc[a["outcome"] == "answered"].assign(begin=lambda d: d["at"] + d["wait_s"])[["group", "begin", "hold_s"]],
        cb.assign(begin=cb["at"])[["group", "begin", "hold_s"]]])
    assert len(cb) > 0, "the callbacks should take lines too"
    for g, prov in enumerate(PROVINCES):
        at_line = at_line_lines(model.cal.phone_lines[prov], away[away["group"] == g])
        w = work[work["group"] == g]
        b = w["begin"].to_numpy()
        e = b + w["hold_s"].to_numpy()
        for t in b:
            going_on = np.sum((b <= t) & (e > t)) - 1
            assert going_on < at_line(t), f"{prov}: work started at {t} with {going_on} going on, {at_line(t)} at the line"
    check_invariants(model, log)


def test_a_block_of_every_counsellor_answers_nothing_during_it():
    model = _model({"phone.availability": {"enabled": True, "share": 1.0, "blocks": [
        {"name": "case meeting", "weekdays": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
         "hours": "10:00-12:00"}]}}, days=10)
    bad = _guard_seizes(model)
    log = model.run()
    starts = np.array([r[2] + r[6] for r in log.attempts if r[5] == "answered"])
    in_block = (starts % DAY_S >= 10 * 3600) & (starts % DAY_S < 12 * 3600)
    assert bad == []
    assert in_block.sum() == 0, f"{in_block.sum()} calls answered during the all-hands meeting"
    # Outside the block calls are answered as usual, and callers got busy tones during it.
    arrivals = np.array([r[2] for r in log.attempts])
    during = (arrivals % DAY_S >= 10 * 3600) & (arrivals % DAY_S < 12 * 3600)
    assert during.sum() > 0 and len(starts) > 0


def test_availability_of_one_and_no_blocks_changes_nothing():
    scn_off = stationary({p: 1 for p in PROVINCES}, annual=40_000, days=15)
    scn_on = stationary({p: 1 for p in PROVINCES}, annual=40_000, days=15,
                        **{"phone.availability": {"enabled": True, "share": 1.0}})
    off = Helpline(scn_off, Streams(5, 0), channels=["phone"]).run()
    on = Helpline(scn_on, Streams(5, 0), channels=["phone"]).run()
    assert on.attempts == off.attempts and on.callers == off.callers
    assert on.away == []


def test_share_periods_and_block_ranges_are_validated():
    with pytest.raises(ScenarioError, match="before"):
        load_scenario(None, {"phone.availability.periods": [
            {"from": "2020-06-01", "to": "2020-05-01", "share": 0.5}]})
    with pytest.raises(ScenarioError, match="share"):
        load_scenario(None, {"phone.availability.share": 0.0})
    with pytest.raises(ScenarioError, match="hours"):
        load_scenario(None, {"phone.availability.blocks": [{"weekdays": ["tue"], "hours": "11:00-10:00"}]})


def test_share_in_force_follows_the_periods():
    scn = load_scenario(None, {"phone.availability": {"share": {"Limburg": 0.7}, "periods": [
        {"from": "2019-06-01", "to": "2020-05-31", "share": 0.5, "source": "assumption"}]}})
    av = scn.phone.availability
    assert av.share_on(dt.date(2020, 3, 1), "Limburg") == 0.5
    assert av.share_on(dt.date(2020, 6, 1), "Limburg") == 0.7
    assert av.share_on(dt.date(2020, 6, 1), "Antwerpen") == 1.0


# --- capacity that changes over the year (step 3 of issue 14's capacity half) -------------


def test_extra_lines_for_a_year_may_start_before_and_end_after_the_horizon():
    """Seed 000: extra means "voor een jaar" after the first lockdown: phone.staffing.extra."""
    from sim.model.helpline import build_calendar

    scn = load_scenario(None, {
        "horizon": {"start": "2020-01-01", "end": "2020-12-31"},
        "calendar.holidays": "none",
        "phone.staffing.extra": [{"name": "capacity for a year (seed 000)", "from": "2020-06-01",
                                  "to": "2021-05-31", "lines": 1, "provinces": ["Limburg"]}]})
    lines = build_calendar(scn).phone_lines

    def noon(day):
        return (day - scn.horizon.start).days * DAY_S + 12 * 3600

    assert lines["Limburg"](noon(dt.date(2020, 5, 29))) == 1  # Friday before the year
    assert lines["Limburg"](noon(dt.date(2020, 6, 2))) == 2
    assert lines["Limburg"](noon(dt.date(2020, 12, 31))) == 2
    assert lines["Antwerpen"](noon(dt.date(2020, 6, 2))) == 1


def test_a_share_period_covering_the_horizon_overrides_the_default_share():
    base = {p: 1 for p in PROVINCES}
    off = Helpline(stationary(base, annual=40_000, days=10), Streams(5, 0), channels=["phone"]).run()
    scn = stationary(base, annual=40_000, days=10, **{"phone.availability": {
        "enabled": True, "share": 0.5,
        "periods": [{"from": "2019-01-01", "to": "2030-12-31", "share": 1.0, "source": "assumption"}]}})
    on = Helpline(scn, Streams(5, 0), channels=["phone"]).run()
    assert on.away == [] and on.attempts == off.attempts
    # And the same scenario without the period does send counsellors away.
    scn = stationary(base, annual=40_000, days=10, **{"phone.availability": {"enabled": True, "share": 0.5}})
    assert len(Helpline(scn, Streams(5, 0), channels=["phone"]).run().away) > 0


# --- capacity KPIs (sim.results.capacity) -------------------------------------------------


def test_capacity_kpis_add_up_and_appear_only_when_availability_is_on():
    from sim.experiments.replications import run_replication

    scn = stationary({p: 2 for p in PROVINCES}, annual=40_000, days=12, **{
        "phone.wrap_up_min": {"dist": "fixed", "value": 5},
        "phone.availability": {"enabled": True, "share": 0.7,
                               "blocks": [{"weekdays": ["mon"], "hours": "09:00-10:00", "counsellors": 1}]}})
    k = run_replication(scn, 1, 0).kpis.set_index(["by", "key", "kpi"])["value"]
    for key in [("all", "all"), ("province", "Limburg"), ("province_month", "Limburg 2021-01")]:
        staffed = k[(*key, "staffed_line_hours")] if key[0] != "province_month" else None
        at, away = k[(*key, "at_line_hours")], k[(*key, "away_line_hours")]
        if staffed is not None:
            assert np.isclose(at + away, staffed), f"{key}: at the line + away != staffed"
        assert 0 < k[(*key, "occupancy")] < 1
    assert np.isclose(k[("all", "all", "at_line_share")], 0.7 - 1 / (7 * 24) / 2, atol=0.05)
    # Wrap-up is a fixed 5 min per answered call.
    assert np.isclose(k[("all", "all", "wrap_up_hours")], k[("all", "all", "answered")] * 5 / 60, rtol=0.02)
    off = run_replication(stationary({p: 2 for p in PROVINCES}, annual=40_000, days=12), 1, 0).kpis
    assert "occupancy" not in set(off["kpi"]) and "province_month" not in set(off["by"])


# --- absences while no line is staffed cost no event (issue 16) ---------------------------


class _PerSlotCounsellors:
    """The mechanism as it was before issue 16: one SimPy process per slot, around the
    clock, that tells the line group of every change (the reference for the test below)."""

    @staticmethod
    def make():
        from sim.model.availability import Counsellors

        class PerSlot(Counsellors):
            def _changes(self, slots):
                for k in range(slots):
                    self.env.process(self._slot(k))
                return
                yield

            def _slot(self, k):
                env, bit = self.env, 1 << k
                while env.now < self._end:
                    mean = self._at_line_mean_s(env.now)
                    if mean is None:
                        yield env.timeout((env.now // DAY_S + 1) * DAY_S - env.now)
                        continue
                    yield env.timeout(float(self.rng.exponential(mean)))
                    if env.now >= self._end:
                        break
                    self.mask |= bit
                    self._record()
                    self.group_lines.counsellor_left()
                    yield env.timeout(float(self._away_s(self.rng, 1)[0]))
                    self.mask &= ~bit
                    self._record()
                    self.group_lines.counsellor_returned()

        return PerSlot


@pytest.mark.parametrize("away_min", [{"dist": "gamma", "mean": 20, "sd": 15},
                                      {"dist": "exponential", "mean": 30}])
def test_skipping_absences_while_no_line_is_staffed_changes_no_record(monkeypatch, away_min):
    """The lazy mechanism against one process per slot, record for record: office hours
    with an extra line on some afternoons (slot 1 unstaffed while slot 0 is staffed),
    share periods (a province never away for a week), gamma or exponential absences
    (exponential: drawn in batches), blocks (one from
    before opening, one at night), a queue, the answering machine with callbacks,
    overflow with the pooling cap (which reads the recent occupancy), chat and e-mail
    blending (listeners). Same seed: the attempts, callers, messages, callbacks, e-mails
    and every province's away changes must be equal, and the run must end at the same
    clock time."""
    import sim.model.helpline as helpline

    scn = load_scenario("scenarios/subsidy/all_measures.yaml", {
        "horizon": {"start": "2020-03-02", "end": "2020-03-22"},
        "phone.queue.capacity": 1,
        "phone.queue.patience_min": {"dist": "exponential", "mean": 3},
        "phone.staffing.extra": [{"name": "afternoons", "from": "2020-03-01", "to": "2020-04-30",
                                  "weekdays": ["tue", "thu"], "hours": "13:00-17:00", "lines": 1}],
        "phone.pooling.occupancy_cap": 0.6,
        "phone.answering_machine.message_probability": 0.5,
        "phone.answering_machine.number_probability": 1.0,
        "email.blending": True,
        "phone.availability": {
            "enabled": True, "share": {"Antwerpen": 0.5, "Limburg": 1.0, "Oost-Vlaanderen": 0.4,
                                       "Vlaams-Brabant": 0.7, "West-Vlaanderen": 0.5},
            "away_min": away_min,
            "periods": [{"from": "2020-03-09", "to": "2020-03-15", "share": {
                "Antwerpen": 1.0, "Limburg": 0.3, "Oost-Vlaanderen": 0.5, "Vlaams-Brabant": 0.5,
                "West-Vlaanderen": 0.5}}],
            "blocks": [{"name": "early", "weekdays": ["fri"], "hours": "08:00-09:30", "counsellors": "all"},
                       {"name": "night", "weekdays": ["wed"], "hours": "02:00-03:00", "counsellors": 1},
                       {"name": "meeting", "weekdays": ["tue"], "hours": "13:30-14:30", "counsellors": 1}]}})

    def run(counsellors, stop_tail):
        monkeypatch.setattr(helpline, "Counsellors", counsellors)
        model = Helpline(scn, Streams(11, 0))
        model._stop_tail = stop_tail  # (the reference walks the whole tail: sim.model.tail)
        log = model.run()
        return model, log

    lazy_model, lazy = run(helpline.Counsellors, True)
    ref_model, ref = run(_PerSlotCounsellors.make(), False)
    assert lazy_model.env.now == ref_model.env.now, "the run ended at another clock time"
    assert len(ref.away) > 1000 and sum(r[5] == "answered" for r in ref.attempts) > 100
    assert len(ref.callbacks) > 0 and any(r[2] > 0 for r in ref.away), "no callbacks or no block"
    for name in ("attempts", "callers", "messages", "callbacks", "switches"):
        assert getattr(lazy, name) == getattr(ref, name), f"{name}: lazy availability != one process per slot"
    assert lazy.chats.records == ref.chats.records, "chats: lazy availability != one process per slot"
    assert (lazy.emails.started, lazy.emails.done) == (ref.emails.started, ref.emails.done), "e-mails differ"
    assert any(r[3] >= 0 for r in ref.emails.started), "no e-mail was blended into a phone line"
    for g in range(len(PROVINCES)):
        mine = [r for r in lazy.away if r[0] == g]
        theirs = [r for r in ref.away if r[0] == g]
        assert mine == theirs, f"group {g}: away changes differ ({len(mine)} vs {len(theirs)} records)"
    # Most changes happened while no line was staffed: the lazy mechanism skipped them.
    staffed = [lazy_model.cal.phone_lines[PROVINCES[r[0]]](r[1]) > 0 for r in lazy.away]
    assert sum(staffed) < 0.5 * len(staffed)
