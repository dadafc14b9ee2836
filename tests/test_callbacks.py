"""``fit(..., callbacks=...)``: every grown layer reported, out of sample, and a way to stop."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_digits, make_regression
from sklearn.metrics import r2_score

from deepforest import (
    CascadeForestClassifier,
    CascadeForestRegressor,
    GCForestClassifier,
    LayerReport,
)

SMALL = {"n_trees": 10, "random_state": 0, "n_jobs": 1}


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:600], y[:600]


def test_every_grown_layer_is_reported_with_its_out_of_sample_output(digits):
    X, y = digits
    reports: list[LayerReport] = []
    # Grow 4 layers whatever their scores, so that some are reported and later dropped.
    model = CascadeForestClassifier(max_layers=4, n_tolerant_rounds=4, boost_rounds=0, **SMALL).fit(
        X, y, callbacks=[reports.append]
    )
    assert [report.index for report in reports] == [0, 1, 2, 3]
    assert [report.score for report in reports] == model.history_["score"]
    assert [report.score_se for report in reports] == model.history_["score_se"]
    assert [report.fit_time for report in reports] == model.history_["fit_time"]
    for report in reports:
        assert report.out_of_sample_output.shape == (len(y), 10)
        np.testing.assert_allclose(report.out_of_sample_output.sum(axis=1), 1.0, rtol=1e-5)
        # The default score is the accuracy of these class vectors.
        accuracy = np.mean(model.classes_[report.out_of_sample_output.argmax(axis=1)] == y)
        assert accuracy == pytest.approx(report.score)
    # Out of sample: far from the in-sample accuracy of the first layer's trees (1.0).
    assert reports[0].score < 0.99
    # Each layer's output is its own, not a buffer later layers overwrite.
    assert not np.array_equal(reports[0].out_of_sample_output, reports[-1].out_of_sample_output)


def test_callbacks_do_not_change_the_model(digits):
    X, y = digits

    def meddle(report):
        report.out_of_sample_output[:] = 0  # a copy: the cascade's own stays

    plain = CascadeForestClassifier(max_layers=3, **SMALL).fit(X, y)
    watched = CascadeForestClassifier(max_layers=3, **SMALL).fit(X, y, callbacks=meddle)
    assert watched.n_layers_ == plain.n_layers_
    np.testing.assert_array_equal(watched.predict_proba(X), plain.predict_proba(X))


def test_a_callback_that_returns_true_stops_growth_after_that_layer(digits):
    X, y = digits
    seen = []

    def stop_after_second(report):
        return report.index == 1

    model = CascadeForestClassifier(max_layers=6, n_tolerant_rounds=6, **SMALL).fit(
        X, y, callbacks=[stop_after_second, seen.append]
    )
    # Every callback saw every layer grown, the one that asked to stop too.
    assert [report.index for report in seen] == [0, 1]
    assert len(model.history_["score"]) == 2
    assert model.n_layers_ <= 2


def test_regressors_report_their_predictions(digits):
    X, y = make_regression(n_samples=300, n_features=6, noise=1.0, random_state=0)
    reports = []
    model = CascadeForestRegressor(max_layers=2, **SMALL).fit(X, y, callbacks=reports.append)
    assert len(reports) == len(model.history_["score"])
    assert reports[0].out_of_sample_output.shape == (300, 1)
    score = r2_score(y, reports[0].out_of_sample_output[:, 0])
    assert score == pytest.approx(reports[0].score, abs=1e-9)


def test_gcforest_passes_callbacks_to_its_cascade(digits):
    X, y = digits
    reports = []
    model = GCForestClassifier(
        window_sizes=[4],
        image_shape=(8, 8),
        scan_n_trees=5,
        n_trees=5,
        max_layers=2,
        random_state=0,
        n_jobs=1,
    ).fit(X[:200], y[:200], callbacks=[reports.append])
    assert [report.score for report in reports] == model.history_["score"]


@pytest.mark.parametrize(
    "callbacks, message",
    [
        ("print", "must be a list of callables, got str"),
        ([print, 3], "3 is not callable"),
        ({"a": print}, "got dict"),
    ],
)
def test_callbacks_that_are_not_callables_are_refused(digits, callbacks, message):
    X, y = digits
    with pytest.raises(TypeError, match=message):
        CascadeForestClassifier(**SMALL).fit(X, y, callbacks=callbacks)
