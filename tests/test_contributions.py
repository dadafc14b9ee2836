"""_core.contributions: a forest's per-feature contributions, checked on forests small enough to
follow by hand, and the shares that pass an amount on to the features that made a change."""

from __future__ import annotations

import numpy as np

from deepforest._core.contributions import shares


def test_shares_keep_the_sum_and_the_signs():
    totals = np.array([[0.3, -0.1, 0.0], [1.0, -1.0, 0.0], [0.0, 0.0, 0.0]])
    out = shares(totals, totals.sum(axis=1))
    np.testing.assert_allclose(out.sum(axis=1), 1.0)
    np.testing.assert_allclose(out[0], [1.125, -0.125, 0.0])  # half the magnitude survives
    np.testing.assert_allclose(out[1], [0.5, 0.5, 0.0])  # cancelling: by magnitude
    same_way = np.array([[0.3, 0.1, 0.0]])
    np.testing.assert_allclose(shares(same_way, same_way.sum(axis=1)), [[0.75, 0.25, 0.0]])
    large = np.array([[1.0, -0.9]])  # a change of 0.1: its ratios would be 10 and -9
    assert np.abs(shares(large, large.sum(axis=1))).max() <= 2 * 1.0 / 1.9
    np.testing.assert_allclose(out[2], [1 / 3] * 3)  # nothing moved: equally
