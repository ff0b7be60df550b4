"""Scores on a bounded scale: recorded scores as intervals, and the censored likelihood.

A questionnaire score is recorded on a grid (BSI-18: steps of 1/18) between a floor and a
ceiling. A model for a continuous outcome predicts a *recorded* score by rounding to the grid
and clipping to the scale, as the posterior predictive checks count it
(:mod:`mbtbayes.growth.ppc`): the score ``y`` stands for the interval ``(y - h, y + h]``
(``h`` half a step), the floor for everything up to ``low + h`` and the ceiling for everything
from ``high - h``. :func:`score_bounds` gives those intervals; the LOO-PIT
(:mod:`mbtbayes.growth.loo_pit`) and the comparison of a Gaussian with a censored model
(:func:`recorded_loo`) evaluate every model on them, so that the two are compared on the same
data with the same convention (a probability per recorded score).

The **censored** likelihood (``censored = true`` in a spec, fitted by the Bambi engine with
``censored(y, status)``) reads a score at the floor as "at or below the floor" and one at the
ceiling as "at or above": ``log P(Y* <= low)`` and ``log P(Y* >= high)`` for those rows, the
density of the latent ``Y*`` elsewhere. Its estimands (trajectories, contrasts, d) are those of
the latent outcome, as a Tobit model's.

Examples
--------
>>> import numpy as np
>>> lo, hi = score_bounds(np.array([0.0, 1.0, 4.0]), low=0.0, high=4.0, half=0.1)
>>> lo.tolist(), hi.tolist()
([-inf, 0.9, 3.9], [0.1, 1.1, inf])
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
from scipy import special, stats

from mbtbayes.growth.modelspec import ModelSpec
from mbtbayes.growth.patients import Pointwise, logpdf
from mbtbayes.io import schema

STATUS = "{measure}__censoring"
"""The column of censoring statuses (``left``, ``none``, ``right``) a censored spec's Bambi
model reads."""


def censored_model_input(spec: ModelSpec, frame: pd.DataFrame,
                         parts: tuple[str, ...]) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """The frame and formulas of a censored spec's Bambi model: a status column
    (:data:`STATUS`) and the response written ``censored(y, status)``.

    Examples
    --------
    >>> import pandas as pd
    >>> from mbtbayes.growth.specs import make_spec
    >>> spec = make_spec(outcome="y", time="t", group="id", range=(0, 4), censored=True)
    >>> frame, parts = censored_model_input(spec, pd.DataFrame({"y": [0.0, 2.0]}), ("y ~ t",))
    >>> parts[0], frame["y__censoring"].tolist()
    ('censored(y, y__censoring) ~ t', ['left', 'none'])
    """
    name = STATUS.format(measure=spec.measure)
    low, high = spec.range
    frame = frame.assign(**{name: status(frame[spec.measure].to_numpy(float), low=low,
                                         high=high)})
    _, _, rhs = parts[0].partition("~")
    return frame, (f"censored({spec.measure}, {name}) ~{rhs}", *parts[1:])


def half_step(spec: ModelSpec) -> float:
    """Half the step of a spec's measure (0 for a measure the schema does not know)."""
    measure = schema.MEASURES.get(spec.measure)
    return measure.step / 2 if measure is not None else 0.0


def score_bounds(y: np.ndarray, *, low: float, high: float,
                 half: float) -> tuple[np.ndarray, np.ndarray]:
    """The interval each recorded score stands for: ``(y - half, y + half]``, open below at
    the floor and above at the ceiling."""
    y = np.asarray(y, float)
    lo = np.where(y <= low + half, -np.inf, y - half)
    hi = np.where(y >= high - half, np.inf, y + half)
    return lo, hi


def status(y: np.ndarray, *, low: float, high: float) -> np.ndarray:
    """Bambi's censoring status of each score: ``left`` at or below the floor, ``right`` at or
    above the ceiling, ``none`` between."""
    y = np.asarray(y, float)
    return np.where(y <= low, "left", np.where(y >= high, "right", "none"))


def _cdf(z: np.ndarray, nu: np.ndarray | None) -> np.ndarray:
    return special.ndtr(z) if nu is None else stats.t.cdf(z, nu)


def _logcdf(z: np.ndarray, nu: np.ndarray | None) -> np.ndarray:
    return special.log_ndtr(z) if nu is None else stats.t.logcdf(z, nu)


def interval_logprob(lo: np.ndarray, hi: np.ndarray, eta: np.ndarray, scale: np.ndarray,
                     nu: np.ndarray | None = None) -> np.ndarray:
    """``log P(lo < Y <= hi)`` for ``Y = eta + scale x e``, e standard normal (``nu`` None)
    or Student-t; ``(S, n)``. Computed on the side of the mode that keeps precision."""
    v = None if nu is None else nu[:, None]
    a, b = (lo[None] - eta) / scale, (hi[None] - eta) / scale
    upper = a > 0  # both ends above the mode: use the mirrored (survival) side
    a, b = np.where(upper, -b, a), np.where(upper, -a, b)
    log_b, log_a = _logcdf(b, v), _logcdf(a, v)
    with np.errstate(divide="ignore"):
        return log_b + np.log1p(-np.exp(np.minimum(log_a - log_b, 0.0)))


def censored_logpdf(y: np.ndarray, eta: np.ndarray, scale: np.ndarray,
                    nu: np.ndarray | None, *, low: float, high: float) -> np.ndarray:
    """The censored likelihood of each row, ``(S, n)``: ``log P(Y* <= low)`` at the floor,
    ``log P(Y* >= high)`` at the ceiling, the log density between."""
    out = logpdf(y, eta, scale, nu)
    v = None if nu is None else nu[:, None]
    left, right = y <= low, y >= high
    if left.any():
        out[:, left] = _logcdf((low - eta[:, left]) / scale[:, left],
                               None if v is None else v)
    if right.any():
        out[:, right] = _logcdf((eta[:, right] - high) / scale[:, right],
                                None if v is None else v)
    return out


def censored_pointwise(*, low: float, high: float) -> Pointwise:
    """A pointwise log-likelihood maker for :func:`mbtbayes.growth.patients.quadrature_loglik`:
    the censored likelihood at the scale's bounds."""
    def make(y: np.ndarray, scale: np.ndarray,
             nu: np.ndarray | None) -> Callable[[np.ndarray], np.ndarray]:
        return lambda eta: censored_logpdf(y, eta, scale, nu, low=low, high=high)
    return make


def recorded_pointwise(*, low: float, high: float, half: float) -> Pointwise:
    """A pointwise log-likelihood maker: the probability of each recorded score's interval
    (:func:`score_bounds`)."""
    def make(y: np.ndarray, scale: np.ndarray,
             nu: np.ndarray | None) -> Callable[[np.ndarray], np.ndarray]:
        lo, hi = score_bounds(y, low=low, high=high, half=half)
        return lambda eta: interval_logprob(lo, hi, eta, scale, nu)
    return make


def fit_pointwise(spec: ModelSpec) -> Pointwise | None:
    """The pointwise likelihood a spec's per-patient log-likelihood takes: the censored one
    for a censored spec, else None (the family's density)."""
    if not spec.censored:
        return None
    low, high = spec.range
    return censored_pointwise(low=low, high=high)


def predictive_bounds(spec: ModelSpec) -> tuple[float, float] | None:
    """Where a spec's predictive draws are clipped: a censored model predicts recorded scores
    inside the range; the others are not clipped."""
    return tuple(spec.range) if spec.censored else None
