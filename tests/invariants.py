"""Invariants every replication must satisfy, whatever the scenario."""

import numpy as np
import pandas as pd

from sim.config import PROVINCES
from sim.model import callbacks as cbk
from sim.model.eventlog import ATTEMPT_OUTCOMES, CALLER_ENDS
from sim.results.metrics import kpis


def check_invariants(model, log) -> None:
    a, c = log.attempts_table(), log.callers_table()
    m, cb = log.messages_table(), log.callbacks_table()
    scn = model.scn
    # Every caller ends in exactly one outcome, with attempts numbered 1..n.
    episodes = model.episodes if model.episodes is not None else model.callers  # repeat contacts
    assert len(c) == len(episodes) and c["caller"].is_unique
    assert set(c["end"].astype(str)) <= set(CALLER_ENDS)
    assert set(a["outcome"].astype(str)) <= set(ATTEMPT_OUTCOMES)
    if len(a):
        n = a.groupby("caller")["attempt"].agg(["count", "max"])
        assert (n["count"] == n["max"]).all()
        assert np.array_equal(n.reindex(c["caller"])["count"].to_numpy(), c["attempts"].to_numpy())
    assert (c["attempts"] <= scn.phone.redial.cap).all()
    answered = a.loc[a["outcome"] == "answered", "caller"]
    assert answered.is_unique, "nobody is answered twice"
    assert set(answered) == set(c.loc[c["end"] == "answered", "caller"])
    # Every message is accounted for exactly once, in one state.
    assert m["message"].is_unique and len(m) == (len(model.desk.messages) if model.desk else 0)
    assert set(m["state"].astype(str)) <= set(cbk.MESSAGE_STATES)
    assert set(c.loc[c["end"] == "answered_callback", "caller"]) == set(m.loc[m["state"] == cbk.CALLBACK, "caller"])
    # Nothing served while closed; no line serves more than is staffed.
    work = pd.concat([
        a.loc[a["outcome"] == "answered"].assign(begin=lambda d: d["at"] + d["wait_s"])[["group", "begin", "hold_s"]],
        cb.assign(begin=cb["at"])[["group", "begin", "hold_s"]],
    ])
    live = work[work["group"] < len(PROVINCES)]
    assert all(model.cal.phone_open.is_open(t) for t in live["begin"]), "work started while closed"
    dedicated = model.desk.dedicated_lines if model.desk is not None else None
    assert dedicated is not None or (work["group"] < len(PROVINCES)).all()
    for g, prov in enumerate(PROVINCES):
        staffed = [(g, model.cal.phone_lines[prov])]
        if dedicated is not None:  # dedicated callback lines: group len(PROVINCES) + g
            staffed.append((len(PROVINCES) + g, dedicated[prov]))
        for group, lines in staffed:
            w = work[work["group"] == group]
            b, e = w["begin"].to_numpy(), (w["begin"] + w["hold_s"]).to_numpy()
            for t in b:
                assert np.sum((b <= t) & (e > t)) <= lines(t), f"{prov} (group {group}) over-occupied at {t}"
    # Counts add up across months and provinces.
    k = kpis(a, c, model.cal.phone_lines, scn.horizon.start, scn.horizon.days, m, cb)
    v = k.set_index(["by", "key", "kpi"])["value"]
    total = v[("all", "all", "callers")]
    assert v.xs(("month", "callers"), level=("by", "kpi")).sum() == total
    assert v.xs(("province", "callers"), level=("by", "kpi")).sum() == total
    assert v.xs(("province", "answered"), level=("by", "kpi")).sum() == v[("all", "all", "answered")]
    assert v.xs(("flow", "answered"), level=("by", "kpi")).sum() == v[("all", "all", "answered")]
    shares = v.xs(("attempts", "share_callers"), level=("by", "kpi"))
    assert total == 0 or abs(shares.sum() - 1) < 1e-9
    # Utilisation counts busy time within the staffed time only; the rest is overtime.
    util = v.xs("utilisation", level="kpi").dropna()
    assert ((util >= 0) & (util <= 1)).all(), "utilisation within [0, 1]"
    assert (v.xs("overtime_line_hours", level="kpi") >= 0).all()
