"""The package's exception types, one per failure family.

Each message says what to fix. The command line prints the message on one line and exits 2,
without a traceback.
"""


class MbtbayesError(Exception):
    """Base class of every error this package raises on purpose."""


class DataError(MbtbayesError, ValueError):
    """The register (or any input table) cannot be used as it is.

    Attributes
    ----------
    problems : list of str
        Every problem found, one entry each, so that all can be fixed in one go.
    """

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = list(problems or [])


class SpecError(MbtbayesError, ValueError):
    """A model specification (``models/*.toml``, a mapping file, or an option) is invalid."""


class ConvergenceError(MbtbayesError, RuntimeError):
    """A fit did not converge (optimiser failure, or sampler diagnostics that cannot be trusted)."""


class OutputError(MbtbayesError, OSError):
    """An output folder cannot be written safely (it holds other files, is the data, ...)."""


class DependencyError(MbtbayesError, ImportError):
    """An optional package that a requested feature needs is not installed; the message names
    the extra that installs it (e.g. ``pip install "mbtbayes[dask]"``)."""
