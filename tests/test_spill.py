"""Spilled cascade layers: same outputs as in-memory layers, lazy loading, clear failures."""

from __future__ import annotations

import gc
import pickle
import weakref

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes

from deepforest import CascadeForestClassifier, CascadeForestRegressor, _spill, cascade
from deepforest._layer import Layer
from deepforest._spill import SpilledLayer, SpilledLayerError, spill_layer

SMALL = {"n_trees": 8, "max_layers": 2, "min_samples_leaf": 1, "random_state": 0}


@pytest.fixture(scope="module")
def classifier():
    X, y = load_breast_cancer(return_X_y=True)
    # A wide depth tolerance keeps the second layer even if it scores lower: two to spill.
    model = CascadeForestClassifier(**SMALL, depth_tolerance=1.0).fit(X, y)
    assert model.n_layers_ == 2
    return model, X


def _spill_all(model, directory) -> list[SpilledLayer]:
    return [spill_layer(layer, directory, index) for index, layer in enumerate(model.layers_)]


def _features(model, X):
    return model._binner.transform(X).astype(np.float32)


def test_outputs_equal_in_memory_layer(classifier, tmp_path):
    model, X = classifier
    layer = model.layers_[0]
    spilled = spill_layer(layer, tmp_path, 0)
    assert isinstance(spilled, SpilledLayer)
    assert spilled.n_outputs == layer.n_outputs
    features = _features(model, X)
    expected = layer.outputs(features)
    got = spilled.outputs(features)
    assert len(got) == len(expected)
    for a, b in zip(got, expected, strict=True):
        np.testing.assert_array_equal(a, b)
    assert len(spilled.forests) == len(layer.forests)


def test_forests_are_freed_after_outputs(classifier, tmp_path, monkeypatch):
    model, X = classifier
    spilled = spill_layer(model.layers_[0], tmp_path, 0)
    loaded = []
    real_load = _spill.joblib.load

    def recording_load(path):
        payload = real_load(path)
        loaded.extend(weakref.ref(forest) for forest in payload["forests"])
        return payload

    monkeypatch.setattr(_spill.joblib, "load", recording_load)
    spilled.outputs(_features(model, X)[:50])
    gc.collect()
    assert loaded, "outputs() did not load the forests from disk"
    assert all(ref() is None for ref in loaded), "forests stayed in memory after outputs()"


def test_model_with_spilled_layers_predicts_the_same(classifier, tmp_path):
    model, X = classifier
    expected_proba = model.predict_proba(X)
    expected_importances = model.feature_importances_
    in_memory = model.layers_
    try:
        model.layers_ = _spill_all(model, tmp_path)
        np.testing.assert_array_equal(model.predict_proba(X), expected_proba)
        np.testing.assert_array_equal(model.feature_importances_, expected_importances)
    finally:
        model.layers_ = in_memory


def test_regressor_layers_spill(tmp_path):
    X, y = load_diabetes(return_X_y=True)
    model = CascadeForestRegressor(**SMALL).fit(X, y)
    expected = model.predict(X)
    model.layers_ = _spill_all(model, tmp_path)
    np.testing.assert_array_equal(model.predict(X), expected)


def test_pickle_keeps_a_reference_that_works(classifier, tmp_path):
    model, X = classifier
    spilled = _spill_all(model, tmp_path)
    clone = pickle.loads(pickle.dumps(model))
    clone.layers_ = spilled
    data = pickle.dumps(clone)
    # The pickle holds the references, not the forests.
    assert len(pickle.dumps(spilled)) < 2_000
    assert (
        len(data) < len(pickle.dumps(model)) - sum(p.stat().st_size for p in tmp_path.iterdir()) / 2
    )
    restored = pickle.loads(data)
    np.testing.assert_array_equal(restored.predict_proba(X), model.predict_proba(X))


def test_missing_file_fails_clearly(classifier, tmp_path):
    model, X = classifier
    spilled = spill_layer(model.layers_[0], tmp_path, 0)
    restored = pickle.loads(pickle.dumps(spilled))
    spilled.remove()
    assert not spilled.path.exists()
    with pytest.raises(SpilledLayerError, match="missing") as info:
        restored.outputs(_features(model, X))
    assert str(spilled.path) in str(info.value)
    # It is a FileNotFoundError, so callers handling missing files catch it too.
    with pytest.raises(FileNotFoundError):
        _ = restored.forests
    spilled.remove()  # removing twice is harmless


def test_replaced_file_is_refused(classifier, tmp_path):
    model, _ = classifier
    first = spill_layer(model.layers_[0], tmp_path, 0)
    second = spill_layer(model.layers_[1], tmp_path, 0)
    assert first.path != second.path, "two spills of the same index must not share a file"
    second.path.replace(first.path)
    with pytest.raises(SpilledLayerError, match="does not hold this spilled"):
        _ = first.forests


def test_materialize_gives_an_in_memory_layer(classifier, tmp_path):
    model, X = classifier
    spilled = spill_layer(model.layers_[1], tmp_path, 1, compress=3)
    layer = spilled.materialize()
    spilled.remove()
    assert isinstance(layer, Layer)
    features = model._binner.transform(X)
    features = cascade._augment(features, model.layers_[0].outputs(features.astype(np.float32)))
    for a, b in zip(layer.outputs(features), model.layers_[1].outputs(features), strict=True):
        np.testing.assert_array_equal(a, b)


def test_directory_is_created_and_no_partial_file_is_left(classifier, tmp_path):
    model, _ = classifier
    directory = tmp_path / "nested" / "spill"
    spilled = spill_layer(model.layers_[0], directory, 7)
    assert spilled.path.parent == directory.absolute()
    assert spilled.path.name.startswith("layer-007-")
    assert [p.name for p in directory.iterdir()] == [spilled.path.name]
    assert "SpilledLayer(" in repr(spilled)


def test_spilling_during_fit_gives_the_same_model(tmp_path, monkeypatch):
    """The integration the cascade needs: spill each layer as soon as fit_layer returns it."""
    X, y = load_breast_cancer(return_X_y=True)
    expected = CascadeForestClassifier(**SMALL).fit(X, y).predict_proba(X)
    real_fit_layer = cascade.fit_layer
    counter = iter(range(100))

    def spilling_fit_layer(*args, **kwargs):
        layer, outputs = real_fit_layer(*args, **kwargs)
        return spill_layer(layer, tmp_path, next(counter)), outputs

    monkeypatch.setattr(cascade, "fit_layer", spilling_fit_layer)
    model = CascadeForestClassifier(**SMALL).fit(X, y)
    assert all(isinstance(layer, SpilledLayer) for layer in model.layers_)
    np.testing.assert_array_equal(model.predict_proba(X), expected)
