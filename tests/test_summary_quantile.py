"""The Student-t quantile of sim.results.summary (issue 16: scipy.special.stdtrit instead of
importing scipy.stats) gives exactly what scipy.stats.t.ppf gives."""

import numpy as np
import pandas as pd
from scipy import stats

from sim.results.summary import logit_interval, summarise, t_half_width


def test_half_widths_and_intervals_equal_those_from_scipy_stats():
    rng = np.random.default_rng(3)
    for n in (2, 3, 5, 20, 101):
        x = rng.normal(10.0, 2.0, n)
        for level in (0.9, 0.95, 0.99):
            want = stats.t.ppf(0.5 + level / 2, n - 1) * x.std(ddof=1) / np.sqrt(n)
            assert t_half_width(x, level) == float(want), f"n={n}, level={level}"
    m, sd, n = np.array([0.3, 0.9]), np.array([0.05, 0.02]), np.array([4, 12])
    tq = stats.t.ppf(0.975, n - 1)
    se = sd / np.sqrt(n) / (m * (1 - m))
    centre = np.log(m / (1 - m))
    low, high = logit_interval(m, sd, n)
    assert np.array_equal(low, 1 / (1 + np.exp(-(centre - tq * se)))), "logit interval, low end"
    assert np.array_equal(high, 1 / (1 + np.exp(-(centre + tq * se)))), "logit interval, high end"
    per_rep = pd.DataFrame({"replication": range(6), "by": "all", "key": "all", "kpi": "waiting_s",
                            "value": rng.normal(60.0, 5.0, 6)})
    out = summarise(per_rep).iloc[0]
    want = stats.t.ppf(0.975, 5) * out["sd"] / np.sqrt(out["n"])
    assert out["half_width"] == want, f"summarise half-width {out['half_width']} vs {want}"
