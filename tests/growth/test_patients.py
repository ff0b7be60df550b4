"""Patient effects given the population parameters: the conditional normal against the BLUP
formula, and the per-patient marginal log-likelihood by quadrature against the closed form
(itself checked against SciPy in test_loo) and against brute-force numerical integration
with SciPy densities."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, stats

from mbtbayes.growth.loo import marginal_loglik
from mbtbayes.growth.patients import Draws, conditional, draw_effects, quadrature_loglik


@pytest.fixture
def data():
    rng = np.random.default_rng(5)
    sizes = [1, 3, 7, 2, 4]
    group = np.repeat(np.arange(len(sizes)), sizes)
    time = np.concatenate([np.sort(rng.uniform(0, 36, k)) for k in sizes])
    X = np.column_stack([np.ones_like(time), time])
    y = 2 - 0.03 * time + rng.normal(0, 0.5, time.size)
    y[6] += 3.0  # an outlier, where the t family matters
    perm = rng.permutation(time.size)
    return {"y": y[perm], "X": X[perm], "Z": X[perm].copy(), "group": group[perm],
            "n_groups": len(sizes) + 1}  # the last patient has no rows


BETA = np.array([[1.9, -0.03], [2.1, -0.02]])
SDS = np.array([[0.6, 0.02], [0.4, 0.05]])
SIGMA = np.array([0.35, 0.5])


@pytest.mark.parametrize("corr", [None, np.array([-0.4, 0.3])])
def test_gaussian_quadrature_equals_the_closed_form(data, corr):
    draws = Draws(BETA, SDS, sigma=SIGMA, corr=corr)
    got = quadrature_loglik(draws, family="gaussian", **data)
    want = marginal_loglik(y=data["y"], X=data["X"], time=data["X"][:, 1], group=data["group"],
                           beta=BETA, sd_intercept=SDS[:, 0], sd_slope=SDS[:, 1], sigma=SIGMA,
                           corr=corr, n_groups=data["n_groups"])
    np.testing.assert_allclose(got, want, rtol=1e-10)
    assert (got[:, -1] == 0).all()


def test_student_t_quadrature_equals_brute_force_integration(data):
    nu = np.array([4.0, 25.0])
    draws = Draws(BETA, SDS, sigma=SIGMA, nu=nu)
    got = quadrature_loglik(draws, family="t", **data)
    for s in range(2):
        for g in range(5):
            rows = data["group"] == g
            t, mean = data["X"][rows, 1], data["X"][rows] @ BETA[s]
            u0 = np.linspace(-8 * SDS[s, 0], 8 * SDS[s, 0], 801)
            u1 = np.linspace(-8 * SDS[s, 1], 8 * SDS[s, 1], 801)
            a, b = np.meshgrid(u0, u1, indexing="ij")
            eta = mean + a[..., None] + b[..., None] * t
            log_f = (stats.t(nu[s], eta, SIGMA[s]).logpdf(data["y"][rows]).sum(-1)
                     + stats.norm(0, SDS[s, 0]).logpdf(a) + stats.norm(0, SDS[s, 1]).logpdf(b))
            top = log_f.max()
            area = integrate.trapezoid(integrate.trapezoid(np.exp(log_f - top), u1), u0)
            assert got[s, g] == pytest.approx(top + np.log(area), abs=1e-3), (s, g)


def test_random_intercept_with_modelled_sigma_equals_scipy_quad(data):
    """One patient effect; the residual SD differs by row (sigma ~ x, log link)."""
    x = (data["X"][:, 1] > 18).astype(float)
    X_sigma = np.column_stack([np.ones_like(x), x])
    beta_sigma = np.array([[np.log(0.4), 0.3]])
    draws = Draws(BETA[:1], SDS[:1, :1], beta_sigma=beta_sigma, nu=np.array([6.0]))
    Z = np.ones((len(x), 1))
    got = quadrature_loglik(draws, family="t", X_sigma=X_sigma,
                            **{**data, "Z": Z})
    for g in range(5):
        rows = data["group"] == g
        scale = np.exp(X_sigma[rows] @ beta_sigma[0])
        mean = data["X"][rows] @ BETA[0]

        def f(u, rows=rows, scale=scale, mean=mean):
            return np.exp(stats.t(6.0, mean + u, scale).logpdf(data["y"][rows]).sum()
                          + stats.norm(0, SDS[0, 0]).logpdf(u))

        value, _ = integrate.quad(f, -10 * SDS[0, 0], 10 * SDS[0, 0], epsabs=1e-13, limit=200)
        assert got[0, g] == pytest.approx(np.log(value), abs=1e-3), g


def test_conditional_normal_is_the_blup_and_draws_follow_it(data):
    """Mean G Z' V^-1 (y - X b) and covariance G - G Z' V^-1 Z G (Henderson), per patient."""
    draws = Draws(BETA[:1], SDS[:1], sigma=SIGMA[:1], corr=np.array([0.3]))
    m, C = conditional(draws, **data)
    G = draws.covariance()[0]
    for g in range(5):
        rows = data["group"] == g
        Z = data["Z"][rows]
        V = Z @ G @ Z.T + SIGMA[0] ** 2 * np.eye(rows.sum())
        r = data["y"][rows] - data["X"][rows] @ BETA[0]
        np.testing.assert_allclose(m[0, g], G @ Z.T @ np.linalg.solve(V, r), rtol=1e-9)
        np.testing.assert_allclose(C[0, g], G - G @ Z.T @ np.linalg.solve(V, Z @ G), rtol=1e-9)
    many = Draws(np.repeat(BETA[:1], 20000, 0), np.repeat(SDS[:1], 20000, 0),
                 sigma=np.repeat(SIGMA[:1], 20000), corr=np.full(20000, 0.3))
    u = draw_effects(many, np.random.default_rng(0), **data)
    np.testing.assert_allclose(u[:, 2].mean(0), m[0, 2], atol=4 * np.sqrt(C[0, 2].diagonal()
                                                                          / 20000).max())
    np.testing.assert_allclose(np.cov(u[:, 2].T), C[0, 2], rtol=0.05)


@pytest.mark.parametrize("nu", [None, np.array([4.0, 25.0])])
def test_chunked_draws_give_the_same_arrays(data, monkeypatch, nu):
    """At register scale the draws are handled a few at a time (memory); one draw per chunk
    must give exactly what the whole stack gives, random draws included."""
    import mbtbayes.growth.patients as patients

    draws = Draws(BETA, SDS, sigma=SIGMA, nu=nu)
    family = "gaussian" if nu is None else "t"

    def arrays():
        effects = draw_effects(draws, np.random.default_rng(1), **data)
        pred = patients.predictive(draws, effects, np.random.default_rng(2), X=data["X"],
                                   Z=data["Z"], group=data["group"])
        ll = quadrature_loglik(draws, family=family, **data)
        closed = marginal_loglik(y=data["y"], X=data["X"], time=data["X"][:, 1],
                                 group=data["group"], beta=BETA, sd_intercept=SDS[:, 0],
                                 sd_slope=SDS[:, 1], sigma=SIGMA, n_groups=data["n_groups"])
        return effects, pred, ll, closed

    whole = arrays()
    monkeypatch.setattr(patients, "ELEMENTS", 1)
    assert len(patients.chunks(len(BETA), 10)) == len(BETA)
    for got, want in zip(arrays(), whole, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-12)


@pytest.mark.parametrize("corr", [None, np.array([-0.4, 0.3])])
def test_gaussian_effects_written_out_equal_the_conditional_with_the_same_noise(data, corr):
    """The entry-by-entry draws of a Gaussian model (intercept and slope) are the conditional
    normal's mean plus its Cholesky factor times the same standard normals (a patient without
    rows included: its prior)."""
    from mbtbayes.growth.patients import _cholesky

    draws = Draws(BETA, SDS, sigma=SIGMA, corr=corr)
    got = draw_effects(draws, np.random.default_rng(4), **data)
    m, C = conditional(draws, **data)
    noise = np.random.default_rng(4).standard_normal(m.shape)
    want = m + np.einsum("sgij,sgj->sgi", _cholesky(C), noise)
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(C[:, -1], draws.covariance(), rtol=1e-10)


def test_the_closed_form_cholesky_is_numpys() -> None:
    from mbtbayes.growth.patients import _cholesky

    rng = np.random.default_rng(11)
    a = rng.normal(size=(40, 3, 2, 2))
    cov = a @ np.swapaxes(a, -1, -2) + 0.05 * np.eye(2)
    np.testing.assert_allclose(_cholesky(cov), np.linalg.cholesky(cov), rtol=1e-10, atol=1e-12)
