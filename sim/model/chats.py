"""The chat channel: chat visitors, a pool of chat lines and its waiting queue.

How to run it in an existing ``simpy.Environment`` (for example ``Helpline.env``)::

    chat = ChatChannel(env, scn.horizon, scn.calendar, scn.chat, scn.demand.chat, streams)
    chat.start()          # registers the SimPy processes; call before env.run()
    env.run()             # terminates on its own: every process here is finite
    chats = chat.log.table()               # one row per chat visitor
    lines = chat.lines                     # staffed chat lines (StepFunction) for KPIs

``start()`` registers the arrival process (it ends after the last visitor of the
horizon), one journey per visitor, and the chat lines: a numbered
:class:`sim.model.lines.LineGroup`, the same queue and staffing mechanism as a
province's phone lines, whose staffing process walks the finite list of staffing
changes (it ends at the end of the calendar, the horizon plus
``sim.model.calendar.TAIL_DAYS``). So ``env.run()`` without ``until`` stops once the
last chat has ended and the calendar has run out, like the phone model.

Principles as in :mod:`sim.model.helpline`: one generator per visitor's journey
(:meth:`ChatChannel.visitor`), attributes drawn when the visitors are created from
named streams (``arrivals.chat``, ``duration.chat``, ``patience.chat``), the model
records one row per visitor and computes nothing. Time is seconds since the scenario
start; ``*_at`` are instants, ``*_s`` durations.

A visitor's story: outside the opening hours (or on a closed day) the chat is
``closed``. Otherwise a free line answers at once; if every line is busy the visitor
joins the FIFO queue if it has room (else ``blocked``) and waits until a line answers
(``answered``) or their patience runs out (``abandoned``). Visitors still waiting when
the chat closes are sent away (``closed_in_queue``; the chat window shows "we are
closed"): as for the phone, the line group sends its queue away when staffing falls to
zero, which is at closing (chat lines are zero exactly while the chat is closed, unless
a scenario staffs zero lines inside the opening hours; those visitors are sent away
too). The answering line is the lowest-numbered free one. A chat that is going on at closing time is finished, but a line freed after
closing starts no new chat, since no line is staffed while the chat is closed. Extra
lines (peaks) serve the queue at the moment they start.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import simpy

from sim.config import (
    CalendarConfig,
    ChannelDemand,
    Chat,
    Horizon,
)
from sim.config.distributions import sampler
from sim.model.arrivals import channel_arrivals
from sim.model.calendar import (
    TAIL_DAYS,
    OpenIntervals,
    StepFunction,
    lines_over_time,
    open_intervals,
    shared_closed_days,
)
from sim.model.fastpath import arrivals, timeout_or
from sim.model.lines import LineGroup
from sim.model.memo import MEMO, drawn_key
from sim.model.streams import Streams

# Outcome of one chat visitor (exactly one each).
ANSWERED = "answered"  # a chat line took the conversation (after waiting, if queued)
ABANDONED = "abandoned"  # left the queue when their patience ran out
BLOCKED = "blocked"  # every line busy and the queue full: turned away at once
CLOSED = "closed"  # came outside the opening hours (or on a closed day)
CLOSED_IN_QUEUE = "closed_in_queue"  # still waiting when the chat closed
CHAT_OUTCOMES = (ANSWERED, ABANDONED, BLOCKED, CLOSED, CLOSED_IN_QUEUE)

CHAT_COLUMNS = ("chat", "arrival_at", "outcome", "wait_s", "duration_s", "line")


# ---------------------------------------------------------------------------------------
# Visitors and the log
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChatVisitors:
    """Attributes of every chat visitor of a replication (row = visitor), in seconds."""

    arrival_at: np.ndarray
    duration_s: np.ndarray
    patience_s: np.ndarray

    def __len__(self) -> int:
        return len(self.arrival_at)


def draw_chat_visitors(
    demand: ChannelDemand, chat: Chat, start: dt.date, days: int, streams: Streams
) -> ChatVisitors:
    """New chat visitors of ``days`` days from ``start`` and their attributes."""
    arrival_at = channel_arrivals(demand, start, days, streams, "chat")
    n = len(arrival_at)
    return ChatVisitors(
        arrival_at=arrival_at,
        duration_s=sampler(chat.duration_min)(streams("duration.chat"), n),
        patience_s=sampler(chat.patience_min)(streams("patience.chat"), n),
    )


@dataclass
class ChatLog:
    """Append-only record: one tuple per chat visitor (``CHAT_COLUMNS``).

    ``wait_s`` is the time in the queue (answered, abandoned or sent away at closing;
    0 otherwise), ``duration_s`` the time the chat held a line (0 if not answered),
    ``line`` the index of the line that answered (-1 if none).
    """

    records: list[tuple] = field(default_factory=list)

    def chat(self, chat, arrival_at, outcome, wait_s, duration_s, line) -> None:
        self.records.append((chat, arrival_at, outcome, wait_s, duration_s, line))

    def table(self) -> pd.DataFrame:
        df = pd.DataFrame.from_records(self.records, columns=CHAT_COLUMNS)
        df = df.astype(
            {
                "chat": np.int64,
                "arrival_at": float,
                "wait_s": float,
                "duration_s": float,
                "line": np.int64,
            }
        )
        df["outcome"] = pd.Categorical(df["outcome"], CHAT_OUTCOMES)
        return df.sort_values("chat", kind="stable").reset_index(drop=True)


# ---------------------------------------------------------------------------------------
# The channel
# ---------------------------------------------------------------------------------------


class ChatChannel:
    """The chat channel of one replication, living in a given SimPy environment.

    Args:
        env: the environment (shared with the phone model, or its own).
        horizon: the scenario horizon; arrivals over ``horizon.days``, calendar over
            ``horizon.days + TAIL_DAYS``.
        calendar_cfg: closed days (Belgian public holidays closed, as for phone).
        chat_cfg: :class:`sim.config.Chat`.
        demand: chat demand (``ChannelDemand``).
        streams: the replication's named streams.
        log: a :class:`ChatLog` to fill (a new one by default).
    """

    def __init__(
        self,
        env: simpy.Environment,
        horizon: Horizon,
        calendar_cfg: CalendarConfig,
        chat_cfg: Chat,
        demand: ChannelDemand,
        streams: Streams,
        log: ChatLog | None = None,
    ):
        self.env = env
        self.cfg = chat_cfg
        self.log = log if log is not None else ChatLog()
        start, n_days = horizon.start, horizon.days + TAIL_DAYS
        closed = shared_closed_days(start, n_days, calendar_cfg)
        self.open: OpenIntervals = open_intervals(start, n_days, chat_cfg.opening_hours, closed)
        self.lines: StepFunction = lines_over_time(
            start,
            n_days,
            chat_cfg.opening_hours,
            closed,
            chat_cfg.staffing.lines,
            chat_cfg.staffing.extra,
        )
        # The same visitors for every scenario with this demand and these chat durations
        # and patience (sim.model.memo): not drawn again when only capacity differs.
        self.visitors = MEMO.get(
            drawn_key("chat_visitors", streams, demand, chat_cfg.duration_min, chat_cfg.patience_min,
                      start, horizon.days),
            lambda: draw_chat_visitors(demand, chat_cfg, start, horizon.days, streams))
        self.group: LineGroup | None = None  # the chat lines; made by start()
        # Visitors switched in from another channel (issue 15): (duration_s, patience_s)
        # of visitor len(visitors) + k; and who is told when a visitor leaves unanswered
        # (``on_unanswered(i, outcome)``; None: nobody, as before switching existed).
        self.extra: list[tuple[float, float]] = []
        self.on_unanswered = None
        # For the end of the run's tail (sim.model.tail): visitors whose journey is going
        # on, whether every new visitor has arrived, and who is told when a journey ends
        # (``on_end()``; None: nobody).
        self.active = 0
        self.arrived = False
        self.on_end = None

    def add(self, duration_s: float, patience_s: float) -> int:
        """A visitor switched in from another channel, arriving now; returns its index."""
        i = len(self.visitors) + len(self.extra)
        self.extra.append((float(duration_s), float(patience_s)))
        self.env.process(self._journey(i))
        return i

    def _attributes(self, i: int) -> tuple[float, float]:
        n = len(self.visitors)
        if i < n:
            return float(self.visitors.duration_s[i]), self.visitors.patience_s[i]
        return self.extra[i - n]

    def _unanswered(self, i: int, outcome: str) -> None:
        if self.on_unanswered is not None:
            self.on_unanswered(i, outcome)

    def start(self) -> None:
        """Register the processes; call once, before ``env.run()``."""
        self.env.process(self._arrivals())
        # The line group registers its staffing process here, after the arrivals, as the
        # chat's own staffing process did before the chat used LineGroup (same order of
        # simultaneous events, so the same results).
        self.group = LineGroup(self.env, 0, self.lines, self.cfg.queue_capacity, numbered=True)

    def _arrivals(self):
        env = self.env
        # Python floats: SimPy's clock; without a process each (sim.model.fastpath).
        yield from arrivals(env, self.visitors.arrival_at.tolist(), self._journey)
        self.arrived = True
        if self.on_end is not None:
            self.on_end()

    def _journey(self, i: int):
        """:meth:`visitor`, counted in ``active`` while it goes on."""
        self.active += 1
        yield from self.visitor(i)
        self.active -= 1
        if self.on_end is not None:
            self.on_end()

    def visitor(self, i: int):
        """One chat visitor's journey, from opening the chat window to its end."""
        env, log = self.env, self.log
        now = env.now
        if not self.open.is_open(now):
            log.chat(i, now, CLOSED, 0.0, 0.0, -1)
            self._unanswered(i, CLOSED)
            return
        grp = self.group
        wait = 0.0
        duration, patience = self._attributes(i)
        if grp.has_free_line() and not grp.queue:
            line = grp.seize(duration)
        elif len(grp.queue) < grp.queue_cap:
            served = env.event()
            entry = (served, duration)
            grp.queue.append(entry)
            yield timeout_or(env, patience, served)  # (= served | env.timeout(patience))
            wait = env.now - now
            if not served.triggered:
                grp.queue.remove(entry)
                log.chat(i, now, ABANDONED, wait, 0.0, -1)
                self._unanswered(i, ABANDONED)
                return
            if served.value == CLOSED_IN_QUEUE:  # staffing fell to zero: the chat closed
                log.chat(i, now, CLOSED_IN_QUEUE, wait, 0.0, -1)
                self._unanswered(i, CLOSED_IN_QUEUE)
                return
            line = served.value  # the number of the line that answered
        else:
            log.chat(i, now, BLOCKED, 0.0, 0.0, -1)
            self._unanswered(i, BLOCKED)
            return
        log.chat(i, now, ANSWERED, wait, duration, line)
        yield env.timeout(duration)
        grp.release(line)
