"""Which engine fits a spec: the choice ``"auto"`` / ``"marginal"`` / ``"bambi"``.

The **marginal** engine integrates the patient effects out analytically (Gaussian family,
exactly ``(time | group)``, Normal and HalfNormal priors; the correlated variant too); the
**Bambi** engine samples them (Student-t, censored, intercept-only, ``sigma ~ period``,
splines, other covariates). ``engine = "auto"`` takes the marginal engine when the spec
qualifies and Bambi otherwise. This module reads a spec and says which engine fits it, or why
none can; the engines themselves are :mod:`mbtbayes.growth.engines`.

Examples
--------
>>> import mbtbayes as mb
>>> resolve_engine(mb.load_specs()["bsi"])
'marginal'
>>> from dataclasses import replace
>>> resolve_engine(replace(mb.load_specs()["bsi"], correlated=False), "bambi")
'bambi'
"""

from __future__ import annotations

from mbtbayes.core.errors import SpecError
from mbtbayes.core.hints import did_you_mean
from mbtbayes.growth.modelspec import ModelSpec
from mbtbayes.growth.priors import prior_terms
from mbtbayes.growth.terms import comma_terms

ENGINES: tuple[str, ...] = ("auto", "marginal", "bambi")
"""``marginal``: patient effects integrated out (Gaussian, ``(time | group)``, Normal and
HalfNormal priors); ``bambi``: ``bmb.Model`` with patient effects sampled; ``auto``: marginal
when the spec qualifies, else Bambi."""


def marginal_obstacles(spec: ModelSpec) -> list[str]:
    """Why the marginal engine cannot fit a spec (empty when it can)."""
    out = []
    if spec.family != "gaussian":
        out.append(f"family '{spec.family}' (it is Gaussian only)")
    if spec.censored:
        out.append("censored = true (a censored likelihood has no closed-form marginal)")
    wanted = {f"1|{spec.group}", f"{spec.time}|{spec.group}"}
    for variant in spec.formulas:
        groups = {g.name for g in spec.formula(variant).group}
        if groups != wanted:
            out.append(f"group-specific terms {sorted(groups)} in '{variant}' (it needs exactly "
                       f"({spec.time} | {spec.group}))")
        out += [f"'{a.text}' in '{variant}'" for a in spec.auxiliary_formulas(variant)]
    kinds = prior_terms(spec)
    wants = {"common": "Normal", "group": "Normal", "sigma": "HalfNormal"}
    for key, prior in spec.priors.items():
        want = wants.get(kinds[key])
        if want is None:  # nu or a sigma formula's term: named above
            continue
        hyper = prior.get("sigma") if kinds[key] == "group" else None
        if prior["dist"] != want or (hyper is not None and hyper["dist"] != "HalfNormal"):
            out.append(f"the {prior['dist']} prior on '{key}' (it takes Normal coefficients "
                       "and HalfNormal SDs)")
    return out


def bambi_obstacles(spec: ModelSpec) -> list[str]:
    """Why the Bambi engine cannot fit a spec (empty when it can)."""
    out = []
    if spec.correlated:
        out.append("correlated = true (Bambi 0.17 has no correlated patient effects; the "
                   "marginal engine fits them exactly, with an LKJ prior; correlated = false "
                   "gives Bambi's uncorrelated ones)")
    for variant in spec.formulas:
        for term in comma_terms(spec.formula(variant)):
            out.append(f"the term '{term}' in '{variant}' (nutpie cannot sample a name with a "
                       "comma; write a B-spline as bs3(x) .. bs6(x), e.g. bs4(months))")
    return out


def resolve_engine(spec: ModelSpec, engine: str | None = None) -> str:
    """The engine that fits a spec: ``engine`` when given, else by ``spec.engine``.

    ``auto`` takes the marginal engine when the spec qualifies (Gaussian, exactly
    ``(time | group)``, Normal and HalfNormal priors, no ``sigma ~`` formula) and Bambi
    otherwise.

    Raises
    ------
    SpecError
        If the chosen engine (or, for ``auto``, every engine) cannot fit the spec; the message
        says why.

    Examples
    --------
    >>> import mbtbayes as mb
    >>> spec = mb.make_spec(outcome="y", time="t", group="id", range=(0, 10), family="t")
    >>> resolve_engine(spec)
    'bambi'
    >>> resolve_engine(spec, "marginal")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    mbtbayes.core.errors.SpecError: y: the marginal engine cannot fit family 't' (it is ...
    """
    want = engine or spec.engine
    if want not in ENGINES:
        raise SpecError(f"engine must be one of {', '.join(ENGINES)}, got '{want}'"
                        f"{did_you_mean(str(want), ENGINES)}")
    marginal = marginal_obstacles(spec)
    if spec.correlated and marginal:
        raise SpecError(f"{spec.name}: correlated = true needs the marginal engine, which "
                        f"cannot fit {'; '.join(marginal)}")
    if want == "marginal" and marginal:
        raise SpecError(f"{spec.name}: the marginal engine cannot fit {'; '.join(marginal)}; "
                        "use engine = \"bambi\" or \"auto\"")
    if want == "marginal" or (want == "auto" and not marginal):
        return "marginal"
    bambi = bambi_obstacles(spec)
    if bambi:
        hint = "; use engine = \"marginal\"" if not marginal else ""
        raise SpecError(f"{spec.name}: the Bambi engine cannot fit {'; '.join(bambi)}{hint}")
    return "bambi"
