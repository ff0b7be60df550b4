"""The intake comparison against outside references.

Frequentist side: R (``tests/data/intake_reference.csv``, written by ``intake_reference.R``
beside it from the bundled register file, with its own baseline rule; the tests do not need
R). Bayesian side: exact conjugate results by numerical integration (SciPy), and simulation
truth at large n for the standardised differences.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, stats

from mbtbayes.compare import concordance_summary
from mbtbayes.compare.intake import (
    DRAWS,
    INTAKE,
    Characteristic,
    bayes_side,
    characteristics,
    intake_questions,
    intake_summary,
    intake_table,
    posterior_draws,
)
from mbtbayes.compare.table import assemble, layer_counts
from mbtbayes.core.arviz_api import hdi
from mbtbayes.core.errors import DataError
from mbtbayes.io.register import load_register

REFERENCE = Path(__file__).parents[1] / "data" / "intake_reference.csv"
FISHER_R = 0.02757699794


@pytest.fixture(scope="module")
def bundled() -> pd.DataFrame:
    return load_register().data


@pytest.fixture(scope="module")
def table(bundled: pd.DataFrame) -> pd.DataFrame:
    return intake_table(bundled)


def _reference() -> pd.DataFrame:
    return pd.read_csv(REFERENCE).set_index("characteristic")


def test_every_intake_characteristic_of_the_register_is_a_row(table: pd.DataFrame) -> None:
    expected = {"gender", "age", "occupation", "substance_use", "aggression", "bpd_criteria",
                "self_harm_start", "suicide_attempt_start", "self_harm_lifetime",
                "suicide_attempt_lifetime", "bsi", "cip", "wsas", "gaf", "sipp_self_control",
                "sipp_identity", "sipp_responsibility", "sipp_relational",
                "sipp_social_concordance", "eq_vas"}
    assert set(table["characteristic"]) - {"continuous characteristics jointly"} == expected
    # course of treatment is not intake
    assert not {"dropout", "duration_months", "self_harm_end"} & set(table["characteristic"])
    rows = table[table["kind"] != "multivariate"]
    assert ((rows["n_I"] + rows["missing_I"]) == 96).all()
    assert ((rows["n_II"] + rows["missing_II"]) == 89).all()


def test_frequentist_tests_match_r(table: pd.DataFrame) -> None:
    ref = _reference()
    for r in table[table["kind"] != "multivariate"].itertuples(index=False):
        want = ref.loc[r.characteristic]
        assert r.statistic == pytest.approx(want.statistic, rel=1e-8), r.characteristic
        assert r.df == pytest.approx(want.df, rel=1e-8), r.characteristic
        assert r.p_value == pytest.approx(want.p_value, rel=1e-7), r.characteristic
    multi = table[table["kind"] == "multivariate"].iloc[0]
    assert multi.statistic == pytest.approx(ref.loc["manova", "statistic"], rel=1e-8)
    assert multi.p_value == pytest.approx(ref.loc["manova", "p_value"], rel=1e-7)
    assert multi.n_I + multi.n_II == ref.loc["manova_n", "statistic"]
    assert multi.n_I + multi.n_II + multi.missing_I + multi.missing_II == 185


def test_bonferroni_threshold_counts_each_test_once(table: pd.DataFrame) -> None:
    n_tests = 21  # 20 characteristics and the MANOVA
    assert table["bonferroni_threshold"].iloc[0] == pytest.approx(0.05 / n_tests)
    assert (table["significant_bonferroni"] == (table["p_value"] < 0.05 / n_tests)).all()


def test_fisher_replaces_chi_square_when_a_cell_is_expected_below_5(bundled) -> None:
    data = bundled.copy()
    ids = data.loc[data["period"] == "II", "patient_id"].unique()[:2]
    data.loc[data["patient_id"].isin(ids), "gender"] = "other"  # two women: 0 vs 2 "other"
    row = intake_table(data).query("characteristic == 'gender'").set_index("level")
    assert list(row.index) == ["female", "male", "other"]  # three levels: a row per level
    assert row["test"].str.startswith("Fisher exact test, 3 x 2").all()
    assert [round(row.loc[lv, "mean_II"] * 89) for lv in row.index] == [76, 11, 2]
    # R: fisher.test(matrix(c(92, 4, 0, 76, 11, 2), ncol = 2))$p.value
    assert row["p_value"].iloc[0] == pytest.approx(FISHER_R, rel=1e-8)


def test_beta_binomial_difference_matches_exact_integration(table: pd.DataFrame) -> None:
    r = table.set_index("characteristic").loc["self_harm_start"]
    x1, n1, x2, n2 = round(r.mean_I * r.n_I), r.n_I, round(r.mean_II * r.n_II), r.n_II
    one, two = stats.beta(1 + x1, 1 + n1 - x1), stats.beta(1 + x2, 1 + n2 - x2)
    exact_up = integrate.quad(lambda p: one.pdf(p) * two.sf(p), 0, 1)[0]
    tol = 4 * np.sqrt(exact_up * (1 - exact_up) / DRAWS)
    assert r.p_ii_higher == pytest.approx(exact_up, abs=tol)
    assert r.p_ii_more_severe == pytest.approx(exact_up, abs=tol)  # more severe if yes
    assert r.diff_mean == pytest.approx(two.mean() - one.mean(), abs=4 * 0.05 / np.sqrt(DRAWS))
    mass = _exact_mass(one, two, r.diff_hdi_low, r.diff_hdi_high, support=(0, 1))
    assert mass == pytest.approx(0.95, abs=4 * np.sqrt(0.95 * 0.05 / DRAWS) + 0.002)


def _exact_mass(one, two, low: float, high: float, *, support: tuple) -> float:
    """P(low <= X2 - X1 <= high) for independent X1 ~ one, X2 ~ two, by integration."""
    def cdf(t: float) -> float:
        return integrate.quad(lambda x: one.pdf(x) * two.cdf(x + t), *support, limit=200)[0]
    return cdf(high) - cdf(low)


def test_normal_reference_posterior_matches_student_t(table: pd.DataFrame,
                                                      bundled: pd.DataFrame) -> None:
    """Under p(mu, sigma) ~ 1/sigma the posterior of each mean is t_{n-1}(ybar, s / sqrt(n))."""
    r = table.set_index("characteristic").loc["bpd_criteria"]
    patients = bundled.drop_duplicates("patient_id")
    dists = []
    for p in ("I", "II"):
        v = patients.loc[patients["period"] == p, "bpd_criteria"].to_numpy(float)
        dists.append(stats.t(len(v) - 1, loc=v.mean(), scale=v.std(ddof=1) / np.sqrt(len(v))))
    lo, hi = (dists[0].ppf(1e-9), dists[0].ppf(1 - 1e-9))
    exact_up = integrate.quad(lambda x: dists[0].pdf(x) * dists[1].sf(x), lo, hi)[0]
    assert r.p_ii_higher == pytest.approx(exact_up, abs=4 * np.sqrt(0.25 / DRAWS) + 1e-4)
    mass = _exact_mass(dists[0], dists[1], r.diff_hdi_low, r.diff_hdi_high, support=(lo, hi))
    assert mass == pytest.approx(0.95, abs=4 * np.sqrt(0.95 * 0.05 / DRAWS) + 0.002)
    # GAF: higher is better, so Period II's lower mean is the more severe
    gaf = table.set_index("characteristic").loc["gaf"]
    assert gaf.p_ii_more_severe == pytest.approx(1 - gaf.p_ii_higher)


def _characteristic(kind: str, one: np.ndarray, two: np.ndarray,
                    severe: str = "higher") -> Characteristic:
    return Characteristic("x", "", "x", "patient", kind, severe, {"I": one, "II": two},
                          {"I": 0, "II": 0})


def test_standardised_difference_divides_by_the_mean_of_the_variances() -> None:
    rng = np.random.default_rng(7)
    n = 20_000
    one, two = rng.normal(0.0, 1.0, n), rng.normal(1.0, 3.0, n)
    _, smd = posterior_draws(_characteristic("number", one, two))
    truth = 1.0 / np.sqrt((1.0 + 9.0) / 2)
    assert smd.mean() == pytest.approx(truth, abs=0.02)
    p1, p2 = 0.2, 0.5
    a, b = (rng.random(n) < p1).astype(float), (rng.random(n) < p2).astype(float)
    _, smd = posterior_draws(_characteristic("binary", a, b))
    assert smd.mean() == pytest.approx(0.3 / np.sqrt((0.16 + 0.25) / 2), abs=0.03)


def test_each_decision_can_come_out() -> None:
    """At the study's size (90 per period) a characteristic can be shown within the margin,
    beyond it, or left undecided; the existence reading can go either way."""
    rng = np.random.default_rng(3)
    base = rng.normal(0, 1, 90)
    same = bayes_side(_characteristic("number", base, base[::-1] + 0.0))
    assert same["decision"] == "negligible"
    assert same["reading"] == "no difference shown"
    far = bayes_side(_characteristic("number", base, base + 1.2))
    assert far["decision"] == "difference"
    assert far["reading"] == "Period II more severe"
    lower = bayes_side(_characteristic("number", base, base - 1.2, severe="lower"))
    assert lower["reading"] == "Period II more severe"
    assert lower["p_ii_more_severe"] > 0.999
    between = bayes_side(_characteristic("number", base, base + 0.5))
    assert between["decision"] == "undecided"
    less = bayes_side(_characteristic("number", base, base - 1.2))
    assert less["reading"] == "Period II less severe"


def test_missing_values_are_counted_not_dropped_silently(bundled: pd.DataFrame) -> None:
    data = bundled.copy()
    ids = data.loc[data["period"] == "I", "patient_id"].unique()[:5]
    data.loc[data["patient_id"].isin(ids), "age"] = np.nan
    row = intake_table(data).set_index("characteristic").loc["age"]
    assert (row.n_I, row.missing_I, row.missing_II) == (91, 5, 0)
    multi = intake_table(data).query("kind == 'multivariate'").iloc[0]
    assert multi.missing_I >= 5


def test_a_register_without_intake_columns_is_refused() -> None:
    data = pd.DataFrame({"patient_id": ["a", "b"], "period": ["I", "II"], "months": [0, 0]})
    with pytest.raises(DataError, match="intake"):
        intake_table(data)


def test_concordance_rows_are_counted_apart(table: pd.DataFrame) -> None:
    rows = assemble(intake_questions(table))
    assert (rows["role"] == INTAKE).all()
    assert len(rows) == len(table) - 1
    counts = {(c.layer, c.part): c for c in layer_counts(rows)}
    assert ("existence", "primary questions") not in counts
    intake = counts[("existence", "intake characteristics")]
    agree = (rows["frequentist_existence"] == rows["bayes_existence"]).sum()
    assert (intake.agreed, intake.counted) == (agree, len(rows))
    assert "intake characteristics" in concordance_summary(rows)
    # the TOST of a mean difference uses Welch's SE and df: its 90% CI is Welch's
    r = rows.set_index("subject").loc["BPD criteria met (0-9)"]
    t = table.set_index("label").loc["BPD criteria met (0-9)"]
    q = stats.t(t.df).ppf(0.95)
    assert r.tost_ci_low == pytest.approx(t.difference - q * t.se, rel=1e-10)
    welch_se = (t.ci_high - t.ci_low) / (2 * stats.t(t.df).ppf(0.975))
    assert t.se == pytest.approx(welch_se, rel=1e-8)


def test_summary_names_what_differs(table: pd.DataFrame) -> None:
    text = intake_summary(table)
    assert "BPD criteria met (0-9)" in text.splitlines()[0]
    assert "Pillai" in text


def test_hdi_of_draws_is_what_the_table_reports(table: pd.DataFrame) -> None:
    chars = {c.name: c for c in characteristics(load_register().data)}
    diff, _ = posterior_draws(chars["age"])
    low, high = hdi(diff)
    r = table.set_index("characteristic").loc["age"]
    assert (r.diff_hdi_low, r.diff_hdi_high) == pytest.approx((low, high))


def test_paper_layout_marks_significance_and_the_margin(table: pd.DataFrame) -> None:
    from mbtbayes.report.paper_tables import intake_paper_table

    paper = intake_paper_table(table).set_index("characteristic")
    bpd = paper.loc["BPD criteria met (0-9)"]
    assert bpd["p"].endswith("**")  # below 0.05 / 21
    assert paper.loc["GAF, baseline", "p"].endswith("*")
    assert not paper.loc["GAF, baseline", "p"].endswith("**")
    assert paper.loc["Age (years)", "decision"] == "within +-0.5 SD"
    assert paper.loc["Age (years)", "Period I"] == "23.9 (3.0)"
    assert paper.loc["Substance use", "Period II"] == "31 (35%)"
    assert paper.index[-1].endswith("(MANOVA)")
