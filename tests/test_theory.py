"""Tests for sim.theory.exact against independent closed forms and identities.

Every check compares two routes to the same number (closed form vs chain, one model
vs another that it reduces to, or a flow balance not used in the computation).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy import stats

from sim.theory.exact import (
    answering_machine,
    ctmc_stationary,
    erlang_a,
    erlang_b,
    erlang_c,
    erlang_c_mean_wait,
    overflow_two_groups,
    retrial_loss,
)

# No example database: keeps .hypothesis/ out of the working tree.
# derandomize: the same examples on every run, so CI is deterministic.
FAST = settings(max_examples=30, deadline=None, database=None, derandomize=True)


def erlang_b_direct(c: int, a: float) -> float:
    """a^c / c! / sum_k a^k / k!, summed exactly enough with math.fsum."""
    terms = [a**k / math.factorial(k) for k in range(c + 1)]
    return terms[-1] / math.fsum(terms)


def erlang_c_direct(c: int, a: float) -> float:
    """Closed form of Erlang C with the waiting term a^c/c! * c/(c-a)."""
    terms = [a**k / math.factorial(k) for k in range(c)]
    wait = a**c / math.factorial(c) * c / (c - a)
    return wait / math.fsum([*terms, wait])


# ------------------------------------------------------------------------- Erlang B


@pytest.mark.parametrize("a", [0.0, 0.3, 1.0, 7.5])
def test_erlang_b_single_line(a):
    assert erlang_b(1, a) == pytest.approx(a / (1 + a), rel=1e-14, abs=1e-300)


@pytest.mark.parametrize(("c", "a"), [(2, 1.0), (10, 5.0), (20, 25.0), (30, 12.3)])
def test_erlang_b_matches_direct_formula(c, a):
    assert erlang_b(c, a) == pytest.approx(erlang_b_direct(c, a), rel=1e-12)


def test_erlang_b_published_table_value():
    # Erlang B tables: 10 lines, 5 erlang -> 1.84 % blocking.
    assert erlang_b(10, 5.0) == pytest.approx(0.018385, abs=5e-7)


def test_erlang_b_large_c_against_poisson_ratio():
    # B(c, a) = P(X = c) / P(X <= c) for X ~ Poisson(a): computed by scipy in log space.
    for c, a in [(300, 280.0), (250, 300.0), (400, 350.0)]:
        expected = math.exp(stats.poisson.logpmf(c, a) - stats.poisson.logcdf(c, a))
        assert erlang_b(c, a) == pytest.approx(expected, rel=1e-9)


def test_erlang_b_vectorised_equals_scalar():
    loads = np.array([0.5, 2.0, 9.0])
    out = erlang_b(6, loads)
    assert isinstance(out, np.ndarray)
    np.testing.assert_allclose(out, [erlang_b(6, float(x)) for x in loads], rtol=1e-15)


# ------------------------------------------------------------------------- Erlang C


@pytest.mark.parametrize(("c", "a"), [(1, 0.5), (3, 2.4), (10, 8.0), (25, 24.0)])
def test_erlang_c_matches_direct_formula(c, a):
    assert erlang_c(c, a) == pytest.approx(erlang_c_direct(c, a), rel=1e-12)


def test_erlang_c_mm1():
    lam, mu = 0.6, 1.5
    rho = lam / mu
    assert erlang_c(1, rho) == pytest.approx(rho, rel=1e-14)
    assert erlang_c_mean_wait(1, lam, mu) == pytest.approx(rho / (mu - lam), rel=1e-14)


@pytest.mark.parametrize(("c", "lam", "mu"), [(1, 0.8, 1.0), (5, 4.0, 1.0), (12, 0.1, 0.01)])
def test_erlang_c_equals_erlang_a_without_abandonment(c, lam, mu):
    res = erlang_a(c, lam, mu, theta=0.0)
    assert res.p_wait == pytest.approx(erlang_c(c, lam / mu), rel=1e-10)
    assert res.mean_wait == pytest.approx(erlang_c_mean_wait(c, lam, mu), rel=1e-10)
    assert res.p_abandon == 0.0


def test_erlang_c_heavy_load_tail_truncation():
    # rho = 0.98: the queue tail is long and geometric; truncation must not bias it.
    res = erlang_a(10, 9.8, 1.0, theta=0.0)
    assert res.p_wait == pytest.approx(erlang_c(10, 9.8), rel=1e-10)
    assert res.mean_wait == pytest.approx(erlang_c_mean_wait(10, 9.8, 1.0), rel=1e-9)


def test_erlang_c_is_limit_of_erlang_a():
    res = erlang_a(8, 6.0, 1.0, theta=1e-9)
    assert res.p_wait == pytest.approx(erlang_c(8, 6.0), rel=1e-6)
    assert res.mean_wait == pytest.approx(erlang_c_mean_wait(8, 6.0, 1.0), rel=1e-6)
    assert 0 < res.p_abandon < 1e-8


# ------------------------------------------------------------------------- Erlang A


@pytest.mark.parametrize(("c", "a"), [(1, 0.7), (4, 3.0), (15, 20.0)])
def test_erlang_a_zero_capacity_is_erlang_b(c, a):
    res = erlang_a(c, lam=a * 2.0, mu=2.0, theta=0.3, queue_capacity=0)
    assert res.p_block == pytest.approx(erlang_b(c, a), rel=1e-12)
    assert res.p_wait == 0.0
    assert res.p_abandon == 0.0
    assert res.mean_wait == 0.0


@pytest.mark.parametrize(("c", "lam", "mu"), [(1, 0.5, 1.0), (5, 6.0, 1.0), (20, 30.0, 1.5)])
def test_erlang_a_theta_equal_mu_is_poisson(c, lam, mu):
    # With theta = mu every caller in the system leaves at rate mu: N ~ Poisson(lam/mu).
    a = lam / mu
    res = erlang_a(c, lam, mu, theta=mu)
    n = np.arange(0, 400)
    pmf = stats.poisson.pmf(n, a)
    assert res.p_wait == pytest.approx(stats.poisson.sf(c - 1, a), rel=1e-10)
    mean_lq = float(np.maximum(n - c, 0) @ pmf)
    assert res.mean_queue_length == pytest.approx(mean_lq, rel=1e-10)
    assert res.mean_wait == pytest.approx(mean_lq / lam, rel=1e-10)
    assert res.p_abandon == pytest.approx(mu * mean_lq / lam, rel=1e-10)


def test_erlang_a_mm1k_against_geometric():
    # M/M/1/K (theta = 0, one line, K-1 waiting places): p_N = (1-r) r^N / (1-r^(K+1)).
    lam, mu, places = 0.9, 1.0, 4
    K = places + 1
    r = lam / mu
    p = [(1 - r) * r**n / (1 - r ** (K + 1)) for n in range(K + 1)]
    res = erlang_a(1, lam, mu, theta=0.0, queue_capacity=places)
    assert res.p_block == pytest.approx(p[K], rel=1e-12)
    assert res.p_wait == pytest.approx(sum(p[1:K]), rel=1e-12)
    lq = sum((n - 1) * p[n] for n in range(1, K + 1))
    assert res.mean_wait == pytest.approx(lq / (lam * (1 - p[K])), rel=1e-12)


def _birth_death_generator(lam, mu, theta, c, top):
    """Sparse generator of the Erlang A chain on 0..top (built independently of theory)."""
    n = np.arange(top + 1)
    down = np.minimum(n[1:], c) * mu + np.maximum(n[1:] - c, 0) * theta
    up = np.full(top, lam)
    diag = -np.concatenate((up, [0.0])) - np.concatenate(([0.0], down))
    return sp.diags([up, diag, down], [1, 0, -1], format="csr")


@FAST
@given(
    c=st.integers(1, 8),
    a=st.floats(0.1, 12.0),
    theta_ratio=st.floats(0.05, 5.0),
    capacity=st.one_of(st.none(), st.integers(0, 15)),
)
def test_erlang_a_against_generic_ctmc(c, a, theta_ratio, capacity):
    mu, theta = 1.0, theta_ratio
    res = erlang_a(c, a * mu, mu, theta=theta, queue_capacity=capacity)
    # p_served comes from mu E[busy]; the others from the queue: two different sums.
    assert res.p_served + res.p_block + res.p_abandon == pytest.approx(1.0, abs=1e-10)
    # Same chain through the sparse solver; an unlimited queue is cut far out instead.
    top = c + (capacity if capacity is not None else 1500)
    pi = ctmc_stationary(_birth_death_generator(a * mu, mu, theta, c, top))
    p_block = float(pi[-1]) if capacity is not None else 0.0
    assert res.p_block == pytest.approx(p_block, abs=1e-12)
    assert res.p_wait == pytest.approx(float(pi[c:].sum()) - p_block, abs=1e-10)
    lq = float(np.maximum(np.arange(top + 1) - c, 0) @ pi)
    assert res.mean_queue_length == pytest.approx(lq, rel=1e-9, abs=1e-12)


def test_erlang_a_more_patience_more_waiting():
    fast_abandon = erlang_a(5, 5.0, 1.0, theta=2.0)
    slow_abandon = erlang_a(5, 5.0, 1.0, theta=0.1)
    assert slow_abandon.p_wait > fast_abandon.p_wait
    assert slow_abandon.mean_wait > fast_abandon.mean_wait
    assert slow_abandon.p_abandon < fast_abandon.p_abandon


# --------------------------------------------------------------------------- CTMC


def test_ctmc_two_states():
    a, b = 0.3, 1.7
    pi = ctmc_stationary(np.array([[-a, a], [b, -b]]))
    np.testing.assert_allclose(pi, [b / (a + b), a / (a + b)], rtol=1e-14)


def test_ctmc_mm1k_geometric_dense_and_sparse():
    lam, mu, K = 2.0, 3.0, 12
    Q = _birth_death_generator(lam, mu, 0.0, 1, K).toarray()
    r = lam / mu
    expected = (1 - r) * r ** np.arange(K + 1) / (1 - r ** (K + 1))
    np.testing.assert_allclose(ctmc_stationary(Q), expected, rtol=1e-12)
    np.testing.assert_allclose(ctmc_stationary(sp.csc_matrix(Q)), expected, rtol=1e-12)


def test_ctmc_single_state():
    np.testing.assert_array_equal(ctmc_stationary(np.zeros((1, 1))), [1.0])


@pytest.mark.parametrize(
    ("Q", "message"),
    [
        (np.array([[-1.0, 1.0], [1.0, -0.5]]), "sum to 0"),
        (np.array([[1.0, -1.0], [1.0, -1.0]]), "negative off-diagonal"),
        (np.array([[-1.0, 1.0, 0.0]]), "square"),
        (np.zeros((3, 3)), "unique stationary"),  # three absorbing states
    ],
)
def test_ctmc_rejects_bad_generators(Q, message):
    with pytest.raises(ValueError, match=message):
        ctmc_stationary(Q)


# ------------------------------------------------------------------------- retrial


@pytest.mark.parametrize(("c", "lam"), [(1, 0.8), (5, 4.0), (10, 12.0)])
def test_retrial_without_redials_is_erlang_b(c, lam):
    res = retrial_loss(c, lam, 1.0, p_redial=0.0, redial_rate=3.0)
    b = erlang_b(c, lam)
    assert res.p_block_attempt == pytest.approx(b, rel=1e-10)
    assert res.p_lost_caller == pytest.approx(b, rel=1e-10)
    assert res.mean_attempts_per_caller == pytest.approx(1.0, rel=1e-12)
    assert res.mean_orbit == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize(("lam", "mu", "nu"), [(0.5, 1.0, 2.0), (0.7, 1.0, 0.5), (1.2, 2.0, 4.0)])
def test_retrial_mm1_persistent_closed_form(lam, mu, nu):
    # M/M/1 retrial queue, linear retrial rate j*nu, persistent callers (Falin & Templeton
    # 1997, sec. 1.2): P(line busy) = rho, E[orbit] = rho^2 (1 + mu/nu) / (1 - rho).
    rho = lam / mu
    res = retrial_loss(1, lam, mu, p_redial=1.0, redial_rate=nu)
    assert res.utilisation == pytest.approx(rho, rel=1e-6)
    assert res.mean_orbit == pytest.approx(rho**2 * (1 + mu / nu) / (1 - rho), rel=1e-6)
    assert res.p_lost_caller == pytest.approx(0.0, abs=1e-7)
    assert res.truncation_mass <= 1e-8


@FAST
@given(
    c=st.integers(1, 4),
    a=st.floats(0.2, 6.0),
    p_redial=st.floats(0.0, 0.9),
    nu=st.floats(0.2, 5.0),
)
def test_retrial_flow_balance(c, a, p_redial, nu):
    res = retrial_loss(c, a, 1.0, p_redial, nu)
    # Successful attempts per caller (from the blocking of attempts, counted over the
    # full-line states) equals the served fraction (from mean busy lines).
    assert (1 - res.p_block_attempt) * res.mean_attempts_per_caller == pytest.approx(
        1 - res.p_lost_caller, abs=1e-7
    )
    assert res.mean_attempts_per_caller >= 1.0
    assert 0.0 <= res.p_block_attempt <= 1.0
    # Redials can only help: never more lost than without them.
    assert res.p_lost_caller <= erlang_b(c, a) + 1e-9


def test_retrial_single_line_loss_falls_with_persistence():
    lost = [retrial_loss(1, 0.9, 1.0, p, 1.5).p_lost_caller for p in (0.0, 0.3, 0.6, 0.9)]
    assert all(x > y for x, y in zip(lost, lost[1:], strict=False))
    res = retrial_loss(1, 0.9, 1.0, 0.6, 1.5)
    assert res.mean_attempts_per_caller > 1.0


def test_retrial_fixed_truncation_too_small_raises():
    with pytest.raises(ValueError, match="max_orbit"):
        retrial_loss(1, 0.9, 1.0, p_redial=1.0, redial_rate=0.5, max_orbit=5)


def test_retrial_reports_truncation():
    res = retrial_loss(2, 1.5, 1.0, 0.7, 1.0, max_orbit=60)
    assert res.max_orbit == 60
    assert res.truncation_mass <= 1e-8


# ------------------------------------------------------------------------ overflow


@pytest.mark.parametrize(("lam1", "lam2", "c1", "c2"), [(3.0, 2.0, 4, 3), (0.5, 6.0, 2, 5)])
def test_overflow_off_is_two_erlang_b(lam1, lam2, c1, c2):
    mu = 1.3
    res = overflow_two_groups(lam1, lam2, mu, c1, c2, overflow_1_to_2=False)
    b1, b2 = erlang_b(c1, lam1 / mu), erlang_b(c2, lam2 / mu)
    assert res.p_blocked == pytest.approx((b1, b2), rel=1e-10)
    assert res.p_other == (0.0, 0.0)
    assert res.utilisation == pytest.approx(
        (lam1 / mu * (1 - b1) / c1, lam2 / mu * (1 - b2) / c2), rel=1e-10
    )


@pytest.mark.parametrize(("lam1", "lam2", "c1", "c2"), [(3.0, 2.0, 4, 3), (0.5, 6.0, 2, 5)])
def test_overflow_both_ways_is_full_availability(lam1, lam2, c1, c2):
    mu = 0.8
    res = overflow_two_groups(lam1, lam2, mu, c1, c2, True, True)
    b = erlang_b(c1 + c2, (lam1 + lam2) / mu)
    assert res.p_lost_total == pytest.approx(b, rel=1e-10)
    assert res.p_blocked == pytest.approx((b, b), rel=1e-10)


def test_overflow_one_way_leaves_source_group_alone():
    # Group 1's own lines do not see group 2 at all: still Erlang B for its own traffic.
    res = overflow_two_groups(4.0, 2.0, 1.0, 5, 3, overflow_1_to_2=True)
    assert res.p_own[0] == pytest.approx(1 - erlang_b(5, 4.0), rel=1e-10)
    # Group 2 carries extra overflow traffic, so its own callers are blocked more.
    assert res.p_blocked[1] > erlang_b(3, 2.0)
    assert res.p_other[1] == 0.0


@FAST
@given(
    lam1=st.floats(0.1, 6.0),
    lam2=st.floats(0.0, 6.0),
    c1=st.integers(1, 5),
    c2=st.integers(1, 5),
    o12=st.booleans(),
    o21=st.booleans(),
)
def test_overflow_properties(lam1, lam2, c1, c2, o12, o21):
    mu = 1.0
    res = overflow_two_groups(lam1, lam2, mu, c1, c2, o12, o21)
    none = overflow_two_groups(lam1, lam2, mu, c1, c2, False, False)
    assert res.p_lost_total <= none.p_lost_total + 1e-12
    # Carried traffic two ways: busy lines (Little) and answered calls (PASTA).
    carried = lam1 * (1 - res.p_blocked[0]) + lam2 * (1 - res.p_blocked[1])
    busy = c1 * res.utilisation[0] + c2 * res.utilisation[1]
    assert mu * busy == pytest.approx(carried, rel=1e-9, abs=1e-12)
    for i in range(2):
        total = res.p_blocked[i] + res.p_own[i] + res.p_other[i]
        assert total == pytest.approx(1.0, abs=1e-12)
        assert min(res.p_blocked[i], res.p_own[i], res.p_other[i]) >= -1e-12
    # Mirror image: swapping the groups swaps every result.
    mirror = overflow_two_groups(lam2, lam1, mu, c2, c1, o21, o12) if lam2 > 0 else None
    if mirror is not None:
        assert mirror.p_blocked[::-1] == pytest.approx(res.p_blocked, abs=1e-12)
        assert mirror.utilisation[::-1] == pytest.approx(res.utilisation, abs=1e-12)


# -------------------------------------------------------------- answering machine


@pytest.mark.parametrize(("c", "a"), [(1, 0.5), (4, 3.0)])
def test_answering_machine_without_messages_is_erlang_b(c, a):
    res = answering_machine(c, a, 1.0, p_message=0.0, callback_rate=1.0, p_reach=0.5, mu_fail=4.0)
    b = erlang_b(c, a)
    assert res.p_busy_tone == pytest.approx(b, rel=1e-10)
    assert res.p_lost == pytest.approx(b, rel=1e-10)
    assert res.p_answered_callback == 0.0
    assert math.isnan(res.mean_time_to_callback)


@FAST
@given(
    c=st.integers(1, 3),
    load_per_line=st.floats(0.05, 0.6),
    p_message=st.floats(0.0, 1.0),
    callback_rate=st.floats(2.0, 8.0),
    p_reach=st.floats(0.5, 1.0),
    mu_fail=st.floats(2.0, 10.0),
)
def test_answering_machine_flow_conservation(
    c, load_per_line, p_message, callback_rate, p_reach, mu_fail
):
    # The box also holds unstable systems (messages outpace successful callbacks); the
    # solver must refuse those, and they are not examples of conservation.
    mu, a = 1.0, load_per_line * c
    try:
        res = answering_machine(c, a * mu, mu, p_message, callback_rate, p_reach, mu_fail=mu_fail)
    except ValueError as e:
        assert "unstable" in str(e), f"only instability may stop the solver here: {e}"
        assume(False)
    outcome = res.p_answered_direct + res.p_answered_callback + res.p_lost
    assert outcome == pytest.approx(1.0, abs=1e-9)
    # Lines busy with answered calls carry exactly the answered traffic.
    ok_lines = c * (res.utilisation - res.utilisation_failed_callbacks)
    answered = a * (res.p_answered_direct + res.p_answered_callback)
    assert mu * ok_lines == pytest.approx(answered, rel=1e-8, abs=1e-12)
    # Callbacks use lines, so callers see busy tones at least as often as in Erlang B.
    assert res.p_busy_tone >= erlang_b(c, a) - 1e-12


def _answering_machine_reference(c, lam, mu, p_msg, cb, p_reach, mu_fail, top):
    """Independent dense build of the same chain, solved by least squares."""
    states = [
        (ko, kf, m) for ko in range(c + 1) for kf in range(c + 1 - ko) for m in range(top + 1 - kf)
    ]
    index = {s: i for i, s in enumerate(states)}
    Q = np.zeros((len(states), len(states)))
    for (ko, kf, m), i in index.items():

        def add(target, rate, i=i):
            if rate > 0:
                Q[i, index[target]] += rate

        if ko + kf < c:
            add((ko + 1, kf, m), lam)
            if m > 0:
                add((ko + 1, kf, m - 1), cb * p_reach)
                add((ko, kf + 1, m - 1), cb * (1 - p_reach))
        elif m + kf < top:
            add((ko, kf, m + 1), lam * p_msg)
        if ko > 0:
            add((ko - 1, kf, m), ko * mu)
        if kf > 0:
            add((ko, kf - 1, m + 1), kf * mu_fail)
    Q -= np.diag(Q.sum(axis=1))
    A = np.vstack([Q.T, np.ones(len(states))])
    rhs = np.zeros(len(states) + 1)
    rhs[-1] = 1.0
    pi = np.linalg.lstsq(A, rhs, rcond=None)[0]
    busy = np.array([ko + kf for ko, kf, _ in states])
    m = np.array([s[2] for s in states])
    return {
        "p_busy_tone": float(pi[busy == c].sum()),
        "p_answered_callback": cb * p_reach * float(pi[(busy < c) & (m > 0)].sum()) / lam,
        "mean_mailbox": float(m @ pi),
        "utilisation": float(busy @ pi) / c,
    }


def test_answering_machine_against_independent_build():
    # A short mailbox (6) so that the truncation boundary matters and is compared too.
    args = {
        "c": 2,
        "lam": 1.5,
        "mu": 1.0,
        "p_msg": 0.7,
        "cb": 4.0,
        "p_reach": 0.6,
        "mu_fail": 3.0,
        "top": 6,
    }
    ref = _answering_machine_reference(**args)
    res = answering_machine(
        2, 1.5, 1.0, 0.7, 4.0, 0.6, mu_fail=3.0, max_mailbox=6, max_truncation_mass=1.0
    )
    assert res.truncation_mass > 1e-6
    for name, value in ref.items():
        assert getattr(res, name) == pytest.approx(value, rel=1e-9), name


def test_answering_machine_messages_raise_load_and_wait():
    base = answering_machine(3, 2.0, 1.0, 0.0, 2.0, 0.8, mu_fail=5.0)
    more = answering_machine(3, 2.0, 1.0, 0.9, 2.0, 0.8, mu_fail=5.0)
    assert more.p_busy_tone > base.p_busy_tone
    assert more.p_lost < base.p_lost
    assert more.mean_time_to_callback > 0
    assert more.mean_pending_messages >= more.mean_mailbox


def test_answering_machine_stability_boundary():
    # c = 1, lam = 0.6, every blocked caller leaves a message, p_reach = 0.8, mu_fail = 4:
    # mailbox drift ratio is 0.94 at callback_rate 1.5 (stable, long mailbox) and 1.54
    # at 0.5 (messages arrive faster than callbacks can succeed).
    near = answering_machine(1, 0.6, 1.0, 1.0, 1.5, 0.8, mu_fail=4.0)
    assert near.truncation_mass <= 1e-8
    assert near.mean_mailbox > 10
    total = near.p_answered_direct + near.p_answered_callback + near.p_lost
    assert total == pytest.approx(1.0, abs=1e-9)
    with pytest.raises(ValueError, match="unstable"):
        answering_machine(1, 0.6, 1.0, 1.0, 0.5, 0.8, mu_fail=4.0)


def test_retrial_persistent_overload_raises():
    with pytest.raises(ValueError, match="unstable"):
        retrial_loss(2, 2.0, 1.0, p_redial=1.0, redial_rate=1.0)


# --------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: erlang_b(0, 1.0), "c"),
        (lambda: erlang_b(2.5, 1.0), "c"),
        (lambda: erlang_b(True, 1.0), "c"),
        (lambda: erlang_b(3, -1.0), "a"),
        (lambda: erlang_c(3, 3.0), "a"),
        (lambda: erlang_c_mean_wait(2, 3.0, 1.0), "lam"),
        (lambda: erlang_a(2, 1.0, 0.0, 1.0), "mu"),
        (lambda: erlang_a(2, 1.0, 1.0, -0.1), "theta"),
        (lambda: erlang_a(2, 3.0, 1.0, 0.0), "lam"),
        (lambda: erlang_a(2, 1.0, 1.0, 1.0, queue_capacity=-1), "queue_capacity"),
        (lambda: retrial_loss(2, 1.0, 1.0, 1.5, 1.0), "p_redial"),
        (lambda: retrial_loss(2, 1.0, 1.0, 0.5, 0.0), "redial_rate"),
        (lambda: overflow_two_groups(1.0, -1.0, 1.0, 2, 2), "lam2"),
        (lambda: overflow_two_groups(1.0, 1.0, 1.0, 2, 0), "c2"),
        (lambda: answering_machine(2, 1.0, 1.0, 0.5, 1.0, -0.1, mu_fail=1.0), "p_reach"),
        (lambda: answering_machine(2, 1.0, 1.0, 0.5, 1.0, 0.0, mu_fail=1.0), "p_reach"),
        (lambda: answering_machine(2, 1.0, 1.0, 0.5, 1.0, 0.5, mu_fail=math.inf), "mu_fail"),
    ],
)
def test_invalid_arguments_name_the_argument(call, name):
    with pytest.raises(ValueError, match=rf"\b{name}\b"):
        call()
