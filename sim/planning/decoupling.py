"""When do the provinces' phone lines not interact? (pure functions, no simulation)

The optimiser (:mod:`sim.planning.optimise`) adds one phone line at a time to one
province. When the provinces' line groups are *decoupled*, an extra line in province P
changes only what happens to the callers whose attempts reach P's lines: every other
caller's journey, and so every other province's counts, stay exactly as they were. A
candidate increment in province Q then has the same gain and the same cost on top of a
schedule that changed only in P as it had before that change, and the search may reuse
it instead of simulating it again (issue 16: on the fitted 2020 scenario 232 of 232 such
re-evaluations gave the same gain).

Decoupled means, in the model (:mod:`sim.model.helpline`):

* every attempt of a caller reaches one line group, fixed when the caller is drawn:
  no overflow to other provinces (``phone.overflow.policy: off``) and option 0 routed to
  the fixed province (``phone.option0.routing.policy: fixed``, or nobody choosing
  option 0), so which group a caller reaches does not depend on who is busy elsewhere;
* no resource shared between provinces: per-province mailboxes
  (``answering_machine.mailbox: per_province``), no e-mail handled on phone lines
  (``email.blending: false``);
* no random stream drawn in the order in which events of different provinces happen:
  the callback desk draws the idle time of a line group from one stream
  (``callback.idle``) shared by all groups, so it must be a fixed value or not used
  (``callbacks.policy: immediate``); every caller's own draws are made when the caller
  is created (:mod:`sim.model.callers`);
* none of the mechanisms whose bookkeeping has not been checked for this: counsellors'
  availability, repeat contacts and switching channels (issues 14, 15). They are
  treated as coupling (the search then simulates every candidate, as before): a
  conservative choice, not a finding that they couple.

And the target KPI must be *separable*: a sum over callers or attempts (each reaching
one province) divided by a number no staffing changes (the new callers of the horizon).
``answer_rate_attempt`` (answered / attempts made while open) is not: more lines in P
change the attempts, so the gain of a line in Q depends on P's staffing.
"""

from __future__ import annotations

from collections.abc import Sequence

from sim.config import Scenario
from sim.config.distributions import Fixed

# Overall KPIs whose paired change from a line in one province does not depend on the
# other provinces' staffing when the provinces are decoupled: counts of callers or
# attempts, or such counts over the number of new callers (sim/results/metrics.py).
SEPARABLE_KPIS = frozenset({
    "answer_rate_caller", "answer_rate_caller_direct", "callers_answered", "answered",
    "mean_attempts", "share_2plus_attempts",
})


def province_couplings(scn: Scenario) -> list[str]:
    """Why the provinces' phone line groups interact in ``scn``: one short reason per
    setting that couples them (see the module docstring); empty when they are decoupled."""
    ph = scn.phone
    out = []
    if ph.overflow.policy != "off":
        out.append(f"phone.overflow.policy is {ph.overflow.policy!r}")
    if ph.option0.probability > 0 and ph.option0.routing.policy != "fixed":
        out.append(f"phone.option0.routing.policy is {ph.option0.routing.policy!r}")
    am = ph.answering_machine
    if am.enabled:
        if am.mailbox != "per_province":
            out.append(f"phone.answering_machine.mailbox is {am.mailbox!r}")
        cb = am.callbacks
        if cb.policy != "immediate" and not isinstance(cb.idle_min, Fixed):
            out.append("phone.answering_machine.callbacks.idle_min is random (one stream "
                       "shared by the provinces' line groups)")
    if scn.email.blending:
        out.append("email.blending is on (e-mail on the phone lines)")
    if ph.availability.enabled:
        out.append("phone.availability is on (not checked for independence)")
    behaviour = ph.callers
    if behaviour.repeat.enabled:
        out.append("phone.callers.repeat is on (not checked for independence)")
    if behaviour.switch.enabled or behaviour.chat_switch.enabled:
        out.append("switching channel is on (not checked for independence)")
    return out


def reuse_reasons(scn: Scenario, kpi: str, channels: Sequence[str]) -> list[str]:
    """Why the optimiser may *not* reuse a candidate's gain from an earlier step when the
    schedule changed only in another province; empty when it may. ``kpi``: the target
    KPI; ``channels``: the channels of the candidate increments (phone only)."""
    out = province_couplings(scn)
    if kpi not in SEPARABLE_KPIS:
        out.append(f"the target KPI {kpi} is not a per-caller or per-attempt count over a "
                   "fixed number of callers")
    if set(channels) != {"phone"}:
        out.append("candidates include chat lines")
    return out
