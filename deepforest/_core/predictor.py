"""The optional final predictor, trained on the last layer's augmented features.

By default the cascade predicts by averaging its last layer's forests. A final predictor, as in
Deep-Forest, is a stronger learner fitted on the binned inputs plus that layer's binned
out-of-sample outputs: ``"xgboost"`` or ``"lightgbm"`` (gradient boosting), ``"forest"`` (a
random forest, grown by the cascade's engine), or any scikit-learn estimator of the user's.
"""

from __future__ import annotations

import os

import numpy as np
from joblib import effective_n_jobs
from sklearn.base import BaseEstimator, clone

from .forests import ForestSettings, Target, fit_forest
from .layer_estimators import built_in_estimator

# XGBoost settings chosen on LETTER and ADULT; a learning rate of 0.1 over 300 rounds matched
# 500 rounds at XGBoost's default rate, at a fraction of the time.
XGBOOST_DEFAULTS = {
    "n_estimators": 300,
    "learning_rate": 0.1,
    "max_depth": 6,
    "tree_method": "hist",
}


class ForestPredictor(BaseEstimator):
    """A random forest of the compiled engine, on binned features: the ``"forest"`` predictor.

    Its parameters are those of scikit-learn's random forests, with their meaning. It takes the
    cascade's uint8 features only, so it is not an estimator for general use.

    Parameters
    ----------
    task : {"classification", "regression"}
    n_estimators, criterion, max_depth, min_samples_split, min_samples_leaf, max_features, \
bootstrap, max_samples, class_weight, n_jobs, random_state
        As in ``RandomForestClassifier`` / ``RandomForestRegressor``.
    """

    def __init__(
        self,
        task: str = "classification",
        n_estimators: int = 100,
        criterion: str | None = None,
        max_depth: int | None = None,
        min_samples_split: int | float = 2,
        min_samples_leaf: int | float = 1,
        max_features=None,
        bootstrap: bool = True,
        max_samples=None,
        class_weight=None,
        n_jobs: int | None = None,
        random_state: int | None = None,
    ):
        self.task = task
        self.n_estimators = n_estimators
        self.criterion = criterion
        self.max_depth = max_depth
        self.min_samples_split = min_samples_split
        self.min_samples_leaf = min_samples_leaf
        self.max_features = max_features
        self.bootstrap = bootstrap
        self.max_samples = max_samples
        self.class_weight = class_weight
        self.n_jobs = n_jobs
        self.random_state = random_state

    def _settings(self) -> ForestSettings:
        is_classifier = self.task == "classification"
        default_criterion = "gini" if is_classifier else "squared_error"
        # scikit-learn's defaults: sqrt(n_features) candidates for classes, all for targets.
        default_features = "sqrt" if is_classifier else 1.0
        return ForestSettings(
            is_classifier=is_classifier,
            n_trees=self.n_estimators,
            max_features=default_features if self.max_features is None else self.max_features,
            max_depth=self.max_depth,
            min_samples_leaf=self.min_samples_leaf,
            criterion=self.criterion or default_criterion,
            max_samples=self.max_samples,
            class_weight=self.class_weight,
            n_jobs=self.n_jobs,
            min_samples_split=self.min_samples_split,
            bootstrap=self.bootstrap,
        )

    def fit(self, X: np.ndarray, y: np.ndarray, sample_weight=None) -> ForestPredictor:
        settings = self._settings()
        if settings.is_classifier:
            target = Target.classes(y, int(y.max()) + 1)
        else:
            target = Target.regression(y)
        self.single_output_ = not settings.is_classifier and np.ndim(y) == 1
        seed = np.random.RandomState(self.random_state).randint(np.iinfo(np.int32).max)
        self.forest_, _ = fit_forest(
            "random", settings, X, target, sample_weight, None, int(seed), score_training=False
        )
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        return self.forest_.output(X, n_jobs=self.n_jobs)

    def predict(self, X: np.ndarray) -> np.ndarray:
        output = self.forest_.output(X, n_jobs=self.n_jobs)
        if self.task == "classification":
            return output.argmax(axis=1)
        return output[:, 0] if self.single_output_ else output

    @property
    def feature_importances_(self) -> np.ndarray:
        return self.forest_.feature_importances_


def make_predictor(
    name,
    *,
    settings: ForestSettings,
    seed: int,
    params: dict | None,
):
    """Build the unfitted final predictor ``name`` (a name, or the user's estimator).

    The forest predictor is a random forest of the cascade's engine with the cascade's number of
    trees and leaf size (which suits the data's noise level), and scikit-learn's defaults for
    the rest; ``params`` override them with scikit-learn's parameter names.
    """
    params = dict(params or {})
    if not isinstance(name, str):
        # The user's estimator: a clone, never the object itself.
        return clone(name).set_params(**params)
    if name == "forest":
        return _make_forest_predictor(settings, seed, params)
    if name == "lightgbm":
        booster = built_in_estimator(
            "lightgbm", classification=settings.is_classifier, seed=seed, n_jobs=settings.n_jobs
        )
        return booster.set_params(**params)
    try:
        import xgboost
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "predictor='xgboost' needs the xgboost package: "
            "pip install 'deep-forest-learn[xgboost]'"
        ) from exc
    # More XGBoost threads than free cores slows it down badly: never ask for more than exist.
    threads = min(effective_n_jobs(settings.n_jobs), os.cpu_count() or 1)
    defaults = {**XGBOOST_DEFAULTS, "n_jobs": threads, "random_state": seed}
    booster_cls = xgboost.XGBClassifier if settings.is_classifier else xgboost.XGBRegressor
    return booster_cls(**{**defaults, **params})


def _make_forest_predictor(settings: ForestSettings, seed: int, params: dict):
    defaults = {
        "n_estimators": settings.n_trees,
        "min_samples_leaf": settings.min_samples_leaf,
        "n_jobs": settings.n_jobs,
        "random_state": seed,
    }
    if settings.engine == "sklearn":
        # Imported here, as in _core.forests: a compiled-engine model never needs it.
        from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor

        forest_cls = RandomForestClassifier if settings.is_classifier else RandomForestRegressor
        return forest_cls(**{**defaults, **params})
    task = "classification" if settings.is_classifier else "regression"
    predictor = ForestPredictor(task=task, **defaults)
    valid = set(predictor.get_params()) - {"task"}
    unknown = sorted(set(params) - valid)
    if unknown:
        raise ValueError(
            f"predictor_params {unknown} are not parameters of the 'forest' final predictor; "
            f"it takes {sorted(valid)}"
        )
    return predictor.set_params(**params)
