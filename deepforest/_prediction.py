"""Passing rows through a fitted cascade: its layers, the final predictor, the boosting stage.

Rows are predicted in blocks of ``PREDICT_BATCH_ROWS`` so that the layers' augmented inputs
stay small; each block is binned once, and each layer reads the binned features followed by the
layer before's binned outputs (:func:`augment`), exactly as the layers were trained.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator

import numpy as np

from ._core.boosting import boosted_output
from ._core.layer_estimators import aligned_output
from ._core.memory import PREDICT_BATCH_ROWS
from ._core.predictor import ForestPredictor

__all__ = ["PREDICT_BATCH_ROWS", "augment", "final_outputs", "layer_outputs", "staged_outputs"]


def final_outputs(model, X: np.ndarray) -> np.ndarray:
    """The model's output (class probabilities or predictions) on validated rows ``X``."""
    batches = [
        final_outputs_batch(model, X[start : start + PREDICT_BATCH_ROWS])
        for start in range(0, X.shape[0], PREDICT_BATCH_ROWS)
    ]
    return np.concatenate(batches, axis=0)


def final_outputs_batch(model, X: np.ndarray) -> np.ndarray:
    """The output on one block of rows: the cascade's, then the boosting stage's if kept."""
    X_binned = model._binner.transform(X, n_jobs=model.n_jobs)
    return _with_boosting_stage(model, X_binned, cascade_outputs(model, X_binned))


def staged_outputs(model, X: np.ndarray) -> list[np.ndarray]:
    """The output after each kept layer, on validated rows ``X``.

    Before the last layer: that layer's (weighted) mean of its members' outputs, or for rows
    that confidence screening let leave earlier, the output of the layer they left at; the
    last equals :func:`final_outputs` (final predictor and boosting stage included).
    """
    batches = [
        _staged_outputs_batch(model, X[start : start + PREDICT_BATCH_ROWS])
        for start in range(0, X.shape[0], PREDICT_BATCH_ROWS)
    ]
    return [np.concatenate(stage, axis=0) for stage in zip(*batches, strict=True)]


def _staged_outputs_batch(model, X: np.ndarray) -> list[np.ndarray]:
    X_binned = model._binner.transform(X, n_jobs=model.n_jobs)
    stages: list[np.ndarray] = []
    last = cascade_outputs(model, X_binned, stages)
    return [*stages, _with_boosting_stage(model, X_binned, last)]


def _with_boosting_stage(model, X_binned: np.ndarray, output: np.ndarray) -> np.ndarray:
    """``output`` with the boosting stage's trees added, if the model kept a stage."""
    booster = getattr(model, "booster_", None)  # files saved before the stage have none
    if booster is None:
        return output
    boosted = boosted_output(
        booster,
        X_binned,
        output.reshape(len(X_binned), -1),
        model._is_classifier,
        model.booster_smoothing_,
        n_jobs=model.n_jobs,
    )
    return boosted.reshape(output.shape)


def cascade_outputs(model, X_binned: np.ndarray, stages: list | None = None) -> np.ndarray:
    """The cascade's output before the boosting stage.

    With ``stages`` (a list), the output of the cascade cut after each kept layer but the last
    is appended to it, for :func:`staged_outputs`.
    """
    thresholds = getattr(model, "screening_thresholds_", None)
    if thresholds is None and stages is None:
        # Only the last layer's outputs are used; the deque keeps no earlier one alive.
        outputs = deque(layer_outputs(model, X_binned), maxlen=1)[0]
        return _last_layer_output(model, X_binned, outputs)
    # With confidence screening, rows leave at the first layer that is confident enough.
    final = None  # every row's output so far; a screened row's is its last layer's
    active = np.arange(X_binned.shape[0])
    remaining = features = X_binned  # the rows still in the cascade, and their layer's input
    for index, layer in enumerate(model.layers_):
        outputs = layer.outputs(layer_input(model, features), model.n_jobs)
        if index + 1 == len(model.layers_):
            break
        mean_output = layer.combine(outputs)
        if final is None:
            final = np.empty((X_binned.shape[0], mean_output.shape[1]))
        final[active] = mean_output
        if stages is not None:
            stages.append(_as_predicted(model, final.copy()))
        if thresholds is not None:
            screened = mean_output.max(axis=1) > thresholds[index]
            active, outputs = active[~screened], [output[~screened] for output in outputs]
            remaining = X_binned[active]
        features = augment(remaining, layer, outputs)
    last = _last_layer_output(model, remaining, outputs)
    if final is None:
        return last
    final[active] = last.reshape(len(active), -1)
    return _as_predicted(model, final)


def layer_outputs(model, X_binned: np.ndarray) -> Iterator[list[np.ndarray]]:
    """Each kept layer's member outputs on binned rows, layer by layer."""
    features = X_binned
    for index, layer in enumerate(model.layers_):
        outputs = layer.outputs(layer_input(model, features), model.n_jobs)
        yield outputs
        if index + 1 < len(model.layers_):
            features = augment(X_binned, layer, outputs)


def _last_layer_output(model, X_binned: np.ndarray, outputs: list[np.ndarray]) -> np.ndarray:
    """The prediction from the last kept layer's outputs: their mean, or the predictor's."""
    if model.predictor_ is None:
        output = model.layers_[-1].combine(outputs)
    elif len(X_binned) == 0:
        output = np.empty((0, outputs[0].shape[1]))
    else:
        final_features = augment(X_binned, model.layers_[-1], outputs)
        if isinstance(model.predictor_, ForestPredictor):
            forest = model.predictor_
            predict = forest.predict_proba if model._is_classifier else forest.predict
            output = predict(final_features)
        else:
            n_outputs = outputs[0].shape[1]
            output = aligned_output(
                model.predictor_, final_features, n_outputs, model._is_classifier
            )
    return _as_predicted(model, output)


def _as_predicted(model, output: np.ndarray) -> np.ndarray:
    """A single-target regressor's output as predict gives it: 1-d."""
    if not model._is_classifier and model._single_output:
        return output.reshape(-1)
    return output


def layer_input(model, features: np.ndarray) -> np.ndarray:
    """A layer's input as its engine reads it."""
    # scikit-learn's trees read float32; the compiled engine reads the bins as they are.
    return features.astype(np.float32) if model.engine_ == "sklearn" else features


def augment(X_binned: np.ndarray, layer, outputs: list[np.ndarray], order: str = "C"):
    """The next layer's input: the binned features followed by the layer's binned outputs."""
    vectors = layer.binned_outputs(outputs)
    augmented = np.empty((X_binned.shape[0], X_binned.shape[1] + vectors.shape[1]), np.uint8, order)
    augmented[:, : X_binned.shape[1]] = X_binned
    augmented[:, X_binned.shape[1] :] = vectors
    return augmented
