"""Phone callers and every attribute they will need, drawn when they are created (habit 5)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.config import PROVINCES, Scenario
from sim.config.distributions import sampler
from sim.model.arrivals import channel_arrivals
from sim.model.calendar import closed_days, open_intervals
from sim.model.memo import MEMO, drawn_key
from sim.model.streams import Streams, stream_key


@dataclass(frozen=True)
class PhoneCallers:
    """Attributes of every phone caller of a replication, drawn up front (row = caller).

    Times in seconds. ``redial_u[i, k]`` is caller i's uniform draw for the decision
    after attempt k+1; ``retry_delay_s[i, k]`` the delay before attempt k+2 after a busy
    tone, ``closed_delay_s[i, k]`` after the closed message (counted from the opening).
    Streams are drawn whether or not a feature is switched on, so switching it on does
    not change any caller's other attributes.
    """

    arrival_at: np.ndarray
    home: np.ndarray
    option0: np.ndarray
    talk_s: np.ndarray
    wrap_s: np.ndarray
    patience_s: np.ndarray
    redial_u: np.ndarray
    retry_delay_s: np.ndarray
    closed_delay_s: np.ndarray
    route_u: np.ndarray  # (n, max_attempts): random tie-breaks of routing per attempt
    message_u: np.ndarray  # leaves a message after a busy tone if < message_probability
    number_u: np.ndarray  # the message has a usable number if < number_probability
    reach_u: np.ndarray  # (n, max_tries): callback try k reaches the caller
    failed_s: np.ndarray  # (n, max_tries): line time of a failed callback try
    spacing_s: np.ndarray  # (n, max_tries): wait before the next try after a failed one
    # (n, max_attempts): message decision after a busy tone on attempt k+1, and whether
    # that message has a number (answering_machine.decision: every_busy_tone).
    message_tone_u: np.ndarray
    number_tone_u: np.ndarray

    def __len__(self) -> int:
        return len(self.arrival_at)


# The phone settings :func:`draw_phone_callers` does NOT read: capacity (staffing,
# overflow, pooling, availability, the queue's capacity, option 0's routing) and the
# answering machine except the callback tries' count and durations. Scenarios that differ
# only there share their callers (:func:`phone_callers`). The key holds every other phone
# setting, so a setting added later is in it unless it is listed here: forgetting to list
# one costs sharing, never correctness (a wrong entry here would; tests check the list).
CAPACITY_ONLY = {"staffing": True, "overflow": True, "pooling": True, "availability": True,
                 "queue": {"capacity"}, "option0": {"routing"},
                 "answering_machine": {"enabled": True, "decision": True, "message_probability": True,
                                       "number_probability": True, "mailbox": True,
                                       "redial_after_message": True,
                                       "callbacks": {"policy", "idle_min", "target_delay_min",
                                                     "reach_probability", "reach_half_life_h",
                                                     "expire_after_h", "dedicated"}}}


def phone_callers(scn: Scenario, streams: Streams) -> PhoneCallers:
    """:func:`draw_phone_callers`, made once per process for every scenario with the same
    demand, horizon, calendar, phone settings but :data:`CAPACITY_ONLY`, seed and
    replication (:mod:`sim.model.memo`; its arrays read-only)."""
    k = drawn_key("phone_callers", streams, scn.horizon, scn.calendar, scn.demand.phone,
                  scn.phone.model_dump_json(exclude=CAPACITY_ONLY))
    return MEMO.get(k, lambda: draw_phone_callers(scn, streams))


def phone_opening(scn: Scenario):
    """The phone's open intervals over the horizon (without the tail): what its
    out-of-hours share and a repeat contact's day profile are spread against."""
    start, days = scn.horizon.start, scn.horizon.days
    return open_intervals(start, days, scn.phone.opening_hours, closed_days(start, days, scn.calendar))


def draw_phone_callers(scn: Scenario, streams: Streams) -> PhoneCallers:
    """New phone callers of the horizon and all their attributes."""
    phone = scn.phone
    opening = phone_opening(scn) if scn.demand.phone.out_of_hours_share is not None else None
    arrival_at = channel_arrivals(scn.demand.phone, scn.horizon.start, scn.horizon.days, streams,
                                  "phone", opening)
    n = len(arrival_at)
    shares = np.array([phone.province_shares[p] for p in PROVINCES], dtype=float)
    home = streams("caller.province").choice(len(PROVINCES), size=n, p=shares / shares.sum())
    option0 = streams("caller.option0").random(n) < phone.option0.probability
    # Per-attempt arrays only on the up-front path (needs_lazy_draws: drawn per caller).
    k = 0 if needs_lazy_draws(phone) else phone.redial.max_attempts
    cb = phone.answering_machine.callbacks
    patience = (
        sampler(phone.queue.patience_min)(streams("patience.phone"), n)
        if phone.queue.patience_min is not None
        else np.full(n, np.inf)
    )
    return PhoneCallers(
        arrival_at=arrival_at,
        home=home,
        option0=option0,
        talk_s=sampler(phone.talk_min)(streams("talk.phone"), n),
        wrap_s=sampler(phone.wrap_up_min)(streams("wrapup.phone"), n),
        patience_s=patience,
        redial_u=streams("redial.decision").random((n, k)),
        retry_delay_s=(sampler(phone.redial.delay_min)(streams("redial.delay"), n * k).reshape(n, k)
                       if k else np.zeros((n, 0))),
        closed_delay_s=sampler(phone.closed.delay_min)(streams("closed.delay"), n * k).reshape(n, k),
        route_u=streams("routing").random((n, k)),
        message_u=streams("message.leave").random(n),
        number_u=streams("message.number").random(n),
        reach_u=streams("callback.reach").random((n, cb.max_tries)),
        failed_s=sampler(cb.failed_min)(streams("callback.failed"), n * cb.max_tries).reshape(n, cb.max_tries),
        spacing_s=sampler(cb.retry_spacing_min)(streams("callback.spacing"), n * cb.max_tries).reshape(
            n, cb.max_tries),
        message_tone_u=streams("message.leave.tone").random((n, k)),
        number_tone_u=streams("message.number.tone").random((n, k)),
    )


def needs_lazy_draws(phone) -> bool:
    """Whether per-attempt values must be drawn per caller as needed (:class:`LazyDraws`):
    no attempt cap, attempt-dependent delays, later retries or repeat contacts. Otherwise
    the (n, max_attempts) arrays of :class:`PhoneCallers` are used, as always before."""
    r, cb = phone.redial, phone.callers
    return (r.max_attempts is None or isinstance(r.delay_min, list) or cb.later.enabled
            or cb.repeat.enabled)


def episode_stream(streams: Streams, purpose: str, number: int, repeat: int) -> np.random.Generator:
    """The random stream of one purpose for episode ``repeat`` of phone number ``number``.

    Seeded from (seed, replication, stable hash of ``purpose``, number, repeat), so the
    same caller gets the same draws under every staffing option (common random numbers),
    however many other callers there are or in which order their episodes end; creating
    one costs a few microseconds and holds no memory once the episode ends."""
    ss = np.random.SeedSequence(streams.seed, spawn_key=(streams.replication, stream_key(purpose),
                                                         int(number), int(repeat)))
    return np.random.Generator(np.random.PCG64(ss))


class ArrayDraws:
    """Per-attempt draws read from the up-front arrays (the path used when every new
    option is off: the same numbers as before those options existed)."""

    def __init__(self, c: PhoneCallers, beyond: LazyDraws | None = None):
        self.c, self.n = c, len(c)
        self.beyond = beyond  # episodes added during the run (chat visitors who phone)

    def route_u(self, i: int, k: int) -> float:
        if i >= self.n:
            return self.beyond.route_u(i, k)
        return float(self.c.route_u[i, k - 1])

    def block(self, i: int, k: int):
        """(redial u, quick-redial delay s, closed-retry delay s, later u, later delay s)
        for the decision after attempt ``k`` of episode ``i``."""
        if i >= self.n:
            return self.beyond.block(i, k)
        c = self.c
        # Python floats: the delays become SimPy's clock (numpy scalars are slower there);
        # ``item`` gives the same float as ``float(a[i, j])`` in one call (issue 16).
        return (c.redial_u.item(i, k - 1), c.retry_delay_s.item(i, k - 1),
                c.closed_delay_s.item(i, k - 1), 1.0, 0.0)

    def tone_u(self, i: int, k: int) -> tuple[float, float]:
        """(message u, number u) of the busy tone on attempt ``k`` of episode ``i``."""
        if i >= self.n:
            return self.beyond.tone_u(i, k)
        return float(self.c.message_tone_u[i, k - 1]), float(self.c.number_tone_u[i, k - 1])

    def done(self, i: int) -> None:
        if i >= self.n:
            self.beyond.done(i)


class LazyDraws:
    """Per-attempt draws made as attempts happen, from one stream per episode
    (:func:`episode_stream`, purpose ``caller.attempts``).

    Each attempt draws one fixed block, in a fixed order, whether or not each value is
    used: routing u, redial u, later-retry u, then the quick-redial delay (the
    attempt's own distribution), the closed-retry delay and the later-retry delay. So
    attempt k of an episode always gets the k-th block, and memory is one generator per
    episode in progress, whatever the attempt cap (``max_attempts: null`` is no cap).
    """

    def __init__(self, phone, streams: Streams, episode_key):
        self.streams = streams
        self.key = episode_key  # episode index -> (number, repeat)
        self._redial = phone.redial
        self._delays: dict[int, object] = {}  # samplers of the attempt-dependent delays
        self._closed = sampler(phone.closed.delay_min)
        self._later = sampler(phone.callers.later.delay_min)
        self._state: dict[int, list] = {}  # episode -> [rng, k, block]
        self._tones: dict[int, list] = {}  # episode -> [rng, k, (message u, number u)]

    def _delay_sampler(self, k: int):
        d = self._redial.delay_after(k)
        f = self._delays.get(id(d))
        if f is None:
            f = self._delays[id(d)] = sampler(d)
        return f

    def _block(self, i: int, k: int) -> tuple:
        st = self._state.get(i)
        if st is None:
            st = self._state[i] = [episode_stream(self.streams, "caller.attempts", *self.key(i)), 0, None]
        rng = st[0]
        while st[1] < k:
            u = rng.random(3)
            st[1] += 1
            st[2] = (float(u[0]), float(u[1]), float(u[2]),
                     float(self._delay_sampler(st[1])(rng, 1)[0]),
                     float(self._closed(rng, 1)[0]), float(self._later(rng, 1)[0]))
        return st[2]

    def route_u(self, i: int, k: int) -> float:
        return self._block(i, k)[0]

    def block(self, i: int, k: int):
        b = self._block(i, k)
        return b[1], b[3], b[4], b[2], b[5]

    def tone_u(self, i: int, k: int) -> tuple[float, float]:
        """(message u, number u) of the busy tone on attempt ``k`` of episode ``i``: from a
        stream of their own (purpose ``caller.tones``), two uniforms per attempt, so the
        message decision at every busy tone shifts none of the attempt blocks."""
        st = self._tones.get(i)
        if st is None:
            st = self._tones[i] = [episode_stream(self.streams, "caller.tones", *self.key(i)), 0, None]
        while st[1] < k:
            u = st[0].random(2)
            st[1] += 1
            st[2] = (float(u[0]), float(u[1]))
        return st[2]

    def done(self, i: int) -> None:
        self._state.pop(i, None)
        self._tones.pop(i, None)


class Rows:
    """A growable table read like the array it stands for: ``rows[i]`` or ``rows[i, k]``."""

    def __init__(self, rows: list):
        self.rows = rows

    def __getitem__(self, key):
        if isinstance(key, tuple):
            return self.rows[key[0]][key[1]]
        return self.rows[key]

    def append(self, row) -> None:
        self.rows.append(row)

    def __len__(self) -> int:
        return len(self.rows)


class Episodes:
    """Phone callers as episodes: the first ``n`` are the new callers of
    :class:`PhoneCallers` (episode 0 of numbers 0..n-1, same attributes); repeat
    contacts are appended by :meth:`add`. Read by the callback desk as it reads
    :class:`PhoneCallers` (``talk_s[i]``, ``reach_u[i, k]``, ...)."""

    def __init__(self, c: PhoneCallers, phone, streams: Streams):
        self.phone, self.streams = phone, streams
        n = len(c)
        self.number, self.repeat = list(range(n)), [0] * n
        for name in ("talk_s", "wrap_s", "patience_s", "message_u", "number_u", "reach_u",
                     "failed_s", "spacing_s"):
            setattr(self, name, Rows(getattr(c, name).tolist()))
        cb = phone.answering_machine.callbacks
        self._talk, self._wrap = sampler(phone.talk_min), sampler(phone.wrap_up_min)
        self._patience = sampler(phone.queue.patience_min) if phone.queue.patience_min is not None else None
        self._failed, self._spacing = sampler(cb.failed_min), sampler(cb.retry_spacing_min)
        self._tries = cb.max_tries

    def __len__(self) -> int:
        return len(self.number)

    def key(self, i: int) -> tuple[int, int]:
        """(phone number, repeat index) of episode ``i``."""
        return self.number[i], self.repeat[i]

    def add(self, number: int, repeat: int) -> int:
        """A new episode of ``number`` (its ``repeat``-th repeat); its own talk, wrap-up,
        patience, message and callback draws (stream ``caller.episode``). Returns its index."""
        rng = episode_stream(self.streams, "caller.episode", number, repeat)
        self.number.append(number)
        self.repeat.append(repeat)
        self.talk_s.append(float(self._talk(rng, 1)[0]))
        self.wrap_s.append(float(self._wrap(rng, 1)[0]))
        self.patience_s.append(float(self._patience(rng, 1)[0]) if self._patience else float("inf"))
        u = rng.random(2)
        self.message_u.append(float(u[0]))
        self.number_u.append(float(u[1]))
        m = self._tries
        self.reach_u.append(rng.random(m).tolist())
        self.failed_s.append(self._failed(rng, m).tolist())
        self.spacing_s.append(self._spacing(rng, m).tolist())
        return len(self.number) - 1


def switch_to(u: float, p_first: float, p_second: float) -> int:
    """Which channel someone who gave up tries next: 0 none, 1 the first-named channel
    (with ``p_first``), 2 the second (with ``p_second`` among those who do not take the
    first). One uniform draw ``u``: the first if ``u < p_first``, else the second if
    ``u < p_first + (1 - p_first) p_second``."""
    if u < p_first:
        return 1
    if u < p_first + (1.0 - p_first) * p_second:
        return 2
    return 0
