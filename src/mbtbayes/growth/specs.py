"""Model specs: one TOML file per measure in ``models/``, or one built in Python.

A spec holds the measure's column, label and range, the family, the time and group columns, the
formula of each variant (``linear``: no period; ``period``: period on intercept and slope), priors
keyed by term name (as Bambi names terms), a ROPE half-width for the period contrasts with its
justification, and the months at which Cohen's d is evaluated.

Examples
--------
>>> from mbtbayes.growth.specs import load_specs
>>> specs = load_specs()            # the package's models/ folder  # doctest: +SKIP
>>> specs["bsi"].formulas["period"]  # doctest: +SKIP
'bsi ~ months * period + (months | patient_id)'
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from mbtbayes.core.errors import SpecError
from mbtbayes.core.hints import check_keys, did_you_mean
from mbtbayes.io import schema

VARIANTS: tuple[str, ...] = ("linear", "period")
"""Model variants: row 1 (linear growth) and row 2 (with the period predictor) of the paper."""

FAMILIES: tuple[str, ...] = ("gaussian",)
TOP_KEYS = ("measure", "label", "range", "family", "kind", "time", "group", "period",
            "correlated", "formulas", "priors", "rope", "effect_size")
ROPE_KEYS = ("half_width", "justification")
EFFECT_KEYS = ("months",)
PRIOR_DISTS = ("Normal", "HalfNormal", "StudentT", "HalfStudentT", "Exponential")


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
        Likelihood family (``"gaussian"``).
    kind : str
        ``"outcome"``, ``"process"`` or ``"other"``.
    time, group : str
        Time column (months) and patient id column.
    period : str or None
        Period column, or None when the data have none (only the linear variant is fitted).
    formulas : dict
        Variant -> Bambi formula.
    priors : dict
        Term name -> prior, e.g. ``{"dist": "Normal", "mu": 0, "sigma": 1}``; group-level terms
        take ``{"dist": "Normal", "mu": 0, "sigma": {"dist": "HalfNormal", "sigma": 1}}``.
    rope : float
        ROPE half-width for period contrasts, in the measure's units.
    rope_justification : str
        Why that width.
    d_months : tuple of float
        The two time points of Cohen's d (0 and 24).
    correlated : bool
        Fit the correlated (LKJ) random-effects variant written in PyMC instead of Bambi's
        independent intercept and slope.
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
    rope: float = 0.0
    rope_justification: str = ""
    d_months: tuple[float, float] = (0.0, 24.0)
    correlated: bool = False

    @property
    def variants(self) -> tuple[str, ...]:
        """Variants to fit: both, or only ``linear`` when there is no period column."""
        return tuple(v for v in VARIANTS if v in self.formulas)

    def covariates(self, variant: str) -> tuple[str, ...]:
        """Columns of a variant's formula besides outcome, time, period and group."""
        names = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", self.formulas[variant]))
        roles = {self.measure, self.time, self.group, self.period}
        return tuple(sorted(names - roles))


def models_dir() -> Path:
    """The package's bundled ``models/`` folder."""
    here = Path(__file__).resolve()
    for candidate in (here.parents[3] / "models", here.parents[1] / "models"):
        if candidate.is_dir():
            return candidate
    raise SpecError("cannot find the models/ folder; pass --models DIR")


def load_specs(folder: str | Path | None = None) -> dict[str, ModelSpec]:
    """Load every ``*.toml`` spec in a folder.

    Parameters
    ----------
    folder : path, optional
        Folder of specs (default: the package's ``models/``).

    Returns
    -------
    dict of str to ModelSpec
        In file-name order.

    Raises
    ------
    SpecError
        On a missing folder, an empty folder, or any invalid spec.

    Examples
    --------
    >>> import mbtbayes as mb
    >>> mb.load_specs()["bsi"].formulas["period"]
    'bsi ~ months * period + (months | patient_id)'
    """
    folder = Path(folder) if folder is not None else models_dir()
    if not folder.is_dir():
        raise SpecError(f"model spec folder not found: {folder}")
    files = sorted(folder.glob("*.toml"))
    if not files:
        raise SpecError(f"no *.toml model specs in {folder}")
    return {f.stem: load_spec(f) for f in files}


def load_spec(path: str | Path) -> ModelSpec:
    """Load and check one TOML spec.

    Parameters
    ----------
    path : path

    Returns
    -------
    ModelSpec

    Raises
    ------
    SpecError
        On invalid TOML, unknown keys (with a did-you-mean hint) or bad values.
    """
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as err:
        raise SpecError(f"{path.name}: not valid TOML: {err}") from None
    try:
        return spec_from_dict(raw, name=path.stem)
    except SpecError as err:
        raise SpecError(f"{path.name}: {err}") from None


def spec_from_dict(raw: dict, *, name: str) -> ModelSpec:
    """Build a :class:`ModelSpec` from the structure of a TOML spec.

    Parameters
    ----------
    raw : dict
        Parsed TOML.
    name : str
        Spec name.

    Returns
    -------
    ModelSpec
    """
    check_keys(raw, TOP_KEYS, "the spec")
    for key in ("measure", "formulas"):
        if key not in raw:
            raise SpecError(f"missing key '{key}'")
    check_keys(raw["formulas"], VARIANTS, "[formulas]")
    rope = dict(raw.get("rope", {}))
    check_keys(rope, ROPE_KEYS, "[rope]")
    effect = dict(raw.get("effect_size", {}))
    check_keys(effect, EFFECT_KEYS, "[effect_size]")
    spec = ModelSpec(
        name=name, measure=raw["measure"], label=raw.get("label", raw["measure"]),
        range=_range(raw), family=raw.get("family", "gaussian"), kind=raw.get("kind", "other"),
        time=raw.get("time", schema.MONTHS), group=raw.get("group", schema.ID),
        period=raw.get("period", schema.PERIOD), formulas=dict(raw["formulas"]),
        priors={k: dict(v) for k, v in raw.get("priors", {}).items()},
        rope=float(rope.get("half_width", 0.0)),
        rope_justification=str(rope.get("justification", "")),
        d_months=tuple(float(m) for m in effect.get("months", (0, 24))),
        correlated=bool(raw.get("correlated", False)))
    _check_spec(spec)
    return spec


def _range(raw: dict) -> tuple[float, float]:
    measure = schema.MEASURES.get(raw["measure"])
    given = raw.get("range")
    if given is None:
        if measure is None:
            raise SpecError(f"'range' is required for '{raw['measure']}' (not a register measure)")
        return (measure.low, measure.high)
    low, high = (float(x) for x in given)
    if measure is not None and (low, high) != (measure.low, measure.high):
        raise SpecError(f"range {low:g}-{high:g} disagrees with the schema's "
                        f"{measure.low:g}-{measure.high:g} for {measure.name}")
    return (low, high)


def _check_spec(spec: ModelSpec) -> None:
    if spec.family not in FAMILIES:
        raise SpecError(f"family '{spec.family}' is not supported; use one of {FAMILIES}")
    if "linear" not in spec.formulas:
        raise SpecError("[formulas] needs at least 'linear'")
    for variant, formula in spec.formulas.items():
        lhs = formula.split("~")[0].strip()
        if lhs != spec.measure:
            raise SpecError(f"formula '{variant}' models '{lhs}', but measure is '{spec.measure}'")
    if len(spec.d_months) != 2 or spec.d_months[0] >= spec.d_months[1]:
        raise SpecError(f"[effect_size] months must be two increasing times, got {spec.d_months}")
    if spec.rope < 0:
        raise SpecError("[rope] half_width must be >= 0")
    for term, prior in spec.priors.items():
        _check_prior(term, prior)


def _check_prior(term: str, prior: dict) -> None:
    dist = prior.get("dist")
    if dist not in PRIOR_DISTS:
        raise SpecError(f"prior for '{term}': dist must be one of {', '.join(PRIOR_DISTS)}"
                        f"{did_you_mean(str(dist), PRIOR_DISTS)}")
    for key, value in prior.items():
        if isinstance(value, dict):
            _check_prior(f"{term}.{key}", value)


def make_spec(
    *,
    outcome: str,
    time: str,
    group: str,
    period: str | None = None,
    range: tuple[float, float],
    covariates: tuple[str, ...] = (),
    name: str | None = None,
    rope: float = 0.0,
    d_months: tuple[float, float] = (0.0, 24.0),
    correlated: bool = False,
) -> ModelSpec:
    """A growth-model spec for any long-format data, with priors scaled to the outcome's range.

    Parameters
    ----------
    outcome, time, group : str
        Column names of the outcome, the time variable and the subject id.
    period : str, optional
        Two-level group column; without it only the linear variant is fitted.
    range : tuple of float
        Possible range of the outcome (sets the prior scales).
    covariates : tuple of str
        Extra fixed effects for both variants.
    name : str, optional
        Spec name (default: the outcome).
    rope : float
        ROPE half-width for the period contrasts, in outcome units.
    d_months : tuple of float
        Times for Cohen's d.
    correlated : bool
        Use correlated random intercept and slope (LKJ).

    Returns
    -------
    ModelSpec

    Examples
    --------
    >>> s = make_spec(outcome="score", time="week", group="subject", period="arm", range=(0, 10))
    >>> s.formulas["period"]
    'score ~ week * arm + (week | subject)'
    """
    extra = "".join(f" + {c}" for c in covariates)
    formulas = {"linear": f"{outcome} ~ {time}{extra} + ({time} | {group})"}
    if period is not None:
        formulas["period"] = f"{outcome} ~ {time} * {period}{extra} + ({time} | {group})"
    low, high = range
    spec = ModelSpec(
        name=name or outcome, measure=outcome, label=outcome, range=(low, high),
        family="gaussian", kind="other", time=time, group=group, period=period,
        formulas=formulas, priors=default_priors(low=low, high=high, time=time, period=period,
                                                 group=group, covariates=covariates,
                                                 horizon=max(d_months[1], 1.0)),
        rope=rope, d_months=d_months, correlated=correlated)
    _check_spec(spec)
    return spec


def default_priors(
    *,
    low: float,
    high: float,
    time: str,
    group: str,
    period: str | None,
    covariates: tuple[str, ...] = (),
    horizon: float = 36.0,
) -> dict[str, dict]:
    """Weakly informative priors scaled to an outcome's range ``high - low``.

    The intercept is centred mid-range with SD half the range; a slope SD lets the outcome
    cross its whole range over ``horizon`` time units; period and covariate shifts have SD a
    quarter of the range; SDs of patient effects and of the residual are half-normal with the
    same scales.

    Returns
    -------
    dict
        Term name -> prior, as in the TOML files.
    """
    width = high - low
    slope = width / horizon

    def normal(mu: float, sigma: float) -> dict:
        return {"dist": "Normal", "mu": round(mu, 4), "sigma": round(sigma, 4)}

    def half(sigma: float) -> dict:
        return {"dist": "HalfNormal", "sigma": round(sigma, 4)}

    priors = {"Intercept": normal((low + high) / 2, width / 2), time: normal(0, slope),
              f"1|{group}": {"dist": "Normal", "mu": 0, "sigma": half(width / 4)},
              f"{time}|{group}": {"dist": "Normal", "mu": 0, "sigma": half(slope / 2)},
              "sigma": half(width / 4)}
    if period is not None:
        priors[period] = normal(0, width / 4)
        priors[f"{time}:{period}"] = normal(0, slope / 2)
    for c in covariates:
        priors[c] = normal(0, width / 4)
    return priors
