"""Fitting 2020 demand to the published answered contacts (seed 000).

The published monthly counts are *answered* (registered) contacts, not demand. This
module holds the pure pieces of the demand fit; :mod:`sim.cli.fit` runs the
simulations and writes the results.

**Demand model.** Per channel (phone, chat, e-mail) the scenario's
:class:`~sim.config.ChannelDemand`: a yearly level, flat month factors, the scenario's
weekday factors and hour profile (not observable: the registration system does not
record call times, seed 000 answer 2), a fixed trend and dated events (multiplier
``1 + amplitude * shape``). Free parameters (12, plus the dispersion):

* per channel: ``annual`` (new contacts a year without events), the first-lockdown
  ``lockdown_amplitude`` and its ``lockdown_decay_days``;
* shared by the three channels: ``campaign_feb_amplitude`` ('Als je eens wist', Feb
  2020), ``campaign_amplitude`` (the other dated campaigns) and ``lockdown2_amplitude``.

Profiled (whole days, one value for both lockdowns): the lag between a lockdown's start
and the demand response (seed 000 puts the peak in "april-juni 2020", not in March).

Fixed, because twelve monthly counts cannot identify them: the lockdown plateaus (the
lengths of the confinement phases of ``sim/data/lockdowns_belgium.csv``: 18 Mar - 3 May and
2 - 30 Nov 2020), the second lockdown's decay (the channel's first-lockdown decay), the
campaign decay (:data:`CAMPAIGN_DECAY_DAYS`; with monthly counts only ``amplitude x
decay`` is identified) and the trend (growth of the registered phone and e-mail
contacts 2017-2019, ``sim/data/contacts_yearly.csv``). Amplitudes are bounded at zero.

**Observations.** 36 monthly counts (phone, chat, e-mail) and the 429 contacts of 10-27
February 2020 (seed 004). The window lies inside February, so it enters as the
binomial share of the February contacts that fell in the window (Poisson splitting);
this uses the window without counting February twice.

**Answered = demand x answer probability.** The mean of an observed count is the
simulated answered count of the current demand ``A_n`` carried to other demand by a
local power law, ``mu = A_n (E / E_n) ** eps``: ``E`` is the demand model's expected
new contacts in the month, ``E_n`` its value in the last simulation and ``eps`` the
elasticity of answered contacts to demand (measured by simulation). With ``eps = 1``
this is the plain fixed point ``mu = E x p_answer`` (answer probability held fixed);
``eps < 1`` (busy lines answer a smaller share of extra demand) makes each step a
Newton step. :func:`fixed_point` alternates simulation and maximum likelihood until
the expected demand stops changing.

Counts: negative binomial with variance ``mu + phi mu^2`` (``phi`` shared by the
channels, a Pearson moment estimate: :func:`dispersion`) or Poisson. Uncertainty:
parametric bootstrap (resampled counts, refitted with the simulated response ``A_n,
E_n, eps`` and ``phi`` held fixed). docs/fit.md describes the whole procedure.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
from scipy import optimize, special

from sim import data
from sim.config import ChannelDemand, DemandEvent, Scenario
from sim.model.arrivals import _SUB, hourly_rate

CHANNELS: tuple[str, ...] = ("phone", "chat", "email")
N_MONTHS = 12
WINDOW = N_MONTHS  # column of the February campaign window in the (channel, bin) arrays
N_BINS = N_MONTHS + 1

# Campaign pulses decay as exp(-days / 7) after their last dated moment (assumption:
# media attention fades within one or two weeks). Not identifiable from monthly counts,
# where only amplitude x decay matters; the fit report profiles it (3-28 days).
CAMPAIGN_DECAY_DAYS = 7.0
# Bounds of the free parameters (natural scale).
DECAY_BOUNDS = (5.0, 3650.0)
# Amplitudes are not negative: lockdowns and campaigns raised contacts (seed 000: "een
# ongekende piek ... tijdens de eerste lockdown"; answer 6: every campaign "leidt ... tot
# een toename van het aantal oproepen").
AMPLITUDE_BOUNDS = (0.0, 30.0)
PHI_BOUNDS = (1e-6, 1.0)

CHANNEL_PARAMS = ("annual", "lockdown_amplitude", "lockdown_decay_days")
SHARED_PARAMS = ("campaign_feb_amplitude", "campaign_amplitude", "lockdown2_amplitude")
PARAM_NAMES: tuple[str, ...] = tuple(
    f"{c}.{p}" for c in CHANNELS for p in CHANNEL_PARAMS
) + SHARED_PARAMS


# ---------------------------------------------------------------------------------------
# What is fixed: dates, profiles, trend
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pulse:
    """A dated demand event whose shape is fixed (only its amplitude is fitted)."""

    name: str
    start: dt.date
    plateau_days: float
    decay_days: float


@dataclass(frozen=True)
class DemandSpec:
    """Everything of the demand model that is not fitted.

    ``weekday_factors`` and ``hour_profiles`` per channel (assumptions of the base
    scenario); ``lockdowns``: (name, start, plateau_days) of the first and second
    lockdown, as decided (``sim/data/lockdowns_belgium.csv``); ``lockdown_lag_days``: delay
    of the demand response after each lockdown's start (profiled by the fit, whole days:
    the event date in the scenario); ``feb_campaign`` and ``campaigns``: the pulses;
    ``window``: first and last day (inclusive) of the February 2020 campaign window.
    """

    start: dt.date
    n_days: int
    month_factors: dict[str, tuple[float, ...]]
    weekday_factors: dict[str, tuple[float, ...]]
    hour_profiles: dict[str, tuple[float, ...]]
    trend_per_year: float
    lockdowns: tuple[tuple[str, dt.date, float], tuple[str, dt.date, float]]
    feb_campaign: Pulse
    campaigns: tuple[Pulse, ...]
    window: tuple[dt.date, dt.date]
    lockdown_lag_days: int = 0

    def lockdown_events(self) -> list[tuple[str, dt.date, float]]:
        """(name, start of the demand response, plateau days) of both lockdowns."""
        lag = self.lockdown_lag_days
        return [(f"{n} (from {s:%d %b}, +{lag} days)" if lag else n, s + dt.timedelta(lag), p)
                for n, s, p in self.lockdowns]

    def months(self) -> list[str]:
        first = pd.Period(self.start, freq="M")
        return [str(first + k) for k in range(N_MONTHS)]


def trend_from_yearly(yearly: pd.DataFrame, channel: str = "phone_and_email",
                      years: tuple[int, int] = (2017, 2019)) -> float:
    """Yearly growth of registered contacts: least-squares slope of log counts.

    2020 is left out (lockdown and campaigns: what the fit explains) and so is chat
    (started in 2019). Registered contacts are capacity-limited, so this is a lower
    bound of the growth of demand.
    """
    y = yearly[(yearly["channel"] == channel) & yearly["year"].between(*years)]
    slope = np.polyfit(y["year"].to_numpy(float), np.log(y["contacts"].to_numpy(float)), 1)[0]
    return float(np.expm1(slope))


def _short(title: str, n: int = 48) -> str:
    """A campaign title short enough for an event name (the full title is in the data)."""
    return title if len(title) <= n else title[: n - 3].rsplit(" ", 1)[0] + "..."


def default_spec(base: Scenario, campaign_decay_days: float = CAMPAIGN_DECAY_DAYS,
                 trend_per_year: float | None = None, lockdown_lag_days: int = 0) -> DemandSpec:
    """The 2020 demand spec from ``sim/data/`` and the base scenario's profiles.

    Lockdowns: the ``lockdown`` phases of ``sim/data/lockdowns_belgium.csv`` (onset and
    plateau = the phase's length). Campaigns: every day-precision row of
    ``sim/data/campaigns.csv`` from 60 days before the horizon to its end. Those in February
    2020 ('Als je eens wist': broadcasts 11, 18, 25 Feb and the social-media spot from 11
    Feb) form one pulse, a plateau from the first to the last broadcast. Window: the
    press release's 10-27 February 2020 (``sim/data/campaign_feb2020.csv``).
    """
    start, n_days = base.horizon.start, base.horizon.days
    end = start + dt.timedelta(n_days - 1)
    ld = data.lockdowns()
    locks = []
    for name in ("first_lockdown", "second_lockdown"):
        row = ld[(ld["name"] == name) & (ld["phase"] == "lockdown")].iloc[0]
        s, e = row["start"].date(), row["end"].date()
        locks.append((name.replace("_", " "), s, float((e - s).days + 1)))
    camp = data.campaigns()
    camp = camp[(camp["precision"] == "day")
                & (camp["date"].dt.date >= start - dt.timedelta(60))
                & (camp["date"].dt.date <= end)]
    feb = camp[(camp["date"].dt.year == 2020) & (camp["date"].dt.month == 2)]
    others = camp.drop(feb.index)
    feb_start = feb["date"].min().date()
    feb_pulse = Pulse("Als je eens wist (Feb 2020)", feb_start,
                      float((feb["date"].max().date() - feb_start).days + 1), campaign_decay_days)
    pulses = tuple(
        Pulse(_short(str(r.title)), r.date.date(), 0.0, campaign_decay_days)
        for r in others.sort_values("date").itertuples()
    )
    w = data.campaign_feb2020()
    w = w[(w["quantity"] == "contacts") & (w["window_start"].dt.year == start.year)].iloc[0]
    if trend_per_year is None:
        trend_per_year = trend_from_yearly(data.yearly())
    dem = {c: getattr(base.demand, c) for c in CHANNELS}
    return DemandSpec(
        start=start,
        n_days=n_days,
        month_factors={c: tuple(dem[c].month_factors) for c in CHANNELS},
        weekday_factors={c: tuple(dem[c].weekday_factors) for c in CHANNELS},
        hour_profiles={c: tuple(dem[c].hour_profile) for c in CHANNELS},
        trend_per_year=float(trend_per_year),
        lockdowns=(locks[0], locks[1]),
        feb_campaign=feb_pulse,
        campaigns=pulses,
        window=(w["window_start"].date(), w["window_end"].date()),
        lockdown_lag_days=int(lockdown_lag_days),
    )


# ---------------------------------------------------------------------------------------
# Parameters <-> ChannelDemand
# ---------------------------------------------------------------------------------------


def to_channel_demand(params: dict[str, float], spec: DemandSpec, channel: str,
                      lockdowns: bool = True, campaigns: bool = True) -> ChannelDemand:
    """The scenario's ``demand.<channel>`` for fitted ``params`` (names in PARAM_NAMES).

    ``lockdowns=False`` / ``campaigns=False`` leave those events out (counterfactuals).
    """
    tau = params[f"{channel}.lockdown_decay_days"]
    events: list[DemandEvent] = []
    if lockdowns:
        amps = (params[f"{channel}.lockdown_amplitude"], params["lockdown2_amplitude"])
        for (name, start, plateau), amp in zip(spec.lockdown_events(), amps, strict=True):
            events.append(DemandEvent(name=name, kind="lockdown", start=start, amplitude=amp,
                                      plateau_days=plateau, decay_days=tau))
    if campaigns:
        pulses = [(spec.feb_campaign, params["campaign_feb_amplitude"])]
        pulses += [(p, params["campaign_amplitude"]) for p in spec.campaigns]
        for p, amp in pulses:
            events.append(DemandEvent(name=p.name, kind="campaign", start=p.start, amplitude=amp,
                                      plateau_days=p.plateau_days, decay_days=p.decay_days))
    return ChannelDemand(
        annual=params[f"{channel}.annual"],
        month_factors=list(spec.month_factors[channel]),
        weekday_factors=list(spec.weekday_factors[channel]),
        hour_profile=list(spec.hour_profiles[channel]),
        trend_per_year=spec.trend_per_year,
        events=sorted(events, key=lambda e: e.start),
    )


def shift_start(demand: ChannelDemand, old_start: dt.date, new_start: dt.date) -> ChannelDemand:
    """The same demand for a horizon starting on ``new_start`` instead of ``old_start``.

    The trend counts from the horizon start, so the level is carried along with it.
    """
    years = (new_start - old_start).days / 365.0
    return demand.model_copy(update={"annual": demand.annual * (1 + demand.trend_per_year) ** years})


def expected_counts(demand: ChannelDemand, start: dt.date, n_days: int,
                    bins: list[tuple[dt.date, dt.date]]) -> np.ndarray:
    """Expected new contacts in each date range ``[first, last]`` (inclusive) from the
    rate integral of :func:`sim.model.arrivals.hourly_rate` (the reference implementation)."""
    rate = hourly_rate(demand, start, n_days)
    out = []
    for first, last in bins:
        lo, hi = (first - start).days * 24, ((last - start).days + 1) * 24
        out.append(rate[max(lo, 0):max(hi, 0)].sum())
    return np.array(out)


def month_bins(spec: DemandSpec) -> list[tuple[dt.date, dt.date]]:
    """The 12 months of the horizon and the campaign window, as inclusive date ranges."""
    out = []
    for m in spec.months():
        p = pd.Period(m, freq="M")
        out.append((p.start_time.date(), p.end_time.date()))
    return out + [spec.window]


# ---------------------------------------------------------------------------------------
# The demand model on the arrival grid (fast, with gradients)
# ---------------------------------------------------------------------------------------


class Transform:
    """Free parameters <-> the optimiser's unbounded-ish vector ``z``.

    ``annual`` and decays on the log scale, amplitudes as ``log(1 + a)``.
    """

    names = PARAM_NAMES

    @staticmethod
    def kind(name: str) -> str:
        if name.endswith("annual") or name.endswith("decay_days"):
            return "log"
        return "log1p"

    @classmethod
    def to_z(cls, params: dict[str, float]) -> np.ndarray:
        return np.array([np.log(params[n]) if cls.kind(n) == "log" else np.log1p(params[n])
                         for n in cls.names])

    @classmethod
    def from_z(cls, z: np.ndarray) -> dict[str, float]:
        return {n: float(np.exp(v) if cls.kind(n) == "log" else np.expm1(v))
                for n, v in zip(cls.names, z, strict=True)}

    @classmethod
    def bounds(cls) -> list[tuple[float, float]]:
        out = []
        for n in cls.names:
            if n.endswith("annual"):
                out.append((np.log(1.0), np.log(1e6)))
            elif n.endswith("decay_days"):
                out.append(tuple(np.log(DECAY_BOUNDS)))
            else:
                out.append(tuple(np.log1p(AMPLITUDE_BOUNDS)))
        return out


def _shape(since: np.ndarray, plateau: float, tau: float) -> tuple[np.ndarray, np.ndarray]:
    """Event shape (0 before, 1 on the plateau, then exp decay) and d shape / d log tau."""
    past = np.maximum(since - plateau, 0.0)
    s = np.where(since >= 0, np.exp(-past / tau), 0.0)
    return s, s * past / tau


class DemandModel:
    """Expected new contacts per (channel, month + window) for a parameter vector.

    Works on the arrival grid of :func:`sim.model.arrivals.hourly_rate` (six points per hour,
    hour profile, weekday and month factors, trend), so ``expected(params)`` equals the
    rate integrals of the scenario built by :func:`to_channel_demand`, and returns the
    gradient with respect to the transformed parameters (:class:`Transform`). ``sub``
    points per hour other than six give a faster approximation (the bootstrap uses one:
    relative error about 1e-5).
    """

    def __init__(self, spec: DemandSpec, sub: int = _SUB):
        self.spec = spec
        n_h = spec.n_days * 24
        t = (np.arange(n_h)[:, None] + (np.arange(sub) + 0.5) / sub).ravel() / 24.0  # days
        day = (t // 1).astype(int)
        hour = np.repeat(np.arange(n_h) % 24, sub)
        dates = [spec.start + dt.timedelta(int(d)) for d in range(spec.n_days)]
        months = np.array([d.month - 1 for d in dates])
        wdays = np.array([d.weekday() for d in dates])
        trend = (1.0 + spec.trend_per_year) ** (t / 365.0)
        self.base = {}
        for c in CHANNELS:
            mf = np.asarray(spec.month_factors[c], float)
            wf = np.asarray(spec.weekday_factors[c], float)
            hf = np.asarray(spec.hour_profiles[c], float)
            mf, wf, hf = mf / mf.mean(), wf / wf.mean(), hf / hf.mean()
            per_day = mf[months] * wf[wdays] / 365.0
            self.base[c] = per_day[day] * hf[hour] / 24.0 / sub * trend
        # Bin boundaries on the grid (months are contiguous; so is the window).
        self.ranges = []
        for first, last in month_bins(spec):
            lo = max((first - spec.start).days, 0) * 24 * sub
            hi = min((last - spec.start).days + 1, spec.n_days) * 24 * sub
            self.ranges.append((lo, hi))
        starts = [lo for lo, _ in self.ranges[:N_MONTHS]]
        if starts[0] != 0 or self.ranges[N_MONTHS - 1][1] != len(t):
            raise ValueError("the horizon must be 12 whole months")
        self._month_starts = np.array(starts)
        self.t = t
        self.n_grid = len(t)
        self._month_ends = np.append(self._month_starts[1:], self.n_grid)
        # Events act only from their start: keep the grid from there on (slices).
        self.lock_lo, self.lock_since = [], []
        for _, s, _ in spec.lockdown_events():
            since = t - (s - spec.start).days
            lo = int(np.searchsorted(since, 0.0))
            self.lock_lo.append(lo)
            self.lock_since.append(since[lo:])
        self.lock_plateau = [p for _, _, p in spec.lockdowns]
        self.s_feb = self._pulse(spec.feb_campaign)
        self.s_camp = [self._pulse(p) for p in spec.campaigns]
        self._idx = {n: i for i, n in enumerate(PARAM_NAMES)}

    def _pulse(self, p: Pulse) -> tuple[int, int, np.ndarray]:
        """Grid slice ``[lo, hi)`` where a fixed-shape pulse is above 1e-15, and its shape."""
        since = self.t - (p.start - self.spec.start).days
        lo = int(np.searchsorted(since, 0.0))
        s = _shape(since[lo:], p.plateau_days, p.decay_days)[0]
        hi = lo + int(np.count_nonzero(s > 1e-15))
        return lo, hi, s[: hi - lo]

    def _binsum(self, x: np.ndarray, lo: int = 0) -> np.ndarray:
        """Sums over the 12 months and the window of ``x``, the grid from index ``lo``."""
        out = np.zeros(N_BINS)
        first = int(np.searchsorted(self._month_ends, lo, side="right"))
        out[first:N_MONTHS] = np.add.reduceat(x, np.maximum(self._month_starts[first:] - lo, 0))
        wlo, whi = self.ranges[WINDOW]
        out[WINDOW] = x[max(wlo - lo, 0):max(whi - lo, 0)].sum()
        return out

    def expected(self, params: dict[str, float], grad: bool = False):
        """``E`` (channels x 13 bins: 12 months, then the window) and, with ``grad``,
        ``dE/dz`` (channels x 13 x len(PARAM_NAMES))."""
        aF, aC, a2 = (params[n] for n in SHARED_PARAMS)
        shared = np.ones(self.n_grid)  # product of the campaign multipliers
        lo, hi, s = self.s_feb
        f_feb = 1.0 + aF * s
        shared[lo:hi] *= f_feb
        d_feb = np.zeros(self.n_grid)
        d_feb[lo:hi] = s / f_feb * (1 + aF)
        d_camp = np.zeros(self.n_grid)
        for lo, hi, s in self.s_camp:
            f = 1.0 + aC * s
            shared[lo:hi] *= f
            d_camp[lo:hi] += s / f
        d_camp *= 1 + aC
        (lo1, lo2), (since1, since2) = self.lock_lo, self.lock_since
        E = np.zeros((len(CHANNELS), N_BINS))
        G = np.zeros((len(CHANNELS), N_BINS, len(PARAM_NAMES))) if grad else None
        for ci, c in enumerate(CHANNELS):
            a1 = params[f"{c}.lockdown_amplitude"]
            tau = params[f"{c}.lockdown_decay_days"]
            s1, ds1 = _shape(since1, self.lock_plateau[0], tau)
            s2, ds2 = _shape(since2, self.lock_plateau[1], tau)
            f1, f2 = 1.0 + a1 * s1, 1.0 + a2 * s2
            w = params[f"{c}.annual"] * self.base[c] * shared
            w[lo1:] *= f1
            w[lo2:] *= f2
            E[ci] = self._binsum(w)
            if not grad:
                continue
            g_tau = self._binsum(w[lo1:] * (a1 * ds1 / f1), lo1)
            g_tau += self._binsum(w[lo2:] * (a2 * ds2 / f2), lo2)
            sums = (
                E[ci],
                self._binsum(w[lo1:] * s1 / f1 * (1 + a1), lo1),
                g_tau,
                self._binsum(w * d_feb),
                self._binsum(w * d_camp),
                self._binsum(w[lo2:] * s2 / f2 * (1 + a2), lo2),
            )
            cols = [self._idx[f"{c}.{p}"] for p in CHANNEL_PARAMS]
            cols += [self._idx[n] for n in SHARED_PARAMS]
            for k, col in enumerate(cols):
                G[ci, :, col] = sums[k]
        return (E, G) if grad else E


# ---------------------------------------------------------------------------------------
# Observations, response and likelihood
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Observations:
    """Published answered contacts: ``monthly`` (channels x 12) and the window count."""

    monthly: np.ndarray
    window: int
    months: tuple[str, ...]

    @property
    def feb_total(self) -> int:
        return int(self.monthly[:, 1].sum())


def observations(spec: DemandSpec) -> Observations:
    """The 2020 monthly table (seed 000) and the 10-27 Feb window (seed 004)."""
    df = data.monthly_2020()
    df = df.assign(month=df["month"].astype(str))
    months = spec.months()
    tab = df.pivot(index="channel", columns="month", values="contacts").reindex(columns=months)
    monthly = tab.loc[list(CHANNELS)].to_numpy(dtype=float)
    w = data.campaign_feb2020()
    w = w[(w["quantity"] == "contacts") & (w["window_start"].dt.date == spec.window[0])]
    return Observations(monthly=monthly, window=int(w["value"].iloc[0]), months=tuple(months))


@dataclass(frozen=True)
class Response:
    """Simulated answered contacts ``A`` at expected demand ``E`` and the elasticity
    ``eps`` of answered to demand (all channels x 13 bins). ``mu = A (E'/E) ** eps``."""

    A: np.ndarray
    E: np.ndarray
    eps: np.ndarray

    def mean(self, E_new: np.ndarray, dE: np.ndarray | None = None):
        ratio = E_new / self.E
        mu = self.A * ratio**self.eps
        if dE is None:
            return mu
        return mu, (self.eps * mu / E_new)[..., None] * dE

    @property
    def p_answer(self) -> np.ndarray:
        return self.A / self.E


def nb_logpmf(y: np.ndarray, mu: np.ndarray, phi: float) -> np.ndarray:
    """Negative binomial log probability, mean ``mu``, variance ``mu + phi mu^2``;
    ``phi = 0`` is Poisson."""
    y = np.asarray(y, float)
    if phi <= 0:
        return y * np.log(mu) - mu - special.gammaln(y + 1)
    r = 1.0 / phi
    return (special.gammaln(y + r) - special.gammaln(r) - special.gammaln(y + 1)
            + r * np.log(r / (r + mu)) + y * np.log(mu / (r + mu)))


def _nb_dmu(y, mu, phi):
    return (y - mu) / (mu * (1 + phi * mu))


def _nb_dlogphi(y, mu, phi):
    r = 1.0 / phi
    d_r = (special.digamma(y + r) - special.digamma(r) + np.log(r / (r + mu))
           + 1 - (r + y) / (r + mu))
    return -r * d_r


def loglik(z: np.ndarray, log_phi: float | None, model: DemandModel, resp: Response,
           obs: Observations, grad: bool = True):
    """Log-likelihood of the observations (and its gradient in ``z`` and ``log phi``).

    Monthly counts: negative binomial (Poisson if ``log_phi`` is None). Window: binomial
    share of the February contacts of all channels, ``pi = mu_window / mu_february``.
    """
    params = Transform.from_z(z)
    E, G = model.expected(params, grad=True)
    mu, dmu = resp.mean(E, G)
    phi = 0.0 if log_phi is None else float(np.exp(log_phi))
    y = obs.monthly
    m_mu, m_dmu = mu[:, :N_MONTHS], dmu[:, :N_MONTHS]
    ll = nb_logpmf(y, m_mu, phi).sum()
    g = np.einsum("cm,cmp->p", _nb_dmu(y, m_mu, phi), m_dmu)
    g_phi = float(_nb_dlogphi(y, m_mu, phi).sum()) if phi > 0 else 0.0
    # Window: binomial share of February.
    mu_w, mu_f = mu[:, WINDOW].sum(), mu[:, 1].sum()
    pi = mu_w / mu_f
    n, k = obs.feb_total, obs.window
    ll += k * np.log(pi) + (n - k) * np.log1p(-pi)
    dpi = (dmu[:, WINDOW].sum(0) - pi * dmu[:, 1].sum(0)) / mu_f
    g += (k / pi - (n - k) / (1 - pi)) * dpi
    if not grad:
        return ll
    return ll, g, g_phi


@dataclass
class FitResult:
    """Maximum-likelihood estimate: parameters, dispersion, fitted means, log-likelihood."""

    params: dict[str, float]
    phi: float
    loglik: float
    mu: np.ndarray  # channels x 13 (fitted answered; window column per channel)
    E: np.ndarray  # channels x 13 expected demand
    family: str
    success: bool
    message: str = ""
    z: np.ndarray = field(default=None, repr=False)

    @property
    def window_share(self) -> float:
        return float(self.mu[:, WINDOW].sum() / self.mu[:, 1].sum())


# Residual degrees of freedom of the monthly counts for the dispersion: 36 counts less
# 11 parameters (the February campaign amplitude is pinned down by the window count).
DF_MONTHLY = 3 * N_MONTHS - (len(PARAM_NAMES) - 1)


def dispersion(y: np.ndarray, mu: np.ndarray, df: float = DF_MONTHLY) -> float:
    """Moment estimate of ``phi``: the Pearson statistic with variance ``mu + phi mu^2``
    equals the residual degrees of freedom (0 when the counts are not overdispersed).

    Less biased than maximum likelihood with 36 counts and 12 parameters."""
    r2 = (y - mu) ** 2

    def excess(phi):
        return float((r2 / (mu + phi * mu**2)).sum() - df)

    if excess(0.0) <= 0:
        return 0.0
    if excess(PHI_BOUNDS[1]) >= 0:
        return PHI_BOUNDS[1]
    return float(optimize.brentq(excess, 0.0, PHI_BOUNDS[1], xtol=1e-9))


def _ml(model, resp, obs, z0, phi, maxiter):
    bounds = Transform.bounds()
    z0 = np.clip(z0, [b[0] for b in bounds], [b[1] for b in bounds])
    log_phi = np.log(phi) if phi > 0 else None

    def objective(z):
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            ll, g, _ = loglik(z, log_phi, model, resp, obs)
        if not np.isfinite(ll):
            return 1e12, np.zeros_like(z)
        return -ll, -g

    # SLSQP rather than L-BFGS-B: the latter's many tiny BLAS calls are slow when OpenBLAS
    # threads compete with the simulation processes.
    return optimize.minimize(objective, z0, jac=True, method="SLSQP", bounds=bounds,
                             options={"maxiter": maxiter, "ftol": 1e-10})


def fit(model: DemandModel, resp: Response, obs: Observations, start: dict[str, float],
        family: str = "negbin", phi: float | None = None, maxiter: int = 500) -> FitResult:
    """Maximum likelihood of the demand parameters (SLSQP, exact gradients).

    ``family="negbin"``: the dispersion ``phi`` is re-estimated by :func:`dispersion`
    between fits until it settles, unless ``phi`` is given (then held fixed, as in the
    bootstrap). ``family="poisson"``: ``phi = 0``.
    """
    z = Transform.to_z(start)
    fixed = family != "negbin" or phi is not None
    phi = 0.0 if family != "negbin" else (phi if phi is not None else 0.0)
    for _ in range(1 if fixed else 6):
        res = _ml(model, resp, obs, z, phi, maxiter)
        z = res.x
        if fixed:
            break
        mu = resp.mean(model.expected(Transform.from_z(z)))[:, :N_MONTHS]
        new = dispersion(obs.monthly, mu)
        done = abs(new - phi) <= 0.05 * max(phi, 1e-5)
        phi = new
        if done:
            break
    params = Transform.from_z(z)
    E = model.expected(params)
    ll = loglik(z, np.log(phi) if phi > 0 else None, model, resp, obs, grad=False)
    return FitResult(params=params, phi=phi, loglik=float(ll), mu=resp.mean(E), E=E,
                     family=family, success=bool(res.success), message=str(res.message), z=z)


# ---------------------------------------------------------------------------------------
# Uncertainty and goodness of fit
# ---------------------------------------------------------------------------------------


def simulate_counts(mu: np.ndarray, phi: float, feb_total_share: float,
                    rng: np.random.Generator) -> Observations:
    """Synthetic observations: monthly NB(mu, phi) counts; the window binomial from the
    simulated February total with probability ``feb_total_share``."""
    m = mu[:, :N_MONTHS]
    lam = rng.gamma(1.0 / phi, m * phi) if phi > 0 else m
    y = rng.poisson(lam).astype(float)
    window = int(rng.binomial(int(y[:, 1].sum()), feb_total_share))
    return Observations(monthly=y, window=window, months=())


def bootstrap(model: DemandModel, resp: Response, best: FitResult, n: int, seed: int,
              family: str | None = None, mapper: Callable | None = None,
              chunks: int = 1) -> pd.DataFrame:
    """Parametric bootstrap: ``n`` refits on counts simulated from the fitted model, with
    the response (``A, E, eps``) and ``phi`` held fixed in each refit (``phi`` of a
    sample is its moment estimate after the refit). One row per sample, one column per
    parameter (plus ``phi``).

    The samples are drawn first, in order, from one generator; the refits (which draw
    nothing) then run in ``chunks`` consecutive groups through ``mapper`` (``map`` of an
    executor, e.g. the fit's process pool; default the built-in ``map``), so the result
    is the same however they are spread."""
    rng = np.random.default_rng(seed)
    family = family or best.family
    samples = [simulate_counts(best.mu, best.phi, best.window_share, rng) for _ in range(n)]
    bounds = np.linspace(0, n, max(1, min(chunks, n)) + 1).round().astype(int)
    tasks = [(model, resp, best.params, best.phi, family, samples[lo:hi])
             for lo, hi in zip(bounds[:-1], bounds[1:], strict=True)]
    rows = [row for part in (mapper or map)(_refit_samples, tasks) for row in part]
    return pd.DataFrame(rows)


def _refit_samples(task: tuple) -> list[dict[str, float]]:
    """Refits of :func:`bootstrap` for a group of samples (module level: reaches pool
    workers)."""
    model, resp, params, phi0, family, samples = task
    rows = []
    for y in samples:
        f = fit(model, resp, y, params, family=family, phi=phi0)
        phi = dispersion(y.monthly, f.mu[:, :N_MONTHS]) if family == "negbin" else 0.0
        rows.append({**f.params, "phi": phi})
    return rows


def parameter_table(best: FitResult, boot: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """Estimate, bootstrap standard deviation and percentile interval per parameter."""
    a = (1 - level) / 2
    rows = []
    for name in (*PARAM_NAMES, "phi"):
        est = best.phi if name == "phi" else best.params[name]
        b = boot[name].to_numpy() if name in boot and len(boot) else np.array([np.nan])
        rows.append({"parameter": name, "estimate": est, "boot_sd": float(np.nanstd(b, ddof=1))
                     if len(b) > 1 else np.nan,
                     "ci_low": float(np.nanquantile(b, a)), "ci_high": float(np.nanquantile(b, 1 - a))})
    return pd.DataFrame(rows)


def goodness_of_fit(obs: Observations, mu: np.ndarray, phi: float, n_params: int) -> pd.DataFrame:
    """Per channel and overall: Poisson deviance, Pearson chi-square (Poisson and NB
    variance), mean absolute and root-mean-square relative error per month.

    ``df`` overall = 36 counts + window - parameters; per channel 12 - 3 own parameters
    (the 3 shared ones and phi are not divided among the channels).
    """
    y, m = obs.monthly, mu[:, :N_MONTHS]
    with np.errstate(divide="ignore", invalid="ignore"):
        dev = 2 * (np.where(y > 0, y * np.log(y / m), 0.0) - (y - m))
    pear = (y - m) ** 2 / m
    pear_nb = (y - m) ** 2 / (m + phi * m**2)
    rel = (m - y) / y
    rows = []
    for ci, c in enumerate(CHANNELS):
        rows.append({"channel": c, "n": N_MONTHS, "df": N_MONTHS - len(CHANNEL_PARAMS),
                     "deviance": dev[ci].sum(), "pearson": pear[ci].sum(),
                     "pearson_nb": pear_nb[ci].sum(),
                     "mean_abs_rel_error": np.abs(rel[ci]).mean(),
                     "rms_rel_error": np.sqrt((rel[ci] ** 2).mean()),
                     "total_observed": y[ci].sum(), "total_fitted": m[ci].sum()})
    pi = mu[:, WINDOW].sum() / mu[:, 1].sum()
    n, k = obs.feb_total, obs.window
    with np.errstate(divide="ignore", invalid="ignore"):
        dev_w = 2 * (k * np.log(k / (n * pi)) + (n - k) * np.log((n - k) / (n * (1 - pi))))
    rows.append({"channel": "window", "n": 1, "df": np.nan, "deviance": dev_w,
                 "pearson": (k - n * pi) ** 2 / (n * pi * (1 - pi)),
                 "pearson_nb": (k - n * pi) ** 2 / (n * pi * (1 - pi)),
                 "mean_abs_rel_error": abs(n * pi - k) / k, "rms_rel_error": abs(n * pi - k) / k,
                 "total_observed": k, "total_fitted": n * pi})
    tot = pd.DataFrame(rows)
    allrow = {"channel": "all", "n": 3 * N_MONTHS + 1, "df": 3 * N_MONTHS + 1 - n_params,
              "deviance": tot["deviance"].sum(), "pearson": tot["pearson"].sum(),
              "pearson_nb": tot["pearson_nb"].sum(),
              "mean_abs_rel_error": np.abs(rel).mean(), "rms_rel_error": np.sqrt((rel**2).mean()),
              "total_observed": y.sum(), "total_fitted": m.sum()}
    return pd.concat([tot, pd.DataFrame([allrow])], ignore_index=True)


# ---------------------------------------------------------------------------------------
# Fixed point: simulate <-> fit
# ---------------------------------------------------------------------------------------

EPS_BOUNDS = (0.1, 1.0)


def elasticity(A0: np.ndarray, E0: np.ndarray, A1: np.ndarray, E1: np.ndarray,
               fallback: np.ndarray | float = 1.0, min_step: float = 0.03) -> np.ndarray:
    """Elasticity of answered to demand per channel from two simulations, broadcast to
    the channel's 13 bins: the least-squares slope of ``dlog A`` on ``dlog E`` over the
    months where demand moved by at least ``min_step`` (log). Pooled over months because
    a single month's ratio is dominated by replication noise. Channels with fewer than
    three such months keep ``fallback``; clipped to :data:`EPS_BOUNDS`."""
    with np.errstate(divide="ignore", invalid="ignore"):
        dE = np.log(E1 / E0)[:, :N_MONTHS]
        dA = np.log(A1 / A0)[:, :N_MONTHS]
    out = np.broadcast_to(np.asarray(fallback, float), A0.shape).copy()
    for c in range(A0.shape[0]):
        ok = (np.abs(dE[c]) >= min_step) & np.isfinite(dA[c])
        if ok.sum() >= 3:
            out[c, :] = (dA[c, ok] * dE[c, ok]).sum() / (dE[c, ok] ** 2).sum()
    return np.clip(out, *EPS_BOUNDS)


@dataclass
class FixedPoint:
    """Result of :func:`fixed_point`: the last fit, the response it used and the trace."""

    fit: FitResult
    response: Response
    trace: pd.DataFrame
    converged: bool


def _sim(simulate, params) -> tuple[np.ndarray, np.ndarray]:
    out = simulate(params)
    if isinstance(out, tuple):
        return out
    return out, np.zeros(out.shape[0])


def fixed_point(simulate: Callable[[dict[str, float]], np.ndarray], model: DemandModel,
                obs: Observations, start: dict[str, float], max_iter: int = 6, tol: float = 0.01,
                eps: np.ndarray | None = None, probe: float = 1.2, family: str = "negbin",
                log: Callable[[str], None] = lambda s: None) -> FixedPoint:
    """Alternate simulation and maximum likelihood until demand stops changing.

    ``simulate(params)`` returns simulated answered contacts (channels x 13 bins) of the
    demand ``params``, or a pair of them and the standard error of each channel's yearly
    answered count over the replications. Without ``eps`` the elasticity is measured first by a probe
    simulation with every channel's level x ``probe``. Converged when the expected
    yearly demand of every channel moved less than ``tol`` (relative) in the last step
    (single months move more: they carry the replication noise of their own count).
    """
    params = dict(start)
    E = model.expected(params)
    A, se = _sim(simulate, params)
    if eps is None:
        probed = {**params, **{f"{c}.annual": params[f"{c}.annual"] * probe for c in CHANNELS}}
        Ep = model.expected(probed)
        eps = elasticity(A, E, _sim(simulate, probed)[0], Ep)
        log(f"elasticity of answered to demand: phone {eps[0, 0]:.2f}, chat {eps[1, 0]:.2f}, "
            f"e-mail {eps[2, 0]:.2f}")
    rows, result, converged = [], None, False
    for it in range(1, max_iter + 1):
        resp = Response(A=A, E=E, eps=eps)
        result = fit(model, resp, obs, params, family=family)
        yearly = np.log(result.E[:, :N_MONTHS].sum(1) / E[:, :N_MONTHS].sum(1))
        change = float(np.max(np.abs(yearly)))
        change_bins = float(np.max(np.abs(np.log(result.E / E))))
        # Demand change that the replication noise of the simulated yearly answered
        # counts alone would cause (two standard errors, through the elasticity).
        noise = 2 * se / (A[:, :N_MONTHS].sum(1) * eps[:, 0])
        pred = result.mu
        rows.append({"iteration": it, "max_rel_change_demand": change,
                     "max_rel_change_demand_month": change_bins,
                     "noise_demand": float(np.max(noise)), "loglik": result.loglik,
                     **{f"E_{c}": result.E[i, :N_MONTHS].sum() for i, c in enumerate(CHANNELS)},
                     **result.params, "phi": result.phi})
        log(f"iteration {it}: log-likelihood {result.loglik:.1f}, yearly demand moved up to "
            f"{change:.1%} (a month up to {change_bins:.1%}); phone "
            f"{result.params['phone.annual']:.0f}, chat {result.params['chat.annual']:.0f}, "
            f"e-mail {result.params['email.annual']:.0f}/yr")
        params = result.params
        if np.all(np.abs(yearly) <= np.maximum(tol, noise)):
            converged = True
            break
        if it == max_iter:
            break
        A_new, se = _sim(simulate, params)
        # Refine the elasticity where demand moved enough (secant), averaged with the old.
        eps = 0.5 * (eps + elasticity(A, E, A_new, result.E, fallback=eps))
        rows[-1]["max_rel_error_prediction"] = float(np.max(np.abs(A_new / pred - 1)[:, :N_MONTHS]))
        A, E = A_new, result.E
    return FixedPoint(fit=result, response=Response(A=A, E=E, eps=eps),
                      trace=pd.DataFrame(rows), converged=converged)


def profile_lag(spec: DemandSpec, resp: Response, obs: Observations, start: dict[str, float],
                lags, phi: float, family: str = "negbin") -> pd.DataFrame:
    """Refit for each lockdown response lag (days) with the simulated response and the
    dispersion held fixed: one row per lag with its log-likelihood and parameters."""
    rows = []
    for lag in lags:
        model = DemandModel(with_params(spec, lockdown_lag_days=int(lag)))
        f = fit(model, resp, obs, start, family=family, phi=phi if family == "negbin" else None)
        rows.append({"lockdown_lag_days": int(lag), "loglik": f.loglik, **f.params})
    out = pd.DataFrame(rows)
    out["delta_loglik"] = out["loglik"] - out["loglik"].max()
    return out


def with_params(spec: DemandSpec, **changes) -> DemandSpec:
    """A copy of ``spec`` with fields replaced (for profiles and sensitivity runs)."""
    return replace(spec, **changes)
