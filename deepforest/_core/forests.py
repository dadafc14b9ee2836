"""Fit one forest and get its out-of-sample outputs: the one place where trees are grown.

Cascade layers, scanning grains, the leaf-size probe and the ``"forest"`` final predictor all
grow their forests here, with one of two engines:

* ``"numba"`` (the default): the compiled engine of this package (``grower``, ``traversal``,
  ``trees``). It reads the uint8 bins as they are, scores each tree's out-of-sample rows while
  the tree is grown, and stores the forest as flat arrays (:class:`~.trees.BinnedForest`).
* ``"sklearn"``: scikit-learn's ``RandomForest*`` and ``ExtraTrees*`` estimators, the reference
  the compiled engine is tested against, in a module of its own (:mod:`.sklearn_engine`).

This module holds what the engines share (the settings, the targets, the weights of the rows, the
out-of-sample outputs made from each engine's sums), the dispatch, and the compiled engine's
side of fitting.

Out-of-sample outputs come from one of two schemes:

* out of bag (``folds=None``): every tree trains on a bootstrap sample of all rows; a row's
  output averages the trees whose bootstrap left it out.
* fold-wise: the forest's trees are shared out among the folds, each tree trained on a bootstrap
  of the rows outside its fold; a row's output averages the trees of its own fold, which never
  saw it. New rows are scored by all the trees.

Trees are grown in fixed chunks handed out through joblib (threads, or a Dask or Ray cluster);
each tree's random state is drawn from the forest's seed before any is grown, and outputs are
summed in chunk order, so results do not depend on ``n_jobs`` or the backend.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from joblib import Parallel, delayed
from sklearn.utils.class_weight import compute_sample_weight

from . import splitting
from .folds import fold_plan
from .grower import OutOfSampleSums, TrainingRows, TreeSample, TreeSettings, grow_tree
from .progress import advance
from .rng import new_state
from .trees import concatenate_trees

FOREST_KINDS = ("random", "completely_random")

# Trees grown by one parallel task. Fixed, so the order in which outputs are summed, and so
# every last bit of the result, does not depend on n_jobs or on the joblib backend.
TREES_PER_TASK = 10

_CRITERIA = {
    "gini": splitting.GINI_OR_SQUARED,
    "squared_error": splitting.GINI_OR_SQUARED,
    "entropy": splitting.ENTROPY,
    "log_loss": splitting.ENTROPY,
    # scikit-learn 1.9 maps friedman_mse to squared_error: "both were always equivalent".
    "friedman_mse": splitting.GINI_OR_SQUARED,
    "poisson": splitting.POISSON,
}
# Criteria only scikit-learn's trees offer (a median per candidate split has no histogram form).
SKLEARN_ONLY_CRITERIA = frozenset({"absolute_error"})


@dataclass(frozen=True)
class ForestSettings:
    """What every forest of a cascade (or of a scanner's grains) shares."""

    is_classifier: bool
    n_trees: int
    max_features: object
    max_depth: int | None
    min_samples_leaf: int | float
    criterion: str
    max_samples: float | int | None
    class_weight: object
    n_jobs: int | None
    # Candidate features per split of the second (extremely randomized) forest; 1 makes it the
    # completely-random forest of gcForest's cascade.
    extra_max_features: object = 1
    engine: str = "numba"
    min_samples_split: int = 2
    min_weight_fraction_leaf: float = 0.0
    bootstrap: bool = True


@dataclass
class Target:
    """Training targets: class codes ``0..n_outputs-1``, or a float64 matrix of targets."""

    codes: np.ndarray | None
    values: np.ndarray | None
    n_outputs: int

    @classmethod
    def classes(cls, codes: np.ndarray, n_classes: int) -> Target:
        return cls(np.asarray(codes, dtype=np.int32), None, n_classes)

    @classmethod
    def regression(cls, y: np.ndarray) -> Target:
        values = np.asarray(y, dtype=np.float64)
        values = values.reshape(len(values), -1)
        return cls(None, values, values.shape[1])

    @property
    def is_classification(self) -> bool:
        return self.codes is not None

    def take(self, rows) -> Target:
        if self.is_classification:
            return Target(self.codes[rows], None, self.n_outputs)
        return Target(None, self.values[rows], self.n_outputs)

    def for_sklearn(self) -> np.ndarray:
        if self.is_classification:
            return self.codes
        return self.values[:, 0] if self.n_outputs == 1 else self.values


def resolve_engine(engine: str, criterion: str) -> str:
    """The engine that ``engine="auto"`` stands for: numba, unless the criterion needs sklearn."""
    if engine == "auto":
        return "sklearn" if criterion in SKLEARN_ONLY_CRITERIA else "numba"
    if engine == "numba" and criterion in SKLEARN_ONLY_CRITERIA:
        raise ValueError(
            f"criterion={criterion!r} is only offered by scikit-learn's trees: use "
            "engine='sklearn' (or 'auto')"
        )
    return engine


def resolve_max_features(max_features, n_features: int) -> int:
    """Candidate features per split as a count, with scikit-learn's meaning of each form."""
    if max_features is None:
        return n_features
    if isinstance(max_features, str):
        count = math.sqrt(n_features) if max_features == "sqrt" else math.log2(n_features)
        return max(1, int(count))
    if isinstance(max_features, float):
        return max(1, int(max_features * n_features))
    return max(1, min(int(max_features), n_features))


def _min_samples(value: int | float, n_rows: int) -> int:
    if isinstance(value, float):
        return max(1, math.ceil(value * n_rows))
    return int(value)


def bootstrap_size(max_samples, n_rows: int) -> int:
    """Rows drawn for each tree out of ``n_rows``, with scikit-learn's meaning of max_samples."""
    if max_samples is None:
        return n_rows
    if isinstance(max_samples, float):
        return max(1, round(max_samples * n_rows))
    return max(1, min(int(max_samples), n_rows))


def row_weights(
    settings: ForestSettings, target: Target, sample_weight: np.ndarray | None, n_rows: int
) -> np.ndarray:
    """Sample weight times class weight ("balanced_subsample" is applied per tree instead)."""
    weights = (
        np.ones(n_rows, dtype=np.float64)
        if sample_weight is None
        else np.asarray(sample_weight, dtype=np.float64).copy()
    )
    class_weight = settings.class_weight if settings.is_classifier else None
    if class_weight is not None and class_weight != "balanced_subsample":
        weights *= compute_sample_weight(class_weight, target.codes)
    return weights


def fit_forest(
    kind: str,
    settings: ForestSettings,
    X: np.ndarray,
    target: Target,
    sample_weight: np.ndarray | None,
    folds: np.ndarray | None,
    seed: int,
    *,
    score_training: bool = True,
    groups: np.ndarray | None = None,
):
    """Fit one forest and return it with its out-of-sample outputs on the training rows.

    Parameters
    ----------
    kind : {"random", "completely_random"}
    settings : ForestSettings
    X : ndarray of shape (n_rows, n_features)
        uint8 bins (best Fortran-ordered) for the numba engine, float32 for scikit-learn's.
    target : Target
    sample_weight : ndarray or None
    folds : int ndarray of shape (n_rows,) or None
        Fold of every row (fold-wise scheme), or None for out-of-bag outputs.
    seed : int
    score_training : bool, default=True
        Compute the out-of-sample outputs; False returns None for them.
    groups : int ndarray of shape (n_rows,) or None
        Groups of identical rows (``folds.duplicate_groups``). Out of bag, a row is scored only
        by trees that drew no row of its group: a tree that trained on a row's twin has seen
        the row's label. None treats every row as unique.

    Returns
    -------
    forest : BinnedForest or SklearnForest
    out_of_sample : float64 ndarray of shape (n_rows, n_outputs) or None
    """
    return fit_forests(
        [(kind, seed)],
        settings,
        X,
        target,
        sample_weight,
        folds,
        score_training=score_training,
        groups=groups,
    )[0]


def fit_forests(
    requests: list[tuple[str, int]],
    settings: ForestSettings,
    X: np.ndarray,
    target: Target,
    sample_weight: np.ndarray | None,
    folds: np.ndarray | None,
    *,
    score_training: bool = True,
    groups: np.ndarray | None = None,
) -> list[tuple]:
    """Fit several forests on the same data: ``fit_forest`` for each ``(kind, seed)``.

    A request may be ``(kind, seed, tree_settings)`` to grow that forest with other tree
    settings (leaf size, depth, features per split); the number of trees and the bootstrap are
    ``settings``'s for all. The compiled engine grows the trees of all the forests in one
    parallel call, so that threads stay busy across the forests' boundaries; the results are
    those of fitting each forest alone.
    """
    requests = [(r[0], r[1], r[2] if len(r) > 2 else settings) for r in requests]
    if settings.engine == "sklearn":
        return _fit_sklearn(
            requests, settings, X, target, sample_weight, folds, score_training, groups
        )
    return _fit_numba(requests, settings, X, target, sample_weight, folds, score_training, groups)


def _out_of_sample_mean(total, count, target: Target, weights: np.ndarray) -> np.ndarray:
    """Each row's mean output over the trees that never trained on it, from their sum and count.

    ``total`` and ``count`` are changed in place: see :func:`_fill_never_scored`.
    """
    _fill_never_scored(total, count, target, weights)
    return total / count[:, np.newaxis]


def _fill_never_scored(total, count, target: Target, weights: np.ndarray) -> None:
    """Give the rows that no tree left out the training rows' prior, in place.

    Such rows (with out-of-bag outputs: rows whose group of identical rows is drawn by every
    tree) have no honest out-of-sample output; the whole forest's would repeat their label.
    The class frequencies (or the mean target) say nothing about the row, which is honest.
    """
    never_scored = count == 0
    if not never_scored.any():
        return
    if target.is_classification:
        prior = np.bincount(target.codes, weights=weights, minlength=target.n_outputs)
    else:
        prior = weights @ target.values
    total[never_scored] = prior / weights.sum()
    count[never_scored] = 1


def _fit_sklearn(requests, settings, X, target, sample_weight, folds, score_training, groups):
    """The reference engine's forests, one after the other (scikit-learn shares out each one's
    trees); their out-of-sample sums become outputs as the compiled engine's do."""
    # Imported here: scikit-learn's forests load its trees, neighbours and linear models, which
    # a prediction with the compiled engine never needs (the CLI's start-up).
    from . import sklearn_engine

    y = target.for_sklearn()
    fitted = []
    for kind, seed, own in requests:
        forest, sums = sklearn_engine.fit_sklearn_forest(
            kind,
            own,
            X,
            y,
            target.n_outputs,
            sample_weight,
            folds,
            seed,
            score_training=score_training,
            groups=groups,
        )
        output = None
        if sums is not None:
            weights = row_weights(own, target, sample_weight, X.shape[0])
            output = _out_of_sample_mean(*sums, target, weights)
        fitted.append((forest, output))
        advance(settings.n_trees)
    return fitted


# --------------------------------------------------------------------------------------- numba


def tree_seeds(seed: int, n_trees: int) -> np.ndarray:
    """The seed of every tree of a forest, drawn from the forest's seed before any is grown."""
    return np.random.RandomState(seed).randint(np.iinfo(np.int64).max, size=n_trees, dtype=np.int64)


def _grow_chunk(rows, jobs, settings, score, out_of_bag):
    """Grow the trees of one task; return them and their summed out-of-sample outputs."""
    n_rows = rows.X.shape[0] if score else 0
    out_of_sample = OutOfSampleSums(
        np.zeros((n_rows, rows.n_outputs), dtype=np.float64), np.zeros(n_rows, dtype=np.int64)
    )
    trees = [
        grow_tree(
            rows,
            TreeSample(eligible, n_draws, held_out, out_of_bag),
            settings,
            new_state(seed),
            out_of_sample,
        )
        for seed, eligible, held_out, n_draws in jobs
    ]
    return trees, out_of_sample.total, out_of_sample.count


def _tree_settings(kind: str, settings: ForestSettings, target: Target, X: np.ndarray):
    """The settings of ``grower.grow_tree`` that all trees of one forest share."""
    if settings.criterion not in _CRITERIA:
        raise ValueError(
            f"criterion={settings.criterion!r} is not offered by the numba engine; "
            "use engine='sklearn' for it"
        )
    n_rows, n_features = X.shape
    max_features = settings.max_features if kind == "random" else settings.extra_max_features
    return TreeSettings(
        is_classification=target.is_classification,
        criterion=_CRITERIA[settings.criterion],
        random_splits=kind == "completely_random",
        max_features=resolve_max_features(max_features, n_features),
        max_depth=-1 if settings.max_depth is None else int(settings.max_depth),
        min_samples_split=max(2, _min_samples(settings.min_samples_split, n_rows)),
        min_samples_leaf=_min_samples(settings.min_samples_leaf, n_rows),
        min_weight_fraction_leaf=float(settings.min_weight_fraction_leaf),
        balanced_subsample=target.is_classification
        and settings.class_weight == "balanced_subsample",
    )


def _fit_numba(requests, settings, X, target, sample_weight, folds, score_training, groups):
    if X.dtype != np.uint8:
        raise TypeError(f"the numba engine grows trees on uint8 bins, got {X.dtype}")
    # Splits read a column at a time, out-of-sample rows a row at a time: one copy in each order
    # (the uint8 bins take a byte a value, so both fit where the data does).
    X_rows = np.ascontiguousarray(X) if score_training else np.empty((0, X.shape[1]), np.uint8)
    X = np.asfortranarray(X)
    n_rows, n_features = X.shape
    n_outputs = target.n_outputs
    is_classification = target.is_classification
    codes = target.codes if is_classification else np.empty(0, dtype=np.int32)
    values = target.values if not is_classification else np.empty((0, n_outputs), np.float64)
    weights = row_weights(settings, target, sample_weight, n_rows)
    # Fold-wise, identical rows already share a fold.
    group_ids = (
        np.asarray(groups, dtype=np.int64)
        if groups is not None and folds is None
        else np.empty(0, dtype=np.int64)
    )
    plan = fold_plan(folds, n_rows, settings.n_trees)
    n_trees = sum(count for _, _, count in plan)
    fold_bounds = np.cumsum([0] + [count for _, _, count in plan])

    rows = TrainingRows(X, X_rows, codes, values, weights, group_ids, n_outputs)
    tasks = []  # (forest index, chunk of trees, tree settings)
    for index, (kind, seed, own_settings) in enumerate(requests):
        tree_settings = _tree_settings(kind, own_settings, target, X)
        seeds = tree_seeds(seed, n_trees)
        jobs = []
        for eligible, held_out, count in plan:
            n_draws = (
                bootstrap_size(settings.max_samples, len(eligible)) if settings.bootstrap else 0
            )
            jobs.extend((int(seeds[len(jobs)]), eligible, held_out, n_draws) for _ in range(count))
        tasks.extend(
            (index, jobs[start : start + TREES_PER_TASK], tree_settings)
            for start in range(0, n_trees, TREES_PER_TASK)
        )
    # The rows are an argument, not a closure variable, so a distributed backend ships them once
    # per task.
    # Results arrive in task order and are summed as they come, so that the chunks' out-of-sample
    # sums are not all held at once.
    results = Parallel(n_jobs=settings.n_jobs, prefer="threads", return_as="generator")(
        delayed(_grow_chunk)(rows, chunk, tree_settings, score_training, folds is None)
        for _, chunk, tree_settings in tasks
    )
    trees = [[] for _ in requests]
    totals: list = [None] * len(requests)
    counts: list = [None] * len(requests)
    for (index, _, _), (chunk_trees, chunk_sum, chunk_count) in zip(tasks, results, strict=True):
        trees[index].extend(chunk_trees)
        advance(len(chunk_trees))
        if not score_training:
            continue
        if totals[index] is None:
            # Copies: results from a distributed backend (Ray's object store) may be read-only.
            totals[index], counts[index] = chunk_sum.copy(), chunk_count.copy()
        else:
            totals[index] += chunk_sum
            counts[index] += chunk_count
    fitted = []
    for index in range(len(requests)):
        forest = concatenate_trees(
            trees[index], n_outputs if is_classification else 0, n_features, fold_bounds
        )
        if not score_training:
            fitted.append((forest, None))
            continue
        fitted.append((forest, _out_of_sample_mean(totals[index], counts[index], target, weights)))
    return fitted
