"""One failed model does not lose the run: its rows say so, every other row is made."""

from __future__ import annotations

import pandas as pd
import pytest

import mbtbayes as mb
from mbtbayes.compare import frequentist as freq
from mbtbayes.compare.questions import model_choice_questions
from mbtbayes.core.errors import ConvergenceError


@pytest.fixture
def failing_bsi_period(monkeypatch):
    real = freq.fit_mixed

    def fit_mixed(data, **kwargs):
        if kwargs["outcome"] == "bsi" and kwargs.get("period"):
            raise ConvergenceError("bsi ~ months * period: the ML optimiser did not converge")
        return real(data, **kwargs)

    monkeypatch.setattr(freq, "fit_mixed", fit_mixed)


def test_a_failed_ml_fit_is_kept_and_flagged_in_every_table(failing_bsi_period):
    specs = {k: v for k, v in mb.load_specs().items() if k in ("bsi", "cip")}
    data = mb.load_register().data
    logged = []
    ml = freq.frequentist_fits(specs, data, log=logged.append)
    assert isinstance(ml[("bsi", "period")], freq.FailedFit)
    assert any("FAILED" in line for line in logged)
    growth = freq.frequentist_growth_table(ml)
    failed = growth[(growth["measure"] == "bsi") & (growth["model"] == "period")]
    assert len(failed) == 1 and not failed["passed"].any()
    assert "did not converge" in failed["reason"].iloc[0]
    assert growth[growth["measure"] == "cip"]["passed"].all()
    aic = freq.aic_table(ml).set_index("measure")
    assert pd.isna(aic.loc["bsi", "aic_period"]) and "did not converge" in aic.loc["bsi",
                                                                                    "ml_reason"]
    assert aic.loc["cip", "aic_period"] > 0
    d = freq.frequentist_effect_sizes(ml, specs, data)
    assert not d[(d["measure"] == "bsi") & (d["model"] == "period")]["passed"].any()


def test_model_choice_row_of_a_failed_fit_says_why():
    comparison = pd.DataFrame({"measure": ["bsi"], "elpd_diff": [1.0], "elpd_diff_se": [2.0],
                               "passed": [True], "aic_linear": [float("nan")],
                               "ml_reason": ["ML fit failed: singular"]})
    row = model_choice_questions(comparison)[0]
    assert row["passed"] is False and row["reason"] == "ML fit failed: singular"
    # the LOO verdict does not need the ML fit: ELPD difference 1.0 is under 4 units
    assert row["bayes_predictive_choice"] == "no difference"
    assert "frequentist_predictive_choice" not in row and "lrt_p_value" not in row


def test_a_fit_failing_lme4s_convergence_checks_is_reported_and_flagged():
    """A fit whose optimum fails lme4's gradient check keeps its values, as lme4 reports it,
    and every row of it says so (passed = False, lme4's message as the reason)."""
    import dataclasses

    specs = {"bsi": mb.load_specs()["bsi"]}
    data = mb.load_register().data
    ml = freq.frequentist_fits(specs, data, log=lambda _: None)
    message = "Model failed to converge with max|grad| = 0.26 (tol = 0.002, component 1)"
    ml[("bsi", "period")] = dataclasses.replace(ml[("bsi", "period")], converged=False,
                                                note=message)
    growth = freq.frequentist_growth_table(ml)
    period = growth[growth["model"] == "period"]
    assert period["estimate"].notna().all() and not period["passed"].any()
    assert (period["reason"] == message).all() and growth[growth["model"] == "linear"][
        "passed"].all()
    d = freq.frequentist_effect_sizes(ml, specs, data)
    assert not d[d["model"] == "period"]["passed"].any()
    aic = freq.aic_table(ml).set_index("measure").loc["bsi"]
    assert aic["aic_period"] > 0 and not aic["ml_passed"]
    assert aic["ml_note"] == f"period: {message}"
    comparison = freq.aic_table(ml).assign(elpd_diff=1.0, elpd_diff_se=2.0, passed=True)
    row = model_choice_questions(comparison)[0]
    assert row["passed"] is False and message in row["reason"]
    assert row["lrt_p_value"] == aic["lrt_p_value"]
