"""Remission with missing end data: named scenarios, Manski bounds and a tipping point.

Remission (:mod:`mbtbayes.binary.remission`) is counted among start-positive patients with end
data (complete case). Here the ``m`` start-positive patients *without* end data are brought
back under stated assumptions; per period ``r`` remitted of the ``n`` with end data. The
quantity is the remission difference II - I (probability units) among all start-positive
patients, each scenario named for what it assumes about the missing patients:

- **complete case**: remission among patients with end data (the baseline);
- **all missing remitted in both periods** / **no missing remitted in both periods**: the same
  extreme in both periods. They are *not* bounds on the difference: the extremes of the
  difference put the missing patients of the two periods at opposite extremes;
- **all missing remitted in II, none in I** / **no missing remitted in II, all in I**: the two
  ends of the Manski bounds, as posteriors;
- **Manski bounds: any outcome of the missing**: the range of the difference that the counts
  allow without any assumption about the missing patients (Manski 1990), from the observed
  proportions: ``[r_II / N_II - (r_I + m_I) / N_I, (r_II + m_II) / N_II - r_I / N_I]`` with
  ``N = n + m``; each period's proportion lies in ``[r / N, (r + m) / N]``
  (:func:`manski_bounds`). Closed form, no sampling: the row's ``mean`` is empty and its
  ``hdi_low`` / ``hdi_high`` hold the bounds;
- **missing at random in both periods (OR 1)**, then **II's missing at OR x (I's MAR)** and
  **I's missing at OR x (II's MAR)** for ``x`` in :data:`ODDS_RATIOS` (the tipping point): one
  period's missing patients remit with the odds of its observed patients times ``OR`` <= 1
  (they did worse than those observed), the other period's as its observed. Lowering Period
  II's missing moves the difference down, lowering Period I's moves it up, so a conclusion can
  tip either way: an "II worse" conclusion can only be overturned by Period I's missing doing
  worse, which a scan of Period II alone (as before) never tries.

Per posterior draw of each period's observed remission probability ``p`` (``Beta(1 + r, 1 + n -
r)``, the conjugate model) and the missing patients' ``q``, the period's remission probability
among all start-positive patients is ``(n p + m q) / (n + m)`` (``q = 1``: all missing
remitted; ``q = 0``: none; ``OR = 1`` gives the complete case). The decision is the existence
rule (:func:`mbtbayes.core.decisions.existence_decision`: 95% HDI excludes 0 and P(direction) >
0.975), as remission has no ROPE; for the bounds row, whether the bounds exclude 0. The note
gives, per direction, the mildest odds ratio at which the decision differs from the complete
case's.

Examples
--------
>>> ODDS_RATIOS[:3]
(1.0, 0.75, 0.5)
>>> manski_bounds({"I": (41, 55, 22), "II": (27, 43, 37)})[["lower", "upper"]].round(3)
   lower  upper
0  0.532  0.818
1  0.338  0.800
2 -0.481  0.268
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import special

from mbtbayes.binary.remission import remission_counts
from mbtbayes.core.decisions import NONZERO, ZERO_NOT_EXCLUDED, existence_decision
from mbtbayes.core.posterior import summarize_draws
from mbtbayes.sensitivity.quantities import Quantity, row

ODDS_RATIOS = (1.0, 0.75, 0.5, 0.33, 0.25, 0.1)
"""Odds ratios of remission, a period's missing vs its observed patients."""
N_DRAWS = 20_000
ANALYSIS = "remission: missing end data"
ALL, NONE = "all_remitted", "none_remitted"
CASES = ("complete", ALL, NONE, "impute")
"""How :func:`proportion_draws` treats a period's missing patients."""
SCENARIOS = (
    ("complete case", "complete", "complete"),
    ("all missing remitted in both periods", ALL, ALL),
    ("no missing remitted in both periods", NONE, NONE),
    ("all missing remitted in II, none in I", ALL, NONE),
    ("no missing remitted in II, all in I", NONE, ALL),
)
"""Closed-form scenarios: (setting, case of Period II, case of Period I)."""
MAR = "missing at random in both periods (OR 1)"
BOUNDS = "Manski bounds: any outcome of the missing"
BOUNDS_INTERVAL = "Manski bounds from the observed proportions (no sampling)"


def period_counts(data: pd.DataFrame) -> dict[str, dict[str, tuple[int, int, int]]]:
    """Behaviour -> period -> (remitted, with end data, without end data)."""
    out: dict[str, dict] = {}
    for r in remission_counts(data).itertuples(index=False):
        if r.period in ("I", "II"):
            out.setdefault(r.behaviour, {})[r.period] = (int(r.n_remitted), int(r.n_at_risk),
                                                          int(r.n_no_end_data))
    return out


def manski_bounds(counts: dict[str, tuple[int, int, int]]) -> pd.DataFrame:
    """Manski bounds of each period's remission proportion and of the difference II - I.

    No assumption about the start-positive patients without end data: each period's
    proportion among all ``N = n + m`` start-positive patients lies between "none of the
    missing remitted" (``r / N``) and "all remitted" (``(r + m) / N``); the difference II - I
    lies between Period II's lower and Period I's upper end, and the reverse.

    Parameters
    ----------
    counts : dict
        Period (``"I"``, ``"II"``) -> ``(remitted, with end data, without end data)``, as
        :func:`period_counts` gives per behaviour.

    Returns
    -------
    pandas.DataFrame
        One row per quantity (``remission I``, ``remission II``, ``remission II - I``):
        ``lower``, ``upper`` and what each end assumes (``lower_assumes``, ``upper_assumes``).

    Examples
    --------
    >>> b = manski_bounds({"I": (1, 2, 2), "II": (3, 4, 0)})
    >>> b.loc[2, ["lower", "upper"]].tolist()
    [0.0, 0.5]
    """
    ends = {}
    for period, (r, n, m) in counts.items():
        total = max(n + m, 1)
        ends[period] = (r / total, (r + m) / total)
    (low_i, high_i), (low_ii, high_ii) = ends["I"], ends["II"]
    return pd.DataFrame([
        {"quantity": "remission I", "lower": low_i, "upper": high_i,
         "lower_assumes": "no missing remitted in I", "upper_assumes": "all missing remitted in I"},
        {"quantity": "remission II", "lower": low_ii, "upper": high_ii,
         "lower_assumes": "no missing remitted in II",
         "upper_assumes": "all missing remitted in II"},
        {"quantity": "remission II - I", "lower": low_ii - high_i, "upper": high_ii - low_i,
         "lower_assumes": "no missing remitted in II, all in I",
         "upper_assumes": "all missing remitted in II, none in I"},
    ])


def proportion_draws(counts: tuple[int, int, int], *, odds_ratio: float | None,
                     rng: np.random.Generator, case: str = "impute") -> np.ndarray:
    """Draws of a period's remission probability among all start-positive patients.

    Pattern mixture: with ``p`` the observed patients' remission probability (conjugate
    ``Beta(1 + r, 1 + n - r)``) and ``q`` the missing patients', the period's probability is
    ``(n p + m q) / (n + m)``. ``case``: ``"complete"`` (``p`` alone), ``"all_remitted"``
    (``q = 1``), ``"none_remitted"`` (``q = 0``) or ``"impute"`` (``q`` with the odds of ``p``
    times ``odds_ratio``; 1 gives the complete-case posterior).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> float(proportion_draws((0, 0, 4), odds_ratio=None, rng=rng, case="all_remitted")[0])
    1.0
    """
    if case not in CASES:
        raise ValueError(f"case must be one of {CASES}, got '{case}'")
    r, n, m = counts
    p = rng.beta(1 + r, 1 + n - r, N_DRAWS)
    if case == "complete":
        return p
    q = {ALL: np.ones_like(p), NONE: np.zeros_like(p)}.get(case)
    if q is None:
        q = special.expit(special.logit(p) + np.log(odds_ratio))
    return (n * p + m * q) / max(n + m, 1)


def _summary(diff: np.ndarray) -> dict:
    s = summarize_draws(diff)
    return {"mean": s["mean"], "hdi_low": s["hdi_low"], "hdi_high": s["hdi_high"],
            "rope_half_width": float("nan"),
            "decision": existence_decision(s["hdi_low"], s["hdi_high"],
                                           p_direction=s["p_direction"])}


def odds_setting(period: str, odds_ratio: float) -> str:
    """Name of the scenario in which ``period``'s missing patients remit with the odds of its
    observed patients times ``odds_ratio`` and the other period's as its observed (MAR).

    Examples
    --------
    >>> odds_setting("II", 0.5)
    "II's missing at OR 0.5 (I's MAR)"
    """
    other = "I" if period == "II" else "II"
    return f"{period}'s missing at OR {odds_ratio:g} ({other}'s MAR)"


def _settings() -> list[tuple[str, str, float | None, str, float | None]]:
    """(setting, case II, odds ratio II, case I, odds ratio I) of every sampled scenario."""
    out = [(name, case_ii, None, case_i, None) for name, case_ii, case_i in SCENARIOS]
    out.append((MAR, "impute", 1.0, "impute", 1.0))
    out += [(odds_setting("II", o), "impute", o, "impute", 1.0) for o in ODDS_RATIOS[1:]]
    out += [(odds_setting("I", o), "impute", 1.0, "impute", o) for o in ODDS_RATIOS[1:]]
    return out


def _tipping_note(decisions: dict[str, str], baseline: str) -> str:
    """The mildest odds ratio, per direction, at which the decision leaves the baseline's."""
    parts = []
    for period, towards in (("II", "II worse"), ("I", "II better")):
        scan = {1.0: MAR} | {o: odds_setting(period, o) for o in ODDS_RATIOS[1:]}
        tip = next((o for o, s in scan.items() if decisions[s] != baseline), None)
        where = (f"tips at OR {tip:g}" if tip is not None
                 else f"no tipping point down to OR {ODDS_RATIOS[-1]:g}")
        parts.append(f"{period}'s missing doing worse (towards {towards}): {where}")
    return "tipping point: " + "; ".join(parts)


def _bounds_row(behaviour: str, counts: dict, quantity: Quantity, baseline: str) -> dict:
    bounds = manski_bounds(counts)
    low, high = bounds.loc[2, ["lower", "upper"]]
    periods = "; ".join(f"{r.quantity} in [{r.lower:.3f}, {r.upper:.3f}]"
                        for r in bounds.iloc[:2].itertuples(index=False))
    summary = {"mean": float("nan"), "hdi_low": float(low), "hdi_high": float(high),
               "rope_half_width": float("nan"),
               "decision": NONZERO if low > 0 or high < 0 else ZERO_NOT_EXCLUDED}
    out = row(measure=behaviour, analysis=ANALYSIS, setting=BOUNDS, quantity=quantity,
              summary=summary, baseline_decision=baseline, method="closed form",
              diagnostic="exact arithmetic on the counts", passed=True,
              note=f"hdi_low / hdi_high hold the bounds (lower: {bounds.loc[2, 'lower_assumes']};"
                   f" upper: {bounds.loc[2, 'upper_assumes']}); {periods} (among all "
                   "start-positive patients); sampling uncertainty of the ends: the two "
                   "scenarios of the same names; decision: do the bounds exclude 0")
    return out | {"interval": BOUNDS_INTERVAL}


def remission_rows(data: pd.DataFrame, *, seed: int = 0) -> list[dict]:
    """Rows of ``sensitivity.csv`` for each behaviour with remission data (see
    :func:`behaviour_rows`)."""
    return [r for behaviour, counts in period_counts(data).items()
            for r in behaviour_rows(behaviour, counts, seed=seed)]


def behaviour_rows(behaviour: str, counts: dict[str, tuple[int, int, int]], *,
                   seed: int = 0) -> list[dict]:
    """Rows of ``sensitivity.csv`` for one behaviour from its counts.

    The complete case (baseline), the closed-form scenarios of :data:`SCENARIOS`, missing at
    random, the odds-ratio scenarios of each period's missing patients and the Manski bounds
    (see the module docstring).

    Parameters
    ----------
    behaviour : str
    counts : dict
        Period (``"I"``, ``"II"``) -> ``(remitted, with end data, without end data)``.
    seed : int

    Examples
    --------
    >>> rows = behaviour_rows("self_harm", {"I": (41, 55, 22), "II": (27, 43, 37)})
    >>> rows[-1]["setting"], round(rows[-1]["hdi_low"], 3), round(rows[-1]["hdi_high"], 3)
    ('Manski bounds: any outcome of the missing', -0.481, 0.268)
    """
    rng = np.random.default_rng(seed)
    q = Quantity("remission_diff", np.empty(0), "probability (II - I)", float("nan"))
    table = []
    for setting, case_ii, odds_ii, case_i, odds_i in _settings():
        diff = (proportion_draws(counts["II"], odds_ratio=odds_ii, rng=rng, case=case_ii)
                - proportion_draws(counts["I"], odds_ratio=odds_i, rng=rng, case=case_i))
        table.append((setting, _summary(diff)))
    base = table[0][1]["decision"]
    missing = f"without end data: I {counts['I'][2]}, II {counts['II'][2]}"
    note = (f"{missing}; decision: existence (HDI excludes 0, P(direction) > 0.975); "
            + _tipping_note({s: summ["decision"] for s, summ in table}, base))
    rows = [row(measure=behaviour, analysis=ANALYSIS, setting=setting, quantity=q,
                summary=summary, baseline_decision=base,
                method="per-draw imputation" if "OR" in setting else "closed form",
                diagnostic=f"{N_DRAWS} exact Beta draws", passed=True,
                baseline=setting == "complete case", note=note)
            for setting, summary in table]
    return [*rows, _bounds_row(behaviour, counts, q, base)]
