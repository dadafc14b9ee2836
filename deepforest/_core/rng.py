"""A small random number generator for the compiled kernels (SplitMix64).

Each tree draws from its own generator, seeded from the forest's seed before any tree is grown,
so a tree's bootstrap and splits are the same whichever thread or worker grows it. NumPy's and
numba's global generators are per thread and would tie the results to the schedule.
"""

from __future__ import annotations

import numpy as np
from numba import njit

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)


def new_state(seed: int) -> np.ndarray:
    """A generator state (one uint64 in an array, updated in place) from a non-negative seed."""
    return np.array([seed], dtype=np.uint64)


@njit(nogil=True, cache=True, inline="always")
def next_u64(state):
    state[0] += _GOLDEN
    z = state[0]
    z = (z ^ (z >> np.uint64(30))) * _MIX1
    z = (z ^ (z >> np.uint64(27))) * _MIX2
    return z ^ (z >> np.uint64(31))


@njit(nogil=True, cache=True, inline="always")
def rand_below(state, n):
    """A uniform integer in ``[0, n)``; ``n`` is positive and far below 2**53."""
    return np.int64((next_u64(state) >> np.uint64(11)) % np.uint64(n))
