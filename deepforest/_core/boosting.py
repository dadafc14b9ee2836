"""A boosting stage on the cascade's out-of-sample output: shallow trees fit what it missed.

The cascade's last kept layer gives every training row an out-of-sample prediction (out of bag
or out of fold). Gradient boosting started from that prediction -- a "one-step boosted forest"
(Ghosal & Hooker) -- fits small trees to its residuals on the binned input features: squared
error on the targets for regression, the softmax log loss on class margins ``log(p)`` for
classification (Newton leaf values, as XGBoost and LightGBM take).

How many rounds to take is chosen on the training rows alone: the rows are split into folds
(identical rows sharing a fold), a booster per fold is grown on the other folds and scored on
its own, and the round with the lowest mean held-out loss is taken, scaled up for the final
booster's larger training set. No round is taken when none helps out of sample.

The trees are grown by a compiled depth-first grower over per-node histograms of gradients and
hessians (one tree per round for all classes, each leaf a value per class), and stored as a
:class:`~deepforest._core.trees.BinnedForest` whose leaves hold the shrunken values, so
prediction, saving and file checks are the forests'.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit

from .folds import assign_folds
from .memory import BOOST_HISTOGRAM_FEATURES, boosting_histograms
from .progress import advance, restart
from .threads import ThreadFanOut
from .traversal import leaf_of
from .trees import BinnedForest, concatenate_trees

# Probabilities are clipped at this before their log becomes a margin.
MIN_PROBABILITY = 1e-9
# Candidate shares of the uniform distribution mixed into the class vectors before their log
# becomes a margin (see ``choose_smoothing``).
SMOOTHING_GRID = np.geomspace(1e-3, 0.5, 28)
# The search for the round count stops once the best mean held-out loss has fallen by less than
# MIN_RELATIVE_GAIN of the starting loss over the last PATIENCE_ROUNDS rounds: past that, rounds
# only cost time and model size (on a table of 32 classes the loss crept down for 1,000 rounds,
# while test accuracy stopped changing after 60).
PATIENCE_ROUNDS = 30
MIN_RELATIVE_GAIN = 1e-4
# Rows x features x outputs a round of the search must touch before its folds go to threads.
PARALLEL_MIN_WORK = 2_000_000
# Folds of the search for the round count.
SEARCH_FOLDS = 5


@dataclass(frozen=True)
class BoostingSettings:
    """How the stage grows its trees."""

    max_rounds: int
    learning_rate: float
    max_depth: int
    min_samples_leaf: int
    l2_regularization: float
    # Where each feature's slots start in a node's histogram (``histogram_offsets``).
    histogram_offsets: np.ndarray
    # The bin code of missing values.
    missing_bin: int
    # Features a tree may split on, drawn anew for every tree (all when there are fewer): on
    # wide data (images) a histogram over every feature made a round cost more than a layer.
    max_features: int = BOOST_HISTOGRAM_FEATURES


@dataclass
class BoostingResult:
    """A fitted stage, and what its search found out of sample."""

    # A tree per round; its leaves hold a value per class (or target), added to the margins.
    forest: BinnedForest | None
    # Share of the uniform distribution mixed into the class vectors (``base_margin``).
    smoothing: float
    rounds: int
    searched_rounds: int
    loss_before: float
    # The search's held-out loss at the chosen round (None when the round count was given).
    loss_after: float | None
    # Every training row's held-out output of the chosen round (the searching folds' boosters).
    held_out_output: np.ndarray | None


# ------------------------------------------------------------------ the compiled grower
def histogram_offsets(n_bins_per_feature: np.ndarray) -> np.ndarray:
    """Where each feature's bins start in a node's histogram: features take only their own
    bins (a yes/no column two, not 256), and each has one more slot for missing values."""
    offsets = np.zeros(len(n_bins_per_feature) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum(np.asarray(n_bins_per_feature, dtype=np.int64) + 1)
    return offsets


@njit(nogil=True, cache=True)
def _fill_histogram(X, idx, start, end, gh, features, offsets, missing_bin, hist, hist_n):
    """Sum the rows ``idx[start:end]``'s gradients and hessians (``gh``) per slot of
    ``features``' bins, and count them: feature ``features[j]`` takes the slots from
    ``offsets[j]`` on, its last slot for missing values."""
    hist[: offsets[-1]] = 0.0
    hist_n[: offsets[-1]] = 0
    n_sums = gh.shape[1]
    for i in range(start, end):
        r = idx[i]
        for j in range(features.shape[0]):
            b = X[r, features[j]]
            slot = offsets[j + 1] - 1 if b == missing_bin else offsets[j] + b
            hist_n[slot] += 1
            for k in range(n_sums):
                hist[slot, k] += gh[r, k]


@njit(nogil=True, cache=True)
def _best_split(hist, hist_n, features, offsets, totals, n_total, min_leaf, l2):
    """Best (gain, feature, threshold bin), the gain summed over outputs: rows with a bin at
    most the threshold go left, missing values right. ``hist`` and ``totals`` hold the
    gradients' sums, then the hessians'."""
    n_outputs = totals.shape[0] // 2
    parent = 0.0
    for k in range(n_outputs):
        parent += totals[k] * totals[k] / (totals[n_outputs + k] + l2)
    best_gain = 0.0
    best_feature = -1
    best_threshold = -1
    sums_left = np.empty(2 * n_outputs)
    for j in range(features.shape[0]):
        sums_left[:] = 0.0
        n_left = 0
        # Thresholds up to the last bin of values: the missing slot is never on the left.
        for slot in range(offsets[j], offsets[j + 1] - 1):
            if hist_n[slot] == 0:
                continue
            n_left += hist_n[slot]
            for k in range(2 * n_outputs):
                sums_left[k] += hist[slot, k]
            if n_left < min_leaf:
                continue
            if n_total - n_left < min_leaf:
                break
            gain = -parent
            for k in range(n_outputs):
                g_left = sums_left[k]
                h_left = sums_left[n_outputs + k]
                g_right = totals[k] - g_left
                gain += g_left * g_left / (h_left + l2)
                gain += g_right * g_right / (totals[n_outputs + k] - h_left + l2)
            if gain > best_gain + 1e-12 * abs(parent):
                best_gain = gain
                best_feature = features[j]
                best_threshold = slot - offsets[j]
    return best_gain, best_feature, best_threshold


@njit(nogil=True, cache=True, inline="always")
def _push(stack, top, start, end, depth, parent, is_left):
    """Push a node to grow (its rows ``idx[start:end]``); return the new stack size."""
    stack[top, 0] = start
    stack[top, 1] = end
    stack[top, 2] = depth
    stack[top, 3] = parent
    stack[top, 4] = is_left
    return top + 1


@njit(nogil=True, cache=True)
def _partition(X, idx, start, end, feature, split_bin):
    """Order ``idx[start:end]`` so rows with a bin at most ``split_bin`` come first; return
    where the others start."""
    i = start
    j = end - 1
    while i <= j:
        if X[idx[i], feature] <= split_bin:
            i += 1
        else:
            tmp = idx[i]
            idx[i] = idx[j]
            idx[j] = tmp
            j -= 1
    return i


@njit(nogil=True, cache=True)
def _children_histograms(
    X, idx, start, middle, end, gh, features, offsets, missing_bin, hists, counts, parent, free
):
    """The children's histograms from their parent's in buffer ``parent``: the smaller child's
    summed over its rows into buffer ``free``, the larger's by subtracting it from the parent's
    in place (LightGBM's trick, which halves the work below the root). Returns the buffers of
    the left and the right child."""
    left_is_smaller = middle - start <= end - middle
    small_start, small_end = (start, middle) if left_is_smaller else (middle, end)
    _fill_histogram(
        X,
        idx,
        small_start,
        small_end,
        gh,
        features,
        offsets,
        missing_bin,
        hists[free],
        counts[free],
    )
    for slot in range(offsets[-1]):
        counts[parent, slot] -= counts[free, slot]
        for k in range(hists.shape[2]):
            hists[parent, slot, k] -= hists[free, slot, k]
    return (free, parent) if left_is_smaller else (parent, free)


def histogram_space(
    offsets: np.ndarray, max_features: int, n_outputs: int, max_depth: int
) -> tuple[np.ndarray, np.ndarray]:
    """Histograms a tree grows with, made once per booster: a slot per bin of the widest
    ``max_features`` features, gradients' then hessians' sums, and row counts.

    Subtracting a child's histogram from its parent's needs one histogram per node the
    depth-first stack holds, plus a scratch one; beyond the memory budget (many classes, deep
    trees) every node sums its own rows into a single histogram instead
    (``memory.boosting_histograms``).
    """
    widths = np.sort(np.diff(offsets))[::-1]
    n_slots = int(widths[:max_features].sum())
    n_histograms = boosting_histograms(n_slots, n_outputs, max_depth)
    return (
        np.empty((n_histograms, n_slots, 2 * n_outputs)),
        np.empty((n_histograms, n_slots), dtype=np.int64),
    )


@njit(nogil=True, cache=True)
def _packed_offsets(features, offsets):
    """Where each of ``features``' slots start in a histogram over those features only."""
    packed = np.zeros(features.shape[0] + 1, dtype=np.int64)
    for j in range(features.shape[0]):
        f = features[j]
        packed[j + 1] = packed[j] + offsets[f + 1] - offsets[f]
    return packed


@njit(nogil=True, cache=True)
def _leaf(value, totals, shrinkage, l2, rows, row_step):
    """Set a leaf's Newton step per output from its sums, and add it to its rows' steps."""
    n_outputs = value.shape[0]
    for k in range(n_outputs):
        value[k] = -shrinkage * totals[k] / (totals[n_outputs + k] + l2)
    for i in range(rows.shape[0]):
        for k in range(n_outputs):
            row_step[rows[i], k] += value[k]


@njit(nogil=True, cache=True)
def grow_boosted_tree(
    X,
    rows,
    gh,
    features,
    offsets,
    missing_bin,
    max_depth,
    min_leaf,
    l2,
    shrinkage,
    row_step,
    hists,
    counts,
):
    """Grow one tree for all outputs on ``rows`` of ``X`` to gradients and hessians, splitting
    on ``features`` only; ``hists`` and ``counts`` are its histograms (``histogram_space``).

    ``gh`` holds each row's gradients, then its hessians (rows x 2 outputs): a row's sums
    are one contiguous read. A split maximises the gain summed over outputs
    and a leaf holds one Newton step per output, ``-shrinkage * G / (H + l2)`` (one tree per
    round for all classes, as CatBoost's multi-class trees). Returns the tree's arrays in
    ``grower``'s layout (``feature``, ``threshold``, ``left``, ``right``, leaf ``values`` of
    shape (n_leaves, n_outputs), ``root``, importances; no pure leaves) and adds each training
    row's leaf values to ``row_step[row]``.
    """
    n_outputs = gh.shape[1] // 2
    feature_offsets = _packed_offsets(features, offsets)
    idx = rows.copy()
    capacity = 2 ** (max_depth + 1)
    feature = np.empty(capacity, dtype=np.int32)
    threshold = np.empty(capacity, dtype=np.uint8)
    left = np.empty(capacity, dtype=np.int32)
    right = np.empty(capacity, dtype=np.int32)
    values = np.empty((capacity, n_outputs))
    importances = np.zeros(X.shape[1])
    totals = np.empty(2 * n_outputs)
    # A node waiting on the stack at position p owns histogram buffer buffer_of[p] when its
    # parent's split made it (has_histogram[p]); the other buffers wait in free[:n_free].
    subtract = hists.shape[0] > 1
    free = np.arange(hists.shape[0])
    n_free = hists.shape[0]
    buffer_of = np.empty(capacity, dtype=np.int64)
    has_histogram = np.zeros(capacity, dtype=np.bool_)
    n_nodes = 0
    n_leaves = 0
    # Depth-first stack of (start, end, depth, parent node, is left child).
    stack = np.empty((capacity, 5), dtype=np.int64)
    top = _push(stack, 0, 0, rows.shape[0], 0, -1, 0)
    root = 0
    while top > 0:
        top -= 1
        start, end, depth, parent, is_left = stack[top]
        owned = buffer_of[top] if has_histogram[top] else -1
        has_histogram[top] = False
        totals[:] = 0.0
        for i in range(start, end):
            for k in range(2 * n_outputs):
                totals[k] += gh[idx[i], k]
        n_total = end - start
        split_feature = -1
        gain = 0.0
        if depth < max_depth and n_total >= 2 * min_leaf:
            if owned < 0:
                n_free -= 1
                owned = free[n_free]
                _fill_histogram(
                    X,
                    idx,
                    start,
                    end,
                    gh,
                    features,
                    feature_offsets,
                    missing_bin,
                    hists[owned],
                    counts[owned],
                )
            gain, split_feature, split_bin = _best_split(
                hists[owned],
                counts[owned],
                features,
                feature_offsets,
                totals,
                n_total,
                min_leaf,
                l2,
            )
        if split_feature < 0:
            _leaf(values[n_leaves], totals, shrinkage, l2, idx[start:end], row_step)
            code = -1 - n_leaves
            n_leaves += 1
        else:
            node = n_nodes
            n_nodes += 1
            feature[node] = split_feature
            threshold[node] = split_bin
            importances[split_feature] += gain
            middle = _partition(X, idx, start, end, split_feature, split_bin)
            # Right child pushed first (at ``top``), so the left one is grown first.
            if subtract and depth + 1 < max_depth:
                n_free -= 1
                buffer_of[top + 1], buffer_of[top] = _children_histograms(
                    X,
                    idx,
                    start,
                    middle,
                    end,
                    gh,
                    features,
                    feature_offsets,
                    missing_bin,
                    hists,
                    counts,
                    owned,
                    free[n_free],
                )
                has_histogram[top] = True
                has_histogram[top + 1] = True
                owned = -1  # the larger child's now
            top = _push(stack, top, middle, end, depth + 1, node, 0)
            top = _push(stack, top, start, middle, depth + 1, node, 1)
            code = node
        if owned >= 0:
            free[n_free] = owned
            n_free += 1
        if parent < 0:
            root = code
        elif is_left:
            left[parent] = code
        else:
            right[parent] = code
    return (
        feature[:n_nodes].copy(),
        threshold[:n_nodes].copy(),
        left[:n_nodes].copy(),
        right[:n_nodes].copy(),
        values[:n_leaves].copy(),
        root,
        importances,
    )


@njit(nogil=True, cache=True)
def _tree_step(X, rows, feature, threshold, left, right, values, root, out):
    """Add the tree's leaf values to ``out[row]`` for ``rows`` of ``X``."""
    for i in range(rows.shape[0]):
        r = rows[i]
        leaf = leaf_of(X, r, root, feature, threshold, left, right)
        for k in range(out.shape[1]):
            out[r, k] += values[leaf, k]


# ------------------------------------------------------------------ losses and gradients
def base_margin(base_output: np.ndarray, is_classification: bool, smoothing: float = 0.0):
    """The margins boosting starts from: smoothed log-probabilities, or the predicted targets."""
    if is_classification:
        n_classes = base_output.shape[1]
        smoothed = (1.0 - smoothing) * base_output + smoothing / n_classes
        return np.log(np.clip(smoothed, MIN_PROBABILITY, None))
    return np.array(base_output, dtype=np.float64)


def choose_smoothing(base_output: np.ndarray, y: np.ndarray, weight: np.ndarray) -> float:
    """The share of the uniform distribution that makes the class vectors' log loss least.

    Forests' class vectors are often 0 or 1, and the log of a vote share is no calibrated margin:
    started from it, boosting would spend its rounds softening confident rows instead of fitting
    what the cascade missed. Mixing in the uniform distribution, by the share that minimises the
    out-of-sample log loss of the training rows, calibrates the start.
    """
    losses = [mean_loss(base_margin(base_output, True, s), y, weight, True) for s in SMOOTHING_GRID]
    return float(SMOOTHING_GRID[int(np.argmin(losses))])


@njit(nogil=True, cache=True)
def _row_max(margin):
    """Each row's largest margin, as a column: numpy's ``max(axis=1)`` over a few classes
    took a fifth of the stage's time on LETTER (26 classes)."""
    out = np.empty((margin.shape[0], 1))
    for i in range(margin.shape[0]):
        largest = margin[i, 0]
        for k in range(1, margin.shape[1]):
            if margin[i, k] > largest or margin[i, k] != margin[i, k]:
                largest = margin[i, k]
        out[i, 0] = largest
    return out


def margin_output(margin: np.ndarray, is_classification: bool) -> np.ndarray:
    """Class probabilities (a softmax) or targets from margins."""
    if not is_classification:
        return margin
    shifted = margin - _row_max(np.ascontiguousarray(margin, dtype=np.float64))
    np.exp(shifted, out=shifted)
    shifted /= shifted.sum(axis=1, keepdims=True)
    return shifted


def _row_losses(margin, y, is_classification):
    if is_classification:
        proba = margin_output(margin, True)
        return -np.log(np.clip((proba * y).sum(axis=1), 1e-15, None))
    return ((margin - y) ** 2).sum(axis=1)


def mean_loss(margin, y, weight, is_classification) -> float:
    return float(np.average(_row_losses(margin, y, is_classification), weights=weight))


# ------------------------------------------------------------------ one booster's rounds
class _BoostingRun:
    """A booster grown round by round on ``train`` rows, updating the margins of all rows."""

    def __init__(
        self, X, y, weight, margin, train, held_out, settings, is_classification, seed: int
    ):
        self.X, self.y, self.weight = X, y, weight
        self.rng = np.random.RandomState(seed)
        self.margin = margin.copy()
        # Rows of weight 0 count as absent (scikit-learn's convention), also in leaf sizes.
        self.train, self.held_out = train[weight[train] > 0], held_out
        self.settings = settings
        self.is_classification = is_classification
        self.trees: list[tuple] = []
        # Made once: a tree's histograms are the largest scratch space it needs.
        self.histograms = histogram_space(
            settings.histogram_offsets, settings.max_features, y.shape[1], settings.max_depth
        )

    def step(self) -> None:
        """Grow one round: a tree for all outputs on the loss's gradients and hessians."""
        s = self.settings
        n_outputs = self.y.shape[1]
        # Each row's gradients, then its hessians, side by side (``grow_boosted_tree``).
        gradients = np.empty((len(self.y), 2 * n_outputs))
        grad, hess = gradients[:, :n_outputs], gradients[:, n_outputs:]
        if self.is_classification:
            proba = margin_output(self.margin, True)
            np.subtract(proba, self.y, out=grad)
            proba *= 1.0 - proba
            np.maximum(proba, 1e-6, out=hess)
            hess *= self.weight[:, None]
        else:
            np.subtract(self.margin, self.y, out=grad)
            hess[:] = self.weight[:, None]  # squared error's hessians are the weights
        grad *= self.weight[:, None]
        row_step = np.zeros_like(self.margin)
        n_features = self.X.shape[1]
        features = np.arange(n_features)
        if n_features > s.max_features:
            features = np.sort(self.rng.choice(n_features, s.max_features, replace=False))
        tree = grow_boosted_tree(
            self.X,
            self.train,
            gradients,
            features,
            s.histogram_offsets,
            s.missing_bin,
            s.max_depth,
            s.min_samples_leaf,
            s.l2_regularization,
            s.learning_rate,
            row_step,
            *self.histograms,
        )
        feature, threshold, left, right, leaf_values, root, importances = tree
        if self.held_out is not None and len(self.held_out):
            _tree_step(
                self.X, self.held_out, feature, threshold, left, right, leaf_values, root, row_step
            )
        self.margin += row_step
        table = leaf_values.astype(np.float32)
        self.trees.append((feature, threshold, left, right, table, root, importances))

    def held_out_loss(self) -> float:
        rows = self.held_out
        return mean_loss(self.margin[rows], self.y[rows], self.weight[rows], self.is_classification)


# ------------------------------------------------------------------ the stage
def fit_boosting(
    X_binned: np.ndarray,
    y: np.ndarray,
    base_output: np.ndarray,
    weight: np.ndarray,
    groups: np.ndarray,
    settings: BoostingSettings,
    *,
    is_classification: bool,
    rounds: int | str,
    rng: np.random.RandomState,
    n_jobs: int | None = None,
) -> BoostingResult:
    """Fit the stage; ``rounds="auto"`` chooses the round count from held-out folds.

    Parameters
    ----------
    X_binned : uint8 ndarray of shape (n_samples, n_features)
    y : float64 ndarray of shape (n_samples, n_outputs)
        One-hot classes, or the targets.
    base_output : ndarray of shape (n_samples, n_outputs)
        The cascade's out-of-sample class probabilities or predictions.
    weight : float64 ndarray of shape (n_samples,)
        Sample (times class) weights.
    groups : int ndarray of shape (n_samples,)
        Groups of identical rows; a group never straddles two search folds.
    """
    X = np.ascontiguousarray(X_binned, dtype=np.uint8)
    weight = np.asarray(weight, dtype=np.float64)
    smoothing = choose_smoothing(base_output, y, weight) if is_classification else 0.0
    margin = base_margin(base_output, is_classification, smoothing)
    all_rows = np.arange(X.shape[0], dtype=np.int64)
    loss_before = mean_loss(margin, y, weight, is_classification)
    held_out_output = None
    if rounds == "auto":
        codes = y.argmax(axis=1) if is_classification else None
        folds = assign_folds(groups, SEARCH_FOLDS, rng, codes)
        runs = [
            _BoostingRun(
                X,
                y,
                weight,
                margin,
                all_rows[folds != k],
                all_rows[folds == k],
                settings,
                is_classification,
                seed=int(rng.randint(np.iinfo(np.int32).max)),
            )
            for k in range(SEARCH_FOLDS)
        ]
        searched, best_loss, best_margin = _search_rounds(
            runs, folds, y, weight, is_classification, settings, n_jobs
        )
        # The final booster trains on all rows, a fold more than each searching one: it can take
        # proportionally more rounds before it overfits.
        rounds = math.ceil(searched * SEARCH_FOLDS / (SEARCH_FOLDS - 1)) if searched else 0
        loss_after = best_loss
        held_out_output = margin_output(best_margin, is_classification)
    else:
        searched, loss_after = 0, None
    if rounds == 0:
        return BoostingResult(None, smoothing, 0, searched, loss_before, loss_before, None)
    final = _BoostingRun(
        X,
        y,
        weight,
        margin,
        all_rows,
        None,
        settings,
        is_classification,
        seed=int(rng.randint(np.iinfo(np.int32).max)),
    )
    restart("boosting stage: final rounds on all rows", rounds)
    for _ in range(rounds):
        final.step()
        advance()
    forest = concatenate_trees(
        final.trees, 0, X.shape[1], np.array([0, len(final.trees)], dtype=np.int64)
    )
    return BoostingResult(
        forest, smoothing, rounds, searched, loss_before, loss_after, held_out_output
    )


def _search_rounds(runs, folds, y, weight, is_classification, settings, n_jobs):
    """Grow the folds' boosters in step; return the best round, its loss and its margins."""
    n_rows = y.shape[0]

    def held_out_margin():
        out = np.empty((n_rows, y.shape[1]))
        for k, run in enumerate(runs):
            out[folds == k] = run.margin[run.held_out]
        return out

    best_round, best_margin = 0, held_out_margin()
    best_loss = mean_loss(best_margin, y, weight, is_classification)
    best_by_round = [best_loss]
    starting_loss = best_loss
    # A round on a small table takes less than handing the folds to threads costs.
    work = sum(len(run.train) for run in runs) * runs[0].X.shape[1] * y.shape[1]
    with ThreadFanOut(n_jobs if work >= PARALLEL_MIN_WORK else 1) as fan_out:
        for round_ in range(1, settings.max_rounds + 1):
            fan_out.run([run.step for run in runs])
            advance()
            margin = held_out_margin()
            loss = mean_loss(margin, y, weight, is_classification)
            if loss < best_loss:
                best_round, best_loss, best_margin = round_, loss, margin
            best_by_round.append(best_loss)
            if round_ >= PATIENCE_ROUNDS:
                earlier = best_by_round[round_ - PATIENCE_ROUNDS]
                if best_loss > earlier - MIN_RELATIVE_GAIN * starting_loss:
                    break
    return best_round, best_loss, best_margin


def boosted_output(
    forest: BinnedForest,
    X_binned: np.ndarray,
    base_output: np.ndarray,
    is_classification: bool,
    smoothing: float = 0.0,
    n_jobs: int | None = None,
) -> np.ndarray:
    """The stage's prediction: the base output's margins plus the trees' sum."""
    margin = base_margin(base_output, is_classification, smoothing)
    margin += forest.output(X_binned, n_jobs=n_jobs) * forest.n_trees
    return margin_output(margin, is_classification)
