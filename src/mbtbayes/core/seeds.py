"""Seeds by name: each fit's seed derives from the run seed and the fit's identity.

Adding or removing a spec therefore changes no other fit's draws, and a fit gets the same
seed whichever executor runs it.

Examples
--------
>>> seed_for(20250403, "bsi", "period") == seed_for(20250403, "bsi", "period")
True
>>> seed_for(20250403, "bsi", "period") != seed_for(20250403, "bsi", "linear")
True
"""

from __future__ import annotations

import hashlib

import numpy as np


def seed_for(run_seed: int, *identity: object) -> int:
    """A seed for one fit from the run seed and the fit's identity.

    The identity (for example spec name, variant and analysis) is hashed with SHA-256 into a
    spawn key of :class:`numpy.random.SeedSequence`, whose first 32-bit word is the seed.

    Parameters
    ----------
    run_seed : int
        The seed of the whole run (``--seed``).
    *identity : object
        What the fit is; each part is turned into text.

    Returns
    -------
    int
        A seed in ``[0, 2**32)``.

    Examples
    --------
    >>> seed_for(1, "bsi", "period")
    794497955
    """
    key = "\x1f".join(str(part) for part in identity).encode("utf-8")
    words = np.frombuffer(hashlib.sha256(key).digest()[:16], dtype="<u4")
    sequence = np.random.SeedSequence(int(run_seed), spawn_key=tuple(int(w) for w in words))
    return int(sequence.generate_state(1)[0])
