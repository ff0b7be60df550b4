"""Tests of mbtbayes.remission.

Reference values come from outside the code under test: closed-form Beta and Dirichlet results
computed with SciPy (quantiles, densities, the exact P(X < Y) sum for integer shapes), numerical
convolution for the difference of two Betas, the exact counts the synthetic register was
generated from (``mbtbayes.simulate.COUNTS``), and, in the slow tests, the known probabilities of
large simulated samples.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, special, stats

from mbtbayes.binary.change import (
    glmm_pattern_model,
    marginal_probability,
    paired_counts,
    start_end_change,
)
from mbtbayes.binary.conjugate import BetaPosterior, beta_hdi, prob_less
from mbtbayes.binary.remission import remission_table
from mbtbayes.core.cache import DiskCache
from mbtbayes.core.errors import DataError, SpecError
from mbtbayes.core.sampling import SamplerOptions
from mbtbayes.io.synthetic import COUNTS

N_DRAWS = 100_000


def _brute_hdi(a: float, b: float, prob: float = 0.95) -> tuple[float, float]:
    """Shortest interval by brute force over the lower tail probability (SciPy quantiles)."""
    tails = np.linspace(0.0, 1.0 - prob, 200_001)
    low, high = stats.beta.ppf(tails, a, b), stats.beta.ppf(tails + prob, a, b)
    i = int(np.argmin(high - low))
    return float(low[i]), float(high[i])


def _p_x_greater(a_x: int, b_x: int, a_y: int, b_y: int) -> float:
    """Exact P(X > Y), X ~ Beta(a_x, b_x), Y ~ Beta(a_y, b_y), integer a_x (closed-form sum)."""
    i = np.arange(a_x)
    terms = (special.betaln(a_y + i, b_y + b_x) - np.log(b_x + i) - special.betaln(1 + i, b_x)
             - special.betaln(a_y, b_y))
    return float(np.exp(terms).sum())


def _difference_hdi(post_1: tuple, post_2: tuple, prob: float = 0.95) -> tuple[float, float]:
    """HDI of X2 - X1 from the density of the difference, by numerical convolution."""
    grid = np.linspace(0.0, 1.0, 4001)
    f1, f2 = stats.beta.pdf(grid, *post_1), stats.beta.pdf(grid, *post_2)
    density = np.convolve(f2, f1[::-1]) * (grid[1] - grid[0])  # d = x2 - x1 on [-1, 1]
    d = np.linspace(-1.0, 1.0, density.size)
    mass = density / density.sum()
    order = np.argsort(mass)[::-1]
    keep = order[: int(np.searchsorted(np.cumsum(mass[order]), prob)) + 1]
    return float(d[keep].min()), float(d[keep].max())


def _difference_hdi_mcse(post_1: tuple, post_2: tuple, *, n: int,
                         replicates: int = 40) -> np.ndarray:
    """Monte Carlo SE of the two HDI ends of X2 - X1 estimated from ``n`` exact draws: their
    SD over independent replicates (NumPy Beta draws, ArviZ's HDI). An HDI end has no closed
    form MCSE; it varies 2-3 x as much as a quantile of ``n`` draws."""
    import arviz as az

    rng = np.random.default_rng(20)
    ends = [az.hdi(rng.beta(*post_2, size=n) - rng.beta(*post_1, size=n), hdi_prob=0.95)
            for _ in range(replicates)]
    return np.std(ends, axis=0, ddof=1)


@pytest.fixture(scope="module")
def conjugate(synthetic: pd.DataFrame) -> pd.DataFrame:
    return remission_table(synthetic, models=("beta_binomial",), n_draws=N_DRAWS)


@pytest.fixture(scope="module")
def change(synthetic: pd.DataFrame) -> pd.DataFrame:
    return start_end_change(synthetic, models=("dirichlet",), n_draws=N_DRAWS)


# ---------------------------------------------------------------- conjugate building blocks


@pytest.mark.parametrize(("x", "n", "prior"), [(41, 55, (1, 1)), (27, 43, (1, 1)),
                                                (17, 19, (0.5, 0.5)), (3, 40, (2, 8))])
def test_beta_posterior_against_scipy(x, n, prior):
    post = BetaPosterior.update(x, n, prior=prior)
    ref = stats.beta(prior[0] + x, prior[1] + n - x)
    assert post.mean == pytest.approx(ref.mean(), abs=1e-12)
    low, high = post.hdi()
    assert (low, high) == pytest.approx(_brute_hdi(post.a, post.b), abs=2e-5)
    assert ref.cdf(high) - ref.cdf(low) == pytest.approx(0.95, abs=1e-9)
    assert ref.pdf(low) == pytest.approx(ref.pdf(high), rel=1e-4)  # equal density at both ends


def test_beta_hdi_of_a_j_shaped_posterior_touches_one():
    # all 19 remitted, uniform prior: Beta(20, 1), cdf x^20, so the HDI is [0.05^(1/20), 1]
    low, high = beta_hdi(20.0, 1.0)
    assert low == pytest.approx(0.05 ** (1 / 20), abs=1e-9)
    assert high == pytest.approx(1.0)


@pytest.mark.parametrize(("first", "second"), [((42, 15), (28, 17)), ((18, 3), (14, 3)),
                                               ((5, 5), (5, 5)), ((2, 30), (9, 4))])
def test_prob_less_against_closed_form_sum(first, second):
    # P(first < second) = P(second > first)
    expected = _p_x_greater(second[0], second[1], first[0], first[1])
    assert prob_less(BetaPosterior(*first), BetaPosterior(*second)) == pytest.approx(
        expected, abs=1e-8)


def test_marginal_probability_against_quadrature():
    for eta, sd in [(-2.0, 0.5), (1.3, 1.7), (0.4, 3.0), (2.0, 5.0)]:
        ref, _ = integrate.quad(
            lambda u, e=eta, s=sd: special.expit(e + u) * stats.norm.pdf(u, 0, s),
            -12 * sd, 12 * sd, epsabs=1e-13)
        assert float(marginal_probability(np.array(eta), np.array(sd))) == pytest.approx(
            ref, abs=1e-5)


# ---------------------------------------------------------------- remission table, conjugate


def test_counts_are_the_simulated_ones(conjugate):
    sh = conjugate[conjugate["behaviour"] == "self_harm"].set_index("period")
    sa = conjugate[conjugate["behaviour"] == "suicide_attempt"].set_index("period")
    for period in ("I", "II"):
        c = COUNTS[period]
        assert sh.at[period, "n_at_risk"] == c.self_harm_start_end
        assert sh.at[period, "n_remitted"] == c.self_harm_remitted
        assert sh.at[period, "n_no_end_data"] == c.self_harm_start_other
        assert sa.at[period, "n_at_risk"] == c.attempt_start_end
        assert sa.at[period, "n_remitted"] == c.attempt_remitted
        assert sa.at[period, "n_no_end_data"] == c.attempt_start_other
    assert sh.at["pooled", "n_at_risk"] == 55 + 43 and sh.at["pooled", "n_remitted"] == 41 + 27
    assert sh.at["pooled", "n_start_positive"] == 157  # 85% of 185 (paper)


def test_conjugate_rows_against_closed_forms(conjugate):
    for behaviour, part in conjugate.groupby("behaviour"):
        rows = part.set_index("period")
        shapes = {p: (1 + rows.at[p, "n_remitted"], 1 + rows.at[p, "n_at_risk"]
                      - rows.at[p, "n_remitted"]) for p in ("I", "II", "pooled")}
        for period, (a, b) in shapes.items():
            assert rows.at[period, "p_mean"] == pytest.approx(a / (a + b), abs=1e-12)
            assert (rows.at[period, "p_hdi_low"], rows.at[period, "p_hdi_high"]) == \
                pytest.approx(_brute_hdi(a, b), abs=2e-5)
        (a1, b1), (a2, b2) = shapes["I"], shapes["II"]
        worse = _p_x_greater(a1, b1, a2, b2)  # P(p_I > p_II) = P(II < I)
        assert np.allclose(part["prob_ii_worse"], worse, atol=1e-8, rtol=0), behaviour
        assert np.allclose(part["p_period_diff"], a2 / (a2 + b2) - a1 / (a1 + b1), atol=1e-12)
        # the difference's HDI comes from N_DRAWS exact draws: within 4 of its MCSEs
        low, high = _difference_hdi((a1, b1), (a2, b2))
        se_low, se_high = _difference_hdi_mcse((a1, b1), (a2, b2), n=N_DRAWS)
        assert part["p_diff_hdi_low"].iloc[0] == pytest.approx(low, abs=4 * se_low)
        assert part["p_diff_hdi_high"].iloc[0] == pytest.approx(high, abs=4 * se_high)


def test_table_contract(conjugate):
    assert conjugate[["behaviour", "period"]].values.tolist() == [
        ["self_harm", "I"], ["self_harm", "II"], ["self_harm", "pooled"],
        ["suicide_attempt", "I"], ["suicide_attempt", "II"], ["suicide_attempt", "pooled"]]
    for column in ("n_at_risk", "n_remitted", "p_mean", "p_hdi_low", "p_hdi_high",
                   "p_period_diff", "p_diff_hdi_low", "p_diff_hdi_high", "prob_ii_worse",
                   "interval", "model", "prior", "method", "passed", "worse_if"):
        assert column in conjugate
    assert set(conjugate["interval"]) == {"95% HDI"}
    assert conjugate["passed"].all()  # nothing sampled: exact
    assert (conjugate["reason"] == "exact posterior (no sampling)").all()


def test_prior_is_changeable(synthetic):
    table = remission_table(synthetic, models=("beta_binomial",), prior=(2.0, 5.0), n_draws=1000)
    row = table.iloc[0]
    assert row["p_mean"] == pytest.approx((2 + 41) / (7 + 55))
    assert row["prior"].startswith("Beta(2, 5)")


def test_one_behaviour_is_enough(synthetic):
    data = synthetic.drop(columns=["suicide_attempt_start", "suicide_attempt_end"])
    table = remission_table(data, models=("beta_binomial",), n_draws=1000)
    assert set(table["behaviour"]) == {"self_harm"}


def test_missing_columns_raise_data_error(synthetic):
    data = synthetic.drop(columns=["self_harm_end", "suicide_attempt_end"])
    with pytest.raises(DataError, match="start and an end indicator"):
        remission_table(data, models=("beta_binomial",))
    with pytest.raises(DataError, match="period"):
        remission_table(synthetic.drop(columns=["period"]), models=("beta_binomial",))


def test_varying_patient_field_raises(synthetic):
    data = synthetic.copy()
    sizes = data.groupby("patient_id").size()
    rows = data.index[data["patient_id"] == sizes[sizes > 1].index[0]]
    data.loc[rows[-1], "self_harm_start"] = 1 - data.loc[rows[0], "self_harm_start"]
    with pytest.raises(DataError, match="differ within a patient"):
        remission_table(data, models=("beta_binomial",))


def test_non_binary_indicator_raises(synthetic):
    data = synthetic.copy()
    data["self_harm_end"] = data["self_harm_end"].replace({1.0: 2.0})
    with pytest.raises(DataError, match="0/1"):
        remission_table(data, models=("beta_binomial",))


def test_unknown_model_and_bad_prior_raise(synthetic):
    with pytest.raises(SpecError, match="choose from"):
        remission_table(synthetic, models=("probit",))
    with pytest.raises(SpecError, match="positive"):
        remission_table(synthetic, models=("beta_binomial",), prior=(0, 1))
    with pytest.raises(SpecError, match="sampler"):
        remission_table(synthetic, models=("beta_binomial",),
                        options=SamplerOptions(sampler="stan"))


# ---------------------------------------------------------------- start-end change, Dirichlet


def test_paired_counts_are_the_simulated_ones(synthetic):
    counts = paired_counts(synthetic).set_index(["behaviour", "period"])
    for period in ("I", "II"):
        c = COUNTS[period]
        sh = counts.loc[("self_harm", period)]
        assert sh["n_pairs"] == c.end_data
        assert sh["n_yes_no"] == c.self_harm_remitted
        assert sh["n_yes_yes"] == c.self_harm_start_end - c.self_harm_remitted
        assert sh["n_no_yes"] == 0  # the simulator makes no new self-harmers
        sa = counts.loc[("suicide_attempt", period)]
        assert sa["n_yes_no"] == c.attempt_remitted
        assert sa["n_yes_yes"] == c.attempt_start_end - c.attempt_remitted
        assert sa["n_no_yes"] == c.attempt_new_onset
        assert sa[["n_yes_yes", "n_yes_no", "n_no_yes", "n_no_no"]].sum() == c.end_data


def test_dirichlet_rows_against_closed_forms(change):
    alpha = 0.5
    for row in change.itertuples():
        n = row.n_pairs + 4 * alpha
        b, c = row.n_yes_no + alpha, row.n_no_yes + alpha
        assert row.p_start_mean == pytest.approx((row.n_yes_yes + b + alpha) / n, abs=2e-3)
        assert row.p_end_mean == pytest.approx((row.n_yes_yes + c + alpha) / n, abs=2e-3)
        assert row.change_mean == pytest.approx((c - b) / n, abs=2e-3)
        # change < 0 <=> b/(b + c) > 1/2, and b/(b + c) ~ Beta(b, c) exactly
        assert row.prob_decrease == pytest.approx(stats.beta.sf(0.5, b, c), abs=1e-12)
        # Dirichlet aggregation: p_start ~ Beta(yy + yn + 2 alpha, ny + nn + 2 alpha)
        assert row.change_hdi_low < row.change_mean < row.change_hdi_high
    assert (change["prob_decrease"] > 0.99).all()  # the paper: p < 0.001 for both behaviours


def test_change_difference_is_ii_minus_i(change):
    for _, part in change.groupby("behaviour"):
        rows = part.set_index("period")
        assert rows.at["I", "change_diff_mean"] == pytest.approx(
            rows.at["II", "change_mean"] - rows.at["I", "change_mean"], abs=3e-3)
        assert 0.0 < rows.at["I", "prob_ii_worse"] < 1.0
    assert set(change["interval"]) == {"95% HDI"}


def test_change_rejects_bad_concentration(synthetic):
    with pytest.raises(SpecError, match="concentration"):
        start_end_change(synthetic, models=("dirichlet",), concentration=0.0)


@pytest.mark.filterwarnings("ignore:PyTensor could not link to a BLAS")
def test_glmm_pattern_likelihood_against_quadrature():
    """The marginal GLMM's likelihood equals the multinomial of SciPy-integrated patterns."""
    counts = np.array([[[14, 41, 0, 6], [16, 27, 0, 4]], [[2, 17, 3, 39], [2, 13, 3, 29]]],
                      dtype=float)
    model = glmm_pattern_model(counts, ["self_harm", "suicide_attempt"], logit_prior=(0, 1.5),
                               re_prior_sd=1.5)
    loglik = model.compile_fn(model.potentiallogp, point_fn=True)
    eta = np.array([[[2.0, -1.2], [2.1, -0.7]], [[-0.8, -2.2], [-0.7, -1.9]]])
    sigma = np.array([1.1, 0.6])
    expected = 0.0
    for b in range(2):
        for p in range(2):
            def pattern(start, end, b=b, p=p):
                def f(u):
                    ps, pe = special.expit(eta[b, p, 0] + u), special.expit(eta[b, p, 1] + u)
                    return ((ps if start else 1 - ps) * (pe if end else 1 - pe)
                            * stats.norm.pdf(u, 0, sigma[b]))
                return integrate.quad(f, -12 * sigma[b], 12 * sigma[b], epsabs=1e-13)[0]

            probs = np.array([pattern(1, 1), pattern(1, 0), pattern(0, 1), pattern(0, 0)])
            assert probs.sum() == pytest.approx(1.0, abs=1e-10)
            probs /= probs.sum()
            expected += float(np.sum(counts[b, p] * np.log(probs)))  # multinomial kernel
    value = loglik({"eta": eta, "sigma_log__": np.log(sigma)})
    assert float(value) == pytest.approx(expected, abs=1e-8)


# ---------------------------------------------------------------- sampled models (slow)


def _remission_sample(n: int, seed: int) -> tuple[pd.DataFrame, dict[str, float]]:
    """Start self-harmers with a severity covariate; remission from a known logistic model."""
    rng = np.random.default_rng(seed)
    period = np.repeat(["I", "II"], n)
    severity = rng.normal(7.0 + 0.5 * (period == "II"), 1.0)
    intercept = np.where(period == "I", 1.1, 0.6)
    p = special.expit(intercept - 0.4 * (severity - 7.0))
    remitted = rng.random(2 * n) < p
    frame = pd.DataFrame({"patient_id": [f"P{i}" for i in range(2 * n)], "period": period,
                          "bpd_criteria": severity, "self_harm_start": 1.0,
                          "self_harm_end": (~remitted).astype(float)})
    # truth standardised over the sample's covariate distribution (a mixture of two normals)
    truth = {}
    for label, a in (("I", 1.1), ("II", 0.6)):
        truth[label] = float(np.mean([integrate.quad(
            lambda s, m=m, a=a: special.expit(a - 0.4 * (s - 7.0)) * stats.norm.pdf(s, m, 1.0),
            m - 10, m + 10)[0] for m in (7.0, 7.5)]))
    return frame, truth


@pytest.mark.slow
def test_logistic_recovers_known_probabilities():
    data, truth = _remission_sample(3000, seed=11)
    table = remission_table(data, models=("logistic",), covariates=("bpd_criteria",),
                            options=SamplerOptions(draws=1000, chains=4)).set_index("period")
    for period in ("I", "II"):
        row = table.loc[period]
        assert row["p_hdi_low"] < truth[period] < row["p_hdi_high"]
        assert row["p_mean"] == pytest.approx(truth[period], abs=0.025)
    assert bool(table["passed"].all())
    assert table["prob_ii_worse"].iloc[0] > 0.999  # truth: Period II clearly lower


@pytest.mark.slow
def test_logistic_without_covariates_matches_conjugate(synthetic):
    table = remission_table(synthetic, models=("beta_binomial", "logistic"))
    conj = table[table["model"] == "beta_binomial"].set_index(["behaviour", "period"])
    logi = table[table["model"] == "logistic"].set_index(["behaviour", "period"])
    assert bool(logi["passed"].all())
    assert (logi["p_mean"] - conj["p_mean"]).abs().max() < 0.03  # priors differ slightly
    assert (logi["prob_ii_worse"] - conj["prob_ii_worse"]).abs().max() < 0.05


def _paired_sample(n: int, seed: int) -> tuple[pd.DataFrame, dict]:
    """Patients with a random intercept (SD 1) and known start/end log-odds per period."""
    rng = np.random.default_rng(seed)
    eta = {("I", "start"): 1.5, ("I", "end"): -1.0, ("II", "start"): 1.6, ("II", "end"): -0.4}
    period = np.repeat(["I", "II"], n)
    u = rng.normal(0.0, 1.0, 2 * n)
    frame = pd.DataFrame({"patient_id": [f"P{i}" for i in range(2 * n)], "period": period})
    for time in ("start", "end"):
        logit = np.array([eta[(p, time)] for p in period]) + u
        frame[f"self_harm_{time}"] = (rng.random(2 * n) < special.expit(logit)).astype(float)
    truth = {key: integrate.quad(lambda v, e=e: special.expit(e + v) * stats.norm.pdf(v),
                                 -12, 12)[0] for key, e in eta.items()}
    return frame, truth


@pytest.mark.slow
def test_glmm_recovers_known_marginal_probabilities():
    data, truth = _paired_sample(2500, seed=5)
    table = start_end_change(data, models=("glmm",)).set_index("period")
    assert table.loc["I", "n_pairs"] == 2500
    for period in ("I", "II"):
        row = table.loc[period]
        assert row["p_start_mean"] == pytest.approx(truth[(period, "start")], abs=0.025)
        assert row["p_end_mean"] == pytest.approx(truth[(period, "end")], abs=0.025)
        change = truth[(period, "end")] - truth[(period, "start")]
        assert row["change_hdi_low"] < change < row["change_hdi_high"]
    diff = (truth[("II", "end")] - truth[("II", "start")]
            - truth[("I", "end")] + truth[("I", "start")])
    row = table.loc["I"]
    assert row["change_diff_hdi_low"] < diff < row["change_diff_hdi_high"]
    assert bool(table["passed"].all())


def test_glmm_gate_checks_parameters_bambi_keeps(synthetic):
    """Bambi samples the patient intercepts non-centred (``sigma x offset``) and drops the
    offsets from its posterior: the gate names the intercepts themselves, not the offsets
    (asking for an offset was a KeyError after the Bambi GLMM's first fit)."""
    import bambi as bmb

    from mbtbayes.binary.change import _paired_long
    from mbtbayes.binary.common import _sampled

    priors = {"behaviour:period:time": bmb.Prior("Normal", mu=0.0, sigma=1.5),
              "behaviour|patient_id": bmb.Prior("Normal", mu=0.0,
                                                sigma=bmb.Prior("HalfNormal", sigma=1.5))}
    model = bmb.Model("y ~ 0 + behaviour:period:time + (0 + behaviour | patient_id)",
                      _paired_long(synthetic), family="bernoulli", priors=priors)
    assert sorted(_sampled(model, priors)) == ["behaviour:period:time", "behaviour|patient_id",
                                               "behaviour|patient_id_sigma"]


class _Recorder(DiskCache):
    """A fit cache that keeps every fit's draws in memory (and never returns stored ones)."""

    def __init__(self, folder) -> None:
        super().__init__(folder)
        self.idata: list = []

    def identity_key(self, identity: dict) -> str:
        return str(len(self.idata))

    def get_draws(self, key: str) -> None:
        return None

    def put_draws(self, key: str, idata, diagnostics) -> None:
        self.idata.append(idata)


def _glmm_cell_draws(idata, behaviour: str) -> dict[tuple[str, str], np.ndarray]:
    """(period, time) -> population-averaged probability per (chain, draw) of either GLMM's
    draws: the marginal fit's ``eta``/``sigma`` or Bambi's cell coefficients and patient SD
    (the random intercept integrated out by quadrature), for the Monte Carlo errors."""
    post = idata.posterior
    if "eta" in post:
        eta = {(p, t): post["eta"].sel(behaviour=behaviour, period=p, time=t).values
               for p in ("I", "II") for t in ("start", "end")}
        sd = post["sigma"].sel(behaviour=behaviour).values
    else:
        coef = post["behaviour:period:time"]
        eta = {(p, t): coef.sel({coef.dims[-1]: f"{behaviour}, {p}, {t}"}).values
               for p in ("I", "II") for t in ("start", "end")}
        sigma = post["behaviour|patient_id_sigma"]
        sd = sigma.sel({sigma.dims[-1]: behaviour}).values
    return {key: marginal_probability(value, sd) for key, value in eta.items()}


def _glmm_quantity_draws(idata, behaviour: str, n_pairs: pd.Series) -> dict[str, np.ndarray]:
    """Per-draw values of the quantities the change table reports as means, keyed as
    ``column/period``."""
    p = _glmm_cell_draws(idata, behaviour)
    w = n_pairs["I"] / (n_pairs["I"] + n_pairs["II"])
    for time in ("start", "end"):
        p[("pooled", time)] = w * p[("I", time)] + (1 - w) * p[("II", time)]
    out = {}
    for period in ("I", "II", "pooled"):
        out[f"p_start_mean/{period}"] = p[(period, "start")]
        out[f"p_end_mean/{period}"] = p[(period, "end")]
        out[f"change_mean/{period}"] = p[(period, "end")] - p[(period, "start")]
    diff = out["change_mean/II"] - out["change_mean/I"]
    out["change_diff_mean/I"], out["prob_ii_worse/I"] = diff, (diff > 0).astype(float)
    return out


@pytest.mark.slow
def test_marginal_glmm_agrees_with_bambi_glmm(synthetic, mcse, tmp_path):
    """The pattern likelihood and Bambi's patient-level GLMM are one model: same posterior.

    Every reported mean (start, end, change per period and pooled, the difference of the
    changes, P(Period II worse)) agrees within 4 combined Monte Carlo standard errors
    (``az.mcse`` of each fit's per-draw values, reconstructed from its recorded draws and
    checked against the table): 14 comparisons per behaviour, each |z| > 4 with probability
    6e-5 when the posteriors are equal.
    """
    recorder = _Recorder(tmp_path)
    table = start_end_change(synthetic, models=("glmm", "glmm_bambi"), cache=recorder)
    fits = dict(zip(("glmm", "glmm_bambi"), recorder.idata, strict=True))
    for behaviour in ("self_harm", "suicide_attempt"):
        rows = table[table["behaviour"] == behaviour]
        n_pairs = rows[rows["model"] == "glmm"].set_index("period")["n_pairs"]
        values, errors = {}, {}
        for model, idata in fits.items():
            draws = _glmm_quantity_draws(idata, behaviour, n_pairs)
            reported = rows[rows["model"] == model].set_index("period")
            chains = idata.posterior.sizes["chain"]
            for key, x in draws.items():
                column, period = key.split("/")
                # the recorded draws are the table's: same mean
                assert x.mean() == pytest.approx(reported.at[period, column], abs=1e-9), key
                values[model, key] = x.mean()
                errors[model, key] = mcse.mean(x, chains=chains)
        for key in draws:
            gap = values["glmm", key] - values["glmm_bambi", key]
            z = gap / np.hypot(errors["glmm", key], errors["glmm_bambi", key])
            assert abs(z) < 4, f"{behaviour} {key}: marginal {values['glmm', key]:.4f}, " \
                               f"Bambi {values['glmm_bambi', key]:.4f}, z = {z:.2f}"
