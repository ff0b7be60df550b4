"""What ``mb.sensitivity`` says while it runs: the command line's progress display by default
(a first line, the measure under way with its count, a line per measure done), nothing with
``progress=False``. The fits are constructed (no sampling); reverse-Bayes alone needs none."""

from __future__ import annotations

import numpy as np

import mbtbayes as mb


def _fits(two_period_register, fit_with_draws):
    rng = np.random.default_rng(3)
    specs, fits = {}, []
    for name in ("bsi", "bsi_b"):
        spec = mb.make_spec(outcome="bsi", time="months", group="patient_id", period="period",
                            range=(0, 4), name=name)
        beta = {"Intercept": rng.normal(2.0, 0.05, 400), "months": rng.normal(-0.01, 0.002, 400),
                "period[II]": rng.normal(0.1, 0.05, 400),
                "months:period[II]": rng.normal(0.0, 0.002, 400)}
        specs[name] = spec
        fits.append(fit_with_draws(spec, two_period_register, beta))
    return specs, fits


def test_sensitivity_shows_progress_by_default_and_not_with_progress_false(
        two_period_register, fit_with_draws, capsys):
    specs, fits = _fits(two_period_register, fit_with_draws)
    shown = mb.sensitivity(specs, two_period_register, fits=fits, analyses=("reverse-Bayes",))
    assert capsys.readouterr().err.splitlines() == [
        "sensitivity analyses of 2 measure(s): reverse-Bayes",
        "[1/2] sensitivity: bsi ...", "sensitivity: bsi done",
        "[2/2] sensitivity: bsi_b ...", "sensitivity: bsi_b done"]
    silent = mb.sensitivity(specs, two_period_register, fits=fits, analyses=("reverse-Bayes",),
                            progress=False)
    assert capsys.readouterr() == ("", "")
    assert silent.table.equals(shown.table)  # the display changes nothing else
