"""_core.layer: how a layer weighs its members, combines their outputs and bins them for the
next layer."""

from __future__ import annotations

import numpy as np
import pytest

from deepforest._core.layer import stacking_weights


def test_stacking_weights_are_convex_and_follow_the_better_forest():
    rng = np.random.default_rng(0)
    y = rng.normal(size=(500, 1))
    good, noise = y + 0.1 * rng.normal(size=y.shape), rng.normal(size=y.shape)
    weights = stacking_weights([good, noise], y, None)
    assert weights.min() >= 0 and weights.sum() == pytest.approx(1.0)
    assert weights[0] > 0.95
    # Rows weighted zero do not count: there the noise is the truth.
    truth = np.where(np.arange(500)[:, None] < 250, y, noise)
    sample_weight = (np.arange(500) >= 250).astype(float)
    assert stacking_weights([good, noise], truth, sample_weight)[1] > 0.95
