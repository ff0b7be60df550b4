"""The growth results laid out as the paper's Tables 3 and 5, with the Bayesian columns beside.

Per measure two rows, as the paper: row 1 the linear model, row 2 the model with the period
predictor. Columns: intercept and slope per month, the period differences Delta(II-I) in
intercept and slope, model fit (AIC; ELPD by leave-one-patient-out LOO) and Cohen's d of the
0-24 month change; each estimate as ``ML [95% Wald CI]`` beside ``Bayes [95% HDI]``.

Examples
--------
>>> tables = paper_tables(run_tables, specs)  # doctest: +SKIP
>>> tables["Table 5"].columns[:3].tolist()  # doctest: +SKIP
['measure', 'model', 'intercept ML']
"""

from __future__ import annotations

import pandas as pd

from mbtbayes import compare
from mbtbayes.compare.questions import LAYER_RULES
from mbtbayes.core.errors import SpecError
from mbtbayes.core.formatting import markdown_table, significant
from mbtbayes.growth import summaries
from mbtbayes.growth.modelspec import ModelSpec
from mbtbayes.report.headline import interval_text

TITLES = {
    "outcome": ("Table 5", "Outcome models (BSI-18, CIP, WSAS, GAF)"),
    "process": ("Table 3", "Process models (WAI alliance, FWC-BV countertransference)"),
}
"""Paper table and title per spec kind; other kinds get their own table."""

NOTE = ("ML: maximum likelihood (as lme4 fits it, checked against lme4), estimate [95% Wald "
        "CI]. Bayes: posterior mean [95% HDI]. Delta(II-I): Period II minus Period I. AIC of the "
        "ML fit; ELPD: leave-one-patient-out PSIS-LOO on the marginal likelihood (higher is "
        "better). d: Cohen's d of the 0-24 month change divided by the observed pooled baseline "
        "SD (linear row: pooled; period row: I / II). Other covariates (e.g. WAI version) are in "
        "growth_models.csv.")


def _roles(spec: ModelSpec) -> dict[str, str]:
    return {"intercept": "Intercept", "slope": spec.time, "delta intercept": f"{spec.period}[",
            "delta slope": f"{spec.time}:{spec.period}["}


def _pick(terms: pd.DataFrame, prefix: str) -> pd.Series | None:
    hit = terms[(terms["term"] == prefix) | (prefix.endswith("[")
                                             & terms["term"].str.startswith(prefix))]
    return None if hit.empty else hit.iloc[0]


def _cells(spec: ModelSpec, model: str, bayes: pd.DataFrame, ml: pd.DataFrame) -> dict[str, str]:
    out = {}
    b = bayes[(bayes["measure"] == spec.name) & (bayes["model"] == model)]
    f = ml[(ml["measure"] == spec.name) & (ml["model"] == model)] if not ml.empty else ml
    for role, term in _roles(spec).items():
        fr = _pick(f, term) if not f.empty else None
        br = _pick(b, term)
        out[f"{role} ML"] = "" if fr is None else interval_text(fr["estimate"], fr["ci_low"],
                                                                fr["ci_high"])
        out[f"{role} Bayes"] = "" if br is None else interval_text(br["mean"], br["hdi_low"],
                                                                   br["hdi_high"])
    return out


def _fit_cells(measure: str, model: str, comparison: pd.DataFrame) -> dict[str, str]:
    row = comparison[comparison["measure"] == measure] if not comparison.empty else comparison
    if row.empty:
        return {"AIC": "", "ELPD (LOO)": ""}
    r = row.iloc[0]
    aic = r.get(f"aic_{model}")
    return {"AIC": "" if pd.isna(aic) else f"{aic:.1f}",
            "ELPD (LOO)": f"{r[f'elpd_{model}']:.1f}"}


def _d_cells(measure: str, model: str, bayes: pd.DataFrame, ml: pd.DataFrame) -> dict[str, str]:
    periods = ["pooled"] if model == "linear" else ["I", "II"]

    def text(table: pd.DataFrame, column: str) -> str:
        if table.empty:
            return ""
        rows = table[table["measure"] == measure].set_index("period")
        return " / ".join(significant(rows.loc[p, column]) for p in periods if p in rows.index)

    return {"d ML": text(ml, "d"), "d Bayes": text(bayes, "d_mean")}


def paper_tables(tables: dict[str, pd.DataFrame], specs: dict) -> dict[str, pd.DataFrame]:
    """Growth results per spec kind in the paper's layout.

    Parameters
    ----------
    tables : dict of str to DataFrame
        The run's tables (``growth_models``, ``frequentist_growth_models``,
        ``model_comparison``, ``effect_sizes``, ``frequentist_effect_sizes``; the frequentist
        ones may be absent).
    specs : dict of str to ModelSpec

    Returns
    -------
    dict of str to DataFrame
        ``"Table 5"`` (outcomes), ``"Table 3"`` (process measures), and one per other kind;
        all cells text.
    """
    empty = pd.DataFrame()
    bayes = tables.get("growth_models", empty)
    if bayes.empty:
        return {}
    ml = tables.get("frequentist_growth_models", empty)
    comparison = tables.get("model_comparison", empty)
    d_bayes, d_ml = tables.get("effect_sizes", empty), tables.get("frequentist_effect_sizes",
                                                                  empty)
    out: dict[str, list[dict]] = {}
    for spec in specs.values():
        models = bayes.loc[bayes["measure"] == spec.name, "model"].unique()
        name = TITLES.get(spec.kind, (f"Other ({spec.kind})", ""))[0]
        for model in models:
            out.setdefault(name, []).append(
                {"measure": spec.label or spec.name, "model": model,
                 **_cells(spec, model, bayes, ml), **_fit_cells(spec.name, model, comparison),
                 **_d_cells(spec.name, model, d_bayes, d_ml)})
    return {name: pd.DataFrame(rows) for name, rows in sorted(out.items(), reverse=True)}


def paper_table(fits: list, data: pd.DataFrame, *, kind: str = "outcome") -> pd.DataFrame:
    """One of the paper's growth tables (Table 5: ``kind="outcome"``; Table 3: ``"process"``)
    from fits, with the ML estimates (fitted here) beside the Bayesian ones.

    Parameters
    ----------
    fits : list of GrowthFit
        Both variants per spec (specs of other kinds are ignored).
    data : pandas.DataFrame
        The register the fits used (ML fits, baseline SD).
    kind : str
        Spec kind: ``"outcome"``, ``"process"`` or another kind of one's own specs.

    Returns
    -------
    pandas.DataFrame
        measure, model, then ``ML`` and ``Bayes`` columns per quantity, AIC, ELPD, d (text).

    Examples
    --------
    >>> import mbtbayes as mb
    >>> fits = mb.fit_specs(mb.load_specs(), mb.load_register().data)  # doctest: +SKIP
    >>> mb.paper_table(fits, mb.load_register().data, kind="outcome")  # doctest: +SKIP
    """
    specs = {f.spec.name: f.spec for f in fits if f.spec.kind == kind}
    chosen = [f for f in fits if f.spec.name in specs]
    if not chosen:
        raise SpecError(f"no fits of kind '{kind}'; the fits' kinds are "
                        f"{', '.join(sorted({f.spec.kind for f in fits}))}")
    ml = compare.frequentist_fits(specs, data, log=lambda _: None)
    tables = {"growth_models": summaries.growth_table(chosen),
              "effect_sizes": summaries.effect_sizes(chosen, data),
              "model_comparison": compare.model_comparison_table(
                  summaries.model_comparison(chosen), ml),
              "frequentist_growth_models": compare.frequentist_growth_table(ml),
              "frequentist_effect_sizes": compare.frequentist_effect_sizes(ml, specs, data)}
    return next(iter(paper_tables(tables, specs).values()))


INTAKE_TITLE = "Characteristics at intake by period"
INTAKE_NOTE = ("n (%) or mean (SD) of the patients with a value (missing: without one); p: "
               "Pearson chi-square (Fisher's exact test where an expected count is below 5) or "
               "Welch's t-test, * below 0.05, ** below the Bonferroni threshold; the last row "
               "is the MANOVA (Pillai's trace) across the continuous characteristics, complete "
               "cases. Bayes: standardised difference Period II - I (difference over the square "
               "root of the mean of the two periods' variances), posterior mean [95% HDI]; "
               "P(II more severe) where severity has a direction; decision against the margin.")


def _margin_words(decision: str, margin: float) -> str:
    """An intake decision in words: within / beyond the margin, or undecided."""
    words = {"negligible": "within", "difference": "beyond"}.get(decision)
    return f"{words} +-{margin:g} SD" if words else f"{decision} (+-{margin:g} SD)"


def intake_paper_table(intake: pd.DataFrame) -> pd.DataFrame:
    """The intake comparison in the paper's layout: one text row per characteristic."""
    threshold = float(intake["bonferroni_threshold"].iloc[0])
    rows = []
    for r in intake.itertuples(index=False):
        multi = r.kind == "multivariate"
        stars = "**" if r.p_value < threshold else ("*" if r.p_value < 0.05 else "")
        rows.append({
            "characteristic": r.label,
            "Period I": f"n = {r.n_I}" if multi else f"{r.summary_I}",
            "Period II": f"n = {r.n_II}" if multi else f"{r.summary_II}",
            "missing I / II": f"{r.missing_I} / {r.missing_II}",
            "p": f"{significant(r.p_value)}{stars}",
            "SMD Bayes [95% HDI]": "" if multi else (
                f"{r.smd_mean:.2f} [{r.smd_hdi_low:.2f}, {r.smd_hdi_high:.2f}]"),
            "P(II more severe)": "" if multi or pd.isna(r.p_ii_more_severe) else (
                f"{r.p_ii_more_severe:.2f}"),
            "decision": "" if multi else _margin_words(r.decision, r.margin_smd),
        })
    return pd.DataFrame(rows)


def paper_tables_markdown(tables: dict[str, pd.DataFrame], specs: dict, *, label: str) -> str:
    """``paper_tables.md``: the intake table, then the tables of :func:`paper_tables` with
    their titles and notes."""
    titles = {name: title for name, title in TITLES.values()}
    parts = [f"Data: {label}"]
    intake = tables.get("intake")
    if intake is not None and not intake.empty:
        parts += ["", f"# {INTAKE_TITLE}", "", INTAKE_NOTE, "",
                  markdown_table(intake_paper_table(intake))]
    parts += ["", "# Growth models in the layout of the paper's Tables 3 and 5", "", NOTE]
    for name, table in paper_tables(tables, specs).items():
        parts += ["", f"## {name}. {titles.get(name, '')}".rstrip(". "), "",
                  markdown_table(table)]
    return "\n".join(parts) + "\n"


REMISSION_TITLE = "Remission per period among patients with the behaviour at start"
REMISSION_NOTE = ("Remitted / at risk: patients without the behaviour in the last year of "
                  "treatment among those with it in the 12 months before start and with end "
                  "data. p: posterior mean [95% HDI] of the remission probability, conjugate "
                  "Beta-binomial with a Beta(1, 1) prior. II - I: Period II minus Period I, "
                  "posterior mean [95% HDI]. P(II worse): posterior probability of lower "
                  "remission in Period II. Wald p: logistic regression, as the paper.")

BEHAVIOUR_LABELS = {"self_harm": "Self-harm", "suicide_attempt": "Suicide attempt"}
"""Row labels of the behaviours (others: their name)."""


def remission_paper_table(remission: pd.DataFrame,
                          concordance: pd.DataFrame | None = None) -> pd.DataFrame:
    """Remission per behaviour and period (conjugate rows), Period II - I, P(II worse) and,
    where the concordance has it, the frequentist p of the difference (text cells).

    Column names ``"group: column"`` share a spanning header (``"Period I: p [95% HDI]"``).
    """
    rows = remission[remission["model"] == "beta_binomial"]
    p = _remission_p(concordance)
    out = []
    for behaviour, group in rows.groupby("behaviour", sort=False):
        by = group.set_index("period")
        first = group.iloc[0]
        row = {"behaviour": BEHAVIOUR_LABELS.get(behaviour, behaviour)}
        for period in ("I", "II"):
            r = by.loc[period]
            row[f"Period {period}: remitted / at risk"] = f"{r.n_remitted} / {r.n_at_risk}"
            row[f"Period {period}: p [95% HDI]"] = interval_text(r.p_mean, r.p_hdi_low,
                                                                 r.p_hdi_high)
        row["II - I [95% HDI]"] = interval_text(first.p_period_diff, first.p_diff_hdi_low,
                                                first.p_diff_hdi_high)
        row["P(II worse)"] = f"{first.prob_ii_worse:.2f}"
        if p is not None:
            row["Wald p"] = significant(p[behaviour]) if behaviour in p else ""
        out.append(row)
    return pd.DataFrame(out)


def _remission_p(concordance: pd.DataFrame | None) -> dict[str, float] | None:
    if concordance is None or concordance.empty:
        return None
    rows = concordance[concordance["question"].str.startswith("remission difference")]
    return dict(zip(rows["subject"], rows["p_value"], strict=True)) or None


CONCORDANCE_TITLE = "Existence of each effect: frequentist and Bayesian verdicts"


def concordance_paper_table(concordance: pd.DataFrame, specs: dict | None = None
                            ) -> pd.DataFrame:
    """The concordance in short form: one row per question and subject with an existence
    verdict on both sides, and whether they agree (text cells; measures by their labels)."""
    labels = {name: spec.label or name for name, spec in (specs or {}).items()}
    rows = concordance[concordance["frequentist_existence"].notna()
                       & concordance["bayes_existence"].notna()]
    return pd.DataFrame({
        "question": rows["question"].to_numpy(),
        "subject": [labels.get(s, s) for s in rows["subject"]],
        "Frequentist: p": [_p_text(p) for p in rows["p_value"]],
        "Frequentist: verdict": rows["frequentist_existence"].to_numpy(),
        "Bayesian: P(direction)": [f"{p:.3f}" for p in rows["p_direction"]],
        "Bayesian: verdict": rows["bayes_existence"].to_numpy(),
        "agree": ["yes" if bool(a) else "no" for a in rows["agree_existence"]],
    })


def _p_text(p: float) -> str:
    """A p-value as APA writes it: ``< 0.001`` below 0.001, else three significant digits."""
    return "< 0.001" if p < 0.001 else significant(p)


def concordance_note(concordance: pd.DataFrame) -> str:
    """The rule of the existence layer and the agreement counted layer by layer (all layers of
    ``concordance.csv``, like with like)."""
    parts = []
    for c in compare.layer_counts(concordance):
        text = f"{c.layer.replace('_', ' ')}, {c.part}: {c.agreed} of {c.counted}"
        if c.apart:
            text += f" ({c.apart} more where neither side could decide, not counted)"
        if c.unlike:
            text += f" ({c.unlike} on unlike models, not counted)"
        parts.append(text)
    return (f"Existence: {LAYER_RULES['existence']}. Agreement of the two analyses "
            "in every layer of concordance.csv (like with like): " + "; ".join(parts) + ".")
