"""Exact queueing results used as ground truth for the simulator (numpy/scipy only).

Scope: closed forms and numerically exact Markov-chain solutions for the small models
the simulator must reproduce when its options are switched down to their Markovian
core: Erlang B (loss), Erlang C (delay), Erlang A (delay with abandonment, optional
finite queue), a retrial (redial) loss system, two line groups with overflow, and one
line group with an answering machine and callbacks.

Units: every rate is "per unit time" in one consistent unit (the simulator uses
seconds, so rates are per second and mean times come out in seconds). ``lam`` is the
arrival rate, ``mu`` the service rate of one line (1 / mean talk time), ``c`` the
number of lines, ``theta`` the abandonment rate (1 / mean patience). Probabilities are
fractions in [0, 1]. All arrival streams are Poisson and all durations exponential;
"what an arriving caller sees" is the time-stationary distribution by PASTA (Wolff
1982, "Poisson arrivals see time averages", Oper. Res. 30(2)).

Infinite state spaces are truncated. Birth-death chains are cut where a geometric
bound on the tail is below 1e-14 of the total mass; the two-dimensional chains are
cut at an orbit / mailbox size whose boundary probability is reported as
``truncation_mass`` and must stay below ``max_truncation_mass`` (default 1e-8), the
size being doubled automatically unless the caller fixes it.
"""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import MatrixRankWarning, spsolve
from scipy.special import logsumexp

__all__ = [
    "AnsweringMachineRedialResult",
    "AnsweringMachineResult",
    "AvailabilityResult",
    "ErlangAResult",
    "OverflowResult",
    "RetrialResult",
    "answering_machine",
    "answering_machine_redials",
    "availability_loss",
    "ctmc_stationary",
    "erlang_a",
    "erlang_b",
    "erlang_c",
    "erlang_c_mean_wait",
    "overflow_two_groups",
    "retrial_loss",
    "retrial_loss_by_attempt",
]

# Relative tail mass below which an infinite birth-death chain is cut off.
_BD_TAIL_TOL = 1e-14
# Default limit on the probability of the truncation boundary of a 2-D chain.
_TRUNCATION_TOL = 1e-8
# Largest chain we are willing to solve: sparse LU fill-in (memory) grows fast beyond
# this, and a chain that needs more is too close to instability to be useful ground truth.
_MAX_STATES = 400_000


# --------------------------------------------------------------------------- checks


def _check_int(name: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value!r}")
    return int(value)


def _check_rate(name: str, value: object, *, allow_zero: bool = False) -> float:
    try:
        x = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {value!r}") from None
    if isinstance(value, bool) or not math.isfinite(x) or x < 0 or (x == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be a finite number {bound}, got {value!r}")
    return x


def _check_prob(name: str, value: object) -> float:
    try:
        x = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a probability, got {value!r}") from None
    if isinstance(value, bool) or not (0.0 <= x <= 1.0):
        raise ValueError(f"{name} must be a probability in [0, 1], got {value!r}")
    return x


def _check_load(name: str, value: object) -> np.ndarray:
    a = np.asarray(value, dtype=float)
    if not np.all(np.isfinite(a)) or np.any(a < 0):
        raise ValueError(f"{name} must be finite and >= 0, got {value!r}")
    return a


# ------------------------------------------------------------------ Erlang B and C


def erlang_b(c: int, a: float | np.ndarray) -> float | np.ndarray:
    """Erlang B blocking probability of an M/M/c/c loss system (Erlang 1917).

    Args:
        c: number of lines (integer >= 1).
        a: offered load in erlang, ``a = lam / mu`` (>= 0); a scalar or an array, in
            which case the result is computed element-wise.

    Returns:
        Probability that an arriving call finds all ``c`` lines busy (by PASTA, also
        the fraction of calls lost). A float for scalar ``a``, else an array.

    Uses the recursion B(0) = 1, B(k) = a B(k-1) / (k + a B(k-1)), which is exact and
    stable for c in the hundreds and beyond (no factorials or powers are formed).
    """
    c = _check_int("c", c, 1)
    a_arr = _check_load("a", a)
    b = np.ones_like(a_arr)
    for k in range(1, c + 1):
        b = a_arr * b / (k + a_arr * b)
    return float(b) if b.ndim == 0 else b


def erlang_c(c: int, a: float | np.ndarray) -> float | np.ndarray:
    """Erlang C probability of waiting in an M/M/c queue with infinite patience.

    Args:
        c: number of lines (integer >= 1).
        a: offered load in erlang, ``a = lam / mu``; 0 <= a < c (stability).

    Returns:
        Probability that an arriving call finds all lines busy and has to wait
        (PASTA). Float for scalar ``a``, array otherwise.

    Formula: C = c B / (c - a (1 - B)) with B = Erlang B(c, a) (Erlang 1917; e.g.
    Cooper 1981, "Introduction to Queueing Theory", eq. 3.3.3 written via B).
    """
    c = _check_int("c", c, 1)
    a_arr = _check_load("a", a)
    if np.any(a_arr >= c):
        raise ValueError(f"a must be < c (= {c}) for a stable M/M/c queue, got {a!r}")
    b = np.asarray(erlang_b(c, a_arr))
    out = c * b / (c - a_arr * (1.0 - b))
    return float(out) if out.ndim == 0 else out


def erlang_c_mean_wait(c: int, lam: float, mu: float) -> float:
    """Mean time in queue E[Wq] of an M/M/c queue, averaged over *all* arrivals.

    Args:
        c: number of lines (integer >= 1).
        lam: arrival rate (> 0, per unit time).
        mu: service rate of one line (> 0, per unit time); needs lam < c mu.

    Returns:
        E[Wq] = C(c, a) / (c mu - lam) in the time unit of 1/lam (callers who do not
        wait count as zero). Those who wait wait 1 / (c mu - lam) on average.
    """
    c = _check_int("c", c, 1)
    lam = _check_rate("lam", lam)
    mu = _check_rate("mu", mu)
    if lam >= c * mu:
        raise ValueError(f"lam must be < c*mu (= {c * mu}) for stability, got {lam!r}")
    return float(erlang_c(c, lam / mu)) / (c * mu - lam)


# ------------------------------------------------------------------------ Erlang A


@dataclass(frozen=True)
class ErlangAResult:
    """Steady state of M/M/c+M (Erlang A), optionally with a finite waiting room.

    Fields (fractions are of all fresh arrivals unless stated; times in 1/rate units):
        p_wait: arrival finds all lines busy and joins the queue.
        p_block: arrival finds the finite queue full and is turned away (0 if infinite).
        p_abandon: arrival joins the queue and abandons before being answered.
        p_served: arrival is answered (= 1 - p_block - p_abandon).
        mean_wait: E[min(W, patience)] over arrivals that were not blocked, i.e. the
            mean time spent queueing including by those who abandon (0 if not waiting).
        mean_queue_length: E[number waiting] (time average).
        utilisation: E[busy lines] / c.
    """

    p_wait: float
    p_block: float
    p_abandon: float
    p_served: float
    mean_wait: float
    mean_queue_length: float
    utilisation: float


def _bd_log_weights(lam: float, death: Callable[[np.ndarray], np.ndarray], n_max: int):
    """Log of unnormalised birth-death probabilities p_0..p_n_max (p_0 = 1)."""
    n = np.arange(1, n_max + 1, dtype=float)
    # p_n / p_{n-1} = lam / death(n): detailed balance of a birth-death chain.
    return np.concatenate(([0.0], np.cumsum(math.log(lam) - np.log(death(n)))))


def erlang_a(
    c: int, lam: float, mu: float, theta: float, queue_capacity: int | None = None
) -> ErlangAResult:
    """Erlang A: M/M/c+M queue (exponential patience), optionally M/M/c/c+K+M.

    Model: Poisson arrivals (rate ``lam``), ``c`` lines each serving at rate ``mu``,
    FIFO queue of ``queue_capacity`` places (None = unlimited), every waiting caller
    abandons independently at rate ``theta`` (>= 0; 0 gives Erlang C or M/M/c/c+K).
    With N = number in system the chain is birth-death: birth ``lam`` (while N < c+K),
    death min(N, c) mu + max(N - c, 0) theta (Palm 1943; Garnett, Mandelbaum & Reiman
    2002, "Designing a call center with impatient customers", MSOM 4(3)).

    Args:
        c: number of lines (integer >= 1).
        lam: arrival rate (> 0).
        mu: service rate per line (> 0).
        theta: abandonment rate, 1 / mean patience (>= 0). With theta = 0 and an
            unlimited queue, lam < c mu is required.
        queue_capacity: waiting places K (integer >= 0), or None for unlimited.
            K = 0 is the Erlang B loss system.

    Returns:
        ErlangAResult; see its docstring for the fields.

    Method: stationary probabilities of the chain in log space. An unlimited queue is
    cut at the first N whose tail bound p_N r / (1 - r) (r = birth/death ratio at
    N + 1, non-increasing in N) is below 1e-14 of the mass. By PASTA p_wait =
    P(c <= N < c+K), p_block = P(N = c+K). p_abandon = theta E[Lq] / lam (abandonment
    throughput over arrival rate), p_served = mu E[busy] / lam, and Little's law on
    the queue gives mean_wait = E[Lq] / (lam (1 - p_block)).
    """
    c = _check_int("c", c, 1)
    lam = _check_rate("lam", lam)
    mu = _check_rate("mu", mu)
    theta = _check_rate("theta", theta, allow_zero=True)
    if queue_capacity is not None:
        queue_capacity = _check_int("queue_capacity", queue_capacity, 0)
    elif theta == 0 and lam >= c * mu:
        raise ValueError(
            f"lam (= {lam}) must be < c*mu (= {c * mu}) when theta = 0 and the queue is unlimited"
        )

    def death(n: np.ndarray) -> np.ndarray:
        return np.minimum(n, c) * mu + np.maximum(n - c, 0) * theta

    if queue_capacity is not None:
        n_top = c + queue_capacity
        logw = _bd_log_weights(lam, death, n_top)
    else:
        n_top = c + 64
        while True:
            logw = _bd_log_weights(lam, death, n_top)
            r_next = lam / float(death(np.array([n_top + 1.0]))[0])
            if r_next < 1.0:
                log_tail = logw[-1] + math.log(r_next / (1.0 - r_next)) - logsumexp(logw)
                if log_tail < math.log(_BD_TAIL_TOL):
                    break
            if n_top > _MAX_STATES:
                raise ValueError("erlang_a: queue length distribution does not settle")
            n_top *= 2
    p = np.exp(logw - logsumexp(logw))
    n = np.arange(n_top + 1)
    busy = np.minimum(n, c)
    queue = np.maximum(n - c, 0)

    p_block = float(p[-1]) if queue_capacity is not None else 0.0
    p_wait = float(p[c:].sum()) - p_block
    mean_lq = float(queue @ p)
    mean_busy = float(busy @ p)
    p_abandon = theta * mean_lq / lam
    # Served fraction from the departure-through-service rate: an independent route to
    # 1 - p_block - p_abandon (the tests use the identity as a check on the chain).
    p_served = mu * mean_busy / lam
    mean_wait = mean_lq / (lam * (1.0 - p_block)) if p_block < 1.0 else 0.0
    return ErlangAResult(
        p_wait=p_wait,
        p_block=p_block,
        p_abandon=p_abandon,
        p_served=p_served,
        mean_wait=mean_wait,
        mean_queue_length=mean_lq,
        utilisation=mean_busy / c,
    )


# ------------------------------------------------------------------------ CTMC core


def ctmc_stationary(Q: np.ndarray | sp.spmatrix | sp.sparray, tol: float = 1e-9) -> np.ndarray:
    """Stationary distribution pi of a finite continuous-time Markov chain.

    Args:
        Q: generator matrix (dense array-like or scipy sparse), n x n, Q[i, j] >= 0 the
            rate from state i to j (i != j), each row summing to 0.
        tol: allowed |row sum| relative to max(1, max |Q[i, i]|).

    Returns:
        1-D float array pi with pi Q = 0, sum(pi) = 1, pi >= 0.

    Raises:
        ValueError: Q is not square, has negative off-diagonal rates, rows that do not
            sum to 0, or no unique stationary distribution (more than one closed class).

    Method: solve Q^T pi^T = 0 with one balance equation (the last; the n equations
    sum to zero, so any one is redundant) replaced by sum(pi) = 1, by sparse LU
    (scipy.sparse.linalg.spsolve). See Stewart 1994, "Introduction to the Numerical
    Solution of Markov Chains", sec. 2.3.
    """
    Qs = sp.csr_matrix(Q, dtype=float) if sp.issparse(Q) else sp.csr_matrix(np.asarray(Q, float))
    if Qs.ndim != 2 or Qs.shape[0] != Qs.shape[1] or Qs.shape[0] == 0:
        raise ValueError(f"Q must be a non-empty square matrix, got shape {Qs.shape}")
    if not np.all(np.isfinite(Qs.data)):
        raise ValueError("Q has non-finite entries")
    n = Qs.shape[0]
    coo = Qs.tocoo()
    if np.any(coo.data[coo.row != coo.col] < 0):
        raise ValueError("Q has a negative off-diagonal rate")
    scale = max(1.0, float(np.max(np.abs(Qs.diagonal()), initial=0.0)))
    row_sums = np.asarray(Qs.sum(axis=1)).ravel()
    worst = float(np.max(np.abs(row_sums)))
    if worst > tol * scale:
        raise ValueError(f"Q rows must sum to 0 (worst |row sum| = {worst:.3g})")

    A = sp.vstack([Qs.T.tocsr()[:-1, :], sp.csr_matrix(np.ones((1, n)))]).tocsc()
    b = np.zeros(n)
    b[-1] = 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("error", MatrixRankWarning)
        try:
            pi = np.atleast_1d(spsolve(A, b))
        except (MatrixRankWarning, RuntimeError):
            pi = np.full(n, np.nan)
    if not np.all(np.isfinite(pi)) or pi.min() < -1e-9:
        raise ValueError("Q has no unique stationary distribution (reducible chain?)")
    # Round-off can leave entries like -1e-18 for states of (near) zero mass.
    pi = np.clip(pi, 0.0, None)
    return pi / pi.sum()


def _generator(n: int, src: np.ndarray, dst: np.ndarray, rate: np.ndarray) -> sp.csr_matrix:
    """Sparse generator from transition lists (self-loops and zero rates dropped)."""
    keep = (src != dst) & (rate > 0)
    off = sp.coo_matrix((rate[keep], (src[keep], dst[keep])), shape=(n, n)).tocsr()
    return (off - sp.diags(np.asarray(off.sum(axis=1)).ravel())).tocsr()


def _auto_truncate(
    solve: Callable[[int], tuple], size: int | None, start: int, tol: float, name: str
) -> tuple:
    """Run solve(size) -> (..., boundary_mass); double size until the mass is <= tol."""
    fixed = size is not None
    size = size if fixed else start
    while True:
        out = solve(size)
        mass = out[-1]
        if mass <= tol:
            return out
        if fixed:
            raise ValueError(
                f"{name} = {size} is too small: boundary probability {mass:.3g} > {tol:g}"
            )
        size *= 2
        if out[0] > _MAX_STATES // 2:
            raise ValueError(
                f"{name} beyond {size // 2} still needed (boundary probability {mass:.3g}); "
                "the system is probably unstable"
            )


# ------------------------------------------------------------------ retrial (redial)


@dataclass(frozen=True)
class RetrialResult:
    """Steady state of the c-line retrial loss system with geometric redialling.

    Fields (rates per unit time, times in 1/rate units):
        p_block_attempt: fraction of all attempts (fresh + redials) that get a busy tone.
        p_lost_caller: fraction of fresh callers who never get through.
        mean_attempts_per_caller: attempts per fresh caller, >= 1.
        mean_orbit: E[callers waiting to redial].
        utilisation: E[busy lines] / c.
        max_orbit: orbit size at which the chain was truncated.
        truncation_mass: P(orbit = max_orbit), the truncation boundary.
    """

    p_block_attempt: float
    p_lost_caller: float
    mean_attempts_per_caller: float
    mean_orbit: float
    utilisation: float
    max_orbit: int
    truncation_mass: float


def retrial_loss(
    c: int,
    lam: float,
    mu: float,
    p_redial: float,
    redial_rate: float,
    max_orbit: int | None = None,
    *,
    max_truncation_mass: float = _TRUNCATION_TOL,
) -> RetrialResult:
    """Retrial (redial) loss system M/M/c/c with non-persistent callers.

    Model: fresh calls arrive at rate ``lam``; ``c`` lines, no waiting room, talk time
    exponential with rate ``mu``. An attempt (fresh or redial) that finds all lines
    busy gets a busy tone; after *every* busy tone the caller redials with probability
    ``p_redial`` (geometric persistence), after an exponential delay of rate
    ``redial_rate``, otherwise leaves for good. Callers waiting to redial form the
    orbit. State (k busy lines, j in orbit); transitions (Falin & Templeton 1997,
    "Retrial Queues", ch. 1-2, with the linear retrial policy j * redial_rate):

        (k, j) -> (k+1, j)    lam                          k < c
        (c, j) -> (c, j+1)    lam p_redial                 busy tone, will redial
        (k, j) -> (k+1, j-1)  j redial_rate                k < c
        (c, j) -> (c, j-1)    j redial_rate (1 - p_redial) busy tone, gives up
        (k, j) -> (k-1, j)    k mu

    Args:
        c: number of lines (integer >= 1).
        lam: fresh-call arrival rate (> 0).
        mu: service rate per line (> 0).
        p_redial: probability of redialling after a busy tone, in [0, 1] (1 = fully
            persistent; then lam < c mu is needed).
        redial_rate: 1 / mean delay before a redial (> 0).
        max_orbit: orbit truncation level (integer >= 1); None doubles it from 32
            until the boundary probability is <= ``max_truncation_mass``. A fixed
            level whose boundary probability exceeds that raises ValueError. Callers
            that would join a full orbit are dropped. p_redial = 1 with
            lam >= c mu is unstable and raises ValueError.
        max_truncation_mass: tolerated P(orbit = max_orbit), default 1e-8.

    Returns:
        RetrialResult. By flow balance: attempt rate = lam + redial_rate E[j], served
        rate = mu E[k], lost callers = lam - served rate (p_lost_caller = 1 - mu E[k] /
        lam), mean attempts per caller = attempt rate / lam. p_block_attempt is counted
        directly as sum_j (lam + j redial_rate) P(c, j) / attempt rate, so that
        (1 - p_block_attempt) * mean_attempts == 1 - p_lost_caller is a check, not a
        definition.
    """
    c = _check_int("c", c, 1)
    lam = _check_rate("lam", lam)
    mu = _check_rate("mu", mu)
    p = _check_prob("p_redial", p_redial)
    nu = _check_rate("redial_rate", redial_rate)
    if max_orbit is not None:
        max_orbit = _check_int("max_orbit", max_orbit, 1)
    tol = _check_prob("max_truncation_mass", max_truncation_mass)
    if p == 1.0 and lam >= c * mu:
        # Persistent callers never leave: stable iff lam < c mu (Falin & Templeton 1997,
        # sec. 2.1). With p_redial < 1 the loss j redial_rate (1 - p) grows without
        # bound in the orbit size, so the orbit is always stable.
        raise ValueError(f"unstable: with p_redial = 1, lam (= {lam}) must be < c*mu (= {c * mu})")

    def solve(m_top: int):
        k, j = (
            g.ravel() for g in np.meshgrid(np.arange(c + 1), np.arange(m_top + 1), indexing="ij")
        )
        n = k.size

        def idx(kk, jj):
            return kk * (m_top + 1) + jj

        s = idx(k, j)
        full, free = k == c, k < c
        moves = [
            (free, idx(k + 1, j), np.full(n, lam)),
            (full & (j < m_top), idx(k, j + 1), np.full(n, lam * p)),
            (free & (j > 0), idx(k + 1, j - 1), j * nu),
            (full & (j > 0), idx(k, j - 1), j * nu * (1.0 - p)),
            (k > 0, idx(k - 1, j), k * mu),
        ]
        src = np.concatenate([s[m] for m, _, _ in moves])
        dst = np.concatenate([d[m] for m, d, _ in moves])
        rate = np.concatenate([r[m].astype(float) for m, _, r in moves])
        pi = ctmc_stationary(_generator(n, src, dst, rate))
        return n, m_top, pi, k, j, float(pi[j == m_top].sum())

    _, m_top, pi, k, j, mass = _auto_truncate(solve, max_orbit, 32, tol, "max_orbit")
    mean_k = float(k @ pi)
    mean_j = float(j @ pi)
    attempt_rate = lam + nu * mean_j
    full = k == c
    blocked_rate = float(((lam + nu * j[full]) * pi[full]).sum())
    return RetrialResult(
        p_block_attempt=blocked_rate / attempt_rate,
        p_lost_caller=1.0 - mu * mean_k / lam,
        mean_attempts_per_caller=attempt_rate / lam,
        mean_orbit=mean_j,
        utilisation=mean_k / c,
        max_orbit=m_top,
        truncation_mass=mass,
    )


@dataclass(frozen=True)
class RetrialByAttemptResult:
    """Steady state of :func:`retrial_loss_by_attempt` (fields as :class:`RetrialResult`;
    ``mean_orbit`` per orbit class: callers waiting to redial after 1, 2, ... busy tones)."""

    p_block_attempt: float
    p_lost_caller: float
    mean_attempts_per_caller: float
    mean_orbit: tuple[float, ...]
    utilisation: float
    max_orbit: int
    truncation_mass: float


def retrial_loss_by_attempt(
    c: int,
    lam: float,
    mu: float,
    p_redial: Sequence[float],
    redial_rate: Sequence[float],
    max_orbit: int = 24,
) -> RetrialByAttemptResult:
    """Retrial loss system whose persistence and redial delay depend on the number of
    busy tones a caller has had: one orbit class per number of busy tones.

    As :func:`retrial_loss` (``c`` lines, no waiting room, exponential talk of rate
    ``mu``, fresh calls at rate ``lam``), but after the b-th busy tone a caller redials
    with probability ``p_redial[b-1]`` after an exponential delay of rate
    ``redial_rate[b-1]``; the last class (B = ``len(p_redial)``) holds everyone with B or
    more busy tones (its values repeat). State (k busy lines, j_1, ..., j_B callers in
    each orbit class); a redial of class b that finds every line busy moves the caller
    to class min(b + 1, B) with probability p_{b+1} (the last value repeating), else
    they leave. So the simulator's ``phone.redial.probability`` and a list
    ``phone.redial.delay_min`` of exponential delays (one per attempt) with no attempt
    cap are this chain exactly.

    Each class is truncated at ``max_orbit`` callers (a caller who would join a full
    class is dropped); ``truncation_mass`` is P(some class is full): keep it small.
    Sizes: (c + 1) (max_orbit + 1)^B states, so B of 2 or 3 only.
    """
    c = _check_int("c", c, 1)
    lam = _check_rate("lam", lam)
    mu = _check_rate("mu", mu)
    ps = [_check_prob("p_redial", x) for x in p_redial]
    nus = [_check_rate("redial_rate", x) for x in redial_rate]
    if not ps or len(ps) != len(nus):
        raise ValueError("p_redial and redial_rate need the same number (>= 1) of classes")
    m = _check_int("max_orbit", max_orbit, 1)
    big = len(ps)
    dims = (c + 1,) + (m + 1,) * big
    grid = np.indices(dims).reshape(len(dims), -1)
    k, js = grid[0], grid[1:]
    n = k.size
    strides = np.array([int(np.prod(dims[i + 1:])) for i in range(len(dims))])
    s = np.arange(n)
    full = k == c
    src, dst, rate = [], [], []

    def add(mask, to, r):
        src.append(s[mask])
        dst.append(to[mask])
        rate.append(np.broadcast_to(np.asarray(r, float), (n,))[mask])

    add(~full, s + strides[0], lam)  # fresh call answered
    room1 = js[0] < m
    add(full & room1, s + strides[1], lam * ps[0])  # first busy tone, will redial
    add(k > 0, s - strides[0], k * mu)  # end of a call
    for b in range(big):
        jb, nu = js[b], nus[b]
        here = jb > 0
        # Redial of class b gets a line.
        add(~full & here, s - strides[1 + b] + strides[0], jb * nu)
        # Redial of class b gets busy tone number b + 2: to class min(b + 1, B - 1) with
        # its probability, or leaves (or stays put when b is the last class).
        nxt = min(b + 1, big - 1)
        p_next = ps[nxt]
        if nxt == b:  # the last class: stays with p, leaves with 1 - p
            add(full & here, s - strides[1 + b], jb * nu * (1.0 - p_next))
        else:
            add(full & here & (js[nxt] < m), s - strides[1 + b] + strides[1 + nxt], jb * nu * p_next)
            add(full & here, s - strides[1 + b], jb * nu * (1.0 - p_next))
    src_a, dst_a, rate_a = np.concatenate(src), np.concatenate(dst), np.concatenate(rate)
    keep = rate_a > 0
    pi = ctmc_stationary(_generator(n, src_a[keep], dst_a[keep], rate_a[keep]))
    mean_k = float(k @ pi)
    mean_j = tuple(float(j @ pi) for j in js)
    attempt_rate = lam + sum(nu * mj for nu, mj in zip(nus, mean_j, strict=True))
    blocked = float(((lam + sum(nu * j[full] for nu, j in zip(nus, js, strict=True))) * pi[full]).sum())
    edge = np.zeros(n, dtype=bool)
    for j in js:
        edge |= j == m
    return RetrialByAttemptResult(
        p_block_attempt=blocked / attempt_rate,
        p_lost_caller=1.0 - mu * mean_k / lam,
        mean_attempts_per_caller=attempt_rate / lam,
        mean_orbit=mean_j,
        utilisation=mean_k / c,
        max_orbit=m,
        truncation_mass=float(pi[edge].sum()),
    )


# ------------------------------------------------------------------------- overflow


@dataclass(frozen=True)
class OverflowResult:
    """Steady state of two line groups with overflow; tuples are (group 1, group 2).

    Fields (index 0 = calls to / lines of group 1, index 1 = group 2):
        p_blocked: fraction of the group's own calls lost (own group full and overflow
            off or the other group full too).
        p_own: fraction answered by the group's own lines.
        p_other: fraction answered by the other group after overflowing.
        utilisation: E[busy lines of the group] / its number of lines.
        p_lost_total: fraction of all calls (both origins) lost.
    """

    p_blocked: tuple[float, float]
    p_own: tuple[float, float]
    p_other: tuple[float, float]
    utilisation: tuple[float, float]
    p_lost_total: float


def overflow_two_groups(
    lam1: float,
    lam2: float,
    mu: float,
    c1: int,
    c2: int,
    overflow_1_to_2: bool = True,
    overflow_2_to_1: bool = False,
) -> OverflowResult:
    """Two loss line groups with optional overflow in each direction (exact CTMC).

    Model: calls for group i arrive at rate ``lam_i``; a call finding group i with a
    free line is answered there; otherwise, if overflow from i to the other group is
    on and that group has a free line, it is answered there; otherwise it is lost (no
    queues, no redials). Talk time is exponential with rate ``mu`` whatever the origin
    or the answering group, so the state (k1, k2) of busy lines is Markov. By PASTA a
    group-i call sees the stationary distribution. Both directions on gives full
    availability: the total is Erlang B(c1 + c2, (lam1 + lam2) / mu); one direction
    only is the classic overflow (Kosten 1937, Wilkinson 1956) solved exactly.

    Args:
        lam1, lam2: arrival rates for group 1 and 2 (>= 0, not both 0).
        mu: service rate per line (> 0).
        c1, c2: numbers of lines (integers >= 1).
        overflow_1_to_2, overflow_2_to_1: overflow switches.

    Returns:
        OverflowResult; see its docstring.
    """
    lam1 = _check_rate("lam1", lam1, allow_zero=True)
    lam2 = _check_rate("lam2", lam2, allow_zero=True)
    if lam1 + lam2 == 0:
        raise ValueError("lam1 and lam2 must not both be 0")
    mu = _check_rate("mu", mu)
    c1 = _check_int("c1", c1, 1)
    c2 = _check_int("c2", c2, 1)
    o12, o21 = bool(overflow_1_to_2), bool(overflow_2_to_1)

    k1, k2 = (g.ravel() for g in np.meshgrid(np.arange(c1 + 1), np.arange(c2 + 1), indexing="ij"))
    n = k1.size

    def idx(a, b):
        return a * (c2 + 1) + b

    s = idx(k1, k2)
    free1, free2 = k1 < c1, k2 < c2
    moves = [
        (free1, idx(k1 + 1, k2), np.full(n, lam1)),
        (~free1 & free2 & o12, idx(k1, k2 + 1), np.full(n, lam1)),
        (free2, idx(k1, k2 + 1), np.full(n, lam2)),
        (~free2 & free1 & o21, idx(k1 + 1, k2), np.full(n, lam2)),
        (k1 > 0, idx(k1 - 1, k2), k1 * mu),
        (k2 > 0, idx(k1, k2 - 1), k2 * mu),
    ]
    src = np.concatenate([s[m] for m, _, _ in moves])
    dst = np.concatenate([d[m] for m, d, _ in moves])
    rate = np.concatenate([r[m].astype(float) for m, _, r in moves])
    pi = ctmc_stationary(_generator(n, src, dst, rate))

    p_own1, p_own2 = float(pi[free1].sum()), float(pi[free2].sum())
    p_other1 = float(pi[~free1 & free2].sum()) if o12 else 0.0
    p_other2 = float(pi[~free2 & free1].sum()) if o21 else 0.0
    pb1, pb2 = 1.0 - p_own1 - p_other1, 1.0 - p_own2 - p_other2
    return OverflowResult(
        p_blocked=(pb1, pb2),
        p_own=(p_own1, p_own2),
        p_other=(p_other1, p_other2),
        utilisation=(float(k1 @ pi) / c1, float(k2 @ pi) / c2),
        p_lost_total=(lam1 * pb1 + lam2 * pb2) / (lam1 + lam2),
    )


# ------------------------------------------------- counsellors away from the line


@dataclass(frozen=True)
class AvailabilityResult:
    """Steady state of a loss system whose counsellors are sometimes away.

    Fields:
        p_blocked: fraction of calls that find no line with an idle counsellor at it
            (busy tone), by PASTA the stationary P(busy + away >= c).
        mean_busy: E[lines in use] (calls, also those finishing while their counsellor
            is due away).
        mean_away: E[counsellors away].
        utilisation: mean_busy / c (busy share of the staffed lines).
        occupancy: E[min(busy, c - away)] / E[c - away]: busy share of the time
            counsellors are at the line, overruns into an away period left out (as the
            KPI ``occupancy`` in ``sim.results.capacity`` counts it).
    """

    p_blocked: float
    mean_busy: float
    mean_away: float
    utilisation: float
    occupancy: float


def availability_loss(lam: float, mu: float, c: int, alpha: float, beta: float) -> AvailabilityResult:
    """c staffed lines, no queue, counsellors alternating at the line and away (exact CTMC).

    Model (the semantics of ``sim.model.availability``): calls arrive at rate ``lam``
    and hold a line for an exponential time of rate ``mu``. Each of the c counsellors
    independently alternates exponential periods at the line (rate ``alpha`` of leaving)
    and away (rate ``beta`` of returning), whether or not they are on a call: an away
    period is counted from its due time, and a counsellor on a call then finishes it
    first (the call is not interrupted). A call is answered when fewer than c - a lines
    are busy (a = counsellors away), else it is lost. State (b, a): b busy lines
    (0..c), a counsellors away (0..c); b + a may exceed c while calls overrun.

    Args:
        lam: arrival rate (> 0); mu: service rate (> 0); c: staffed lines (>= 1);
        alpha: rate of leaving the line (> 0); beta: rate of coming back (> 0). The
            long-run share at the line is beta / (alpha + beta).

    Returns:
        AvailabilityResult; see its docstring.
    """
    lam = _check_rate("lam", lam)
    mu = _check_rate("mu", mu)
    c = _check_int("c", c, 1)
    alpha = _check_rate("alpha", alpha)
    beta = _check_rate("beta", beta)
    b, a = (g.ravel() for g in np.meshgrid(np.arange(c + 1), np.arange(c + 1), indexing="ij"))
    n = b.size

    def idx(i, j):
        return i * (c + 1) + j

    s = idx(b, a)
    can_answer = b + a < c
    moves = [
        (can_answer, idx(b + 1, a), np.full(n, lam)),
        (b > 0, idx(b - 1, a), b * mu),
        (a < c, idx(b, a + 1), (c - a) * alpha),
        (a > 0, idx(b, a - 1), a * beta),
    ]
    src = np.concatenate([s[m] for m, _, _ in moves])
    dst = np.concatenate([d[m] for m, d, _ in moves])
    rate = np.concatenate([r[m].astype(float) for m, _, r in moves])
    pi = ctmc_stationary(_generator(n, src, dst, rate))
    mean_busy, mean_away = float(b @ pi), float(a @ pi)
    at_line = c - mean_away
    return AvailabilityResult(
        p_blocked=float(pi[~can_answer].sum()),
        mean_busy=mean_busy,
        mean_away=mean_away,
        utilisation=mean_busy / c,
        occupancy=float(np.minimum(b, c - a) @ pi) / at_line if at_line > 0 else float("nan"),
    )


# ---------------------------------------------------------------- answering machine


@dataclass(frozen=True)
class AnsweringMachineResult:
    """Steady state of one line group with an answering machine and callbacks.

    Fields (fractions of fresh callers; rates per unit time; times in 1/rate units):
        p_busy_tone: fresh caller finds all lines busy.
        p_answered_direct: fresh caller is answered at once (= 1 - p_busy_tone).
        p_answered_callback: fresh caller is eventually reached by a callback
            (successful-callback throughput / lam).
        p_lost: fresh caller gets a busy tone and leaves no message (or finds the
            truncated mailbox full). direct + callback + lost = 1 in steady state.
        mean_mailbox: E[m], messages waiting in the mailbox (not under a callback).
        mean_pending_messages: E[m + k_fail], messages not yet answered, including
            those whose failed callback attempt is holding a line.
        mean_time_to_callback: mean time from leaving a message to the start of the
            successful callback (= mean_pending_messages / message rate, Little's
            law); NaN when no messages are left (p_message = 0).
        utilisation: E[busy lines, any use] / c.
        utilisation_failed_callbacks: E[lines held by failed callback attempts] / c.
        max_mailbox: truncation level of m + k_fail.
        truncation_mass: P(m + k_fail = max_mailbox).
    """

    p_busy_tone: float
    p_answered_direct: float
    p_answered_callback: float
    p_lost: float
    mean_mailbox: float
    mean_pending_messages: float
    mean_time_to_callback: float
    utilisation: float
    utilisation_failed_callbacks: float
    max_mailbox: int
    truncation_mass: float


def _mailbox_drift(c, lam, mu, p_msg, cb, p_ok, mu_fail) -> tuple[float, float]:
    """Message inflow and successful-callback outflow when the mailbox never empties.

    With pending messages n = m + k_fail as the level, the chain is a level-independent
    quasi-birth-death process above the boundary, with phase (k_ok, k_fail). It is
    positive recurrent iff the mean up-rate is below the mean down-rate under the
    stationary phase distribution pi* of the phase generator with callbacks always
    possible (Neuts 1981, "Matrix-Geometric Solutions in Stochastic Models", thm 3.1.1):
    lam p_message pi*(all busy) < callback_rate p_reach pi*(a line free).
    """
    ko, kf = np.meshgrid(np.arange(c + 1), np.arange(c + 1), indexing="ij")
    valid = ko + kf <= c
    lookup = np.full(ko.shape, -1, dtype=np.int64)
    lookup[valid] = np.arange(int(valid.sum()))
    ko, kf = ko[valid], kf[valid]
    n = ko.size
    s = np.arange(n)
    free = ko + kf < c

    def idx(a, b):
        return lookup[np.clip(a, 0, c), np.clip(b, 0, c)]

    moves = [
        (free, idx(ko + 1, kf), np.full(n, lam + cb * p_ok)),
        (free, idx(ko, kf + 1), np.full(n, cb * (1.0 - p_ok))),
        (ko > 0, idx(ko - 1, kf), ko * mu),
        (kf > 0, idx(ko, kf - 1), kf * mu_fail),
    ]
    src = np.concatenate([s[m] for m, _, _ in moves])
    dst = np.concatenate([d[m] for m, d, _ in moves])
    rate = np.concatenate([r[m].astype(float) for m, _, r in moves])
    pi = ctmc_stationary(_generator(n, src, dst, rate))
    return lam * p_msg * float(pi[~free].sum()), cb * p_ok * float(pi[free].sum())


def answering_machine(
    c: int,
    lam: float,
    mu: float,
    p_message: float,
    callback_rate: float,
    p_reach: float,
    *,
    mu_fail: float,
    max_mailbox: int | None = None,
    max_truncation_mass: float = _TRUNCATION_TOL,
) -> AnsweringMachineResult:
    """One line group, no queue, an answering machine and callbacks (exact CTMC).

    Model (the simulator's callback rule, so that it can reproduce these numbers):

    * Fresh calls arrive at rate ``lam``. One finding a free line is answered and
      holds it for an Exp(``mu``) time. One finding all ``c`` lines busy hears a busy
      tone and then leaves a message with a callable number with probability
      ``p_message``, otherwise leaves for good. There are no redials.
    * Messages wait in one mailbox (FIFO order is irrelevant here). Callback attempts
      are made only while at least one line is free and the mailbox is non-empty; in
      that situation the time to the next attempt is Exp(``callback_rate``): one
      attempt at a time for the whole group, not one per free line.
    * An attempt takes the message out of the mailbox and seizes a free line. With
      probability ``p_reach`` the caller is reached: the message is done and the line
      is held Exp(``mu``) like a direct call. Otherwise the line is held Exp(``mu_fail``)
      (ringing, voicemail) and the message then goes back into the mailbox; retries
      are unlimited.

    State (k_ok, k_fail, m): lines busy with answered calls (direct or callback, rate
    ``mu``), lines busy with failed attempts (rate ``mu_fail``), messages in the
    mailbox. k_ok + k_fail <= c. The chain is truncated at m + k_fail <= max_mailbox
    (messages left when that is reached are dropped and counted in ``p_lost``).

    Args:
        c: number of lines (integer >= 1).
        lam: fresh-call arrival rate (> 0).
        mu: service rate of an answered call (> 0).
        p_message: probability a blocked caller leaves a message, in [0, 1].
        callback_rate: rate of callback attempts while a line is free and the mailbox
            is non-empty (> 0).
        p_reach: probability a callback attempt reaches the caller, in [0, 1]; must be
            > 0 when p_message > 0 (else the mailbox never empties).
        mu_fail: 1 / mean line holding time of a failed attempt (> 0). No default: the
            value belongs in the scenario, not here.
        max_mailbox: truncation level (integer >= 1); None doubles it from 32 until
            the boundary probability is <= ``max_truncation_mass``.
            An unstable system (the mailbox would grow without bound; checked exactly,
            see ``_mailbox_drift``) raises ValueError whatever the truncation.
        max_truncation_mass: tolerated P(m + k_fail = max_mailbox), default 1e-8.

    Returns:
        AnsweringMachineResult. By PASTA p_busy_tone = P(k_ok + k_fail = c);
        p_answered_callback = callback_rate p_reach P(free line, m > 0) / lam;
        p_lost = [P(all busy) (1 - p_message) + P(all busy, boundary) p_message].
        The three are computed from different parts of the distribution, so their sum
        being 1 is a check of the solution (messages in = successful callbacks out).
    """
    c = _check_int("c", c, 1)
    lam = _check_rate("lam", lam)
    mu = _check_rate("mu", mu)
    p_msg = _check_prob("p_message", p_message)
    cb = _check_rate("callback_rate", callback_rate)
    p_ok = _check_prob("p_reach", p_reach)
    mu_fail = _check_rate("mu_fail", mu_fail)
    if p_msg > 0 and p_ok == 0:
        raise ValueError("p_reach must be > 0 when p_message > 0 (mailbox never empties)")
    if max_mailbox is not None:
        max_mailbox = _check_int("max_mailbox", max_mailbox, 1)
    tol = _check_prob("max_truncation_mass", max_truncation_mass)
    if p_msg > 0:
        msg_in, msg_out = _mailbox_drift(c, lam, mu, p_msg, cb, p_ok, mu_fail)
        if msg_in >= msg_out:
            raise ValueError(
                f"unstable: with a full mailbox, messages arrive at {msg_in:.4g} per unit "
                f"time but callbacks succeed at only {msg_out:.4g}"
            )

    def solve(m_top: int):
        ko, kf, m = np.meshgrid(
            np.arange(c + 1), np.arange(c + 1), np.arange(m_top + 1), indexing="ij"
        )
        valid = (ko + kf <= c) & (m + kf <= m_top)
        lookup = np.full(ko.shape, -1, dtype=np.int64)
        lookup[valid] = np.arange(int(valid.sum()))
        ko, kf, m = ko[valid], kf[valid], m[valid]
        n = ko.size

        def idx(a, b, d):
            # Clip so that out-of-range targets of masked-out moves index safely.
            return lookup[np.clip(a, 0, c), np.clip(b, 0, c), np.clip(d, 0, m_top)]

        s = np.arange(n)
        busy = ko + kf
        free, full = busy < c, busy == c
        room = m + kf < m_top
        moves = [
            (free, idx(ko + 1, kf, m), np.full(n, lam)),
            (full & room, idx(ko, kf, m + 1), np.full(n, lam * p_msg)),
            (free & (m > 0), idx(ko + 1, kf, m - 1), np.full(n, cb * p_ok)),
            (free & (m > 0), idx(ko, kf + 1, m - 1), np.full(n, cb * (1.0 - p_ok))),
            (ko > 0, idx(ko - 1, kf, m), ko * mu),
            (kf > 0, idx(ko, kf - 1, m + 1), kf * mu_fail),
        ]
        dst = np.concatenate([d[mask] for mask, d, _ in moves])
        if np.any(dst < 0):  # pragma: no cover - guards the state enumeration
            raise AssertionError("transition leaves the state space")
        src = np.concatenate([s[mask] for mask, _, _ in moves])
        rate = np.concatenate([r[mask].astype(float) for mask, _, r in moves])
        pi = ctmc_stationary(_generator(n, src, dst, rate))
        return n, m_top, pi, ko, kf, m, float(pi[~room].sum())

    _, m_top, pi, ko, kf, m, mass = _auto_truncate(solve, max_mailbox, 32, tol, "max_mailbox")
    busy = ko + kf
    full = busy == c
    p_full = float(pi[full].sum())
    p_full_boundary = float(pi[full & (m + kf == m_top)].sum())
    callback_ok_rate = cb * p_ok * float(pi[(busy < c) & (m > 0)].sum())
    message_rate = lam * p_msg * (p_full - p_full_boundary)
    mean_pending = float((m + kf) @ pi)
    return AnsweringMachineResult(
        p_busy_tone=p_full,
        p_answered_direct=1.0 - p_full,
        p_answered_callback=callback_ok_rate / lam,
        p_lost=p_full * (1.0 - p_msg) + p_full_boundary * p_msg,
        mean_mailbox=float(m @ pi),
        mean_pending_messages=mean_pending,
        mean_time_to_callback=mean_pending / message_rate if message_rate > 0 else math.nan,
        utilisation=float(busy @ pi) / c,
        utilisation_failed_callbacks=float(kf @ pi) / c,
        max_mailbox=m_top,
        truncation_mass=mass,
    )


# ------------------------------------------- answering machine with redials (issue 14)


@dataclass(frozen=True)
class AnsweringMachineRedialResult:
    """Steady state of one line group with redials, an answering machine and callbacks.

    Fields (per fresh caller unless said; rates per unit time):
        p_answered_direct: fresh caller is answered on a call (first try or a redial).
        p_answered_callback: fresh caller is reached by a callback.
        messages_per_caller: messages left per fresh caller (at most one each here).
        attempts_per_caller: call attempts (fresh + redials) per fresh caller.
        p_busy_attempt: fraction of attempts that get a busy tone.
        mean_orbit, mean_mailbox: E[callers waiting to redial], E[messages waiting].
        max_size: truncation level of the orbit and of the mailbox (m + k_fail).
        truncation_mass: probability of the truncation boundary.
    """

    p_answered_direct: float
    p_answered_callback: float
    messages_per_caller: float
    attempts_per_caller: float
    p_busy_attempt: float
    mean_orbit: float
    mean_mailbox: float
    max_size: int
    truncation_mass: float


def answering_machine_redials(
    c: int,
    lam: float,
    mu: float,
    p_message_first: float,
    p_message_redial: float,
    p_redial: float,
    redial_rate: float,
    callback_rate: float,
    p_reach: float,
    *,
    mu_fail: float,
    max_size: int | None = None,
    max_truncation_mass: float = _TRUNCATION_TOL,
) -> AnsweringMachineRedialResult:
    """One line group, no queue, redials, an answering machine and callbacks (exact CTMC).

    The model of :func:`answering_machine` with redials (as :func:`retrial_loss`): a
    caller who gets a busy tone leaves a message (with a callable number) with
    probability ``p_message_first`` on the first attempt and ``p_message_redial`` on a
    redial, and then waits for the callback without redialling; one who leaves no
    message redials with probability ``p_redial`` after an Exp(``redial_rate``) delay,
    otherwise leaves for good. ``p_message_redial = p_message_first`` is a message
    decision at every busy tone; ``p_message_redial = 0`` is the decision once per
    caller (a caller who declined at the first busy tone never leaves one). Callbacks
    as in :func:`answering_machine`: while a line is free and the mailbox is not empty,
    attempts come at rate ``callback_rate``; one reaches the caller with ``p_reach``
    (line held Exp(``mu``)), otherwise the line is held Exp(``mu_fail``) and the message
    goes back to the mailbox.

    State (k_ok, k_fail, j, m): lines busy with answered calls and with failed callback
    attempts, callers waiting to redial, messages in the mailbox; truncated at
    j <= max_size and m + k_fail <= max_size (a redialler or message that would pass
    it is lost). ``max_size`` None doubles it from 16 until the boundary probability is
    <= ``max_truncation_mass``.
    """
    c = _check_int("c", c, 1)
    lam, mu = _check_rate("lam", lam), _check_rate("mu", mu)
    p1, p2 = _check_prob("p_message_first", p_message_first), _check_prob("p_message_redial", p_message_redial)
    r = _check_prob("p_redial", p_redial)
    theta = _check_rate("redial_rate", redial_rate)
    cb, p_ok = _check_rate("callback_rate", callback_rate), _check_prob("p_reach", p_reach)
    mu_fail = _check_rate("mu_fail", mu_fail)
    if r >= 1:
        raise ValueError("p_redial must be < 1 (else callers who never get through redial forever)")
    if (p1 > 0 or p2 > 0) and p_ok == 0:
        raise ValueError("p_reach must be > 0 when messages are left (mailbox never empties)")
    if max_size is not None:
        max_size = _check_int("max_size", max_size, 1)
    tol = _check_prob("max_truncation_mass", max_truncation_mass)

    def solve(top: int):
        ko, kf, j, m = np.meshgrid(np.arange(c + 1), np.arange(c + 1), np.arange(top + 1),
                                   np.arange(top + 1), indexing="ij")
        valid = (ko + kf <= c) & (m + kf <= top)
        lookup = np.full(ko.shape, -1, dtype=np.int64)
        lookup[valid] = np.arange(int(valid.sum()))
        ko, kf, j, m = ko[valid], kf[valid], j[valid], m[valid]
        n = ko.size

        def idx(a, b, d, e):
            return lookup[np.clip(a, 0, c), np.clip(b, 0, c), np.clip(d, 0, top), np.clip(e, 0, top)]

        s = np.arange(n)
        busy = ko + kf
        free, full = busy < c, busy == c
        room = m + kf < top
        orbit_room = j < top
        moves = [
            (free, idx(ko + 1, kf, j, m), np.full(n, lam)),
            (full & room, idx(ko, kf, j, m + 1), np.full(n, lam * p1)),
            (full & orbit_room, idx(ko, kf, j + 1, m), np.full(n, lam * (1 - p1) * r)),
            (free & (j > 0), idx(ko + 1, kf, j - 1, m), j * theta),
            (full & (j > 0) & room, idx(ko, kf, j - 1, m + 1), j * theta * p2),
            (full & (j > 0), idx(ko, kf, j - 1, m), j * theta * (1 - p2) * (1 - r)),
            (full & (j > 0) & ~room, idx(ko, kf, j - 1, m), j * theta * p2),
            (free & (m > 0), idx(ko + 1, kf, j, m - 1), np.full(n, cb * p_ok)),
            (free & (m > 0), idx(ko, kf + 1, j, m - 1), np.full(n, cb * (1 - p_ok))),
            (ko > 0, idx(ko - 1, kf, j, m), ko * mu),
            (kf > 0, idx(ko, kf - 1, j, m + 1), kf * mu_fail),
        ]
        dst = np.concatenate([d[mask] for mask, d, _ in moves])
        if np.any(dst < 0):  # pragma: no cover - guards the state enumeration
            raise AssertionError("transition leaves the state space")
        src = np.concatenate([s[mask] for mask, _, _ in moves])
        rate = np.concatenate([np.asarray(x, float)[mask] for mask, _, x in moves])
        if n > _MAX_STATES:
            raise ValueError(f"max_size {top} needs {n} states; the system is probably unstable")
        pi = ctmc_stationary(_generator(n, src, dst, rate))
        boundary = float(pi[(j == top) | (m + kf == top)].sum())
        return n, top, pi, ko, kf, j, m, boundary

    _, top, pi, ko, kf, j, m, mass = _auto_truncate(solve, max_size, 16, tol, "max_size")
    free = (ko + kf) < c
    p_free = float(pi[free].sum())
    orbit_free, orbit_full = float((j * free) @ pi), float((j * ~free) @ pi)
    attempts = lam + theta * (orbit_free + orbit_full)
    return AnsweringMachineRedialResult(
        p_answered_direct=(lam * p_free + theta * orbit_free) / lam,
        p_answered_callback=cb * p_ok * float(pi[free & (m > 0)].sum()) / lam,
        messages_per_caller=(lam * p1 * (1 - p_free) + theta * p2 * orbit_full) / lam,
        attempts_per_caller=attempts / lam,
        p_busy_attempt=(lam * (1 - p_free) + theta * orbit_full) / attempts,
        mean_orbit=float(j @ pi),
        mean_mailbox=float(m @ pi),
        max_size=top,
        truncation_mass=mass,
    )
