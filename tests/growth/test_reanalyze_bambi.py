"""A Student-t spec through the whole reanalysis (the command line's steps): every table has
its rows, the diagnostics gate covers the Bambi fits, and the saved fits work with ArviZ."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest


@pytest.mark.slow
def test_reanalyze_with_a_student_t_spec(tmp_path):
    import arviz as az

    from mbtbayes.growth.specs import models_dir
    from mbtbayes.pipeline import reanalyze

    models = tmp_path / "models"  # the Student-t spec alone (examples/ also holds a censored one)
    models.mkdir()
    shutil.copy(models_dir() / "examples" / "bsi_robust.toml", models)
    out = reanalyze(models=models, out=tmp_path / "robust", draws=1000, log=lambda _: None)
    for name in ("growth_models", "period_effects", "effect_sizes", "model_comparison",
                 "diagnostics", "ppc", "trajectories", "variance_explained", "bayes_factors"):
        table = pd.read_csv(out / f"{name}.csv")
        assert len(table) and (table["measure"] == "bsi_robust").all(), name
    diagnostics = pd.read_csv(out / "diagnostics.csv")
    assert (diagnostics["engine"] == "bambi").all() and len(diagnostics) == 2
    models = pd.read_csv(out / "growth_models.csv")
    assert {"nu", "sigma_Intercept", "sigma_period[II]"} <= set(models["term"])
    comparison = pd.read_csv(out / "model_comparison.csv")
    assert comparison["loo_method"].str.contains("quadrature").all()
    factors = pd.read_csv(out / "bayes_factors.csv")  # the Bambi fit's normal approximation
    assert (factors["density_method"] == "normal_approximation").all() and len(factors) == 3
    assert factors["bf10"].notna().all()
    loo = az.loo(az.from_netcdf(out / "fits" / "bsi_robust_period.nc"))
    assert loo.n_data_points > 150
