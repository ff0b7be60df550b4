"""Model averaging by LOO stacking: the weights against an independent maximisation of the
stacking objective (Yao et al. 2018; SciPy in the test) and against ArviZ's ``az.compare``
on its own LOO of known log-likelihoods; a dominated model's weight; the common-patient
restriction; the mixture's draw counts and mean; and (slow) two real fits on data simulated
with period-specific residual SDs, where the model with ``sigma ~ period`` must win."""

from __future__ import annotations

import arviz as az
import numpy as np
import pandas as pd
import pytest
from scipy.optimize import minimize
from scipy.special import logsumexp, softmax

import mbtbayes as mb
from mbtbayes.growth.loo import LooResult, psis_loo
from mbtbayes.sensitivity.stacking import (
    NOT_CANDIDATES,
    candidate_alternatives,
    draw_counts,
    stacked_draws,
    stacking_weights,
)


def _loo(points: np.ndarray, units: list[str] | None = None, k: float = 0.1) -> LooResult:
    units = units or [f"p{i:03d}" for i in range(len(points))]
    return LooResult(float(points.sum()), 0.0, 0.0, np.asarray(points, float),
                     np.full(len(points), k), "psis_marginal_patient", tuple(units))


def _reference_weights(elpd: np.ndarray) -> np.ndarray:
    """Maximise sum_i log sum_k w_k exp(elpd_ik) over the simplex through a softmax of free
    parameters (BFGS): another parametrisation and optimiser than ArviZ's SLSQP."""
    def loss(z: np.ndarray) -> float:
        return -logsumexp(elpd + np.log(softmax(np.r_[0.0, z]))[None], axis=1).sum()

    z = minimize(loss, np.zeros(elpd.shape[1] - 1), method="BFGS", options={"gtol": 1e-9}).x
    return softmax(np.r_[0.0, z])


def _objective(elpd: np.ndarray, w: np.ndarray) -> float:
    return float(np.log(np.exp(elpd) @ w).sum())


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_weights_maximise_the_stacking_objective(seed):
    rng = np.random.default_rng(seed)
    n = 80
    # three models, each best for a different share of the patients: interior weights
    base = rng.normal(-3.0, 0.5, n)
    best = rng.choice(3, n, p=[0.5, 0.3, 0.2])
    elpd = np.stack([base - 1.0 + 3.0 * (best == k) + rng.normal(0, 0.1, n)
                     for k in range(3)], 1)
    table = stacking_weights({f"m{k}": _loo(elpd[:, k]) for k in range(3)})
    ours = table["weight"].to_numpy()
    ref = _reference_weights(elpd)
    assert ours.sum() == pytest.approx(1.0)
    assert np.all(ours >= 0)
    np.testing.assert_allclose(ours, ref, atol=0.01)
    assert _objective(elpd, ours) >= _objective(elpd, ref) - 1e-4
    assert np.all(ref > 0.05)  # the case is interior: every model carries weight


def test_a_dominated_model_gets_no_weight():
    rng = np.random.default_rng(4)
    a = rng.normal(-3.0, 0.5, 60)
    table = stacking_weights({"a": _loo(a), "worse": _loo(a - 0.5 - rng.uniform(0, 1, 60))})
    assert table.set_index("model")["weight"]["worse"] < 1e-3


def test_very_negative_elpds_do_not_underflow():
    """GAF-sized per-patient ELPDs (-800): the same weights as the same pattern near 0."""
    rng = np.random.default_rng(5)
    elpd = np.stack([rng.normal(0, 1, 50), rng.normal(0, 1, 50)], 1)
    near = stacking_weights({"a": _loo(elpd[:, 0]), "b": _loo(elpd[:, 1])})
    far = stacking_weights({"a": _loo(elpd[:, 0] - 800), "b": _loo(elpd[:, 1] - 800)})
    np.testing.assert_allclose(far["weight"], near["weight"], atol=1e-4)
    np.testing.assert_allclose(near["weight"], _reference_weights(elpd), atol=0.01)


def _known_loglik(*, rng: np.random.Generator, y: np.ndarray, mean_shift: float, sd: float,
                  chains: int = 2, draws: int = 500) -> np.ndarray:
    """Per-patient log-likelihood ``(chains, draws, patients)`` of y (patients x 3) under
    N(mu, sd) with draws of mu around the pooled mean plus a shift."""
    mu = rng.normal(y.mean() + mean_shift, 0.05, (chains, draws))
    z = (y[None, None] - mu[..., None, None]) / sd
    return (-0.5 * z**2 - np.log(sd) - 0.5 * np.log(2 * np.pi)).sum(-1)


@pytest.mark.filterwarnings("ignore::pandas.errors.Pandas4Warning")
def test_weights_agree_with_az_compare_on_known_fits():
    rng = np.random.default_rng(6)
    patients = 40
    y = rng.normal(0.0, 1.0, (patients, 3)) + rng.standard_t(3, (patients, 1))
    models = {"right": (0.0, 1.3), "narrow": (0.0, 0.8), "shifted": (0.4, 1.3)}
    logliks = {name: _known_loglik(rng=rng, y=y, mean_shift=m, sd=s)
               for name, (m, s) in models.items()}
    idatas = {name: az.from_dict(posterior={"mu": ll[..., 0]}, log_likelihood={"y": ll})
              for name, ll in logliks.items()}
    expected = az.compare(idatas, ic="loo", method="stacking")["weight"]
    units = [f"p{i}" for i in range(patients)]
    ours = stacking_weights({name: psis_loo(ll, method="m", units=units)
                             for name, ll in logliks.items()}).set_index("model")["weight"]
    for name in models:
        assert ours[name] == pytest.approx(expected[name], abs=0.02)
    assert expected.max() < 0.99  # not a trivial one-model answer


def test_only_common_patients_are_stacked_and_the_rest_counted():
    rng = np.random.default_rng(7)
    ids = [f"p{i:03d}" for i in range(50)]
    a, b, c = (rng.normal(-3, 0.5, 50) for _ in range(3))
    b[:25] += 1.0  # b better on the first half, a on the rest
    kept = ids[5:]  # the "adjusted" model: five patients missing a covariate
    order = rng.permutation(len(kept))  # and its patients in another order
    loos = {"a": _loo(a, ids), "b": _loo(b, ids),
            "adjusted": _loo(c[5:][order], [kept[i] for i in order])}
    table = stacking_weights(loos).set_index("model")
    assert (table["n_patients"] == 45).all()
    assert table["n_left_out"].to_dict() == {"a": 5, "b": 5, "adjusted": 0}
    by_hand = np.stack([a[5:], b[5:], c[5:]], 1)  # aligned on the common patients
    np.testing.assert_allclose(table["weight"].to_numpy(), _reference_weights(by_hand),
                               atol=0.01)
    assert table.loc["a", "elpd_loo"] == pytest.approx(a[5:].sum())


def test_unreliable_loo_is_flagged():
    x = np.full(10, -2.0)
    table = stacking_weights({"a": _loo(x, k=0.2), "b": _loo(x - 1, k=0.9)}).set_index("model")
    assert table["loo_reliable"].to_dict() == {"a": True, "b": False}
    assert table.loc["b", "max_pareto_k"] == pytest.approx(0.9)


@pytest.mark.parametrize("weights", [{"a": 0.5, "b": 0.5}, {"a": 0.123, "b": 0.677, "c": 0.2},
                                     {"a": 1.0, "b": 0.0}])
def test_draw_counts_follow_the_weights(weights):
    for total in (7, 1000, 4000):
        counts = draw_counts(weights, total=total)
        assert sum(counts.values()) == total
        for name, w in weights.items():
            assert abs(counts[name] - w * total) < 1.0


def test_mixture_draws_by_weight_and_its_mean():
    rng = np.random.default_rng(9)
    size = 4000
    means, sds = {"a": 1.0, "b": -2.0, "c": 5.0}, {"a": 1.0, "b": 0.5, "c": 2.0}
    draws = {m: {"x": rng.normal(means[m], sds[m], size)} for m in means}
    for m in draws:
        draws[m]["twice"] = 2 * draws[m]["x"]
        draws[m]["tag"] = np.full(size, m)
    weights = {"a": 0.6, "b": 0.3, "c": 0.1}
    counts = draw_counts(weights, total=size)
    mixed = stacked_draws(draws, counts, seed=3)
    got = pd.Series(mixed["tag"]).value_counts().to_dict()
    assert got == counts
    np.testing.assert_array_equal(mixed["twice"], 2 * mixed["x"])  # joint draws kept joint
    target = sum(w * draws[m]["x"].mean() for m, w in weights.items())
    # MC error of the mixture's mean: each part a subsample of n_k of S draws (finite
    # population), and the counts' rounding (at most 1/S of a weight)
    mc = np.sqrt(sum((counts[m] / size) ** 2 * sds[m] ** 2 / counts[m]
                     * (1 - counts[m] / size) for m in counts))
    assert abs(mixed["x"].mean() - target) < 4 * mc + max(map(abs, means.values())) / size
    assert len(np.unique(mixed["x"])) == size  # without replacement


def test_candidates_are_the_listed_refits():
    reg = mb.load_register()
    spec = mb.load_specs()["bsi"]

    class _Fit:
        pass

    fit = _Fit()
    fit.spec = spec
    settings = {a.setting for a in candidate_alternatives(fit, reg.data)}
    assert settings == {"Student-t residuals", "uncorrelated intercept and slope",
                        "period-specific residual SD", "adjusted for age, gender, "
                        "bpd_criteria, substance_use, self_harm_start"}
    from mbtbayes.sensitivity.refits import alternatives

    every = {a.setting for a in alternatives(fit, reg.data)}
    assert set(NOT_CANDIDATES) <= every  # the filter names a setting that exists


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::pandas.errors.Pandas4Warning")
def test_two_real_fits_stacked_favour_the_true_residual_sds():
    """Simulation truth: residual SD 0.3 in Period I and 1.0 in Period II. The model with
    ``sigma ~ period`` must carry most of the weight against one residual SD; the weights
    agree with az.compare on the fits' own log-likelihood groups."""
    from mbtbayes.growth.engines import engines_for
    from mbtbayes.growth.loo import patient_loo
    from mbtbayes.sensitivity.fitting import refit
    from mbtbayes.sensitivity.quantities import main_quantities

    rng = np.random.default_rng(11)
    rows = []
    for i in range(80):
        period = "I" if i < 40 else "II"
        u0, u1 = rng.normal(0, 0.4), rng.normal(0, 0.01)
        for t in (0.0, 6.0, 12.0, 24.0):
            e = rng.normal(0, 0.3 if period == "I" else 1.0)
            rows.append((f"p{i:03d}", period, t, 5.0 + u0 + (-0.05 + u1) * t + e))
    data = pd.DataFrame(rows, columns=["patient_id", "period", "months", "y"])
    spec = mb.make_spec(outcome="y", time="months", group="patient_id", period="period",
                        range=(-10, 20))

    class _Fit:
        pass

    fake = _Fit()
    fake.spec = spec
    alt = {a.setting: a for a in candidate_alternatives(fake, data)}
    hetero = alt["period-specific residual SD"]
    engines = engines_for()
    base, _ = refit(engines, spec, data, variant="period", seed=1)
    other, _ = refit(engines, hetero.spec, hetero.data, variant="period", seed=2)
    fits = {"one sigma": base, "sigma ~ period": other}
    table = stacking_weights({m: patient_loo(f) for m, f in fits.items()}).set_index("model")
    assert table.loc["sigma ~ period", "weight"] > 0.8
    expected = az.compare({m: f.idata for m, f in fits.items()}, ic="loo",
                          method="stacking", var_name="y")["weight"]
    for m in fits:
        assert table.loc[m, "weight"] == pytest.approx(expected[m], abs=0.05)
    q = {m: {k: v.draws for k, v in main_quantities(f, data).items()} for m, f in fits.items()}
    counts = draw_counts(table["weight"].to_dict(), total=len(q["one sigma"]["contrast_slope"]))
    mixed = stacked_draws(q, counts, seed=1)
    target = sum(table.loc[m, "weight"] * q[m]["contrast_slope"].mean() for m in fits)
    # the subsample's error (finite population) and the counts' rounding
    sd, total = max(np.std(q[m]["contrast_slope"]) for m in fits), sum(counts.values())
    tolerance = 4 * sd / np.sqrt(total) + max(abs(q[m]["contrast_slope"].mean())
                                              for m in fits) / total
    assert abs(mixed["contrast_slope"].mean() - target) < tolerance


def test_a_candidate_that_also_drops_the_correlation_says_so() -> None:
    from types import SimpleNamespace

    from mbtbayes.sensitivity.stacking import model_label

    def alt(setting: str, correlated: bool) -> SimpleNamespace:
        return SimpleNamespace(setting=setting, spec=SimpleNamespace(correlated=correlated))

    fit = SimpleNamespace(spec=SimpleNamespace(correlated=True))
    assert model_label(fit, alt("Student-t residuals", False)) == \
        "Student-t residuals, uncorrelated intercept and slope"
    assert model_label(fit, alt("uncorrelated intercept and slope", False)) == \
        "uncorrelated intercept and slope"
    uncorrelated = SimpleNamespace(spec=SimpleNamespace(correlated=False))
    assert model_label(uncorrelated, alt("Student-t residuals", False)) == "Student-t residuals"
