"""The e-mail channel: a 24/7 inbox, one FIFO backlog, e-mail handlers and blending.

How to run it in an existing ``simpy.Environment``. Alone::

    email = EmailChannel(env, scn.horizon, scn.calendar, scn.email, scn.demand.email, streams)
    email.start()         # registers the SimPy processes; call before env.run()
    env.run()
    emails = email.log.table()             # one row per e-mail
    handlers = email.handlers              # staffed e-mail handlers (StepFunction)

With blending (``scn.email.blending``), inside the phone model, after the phone line
groups (and the callback desk) exist, so that callers and callbacks come first::

    email = EmailChannel(self.env, scn.horizon, scn.calendar, scn.email, scn.demand.email,
                         streams, phone_groups=self.groups)
    email.start()

``env.run()`` without ``until`` terminates: the arrival process ends after the last
e-mail of the horizon; the shift process walks the finite list of the handlers'
staffing changes (to the end of the calendar, horizon + ``sim.model.calendar.TAIL_DAYS``);
each e-mail's journey ends when it is answered; and the dispatcher returns once every
e-mail has arrived and none is waiting. An e-mail that no one can take any more (the
calendar ran out) leaves its journey waiting on an event that never comes, which does
not keep ``env.run()`` going.

Principles as in :mod:`sim.model.helpline`: one generator per e-mail's journey
(:meth:`EmailChannel.email`), handling times drawn when the e-mails are created
(streams ``arrivals.email``, ``handling.email``), the model only records. Time is
seconds since the scenario start.

**Who handles an e-mail.** The oldest e-mail in the backlog goes to a free e-mail
handler if one is on duty (``staffing.handlers`` during ``staffing.hours``, on days
the helpline is open). With blending, and no handler free, it goes to a free phone line
of a province whose queue is empty (the line group's ``has_free_line()`` is False
while the phone is closed or every line is busy): the province with the most free
lines, ties broken round-robin (:func:`pick_phone_group`). The line is seized for the
handling time and released afterwards, so the phone model sees it as busy. Handlers
come before phone lines so that the phones stay free for callers. A handling started
before the end of a working day (or phone opening hours) is finished.

**States.** Each e-mail ends in exactly one state: ``answered`` (handling finished),
``in_handling`` (started, not finished: only if the run was stopped with ``until``) or
``pending`` (never started when the simulation ended, i.e. after the calendar tail).
Whether an e-mail was still open *at the horizon end* or at a month end is decided at
metric time from ``arrival_at`` and ``done_at`` (see :mod:`sim.results.channel_metrics`).
"""

from __future__ import annotations

import datetime as dt
import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import simpy

from sim.config import PROVINCES, CalendarConfig, ChannelDemand, Email, Horizon
from sim.config.distributions import sampler
from sim.model.arrivals import channel_arrivals
from sim.model.calendar import TAIL_DAYS, StepFunction, lines_over_time, shared_closed_days
from sim.model.fastpath import arrivals
from sim.model.memo import MEMO, drawn_key
from sim.model.streams import Streams
from sim.model.tail import staffed_until

# Final state of one e-mail (exactly one each).
ANSWERED = "answered"
IN_HANDLING = "in_handling"
PENDING = "pending"
EMAIL_OUTCOMES = (ANSWERED, IN_HANDLING, PENDING)

# Who handled it.
STAFF = "staff"  # an e-mail handler of Email.staffing
PHONE = "phone"  # a phone line (blending); the ``group`` column says which province
HANDLERS = (STAFF, PHONE)

EMAIL_COLUMNS = (
    "email", "arrival_at", "handling_s", "start_at", "done_at", "handler", "group", "outcome",
)  # fmt: skip


def pick_phone_group(free: Sequence[int], queued: Sequence[int], after: int) -> int | None:
    """Phone line group (province index) that takes the next e-mail, or None.

    ``free[g]``: free lines of group g now (0 while closed or fully busy);
    ``queued[g]``: callers waiting in its queue (a group with waiting callers serves
    them first and takes no e-mail). The group with the most free lines wins; ties go
    round-robin to the first tied group after ``after`` (the group that took the
    previous e-mail), so that e-mail work is spread over the provinces.
    """
    n = len(free)
    ok = [g for g in range(n) if free[g] > 0 and queued[g] == 0]
    if not ok:
        return None
    most = max(free[g] for g in ok)
    return min((g for g in ok if free[g] == most), key=lambda g: (g - after - 1) % n)


@dataclass(frozen=True)
class Emails:
    """Arrival instants and handling times (seconds) of every e-mail of a replication."""

    arrival_at: np.ndarray
    handling_s: np.ndarray

    def __len__(self) -> int:
        return len(self.arrival_at)


def draw_emails(
    demand: ChannelDemand, email: Email, start: dt.date, days: int, streams: Streams
) -> Emails:
    """New e-mails of ``days`` days from ``start`` (24/7) and their handling times."""
    arrival_at = channel_arrivals(demand, start, days, streams, "email")
    return Emails(
        arrival_at, sampler(email.handling_min)(streams("handling.email"), len(arrival_at))
    )


@dataclass
class EmailLog:
    """Append-only record of the e-mail channel: three kinds of event tuples.

    ``received``: (email, arrival_at, handling_s); ``started``: (email, start_at,
    handler, group) with group the province index of a phone line or -1;
    ``done``: (email, done_at). :meth:`table` joins them, one row per e-mail.
    """

    received: list[tuple] = field(default_factory=list)
    started: list[tuple] = field(default_factory=list)
    done: list[tuple] = field(default_factory=list)

    def receive(self, email, arrival_at, handling_s) -> None:
        self.received.append((email, arrival_at, handling_s))

    def start(self, email, start_at, handler, group) -> None:
        self.started.append((email, start_at, handler, group))

    def finish(self, email, done_at) -> None:
        self.done.append((email, done_at))

    def table(self) -> pd.DataFrame:
        """One row per e-mail (``EMAIL_COLUMNS``); NaN instants where not reached.

        ``province`` names the phone line group for ``handler == "phone"``.
        """
        rec = pd.DataFrame.from_records(
            self.received, columns=["email", "arrival_at", "handling_s"]
        )
        st = pd.DataFrame.from_records(
            self.started, columns=["email", "start_at", "handler", "group"]
        )
        dn = pd.DataFrame.from_records(self.done, columns=["email", "done_at"])
        df = rec.merge(st, on="email", how="left").merge(dn, on="email", how="left")
        df = df.astype(
            {
                "email": np.int64,
                "arrival_at": float,
                "handling_s": float,
                "start_at": float,
                "done_at": float,
            }
        )
        df["group"] = df["group"].fillna(-1).astype(np.int64)
        df["handler"] = pd.Categorical(df["handler"], HANDLERS)
        outcome = np.where(
            df["done_at"].notna(), ANSWERED, np.where(df["start_at"].notna(), IN_HANDLING, PENDING)
        )
        df["outcome"] = pd.Categorical(outcome, EMAIL_OUTCOMES)
        df = df[list(EMAIL_COLUMNS)]
        df["province"] = pd.Categorical.from_codes(df["group"].to_numpy(), PROVINCES)
        return df.sort_values("email", kind="stable").reset_index(drop=True)


class EmailChannel:
    """The e-mail channel of one replication, living in a given SimPy environment.

    Args:
        env: the environment (shared with the phone model, or its own).
        horizon: the scenario horizon; arrivals over ``horizon.days``, handlers' calendar
            over ``horizon.days + TAIL_DAYS``.
        calendar_cfg: closed days (handlers are off on them, as the phone is closed).
        email_cfg: :class:`sim.config.Email`.
        demand: e-mail demand (``ChannelDemand``), arriving 24/7.
        streams: the replication's named streams.
        log: an :class:`EmailLog` to fill (a new one by default).
        phone_groups: the phone ``LineGroup`` objects of :mod:`sim.model.helpline` (index =
            province); used only when ``email_cfg.blending`` is True, and then required.
    """

    def __init__(
        self,
        env: simpy.Environment,
        horizon: Horizon,
        calendar_cfg: CalendarConfig,
        email_cfg: Email,
        demand: ChannelDemand,
        streams: Streams,
        log: EmailLog | None = None,
        phone_groups: Sequence | None = None,
    ):
        if email_cfg.blending and not phone_groups:
            raise ValueError("e-mail blending needs the phone line groups (phone_groups=...)")
        self.env = env
        self.cfg = email_cfg
        self.log = log if log is not None else EmailLog()
        start, n_days = horizon.start, horizon.days + TAIL_DAYS
        closed = shared_closed_days(start, n_days, calendar_cfg)
        staffing = email_cfg.staffing
        self.handlers: StepFunction = lines_over_time(
            start, n_days, staffing.hours, closed, staffing.handlers
        )
        # The same e-mails for every scenario with this demand and handling time
        # (sim.model.memo): not drawn again when only capacity differs.
        self.emails = MEMO.get(
            drawn_key("emails", streams, demand, email_cfg.handling_min, start, horizon.days),
            lambda: draw_emails(demand, email_cfg, start, horizon.days, streams))
        self.groups = list(phone_groups) if email_cfg.blending else []
        self.staff_busy = 0
        self.backlog: deque[tuple[int, simpy.Event]] = deque()  # (email, started event)
        self._last_group = -1
        self._received = 0  # e-mails whose journey has begun
        self._wake: simpy.Event | None = None
        self.extra: list[float] = []  # handling (s) of e-mails switched in (issue 15)
        self._dispatching = False
        # For the end of the run's tail (sim.model.tail): e-mails answered, whether every
        # new e-mail has arrived, and who is told when one is answered (``on_end()``).
        self.answered = 0
        self.arrived = False
        self.on_end = None
        self._takers_until: float | None = None  # see settles_from

    def add(self, handling_s: float) -> int:
        """An e-mail written now by someone switched in from another channel; its index."""
        i = len(self.emails) + len(self.extra)
        self.extra.append(float(handling_s))
        self.env.process(self.email(i))
        if not self._dispatching:  # the dispatcher ended when the last e-mail was handed out
            self.env.process(self._dispatcher())
        return i

    def _handling(self, i: int) -> float:
        n = len(self.emails)
        return float(self.emails.handling_s[i]) if i < n else self.extra[i - n]

    def start(self) -> None:
        """Register the processes (and the phone-line listeners); call before ``env.run()``."""
        env = self.env
        env.process(self._arrivals())
        env.process(self._shifts())
        self._dispatching = True  # (set now: an e-mail switched in at time 0 finds it running)
        env.process(self._dispatcher())
        for g in self.groups:
            g.listen(self._line_changed)

    # --- one e-mail ---------------------------------------------------------------------

    def email(self, i: int):
        """One e-mail's journey: received, waits in the backlog, handled, answered."""
        env, log = self.env, self.log
        hold = self._handling(i)
        log.receive(i, env.now, hold)
        self._received += 1
        started = env.event()
        self.backlog.append((i, started))
        self._kick()
        handler, g = yield started
        log.start(i, env.now, handler, g)
        yield env.timeout(hold)
        log.finish(i, env.now)
        self.answered += 1
        if handler == STAFF:
            self.staff_busy -= 1
            self._kick()
        else:
            self.groups[g].release()  # notifies the listeners, including this channel
        if self.on_end is not None:
            self.on_end()

    def in_handling(self) -> int:
        """E-mails received and not answered that are not waiting in the backlog (being
        handled, or handed out a moment ago)."""
        return self._received - self.answered - len(self.backlog)

    def settles_from(self) -> float:
        """The instant from which no e-mail of the backlog can be started any more (no
        handler on duty nor, with blending, a phone line staffed from then on); -inf
        when the backlog is empty (sim.model.tail)."""
        if not self.backlog:
            return -math.inf
        if self._takers_until is None:
            self._takers_until = max([staffed_until(self.handlers)]
                                     + [staffed_until(g.lines) for g in self.groups])
        return self._takers_until

    # --- handing out work ---------------------------------------------------------------

    def _kick(self) -> None:
        if self._wake is not None and not self._wake.triggered:
            self._wake.succeed()

    def _line_changed(self, group) -> None:
        # A phone line was released or staffing rose. Decide in the dispatcher process,
        # not here: other listeners (the callback desk) and callers scheduled at this
        # instant act first, so e-mail only takes a line they leave free.
        self._kick()

    def _hand_out(self) -> None:
        """Start the oldest e-mails while a handler or (blending) a phone line is free."""
        now = self.env.now
        while self.backlog:
            i, started = self.backlog[0]
            if self.staff_busy < self.handlers(now):
                self.staff_busy += 1
                who = (STAFF, -1)
            elif self.groups:
                g = pick_phone_group(
                    [grp.free_lines() for grp in self.groups],
                    [len(grp.queue) for grp in self.groups],
                    self._last_group,
                )
                if g is None:
                    return
                self.groups[g].seize(self._handling(i))
                self._last_group = g
                who = (PHONE, g)
            else:
                return
            self.backlog.popleft()
            started.succeed(who)

    def _dispatcher(self):
        """Hand out work whenever something changed; ends when no e-mail can come."""
        self._dispatching = True
        while True:
            self._wake = self.env.event()
            self._hand_out()
            if self._received == len(self.emails) + len(self.extra) and not self.backlog:
                self._wake = None
                self._dispatching = False
                return
            yield self._wake

    def _arrivals(self):
        env = self.env
        # Python floats: SimPy's clock; without a process each (sim.model.fastpath).
        yield from arrivals(env, self.emails.arrival_at.tolist(), self.email)
        self.arrived = True
        if self.on_end is not None:
            self.on_end()

    def _shifts(self):
        """Handlers coming on duty take e-mails from the backlog."""
        env = self.env
        for t, v in zip(self.handlers.times.tolist(), self.handlers.values.tolist(), strict=True):
            if t > env.now:
                yield env.timeout(t - env.now)
            if v > 0:
                self._kick()
