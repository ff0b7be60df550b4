"""Likelihoods of one measure compared on its recorded scores: the leave-one-patient-out
ELPD of the probability of each recorded score (``likelihood_comparison.csv``).

A Gaussian and a censored (Tobit) model of one measure have likelihoods on different scales (a
density against a mix of densities and probabilities), so their own ELPDs cannot be compared.
Both predict *recorded* scores, though: each score stands for an interval
(:func:`mbtbayes.growth.censoring.score_bounds`), and every model gives it a probability. This
module compares specs of one measure on those probabilities, with the patient left out by PSIS
on each fit's own per-patient marginal log-likelihood.

Examples
--------
>>> import mbtbayes as mb
>>> likelihood_label(mb.make_spec(outcome="y", time="t", group="id", range=(0, 4),
...                               censored=True))
'gaussian, censored'
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import logsumexp

from mbtbayes.core.arviz_api import psis_log_weights
from mbtbayes.growth import patients
from mbtbayes.growth.censoring import half_step, recorded_pointwise
from mbtbayes.growth.loo import LooResult, elpd_difference, observed_patients, patient_loglik
from mbtbayes.growth.loo_pit import fit_draws, predictive_draws
from mbtbayes.growth.modelspec import ModelSpec
from mbtbayes.growth.result import GrowthFit


def recorded_loglik(fit: GrowthFit) -> np.ndarray:
    """Per-patient log-probability of a fit's recorded scores (:func:`score_bounds`),
    patient effects integrated out by adaptive quadrature, at the draws the fit keeps for
    predictive checks: ``(kept draws, patients with data)``."""
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


def recorded_loo(fit: GrowthFit) -> LooResult:
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
    kept, _ = predictive_draws(fit)
    log_w, k = psis_log_weights(patient_loglik(fit)[:, kept])  # (patients, draws)
    ll = recorded_loglik(fit).T  # (patients, draws)
    pointwise = logsumexp(log_w + ll, axis=1)
    lppd = logsumexp(ll, axis=1) - np.log(ll.shape[1])
    se = float(np.sqrt(pointwise.size * pointwise.var(ddof=1)))
    return LooResult(float(pointwise.sum()), se, float((lppd - pointwise).sum()), pointwise, k,
                     RECORDED_METHOD, observed_patients(fit))


def likelihood_label(spec: ModelSpec) -> str:
    """The likelihood of a spec in words, e.g. ``gaussian``, ``t, censored``."""
    return spec.family + (", censored" if spec.censored else "")


def recorded_comparison(fits: list) -> pd.DataFrame:
    """Specs of the same measure compared on their recorded scores (:func:`recorded_loo`):
    one row per spec of a measure that has more than one, its period model (linear without
    one); empty when no measure has two specs.

    Returns
    -------
    pandas.DataFrame
        measure, spec, likelihood, model, elpd, elpd_se, elpd_diff (this spec minus the
        measure's best), elpd_diff_se (paired by patient), max_pareto_k, loo_method, passed.
    """
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
