"""The user's own estimators in the layers and as the final predictor."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.datasets import load_diabetes, load_iris, make_classification
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import GridSearchCV
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor
from sklearn.utils.estimator_checks import parametrize_with_checks
from sklearn.utils.validation import check_is_fitted

from deepforest import CascadeForestClassifier, CascadeForestRegressor
from deepforest._core.folds import assign_folds, duplicate_groups
from deepforest._core.forests import Target
from deepforest._core.layer_estimators import FoldModels, fit_fold_models
from deepforest._core.predictor import ForestPredictor

SMALL = {"n_trees": 10, "max_layers": 2, "random_state": 0}


@pytest.fixture(scope="module")
def iris():
    return load_iris(return_X_y=True)


class MemorizingClassifier(ClassifierMixin, BaseEstimator):
    """Predicts a row's own training label with certainty: a test of honest out-of-fold vectors."""

    def fit(self, X, y, sample_weight=None):
        self.classes_ = np.unique(y)
        self.memory_ = {tuple(row): label for row, label in zip(X.tolist(), y, strict=True)}
        self.default_ = self.classes_[0]
        return self

    def predict_proba(self, X):
        proba = np.zeros((len(X), len(self.classes_)))
        for i, row in enumerate(X.tolist()):
            label = self.memory_.get(tuple(row), self.default_)
            proba[i, np.searchsorted(self.classes_, label)] = 1.0
        return proba

    def predict(self, X):
        return self.classes_[self.predict_proba(X).argmax(axis=1)]


# -- out-of-fold vectors --------------------------------------------------------------------------


def test_each_row_s_vector_comes_from_the_fold_model_that_never_saw_it():
    X, y = make_classification(n_samples=300, n_features=6, random_state=0)
    X = np.asarray(np.clip((X + 4) * 30, 0, 254), dtype=np.uint8)
    folds = assign_folds(duplicate_groups(X), 3, np.random.RandomState(0), y)
    target = Target.classes(y, 2)
    fold_models, out_of_fold = fit_fold_models(
        "tree", DecisionTreeClassifier(random_state=0), X, target, None, None, folds, seed=0
    )
    assert isinstance(fold_models, FoldModels) and len(fold_models.models) == 3
    for fold, model in enumerate(fold_models.models):
        rows = folds == fold
        np.testing.assert_array_equal(out_of_fold[rows], model.predict_proba(X[rows]))
        # The model of a fold was fitted on the other folds' rows only.
        assert model.tree_.n_node_samples[0] == int((~rows).sum())
    new_rows = X[:7]
    expected = np.mean([model.predict_proba(new_rows) for model in fold_models.models], axis=0)
    np.testing.assert_allclose(fold_models.output(new_rows), expected)


def test_a_memorizing_estimator_does_not_leak_labels_into_the_layer_scores():
    # Random labels: a model that remembers its training rows is perfect in sample and at
    # chance out of fold. Duplicated rows share a fold, so no copy of a row is remembered.
    rng = np.random.default_rng(0)
    X = rng.integers(0, 50, size=(200, 3)).astype(float)
    X = np.vstack([X, X[:100]])  # 100 rows appear twice
    y = rng.integers(0, 2, size=200)
    y = np.concatenate([y, y[:100]])
    model = CascadeForestClassifier(
        **SMALL, n_estimators=0, layer_estimators=[MemorizingClassifier()]
    ).fit(X, y)
    for score in model.history_["score"]:
        assert 0.35 < score < 0.65
    # In sample, two of the three fold models of layer 0 remember each row's label.
    binned = model._binner.transform(X)
    in_sample = model.layers_[0].estimators[0].output(binned).argmax(axis=1)
    assert np.mean(in_sample == y) == 1.0


def test_the_user_s_estimators_are_cloned_never_fitted(iris):
    X, y = iris
    layer_tree = DecisionTreeClassifier(max_depth=3)
    predictor = LogisticRegression(max_iter=500)
    model = CascadeForestClassifier(
        **SMALL, layer_estimators=[layer_tree], predictor=predictor
    ).fit(X, y)
    for user_object in (layer_tree, predictor):
        with pytest.raises(NotFittedError):
            check_is_fitted(user_object)
    assert model.layer_estimators[0] is layer_tree and model.predictor is predictor
    fitted = model.layers_[0].estimators[0].models
    assert all(m is not layer_tree for m in fitted) and all(m.max_depth == 3 for m in fitted)
    assert model.predictor_ is not predictor and isinstance(model.predictor_, LogisticRegression)


# -- parameters -----------------------------------------------------------------------------------


def test_layer_estimator_parameters_are_reached_the_scikit_learn_way(iris):
    X, y = iris
    trees = [DecisionTreeClassifier(max_depth=2), DecisionTreeClassifier(max_depth=5)]
    model = CascadeForestClassifier(
        **SMALL, layer_estimators=[("lr", LogisticRegression()), *trees]
    )
    params = model.get_params()
    assert params["lr"] is model.layer_estimators[0][1]
    assert params["decisiontreeclassifier-1__max_depth"] == 2
    assert params["decisiontreeclassifier-2__max_depth"] == 5
    model.set_params(lr__C=0.5, **{"decisiontreeclassifier-2__max_depth": 7})
    assert model.layer_estimators[0][1].C == 0.5 and trees[1].max_depth == 7
    # Replacing a whole estimator makes a new list: the user's list is left as it was.
    given = model.layer_estimators
    knn = KNeighborsClassifier()
    model.set_params(lr=knn)
    assert model.layer_estimators[0] == ("lr", knn) and given[0][0] == "lr"
    assert given[0][1] is not knn
    search = GridSearchCV(
        CascadeForestClassifier(
            n_trees=6, max_layers=1, random_state=0, layer_estimators=[("lr", LogisticRegression())]
        ),
        {"lr__C": [0.001, 10.0]},
        cv=2,
    ).fit(X, y)
    assert [p["lr__C"] for p in search.cv_results_["params"]] == [0.001, 10.0]
    with pytest.raises(ValueError, match="given by its name, which has no parameters"):
        CascadeForestClassifier(layer_estimators=["hist_gb"]).set_params(hist_gb__max_iter=5)
    best = search.best_estimator_.layers_[0].estimators[0].models
    assert {model.C for model in best} == {search.best_params_["lr__C"]}


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"n_estimators": 0}, "n_estimators=0 leaves the layers empty"),
        ({"layer_estimators": [Ridge()]}, "has no fit and predict_proba methods"),
        ({"layer_estimators": ["catboost"]}, "unknown layer estimator 'catboost'"),
        ({"layer_estimators": [("n_trees", LogisticRegression())]}, "clashes with a parameter"),
        ({"layer_estimators": [object()]}, "has no fit and predict_proba methods"),
        ({"predictor_params": {"C": 1}, "predictor_kwargs": {"C": 2}}, "not both"),
    ],
)
def test_bad_layer_setups_are_refused_with_a_clear_message(iris, params, message):
    X, y = iris
    with pytest.raises(ValueError, match=message):
        CascadeForestClassifier(**{**SMALL, **params}).fit(X, y)


def test_estimators_without_sample_weight_are_refused_only_when_weights_are_given(iris):
    X, y = iris
    knn = make_pipeline(StandardScaler(), KNeighborsClassifier())
    model = CascadeForestClassifier(**SMALL, layer_estimators=[knn]).fit(X, y)
    assert model.score(X, y) > 0.9
    with pytest.raises(ValueError, match="does not accept sample_weight"):
        model.fit(X, y, sample_weight=np.ones(len(y)))


def test_sample_and_class_weights_reach_the_layer_estimators():
    X, y = make_classification(
        n_samples=600, weights=[0.9, 0.1], class_sep=0.4, flip_y=0.1, random_state=0
    )
    tree = DecisionTreeClassifier(max_depth=3, random_state=0)
    share = {}
    for class_weight in (None, "balanced"):
        model = CascadeForestClassifier(
            **SMALL, n_estimators=0, layer_estimators=[tree], class_weight=class_weight
        ).fit(X, y)
        share[class_weight] = model.predict_proba(X)[:, 1].mean()
    assert share["balanced"] > share[None] + 0.1


# -- layouts --------------------------------------------------------------------------------------


def test_layer_estimators_replace_the_forests_with_n_estimators_0(iris):
    X, y = iris
    model = CascadeForestClassifier(
        **SMALL, n_estimators=0, layer_estimators=[LogisticRegression(max_iter=500)]
    ).fit(X, y)
    assert all(layer.forests == [] for layer in model.layers_)
    assert [len(layer.estimators) for layer in model.layers_] == [1] * model.n_layers_
    assert model.score(X, y) > 0.9
    with pytest.raises(AttributeError, match="n_estimators=0"):
        model.feature_importances_  # noqa: B018
    with pytest.raises(ValueError, match="estimator_type='custom'"):
        model.get_estimator(0, 0, "rf")


def test_layer_outputs_follow_the_forests_and_the_next_layer_reads_them(iris):
    X, y = iris
    model = CascadeForestClassifier(
        **{**SMALL, "max_layers": 3, "n_tolerant_rounds": 2, "min_gain_se": 100.0},
        layer_estimators=[LogisticRegression(max_iter=500)],
    ).fit(X, y)
    assert model.n_layers_ >= 2
    layer = model.layers_[0]
    assert len(layer.forests) == 4 and len(layer.estimators) == 1
    weights = layer.output_weights
    assert weights.shape == (5,) and weights.min() >= 0 and weights.sum() == pytest.approx(1.0)
    # The second layer reads the features and 5 outputs of 3 classes.
    second = model.layers_[1].forests[0]
    assert second.feature_importances_.shape == (4 + 5 * 3,)


def test_regression_layers_weigh_a_strong_layer_estimator_in():
    X, y = load_diabetes(return_X_y=True)
    model = CascadeForestRegressor(**SMALL, layer_estimators=[Ridge(alpha=0.1)]).fit(X, y)
    weights = model.layers_[0].output_weights
    assert weights.shape == (5,) and weights.sum() == pytest.approx(1.0)
    # A linear target is a linear model's: it takes most of the weight.
    linear = 3 * X[:, 2] - 2 * X[:, 3]
    model = CascadeForestRegressor(**SMALL, layer_estimators=[("ridge", Ridge(alpha=1e-6))])
    model.fit(X, linear)
    assert model.layers_[0].output_weights[-1] > 0.5
    assert model.score(X, linear) > 0.99
    with pytest.raises(ValueError, match="is a classifier; a cascade regressor needs regressors"):
        CascadeForestRegressor(**SMALL, layer_estimators=[DecisionTreeClassifier()]).fit(X, y)


def test_a_classification_layer_weighs_a_much_better_estimator_in():
    # Labels from a linear rule over 30 features: a linear model is far better than forests
    # that see a few features per split, and the layer's weights say so (equal weights would
    # give it a fifth).
    rng = np.random.default_rng(0)
    X = rng.normal(size=(800, 30))
    y = (X @ rng.normal(size=30) > 0).astype(int)
    model = CascadeForestClassifier(
        **SMALL, layer_estimators=[("linear", LogisticRegression(max_iter=1000))]
    ).fit(X[:600], y[:600])
    assert model.layers_[0].output_weights[-1] > 0.5
    forests_only = CascadeForestClassifier(**SMALL).fit(X[:600], y[:600])
    assert model.score(X[600:], y[600:]) > forests_only.score(X[600:], y[600:]) + 0.05


# -- final predictor ------------------------------------------------------------------------------


def test_any_estimator_can_be_the_final_predictor(iris):
    X, y = iris
    model = CascadeForestClassifier(
        **SMALL, predictor=make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    ).fit(X, y)
    proba = model.predict_proba(X)
    assert proba.shape == (150, 3) and np.allclose(proba.sum(axis=1), 1.0)
    assert model.score(X, y) > 0.95
    regressor = CascadeForestRegressor(**SMALL, predictor=DecisionTreeRegressor(max_depth=3))
    Xr, yr = load_diabetes(return_X_y=True)
    assert regressor.fit(Xr, yr).predict(Xr).shape == (len(yr),)


def test_use_predictor_and_predictor_kwargs_keep_their_0_1_7_meaning(iris):
    X, y = iris
    off = CascadeForestClassifier(**SMALL, predictor="forest", use_predictor=False).fit(X, y)
    assert off.predictor_ is None
    on = CascadeForestClassifier(**SMALL, use_predictor=True, predictor_kwargs={"max_depth": 2})
    on.fit(X, y)
    assert isinstance(on.predictor_, ForestPredictor) and on.predictor_.max_depth == 2
    default = CascadeForestClassifier(**SMALL).fit(X, y)
    assert default.predictor_ is None


def test_min_samples_split_reaches_the_trees(iris):
    X, y = iris
    sizes = []
    for split in (2, 40):
        model = CascadeForestClassifier(**SMALL, min_samples_leaf=1, min_samples_split=split).fit(
            X, y
        )
        forest = model.layers_[0].forests[0]
        sizes.append(len(forest.feature))
    assert sizes[1] < sizes[0] / 2


# -- determinism, spill, pickle -------------------------------------------------------------------


def test_results_do_not_depend_on_n_jobs_with_layer_estimators(iris):
    X, y = iris
    booster = HistGradientBoostingClassifier(max_iter=20, random_state=0)
    params = {**SMALL, "n_trees": 25, "layer_estimators": [booster]}
    one = CascadeForestClassifier(**params, n_jobs=1).fit(X, y).predict_proba(X)
    two = CascadeForestClassifier(**params, n_jobs=2).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(one, two)


def test_spilled_layers_keep_their_estimators_in_memory(iris, tmp_path):
    X, y = iris
    params = {**SMALL, "layer_estimators": [LogisticRegression(max_iter=500)]}
    memory = CascadeForestClassifier(**params).fit(X, y)
    spilled = CascadeForestClassifier(**params, spill_dir=tmp_path).fit(X, y)
    assert any(tmp_path.iterdir())
    np.testing.assert_array_equal(spilled.predict_proba(X), memory.predict_proba(X))
    only_estimators = CascadeForestClassifier(
        **{**params, "n_estimators": 0}, spill_dir=tmp_path / "none"
    ).fit(X, y)
    assert only_estimators.score(X, y) > 0.9


def test_pickle_round_trip_with_layer_estimators_and_predictor(iris):
    X, y = iris
    model = CascadeForestClassifier(
        **SMALL,
        layer_estimators=[HistGradientBoostingClassifier(max_iter=10, random_state=0)],
        predictor=LogisticRegression(max_iter=500),
    ).fit(X, y)
    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(restored.predict_proba(X), model.predict_proba(X))


# -- the scikit-learn contract with layer estimators ----------------------------------------------


@parametrize_with_checks(
    [
        CascadeForestClassifier(
            n_trees=5,
            max_layers=2,
            random_state=0,
            layer_estimators=[("tree", DecisionTreeClassifier(max_depth=3, random_state=0))],
            predictor=LogisticRegression(),
        ),
        CascadeForestRegressor(
            n_trees=5,
            max_layers=2,
            random_state=0,
            layer_estimators=[("tree", DecisionTreeRegressor(max_depth=3, random_state=0))],
        ),
    ],
    expected_failed_checks=lambda estimator: {
        "check_sample_weight_equivalence_on_dense_data": "bootstrap forests: sample_weight is "
        "not equivalent to repeating rows",
    },
)
@pytest.mark.slow  # the cascades' own estimator checks run in the fast subset
def test_scikit_learn_contract_with_layer_estimators(estimator, check):
    check(estimator)
