"""The two engines fit the same model: the marginal graph's log-density equals the Bambi
model's with the patient effects integrated out numerically; engine choice and refusals.

The slow test fits the bsi and gaf period models with both engines on the bundled register and
compares every fixed effect, SD and sigma (reference: each other, within 4 Monte Carlo SEs).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, stats

import mbtbayes as mb
from mbtbayes.core.errors import SpecError
from mbtbayes.growth.bambi_engine import BambiEngine
from mbtbayes.growth.design import make_design, prior_values
from mbtbayes.growth.engine_choice import resolve_engine
from mbtbayes.growth.marginal import build_model


@pytest.fixture(scope="module")
def few_patients() -> pd.DataFrame:
    return pd.DataFrame({
        "patient_id": ["a", "a", "a", "b", "b", "c", "c", "c", "c"],
        "period": ["I", "I", "I", "II", "II", "I", "I", "I", "I"],
        "months": [0.0, 6, 18, 0, 12, 0, 6, 12, 24],
        "bsi": [2.1, 1.8, 1.2, 2.6, 2.2, 1.0, 1.1, 0.7, 0.9]})


def test_marginal_graph_equals_bambi_graph_with_patient_effects_integrated_out(few_patients):
    """Reference: Bambi's own PyMC graph (pointwise likelihood given patient effects), with
    each patient's intercept and slope integrated out on a grid by Simpson's rule."""
    spec = mb.load_specs()["bsi"]
    design = make_design(spec, few_patients, variant="period")
    beta, sd0, sd1, sigma = np.array([1.9, -0.03, 0.2, 0.01]), 0.5, 0.03, 0.35
    marginal = build_model(design, prior_values(spec, design), correlated=False)
    point = marginal.initial_point()
    point["beta"] = np.concatenate([beta, np.zeros(point["beta"].size - beta.size)])
    point["sd_intercept_log__"], point["sd_slope_log__"] = np.log(sd0), np.log(sd1)
    point["sigma_log__"] = np.log(sigma)
    want = float(marginal.compile_logp(vars=marginal.potentials)(point))

    model = BambiEngine().build(spec, design, variant="period")
    model.build()
    graph = model.backend.model
    pointwise = graph.compile_fn(graph.logp(vars=graph.observed_RVs, sum=False)[0],
                                 inputs=graph.value_vars, on_unused_input="ignore")
    base = {"Intercept": beta[0], "months": beta[1], "period": beta[2:3],
            "months:period": beta[3:4], "sigma_log__": np.log(sigma),
            "1|patient_id_sigma_log__": np.log(sd0), "months|patient_id_sigma_log__": np.log(sd1)}
    patients = list(graph.coords["patient_id__factor_dim"])
    u0 = np.linspace(-6 * sd0, 6 * sd0, 121)
    u1 = np.linspace(-6 * sd1, 6 * sd1, 121)
    total = 0.0
    for i, patient in enumerate(patients):
        rows = (design.frame["patient_id"] == patient).to_numpy()
        grid = np.empty((u0.size, u1.size))
        for a, x0 in enumerate(u0):
            for b, x1 in enumerate(u1):
                off0, off1 = np.zeros(len(patients)), np.zeros(len(patients))
                off0[i], off1[i] = x0 / sd0, x1 / sd1
                values = pointwise(base | {"1|patient_id_offset": off0,
                                           "months|patient_id_offset": off1})
                grid[a, b] = values[rows].sum()
        log_f = grid + stats.norm(0, sd0).logpdf(u0)[:, None] + stats.norm(0, sd1).logpdf(u1)
        top = log_f.max()
        total += top + np.log(integrate.simpson(integrate.simpson(np.exp(log_f - top), x=u1),
                                                x=u0))
    assert total == pytest.approx(want, abs=1e-6)


def test_auto_chooses_per_spec_and_a_forced_engine_must_fit():
    specs = mb.load_specs()
    assert {resolve_engine(s) for s in specs.values()} == {"marginal"}
    t = mb.make_spec(outcome="bsi", time="months", group="patient_id", period="period",
                     range=(0, 4), family="t")
    assert resolve_engine(t) == "bambi"
    reg = mb.load_register()
    with pytest.raises(SpecError, match="marginal engine cannot fit family 't'"):
        mb.fit_growth(t, reg.data, engine="marginal")
    with pytest.raises(SpecError, match="engine must be one of"):
        mb.fit_growth(t, reg.data, engine="stan")


GROWTH_TERMS = ("Intercept", "months", "period[II]", "months:period[II]", "sd_intercept",
                "sd_slope", "sigma")


@pytest.mark.slow
def test_engines_agree_on_the_bundled_register():
    """bsi and gaf period models (uncorrelated: the Bambi engine does not fit correlated patient
    effects), both engines: every fixed effect, SD and sigma within 4 combined Monte Carlo SEs
    (each SD / sqrt(bulk ESS); 4 chains x 3000 draws; a fixed 0.1 posterior SD was only 3.6
    MCSEs for Bambi's sd_slope), posterior SDs within 10% (relative MCSE below 2%)."""
    import dataclasses
    import time

    from mbtbayes.growth.engines import engines_for
    from mbtbayes.growth.summaries import growth_table

    reg = mb.load_register()
    specs = mb.load_specs()
    engines = engines_for(mb.SamplerOptions(draws=3000, tune=1000, chains=4))
    worst, seconds = [], {}
    for name in ("bsi", "gaf"):
        spec = dataclasses.replace(specs[name], correlated=False)
        fits = {}
        for engine in ("marginal", "bambi"):
            start = time.perf_counter()
            fits[engine] = mb.fit_growth(spec, reg.data, variant="period", engine=engine,
                                         engines=engines)
            seconds[(name, engine)] = time.perf_counter() - start
            assert fits[engine].diagnostics.passed, (name, engine, fits[engine].diagnostics)
        table = growth_table(list(fits.values())).set_index(["engine", "term"])
        for term in GROWTH_TERMS:
            m, b = table.loc[("marginal", term)], table.loc[("bambi", term)]
            se = np.hypot(m["sd"] / np.sqrt(m["ess_bulk"]), b["sd"] / np.sqrt(b["ess_bulk"]))
            z = abs(m["mean"] - b["mean"]) / se
            worst.append((z, name, term))
            assert z < 4, (name, term, m["mean"], b["mean"], se)
            assert b["sd"] == pytest.approx(m["sd"], rel=0.1), (name, term)
    print(f"worst disagreement {max(worst)}; seconds per fit {seconds}")
