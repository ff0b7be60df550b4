"""mbtbayes: a Bayesian reanalysis, beside the frequentist one, of the MBT sustainability study.

The public API (``import mbtbayes as mb``): every command-line step is a function that takes a
DataFrame (or a path) and keyword-only options and returns a DataFrame or a result object.

Data
    :func:`load_register`, :func:`validate_register`, :func:`simulate_register`
Growth models
    :func:`load_specs`, :func:`make_spec`, :func:`fit_growth`, :func:`fit_specs`,
    :func:`fit_joint` (the clinical outcomes in one model)
Binary outcomes
    :func:`remission_table`, :func:`start_end_change`, :func:`adherence_table`
Who came in each period
    :func:`intake_table` (the paper's intake tests beside their Bayesian counterparts)
Frequentist analysis and concordance
    :func:`fit_mixed`, :func:`concordance`
The whole reanalysis
    :func:`reanalyze`, :func:`published`, :func:`published_tables`, :func:`growth_tables`,
    :func:`calibrate` (simulation-based calibration and power of the design),
    :func:`sensitivity` (prior grid, reverse-Bayes, drop-out tipping point)
Figures and the paper's tables
    :func:`plot_trajectories`, :func:`plot_period_contrasts`, :func:`plot_effect_sizes`,
    :func:`plot_remission`, :func:`plot_model_comparison`, :func:`plot_prior_posterior`,
    :func:`paper_table`, :func:`write_paper_tables_docx` (``paper_tables.docx``, APA style)

The long computations (:func:`fit_specs`, :func:`fit_joint`, :func:`sensitivity`,
:func:`calibrate`) show their progress on stderr as the command line does (which fit is
running, how many are done and left); ``progress=False`` silences them. :func:`joint_tables`
takes the joint fits already made (``joint=mb.fit_joint(...)``) instead of fitting again.

Examples
--------
>>> import mbtbayes as mb
>>> reg = mb.load_register()              # the bundled SYNTHETIC register
>>> specs = mb.load_specs()
>>> sorted(specs)[:3]
['bsi', 'cip', 'fwc_confident']
>>> fit = mb.fit_growth(specs["bsi"], reg.data)  # doctest: +SKIP
"""

from importlib import import_module

_WHERE = {
    "adherence_table": "mbtbayes.binary.adherence",
    "start_end_change": "mbtbayes.binary.change",
    "remission_table": "mbtbayes.binary.remission",
    "concordance": "mbtbayes.compare",
    "intake_table": "mbtbayes.compare.intake",
    "ConvergenceError": "mbtbayes.core.errors",
    "DataError": "mbtbayes.core.errors",
    "DependencyError": "mbtbayes.core.errors",
    "MbtbayesError": "mbtbayes.core.errors",
    "OutputError": "mbtbayes.core.errors",
    "SpecError": "mbtbayes.core.errors",
    "SamplerOptions": "mbtbayes.core.sampling",
    "fit_mixed": "mbtbayes.frequentist.mixed",
    "GrowthFit": "mbtbayes.growth.result",
    "JointFit": "mbtbayes.growth.joint.fit",
    "fit_joint": "mbtbayes.growth.joint.fit",
    "adjusted_effects": "mbtbayes.growth.adjusted",
    "fit_growth": "mbtbayes.growth.fit",
    "fit_specs": "mbtbayes.growth.fit",
    "ModelSpec": "mbtbayes.growth.modelspec",
    "reliable_change": "mbtbayes.growth.reliable_change",
    "shrinkage": "mbtbayes.growth.shrinkage",
    "load_specs": "mbtbayes.growth.specs",
    "make_spec": "mbtbayes.growth.specs",
    "Register": "mbtbayes.io.register",
    "Validation": "mbtbayes.io.register",
    "load_register": "mbtbayes.io.register",
    "validate_register": "mbtbayes.io.register",
    "simulate_register": "mbtbayes.io.synthetic",
    "joint_pooling": "mbtbayes.sensitivity.joint_pooling",
    "sensitivity": "mbtbayes.sensitivity.suite",
    "stacking": "mbtbayes.sensitivity.stacking",
    "calibrate": "mbtbayes.pipeline",
    "growth_tables": "mbtbayes.pipeline",
    "joint_tables": "mbtbayes.pipeline",
    "published": "mbtbayes.pipeline",
    "published_tables": "mbtbayes.pipeline",
    "reanalyze": "mbtbayes.pipeline",
    "paper_table": "mbtbayes.report.paper_tables",
    "write_paper_tables_docx": "mbtbayes.report.word",
    "plot_effect_sizes": "mbtbayes.report.plots",
    "plot_model_comparison": "mbtbayes.report.plots",
    "plot_period_contrasts": "mbtbayes.report.plots",
    "plot_prior_posterior": "mbtbayes.report.plots",
    "plot_remission": "mbtbayes.report.plots",
    "plot_trajectories": "mbtbayes.report.plots",
}
"""Public name -> the module that defines it (imported on first use, so that ``import
mbtbayes`` and the command line start fast)."""


def __getattr__(name: str) -> object:
    if name in _WHERE:
        value = getattr(import_module(_WHERE[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'mbtbayes' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_WHERE))


def _version() -> str:
    """The installed distribution's version: one source, pyproject.toml."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("mbtbayes")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "0+unknown"


__version__ = _version()

__all__ = sorted(_WHERE)
