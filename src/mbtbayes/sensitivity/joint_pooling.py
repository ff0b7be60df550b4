"""How much the joint model's conclusions owe to pooling the period terms across outcomes.

The joint model (:mod:`mbtbayes.growth.joint.model`) pools each outcome's Period II - I terms
towards a common effect with a between-outcome SD ``tau`` (HalfNormal prior, scales
``tau_int_sd`` and ``tau_slope_sd``). This refits it with both scales times 0.5 (``narrow``:
more pooling), 1 (``default``, the run's joint fit) and 2 (``wide``: less pooling), and without
pooling (``unpooled``: independent Normal priors per outcome), and decides each outcome's
difference in change 0-24 months (``24 delta_slope``, baseline SD, higher = better) and its
difference at 24 months under each setting as the default is decided: existence (the 95% HDI
excludes 0 and P(direction) > 0.975) and HDI + ROPE against the measure's margin (its spec's
``[rope] half_width`` divided by the observed baseline SD the joint model standardises by).
``conclusion_changed`` is whether either decision differs from the default's.

Examples
--------
>>> import mbtbayes as mb
>>> table = mb.joint_pooling(mb.load_register().data)  # doctest: +SKIP
>>> table.groupby("setting")["conclusion_changed"].any()  # doctest: +SKIP
"""

from __future__ import annotations

import time as _time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from mbtbayes.core.arviz_api import ess_bulk
from mbtbayes.core.decisions import existence_decision, rope_decision
from mbtbayes.core.defaults import SEED
from mbtbayes.core.errors import SpecError
from mbtbayes.core.posterior import INTERVAL, summarize_draws
from mbtbayes.core.sampling import SamplerOptions
from mbtbayes.core.seeds import seed_for
from mbtbayes.growth.joint.data import OUTCOMES
from mbtbayes.growth.joint.model import TAU_PRIOR_KEYS, default_priors
from mbtbayes.growth.modelspec import ModelSpec
from mbtbayes.growth.rope import rope_for
from mbtbayes.growth.specs import load_specs

if TYPE_CHECKING:
    from mbtbayes.growth.joint.fit import JointFit

HORIZON = 24.0
"""Months over which the change is compared (as in ``joint_model.csv``)."""

WIDTHS: dict[str, float] = {"narrow": 0.5, "default": 1.0, "wide": 2.0}
"""Setting -> factor on the default HalfNormal scales of the between-outcome SDs."""

UNPOOLED = "unpooled"
"""The setting without pooling: independent Normal period terms per outcome."""

QUANTITIES = {
    "change_difference_std": "Period II - I difference of the change 0-24 months / observed "
                             "pooled baseline SD (24 x delta_slope); > 0 favours Period II",
    "contrast_24_std": "Period II - I difference at 24 months / observed pooled baseline SD; "
                       "> 0 favours Period II"}
"""Per-outcome quantities decided under each setting."""


def joint_pooling(data: pd.DataFrame, *, outcomes: Sequence[str] | None = None,
                  widths: dict[str, float] | None = None, unpooled: bool = True,
                  joint: JointFit | None = None, seed: int = SEED,
                  options: SamplerOptions | None = None,
                  specs: Mapping[str, ModelSpec] | None = None,
                  log: Callable[[str], None] | None = None) -> pd.DataFrame:
    """Joint-model conclusions under three widths of the between-outcome SD's prior and unpooled.

    Parameters
    ----------
    data : pandas.DataFrame
        Long format, one row per patient x assessment (``mb.load_register().data``).
    outcomes : sequence of str, optional
        Default: those of :data:`~mbtbayes.growth.joint.data.OUTCOMES` the data has (the set
        ``reanalyze --joint`` fits).
    widths : dict of str to float, optional
        Setting name -> factor on the default scales (default :data:`WIDTHS`; must hold
        ``default``: 1).
    unpooled : bool
        Also fit the model without pooling.
    joint : JointFit, optional
        The run's default joint period fit (``mb.fit_joint(data)``), reused as ``default``
        instead of fitted again; its outcomes, priors and scaling are every setting's.
    seed : int
        The run seed: ``default`` is fitted with it as ``fit_joint`` is (the run's joint fit);
        every other setting with ``seed_for(seed, "joint_pooling", setting)``.
    options : SamplerOptions, optional
        Draws, tuning, chains (default: the package's).
    specs : dict of str to ModelSpec, optional
        The run's specs by outcome: each outcome's margin (ROPE half-width) is its spec's;
        an outcome without one takes the bundled spec's (``mb.load_specs()``).
    log : callable, optional
        Receives a line per fit (seconds, the gate).

    Returns
    -------
    pandas.DataFrame
        ``joint_pooling.csv``: one row per setting x outcome x quantity, plus per pooled
        setting the between-outcome SDs' posterior (``outcome`` = ``pooled``): setting,
        tau_prior_factor, tau_int_prior_sd, tau_slope_prior_sd, outcome, quantity, estimand,
        mean, sd, hdi_low, hdi_high, p_direction, rope_half_width, existence, rope_decision,
        ess (bulk), mcse_mean (sd / sqrt(ess)),
        default_mean, default_hdi_low, default_hdi_high, default_existence,
        default_rope_decision, conclusion_changed, spread_vs_unpooled (the SD across outcomes
        of the posterior means as a share of the unpooled fit's: below 1 is shrinkage towards
        the common effect), passed, reason, seconds, draws (more than asked: the gate's retry),
        interval.

    Raises
    ------
    SpecError
        Widths without ``default`` at 1, or a factor that is not positive.

    Examples
    --------
    >>> import mbtbayes as mb
    >>> data = mb.load_register().data                 # the bundled SYNTHETIC register
    >>> table = mb.joint_pooling(data, joint=mb.fit_joint(data))  # doctest: +SKIP
    >>> table[table["conclusion_changed"].eq(True)]  # doctest: +SKIP
    """
    from mbtbayes.growth.joint.fit import fit_joint  # numba kernels: only when asked

    widths = dict(WIDTHS if widths is None else widths)
    _check_widths(widths)
    if joint is not None and (joint.variant != "period" or not joint.pooled):
        raise SpecError("joint: give the default (pooled) period fit, got "
                        f"variant {joint.variant}, pooled {joint.pooled}")
    outs = (list(joint.outcomes) if joint is not None
            else list(outcomes or [o for o in OUTCOMES if o in data and data[o].notna().any()]))
    base = joint.priors if joint is not None else default_priors(len(outs))
    same = {"scaling": joint.data.scaling} if joint is not None else {}
    settings = [(name, f, {k: f * np.asarray(base[k]) for k in TAU_PRIOR_KEYS}, True)
                for name, f in widths.items()] + ([(UNPOOLED, np.nan, {}, False)] * unpooled)
    fits = {}
    for name, _, scaled, pooled in settings:
        if name == "default" and joint is not None:
            fits[name] = (joint, joint.seconds + joint.compile_seconds)
            continue
        start = _time.perf_counter()
        fit = fit_joint(data, outcomes=outs, seed=seed if name == "default" else
                        seed_for(seed, "joint_pooling", name), options=options,
                        priors=base | scaled, pooled=pooled, progress=False, **same)
        fits[name] = (fit, _time.perf_counter() - start)
        if log is not None:
            log(f"joint pooling {name}: {fits[name][1]:.0f} s, gate "
                + ("passed" if fit.diagnostics.passed else f"FAILED: {fit.diagnostics.reason}"))
    return _table(fits, settings, data, specs={**load_specs(), **(specs or {})})


def _check_widths(widths: dict[str, float]) -> None:
    if widths.get("default") != 1.0:
        raise SpecError(f"widths must hold 'default': 1.0 (the run's joint fit), got {widths}")
    bad = {k: v for k, v in widths.items() if not (np.isfinite(v) and v > 0)}
    if bad:
        raise SpecError(f"width factors must be positive numbers, got {bad}")
    if UNPOOLED in widths:
        raise SpecError(f"'{UNPOOLED}' names the unpooled fit, not a width")


def per_outcome(fit: JointFit, *, horizon: float = HORIZON) -> dict[str, np.ndarray]:
    """Per-outcome draws (S, O) of :data:`QUANTITIES` in baseline SD, higher = better."""
    d_int, d_slope = fit.draws("delta_int"), fit.draws("delta_slope")
    return {"change_difference_std": horizon * d_slope,
            "contrast_24_std": d_int + horizon * d_slope}


def rope_in_sd(spec: ModelSpec, data: pd.DataFrame, sd: float) -> float:
    """The outcome's margin (its spec's ROPE half-width) in the joint model's units."""
    return rope_for(spec, data).half_width / sd


def _table(fits: dict, settings: list, data: pd.DataFrame, *,
           specs: Mapping[str, ModelSpec]) -> pd.DataFrame:
    default = fits["default"][0]
    sc = default.data.scaling
    ropes = [rope_in_sd(specs[o], data, s) for o, s in zip(sc.outcomes, sc.sd, strict=True)]
    rows = []
    for name, factor, scaled, _ in settings:
        fit, seconds = fits[name]
        prior = {f"{k.removesuffix('_sd')}_prior_sd": float(v) for k, v in scaled.items()}
        common = {"setting": name, "tau_prior_factor": factor, **prior,
                  "passed": fit.diagnostics.passed, "reason": fit.diagnostics.reason,
                  "seconds": seconds, "draws": _n_draws(fit)}
        rows += [common | r for r in _outcome_rows(fit, default, fits.get(UNPOOLED), ropes)]
        if fit.pooled:
            rows += [common | r for r in _tau_rows(fit)]
    columns = ["setting", "tau_prior_factor", "tau_int_prior_sd", "tau_slope_prior_sd"]
    table = pd.DataFrame(rows)
    return table[columns + [c for c in table if c not in columns]].assign(interval=INTERVAL)


def _n_draws(fit: JointFit) -> int:
    """Posterior draws kept (more than asked when the gate's one retry refitted)."""
    sizes = fit.idata.posterior.sizes
    return int(sizes["chain"] * sizes["draw"])


def _outcome_rows(fit: JointFit, default: JointFit, unpooled: tuple | None,
                  ropes: list[float]) -> list[dict]:
    mine, ref = per_outcome(fit), per_outcome(default)
    chains = fit.idata.posterior.sizes["chain"]
    free = per_outcome(unpooled[0]) if unpooled is not None else None
    rows = []
    for quantity, estimand in QUANTITIES.items():
        for j, outcome in enumerate(fit.outcomes):
            s, d = _decide(mine[quantity][:, j], ropes[j]), _decide(ref[quantity][:, j], ropes[j])
            ess = ess_bulk(mine[quantity][:, j].reshape(chains, -1))
            rows.append({"outcome": outcome, "quantity": quantity, "estimand": estimand, **s,
                         "ess": ess, "mcse_mean": s["sd"] / np.sqrt(ess),
                         **{f"default_{k}": d[k] for k in ("mean", "hdi_low", "hdi_high",
                                                           "existence", "rope_decision")},
                         "conclusion_changed": (s["existence"], s["rope_decision"])
                         != (d["existence"], d["rope_decision"]),
                         "spread_vs_unpooled": _spread_ratio(mine[quantity], free, quantity)})
    return rows


def _decide(draws: np.ndarray, rope: float) -> dict:
    s = summarize_draws(draws)
    return {"mean": s["mean"], "sd": s["sd"], "hdi_low": s["hdi_low"], "hdi_high": s["hdi_high"],
            "p_direction": s["p_direction"], "rope_half_width": rope,
            "existence": existence_decision(s["hdi_low"], s["hdi_high"],
                                            p_direction=s["p_direction"]),
            "rope_decision": rope_decision(s["hdi_low"], s["hdi_high"], half_width=rope)}


def _spread_ratio(draws: np.ndarray, free: dict | None, quantity: str) -> float:
    """The SD across outcomes of the posterior means, as a share of the unpooled fit's: 1 no
    pooling, 0 every outcome at the common mean (NaN without an unpooled fit)."""
    if free is None:
        return float("nan")
    return float(draws.mean(axis=0).std() / free[quantity].mean(axis=0).std())


def _tau_rows(fit: JointFit) -> list[dict]:
    rows = []
    for name, what in (("tau_int", "at month 0"), ("tau_slope", "in slope, per month")):
        s = summarize_draws(fit.draws(name))
        rows.append({"outcome": "pooled", "quantity": f"between_outcome_sd_{name[4:]}",
                     "estimand": f"SD across outcomes of the period difference {what}",
                     **{k: s[k] for k in ("mean", "sd", "hdi_low", "hdi_high")}})
    return rows
