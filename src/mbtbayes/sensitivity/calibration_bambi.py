"""Simulation-based calibration of the Bambi engine on this study's design (Student-t spec).

What is calibrated: the Bambi engine (:mod:`mbtbayes.growth.bambi_engine`, patient effects
sampled by nutpie) fitting a Student-t growth model with independent patient intercepts and
slopes, a constant residual scale and the period model's four population terms. Each
replicate draws every parameter from the priors the fit itself uses (``design.priors``,
:func:`mbtbayes.growth.priors.fit_priors`: Normal population terms, HalfNormal patient SDs and
residual scale, Gamma degrees of freedom ``nu``), simulates an outcome on the register's design
(its patients, visit times, periods and missing values)::

    y = X b + u0 + u1 t + sigma * e,   u0 ~ N(0, sd_intercept), u1 ~ N(0, sd_slope),
    e ~ Student-t(nu)

fits it with the Bambi engine of the run's :class:`~mbtbayes.growth.engines.Engines`, and
records the rank of every true parameter (the four population terms, both patient SDs,
``sigma`` and ``nu``) among :data:`~mbtbayes.sensitivity.calibration.RANK_DRAWS` thinned
draws, and whether the 90% HDI of each period contrast (intercept, slope, 24 months) covers
its true value: the scheme of :mod:`mbtbayes.sensitivity.calibration`, which calibrates the
marginal engine. A spec given with another family is turned into its Student-t version, as
the robust refit of :mod:`mbtbayes.sensitivity.refits` does.

Examples
--------
>>> import mbtbayes as mb
>>> spec = t_spec(mb.load_specs()["bsi"])
>>> spec.family, spec.engine, spec.correlated
('t', 'bambi', False)
>>> ranks, summary = sbc_bambi(spec, mb.load_register().data, replicates=10)  # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from mbtbayes.core.defaults import SEED
from mbtbayes.core.errors import SpecError
from mbtbayes.core.execute import chunked, executor_for
from mbtbayes.core.sampling import SamplerOptions
from mbtbayes.core.seeds import seed_for
from mbtbayes.growth.design import Design, make_design, prior_values
from mbtbayes.growth.engines import engines_for
from mbtbayes.growth.modelspec import ModelSpec
from mbtbayes.sensitivity.calibration import replicate_rows, sbc_summary


@dataclass(frozen=True)
class BambiJob:
    """A chunk of replicates for one worker (plain data, picklable: the worker builds the
    design, whose formula object the Bambi engine needs and which does not pickle)."""

    spec: ModelSpec
    data: pd.DataFrame
    replicates: tuple[int, ...]
    seed: int
    options: SamplerOptions


def t_spec(spec: ModelSpec) -> ModelSpec:
    """The Student-t version of a spec, fitted by the Bambi engine (independent patient
    effects: Bambi's structure), as the robust refit makes it."""
    return replace(spec, family="t", engine="bambi", correlated=False)


def t_prior_draw(spec: ModelSpec, design: Design,
                 rng: np.random.Generator) -> dict[str, np.ndarray]:
    """One draw of every parameter of a Student-t fit from the priors the fit uses.

    Raises
    ------
    SpecError
        If the spec models the residual SD, is censored, has other patient effects than an
        intercept and a slope, or a prior of another distribution than the engine's defaults.
    """
    if spec.sigma_modelled("period") or len(design.effects) != 2:
        raise SpecError(f"{spec.name}: the Bambi calibration needs a constant residual scale "
                        "and patient intercepts and slopes")
    if spec.censored:
        raise SpecError(f"{spec.name}: the Bambi calibration simulates uncensored scores; a "
                        "censored spec's likelihood would not be the simulator's")
    values = prior_values(spec, design)
    nu = design.priors["nu"]
    if nu.get("dist") != "Gamma":
        raise SpecError(f"{spec.name}: the calibration draws nu from a Gamma prior; got {nu}")
    return {"beta": rng.normal(values["beta_mu"], values["beta_sd"]),
            "sd_intercept": abs(rng.normal(0.0, values["re_sd"][0])),
            "sd_slope": abs(rng.normal(0.0, values["re_sd"][1])),
            "sigma": abs(rng.normal(0.0, float(values["sigma_sd"]))),
            "nu": rng.gamma(float(nu["alpha"]), 1.0 / float(nu["beta"]))}


def simulate_t_outcome(design: Design, truth: dict[str, np.ndarray],
                       rng: np.random.Generator) -> np.ndarray:
    """An outcome on ``design`` from the Student-t growth model with parameters ``truth``
    (independent patient intercepts and slopes, the columns of ``design.Z``)."""
    sds = np.array([truth["sd_intercept"], truth["sd_slope"]])
    effects = rng.normal(0.0, 1.0, (len(design.groups), 2)) * sds
    mean = design.X @ truth["beta"] + (design.Z * effects[design.group]).sum(axis=1)
    return mean + truth["sigma"] * rng.standard_t(truth["nu"], design.y.size)


def with_outcome(spec: ModelSpec, design: Design, y: np.ndarray) -> Design:
    """The design with another outcome, in ``y`` and in the frame the Bambi model reads."""
    frame = design.frame.copy()
    frame[spec.measure] = y
    return replace(design, y=y, frame=frame)


def run_bambi_chunk(job: BambiJob) -> list[dict]:
    """Run a chunk of replicates with one Bambi engine; a row per replicate and parameter."""
    bambi = engines_for(job.options).get("bambi")
    design = make_design(job.spec, job.data, variant="period")
    rows = []
    for r in job.replicates:
        rng = np.random.default_rng(seed_for(job.seed, "sbc-bambi", job.spec.name, r))
        truth = t_prior_draw(job.spec, design, rng)
        simulated = with_outcome(job.spec, design, simulate_t_outcome(design, truth, rng))
        fit = bambi.fit_design(job.spec, simulated, variant="period", gate=False,
                               seed=seed_for(job.seed, "sbc-bambi-fit", job.spec.name, r))
        rows += replicate_rows(fit, truth, r, job.spec.d_months[1], extra=("nu",))
    return rows


def sbc_bambi(
    spec: ModelSpec,
    data: pd.DataFrame,
    *,
    replicates: int = 200,
    seed: int = SEED,
    options: SamplerOptions | None = None,
    scheduler: str | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Simulation-based calibration of the Bambi engine on a spec's Student-t period model.

    Parameters
    ----------
    spec : ModelSpec
        The spec; its Student-t version (:func:`t_spec`) is calibrated.
    data : pandas.DataFrame
        The register: its patients, visit times, periods and missing outcomes set the design.
    replicates : int
    seed : int
        Run seed; each replicate's seed derives from it by number.
    options : SamplerOptions, optional
        Default: nutpie, 2 chains x 500 draws (500 tuning). Fits are not refitted by the
        gate's retry; a replicate that fails the gate is counted (``failed_gate``).
    scheduler : str, optional
        Executor; one chunk of replicates per worker.

    Returns
    -------
    tuple of DataFrame
        ``ranks`` and ``summary`` as :func:`mbtbayes.sensitivity.calibration.sbc` gives them,
        with ``nu`` among the parameters and an ``engine`` column (``bambi``).
    """
    spec = t_spec(spec)
    options = options or SamplerOptions(draws=500, tune=500, chains=2)
    design = make_design(spec, data, variant="period")
    t_prior_draw(spec, design, np.random.default_rng(0))  # refuse an unfit spec up front
    with executor_for(scheduler) as executor:
        jobs = [BambiJob(spec, data, part, seed, options)
                for part in chunked(list(range(replicates)), executor.workers)]
        rows = [row for chunk in executor.map(run_bambi_chunk, jobs) for row in chunk]
    ranks = pd.DataFrame(rows).assign(engine="bambi")
    return ranks, sbc_summary(ranks).assign(engine="bambi")
