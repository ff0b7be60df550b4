"""Remission with missing end data: complete case, best case, worst case and a tipping point.

Remission (:mod:`mbtbayes.binary.remission`) is counted among start-positive patients with end
data (complete case). Here the start-positive patients *without* end data are imputed:

- **best case**: all of them remitted; **worst case**: none remitted (both periods);
- **tipping point**: Period I's missing patients remit as its observed patients do (MAR),
  Period II's remit with the odds of its observed patients times an odds ratio ``OR`` <= 1
  (Period II's drop-outs did worse). Per posterior draw of each period's observed remission
  probability ``p`` (``Beta(1 + r, 1 + n - r)``, the conjugate model) and the missing
  patients' ``q``, the period's remission probability among all start-positive patients is
  ``(n p + m q) / (n + m)`` (best case ``q = 1``, worst case ``q = 0``; ``OR = 1`` gives the
  complete case).

The quantity is the remission difference II - I (probability units); its decision is the
existence rule (:func:`mbtbayes.core.decisions.existence_decision`: 95% HDI excludes 0 and
P(direction) > 0.975), as remission has no ROPE. The table gives the smallest departure (the
largest OR below 1) at which that decision changes.

Examples
--------
>>> ODDS_RATIOS[:3]
(1.0, 0.75, 0.5)
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import special

from mbtbayes.core.decisions import existence_decision
from mbtbayes.core.posterior import summarize_draws
from mbtbayes.sensitivity.quantities import Quantity, row

ODDS_RATIOS = (1.0, 0.75, 0.5, 0.33, 0.25, 0.1)
"""Odds ratios of remission, Period II's missing vs its observed patients."""
N_DRAWS = 20_000
ANALYSIS = "remission: missing end data"


def period_counts(data: pd.DataFrame) -> dict[str, dict[str, tuple[int, int, int]]]:
    """Behaviour -> period -> (remitted, with end data, without end data)."""
    from mbtbayes.binary.remission import remission_counts

    out: dict[str, dict] = {}
    for r in remission_counts(data).itertuples(index=False):
        if r.period in ("I", "II"):
            out.setdefault(r.behaviour, {})[r.period] = (int(r.n_remitted), int(r.n_at_risk),
                                                          int(r.n_no_end_data))
    return out


def proportion_draws(counts: tuple[int, int, int], *, odds_ratio: float | None,
                     rng: np.random.Generator, case: str = "impute") -> np.ndarray:
    """Draws of a period's remission probability among all start-positive patients.

    Pattern mixture: with ``p`` the observed patients' remission probability (conjugate
    ``Beta(1 + r, 1 + n - r)``) and ``q`` the missing patients', the period's probability is
    ``(n p + m q) / (n + m)``. ``case``: ``"complete"`` (``p`` alone), ``"best"`` (``q = 1``),
    ``"worst"`` (``q = 0``) or ``"impute"`` (``q`` with the odds of ``p`` times
    ``odds_ratio``; 1 gives the complete-case posterior).
    """
    r, n, m = counts
    p = rng.beta(1 + r, 1 + n - r, N_DRAWS)
    if case == "complete":
        return p
    q = {"best": np.ones_like(p), "worst": np.zeros_like(p)}.get(case)
    if q is None:
        q = special.expit(special.logit(p) + np.log(odds_ratio))
    return (n * p + m * q) / max(n + m, 1)


def _summary(diff: np.ndarray) -> dict:
    s = summarize_draws(diff)
    return {"mean": s["mean"], "hdi_low": s["hdi_low"], "hdi_high": s["hdi_high"],
            "rope_half_width": float("nan"),
            "decision": existence_decision(s["hdi_low"], s["hdi_high"],
                                           p_direction=s["p_direction"])}


def remission_rows(data: pd.DataFrame, *, seed: int = 0) -> list[dict]:
    """Rows of ``sensitivity.csv`` for each behaviour with remission data."""
    rows = []
    for behaviour, counts in period_counts(data).items():
        rng = np.random.default_rng(seed)
        q = Quantity("remission_diff", np.empty(0), "probability (II - I)", float("nan"))
        base = None
        settings = [("complete case", "complete", None), ("best case", "best", None),
                    ("worst case", "worst", None)]
        settings += [(f"II missing: OR {o:g}", "impute", o) for o in ODDS_RATIOS]
        table = []
        for setting, case, odds in settings:
            diff = (proportion_draws(counts["II"], odds_ratio=odds, rng=rng, case=case)
                    - proportion_draws(counts["I"], odds_ratio=1.0 if odds else None, rng=rng,
                                       case=case))
            summary = _summary(diff)
            base = base or summary["decision"]
            table.append((setting, summary))
        tip = next((s for s, summ in table[3:] if summ["decision"] != table[3][1]["decision"]),
                   None)
        missing = f"without end data: I {counts['I'][2]}, II {counts['II'][2]}"
        for setting, summary in table:
            rows.append(row(
                measure=behaviour, analysis=ANALYSIS, setting=setting, quantity=q,
                summary=summary, baseline_decision=base, method="closed form"
                if "case" in setting else "per-draw imputation",
                diagnostic=f"{N_DRAWS} exact Beta draws", passed=True,
                baseline=setting == "complete case",
                note=f"{missing}; decision: existence (HDI excludes 0, P(direction) > 0.975); "
                     + (f"tipping point: {tip}" if tip else
                        f"no tipping point down to OR {ODDS_RATIOS[-1]:g}")))
    return rows
