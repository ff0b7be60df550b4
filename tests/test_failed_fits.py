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
