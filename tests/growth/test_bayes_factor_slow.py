"""The Savage-Dickey Bayes factor against bridge sampling on real fits of the bundled register.

Bridge sampling (Meng & Wong 1996, *Statistica Sinica* 6:831-860, the iterative scheme of
their eq. 4.1; as in Gronau et al. 2017, *J. Math. Psychol.* 81:80-97) estimates each model's
marginal likelihood p(y | model) on its own: a multivariate normal proposal fitted to half of
the posterior draws (in the unconstrained space: coefficients, log SDs and atanh of the
correlation), the other half and as many proposal draws in the iteration. Everything it needs
is written here from outside the package: the design from the register's columns, each
patient's marginal normal density (``sigma^2 I + Z G Z'`` with ``G = diag(sd) R diag(sd)``
written out, NumPy's determinant and solve), the priors read from the spec's TOML file, SciPy's
densities. The bundled specs have correlated patient effects (``correlated = true``): the
2 x 2 correlation matrix ``R`` has the LKJ(eta) prior, whose density for two dimensions is
proportional to ``(1 - r^2)^(eta - 1)`` on (-1, 1), i.e. ``(r + 1) / 2 ~ Beta(eta, eta)``
(SciPy's Beta density), with eta the marginal engine's (``LKJ_ETA``; not a spec field); on
``z = atanh(r)`` the Jacobian is ``1 - r^2``. The package's Bayes factor (Rao-Blackwellised
Savage-Dickey, conditioning on the patient SDs, their correlation and the residual SD, and
reweighted to other prior widths) must agree with the ratio of the two bridge estimates; the
period model is refitted with its period priors' SDs x 0.5 and x 2 to check the reweighting
too. (Savage-Dickey that ignores the correlation misses by 0.25-0.65 on the log scale here.)

Tolerance: 4 x the combined Monte Carlo SE (bridge: the SD of ``REPS`` repetitions with new
splits and proposal draws; Savage-Dickey: its batch-means SE), and never below 0.1 on the log
scale (the shared MCMC draws are not in the bridge repetitions' spread).
"""

from __future__ import annotations

import dataclasses
import tomllib

import numpy as np
import pytest
from scipy import stats

import mbtbayes as mb
from mbtbayes.growth.bayes_factor import bayes_factors
from mbtbayes.growth.engine_choice import resolve_engine
from mbtbayes.growth.marginal import LKJ_ETA
from mbtbayes.growth.specs import models_dir

pytestmark = pytest.mark.slow
REPS = 5


def register_arrays(measure: str):
    """y, months, the Period II indicator and patient codes of the rows with the measure."""
    data = mb.load_register().data.dropna(subset=[measure])
    patient = data["patient_id"].astype(str).to_numpy()
    return (data[measure].to_numpy(float), data["months"].to_numpy(float),
            (data["period"] == "II").to_numpy(float), patient)


class Model:
    """Log posterior (unnormalised) of the growth model with normal patient effects, their
    intercept and slope correlated (LKJ(eta) prior on the correlation) or independent."""

    def __init__(self, measure: str, *, with_period: bool, period_scale: float = 1.0,
                 correlated: bool = True, eta: float = LKJ_ETA):
        self.correlated, self.eta = correlated, eta
        raw = tomllib.loads((models_dir() / f"{measure}.toml").read_text())["priors"]
        names = ["Intercept", "months"] + (["period", "months:period"] if with_period else [])
        self.mu = np.array([raw[n].get("mu", 0.0) for n in names], float)
        self.sd = np.array([raw[n]["sigma"] * (period_scale if "period" in n else 1.0)
                            for n in names], float)
        self.sd_scales = np.array([raw["1|patient_id"]["sigma"]["sigma"],
                                   raw["months|patient_id"]["sigma"]["sigma"],
                                   raw["sigma"]["sigma"]], float)
        y, t, two, patient = register_arrays(measure)
        X = np.column_stack([np.ones_like(t), t, two, t * two])[:, :len(names)]
        self.groups = []  # patients with k visits, stacked: (y, t, X)
        ids, sizes = np.unique(patient, return_counts=True)
        for k in np.unique(sizes):
            rows = [np.flatnonzero(patient == i) for i in ids[sizes == k]]
            rows = [r[np.argsort(t[r])] for r in rows]
            self.groups.append((np.array([y[r] for r in rows]), np.array([t[r] for r in rows]),
                                np.array([X[r] for r in rows])))
        self.n_rows, self.p = len(y), len(names)

    def loglik(self, beta, s0, s1, sigma, r) -> np.ndarray:
        """Sum of the patients' marginal log densities, ``V = sigma^2 I + Z G Z'``."""
        G = np.empty((len(beta), 2, 2))
        G[:, 0, 0], G[:, 1, 1] = s0**2, s1**2
        G[:, 0, 1] = G[:, 1, 0] = r * s0 * s1
        total = np.zeros(len(beta))
        for y, t, X in self.groups:
            k = t.shape[1]
            Z = np.stack([np.ones_like(t), t], axis=-1)  # (patients, k, 2)
            V = (sigma[:, None, None, None] ** 2 * np.eye(k)
                 + np.einsum("pka,sab,plb->spkl", Z, G, Z))
            e = y[None] - np.einsum("pkj,sj->spk", X, beta)
            _, logdet = np.linalg.slogdet(V)
            quad = np.einsum("spk,spk->sp", e, np.linalg.solve(V, e[..., None])[..., 0])
            total += (-0.5 * (k * np.log(2 * np.pi) + logdet + quad)).sum(1)
        return total

    @property
    def dim(self) -> int:
        """Length of phi."""
        return self.p + 3 + self.correlated

    def log_q(self, phi: np.ndarray) -> np.ndarray:
        """Unnormalised log posterior in (beta, log s0, log s1, log sigma[, atanh r]),
        Jacobians included."""
        beta, log_sd = phi[:, :self.p], phi[:, self.p:self.p + 3]
        sd = np.exp(log_sd)
        prior = (stats.norm.logpdf(beta, self.mu, self.sd).sum(1)
                 + (np.log(2) + stats.norm.logpdf(sd, 0, self.sd_scales)).sum(1)
                 + log_sd.sum(1))
        r = np.zeros(len(phi))
        if self.correlated:
            z = phi[:, -1]
            r = np.tanh(z)
            # LKJ(eta) for 2 x 2: (r + 1) / 2 ~ Beta(eta, eta); dr/dz = 1 - r^2 = 4 e^-2|z| /
            # (1 + e^-2|z|)^2, written so that it does not underflow in the tails
            log_jacobian = np.log(4.0) - 2 * np.abs(z) - 2 * np.log1p(np.exp(-2 * np.abs(z)))
            prior += (stats.beta.logpdf((r + 1) / 2, self.eta, self.eta) - np.log(2)
                      + log_jacobian)
        return self.loglik(beta, *sd.T, r) + prior


def bridge_log_ml(model: Model, draws: np.ndarray, log_q_draws: np.ndarray, rng) -> float:
    """One bridge-sampling estimate of log p(y | model) from posterior draws of phi (and their
    unnormalised log posterior, computed once for every repetition)."""
    order = rng.permutation(len(draws))
    fit, use = order[: len(draws) // 2], order[len(draws) // 2:]
    proposal = stats.multivariate_normal(draws[fit].mean(0), np.cov(draws[fit], rowvar=False))
    extra = proposal.rvs(size=len(use), random_state=rng)
    l1 = log_q_draws[use] - proposal.logpdf(draws[use])
    l2 = model.log_q(extra) - proposal.logpdf(extra)
    shift = np.median(l1)
    e1, e2 = np.exp(l1 - shift), np.exp(l2 - shift)
    s1 = s2 = 0.5
    r = 1.0
    for _ in range(1000):
        new = np.mean(e2 / (s1 * e2 + s2 * r)) / np.mean(1.0 / (s1 * e1 + s2 * r))
        if abs(np.log(new / r)) < 1e-12:
            break
        r = new
    return float(np.log(r) + shift)


def phi_draws(fit, model: Model) -> np.ndarray:
    """The fit's posterior draws in the bridge sampler's unconstrained space."""
    columns = [fit.draws("beta"), np.log(fit.draws("sd_intercept")),
               np.log(fit.draws("sd_slope")), np.log(fit.draws("sigma"))]
    if model.correlated:
        columns.append(np.arctanh(fit.draws("corr")))
    phi = np.column_stack(columns)
    assert phi.shape[1] == model.dim
    return phi


def bridge(model: Model, fit, seed: int) -> tuple[float, float]:
    """Mean and SD of REPS bridge estimates."""
    draws = phi_draws(fit, model)
    log_q_draws = model.log_q(draws)
    est = [bridge_log_ml(model, draws, log_q_draws, np.random.default_rng(seed + i))
           for i in range(REPS)]
    return float(np.mean(est)), float(np.std(est, ddof=1))


def scaled(spec, factor: float):
    priors = {k: (dict(v, sigma=v["sigma"] * factor) if k in ("period", "months:period") else v)
              for k, v in spec.priors.items()}
    return dataclasses.replace(spec, priors=priors)


@pytest.fixture(scope="module")
def engines():
    """One compiled graph for every fit of the module (the marginal engine)."""
    from mbtbayes.growth.engines import engines_for

    return engines_for()


@pytest.mark.parametrize("measure", ["gaf", "bsi"])
def test_savage_dickey_agrees_with_bridge_sampling(measure, engines):
    spec, data = mb.load_specs()[measure], mb.load_register().data
    assert spec.correlated and resolve_engine(spec) == "marginal"  # the model written here
    linear = mb.fit_growth(spec, data, variant="linear", seed=11, engines=engines)
    period = mb.fit_growth(spec, data, variant="period", seed=12, engines=engines)
    assert linear.engine == period.engine == "marginal"
    assert linear.diagnostics.passed and period.diagnostics.passed
    assert tuple(period.design.columns) == ("Intercept", "months", "period[II]",
                                            "months:period[II]")
    model0 = Model(measure, with_period=False)
    assert model0.n_rows == len(period.design.y) == len(linear.design.y)
    ml0, se0 = bridge(model0, linear, seed=100)
    table = bayes_factors(period).set_index("prior_scale")
    corr = period.draws("corr")
    lines = [f"{measure}: log p(y | linear) = {ml0:.3f} (bridge SD {se0:.3f}); period model's "
             f"patient intercept-slope correlation {corr.mean():.2f} (posterior SD "
             f"{corr.std():.2f})"]
    for factor in (0.5, 1.0, 2.0):
        fit = period if factor == 1.0 else mb.fit_growth(
            scaled(spec, factor), data, variant="period", seed=13, engines=engines)
        assert fit.diagnostics.passed
        ml1, se1 = bridge(Model(measure, with_period=True, period_scale=factor), fit, seed=200)
        sd_log_bf = table.loc[factor, "log_bf10"]
        mcse = table.loc[factor, "log_bf10_mcse"]
        tolerance = max(4 * np.sqrt(se0**2 + se1**2 + mcse**2), 0.1)
        lines.append(f"  prior SD x {factor:g}: log BF10 bridge {ml1 - ml0:.3f} (SD "
                     f"{np.hypot(se0, se1):.3f}), Savage-Dickey {sd_log_bf:.3f} (MCSE "
                     f"{mcse:.4f}), difference {sd_log_bf - (ml1 - ml0):+.3f}, tolerance "
                     f"{tolerance:.3f}")
        print("\n".join(lines[-1:]) if factor != 0.5 else "\n".join(lines))
        assert sd_log_bf == pytest.approx(ml1 - ml0, abs=tolerance)
