"""Did-you-mean hints for unknown keys and names, shared by the data and spec loaders."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping

from mbtbayes.core.errors import SpecError


def did_you_mean(word: str, options: Iterable[str]) -> str:
    """Return `` (did you mean 'x'?)`` for the closest option, or an empty string.

    Examples
    --------
    >>> did_you_mean("colums", ["columns", "values"])
    " (did you mean 'columns'?)"
    """
    close = difflib.get_close_matches(word, list(options), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def check_keys(given: Mapping, allowed: Iterable[str], where: str) -> None:
    """Raise :class:`SpecError` naming every unknown key of ``given``, with hints.

    Parameters
    ----------
    given : mapping
        The keys to check.
    allowed : iterable of str
        The keys that are allowed.
    where : str
        Where the keys were found, for the message.
    """
    allowed = tuple(allowed)
    unknown = [k for k in given if k not in allowed]
    if unknown:
        hints = ", ".join(f"'{k}'{did_you_mean(k, allowed)}" for k in unknown)
        raise SpecError(f"unknown key(s) in {where}: {hints}; allowed: {', '.join(allowed)}")
