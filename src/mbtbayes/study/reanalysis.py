"""A Bayesian reanalysis from the paper's published numbers alone (no register).

Almost no reader has the register, but the paper's remission results still constrain the counts:
only some pairs ``x1/n1`` (Period I) and ``x2/n2`` (Period II) round to the printed
percentages and give the printed p under some test variant
(:func:`mbtbayes.reconstruct.consistent_counts`). :func:`published_posteriors` fits the
conjugate Beta-binomial model to every such reconstruction and shows, beside the counts, the
test variant and the recomputed p, the posterior P(Period II remission < Period I) and the
difference II - I with its 95% HDI, so that one sees how much (or little) the conclusion depends
on the unknown counts. :func:`published_summary` condenses it per result and
:func:`inconsistencies` lists the paper's internal inconsistencies with the arithmetic shown.

Every number the functions start from is read from :mod:`mbtbayes.study.numbers` (provenance
``paper``); nothing here uses patient data.

Examples
--------
>>> table = published_posteriors()
>>> row = table.query("pair == '41/55 vs 27/43' and test == 'logistic_wald'").iloc[0]
>>> round(float(row["prob_ii_worse"]), 3)
0.893
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from mbtbayes.binary.common import N_DRAWS
from mbtbayes.binary.conjugate import BetaPosterior, check_beta_prior, prob_less
from mbtbayes.core.arviz_api import hdi
from mbtbayes.core.defaults import CI_PROB, SEED
from mbtbayes.core.posterior import interval_label
from mbtbayes.study.numbers import published_value
from mbtbayes.study.reconstruct import consistent_counts, consistent_single

N1_RANGE = range(1, 97)
"""Denominators tried for Period I (at most its 96 patients)."""
N2_RANGE = range(1, 90)
"""Denominators tried for Period II (at most its 89 patients)."""
TESTS: tuple[str, ...] = ("wald_unpooled", "wald_pooled", "logistic_wald")
"""Test variants tried by default (as :func:`mbtbayes.reconstruct.consistent_counts`)."""

BEHAVIOURS = ("self_harm", "suicide_attempt")


def _published(behaviour: str) -> dict[str, float]:
    """The paper's remission numbers of one behaviour, from :mod:`mbtbayes.study.numbers`."""
    get = lambda key: published_value(f"{behaviour}.{key}").value  # noqa: E731
    return {"pct1": get("remission.pct.I"), "pct2": get("remission.pct.II"),
            "p_value": get("remission.p"), "pooled": get("remission.pct.total"),
            "start_pct": get("start.pct")}


def max_start_positive(behaviour: str) -> int:
    """Largest number of the 185 patients whose share rounds to the published start percentage.

    Remission denominators (start-positive patients with end data) cannot exceed it.

    Examples
    --------
    >>> max_start_positive("suicide_attempt"), max_start_positive("self_harm")
    (56, 158)
    """
    n_total = int(published_value("n.total").value)
    pct = _published(behaviour)["start_pct"]
    found = consistent_single(pct=pct, n_range=[n_total])
    return int(found["x"].max())


def _text(values: dict[str, float]) -> str:
    return (f"{values['pct1']:g}% vs {values['pct2']:g}%, p = {values['p_value']:g} "
            f"(overall {values['pooled']:g}%)")


def published_posteriors(
    *,
    prior: tuple[float, float] = (1.0, 1.0),
    tests: Sequence[str] = TESTS,
    ci_prob: float = CI_PROB,
    n_draws: int = N_DRAWS,
    seed: int = SEED,
) -> pd.DataFrame:
    """Conjugate posteriors for every reconstruction of the two published remission results.

    Parameters
    ----------
    prior : (float, float), default (1, 1)
        Beta prior of each period's remission probability.
    tests : sequence of str
        Test variants under which a reconstruction must reproduce the printed p (see
        :data:`mbtbayes.reconstruct.TESTS`; ``"chi_square_yates"`` may be added).
    ci_prob : float, default 0.95
    n_draws : int
        Exact posterior draws for the HDI of the difference.
    seed : int

    Returns
    -------
    pandas.DataFrame
        One row per behaviour x reconstruction x test variant: ``behaviour``, ``published``
        (the printed result), ``pair``, ``x1``, ``n1``, ``x2``, ``n2``, ``test``,
        ``recomputed_p`` (that test's exact p for those counts), ``pooled_pct`` and
        ``pooled_matches`` (the pooled percentage rounds to the printed overall one),
        ``plausible_n`` (``n1 + n2`` no larger than the start-positive patients the printed
        start percentage allows), ``model``, ``prior``, ``p1_mean``, ``p1_hdi_low``,
        ``p1_hdi_high``, ``p2_mean``, ``p2_hdi_low``, ``p2_hdi_high``, ``p_period_diff``
        (posterior mean of p_II - p_I), ``p_diff_hdi_low``, ``p_diff_hdi_high``,
        ``prob_ii_worse`` (P(p_II < p_I), exact), ``interval``.

    Examples
    --------
    >>> t = published_posteriors()
    >>> sorted(t["behaviour"].unique())
    ['self_harm', 'suicide_attempt']
    """
    check_beta_prior(prior)
    rng = np.random.default_rng(seed)
    frames = []
    for behaviour in BEHAVIOURS:
        values = _published(behaviour)
        found = consistent_counts(pct1=values["pct1"], pct2=values["pct2"],
                                  p_value=values["p_value"], n1_range=N1_RANGE,
                                  n2_range=N2_RANGE, tests=tuple(tests))
        cache: dict[tuple[int, ...], dict] = {}
        rows = []
        for r in found.itertuples():
            key = (int(r.x1), int(r.n1), int(r.x2), int(r.n2))
            if key not in cache:
                cache[key] = _posterior(*key, prior=prior, ci_prob=ci_prob, n_draws=n_draws,
                                        rng=rng)
            rows.append({"behaviour": behaviour, "published": _text(values), "pair": r.pair,
                         "x1": key[0], "n1": key[1], "x2": key[2], "n2": key[3],
                         "test": r.test, "recomputed_p": float(r.p_value),
                         "pooled_pct": float(r.pooled_pct),
                         "pooled_matches": _round_half_up(r.pooled_pct) == values["pooled"],
                         "plausible_n": key[1] + key[3] <= max_start_positive(behaviour),
                         **cache[key]})
        frames.append(pd.DataFrame(rows))
    table = pd.concat(frames, ignore_index=True)
    table["model"] = "beta_binomial"
    table["prior"] = f"Beta({prior[0]:g}, {prior[1]:g}) on each remission probability"
    table["interval"] = interval_label(ci_prob)
    return table


def _round_half_up(value: float) -> float:
    return math.floor(value + 0.5)


def _posterior(x1: int, n1: int, x2: int, n2: int, *, prior: tuple[float, float],
               ci_prob: float, n_draws: int, rng: np.random.Generator) -> dict:
    first = BetaPosterior.update(x1, n1, prior=prior)
    second = BetaPosterior.update(x2, n2, prior=prior)
    diff = second.draws(n_draws, rng) - first.draws(n_draws, rng)
    d_low, d_high = hdi(diff, ci_prob=ci_prob)
    (l1, h1), (l2, h2) = first.hdi(ci_prob=ci_prob), second.hdi(ci_prob=ci_prob)
    return {"p1_mean": first.mean, "p1_hdi_low": l1, "p1_hdi_high": h1,
            "p2_mean": second.mean, "p2_hdi_low": l2, "p2_hdi_high": h2,
            "p_period_diff": second.mean - first.mean, "p_diff_hdi_low": d_low,
            "p_diff_hdi_high": d_high, "prob_ii_worse": prob_less(second, first)}


def published_summary(posteriors: pd.DataFrame | None = None) -> pd.DataFrame:
    """How the posterior conclusion varies across the reconstructions, per published result.

    Parameters
    ----------
    posteriors : pandas.DataFrame, optional
        Output of :func:`published_posteriors` (computed with defaults if omitted).

    Returns
    -------
    pandas.DataFrame
        One row per behaviour x subset (``all`` reconstructions, ``plausible_n`` only):
        ``n_pairs`` (distinct count pairs), ``prob_ii_worse_min`` / ``_max``,
        ``p_period_diff_min`` / ``_max``, ``widest_hdi_low`` and ``widest_hdi_high`` (the
        extremes of the difference HDIs), ``any_pooled_matches``, and a ``conclusion``
        sentence.

    Examples
    --------
    >>> s = published_summary()
    >>> s.loc[s["subset"] == "all", "n_pairs"].tolist()
    [18, 12]
    """
    table = published_posteriors() if posteriors is None else posteriors
    rows = []
    for behaviour, part in table.groupby("behaviour", sort=False):
        for subset, rows_of in (("all", part), ("plausible_n", part[part["plausible_n"]])):
            pairs = rows_of.drop_duplicates("pair")
            if pairs.empty:
                continue
            lo, hi = pairs["prob_ii_worse"].min(), pairs["prob_ii_worse"].max()
            rows.append({"behaviour": behaviour, "subset": subset, "n_pairs": len(pairs),
                         "prob_ii_worse_min": lo, "prob_ii_worse_max": hi,
                         "p_period_diff_min": pairs["p_period_diff"].min(),
                         "p_period_diff_max": pairs["p_period_diff"].max(),
                         "widest_hdi_low": pairs["p_diff_hdi_low"].min(),
                         "widest_hdi_high": pairs["p_diff_hdi_high"].max(),
                         "any_pooled_matches": bool(pairs["pooled_matches"].any()),
                         "interval": pairs["interval"].iloc[0],
                         "conclusion": _conclusion(behaviour, len(pairs), lo, hi)})
    return pd.DataFrame(rows)


def _conclusion(behaviour: str, n_pairs: int, lo: float, hi: float) -> str:
    name = behaviour.replace("_", "-")
    pairs = "the one count pair" if n_pairs == 1 else f"{n_pairs} count pairs"
    return (f"Across {pairs} consistent with the published {name} result, the "
            f"posterior probability that Period II remission is lower than Period I's lies "
            f"between {lo:.2f} and {hi:.2f}: {_verbal(lo, hi)}.")


def _verbal(lo: float, hi: float) -> str:
    if lo >= 0.8:
        return "a worse Period II is probable whichever counts the authors had, though not certain"
    if hi <= 0.7:
        return "the data say little either way about a period difference"
    return "how probable a worse Period II is depends on the unknown counts"


# ---------------------------------------------------------------- inconsistencies


def inconsistencies(posteriors: pd.DataFrame | None = None) -> pd.DataFrame:
    """Internal inconsistencies of the paper's binary results, with the arithmetic shown.

    Parameters
    ----------
    posteriors : pandas.DataFrame, optional
        Output of :func:`published_posteriors` (computed with defaults if omitted); used for
        the facts about reconstructions.

    Returns
    -------
    pandas.DataFrame
        One row per issue: ``issue`` (short key), ``kind`` (``"inconsistent"``: the printed
        numbers cannot all hold as stated; ``"unstated"``: they hold only under an assumption
        the paper does not state), ``published`` (the numbers involved, as printed),
        ``arithmetic`` and ``explanation``.

    Examples
    --------
    >>> inconsistencies()["issue"].tolist()[:2]
    ['suicide_attempt_new_onsets', 'self_harm_overall_remission']
    """
    table = published_posteriors() if posteriors is None else posteriors
    rows = [_new_onset_attempts(table), _overall_self_harm(table), _test_variant(table),
            _self_harm_denominator(table), _p_value_rule()]
    return pd.DataFrame(rows, columns=["issue", "kind", "published", "arithmetic",
                                       "explanation"])


def _best_pair(table: pd.DataFrame, behaviour: str) -> pd.Series:
    """The reconstruction reproducing the printed p under most test variants (ties: smallest n)."""
    part = table[(table["behaviour"] == behaviour) & table["plausible_n"]]
    counts = part.groupby("pair")["test"].transform("size")
    part = part.assign(_tests=counts, _n=part["n1"] + part["n2"])
    return part.sort_values(["_tests", "_n"], ascending=[False, True]).iloc[0]


def _new_onset_attempts(table: pd.DataFrame) -> dict:
    n = published_value("n.total").value
    start = published_value("suicide_attempt.start.pct").value
    remission = published_value("suicide_attempt.remission.pct.total").value
    last = published_value("suicide_attempt.last_year.pct").value
    persist = start * (100 - remission) / 100
    excess = last - persist
    best = _best_pair(table, "suicide_attempt")
    n_end = int(published_value("derived.self_harm.last_year.end_data.n.I").value
                + published_value("derived.self_harm.last_year.end_data.n.II").value)
    still = int(best.n1 - best.x1 + best.n2 - best.x2)
    at_end = last / 100 * n_end
    return {
        "issue": "suicide_attempt_new_onsets", "kind": "unstated",
        "published": f"{start:g}% attempted before start; {remission:g}% remission; {last:g}% "
                     "attempted in the last year",
        "arithmetic": (f"{start:g}% x (100 - {remission:g})% = {persist:.1f}% of patients still "
                       f"attempting, yet {last:g}% attempted in the last year: {excess:.1f} "
                       f"points ({excess / 100 * n:.0f} of {n:.0f} patients) must be new onsets. "
                       f"With the reconstruction {best.pair}, {still} remained attempters; "
                       f"{last:g}% of the {n_end} patients with end data (derived from the "
                       f"self-harm counts) is {at_end:.1f}, so about {at_end - still:.0f} "
                       "new-onset attempters"),
        "explanation": "The paper does not mention new-onset suicide attempts, and its 9% has "
                       "no stated denominator; either new onsets happened (about 6-10 patients) "
                       "or the 9% refers to another denominator.",
    }


def _overall_self_harm(table: pd.DataFrame) -> dict:
    part = table[table["behaviour"] == "self_harm"].drop_duplicates("pair")
    values = _published("self_harm")
    best = _best_pair(table, "self_harm")
    matches = int(part["pooled_matches"].sum())
    return {
        "issue": "self_harm_overall_remission",
        "kind": "inconsistent" if matches == 0 else "unstated",
        "published": _text(values),
        "arithmetic": (f"{best.pair} pools to {best.x1 + best.x2}/{best.n1 + best.n2} = "
                       f"{best.pooled_pct:.1f}%, which rounds to "
                       f"{_round_half_up(best.pooled_pct):.0f}%, not {values['pooled']:g}%; "
                       f"{matches} of the {len(part)} count pairs consistent with "
                       f"{values['pct1']:g}% vs {values['pct2']:g}%, p = {values['p_value']:g} "
                       f"pool to {values['pooled']:g}% (pooled range "
                       f"{part['pooled_pct'].min():.1f}-{part['pooled_pct'].max():.1f}%)"),
        "explanation": "The overall remission rate cannot come from the same counts as the two "
                       "period rates and the p-value, unless it was computed on another set of "
                       "patients or rounded loosely.",
    }


def _test_variant(table: pd.DataFrame) -> dict:
    plausible = table[table["plausible_n"]]
    per_result = [set(plausible.loc[plausible["behaviour"] == b, "test"]) for b in BEHAVIOURS]
    common = sorted(set.intersection(*per_result))
    best = [_best_pair(table, b) for b in BEHAVIOURS]
    best_tests = [set(table.loc[(table["behaviour"] == r.behaviour) & (table["pair"] == r.pair),
                                "test"]) for r in best]
    unpooled = table[(table["behaviour"] == "suicide_attempt") & (table["test"] == "wald_unpooled")]
    min_n = int((unpooled["n1"] + unpooled["n2"]).min()) if len(unpooled) else None
    cap = max_start_positive("suicide_attempt")
    values = [_published(b) for b in BEHAVIOURS]
    return {
        "issue": "wald_test_variant", "kind": "unstated",
        "published": "\"Wald's test for independent samples\"; "
                     + "; ".join(f"{v['pct1']:g}% vs {v['pct2']:g}%, p = {v['p_value']:g}"
                                 for v in values),
        "arithmetic": (f"the unpooled Wald test reproduces p = {values[1]['p_value']:g} only with "
                       f"n1 + n2 >= {min_n} start attempters with end data, but at most {cap} of "
                       f"185 patients ({values[1]['start_pct']:g}%) attempted before start; "
                       "variants with a plausible reconstruction of both results: "
                       f"{', '.join(common) or 'none'}; the best reconstructions "
                       f"({best[0].pair}; {best[1].pair}) share only "
                       f"{', '.join(sorted(set.intersection(*best_tests))) or 'no variant'}"),
        "explanation": "The textbook (unpooled) Wald test cannot have produced the suicide-"
                       "attempt p-value at plausible counts; SPSS's logistic-regression Wald test "
                       "reproduces both results. Which variant was used is not stated.",
    }


def _self_harm_denominator(table: pd.DataFrame) -> dict:
    n = published_value("n.total").value
    start = published_value("self_harm.start.pct").value
    best = _best_pair(table, "self_harm")
    starters = round(start / 100 * n)
    used = int(best.n1 + best.n2)
    return {
        "issue": "self_harm_remission_denominator", "kind": "unstated",
        "published": f"{start:g}% of {n:.0f} self-harmed before start; remission 75% vs 63%",
        "arithmetic": (f"{start:g}% x {n:.0f} = {start / 100 * n:.1f}, about {starters} start "
                       f"self-harmers; the reconstruction {best.pair} has {used} in its "
                       f"denominators, so about {starters - used} "
                       f"({100 * (starters - used) / starters:.0f}%) start self-harmers are not "
                       "in the remission rate"),
        "explanation": "Remission was computed among start self-harmers with end-of-treatment "
                       "data; the paper says neither this nor how many lacked end data, so the "
                       "rate is one among patients with an end assessment, not intention-to-"
                       "treat.",
    }


def _p_value_rule() -> dict:
    p1 = published_value("self_harm.remission.p").value
    p2 = published_value("suicide_attempt.remission.p").value
    return {
        "issue": "p_value_reporting_rule", "kind": "inconsistent",
        "published": "\"We report exact p-values for values less than p = 0.1 and greater than "
                     f"p = 0.01\"; p = {p1:g}; p = {p2:g}",
        "arithmetic": f"{p1:g} > 0.1 and {p2:g} > 0.1, yet both are printed exactly",
        "explanation": "The stated rule and the printed p-values disagree (the rule probably "
                       "meant that p below 0.01 is shown as a bound); harmless, but it leaves "
                       "open which p-values were rounded how.",
    }
