"""What could this study have found? Power of the design for true period differences.

For each scenario (a true Period II - I difference in level, or in slope), outcomes are
simulated on the register's own design (its patients, visit times, periods and missing
values) from the growth model whose other parameters are the ML estimates on the data; each
replicate is analysed both ways, and the table gives the probability that the design detects
the difference by each rule:

- ``p < .05``: the ML Wald test of the period term (the paper's analysis);
- ``HDI excludes 0``: the 95% HDI of the posterior contrast excludes zero;
- ``HDI outside ROPE``: the 95% HDI lies wholly outside the ROPE (a practically relevant
  difference is established).

Effects are given in baseline-SD units (the observed pooled baseline SD): a level difference
of ``k`` SD, or a slope difference that accumulates to ``k`` SD by the later d time point
(24 months). Replicates fan out through the executor; seeds derive by name.

Examples
--------
>>> import mbtbayes as mb
>>> from mbtbayes.sensitivity.power import power_table
>>> table = power_table(mb.load_specs()["bsi"], mb.load_register().data,  # doctest: +SKIP
...                     replicates=50)
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from scipy import stats

from mbtbayes.core.arviz_api import hdi
from mbtbayes.core.defaults import CI_PROB, SEED
from mbtbayes.core.execute import chunked, executor_for
from mbtbayes.core.sampling import SamplerOptions
from mbtbayes.core.seeds import seed_for
from mbtbayes.frequentist.mixed import fit_mixed
from mbtbayes.growth.baseline import observed_baseline_sd
from mbtbayes.growth.design import Design, make_design
from mbtbayes.growth.marginal import engine_for
from mbtbayes.growth.modelspec import ModelSpec
from mbtbayes.sensitivity.calibration import simulate_outcome

ALPHA = 0.05
RULES = ("p < .05", "HDI excludes 0", "HDI outside ROPE")
DEFAULT_EFFECTS = (0.0, 0.2, 0.4, 0.6, 0.8)
"""Default true differences, in baseline-SD units."""


@dataclass(frozen=True)
class Scenario:
    """One true difference: which term, how large, with its ROPE and the full truth."""

    kind: str
    effect_sd: float
    truth: dict
    rope: float

    @property
    def column(self) -> int:
        """Design column of the tested period term."""
        return 2 if self.kind == "level" else 3


@dataclass(frozen=True)
class PowerJob:
    """A chunk of (scenario, replicate) tasks for one worker (plain data, picklable)."""

    spec: ModelSpec
    design: Design
    tasks: tuple[tuple[Scenario, int], ...]
    seed: int
    options: SamplerOptions


def nuisance_truth(spec: ModelSpec, data: pd.DataFrame, design: Design) -> dict:
    """Growth parameters from the ML fit of the period model, period terms set to zero."""
    ml = fit_mixed(data.dropna(subset=[spec.measure, *spec.covariates("period")]),
                   outcome=spec.measure, time=spec.time, group=spec.group, period=spec.period,
                   covariates=spec.covariates("period"))
    estimates = ml.fixed.set_index("term")["estimate"]
    beta = np.array([estimates.get(c, 0.0) for c in design.columns])
    beta[[2, 3]] = 0.0
    sd = ml.variance.set_index("component")["sd"]
    return {"beta": beta, "sd_intercept": float(sd.filter(like="intercept").iloc[0]),
            "sd_slope": float(sd.filter(like="slope").iloc[0]),
            "sigma": float(sd.filter(like="residual").iloc[0])}


def run_power_chunk(job: PowerJob) -> list[dict]:
    """Simulate and analyse a chunk of tasks both ways, with one engine; one row per task."""
    marginal = engine_for(job.options)
    rows = []
    for scenario, r in job.tasks:
        name = ("power", scenario.kind, scenario.effect_sd, r)
        rng = np.random.default_rng(seed_for(job.seed, *name))
        simulated = replace(job.design, y=simulate_outcome(job.design, scenario.truth, rng))
        p_value = _ml_p_value(simulated, scenario.column)
        fit = marginal.fit_design(job.spec, simulated, variant="period",
                                  seed=seed_for(job.seed, *name, "fit"), extras=False)
        low, high = hdi(fit.draws("beta")[:, scenario.column], ci_prob=CI_PROB)
        rows.append({"kind": scenario.kind, "effect_sd": scenario.effect_sd, "replicate": r,
                     "p_value": p_value, "hdi_low": low, "hdi_high": high,
                     "passed": fit.diagnostics.passed,
                     "p < .05": p_value < ALPHA, "HDI excludes 0": low > 0 or high < 0,
                     "HDI outside ROPE": low > scenario.rope or high < -scenario.rope})
    return rows


def _ml_p_value(design: Design, column: int) -> float:
    frame = pd.DataFrame({"y": design.y, "t": design.time,
                          "id": np.asarray(design.groups)[design.group],
                          "period": np.where(design.X[:, 2] > 0, "II", "I")})
    ml = fit_mixed(frame, outcome="y", time="t", group="id", period="period")
    return float(ml.fixed["p_value"].iloc[column])


def power_table(
    spec: ModelSpec,
    data: pd.DataFrame,
    *,
    effects: tuple[float, ...] = DEFAULT_EFFECTS,
    replicates: int = 50,
    seed: int = SEED,
    options: SamplerOptions | None = None,
    scheduler: str | None = None,
) -> pd.DataFrame:
    """Probability that this design detects a true period difference, by each decision rule.

    Parameters
    ----------
    spec : ModelSpec
        A spec without covariates that the marginal engine fits (its period model is used).
    data : pandas.DataFrame
        The register: its design, missing values and nuisance parameters (ML estimates).
    effects : tuple of float
        True differences in baseline-SD units, applied to the level (at month 0) and, in a
        second sweep, to the slope (as the difference accumulated by the later d time point).
    replicates : int
        Simulated registers per scenario.
    seed : int
    options : SamplerOptions, optional
        Default: nutpie, 2 chains x 500 draws.
    scheduler : str, optional
        Executor (:func:`mbtbayes.core.execute.executor_for`).

    Returns
    -------
    pandas.DataFrame
        One row per scenario (``kind`` level/slope, ``effect_sd``, ``effect`` in the measure's
        units) and rule: ``power`` with its binomial 95% interval, ``replicates``,
        ``failed_gate``, ``rope`` and ``baseline_sd``.

    Examples
    --------
    >>> import mbtbayes as mb
    >>> t = power_table(mb.load_specs()["bsi"], mb.load_register().data,  # doctest: +SKIP
    ...                 effects=(0.0, 0.5), replicates=20)
    """
    options = options or SamplerOptions(draws=500, tune=500, chains=2)
    design = make_design(spec, data, variant="period")
    sd = observed_baseline_sd(data, outcome=spec.measure, time=spec.time, group=spec.group,
                              period=spec.period, start=spec.d_months[0])
    base = nuisance_truth(spec, data, design)
    later = spec.d_months[1]
    scenarios = []
    for kind in ("level", "slope"):
        scale = 1.0 if kind == "level" else 1.0 / later
        for k in effects:
            beta = base["beta"].copy()
            beta[2 if kind == "level" else 3] = k * sd * scale
            scenarios.append(Scenario(kind, float(k), {**base, "beta": beta}, 0.1 * sd * scale))
    tasks = [(s, r) for s in scenarios for r in range(replicates)]
    with executor_for(scheduler) as executor:
        jobs = [PowerJob(spec, design.portable(), chunk, seed, options)
                for chunk in chunked(tasks, executor.workers)]
        rows = [row for part in executor.map(run_power_chunk, jobs) for row in part]
    return _power_rows(scenarios, pd.DataFrame(rows), sd, later)


def _power_rows(scenarios: list[Scenario], results: pd.DataFrame, sd: float,
                later: float) -> pd.DataFrame:
    rows = []
    for scenario in scenarios:
        frame = results[(results["kind"] == scenario.kind)
                        & (results["effect_sd"] == scenario.effect_sd)]
        for rule in RULES:
            k, n = int(frame[rule].sum()), len(frame)
            ci = stats.binomtest(k, n).proportion_ci(0.95)
            rows.append({"kind": scenario.kind, "effect_sd": scenario.effect_sd,
                         "effect": float(scenario.truth["beta"][scenario.column]),
                         "rule": rule, "power": k / n, "power_low": ci.low,
                         "power_high": ci.high, "replicates": n,
                         "failed_gate": int((~frame["passed"]).sum()), "rope": scenario.rope,
                         "baseline_sd": sd})
    table = pd.DataFrame(rows)
    table["note"] = ("level: Period II - I at month 0; slope: per month, k SD by month "
                     f"{later:g}; 95% HDI; ROPE 0.1 baseline SD")
    return table
