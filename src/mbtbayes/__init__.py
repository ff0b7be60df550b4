"""mbtbayes: Bayesian reanalysis of the MBT sustainability study."""

__version__ = "0.1.0"
