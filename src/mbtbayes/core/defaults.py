"""Defaults in one place: interval probability and kind, seeds, sampler settings.

Every table says which interval it reports; the probability is 95% everywhere.
"""

CI_PROB: float = 0.95
"""Probability mass of every interval the package reports."""

CI_KIND: str = "hdi"
"""Kind of Bayesian interval: highest-density interval."""

SEED: int = 20250403
"""Default seed, for the synthetic register and for sampling."""
