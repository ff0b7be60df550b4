"""The model spec of one measure: what a growth model is, as data (:class:`ModelSpec`).

Specs are read from ``models/*.toml`` or built in Python by :mod:`mbtbayes.growth.specs`
(which also checks them); which engine fits a spec is :mod:`mbtbayes.growth.engine_choice`.
This module holds the value itself and its parsed formulas, so that every module that takes a
spec depends on the value, not on the loader.

Examples
--------
>>> import mbtbayes as mb
>>> spec = mb.make_spec(outcome="y", time="t", group="id", period="g", range=(0, 4))
>>> spec.variants, spec.columns("period")
(('linear', 'period'), ('y', 'g', 'id', 't'))
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from mbtbayes.growth.terms import ParsedFormula, parse_formula

VARIANTS: tuple[str, ...] = ("linear", "period")
"""Model variants: row 1 (linear growth) and row 2 (with the period predictor) of the paper."""

FAMILIES: tuple[str, ...] = ("gaussian", "t")
"""Likelihood families: normal, and Student-t (robust; the marginal engine cannot fit it)."""

DEFAULT_HORIZON = 36.0
"""Time horizon of the default slope priors: the longest planned treatment of the study
(36 months). A spec may set its own (``prior_horizon``)."""


@dataclass(frozen=True)
class ReliableChangeNorms:
    """What Jacobson and Truax's (1991) classification needs of an instrument, from its spec's
    ``[reliable_change]`` table.

    Attributes
    ----------
    reliability : float
        The reliability ``r_xx`` of the score (0 < r < 1) that enters
        ``SEdiff = SD_baseline x sqrt(2) x sqrt(1 - r_xx)``.
    reliability_source : str
        Where it comes from (a citation), or why it is assumed.
    cutoff : float or None
        The cut-off between the dysfunctional and the functional population (their means
        weighted by their SDs, criterion c) from published norms; None: criterion a, 2
        baseline SDs beyond the register's baseline mean in the functional direction.
    cutoff_source : str
        The norms' citation, or why none is used.
    """

    reliability: float
    reliability_source: str
    cutoff: float | None = None
    cutoff_source: str = ""


@dataclass(frozen=True)
class ModelSpec:
    """A declarative growth-model specification for one measure.

    Attributes
    ----------
    name : str
        Spec name (the file stem), used in every table.
    measure : str
        Outcome column.
    label : str
        Name for tables and figures.
    range : tuple of float
        Valid range of the outcome.
    family : str
        Likelihood family: ``"gaussian"`` or ``"t"`` (Student-t; ``nu`` is estimated).
    kind : str
        ``"outcome"``, ``"process"`` or ``"other"``.
    time, group : str
        Time column (months) and patient id column.
    period : str or None
        Period column, or None when the data have none (only the linear variant is fitted).
    formulas : dict
        Variant -> Bambi formula of the outcome.
    priors : dict
        Term name -> prior, e.g. ``{"dist": "Normal", "mu": 0, "sigma": 1}``; group-level terms
        take ``{"dist": "Normal", "mu": 0, "sigma": {"dist": "HalfNormal", "sigma": 1}}``;
        ``sigma`` is the residual SD, ``nu`` the Student-t degrees of freedom, and
        ``sigma_<term>`` a term of a ``sigma ~ ...`` formula (log scale). Terms without a
        prior take the defaults (:func:`mbtbayes.growth.priors.fit_priors`).
    prior_horizon : float
        Time horizon of the default slope priors (default 36 months, the longest planned
        treatment): a slope may carry the outcome across its range over this time.
    rope_sd_units : float or None
        ROPE half-width in units of the observed pooled baseline SD of the data analysed
        (default 0.1; computed from the data, so not pre-specified); None when an absolute
        half-width is given.
    rope_half_width : float or None
        The margin: an absolute ROPE half-width in the measure's units, fixed in the spec (a
        minimal important difference, or 0.2 x a published reference SD).
    rope_source : str
        Where an absolute half-width comes from (required with it).
    rope_label : str
        What the margin is, in a few words, e.g. ``"small effect (0.2 SD)"``.
    rope_reference_sd : float or None
        The reference SD (measure's units) the margin is read against: d's margin is the margin
        / this SD, and the ROPE curve runs to 0.5 of it. None: the observed pooled baseline SD
        of the data analysed.
    rope_reference_sd_source : str
        Its provenance: published, derived (from what) or assumed (why).
    rope_justification : str
        Why that width.
    d_months : tuple of float
        The two time points of Cohen's d (0 and 24).
    correlated : bool
        Correlated patient intercept and slope (LKJ), fitted by the marginal engine.
    engine : str
        ``"auto"``, ``"marginal"`` or ``"bambi"`` (see
        :data:`mbtbayes.growth.engine_choice.ENGINES`; the engine it resolves to:
        :func:`mbtbayes.growth.engine_choice.resolve_engine`).
    auxiliary : dict
        Variant -> formulas of distributional parameters, e.g. ``("sigma ~ period",)``.
    censored : bool
        Scores at the range's floor (ceiling) are censored: "at or below (above)" it, a
        Tobit likelihood (:mod:`mbtbayes.growth.censoring`), fitted by the Bambi engine.
    reliable_change : ReliableChangeNorms or None
        The instrument's reliability and cut-off for reliable and clinically significant
        change (:mod:`mbtbayes.growth.reliable_change`); None: the measure is not classified.
    adjust_for : tuple of str
        The spec's ``covariates``: patient-level intake columns that the case-mix adjusted
        period fit adds on the intercept and the slope (:mod:`mbtbayes.growth.adjusted`);
        empty: no adjusted fit. The fitted formulas do not hold them.
    """

    name: str
    measure: str
    label: str
    range: tuple[float, float]
    family: str
    kind: str
    time: str
    group: str
    period: str | None
    formulas: dict[str, str]
    priors: dict[str, dict] = field(default_factory=dict)
    prior_horizon: float = DEFAULT_HORIZON
    rope_sd_units: float | None = 0.1
    rope_half_width: float | None = None
    rope_source: str = ""
    rope_label: str = ""
    rope_reference_sd: float | None = None
    rope_reference_sd_source: str = ""
    rope_justification: str = ""
    d_months: tuple[float, float] = (0.0, 24.0)
    correlated: bool = False
    engine: str = "auto"
    auxiliary: dict[str, tuple[str, ...]] = field(default_factory=dict)
    censored: bool = False
    reliable_change: ReliableChangeNorms | None = None
    adjust_for: tuple[str, ...] = ()

    @property
    def variants(self) -> tuple[str, ...]:
        """Variants to fit: both, or only ``linear`` when there is no period column."""
        return tuple(v for v in VARIANTS if v in self.formulas)

    def formula(self, variant: str) -> ParsedFormula:
        """The outcome formula of a variant, parsed."""
        return _parse(self.formulas[variant])

    def auxiliary_formulas(self, variant: str) -> tuple[ParsedFormula, ...]:
        """The distributional formulas (``sigma ~ ...``) of a variant, parsed."""
        return tuple(_parse(f) for f in self.auxiliary.get(variant, ()))

    def formula_parts(self, variant: str) -> tuple[str, ...]:
        """The variant's formulas as Bambi takes them (outcome first)."""
        return (self.formula(variant).bambi,
                *(f.bambi for f in self.auxiliary_formulas(variant)))

    def sigma_modelled(self, variant: str) -> bool:
        """Whether the residual SD has its own formula in this variant."""
        return any(f.response == "sigma" for f in self.auxiliary_formulas(variant))

    def columns(self, variant: str) -> tuple[str, ...]:
        """Every data column a variant's formulas use, the outcome first."""
        names = set(self.formula(variant).variables)
        for aux in self.auxiliary_formulas(variant):
            names |= aux.variables - {aux.response}
        return (self.measure, *sorted(names - {self.measure}))

    def covariates(self, variant: str) -> tuple[str, ...]:
        """Columns of a variant's formulas besides outcome, time, period and group."""
        roles = {self.measure, self.time, self.group, self.period}
        return tuple(c for c in self.columns(variant) if c not in roles)


@lru_cache(maxsize=256)
def _parse(text: str) -> ParsedFormula:
    return parse_formula(text)
