"""Demand fit and behaviour calibration (sim.planning.fit, sim.planning.calibrate, the ``fit`` command).

Fast tests of the pure pieces: the demand model against the arrival-rate integrals, the
likelihood and its gradient, the dispersion estimate, parameter recovery from synthetic
counts with known parameters, the fixed point against a known answer function, and the
calibration's bookkeeping. One slow end-to-end run of ``fit --quick``.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from sim.config import load_scenario
from sim.model.arrivals import hourly_rate
from sim.planning import calibrate as cal
from sim.planning import fit as F

ROOT = Path(__file__).resolve().parent.parent
BASELINE = ROOT / "scenarios" / "baseline_2020.yaml"

TRUE = {
    "phone.annual": 9000.0, "phone.lockdown_amplitude": 1.2, "phone.lockdown_decay_days": 90.0,
    "chat.annual": 1500.0, "chat.lockdown_amplitude": 4.0, "chat.lockdown_decay_days": 400.0,
    "email.annual": 1150.0, "email.lockdown_amplitude": 1.0, "email.lockdown_decay_days": 25.0,
    "campaign_feb_amplitude": 0.6, "campaign_amplitude": 0.3, "lockdown2_amplitude": 0.2,
}
# Answer probability per channel (phone busy lines, chat mostly closed, e-mail all).
P_ANSWER = np.array([[0.4], [0.12], [1.0]])


@pytest.fixture(scope="module")
def base():
    return load_scenario(BASELINE)


@pytest.fixture(scope="module")
def spec(base):
    return F.default_spec(base)


@pytest.fixture(scope="module")
def model(spec):
    return F.DemandModel(spec)


def _response(model, eps=0.6):
    E = model.expected(TRUE)
    return F.Response(A=E * P_ANSWER, E=E, eps=np.full_like(E, eps))


# ---------------------------------------------------------------------------------------
# What is fixed
# ---------------------------------------------------------------------------------------


def test_trend_is_the_2017_2019_growth_of_registered_contacts():
    yearly = pd.DataFrame({"year": [2017, 2018, 2019, 2020], "channel": "phone_and_email",
                           "contacts": [4812, 5126, 5250, 7148]})
    # Least-squares slope of log counts over three equally spaced years = half the log
    # ratio of the ends; 2020 is left out.
    assert F.trend_from_yearly(yearly) == pytest.approx(np.sqrt(5250 / 4812) - 1, rel=1e-9)


def test_spec_takes_dates_from_the_data_files(spec):
    (n1, s1, p1), (n2, s2, p2) = spec.lockdowns
    assert (s1, p1) == (dt.date(2020, 3, 18), 47.0)  # 18 Mar - 3 May
    assert (s2, p2) == (dt.date(2020, 11, 2), 29.0)  # 2 - 30 Nov
    assert spec.window == (dt.date(2020, 2, 10), dt.date(2020, 2, 27))
    assert spec.feb_campaign.start == dt.date(2020, 2, 11)
    assert spec.feb_campaign.plateau_days == 15.0  # broadcasts 11, 18, 25 Feb
    assert [p.start for p in spec.campaigns] == [dt.date(2019, 12, 17), dt.date(2020, 3, 23),
                                                 dt.date(2020, 5, 7), dt.date(2020, 10, 6),
                                                 dt.date(2020, 12, 17)]


def test_observations_are_the_published_table(spec):
    obs = F.observations(spec)
    assert obs.monthly.shape == (3, 12)
    assert obs.monthly.sum(axis=1).tolist() == [5702, 911, 1440]
    assert obs.window == 429 and obs.feb_total == 569


# ---------------------------------------------------------------------------------------
# Demand model
# ---------------------------------------------------------------------------------------


def test_expected_counts_equal_the_rate_integrals_of_the_scenario(spec, model):
    """The fast model equals the integrals of sim.model.arrivals.hourly_rate of the
    ChannelDemand written to the scenario, per month and for the window."""
    E = model.expected(TRUE)
    bins = F.month_bins(spec)
    for ci, c in enumerate(F.CHANNELS):
        ref = F.expected_counts(F.to_channel_demand(TRUE, spec, c), spec.start, spec.n_days, bins)
        np.testing.assert_allclose(E[ci], ref, rtol=1e-10)
    # Twelve months add up to the whole horizon.
    rate = hourly_rate(F.to_channel_demand(TRUE, spec, "phone"), spec.start, spec.n_days)
    assert E[0, :12].sum() == pytest.approx(rate.sum(), rel=1e-12)


def test_coarse_grid_is_a_close_approximation(spec, model):
    E1 = F.DemandModel(spec, sub=1).expected(TRUE)
    np.testing.assert_allclose(E1, model.expected(TRUE), rtol=1e-4)


def test_gradient_matches_finite_differences(model):
    z = F.Transform.to_z(TRUE)
    _, G = model.expected(TRUE, grad=True)
    for k in range(len(z)):
        dz = np.zeros_like(z)
        dz[k] = 1e-6
        num = (model.expected(F.Transform.from_z(z + dz))
               - model.expected(F.Transform.from_z(z - dz))) / 2e-6
        np.testing.assert_allclose(G[:, :, k], num, rtol=1e-5, atol=1e-6)


def test_without_events_the_year_is_the_level_times_the_trend(spec, model):
    flat = {**TRUE, **{k: 0.0 for k in TRUE if "amplitude" in k}}
    E = model.expected(flat)
    g = spec.trend_per_year
    # Mean of (1+g)^(t/365) over 366 days, times annual x 366/365.
    years = 366 / 365
    expected = TRUE["phone.annual"] * ((1 + g) ** years - 1) / np.log(1 + g)
    assert E[0, :12].sum() == pytest.approx(expected, rel=2e-3)


def test_shift_start_keeps_the_rate(spec):
    d = F.to_channel_demand(TRUE, spec, "phone")
    new = dt.date(2020, 8, 17)
    days = (new - spec.start).days
    shifted = F.shift_start(d, spec.start, new)
    a = hourly_rate(d, spec.start, spec.n_days)[days * 24:]
    b = hourly_rate(shifted, new, spec.n_days - days)
    np.testing.assert_allclose(a, b, rtol=1e-9)


# ---------------------------------------------------------------------------------------
# Likelihood
# ---------------------------------------------------------------------------------------


def test_negative_binomial_and_poisson_log_probabilities():
    y = np.array([0, 3, 40, 450])
    mu = np.array([1.5, 5.0, 35.0, 470.0])
    phi = 0.02
    r = 1 / phi
    np.testing.assert_allclose(F.nb_logpmf(y, mu, phi), stats.nbinom.logpmf(y, r, r / (r + mu)),
                               rtol=1e-10)
    np.testing.assert_allclose(F.nb_logpmf(y, mu, 0.0), stats.poisson.logpmf(y, mu), rtol=1e-12)


def test_loglik_gradient_matches_finite_differences(model):
    resp = _response(model)
    rng = np.random.default_rng(5)
    obs = F.simulate_counts(resp.A, 0.01, 0.7, rng)
    z = F.Transform.to_z({**TRUE, "phone.annual": 8000.0})
    ll, g, g_phi = F.loglik(z, np.log(0.01), model, resp, obs)
    for k in range(len(z)):
        dz = np.zeros_like(z)
        dz[k] = 1e-6
        num = (F.loglik(z + dz, np.log(0.01), model, resp, obs, grad=False)
               - F.loglik(z - dz, np.log(0.01), model, resp, obs, grad=False)) / 2e-6
        assert g[k] == pytest.approx(num, rel=1e-4, abs=1e-4)
    num_phi = (F.loglik(z, np.log(0.01) + 1e-6, model, resp, obs, grad=False)
               - F.loglik(z, np.log(0.01) - 1e-6, model, resp, obs, grad=False)) / 2e-6
    assert g_phi == pytest.approx(num_phi, rel=1e-4)


def test_response_mean_is_the_fixed_answer_probability_when_eps_is_one(model):
    resp = _response(model, eps=1.0)
    E2 = model.expected({**TRUE, "phone.annual": 12000.0})
    np.testing.assert_allclose(resp.mean(E2), E2 * P_ANSWER, rtol=1e-12)


def test_dispersion_moment_estimate():
    rng = np.random.default_rng(2)
    mu = np.full((3, 12), 400.0)
    phi = 0.01
    y = rng.poisson(rng.gamma(1 / phi, mu * phi))
    # With the true means and df = number of counts the estimate is consistent.
    assert F.dispersion(y, mu, df=y.size) == pytest.approx(phi, rel=0.5)
    # Counts closer to their means than Poisson: no overdispersion.
    assert F.dispersion(np.round(mu), mu, df=10) == 0.0


# ---------------------------------------------------------------------------------------
# Fit, recovery, uncertainty
# ---------------------------------------------------------------------------------------


def test_noise_free_counts_give_back_the_parameters(model):
    resp = _response(model)
    obs = F.Observations(resp.A[:, :12], int(round(resp.A[:, 12].sum())), ())
    start = {k: v * 1.3 for k, v in TRUE.items()}
    f = F.fit(model, resp, obs, start)
    for k, v in TRUE.items():
        assert f.params[k] == pytest.approx(v, rel=0.02), k
    assert f.phi == 0.0


def test_parameters_are_recovered_within_their_bootstrap_intervals(spec, model):
    """Counts drawn (fixed seed) from known parameters: every true value lies inside the
    reported 95% interval, and the fitted means reproduce the counts' totals."""
    resp = _response(model)
    phi = 0.003
    obs = F.simulate_counts(resp.A, phi, float(resp.A[:, 12].sum() / resp.A[:, 1].sum()),
                            np.random.default_rng(0))
    best = F.fit(model, resp, obs, TRUE)
    boot = F.bootstrap(F.DemandModel(spec, sub=1), resp, best, 60, seed=1)
    tab = F.parameter_table(best, boot).set_index("parameter")
    for k, v in {**TRUE, "phi": phi}.items():
        assert tab.loc[k, "ci_low"] <= v <= tab.loc[k, "ci_high"], (k, v, tab.loc[k].to_dict())
        assert tab.loc[k, "ci_low"] <= tab.loc[k, "estimate"] <= tab.loc[k, "ci_high"], k
    # Poisson-type score equations: fitted totals equal observed totals per channel.
    np.testing.assert_allclose(best.mu[:, :12].sum(1), obs.monthly.sum(1), rtol=0.02)


def test_goodness_of_fit_of_exact_means_is_zero(model):
    resp = _response(model)
    obs = F.Observations(resp.A[:, :12], 0, ())
    obs = F.Observations(resp.A[:, :12], int(round(resp.A[:, 12].sum())), ())
    g = F.goodness_of_fit(obs, resp.A, 0.0, 12).set_index("channel")
    assert g.loc[["phone", "chat", "email"], "deviance"].abs().max() < 1e-9
    assert g.loc["all", "df"] == 37 - 12


def test_fixed_point_finds_the_demand_behind_saturated_answers(model):
    """A known answer function (answered = K E / (K + E): busy lines answer a falling
    share) stands in for the simulation: the fixed point recovers the demand."""
    K = np.array([[800.0], [60.0], [1e9]])

    def simulate(params):
        E = model.expected(params)
        return K * E / (K + E)

    A_true = simulate(TRUE)
    obs = F.Observations(A_true[:, :12], int(round(A_true[:, 12].sum())), ())
    start = {**TRUE, "phone.annual": 6000.0, "chat.annual": 900.0, "email.annual": 1500.0}
    fp = F.fixed_point(simulate, model, obs, start, max_iter=12, tol=0.002)
    assert fp.converged
    for c in F.CHANNELS:
        assert fp.fit.params[f"{c}.annual"] == pytest.approx(TRUE[f"{c}.annual"], rel=0.03), c
    np.testing.assert_allclose(simulate(fp.fit.params)[:, :12], A_true[:, :12], rtol=0.01)


def test_elasticity_is_pooled_per_channel():
    E0 = np.full((3, 13), 100.0)
    E1 = E0 * 1.2
    A0 = np.full((3, 13), 50.0)
    A1 = A0 * np.array([[1.2**0.5], [1.2**0.25], [1.2]])
    eps = F.elasticity(A0, E0, A1, E1)
    np.testing.assert_allclose(eps[:, 0], [0.5, 0.25, 1.0])
    assert (eps == eps[:, :1]).all()


# ---------------------------------------------------------------------------------------
# Calibration bookkeeping
# ---------------------------------------------------------------------------------------


def test_behaviour_overrides_scale_handling_and_set_redials(base):
    b = cal.Behaviour(handling_scale=1.5, persistence=0.9, delay_min=8.0)
    scn = load_scenario(BASELINE, b.overrides(base))
    assert scn.phone.talk_min.mean == pytest.approx(1.5 * base.phone.talk_min.mean)
    assert scn.phone.talk_min.sd == pytest.approx(1.5 * base.phone.talk_min.sd)
    assert scn.phone.wrap_up_min.mean == pytest.approx(1.5 * base.phone.wrap_up_min.mean)
    assert scn.phone.redial.probability == [0.9]
    assert scn.phone.redial.delay_min.mean == 8.0
    assert b.handling_min(base) == pytest.approx(1.5 * 60.0)


def test_period_stats_pool_the_months_as_ratios_of_sums():
    rows = []
    for rep in (0, 1):
        for month, (callers, ans_c, att_mean, answered, att_open, att, cb) in {
            "2020-09": (100, 40, 3.0, 38, 280, 300, 2),
            "2020-10": (300, 150, 4.0, 140, 1100, 1200, 10),
            "2020-08": (999, 0, 9.0, 0, 1, 1, 0),  # outside Sep-Dec: ignored
        }.items():
            for kpi, v in dict(callers=callers, callers_answered=ans_c, mean_attempts=att_mean,
                               answered=answered, attempts_open=att_open, attempts=att,
                               callers_answered_callback=cb, utilisation=0.5).items():
                rows.append((rep, "month", month, kpi, float(v)))
    per_rep = pd.DataFrame(rows, columns=["replication", "by", "key", "kpi", "value"])
    s = cal.period_stats(per_rep).iloc[0]
    assert s["answer_rate_caller"] == pytest.approx(190 / 400)
    assert s["mean_attempts"] == pytest.approx((300 + 1200) / 400)
    assert s["answer_rate_attempt"] == pytest.approx(178 / 1380)
    assert s["answered"] == 178 + 12


def test_residuals_are_zero_in_the_middle_of_the_published_ranges():
    s = {"answered": 1824.0, "answer_rate_caller": 0.425, "answer_rate_attempt": 0.2,
         "mean_attempts": 3.5}
    np.testing.assert_allclose(cal.residuals(s, "caller", 1824.0), 0.0, atol=1e-12)
    # One quarter of the range is one unit.
    assert cal.residuals({**s, "answer_rate_attempt": 0.4375}, "attempt", 1824.0)[1] == pytest.approx(1.0)


def test_plot_functions_take_an_axis_and_return_it():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from sim.planning.fit_report import plot_channel_fit, plot_demand, plot_hour_profiles
    from sim.planning.fit_run import HOUR_PROFILES

    months = [f"2020-{m:02d}" for m in range(1, 13)]
    monthly = pd.DataFrame({"channel": "phone", "month": months, "observed": 400.0,
                            "fitted": 410.0, "simulated": 405.0, "sim_hw": 10.0,
                            "expected_demand": 1000.0})
    fig, ax = plt.subplots()
    assert plot_channel_fit(monthly, "phone", ax) is ax
    assert plot_demand(monthly, ax) is ax
    assert plot_hour_profiles(HOUR_PROFILES, ax) is ax
    plt.close(fig)


# ---------------------------------------------------------------------------------------
# End to end
# ---------------------------------------------------------------------------------------


@pytest.mark.slow
def test_fit_quick_writes_a_loadable_scenario_that_matches_the_totals(quick_fit):
    # conftest.quick_fit: fit --quick --reading per_caller (per_caller sets nothing: the
    # default fit, written under fitted/per_caller/ beside its base.yaml)
    out = quick_fit / "results" / "fit" / "per_caller"
    scen = quick_fit / "scenarios" / "fitted" / "per_caller"
    assert (scen / "base.yaml").is_file()
    for name in ("fit.txt", "meta.json", "parameters.csv", "parameters.txt", "calibration.csv",
                 "goodness_of_fit.csv", "monthly.csv", "totals.csv", "campaign_window.csv",
                 "hour_profile_sensitivity.csv", "scenario.yaml",
                 "figures/fitted_vs_observed.png", "figures/fitted_vs_observed.svg"):
        assert (out / name).is_file(), name
    meta = json.loads((out / "meta.json").read_text())
    assert meta["quick"] and meta["seed"] == 1 and meta["wall_time_s"] > 0

    fitted = load_scenario(scen / "fitted_2020.yaml")
    assert fitted.name == "fitted_2020"
    assert {e.kind for e in fitted.demand.phone.events} == {"lockdown", "campaign"}
    no_lock = load_scenario(scen / "fitted_2020_no_lockdown.yaml")
    assert all(e.kind == "campaign" for e in no_lock.demand.chat.events)
    assert no_lock.demand.phone.annual == fitted.demand.phone.annual
    no_camp = load_scenario(scen / "fitted_2020_no_campaigns.yaml")
    assert all(e.kind == "lockdown" for e in no_camp.demand.email.events)

    # Simulated answered 2020 per channel vs published: tolerance = 95% CI half-width of
    # the check run + the fit's own error (fitted mean - published) + the demand change
    # of the last fixed-point step (quick mode stops before convergence).
    tot = pd.read_csv(out / "totals.csv").set_index("channel")
    step = pd.read_csv(out / "iterations.csv")["max_rel_change_demand"].iloc[-1]
    for c in ("phone", "chat", "email"):
        r = tot.loc[c]
        tol = r["sim_hw"] + abs(r["fit_error"]) + step * r["observed"]
        assert abs(r["simulated"] - r["observed"]) <= tol, (c, r.to_dict(), tol)


# ---------------------------------------------------------------------------------------
# The calibration's search (issue 16: Broyden updates instead of differences per step)
# ---------------------------------------------------------------------------------------


def test_residual_map_is_the_derivative_of_the_residuals():
    """residuals(s1) - residuals(s0) == M (stat_vector(s1) - stat_vector(s0)) exactly
    for both readings (the residuals are affine in the statistics)."""
    s0 = {"answered": 1700.0, "answer_rate_caller": 0.39, "answer_rate_attempt": 0.12,
          "mean_attempts": 3.8}
    s1 = {"answered": 1900.0, "answer_rate_caller": 0.44, "answer_rate_attempt": 0.15,
          "mean_attempts": 3.3}
    for reading in cal.READINGS:
        d_res = cal.residuals(s1, reading, 1824.0) - cal.residuals(s0, reading, 1824.0)
        d_y = cal.stat_vector(s1) - cal.stat_vector(s0)
        np.testing.assert_allclose(cal.residual_map(reading) @ d_y, d_res, rtol=1e-12,
                                   err_msg=f"{reading}: mapped statistics vs residual change")


def test_broyden_update_meets_the_secant_and_keeps_other_directions():
    rng = np.random.default_rng(5)
    J = rng.normal(size=(4, 3))
    scale = np.array([0.05, 0.1, 0.05])
    dx, dy = np.array([0.1, -0.05, 0.02]), rng.normal(size=4)
    J1 = cal.broyden_update(J, dx, dy, scale)
    np.testing.assert_allclose(J1 @ dx, dy, rtol=1e-12, err_msg="secant equation J' dx = dy")
    # A direction orthogonal to dx in the scaled inner product is left alone.
    w = dx / scale**2
    v = np.array([w[1], -w[0], 0.0])
    assert abs(v @ w) < 1e-12
    np.testing.assert_allclose(J1 @ v, J @ v, rtol=1e-12, err_msg="J changed off the step")


def _fake_response(monkeypatch):
    """Replace the simulation by a smooth, deterministic response of the statistics to
    (handling, persistence, demand), counting the simulations asked for."""
    calls = []

    def fake_scenario(base_path, base, phone_demand, b, s):
        return (b.handling_scale, b.persistence, s)

    class _Result:
        def __init__(self, x):
            self.x = x

        def kpis(self):
            return self.x

    def fake_run(x, reps, seed, **kw):
        calls.append(x)
        return _Result(x)

    def fake_stats(x):
        h, p, s = x
        lh, ls = np.log(h), np.log(s)
        # Curved in every direction, so that one Newton step does not suffice.
        return {"answered": 1824.0 * np.exp(0.55 * ls - 0.45 * lh + 0.8 * (p - 0.85) - 0.3 * lh**2),
                "answer_rate_caller": 0.40 - 0.09 * lh - 0.12 * ls + 0.9 * (p - 0.85) + 0.1 * ls**2,
                "answer_rate_attempt": 0.13 - 0.05 * lh - 0.04 * ls - 0.3 * (p - 0.85),
                "mean_attempts": 3.3 + 0.35 * lh + 0.3 * ls + 6.0 * (p - 0.85) + 0.2 * lh * ls
                + 40 * (p - 0.85) ** 2}

    monkeypatch.setattr(cal, "calibration_scenario", fake_scenario)
    monkeypatch.setattr(cal, "load_scenario", lambda path: None)
    monkeypatch.setattr(cal, "run", fake_run)
    monkeypatch.setattr(cal, "period_stats", lambda x: x)
    monkeypatch.setattr(cal, "summarise_stats", fake_stats)
    return calls


def test_broyden_calibration_reaches_the_targets_with_fewer_simulations(monkeypatch):
    """On a smooth response with a known solution, the search with Broyden updates
    meets the same stopping rule (every residual within 0.4) as forward differences at
    every step, with fewer simulations; a Jacobian handed on (``jac0``) saves the first
    differences of the next calibration too."""
    calls = _fake_response(monkeypatch)
    start = cal.Behaviour(0.5, 0.95, 5.0)
    n, out = {}, {}
    for broyden in (False, True):
        calls.clear()
        out[broyden] = cal.calibrate(Path("x"), None, 1824.0, "caller", start, 2, 1,
                                     max_evals=12, broyden=broyden)
        n[broyden] = len(calls)
        assert np.all(np.abs(out[broyden].residuals) <= 0.4), (
            f"broyden={broyden}: residuals {out[broyden].residuals} not within 0.4")
    assert n[True] < n[False], f"simulations: Broyden {n[True]} vs differences {n[False]}"
    calls.clear()
    again = cal.calibrate(Path("x"), None, 1824.0, "caller", cal.Behaviour(1.1, 0.86, 5.0), 2, 1,
                          max_evals=12, jac0=out[True].jacobian)
    assert np.all(np.abs(again.residuals) <= 0.4), f"with jac0: residuals {again.residuals}"
    assert len(calls) < n[False], f"with jac0: {len(calls)} simulations vs {n[False]}"


# ---------------------------------------------------------------------------------------
# What the fit may reuse and where its CPU goes (issue 16)
# ---------------------------------------------------------------------------------------


def _fortnight(over=None):
    # Two weeks of the 2020 baseline around the first lockdown: every channel busy.
    return load_scenario(BASELINE, {"horizon.start": "2020-03-16", "horizon.end": "2020-03-29",
                                    **(over or {})})


def test_chat_and_email_do_not_depend_on_the_phone():
    # The fit reuses chat and e-mail KPIs of one simulation in another that differs in
    # the phone only (hour-profile sensitivity): they must be the same to the bit.
    from sim.experiments.replications import run_replication
    from sim.planning.fit_run import is_other_channel_kpi, other_channels_key

    a = _fortnight()
    morning = [0.02] * 7 + [0.3, 1.2, 2.6, 2.4, 2.0, 1.4, 1.2, 1.0, 0.8, 0.6, 0.5, 0.3, 0.25,
                            0.2, 0.15, 0.1, 0.05]
    b = _fortnight({"demand.phone.annual": 3 * a.demand.phone.annual,
                    "demand.phone.hour_profile": morning, "phone.redial.probability": [0.95]})
    assert other_channels_key(a) == other_channels_key(b) is not None
    ka, kb = run_replication(a, 3, 0).kpis, run_replication(b, 3, 0).kpis
    other_a, other_b = ka[is_other_channel_kpi(ka["kpi"])], kb[is_other_channel_kpi(kb["kpi"])]
    assert len(other_a) > 20 and other_a["kpi"].str.contains("chat_answered").any()
    pd.testing.assert_frame_equal(other_a.reset_index(drop=True), other_b.reset_index(drop=True))
    phone_a = ka.loc[ka["kpi"] == "answered", "value"].iloc[0]
    assert phone_a != kb.loc[kb["kpi"] == "answered", "value"].iloc[0]  # the phone did change
    # A different chat demand, e-mail blending or channel switching: nothing to reuse.
    assert other_channels_key(_fortnight({"demand.chat.annual": 2 * a.demand.chat.annual})) \
        != other_channels_key(a)
    assert other_channels_key(_fortnight({"email.blending": True})) is None


def test_phone_window_count_counts_what_the_tables_count():
    from sim.model.eventlog import ANSWERED, END_CALLBACK
    from sim.model.helpline import Helpline
    from sim.model.streams import Streams
    from sim.planning.fit_run import phone_window_count

    scn = _fortnight()
    model = Helpline(scn, Streams(2, 0))
    log = model.run()
    lo, hi = 3 * 86400.0 + 0.5, 9 * 86400.0
    a, c = log.attempts_table(), log.callers_table()
    t = (a["at"] + a["wait_s"])[a["outcome"] == ANSWERED]
    cb = c.loc[c["end"] == END_CALLBACK, "end_at"]
    want = int(((t >= lo) & (t < hi)).sum() + ((cb >= lo) & (cb < hi)).sum())
    assert want > 100
    assert phone_window_count(scn, model, log, lo, hi) == want


def test_cost_meter_counts_replications_and_worker_cpu_per_step():
    from sim.experiments.executors import Serial
    from sim.planning.fit_cost import CostMeter

    scn = _fortnight()
    meter = CostMeter()
    ex = meter.executor(Serial())
    with meter.step("two batches"):
        assert list(ex.map(len, [(scn, 1, 0, ("phone",)), (scn, 1, 1, ("phone",))])) == [4, 4]
        assert list(ex.map(len, [(scn, 1, 0)])) == [3]
    with meter.step("nothing"):
        pass
    t = meter.table().set_index("step")
    assert t.loc["two batches", "simulations"] == 2 and t.loc["two batches", "replications"] == 3
    assert t.loc["two batches", "replication_days"] == 3 * 14
    assert t.loc["two batches", "channels"] == "all, phone"
    # Serial tasks run in this process: counted once, as the main process's CPU.
    assert t.loc["two batches", "cpu_workers_s"] == 0
    assert t.loc["nothing", "simulations"] == 0 and t.loc["total", "replications"] == 3


def test_bootstrap_on_a_process_pool_equals_the_serial_bootstrap(spec, model):
    # The fit spreads the bootstrap's refits over its pool: the samples are drawn first,
    # so the table must be the same to the bit however the refits are grouped.
    from sim.experiments.executors import Processes

    resp = _response(model)
    obs = F.simulate_counts(resp.A, 0.003, float(resp.A[:, 12].sum() / resp.A[:, 1].sum()),
                            np.random.default_rng(0))
    best = F.fit(model, resp, obs, TRUE)
    small = F.DemandModel(spec, sub=1)
    serial = F.bootstrap(small, resp, best, 5, seed=1)
    with Processes(2, keep=True) as ex:
        pooled = F.bootstrap(small, resp, best, 5, seed=1, mapper=ex.map, chunks=3)
    assert len(serial) == 5
    pd.testing.assert_frame_equal(serial, pooled, check_exact=True)


def test_report_only_precision_options_leave_the_defaults_alone():
    import argparse

    from sim.cli.fit import add_arguments
    from sim.planning.fit_run import Settings

    p = argparse.ArgumentParser()
    add_arguments(p)
    default = Settings.from_args(p.parse_args([]))
    assert default.report_reps is None and default.counterfactual_reps == default.check_reps == 20
    assert (default.other_cal_evals, default.delay_cal_evals) == (4, 3)
    lean = Settings.from_args(p.parse_args(["--report-reps", "6", "--other-cal-evals", "0",
                                            "--delay-cal-evals", "1"]))
    assert (lean.counterfactual_reps, lean.other_cal_evals, lean.delay_cal_evals) == (6, 0, 1)
    # --quick first, the named option after it.
    assert Settings.from_args(p.parse_args(["--quick", "--other-cal-evals", "2"])).other_cal_evals == 2
    for bad in (["--report-reps", "1"], ["--report-reps", "21"], ["--delay-cal-evals", "-1"]):
        with pytest.raises(ValueError):
            Settings.from_args(p.parse_args(bad))
