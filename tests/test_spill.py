"""Spilled cascade layers and scanning grains: same outputs as in memory, lazy loading, clear
failures."""

from __future__ import annotations

import gc
import os
import pickle
import weakref

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits

from deepforest import (
    CascadeForestClassifier,
    CascadeForestRegressor,
    GCForestClassifier,
    MultiGrainScanner,
    _growth,
    _prediction,
)
from deepforest._core import spill as _spill
from deepforest._core.layer import Layer
from deepforest._core.spill import SpilledLayer, SpillFileError, spill_layer
from deepforest._scanning.grain import GrainForests
from deepforest._scanning.spill import SpilledGrain

SMALL = {"n_trees": 8, "max_layers": 2, "min_samples_leaf": 1, "random_state": 0}


@pytest.fixture(scope="module")
def classifier():
    X, y = load_breast_cancer(return_X_y=True)
    # A wide depth tolerance keeps the second layer even if it scores lower: two to spill.
    model = CascadeForestClassifier(**SMALL, max_loss_se=np.inf).fit(X, y)
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
    real_load = _spill._deserialize

    def recording_load(*args):
        forests = real_load(*args)
        loaded.extend(weakref.ref(forest) for forest in forests.values())
        return forests

    monkeypatch.setattr(_spill, "_deserialize", recording_load)
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
    with pytest.raises(SpillFileError, match="missing") as info:
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
    with pytest.raises(SpillFileError, match="is not the spilled cascade layer written"):
        _ = first.forests


def test_materialize_gives_an_in_memory_layer(classifier, tmp_path):
    model, X = classifier
    spilled = spill_layer(model.layers_[1], tmp_path, 1)
    layer = spilled.materialize()
    spilled.remove()
    assert isinstance(layer, Layer)
    X_binned = model._binner.transform(X)
    features = _prediction.augment(X_binned, model.layers_[0], model.layers_[0].outputs(X_binned))
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
    real_fit_layer = _growth.fit_layer
    counter = iter(range(100))

    def spilling_fit_layer(*args, **kwargs):
        layer, outputs = real_fit_layer(*args, **kwargs)
        return spill_layer(layer, tmp_path, next(counter)), outputs

    monkeypatch.setattr(_growth, "fit_layer", spilling_fit_layer)
    model = CascadeForestClassifier(**SMALL).fit(X, y)
    assert all(isinstance(layer, SpilledLayer) for layer in model.layers_)
    np.testing.assert_array_equal(model.predict_proba(X), expected)


# ------------------------------------------------------------------ scanning grains
SCAN = {"window_sizes": [3, 5], "image_shape": (8, 8), "n_trees": 6, "max_windows": 4000}


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:300], y[:300]


def test_spilled_scanner_gives_the_same_vectors(digits, tmp_path):
    X, y = digits
    in_memory = MultiGrainScanner(**SCAN, random_state=0)
    spilled = MultiGrainScanner(**SCAN, spill_dir=tmp_path / "grains", random_state=0)
    np.testing.assert_array_equal(spilled.fit_transform(X, y), in_memory.fit_transform(X, y))
    np.testing.assert_array_equal(spilled.transform(X[:40]), in_memory.transform(X[:40]))
    assert all(isinstance(grain, SpilledGrain) for grain in spilled.grains_)
    files = sorted(p.name for p in (tmp_path / "grains").iterdir())
    assert [name[:8] for name in files] == ["grain-00", "grain-01"]
    for grain, reference in zip(spilled.grains_, in_memory.grains_, strict=True):
        assert (grain.window, grain.n_training_windows) == (
            reference.window,
            reference.n_training_windows,
        )
        loaded = grain.materialize()
        assert isinstance(loaded, GrainForests)
        windows = np.random.RandomState(0).randint(0, 256, (25, int(np.prod(grain.window))))
        windows = windows.astype(np.uint8)
        for a, b in zip(grain.outputs(windows), reference.outputs(windows), strict=True):
            np.testing.assert_array_equal(a, b)
    assert "SpilledGrain(" in repr(spilled.grains_[0])


def test_spilled_scanner_holds_one_grain_at_a_time(digits, tmp_path, monkeypatch):
    """Each grain's forests are freed before the next grain is fitted or loaded."""
    X, y = digits
    dumped, loaded = [], []
    real_dump, real_load = _spill._serialize, _spill._deserialize

    def forests_of(forests):
        return [weakref.ref(forest) for forest in forests.values()]

    def recording_dump(forests, *args):
        gc.collect()
        assert all(ref() is None for ref in dumped), "a spilled grain stayed in memory during fit"
        dumped.extend(forests_of(forests))
        return real_dump(forests, *args)

    def recording_load(*args):
        gc.collect()
        assert all(ref() is None for ref in loaded), "two grains were in memory in transform"
        forests = real_load(*args)
        loaded.extend(forests_of(forests))
        return forests

    monkeypatch.setattr(_spill, "_serialize", recording_dump)
    monkeypatch.setattr(_spill, "_deserialize", recording_load)
    scanner = MultiGrainScanner(**SCAN, spill_dir=tmp_path, random_state=0).fit(X, y)
    scanner.transform(X[:30])
    gc.collect()
    assert len(dumped) == len(loaded) == 2 * 2  # grains × forest kinds
    assert all(ref() is None for ref in dumped + loaded)


def test_spilled_scanner_pickles_references_and_fails_clearly_without_its_files(digits, tmp_path):
    X, y = digits
    scanner = MultiGrainScanner(**SCAN, spill_dir=tmp_path, random_state=0).fit(X, y)
    expected = scanner.transform(X[:20])
    data = pickle.dumps(scanner)
    assert len(data) < 20_000 < sum(p.stat().st_size for p in tmp_path.iterdir())
    np.testing.assert_array_equal(pickle.loads(data).transform(X[:20]), expected)
    scanner.grains_[1].remove()
    with pytest.raises(SpillFileError, match=r"spilled scanning grain .* is missing") as info:
        pickle.loads(data).transform(X[:20])
    assert str(scanner.grains_[1].path) in str(info.value)


def test_gcforest_spills_its_grains_and_its_layers(digits, tmp_path):
    X, y = digits
    params = {
        "window_sizes": [4],
        "image_shape": (8, 8),
        "scan_n_trees": 6,
        "n_trees": 8,
        "max_layers": 2,
        "random_state": 0,
    }
    expected = GCForestClassifier(**params).fit(X, y).predict_proba(X)
    model = GCForestClassifier(
        **params,
        scan_params={"spill_dir": tmp_path / "scan"},
        cascade_params={"spill_dir": tmp_path / "cascade"},
    ).fit(X, y)
    assert isinstance(model.scanner_.grains_[0], SpilledGrain)
    assert all(isinstance(layer, SpilledLayer) for layer in model.cascade_.layers_)
    np.testing.assert_array_equal(model.predict_proba(X), expected)


# ------------------------------------------------------------------ hardening


class _Payload:
    """Unpickling this runs code: it creates the file ``marker``."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.mark.parametrize("engine", ["numba", "sklearn"])
def test_a_replaced_spill_file_is_refused_before_anything_is_read(tmp_path, engine):
    """A spill file replaced by a pickle (or an .npz of other arrays) must not be parsed."""
    X, y = load_breast_cancer(return_X_y=True)
    model = CascadeForestClassifier(**SMALL, engine=engine, spill_dir=tmp_path / "spill")
    model.fit(X, y)
    layer = model.layers_[0]
    assert layer.path.suffix == (".npz" if engine == "numba" else ".skops")
    marker = tmp_path / "code-ran"
    layer.path.write_bytes(pickle.dumps(_Payload(marker)))
    with pytest.raises(SpillFileError, match="not the spilled cascade layer"):
        model.predict(X)
    assert not marker.exists()
    # The files hold no code themselves: the compiled engine's are arrays only.
    if engine == "numba":
        with np.load(model.layers_[-1].path, allow_pickle=False) as arrays:
            assert all(arrays[name].dtype != object for name in arrays.files)


def test_a_truncated_spill_file_is_refused(classifier, tmp_path):
    model, X = classifier
    spilled = spill_layer(model.layers_[0], tmp_path, 0)
    data = spilled.path.read_bytes()
    spilled.path.write_bytes(data[: len(data) // 2])
    with pytest.raises(SpillFileError, match="truncated, overwritten or replaced"):
        spilled.outputs(_features(model, X))


def test_the_spill_directory_is_private_and_others_directories_are_refused(classifier, tmp_path):
    model, _ = classifier
    created = tmp_path / "new" / "spill"
    spill_layer(model.layers_[0], created, 0)
    assert created.stat().st_mode & 0o777 == 0o700
    assert all(p.stat().st_mode & 0o777 == 0o600 for p in created.iterdir())
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    with pytest.raises(PermissionError, match="writable by other users"):
        spill_layer(model.layers_[0], shared, 0)
    X, y = load_breast_cancer(return_X_y=True)
    with pytest.raises(PermissionError, match="writable by other users"):
        CascadeForestClassifier(**SMALL, spill_dir=shared).fit(X, y)
    assert list(shared.iterdir()) == []


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() != 0,
    reason="giving a directory to another user needs root",
)
def test_a_spill_directory_of_another_user_is_refused(classifier, tmp_path):
    model, _ = classifier
    foreign = tmp_path / "foreign"
    foreign.mkdir(mode=0o700)
    os.chown(foreign, 12345, 12345)
    with pytest.raises(PermissionError, match="belongs to another user"):
        spill_layer(model.layers_[0], foreign, 0)
    assert list(foreign.iterdir()) == []


# ----------------------------------------------------------- spill files and refits

SPILL = {"n_trees": 8, "max_layers": 4, "max_loss_se": 0, "min_samples_leaf": 1}


def _spill_files(directory):
    return {path.name for path in directory.iterdir()}


def test_refit_keeps_the_first_fits_files_and_the_refit_predicts_correctly(tmp_path):
    """docs/distributed.md: the files belong to the user; deleting the model does not delete them,
    only the files of layers grown but not kept are removed, at the end of fit. A refit replaces
    the layers but leaves the first fit's files, which a pickle of the first model still needs."""
    X, y = load_breast_cancer(return_X_y=True)
    model = CascadeForestClassifier(**SPILL, random_state=2, spill_dir=tmp_path)
    model.fit(X, y)
    # Seed 2 grows two layers and keeps one: the dropped layer's file is removed.
    assert len(model.history_["score"]) == 2
    assert model.n_layers_ == 1
    assert all(isinstance(layer, SpilledLayer) for layer in model.layers_)
    first_files = {layer.path.name for layer in model.layers_}
    assert _spill_files(tmp_path) == first_files
    first_pickle = pickle.dumps(model)
    first_proba = model.predict_proba(X)

    X_second, y_second = X[::2], y[::2]
    model.fit(X_second, y_second)
    second_files = {layer.path.name for layer in model.layers_}
    assert all(isinstance(layer, SpilledLayer) for layer in model.layers_)
    assert second_files
    assert not first_files & second_files
    # The first fit's files are kept, unchanged (the digest check would refuse them otherwise);
    # only the second fit's kept layers are added.
    assert _spill_files(tmp_path) == first_files | second_files
    np.testing.assert_array_equal(pickle.loads(first_pickle).predict_proba(X), first_proba)
    # The refitted model is the model a fresh in-memory fit gives.
    in_memory = CascadeForestClassifier(**SPILL, random_state=2).fit(X_second, y_second)
    assert model.n_layers_ == in_memory.n_layers_
    np.testing.assert_array_equal(model.predict_proba(X), in_memory.predict_proba(X))
    assert not np.array_equal(model.predict_proba(X), first_proba)
    assert model.score(X[1::2], y[1::2]) > 0.9
