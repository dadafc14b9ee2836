"""The user's own estimators in every cascade layer, beside (or instead of) its forests.

Any scikit-learn classifier or regressor (HistGradientBoosting, XGBoost, LightGBM, an MLP, a
pipeline) can join a layer. Like a forest, it must give the next layer vectors of rows it never
trained on, so it is fitted once per fold, on the other folds (the cascade's folds: stratified,
identical rows kept in one fold), and each row takes the output of the model that did not see
it. New rows take the mean of the fold models' outputs: no extra fit on all rows, and the test
vectors come from the same models as the training vectors (docs/estimators.md has the
measurements behind this choice).

An estimator is given as an object (cloned for every fold, never fitted itself), as a
``(name, estimator)`` pair, or by one of the names in :data:`BUILT_IN` (``"hist_gb"``,
``"xgboost"``, ``"lightgbm"``), which makes one with defaults suited to a layer. It reads the
layer's input as the forests do: the features' bins (integers 0 to 255, missing values in the
top bin) followed by the binned outputs of the layer before.
"""

from __future__ import annotations

import os
from collections import Counter

import numpy as np
from joblib import effective_n_jobs
from sklearn.base import clone, is_classifier, is_regressor
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.validation import has_fit_parameter

# Names accepted in place of an estimator object, and the optional package each needs.
BUILT_IN = {"hist_gb": None, "xgboost": "xgboost", "lightgbm": "lightgbm"}


def _threads(n_jobs) -> int:
    # More threads than cores slows OpenMP libraries badly: never more than exist.
    return max(1, min(effective_n_jobs(n_jobs), os.cpu_count() or 1))


def require_package(name: str) -> None:
    """Fail now, not after hours of fitting, if the built-in ``name`` needs a missing package."""
    import importlib.util

    package = BUILT_IN.get(name)
    if package and importlib.util.find_spec(package) is None:
        raise ImportError(
            f"the {name!r} estimator needs the {package} package: "
            f"pip install 'deep-forest-learn[{package}]'"
        )


def built_in_estimator(name: str, *, classification: bool, seed: int, n_jobs=None):
    """The estimator called ``name`` in :data:`BUILT_IN`, with its defaults for a layer."""
    if name == "hist_gb":
        from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

        cls = HistGradientBoostingClassifier if classification else HistGradientBoostingRegressor
        # Early stopping on a held-out tenth would hide that tenth from each fold model.
        return cls(early_stopping=False, max_iter=200, random_state=seed)
    require_package(name)
    package = BUILT_IN.get(name)
    module = __import__(package) if package else None
    if name == "xgboost":
        cls = module.XGBClassifier if classification else module.XGBRegressor
        return cls(
            n_estimators=300,
            learning_rate=0.1,
            max_depth=6,
            tree_method="hist",
            n_jobs=_threads(n_jobs),
            random_state=seed,
        )
    if name == "lightgbm":
        cls = module.LGBMClassifier if classification else module.LGBMRegressor
        return cls(n_estimators=300, n_jobs=_threads(n_jobs), random_state=seed, verbose=-1)
    raise ValueError(f"unknown estimator name {name!r}; the names are {sorted(BUILT_IN)}")


def named_estimators(estimators) -> list[tuple[str, object]]:
    """``(name, estimator)`` pairs for ``estimators``, naming unnamed ones after their class.

    Names follow scikit-learn's ``make_pipeline``: the lower-cased class name (or the built-in
    name), with ``-1``, ``-2``... when several share one.
    """
    pairs = []
    for item in estimators:
        if isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str):
            pairs.append(item)
        elif isinstance(item, str):
            pairs.append((item, item))
        else:
            pairs.append((type(item).__name__.lower(), item))
    counts = Counter(name for name, _ in pairs)
    seen: Counter = Counter()
    named = []
    for name, estimator in pairs:
        if counts[name] > 1:
            seen[name] += 1
            name = f"{name}-{seen[name]}"
        named.append((name, estimator))
    return named


def check_layer_estimators(estimators, *, classification: bool, reserved) -> list[tuple]:
    """Validate ``layer_estimators``; return them named. ``reserved``: names already taken."""
    if isinstance(estimators, (str, bytes)) or not hasattr(estimators, "__iter__"):
        raise ValueError(
            "layer_estimators must be a list of estimators, (name, estimator) pairs or names "
            f"of {sorted(BUILT_IN)}; got {estimators!r}"
        )
    named = named_estimators(list(estimators))
    names = [name for name, _ in named]
    if len(set(names)) != len(names):
        raise ValueError(f"layer_estimators have duplicate names: {names}")
    for name, estimator in named:
        if "__" in name or name in reserved:
            raise ValueError(
                f"the layer estimator name {name!r} clashes with a parameter of the cascade or "
                "contains '__'; give it another name with a (name, estimator) pair"
            )
        if isinstance(estimator, str):
            if estimator not in BUILT_IN:
                raise ValueError(
                    f"unknown layer estimator {estimator!r}: give an estimator object or one "
                    f"of {sorted(BUILT_IN)}"
                )
            require_package(estimator)
            continue
        method = "predict_proba" if classification else "predict"
        if not (hasattr(estimator, "fit") and hasattr(estimator, method)):
            raise ValueError(
                f"the layer estimator {name!r} ({type(estimator).__name__}) has no fit and "
                f"{method} methods: a cascade "
                f"{'classifier' if classification else 'regressor'} needs a scikit-learn "
                f"{'classifier with predict_proba' if classification else 'regressor'}"
            )
        wrong_kind = is_regressor(estimator) if classification else is_classifier(estimator)
        if wrong_kind:
            raise ValueError(
                f"the layer estimator {name!r} is a "
                f"{'regressor' if classification else 'classifier'}; a cascade "
                f"{'classifier' if classification else 'regressor'} needs "
                f"{'classifiers' if classification else 'regressors'}"
            )
    return named


def aligned_output(model, X: np.ndarray, n_outputs: int, classification: bool) -> np.ndarray:
    """``model``'s output on X as float64 of shape (n, n_outputs).

    Classifiers are fitted on class codes 0..n_outputs-1, and one fitted on rows that lack a
    class has fewer probability columns: they are put in the columns of their codes.
    """
    if not classification:
        return np.asarray(model.predict(X), dtype=np.float64).reshape(len(X), n_outputs)
    proba = np.asarray(model.predict_proba(X), dtype=np.float64)
    codes = np.asarray(model.classes_).astype(np.intp)
    if proba.shape[1] == n_outputs and np.array_equal(codes, np.arange(n_outputs)):
        return proba
    full = np.zeros((len(X), n_outputs))
    full[:, codes] = proba
    return full


def with_class_weight(sample_weight: np.ndarray | None, class_weight, codes: np.ndarray):
    """``sample_weight`` times the weights of ``class_weight`` for the class ``codes``.

    One model is fitted on all its rows (no bootstrap), so ``"balanced_subsample"`` is
    ``"balanced"`` here.
    """
    if class_weight is None:
        return sample_weight
    mode = "balanced" if class_weight == "balanced_subsample" else class_weight
    weights = compute_sample_weight(mode, codes)
    return weights if sample_weight is None else sample_weight * weights


def fit_with_weights(model, X, y, sample_weight, name: str):
    """``model.fit(X, y)``, passing ``sample_weight`` when there is one."""
    if sample_weight is None:
        return model.fit(X, y)
    if not has_fit_parameter(model, "sample_weight"):
        raise ValueError(
            f"the estimator {name!r} ({type(model).__name__}) does not accept sample_weight, "
            "which this fit needs (sample_weight or class_weight was given)"
        )
    return model.fit(X, y, sample_weight=sample_weight)


class FoldModels:
    """A layer estimator fitted once per fold; on new rows, the mean of the fold models.

    Parameters
    ----------
    name : str
        The estimator's name (``get_params`` reaches its parameters as ``name__param``).
    models : list of fitted estimators
        One per fold, each fitted on the other folds' rows.
    n_outputs : int
        Classes, or regression targets.
    classification : bool
    """

    def __init__(self, name: str, models: list, n_outputs: int, classification: bool):
        self.name = name
        self.models = models
        self.n_outputs = n_outputs
        self.classification = classification

    def __repr__(self) -> str:
        kind = type(self.models[0]).__name__
        return f"FoldModels(name={self.name!r}, {len(self.models)} x {kind})"

    def output(self, X: np.ndarray, fold: int | None = None, n_jobs=None) -> np.ndarray:
        """Mean output of the fold models on X (the model of ``fold`` only, if given)."""
        models = self.models if fold is None else [self.models[fold]]
        total = aligned_output(models[0], X, self.n_outputs, self.classification)
        for model in models[1:]:
            total += aligned_output(model, X, self.n_outputs, self.classification)
        return total / len(models)


def fit_fold_models(
    name: str,
    estimator,
    X: np.ndarray,
    target,
    sample_weight: np.ndarray | None,
    class_weight,
    folds: np.ndarray,
    *,
    seed: int,
    n_jobs=None,
) -> tuple[FoldModels, np.ndarray]:
    """Fit ``estimator`` once per fold; return the models and every row's out-of-fold output.

    ``estimator`` is cloned for every fold (a built-in name is made first); the user's object
    is never fitted. ``class_weight`` (the cascade's) is folded into the sample weights.
    """
    classification = target.is_classification
    if isinstance(estimator, str):
        estimator = built_in_estimator(
            estimator, classification=classification, seed=seed, n_jobs=n_jobs
        )
    y = target.codes if classification else target.values
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    weights = sample_weight
    if classification:
        weights = with_class_weight(sample_weight, class_weight, target.codes)
    X = np.ascontiguousarray(X)
    out_of_fold = np.zeros((len(X), target.n_outputs))
    models = []
    for fold in range(int(folds.max()) + 1):
        held_out = folds == fold
        model = clone(estimator)
        fold_weights = None if weights is None else weights[~held_out]
        fit_with_weights(model, X[~held_out], y[~held_out], fold_weights, name)
        models.append(model)
        if held_out.any():
            out_of_fold[held_out] = aligned_output(
                model, X[held_out], target.n_outputs, classification
            )
    return FoldModels(name, models, target.n_outputs, classification), out_of_fold
