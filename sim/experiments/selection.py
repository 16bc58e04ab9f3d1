"""Ranking and selection: the Kim-Nelson fully sequential procedure KN (issue 16).

Selecting the best of ``k`` simulated systems (scenarios) on one KPI with an
*indifference zone* ``delta`` (in the KPI's units) and confidence ``1 - alpha``:

    Kim, S.-H. and Nelson, B. L. (2001), "A fully sequential procedure for
    indifference-zone selection in simulation", ACM Transactions on Modeling and
    Computer Simulation 11(3):251-273.

KN allows common random numbers: it works with the variances of the *pairwise
differences* ``X_ij - X_lj`` (replication ``j`` of systems ``i`` and ``l``), which CRN
makes small, and so screens options that are clearly worse after few replications and
spends more only on those close to the best.

The procedure (the paper's section 3, "higher is better"; "lower is better" negates
the observations):

1. Setup. ``n0 >= 2`` first-stage replications;
   ``eta = 0.5 * ((2 * alpha / (k - 1)) ** (-2 / (n0 - 1)) - 1)`` and
   ``h2 = 2 * eta * (n0 - 1)``.
2. Initialisation. ``n0`` replications of every system;
   ``S2_il = var(X_i - X_l)`` over them (divisor ``n0 - 1``); ``r = n0``; survivors ``I``
   = all systems.
3. Screening. With ``I_old = I``, keep ``i`` if
   ``mean_i(r) >= mean_l(r) - W_il(r)`` for every other ``l`` in ``I_old``, where
   ``W_il(r) = max(0, delta / (2 r) * (h2 * S2_il / delta**2 - r))``. Elimination is
   simultaneous (every test at stage ``r`` uses ``I_old``), so it does not depend on the
   order of the systems.
4. Stopping. One survivor: it is selected. Otherwise one more replication of every
   survivor, ``r = r + 1``, back to 3.

Every ``W_il`` is zero once ``r >= h2 * S2_il / delta**2``, so the procedure ends by stage
``N + 1`` with ``N = max floor(h2 * S2_il / delta**2)``: survivors then have exactly equal
means (identical systems on this KPI, e.g. two options that differ only in chat lines,
judged on a phone KPI), and the paper breaks the tie arbitrarily (here: the first given;
the tie is reported). A cap ``max_reps`` (a planner's budget) can stop it earlier; it
then reports the survivors instead of a selection ("not settled").

**Guarantee** (the paper's theorem 1): if the observations are normal (any variances,
any correlation across systems, e.g. CRN) and the best mean exceeds every other by at
least ``delta``, the best is selected with probability at least ``1 - alpha``. Options
within ``delta`` of the best count as equally good: the indifference zone is the
difference the planner does not care about. The guarantee is for the uncapped
procedure; a capped run that stops with one survivor keeps it, one stopped by the cap
claims nothing beyond "these remain".

Observations come in batches (``b`` replications of every survivor, so a pool of
workers stays busy); the rule is checked at every stage ``r`` inside a batch, so the
decision and the stage at which each system is eliminated are the same for any batch
size (only the replications simulated beyond an elimination are wasted). Pure: no
simulation, no randomness.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np


def kn_constants(k: int, alpha: float, n0: int) -> tuple[float, float]:
    """``(eta, h2)`` of KN for ``k`` systems, confidence ``1 - alpha`` and ``n0`` first-stage
    replications (Kim and Nelson 2001, section 3)."""
    if k < 2:
        raise ValueError(f"selection needs at least 2 systems (got {k})")
    if n0 < 2:
        raise ValueError(f"n0 must be at least 2: the first stage estimates variances (got {n0})")
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must lie in (0, 1) (got {alpha})")
    eta = 0.5 * ((2.0 * alpha / (k - 1)) ** (-2.0 / (n0 - 1)) - 1.0)
    return eta, 2.0 * eta * (n0 - 1)


@dataclass(frozen=True)
class Selection:
    """The state or outcome of a KN run.

    ``settled``: one system is selected with KN's guarantee (``selected``; ``tied``
    lists systems with exactly the same mean that it was chosen among, first given
    first). ``done`` without ``settled``: stopped by ``max_reps`` with ``survivors``.
    ``used``: replications each system took part in (its stage at elimination, or the
    last stage for survivors); ``means``: its mean over them (in the KPI's units).
    """

    names: tuple[str, ...]
    survivors: tuple[str, ...]
    done: bool
    settled: bool
    selected: str | None
    tied: tuple[str, ...]
    stage: int
    used: dict[str, int]
    eliminated_at: dict[str, int]
    means: dict[str, float]
    delta: float
    alpha: float
    n0: int
    max_reps: int | None
    higher_better: bool
    eta: float
    h2: float

    def guarantee(self, fmt: str = "{:g}") -> str:
        """The sentence a planner reads: what is claimed, at which confidence."""
        d, conf = fmt.format(self.delta), f"{1 - self.alpha:.0%}"
        if self.settled:
            return (f"the selected option is the best, or within {d} of the best, with probability "
                    f"at least {conf} under the KN assumptions (normal differences; Kim and Nelson "
                    f"2001: the best is selected with probability >= {conf} whenever it leads every "
                    f"other option by at least {d})")
        if self.done:
            return (f"not settled within {self.max_reps} replications: these remain within the "
                    f"indifference zone ({d}) of each other at {conf}: {', '.join(self.survivors)}")
        return f"running: stage {self.stage}, {len(self.survivors)} of {len(self.names)} options remain"


class KN:
    """The KN procedure as a state machine fed with observations.

    ``names``: the systems, in a fixed order (ties are broken by it); ``delta`` > 0 the
    indifference zone in the KPI's units; ``higher_better``: whether a larger KPI is
    better. Feed :meth:`add` with ``wanted(batch)`` new observations of every survivor
    until :attr:`done`; :meth:`state` says who survives.
    """

    def __init__(self, names: Sequence[str], delta: float, alpha: float = 0.05, n0: int = 5,
                 max_reps: int | None = None, higher_better: bool = True):
        names = tuple(names)
        if len(set(names)) != len(names):
            raise ValueError(f"system names must differ: {list(names)}")
        if not (delta > 0 and math.isfinite(delta)):
            raise ValueError(f"delta (the indifference zone) must be a number > 0 (got {delta})")
        self.eta, self.h2 = kn_constants(len(names), alpha, n0)
        if max_reps is not None and max_reps < n0:
            raise ValueError(f"max_reps must be at least n0 = {n0} (got {max_reps})")
        self.names, self.delta, self.alpha, self.n0 = names, float(delta), float(alpha), n0
        self.max_reps, self.higher_better = max_reps, higher_better
        self._sign = 1.0 if higher_better else -1.0
        self._obs: dict[str, list[float]] = {n: [] for n in names}
        self._alive: list[str] = list(names)
        self._out: dict[str, int] = {}  # name -> stage r at which it was eliminated
        self._s2: np.ndarray | None = None  # S2_il of the first stage, in the order of names
        self.stage = 0  # last stage r screened (0: first stage not complete)
        self._done = False
        self._tied: tuple[str, ...] = ()

    # -- feeding ---------------------------------------------------------------------

    @property
    def survivors(self) -> tuple[str, ...]:
        return tuple(self._alive)

    @property
    def done(self) -> bool:
        return self._done

    @property
    def observed(self) -> int:
        """Observations held of every survivor (the next stage is ``observed + 1``)."""
        return len(self._obs[self._alive[0]])

    def wanted(self, batch: int = 1) -> int:
        """How many new observations of every survivor the next :meth:`add` takes: the
        rest of the first stage, then ``batch`` (at least 1), never past ``max_reps``
        (0 when done)."""
        if self._done:
            return 0
        have = self.observed
        if have < self.n0:
            return self.n0 - have
        n = max(1, int(batch))
        return n if self.max_reps is None else min(n, self.max_reps - have)

    def add(self, obs: Mapping[str, Sequence[float]]) -> tuple[str, ...]:
        """New observations (replications in order, the same count for every survivor;
        those of eliminated systems are ignored). Screens at every new stage and returns
        the survivors."""
        if self._done:
            raise ValueError("the selection has stopped; it takes no more observations")
        counts = set()
        for n in self._alive:
            if n not in obs:
                raise ValueError(f"observations of surviving system {n!r} missing")
            x = np.asarray(obs[n], dtype=float).ravel()
            if not np.all(np.isfinite(x)):
                raise ValueError(f"observations of {n!r} must be finite numbers")
            counts.add(len(x))
        if len(counts) != 1:
            raise ValueError(f"every survivor needs the same number of new observations (got {sorted(counts)})")
        have = self.observed
        new = counts.pop()
        if self.max_reps is not None and have + new > self.max_reps:
            raise ValueError(f"{have + new} observations exceed max_reps = {self.max_reps}")
        for n in self._alive:
            self._obs[n].extend(float(v) for v in np.asarray(obs[n], dtype=float).ravel())
        total = have + new
        if self._s2 is None and total >= self.n0:
            self._first_stage()
        r = max(self.stage + 1, self.n0)
        while not self._done and r <= total:
            self._screen(r)
            r += 1
        return self.survivors

    # -- the procedure ---------------------------------------------------------------

    def _first_stage(self) -> None:
        """S2_il: variance of the differences over the first n0 observations (n0 - 1 divisor)."""
        x = np.array([self._obs[n][: self.n0] for n in self.names])  # k x n0
        d = x[:, None, :] - x[None, :, :]
        self._s2 = d.var(axis=2, ddof=1)

    def _screen(self, r: int) -> None:
        """Stage ``r``: simultaneous elimination against the survivors ``I_old``."""
        idx = {n: i for i, n in enumerate(self.names)}
        old = list(self._alive)
        ii = np.array([idx[n] for n in old])
        xbar = self._sign * np.array([np.mean(self._obs[n][:r]) for n in old])
        s2 = self._s2[np.ix_(ii, ii)]
        w = np.maximum(0.0, self.delta / (2.0 * r) * (self.h2 * s2 / self.delta ** 2 - r))
        # keep i iff xbar_i >= xbar_l - W_il for every l != i (W_ii = 0 and xbar_i >= xbar_i)
        keep = np.all(xbar[:, None] >= xbar[None, :] - w, axis=1)
        self._alive = [n for n, k in zip(old, keep, strict=True) if k]
        for n, k in zip(old, keep, strict=True):
            if not k:
                self._out[n] = r
        self.stage = r
        if len(self._alive) == 1:
            self._done = True
        elif not np.any(w[np.ix_(keep, keep)] > 0):
            # Every W is zero: the survivors' means are exactly equal (KN ends here, by
            # stage N + 1; the paper breaks such ties arbitrarily: the first given).
            self._tied = tuple(self._alive)
            self._done = True
        elif self.max_reps is not None and r >= self.max_reps:
            self._done = True

    # -- reading ---------------------------------------------------------------------

    def state(self) -> Selection:
        settled = self._done and (len(self._alive) == 1 or bool(self._tied))
        used = {n: self._out.get(n, self.stage) for n in self.names}
        means = {n: (float(np.mean(self._obs[n][:used[n]])) if used[n] else float("nan"))
                 for n in self.names}
        return Selection(
            names=self.names, survivors=self.survivors, done=self._done, settled=settled,
            selected=self._alive[0] if settled else None, tied=self._tied, stage=self.stage,
            used=used, eliminated_at=dict(self._out), means=means, delta=self.delta,
            alpha=self.alpha, n0=self.n0, max_reps=self.max_reps, higher_better=self.higher_better,
            eta=self.eta, h2=self.h2)


def select(obs: Mapping[str, Sequence[float]], delta: float, alpha: float = 0.05, n0: int = 5,
           max_reps: int | None = None, higher_better: bool = True, batch: int = 1) -> Selection:
    """KN on observations already at hand (``obs[name][j]``: replication ``j``), fed in
    batches of ``batch``; it uses only as many as it needs. Stops with the survivors
    when the observations run out (or at ``max_reps``)."""
    kn = KN(list(obs), delta, alpha, n0, max_reps, higher_better)
    arrays = {n: np.asarray(v, dtype=float) for n, v in obs.items()}
    have = min(len(v) for v in arrays.values())
    while not kn.done:
        r = kn.observed
        n = min(kn.wanted(batch), have - r)
        if n <= 0:
            break
        kn.add({s: arrays[s][r:r + n] for s in kn.survivors})
    return kn.state()
