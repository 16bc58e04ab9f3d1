"""KPIs of people who switch channel (issue 15; ``phone.callers.switch`` and
``phone.callers.chat_switch``).

A switched contact is counted in the KPIs of the channel it joins (a chat from a phone
caller is a chat visitor like any other) and, here, once as a switch. A **person** is
who started it: a phone number (all its episodes), a chat visitor or an e-mail writer
who did not come from another channel; every contact made after switching belongs to
the person who switched. KPIs (``by="people"``, ``key="all"``), over everything
simulated (the contacts of the horizon and what followed them):

- ``people``, ``contacts_per_person`` (phone episodes, chats, e-mails);
- ``answered_contacts_per_person``: contacts answered on any channel per person (a
  phone episode counts when answered directly or by a callback);
- ``share_people_answered``: people answered at least once on any channel;
- ``switches_<from>_<to>``: switched contacts by pair of channels;
- ``share_switched_answered``: switched contacts that were answered.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.model.eventlog import END_ANSWERED, END_CALLBACK
from sim.results.metrics import kpi_rows, safe_div

PAIRS = (("phone", "chat"), ("phone", "email"), ("chat", "email"), ("chat", "phone"))


def people_kpis(callers: pd.DataFrame, episodes: pd.DataFrame, chats: pd.DataFrame,
                emails: pd.DataFrame, switches: pd.DataFrame, n_phone: int, n_chat: int,
                n_email: int) -> list[tuple]:
    """Tidy rows (module docstring). ``n_*``: new contacts of each channel (the rest
    were switched in)."""
    number = dict(zip(callers["caller"].tolist(), callers["caller"].tolist(), strict=True))
    if len(episodes):
        number.update(zip(episodes["caller"].tolist(), episodes["number"].tolist(), strict=True))
    came_from = {(r.to_channel, r.to_id): (r.from_channel, r.from_id) for r in switches.itertuples()}

    def person(channel: str, i: int) -> tuple[str, int]:
        while True:
            if channel == "phone":
                num = number[i]
                if num >= n_phone:  # a number that came from chat visitor num - n_phone
                    channel, i = "chat", num - n_phone
                    continue
                return ("phone", num)
            if (channel == "chat" and i < n_chat) or (channel == "email" and i < n_email):
                return (channel, i)
            channel, i = came_from[(channel, i)]

    rows = []
    ok_phone = callers["end"].astype(str).isin([END_ANSWERED, END_CALLBACK]).to_numpy()
    rows += [(person("phone", c), bool(a)) for c, a in zip(callers["caller"].tolist(), ok_phone, strict=True)]
    rows += [(person("chat", c), o == "answered") for c, o in
             zip(chats["chat"].tolist(), chats["outcome"].astype(str).tolist(), strict=True)]
    rows += [(person("email", e), o == "answered") for e, o in
             zip(emails["email"].tolist(), emails["outcome"].astype(str).tolist(), strict=True)]
    people = pd.DataFrame({"person": [r[0] for r in rows], "answered": [r[1] for r in rows]})
    per = people.groupby("person")["answered"].agg(["size", "sum"])
    n = len(per)
    out = {
        "people": n,
        "contacts_per_person": safe_div(per["size"].sum(), n),
        "answered_contacts_per_person": safe_div(per["sum"].sum(), n),
        "share_people_answered": safe_div(int((per["sum"] > 0).sum()), n),
    }
    for a, b in PAIRS:
        out[f"switches_{a}_{b}"] = int(((switches["from_channel"] == a) & (switches["to_channel"] == b)).sum())
    answered = set(zip(["phone"] * int(ok_phone.sum()), callers.loc[ok_phone, "caller"].tolist(), strict=True))
    answered |= {("chat", c) for c in chats.loc[chats["outcome"] == "answered", "chat"].tolist()}
    answered |= {("email", e) for e in emails.loc[emails["outcome"] == "answered", "email"].tolist()}
    hit = np.array([(r.to_channel, r.to_id) in answered for r in switches.itertuples()], dtype=bool)
    out["share_switched_answered"] = safe_div(int(hit.sum()), len(switches))
    return kpi_rows("people", "all", out)
