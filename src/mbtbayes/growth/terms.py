"""Formulas as terms: what a growth formula names, read by formulae before any data is seen.

A spec's formula is parsed once, at load time, into its common terms (the names priors are
keyed by), its group-specific terms (``(expr | factor)``) and the data columns it uses. The
lme4 / brms spelling ``(time || id)`` (uncorrelated intercept and slope) is accepted and read
as Bambi's ``(time | id)``, which in Bambi 0.17 is uncorrelated too.

The formula namespace adds comma-free cubic B-splines ``bs3(x)`` .. ``bs6(x)`` (3-6 degrees of
freedom, knots learned from the data the model is built on and then fixed): nutpie cannot
sample a term whose name holds a comma, such as ``bs(months, df=4)``.

Examples
--------
>>> f = parse_formula("bsi ~ months * period + (months || patient_id)")
>>> f.common, [g.name for g in f.group], f.uncorrelated
(('Intercept', 'months', 'period', 'months:period'), ['1|patient_id', 'months|patient_id'], True)
>>> f.bambi
'bsi ~ months * period + (months | patient_id)'
>>> sorted(f.variables)
['bsi', 'months', 'patient_id', 'period']
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from mbtbayes.core.errors import SpecError

SPLINE_DF: tuple[int, ...] = (3, 4, 5, 6)
"""Degrees of freedom of the comma-free spline functions ``bs3`` .. ``bs6``."""


@dataclass(frozen=True)
class GroupTerm:
    """A group-specific term ``(expr | factor)`` as Bambi names it, e.g. ``months|patient_id``.

    Attributes
    ----------
    name : str
    expr : str
        ``"1"`` for an intercept, else the expression (a column name, or a call).
    factor : str
    """

    name: str
    expr: str
    factor: str


@dataclass(frozen=True)
class ParsedFormula:
    """The terms of one formula.

    Attributes
    ----------
    text : str
        The formula as written in the spec.
    bambi : str
        The formula as Bambi takes it (``||`` read as ``|``).
    response : str
        Left-hand side (the outcome, or ``sigma`` for a distributional part).
    common : tuple of str
        Common (fixed) terms, ``Intercept`` first when present.
    group : tuple of GroupTerm
    variables : frozenset of str
        Data columns the formula uses, the response included.
    uncorrelated : bool
        Written with ``||``.
    """

    text: str
    bambi: str
    response: str
    common: tuple[str, ...]
    group: tuple[GroupTerm, ...]
    variables: frozenset[str]
    uncorrelated: bool


def parse_formula(text: str) -> ParsedFormula:
    """Read the terms of a formula (formulae's parser, no data needed).

    Raises
    ------
    SpecError
        If formulae cannot parse it.
    """
    import formulae

    if not isinstance(text, str) or "~" not in text:
        raise SpecError(f"a formula must be a string 'outcome ~ terms', got {text!r}")
    uncorrelated = "||" in text
    bambi = re.sub(r"\|\|", "|", text)
    try:
        desc = formulae.model_description(bambi)
    except Exception as err:  # formulae raises its own ParseError and others
        raise SpecError(f"cannot parse the formula '{text}': {err}") from None
    common, group = [], []
    for term in desc.terms:
        if type(term).__name__ == "GroupSpecificTerm":
            expr, factor = term.name.split("|", 1)
            group.append(GroupTerm(term.name, expr, factor))
        else:
            common.append(term.name)
    variables = {v for v in desc.var_names if v}
    return ParsedFormula(text, bambi, text.split("~")[0].strip(), tuple(common), tuple(group),
                         frozenset(variables), uncorrelated)


class CubicSpline:
    """A cubic B-spline basis whose knots are learned on the first call, then kept.

    The first call (on the data the model is built on) places ``df - 3`` interior knots at
    quantiles and the boundary knots at the range, exactly as formulae's ``bs(x, df=df)``;
    later calls (prediction grids, held-out rows) reuse them.

    Examples
    --------
    >>> bs4 = CubicSpline(4)
    >>> bs4(np.array([0.0, 6.0, 12.0, 24.0, 36.0])).shape
    (5, 4)
    >>> bs4(np.array([6.0])).round(3).tolist() == bs4(np.array([0.0, 6.0]))[1:].round(3).tolist()
    True
    """

    def __init__(self, df: int) -> None:
        from formulae.transforms import BSpline

        self.df = df
        self._basis = BSpline()
        self._learned = False

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        if not self._learned:
            self._learned = True
            return np.asarray(self._basis(x, df=self.df))
        return np.asarray(self._basis.eval(x))


def formula_namespace() -> dict[str, CubicSpline]:
    """Fresh spline functions ``bs3`` .. ``bs6`` for one model build (each learns its knots)."""
    return {f"bs{df}": CubicSpline(df) for df in SPLINE_DF}


def comma_terms(formula: ParsedFormula) -> list[str]:
    """Terms whose name holds a comma (nutpie cannot sample them)."""
    return [t for t in (*formula.common, *(g.name for g in formula.group)) if "," in t]
