"""Deep-Forest 0.1.7's methods on the cascades (deepforest._deepforest017): set_estimator,
set_predictor, get_estimator, get_layer_feature_importances, and save/load of a directory."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.tree import DecisionTreeClassifier

from deepforest import CascadeForestClassifier, CascadeForestRegressor
from deepforest._core.layer_estimators import FoldModels
from deepforest._persistence import UntrustedModelError

SMALL = {"n_trees": 10, "max_layers": 2, "random_state": 0}


@pytest.fixture(scope="module")
def iris():
    return load_iris(return_X_y=True)


def test_set_estimator_and_set_predictor_work_as_in_0_1_7(iris):
    X, y = iris
    model = CascadeForestClassifier(**SMALL)
    model.set_estimator([DecisionTreeClassifier(max_depth=3) for _ in range(2)], n_splits=4)
    model.set_predictor(LogisticRegression(max_iter=500))
    assert model.n_estimators == 0 and model.n_folds == 4 and model.use_predictor is True
    model.fit(X, y)
    custom = model.get_estimator(0, 1, "custom")
    assert isinstance(custom, FoldModels) and len(custom.models) == 4
    assert model.score(X, y) > 0.9
    with pytest.raises(ValueError, match="n_splits should be an integer of at least 2"):
        model.set_estimator([DecisionTreeClassifier()], n_splits=1)
    with pytest.raises(ValueError, match="non-empty list"):
        model.set_estimator(DecisionTreeClassifier())


def test_get_estimator_and_layer_importances(iris):
    X, y = iris
    model = CascadeForestClassifier(**SMALL, min_gain_se=100.0, n_tolerant_rounds=1).fit(X, y)
    assert model.get_estimator(0, 0, "rf") is model.layers_[0].forests[0]
    assert model.get_estimator(0, 1, "erf") is model.layers_[0].forests[3]
    importances = model.get_layer_feature_importances(0)
    assert importances.shape == (4,) and importances.sum() == pytest.approx(1.0)
    assert model.get_layer_feature_importances(1).shape == (4 + 4 * 3,)
    for args, message in [
        ((5, 0, "rf"), r"layer_idx should be in the range \[0, 2\)"),
        ((0, 2, "rf"), r"est_idx should be in the range \[0, 2\)"),
        ((0, 0, "forest"), "estimator_type should be one of"),
        ((0, 0, "custom"), "needs layer estimators"),
    ]:
        with pytest.raises(ValueError, match=message):
            model.get_estimator(*args)


class _UnknownClassifier(LogisticRegression):
    """A class of the user's own, which a model file from elsewhere could name."""


def test_save_and_load_a_directory_safely(iris, tmp_path):
    X, y = iris
    small_booster = HistGradientBoostingClassifier(max_iter=10, random_state=0)
    model = CascadeForestClassifier(**SMALL, layer_estimators=[small_booster]).fit(X, y)
    model.save(tmp_path / "model")
    assert [p.name for p in (tmp_path / "model").iterdir()] == ["model.skops"]
    loaded = CascadeForestClassifier().load(tmp_path / "model")
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    assert repr(loaded.get_params()) == repr(model.get_params())
    assert loaded.get_params()["histgradientboostingclassifier__max_iter"] == 10
    with pytest.raises(FileExistsError, match="overwrite=True"):
        model.save(tmp_path / "model")
    model.save(tmp_path / "model", overwrite=True)
    with pytest.raises(TypeError, match="holds a CascadeForestClassifier"):
        CascadeForestRegressor().load(tmp_path / "model")
    with pytest.raises(FileNotFoundError, match=r"model\.skops does not exist"):
        CascadeForestClassifier().load(tmp_path)

    other = CascadeForestClassifier(**SMALL, layer_estimators=[_UnknownClassifier()]).fit(X, y)
    other.save(tmp_path / "other")
    name = f"{__name__}._UnknownClassifier"
    with pytest.raises(UntrustedModelError, match=name):
        CascadeForestClassifier().load(tmp_path / "other")
    trusted = CascadeForestClassifier().load(tmp_path / "other", trusted=[name])
    np.testing.assert_array_equal(trusted.predict(X), other.predict(X))
