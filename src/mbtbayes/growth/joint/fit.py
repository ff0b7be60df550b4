"""Fitting the joint growth model: one compiled graph per outcome set, sampled behind the gate.

The graph (:mod:`mbtbayes.growth.joint.model`) is compiled once per (outcomes, pooling,
parameterisation) by the run's :class:`~mbtbayes.core.sampling.Sampler` and reused through
``with_data``: the model without period terms is the same graph with every patient in the
reference period. Each fit is seeded by name (:func:`mbtbayes.core.seeds.seed_for`) and goes
through the package's gate and its one retry.

Examples
--------
>>> import mbtbayes as mb
>>> fit = mb.fit_joint(mb.load_register().data, outcomes=["bsi", "gaf"])  # doctest: +SKIP
>>> fit.diagnostics.passed  # doctest: +SKIP
True
"""

from __future__ import annotations

import time as _time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from mbtbayes.core.defaults import SEED
from mbtbayes.core.display import Progress, talking
from mbtbayes.core.errors import SpecError
from mbtbayes.core.sampling import Diagnostics, Sampler, SamplerOptions
from mbtbayes.core.seeds import seed_for
from mbtbayes.growth.joint.data import OUTCOMES, JointData, Scaling, prepare
from mbtbayes.growth.joint.model import PARAMETERISATIONS, build_model, default_priors

if TYPE_CHECKING:
    import pymc as pm

VARIANTS = ("period", "no_period")
"""``period``: the full model; ``no_period``: without the period terms (for LOO)."""


@dataclass(frozen=True)
class JointFit:
    """One fitted joint model.

    Attributes
    ----------
    data : JointData
        The data as fitted (``no_period``: every patient in the reference period).
    variant : str
        One of :data:`VARIANTS`.
    pooled : bool
    idata : arviz.InferenceData
    diagnostics : Diagnostics
        The package's gate (over every free variable and the pooled effects).
    seconds : float
        Sampling wall time of every attempt.
    compile_seconds : float
        Wall time to compile the graph (0 when the sampler had it already).
    priors : dict
    """

    data: JointData
    variant: str
    pooled: bool
    idata: object
    diagnostics: Diagnostics
    seconds: float
    compile_seconds: float
    priors: dict

    @property
    def outcomes(self) -> tuple[str, ...]:
        """The outcomes, in model order."""
        return self.data.outcomes

    def draws(self, name: str) -> np.ndarray:
        """Draws of a posterior variable, chains and draws stacked first: (S, ...)."""
        values = self.idata.posterior[name].values
        return values.reshape(-1, *values.shape[2:])

    def chol(self, which: str) -> np.ndarray:
        """Draws of the Cholesky factor of ``"patient"`` (G) or ``"resid"`` (R): (S, n, n)."""
        if f"{which}_sd" in self.idata.posterior:  # one outcome: a 1 x 1 residual factor
            return self.draws(f"{which}_sd")[:, :, None]
        stds, corr = self.draws(f"{which}_stds"), self.draws(f"{which}_corr")
        return stds[:, :, None] * np.linalg.cholesky(corr)


def fit_joint(
    data: pd.DataFrame,
    *,
    outcomes: Sequence[str] = OUTCOMES,
    variant: str = "period",
    time: str = "months",
    group: str = "patient_id",
    period: str = "period",
    seed: int = SEED,
    options: SamplerOptions | None = None,
    priors: dict[str, np.ndarray] | None = None,
    pooled: bool = True,
    parameterisation: str = "split",
    scaling: Scaling | None = None,
    gate: bool = True,
    log: Callable[[str], None] | None = None,
    progress: bool | Progress | None = True,
) -> JointFit:
    """Fit the joint growth model of several outcomes (patient effects integrated out).

    Each outcome is standardised by its observed baseline mean and pooled within-period
    baseline SD and sign-aligned so that higher = better; per outcome an intercept, a slope
    and Period II - I differences in both, those differences partially pooled across outcomes
    (pooled effect ``mu``, between-outcome SD ``tau``); patient intercepts and slopes
    correlated across outcomes (2O x 2O, LKJ(2)); residuals correlated within a visit (O x O,
    LKJ(2)). Missing outcomes at a visit are allowed: the likelihood is that of the observed
    values. See :mod:`mbtbayes.growth.joint.model`.

    Parameters
    ----------
    data : pandas.DataFrame
        Long format: one row per patient x assessment (e.g. ``mb.load_register().data``).
    outcomes : sequence of str
        Outcome columns (default: bsi, cip, wsas, gaf).
    variant : {"period", "no_period"}
        ``no_period`` drops the period terms (the comparison model of the LOO table).
    time, group, period : str
        Column names.
    seed : int
        The run seed; this fit's seed is ``seed_for(seed, "joint", *outcomes, variant)``.
    options : SamplerOptions, optional
        Draws, tuning, chains (default: the package's: 4 x 1000 after 1000).
    priors : dict, optional
        Prior values in model units (default :func:`default_priors`; override single keys).
    pooled : bool
        Partially pool the period terms (False: independent Normal priors per outcome).
    parameterisation : {"split", "noncentred"}
        How the pooled period terms are sampled (the same model); ``split`` is robust here.
    scaling : Scaling, optional
        A fixed standardisation (default: each outcome's observed baseline mean and SD).
    gate : bool
        Refit once by the package's retry policy when the gate fails.
    log : callable, optional
        Receives a line when the fit ends: compile and sampling seconds, the gate (default
        with ``progress=True``: the progress display).
    progress : bool or callable
        True (default): show progress on stderr as ``mbtbayes reanalyze`` does: a first line
        naming the fit, then on a terminal a bar with the elapsed time, and the line at the
        end. False or None: show nothing (``log`` still gets its line). A callable: called
        as ``progress(done, total)`` before and after the fit (``0, 1`` and ``1, 1``).

    Returns
    -------
    JointFit

    Raises
    ------
    DataError
        If the data cannot be fitted (missing columns, a period without two levels, ...).
    SpecError
        If an option is invalid.

    Examples
    --------
    >>> import mbtbayes as mb
    >>> reg = mb.load_register()                        # the bundled SYNTHETIC register
    >>> fit = mb.fit_joint(reg.data, outcomes=["bsi", "cip", "wsas", "gaf"])  # doctest: +SKIP
    >>> from mbtbayes.growth.joint.summaries import joint_table
    >>> joint_table(fit, reg.data)  # doctest: +SKIP
    """
    if variant not in VARIANTS:
        raise SpecError(f"variant must be one of {', '.join(VARIANTS)}, got '{variant}'")
    if parameterisation not in PARAMETERISATIONS:
        raise SpecError(f"parameterisation must be one of {', '.join(PARAMETERISATIONS)}, "
                        f"got '{parameterisation}'")
    if isinstance(outcomes, str):
        raise SpecError(f"outcomes must be a list of columns, got the string '{outcomes}'")
    jd = prepare(data, outcomes=tuple(outcomes), time=time, group=group, period=period,
                 scaling=scaling)
    if variant == "no_period":
        jd = jd.without_period()
    with talking("joint model", progress=progress, log=log) as talk:
        talk.running(f"{', '.join(jd.outcomes)} ({variant}): compiling its graph (once per "
                     "outcome set), then sampling", 0, 1)
        talk.done(0, 1)
        fit = sample_joint(jd, sampling=Sampler(options or SamplerOptions()), variant=variant,
                           seed=seed_for(seed, "joint", *jd.outcomes, variant),
                           priors=_priors(priors, len(jd.outcomes)), pooled=pooled,
                           parameterisation=parameterisation, gate=gate)
        talk.say(fit_line(fit))
        talk.done(1, 1)
    return fit


def fit_line(fit: JointFit) -> str:
    """One line for a finished joint fit: compile and sampling seconds, the gate.

    Examples
    --------
    >>> from types import SimpleNamespace as NS
    >>> fit = NS(variant="period", compile_seconds=61.2, seconds=70.4,
    ...          diagnostics=NS(passed=False, reason="R-hat 1.02 > 1.01"))
    >>> fit_line(fit)
    'joint period: compile 61 s, sampling 70 s, gate FAILED: R-hat 1.02 > 1.01'
    """
    gate = "passed" if fit.diagnostics.passed else f"FAILED: {fit.diagnostics.reason}"
    return (f"joint {fit.variant}: compile {fit.compile_seconds:.0f} s, sampling "
            f"{fit.seconds:.0f} s, gate {gate}")


def _priors(priors: dict | None, n_out: int) -> dict[str, np.ndarray]:
    base = default_priors(n_out)
    unknown = sorted(set(priors or {}) - set(base))
    if unknown:
        raise SpecError(f"unknown prior key(s) {unknown}; known: {sorted(base)}")
    out = base | {k: np.broadcast_to(np.asarray(v, float), np.shape(base[k])).copy()
                  for k, v in (priors or {}).items()}
    bad = [k for k, v in out.items() if k.endswith("_sd") and not np.all(v > 0)]
    if bad:
        raise SpecError(f"prior scale(s) {bad} must be > 0")
    return out


def sample_joint(jd: JointData, *, sampling: Sampler, variant: str, seed: int,
                 priors: dict[str, np.ndarray], pooled: bool = True,
                 parameterisation: str = "split", gate: bool = True) -> JointFit:
    """Sample prepared data behind the gate (compiling the graph the first time)."""
    pooled = pooled and len(jd.outcomes) > 1
    unused = ("dint_", "dslope_") if pooled else ("mu_", "tau_")  # the graph keeps only
    values = jd.arrays() | {k: v for k, v in priors.items()  # the containers it uses
                            if not k.startswith(unused)}
    key = ("joint", jd.outcomes, pooled, parameterisation)

    def build(v: dict) -> pm.Model:
        return build_model(v, outcomes=jd.outcomes, pooled=pooled,
                           parameterisation=parameterisation)

    start = _time.perf_counter()
    if sampling.options.sampler == "nutpie":
        sampling.compiled(key, lambda: build(values))
    compiled = _time.perf_counter() - start
    idata, diagnostics = sampling.sample_model(key=key, build=build, data=values, seed=seed,
                                              var_names=gated_names(len(jd.outcomes), pooled,
                                                                    parameterisation), gate=gate)
    return JointFit(jd, variant, pooled, idata, diagnostics,
                    _time.perf_counter() - start - compiled, compiled, priors)


def gated_names(n_out: int, pooled: bool, parameterisation: str = "split") -> list[str]:
    """The variables the gate checks: every free variable, plus the pooled effects ``mu_*``.

    Examples
    --------
    >>> gated_names(1, False)
    ['intercept', 'slope', 'delta_int', 'delta_slope', 'patient_stds', 'patient_cpc', 'resid_sd']
    """
    names = ["intercept", "slope"]
    if not pooled:
        names += ["delta_int", "delta_slope"]
    else:
        parts = (("tau", "zbar", "w", "mean", "mu") if parameterisation == "split"
                 else ("tau", "mu", "z"))
        names += [f"{p}_{t}" for t in ("int", "slope") for p in parts]
    names += ["patient_stds", "patient_cpc"]
    return names + (["resid_stds", "resid_cpc"] if n_out > 1 else ["resid_sd"])
