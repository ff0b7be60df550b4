"""The joint growth model: likelihood against dense multivariate normals (SciPy), gradient against
finite differences, the LKJ density against its Beta marginal, data preparation, tables.

Reference values come from outside the code under test: ``scipy.stats.multivariate_normal`` on
the explicit covariance ``Z_i G Z_i' + R_i`` built here from the long data, PyTensor's
finite-difference ``verify_grad``, ``scipy.stats.beta``, and the package's observed baseline SD.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from mbtbayes.core.errors import DataError, SpecError
from mbtbayes.growth.joint.data import Scaling, make_scaling, prepare
from mbtbayes.growth.joint.kernel import marginal_loglik
from mbtbayes.growth.joint.model import residuals

OUT = ("a", "b", "c")


def _random_cov(rng: np.random.Generator, sd: np.ndarray) -> np.ndarray:
    x = rng.normal(size=(len(sd), len(sd) + 2))
    cov = x @ x.T
    d = np.sqrt(np.diag(cov))
    return sd[:, None] * cov / np.outer(d, d) * sd[None, :]


def _long_data(rng: np.random.Generator, n: int = 7, share_missing: float = 0.3) -> pd.DataFrame:
    """Patients with 1-4 visits (so padding), values missing at random (many patterns)."""
    rows = []
    for i in range(n):
        for v in range(rng.integers(1, 5)):
            rows.append({"patient_id": f"p{i}", "period": "I" if i % 2 else "II",
                         "months": float(v * 6 + rng.uniform(0, 2)),
                         **{o: rng.normal() for o in OUT}})
    data = pd.DataFrame(rows)
    holes = rng.random((len(data), len(OUT))) < share_missing
    holes[np.arange(len(data)), rng.integers(0, len(OUT), len(data))] = False  # >= 1 observed
    data[list(OUT)] = data[list(OUT)].mask(holes)
    return data


def _identity_scaling(outcomes=OUT) -> Scaling:
    k = len(outcomes)
    return Scaling(tuple(outcomes), np.zeros(k), np.ones(k), np.ones(k))


def _dense_loglik(data: pd.DataFrame, par: dict, outcomes=OUT) -> np.ndarray:
    """Per patient, scipy's MVN log-pdf of the observed values from the explicit covariance."""
    k = len(outcomes)
    out = []
    for _, rows in data.groupby("patient_id", sort=False):
        cells = [(t, o, y) for t, (_, r) in enumerate(rows.iterrows()) for o, name in
                 enumerate(outcomes) if not np.isnan(y := r[name])]
        visit = np.array([c[0] for c in cells])
        o_idx = np.array([c[1] for c in cells])
        months = rows["months"].to_numpy()[visit]
        p = float(rows["period"].iloc[0] == "II")
        mean = (par["b0"][o_idx] + par["b1"][o_idx] * months
                + p * (par["di"][o_idx] + par["ds"][o_idx] * months))
        Z = np.zeros((len(cells), 2 * k))
        Z[np.arange(len(cells)), o_idx] = 1.0
        Z[np.arange(len(cells)), k + o_idx] = months
        same = visit[:, None] == visit[None, :]
        cov = Z @ par["G"] @ Z.T + np.where(same, par["R"][np.ix_(o_idx, o_idx)], 0.0)
        out.append(stats.multivariate_normal(mean, cov).logpdf([c[2] for c in cells]))
    return np.array(out)


def _parameters(rng: np.random.Generator, k: int) -> dict:
    return {"b0": rng.normal(0, 0.3, k), "b1": rng.normal(0.04, 0.02, k),
            "di": rng.normal(-0.2, 0.2, k), "ds": rng.normal(0, 0.01, k),
            "G": _random_cov(rng, np.r_[np.full(k, 0.8), np.full(k, 0.05)]),
            "R": _random_cov(rng, rng.uniform(0.3, 0.8, k))}


@pytest.mark.parametrize(("seed", "outcomes", "share"), [(1, OUT, 0.0), (2, OUT, 0.3),
                                                         (3, OUT, 0.6), (4, ("a",), 0.0),
                                                         (5, ("b", "c"), 0.4)])
def test_likelihood_equals_dense_multivariate_normal(seed, outcomes, share):
    rng = np.random.default_rng(seed)
    data = _long_data(rng, share_missing=share)
    data = data.dropna(subset=list(outcomes), how="all")
    jd = prepare(data, outcomes=outcomes, scaling=_identity_scaling(outcomes))
    assert jd.y.shape[1] > 1 and (jd.code == 0).any()  # padding present
    for _ in range(3):
        par = _parameters(rng, len(outcomes))
        r = residuals(jd.arrays(), par["b0"], par["b1"], par["di"], par["ds"])
        ours = marginal_loglik(r, jd.code, jd.time, np.linalg.cholesky(par["G"]),
                               np.linalg.cholesky(par["R"]), np.ones(len(jd.patients)), False)[0]
        np.testing.assert_allclose(ours, _dense_loglik(data, par, outcomes), rtol=0, atol=1e-9)


def test_op_in_a_graph_equals_the_kernel():
    import pytensor.tensor as pt

    from mbtbayes.growth.joint.ops import marginal_loglik_op, marginal_loglik_sum_op

    rng = np.random.default_rng(8)
    data = _long_data(rng)
    jd = prepare(data, outcomes=OUT, scaling=_identity_scaling())
    par = _parameters(rng, 3)
    r = residuals(jd.arrays(), par["b0"], par["b1"], par["di"], par["ds"])
    lg, lr = np.linalg.cholesky(par["G"]), np.linalg.cholesky(par["R"])
    per = marginal_loglik_op(r, jd.code, jd.time, lg, lr).eval()
    total = marginal_loglik_sum_op(pt.as_tensor(r), jd.code, jd.time, lg, lr).eval()
    np.testing.assert_allclose(per, _dense_loglik(data, par),
                               atol=1e-9)
    assert float(total) == pytest.approx(per.sum(), abs=1e-9)


@pytest.mark.parametrize("which", ["per_patient", "total"])
def test_gradient_matches_finite_differences(which):
    import pytensor
    import pytensor.tensor as pt

    from mbtbayes.growth.joint.ops import marginal_loglik_op, marginal_loglik_sum_op

    rng = np.random.default_rng(3)
    n_pat, n_vis, k = 5, 3, 3
    mask = (rng.random((n_pat, n_vis, k)) < 0.7).astype(float)
    mask[-1, -1] = 0.0  # a padded visit
    code = (mask * 2 ** np.arange(k)).sum(-1).astype(np.int64)
    time = rng.uniform(0, 30, (n_pat, n_vis))
    par = _parameters(rng, k)
    weights = rng.normal(size=n_pat)

    def fn(r_, lg_, lr_):
        args = (r_ * mask, code, time, pt.tril(lg_), pt.tril(lr_))
        if which == "total":
            return marginal_loglik_sum_op(*args)
        return (marginal_loglik_op(*args) * weights).sum()

    pytensor.gradient.verify_grad(
        fn, [rng.normal(size=mask.shape) * mask, np.linalg.cholesky(par["G"]),
             np.linalg.cholesky(par["R"])], rng=rng, abs_tol=1e-4, rel_tol=1e-4)


def test_lkj_density_of_two_dimensions_is_the_beta_marginal():
    """n = 2, eta = 2: (r + 1) / 2 ~ Beta(2, 2); with r = tanh(raw) the density of raw is
    Beta(2, 2)((r + 1) / 2) / 2 * (1 - r^2)."""
    import pytensor.tensor as pt

    from mbtbayes.growth.joint.model import lkj_cholesky_cpc

    raw = pt.vector("raw")
    chol, logp = lkj_cholesky_cpc(raw, 2, 2.0)
    for value in (-1.3, 0.0, 0.4, 2.0):
        r = np.tanh(value)
        expected = stats.beta(2, 2).logpdf((r + 1) / 2) - np.log(2) + np.log1p(-r**2)
        got = logp.eval({raw: np.array([value])})
        # a normalised density up to the constant: compare differences to raw = 0
        base = stats.beta(2, 2).logpdf(0.5) - np.log(2)
        assert got - logp.eval({raw: np.array([0.0])}) == pytest.approx(expected - base)
        L = chol.eval({raw: np.array([value])})
        assert (L @ L.T)[1, 0] == pytest.approx(r)


def test_scaling_uses_the_observed_baseline_and_aligns_direction():
    from mbtbayes.growth.baseline import observed_baseline_sd
    from mbtbayes.io.register import load_register

    data = load_register().data
    sc = make_scaling(data, ("bsi", "gaf"))
    for j, outcome in enumerate(sc.outcomes):
        assert sc.sd[j] == pytest.approx(observed_baseline_sd(
            data, outcome=outcome, time="months", group="patient_id", period="period"))
    assert sc.sign.tolist() == [-1.0, 1.0]  # BSI: higher is worse; GAF: higher is better
    jd = prepare(data, outcomes=("bsi", "gaf"))
    assert jd.n_values == int(data[["bsi", "gaf"]].notna().sum().sum())
    first = data.dropna(subset=["bsi"]).iloc[0]
    assert jd.y[0, 0, 0] == pytest.approx(-(first["bsi"] - sc.mean[0]) / sc.sd[0])


def test_prepare_refuses_bad_data():
    rng = np.random.default_rng(0)
    data = _long_data(rng)
    both = data.copy()
    both.loc[both.index[0], "period"] = "I" if both.loc[both.index[1], "period"] == "II" else "II"
    with pytest.raises(DataError, match="both periods"):
        prepare(both, outcomes=OUT, scaling=_identity_scaling())
    with pytest.raises(DataError, match="not in the data"):
        prepare(data, outcomes=("a", "zzz"))
    with pytest.raises(DataError, match="two levels"):
        prepare(data.assign(period="I"), outcomes=OUT, scaling=_identity_scaling())


def test_fit_joint_refuses_bad_options():
    from mbtbayes.growth.joint.fit import fit_joint
    from mbtbayes.io.register import load_register

    data = load_register().data
    with pytest.raises(SpecError, match="variant"):
        fit_joint(data, variant="both")
    with pytest.raises(SpecError, match="list of columns"):
        fit_joint(data, outcomes="bsi")
    with pytest.raises(SpecError, match="unknown prior"):
        fit_joint(data, priors={"tau": 1.0})


def _fake_fit(rng: np.random.Generator, variant: str = "period", passed: bool = True,
              shape: tuple[int, int] = (2, 50)):
    """A JointFit with made-up draws (2 chains x 50) on small data: tables without sampling;
    the data are on ``fit.long_data``."""
    import arviz as az

    from mbtbayes.core.sampling import Diagnostics
    from mbtbayes.growth.joint.fit import JointFit

    data = _long_data(rng, n=9)
    jd = prepare(data, outcomes=OUT,
                 scaling=Scaling(OUT, np.zeros(3), np.array([1.0, 2.0, 5.0]),
                                 np.array([-1.0, 1.0, -1.0])))
    if variant == "no_period":
        jd = jd.without_period()
    corr_g = np.broadcast_to(_random_cov(rng, np.ones(6)), (*shape, 6, 6))
    corr_r = np.broadcast_to(_random_cov(rng, np.ones(3)), (*shape, 3, 3))
    post = {"intercept": rng.normal(0, 0.1, (*shape, 3)), "slope": rng.normal(0.04, 0.01,
                                                                              (*shape, 3)),
            "delta_int": rng.normal(-0.2, 0.1, (*shape, 3)),
            "delta_slope": rng.normal(0, 0.01, (*shape, 3)),
            "mu_int": rng.normal(-0.2, 0.1, shape), "mu_slope": rng.normal(0, 0.01, shape),
            "tau_int": np.abs(rng.normal(0, 0.1, shape)),
            "tau_slope": np.abs(rng.normal(0, 0.01, shape)),
            "patient_stds": np.abs(rng.normal(0.5, 0.05, (*shape, 6))), "patient_corr": corr_g,
            "resid_stds": np.abs(rng.normal(0.5, 0.05, (*shape, 3))), "resid_corr": corr_r}
    diag = Diagnostics(1.0, 500, 500, 0, passed, reason="" if passed else "R-hat 1.2 > 1.01")
    fit = JointFit(jd, variant, True, az.from_dict(posterior=post), diag, 1.0, 0.0, {})
    object.__setattr__(fit, "long_data", data)
    return fit


def test_joint_table_rows_estimands_and_flags():
    from mbtbayes.growth.joint.summaries import joint_table

    fit = _fake_fit(np.random.default_rng(4), passed=False)
    table = joint_table(fit, fit.long_data)
    assert not table["passed"].any() and (table["reason"] == "R-hat 1.2 > 1.01").all()
    assert table["interval"].eq("95% HDI").all() and table["estimand"].str.len().gt(0).all()
    row = table.set_index(["outcome", "quantity"])
    di, ds = fit.draws("delta_int"), fit.draws("delta_slope")
    # c: sign -1, sd 5 -> in its own units the contrast is -5 x the standardised one
    assert row.loc[("c", "contrast_24_std"), "joint_mean"] == pytest.approx(
        (di[:, 2] + 24 * ds[:, 2]).mean())
    assert row.loc[("c", "contrast_24"), "joint_mean"] == pytest.approx(
        -5 * (di[:, 2] + 24 * ds[:, 2]).mean())
    assert row.loc[("pooled", "pooled_contrast_24_std"), "joint_mean"] == pytest.approx(
        (fit.draws("mu_int") + 24 * fit.draws("mu_slope")).mean())
    assert row.loc[("a~c", "slope_corr"), "joint_mean"] == pytest.approx(
        fit.draws("patient_corr")[:, 5, 3].mean())
    assert row.loc[("a", "d_I"), "direction"] == "own scale: higher = worse"
    assert row.loc[("b", "d_I"), "direction"] == "own scale: higher = better"
    assert row.loc[("a", "contrast_24_std"), "direction"].startswith("aligned")
    assert table["single_mean"].isna().all()  # no single-outcome fits given
    assert len(table) == 3 * 4 + 6 + 3 * 3


def test_loo_comparison_is_paired_over_patients():
    from mbtbayes.core.arviz_api import psis_loo
    from mbtbayes.growth.joint.summaries import comparison_table, patient_loglik

    period = _fake_fit(np.random.default_rng(5))
    no_period = _fake_fit(np.random.default_rng(5), variant="no_period")
    table = comparison_table(period, no_period)
    a, b = psis_loo(patient_loglik(period))[3], psis_loo(patient_loglik(no_period))[3]
    assert table["elpd_diff"].iloc[0] == pytest.approx((a - b).sum())
    assert table["elpd"].tolist() == pytest.approx([a.sum(), b.sum()])
    assert table["passed"].all()


def test_pareto_k_over_the_limit_is_unreliable_and_falls_back_to_kfold():
    """A Pareto k above the limit makes the PSIS comparison unreliable; with K-fold given,
    the differences are the K-fold ones and reliability is the refits' gate."""
    from mbtbayes.growth.joint.summaries import JointKfold, comparison_table

    period = _fake_fit(np.random.default_rng(5))
    no_period = _fake_fit(np.random.default_rng(5), variant="no_period")
    psis = comparison_table(period, no_period)
    assert psis["loo_method"].eq("psis_marginal_patient").all()
    flagged = comparison_table(period, no_period, k_limit=-1.0)
    assert not flagged["loo_reliable"].any() and "unreliable" in flagged["method"].iloc[0]
    n = len(period.data.patients)
    values = {"period": np.full(n, -1.0), "no_period": np.full(n, -1.5)}
    ok = comparison_table(period, no_period, k_limit=-1.0,
                          kfold=lambda f: JointKfold(values[f.variant], True, 3))
    assert ok["loo_reliable"].all() and ok["loo_method"].eq("kfold_marginal_patient_3").all()
    assert ok["elpd_diff"].iloc[0] == pytest.approx(0.5 * n)  # (-1 - -1.5) per patient
    assert ok["elpd"].tolist() == pytest.approx([-n, -1.5 * n])
    assert ok["psis_elpd_diff"].iloc[0] == pytest.approx(psis["elpd_diff"].iloc[0])
    bad = comparison_table(period, no_period, k_limit=-1.0,
                           kfold=lambda f: JointKfold(values[f.variant], f.variant != "period",
                                                      3))
    assert not bad["loo_reliable"].any()


def test_kfold_joint_shares_folds_and_leaves_each_patient_out_once(monkeypatch):
    """Both models are refitted on the same training patients per fold; every patient is
    left out exactly once and scored under the refit of the fold that left it out."""
    import mbtbayes.growth.joint.summaries as joint_summaries
    from mbtbayes.growth.joint.summaries import kfold_joint, patient_loglik

    period = _fake_fit(np.random.default_rng(5))
    no_period = _fake_fit(np.random.default_rng(5), variant="no_period")
    trained: dict[str, list] = {"period": [], "no_period": []}
    refits = {"period": period, "no_period": no_period}

    def fake_sample(jd, *, sampling, variant, seed, priors, pooled, **_):
        trained[variant].append(set(jd.patients))
        return refits[variant]  # the draws do not depend on the training set here

    monkeypatch.setattr(joint_summaries, "sample_joint", fake_sample)
    results = {v: kfold_joint(f, k=3, seed=11) for v, f in refits.items()}
    assert trained["period"] == trained["no_period"] and len(trained["period"]) == 3
    everyone = set(period.data.patients)
    held = [everyone - t for t in trained["period"]]
    assert set().union(*held) == everyone and sum(map(len, held)) == len(everyone)
    from scipy.special import logsumexp

    ll = patient_loglik(period).reshape(-1, len(everyone))  # same draws in every fold
    expected = logsumexp(ll, axis=0) - np.log(ll.shape[0])
    assert results["period"].pointwise == pytest.approx(expected)
    assert results["period"].refits_passed


def _no_fitting(*args, **kwargs):
    raise AssertionError("the joint model was fitted again")


def test_joint_tables_takes_the_joint_fits_made_before(monkeypatch):
    """``mb.joint_tables(fits, data, joint=...)`` tables the given fits: nothing is fitted
    (fit_joint and the sampler would raise), and the tables are those of the fits given."""
    import mbtbayes as mb
    from mbtbayes.growth.joint import fit as joint_fit
    from mbtbayes.growth.joint import summaries
    from mbtbayes.growth.joint.summaries import comparison_table, joint_table

    period = _fake_fit(np.random.default_rng(5))
    no_period = _fake_fit(np.random.default_rng(5), variant="no_period")
    data = period.long_data
    for module in (joint_fit, summaries):  # summaries: its K-fold refits (none here)
        monkeypatch.setattr(module, "sample_joint", _no_fitting)
    monkeypatch.setattr(joint_fit, "fit_joint", _no_fitting)
    lines = []
    tables = mb.joint_tables([], data, joint=[period, no_period], log=lines.append)
    pd.testing.assert_frame_equal(tables["joint_model"], joint_table(period, data))
    pd.testing.assert_frame_equal(tables["joint_model_comparison"],
                                  comparison_table(period, no_period))
    assert lines == []
    with pytest.raises(SpecError, match="one fit per variant"):
        mb.joint_tables([], data, joint=[period, period])
    other = _fake_fit(np.random.default_rng(6))  # other patients
    with pytest.raises(DataError, match="other data"):
        mb.joint_tables([], data, joint=[other, no_period])


def test_joint_tables_fits_only_the_variant_not_given(monkeypatch):
    """Given the period fit alone, only the no-period model is fitted, on its outcomes with its
    priors, pooling and scaling (so in the same units)."""
    import mbtbayes as mb
    from mbtbayes.growth.joint import fit as joint_fit

    period = _fake_fit(np.random.default_rng(5))
    no_period = _fake_fit(np.random.default_rng(5), variant="no_period")
    calls = []

    def fake_fit_joint(data, **kwargs):
        calls.append(kwargs)
        return no_period

    monkeypatch.setattr(joint_fit, "fit_joint", fake_fit_joint)
    lines = []
    tables = mb.joint_tables([], period.long_data, joint=period, log=lines.append)
    assert len(calls) == 1 and calls[0]["variant"] == "no_period"
    assert calls[0]["outcomes"] == list(OUT) and calls[0]["scaling"] is period.data.scaling
    assert calls[0]["pooled"] is period.pooled and calls[0]["progress"] is False
    assert lines[0] == "joint model of a, b, c: fitting the no-period model"
    assert lines[1].startswith("joint no_period: compile 0 s, sampling 1 s, gate passed")
    assert set(tables) == {"joint_model", "joint_model_comparison"}


def test_fit_joint_shows_progress_by_default_and_not_with_progress_false(monkeypatch, capsys):
    from mbtbayes.growth.joint import fit as joint_fit

    made = _fake_fit(np.random.default_rng(5))
    monkeypatch.setattr(joint_fit, "sample_joint", lambda jd, **kwargs: made)  # no sampling
    assert joint_fit.fit_joint(made.long_data, outcomes=OUT) is made
    assert capsys.readouterr().err.splitlines() == [
        "[1/1] joint model: a, b, c (period): compiling its graph (once per outcome set), then "
        "sampling ...", "joint period: compile 0 s, sampling 1 s, gate passed"]
    joint_fit.fit_joint(made.long_data, outcomes=OUT, progress=False)
    assert capsys.readouterr() == ("", "")
