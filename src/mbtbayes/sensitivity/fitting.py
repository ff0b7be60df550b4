"""How the sensitivity analyses fit and refit: through the run's fit cache when there is one.

Every fit of the suite (a missing period fit, a prior-grid refit, a refit of another model)
goes through :func:`refit`, which builds the design as ``Engines.fit`` does and hands it to
:func:`mbtbayes.growth.cache.fit_cached`: with a cache, a refit whose data, spec, variant,
seed, engine and sampler settings are unchanged is read back instead of sampled, so a second
``mbtbayes reanalyze --sensitivity full`` samples nothing it sampled before (the K-fold
refits of a model comparison keep their draws in the same cache through the sampler's cache).

Examples
--------
>>> import mbtbayes as mb
>>> from mbtbayes.growth.engines import engines_for
>>> fit, cached = refit(engines_for(), mb.load_specs()["bsi"], mb.load_register().data,
...                     variant="period", seed=1, cache=".mbtbayes-cache")  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd

from mbtbayes.growth.cache import FitCache, fit_cached
from mbtbayes.growth.design import check_prior_keys, make_design
from mbtbayes.growth.engines import Engines
from mbtbayes.growth.modelspec import ModelSpec
from mbtbayes.growth.result import GrowthFit


def refit(engines: Engines, spec: ModelSpec, data: pd.DataFrame, *, variant: str, seed: int,
          cache: FitCache | str | Path | bool | None = None, engine: str | None = None,
          log: Callable[[str], None] | None = None, label: str = "") -> tuple[GrowthFit, bool]:
    """Fit one variant of a spec, or read it from the fit cache.

    Parameters
    ----------
    engines : Engines
    spec : ModelSpec
    data : pandas.DataFrame
    variant : str
    seed : int
        This fit's seed (derived by the caller).
    cache : FitCache, path, None or False
        The fit cache (:meth:`mbtbayes.growth.cache.FitCache.open`); None or False: sample.
    engine : {"auto", "marginal", "bambi"}, optional
        The engine to use (default: the spec's).
    log : callable, optional
        Receives one line per fit, saying whether it came from the cache.
    label : str
        What the fit is, for that line.

    Returns
    -------
    tuple
        ``(GrowthFit, cached)``.
    """
    design = make_design(spec, data, variant=variant)
    check_prior_keys(spec, [design])
    fit, cached = fit_cached(engines, FitCache.open(cache, log=log), spec, design,
                             variant=variant, seed=seed, engine=engine)
    if log is not None:
        log(f"sensitivity: {spec.name} {label or variant}: "
            + ("from the fit cache" if cached else f"sampled in {fit.seconds:.1f} s"))
    return fit, cached
