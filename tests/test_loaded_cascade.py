"""A model file's cascade is checked against its own structure as it loads."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from deepforest import CascadeForestClassifier, CascadeForestRegressor
from deepforest._loaded_cascade import MalformedModelError
from deepforest._persistence import load_estimator, save_estimator


@pytest.fixture(scope="module")
def classifier():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(150, 4))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    model = CascadeForestClassifier(
        n_trees=6, max_layers=2, n_tolerant_rounds=2, max_loss_se=np.inf, boost_rounds=3,
        random_state=0,
    ).fit(X, y)  # fmt: skip
    assert model.n_layers_ == 2  # the crafted parts reach into the second layer
    return model, X


def _wider_forest(model):
    """The file declares a wider input for a forest and splits on a column past the real one
    (this used to segfault the traversal, or change 2 of 50 predictions silently)."""
    forest = model.layers_[0].forests[0]
    forest.feature_importances_ = np.zeros(10**8 // 10**6)
    forest.n_features_in_ = forest.feature_importances_.shape[0]
    forest.feature[0] = forest.n_features_in_ - 1


def _fewer_binner_columns(model):
    model._binner.bin_edges_ = model._binner.bin_edges_[:2]


def _wide_leaves(model):
    forest = model.layers_[-1].forests[1]
    forest.values = np.zeros((forest.values.shape[0], 7), dtype=np.float32)


def _extra_class(model):
    model.classes_ = np.array([0, 1, 2])


def _wrong_booster(model):
    model.booster_.values = np.zeros((model.booster_.values.shape[0], 5), dtype=np.float32)


def _nan_leaves(model):
    forest = model.layers_[0].forests[1]
    if forest.values.shape[0] == 0:
        forest.values = np.zeros((1, 2), dtype=np.float32)
    forest.values[0, 0] = np.nan


def _predictor_a_number(model):
    """Found by the fuzzer: a number in place of the final predictor failed at predict time."""
    model.predictor_ = 2.5


def _layer_estimator_a_number(model):
    model.layers_[1].estimators = (2.5,)


def _predictor_of_another_width(model):
    from sklearn.linear_model import LogisticRegression

    X = np.random.default_rng(0).normal(size=(20, 3))
    model.predictor_ = LogisticRegression().fit(X, np.arange(20) % 2)


def _half_precision_leaves(model):
    """Found by the fuzzer: float16 leaves passed the checks and failed in numba at predict."""
    forest = model.layers_[0].forests[0]
    forest.values = forest.values.astype(np.float16)


def _weights_of_dates(model):
    """Found by the fuzzer: member weights of dates failed in numpy at predict time."""
    layer = model.layers_[0]
    layer.output_weights = np.ones(len(layer.forests), dtype="datetime64[s]")


def _output_bins_of_bytes(model):
    """Found by the fuzzer: a layer's output bins of bytes failed in searchsorted."""
    from deepforest._core.binning import QuantileBinner

    layer = model.layers_[0]
    binner = QuantileBinner(n_bins=255)
    binner.bin_edges_ = [np.array([b"0.5"]) for _ in range(len(layer.forests) * 2)]
    binner.missing_bin_ = 255
    layer.output_binner = binner


def _no_final_predictor(model):
    """Found by the fuzzer: without the attribute (not even None) predict raised
    AttributeError."""
    del model.predictor_


@pytest.mark.parametrize(
    "craft, message",
    [
        (_weights_of_dates, "layer 0's member weights do not match its members"),
        (_output_bins_of_bytes, "its binner's edges are not sorted numbers"),
        (_no_final_predictor, "it holds no final predictor"),
        (_half_precision_leaves, "its values array is not of the type a forest holds"),
        (_predictor_a_number, "its final predictor is a float, which has no predict_proba"),
        (_layer_estimator_a_number, "layer 1's estimator is not a layer estimator's fold models"),
        (_predictor_of_another_width, "its final predictor reads 3 columns, not 12"),
        (_wider_forest, "declares 100 input columns, not 4"),
        (_fewer_binner_columns, "binner has edges for 2 columns, the model 4"),
        (_wide_leaves, "leaves of (7,) values, not 2"),
        (_extra_class, "names 3 classes for 2 outputs"),
        (_wrong_booster, "leaves of (5,) values, not 2"),
        (_nan_leaves, "leaf values that are not finite"),
    ],
)
def test_a_crafted_part_is_refused_on_load(classifier, tmp_path, craft, message):
    model, _ = classifier
    crafted = copy.deepcopy(model)
    craft(crafted)
    save_estimator(crafted, tmp_path / "crafted.skops")
    with pytest.raises(MalformedModelError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_estimator(tmp_path / "crafted.skops")


def test_untouched_models_load_and_predict_the_same(classifier, tmp_path):
    model, X = classifier
    save_estimator(model, tmp_path / "plain.skops")
    np.testing.assert_array_equal(
        load_estimator(tmp_path / "plain.skops").predict_proba(X), model.predict_proba(X)
    )
    rng = np.random.default_rng(1)
    X_reg = rng.normal(size=(120, 3))
    # Four kept layers: each reads the features and the layer before's outputs only.
    regressor = CascadeForestRegressor(
        n_trees=6, max_layers=4, n_tolerant_rounds=4, max_loss_se=np.inf, random_state=0
    )
    regressor.fit(X_reg, X_reg[:, 0] * 2)
    assert regressor.n_layers_ == 4
    save_estimator(regressor, tmp_path / "regressor.skops")
    np.testing.assert_array_equal(
        load_estimator(tmp_path / "regressor.skops").predict(X_reg), regressor.predict(X_reg)
    )


@pytest.fixture(scope="module")
def with_hist_gb():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(150, 4))
    y = (X[:, 0] - X[:, 2] > 0).astype(int)
    model = CascadeForestClassifier(
        n_trees=4, max_layers=2, layer_estimators=["hist_gb"], random_state=0
    )
    return model.fit(X, y), X


def _hist_gb_models(model):
    return [m for layer in model.layers_ for member in layer.estimators for m in member.models]


def _negative_tree_count(model):
    """Found by the fuzzer: a HistGradientBoosting model with a negative tree count per
    iteration passed every check and failed with "negative dimensions" at predict time; no
    check of ours knows that attribute, so each such model predicts one row as the file loads."""
    for hist_gb in _hist_gb_models(model):
        hist_gb.n_trees_per_iteration_ = -1


def _class_code_out_of_range(model):
    """Found by the fuzzer: a class code past the cascade's classes raised IndexError."""
    _hist_gb_models(model)[0].classes_ = np.array([0, 1073741823])


@pytest.mark.parametrize(
    "craft, message",
    [
        (_negative_tree_count, "layer 0's estimator cannot predict one row .*negative dimensions"),
        (_class_code_out_of_range, "layer 0's estimator's classes are not class codes below 2"),
    ],
)
def test_a_crafted_layer_estimator_is_refused_on_load(with_hist_gb, tmp_path, craft, message):
    _assert_refused_on_load(*with_hist_gb, craft, message, tmp_path)


def _assert_refused_on_load(model, X, craft, message, folder) -> None:
    """The model loads and predicts as fitted; once crafted, its file is refused."""
    save_estimator(model, folder / "plain.skops")
    np.testing.assert_array_equal(
        load_estimator(folder / "plain.skops").predict_proba(X), model.predict_proba(X)
    )
    crafted = copy.deepcopy(model)
    craft(crafted)
    save_estimator(crafted, folder / "crafted.skops")
    with pytest.raises(MalformedModelError, match=message):
        load_estimator(folder / "crafted.skops")


@pytest.fixture(scope="module")
def gcforest():
    from sklearn.datasets import load_digits

    from deepforest import GCForestClassifier

    X, y = load_digits(return_X_y=True)
    X, y = X[:150], y[:150]
    model = GCForestClassifier(
        window_sizes=[3, 5],
        image_shape=(8, 8),
        scan_n_trees=4,
        n_trees=4,
        max_layers=1,
        random_state=0,
    )
    return model.fit(X, y), X


def _wider_scanning_forest(model):
    """A scanning forest that splits on a column past its 3x3 window: the traversal would
    read the next window's pixels, or past the batch."""
    forest = model.scanner_.grains_[0].forests["random"]
    forest.n_features_in_ = 64
    forest.feature[0] = 63


def _window_past_the_image(model):
    model.scanner_.windows_[1] = (9, 9)


def _grain_of_another_window(model):
    model.scanner_.grains_[0].window = (5, 5)


def _shifted_offsets(model):
    model.scanner_._offsets = model.scanner_._offsets + 1


def _cascade_of_another_width(model):
    model.scanner_.n_features_out_ += 1


@pytest.mark.parametrize(
    "craft, message",
    [
        (_wider_scanning_forest, "declares 64 input columns, not 9"),
        (_window_past_the_image, "window 1 does not fit its samples"),
        (_grain_of_another_window, "window 0 were not fitted for it"),
        (_shifted_offsets, "output layout is not the one its windows imply"),
        (_cascade_of_another_width, "its cascade reads .* columns, its scanner writes"),
    ],
)
def test_a_crafted_scanner_is_refused_on_load(gcforest, tmp_path, craft, message):
    _assert_refused_on_load(*gcforest, craft, message, tmp_path)


def test_a_cascade_reading_other_columns_than_the_scanner_writes_is_refused(gcforest, tmp_path):
    model, _ = gcforest
    crafted = copy.deepcopy(model)
    scanner = crafted.scanner_
    scanner._offsets = scanner._offsets.copy()
    # A consistent scanner with one window fewer writes fewer columns than the cascade reads.
    scanner.windows_, scanner.grains_ = scanner.windows_[:1], scanner.grains_[:1]
    scanner._set_output_layout((8, 8))
    save_estimator(crafted, tmp_path / "crafted.skops")
    with pytest.raises(MalformedModelError, match=r"its cascade reads .* its scanner writes"):
        load_estimator(tmp_path / "crafted.skops")


@pytest.mark.parametrize(
    "library, params, message",
    [
        ("lightgbm", {"num_leaves": 1}, "num_leaves"),
        ("lightgbm", {"bin_construct_sample_cnt": 1e308}, "bin_construct_sample_cnt"),
        ("xgboost", {"missing": "abc"}, "Invalid type for: `missing`"),
    ],
)
def test_a_booster_predictor_whose_parameters_its_library_refuses_is_refused_on_load(
    tmp_path, library, params, message
):
    """Found by the fuzzer: a LightGBM final predictor's parameters, changed in the file, made
    LightGBM raise at the first prediction (a traceback from the command line)."""
    pytest.importorskip(library)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 4))
    y = (X[:, 0] > 0).astype(int)
    model = CascadeForestClassifier(
        n_trees=4,
        max_layers=1,
        predictor=library,
        predictor_params={"n_estimators": 5},
        random_state=0,
    ).fit(X, y)
    model.predictor_.set_params(**params)
    save_estimator(model, tmp_path / "crafted.skops")
    with pytest.raises(MalformedModelError, match=f"does not predict .*{message}"):
        load_estimator(tmp_path / "crafted.skops")
