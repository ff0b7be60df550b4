"""Bayesian growth models: Bambi formula -> design, a PyMC graph, nutpie (or PyMC NUTS) draws.

The formula of a spec is parsed by Bambi (formulae), which gives the fixed-effects design and the
term names the priors are keyed by. The model is

    y = X b + u0[patient] + u1[patient] * time + e,   e ~ N(0, sigma),

with normal patient effects, independent (Bambi 0.17's structure, ``(time | id)``) or correlated
(``correlated = true`` in the spec). The patient effects are integrated out analytically: the
graph's likelihood is each patient's multivariate normal density, computed from per-patient
sums with 2 x 2 algebra, so only b, the two patient SDs, sigma (and the correlation) are sampled.
That removes the funnel that made the patient-slope SD mix slowly when it is near zero. Every
data-dependent quantity, prior scales included, is a ``pm.Data`` container, and designs are
padded with zero columns to a common width, so nutpie compiles one graph and reuses it for every
measure and variant by swapping data. Sampling never happens at import or in a constructor.

A diagnostics gate checks every fit (max R-hat <= 1.01, min bulk and tail ESS >= 400, no
divergences, over every sampled parameter). A fit that fails is refitted once with twice the
tuning, three times the draws and ``target_accept = 0.95``; if it still fails it is kept with
``passed = False``, which every table that uses it shows.

Examples
--------
>>> from mbtbayes.growth.specs import make_spec
>>> spec = make_spec(outcome="y", time="week", group="id", period="arm", range=(0, 10))
>>> fit = fit_growth(spec, data, variant="period", draws=500)  # doctest: +SKIP
>>> fit.diagnostics.passed  # doctest: +SKIP
True
"""

from __future__ import annotations

import time as _time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from mbtbayes.core.defaults import SEED
from mbtbayes.core.errors import DataError, SpecError
from mbtbayes.core.hints import did_you_mean
from mbtbayes.growth.loo import LOG_2PI, patient_sums
from mbtbayes.growth.specs import ModelSpec, default_priors

GATE = {"max_r_hat": 1.01, "min_ess_bulk": 400, "min_ess_tail": 400, "divergences": 0}
"""Thresholds of the diagnostics gate."""

SAMPLERS = ("nutpie", "pymc")
LKJ_ETA = 2.0
"""LKJ shape of the correlated variant (mildly favours small correlations)."""


# ---------------------------------------------------------------- design


@dataclass(frozen=True)
class Design:
    """The data of one fit, as the PyMC graph takes them.

    Attributes
    ----------
    y : (n,) array
    X : (n, p) array
        Fixed-effects design from the Bambi formula (intercept first).
    columns : tuple of str
        Column names of X, e.g. ``("Intercept", "months", "period[II]", "months:period[II]")``.
    terms : tuple of str
        The formula term of each column (priors are keyed by term).
    time : (n,) array
    group : (n,) int array
        Patient index into ``groups``.
    groups : tuple of str
        Every patient of the data; a patient without an observation of this outcome
        contributes nothing to the likelihood.
    n_excluded : int
        Rows dropped because the outcome or a covariate was missing.
    """

    y: np.ndarray
    X: np.ndarray
    columns: tuple[str, ...]
    terms: tuple[str, ...]
    time: np.ndarray
    group: np.ndarray
    groups: tuple[str, ...]
    n_excluded: int


def make_design(spec: ModelSpec, data: pd.DataFrame, *, variant: str) -> Design:
    """Build the design of one variant of a spec on long-format data.

    Parameters
    ----------
    spec : ModelSpec
    data : pandas.DataFrame
        Long format, with the spec's outcome, time, group, period and covariate columns.
    variant : str
        ``"linear"`` or ``"period"``.

    Returns
    -------
    Design

    Raises
    ------
    SpecError
        If the variant is unknown or its random-effects part is not ``(time | group)``.
    DataError
        If a column is missing or no row is left.
    """
    if variant not in spec.formulas:
        raise SpecError(f"{spec.name}: no formula for variant '{variant}'"
                        f"{did_you_mean(variant, spec.formulas)}")
    needed = [spec.measure, spec.time, spec.group, *spec.covariates(variant)]
    if variant == "period":
        needed.append(spec.period)
    absent = [c for c in needed if c not in data]
    if absent:
        raise DataError(f"{spec.name}: the data have no column(s) {', '.join(absent)}")
    groups = tuple(pd.unique(data[spec.group].astype(str)))
    used = data.dropna(subset=needed)
    if used.empty:
        raise DataError(f"{spec.name}: no rows with {spec.measure} and its predictors observed")
    common = _bambi_design(spec, used, variant)
    group = pd.Categorical(used[spec.group].astype(str), categories=groups).codes
    return Design(
        y=used[spec.measure].to_numpy(float), X=np.asarray(common.design_matrix, float),
        columns=tuple(common.as_dataframe().columns), terms=_column_terms(common),
        time=used[spec.time].to_numpy(float), group=group.astype(np.int64), groups=groups,
        n_excluded=len(data) - len(used))


def _bambi_design(spec: ModelSpec, used: pd.DataFrame, variant: str):
    import bambi as bmb

    frame = used.copy()
    for column in frame.columns:
        if isinstance(frame[column].dtype, pd.CategoricalDtype):
            frame[column] = frame[column].cat.remove_unused_categories()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = bmb.Model(spec.formulas[variant], frame)
    except Exception as err:  # formulae raises many types for a bad formula
        raise SpecError(f"{spec.name}: cannot build '{spec.formulas[variant]}': {err}") from None
    component = model.components["mu"]
    wanted = {f"1|{spec.group}", f"{spec.time}|{spec.group}"}
    if set(component.group_specific_terms) != wanted:
        raise SpecError(f"{spec.name}: the random-effects part must be ({spec.time} | "
                        f"{spec.group}); got {sorted(component.group_specific_terms)}")
    return component.design.common


def _column_terms(common) -> tuple[str, ...]:
    terms = [""] * common.design_matrix.shape[1]
    for term, sl in common.slices.items():
        for i in range(sl.start, sl.stop):
            terms[i] = term
    return tuple(terms)


# ---------------------------------------------------------------- priors


def prior_values(spec: ModelSpec, design: Design) -> dict[str, np.ndarray]:
    """Prior parameters of one fit, per design column and variance component.

    Terms the spec leaves out get :func:`mbtbayes.specs.default_priors` from the spec's range.
    Coefficients take Normal priors; SDs take HalfNormal priors (the engine's graph).

    Returns
    -------
    dict
        ``beta_mu``, ``beta_sd`` (per column), ``re_sd`` (intercept, slope), ``sigma_sd``.

    Raises
    ------
    SpecError
        If a prior has another distribution.
    """
    fallback = default_priors(low=spec.range[0], high=spec.range[1], time=spec.time,
                              group=spec.group, period=spec.period,
                              covariates=tuple(t for t in design.terms if t not in
                                               ("Intercept", spec.time, spec.period,
                                                f"{spec.time}:{spec.period}")))
    priors = {**fallback, **spec.priors}

    def normal(term: str) -> tuple[float, float]:
        p = priors[term]
        _expect(spec, term, p, "Normal")
        return float(p["mu"]), float(p["sigma"])

    def half(term: str, p: dict) -> float:
        _expect(spec, term, p, "HalfNormal")
        return float(p["sigma"])

    mus, sds = zip(*(normal(t) for t in design.terms), strict=True)
    re = [half(k, priors[k]["sigma"]) for k in (f"1|{spec.group}", f"{spec.time}|{spec.group}")]
    return {"beta_mu": np.array(mus), "beta_sd": np.array(sds), "re_sd": np.array(re),
            "sigma_sd": np.array(half("sigma", priors["sigma"]))}


def _expect(spec: ModelSpec, term: str, prior: dict, dist: str) -> None:
    if not isinstance(prior, dict) or prior.get("dist") != dist:
        raise SpecError(f"{spec.name}: prior of '{term}' must be a {dist} "
                        f"(the growth-model engine's graph); got {prior}")


def check_prior_keys(spec: ModelSpec, designs: list[Design]) -> None:
    """Every prior key of the spec must name a term of a built model (Bambi ignores typos).

    Raises
    ------
    SpecError
        Naming the unknown keys, with did-you-mean hints.
    """
    terms = {t for d in designs for t in d.terms}
    terms |= {f"1|{spec.group}", f"{spec.time}|{spec.group}", "sigma"}
    if spec.period is not None:  # the period variant may be skipped when data have no period
        terms |= {spec.period, f"{spec.time}:{spec.period}"}
    unknown = [k for k in spec.priors if k not in terms]
    if unknown:
        hints = ", ".join(f"'{k}'{did_you_mean(k, terms)}" for k in unknown)
        raise SpecError(f"{spec.name}: prior key(s) {hints} name no term of the model; terms: "
                        + ", ".join(sorted(terms)))


# ---------------------------------------------------------------- the PyMC graph


def build_model(design: Design, priors: dict[str, np.ndarray], *, correlated: bool):
    """The PyMC growth model with the patient effects integrated out analytically.

    The likelihood is each patient's marginal density
    ``y_i ~ MVN(X_i b, Z_i G Z_i' + sigma^2 I)``, ``Z_i = [1, time]``, written with per-patient
    sums of squares and 2 x 2 algebra (see :mod:`mbtbayes.growth.loo`); it is the same model as
    ``y ~ ... + (time | id)`` with normal patient effects, without sampling those effects.
    Every data-dependent quantity, prior scales included, is a ``pm.Data`` container.

    Parameters
    ----------
    design : Design
    priors : dict
        From :func:`prior_values`.
    correlated : bool
        Correlated patient intercept and slope: ``corr`` has the LKJ(eta = 2) marginal for two
        dimensions, ``(corr + 1) / 2 ~ Beta(2, 2)``; otherwise independent effects.

    Returns
    -------
    pymc.Model
    """
    import pymc as pm

    with pm.Model(coords={"coef": list(design.columns)}) as model:
        d = {k: pm.Data(k, v) for k, v in _data_values(design, priors).items()}
        beta = pm.Normal("beta", d["beta_mu"], d["beta_sd"], dims="coef")
        sd0 = pm.HalfNormal("sd_intercept", d["re_sd"][0])
        sd1 = pm.HalfNormal("sd_slope", d["re_sd"][1])
        sigma = pm.HalfNormal("sigma", d["sigma_sd"])
        rho = 0.0
        if correlated:
            rho = pm.Deterministic("corr", 2 * pm.Beta("corr_01", LKJ_ETA, LKJ_ETA) - 1)
        pm.Potential("marginal_loglik", _marginal_logp(d, beta, sd0, sd1, rho, sigma))
    return model


def _marginal_logp(d, beta, sd0, sd1, rho, sigma):
    """Sum over patients of the marginal Gaussian log-density (PyTensor).

    With ``A = Z'Z``, ``u = Z'r`` and ``M = sigma^2 I + A G`` (2 x 2), the 2 x 2 identities
    ``det M = s^4 + s^2 tr(AG) + det A det G`` and
    ``u'G adj(M) u = s^2 u'Gu + det G u'adj(A)u`` keep the graph small.
    """
    import pytensor.tensor as pt

    g00, g01, g11, s2 = sd0**2, rho * sd0 * sd1, sd1**2, sigma**2
    det_g = g00 * g11 - g01**2
    rr = d["yy"] - 2 * pt.dot(d["Xy"], beta) + pt.dot(d["XX"], pt.outer(beta, beta).ravel())
    u0 = d["Zy0"] - pt.dot(d["ZX0"], beta)
    u1 = d["Zy1"] - pt.dot(d["ZX1"], beta)
    a00, a01, a11 = d["ZZ00"], d["ZZ01"], d["ZZ11"]
    det_m = (s2**2 + s2 * (a00 * g00 + 2 * a01 * g01 + a11 * g11)
             + (a00 * a11 - a01**2) * det_g)
    q_g = g00 * u0**2 + 2 * g01 * u0 * u1 + g11 * u1**2
    q_a = a11 * u0**2 - 2 * a01 * u0 * u1 + a00 * u1**2
    ugw = (s2 * q_g + det_g * q_a) / det_m
    k = d["k"]
    return -0.5 * pt.sum(k * LOG_2PI + (k - 2) * pt.log(s2) + pt.log(det_m) + (rr - ugw) / s2)


def pad_design(design: Design, priors: dict[str, np.ndarray], *, width: int):
    """Pad a design with zero columns up to ``width`` (no padding for wider designs).

    A zero column leaves the likelihood unchanged, so its coefficient keeps its N(0, 1) prior
    and the other parameters' posterior is that of the unpadded model.
    """
    extra = max(width - design.X.shape[1], 0)
    if not extra:
        return design, priors
    X = np.hstack([design.X, np.zeros((design.X.shape[0], extra))])
    names = tuple(f"_pad{i}" for i in range(extra))
    padded = Design(design.y, X, design.columns + names, design.terms + names, design.time,
                    design.group, design.groups, design.n_excluded)
    priors = priors | {"beta_mu": np.concatenate([priors["beta_mu"], np.zeros(extra)]),
                       "beta_sd": np.concatenate([priors["beta_sd"], np.ones(extra)])}
    return padded, priors


def _data_values(design: Design, priors: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    s = patient_sums(design.y, design.X, design.time, design.group, len(design.groups))
    flat = {"k": s["k"], "yy": s["yy"], "Xy": s["Xy"], "XX": s["XX"].reshape(len(s["k"]), -1),
            "Zy0": s["Zy"][:, 0], "Zy1": s["Zy"][:, 1], "ZX0": s["ZX"][:, 0], "ZX1": s["ZX"][:, 1],
            "ZZ00": s["ZZ"][:, 0, 0], "ZZ01": s["ZZ"][:, 0, 1], "ZZ11": s["ZZ"][:, 1, 1]}
    return {**flat, **priors}


# ---------------------------------------------------------------- diagnostics


@dataclass(frozen=True)
class Diagnostics:
    """Convergence diagnostics of one fit, and whether it passed the gate."""

    max_r_hat: float
    min_ess_bulk: float
    min_ess_tail: float
    divergences: int
    passed: bool
    attempts: int = 1
    draws: int = 0
    """Draws per chain of the kept fit."""


def diagnose(idata, *, attempts: int = 1) -> Diagnostics:
    """Apply the gate (:data:`GATE`) over every sampled parameter of a fit."""
    from mbtbayes.core.arviz_api import convergence

    r_hat, ess_bulk, ess_tail, divergences = convergence(idata, var_names=sampled_vars(idata))
    passed = (r_hat <= GATE["max_r_hat"] and ess_bulk >= GATE["min_ess_bulk"]
              and ess_tail >= GATE["min_ess_tail"] and divergences <= GATE["divergences"])
    draws = int(idata.posterior.sizes["draw"])
    return Diagnostics(r_hat, ess_bulk, ess_tail, divergences, bool(passed), attempts, draws)


def sampled_vars(idata) -> list[str]:
    """Names of the free parameters (not deterministics, not nutpie's extras)."""
    names = ["beta", "sd_intercept", "sd_slope", "sigma", "corr_01"]
    return [n for n in names if n in idata.posterior]


# ---------------------------------------------------------------- sampling


@dataclass(frozen=True)
class GrowthFit:
    """One fitted variant of one spec.

    Attributes
    ----------
    spec : ModelSpec
    variant : str
    design : Design
    idata : arviz.InferenceData
        Posterior with ``beta`` (dim ``coef``), ``sd_intercept``, ``sd_slope``, ``sigma``
        (and ``corr`` when correlated).
    diagnostics : Diagnostics
    sampler : str
    seconds : float
        Wall time of the fit: sampling and diagnostics of every attempt, plus compilation
        for the first fit of a compiled graph.
    """

    spec: ModelSpec
    variant: str
    design: Design
    idata: object
    diagnostics: Diagnostics
    sampler: str
    seconds: float

    def draws(self, name: str) -> np.ndarray:
        """Posterior draws of a parameter, chains and draws stacked first: (S, ...)."""
        values = self.idata.posterior[name].values
        return values.reshape(-1, *values.shape[2:])

    def beta(self) -> pd.DataFrame:
        """Fixed-effect draws, one column per design column."""
        return pd.DataFrame(self.draws("beta"), columns=list(self.design.columns))


@dataclass
class Engine:
    """Samples growth models, compiling each graph structure once (nutpie) and reusing it.

    Parameters
    ----------
    sampler : {"nutpie", "pymc"}
    draws, tune, chains : int
    seed : int
    progress : bool
        Show the sampler's progress bar.
    width : int
        Fixed-effect columns of the compiled nutpie graph: narrower designs are padded with
        zero columns (whose coefficients keep a N(0, 1) prior and are dropped from the output),
        so that one compiled graph serves every measure and variant up to that width.
    """

    sampler: str = "nutpie"
    draws: int = 1000
    tune: int = 1000
    chains: int = 4
    seed: int = SEED
    progress: bool = False
    width: int = 5
    _compiled: dict = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if self.sampler not in SAMPLERS:
            raise SpecError(f"sampler must be one of {SAMPLERS}, got '{self.sampler}'")
        for name in ("draws", "tune", "chains"):
            if getattr(self, name) < 1:
                raise SpecError(f"{name} must be >= 1")

    def fit(self, spec: ModelSpec, design: Design, *, variant: str, seed: int | None = None,
            gate: bool = True) -> GrowthFit:
        """Fit one design; refit once with longer tuning if the gate fails."""
        priors = prior_values(spec, design)
        seed = self.seed if seed is None else seed
        start = _time.perf_counter()
        idata = self._sample(design, priors, spec.correlated, seed, self.draws, self.tune, 0.8)
        diag = diagnose(idata)
        if gate and not diag.passed:
            idata = self._sample(design, priors, spec.correlated, seed + 1, 3 * self.draws,
                                 2 * self.tune, 0.95)
            diag = diagnose(idata, attempts=2)
        seconds = _time.perf_counter() - start
        return GrowthFit(spec, variant, design, idata, diag, self.sampler, seconds)

    def _sample(self, design, priors, correlated, seed, draws, tune, target_accept):
        args = (design, priors, correlated, seed, draws, tune, target_accept)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return self._nutpie(*args) if self.sampler == "nutpie" else self._pymc(*args)

    def _nutpie(self, design, priors, correlated, seed, draws, tune, target_accept):
        import nutpie

        padded, padded_priors = pad_design(design, priors, width=self.width)
        key = (padded.X.shape[1], correlated)
        if key not in self._compiled:
            self._compiled[key] = nutpie.compile_pymc_model(
                build_model(padded, padded_priors, correlated=correlated))
        compiled = self._compiled[key].with_data(**_data_values(padded, padded_priors))
        idata = nutpie.sample(compiled, draws=draws, tune=tune, chains=self.chains,
                              seed=seed, progress_bar=self.progress, save_warmup=False,
                              target_accept=target_accept)
        # Drop the padding columns; the graph keeps the labels of the design it was built from.
        p = design.X.shape[1]
        beta = idata.posterior["beta"].isel(coef=slice(0, p))
        idata.posterior = idata.posterior.drop_vars("beta").drop_dims("coef").assign(
            beta=beta.assign_coords(coef=list(design.columns)))
        return idata

    def _pymc(self, design, priors, correlated, seed, draws, tune, target_accept):
        import pymc as pm

        model = build_model(design, priors, correlated=correlated)
        return pm.sample(draws=draws, tune=tune, chains=self.chains, cores=min(2, self.chains),
                         random_seed=seed, target_accept=target_accept, model=model,
                         progressbar=self.progress, compute_convergence_checks=False)


def fit_growth(
    spec: ModelSpec,
    data: pd.DataFrame,
    *,
    variant: str = "period",
    sampler: str = "nutpie",
    draws: int = 1000,
    tune: int = 1000,
    chains: int = 4,
    seed: int = SEED,
    engine: Engine | None = None,
) -> GrowthFit:
    """Fit one variant of a growth-model spec to long-format data.

    Parameters
    ----------
    spec : ModelSpec
        From ``models/*.toml`` or :func:`mbtbayes.specs.make_spec`.
    data : pandas.DataFrame
        Long format with the spec's columns; rows with a missing outcome or predictor are
        left out and counted (``fit.design.n_excluded``).
    variant : {"linear", "period"}
    sampler : {"nutpie", "pymc"}
    draws, tune, chains, seed : int
    engine : Engine, optional
        Reuse an engine (and its compiled graphs) across fits.

    Returns
    -------
    GrowthFit
    """
    engine = engine or Engine(sampler=sampler, draws=draws, tune=tune, chains=chains, seed=seed)
    design = make_design(spec, data, variant=variant)
    check_prior_keys(spec, [design])
    return engine.fit(spec, design, variant=variant)


def fit_specs(
    specs: dict[str, ModelSpec],
    data: pd.DataFrame,
    *,
    engine: Engine,
    log: Callable[[str], None] = print,
) -> list[GrowthFit]:
    """Fit every variant of every spec, reusing compiled graphs, and log progress.

    A spec whose period column is absent from the data fits the linear variant only.

    Returns
    -------
    list of GrowthFit
        In spec order, linear before period.
    """
    jobs = []
    for spec in specs.values():
        variants = [v for v in spec.variants if v == "linear" or spec.period in data]
        designs = [make_design(spec, data, variant=v) for v in variants]
        check_prior_keys(spec, designs)
        jobs += [(spec, v, d) for v, d in zip(variants, designs, strict=True)]
    fits = []
    for i, (spec, variant, design) in enumerate(jobs, start=1):
        fit = engine.fit(spec, design, variant=variant, seed=engine.seed + i)
        d = fit.diagnostics
        log(f"[{i}/{len(jobs)}] {spec.name} {variant}: n={design.y.size} "
            f"(excluded {design.n_excluded}), {fit.seconds:.1f} s, max R-hat {d.max_r_hat:.3f}, "
            f"min ESS {d.min_ess_bulk:.0f}/{d.min_ess_tail:.0f}, divergences {d.divergences}, "
            + ("passed" if d.passed else f"FAILED the gate after {d.attempts} attempts"))
        fits.append(fit)
    return fits


# ---------------------------------------------------------------- K-fold by patient


def subset_design(design: Design, rows: np.ndarray) -> Design:
    """The design restricted to some rows, keeping every column and the full patient list."""
    return Design(y=design.y[rows], X=design.X[rows], columns=design.columns,
                  terms=design.terms, time=design.time[rows], group=design.group[rows],
                  groups=design.groups, n_excluded=design.n_excluded)


def kfold_patients(fit: GrowthFit, *, engine: Engine, k: int = 10, seed: int = SEED):
    """Grouped K-fold cross-validation by patient on the marginal likelihood.

    Patients are split into ``k`` folds; each fold is left out in turn, the model is refitted
    on the others (same compiled graph), and the left-out patients' marginal log predictive
    density is averaged over the refit's draws. The fallback when PSIS-LOO's Pareto k is
    too high.

    Returns
    -------
    mbtbayes.loo.LooResult
        ``method = "kfold_marginal_patient_<k>"``; ``p_loo`` is NaN and ``pareto_k`` zero.
    """
    from scipy.special import logsumexp

    from mbtbayes.growth.loo import LooResult, marginal_loglik

    design = fit.design
    observed = np.flatnonzero(np.bincount(design.group, minlength=len(design.groups)) > 0)
    folds = np.array_split(np.random.default_rng(seed).permutation(observed), k)
    elpd = np.zeros(len(design.groups))
    for i, fold in enumerate(folds):
        held = np.isin(design.group, fold)
        train = engine.fit(fit.spec, subset_design(design, ~held), variant=fit.variant,
                           seed=seed + i, gate=False)
        test = subset_design(design, held)
        corr = train.draws("corr") if "corr" in train.idata.posterior else None
        ll = marginal_loglik(y=test.y, X=test.X, time=test.time, group=test.group,
                             beta=train.draws("beta"), sd_intercept=train.draws("sd_intercept"),
                             sd_slope=train.draws("sd_slope"), sigma=train.draws("sigma"),
                             corr=corr, n_groups=len(design.groups))
        elpd[fold] = logsumexp(ll[:, fold], axis=0) - np.log(ll.shape[0])
    pointwise = elpd[observed]
    se = float(np.sqrt(pointwise.size * pointwise.var(ddof=1)))
    return LooResult(float(pointwise.sum()), se, float("nan"), pointwise,
                     np.zeros_like(pointwise), f"kfold_marginal_patient_{k}")
