"""The Kim-Nelson procedure KN (sim.experiments.selection): pure, no simulation.

Synthetic normal observations with CRN-like correlation: replication j of every system
shares a common term (the same callers), plus its own noise.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from sim.experiments.selection import KN, kn_constants, select

ALPHA = 0.05


def crn_obs(means, n, rng, sd=1.0, rho=0.6, sds=None):
    """``n`` replications of each system: mean + sqrt(rho) * common_j + sqrt(1-rho) * own_ij
    (variance sd^2 each, correlation rho between systems of the same replication)."""
    common = rng.standard_normal(n)
    sds = sds or [sd] * len(means)
    return {f"s{i}": m + s * (np.sqrt(rho) * common + np.sqrt(1 - rho) * rng.standard_normal(n))
            for i, (m, s) in enumerate(zip(means, sds, strict=True))}


def test_constants_follow_the_paper():
    # k = 2, alpha = 0.05, n0 = 2: eta = 0.5 * (0.1 ** -2 - 1) = 49.5; h2 = 2 * eta * 1 = 99
    eta, h2 = kn_constants(2, 0.05, 2)
    assert eta == pytest.approx(49.5) and h2 == pytest.approx(99.0)
    eta, h2 = kn_constants(5, 0.05, 10)
    assert eta == pytest.approx(0.5 * ((0.1 / 4) ** (-2 / 9) - 1))
    assert h2 == pytest.approx(2 * eta * 9)


@pytest.mark.parametrize("n0", [0, 1])
def test_first_stage_needs_two_replications(n0):
    with pytest.raises(ValueError, match="n0 must be at least 2"):
        KN(["a", "b"], delta=0.1, n0=n0)


@pytest.mark.parametrize("kwargs, match", [
    ({"delta": 0.0}, "delta"), ({"delta": -1.0}, "delta"), ({"delta": float("nan")}, "delta"),
    ({"delta": 0.1, "alpha": 0.0}, "alpha"), ({"delta": 0.1, "alpha": 1.0}, "alpha"),
    ({"delta": 0.1, "n0": 5, "max_reps": 4}, "max_reps"),
])
def test_bad_settings_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        KN(["a", "b", "c"], **kwargs)


def test_one_system_is_refused():
    with pytest.raises(ValueError, match="at least 2 systems"):
        KN(["a"], delta=0.1)


@pytest.mark.parametrize("higher_better", [True, False])
def test_probability_of_correct_selection_in_the_least_favourable_configuration(higher_better):
    """The best leads the other four by exactly delta (the least-favourable
    configuration); over 400 seeded macro-replications KN must pick it in at least
    1 - alpha of them: the one-sided 99% Clopper-Pearson upper bound of the observed
    share must reach 0.95."""
    k, n0, delta, macro = 5, 10, 0.5, 400
    sign = 1.0 if higher_better else -1.0
    means = [sign * delta] + [0.0] * (k - 1)
    correct = 0
    for m in range(macro):
        rng = np.random.default_rng([2001, m])
        obs = crn_obs(means, 400, rng, sds=[1.0, 1.0, 1.5, 0.8, 1.2])
        res = select(obs, delta, ALPHA, n0, higher_better=higher_better, batch=3)
        assert res.done and res.settled, f"macro-replication {m} did not end within 400 replications"
        correct += res.selected == "s0"
    upper = stats.beta.ppf(0.99, correct + 1, macro - correct) if correct < macro else 1.0
    assert upper >= 1 - ALPHA, (
        f"KN selected the best in {correct} of {macro} least-favourable macro-replications "
        f"({correct / macro:.3f}); the one-sided 99% upper bound {upper:.3f} is below "
        f"1 - alpha = {1 - ALPHA}")


def test_a_clearly_worse_system_is_screened_out_early():
    """CRN makes differences precise: a system far behind goes at the first stage."""
    rng = np.random.default_rng(7)
    obs = crn_obs([1.0, 0.95, 0.0], 200, rng, sd=0.1, rho=0.9)
    res = select(obs, delta=0.02, n0=5)
    assert res.eliminated_at["s2"] == 5, res.eliminated_at
    assert res.selected == "s0" and res.used["s0"] > 5


def test_all_means_equal_claims_no_more_than_the_indifference_zone():
    """With every mean equal any selection is "within delta of the best"; otherwise it
    stops at max_reps with the survivors and claims nothing else."""
    outcomes = set()
    for m in range(20):
        rng = np.random.default_rng([5, m])
        res = select(crn_obs([0.0] * 4, 30, rng), delta=0.1, n0=5, max_reps=30, batch=5)
        assert res.done
        if res.settled:
            assert res.selected in res.names and "within 0.1 of the best" in res.guarantee()
            outcomes.add("selected")
        else:
            assert res.stage == 30 and len(res.survivors) >= 2 and res.selected is None
            assert res.guarantee().startswith("not settled within 30 replications")
            outcomes.add("not settled")
    assert "not settled" in outcomes  # delta = 0.1 is far below the noise: most runs hit the cap


def test_identical_systems_end_as_an_exact_tie():
    """Zero variance of the difference (e.g. options that differ only in chat, judged on a
    phone KPI): every W is zero at once, KN stops and breaks the tie by the given order."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=10)
    res = select({"b": x, "a": x.copy(), "c": x - 1.0}, delta=0.01, n0=5)
    assert res.settled and res.stage == 5
    assert res.tied == ("b", "a") and res.selected == "b"
    assert res.eliminated_at == {"c": 5}


def test_elimination_does_not_depend_on_order_or_batch_size():
    rng = np.random.default_rng(11)
    obs = crn_obs([0.3, 0.25, 0.2, 0.0, 0.28], 300, rng, sd=0.1)
    ref = select(obs, delta=0.05, n0=5, batch=1)
    assert ref.settled
    for order in (list(obs)[::-1], ["s3", "s1", "s4", "s0", "s2"]):
        other = select({n: obs[n] for n in order}, delta=0.05, n0=5, batch=1)
        assert (other.selected, other.eliminated_at, other.used) == (
            ref.selected, ref.eliminated_at, ref.used), order
    for batch in (4, 7, 50):
        other = select(obs, delta=0.05, n0=5, batch=batch)
        assert (other.selected, other.eliminated_at, other.used) == (
            ref.selected, ref.eliminated_at, ref.used), batch


def test_state_machine_takes_batches_of_survivors_only():
    rng = np.random.default_rng(2)
    obs = crn_obs([1.0, 0.0, 0.9], 100, rng, sd=0.05, rho=0.5)
    kn = KN(list(obs), delta=0.05, n0=4, max_reps=20)
    assert kn.wanted(batch=10) == 4  # the first stage first
    kn.add({n: v[:4] for n, v in obs.items()})
    assert "s1" not in kn.survivors  # 1.0 vs 0.0 with sd 0.05
    with pytest.raises(ValueError, match="same number"):
        kn.add({"s0": obs["s0"][4:6], "s2": obs["s2"][4:5]})
    assert kn.wanted(batch=30) == 16  # never past max_reps
    with pytest.raises(ValueError, match="missing"):
        kn.add({"s0": obs["s0"][4:5]})


def test_the_cap_reports_the_survivors():
    rng = np.random.default_rng(4)
    obs = crn_obs([0.0, 0.0, -5.0], 50, rng, sd=0.01)
    res = select(obs, delta=0.001, n0=5, max_reps=12, batch=5)
    assert res.done and not res.settled and res.stage == 12
    assert set(res.survivors) == {"s0", "s1"} and res.eliminated_at == {"s2": 5}
    assert res.used == {"s0": 12, "s1": 12, "s2": 5}
