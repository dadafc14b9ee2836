"""Growing a cascade: layers until the stopping rule says stop, then the final stages.

:func:`grow` fits layer after layer on the prepared data (``_preparation``), scores each one's
out-of-sample output and returns a :class:`Growth`: the layers, the decisions and the outputs
the final stages start from. :func:`keep_layers` turns it into the fitted attributes;
:func:`fit_final_predictor` and :func:`fit_boosting_stage` fit what follows the last kept layer.
"""

from __future__ import annotations

import dataclasses
import math
import time
import warnings
from typing import NamedTuple

import numpy as np

from ._core.boosting import SEARCH_FOLDS as BOOST_SEARCH_FOLDS
from ._core.boosting import BoostingSettings, fit_boosting, histogram_offsets
from ._core.forests import FOREST_KINDS
from ._core.layer import fit_layer
from ._core.layer_estimators import fit_with_weights, with_class_weight
from ._core.predictor import ForestPredictor, make_predictor
from ._core.progress import progress
from ._core.screening import screening_threshold
from ._core.spill import SpilledLayer, spill_layer
from ._core.stopping import CascadeGrowth, LayerScorer
from ._prediction import augment
from ._preparation import TrainingData, raveled

# Growth stops when confidence screening leaves fewer rows than this.
MIN_ROWS_AFTER_SCREENING = 20
# The boosting stage's fixed settings: a bound on the rounds its search tries, as the sum of
# their learning rates (400 rounds at 0.05, 200 at 0.1), the rows a leaf holds at least, and
# the L2 penalty on leaf values (XGBoost's lambda).
BOOST_MAX_TOTAL_RATE = 20.0
BOOST_MIN_SAMPLES_LEAF = 5
BOOST_L2_REGULARIZATION = 1.0


class LayerOutputs(NamedTuple):
    """A layer's out-of-sample outputs: each member's on the rows it was fitted on (``rows``:
    the rows confidence screening left in), and every training row's combined output."""

    members: list
    rows: np.ndarray
    combined: np.ndarray


@dataclasses.dataclass
class Growth:
    """What growing the layers decided and left for the final stages.

    ``last_outputs`` are the last kept layer's: the final predictor and the boosting stage
    start there.
    """

    decisions: CascadeGrowth
    layers: list
    fit_times: list[float]
    last_index: int
    last_outputs: LayerOutputs
    # Confidence screening: each layer's threshold and how many rows it screened.
    screening_thresholds: list[float]
    screened_counts: list[int]
    # Regression: each layer's out-of-sample mean absolute error.
    layer_maes: list[float]


def layer_scorer(model, data: TrainingData, seed: int) -> LayerScorer:
    """Scores out-of-sample outputs of the training rows with their standard errors."""
    return LayerScorer(
        model.scoring,
        is_classifier=model._is_classifier,
        y=data.y_scored,
        sample_weight=data.sample_weight,
        classes=model._classes(),
        seed=seed,
    )


class LayerReport(NamedTuple):
    """What a fit's ``callbacks`` receive after each layer is grown.

    Attributes
    ----------
    index : int
        The layer's index, 0 for the first.
    out_of_sample_output : ndarray of shape (n_samples, n_classes) or (n_samples, n_outputs)
        Every training row's out-of-sample output after this layer (a copy): the mean of
        the layer's forests, class vectors for a classifier; rows that confidence screening
        let leave earlier keep the output they left with. This is what the stopping rule
        scores.
    score : float
        Its out-of-sample score (``scoring``), as in ``history_["score"]``.
    score_se : float
        The score's standard error, as in ``history_["score_se"]``.
    fit_time : float
        Seconds spent growing the layer.
    """

    index: int
    out_of_sample_output: np.ndarray
    score: float
    score_se: float
    fit_time: float


def grow(model, data: TrainingData, callbacks=()) -> Growth:
    """Grow layers until the rule stops; return the decisions, layers and last outputs.

    With confidence screening, the rows screened after a layer keep its output, and only
    the others train the next layers; every layer is scored on all the rows, screened ones
    with the output that screened them, so that layers compare on the same rows.
    ``callbacks`` are called with a :class:`LayerReport` after each layer; one that returns
    true stops the growth there.
    """
    scorer = layer_scorer(model, data, seed=int(data.rng.randint(np.iinfo(np.int32).max)))
    decisions = CascadeGrowth(
        scorer,
        z=model.min_gain_se,
        delta=model.delta,
        patience=model.n_tolerant_rounds,
        keep_z=model.max_loss_se,
    )
    thresholds, screened_counts, layer_maes = [], [], []
    n_rows = data.X_binned.shape[0]
    active = np.arange(n_rows)  # rows still in the cascade
    combined = None  # every row's out-of-sample output: its screening layer's, or the last
    layers, fit_times = [], []
    # Out-of-sample outputs of the layers that may still end up last: the best and later,
    # with the rows they were computed for.
    candidates: dict[int, LayerOutputs] = {}
    # Trees read a column at a time while they grow: the layers' input in Fortran order.
    features = np.asfortranarray(data.X_binned)
    for index in range(model.max_layers):
        start = time.perf_counter()
        layer, outputs = _fit_layer(model, data, index, features, active)
        mean_output = layer.combine(outputs)
        if combined is None:
            combined = mean_output
        else:
            combined[active] = mean_output
        improved = decisions.add(scorer.evidence(combined))
        if not data.target.is_classification:
            layer_maes.append(_mean_absolute_error(data.y_scored, combined, data.sample_weight))
        fit_times.append(time.perf_counter() - start)
        layers.append(layer)
        # The last kept layer's output on every row starts the boosting stage.
        candidates[index] = LayerOutputs(outputs, active, combined.copy())
        if improved:
            candidates = {index: candidates[index]}
        _log_layer(
            model, index, decisions.record, fit_times[-1], features.shape[1], improved, layer_maes
        )
        # Callbacks see every layer, the last one too.
        stop_asked = _callbacks_ask_to_stop(
            callbacks, index, combined, decisions.record, fit_times[-1]
        )
        if decisions.should_stop() or index + 1 == model.max_layers:
            break
        if stop_asked:
            model._log(f"growth stops: a callback asked to stop after layer {index}")
            break
        if model._screens_rows():
            kept = _screen(model, data, active, mean_output, thresholds, screened_counts)
            active, outputs = active[kept], [output[kept] for output in outputs]
            if len(active) < MIN_ROWS_AFTER_SCREENING:
                model._log(f"growth stops: {len(active)} rows left after screening")
                break
        # The layer's outputs are computed, so its training features can go before the
        # next layer's are built: two copies at once would double the peak on wide data.
        del features
        features = augment(data.X_binned[active], layer, outputs, order="F")
    del features
    last_index = _last_kept_layer(model, decisions)
    return Growth(
        decisions=decisions,
        layers=layers,
        fit_times=fit_times,
        last_index=last_index,
        last_outputs=candidates.get(last_index, candidates[max(candidates)]),
        screening_thresholds=thresholds,
        screened_counts=screened_counts,
        layer_maes=layer_maes,
    )


def _callbacks_ask_to_stop(callbacks, index: int, combined, record, fit_time: float) -> bool:
    """Report the layer to every callback; whether one of them asked to stop."""
    if not callbacks:
        return False
    # A copy: the cascade updates its own in place as later layers screen rows.
    report = LayerReport(
        index, combined.copy(), record.scores[-1], record.standard_errors[-1], fit_time
    )
    # Every callback sees every layer, even after one asked to stop.
    return any([bool(callback(report)) for callback in callbacks])


def _fit_layer(model, data: TrainingData, index: int, features: np.ndarray, active: np.ndarray):
    """Fit layer ``index`` on the rows still ``active``; return it whole, with its outputs."""
    rows = None if len(active) == data.X_binned.shape[0] else active
    target = data.target if rows is None else data.target.take(rows)
    sample_weight = _subset(data.sample_weight, rows)
    n_trees = model.n_estimators * len(FOREST_KINDS) * data.settings.n_trees
    with progress(f"layer {index}", n_trees, model.verbose > 0):
        layer, outputs = fit_layer(
            data.settings,
            n_estimators=model.n_estimators,
            X=features,
            target=target,
            sample_weight=sample_weight,
            folds=_subset(data.folds, rows),
            groups=_subset(data.groups, rows),
            rng=data.rng,
            layer_estimators=data.layer_estimators,
            estimator_folds=_subset(data.estimator_folds, rows),
        )
    if model.spill_dir is not None:
        layer = spill_layer(layer, model.spill_dir, index)
    return layer, outputs


def _screen(model, data, active, mean_output, thresholds: list, screened_counts: list):
    """Choose the layer's screening threshold; return which active rows stay in."""
    confidence = mean_output.max(axis=1)
    predicted = model.classes_[mean_output.argmax(axis=1)]
    correct = predicted == data.y_scored[active]
    threshold = screening_threshold(confidence, correct, _subset(data.sample_weight, active))
    screened = confidence > threshold
    thresholds.append(threshold)
    screened_counts.append(int(screened.sum()))
    model._log(
        f"screening: {screened.sum()} of {len(active)} rows leave with confidence above "
        f"{threshold:.4f} ({np.mean(correct[screened]) if screened.any() else np.nan:.4f} "
        f"accurate, against {np.mean(correct):.4f} for all)"
    )
    return ~screened


def keep_layers(model, growth: Growth) -> None:
    """Keep the layers up to the last kept one; record the decisions as fitted attributes."""
    record = growth.decisions.record
    model.layers_ = growth.layers[: growth.last_index + 1]
    for dropped in growth.layers[growth.last_index + 1 :]:
        if isinstance(dropped, SpilledLayer):
            dropped.remove()
    model.n_layers_ = len(model.layers_)
    model.best_layer_ = record.best_index
    model.best_score_ = record.scores[record.best_index]
    model.history_ = {
        "score": record.scores,
        "score_se": record.standard_errors,
        "gain": record.gains,
        "gain_se": record.gain_errors,
        "fit_time": growth.fit_times,
    }
    if not model._is_classifier:
        model.history_["mae"] = growth.layer_maes
    if model._screens_rows():
        n_rows = len(growth.decisions.scorer.y)
        kept = model.n_layers_ - 1
        model.screening_thresholds_ = np.array([*growth.screening_thresholds[:kept], np.inf])
        model.screened_share_ = np.array(
            [count / n_rows for count in growth.screened_counts[:kept]] + [0.0]
        )
    model._log(kept_layers_summary(model.n_layers_, len(growth.layers), record))


def fit_final_predictor(model, data: TrainingData, growth: Growth, predictor, params) -> None:
    """Fit the final predictor on the last kept layer's augmented features."""
    start = time.perf_counter()
    outputs, rows = growth.last_outputs.members, growth.last_outputs.rows
    model.predictor_ = make_predictor(
        predictor,
        settings=data.settings,
        seed=int(data.rng.randint(np.iinfo(np.int32).max)),
        params=params,
    )
    final_features = augment(data.X_binned[rows], model.layers_[-1], outputs, order="F")
    if not isinstance(model.predictor_, ForestPredictor):
        final_features = np.ascontiguousarray(final_features)
    target = data.target.take(rows)
    y_fit = target.codes if model._is_classifier else raveled(target.values)
    sample_weight = _subset(data.sample_weight, rows)
    if model._is_classifier:
        # The cascade's class weights hold for its final predictor too.
        sample_weight = with_class_weight(sample_weight, data.settings.class_weight, target.codes)
    fit_with_weights(model.predictor_, final_features, y_fit, sample_weight, "predictor")
    name = predictor if isinstance(predictor, str) else type(predictor).__name__
    model._log(f"final predictor {name}: fit={time.perf_counter() - start:.2f}s")


def fit_boosting_stage(model, data: TrainingData, base_output: np.ndarray, predictor) -> None:
    """Fit the boosting stage on the last kept layer's out-of-sample output.

    The stage needs every training row's out-of-sample prediction to start from; a final
    predictor's output on its own training rows is not one, so the two exclude each other.
    """
    model.booster_ = None
    if model.boost_rounds == 0:
        return
    if predictor is not None:
        if model.boost_rounds != "auto":
            raise ValueError(
                f"boost_rounds={model.boost_rounds} needs the cascade's out-of-sample output, "
                "which a final predictor does not give: set boost_rounds=0 or predictor=None"
            )
        return
    start = time.perf_counter()
    target = data.target
    if target.is_classification:
        y = np.eye(target.n_outputs)[target.codes]
        weight = with_class_weight(data.sample_weight, data.settings.class_weight, target.codes)
    else:
        y, weight = target.values, data.sample_weight
    if weight is None:
        weight = np.ones(len(y))
    settings = _boosting_settings(model)
    with progress(
        "boosting stage: searching rounds", settings.max_rounds, model.verbose > 0, "round"
    ):
        result = fit_boosting(
            data.X_binned,
            y,
            base_output,
            weight,
            data.groups,
            settings,
            is_classification=target.is_classification,
            rounds=model.boost_rounds,
            rng=data.rng,
            n_jobs=model.n_jobs,
        )
    # The search scores the boosted held-out output with the layers' metric, so that it reads
    # against history_["score"]; a stage that lowers that score is dropped (the rounds were
    # chosen by the loss, which for classes can improve while accuracy falls).
    scorer = layer_scorer(model, data, seed=0)
    score_before = float(scorer.evidence(base_output).score)
    score_after = None
    if result.held_out_output is not None:
        score_after = float(scorer.evidence(result.held_out_output).score)
    kept = score_after is None or score_after >= score_before
    model.booster_ = result.forest if kept else None
    model.booster_smoothing_ = result.smoothing
    stage = {
        "rounds": result.rounds if kept else 0,
        "searched_rounds": result.searched_rounds,
        "smoothing": result.smoothing,
        "score_before": score_before,
        "score_after": score_after,
        "loss_before": result.loss_before,
        "loss_after": result.loss_after,
        "fit_time": time.perf_counter() - start,
    }
    model.history_["boosting"] = stage
    after = "not searched" if score_after is None else f"{score_after:.5f}"
    model._log(
        f"boosting: {stage['rounds']} rounds (the search's best: {result.searched_rounds} "
        f"on {BOOST_SEARCH_FOLDS} folds); out-of-sample score {score_before:.5f} -> {after}"
        f"{'' if kept else ' (lower: the stage is dropped)'}; fit={stage['fit_time']:.2f}s"
    )


def boost_max_rounds(learning_rate: float) -> int:
    """The most rounds the stage's search tries at this learning rate."""
    return max(1, math.ceil(BOOST_MAX_TOTAL_RATE / learning_rate - 1e-9))


def _boosting_settings(model) -> BoostingSettings:
    return BoostingSettings(
        max_rounds=boost_max_rounds(model.boost_learning_rate),
        learning_rate=model.boost_learning_rate,
        max_depth=model.boost_max_depth,
        min_samples_leaf=BOOST_MIN_SAMPLES_LEAF,
        l2_regularization=BOOST_L2_REGULARIZATION,
        histogram_offsets=histogram_offsets([len(edges) + 1 for edges in model._binner.bin_edges_]),
        missing_bin=model._binner.missing_bin_,
    )


def _last_kept_layer(model, decisions: CascadeGrowth) -> int:
    """The deepest layer kept: from the best on, those not significantly worse than it.

    Deeper layers' out-of-sample scores understate them (training rows pass on out-of-bag
    class vectors that average about a third of the trees, new rows the whole forest's),
    so a deeper layer that is not clearly worse is kept. ``depth_tolerance`` (deprecated)
    keeps instead the layers whose score is within it of the best score.
    """
    if model.depth_tolerance == "deprecated":
        return decisions.last_kept()
    warnings.warn(
        "depth_tolerance is deprecated and will be removed: the cascade now keeps the "
        "layers after the best one that are not significantly worse than it (see "
        "max_loss_se). Leave depth_tolerance unset to use that rule.",
        FutureWarning,
        stacklevel=5,
    )
    record = decisions.record
    best_score = record.scores[record.best_index]
    within = [
        index
        for index in range(record.best_index, len(record.scores))
        if record.scores[index] >= best_score - model.depth_tolerance
    ]
    return max(within)


def kept_layers_summary(n_kept: int, n_grown: int, record) -> str:
    """One line on the depth chosen, that reads right without the docs."""
    best = record.best_index
    line = (
        f"kept {n_kept} of {n_grown} layers grown (layers 0 to {n_kept - 1}); layer {best} was "
        f"the last to improve the out-of-sample score significantly ({record.scores[best]:.5f} "
        f"± {record.standard_errors[best]:.5f})"
    )
    after, dropped = n_kept - 1 - best, n_grown - n_kept
    if after:
        line += (
            f"; the {after} layer{'s' if after > 1 else ''} after it "
            f"{'are' if after > 1 else 'is'} kept as not clearly worse (deeper layers' "
            "out-of-sample scores understate them)"
        )
    if dropped:
        line += (
            f"; the {dropped} deeper layer{'s' if dropped > 1 else ''} scored clearly worse and "
            f"{'were' if dropped > 1 else 'was'} dropped"
        )
    return line


def _log_layer(model, index, record, seconds, n_features, improved, layer_maes) -> None:
    if not model.verbose:
        return
    gain = record.gains[index]
    versus = "" if np.isnan(gain) else f" gain={gain:+.5f} ± {record.gain_errors[index]:.5f}"
    error = f" mae={layer_maes[index]:.5g}" if not model._is_classifier else ""
    model._log(
        f"layer {index}: score={record.scores[index]:.5f} ± "
        f"{record.standard_errors[index]:.5f}{versus}{error} fit={seconds:.2f}s "
        f"features={n_features}{' (best)' if improved else ''}"
    )


def _mean_absolute_error(y: np.ndarray, outputs: np.ndarray, sample_weight) -> float:
    """The out-of-sample mean absolute error of a regression layer, averaged over targets."""
    errors = np.abs(outputs.reshape(len(y), -1) - y.reshape(len(y), -1)).mean(axis=1)
    return float(np.average(errors, weights=sample_weight))


def _subset(values: np.ndarray | None, rows: np.ndarray | None):
    return values if values is None or rows is None else values[rows]
