"""Priors: their checks, the range-scaled defaults, one prior per parameter of a fit, and the
translation to Bambi.

Priors are written as in the TOML specs, ``{"dist": "Normal", "mu": 0, "sigma": 1}``, keyed by
term name. :func:`fit_priors` gives every parameter of one fit its prior: the spec's, else the
default of :func:`default_priors` (scaled to the outcome's range and one time horizon, by
default the longest planned treatment, 36 months; the same function gives
:func:`~mbtbayes.growth.specs.make_spec` its priors), else (terms the defaults do not name, such as
``I(months ** 2)`` or a spline) ``Normal(0, R / (4 * spread))`` with ``R`` the outcome's range and
``spread`` the largest range of the term's design columns: the term can move the outcome by
about a quarter of its range across the data. Both engines take the priors from there, so the
same spec means the same model whichever engine fits it.

Examples
--------
>>> to_bambi({"dist": "Normal", "mu": 0, "sigma": {"dist": "HalfNormal", "sigma": 1.0}})
Normal(mu: 0.0, sigma: HalfNormal(sigma: 1.0))
"""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING

import numpy as np

from mbtbayes.core.errors import SpecError
from mbtbayes.core.hints import check_keys, did_you_mean
from mbtbayes.growth.modelspec import DEFAULT_HORIZON, ModelSpec

if TYPE_CHECKING:
    import bambi as bmb

AUX_PARAMETERS: tuple[str, ...] = ("sigma",)
"""Distributional parameters a formula may model (``sigma ~ ...``, log link)."""

NU_PRIOR = {"dist": "Gamma", "alpha": 2.0, "beta": 0.1}
"""Default prior of the Student-t degrees of freedom (Bambi's and brms's)."""

PRIOR_PARAMS: dict[str, tuple[str, ...]] = {
    "Normal": ("mu", "sigma"), "HalfNormal": ("sigma",), "StudentT": ("nu", "mu", "sigma"),
    "HalfStudentT": ("nu", "sigma"), "Exponential": ("lam",), "Gamma": ("alpha", "beta")}
"""Prior distributions and their parameters (as PyMC names them); all but ``mu`` are > 0."""
PRIOR_DISTS = tuple(PRIOR_PARAMS)


def flat_priors(raw: dict) -> dict[str, dict]:
    """Priors by key; a ``[priors.sigma]`` table of terms (Bambi's nesting) becomes
    ``sigma_<term>`` keys, as the posterior names them."""
    priors = {}
    for key, value in raw.items():
        if not isinstance(value, dict):
            raise SpecError(f"prior for '{key}' must be a table like "
                            "{ dist = \"Normal\", mu = 0, sigma = 1 }")
        if key in AUX_PARAMETERS and "dist" not in value:
            priors |= {f"{key}_{term}": dict(p) for term, p in value.items()}
        else:
            priors[key] = dict(value)
    return priors




def check_prior(term: str, prior: dict, *, hyper: bool = False) -> None:
    """Check one prior: a known distribution, its parameters, and scales > 0.

    Raises
    ------
    SpecError
        Naming the term and what to fix.

    Examples
    --------
    >>> check_prior("months", {"dist": "Normal", "mu": 0, "sigma": -1})
    Traceback (most recent call last):
    ...
    mbtbayes.core.errors.SpecError: prior for 'months': sigma must be > 0, got -1
    """
    dist = prior.get("dist")
    if dist not in PRIOR_PARAMS:
        raise SpecError(f"prior for '{term}': dist must be one of {', '.join(PRIOR_DISTS)}"
                        f"{did_you_mean(str(dist), PRIOR_DISTS)}")
    params = {k: v for k, v in prior.items() if k != "dist"}
    check_keys(params, PRIOR_PARAMS[dist], f"the {dist} prior for '{term}'")
    missing = [p for p in PRIOR_PARAMS[dist] if p not in params and p != "mu"]
    if missing:
        raise SpecError(f"prior for '{term}': {dist} needs {', '.join(missing)}")
    for key, value in params.items():
        if isinstance(value, dict):
            if hyper or key != "sigma":
                raise SpecError(f"prior for '{term}': only the sigma of a group-specific "
                                "term's prior may itself be a prior")
            check_prior(f"{term}.sigma", value, hyper=True)
        elif isinstance(value, bool) or not isinstance(value, int | float):
            raise SpecError(f"prior for '{term}': {key} must be a number, got {value!r}")
        elif key != "mu" and not value > 0:
            raise SpecError(f"prior for '{term}': {key} must be > 0, got {value:g}")


def prior_terms(spec: ModelSpec) -> dict[str, str]:
    """Every prior key the spec's formulas allow, with its kind.

    Returns
    -------
    dict
        Key -> ``"common"``, ``"group"``, ``"sigma"`` (residual SD), ``"nu"`` or
        ``"sigma_term"`` (a term of a ``sigma ~`` formula).
    """
    keys: dict[str, str] = {}
    for variant in spec.formulas:
        formula = spec.formula(variant)
        keys |= {t: "common" for t in formula.common}
        keys |= {g.name: "group" for g in formula.group}
        if spec.sigma_modelled(variant):
            for aux in spec.auxiliary_formulas(variant):
                keys |= {f"{aux.response}_{t}": "sigma_term" for t in aux.common}
        else:
            keys["sigma"] = "sigma"
    if spec.family == "t":
        keys["nu"] = "nu"
    return keys


def check_prior_terms(spec: ModelSpec) -> None:
    allowed = prior_terms(spec)
    unknown = [k for k in spec.priors if k not in allowed]
    if unknown:
        hints = ", ".join(f"'{k}'{did_you_mean(k, allowed)}" for k in unknown)
        raise SpecError(f"prior key(s) {hints} name no term of the model; terms: "
                        + ", ".join(sorted(allowed)))
    for key, prior in spec.priors.items():
        if allowed[key] == "group":
            sigma = prior.get("sigma")
            if prior["dist"] != "Normal" or not isinstance(sigma, dict) or prior.get("mu", 0):
                raise SpecError(f"prior for '{key}' must be Normal with mu = 0 and a prior on "
                                "its sigma, e.g. { dist = \"Normal\", mu = 0, sigma = "
                                "{ dist = \"HalfNormal\", sigma = 1 } }")
        elif isinstance(prior.get("sigma"), dict):
            raise SpecError(f"prior for '{key}': only group-specific terms take a prior on sigma")


def default_priors(
    *,
    low: float,
    high: float,
    time: str,
    group: str,
    period: str | None,
    horizon: float = DEFAULT_HORIZON,
) -> dict[str, dict]:
    """Weakly informative priors scaled to an outcome's range ``R = high - low`` and a horizon.

    The scales were set by the prior predictive check (:mod:`mbtbayes.growth.prior_predictive`):
    at least 95% of the prior predictive population means of both periods, at every time
    from 0 to ``horizon``, fall inside the range (96-98% for the bundled specs; the earlier
    scales below in brackets put half of them outside). The intercept is centred mid-range
    with SD ``R / 6`` [``R / 2``]; the slope SD lets the outcome move ``R / 5`` over ``horizon``
    time units, ``R / (5 horizon)`` [``R / horizon``]; the period shift has SD ``R / 8``
    [``R / 4``] and the period difference in slope ``R / (8 horizon)`` [``R / (2 horizon)``];
    the SDs of the patient intercepts and of the residual are half-normal with scale ``R / 8``
    [``R / 4``], of the patient slopes ``R / (4 horizon)`` [``R / (2 horizon)``]. Each is
    still several times as wide as the posterior on the study's data. The Student-t degrees
    of freedom take :data:`NU_PRIOR`; the terms of a residual-SD formula (log scale)
    ``Normal(log(R / 8), 1)`` for its intercept and ``Normal(0, 1)`` for the others.
    Covariates and other terms of time are not named here: :func:`fit_priors` scales them to
    the spread of their design columns in the data.

    This is the one source of default priors: :func:`spec_default_priors` applies it to a
    spec, for :func:`~mbtbayes.growth.specs.make_spec` and for the terms a TOML spec leaves
    without a prior alike.

    Returns
    -------
    dict
        Term name -> prior, as in the TOML files.

    Examples
    --------
    >>> p = default_priors(low=0, high=4, time="months", group="id", period="period")
    >>> p["months"]["sigma"], p["months:period"]["sigma"]  # 4 / 180 and 4 / 288 per month
    (0.02222, 0.01389)
    """
    if not horizon > 0:
        raise SpecError(f"the prior horizon must be > 0 time units, got {horizon:g}")
    width = high - low
    per_time = width / horizon
    priors = {"Intercept": _normal((low + high) / 2, width / 6), time: _normal(0, per_time / 5),
              f"1|{group}": {"dist": "Normal", "mu": 0, "sigma": _half(width / 8)},
              f"{time}|{group}": {"dist": "Normal", "mu": 0, "sigma": _half(per_time / 4)},
              "sigma": _half(width / 8), "nu": dict(NU_PRIOR),
              "sigma_Intercept": _normal(np.log(width / 8), 1.0)}
    if period is not None:
        priors[period] = _normal(0, width / 8)
        priors[f"{time}:{period}"] = _normal(0, per_time / 8)
    return priors


def spec_default_priors(spec: ModelSpec) -> dict[str, dict]:
    """The default prior of every prior key a spec's formulas name (:func:`prior_terms`),
    from its range and ``prior_horizon`` (:func:`default_priors`); terms of a residual-SD
    formula other than its intercept take ``Normal(0, 1)``. Keys left out (covariates, other
    terms of time) are scaled to the data by :func:`fit_priors`."""
    low, high = spec.range
    defaults = default_priors(low=low, high=high, time=spec.time, group=spec.group,
                              period=spec.period, horizon=spec.prior_horizon)
    out = {}
    for key, kind in prior_terms(spec).items():
        if key in defaults:
            out[key] = defaults[key]
        elif kind == "sigma_term":
            out[key] = _normal(0, 1.0)
    return out


def fit_priors(spec: ModelSpec, *, variant: str, columns: dict[str, np.ndarray],
               used: Collection[str]) -> dict[str, dict]:
    """A prior for every parameter of one fit.

    Parameters
    ----------
    spec : ModelSpec
    variant : str
    columns : dict
        Common term -> its design columns, ``(n, k)``.
    used : pandas.DataFrame
        The rows the fit uses (for the spread of a group-specific term's column).

    Returns
    -------
    dict
        Term -> prior, for every common and group-specific term, ``sigma`` (or ``sigma_<term>``
        when the residual SD is modelled) and, for the t family, ``nu``.
    """
    low, high = spec.range
    width = high - low
    given = {**spec_default_priors(spec), **spec.priors}
    out = {}
    for term, block in columns.items():
        out[term] = given.get(term) or _normal(0, width / (4 * _spread(block)))
    for g in spec.formula(variant).group:
        spread = 1.0 if g.expr == "1" else _spread(used[g.expr].to_numpy(float))
        out[g.name] = given.get(g.name) or {
            "dist": "Normal", "mu": 0, "sigma": _half(width / (4 * spread))}
    if spec.sigma_modelled(variant):
        for aux in spec.auxiliary_formulas(variant):
            out |= {f"{aux.response}_{t}": given[f"{aux.response}_{t}"] for t in aux.common}
    else:
        out["sigma"] = given["sigma"]
    if spec.family == "t":
        out["nu"] = given["nu"]
    return out


def _spread(values: np.ndarray) -> float:
    values = np.asarray(values, float).reshape(len(values), -1)
    spread = float(np.max(values.max(axis=0) - values.min(axis=0))) if values.size else 0.0
    return spread if spread > 0 else 1.0


def _normal(mu: float, sigma: float) -> dict:
    return {"dist": "Normal", "mu": float(f"{mu:.4g}"), "sigma": float(f"{sigma:.4g}")}


def _half(sigma: float) -> dict:
    return {"dist": "HalfNormal", "sigma": float(f"{sigma:.4g}")}


def to_bambi(prior: dict) -> bmb.Prior:
    """A prior dict as a ``bambi.Prior`` (a prior on ``sigma`` becomes a hyperprior)."""
    import bambi as bmb

    args = {k: to_bambi(v) if isinstance(v, dict) else float(v)
            for k, v in prior.items() if k != "dist"}
    return bmb.Prior(prior["dist"], **args)


def bambi_priors(priors: dict[str, dict]) -> dict:
    """Fit priors (:func:`fit_priors`) as Bambi's ``priors=`` argument: ``sigma_<term>`` keys
    nest under ``"sigma"``, as Bambi keys the terms of a distributional component."""
    out: dict = {}
    for key, prior in priors.items():
        head, _, term = key.partition("_")
        if head in AUX_PARAMETERS and term:
            out.setdefault(head, {})[term] = to_bambi(prior)
        else:
            out[key] = to_bambi(prior)
    return out
