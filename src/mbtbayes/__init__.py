"""mbtbayes: a Bayesian reanalysis, beside the frequentist one, of the MBT sustainability study.

The public API (``import mbtbayes as mb``): every command-line step is a function that takes a
DataFrame (or a path) and keyword-only options and returns a DataFrame or a result object.

Data
    :func:`load_register`, :func:`validate_register`, :func:`simulate_register`
Growth models
    :func:`load_specs`, :func:`make_spec`, :func:`fit_growth`, :func:`fit_specs`
Binary outcomes
    :func:`remission_table`, :func:`start_end_change`, :func:`adherence_table`
Frequentist analysis and concordance
    :func:`fit_mixed`, :func:`concordance`
The whole reanalysis
    :func:`reanalyze`, :func:`published`, :func:`published_tables`, :func:`growth_tables`
Figures and the paper's tables
    :func:`plot_trajectories`, :func:`plot_period_contrasts`, :func:`plot_effect_sizes`,
    :func:`plot_remission`, :func:`plot_model_comparison`, :func:`plot_prior_posterior`,
    :func:`paper_table`

Examples
--------
>>> import mbtbayes as mb
>>> reg = mb.load_register()              # the bundled SYNTHETIC register
>>> specs = mb.load_specs()
>>> sorted(specs)[:3]
['bsi', 'cip', 'fwc_confident']
>>> fit = mb.fit_growth(specs["bsi"], reg.data, draws=500)  # doctest: +SKIP
"""

from mbtbayes.binary.adherence import adherence_table
from mbtbayes.binary.change import start_end_change
from mbtbayes.binary.remission import remission_table
from mbtbayes.compare import concordance
from mbtbayes.core.errors import (
    ConvergenceError,
    DataError,
    MbtbayesError,
    OutputError,
    SpecError,
)
from mbtbayes.core.sampling import SamplerOptions
from mbtbayes.frequentist.mixed import fit_mixed
from mbtbayes.growth.fit import GrowthFit, fit_growth, fit_specs
from mbtbayes.growth.specs import ModelSpec, load_specs, make_spec
from mbtbayes.io.register import Register, Validation, load_register, validate_register
from mbtbayes.io.synthetic import simulate_register
from mbtbayes.pipeline import growth_tables, published, published_tables, reanalyze
from mbtbayes.report.paper_tables import paper_table
from mbtbayes.report.plots import (
    plot_effect_sizes,
    plot_model_comparison,
    plot_period_contrasts,
    plot_prior_posterior,
    plot_remission,
    plot_trajectories,
)

__version__ = "0.2.0"

__all__ = [
    "ConvergenceError",
    "DataError",
    "GrowthFit",
    "MbtbayesError",
    "ModelSpec",
    "OutputError",
    "Register",
    "SamplerOptions",
    "SpecError",
    "Validation",
    "adherence_table",
    "concordance",
    "fit_growth",
    "fit_mixed",
    "fit_specs",
    "growth_tables",
    "load_register",
    "load_specs",
    "make_spec",
    "paper_table",
    "plot_effect_sizes",
    "plot_model_comparison",
    "plot_period_contrasts",
    "plot_prior_posterior",
    "plot_remission",
    "plot_trajectories",
    "published",
    "published_tables",
    "reanalyze",
    "remission_table",
    "simulate_register",
    "start_end_change",
    "validate_register",
]
