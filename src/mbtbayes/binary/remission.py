"""Remission of self-harm and suicide attempts, and start-end change, the Bayesian way.

The paper reports remission among patients with the behaviour in the 12 months before start
(75% vs 63%, p = 0.212 for self-harm; 89% vs 87%, p = 0.801 for suicide attempts) and a McNemar
test of start-end change. A non-significant p says little; a posterior says how probable a worse
Period II is. This module gives, from a register extract:

- :func:`remission_table`: the posterior probability of remission per period and pooled, the
  difference II - I with its 95% HDI and P(II < I), from two models: the conjugate
  Beta-binomial (exact, no sampling) and a Bayesian logistic regression in Bambi (sampled with
  nutpie; optional covariates, e.g. baseline severity, with period probabilities standardised
  over the at-risk patients);
- :func:`start_end_change`: McNemar's counterpart, the posterior change in the proportion with the
  behaviour from start to end within each period and whether it differs between periods (which
  McNemar cannot test), from a Dirichlet-multinomial model of the paired 2x2 table (exact) and
  a Bernoulli GLMM with a random patient intercept (PyMC, nutpie; fitted on its exact marginal
  likelihood, with the patient-level Bambi version as a cross-check option).

Remission is counted among start-positive patients with a non-missing end indicator, as the
paper's small denominators imply; start-positive patients without end data are counted in
``n_no_end_data`` and never dropped silently. Rows: behaviour (``self_harm``,
``suicide_attempt``, each analysed when its two columns are present) x period (``I``, ``II``,
``pooled``) x model.

The conjugate building blocks (:class:`BetaPosterior`, :func:`beta_hdi`, :func:`prob_less`) are
public: :mod:`mbtbayes.binary.adherence` and :mod:`mbtbayes.study.reanalysis` use them too.

Examples
--------
>>> from mbtbayes.io.register import get_register
>>> table = remission_table(get_register().data, models=("beta_binomial",))
>>> table[["behaviour", "period", "n_at_risk", "n_remitted"]].head(3).values.tolist()
[['self_harm', 'I', 55, 41], ['self_harm', 'II', 43, 27], ['self_harm', 'pooled', 98, 68]]
"""

from __future__ import annotations

import contextlib
import logging
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import integrate, optimize, special, stats

from mbtbayes.io import schema
from mbtbayes.core.arviz_api import convergence, hdi
from mbtbayes.core.defaults import CI_PROB, SEED
from mbtbayes.core.errors import DataError, SpecError

BEHAVIOURS: dict[str, tuple[str, str]] = {
    "self_harm": ("self_harm_start", "self_harm_end"),
    "suicide_attempt": ("suicide_attempt_start", "suicide_attempt_end"),
}
"""Behaviour -> (indicator in the 12 months before start, indicator in the last year)."""

REMISSION_MODELS: tuple[str, ...] = ("beta_binomial", "logistic")
CHANGE_MODELS: tuple[str, ...] = ("dirichlet", "glmm", "glmm_bambi")
POOLED = "pooled"
N_DRAWS = 200_000
"""Monte Carlo draws from exact posteriors (for differences, which have no closed-form HDI)."""


def interval_label(ci_prob: float = CI_PROB) -> str:
    """The interval kind every table states, e.g. ``"95% HDI"``.

    Examples
    --------
    >>> interval_label(0.95)
    '95% HDI'
    """
    return f"{100 * ci_prob:g}% HDI"


# ---------------------------------------------------------------- conjugate Beta posteriors


@dataclass(frozen=True)
class BetaPosterior:
    """A Beta(a, b) posterior of a proportion: prior Beta(a0, b0) updated by x of n.

    Attributes
    ----------
    a, b : float
        Posterior shape parameters.

    Examples
    --------
    >>> post = BetaPosterior.update(41, 55, prior=(1.0, 1.0))
    >>> post.a, post.b, round(post.mean, 4)
    (42.0, 15.0, 0.7368)
    """

    a: float
    b: float

    @classmethod
    def update(cls, x: float, n: float, *,
               prior: tuple[float, float] = (1.0, 1.0)) -> BetaPosterior:
        """Conjugate update of a Beta prior by ``x`` events in ``n`` trials."""
        a0, b0 = check_beta_prior(prior)
        if n < 0 or x < 0 or x > n:
            raise DataError(f"Need 0 <= x <= n, got x={x}, n={n}.")
        return cls(a0 + x, b0 + n - x)

    @property
    def mean(self) -> float:
        """Posterior mean ``a / (a + b)``."""
        return self.a / (self.a + self.b)

    def hdi(self, *, ci_prob: float = CI_PROB) -> tuple[float, float]:
        """Exact highest-density interval (see :func:`beta_hdi`)."""
        return beta_hdi(self.a, self.b, ci_prob=ci_prob)

    def draws(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """Independent draws from the posterior."""
        return rng.beta(self.a, self.b, size=n)


def check_beta_prior(prior: Sequence[float]) -> tuple[float, float]:
    """Validate a Beta prior ``(a, b)`` and return it as floats (SpecError if invalid)."""
    try:
        a0, b0 = (float(v) for v in prior)
    except (TypeError, ValueError):
        raise SpecError(f"A Beta prior is a pair (a, b), got {prior!r}.") from None
    if not (a0 > 0 and b0 > 0 and np.isfinite(a0) and np.isfinite(b0)):
        raise SpecError(f"Beta prior shapes must be positive and finite, got ({a0}, {b0}).")
    return a0, b0


def beta_hdi(a: float, b: float, *, ci_prob: float = CI_PROB) -> tuple[float, float]:
    """Exact shortest interval holding ``ci_prob`` of a Beta(a, b) distribution.

    For a unimodal Beta this is the highest-density interval: the lower tail probability ``t``
    that minimises ``ppf(t + ci_prob) - ppf(t)`` is found numerically on ``[0, 1 - ci_prob]``
    (endpoints included, so that J-shaped posteriors, e.g. after 0 failures, give an interval
    touching 0 or 1).

    Parameters
    ----------
    a, b : float
        Shape parameters.
    ci_prob : float, default 0.95

    Returns
    -------
    tuple of float

    Examples
    --------
    >>> [round(v, 4) for v in beta_hdi(20.0, 1.0)]  # all 19 remitted, uniform prior
    [0.8609, 1.0]
    """
    dist = stats.beta(a, b)
    tail = 1.0 - ci_prob

    def width(t: float) -> float:
        return float(dist.ppf(min(t + ci_prob, 1.0)) - dist.ppf(t))

    res = optimize.minimize_scalar(width, bounds=(0.0, tail), method="bounded",
                                   options={"xatol": 1e-12})
    best = min((res.x, 0.0, tail), key=width)
    return float(dist.ppf(best)), float(dist.ppf(min(best + ci_prob, 1.0)))


def prob_less(first: BetaPosterior, second: BetaPosterior) -> float:
    """P(X < Y) for independent ``X ~ first`` and ``Y ~ second``, by numerical integration.

    ``P(X < Y) = integral of f_Y(y) F_X(y) dy`` over [0, 1]; accurate to about 1e-9.

    Examples
    --------
    >>> round(prob_less(BetaPosterior(2, 2), BetaPosterior(2, 2)), 6)
    0.5
    """
    x, y = stats.beta(first.a, first.b), stats.beta(second.a, second.b)
    points = sorted({first.mean, second.mean})
    value, _ = integrate.quad(lambda v: y.pdf(v) * x.cdf(v), 0.0, 1.0, points=points,
                              limit=400, epsabs=1e-11, epsrel=1e-10)
    return float(min(max(value, 0.0), 1.0))


# ---------------------------------------------------------------- patients and counts


def patient_rows(data: pd.DataFrame, columns: Sequence[str], *, what: str) -> pd.DataFrame:
    """One row per patient with the key columns and the given patient-level columns.

    Parameters
    ----------
    data : pandas.DataFrame
        Register in long format (patient-level columns constant within patient).
    columns : sequence of str
        Patient-level columns needed.
    what : str
        Name of the analysis, for error messages.

    Returns
    -------
    pandas.DataFrame
        ``patient_id``, ``period`` (string ``"I"``/``"II"``) and ``columns``, one row per patient
        in order of first appearance.

    Raises
    ------
    DataError
        A column is absent, a period label is unknown, or a column varies within a patient.

    Examples
    --------
    >>> long = pd.DataFrame({"patient_id": ["a", "a", "b"], "period": ["I", "I", "II"],
    ...                      "dropout": [0.0, 0.0, 1.0]})
    >>> patient_rows(long, ["dropout"], what="adherence").shape
    (2, 3)
    """
    needed = [schema.ID, schema.PERIOD, *columns]
    absent = [c for c in needed if c not in data.columns]
    if absent:
        raise DataError(f"{what} needs the column(s) {', '.join(absent)}; the data have none "
                        "by that name (map your names onto the schema with a mapping file).")
    frame = data[needed].copy()
    frame[schema.PERIOD] = frame[schema.PERIOD].astype(str)
    unknown = sorted(set(frame[schema.PERIOD]) - set(schema.PERIODS))
    if unknown:
        raise DataError(f"{what}: unknown period label(s) {unknown}; expected {schema.PERIODS}.")
    varying = frame.groupby(schema.ID, sort=False).nunique(dropna=False)
    bad = [c for c in needed[1:] if (varying[c] > 1).any()]
    if bad:
        raise DataError(f"{what}: column(s) {', '.join(bad)} differ within a patient; "
                        "patient-level columns must be constant per patient.")
    return frame.drop_duplicates(schema.ID).reset_index(drop=True)


def _present_behaviours(data: pd.DataFrame, *, what: str) -> list[str]:
    found = [b for b, cols in BEHAVIOURS.items() if all(c in data.columns for c in cols)]
    if not found:
        pairs = "; ".join(" and ".join(cols) for cols in BEHAVIOURS.values())
        raise DataError(f"{what} needs a start and an end indicator of a behaviour ({pairs}); "
                        "the data have neither pair.")
    return found


def binary_column(frame: pd.DataFrame, column: str, *, what: str) -> pd.Series:
    """A 0/1 column as floats (missing kept); DataError naming the column if not binary."""
    values = pd.to_numeric(frame[column], errors="coerce")
    bad = frame[column].notna() & ~values.isin([0, 1])
    if bad.any():
        raise DataError(f"{what}: column {column} must be 0/1 (or missing); "
                        f"{int(bad.sum())} patient(s) have another value.")
    return values


def at_risk(data: pd.DataFrame, behaviour: str) -> pd.DataFrame:
    """Start-positive patients of one behaviour, with their remission status.

    Parameters
    ----------
    data : pandas.DataFrame
        Register in long format.
    behaviour : {"self_harm", "suicide_attempt"}

    Returns
    -------
    pandas.DataFrame
        One row per start-positive patient: ``patient_id``, ``period``, ``has_end`` (end
        indicator observed) and ``remitted`` (1 when the end indicator is 0; missing without
        end data).

    Examples
    --------
    >>> from mbtbayes.io.register import get_register
    >>> at_risk(get_register().data, "suicide_attempt")["has_end"].sum()
    np.int64(34)
    """
    start, end = BEHAVIOURS[behaviour]
    rows = patient_rows(data, [start, end], what=f"remission of {behaviour}")
    positive = rows[binary_column(rows, start, what="remission") == 1]
    end_values = binary_column(positive, end, what="remission")
    return pd.DataFrame({schema.ID: positive[schema.ID], schema.PERIOD: positive[schema.PERIOD],
                         "has_end": end_values.notna(), "remitted": 1.0 - end_values})


def remission_counts(data: pd.DataFrame) -> pd.DataFrame:
    """Counts behind remission, per behaviour x period (I, II, pooled).

    Returns
    -------
    pandas.DataFrame
        ``behaviour``, ``period``, ``n_start_positive``, ``n_no_end_data`` (start-positive
        without an end indicator, left out of the remission denominator), ``n_at_risk``
        (start-positive with end data) and ``n_remitted``.

    Examples
    --------
    >>> from mbtbayes.io.register import get_register
    >>> remission_counts(get_register().data).iloc[0, 2:].astype(int).tolist()
    [77, 22, 55, 41]
    """
    rows = []
    for behaviour in _present_behaviours(data, what="remission"):
        risk = at_risk(data, behaviour)
        for period in (*schema.PERIODS, POOLED):
            part = risk if period == POOLED else risk[risk[schema.PERIOD] == period]
            ended = part[part["has_end"]]
            rows.append({"behaviour": behaviour, "period": period,
                         "n_start_positive": len(part),
                         "n_no_end_data": int((~part["has_end"]).sum()),
                         "n_at_risk": len(ended), "n_remitted": int(ended["remitted"].sum())})
    return pd.DataFrame(rows)


# ---------------------------------------------------------------- conjugate remission


def _summary(draws: np.ndarray, ci_prob: float) -> tuple[float, float, float]:
    low, high = hdi(draws, ci_prob=ci_prob)
    return float(np.mean(draws)), low, high


def _conjugate_rows(counts: pd.DataFrame, *, prior: tuple[float, float], ci_prob: float,
                    n_draws: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for behaviour, part in counts.groupby("behaviour", sort=False):
        posts = {r.period: BetaPosterior.update(r.n_remitted, r.n_at_risk, prior=prior)
                 for r in part.itertuples()}
        diff = posts["II"].draws(n_draws, rng) - posts["I"].draws(n_draws, rng)
        diff_low, diff_high = hdi(diff, ci_prob=ci_prob)
        diff_mean = posts["II"].mean - posts["I"].mean
        worse = prob_less(posts["II"], posts["I"])
        for r in part.itertuples():
            low, high = posts[r.period].hdi(ci_prob=ci_prob)
            rows.append({"behaviour": behaviour, "period": r.period, "p_mean": posts[r.period].mean,
                         "p_hdi_low": low, "p_hdi_high": high, "p_period_diff": diff_mean,
                         "p_diff_hdi_low": diff_low, "p_diff_hdi_high": diff_high,
                         "prob_ii_worse": worse})
    table = pd.DataFrame(rows)
    table.insert(2, "model", "beta_binomial")
    table["method"] = ("conjugate Beta-binomial per period (pooled: one Beta on the pooled "
                       "counts); exact mean, HDI and P(II < I), difference HDI from "
                       f"{n_draws} exact posterior draws")
    table["prior"] = f"Beta({prior[0]:g}, {prior[1]:g}) on each remission probability"
    return table


# ---------------------------------------------------------------- Bambi helpers


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silence Bambi's info logging and the samplers' warnings during a fit."""
    logger = logging.getLogger("bambi")
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)


@dataclass(frozen=True)
class SamplerOptions:
    """How a Bambi model is sampled.

    Attributes
    ----------
    sampler : {"nutpie", "pymc"}
    draws, tune, chains : int
    seed : int
    """

    sampler: str = "nutpie"
    draws: int = 1000
    tune: int = 1000
    chains: int = 4
    seed: int = SEED

    def __post_init__(self) -> None:
        if self.sampler not in ("nutpie", "pymc"):
            raise SpecError(f"sampler must be 'nutpie' or 'pymc', got {self.sampler!r}.")
        for name in ("draws", "tune", "chains"):
            if int(getattr(self, name)) < 1:
                raise SpecError(f"{name} must be >= 1, got {getattr(self, name)}.")


def fit_bambi(formula: str, frame: pd.DataFrame, *, family: str, priors: dict,
              options: SamplerOptions):
    """Build a Bambi model, check its prior keys, sample it and diagnose the draws.

    Parameters
    ----------
    formula : str
    frame : pandas.DataFrame
    family : str
        Bambi family, e.g. ``"binomial"`` or ``"bernoulli"``.
    priors : dict
        Term name -> ``bambi.Prior``; every key must name a term of the model (Bambi 0.17
        silently ignores unknown keys, so this is checked here).
    options : SamplerOptions

    Returns
    -------
    tuple
        ``(model, idata, diagnostics)``; ``diagnostics`` is a dict with ``max_r_hat``,
        ``min_ess_bulk``, ``min_ess_tail``, ``divergences``, ``attempts`` and ``passed`` (the
        gate of :data:`mbtbayes.bayes.GATE`). A fit that fails the gate is sampled once more
        with twice the tuning and ``target_accept = 0.95`` (``attempts = 2``); if it still
        fails, ``passed`` is False.
    """
    import bambi as bmb

    with _quiet():
        model = bmb.Model(formula, frame, family=family, priors=priors)
        _check_prior_keys(model, priors)

    def sample(seed: int, tune: int, target_accept: float):
        extra = {} if options.sampler == "nutpie" else {"cores": min(2, options.chains)}
        with _quiet():
            return model.fit(inference_method=options.sampler, draws=options.draws, tune=tune,
                             chains=options.chains, random_seed=seed, progressbar=False,
                             target_accept=target_accept, **extra)

    idata, diag = sample_with_gate(sample, options, var_names=list(priors))
    return model, idata, diag


def sample_with_gate(sample, options: SamplerOptions, *, var_names: list[str] | None = None):
    """Sample, check the diagnostics gate, and sample once more if it fails.

    Parameters
    ----------
    sample : callable
        ``sample(seed, tune, target_accept)`` -> InferenceData.
    options : SamplerOptions
    var_names : list of str, optional
        Parameters the gate checks (default: every posterior variable).

    Returns
    -------
    tuple
        ``(idata, diagnostics)``, as in :func:`fit_bambi`.
    """
    idata = sample(options.seed, options.tune, 0.8)
    diag = _diagnose(idata, var_names)
    if not diag["passed"]:  # once more, with longer tuning and smaller steps
        idata = sample(options.seed + 1, 2 * options.tune, 0.95)
        diag = _diagnose(idata, var_names) | {"attempts": 2}
    return idata, diag


def _check_prior_keys(model, priors: dict) -> None:
    terms = set()
    for component in model.components.values():
        terms |= set(component.common_terms) | set(component.group_specific_terms)
    unknown = sorted(set(priors) - terms)
    if unknown:
        raise SpecError(f"prior key(s) {unknown} name no term of the model; terms: "
                        f"{sorted(terms)}")


def _diagnose(idata, var_names: list[str] | None) -> dict:
    from mbtbayes.growth.marginal import GATE

    post = idata.posterior
    names = [v for v in post.data_vars
             if var_names is None or any(v == t or v.startswith(f"{t}_") for t in var_names)]
    r_hat, ess_bulk, ess_tail, divergences = convergence(idata, var_names=names)
    passed = (r_hat <= GATE["max_r_hat"] and ess_bulk >= GATE["min_ess_bulk"]
              and ess_tail >= GATE["min_ess_tail"] and divergences <= GATE["divergences"])
    return {"max_r_hat": r_hat, "min_ess_bulk": ess_bulk, "min_ess_tail": ess_tail,
            "divergences": divergences, "passed": bool(passed), "attempts": 1}


def _predict(model, idata, grid: pd.DataFrame, *, group_specific: bool = True) -> np.ndarray:
    """Posterior draws of the response probability on ``grid``: shape (draws, rows)."""
    with _quiet():
        out = model.predict(idata, data=grid, kind="response_params", inplace=False,
                            include_group_specific=group_specific)
    values = out.posterior["p"].values
    return values.reshape(-1, values.shape[-1])


# ---------------------------------------------------------------- logistic remission


def _covariate_frame(data: pd.DataFrame, risk: pd.DataFrame, covariates: Sequence[str],
                     behaviour: str) -> pd.DataFrame:
    if not covariates:
        return risk
    rows = patient_rows(data, list(covariates), what="remission covariates")
    merged = risk.merge(rows.drop(columns=schema.PERIOD), on=schema.ID, how="left")
    missing = {c: int(merged[c].isna().sum()) for c in covariates if merged[c].isna().any()}
    if missing:
        raise DataError(f"remission of {behaviour}: covariate values missing for at-risk "
                        f"patients {missing}; fill them in or leave the covariate out.")
    for c in covariates:
        if not pd.api.types.is_numeric_dtype(merged[c]):
            raise DataError(f"remission covariate {c} must be numeric.")
        sd = merged[c].std()
        merged[c] = (merged[c] - merged[c].mean()) / (sd if sd > 0 else 1.0)
    return merged


def _logistic_rows(data: pd.DataFrame, *, covariates: Sequence[str], logit_prior: tuple,
                   covariate_prior_sd: float, ci_prob: float,
                   options: SamplerOptions) -> pd.DataFrame:
    import bambi as bmb

    behaviours = _present_behaviours(data, what="remission")
    frames = [_covariate_frame(data, at_risk(data, b), covariates, b).assign(behaviour=b)
              for b in behaviours]
    risk = pd.concat(frames, ignore_index=True)
    risk = risk[risk["has_end"]]
    keys = ["behaviour", schema.PERIOD, *covariates]
    cells = risk.groupby(keys, observed=True)["remitted"].agg(y="sum", n="size").reset_index()
    for column, levels in (("behaviour", behaviours), (schema.PERIOD, schema.PERIODS)):
        cells[column] = pd.Categorical(cells[column], categories=levels)
    terms = ["behaviour:period", *(f"behaviour:{c}" for c in covariates)]
    priors = {"behaviour:period": bmb.Prior("Normal", mu=logit_prior[0], sigma=logit_prior[1])}
    priors |= {f"behaviour:{c}": bmb.Prior("Normal", mu=0.0, sigma=covariate_prior_sd)
               for c in covariates}
    model, idata, diag = fit_bambi("p(y, n) ~ 0 + " + " + ".join(terms), cells,
                                   family="binomial", priors=priors, options=options)
    rows = [row for b in behaviours
            for row in _standardised_rows(model, idata, risk[risk["behaviour"] == b], b, ci_prob)]
    table = pd.DataFrame(rows)
    table.insert(2, "model", "logistic")
    adjusted = (f", standardised over the at-risk patients' {', '.join(covariates)}"
                if covariates else "")
    table["method"] = (f"Bambi logistic regression (binomial counts, {options.sampler}, "
                       f"{options.chains} x {options.draws} draws){adjusted}; pooled = average "
                       "over the at-risk patients at their own period")
    table["prior"] = (f"Normal({logit_prior[0]:g}, {logit_prior[1]:g}) on logit p per behaviour x "
                      "period" + "".join(f"; Normal(0, {covariate_prior_sd:g}) per SD of {c}"
                                         for c in covariates))
    table["covariates"] = ", ".join(covariates)
    return table.assign(**diag)


def _standardised_rows(model, idata, risk: pd.DataFrame, behaviour: str,
                       ci_prob: float) -> list[dict]:
    """Period probabilities averaged over the behaviour's at-risk patients (g-formula)."""
    base = risk.drop(columns=["remitted", "has_end"]).copy()
    levels = model.data["behaviour"].cat.categories
    base["behaviour"] = pd.Categorical(base["behaviour"], categories=levels)
    draws = {p: _average_at(model, idata, base, [p] * len(base)) for p in schema.PERIODS}
    draws[POOLED] = _average_at(model, idata, base, base[schema.PERIOD])
    return _draw_rows(behaviour, draws, ci_prob)


def _average_at(model, idata, base: pd.DataFrame, periods: Sequence[str]) -> np.ndarray:
    """Posterior draws of the mean predicted probability with ``period`` set as given."""
    grid = base.assign(period=pd.Categorical(list(periods), categories=schema.PERIODS))
    return _predict(model, idata, grid).mean(axis=1)


def _draw_rows(behaviour: str, draws: dict[str, np.ndarray], ci_prob: float) -> list[dict]:
    """Remission rows from posterior draws per period (I, II, pooled)."""
    diff = draws["II"] - draws["I"]
    diff_mean, diff_low, diff_high = _summary(diff, ci_prob)
    rows = []
    for period, values in draws.items():
        mean, low, high = _summary(values, ci_prob)
        rows.append({"behaviour": behaviour, "period": period, "p_mean": mean, "p_hdi_low": low,
                     "p_hdi_high": high, "p_period_diff": diff_mean, "p_diff_hdi_low": diff_low,
                     "p_diff_hdi_high": diff_high, "prob_ii_worse": float(np.mean(diff < 0))})
    return rows


# ---------------------------------------------------------------- remission table


def remission_table(
    data: pd.DataFrame,
    *,
    prior: tuple[float, float] = (1.0, 1.0),
    models: Sequence[str] = REMISSION_MODELS,
    covariates: Sequence[str] = (),
    logit_prior: tuple[float, float] = (0.0, 1.5),
    covariate_prior_sd: float = 1.0,
    ci_prob: float = CI_PROB,
    n_draws: int = N_DRAWS,
    sampler: str = "nutpie",
    draws: int = 1000,
    tune: int = 1000,
    chains: int = 4,
    seed: int = SEED,
) -> pd.DataFrame:
    """Posterior remission per behaviour x period (I, II, pooled) x model.

    Remission = no behaviour in the last year of treatment, among patients with the behaviour
    in the 12 months before start and with an end indicator.

    Parameters
    ----------
    data : pandas.DataFrame
        Register in long format (one row per patient is taken). Needs ``patient_id``,
        ``period`` and, per behaviour, its start and end columns (a behaviour whose columns are
        absent is left out; at least one must be present).
    prior : (float, float), default (1, 1)
        Beta prior of each remission probability in the Beta-binomial model (uniform).
    models : sequence of {"beta_binomial", "logistic"}
        ``"beta_binomial"``: conjugate, exact, no sampling. ``"logistic"``: Bambi logistic
        regression ``p(y, n) ~ 0 + behaviour:period [+ behaviour:covariate ...]`` on binomial
        counts, both behaviours in one model (one compiled graph), sampled with nutpie.
    covariates : sequence of str, default ()
        Numeric patient-level covariates of the logistic model (e.g. ``("bpd_criteria",)``,
        since Period II admitted more severe patients); standardised, one slope per behaviour.
        Period probabilities are then standardised over the at-risk patients (each patient's
        covariates, period set to I and to II). Missing covariate values raise DataError.
    logit_prior : (float, float), default (0, 1.5)
        Normal prior (mean, SD) of the log-odds of remission per behaviour x period in the
        logistic model (about uniform on the probability scale).
    covariate_prior_sd : float, default 1
        SD of the Normal(0, SD) prior of each covariate slope (log-odds per covariate SD).
    ci_prob : float, default 0.95
    n_draws : int
        Draws from the exact Beta posteriors for the HDI of the difference.
    sampler, draws, tune, chains, seed
        Sampling of the logistic model (``seed`` also seeds the Monte Carlo draws).

    Returns
    -------
    pandas.DataFrame
        One row per behaviour x period x model: ``behaviour``, ``period``, ``model``,
        ``n_start_positive``, ``n_no_end_data``, ``n_at_risk``, ``n_remitted``,
        ``observed_pct``, ``p_mean``, ``p_hdi_low``, ``p_hdi_high``, ``p_period_diff``
        (posterior mean of p_II - p_I, the same on the behaviour's three rows),
        ``p_diff_hdi_low``, ``p_diff_hdi_high``, ``prob_ii_worse`` (P(p_II < p_I)),
        ``worse_if``, ``interval``, ``method``, ``prior``, ``covariates`` and, for sampled
        models, ``max_r_hat``, ``min_ess_bulk``, ``min_ess_tail``, ``divergences``,
        ``passed`` (missing for exact rows).

    Raises
    ------
    DataError
        Required columns absent, non-binary indicators, a column varying within a patient.
    SpecError
        Unknown model, invalid prior or sampler option.

    Examples
    --------
    >>> from mbtbayes.io.register import get_register
    >>> t = remission_table(get_register().data, models=("beta_binomial",))
    >>> round(float(t.loc[0, "p_mean"]), 3), t.loc[0, "interval"]
    (0.737, '95% HDI')
    """
    _check_models(models, REMISSION_MODELS)
    check_beta_prior(prior)
    options = SamplerOptions(sampler, draws, tune, chains, seed)
    counts = remission_counts(data)
    parts = []
    if "beta_binomial" in models:
        parts.append(_conjugate_rows(counts, prior=prior, ci_prob=ci_prob, n_draws=n_draws,
                                     seed=seed))
    if "logistic" in models:
        parts.append(_logistic_rows(data, covariates=tuple(covariates), logit_prior=logit_prior,
                                    covariate_prior_sd=covariate_prior_sd, ci_prob=ci_prob,
                                    options=options))
    table = counts.merge(pd.concat(parts, ignore_index=True), on=["behaviour", "period"])
    table["observed_pct"] = 100.0 * table["n_remitted"] / table["n_at_risk"].where(
        table["n_at_risk"] > 0)
    table["worse_if"] = "lower remission in Period II: prob_ii_worse = P(p_II < p_I)"
    table["interval"] = interval_label(ci_prob)
    return _ordered(table, ["behaviour", "period", "model", "n_start_positive", "n_no_end_data",
                            "n_at_risk", "n_remitted", "observed_pct", "p_mean", "p_hdi_low",
                            "p_hdi_high", "p_period_diff", "p_diff_hdi_low", "p_diff_hdi_high",
                            "prob_ii_worse", "worse_if", "interval", "method", "prior",
                            "covariates"], models)


def _check_models(models: Sequence[str], known: Sequence[str]) -> None:
    if isinstance(models, str):
        raise SpecError(f"models must be a sequence of names, e.g. ({models!r},).")
    unknown = [m for m in models if m not in known]
    if unknown or not models:
        raise SpecError(f"Unknown or no model(s) {unknown}; choose from {list(known)}.")


DIAGNOSTIC_COLUMNS = ("max_r_hat", "min_ess_bulk", "min_ess_tail", "divergences", "attempts",
                      "passed")


def _ordered(table: pd.DataFrame, first: list[str], models: Sequence[str]) -> pd.DataFrame:
    for column in (*first, *DIAGNOSTIC_COLUMNS):
        if column not in table:
            table[column] = pd.NA
    if "covariates" in table:
        table["covariates"] = table["covariates"].fillna("")
    table["passed"] = table["passed"].astype("boolean")
    rank = {"behaviour": {b: i for i, b in enumerate(BEHAVIOURS)},
            "model": {m: i for i, m in enumerate(models)},
            "period": {p: i for i, p in enumerate((*schema.PERIODS, POOLED))}}
    keys = [k for k in rank if k in table]
    table = table.sort_values(keys, key=lambda s: s.map(rank[s.name]), kind="stable")
    rest = [c for c in table.columns if c not in first and c not in DIAGNOSTIC_COLUMNS]
    return table[[*first, *rest, *DIAGNOSTIC_COLUMNS]].reset_index(drop=True)


# ---------------------------------------------------------------- start-end change


def paired_counts(data: pd.DataFrame) -> pd.DataFrame:
    """Paired start x end tables per behaviour x period (I, II, pooled).

    Returns
    -------
    pandas.DataFrame
        ``behaviour``, ``period``, ``n_pairs`` (patients with both indicators),
        ``n_no_end_data`` (start indicator but no end indicator: not in the pairs),
        ``n_yes_yes``, ``n_yes_no`` (McNemar's b: behaviour at start, not at end),
        ``n_no_yes`` (c: new at end), ``n_no_no``.

    Examples
    --------
    >>> from mbtbayes.io.register import get_register
    >>> paired_counts(get_register().data).iloc[0, 2:].tolist()
    [61, 35, 14, 41, 0, 6]
    """
    rows = []
    for behaviour in _present_behaviours(data, what="start-end change"):
        start, end = BEHAVIOURS[behaviour]
        frame = patient_rows(data, [start, end], what=f"start-end change of {behaviour}")
        s, e = binary_column(frame, start, what="change"), binary_column(frame, end, what="change")
        for period in (*schema.PERIODS, POOLED):
            keep = np.ones(len(frame), bool) if period == POOLED else frame[schema.PERIOD] == period
            ss, ee = s[keep], e[keep]
            both = ss.notna() & ee.notna()
            rows.append({"behaviour": behaviour, "period": period, "n_pairs": int(both.sum()),
                         "n_no_end_data": int((ss.notna() & ee.isna()).sum()),
                         "n_yes_yes": int(((ss == 1) & (ee == 1)).sum()),
                         "n_yes_no": int(((ss == 1) & (ee == 0)).sum()),
                         "n_no_yes": int(((ss == 0) & (ee == 1)).sum()),
                         "n_no_no": int(((ss == 0) & (ee == 0)).sum())})
    return pd.DataFrame(rows)


CELLS = ("n_yes_yes", "n_yes_no", "n_no_yes", "n_no_no")


def _dirichlet_rows(counts: pd.DataFrame, *, concentration: float, ci_prob: float,
                    n_draws: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for behaviour, part in counts.groupby("behaviour", sort=False):
        theta = {r.period: rng.dirichlet(concentration + np.array([getattr(r, c) for c in CELLS],
                                                                  float), size=n_draws)
                 for r in part.itertuples()}
        change = {p: t[:, 2] - t[:, 1] for p, t in theta.items()}
        diff = change["II"] - change["I"]
        d_mean, d_low, d_high = _summary(diff, ci_prob)
        for r in part.itertuples():
            t = theta[r.period]
            c_mean, c_low, c_high = _summary(change[r.period], ci_prob)
            rows.append({"behaviour": behaviour, "period": r.period,
                         "p_start_mean": float(np.mean(t[:, 0] + t[:, 1])),
                         "p_end_mean": float(np.mean(t[:, 0] + t[:, 2])),
                         "change_mean": c_mean, "change_hdi_low": c_low, "change_hdi_high": c_high,
                         "prob_decrease": float(stats.beta.sf(0.5, concentration + r.n_yes_no,
                                                              concentration + r.n_no_yes)),
                         "change_diff_mean": d_mean, "change_diff_hdi_low": d_low,
                         "change_diff_hdi_high": d_high,
                         "prob_ii_worse": float(np.mean(diff > 0))})
    table = pd.DataFrame(rows)
    table.insert(2, "model", "dirichlet")
    table["method"] = ("Dirichlet-multinomial of the paired start x end table; change = "
                       "p_end - p_start; prob_decrease exact (discordant-pair Beta: "
                       f"P(b/(b+c) > 1/2)); the rest from {n_draws} exact posterior draws")
    table["prior"] = (f"Dirichlet({concentration:g}, {concentration:g}, {concentration:g}, "
                      f"{concentration:g}) on the four paired cells")
    return table


def _gauss_hermite(nodes: int = 100) -> tuple[np.ndarray, np.ndarray]:
    x, w = np.polynomial.hermite.hermgauss(nodes)
    return np.sqrt(2.0) * x, w / np.sqrt(np.pi)


def marginal_probability(eta: np.ndarray, sd: np.ndarray) -> np.ndarray:
    """Population-averaged probability ``E[logistic(eta + u)]``, ``u ~ N(0, sd)``.

    Computed by 100-point Gauss-Hermite quadrature (error below 1e-5 for SDs up to 5),
    elementwise over broadcast ``eta`` and ``sd``.

    Examples
    --------
    >>> round(float(marginal_probability(np.array(0.0), np.array(2.0))), 6)
    0.5
    """
    z, w = _gauss_hermite()
    eta, sd = np.broadcast_arrays(np.asarray(eta, float), np.asarray(sd, float))
    return np.sum(w * special.expit(eta[..., None] + sd[..., None] * z), axis=-1)


GLMM_NODES = 60
"""Gauss-Hermite nodes of the marginal-likelihood GLMM."""


def glmm_pattern_model(counts: np.ndarray, behaviours: Sequence[str], *,
                       logit_prior: tuple[float, float], re_prior_sd: float):
    """The Bernoulli random-intercept GLMM of paired start/end indicators, as a PyMC model.

    ``logit P(y = 1) = eta[behaviour, period, time] + u[patient, behaviour]``,
    ``u ~ Normal(0, sigma[behaviour])``: the model of Bambi's ``y ~ 0 +
    behaviour:period:time + (0 + behaviour | patient_id)``. With exactly two binary
    observations per patient and behaviour, the data reduce to the counts of the four
    start/end patterns per behaviour and period, and the patient intercept can be integrated
    out of the likelihood (Gauss-Hermite quadrature, :data:`GLMM_NODES` nodes):
    ``P(pattern) = E_u[P(start | u) P(end | u)]``, a multinomial over the patterns. Same
    posterior of ``eta`` and ``sigma``, ten parameters instead of one per patient, no funnel.

    Parameters
    ----------
    counts : numpy.ndarray
        Shape (behaviours, 2 periods, 4 patterns): yes-yes, yes-no, no-yes, no-no.
    behaviours : sequence of str
    logit_prior : (float, float)
        Normal prior (mean, SD) of each ``eta``.
    re_prior_sd : float
        HalfNormal scale of each ``sigma``.

    Returns
    -------
    pymc.Model
        Free parameters ``eta`` (behaviour, period, time) and ``sigma`` (behaviour); the
        log-likelihood ``sum(counts * log P(pattern))`` is the potential ``loglik`` (a
        multinomial without its constant; this form compiles faster in numba than
        ``pm.Multinomial``).
    """
    import pymc as pm

    z, w = _gauss_hermite(GLMM_NODES)
    coords = {"behaviour": list(behaviours), "period": list(schema.PERIODS),
              "time": ["start", "end"], "pattern": list(CELLS)}
    with pm.Model(coords=coords) as model:
        observed = pm.Data("counts", counts, dims=("behaviour", "period", "pattern"))
        eta = pm.Normal("eta", logit_prior[0], logit_prior[1], dims=("behaviour", "period", "time"))
        sigma = pm.HalfNormal("sigma", re_prior_sd, dims="behaviour")
        p = pm.math.invlogit(eta[..., None] + sigma[:, None, None, None] * z)  # (B, P, T, K)
        start, end = p[:, :, 0, :], p[:, :, 1, :]
        loglik = 0.0
        for i, pattern in enumerate((start * end, start * (1 - end), (1 - start) * end,
                                     (1 - start) * (1 - end))):
            loglik += observed[..., i] * pm.math.log(pm.math.dot(pattern, w))
        # the multinomial likelihood of the pattern counts, without its constant coefficient
        pm.Potential("loglik", pm.math.sum(loglik))
    return model


_COMPILED: dict[tuple, object] = {}
"""nutpie-compiled pattern models, by (behaviours, priors): compiled once per process."""


def _pattern_sampler(counts: np.ndarray, behaviours: list[str], *, logit_prior: tuple,
                     re_prior_sd: float, options: SamplerOptions):
    """A ``sample(seed, tune, target_accept)`` function for the pattern GLMM."""
    if options.sampler == "pymc":
        import pymc as pm

        model = glmm_pattern_model(counts, behaviours, logit_prior=logit_prior,
                                   re_prior_sd=re_prior_sd)

        def sample_pymc(seed: int, tune: int, target_accept: float):
            with _quiet(), model:
                return pm.sample(draws=options.draws, tune=tune, chains=options.chains,
                                 cores=min(2, options.chains), random_seed=seed,
                                 target_accept=target_accept, progressbar=False,
                                 compute_convergence_checks=False)

        return sample_pymc
    import nutpie

    key = (tuple(behaviours), tuple(logit_prior), re_prior_sd)
    if key not in _COMPILED:
        model = glmm_pattern_model(counts, behaviours, logit_prior=logit_prior,
                                   re_prior_sd=re_prior_sd)
        with _quiet():
            _COMPILED[key] = nutpie.compile_pymc_model(model, var_names=["eta", "sigma"])
    compiled = _COMPILED[key].with_data(counts=counts)

    def sample_nutpie(seed: int, tune: int, target_accept: float):
        with _quiet():
            return nutpie.sample(compiled, draws=options.draws, tune=tune, chains=options.chains,
                                 seed=seed, progress_bar=False, save_warmup=False,
                                 target_accept=target_accept)

    return sample_nutpie


def _glmm_rows(counts: pd.DataFrame, *, logit_prior: tuple, re_prior_sd: float,
               ci_prob: float, options: SamplerOptions) -> pd.DataFrame:
    behaviours = list(dict.fromkeys(counts["behaviour"]))
    table = counts.set_index(["behaviour", "period"])
    array = np.array([[[table.at[(b, p), c] for c in CELLS] for p in schema.PERIODS]
                      for b in behaviours], dtype=float)
    sample = _pattern_sampler(array, behaviours, logit_prior=logit_prior,
                              re_prior_sd=re_prior_sd, options=options)
    idata, diag = sample_with_gate(sample, options, var_names=["eta", "sigma"])
    eta = idata.posterior["eta"].values  # (chain, draw, B, P, T)
    eta = eta.reshape(-1, *eta.shape[2:])
    sd = idata.posterior["sigma"].values.reshape(-1, len(behaviours))
    rows = []
    for i, behaviour in enumerate(behaviours):
        marg = marginal_probability(eta[:, i].reshape(eta.shape[0], -1), sd[:, i, None])
        rows += _glmm_behaviour_rows(behaviour, marg, table.loc[behaviour, "n_pairs"], ci_prob)
    out = pd.DataFrame(rows)
    out.insert(2, "model", "glmm")
    out["method"] = ("Bernoulli GLMM logit p = eta[behaviour, period, time] + u[patient], u ~ "
                     "N(0, sigma[behaviour]), on complete pairs, fitted on its exact marginal "
                     "likelihood (patient intercept integrated out by Gauss-Hermite quadrature; "
                     f"PyMC, {options.sampler}, {options.chains} x {options.draws} draws); "
                     "population-averaged probabilities; pooled = weighted by n_pairs")
    out["prior"] = (f"Normal({logit_prior[0]:g}, {logit_prior[1]:g}) on logit p per behaviour x "
                    f"period x time; patient intercept SD ~ HalfNormal({re_prior_sd:g})")
    return out.assign(**diag)


def _glmm_bambi_rows(data: pd.DataFrame, counts: pd.DataFrame, *, logit_prior: tuple,
                     re_prior_sd: float, ci_prob: float, options: SamplerOptions) -> pd.DataFrame:
    import bambi as bmb

    long = _paired_long(data)
    behaviours = list(long["behaviour"].cat.categories)
    priors = {"behaviour:period:time": bmb.Prior("Normal", mu=logit_prior[0], sigma=logit_prior[1]),
              "behaviour|patient_id": bmb.Prior("Normal", mu=0.0,
                                                sigma=bmb.Prior("HalfNormal", sigma=re_prior_sd))}
    model, idata, diag = fit_bambi(
        "y ~ 0 + behaviour:period:time + (0 + behaviour | patient_id)", long,
        family="bernoulli", priors=priors, options=options)
    sd = idata.posterior["behaviour|patient_id_sigma"]
    rows = []
    for behaviour in behaviours:
        sd_b = sd.sel({sd.dims[-1]: behaviour}).values.ravel()
        grid = pd.DataFrame([(behaviour, p, t) for p in schema.PERIODS for t in ("start", "end")],
                            columns=["behaviour", schema.PERIOD, "time"])
        for column, levels in (("behaviour", behaviours), (schema.PERIOD, schema.PERIODS),
                               ("time", ("start", "end"))):
            grid[column] = pd.Categorical(grid[column], categories=levels)
        cond = _predict(model, idata, grid, group_specific=False)
        marg = marginal_probability(special.logit(cond), sd_b[:, None])
        n = counts[counts["behaviour"] == behaviour].set_index("period")["n_pairs"]
        rows += _glmm_behaviour_rows(behaviour, marg, n, ci_prob)
    table = pd.DataFrame(rows)
    table.insert(2, "model", "glmm_bambi")
    table["method"] = ("Bambi Bernoulli GLMM y ~ 0 + behaviour:period:time + (0 + behaviour | "
                       f"patient_id) on complete pairs, patient effects sampled ("
                       f"{options.sampler}, {options.chains} x {options.draws} draws); "
                       "population-averaged probabilities (random intercept integrated out); "
                       "pooled = weighted by n_pairs")
    table["prior"] = (f"Normal({logit_prior[0]:g}, {logit_prior[1]:g}) on logit p per behaviour x "
                      f"period x time; patient intercept SD ~ HalfNormal({re_prior_sd:g})")
    return table.assign(**diag)


def _glmm_behaviour_rows(behaviour: str, marg: np.ndarray, n: pd.Series,
                         ci_prob: float) -> list[dict]:
    start = {"I": marg[:, 0], "II": marg[:, 2]}
    end = {"I": marg[:, 1], "II": marg[:, 3]}
    w = n["I"] / max(n["I"] + n["II"], 1)
    start[POOLED] = w * start["I"] + (1 - w) * start["II"]
    end[POOLED] = w * end["I"] + (1 - w) * end["II"]
    change = {p: end[p] - start[p] for p in start}
    diff = change["II"] - change["I"]
    d_mean, d_low, d_high = _summary(diff, ci_prob)
    rows = []
    for period in (*schema.PERIODS, POOLED):
        c_mean, c_low, c_high = _summary(change[period], ci_prob)
        rows.append({"behaviour": behaviour, "period": period,
                     "p_start_mean": float(start[period].mean()),
                     "p_end_mean": float(end[period].mean()), "change_mean": c_mean,
                     "change_hdi_low": c_low, "change_hdi_high": c_high,
                     "prob_decrease": float(np.mean(change[period] < 0)),
                     "change_diff_mean": d_mean, "change_diff_hdi_low": d_low,
                     "change_diff_hdi_high": d_high, "prob_ii_worse": float(np.mean(diff > 0))})
    return rows


def _paired_long(data: pd.DataFrame) -> pd.DataFrame:
    """Two rows (start, end) per patient with both indicators, per behaviour."""
    frames = []
    for behaviour in _present_behaviours(data, what="start-end change"):
        start, end = BEHAVIOURS[behaviour]
        rows = patient_rows(data, [start, end], what=f"start-end change of {behaviour}")
        rows = rows.dropna(subset=[start, end])
        for time, column in (("start", start), ("end", end)):
            frames.append(pd.DataFrame({
                schema.ID: rows[schema.ID], schema.PERIOD: rows[schema.PERIOD],
                "behaviour": behaviour, "time": time, "y": rows[column].astype(int)}))
    long = pd.concat(frames, ignore_index=True)
    behaviours = list(dict.fromkeys(long["behaviour"]))
    for column, levels in (("behaviour", behaviours), (schema.PERIOD, schema.PERIODS),
                           ("time", ("start", "end"))):
        long[column] = pd.Categorical(long[column], categories=levels)
    return long


def start_end_change(
    data: pd.DataFrame,
    *,
    concentration: float = 0.5,
    models: Sequence[str] = ("dirichlet", "glmm"),
    logit_prior: tuple[float, float] = (0.0, 1.5),
    re_prior_sd: float = 1.5,
    ci_prob: float = CI_PROB,
    n_draws: int = N_DRAWS,
    sampler: str = "nutpie",
    draws: int = 1000,
    tune: int = 1000,
    chains: int = 4,
    seed: int = SEED,
) -> pd.DataFrame:
    """Paired start-end change of each behaviour, within period and between periods.

    McNemar's test asks only whether b (yes -> no) equals c (no -> yes) within one group; here
    the posterior of the change ``p_end - p_start`` is given per period and pooled, with
    P(decrease), and the difference of the changes between periods (II - I) with P(Period II
    worse), i.e. P(change_II > change_I): a smaller decrease (or an increase) in Period II.

    Parameters
    ----------
    data : pandas.DataFrame
        Register in long format; patients with both a start and an end indicator are paired
        (the others are counted in ``n_no_end_data``).
    concentration : float, default 0.5
        Dirichlet(c, c, c, c) prior on the four paired cells; 0.5 makes each margin
        (``p_start``, ``p_end``) uniform, Beta(1, 1), a priori.
    models : sequence of {"dirichlet", "glmm", "glmm_bambi"}, default ("dirichlet", "glmm")
        ``"dirichlet"``: exact Dirichlet-multinomial of the paired table (no sampling).
        ``"glmm"``: the Bernoulli GLMM ``y ~ 0 + behaviour:period:time + (0 + behaviour |
        patient_id)`` fitted on its marginal likelihood (:func:`glmm_pattern_model`; PyMC,
        nutpie, ten parameters, a few seconds). ``"glmm_bambi"``: the same model in Bambi with
        every patient's intercept sampled (a cross-check; slower, and its intercept SD mixes
        poorly with two binary observations per patient). Both GLMMs report population-averaged
        probabilities (the random intercept integrated out by quadrature).
    logit_prior : (float, float), default (0, 1.5)
        Normal prior of each cell log-odds in the GLMM.
    re_prior_sd : float, default 1.5
        HalfNormal scale of each behaviour's patient-intercept SD in the GLMM.
    ci_prob, n_draws, sampler, draws, tune, chains, seed
        As in :func:`remission_table`.

    Returns
    -------
    pandas.DataFrame
        One row per behaviour x period (I, II, pooled) x model: ``behaviour``, ``period``,
        ``model``, ``n_pairs``, ``n_no_end_data``, ``n_yes_yes``, ``n_yes_no``, ``n_no_yes``,
        ``n_no_no``, ``p_start_mean``, ``p_end_mean``, ``change_mean``, ``change_hdi_low``,
        ``change_hdi_high``, ``prob_decrease``, ``change_diff_mean``, ``change_diff_hdi_low``,
        ``change_diff_hdi_high``, ``prob_ii_worse``, ``worse_if``, ``interval``, ``method``,
        ``prior`` and the diagnostics columns (missing for the exact model).

    Examples
    --------
    >>> from mbtbayes.io.register import get_register
    >>> t = start_end_change(get_register().data, models=("dirichlet",))
    >>> bool((t["prob_decrease"] > 0.99).all())
    True
    """
    _check_models(models, CHANGE_MODELS)
    if not concentration > 0:
        raise SpecError(f"concentration must be positive, got {concentration}.")
    options = SamplerOptions(sampler, draws, tune, chains, seed)
    counts = paired_counts(data)
    parts = []
    if "dirichlet" in models:
        parts.append(_dirichlet_rows(counts, concentration=concentration, ci_prob=ci_prob,
                                     n_draws=n_draws, seed=seed))
    if "glmm" in models:
        parts.append(_glmm_rows(counts, logit_prior=logit_prior, re_prior_sd=re_prior_sd,
                                ci_prob=ci_prob, options=options))
    if "glmm_bambi" in models:
        parts.append(_glmm_bambi_rows(data, counts, logit_prior=logit_prior,
                                      re_prior_sd=re_prior_sd, ci_prob=ci_prob, options=options))
    table = counts.merge(pd.concat(parts, ignore_index=True), on=["behaviour", "period"])
    table["worse_if"] = ("smaller decrease in Period II: prob_ii_worse = "
                         "P(change_II > change_I), change = p_end - p_start")
    table["interval"] = interval_label(ci_prob)
    return _ordered(table, ["behaviour", "period", "model", "n_pairs", "n_no_end_data", *CELLS,
                            "p_start_mean", "p_end_mean", "change_mean", "change_hdi_low",
                            "change_hdi_high", "prob_decrease", "change_diff_mean",
                            "change_diff_hdi_low", "change_diff_hdi_high", "prob_ii_worse",
                            "worse_if", "interval", "method", "prior"], models)
