"""Period contrasts adjusted for the intake case mix: a fair comparison of unlike cohorts.

Period II admitted more severe patients (``intake.csv``). The adjusted fit adds the spec's
``covariates`` (patient-level intake characteristics: age, gender, BPD criteria, substance
use, self-harm at start) to the period model on the intercept and on the slope
(``+ c + months:c``); the measure's own baseline is in the model's intercept already. Each
covariate is coded over the pooled cohort of the measure's complete-case patients (each
patient once): a number standardised (``<name>_z``: mean 0, SD 1), a 0/1 column centred
(``<name>_c``), a category as centred dummies of its levels beside the first observed one
(``<name>_<level>_c``); a column constant in that cohort carries no information and is left
out (said in the table).

The estimand is the unadjusted one, Period II - I standardised over the pooled cohort
(g-computation, :func:`mbtbayes.growth.trajectories.period_contrasts` with
``standardise="pooled_mix"``): each row's design is moved to the grid time with the period set
to I and to II, and the two means are compared; ``months:c`` is rebuilt at the grid time. The
covariates do not interact with period, so the II - I contrast is the same for every patient
and equals the period coefficients (the row weights of the mix cancel); the adjusted
difference in change 0-24 months and the intake difference are in the measure's units, on
the scale of the unadjusted ones. The adjusted intake difference is what the covariates do
not explain of the month-0 difference.

Patients with a missing covariate are counted, not dropped silently: the adjusted fit uses
complete cases and the table says how many patients per period were left out.

Examples
--------
>>> import mbtbayes as mb
>>> reg = mb.load_register()
>>> spec = mb.load_specs()["bsi"]
>>> adj = adjustment(spec, reg.data)
>>> adj.terms[:2], adj.left_out
(('age_z', 'gender_male_c'), {'I': 0, 'II': 0})
>>> fits = mb.fit_specs({"bsi": spec}, reg.data)  # doctest: +SKIP
>>> mb.adjusted_effects(fits, reg.data)  # doctest: +SKIP
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from mbtbayes.core.decisions import rope_decision
from mbtbayes.core.defaults import SEED
from mbtbayes.core.errors import DataError
from mbtbayes.core.hints import did_you_mean
from mbtbayes.core.posterior import INTERVAL, summarize_draws
from mbtbayes.core.sampling import SamplerOptions
from mbtbayes.core.seeds import seed_for
from mbtbayes.growth.cache import FitCache, fit_cached
from mbtbayes.growth.design import check_prior_keys, make_design
from mbtbayes.growth.engines import Engines, engines_for
from mbtbayes.growth.modelspec import ModelSpec
from mbtbayes.growth.result import GrowthFit
from mbtbayes.growth.rope import rope_for
from mbtbayes.growth.summaries import better_if, contrast_draws

ANALYSIS = "case-mix adjustment"
"""The analysis's name (its seeds; its row in ``sensitivity.csv``)."""
CONTRASTS = {"intercept": "intake difference (month {t0:g})",
             "change": "difference in change {t0:g}-{t1:g} months"}
"""The rows of :func:`adjusted_effects` per measure: contrast -> what it is."""


@dataclass(frozen=True)
class Adjustment:
    """The adjusted model of one spec and the data it is fitted to.

    Attributes
    ----------
    spec : ModelSpec
        The spec with the coded covariates on the period formula's intercept and slope.
    data : pandas.DataFrame
        The rows of complete-case patients, with the coded covariate columns.
    covariates : tuple of str
        The spec's covariates (register columns).
    terms : tuple of str
        The coded columns added (each on the intercept and, times time, on the slope).
    used, left_out : dict
        Period -> patients with the measure observed who are in the fit / left out because a
        covariate is missing.
    missing : dict
        Covariate -> patients (with the measure observed) who lack it.
    constant : tuple of str
        Covariates left out because they do not vary among the patients used.
    """

    spec: ModelSpec
    data: pd.DataFrame
    covariates: tuple[str, ...]
    terms: tuple[str, ...]
    used: dict[str, int]
    left_out: dict[str, int]
    missing: dict[str, int]
    constant: tuple[str, ...]

    @property
    def setting(self) -> str:
        """The adjustment in words (the sensitivity row's setting; part of its seed)."""
        return "adjusted for " + ", ".join(self.covariates)

    @property
    def note(self) -> str:
        """Who was left out and why, in words ("" when nobody and nothing)."""
        parts = [f"{c}: missing for {n} patient(s)" for c, n in self.missing.items() if n]
        if self.constant:
            parts.append(f"constant among the patients used, left out: "
                         f"{', '.join(self.constant)}")
        return "; ".join(parts)


def adjustment(spec: ModelSpec, data: pd.DataFrame) -> Adjustment | None:
    """The adjusted model of a spec on a register, or None without ``covariates`` or period.

    Raises
    ------
    DataError
        A covariate column is absent (with a did-you-mean hint), varies within a patient,
        or no patient has every covariate.
    """
    names = tuple(spec.adjust_for)
    if not names or spec.period is None or "period" not in spec.formulas:
        return None
    _check_columns(spec, data, names)
    observed = data.dropna(subset=list(spec.columns("period")))
    patients = observed.drop_duplicates(spec.group).set_index(spec.group)
    periods = patients[spec.period].astype(str)
    complete = patients[list(names)].notna().all(axis=1)
    if not complete.any():
        raise DataError(f"{spec.name}: no patient has every covariate ({', '.join(names)})")
    coded, constant = _code(patients.loc[complete, list(names)])
    rows = observed[observed[spec.group].isin(coded.index)]
    rows = rows.join(coded, on=spec.group).reset_index(drop=True)
    terms = tuple(coded.columns)
    levels = sorted(periods.unique())
    return Adjustment(
        spec=adjusted_spec(spec, terms), data=rows, covariates=names, terms=terms,
        used={p: int((complete & (periods == p)).sum()) for p in levels},
        left_out={p: int((~complete & (periods == p)).sum()) for p in levels},
        missing={c: int(patients[c].isna().sum()) for c in names}, constant=constant)


def adjusted_spec(spec: ModelSpec, terms: Sequence[str]) -> ModelSpec:
    """The spec whose period formula adds ``terms`` on the intercept and on the slope.

    Examples
    --------
    >>> import mbtbayes as mb
    >>> adjusted_spec(mb.load_specs()["bsi"], ["age_z"]).formulas["period"]
    'bsi ~ months * period + (months | patient_id) + age_z + months:age_z'
    """
    extra = "".join(f" + {t} + {spec.time}:{t}" for t in terms)
    formulas = {**spec.formulas, "period": spec.formulas["period"] + extra}
    return replace(spec, formulas=formulas, adjust_for=())


def _check_columns(spec: ModelSpec, data: pd.DataFrame, names: tuple[str, ...]) -> None:
    absent = [n for n in names if n not in data.columns]
    if absent:
        hints = ", ".join(f"'{n}'{did_you_mean(n, map(str, data.columns))}" for n in absent)
        raise DataError(f"{spec.name}: the covariate column(s) {hints} are not in the data "
                        "(map your names onto the schema, or change the spec's covariates)")
    varying = data.groupby(spec.group, sort=False)[list(names)].nunique(dropna=False)
    bad = [n for n in names if (varying[n] > 1).any()]
    if bad:
        raise DataError(f"{spec.name}: covariate(s) {', '.join(bad)} differ within a patient; "
                        "a covariate is a patient's intake characteristic, one value each")


def _code(patients: pd.DataFrame) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """Coded covariate columns, one row per patient, and the covariates left out as
    constant."""
    columns, constant = {}, []
    for name in patients.columns:
        coded = _code_one(name, patients[name])
        if coded:
            columns |= coded
        else:
            constant.append(name)
    return pd.DataFrame(columns, index=patients.index), tuple(constant)


def _code_one(name: str, values: pd.Series) -> dict[str, np.ndarray]:
    """A number standardised, a 0/1 column centred, a category's levels beside the first
    as centred dummies; nothing for a constant column."""
    if not pd.api.types.is_numeric_dtype(values) or isinstance(values.dtype,
                                                                pd.CategoricalDtype):
        kept = values.astype("category").cat.remove_unused_categories()
        return {f"{name}_{_safe(level)}_c": _centred((kept == level).to_numpy(float))
                for level in kept.cat.categories[1:]}
    x = values.to_numpy(float)
    if np.unique(x).size < 2:
        return {}
    if set(np.unique(x)) <= {0.0, 1.0}:
        return {f"{name}_c": _centred(x)}
    return {f"{name}_z": (x - x.mean()) / x.std(ddof=1)}


def _centred(x: np.ndarray) -> np.ndarray:
    return x - x.mean()


def _safe(level: object) -> str:
    return re.sub(r"\W+", "_", str(level)).strip("_") or "level"


# ---------------------------------------------------------------- fits and the table


def fit_adjusted(fit: GrowthFit, data: pd.DataFrame, *, engines: Engines, seed: int = SEED,
                 cache: FitCache | str | Path | bool | None = None,
                 log: Callable[[str], None] | None = None
                 ) -> tuple[GrowthFit, Adjustment] | None:
    """The adjusted fit of a period fit's spec (None when the spec has no covariates),
    through the fit cache when there is one.

    Its seed derives from the run seed, the spec's name, :data:`ANALYSIS` and the setting, as
    the sensitivity suite's refit of the same model does, so the two share one cache entry.
    """
    adj = adjustment(fit.spec, data)
    if adj is None:
        return None
    design = make_design(adj.spec, adj.data, variant="period")
    check_prior_keys(adj.spec, [design])
    adjusted, cached = fit_cached(
        engines, FitCache.open(cache, log=log), adj.spec, design, variant="period",
        seed=seed_for(seed, fit.spec.name, ANALYSIS, adj.setting))
    if log is not None:
        log(f"{ANALYSIS}: {fit.spec.name} "
            + ("from the fit cache" if cached else f"sampled in {adjusted.seconds:.1f} s"))
    return adjusted, adj


def adjusted_effects(fits: Sequence[GrowthFit], data: pd.DataFrame, *,
                     engines: Engines | None = None, options: SamplerOptions | None = None,
                     seed: int = SEED, cache: FitCache | str | Path | bool | None = None,
                     log: Callable[[str], None] | None = None) -> pd.DataFrame:
    """The intake difference and the difference in change, unadjusted beside adjusted for the
    intake case mix, per measure whose spec declares ``covariates``.

    Parameters
    ----------
    fits : sequence of GrowthFit
        The run's fits; each period fit whose spec has covariates gets an adjusted fit.
    data : pandas.DataFrame
        The register the fits used.
    engines : Engines, optional
        The run's engines (default: new ones with ``options``).
    options : SamplerOptions, optional
    seed : int
        Run seed (the adjusted fits' seeds; the SD draws of the margin as in
        ``period_effects.csv``).
    cache : FitCache, path or None
        Fit cache: adjusted fits it holds are read back, new ones stored.
    log : callable, optional

    Returns
    -------
    pandas.DataFrame
        One row per measure and contrast (``intercept``: the intake difference at month 0,
        ``change``: the difference in change 0-24 months, Period II - I, in the measure's
        units): estimand, better_if, ``unadjusted_*`` and ``adjusted_*`` (mean, sd, hdi_low,
        hdi_high, decision against the spec's margin, passed), ``shift`` (adjusted minus
        unadjusted mean), rope_low, rope_high, rope_basis, ``n_used_I/II`` and
        ``n_left_out_I/II`` (patients with the measure observed in the adjusted fit, and
        left out of it because a covariate is missing), covariates, terms (the coded
        columns), note (missing covariates, constant ones), standardisation, interval.

    Examples
    --------
    >>> import mbtbayes as mb
    >>> reg = mb.load_register()
    >>> fits = mb.fit_specs(mb.load_specs(), reg.data)  # doctest: +SKIP
    >>> mb.adjusted_effects(fits, reg.data)[["measure", "contrast", "shift"]]  # doctest: +SKIP
    """
    engines = engines or engines_for(options)
    rows = []
    for fit in (f for f in fits if f.variant == "period"):
        made = fit_adjusted(fit, data, engines=engines, seed=seed, cache=cache, log=log)
        if made is not None:
            rows += _rows(fit, *made, data=data, seed=seed)
    return pd.DataFrame(rows)


def _rows(fit: GrowthFit, adjusted: GrowthFit, adj: Adjustment, *, data: pd.DataFrame,
          seed: int) -> list[dict]:
    margin = rope_for(fit.spec, data)
    before = contrast_draws(fit, data, seed=seed)
    after = contrast_draws(adjusted, data, seed=seed)
    t0, t1 = fit.spec.d_months
    rows = []
    for contrast, what in CONTRASTS.items():
        row = {"measure": fit.spec.name, "contrast": contrast,
               "estimand": f"Period II - I, {what.format(t0=t0, t1=t1)}",
               "units": f"{fit.spec.measure} units", "better_if": better_if(fit.spec.measure)}
        for label, draws, source in (("unadjusted", before, fit), ("adjusted", after, adjusted)):
            s = summarize_draws(draws[contrast], rope=margin.half_width)
            row |= {f"{label}_{k}": s[k] for k in ("mean", "sd", "hdi_low", "hdi_high")}
            row[f"{label}_decision"] = rope_decision(s["hdi_low"], s["hdi_high"],
                                                     half_width=margin.half_width)
            row[f"{label}_passed"] = source.diagnostics.passed
            row |= {"rope_low": s["rope_low"], "rope_high": s["rope_high"]}
        row["shift"] = row["adjusted_mean"] - row["unadjusted_mean"]
        row |= {"rope_basis": margin.basis,
                **{f"n_used_{p}": n for p, n in adj.used.items()},
                **{f"n_left_out_{p}": n for p, n in adj.left_out.items()},
                "covariates": ", ".join(adj.covariates), "terms": ", ".join(adj.terms),
                "note": adj.note, "standardisation": "pooled cohort (g-computation)",
                "interval": INTERVAL}
        rows.append(row)
    return rows
