"""The report's figures as public functions, for notebooks and one's own reports.

Each takes a fit list or one of the run's tables and returns a matplotlib Figure drawn in the
package's style (:mod:`mbtbayes.report.style`); display it in a notebook or save it with
``fig.savefig("name.png")``.

Examples
--------
>>> import mbtbayes as mb
>>> fits = mb.fit_specs(mb.load_specs(), mb.load_register().data)  # doctest: +SKIP
>>> mb.plot_trajectories(fits, mb.load_register().data)  # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from mbtbayes.report import figures_growth, figures_more
from mbtbayes.report.style import figure_style

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def plot_trajectories(fits: list, data: pd.DataFrame, *, months: float | None = None) -> Figure:
    """Population mean per period (95% HDI band) over the observed means per wave.

    The lines are the rows of the run's ``trajectories`` table, from the same function
    (:func:`mbtbayes.growth.trajectories.trajectory_table`): patient effects at zero, a
    model's covariates standardised over each period's observed mix (g-computation), which
    each panel states.

    Parameters
    ----------
    fits : list of GrowthFit
        One panel per fit (period fits draw one curve per period).
    data : pandas.DataFrame
        The register the fits used.
    months : float, optional
        End of the time grid (default: the last observed time of each fit, at least the later
        d time point; steps of 3 months).

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> fig = plot_trajectories([fit], reg.data)  # doctest: +SKIP
    """
    with figure_style():
        return figures_growth.trajectories_figure(fits, data, months=months)


def plot_period_contrasts(data: pd.DataFrame, *, effect_sizes: pd.DataFrame) -> Figure:
    """Forest plot of the Period II - I contrasts in baseline SDs, with each measure's ROPE.

    Parameters
    ----------
    data : pandas.DataFrame
        The ``period_effects`` table (:func:`mbtbayes.growth_tables`).
    effect_sizes : pandas.DataFrame
        The ``effect_sizes`` table (its ``sd_mean`` scales each measure).

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> t = mb.growth_tables(fits, reg.data)  # doctest: +SKIP
    >>> fig = plot_period_contrasts(t["period_effects"],  # doctest: +SKIP
    ...                             effect_sizes=t["effect_sizes"])
    """
    with figure_style():
        return figures_growth.period_contrast_forest(data, effect_sizes)


def plot_effect_sizes(data: pd.DataFrame, *, frequentist: pd.DataFrame | None = None) -> Figure:
    """Forest plot of Cohen's d per measure and period (95% HDI), the ML d beside it.

    Parameters
    ----------
    data : pandas.DataFrame
        The ``effect_sizes`` table.
    frequentist : pandas.DataFrame, optional
        The ``frequentist_effect_sizes`` table.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> fig = plot_effect_sizes(t["effect_sizes"])  # doctest: +SKIP
    """
    with figure_style():
        return figures_growth.effect_size_forest(data, frequentist)


def plot_remission(data: pd.DataFrame) -> Figure:
    """Remission per period (95% HDI) and the difference II - I with P(II worse).

    Parameters
    ----------
    data : pandas.DataFrame
        The ``remission`` table (:func:`mbtbayes.remission_table`).

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> fig = plot_remission(mb.remission_table(reg.data))  # doctest: +SKIP
    """
    with figure_style():
        return figures_more.remission_figure(data)


def plot_model_comparison(data: pd.DataFrame) -> Figure:
    """ELPD difference +-2 SE (LOO) beside the AIC difference / 2, per measure.

    Parameters
    ----------
    data : pandas.DataFrame
        The ``model_comparison`` table (AIC columns optional).

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> fig = plot_model_comparison(t["model_comparison"])  # doctest: +SKIP
    """
    with figure_style():
        return figures_growth.loo_aic_figure(data)


def plot_prior_posterior(fits: list) -> Figure:
    """Prior and posterior densities of the period terms of each period fit.

    Parameters
    ----------
    fits : list of GrowthFit

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> fig = plot_prior_posterior(fits)  # doctest: +SKIP
    """
    with figure_style():
        return figures_growth.prior_posterior_figure(fits)
