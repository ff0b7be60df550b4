"""Generate the fixed simulated data sets that the frequentist reference tests read.

Run from the repository root (the outputs are committed; rerunning must reproduce them):

    uv run python tests/data/make_mixed_reference.py
    Rscript tests/data/lme4_reference.R      # writes lme4_reference.csv and manova_reference.csv

``mixed_reference.csv`` (long format, one row per visit): 185 patients, period I (96) and
period II (89), 1 + Binomial(6, 2.5/6) visits at nominal months 0, 6, ..., 36 (visits after
baseline jittered by N(0, 0.75)), and

    y = 1.9 + 0.1*[II] + b0 + (-0.03 + b1)*months + e,
    b0 ~ N(0, 0.6), b1 ~ N(0, 0.02) independent, e ~ N(0, 0.35),

with six outcome values set missing. Two patient-level covariates unrelated to y, ``age``
(numeric) and ``site`` (A/B/C), drawn from a second generator (seed + 1) so that adding them left
the outcome values unchanged, exercise covariate handling.

``lme4_boundary_data.csv``: 60 patients with visits at 0, 6, 12 and 24 months and no slope
variance at all (y = 2 + b0 - 0.03*months + e, b0 ~ N(0, 0.5), e ~ N(0, 0.3)), so that the ML
slope SD is on the boundary (zero; lme4 reports a singular fit).

``manova_data.csv`` (one row per patient): baseline values of three correlated outcomes and a
two-level ``period`` and a three-level ``site``, for the MANOVA reference.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

SEED = 20240611
HERE = Path(__file__).resolve().parent


def make_mixed(rng: np.random.Generator) -> pd.DataFrame:
    """Long-format growth data as described in the module docstring."""
    n_per_period = {"I": 96, "II": 89}
    rows = []
    pid = 0
    for period, n in n_per_period.items():
        for _ in range(n):
            pid += 1
            b0 = rng.normal(0.0, 0.6)
            b1 = rng.normal(0.0, 0.02)
            n_visits = 1 + rng.binomial(6, 2.5 / 6)
            for visit in range(n_visits):
                months = 6.0 * visit + (rng.normal(0.0, 0.75) if visit > 0 else 0.0)
                mu = 1.9 + 0.1 * (period == "II") + b0 + (-0.03 + b1) * months
                y = mu + rng.normal(0.0, 0.35)
                rows.append((f"P{pid:03d}", period, round(months, 4), round(y, 6)))
    data = pd.DataFrame(rows, columns=["patient_id", "period", "months", "y"])
    missing = rng.choice(len(data), size=6, replace=False)
    data.loc[missing, "y"] = np.nan
    return data


def add_covariates(data: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Patient-level ``age`` and ``site``, unrelated to the outcome."""
    ids = data["patient_id"].unique()
    age = dict(zip(ids, rng.normal(30.0, 8.0, len(ids)).round(1), strict=True))
    site = dict(zip(ids, rng.choice(["A", "B", "C"], len(ids)), strict=True))
    return data.assign(age=data["patient_id"].map(age), site=data["patient_id"].map(site))


def make_boundary(rng: np.random.Generator) -> pd.DataFrame:
    """Growth data whose ML random-slope SD is zero."""
    ids = np.repeat(np.arange(60), 4)
    months = np.tile([0.0, 6.0, 12.0, 24.0], 60)
    y = 2 + rng.normal(0, 0.5, 60)[ids] - 0.03 * months + rng.normal(0, 0.3, len(ids))
    return pd.DataFrame({"patient_id": ids, "months": months, "y": y.round(6)})


def make_manova(rng: np.random.Generator) -> pd.DataFrame:
    """Baseline outcomes (three, correlated) with a period and a site factor."""
    n = 185
    period = np.array(["I"] * 96 + ["II"] * 89)
    site = rng.choice(["A", "B", "C"], size=n)
    cov = np.array([[1.0, 0.5, 0.3], [0.5, 1.0, 0.4], [0.3, 0.4, 1.0]])
    y = rng.multivariate_normal(np.zeros(3), cov, size=n)
    y[:, 0] += 0.35 * (period == "II")
    y[:, 2] -= 0.25 * (period == "II") + 0.2 * (site == "C")
    data = pd.DataFrame(y.round(6), columns=["bsi", "sipp", "lpi"])
    data.insert(0, "site", site)
    data.insert(0, "period", period)
    data.insert(0, "patient_id", [f"P{i + 1:03d}" for i in range(n)])
    return data


def main() -> None:
    """Write the CSV files next to this script."""
    rng = np.random.default_rng(SEED)
    mixed = add_covariates(make_mixed(rng), np.random.default_rng(SEED + 1))
    mixed.to_csv(HERE / "mixed_reference.csv", index=False)
    make_manova(rng).to_csv(HERE / "manova_data.csv", index=False)
    make_boundary(np.random.default_rng(1)).to_csv(HERE / "lme4_boundary_data.csv", index=False)


if __name__ == "__main__":
    main()
