"""The concordance, layer by layer, on constructed inputs whose answers are known.

References: SciPy's normal and Beta distributions and hand algebra (Wald combinations and
intervals, 90% and 95% normal quantiles), the paper's published p-values (binary questions on
the synthetic register), hand counts for the summary, and inputs built so that each layer's
answer follows from its stated rule.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from mbtbayes.compare import (
    assemble,
    binary_questions,
    concordance_summary,
    growth_questions,
    layer_counts,
    model_choice_questions,
)
from mbtbayes.compare.questions import _combination, aic_choice, loo_choice
from mbtbayes.core.decisions import (
    DIFFERENCE,
    NEGLIGIBLE,
    NONZERO,
    NOT_SHOWN_NEGLIGIBLE,
    UNDECIDED,
)
from mbtbayes.growth.specs import make_spec

Z90, Z95 = stats.norm.ppf(0.95), stats.norm.ppf(0.975)


def test_linear_combination_matches_hand_algebra():
    class Result:
        fixed = pd.DataFrame({"term": ["a", "b"], "estimate": [1.0, 2.0]})
        fixed_cov = pd.DataFrame([[0.04, 0.01], [0.01, 0.09]], index=["a", "b"],
                                 columns=["a", "b"])

    got = _combination(Result(), {"a": 1.0, "b": 1.0})
    se = np.sqrt(0.04 + 0.09 + 2 * 0.01)
    assert got["estimate"] == 3.0 and got["se"] == pytest.approx(se)
    assert got["p_value"] == pytest.approx(2 * stats.norm.sf(3 / se))
    assert got["ci_low"] == pytest.approx(3 - Z95 * se)


# ---------------------------------------------------------------- growth rows on fakes


@dataclass
class _Diagnostics:
    passed: bool
    reason: str = ""


@dataclass
class _Fit:
    spec: object
    beta_draws: pd.DataFrame
    diagnostics: _Diagnostics
    variant: str = "period"

    def beta(self) -> pd.DataFrame:
        return self.beta_draws


class _ML:
    converged, note = True, ""  # an ML fit that passed lme4's checks, not singular

    def __init__(self, estimates: dict[str, float], ses: dict[str, float]) -> None:
        self.fixed = pd.DataFrame({"term": list(estimates), "estimate": list(estimates.values())})
        self.fixed_cov = pd.DataFrame(np.diag([s**2 for s in ses.values()]),
                                      index=list(ses), columns=list(ses))


def _growth_rows(estimates: dict, ses: dict, *, rope: float, passed: object = True) -> dict:
    """Growth rows whose posterior is the normal N(estimate, se) (a flat-prior posterior)."""
    spec = make_spec(outcome="y", time="months", group="id", period="period", range=(0, 10),
                     rope_half_width=rope, rope_source="constructed for the test",
                     d_months=(0.0, 24.0))
    rng = np.random.default_rng(11)
    beta = pd.DataFrame({k: rng.normal(v, ses[k], 200_000) for k, v in estimates.items()})
    fit = _Fit(spec, beta, _Diagnostics(passed))
    rows = growth_questions([fit], {(spec.name, "period"): _ML(estimates, ses)}, pd.DataFrame())
    return {r["question"].split(" (")[0].split(",")[-1].strip(): r for r in rows}


CHANGE, INTAKE = "difference in change 0-24 months", "intake difference at month 0"


def test_growth_rows_layers_and_margin_per_month():
    # intake difference 0.5 +- 0.1 (margin 0.24): clearly nonzero and outside the margin;
    # slope contrast 0.001 +- 0.002 per month, so a difference in change 0.024 +- 0.048 over
    # 24 months, inside the margin 0.24 on both sides (90% CI 0.024 +- 0.079);
    # Period I slope -0.012 +- 0.004 per month: p = 0.0027, its 90% interval
    # [-0.0186, -0.0054] reaches into the per-month margin 0.24 / 24 = 0.01.
    rows = _growth_rows({"period[II]": 0.5, "months": -0.012, "months:period[II]": 0.001},
                        {"period[II]": 0.1, "months": 0.004, "months:period[II]": 0.002},
                        rope=0.24)
    intake = rows[INTAKE]
    assert intake["role"] == "primary" and intake["margin"] == 0.24
    assert intake["frequentist_estimate"] == 0.5  # II - I: the period[II] coefficient
    assert intake["bayes_estimate"] == pytest.approx(0.5, abs=0.002)
    assert intake["frequentist_existence"] == intake["bayes_existence"] == NONZERO
    assert intake["frequentist_equivalence"] == NOT_SHOWN_NEGLIGIBLE
    assert intake["bayes_equivalence"] == DIFFERENCE and intake["agree_equivalence"]
    change = rows[CHANGE]
    assert change["role"] == "primary" and change["margin"] == 0.24
    assert change["frequentist_estimate"] == pytest.approx(0.024)  # 24 x the slope contrast
    assert change["bayes_estimate"] == pytest.approx(0.024, abs=0.001)
    assert change["tost_ci_high"] == pytest.approx(0.024 + Z90 * 24 * 0.002)
    assert change["hdi90_high"] == pytest.approx(0.024 + Z90 * 24 * 0.002, abs=0.002)
    assert change["frequentist_equivalence"] == change["bayes_equivalence"] == NEGLIGIBLE
    assert change["agree_equivalence"] and change["agree_existence"]
    assert change["equivalence_decidable"]
    inside = stats.norm.cdf(0.24, 0.024, 0.048) - stats.norm.cdf(-0.24, 0.024, 0.048)
    assert change["p_rope"] == pytest.approx(inside, abs=0.002)
    first = rows["Period I"]
    assert first["role"] == "within-period slope"
    assert first["margin"] == pytest.approx(0.01) and "/ 24 months" in first["margin_basis"]
    assert first["p_value"] == pytest.approx(2 * stats.norm.sf(3.0))
    assert first["frequentist_existence"] == first["bayes_existence"] == NONZERO
    assert first["hdi90_low"] == pytest.approx(-0.012 - Z90 * 0.004, abs=3e-4)
    assert first["bayes_equivalence"] == UNDECIDED  # 90% HDI 0.013 wide fits in +-0.01
    assert first["frequentist_equivalence"] == NOT_SHOWN_NEGLIGIBLE
    assert first["agree_existence"] and first["agree_equivalence"]


def test_equivalence_compares_the_90_percent_intervals():
    """A difference in change 0 +- 0.096 (slope contrast SE 0.004 x 24) against the margin
    0.17: the 90% intervals (+-0.158) lie inside it, the 95% HDI (+-0.188) does not. At one
    error rate both sides say negligible; the 95% HDI of the old rule would not have."""
    rows = _growth_rows({"period[II]": 0.0, "months": -0.01, "months:period[II]": 0.0},
                        {"period[II]": 0.1, "months": 0.004, "months:period[II]": 0.004},
                        rope=0.17)
    change = rows[CHANGE]
    assert change["hdi_high"] > 0.17 > change["hdi90_high"]  # the test's premise
    assert change["tost_ci_high"] == pytest.approx(Z90 * 0.096)
    assert change["frequentist_equivalence"] == change["bayes_equivalence"] == NEGLIGIBLE
    assert change["agree_equivalence"]
    assert "vs 90% HDI inside +-0.17" in change["decision_rule"]


def test_growth_rows_without_rope_leave_the_equivalence_layer_empty(monkeypatch):
    from mbtbayes.compare import questions

    monkeypatch.setattr(questions, "_rope_half_width", lambda spec, data: (0.0, "none"))
    rows = _growth_rows({"period[II]": 0.5, "months": -0.1, "months:period[II]": 0.0},
                        {"period[II]": 0.1, "months": 0.01, "months:period[II]": 0.01}, rope=1.0)
    table = assemble(list(rows.values()))
    assert table["agree_equivalence"].isna().all()
    assert table["decision_rule"].str.contains("not assessed").all()
    assert table["agree_existence"].notna().all()


def test_failed_fit_is_flagged_with_its_reason():
    rows = _growth_rows({"period[II]": 0.5, "months": -0.1, "months:period[II]": 0.0},
                        {"period[II]": 0.1, "months": 0.01, "months:period[II]": 0.01},
                        rope=0.2, passed=None)
    table = assemble(list(rows.values()))
    assert not table["passed"].any()
    assert table["reason"].str.contains("diagnostics missing").all()


# ---------------------------------------------------------------- binary rows, constructed


def _remission(counts: dict, post: dict, passed=True, prior="Beta(1, 1)") -> pd.DataFrame:
    """A remission table: counts per period, the II - I posterior summary, the prior."""
    rows = [{"behaviour": "self_harm", "period": p, "model": "beta_binomial",
             "n_remitted": k, "n_at_risk": n, "passed": passed, "prior": prior, **post}
            for p, (k, n) in counts.items()]
    return pd.DataFrame(rows)


def _post(mean, low, high, worse):
    return {"p_period_diff": mean, "p_diff_hdi_low": low, "p_diff_hdi_high": high,
            "prob_ii_worse": worse}


def test_existence_disagreement_is_explained():
    # 300/400 vs 330/400: difference 0.075, logistic Wald p ~ 0.015; a Bayesian HDI that
    # reaches 0 (constructed) must disagree in the existence layer only.
    table = assemble(binary_questions(remission=_remission(
        {"I": (300, 400), "II": (330, 400)}, _post(0.07, -0.002, 0.14, 0.03))))
    row = table.iloc[0]
    assert row["p_value"] < 0.05 and row["frequentist_existence"] == NONZERO
    assert not row["agree_existence"]
    assert "includes 0" in row["explanation"]
    assert row["agree_equivalence"]  # neither side shows it negligible


def test_equivalence_disagreement_is_explained():
    """60/100 vs 66/100 under a Beta(500, 500) prior on each proportion: the posterior
    difference is 0.0055 with SD 0.0213 (SciPy's Beta moments), so its 90% HDI [-0.030,
    0.040] lies inside +-0.05, while the Wald TOST's 90% CI [-0.052, 0.172] does not: the
    prior disagrees. Only the Bayesian side is decidable (its 90% HDI, 0.070 wide, fits in
    the margin's 0.1; the TOST's, 0.224, does not)."""
    a = 500
    table = assemble(binary_questions(remission=_remission(
        {"I": (60, 100), "II": (66, 100)}, _post(0.0055, -0.036, 0.047, 0.4),
        prior=f"Beta({a}, {a}) on each remission probability")))
    row = table.iloc[0]
    one, two = stats.beta(a + 60, a + 40), stats.beta(a + 66, a + 34)
    sd = np.sqrt(one.var() + two.var())
    assert row["hdi90_low"] == pytest.approx(two.mean() - one.mean() - Z90 * sd, abs=0.001)
    assert row["hdi90_high"] == pytest.approx(two.mean() - one.mean() + Z90 * sd, abs=0.001)
    se = np.sqrt(0.6 * 0.4 / 100 + 0.66 * 0.34 / 100)
    assert row["tost_ci_low"] == pytest.approx(0.06 - Z90 * se)
    assert row["bayes_equivalence"] == NEGLIGIBLE != row["frequentist_equivalence"]
    assert not row["agree_equivalence"] and row["agree_existence"]
    assert row["tost_ci_high"] - row["tost_ci_low"] > 0.1 > row["hdi90_high"] - row["hdi90_low"]
    assert row["equivalence_decidable"]  # the Bayesian side could (and did) show it
    assert "posterior is narrower" in row["explanation"]


def test_equivalence_counts_only_decidable_questions():
    """30/40 vs 31/40: the 90% intervals are about 0.3 wide against a margin 0.1 wide, so
    neither side could show equivalence; that agreement is not counted."""
    table = assemble(binary_questions(remission=_remission(
        {"I": (30, 40), "II": (31, 40)}, _post(0.02, -0.17, 0.21, 0.4))))
    row = table.iloc[0]
    assert row["hdi90_high"] - row["hdi90_low"] > 0.1
    assert row["tost_ci_high"] - row["tost_ci_low"] > 0.1
    assert row["agree_equivalence"] and not row["equivalence_decidable"]
    text = concordance_summary(table)
    assert "- equivalence, decidable questions" in text and "agree on 0 of 0; 1 more" in text


def test_missing_passed_counts_as_not_passed():
    table = assemble(binary_questions(remission=_remission(
        {"I": (30, 40), "II": (31, 40)}, _post(0.02, -0.17, 0.21, 0.4), passed=np.nan)))
    assert table["passed"].tolist() == [False]
    assert "diagnostics missing" in table.loc[0, "reason"]
    assert "failed the diagnostics gate" in concordance_summary(table)


def test_binary_questions_reproduce_the_papers_p_values(synthetic):
    """On the synthetic register (counts 41/55 vs 27/43, 17/19 vs 13/15) the remission rows
    carry the paper's p = 0.212 and 0.801."""
    from mbtbayes.binary.adherence import adherence_table
    from mbtbayes.binary.change import start_end_change
    from mbtbayes.binary.remission import remission_table

    rows = assemble(binary_questions(
        remission_table(synthetic, models=("beta_binomial",)),
        start_end_change(synthetic, models=("dirichlet",)), adherence_table(synthetic)))
    remission = rows[rows["question"] == "remission difference (II - I)"].set_index("subject")
    assert round(remission.loc["self_harm", "p_value"], 3) == 0.212
    assert round(remission.loc["suicide_attempt", "p_value"], 3) == 0.801
    assert (remission["frequentist_existence"] == "zero not excluded").all()
    change = rows[rows["question"].str.startswith("start-end change")]
    assert len(change) == 4 and (change["p_value"] < 0.001).sum() >= 2
    assert "drop-out difference (II - I)" in set(rows["question"])
    assert rows["agree_existence"].notna().all() and rows["agree_equivalence"].notna().all()
    assert rows["passed"].all()


# ---------------------------------------------------------------- model choice


def _comparison(**overrides) -> pd.DataFrame:
    """Four measures whose verdicts follow by hand from the rules (AIC in ELPD units)."""
    base = {"measure": ["x", "y", "z", "w"], "aic_linear": [100.0, 100.0, 100.0, 100.0],
            "aic_period": [90.0, 101.0, 103.8, 103.0], "lrt_chi2": [14.0, 3.0, 0.2, 1.0],
            "lrt_df": [2, 2, 2, 2], "lrt_p_value": [0.0009, 0.22, 0.9, 0.6],
            "elpd_diff": [0.5, -0.2, -1.9, -6.0], "elpd_diff_se": [1.0, 0.5, 0.4, 1.0],
            "p_loo_linear": [5.0, 5.0, 4.4, 5.0], "p_loo_period": [7.0, 7.0, 6.3, 7.0],
            "max_pareto_k": [0.3, 0.3, 0.9, 0.3], "loo_reliable": [True, True, False, True],
            "passed": [True, True, True, True]}
    return pd.DataFrame(base | overrides)


def _factors() -> pd.DataFrame:
    """Bayes factors BF10 at the period priors' SDs x 0.5, 1, 2 (none for w)."""
    values = {"x": (2.0, 0.5, 0.2), "y": (0.1, 0.05, 0.02), "z": (4.0, 5.0, 6.0)}
    return pd.DataFrame([{"measure": m, "prior_scale": c, "bf10": bf, "log_bf10": np.log(bf),
                          "log_bf10_mcse": 0.01, "density_method": "rao_blackwell",
                          "passed": True, "reason": ""}
                         for m, bfs in values.items()
                         for c, bf in zip((0.5, 1.0, 2.0), bfs, strict=True)])


def test_predictive_choice_reads_aic_and_loo_with_the_same_4_unit_rule():
    table = assemble(model_choice_questions(_comparison())).set_index("subject")
    # Delta-AIC / 2 = 5, -0.5, -1.9, -1.5 ELPD units: only x reaches 4
    assert table["aic_elpd_diff"].tolist() == pytest.approx([5.0, -0.5, -1.9, -1.5])
    assert table["frequentist_predictive_choice"].tolist() == ["period", "no difference",
                                                               "no difference", "no difference"]
    # LOO: 0.5 (under 4), -0.2, -1.9 (under 4, though beyond 2 SE), -6 (beyond 4 and 2 SE)
    assert table["bayes_predictive_choice"].tolist() == ["no difference", "no difference",
                                                         "no difference", "linear"]
    assert table["agree_predictive_choice"].tolist() == [False, True, True, False]
    # the lead of the linear model is at least half its 2-parameter penalty for y and z
    assert table["lpd_diff"].tolist() == pytest.approx([2.5, 1.8, 0.0, -4.0])
    assert table["loo_penalty_only"].tolist() == [False, True, True, False]
    # no +-2 SE in the HDI columns, no LRT p-value in the existence layer's p_value
    assert table[["hdi_low", "hdi_high", "p_value"]].isna().all().all()
    assert table[["agree_existence", "agree_equivalence"]].isna().all().all()
    assert table.loc["z", "passed"] == False  # noqa: E712 (LOO unreliable)
    assert "Pareto k 0.90" in table.loc["z", "reason"]
    assert "Delta-AIC / 2" in table.loc["x", "explanation"]
    assert "Cross-validation FAQ" in table.loc["x", "decision_rule"]


def test_predictive_rule_at_its_edges():
    assert loo_choice(4.0, 1.9) == "period" and loo_choice(4.0, 2.0) == "no difference"
    assert loo_choice(3.99, 0.1) == "no difference" and loo_choice(-4.0, 1.0) == "linear"
    assert aic_choice(8.0) == "period" and aic_choice(7.99) == "no difference"


def test_tested_choice_sets_the_lrt_against_the_bayes_factor():
    table = assemble(model_choice_questions(_comparison(), bayes_factors=_factors()))
    table = table.set_index("subject")
    assert table["frequentist_tested_choice"].tolist() == ["period"] + ["linear not rejected"] * 3
    assert table["bayes_tested_choice"].fillna("").tolist() == ["inconclusive", "linear",
                                                                "period", ""]
    assert table["agree_tested_choice"].tolist()[:3] == [False, True, False]
    assert pd.isna(table.loc["w", "agree_tested_choice"])  # no Bayes factor for w
    assert table.loc["x", "bf10"] == 0.5 and table.loc["x", "bf10_half_prior_sd"] == 2.0
    assert table.loc["x", "bf10_double_prior_sd"] == 0.2
    # x: inconclusive at x 0.5 and x 1, linear at x 2; y and z keep their decision
    assert table["bf_prior_sensitive"].tolist()[:3] == [True, False, False]
    assert "Jeffreys-Lindley" in table.loc["x", "explanation"]
    assert "does not reject the linear" in table.loc["z", "explanation"]


def test_summary_counts_each_layer_and_explains_each_disagreement():
    rows = model_choice_questions(_comparison(), bayes_factors=_factors()) + binary_questions(
        remission=_remission({"I": (300, 400), "II": (330, 400)},
                             _post(0.07, -0.002, 0.14, 0.03)))
    text = concordance_summary(assemble(rows))
    assert "- existence, primary questions (p < 0.05" in text and "agree on 0 of 1." in text
    # 90% CI width 2 x 1.645 x 0.0288 = 0.095 fits in the margin 0.1: decidable
    assert "- equivalence, decidable questions (" in text and "agree on 1 of 1." in text
    assert "- predictive choice, measures (" in text and "agree on 2 of 4." in text
    assert "- tested choice, measures (" in text and "agree on 1 of 3." in text
    assert "within-period" not in text  # no slope rows here
    assert "Disagreement, model choice (linear vs period), x: predictive choice:" in text
    assert "Disagreement, remission difference (II - I), self_harm: existence:" in text
    assert "On 2 measures (y, z) LOO's lead for the linear model" in text
    assert "On 1 measure (x) the Bayes factor's decision changes" in text


def test_layer_counts_keep_within_period_slopes_apart():
    rows = _growth_rows({"period[II]": 0.5, "months": -0.012, "months:period[II]": 0.0},
                        {"period[II]": 0.1, "months": 0.004, "months:period[II]": 0.002},
                        rope=0.24)
    counts = {(c.layer, c.part): (c.agreed, c.counted, c.apart)
              for c in layer_counts(assemble(list(rows.values())))}
    assert counts[("existence", "primary questions")] == (2, 2, 0)
    assert counts[("existence", "within-period slopes")] == (2, 2, 0)
    # every 90% interval here fits in its margin: all four are decidable
    assert counts[("equivalence", "decidable questions")] == (4, 4, 0)


# ---------------------------------------------------------------- unlike models


def _spec(**kwargs):
    return make_spec(outcome="y", time="months", group="id", period="period", range=(0, 10),
                     rope_half_width=0.24, rope_source="constructed for the test", **kwargs)


def test_unlike_reasons_name_each_way_a_spec_differs_from_the_ml_model():
    from mbtbayes.compare.frequentist import unlike_reasons

    assert unlike_reasons(_spec()) == ()
    assert unlike_reasons(_spec(covariates=("age",))) == ()
    assert unlike_reasons(_spec(correlated=True)) == ()  # the ML fit takes the correlation too
    assert unlike_reasons(_spec(family="t")) == ("t likelihood (ML: Gaussian)",)
    assert unlike_reasons(_spec(sigma="period")) == ("residual SD modelled (ML: constant)",)
    (terms,) = unlike_reasons(_spec(time_terms=("months", "I(months**2)")))
    assert terms.startswith("terms I(months ** 2)") and "linear in months" in terms
    (effects,) = unlike_reasons(_spec(random="intercept"))
    assert effects.startswith("patient effects 1|id")


def test_rows_of_unlike_models_are_marked_and_counted_apart():
    estimates = {"period[II]": 0.5, "months": -0.012, "months:period[II]": 0.0}
    ses = {"period[II]": 0.1, "months": 0.004, "months:period[II]": 0.002}
    rng = np.random.default_rng(11)
    beta = pd.DataFrame({k: rng.normal(v, ses[k], 50_000) for k, v in estimates.items()})
    ml = _ML(estimates, ses)
    like, unlike = _spec(name="like"), _spec(name="robust", family="t")
    rows = growth_questions([_Fit(like, beta, _Diagnostics(True)),
                             _Fit(unlike, beta, _Diagnostics(True))],
                            {("like", "period"): ml, ("robust", "period"): ml}, pd.DataFrame())
    rows += model_choice_questions(_comparison().assign(measure=["robust", "like", "z", "w"]),
                                   unlike={"robust": ("t likelihood (ML: Gaussian)",)})
    table = assemble(rows)
    robust = table[table["subject"] == "robust"]
    assert len(robust) == 5 and not robust["models_alike"].any()
    assert (robust["model_difference"] == "t likelihood (ML: Gaussian)").all()
    assert table.loc[table["subject"] != "robust", "models_alike"].all()
    # the same inputs give the same decisions, so the layers agree on both specs alike
    like_rows = table[table["subject"] == "like"]
    assert (robust["agree_existence"].dropna().to_numpy()
            == like_rows["agree_existence"].dropna().to_numpy()).all()
    text = concordance_summary(table)
    assert "- existence, primary questions (" in text
    assert "agree on 2 of 2; besides, 2 on unlike models (not counted)." in text
    assert "Unlike models for robust: t likelihood (ML: Gaussian)" in text
    # model choice row x (AIC: period, LOO: no difference) disagrees; as 'robust' it is unlike
    choice = table[table["question"].str.startswith("model choice")].set_index("subject")
    assert choice.loc["robust", "explanation"].startswith("unlike models (t likelihood")
    assert not choice.loc["like", "explanation"].startswith("unlike")


def test_a_spline_spec_is_not_compared_coefficient_by_coefficient():
    spec = _spec(name="spline", time_terms=("bs3(months)",))
    beta = pd.DataFrame({"period[II]": [0.1, 0.2], "bs3(months)[0]": [0.0, 0.1]})
    rows = growth_questions([_Fit(spec, beta, _Diagnostics(True))],
                            {("spline", "period"): _ML({"period[II]": 0.1}, {"period[II]": 0.1})},
                            pd.DataFrame())
    table = assemble(rows)
    assert len(table) == 4 and not table["models_alike"].any()
    assert table["reason"].str.startswith("not compared").all()
    assert table[["agree_existence", "agree_equivalence"]].isna().all().all()
