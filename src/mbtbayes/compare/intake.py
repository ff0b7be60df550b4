"""Who came in each period: the paper's intake comparison, frequentist beside Bayesian.

Each characteristic of the patient at intake (the register's patient-level columns marked
``intake`` in :mod:`mbtbayes.io.schema`, and the baseline of every outcome and descriptive
measure: each patient's first value within 3 months of month 0, :mod:`mbtbayes.growth.baseline`)
is compared between the periods twice:

- **the paper's tests**: Pearson chi-square without continuity correction for a categorical
  characteristic (Fisher's exact test where an expected count is below 5), Welch's t-test for a
  continuous one, and one MANOVA (Pillai's trace) across the continuous characteristics
  (complete cases, counted); significance at p < 0.05 and at the Bonferroni threshold
  0.05 / (number of tests);
- **its Bayesian counterpart**: for a proportion, independent Beta(1, 1) posteriors per period
  (a level of a category with L levels: the Beta(1, L - 1) margin of a uniform Dirichlet); for a
  mean, the normal model with the reference prior p(mu, sigma) ~ 1/sigma per period (its
  posterior of the mean is Student-t, the Bayesian Behrens-Fisher problem that Welch's test
  approximates). From exact posterior draws: the difference II - I with its 95% HDI, the
  standardised difference (difference / sqrt of the mean of the two periods' variances, as in
  propensity-score balance tables) with its 95% HDI, P(Period II more severe), and two
  decisions: existence (95% HDI excludes 0, P(direction) > 0.975) and the standardised
  difference against the margin of +-0.5 SD (:data:`MARGIN_SD`).

Missing values are counted per characteristic and period, never dropped silently.

Examples
--------
>>> import mbtbayes as mb
>>> table = intake_table(mb.load_register().data)  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from mbtbayes.compare.questions import EQUIVALENCE_PROB, _effect_row
from mbtbayes.core.arviz_api import hdi
from mbtbayes.core.decisions import (
    ALPHA,
    NONZERO,
    existence_decision,
    rope_decision,
    significance_decision,
)
from mbtbayes.core.defaults import SEED
from mbtbayes.core.errors import DataError
from mbtbayes.core.seeds import seed_for
from mbtbayes.frequentist.effects import manova_pillai
from mbtbayes.frequentist.equivalence import TostResult, tost
from mbtbayes.frequentist.proportions import chi_square, fisher_exact_rx2
from mbtbayes.growth.baseline import baseline
from mbtbayes.io import schema
from mbtbayes.io.patients import patient_rows

MARGIN_SD = 0.5
"""Margin of the standardised difference: +-0.5 SD, Cohen's medium difference.

A smaller margin could not be decided at this study's size: with about 90 patients per period
the 95% HDI of a standardised difference spans about +-0.29 around its centre, so no
characteristic could be shown to lie within +-0.25 SD (the balance threshold of matched
samples, Stuart 2010) and every row would read "too imprecise". ``balanced_within`` gives, per
characteristic, the smallest margin its HDI lies inside."""
MARGIN_BASIS = ("+-0.5 SD of the characteristic (Cohen's medium difference); the TOST and the "
                "90% HDI on the difference in its units")
EXPECTED_MIN = 5.0
"""Below this expected count in any cell, Fisher's exact test replaces the chi-square."""
DRAWS = 40_000
"""Exact posterior draws per characteristic (Monte Carlo SE of a probability <= 0.0025)."""
INTAKE = "intake"
"""``role`` of the intake rows in the concordance (counted apart from the primary questions)."""
PERIOD_I, PERIOD_II = schema.PERIODS


@dataclass(frozen=True)
class Characteristic:
    """One compared characteristic: its values per period (missing removed) and counts.

    ``kind`` is ``"binary"`` (values 0/1; for a level of a category, 1 = that level) or
    ``"number"``; ``more_severe`` is ``"higher"``, ``"lower"`` or ``""`` (no direction);
    ``table``: the counts per level and period the categorical test is on (levels by
    periods); ``prior``: the Beta prior of a proportion.
    """

    name: str
    level: str
    label: str
    source: str
    kind: str
    more_severe: str
    values: dict[str, np.ndarray]
    missing: dict[str, int]
    table: np.ndarray | None = None
    prior: tuple[float, float] = (1.0, 1.0)


def characteristics(data: pd.DataFrame) -> list[Characteristic]:
    """The register's intake characteristics, in schema order: patient-level columns marked
    ``intake``, then the baseline of each outcome and descriptive measure present."""
    out: list[Characteristic] = []
    for f in schema.PATIENT_FIELDS.values():
        if f.intake and f.name in data.columns and data[f.name].notna().any():
            out += _patient_characteristics(data, f)
    for m in schema.MEASURES.values():
        if m.kind != "process" and m.name in data.columns and data[m.name].notna().any():
            out.append(_baseline_characteristic(data, m))
    return out


def _split(frame: pd.DataFrame, column: str) -> tuple[dict[str, pd.Series], dict[str, int]]:
    parts = {p: frame.loc[frame[schema.PERIOD] == p, column] for p in schema.PERIODS}
    return ({p: s.dropna() for p, s in parts.items()},
            {p: int(s.isna().sum()) for p, s in parts.items()})


def _patient_characteristics(data: pd.DataFrame, f: schema.PatientField) -> list[Characteristic]:
    rows = patient_rows(data, [f.name], what="the intake table")
    values, missing = _split(rows, f.name)
    label = f.label or f.name
    if f.kind == "number":
        return [Characteristic(f.name, "", label, "patient", "number", f.more_severe,
                               {p: v.to_numpy(float) for p, v in values.items()}, missing)]
    if f.kind == "binary":
        flags = {p: v.astype(float).to_numpy() for p, v in values.items()}
        table = np.array([[(flags[p] == 1).sum() for p in schema.PERIODS],
                          [(flags[p] == 0).sum() for p in schema.PERIODS]], float)
        return [Characteristic(f.name, "", label, "patient", "binary", f.more_severe, flags,
                               missing, table)]
    return _category_levels(f, values, missing, label)


def _category_levels(f: schema.PatientField, values: dict[str, pd.Series],
                     missing: dict[str, int], label: str) -> list[Characteristic]:
    """One row per level of a category (present in either period); with two levels, one row:
    the level marking severity, else the first."""
    present = [lv for lv in f.levels if any((v.astype(str) == lv).any() for v in values.values())]
    table = np.array([[(values[p].astype(str) == lv).sum() for p in schema.PERIODS]
                      for lv in present], float)
    shown = present
    if len(present) == 2:
        shown = [f.more_severe] if f.more_severe in present else present[:1]
    out = []
    for lv in shown:
        direction = "higher" if f.more_severe == lv else (
            "lower" if f.more_severe in present and len(present) == 2 else "")
        flags = {p: (v.astype(str) == lv).to_numpy(float) for p, v in values.items()}
        out.append(Characteristic(f.name, lv, f"{label}: {lv.replace('_', ' ')}", "patient",
                                  "binary", direction, flags, missing, table,
                                  prior=(1.0, max(len(present) - 1, 1.0))))
    return out


def _baseline_characteristic(data: pd.DataFrame, m: schema.Measure) -> Characteristic:
    base = baseline(data, outcome=m.name, time=schema.MONTHS, group=schema.ID,
                    period=schema.PERIOD)
    patients = data.drop_duplicates(schema.ID)
    values, missing = {}, {}
    for p in schema.PERIODS:
        values[p] = base.values.loc[base.values["period"] == p, "value"].to_numpy(float)
        missing[p] = int((patients[schema.PERIOD].astype(str) == p).sum() - len(values[p]))
    direction = "higher" if m.higher_is == "worse" else "lower"
    return Characteristic(m.name, "", f"{m.label}, baseline", "baseline", "number", direction,
                          values, missing)


# ------------------------------------------------------------------ the paper's tests


def frequentist_side(c: Characteristic) -> dict:
    """The paper's test of one characteristic, the difference II - I with its 95% CI and SE."""
    one, two = c.values[PERIOD_I], c.values[PERIOD_II]
    if min(len(one), len(two)) < 2:
        raise DataError(f"{c.label}: fewer than 2 patients with a value in a period")
    if c.kind == "number":
        res = stats.ttest_ind(two, one, equal_var=False)
        ci = res.confidence_interval(0.95)
        diff = float(two.mean() - one.mean())
        return {"test": "Welch t-test", "statistic": float(res.statistic), "df": float(res.df),
                "p_value": float(res.pvalue), "difference": diff, "ci_low": float(ci.low),
                "ci_high": float(ci.high), "se": diff / float(res.statistic)
                if res.statistic else float(np.hypot(one.std(ddof=1) / np.sqrt(len(one)),
                                                     two.std(ddof=1) / np.sqrt(len(two))))}
    return _categorical_test(c)


def _categorical_test(c: Characteristic) -> dict:
    table = c.table[c.table.sum(axis=1) > 0]
    expected = table.sum(axis=1, keepdims=True) * table.sum(axis=0) / table.sum()
    res = (fisher_exact_rx2(table) if (expected < EXPECTED_MIN).any()
           else chi_square(table, correction=False))
    p1, p2 = (c.values[p].mean() for p in schema.PERIODS)
    n1, n2 = (len(c.values[p]) for p in schema.PERIODS)
    se = float(np.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2))
    z = stats.norm.ppf(0.975)
    return {"test": res.method, "statistic": res.statistic, "df": res.df,
            "p_value": res.p_value, "difference": float(p2 - p1),
            "ci_low": float(p2 - p1 - z * se), "ci_high": float(p2 - p1 + z * se), "se": se}


def manova_row(data: pd.DataFrame, chars: list[Characteristic]) -> dict | None:
    """The MANOVA (Pillai's trace) across the continuous characteristics, complete cases."""
    numbers = [c for c in chars if c.kind == "number"]
    if len(numbers) < 2:
        return None
    wide = _continuous_wide(data, numbers)
    res = manova_pillai(wide, outcomes=[c.name for c in numbers], group=schema.PERIOD).iloc[0]
    complete = wide.dropna()
    n = {p: int((complete[schema.PERIOD] == p).sum()) for p in schema.PERIODS}
    all_n = {p: int((wide[schema.PERIOD] == p).sum()) for p in schema.PERIODS}
    return {"characteristic": "continuous characteristics jointly", "level": "",
            "label": f"All {len(numbers)} continuous characteristics (MANOVA)",
            "source": "patient and baseline", "kind": "multivariate", "more_severe_if": "",
            "n_I": n[PERIOD_I], "n_II": n[PERIOD_II],
            "missing_I": all_n[PERIOD_I] - n[PERIOD_I],
            "missing_II": all_n[PERIOD_II] - n[PERIOD_II],
            "test": f"MANOVA, Pillai's trace, F approximation (df {res.num_df:g}, "
                    f"{res.den_df:g}), complete cases",
            "statistic": float(res.pillai), "df": float(res.num_df),
            "p_value": float(res.p_value)}


def _continuous_wide(data: pd.DataFrame, numbers: list[Characteristic]) -> pd.DataFrame:
    """One row per patient: period and each continuous characteristic (NaN where missing)."""
    patients = data.drop_duplicates(schema.ID)[[schema.ID, schema.PERIOD]].copy()
    patients[schema.PERIOD] = patients[schema.PERIOD].astype(str)
    for c in numbers:
        if c.source == "baseline":
            base = baseline(data, outcome=c.name, time=schema.MONTHS, group=schema.ID,
                            period=None).values
            col = patients[schema.ID].map(dict(zip(base["group"], base["value"], strict=True)))
        else:
            col = patients[schema.ID].map(data.groupby(schema.ID)[c.name].first())
        patients[c.name] = col.astype(float)
    return patients


# ------------------------------------------------------------------ the Bayesian counterpart


def posterior_draws(c: Characteristic, *, seed: int = SEED,
                    draws: int = DRAWS) -> tuple[np.ndarray, np.ndarray]:
    """Exact posterior draws of the difference II - I and of the standardised difference.

    Proportions: Beta(prior + counts) per period; standardised difference
    ``(p2 - p1) / sqrt((p1 (1 - p1) + p2 (1 - p2)) / 2)``. Means: the normal model with the
    reference prior, ``sigma^2 = (n - 1) s^2 / chi2_{n-1}`` and ``mu | sigma ~ N(ybar,
    sigma^2 / n)`` per period; standardised difference ``(mu2 - mu1) / sqrt((sigma1^2 +
    sigma2^2) / 2)``.
    """
    rng = np.random.default_rng(seed_for(seed, "intake", c.name, c.level))
    if c.kind == "binary":
        a, b = c.prior
        p = [rng.beta(a + v.sum(), b + len(v) - v.sum(), draws)
             for v in (c.values[PERIOD_I], c.values[PERIOD_II])]
        scale = np.sqrt((p[0] * (1 - p[0]) + p[1] * (1 - p[1])) / 2)
        return p[1] - p[0], (p[1] - p[0]) / scale
    mu, var = [], []
    for v in (c.values[PERIOD_I], c.values[PERIOD_II]):
        n = len(v)
        sigma2 = (n - 1) * v.var(ddof=1) / rng.chisquare(n - 1, draws)
        mu.append(v.mean() + np.sqrt(sigma2 / n) * rng.standard_normal(draws))
        var.append(sigma2)
    return mu[1] - mu[0], (mu[1] - mu[0]) / np.sqrt((var[0] + var[1]) / 2)


def bayes_side(c: Characteristic, *, seed: int = SEED, margin_sd: float = MARGIN_SD) -> dict:
    """Posterior summaries and decisions of one characteristic (see the module docstring)."""
    diff, smd = posterior_draws(c, seed=seed)
    low, high = hdi(diff)
    s_low, s_high = hdi(smd)
    low90, high90 = hdi(diff, ci_prob=EQUIVALENCE_PROB)
    p_up = float((diff > 0).mean())
    severe = {"higher": p_up, "lower": 1 - p_up}.get(c.more_severe, np.nan)
    existence = existence_decision(low, high, p_direction=max(p_up, 1 - p_up))
    margin = margin_sd * _pooled_scale(c)
    return {"bayes_model": _model_text(c), "diff_mean": float(diff.mean()), "diff_hdi_low": low,
            "diff_hdi_high": high, "diff_hdi90_low": low90, "diff_hdi90_high": high90,
            "smd_mean": float(smd.mean()), "smd_hdi_low": s_low, "smd_hdi_high": s_high,
            "p_ii_more_severe": severe, "p_ii_higher": p_up, "bayes_existence": existence,
            "margin_smd": margin_sd, "margin": margin,
            "p_in_margin": float((np.abs(diff) < margin).mean()),
            "decision": rope_decision(s_low, s_high, half_width=margin_sd),
            "balanced_within": float(max(abs(s_low), abs(s_high))),
            "reading": _reading(c, existence, p_up)}


def _pooled_scale(c: Characteristic) -> float:
    """sqrt of the mean of the two periods' sample variances (of 0/1 values for a proportion:
    ``p (1 - p)``), the scale of the sample standardised difference and of the margin."""
    ddof = 1 if c.kind == "number" else 0
    return float(np.sqrt(np.mean([c.values[p].var(ddof=ddof) for p in schema.PERIODS])))


def _model_text(c: Characteristic) -> str:
    if c.kind == "binary":
        return f"Beta({c.prior[0]:g}, {c.prior[1]:g}) prior per period, binomial"
    return "normal per period, reference prior p(mu, sigma) ~ 1/sigma"


def _reading(c: Characteristic, existence: str, p_up: float) -> str:
    if existence != NONZERO:
        return "no difference shown"
    up = p_up > 0.5
    if not c.more_severe:
        return "Period II higher" if up else "Period II lower"
    worse = up == (c.more_severe == "higher")
    return "Period II more severe" if worse else "Period II less severe"


# ------------------------------------------------------------------ the table


def intake_table(data: pd.DataFrame, *, seed: int = SEED,
                 margin_sd: float = MARGIN_SD) -> pd.DataFrame:
    """Who came in each period: every intake characteristic, the paper's test beside its
    Bayesian counterpart.

    Parameters
    ----------
    data : pandas.DataFrame
        The register in long format (``mb.load_register().data``).
    seed : int
        Seed of the exact posterior draws (one stream per characteristic, by name).
    margin_sd : float
        Margin of the standardised difference (default :data:`MARGIN_SD`, +-0.5 SD).

    Returns
    -------
    pandas.DataFrame
        One row per characteristic (per level of a category with more than two levels), and a
        last row for the MANOVA across the continuous ones. ``n_*``/``missing_*``: patients
        with and without a value; ``mean_*``/``sd_*``: mean and SD (a proportion and no SD for
        a binary one); ``difference``, ``ci_*``: II - I with its 95% Wald/Welch interval;
        ``smd``: the sample standardised difference; ``p_value`` of ``test``;
        ``significant_bonferroni``: p below ``bonferroni_threshold`` = 0.05 / number of tests;
        ``diff_*``, ``smd_*``: posterior mean and 95% HDI; ``p_ii_more_severe``; ``decision``:
        the standardised difference's 95% HDI against +-``margin_smd``; ``balanced_within``:
        the smallest margin the HDI lies inside.

    Raises
    ------
    DataError
        No intake characteristic in the register, or a period without patients.

    Examples
    --------
    >>> import mbtbayes as mb
    >>> table = mb.intake_table(mb.load_register().data)
    >>> table.loc[table["characteristic"] == "bpd_criteria", "reading"].item()
    'Period II more severe'
    """
    chars = characteristics(data)
    if not chars:
        raise DataError("the intake table needs patient-level characteristics or baseline "
                        "measures; the register has none (see the schema's columns)")
    rows = [_row(c, seed=seed, margin_sd=margin_sd) for c in chars]
    multivariate = manova_row(data, chars)
    if multivariate is not None:
        rows.append(multivariate)
    table = pd.DataFrame(rows)
    n_tests = len(table.drop_duplicates(["characteristic", "test"]))
    table["bonferroni_threshold"] = ALPHA / n_tests
    table["significant_bonferroni"] = table["p_value"] < table["bonferroni_threshold"]
    table["frequentist_existence"] = [significance_decision(p) for p in table["p_value"]]
    table["estimand"] = ESTIMAND
    return table.reindex(columns=list(COLUMNS))


def _row(c: Characteristic, *, seed: int, margin_sd: float) -> dict:
    one, two = c.values[PERIOD_I], c.values[PERIOD_II]
    row = {"characteristic": c.name, "level": c.level, "label": c.label, "source": c.source,
           "kind": c.kind, "more_severe_if": _severe_text(c), "n_I": len(one), "n_II": len(two),
           "missing_I": c.missing[PERIOD_I], "missing_II": c.missing[PERIOD_II]}
    for p, v in ((PERIOD_I, one), (PERIOD_II, two)):
        row[f"mean_{p}"] = float(v.mean()) if len(v) else np.nan
        row[f"sd_{p}"] = float(v.std(ddof=1)) if c.kind == "number" and len(v) > 1 else np.nan
        row[f"summary_{p}"] = _summary(c, v)
    scale = _pooled_scale(c)
    row["smd"] = (row[f"mean_{PERIOD_II}"] - row[f"mean_{PERIOD_I}"]) / scale if scale else np.nan
    return row | frequentist_side(c) | bayes_side(c, seed=seed, margin_sd=margin_sd)


def _severe_text(c: Characteristic) -> str:
    if c.kind == "binary" and c.more_severe:
        return "yes" if c.more_severe == "higher" else "no"
    return c.more_severe


def _summary(c: Characteristic, v: np.ndarray) -> str:
    if not len(v):
        return "-"
    if c.kind == "binary":
        return f"{int(v.sum())} ({100 * v.mean():.0f}%)"
    return f"{v.mean():.1f} ({v.std(ddof=1):.1f})" if len(v) > 1 else f"{v.mean():.1f}"


ESTIMAND = ("Period II - I; smd: the difference over sqrt of the mean of the two periods' "
            "variances; ci_*: 95% Wald (proportions, unpooled) or Welch CI; diff_* and smd_*: "
            "95% HDI; diff_hdi90_*: 90% HDI")
"""What ``intake.csv``'s numbers are, in its ``estimand`` column."""

COLUMNS: tuple[str, ...] = (
    "characteristic", "level", "label", "estimand", "source", "kind", "more_severe_if",
    "n_I", "n_II", "missing_I", "missing_II", "mean_I", "sd_I", "mean_II", "sd_II",
    "summary_I", "summary_II", "difference", "ci_low", "ci_high", "se", "smd",
    "test", "statistic", "df", "p_value", "bonferroni_threshold", "significant_bonferroni",
    "frequentist_existence",
    "bayes_model", "diff_mean", "diff_hdi_low", "diff_hdi_high", "smd_mean", "smd_hdi_low",
    "smd_hdi_high", "p_ii_more_severe", "p_ii_higher", "bayes_existence", "margin_smd",
    "decision", "balanced_within", "reading", "margin", "diff_hdi90_low", "diff_hdi90_high",
    "p_in_margin")
"""Columns of ``intake.csv`` (see :func:`intake_table`)."""


# ------------------------------------------------------------------ concordance rows


def intake_questions(table: pd.DataFrame) -> list[dict]:
    """Concordance rows of the intake questions: existence (the paper's test, p < 0.05, vs the
    95% HDI of the difference) and equivalence (the TOST of the difference, Welch or Wald SE, vs
    the 90% HDI, both inside +-0.5 of the characteristic's SD); ``role`` ``"intake"``."""
    rows = []
    for r in table[table["kind"] != "multivariate"].itertuples(index=False):
        freq = {"estimate": r.difference, "p_value": r.p_value, "test": r.test,
                "ci_low": r.ci_low, "ci_high": r.ci_high}
        bayes = {"mean": r.diff_mean, "hdi_low": r.diff_hdi_low, "hdi_high": r.diff_hdi_high,
                 "p_direction": max(r.p_ii_higher, 1 - r.p_ii_higher),
                 "hdi90_low": r.diff_hdi90_low, "hdi90_high": r.diff_hdi90_high,
                 "p_rope": r.p_in_margin}
        rows.append(_effect_row("intake difference (II - I)", r.label, role=INTAKE, freq=freq,
                                bayes=bayes, margin=r.margin, margin_basis=MARGIN_BASIS,
                                tost=_tost_for(r), passed=True))
    return rows


def _tost_for(r: tuple) -> Callable[[], TostResult]:
    df = r.df if r.kind == "number" else None
    method = "Welch TOST of a difference of means" if df else (
        "Wald TOST of a difference of proportions, unpooled SE")
    return lambda: tost(r.difference, r.se, margin=r.margin, df=df, method=method)


__all__ = ["COLUMNS", "INTAKE", "MARGIN_SD", "characteristics", "intake_questions",
           "intake_table", "posterior_draws"]


def intake_summary(table: pd.DataFrame) -> str:
    """Which characteristics differ by period, by each rule, in a few sentences."""
    rows = table[table["kind"] != "multivariate"]
    threshold = float(table["bonferroni_threshold"].iloc[0])

    def names(mask: pd.Series) -> str:
        chosen = rows.loc[mask, "label"].tolist()
        return "; ".join(chosen) if chosen else "none"

    lines = [
        f"The paper's tests, p < 0.05: {names(rows['p_value'] < ALPHA)}; at the Bonferroni "
        f"threshold p < {threshold:.2g} (0.05 / {round(ALPHA / threshold)} tests): "
        f"{names(rows['significant_bonferroni'].astype(bool))}.",
        f"Bayesian, Period II more severe (95% HDI of the difference excludes 0): "
        f"{names(rows['reading'] == 'Period II more severe')}; Period II less severe: "
        f"{names(rows['reading'] == 'Period II less severe')}; no severity direction but "
        f"different: {names(rows['reading'].isin(['Period II higher', 'Period II lower']))}.",
        f"Against the margin of +-{rows['margin_smd'].iloc[0]:g} SD (standardised difference, "
        f"95% HDI): beyond it: {names(rows['decision'] == 'difference')}; within it: "
        f"{names(rows['decision'] == 'negligible')}; the rest undecided.",
    ]
    multi = table[table["kind"] == "multivariate"]
    if len(multi):
        m = multi.iloc[0]
        lines.append(f"{m['label']}: Pillai's trace {m['statistic']:.3f}, p = "
                     f"{m['p_value']:.2g}, on {int(m['n_I'] + m['n_II'])} patients with every "
                     f"value ({int(m['missing_I'] + m['missing_II'])} without all of them).")
    return "\n".join(lines)
