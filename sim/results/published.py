"""Simulated against published: the tables that set a results folder beside the figures
1712 published (``sim/data``). Pure pandas; used by the figures and the planner's report.

Published figures are *registered* (answered) contacts, so they are compared with what
the simulation answers, counted as in the fit (:func:`sim.planning.fit_run.monthly_answered`):

- phone: calls answered in the month plus callers of the month answered by a callback
  (both are registered conversations);
- chat: chats answered, by month of arrival;
- e-mail: e-mails answered, by month of answer.

Sources: 2020 monthly counts, source document 000 (``contacts_2020_monthly.csv``);
2024 totals and channel shares, source document 002 (``contacts_2024.csv``; the shares are
rounded to whole percent there, so the channel counts derived from them carry about
+-0.5% of 9,594 = +-48 contacts of rounding).
"""

from __future__ import annotations

import re

import pandas as pd

CHANNELS = ("phone", "chat", "email")
CHANNEL_LABELS = {"phone": "phone calls", "chat": "chats", "email": "e-mails"}
# KPIs (by=month or all) whose per-replication sum is the channel's answered contacts.
ANSWERED_KPIS = {"phone": ("answered", "callers_answered_callback"),
                 "chat": ("chat_answered",), "email": ("email_answered",)}


def source_label(text: str) -> str:
    """``seed 000`` -> ``source document 000`` (a seed document, not a random seed)."""
    return re.sub(r"\bseeds? (\d{3})\b", r"source document \1", str(text))


def answered_per_rep(per_rep: pd.DataFrame, by: str = "month") -> pd.DataFrame:
    """Answered contacts per replication, channel and key (month, or ``all``).

    ``per_rep``: a ``kpis_per_rep.csv`` table (replication, by, key, kpi, value).
    Returns a tidy table ``replication, by, key, kpi, value`` with kpi
    ``answered_<channel>`` (contacts over the key's period).
    """
    rows = []
    sub = per_rep[per_rep["by"] == by]
    for channel, kpis in ANSWERED_KPIS.items():
        part = sub[sub["kpi"].isin(kpis)]
        if part.empty:
            continue
        s = part.groupby(["replication", "key"], sort=True)["value"].sum().reset_index()
        rows.append(s.assign(by=by, kpi=f"answered_{channel}"))
    if not rows:
        return pd.DataFrame(columns=["replication", "by", "key", "kpi", "value"])
    return pd.concat(rows, ignore_index=True)[["replication", "by", "key", "kpi", "value"]]


def monthly_vs_published(per_rep: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """Simulated answered contacts per channel and month of 2020 against source document 000.

    Columns: ``channel, month, mean, ci_low, ci_high, n, published, difference,
    rel_difference, source``. Empty when no simulated month lies in 2020.
    """
    from sim import data
    from sim.results.summary import summarise

    cols = ["channel", "month", "mean", "ci_low", "ci_high", "n", "published", "difference",
            "rel_difference", "source"]
    try:
        pub = data.monthly_2020()
    except FileNotFoundError:
        return pd.DataFrame(columns=cols)
    pub = pub.assign(month=pub["month"].astype(str))
    sim = summarise(answered_per_rep(per_rep, "month"), level)
    if sim.empty:
        return pd.DataFrame(columns=cols)
    sim["channel"] = sim["kpi"].str.removeprefix("answered_")
    out = sim.rename(columns={"key": "month"}).merge(
        pub.rename(columns={"contacts": "published"}), on=["channel", "month"], how="inner")
    if out.empty:
        return pd.DataFrame(columns=cols)
    out["difference"] = out["mean"] - out["published"]
    out["rel_difference"] = out["difference"] / out["published"]
    out["source"] = out["source"].map(source_label)
    order = {c: i for i, c in enumerate(CHANNELS)}
    out = out.sort_values(["channel", "month"], key=lambda s: s.map(order) if s.name == "channel"
                          else s)
    return out[cols].reset_index(drop=True)


def totals_2024_vs_published(per_rep: pd.DataFrame, start, end, level: float = 0.95) -> pd.DataFrame:
    """Simulated answered contacts over the horizon against the 2024 totals (source
    document 002), only when the horizon is the whole of 2024.

    Columns: ``channel, mean, ci_low, ci_high, published, difference, rel_difference,
    source``; the published channel counts are 9,594 x the rounded channel share.
    """
    from sim import data
    from sim.results.summary import summarise

    cols = ["channel", "mean", "ci_low", "ci_high", "published", "difference", "rel_difference",
            "source"]
    if str(start) != "2024-01-01" or str(end) != "2024-12-31":
        return pd.DataFrame(columns=cols)
    try:
        pub = data.contacts_2024()
    except FileNotFoundError:
        return pd.DataFrame(columns=cols)
    sim = summarise(answered_per_rep(per_rep, "all"), level)
    sim["channel"] = sim["kpi"].str.removeprefix("answered_")
    pub = pub.assign(published=(pub["share"] * pub["contacts_total"]).round())
    out = sim.merge(pub[["channel", "published", "source"]], on="channel", how="inner")
    total = {"channel": "all", "mean": out["mean"].sum(), "ci_low": float("nan"),
             "ci_high": float("nan"), "published": float(pub["contacts_total"].iloc[0]),
             "source": pub["source"].iloc[0]}
    out = pd.concat([out, pd.DataFrame([total])], ignore_index=True)
    out["difference"] = out["mean"] - out["published"]
    out["rel_difference"] = out["difference"] / out["published"]
    out["source"] = out["source"].map(source_label)
    return out[cols]
