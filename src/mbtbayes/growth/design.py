"""The design of one growth fit: the spec's formulas parsed by Bambi (formulae) into the
fixed-effects matrix, the design of the residual SD when it is modelled, the patient-effect
columns, the rows used, and a prior for every parameter.

Bambi names the terms that priors are keyed by; both engines take the resulting
:class:`Design`, and the estimands evaluate ``common`` (formulae's design, which keeps the
training data's encoding and spline knots) on a grid of new rows.

Examples
--------
>>> import mbtbayes as mb
>>> spec = mb.load_specs()["bsi"]
>>> design = make_design(spec, mb.load_register().data, variant="period")
>>> design.columns
('Intercept', 'months', 'period[II]', 'months:period[II]')
>>> design.Z.shape[1], design.effects
(2, ('1|patient_id', 'months|patient_id'))
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from mbtbayes.core.errors import DataError, SpecError
from mbtbayes.core.hints import did_you_mean
from mbtbayes.growth.censoring import censored_model_input
from mbtbayes.growth.modelspec import ModelSpec
from mbtbayes.growth.priors import fit_priors
from mbtbayes.growth.terms import formula_namespace
from mbtbayes.io import schema

if TYPE_CHECKING:
    import bambi as bmb
    from formulae.matrices import CommonEffectsMatrix


@dataclass(frozen=True)
class Design:
    """The data of one fit.

    Attributes
    ----------
    y : (n,) array
    X : (n, p) array
        Fixed-effects design of the outcome's mean (intercept first).
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
    Z : (n, d) array
        Columns of the patient effects (``1`` and time for ``(time | id)``).
    effects : tuple of str
        Bambi's name of each patient effect, e.g. ``("1|patient_id", "months|patient_id")``.
    X_sigma : (n, q) array or None
        Design of the log residual SD when it is modelled (``sigma ~ period``).
    sigma_columns : tuple of str
        Column names of ``X_sigma`` as the posterior names them (``sigma_Intercept``,
        ``sigma_period[II]``, ...).
    sigma_terms : tuple of str
        The prior key of each column of ``X_sigma`` (``sigma_Intercept``, ``sigma_period``):
        the term of the ``sigma ~`` formula, as priors are keyed.
    frame : pandas.DataFrame
        The rows used (the formula's columns, and the period and assessment columns when the
        data have them), in the order of y.
    common : object
        formulae's design of the mean, for :meth:`evaluate_new_data` on new rows.
    priors : dict
        A prior for every parameter (:func:`mbtbayes.growth.priors.fit_priors`).
    """

    y: np.ndarray
    X: np.ndarray
    columns: tuple[str, ...]
    terms: tuple[str, ...]
    time: np.ndarray
    group: np.ndarray
    groups: tuple[str, ...]
    n_excluded: int
    Z: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    effects: tuple[str, ...] = ()
    X_sigma: np.ndarray | None = None
    sigma_columns: tuple[str, ...] = ()
    sigma_terms: tuple[str, ...] = ()
    frame: pd.DataFrame | None = None
    common: object = None
    priors: dict = field(default_factory=dict)

    @property
    def observed(self) -> np.ndarray:
        """Indices (into ``groups``) of the patients with at least one observation."""
        return np.flatnonzero(np.bincount(self.group, minlength=len(self.groups)) > 0)

    def grid_matrix(self, grid: pd.DataFrame) -> np.ndarray:
        """The fixed-effects design evaluated on new rows (training encoding and knots)."""
        if self.common is None:
            raise SpecError("this design was sent to another process without its formula "
                            "design; build it there with make_design to evaluate new rows")
        return np.asarray(self.common.evaluate_new_data(grid)).astype(float)

    def portable(self) -> Design:
        """The design without formulae's design object, which does not pickle: for sending
        to worker processes (everything but :meth:`grid_matrix` works on it).

        Examples
        --------
        >>> import pickle, mbtbayes as mb
        >>> d = make_design(mb.load_specs()["bsi"], mb.load_register().data, variant="linear")
        >>> pickle.loads(pickle.dumps(d.portable())).X.shape == d.X.shape
        True
        """
        return replace(self, common=None)


def make_design(spec: ModelSpec, data: pd.DataFrame, *, variant: str) -> Design:
    """Build the design of one variant of a spec on long-format data.

    Parameters
    ----------
    spec : ModelSpec
    data : pandas.DataFrame
        Long format, with the columns of the spec's formulas.
    variant : str
        ``"linear"`` or ``"period"``.

    Returns
    -------
    Design

    Raises
    ------
    SpecError
        If the variant is unknown or Bambi cannot build the formula.
    DataError
        If a column is missing or no row is left.
    """
    if variant not in spec.formulas:
        raise SpecError(f"{spec.name}: no formula for variant '{variant}'"
                        f"{did_you_mean(variant, spec.formulas)}")
    needed = list(spec.columns(variant))
    absent = [c for c in needed if c not in data]
    if absent:
        raise DataError(f"{spec.name}: the data have no column(s) {', '.join(absent)}")
    groups = tuple(pd.unique(data[spec.group].astype(str)))
    extra = [c for c in (spec.period, schema.ASSESSMENT) if c in data and c not in needed]
    used = data.dropna(subset=needed)[needed + extra].reset_index(drop=True)
    if used.empty:
        raise DataError(f"{spec.name}: no rows with {spec.measure} and its predictors observed")
    model = bambi_model(spec, used[needed], variant=variant, common_only=True)
    mu = model.components["mu"]
    columns = _term_columns(mu.design.common)
    group = pd.Categorical(used[spec.group].astype(str), categories=groups).codes
    effects = tuple(g.name for g in spec.formula(variant).group)
    Z = np.column_stack([np.ones(len(used)) if n.split("|")[0] == "1"
                         else used[n.split("|")[0]].to_numpy(float) for n in effects])
    X_sigma, sigma_columns, sigma_terms = (_sigma_design(model) if spec.sigma_modelled(variant)
                                           else (None, (), ()))
    X = np.asarray(mu.design.common.design_matrix, float)
    return Design(
        y=used[spec.measure].to_numpy(float), X=X,
        columns=tuple(mu.design.common.as_dataframe().columns),
        terms=tuple(t for t, block in columns.items() for _ in range(block.shape[1])),
        time=used[spec.time].to_numpy(float), group=group.astype(np.int64), groups=groups,
        n_excluded=len(data) - len(used), Z=Z, effects=effects, X_sigma=X_sigma,
        sigma_columns=sigma_columns, sigma_terms=sigma_terms, frame=used, common=mu.design.common,
        priors=fit_priors(spec, variant=variant, columns=columns, used=used))


def bambi_model(spec: ModelSpec, frame: pd.DataFrame, *, variant: str, priors: dict | None = None,
                common_only: bool = False) -> bmb.Model:
    """The ``bambi.Model`` of a variant on the rows used.

    The predictors are not centred (``center_predictors=False``), so a prior on ``Intercept``
    is a prior on the mean at time 0 in the reference period, as the spec says. The spline
    functions ``bs3`` .. ``bs6`` are in the formula's namespace. With ``common_only`` the
    group-specific terms are left out of the outcome formula: the common design is the same,
    and formulae does not build the dense patient-effects matrix (rows x 2 patients: 20 GB
    for 18,500 patients), which :func:`make_design` does not use.

    Raises
    ------
    SpecError
        If Bambi cannot build the formula.
    """
    import bambi as bmb

    frame = frame.copy()
    for column in frame.columns:
        if isinstance(frame[column].dtype, pd.CategoricalDtype):
            frame[column] = frame[column].cat.remove_unused_categories()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            parts = spec.formula_parts(variant)
            if common_only:
                parts = (_without_group_terms(parts[0]), *parts[1:])
            if spec.censored:
                frame, parts = censored_model_input(spec, frame, parts)
            return bmb.Model(bmb.Formula(*parts), frame,
                             family=spec.family, priors=priors, center_predictors=False,
                             extra_namespace=formula_namespace())
    except Exception as err:  # formulae and Bambi raise many types for a bad formula
        raise SpecError(f"{spec.name}: cannot build '{spec.formulas[variant]}': {err}") from None


def _without_group_terms(formula: str) -> str:
    """The formula without its ``(... | ...)`` terms.

    Examples
    --------
    >>> _without_group_terms("bsi ~ months * period + (months | patient_id)")
    'bsi ~ months * period'
    >>> _without_group_terms("y ~ (1 | id) + t")
    'y ~ t'
    """
    response, _, rhs = formula.partition("~")
    terms = [t.strip() for t in _split_plus(rhs)]
    kept = [t for t in terms if not (t.startswith("(") and t.endswith(")") and "|" in t)]
    return f"{response.strip()} ~ {' + '.join(kept) if kept else '1'}"


def _split_plus(rhs: str) -> list[str]:
    """Split a right-hand side at the ``+`` signs outside parentheses."""
    parts, depth, start = [], 0, 0
    for i, char in enumerate(rhs):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "+" and depth == 0:
            parts.append(rhs[start:i])
            start = i + 1
    return parts + [rhs[start:]]


def _term_columns(common: CommonEffectsMatrix) -> dict[str, np.ndarray]:
    matrix = np.asarray(common.design_matrix, float)
    return {term: matrix[:, sl] for term, sl in common.slices.items()}


def _sigma_design(model: bmb.Model) -> tuple[np.ndarray, tuple[str, ...], tuple[str, ...]]:
    """The design of the log residual SD, its column names and each column's term."""
    common = model.components["sigma"].design.common
    names = tuple(f"sigma_{label}" for label in common.as_dataframe().columns)
    terms = tuple(f"sigma_{term}" for term, block in _term_columns(common).items()
                  for _ in range(block.shape[1]))
    return np.asarray(common.design_matrix, float), names, terms


def check_prior_keys(spec: ModelSpec, designs: list[Design]) -> None:
    """Every prior key of the spec must name a parameter of a built model (Bambi ignores
    typos); the spec loader checks the same against the parsed formulas.

    Raises
    ------
    SpecError
        Naming the unknown keys, with did-you-mean hints.
    """
    terms = {t for d in designs for t in d.priors}
    if spec.period is not None:  # the period variant may be skipped when data have no period
        terms |= {t for v in spec.formulas for t in spec.formula(v).common}
    unknown = [k for k in spec.priors if k not in terms]
    if unknown:
        hints = ", ".join(f"'{k}'{did_you_mean(k, terms)}" for k in unknown)
        raise SpecError(f"{spec.name}: prior key(s) {hints} name no term of the model; terms: "
                        + ", ".join(sorted(terms)))


# ---------------------------------------------------------------- the marginal graph's arrays


def prior_values(spec: ModelSpec, design: Design) -> dict[str, np.ndarray]:
    """Prior parameters of a marginal-engine fit, per design column and variance component.

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
    priors = design.priors

    def normal(term: str) -> tuple[float, float]:
        p = priors[term]
        _expect(spec, term, p, "Normal")
        return float(p.get("mu", 0.0)), float(p["sigma"])

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
                        f"(the marginal engine's graph); got {prior}")


def pad_design(design: Design, priors: dict[str, np.ndarray], *,
               width: int) -> tuple[Design, dict[str, np.ndarray]]:
    """Pad a design with zero columns up to ``width`` (no padding for wider designs).

    A zero column leaves the likelihood unchanged, so its coefficient keeps its N(0, 1) prior
    and the other parameters' posterior is that of the unpadded model.
    """
    extra = max(width - design.X.shape[1], 0)
    if not extra:
        return design, priors
    X = np.hstack([design.X, np.zeros((design.X.shape[0], extra))])
    names = tuple(f"_pad{i}" for i in range(extra))
    padded = replace(design, X=X, columns=design.columns + names, terms=design.terms + names)
    priors = priors | {"beta_mu": np.concatenate([priors["beta_mu"], np.zeros(extra)]),
                       "beta_sd": np.concatenate([priors["beta_sd"], np.ones(extra)])}
    return padded, priors


def subset_design(design: Design, rows: np.ndarray) -> Design:
    """The design restricted to some rows, keeping every column and the full patient list."""
    frame = None if design.frame is None else design.frame[rows].reset_index(drop=True)
    return replace(design, y=design.y[rows], X=design.X[rows], time=design.time[rows],
                   group=design.group[rows], Z=design.Z[rows], frame=frame,
                   X_sigma=None if design.X_sigma is None else design.X_sigma[rows])
