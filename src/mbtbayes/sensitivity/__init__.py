"""Sensitivity: does each conclusion survive other priors, likelihoods, structures and
missing-data mechanisms; and what could this design detect (calibration, power).

The public function ``mbtbayes.sensitivity`` (:func:`mbtbayes.sensitivity.suite.sensitivity`)
shares its name with this package: importing any ``mbtbayes.sensitivity.*`` module binds the
package to ``mbtbayes.sensitivity``, so the package itself is callable and calls that function,
whichever is bound first.

Examples
--------
>>> import mbtbayes as mb
>>> import mbtbayes.sensitivity.quantities
>>> callable(mb.sensitivity)
True
"""

from __future__ import annotations

import sys
import types
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mbtbayes.sensitivity.suite import Sensitivity


class _CallablePackage(types.ModuleType):
    def __call__(self, *args: object, **kwargs: object) -> Sensitivity:
        """Same as :func:`mbtbayes.sensitivity.suite.sensitivity`."""
        from mbtbayes.sensitivity.suite import sensitivity

        return sensitivity(*args, **kwargs)


sys.modules[__name__].__class__ = _CallablePackage
