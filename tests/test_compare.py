"""The concordance, layer by layer, on constructed inputs whose answers are known.

References: SciPy's normal distribution and hand algebra (Wald combinations and intervals), the
paper's published p-values (binary questions on the synthetic register), and inputs built so
that each layer's answer follows from its stated rule.
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
    model_choice_questions,
)
from mbtbayes.compare.questions import _combination
from mbtbayes.core.decisions import (
    DIFFERENCE,
    NEGLIGIBLE,
    NONZERO,
    NOT_SHOWN_NEGLIGIBLE,
    TOO_IMPRECISE,
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


def test_growth_rows_layers_and_rope_per_month():
    # intercept difference 0.5 +- 0.1 (ROPE 0.24): clearly nonzero and clearly outside the ROPE;
    # slope difference 0 +- 0.002 (ROPE 0.24 / 24 = 0.01 per month): inside on both sides;
    # Period I slope -0.012 +- 0.004: p = 0.0027 but the interval reaches into the ROPE.
    rows = _growth_rows({"period[II]": 0.5, "months": -0.012, "months:period[II]": 0.0},
                        {"period[II]": 0.1, "months": 0.004, "months:period[II]": 0.002},
                        rope=0.24)
    intercept = rows["period difference in intercept"]
    assert intercept["rope_half_width"] == 0.24
    assert intercept["frequentist_existence"] == intercept["bayes_existence"] == NONZERO
    assert intercept["frequentist_equivalence"] == NOT_SHOWN_NEGLIGIBLE
    assert intercept["bayes_equivalence"] == DIFFERENCE and intercept["agree_equivalence"]
    slope = rows["period difference in slope"]
    assert slope["rope_half_width"] == pytest.approx(0.01)
    assert "/ 24 months" in slope["rope_basis"]
    assert slope["tost_ci_high"] == pytest.approx(Z90 * 0.002)
    assert slope["frequentist_equivalence"] == slope["bayes_equivalence"] == NEGLIGIBLE
    assert slope["agree_equivalence"] and slope["agree_existence"]
    # the case: p < .05 while the HDI touches the ROPE is agreement in both layers now
    first = rows["Period I"]
    assert first["p_value"] == pytest.approx(2 * stats.norm.sf(3.0))
    assert first["frequentist_existence"] == first["bayes_existence"] == NONZERO
    assert first["bayes_equivalence"] in (UNDECIDED, TOO_IMPRECISE)
    assert first["frequentist_equivalence"] == NOT_SHOWN_NEGLIGIBLE
    assert first["agree_existence"] and first["agree_equivalence"]


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


def _remission(counts: dict, post: dict, passed=True) -> pd.DataFrame:
    """A remission table: counts per period and the II - I posterior summary."""
    rows = [{"behaviour": "self_harm", "period": p, "model": "beta_binomial",
             "n_remitted": k, "n_at_risk": n, "passed": passed, **post}
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
    # 500/1000 vs 510/1000: difference 0.01, SE 0.0224, 90% CI [-0.027, 0.047] inside +-0.05;
    # a 95% HDI [-0.035, 0.055] reaching past +0.05 (constructed) disagrees on equivalence.
    table = assemble(binary_questions(remission=_remission(
        {"I": (500, 1000), "II": (510, 1000)}, _post(0.01, -0.035, 0.055, 0.33))))
    row = table.iloc[0]
    se = np.sqrt(0.5 * 0.5 / 1000 + 0.51 * 0.49 / 1000)
    assert row["tost_ci_low"] == pytest.approx(0.01 - Z90 * se)
    assert row["frequentist_equivalence"] == NEGLIGIBLE != row["bayes_equivalence"]
    assert not row["agree_equivalence"] and row["agree_existence"]
    assert "90% interval" in row["explanation"]


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
    base = {"measure": ["x", "y", "z"], "aic_linear": [100.0, 100.0, 100.0],
            "aic_period": [90.0, 101.0, 103.8], "lrt_chi2": [14.0, 3.0, 0.2],
            "lrt_df": [2, 2, 2], "lrt_p_value": [0.0009, 0.22, 0.9],
            "elpd_diff": [0.5, -0.2, -1.9], "elpd_diff_se": [1.0, 0.5, 0.4],
            "max_pareto_k": [0.3, 0.3, 0.9], "loo_reliable": [True, True, False],
            "passed": [True, True, True]}
    return pd.DataFrame(base | overrides)


def test_model_choice_rows():
    table = assemble(model_choice_questions(_comparison())).set_index("subject")
    assert table["frequentist_model_choice"].tolist() == ["period", "no clear preference",
                                                          "no clear preference"]
    assert table["bayes_model_choice"].tolist() == ["no clear preference",
                                                    "no clear preference", "linear"]
    assert table["aic_decision"].tolist() == ["period", "no clear preference",
                                              "no clear preference"]
    assert table["delta_aic"].tolist() == pytest.approx([10.0, -1.0, -3.8])
    assert table["agree_model_choice"].tolist() == [False, True, True]
    # no +-2 SE in the HDI columns, no LRT p-value in the existence layer's p_value
    assert table[["hdi_low", "hdi_high", "p_value"]].isna().all().all()
    assert table[["agree_existence", "agree_equivalence"]].isna().all().all()
    assert table.loc["z", "passed"] == False  # noqa: E712 (LOO unreliable)
    assert "Pareto k 0.90" in table.loc["z", "reason"]
    assert "likelihood-ratio test" in table.loc["x", "explanation"]


def test_summary_counts_each_layer_and_explains_each_disagreement():
    rows = model_choice_questions(_comparison()) + binary_questions(remission=_remission(
        {"I": (300, 400), "II": (330, 400)}, _post(0.07, -0.002, 0.14, 0.03)))
    text = concordance_summary(assemble(rows))
    assert "- existence (p < 0.05" in text and "agree on 0 of 1 questions" in text
    assert "- equivalence (" in text and "agree on 1 of 1 questions" in text
    assert "- model choice (" in text and "agree on 2 of 3 questions" in text
    assert "Disagreement, model choice (linear vs period), x:" in text
    assert "Disagreement, remission difference (II - I), self_harm: existence:" in text
    assert "LOO prefers the linear model" in text


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
    rows += model_choice_questions(_comparison().assign(measure=["robust", "like", "z"]),
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
    n_like = int(table.loc[table["models_alike"], "agree_existence"].notna().sum())
    assert f"agree on {n_like} of {n_like} questions; besides, 4 of 4 questions on" in text
    assert "Unlike models for robust: t likelihood (ML: Gaussian)" in text
    # model choice row x (LRT: period, LOO: neither) disagrees; as 'robust' it is unlike
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
