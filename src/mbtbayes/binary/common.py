"""What the binary analyses share: the behaviours, their pooled row, model checks, the
ordering of output columns, and fitting a Bambi model through the package's sampling path.

Examples
--------
>>> BEHAVIOURS["self_harm"]
('self_harm_start', 'self_harm_end')
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from mbtbayes.core.errors import DataError, SpecError
from mbtbayes.core.posterior import summarize_draws
from mbtbayes.core.sampling import Diagnostics, Sampler, quiet
from mbtbayes.io import schema

if TYPE_CHECKING:
    import bambi as bmb
    from arviz import InferenceData

BEHAVIOURS: dict[str, tuple[str, str]] = {
    "self_harm": ("self_harm_start", "self_harm_end"),
    "suicide_attempt": ("suicide_attempt_start", "suicide_attempt_end"),
}
"""Behaviour -> (indicator in the 12 months before start, indicator in the last year)."""

POOLED = "pooled"
N_DRAWS = 200_000
"""Monte Carlo draws from exact posteriors (for differences, which have no closed-form HDI)."""

EXACT = "exact posterior (no sampling)"
"""The ``reason`` of rows from exact (conjugate or Monte Carlo) posteriors: nothing to converge."""

DIAGNOSTIC_COLUMNS = ("max_r_hat", "min_ess_bulk", "min_ess_tail", "divergences", "attempts",
                      "reason", "passed")


def summary(draws: np.ndarray, ci_prob: float) -> tuple[float, float, float]:
    """Mean and HDI bounds of draws."""
    s = summarize_draws(draws, ci_prob=ci_prob)
    return s["mean"], s["hdi_low"], s["hdi_high"]


def present_behaviours(data: pd.DataFrame, *, what: str) -> list[str]:
    found = [b for b, cols in BEHAVIOURS.items() if all(c in data.columns for c in cols)]
    if not found:
        pairs = "; ".join(" and ".join(cols) for cols in BEHAVIOURS.values())
        raise DataError(f"{what} needs a start and an end indicator of a behaviour ({pairs}); "
                        "the data have neither pair.")
    return found



def check_models(models: Sequence[str], known: Sequence[str]) -> None:
    """SpecError unless ``models`` is a non-empty sequence of known model names."""
    if isinstance(models, str):
        raise SpecError(f"models must be a sequence of names, e.g. ({models!r},).")
    unknown = [m for m in models if m not in known]
    if unknown or not models:
        raise SpecError(f"Unknown or no model(s) {unknown}; choose from {list(known)}.")


def diagnostic_columns(diag: Diagnostics) -> dict:
    """The gate's columns of a sampled model's rows."""
    row = diag.as_row()
    return {c: row[c] for c in DIAGNOSTIC_COLUMNS}


def ordered(table: pd.DataFrame, first: list[str], models: Sequence[str]) -> pd.DataFrame:
    """Columns ``first``, then the rest, then the diagnostics; rows by behaviour, model, period.

    Exact (unsampled) rows get missing diagnostics, ``passed = True`` and ``reason =``
    :data:`EXACT`: there is nothing to converge.
    """
    for column in (*first, *DIAGNOSTIC_COLUMNS):
        if column not in table:
            table[column] = pd.NA
    if "covariates" in table:
        table["covariates"] = table["covariates"].fillna("")
    exact = table["max_r_hat"].isna()
    table.loc[exact, "reason"], table.loc[exact, "passed"] = EXACT, True
    table["reason"] = table["reason"].fillna("")
    table["passed"] = table["passed"].astype(bool)
    rank = {"behaviour": {b: i for i, b in enumerate(BEHAVIOURS)},
            "model": {m: i for i, m in enumerate(models)},
            "period": {p: i for i, p in enumerate((*schema.PERIODS, POOLED))}}
    keys = [k for k in rank if k in table]
    table = table.sort_values(keys, key=lambda s: s.map(rank[s.name]), kind="stable")
    rest = [c for c in table.columns if c not in first and c not in DIAGNOSTIC_COLUMNS]
    return table[[*first, *rest, *DIAGNOSTIC_COLUMNS]].reset_index(drop=True)


def fit_bambi(formula: str, frame: pd.DataFrame, *, family: str, priors: dict,
              sampling: Sampler, seed: int) -> tuple[bmb.Model, InferenceData, Diagnostics]:
    """Build a Bambi model, check its prior keys, and sample it behind the gate (or read its
    draws from the sampler's cache, the run's fit cache, when it holds them).

    Parameters
    ----------
    formula : str
    frame : pandas.DataFrame
    family : str
        Bambi family, e.g. ``"binomial"`` or ``"bernoulli"``.
    priors : dict
        Term name -> ``bambi.Prior``; every key must name a term of the model (Bambi 0.17
        silently ignores unknown keys, so this is checked here).
    sampling : Sampler
        Options, gate and fit cache.
    seed : int

    Returns
    -------
    tuple
        ``(model, idata, Diagnostics)``.
    """
    import bambi as bmb

    with quiet():
        model = bmb.Model(formula, frame, family=family, priors=priors)
        check_prior_keys(model, priors)
    identity = {"formula": formula, "family": family, "frame": frame,
                "priors": {name: repr(prior) for name, prior in priors.items()}}
    idata, diag = sampling.sample_bambi(model, seed=seed, var_names=_sampled(model, priors),
                                       identity=identity)
    return model, idata, diag


def _sampled(model: bmb.Model, priors: dict) -> list[str]:
    """The parameters of the prior keys' terms, named as Bambi's posterior names them.

    Bambi samples a group-specific term ``t`` non-centred, ``t = t_sigma * t_offset``, and
    drops the free ``t_offset`` from the posterior it returns (``omit_offsets``); the gate
    checks the deterministic ``t`` in its place (as the growth Bambi engine does).
    """
    model.build()
    named = model.backend.model.named_vars
    names = [v.name for v in model.backend.model.free_RVs]
    names = [n.removesuffix("_offset") if n.endswith("_offset") and n.removesuffix("_offset")
             in named else n for n in names]
    return [n for n in names if any(n == t or n.startswith(f"{t}_") for t in priors)]


def check_prior_keys(model: bmb.Model, priors: dict) -> None:
    """SpecError naming prior keys that are no term of the Bambi model."""
    terms = set()
    for component in model.components.values():
        terms |= set(component.common_terms) | set(component.group_specific_terms)
    unknown = sorted(set(priors) - terms)
    if unknown:
        raise SpecError(f"prior key(s) {unknown} name no term of the model; terms: "
                        f"{sorted(terms)}")


def predict(model: bmb.Model, idata: InferenceData, grid: pd.DataFrame, *,
            group_specific: bool = True) -> np.ndarray:
    """Posterior draws of the response probability on ``grid``: shape (draws, rows)."""
    with quiet():
        out = model.predict(idata, data=grid, kind="response_params", inplace=False,
                            include_group_specific=group_specific)
    values = out.posterior["p"].values
    return values.reshape(-1, values.shape[-1])


