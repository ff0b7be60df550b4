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

import numpy as np
from scipy import special, stats

STATUS = "{measure}__censoring"
"""The column of censoring statuses (``left``, ``none``, ``right``) a censored spec's Bambi
model reads."""


def censored_model_input(spec, frame, parts: tuple[str, ...]):
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


def half_step(spec) -> float:
    """Half the step of a spec's measure (0 for a measure the schema does not know)."""
    from mbtbayes.io import schema

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


def _cdf(z: np.ndarray, nu) -> np.ndarray:
    return special.ndtr(z) if nu is None else stats.t.cdf(z, nu)


def _logcdf(z: np.ndarray, nu) -> np.ndarray:
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
    from mbtbayes.growth.patients import logpdf

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


def censored_pointwise(*, low: float, high: float):
    """A pointwise log-likelihood maker for :func:`mbtbayes.growth.patients.quadrature_loglik`:
    the censored likelihood at the scale's bounds."""
    def make(y, scale, nu):
        return lambda eta: censored_logpdf(y, eta, scale, nu, low=low, high=high)
    return make


def recorded_pointwise(*, low: float, high: float, half: float):
    """A pointwise log-likelihood maker: the probability of each recorded score's interval
    (:func:`score_bounds`)."""
    def make(y, scale, nu):
        lo, hi = score_bounds(y, low=low, high=high, half=half)
        return lambda eta: interval_logprob(lo, hi, eta, scale, nu)
    return make


def fit_pointwise(spec):
    """The pointwise likelihood a spec's per-patient log-likelihood takes: the censored one
    for a censored spec, else None (the family's density)."""
    if not spec.censored:
        return None
    low, high = spec.range
    return censored_pointwise(low=low, high=high)


def predictive_bounds(spec) -> tuple[float, float] | None:
    """Where a spec's predictive draws are clipped: a censored model predicts recorded scores
    inside the range; the others are not clipped."""
    return tuple(spec.range) if spec.censored else None


def recorded_loglik(fit) -> np.ndarray:
    """Per-patient log-probability of a fit's recorded scores (:func:`score_bounds`),
    patient effects integrated out by adaptive quadrature, at the draws the fit keeps for
    predictive checks: ``(kept draws, patients with data)``."""
    from mbtbayes.growth import patients
    from mbtbayes.growth.loo_pit import fit_draws, predictive_draws

    design, spec = fit.design, fit.spec
    low, high = spec.range
    _, rows = predictive_draws(fit)
    ll = patients.quadrature_loglik(
        fit_draws(fit).take(rows), y=design.y, X=design.X, Z=design.Z, group=design.group,
        n_groups=len(design.groups), X_sigma=design.X_sigma, family=spec.family,
        pointwise=recorded_pointwise(low=low, high=high, half=half_step(spec)))
    return ll[:, design.observed]


RECORDED_METHOD = "psis_recorded_score_patient"
"""``loo_method`` of :func:`recorded_loo`."""


def recorded_loo(fit):
    """Leave-one-patient-out ELPD of a fit's recorded scores: the same data and the same
    convention (a probability per recorded score) whatever the fit's likelihood, so that a
    Gaussian and a censored model can be compared.

    The importance weights leave each patient out of the fit's own posterior (PSIS on the
    fit's per-patient marginal log-likelihood, the likelihood it was fitted with); they are
    applied to the probability of the patient's recorded scores under the fit:
    ``elpd_i = log sum_s w_is p(recorded y_i | theta_s)``.

    Returns
    -------
    mbtbayes.growth.loo.LooResult
        ``method = "psis_recorded_score_patient"``, one unit per patient.
    """
    from scipy.special import logsumexp

    from mbtbayes.core.arviz_api import psis_log_weights
    from mbtbayes.growth.loo import LooResult, observed_patients, patient_loglik
    from mbtbayes.growth.loo_pit import predictive_draws

    kept, _ = predictive_draws(fit)
    log_w, k = psis_log_weights(patient_loglik(fit)[:, kept])  # (patients, draws)
    ll = recorded_loglik(fit).T  # (patients, draws)
    pointwise = logsumexp(log_w + ll, axis=1)
    lppd = logsumexp(ll, axis=1) - np.log(ll.shape[1])
    se = float(np.sqrt(pointwise.size * pointwise.var(ddof=1)))
    return LooResult(float(pointwise.sum()), se, float((lppd - pointwise).sum()), pointwise, k,
                     RECORDED_METHOD, observed_patients(fit))


def likelihood_label(spec) -> str:
    """The likelihood of a spec in words, e.g. ``gaussian``, ``t, censored``."""
    return spec.family + (", censored" if spec.censored else "")


def recorded_comparison(fits: list):
    """Specs of the same measure compared on their recorded scores (:func:`recorded_loo`):
    one row per spec of a measure that has more than one, its period model (linear without
    one); empty when no measure has two specs.

    Returns
    -------
    pandas.DataFrame
        measure, spec, likelihood, model, elpd, elpd_se, elpd_diff (this spec minus the
        measure's best), elpd_diff_se (paired by patient), max_pareto_k, loo_method, passed.
    """
    import pandas as pd

    from mbtbayes.growth.loo import elpd_difference

    chosen: dict[tuple[str, str], object] = {}
    for fit in fits:
        key = (fit.spec.measure, fit.spec.name)
        if fit.variant == "period" or key not in chosen:
            chosen[key] = fit
    rows = []
    for measure in dict.fromkeys(m for m, _ in chosen):
        group = [f for (m, _), f in chosen.items() if m == measure]
        if len(group) < 2:
            continue
        loos = {f.spec.name: recorded_loo(f) for f in group}
        best = max(loos, key=lambda n: loos[n].elpd)
        for fit in group:
            loo = loos[fit.spec.name]
            diff, se = elpd_difference(loo, loos[best])
            rows.append({"measure": measure, "spec": fit.spec.name,
                         "likelihood": likelihood_label(fit.spec), "model": fit.variant,
                         "elpd": loo.elpd, "elpd_se": loo.se, "elpd_diff": diff,
                         "elpd_diff_se": se, "max_pareto_k": loo.max_k,
                         "loo_method": loo.method, "passed": fit.diagnostics.passed})
    return pd.DataFrame(rows)
