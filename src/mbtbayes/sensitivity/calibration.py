"""Simulation-based calibration (Talts et al. 2018) of the growth model on this study's design.

Each replicate draws the parameters from the spec's priors, simulates an outcome on the real
design (the register's patients, visit times and periods: ``y = X b + u0 + u1 t + e``; for a
correlated spec ``u0`` and ``u1`` correlated, the correlation drawn from its LKJ prior and
ranked too), fits
the model to it with the marginal engine, and records the rank of every true parameter among
thinned posterior draws and whether the 90% HDI of each period contrast covers its true
value. If the sampler and the model are right, the ranks are uniform and the coverage is 90%.

Replicates fan out through the executor (:mod:`mbtbayes.core.execute`) in chunks, one engine
(and one compiled graph) per chunk; each replicate's seed derives from the run seed and its
number, so the result does not depend on the executor or the chunking.

Examples
--------
>>> import mbtbayes as mb
>>> from mbtbayes.sensitivity.calibration import sbc
>>> ranks, summary = sbc(mb.load_specs()["bsi"], mb.load_register().data,  # doctest: +SKIP
...                      replicates=200)
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from scipy import stats

from mbtbayes.core.arviz_api import hdi
from mbtbayes.core.defaults import SEED
from mbtbayes.core.execute import chunked, executor_for
from mbtbayes.core.sampling import SamplerOptions
from mbtbayes.core.seeds import seed_for
from mbtbayes.growth.design import Design, make_design, prior_values
from mbtbayes.growth.marginal import LKJ_ETA, engine_for
from mbtbayes.growth.modelspec import ModelSpec
from mbtbayes.growth.result import GrowthFit

RANK_DRAWS = 99
"""Thinned posterior draws a true value is ranked among (ranks 0..99)."""
BINS = 20
"""Bins of the rank histogram for the uniformity test (chi-square, BINS - 1 df)."""
COVERAGE_PROB = 0.90
"""Probability of the HDIs whose coverage is checked."""
CONTRASTS = ("intercept", "slope", "at_24")


@dataclass(frozen=True)
class SbcJob:
    """A chunk of replicates for one worker (plain data, picklable)."""

    spec: ModelSpec
    design: Design
    replicates: tuple[int, ...]
    seed: int
    options: SamplerOptions


def simulate_outcome(design: Design, truth: dict[str, np.ndarray],
                     rng: np.random.Generator) -> np.ndarray:
    """An outcome on ``design`` from the growth model with parameters ``truth``.

    Patient intercepts and slopes with correlation ``truth["corr"]`` (0, independent, when
    ``truth`` has none: an uncorrelated spec).
    """
    n_groups = len(design.groups)
    rho = float(truth.get("corr", 0.0))
    z0, z1 = rng.normal(0.0, 1.0, (2, n_groups))
    u0 = truth["sd_intercept"] * z0
    u1 = truth["sd_slope"] * (rho * z0 + np.sqrt(1.0 - rho**2) * z1)
    mean = design.X @ truth["beta"] + u0[design.group] + u1[design.group] * design.time
    return mean + rng.normal(0.0, truth["sigma"], design.y.size)


def prior_draw(priors: dict[str, np.ndarray], rng: np.random.Generator, *,
               correlated: bool = False) -> dict[str, np.ndarray]:
    """One draw of every parameter from the priors of a marginal-engine fit: Normal /
    HalfNormal, and for a ``correlated`` spec the intercept-slope correlation from the
    LKJ(eta) marginal the engine uses, ``(corr + 1) / 2 ~ Beta(eta, eta)``."""
    truth = {"beta": rng.normal(priors["beta_mu"], priors["beta_sd"]),
             "sd_intercept": abs(rng.normal(0.0, priors["re_sd"][0])),
             "sd_slope": abs(rng.normal(0.0, priors["re_sd"][1])),
             "sigma": abs(rng.normal(0.0, float(priors["sigma_sd"])))}
    if correlated:
        truth["corr"] = 2.0 * rng.beta(LKJ_ETA, LKJ_ETA) - 1.0
    return truth


def run_chunk(job: SbcJob) -> list[dict]:
    """Run a chunk of replicates with one engine; one row per replicate and parameter."""
    marginal = engine_for(job.options)
    priors = prior_values(job.spec, job.design)
    rows = []
    for r in job.replicates:
        rng = np.random.default_rng(seed_for(job.seed, "sbc", job.spec.name, r))
        truth = prior_draw(priors, rng, correlated=job.spec.correlated)
        simulated = replace(job.design, y=simulate_outcome(job.design, truth, rng))
        fit = marginal.fit_design(job.spec, simulated, variant="period",
                                  seed=seed_for(job.seed, "sbc-fit", job.spec.name, r),
                                  extras=False)
        rows += replicate_rows(fit, truth, r, job.spec.d_months[1],
                               extra=("corr",) if job.spec.correlated else ())
    return rows


def replicate_rows(fit: GrowthFit, truth: dict, replicate: int, later: float, *,
                   extra: tuple[str, ...] = ()) -> list[dict]:
    """One row per parameter of a growth fit (both engines' names): the rank of its true value
    among the thinned draws; for the period terms and the contrast at ``later`` months,
    whether the 90% HDI covers it. ``extra``: further scalar parameters (``nu``)."""
    draws = {f"beta[{c}]": fit.draws("beta")[:, i] for i, c in enumerate(fit.design.columns)}
    true = {f"beta[{c}]": truth["beta"][i] for i, c in enumerate(fit.design.columns)}
    for name in ("sd_intercept", "sd_slope", "sigma", *extra):
        draws[name], true[name] = fit.draws(name), float(truth[name])
    period, slope = fit.design.columns[2], fit.design.columns[3]
    contrasts = {"intercept": period, "slope": slope}
    rows = []
    for name, values in draws.items():
        contrast = next((c for c, col in contrasts.items() if name == f"beta[{col}]"), None)
        rows.append({"replicate": replicate, "parameter": name,
                     "rank": rank_among(values, true[name]), "contrast": contrast,
                     "covered": covered(values, true[name]) if contrast else None,
                     "passed": fit.diagnostics.passed})
    at = draws[f"beta[{period}]"] + later * draws[f"beta[{slope}]"]
    rows.append({"replicate": replicate, "parameter": f"at_{later:g}", "rank": None,
                 "contrast": f"at_{later:g}", "passed": fit.diagnostics.passed,
                 "covered": covered(at, true[f"beta[{period}]"] + later * true[f"beta[{slope}]"])})
    return rows


def rank_among(draws: np.ndarray, value: float) -> int:
    """The rank of a true value among :data:`RANK_DRAWS` evenly thinned draws (0..99)."""
    step = max(draws.size // RANK_DRAWS, 1)
    return int((draws[::step][:RANK_DRAWS] < value).sum())


def covered(draws: np.ndarray, value: float) -> bool:
    """Whether the :data:`COVERAGE_PROB` HDI of the draws holds ``value``."""
    low, high = hdi(draws, ci_prob=COVERAGE_PROB)
    return bool(low <= value <= high)


def sbc(
    spec: ModelSpec,
    data: pd.DataFrame,
    *,
    replicates: int = 200,
    seed: int = SEED,
    options: SamplerOptions | None = None,
    scheduler: str | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Simulation-based calibration of a spec's period model on the data's design.

    Parameters
    ----------
    spec : ModelSpec
        A spec the marginal engine fits (its period variant is calibrated).
    data : pandas.DataFrame
        The register: its patients, visit times, periods and missing outcomes set the design.
    replicates : int
    seed : int
        Run seed; each replicate's seed derives from it by number.
    options : SamplerOptions, optional
        Default: nutpie, 2 chains x 500 draws (500 tuning).
    scheduler : str, optional
        Executor (see :func:`mbtbayes.core.execute.executor_for`); replicates are split into
        one chunk per worker (one engine, one compile, per chunk).

    Returns
    -------
    tuple of DataFrame
        ``ranks`` (replicate, parameter, rank, contrast, covered, passed) and ``summary`` (one
        row per parameter: the chi-square uniformity p-value of the ranks over
        :data:`BINS` bins, and for the contrasts the coverage of the 90% HDI with its
        binomial 95% interval).

    Examples
    --------
    >>> import mbtbayes as mb
    >>> ranks, summary = sbc(mb.load_specs()["bsi"], mb.load_register().data,  # doctest: +SKIP
    ...                      replicates=20)
    """
    options = options or SamplerOptions(draws=500, tune=500, chains=2)
    design = make_design(spec, data, variant="period")
    with executor_for(scheduler) as executor:
        jobs = [SbcJob(spec, design.portable(), part, seed, options)
                for part in chunked(list(range(replicates)), executor.workers)]
        rows = [row for chunk in executor.map(run_chunk, jobs) for row in chunk]
    ranks = pd.DataFrame(rows)
    return ranks, sbc_summary(ranks)


def sbc_summary(ranks: pd.DataFrame) -> pd.DataFrame:
    """Uniformity of the ranks per parameter and coverage of the contrasts' 90% HDIs."""
    rows = []
    for name, part in ranks.groupby("parameter", sort=False):
        row = {"parameter": name, "replicates": len(part),
               "failed_gate": int((~part["passed"].astype(bool)).sum())}
        if part["rank"].notna().all():
            row["rank_chi2_p"] = rank_chi2_p(part["rank"])
        covered = part["covered"].dropna()
        if len(covered):
            k, n = int(covered.astype(bool).sum()), len(covered)
            ci = stats.binomtest(k, n).proportion_ci(0.95)
            row |= {"coverage_90": k / n, "coverage_low": ci.low, "coverage_high": ci.high}
        rows.append(row)
    table = pd.DataFrame(rows)
    table["interval"] = (f"{COVERAGE_PROB:.0%} HDI coverage; ranks among {RANK_DRAWS} "
                         "thinned draws")
    return table


def rank_chi2_p(ranks: pd.Series | np.ndarray) -> float:
    """The chi-square p-value of uniformity of ranks (0..:data:`RANK_DRAWS`) over :data:`BINS`
    bins; pass the ranks of several parameters together for a pooled test.

    Examples
    --------
    >>> rank_chi2_p(np.arange(100)) == 1.0
    True
    """
    counts = np.bincount((np.asarray(ranks, dtype=int) * BINS) // (RANK_DRAWS + 1),
                         minlength=BINS)
    return float(stats.chisquare(counts).pvalue)
