"""Which KPIs are proportions (shares and rates bounded by 0 and 1): the one declaration.

Their confidence intervals over replications are computed on the logit scale
(:func:`sim.experiments.replications.logit_interval`) so they never run past 0% or 100%;
every other KPI keeps the plain Student-t interval. Add a new share or rate here, where
its KPI function defines it (``sim/results/metrics.py``, ``channel_metrics.py``).

Not declared, on purpose: ``utilisation`` of the phone lines (busy time of calls that run
past closing is counted against the staffed time of the hour they fall in, so the ratio is
not bounded by 1 per hour) and every count, mean, duration and cost.
"""

from __future__ import annotations

import re

# name -> what it is a share of (all 0-1 per replication).
PROPORTIONS: dict[str, str] = {
    "answer_rate_caller": "callers answered / callers",
    "answer_rate_caller_direct": "callers answered on a call (not by callback) / callers",
    "answer_rate_attempt": "attempts answered / attempts made while open",
    "answer_rate_attempt_all": "attempts answered / all attempts",
    "share_2plus_attempts": "callers with 2 or more attempts / callers",
    "share_callers": "callers with this number of attempts / callers (by=attempts)",
    "share_waited": "admitted attempts that queued / admitted attempts",
    "chat_answer_rate": "chats answered / chats offered",
    "chat_share_waited": "admitted chats that queued / admitted chats",
    "chat_within_target": "chats answered within the wait target / chats offered",
    "chat_target_met": "replications whose chat_within_target reaches the target share (0/1)",
    "chat_utilisation": "chat-busy time inside staffed time / staffed chat time",
    "email_staff_utilisation": "e-mail-busy time inside staffed time / staffed e-mail time",
    "share_messages_expired": "messages expired by the horizon end / messages with a number",
    "callback_line_utilisation": "callback-busy time inside staffed time / staffed dedicated callback time",
}

# Families whose names carry a parameter: email_within_{k}wd for each response target k.
PROPORTION_FAMILIES: dict[str, str] = {
    r"email_within_\d+wd": "e-mails answered within k working days / e-mails received",
}
_FAMILY = re.compile("|".join(f"(?:{p})" for p in PROPORTION_FAMILIES))


def is_proportion(kpi: str) -> bool:
    """True if ``kpi`` is declared a proportion (0-1) in this module."""
    return kpi in PROPORTIONS or _FAMILY.fullmatch(kpi) is not None
