"""``deepforest.save_estimator`` and ``deepforest.load_estimator``: model files from Python."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_digits

from deepforest import (
    CascadeForestClassifier,
    GCForestClassifier,
    MultiGrainScanner,
    load_estimator,
    save_estimator,
)

SMALL = {"n_trees": 5, "random_state": 0, "n_jobs": 1}


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:300], y[:300]


def _gcforest():
    return GCForestClassifier(
        window_sizes=[4], image_shape=(8, 8), scan_n_trees=4, max_layers=2, **SMALL
    )


@pytest.mark.parametrize(
    "make",
    [lambda: CascadeForestClassifier(max_layers=2, **SMALL), _gcforest],
    ids=["cascade", "gcforest"],
)
def test_a_saved_estimator_loads_and_predicts_the_same(tmp_path, digits, make):
    X, y = digits
    model = make().fit(X, y)
    path = save_estimator(model, tmp_path / "model.skops")
    assert path == tmp_path / "model.skops"
    loaded = load_estimator(path)
    assert type(loaded) is type(model)
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))


def test_a_saved_scanner_transforms_the_same(tmp_path, digits):
    X, y = digits
    scanner = MultiGrainScanner(window_sizes=[4], image_shape=(8, 8), **SMALL).fit(X, y)
    loaded = load_estimator(save_estimator(scanner, tmp_path / "scanner.skops"))
    np.testing.assert_array_equal(loaded.transform(X[:20]), scanner.transform(X[:20]))


def test_an_existing_file_is_kept_unless_overwrite(tmp_path, digits):
    X, y = digits
    model = CascadeForestClassifier(max_layers=1, **SMALL).fit(X, y)
    path = tmp_path / "model.skops"
    path.write_bytes(b"the user's file")
    with pytest.raises(FileExistsError, match="overwrite=True"):
        save_estimator(model, path)
    assert path.read_bytes() == b"the user's file"
    save_estimator(model, path, overwrite=True)
    assert load_estimator(path).n_layers_ == model.n_layers_


def test_a_model_with_spilled_forests_is_refused_and_nothing_is_written(tmp_path, digits):
    X, y = digits
    spilled = CascadeForestClassifier(max_layers=1, spill_dir=tmp_path / "spill", **SMALL)
    spilled.fit(X, y)
    with pytest.raises(ValueError, match="spill_dir keeps its forests in files"):
        save_estimator(spilled, tmp_path / "model.skops")
    assert not (tmp_path / "model.skops").exists()


def test_a_file_that_is_not_a_model_is_refused_by_name(tmp_path):
    path = tmp_path / "model.skops"
    path.write_bytes(b"PK\x03\x04 not a zip archive at all")
    with pytest.raises(ValueError, match="damaged or was not written by deepforest"):
        load_estimator(path)


class Stranger:
    """A type no deepforest model holds."""


def test_a_file_holding_other_types_is_refused_with_their_names(tmp_path):
    import skops.io

    path = tmp_path / "other.skops"
    skops.io.dump({"model": Stranger()}, path)
    with pytest.raises(ValueError, match="Stranger"):
        load_estimator(path)
    assert isinstance(load_estimator(path, trusted=[f"{__name__}.Stranger"])["model"], Stranger)
