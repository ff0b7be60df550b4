"""The observed baseline of a measure: each patient's first value near month 0, and its SD.

The paper's Cohen's d divides by the observed pooled baseline SD; the ROPE is set in units of
the same SD. Baseline is each patient's first observed value of the measure if it lies within
:data:`BASELINE_WINDOW` of the first d time point (month 0); patients whose first value comes
later, or who have none, do not enter the SD, and are counted.

Examples
--------
>>> import pandas as pd
>>> df = pd.DataFrame({"y": [1.0, 2.0, 3.0, 5.0, 4.0], "t": [0, 0, 0, 0, 7],
...                    "id": [1, 2, 3, 4, 5], "g": ["I", "I", "II", "II", "II"]})
>>> b = baseline(df, outcome="y", time="t", group="id", period="g")
>>> round(b.sd, 4), b.n_used, b.n_late
(1.118, 4, 1)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from mbtbayes.core.seeds import seed_for
from mbtbayes.growth.modelspec import ModelSpec

BASELINE_WINDOW = 3.0
"""An observation counts as baseline when it is a patient's first and lies within this many
time units of the first d time point (month 0)."""


@dataclass(frozen=True)
class Baseline:
    """Baseline values of one measure and their pooled SD.

    Attributes
    ----------
    values : pandas.DataFrame
        One row per patient who entered: ``group``, ``period`` (or None) and ``value``.
    sd : float
        Pooled within-period SD ``sqrt(sum((n_k - 1) s_k^2) / sum(n_k - 1))`` (plain SD
        without a period).
    n_used, n_late, n_missing : int
        Patients in the SD; patients whose first value lies after the window; patients with
        no value of the measure.
    """

    values: pd.DataFrame
    sd: float
    n_used: int
    n_late: int
    n_missing: int

    @property
    def note(self) -> str:
        """Who entered the SD, in words."""
        return (f"{self.n_used} patients' first value within {BASELINE_WINDOW:g} months of "
                f"baseline; not in the SD: {self.n_late} whose first value came later, "
                f"{self.n_missing} without a value")


def baseline(data: pd.DataFrame, *, outcome: str, time: str, group: str,
             period: str | None, start: float = 0.0) -> Baseline:
    """Each patient's baseline value of ``outcome`` and the pooled baseline SD."""
    observed = data.dropna(subset=[outcome])
    first = observed.sort_values(time, kind="stable").groupby(group, observed=True).head(1)
    within = first[first[time] <= start + BASELINE_WINDOW]
    n_patients = data[group].nunique()
    values = pd.DataFrame({"group": within[group].to_numpy(),
                           "period": within[period].astype(str).to_numpy() if period else None,
                           "value": within[outcome].to_numpy(float)})
    return Baseline(values, pooled_sd(values), len(within), len(first) - len(within),
                    n_patients - len(first))


def pooled_sd(values: pd.DataFrame, weights: np.ndarray | None = None) -> float:
    """Pooled within-period SD of baseline values, optionally with patient weights.

    With weights ``w`` (summing to the number of patients, as a Bayesian bootstrap draw
    rescaled), each period's variance is the weighted variance and ``n_k - 1`` becomes the
    period's weight minus 1.
    """
    w = np.ones(len(values)) if weights is None else np.asarray(weights, float)
    return float(pooled_sd_draws(values, w[None])[0])


def pooled_sd_draws(values: pd.DataFrame, weights: np.ndarray) -> np.ndarray:
    """:func:`pooled_sd` for many weight vectors at once.

    Parameters
    ----------
    values : pandas.DataFrame
        ``period`` and ``value`` per patient (:attr:`Baseline.values`).
    weights : (S, n) array
        One weight vector per row.

    Returns
    -------
    (S,) array
        ``sqrt(sum_k sum_i w_i (v_i - m_k)^2 / sum_k (W_k - 1))``, ``m_k`` and ``W_k`` the
        weighted mean and the weight of period k.
    """
    weights = np.atleast_2d(np.asarray(weights, float))
    periods = (values["period"].fillna("all") if "period" in values else
               pd.Series("all", index=values.index)).astype(str).to_numpy()
    v = values["value"].to_numpy(float)
    total_ss, total_df = np.zeros(len(weights)), np.zeros(len(weights))
    for level in np.unique(periods):
        w, x = weights[:, periods == level], v[periods == level]
        n = w.sum(axis=1)
        mean = w @ x / n
        total_ss += (w * (x[None] - mean[:, None]) ** 2).sum(axis=1)
        total_df += n - 1
    return np.sqrt(total_ss / total_df)


def bootstrap_sd(base: Baseline, *, draws: int, seed: int) -> np.ndarray:
    """Draws of the pooled baseline SD by the Bayesian bootstrap over patients.

    Each draw weights the patients in the SD by a Dirichlet(1, ..., 1) vector rescaled to sum
    to their number (Rubin 1981), and computes the weighted pooled SD
    (:func:`pooled_sd_draws`): the SD's sampling uncertainty, one draw per posterior draw.

    Parameters
    ----------
    base : Baseline
    draws : int
    seed : int
        E.g. ``seed_for(run_seed, spec name, "baseline_sd")``.

    Returns
    -------
    (draws,) array

    Examples
    --------
    >>> df = pd.DataFrame({"y": np.arange(40.0), "t": 0.0, "id": range(40), "g": "I"})
    >>> b = baseline(df, outcome="y", time="t", group="id", period="g")
    >>> sd = bootstrap_sd(b, draws=2000, seed=1)
    >>> sd.shape, bool(abs(sd.mean() / b.sd - 1) < 0.05)
    ((2000,), True)
    """
    n = base.n_used
    weights = np.random.default_rng(seed).dirichlet(np.ones(n), size=draws) * n
    return pooled_sd_draws(base.values, weights)


def observed_baseline_sd(data: pd.DataFrame, *, outcome: str, time: str, group: str,
                         period: str | None, start: float = 0.0) -> float:
    """Observed SD of the outcome at baseline, pooled over periods (the paper's d denominator).

    Examples
    --------
    >>> df = pd.DataFrame({"y": [1.0, 2.0, 3.0, 5.0], "t": [0, 0, 0, 0], "id": [1, 2, 3, 4],
    ...                    "g": ["I", "I", "II", "II"]})
    >>> round(observed_baseline_sd(df, outcome="y", time="t", group="id", period="g"), 4)
    1.118
    """
    return baseline(data, outcome=outcome, time=time, group=group, period=period,
                    start=start).sd


def spec_baseline(spec: ModelSpec, data: pd.DataFrame) -> Baseline:
    """The observed baseline of a spec's measure (its d denominator's patients and values)."""
    return baseline(data, outcome=spec.measure, time=spec.time, group=spec.group,
                    period=spec.period if spec.period in data else None, start=spec.d_months[0])


def sd_draws(data: pd.DataFrame, *, outcome: str, time: str, group: str, period: str | None,
             start: float = 0.0, draws: int, seed: int) -> tuple[np.ndarray, Baseline]:
    """Bayesian-bootstrap draws of an outcome's observed pooled baseline SD, and the baseline.

    Seeded by the run seed and the outcome (:func:`mbtbayes.core.seeds.seed_for`), so every
    table that divides by this SD (effect sizes, sensitivity rows, the joint model) draws the
    same SD for the same outcome and number of draws.

    Examples
    --------
    >>> df = pd.DataFrame({"y": np.arange(40.0), "t": 0.0, "id": range(40), "g": "I"})
    >>> a, base = sd_draws(df, outcome="y", time="t", group="id", period="g", draws=5, seed=1)
    >>> b, _ = sd_draws(df, outcome="y", time="t", group="id", period="g", draws=5, seed=1)
    >>> bool((a == b).all()), round(base.sd, 3)
    (True, 11.69)
    """
    base = baseline(data, outcome=outcome, time=time, group=group, period=period, start=start)
    return bootstrap_sd(base, draws=draws, seed=seed_for(seed, outcome, "baseline_sd")), base


def spec_sd_draws(spec: ModelSpec, data: pd.DataFrame, *, draws: int,
                  seed: int) -> tuple[np.ndarray, Baseline]:
    """:func:`sd_draws` of a spec's measure (its *measure*, not its name: alternatives of one
    measure share the SD draws)."""
    return sd_draws(data, outcome=spec.measure, time=spec.time, group=spec.group,
                    period=spec.period if spec.period in data else None,
                    start=spec.d_months[0], draws=draws, seed=seed)
