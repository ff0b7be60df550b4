"""The design of one growth fit: a Bambi formula parsed into the fixed-effects matrix, the
time and patient columns, and the prior values of each design column.

Bambi (formulae) parses the spec's formula and names the terms that priors are keyed by; the
engines take the resulting :class:`Design`. Priors a spec leaves out come from
:func:`mbtbayes.growth.specs.default_priors`.

Examples
--------
>>> import mbtbayes as mb
>>> spec = mb.load_specs()["bsi"]
>>> design = make_design(spec, mb.load_register().data, variant="period")
>>> design.columns
('Intercept', 'months', 'period[II]', 'months:period[II]')
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from mbtbayes.core.errors import DataError, SpecError
from mbtbayes.core.hints import did_you_mean
from mbtbayes.growth.specs import ModelSpec, default_priors


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


def subset_design(design: Design, rows: np.ndarray) -> Design:
    """The design restricted to some rows, keeping every column and the full patient list."""
    return Design(y=design.y[rows], X=design.X[rows], columns=design.columns,
                  terms=design.terms, time=design.time[rows], group=design.group[rows],
                  groups=design.groups, n_excluded=design.n_excluded)


