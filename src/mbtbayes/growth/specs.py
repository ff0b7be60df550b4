"""Model specs: one TOML file per measure in ``models/``, or one built in Python, each
checked when it is made (the value itself: :class:`~mbtbayes.growth.modelspec.ModelSpec`).

A spec holds the measure's column, label and range, the family (``gaussian`` or ``t``), the
engine (``auto``, ``marginal`` or ``bambi``), the time and group columns, the formula of each
variant (``linear``: no period; ``period``: period on intercept and slope), optionally a
formula for the residual SD (``sigma ~ period``), priors keyed by term name (as Bambi names
terms), the margin of practical equivalence (ROPE half-width) of the period contrasts, fixed in
the spec with its source and the reference SD it is measured against, and the months at which
Cohen's d is evaluated.

A variant's formula is a string, or a list whose first item is the outcome's formula and whose
others model the residual SD, as ``bmb.Formula`` takes them::

    period = ["bsi ~ months * period + (months | patient_id)", "sigma ~ period"]

Everything that no engine can fit is refused when the spec is loaded, with a message: an
unknown family or engine, prior distributions, parameters or scales <= 0, prior keys that name
no term, a family or structure the chosen engine cannot fit.

Examples
--------
>>> from mbtbayes.growth.specs import load_specs
>>> specs = load_specs()            # the package's models/ folder  # doctest: +SKIP
>>> specs["bsi"].formulas["period"]  # doctest: +SKIP
'bsi ~ months * period + (months | patient_id)'
"""

from __future__ import annotations

import tomllib
from dataclasses import replace
from pathlib import Path

from mbtbayes.core.errors import SpecError
from mbtbayes.core.hints import check_keys, did_you_mean
from mbtbayes.growth.engine_choice import ENGINES, marginal_obstacles, resolve_engine
from mbtbayes.growth.modelspec import (
    DEFAULT_HORIZON,
    FAMILIES,
    VARIANTS,
    ModelSpec,
    ReliableChangeNorms,
)
from mbtbayes.growth.priors import (
    AUX_PARAMETERS,
    check_prior,
    check_prior_terms,
    flat_priors,
    spec_default_priors,
)
from mbtbayes.io import schema

AUTO = "auto"
"""``correlated = "auto"``: correlated patient effects whenever the marginal engine fits them."""

TOP_KEYS = ("measure", "label", "range", "family", "engine", "kind", "time", "group", "period",
            "correlated", "censored", "formulas", "priors", "prior_horizon", "rope",
            "effect_size", "reliable_change", "covariates")
DEFAULT_ROPE_SD_UNITS = 0.1
"""ROPE half-width in baseline-SD units when a spec gives none (bayestestR's convention)."""
ROPE_KEYS = ("sd_units", "half_width", "source", "label", "reference_sd", "reference_sd_source",
             "justification")
EFFECT_KEYS = ("months",)
RELIABLE_CHANGE_KEYS = ("reliability", "reliability_source", "cutoff", "cutoff_source")


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

    Examples
    --------
    >>> spec = spec_from_dict({"measure": "bsi", "family": "t", "formulas": {
    ...     "linear": "bsi ~ months + (1 | patient_id)",
    ...     "period": ["bsi ~ months * period + (1 | patient_id)", "sigma ~ period"]}}, name="x")
    >>> resolve_engine(spec), spec.auxiliary["period"]
    ('bambi', ('sigma ~ period',))
    """
    check_keys(raw, TOP_KEYS, "the spec")
    for key in ("measure", "formulas"):
        if key not in raw:
            raise SpecError(f"missing key '{key}'")
    check_keys(raw["formulas"], VARIANTS, "[formulas]")
    formulas, auxiliary = _split_formulas(raw["formulas"])
    rope = dict(raw.get("rope", {}))
    check_keys(rope, ROPE_KEYS, "[rope]")
    effect = dict(raw.get("effect_size", {}))
    check_keys(effect, EFFECT_KEYS, "[effect_size]")
    spec = ModelSpec(
        name=name, measure=raw["measure"], label=raw.get("label", raw["measure"]),
        range=_range(raw), family=raw.get("family", "gaussian"), kind=raw.get("kind", "other"),
        time=raw.get("time", schema.MONTHS), group=raw.get("group", schema.ID),
        period=raw.get("period", schema.PERIOD), formulas=formulas,
        priors=flat_priors(raw.get("priors", {})),
        prior_horizon=_number(raw.get("prior_horizon", DEFAULT_HORIZON), "prior_horizon"),
        rope_sd_units=(None if "half_width" in rope
                       else float(rope.get("sd_units", DEFAULT_ROPE_SD_UNITS))),
        rope_half_width=(float(rope["half_width"]) if "half_width" in rope else None),
        rope_source=str(rope.get("source", "")), rope_label=str(rope.get("label", "")),
        rope_reference_sd=(_number(rope["reference_sd"], "[rope] reference_sd")
                           if "reference_sd" in rope else None),
        rope_reference_sd_source=str(rope.get("reference_sd_source", "")),
        rope_justification=str(rope.get("justification", "")),
        d_months=tuple(float(m) for m in effect.get("months", (0, 24))),
        correlated=False, engine=raw.get("engine", "auto"), auxiliary=auxiliary,
        censored=_flag(raw, "censored"), reliable_change=_reliable_change(raw),
        adjust_for=adjustment_covariates(raw))
    _check_spec(spec)  # the spec's own checks first: their messages, not a KeyError
    correlated = resolve_correlated(spec, raw.get("correlated", AUTO))
    if correlated:
        spec = replace(spec, correlated=True)
        _check_spec(spec)
    return spec



def resolve_correlated(spec: ModelSpec, wanted: bool | str = AUTO) -> bool:
    """Whether the patient intercept and slope are correlated: ``wanted`` when it is a bool;
    with ``"auto"`` (the default) correlated, as lme4's and brms's ``(time | id)``, whenever
    the marginal engine can fit the spec (its LKJ prior), and uncorrelated otherwise (Bambi
    0.17 has no correlated patient effects) or when a formula writes ``(time || id)``.

    Raises
    ------
    SpecError
        If ``wanted`` is neither a bool nor ``"auto"``.

    Examples
    --------
    >>> resolve_correlated(make_spec(outcome="y", time="t", group="id", range=(0, 1)))
    True
    >>> resolve_correlated(make_spec(outcome="y", time="t", group="id", range=(0, 1),
    ...                              family="t"))
    False
    """
    if isinstance(wanted, bool):
        return wanted
    if wanted != AUTO:
        raise SpecError(f"correlated must be true, false or \"auto\", got {wanted!r}")
    if any(spec.formula(v).uncorrelated for v in spec.formulas) or spec.engine == "bambi":
        return False
    return not marginal_obstacles(replace(spec, correlated=False))


def _split_formulas(raw: dict) -> tuple[dict[str, str], dict[str, tuple[str, ...]]]:
    formulas, auxiliary = {}, {}
    for variant, value in raw.items():
        parts = [value] if isinstance(value, str) else value
        if not isinstance(parts, list) or not parts or not all(isinstance(p, str) for p in parts):
            raise SpecError(f"formula '{variant}' must be a string or a list of strings")
        formulas[variant] = parts[0]
        if parts[1:]:
            auxiliary[variant] = tuple(parts[1:])
    return formulas, auxiliary


def adjustment_covariates(raw: dict) -> tuple[str, ...]:
    """The spec's ``covariates``: intake characteristics of the register's patients (the
    schema's patient-level ``intake`` columns) that the case-mix adjusted fit adds.

    Raises
    ------
    SpecError
        Not a list of distinct names; a name that is not an intake characteristic (with a
        did-you-mean hint), a measure (its baseline is the growth model's intercept already)
        or a column recorded during or after treatment.

    Examples
    --------
    >>> adjustment_covariates({"covariates": ["age", "bpd_criteria"]})
    ('age', 'bpd_criteria')
    >>> adjustment_covariates({"covariates": ["bpd_criterion"]})
    Traceback (most recent call last):
    ...
    mbtbayes.core.errors.SpecError: covariates: 'bpd_criterion' ... 'bpd_criteria'?); ...
    """
    names = raw.get("covariates", [])
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise SpecError(f"covariates must be a list of column names, got {names!r}")
    if len(set(names)) < len(names):
        raise SpecError(f"covariates: a name is given twice in {names}")
    allowed = [f.name for f in schema.PATIENT_FIELDS.values() if f.intake]
    for name in names:
        if name in schema.MEASURES:
            raise SpecError(f"covariates: '{name}' is a measure; a measure's baseline is in "
                            "the growth model's intercept already, not a covariate")
        if name in schema.PATIENT_FIELDS and name not in allowed:
            raise SpecError(f"covariates: '{name}' is recorded during or after treatment, not "
                            f"at intake; allowed: {', '.join(allowed)}")
        if name not in allowed:
            raise SpecError(f"covariates: '{name}' is not an intake characteristic of the "
                            f"register{did_you_mean(name, allowed)}; allowed: "
                            f"{', '.join(allowed)}")
    return tuple(names)


def _check_rope(spec: ModelSpec) -> None:
    if spec.rope_half_width is not None:
        if not spec.rope_half_width > 0:
            raise SpecError("[rope] half_width must be > 0")
        if not spec.rope_source.strip():
            raise SpecError("[rope] half_width needs a source (where the minimal important "
                            "difference comes from); or give sd_units instead")
    elif spec.rope_sd_units is None or not spec.rope_sd_units > 0:
        raise SpecError("[rope] sd_units must be > 0 (the default is 0.1 baseline SD)")
    if spec.rope_reference_sd is not None:
        if not spec.rope_reference_sd > 0:
            raise SpecError("[rope] reference_sd must be > 0 (in the measure's units)")
        if not spec.rope_reference_sd_source.strip():
            raise SpecError("[rope] reference_sd needs reference_sd_source: published, derived "
                            "(from what) or assumed (why)")


def _reliable_change(raw: dict) -> ReliableChangeNorms | None:
    """The ``[reliable_change]`` table: the reliability with its source, and a published
    cut-off with its source or a ``cutoff_source`` that says why none is used (criterion a).

    Examples
    --------
    >>> _reliable_change({"reliable_change": {"reliability": 0.9, "reliability_source": "X",
    ...     "cutoff_source": "no published norm used"}}).cutoff is None
    True
    """
    if "reliable_change" not in raw:
        return None
    table = dict(raw["reliable_change"])
    check_keys(table, RELIABLE_CHANGE_KEYS, "[reliable_change]")
    if "reliability" not in table:
        raise SpecError("[reliable_change] needs 'reliability' (0 < r < 1) and its source")
    reliability = _number(table["reliability"], "[reliable_change] reliability")
    if not 0 < reliability < 1:
        raise SpecError(f"[reliable_change] reliability must lie between 0 and 1 (exclusive), "
                        f"got {reliability:g}")
    norms = ReliableChangeNorms(
        reliability=reliability,
        reliability_source=str(table.get("reliability_source", "")).strip(),
        cutoff=(_number(table["cutoff"], "[reliable_change] cutoff")
                if "cutoff" in table else None),
        cutoff_source=str(table.get("cutoff_source", "")).strip())
    if not norms.reliability_source:
        raise SpecError("[reliable_change] reliability needs reliability_source (a citation, "
                        "or why it is assumed)")
    if not norms.cutoff_source:
        raise SpecError("[reliable_change] needs cutoff_source: the published norms of the "
                        "cut-off, or why none is used (then criterion a: 2 baseline SDs "
                        "beyond the register's baseline mean)")
    return norms


def _check_reliable_change(spec: ModelSpec) -> None:
    norms = spec.reliable_change
    if norms is not None and norms.cutoff is not None:
        low, high = spec.range
        if not low < norms.cutoff < high:
            raise SpecError(f"[reliable_change] cutoff {norms.cutoff:g} lies outside the "
                            f"range {low:g}-{high:g}")


def _flag(raw: dict, key: str) -> bool:
    value = raw.get(key, False)
    if not isinstance(value, bool):
        raise SpecError(f"'{key}' must be true or false, got {value!r}")
    return value


def _number(value: object, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SpecError(f"'{key}' must be a number, got {value!r}")
    return float(value)


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


# ---------------------------------------------------------------- checks at load time


def _check_spec(spec: ModelSpec) -> None:
    if spec.family not in FAMILIES:
        raise SpecError(f"family '{spec.family}' is not supported; use one of "
                        f"{', '.join(FAMILIES)}{did_you_mean(str(spec.family), FAMILIES)}")
    if spec.engine not in ENGINES:
        raise SpecError(f"engine '{spec.engine}' is not one of {', '.join(ENGINES)}"
                        f"{did_you_mean(str(spec.engine), ENGINES)}")
    if "linear" not in spec.formulas:
        raise SpecError("[formulas] needs at least 'linear'")
    for variant in spec.formulas:
        _check_formulas(spec, variant)
    if len(spec.d_months) != 2 or spec.d_months[0] >= spec.d_months[1]:
        raise SpecError(f"[effect_size] months must be two increasing times, got {spec.d_months}")
    _check_rope(spec)
    _check_reliable_change(spec)
    if not spec.prior_horizon > 0:
        raise SpecError(f"prior_horizon must be > 0 time units, got {spec.prior_horizon:g}")
    for term, prior in spec.priors.items():
        check_prior(term, prior)
    check_prior_terms(spec)
    resolve_engine(spec)


def _check_formulas(spec: ModelSpec, variant: str) -> None:
    formula = spec.formula(variant)
    if formula.response != spec.measure:
        raise SpecError(f"formula '{variant}' models '{formula.response}', but measure is "
                        f"'{spec.measure}'")
    if not formula.group:
        raise SpecError(f"formula '{variant}' has no patient effects; a growth model needs at "
                        f"least (1 | {spec.group})")
    for term in formula.group:
        if term.factor != spec.group:
            raise SpecError(f"formula '{variant}': group-specific term '{term.name}' is not by "
                            f"the group column '{spec.group}'; only patient effects are "
                            "supported")
        if term.expr != "1" and not term.expr.isidentifier():
            raise SpecError(f"formula '{variant}': group-specific term '{term.name}' must vary "
                            f"an intercept or one column, e.g. ({spec.time} | {spec.group})")
    if formula.uncorrelated and spec.correlated:
        raise SpecError(f"formula '{variant}' asks for uncorrelated patient effects (||) but "
                        "correlated = true")
    seen = set()
    for aux in spec.auxiliary_formulas(variant):
        if aux.response not in AUX_PARAMETERS or aux.response in seen:
            raise SpecError(f"formula '{variant}': '{aux.text}' must model one of "
                            f"{', '.join(AUX_PARAMETERS)}, once")
        if aux.group:
            raise SpecError(f"formula '{variant}': '{aux.text}' has group-specific terms; the "
                            "residual SD may depend on common terms only")
        seen.add(aux.response)


# ---------------------------------------------------------------- specs from Python


def make_spec(
    *,
    outcome: str,
    time: str,
    group: str,
    period: str | None = None,
    range: tuple[float, float],
    covariates: tuple[str, ...] = (),
    name: str | None = None,
    rope_sd_units: float | None = 0.1,
    rope_half_width: float | None = None,
    rope_source: str = "",
    rope_reference_sd: float | None = None,
    rope_reference_sd_source: str = "",
    d_months: tuple[float, float] = (0.0, 24.0),
    correlated: bool | str = AUTO,
    censored: bool = False,
    family: str = "gaussian",
    engine: str = "auto",
    random: str = "slope",
    time_terms: tuple[str, ...] | None = None,
    sigma: str | None = None,
    prior_horizon: float = DEFAULT_HORIZON,
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
    rope_sd_units : float, optional
        ROPE half-width in baseline-SD units (default 0.1), computed on the data analysed.
    rope_half_width, rope_source : float and str, optional
        An absolute ROPE half-width in outcome units (a minimal important difference) and its
        source; replaces ``rope_sd_units``.
    rope_reference_sd, rope_reference_sd_source : float and str, optional
        The SD the margin is read against (d's margin, the ROPE curve) and its provenance;
        default: the observed pooled baseline SD of the data analysed.
    d_months : tuple of float
        Times for Cohen's d.
    correlated : bool or "auto"
        Correlated random intercept and slope (LKJ; marginal engine). ``"auto"`` (default):
        correlated whenever the marginal engine can fit the spec (:func:`resolve_correlated`).
    censored : bool
        Scores at the range's bounds censored (a Tobit likelihood; the Bambi engine).
    family : {"gaussian", "t"}
    engine : {"auto", "marginal", "bambi"}
    random : {"slope", "intercept"}
        Patient effects: intercept and slope ``(time | group)``, or intercept only.
    time_terms : tuple of str, optional
        Terms of time (default ``(time,)``), e.g. ``("months", "I(months**2)")`` or
        ``("bs4(months)",)``; with a period they all interact with it.
    sigma : str, optional
        Right-hand side of a formula for the residual SD in both variants, e.g. ``"period"``.
    prior_horizon : float
        Time horizon of the default slope priors (default 36, the longest planned treatment
        in months; give it in the unit of ``time``). The priors are those a TOML spec without
        priors gets (:func:`mbtbayes.growth.priors.spec_default_priors`).

    Returns
    -------
    ModelSpec

    Examples
    --------
    >>> s = make_spec(outcome="score", time="week", group="subject", period="arm", range=(0, 10))
    >>> s.formulas["period"]
    'score ~ week * arm + (week | subject)'
    >>> make_spec(outcome="y", time="t", group="id", period="g", range=(0, 1), family="t",
    ...           random="intercept", time_terms=("t", "I(t**2)")).formulas["period"]
    'y ~ (t + I(t**2)) * g + (1 | id)'
    """
    if random not in ("slope", "intercept"):
        raise SpecError(f"random must be 'slope' or 'intercept', got '{random}'")
    terms = tuple(time_terms or (time,))
    lhs = " + ".join(terms)
    extra = "".join(f" + {c}" for c in covariates)
    re = f"({time} | {group})" if random == "slope" else f"(1 | {group})"
    formulas = {"linear": f"{outcome} ~ {lhs}{extra} + {re}"}
    if period is not None:
        grouped = lhs if len(terms) == 1 else f"({lhs})"
        formulas["period"] = f"{outcome} ~ {grouped} * {period}{extra} + {re}"
    low, high = range
    spec = ModelSpec(
        name=name or outcome, measure=outcome, label=outcome, range=(low, high),
        family=family, kind="other", time=time, group=group, period=period,
        formulas=formulas, prior_horizon=float(prior_horizon),
        rope_sd_units=None if rope_half_width is not None else rope_sd_units,
        rope_half_width=rope_half_width, rope_source=rope_source,
        rope_reference_sd=rope_reference_sd, rope_reference_sd_source=rope_reference_sd_source,
        d_months=d_months,
        correlated=False, censored=censored,
        engine=engine,
        auxiliary={v: (f"sigma ~ {sigma}",) for v in formulas} if sigma is not None else {})
    if not spec.prior_horizon > 0:
        raise SpecError(f"prior_horizon must be > 0 time units, got {spec.prior_horizon:g}")
    spec = replace(spec, priors=spec_default_priors(spec))  # what a TOML spec would get
    _check_spec(spec)
    if resolve_correlated(spec, correlated):
        spec = replace(spec, correlated=True)
        _check_spec(spec)
    return spec
