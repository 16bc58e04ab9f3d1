"""What the model records, and the tables built from it.

The model only appends plain tuples here; it keeps no running statistics. Tables:

- ``attempts``: one row per call attempt (who, when, which line group, outcome, wait and
  line-holding times). Instants end in ``_at``, durations in ``_s`` (seconds).
- ``callers``: one row per caller (attributes drawn at creation, how the journey ended).
- ``messages``: one row per answering-machine message, with its final state.
- ``callbacks``: one row per callback try (line time, whether the caller was reached).
- ``away``: one row per change of a phone line group's counsellors away
  (``sim.model.availability``; only when ``phone.availability`` is on).
- ``chats`` and ``emails``: the chat and e-mail channels' own logs (``sim.model.chats``,
  ``sim.model.emails``), one row per chat visitor and per e-mail.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sim.config import PROVINCES
from sim.model.chats import ChatLog
from sim.model.emails import EmailLog
from sim.model.lines import ANSWERED, CLOSED_IN_QUEUE

# Outcome of one attempt.
# ANSWERED: reached a counsellor (after waiting, if there is a queue);
# CLOSED_IN_QUEUE: still waiting when the lines closed (sim.model.lines defines both).
BUSY = "busy"  # all lines busy and no room to wait: busy tone
CLOSED = "closed"  # outside opening hours: the closed message
ABANDONED = "abandoned"  # hung up while waiting in the queue
ATTEMPT_OUTCOMES = (ANSWERED, BUSY, CLOSED, ABANDONED, CLOSED_IN_QUEUE)

# How a caller's journey ended (exactly one per caller).
END_ANSWERED = "answered"
END_CALLBACK = "answered_callback"  # reached by a callback after leaving a message
END_GAVE_UP = "gave_up"  # decided not to try again after a failed attempt
END_MAX_ATTEMPTS = "max_attempts"  # would have tried again but reached the maximum
END_NO_OPENING = "no_opening"  # wanted to retry but the calendar has no later opening
CALLER_ENDS = (END_ANSWERED, END_CALLBACK, END_GAVE_UP, END_MAX_ATTEMPTS, END_NO_OPENING)

ATTEMPT_COLUMNS = (
    "caller", "attempt", "at", "dialled", "group", "outcome", "wait_s", "talk_s", "hold_s",
)  # fmt: skip
MESSAGE_COLUMNS = ("message", "caller", "group", "left_at", "state", "resolved_at", "tries")
CALLBACK_COLUMNS = ("message", "caller", "try_", "at", "group", "reached", "hold_s")
# IVR choices: the provinces, then option 0.
DIALLED = (*PROVINCES, "option 0")
CALLER_COLUMNS = ("caller", "arrival_at", "home", "option0", "end", "attempts", "end_at")
# From ``at`` on: ``in_block`` counsellors in a scheduled block (10**6: all), and bit k of
# ``away_mask`` set while line slot k's counsellor is away (sim.model.availability).
AWAY_COLUMNS = ("group", "at", "in_block", "away_mask")
# Repeat contacts (sim.config.callers.RepeatContacts): the phone number and repeat index
# of every episode after a number's first; callers not listed are their own number.
EPISODE_COLUMNS = ("caller", "number", "repeat")
# Switching channel (sim.config.callers.PhoneSwitch / ChatSwitch): one row per contact
# made on another channel after giving up on one: from (channel, index) to (channel,
# index), at. Indices: phone episode ("caller"), chat visitor, e-mail.
SWITCH_COLUMNS = ("from_channel", "from_id", "to_channel", "to_id", "at")


@dataclass
class EventLog:
    """Append-only record of one replication."""

    attempts: list[tuple] = field(default_factory=list)
    callers: list[tuple] = field(default_factory=list)
    messages: list[tuple] = field(default_factory=list)
    callbacks: list[tuple] = field(default_factory=list)
    away: list[tuple] = field(default_factory=list)
    episodes: list[tuple] = field(default_factory=list)
    switches: list[tuple] = field(default_factory=list)
    chats: ChatLog = field(default_factory=ChatLog)
    emails: EmailLog = field(default_factory=EmailLog)

    def attempt(self, caller, attempt, at, dialled, group, outcome, wait_s, talk_s, hold_s) -> None:
        self.attempts.append((caller, attempt, at, dialled, group, outcome, wait_s, talk_s, hold_s))

    def message(self, message, caller, group, left_at, state, resolved_at, tries) -> None:
        self.messages.append((message, caller, group, left_at, state, resolved_at, tries))

    def callback(self, message, caller, try_, at, group, reached, hold_s) -> None:
        self.callbacks.append((message, caller, try_, at, group, reached, hold_s))

    def caller_end(self, caller, arrival_at, home, option0, end, attempts, end_at) -> None:
        self.callers.append((caller, arrival_at, home, option0, end, attempts, end_at))

    def away_change(self, group, at, in_block, away_mask) -> None:
        self.away.append((group, at, in_block, away_mask))

    def away_table(self) -> pd.DataFrame:
        df = pd.DataFrame.from_records(self.away, columns=AWAY_COLUMNS)
        return df.astype({"group": np.int64, "at": float, "in_block": np.int64, "away_mask": np.int64})

    def episode(self, caller, number, repeat) -> None:
        self.episodes.append((caller, number, repeat))

    def switch(self, from_channel, from_id, to_channel, to_id, at) -> None:
        self.switches.append((from_channel, from_id, to_channel, to_id, at))

    def switches_table(self) -> pd.DataFrame:
        df = pd.DataFrame.from_records(self.switches, columns=SWITCH_COLUMNS)
        return df.astype({"from_channel": str, "from_id": np.int64, "to_channel": str,
                          "to_id": np.int64, "at": float})

    def episodes_table(self) -> pd.DataFrame:
        df = pd.DataFrame.from_records(self.episodes, columns=EPISODE_COLUMNS)
        return df.astype({"caller": np.int64, "number": np.int64, "repeat": np.int64})

    def attempts_table(self) -> pd.DataFrame:
        df = pd.DataFrame.from_records(self.attempts, columns=ATTEMPT_COLUMNS)
        df = df.astype({"caller": np.int64, "attempt": np.int64, "dialled": np.int64, "group": np.int64})
        df["province"] = pd.Categorical.from_codes(df["group"].to_numpy(), PROVINCES)
        df["dialled_as"] = pd.Categorical.from_codes(df["dialled"].to_numpy(), DIALLED)
        df["outcome"] = pd.Categorical(df["outcome"], ATTEMPT_OUTCOMES)
        return df.sort_values(["caller", "attempt"], kind="stable").reset_index(drop=True)

    def callers_table(self) -> pd.DataFrame:
        df = pd.DataFrame.from_records(self.callers, columns=CALLER_COLUMNS)
        df = df.astype({"caller": np.int64, "home": np.int64, "attempts": np.int64})
        df["home_province"] = pd.Categorical.from_codes(df["home"].to_numpy(), PROVINCES)
        df["end"] = pd.Categorical(df["end"], CALLER_ENDS)
        return df.sort_values("caller", kind="stable").reset_index(drop=True)

    def messages_table(self) -> pd.DataFrame:
        from sim.model.callbacks import MESSAGE_STATES

        df = pd.DataFrame.from_records(self.messages, columns=MESSAGE_COLUMNS)
        df = df.astype({"message": np.int64, "caller": np.int64, "group": np.int64, "tries": np.int64,
                        "left_at": float, "resolved_at": float})
        df["state"] = pd.Categorical(df["state"], MESSAGE_STATES)
        return df.sort_values("message", kind="stable").reset_index(drop=True)

    def callbacks_table(self) -> pd.DataFrame:
        df = pd.DataFrame.from_records(self.callbacks, columns=CALLBACK_COLUMNS)
        return df.astype({"message": np.int64, "caller": np.int64, "try_": np.int64, "group": np.int64,
                          "at": float, "reached": bool, "hold_s": float})
