"""The answer in a few lines: what a run found, per measure and per behaviour.

Per measure, one line a clinician can read: the primary question, whether improvement was
sustained, as the difference in change 0-24 months (Period II - I) with its 95% HDI and the
HDI + ROPE decision against the margin fixed in the spec, read through the direction of
improvement (``better_if``); the probability that Period II improved more; Cohen's d per
period; the month-0 difference as intake case mix (who was admitted, not a period effect);
and the model choice by LOO and by AIC. Per behaviour: remission per period, the difference
and P(II worse). Then how often the frequentist and Bayesian conclusions agree, and any fit
that failed the diagnostics gate.

Examples
--------
>>> parts = headline(tables)  # doctest: +SKIP
>>> print(headline_text(tables))  # doctest: +SKIP
"""

from __future__ import annotations

import pandas as pd

from mbtbayes.compare import layer_counts
from mbtbayes.core.decisions import DIFFERENCE, TOO_IMPRECISE, rope_decision
from mbtbayes.core.formatting import significant
from mbtbayes.growth.rope_curve import decision_limits


def interval_text(mean: float, low: float, high: float, *, digits: int = 3) -> str:
    """``"0.176 [-0.0701, 0.409]"``: an estimate with its interval, to ``digits`` significant
    digits.

    Examples
    --------
    >>> interval_text(0.17553, -0.0701, 0.40876)
    '0.176 [-0.0701, 0.409]'
    >>> interval_text(0.17553, -0.0701, 0.40876, digits=2)
    '0.18 [-0.070, 0.41]'
    """
    return (f"{significant(mean, digits)} [{significant(low, digits)}, "
            f"{significant(high, digits)}]")


def probability_text(mean: float, low: float, high: float) -> str:
    """A probability with its interval, to 2 decimals: ``"0.74 [0.62, 0.85]"``."""
    return f"{mean:.2f} [{low:.2f}, {high:.2f}]"


PRIMARY = "change"
"""The ``period_effects`` row of the primary question: the difference in change 0-24 months."""
INTAKE = "intercept"
"""The row of the month-0 difference: intake case mix, not a period effect."""


def growth_headline(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """One row per measure: the difference in change against the margin, d per period, the
    intake difference as case mix, and the model choice; every sign read through
    ``better_if``."""
    effects = tables.get("period_effects")
    if effects is None or effects.empty or "contrast" not in effects:
        return pd.DataFrame()
    primary = effects[effects["contrast"] == PRIMARY]
    intake = effects[effects["contrast"] == INTAKE].set_index("measure")
    d = tables.get("effect_sizes", pd.DataFrame(columns=["measure", "period", "d_mean"]))
    d = d.set_index(["measure", "period"])["d_mean"] if not d.empty else pd.Series(dtype=float)
    choice = _model_choice(tables.get("concordance"))
    rows = []
    for r in primary.itertuples(index=False):
        better = getattr(r, "better_if", "") or ""
        rows.append({
            "measure": r.measure, "better if": better or "?",
            "change II - I, 0-24 mo [95% HDI]":
                interval_text(r.mean, r.hdi_low, r.hdi_high, digits=2),
            "margin": f"+-{significant(r.rope_high, 2)}",
            "decision": course_reading(decision(r.hdi_low, r.hdi_high, r.rope_high),
                                       r.mean, better)
            + ("" if getattr(r, "passed", True) else " (FAILED gate)"),
            "P(II improved more)": _probability(getattr(r, "prob_ii_better", float("nan"))),
            "negligible if margin >=": _negligible_from(r),
            "d I": _get(d, (r.measure, "I")), "d II": _get(d, (r.measure, "II")),
            "intake II - I (case mix)": _intake(intake, r.measure, better),
            **dict(zip(("LOO", "AIC"), choice.get(r.measure, ("", "")), strict=True)),
        })
    return pd.DataFrame(rows)


def course_reading(label: str, mean: float, better: str) -> str:
    """A decision on the difference in change, read through ``better_if``: "difference: II
    improved more" (or less) when the HDI lies outside the margin, else the decision.

    Examples
    --------
    >>> course_reading("difference", -0.3, "lower"), course_reading("difference", -3, "higher")
    ('difference: II improved more', 'difference: II improved less')
    >>> course_reading("negligible", 0.01, "lower")
    'negligible'
    """
    if label != DIFFERENCE or better not in ("lower", "higher"):
        return label
    more = (mean < 0) == (better == "lower")
    return f"{label}: II improved {'more' if more else 'less'}"


def _intake(intake: pd.DataFrame, measure: str, better: str) -> str:
    """The month-0 difference with its HDI and, when the HDI excludes 0, which period
    admitted the more severe patients ("II worse" / "II better")."""
    if measure not in intake.index:
        return ""
    r = intake.loc[measure]
    text = interval_text(r["mean"], r["hdi_low"], r["hdi_high"], digits=2)
    if better in ("lower", "higher") and (r["hdi_low"] > 0 or r["hdi_high"] < 0):
        worse = (r["mean"] > 0) == (better == "lower")
        text += " II worse" if worse else " II better"
    return text


def _negligible_from(row: tuple) -> str:
    """The smallest margin, in reference SDs, at which the difference in change would be
    negligible (:func:`mbtbayes.growth.rope_curve.decision_limits`), e.g. ``"0.30 SD"``."""
    sd = getattr(row, "reference_sd", float("nan"))
    if pd.isna(sd) or not sd > 0:
        return ""
    return f"{decision_limits(row.hdi_low, row.hdi_high)[1] / sd:.2f} SD"


def _probability(value: float) -> str:
    return "" if pd.isna(value) else f"{float(value):.2f}"


NO_ROPE = "no ROPE set"
"""The decision of a contrast whose spec sets no ROPE (half-width 0)."""


def decision(low: float, high: float, half_width: float) -> str:
    """The HDI + ROPE decision (:func:`mbtbayes.core.decisions.rope_decision`; "undecided:
    too imprecise" shortened to "too imprecise"), or :data:`NO_ROPE` when the spec sets none.

    Examples
    --------
    >>> decision(0.07, 0.4, 0.065), decision(-0.07, 0.4, 0.0)
    ('difference', 'no ROPE set')
    """
    if not half_width > 0:
        return NO_ROPE
    label = rope_decision(low, high, half_width=half_width)
    return "too imprecise" if label == TOO_IMPRECISE else label


def _get(series: pd.Series, key: str) -> str:
    return f"{float(series[key]):.2f}" if key in series.index else ""


def _model_choice(concordance: pd.DataFrame | None) -> dict[str, tuple[str, str]]:
    if concordance is None or concordance.empty:
        return {}
    rows = concordance[concordance["question"].str.startswith("model choice")]
    loo = next(c for c in ("bayes_predictive_choice", "bayes_model_choice", "bayes_decision")
               if c in rows)
    aic = next(c for c in ("frequentist_predictive_choice", "aic_decision",
                           "frequentist_decision") if c in rows)
    short = {"no clear preference": "neither", "no difference": "neither"}

    def verdict(value: object) -> str:  # a side without a decision says so, never NaN
        return short.get(value, value) if isinstance(value, str) and value else "n/a"

    return {r["subject"]: (verdict(r[loo]), verdict(r[aic])) for _, r in rows.iterrows()}


def remission_headline(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """One row per behaviour (conjugate model): remission per period, difference, P(II worse)."""
    remission = tables.get("remission")
    if remission is None or remission.empty:
        return pd.DataFrame()
    conj = remission[remission["model"] == "beta_binomial"]
    rows = []
    for behaviour, part in conj.groupby("behaviour", sort=False):
        by = part.set_index("period")
        first = by.iloc[0]
        row = {"behaviour": behaviour.replace("_", " ")}
        for period in ("I", "II"):
            if period in by.index:
                p = by.loc[period]
                row[f"Period {period}"] = (f"{p.p_mean:.2f} "
                                           f"({int(p.n_remitted)}/{int(p.n_at_risk)})")
        row["II - I [95% HDI]"] = probability_text(first.p_period_diff, first.p_diff_hdi_low,
                                                   first.p_diff_hdi_high)
        row["P(II worse)"] = f"{first.prob_ii_worse:.2f}"
        rows.append(row)
    return pd.DataFrame(rows)


def concordance_line(tables: dict[str, pd.DataFrame]) -> str:
    """How often the frequentist and Bayesian conclusions agree, layer by layer, counted as
    :func:`mbtbayes.compare.layer_counts` counts (within-period slopes apart from the primary
    questions; equivalence only where either side could have shown it; rows on unlike models
    not counted), e.g. ``"Frequentist and Bayesian conclusions agree on: existence 14 of 16
    primary questions; existence 18 of 18 within-period slopes; equivalence 2 of 3 decidable
    questions (40 not decidable by either side, not counted); ..."``.
    """
    table = tables.get("concordance")
    if table is None or table.empty:
        return ""
    parts, unlike = [], 0
    for c in layer_counts(table):
        unlike += c.unlike
        text = f"{c.layer.replace('_', ' ')} {c.agreed} of {c.counted} {c.part}"
        if c.apart:
            text += f" ({c.apart} not decidable by either side, not counted)"
        parts.append(text)
    note = f" ({unlike} on unlike models not counted)" if unlike else ""
    return "Frequentist and Bayesian conclusions agree on: " + "; ".join(parts) + note + "."


def intake_line(tables: dict[str, pd.DataFrame]) -> str:
    """Who came in, in one line: on how many intake characteristics Period II admitted more
    (or less) severe patients by the 95% HDI of the difference (``intake.csv``'s
    ``reading``), which, and how many the paper's tests flag (p < 0.05, Bonferroni); case mix,
    not a period effect.

    Examples
    --------
    >>> t = pd.DataFrame({"label": ["Age", "GAF"], "kind": ["number"] * 2,
    ...                   "reading": ["no difference shown", "Period II more severe"],
    ...                   "p_value": [0.8, 0.01], "significant_bonferroni": [False, False]})
    >>> print(intake_line({"intake": t}))  # doctest: +NORMALIZE_WHITESPACE
    Who came in: Period II admitted more severe patients on 1 of 2 intake characteristics
    (95% HDI of the difference excludes 0: GAF), less severe on none; the paper's tests:
    p < 0.05 on 1, at the Bonferroni threshold on 0. Case mix (who was admitted), not an
    effect of the period's treatment.
    """
    table = tables.get("intake")
    if table is None or table.empty or "reading" not in table:
        return ""
    rows = table[table["kind"] != "multivariate"]
    more = rows.loc[rows["reading"] == "Period II more severe", "label"].tolist()
    less = rows.loc[rows["reading"] == "Period II less severe", "label"].tolist()
    p = pd.to_numeric(rows["p_value"], errors="coerce")
    bonferroni = rows["significant_bonferroni"].astype(str).str.lower().isin(["true", "1"])

    def named(labels: list[str]) -> str:
        return (f"{len(labels)} (" + "; ".join(labels) + ")") if labels else "none"

    head = (f"Who came in: Period II admitted more severe patients on {len(more)} of "
            f"{len(rows)} intake characteristics")
    if more:
        head += " (95% HDI of the difference excludes 0: " + "; ".join(more) + ")"
    return (head + f", less severe on {named(less)}; the paper's tests: p < 0.05 on "
            f"{int((p < 0.05).sum())}, at the Bonferroni threshold on {int(bonferroni.sum())}. "
            "Case mix (who was admitted), not an effect of the period's treatment.")


def gate_line(tables: dict[str, pd.DataFrame]) -> str:
    """Which fits failed the diagnostics gate (or that all passed)."""
    diagnostics = tables.get("diagnostics")
    if diagnostics is None or diagnostics.empty:
        return ""
    failed = diagnostics[~diagnostics["passed"].astype(bool)]
    if failed.empty:
        return f"All {len(diagnostics)} growth fits passed the diagnostics gate."
    return (f"{len(failed)} of {len(diagnostics)} growth fits FAILED the diagnostics gate "
            f"(flagged in every table): {', '.join(failed['fit'])}.")


def headline(tables: dict[str, pd.DataFrame]) -> dict[str, object]:
    """The headline's parts: ``growth`` and ``remission`` tables and ``lines`` of text."""
    lines = [line for line in (intake_line(tables), concordance_line(tables),
                               gate_line(tables)) if line]
    return {"growth": growth_headline(tables), "remission": remission_headline(tables),
            "lines": lines}


GROWTH_TITLE = ("Growth models: was improvement sustained? The difference in change 0-24 "
                "months, Period II - I (posterior mean [95% HDI], measure units), decided by "
                "the 95% HDI against the pre-specified margin (+-); P(II improved more); "
                "the smallest margin, in reference SDs, at which it would be negligible; "
                "Cohen's d 0-24 months per period (sign: see better if); the month-0 "
                "difference is who was admitted (intake case mix), not a period effect; "
                "preferred model by LOO and by AIC")
REMISSION_TITLE = ("Remission among start-positive patients with end data: Beta-binomial "
                   "posterior mean (remitted/at risk), difference II - I, P(II worse)")


def headline_text(tables: dict[str, pd.DataFrame]) -> str:
    """The headline as plain text (for logs, notebooks and non-terminal output)."""
    parts = headline(tables)
    out = []
    for title, table in ((GROWTH_TITLE, parts["growth"]),
                         (REMISSION_TITLE, parts["remission"])):
        if not table.empty:
            out += [title + ":", table.to_string(index=False), ""]
    out += parts["lines"]
    return "\n".join(out).strip()
