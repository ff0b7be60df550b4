"""What decides a growth fit's draws, as one key: the SHA-256 of the data the fit uses (its
design), the spec fields that reach the model, the variant, the engine and its compiled width,
the sampler settings, the seed and the package versions.

The fit cache (:mod:`mbtbayes.growth.cache`) keys its entries by it; the Bambi engine keys
its K-fold graph by it (the model, whatever the spec's name).

Examples
--------
>>> "label" in SUMMARY_ONLY and "priors" not in SUMMARY_ONLY
True
"""

from __future__ import annotations

import dataclasses
import hashlib
import json

import pandas as pd

from mbtbayes.core.cache import digest_array, package_versions
from mbtbayes.core.sampling import SamplerOptions
from mbtbayes.growth.design import Design
from mbtbayes.growth.modelspec import ModelSpec

SUMMARY_ONLY = ("label", "kind", "rope_sd_units", "rope_half_width", "rope_source",
                "rope_label", "rope_reference_sd", "rope_reference_sd_source",
                "rope_justification", "d_months", "reliable_change", "adjust_for")
"""Spec fields that only the summaries and the report use: changing them keeps the fit."""


def fit_key(spec: ModelSpec, design: Design, *, variant: str, seed: int, engine: str, width: int,
            options: SamplerOptions) -> str:
    """SHA-256 of everything that decides one fit's draws (see the module docstring).

    Examples
    --------
    >>> import mbtbayes as mb
    >>> from mbtbayes.growth.design import make_design
    >>> spec = mb.load_specs()["bsi"]
    >>> design = make_design(spec, mb.load_register().data, variant="period")
    >>> opts = mb.SamplerOptions()
    >>> a = fit_key(spec, design, variant="period", seed=1, engine="marginal", width=5,
    ...             options=opts)
    >>> a == fit_key(spec, design, variant="period", seed=2, engine="marginal", width=5,
    ...              options=opts)
    False
    """
    digest = hashlib.sha256()
    identity = {
        "spec": {k: v for k, v in dataclasses.asdict(spec).items() if k not in SUMMARY_ONLY},
        "variant": variant, "seed": int(seed), "engine": engine, "width": int(width),
        "options": dataclasses.asdict(options), "versions": package_versions(),
        "design": {"columns": design.columns, "terms": design.terms, "groups": design.groups,
                   "effects": design.effects, "sigma_columns": design.sigma_columns,
                   "n_excluded": design.n_excluded, "priors": design.priors},
    }
    digest.update(json.dumps(identity, sort_keys=True, default=str).encode())
    for name in ("y", "X", "time", "group", "Z", "X_sigma"):
        digest_array(digest, getattr(design, name))
    if design.frame is not None:
        digest.update(json.dumps(list(map(str, design.frame.columns))).encode())
        digest.update(pd.util.hash_pandas_object(design.frame, index=True).values.tobytes())
    return digest.hexdigest()
