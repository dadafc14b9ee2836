"""The reference engine: forests of scikit-learn's ``RandomForest*`` and ``ExtraTrees*``.

``engine="sklearn"`` grows the forests with scikit-learn's estimators instead of this package's
compiled engine: slower and larger, but the reference the compiled engine is tested against, and
the one engine with a criterion that has no histogram form (``absolute_error``).
:func:`.forests.fit_forests` dispatches here. A forest is one scikit-learn model out of bag, or
one model per fold (:func:`.folds.fold_plan`), wrapped in :class:`SklearnForest`. Fitting also
returns, per training row, the sum of the outputs of the trees that never trained on it and
their count; ``forests`` turns those into out-of-sample outputs as it does the compiled
engine's.

scikit-learn adds its trees' outputs in whatever order its threads finish. Here fixed chunks of
trees are summed in a fixed order, so that results do not depend on ``n_jobs``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from joblib import Parallel, delayed
from sklearn.ensemble import (
    ExtraTreesClassifier,
    ExtraTreesRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)

from .folds import fold_plan

if TYPE_CHECKING:
    # For annotations only: forests.py imports this module to dispatch to it.
    from .forests import ForestSettings

# Trees whose outputs one parallel task sums. Fixed, so that the order of the sums, and so every
# last bit of the result, does not depend on n_jobs. The same size as the compiled engine's
# chunks (forests.TREES_PER_TASK), but neither engine's results depend on the other's.
TREES_PER_TASK = 10


def make_sklearn_forest(kind: str, settings: ForestSettings, n_trees: int, seed: int):
    """An unfitted scikit-learn forest of the given kind (the reference engine).

    The completely-random forest is ExtraTrees with one candidate feature per split: a random
    feature and a random threshold, as in gcForest.

    Parameters
    ----------
    kind : {"random", "completely_random"}
    settings : ForestSettings
    n_trees : int
    seed : int

    Returns
    -------
    forest : RandomForestClassifier, RandomForestRegressor, ExtraTreesClassifier or \
ExtraTreesRegressor
    """
    if settings.is_classifier:
        random_cls, extra_cls = RandomForestClassifier, ExtraTreesClassifier
        extra = {"class_weight": settings.class_weight}
    else:
        random_cls, extra_cls = RandomForestRegressor, ExtraTreesRegressor
        extra = {}
    forest_cls = random_cls if kind == "random" else extra_cls
    max_features = settings.max_features if kind == "random" else settings.extra_max_features
    # scikit-learn 1.9 deprecates friedman_mse as a synonym of squared_error.
    criterion = "squared_error" if settings.criterion == "friedman_mse" else settings.criterion
    return forest_cls(
        n_estimators=n_trees,
        criterion=criterion,
        max_features=max_features,
        max_depth=settings.max_depth,
        min_samples_split=settings.min_samples_split,
        min_samples_leaf=settings.min_samples_leaf,
        min_weight_fraction_leaf=settings.min_weight_fraction_leaf,
        bootstrap=settings.bootstrap,
        max_samples=settings.max_samples if settings.bootstrap else None,
        n_jobs=settings.n_jobs,
        random_state=seed,
        **extra,
    )


class SklearnForest:
    """A forest of the reference engine: scikit-learn forests, one per fold (or one in all).

    New rows are scored by all the trees (the fold models' outputs weighted by their number of
    trees); ``output(X, fold)`` uses only the model that never trained on ``fold``.

    Parameters
    ----------
    models : list of fitted scikit-learn forests
        One model in all, or one per fold.
    n_outputs : int
        Classes (every class of the whole training set) or regression targets.
    """

    def __init__(self, models: list, n_outputs: int):
        self.models = models
        self.n_outputs = n_outputs

    @property
    def n_trees(self) -> int:
        return sum(len(model.estimators_) for model in self.models)

    @property
    def n_nodes(self) -> int:
        """Nodes over all trees, leaves included."""
        return sum(tree.tree_.node_count for model in self.models for tree in model.estimators_)

    @property
    def nbytes(self) -> int:
        """Bytes of the trees' node and value arrays."""
        return sum(
            tree.tree_.__getstate__()["nodes"].nbytes + tree.tree_.value.nbytes
            for model in self.models
            for tree in model.estimators_
        )

    @property
    def n_features_in_(self) -> int:
        return int(self.models[0].n_features_in_)

    def output(
        self, X: np.ndarray, fold: int | None = None, n_jobs: int | None = None
    ) -> np.ndarray:
        """Average output of the trees (``fold``: only the model that never trained on it).

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_features)
            Read as float32, as scikit-learn's trees read it.
        fold : int or None
        n_jobs : int or None
            Threads sharing the trees; the result does not depend on it.

        Returns
        -------
        output : float64 ndarray of shape (n_samples, n_outputs)
            Class probabilities (a column for every class) or predicted targets.
        """
        X = np.ascontiguousarray(X, dtype=np.float32)
        if fold is not None:
            return _model_output(self.models[fold], X, self.n_outputs, n_jobs)
        weights = np.array([len(model.estimators_) for model in self.models], dtype=np.float64)
        weights /= weights.sum()
        total = weights[0] * _model_output(self.models[0], X, self.n_outputs, n_jobs)
        for weight, model in zip(weights[1:], self.models[1:], strict=True):
            total += weight * _model_output(model, X, self.n_outputs, n_jobs)
        return total

    @property
    def feature_importances_(self) -> np.ndarray:
        return np.mean([model.feature_importances_ for model in self.models], axis=0)


def fit_sklearn_forest(
    kind: str,
    settings: ForestSettings,
    X: np.ndarray,
    y: np.ndarray,
    n_outputs: int,
    sample_weight: np.ndarray | None,
    folds: np.ndarray | None,
    seed: int,
    *,
    score_training: bool = True,
    groups: np.ndarray | None = None,
) -> tuple[SklearnForest, tuple[np.ndarray, np.ndarray] | None]:
    """Fit one forest of the reference engine and sum its out-of-sample outputs.

    Parameters
    ----------
    kind : {"random", "completely_random"}
    settings : ForestSettings
    X : ndarray of shape (n_rows, n_features)
        Read as float32.
    y : ndarray of shape (n_rows,) or (n_rows, n_targets)
        Class codes or targets, as scikit-learn takes them (``Target.for_sklearn``).
    n_outputs : int
        Classes or targets.
    sample_weight : ndarray of shape (n_rows,) or None
    folds : int ndarray of shape (n_rows,) or None
        Fold of every row (one model per fold), or None for one model scored out of bag.
    seed : int
        The model's random state (fold ``k``'s model: ``seed + k``).
    score_training : bool, default=True
        Sum the out-of-sample outputs; False returns None for them.
    groups : int ndarray of shape (n_rows,) or None
        Groups of identical rows: out of bag, a row is scored only by trees that drew no row
        of its group.

    Returns
    -------
    forest : SklearnForest
    sums : (total, count) or None
        ``total``, float64 (n_rows, n_outputs): per row, the sum of the outputs of the trees
        that never trained on it; ``count``, int64 (n_rows,): how many trees those are.
    """
    X = np.ascontiguousarray(X, dtype=np.float32)
    if folds is None:
        model = make_sklearn_forest(kind, settings, settings.n_trees, seed)
        model.fit(X, y, sample_weight=sample_weight)
        forest = SklearnForest([model], n_outputs)
        if not score_training:
            return forest, None
        return forest, _oob_sums(model, X, n_outputs, settings.n_jobs, groups)
    plan = fold_plan(folds, X.shape[0], settings.n_trees)
    sums = None
    if score_training:
        sums = (np.zeros((X.shape[0], n_outputs)), np.zeros(X.shape[0], dtype=np.int64))
    models = []
    for fold, (train, held_out, n_trees) in enumerate(plan):
        model = make_sklearn_forest(kind, settings, n_trees, seed + fold)
        weight = None if sample_weight is None else sample_weight[train]
        model.fit(X[train], y[train], sample_weight=weight)
        if sums is not None:
            # A row's fold model is the one forest that never trained on it.
            sums[0][held_out] = _model_sums(model, X[held_out], n_outputs, settings.n_jobs)
            sums[1][held_out] = len(model.estimators_)
        models.append(model)
    return SklearnForest(models, n_outputs), sums


def _tree_output(tree, X: np.ndarray, is_classifier: bool) -> np.ndarray:
    if is_classifier:
        return tree.predict_proba(X, check_input=False)
    return tree.predict(X, check_input=False).reshape(X.shape[0], -1)


def _model_output(model, X: np.ndarray, n_outputs: int, n_jobs) -> np.ndarray:
    """The average tree output, with a column for every class of the whole training set."""
    return _model_sums(model, X, n_outputs, n_jobs) / len(model.estimators_)


def _model_sums(model, X: np.ndarray, n_outputs: int, n_jobs) -> np.ndarray:
    """The sum of the trees' outputs, in fixed chunks added in a fixed order.

    A fold model that missed a rare class gives it zero.
    """
    is_classifier = hasattr(model, "classes_")
    chunks = [
        model.estimators_[start : start + TREES_PER_TASK]
        for start in range(0, len(model.estimators_), TREES_PER_TASK)
    ]
    sums = Parallel(n_jobs=n_jobs, prefer="threads")(
        delayed(_sum_tree_outputs)(chunk, X, is_classifier) for chunk in chunks
    )
    total = sums[0].copy()
    for chunk_sum in sums[1:]:
        total += chunk_sum
    if is_classifier and total.shape[1] != n_outputs:
        full = np.zeros((X.shape[0], n_outputs), dtype=total.dtype)
        full[:, model.classes_.astype(np.intp)] = total
        return full
    return total


def _sum_tree_outputs(trees: list, X: np.ndarray, is_classifier: bool) -> np.ndarray:
    total = _tree_output(trees[0], X, is_classifier).astype(np.float64, copy=True)
    for tree in trees[1:]:
        total += _tree_output(tree, X, is_classifier)
    return total


def _oob_chunk(trees, bags, X, is_classifier: bool, n_outputs: int, groups):
    """Sum of the chunk's trees' outputs on the rows each left out, and the count per row."""
    total = np.zeros((X.shape[0], n_outputs), dtype=np.float64)
    count = np.zeros(X.shape[0], dtype=np.int64)
    for tree, bag in zip(trees, bags, strict=True):
        out_of_bag = np.ones(X.shape[0], dtype=bool)
        out_of_bag[bag] = False
        if groups is not None:
            # A row whose twin was drawn is not out of bag either.
            out_of_bag &= ~np.isin(groups, groups[bag])
        rows = np.flatnonzero(out_of_bag)
        output = _tree_output(tree, X[rows], is_classifier)
        if is_classifier and output.shape[1] != n_outputs:
            columns = tree.classes_.astype(np.intp)
            total[np.ix_(rows, columns)] += output
        else:
            total[rows] += output
        count[rows] += 1
    return total, count


def _oob_sums(model, X: np.ndarray, n_outputs: int, n_jobs, groups):
    """Per row, the sum of the outputs of the trees whose bootstrap left it out, and their count."""
    is_classifier = hasattr(model, "classes_")
    trees, bags = model.estimators_, model.estimators_samples_
    chunks = range(0, len(trees), TREES_PER_TASK)
    results = Parallel(n_jobs=n_jobs, prefer="threads")(
        delayed(_oob_chunk)(
            trees[s : s + TREES_PER_TASK],
            bags[s : s + TREES_PER_TASK],
            X,
            is_classifier,
            n_outputs,
            groups,
        )
        for s in chunks
    )
    total, count = results[0][0].copy(), results[0][1].copy()
    for chunk_total, chunk_count in results[1:]:
        total += chunk_total
        count += chunk_count
    return total, count
