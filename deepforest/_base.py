"""What the cascade classifier and regressor share: parameters, the fit's order, prediction.

The estimators (``cascade``) are thin over this base, and the base is thin over the modules
that do the work: ``_preparation`` (validated, binned rows and resolved settings),
``_growth`` (the layers and the stages after them), ``_prediction`` (rows through the layers)
and ``_explain`` (contributions).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

from . import _growth, _prediction, _preparation
from ._core.binning import MAX_BINS
from ._core.forests import Target
from ._core.layer_estimators import require_package
from ._core.memory import MemoryEstimate
from ._deepforest017 import DeepForestMethods
from ._explain import explain_rows
from ._model_format import ModelFormatMixin
from ._nested_params import set_nested_params, with_layer_estimator_params
from ._private_imports import HasMethods, Interval, RealNotInt, StrOptions


def _checked_callbacks(callbacks) -> tuple:
    """``fit``'s callbacks as a tuple of callables, or a TypeError naming what is wrong."""
    if callbacks is None:
        return ()
    if callable(callbacks):
        return (callbacks,)
    if not isinstance(callbacks, (list, tuple)):
        raise TypeError(f"callbacks must be a list of callables, got {type(callbacks).__name__}")
    for callback in callbacks:
        if not callable(callback):
            raise TypeError(f"callbacks must be callables; {callback!r} is not callable")
    return tuple(callbacks)


class _BaseCascadeForest(DeepForestMethods, ModelFormatMixin, BaseEstimator):
    """Shared fit and predict logic of the cascade classifier and regressor."""

    _parameter_constraints: dict = {
        "n_estimators": [Interval(Integral, 0, None, closed="left")],
        "layer_estimators": [None, list, tuple],
        "n_trees": [Interval(Integral, 1, None, closed="left")],
        "max_layers": [Interval(Integral, 1, None, closed="left")],
        "n_tolerant_rounds": [Interval(Integral, 1, None, closed="left")],
        "delta": [Interval(Real, 0, None, closed="left")],
        "min_gain_se": [Interval(Real, 0, None, closed="left")],
        "max_loss_se": [Interval(Real, 0, None, closed="both")],
        "depth_tolerance": [StrOptions({"deprecated"}), Interval(Real, 0, None, closed="left")],
        "max_features": [
            Interval(Integral, 1, None, closed="left"),
            Interval(RealNotInt, 0, 1, closed="right"),
            StrOptions({"auto", "sqrt", "log2"}),
            None,
        ],
        "extra_max_features": [
            StrOptions({"auto", "sqrt", "log2"}),
            Interval(Integral, 1, None, closed="left"),
            Interval(RealNotInt, 0, 1, closed="right"),
            None,
        ],
        "boost_rounds": [StrOptions({"auto"}), Interval(Integral, 0, None, closed="left")],
        "boost_learning_rate": [Interval(Real, 0, 1, closed="right")],
        "boost_max_depth": [Interval(Integral, 1, 8, closed="both")],
        "max_depth": [Interval(Integral, 1, None, closed="left"), None],
        "min_samples_split": [
            Interval(Integral, 2, None, closed="left"),
            Interval(RealNotInt, 0, 1, closed="right"),
        ],
        "min_samples_leaf": [
            StrOptions({"auto"}),
            Interval(Integral, 1, None, closed="left"),
            Interval(RealNotInt, 0, 1, closed="neither"),
        ],
        "min_weight_fraction_leaf": [Interval(Real, 0, 0.5, closed="both")],
        "max_samples": [
            None,
            StrOptions({"auto"}),
            Interval(RealNotInt, 0, 1, closed="right"),
            Interval(Integral, 1, None, closed="left"),
        ],
        "out_of_sample": [StrOptions({"auto", "oob", "kfold"})],
        "n_folds": [Interval(Integral, 2, None, closed="left")],
        "n_bins": [Interval(Integral, 2, MAX_BINS, closed="both")],
        "bin_subsample": [Interval(Integral, 1, None, closed="left"), None],
        "categorical_features": [StrOptions({"from_dtype"}), "array-like", None],
        "scoring": [None, str, callable],
        "predictor": [
            None,
            StrOptions({"forest", "xgboost", "lightgbm"}),
            HasMethods(["fit", "predict"]),
        ],
        "predictor_params": [None, dict],
        "use_predictor": [None, "boolean"],
        "predictor_kwargs": [None, dict],
        "spill_dir": [None, str, os.PathLike],
        "engine": [StrOptions({"auto", "numba", "sklearn"})],
        "n_jobs": [None, Integral],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    # ------------------------------------------------ hooks the estimators define
    _is_classifier = False

    def _encode_target(self, y) -> Target:
        """The validated target as the forests take it (class codes or float values)."""
        raise NotImplementedError

    def _class_weight(self):
        """``class_weight`` (the classifier's parameter; None for the regressor)."""
        return None

    def _screens_rows(self) -> bool:
        """Whether confidence screening is on (the classifier's parameter)."""
        return False

    def _classes(self):
        """``classes_`` once the target is encoded (None for the regressor)."""
        return None

    # ------------------------------------------------------------------ fit
    def _fit(self, X, y, sample_weight, callbacks=None):
        callbacks = _checked_callbacks(callbacks)
        predictor, predictor_params = self._final_predictor()
        data = _preparation.prepare(self, X, y, sample_weight)
        growth = _growth.grow(self, data, callbacks)
        _growth.keep_layers(self, growth)
        self.predictor_ = None
        if predictor is not None:
            _growth.fit_final_predictor(self, data, growth, predictor, predictor_params)
        _growth.fit_boosting_stage(self, data, growth.last_outputs.combined, predictor)
        return self

    def _final_predictor(self):
        """The final predictor to fit (None, a name or an estimator) and its parameters.

        ``use_predictor`` and ``predictor_kwargs`` are Deep-Forest 0.1.7's spellings.
        """
        if self.predictor_kwargs is not None and self.predictor_params is not None:
            raise ValueError(
                "give predictor_params or predictor_kwargs (Deep-Forest 0.1.7's name for it), "
                "not both"
            )
        params = self.predictor_kwargs if self.predictor_params is None else self.predictor_params
        if self.use_predictor is False:
            return None, params
        if isinstance(self.predictor, str):
            require_package(self.predictor)
        if self.use_predictor and self.predictor is None:
            return "forest", params  # Deep-Forest 0.1.7's default predictor
        return self.predictor, params

    def estimate_memory(
        self, n_samples: int, n_features: int, *, n_outputs: int = 2
    ) -> MemoryEstimate:
        """Estimate the memory a fit with these parameters needs, before fitting.

        The estimate the fit warns from when it exceeds the memory available. With
        ``min_samples_leaf="auto"`` it assumes leaves of one row, the probe's smallest
        choice, so it is an upper bound there.

        Parameters
        ----------
        n_samples : int
            Training rows.
        n_features : int
            Features of each row (after the categorical ones are encoded as codes: one each).
        n_outputs : int, default=2
            Classes for a classifier, targets for a regressor.

        Returns
        -------
        estimate : MemoryEstimate
            Bytes in ``layer_bytes`` (one layer's trees), ``fit_bytes`` (the fit's peak) and
            ``predict_bytes`` (a prediction's peak); ``describe()`` words them.
        """
        for name, value in (
            ("n_samples", n_samples),
            ("n_features", n_features),
            ("n_outputs", n_outputs),
        ):
            if not isinstance(value, Integral) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        leaf = 1 if self.min_samples_leaf == "auto" else self.min_samples_leaf
        return _preparation.estimate_fit_memory(
            self, int(n_samples), int(n_features), int(n_outputs), leaf
        )

    def _log(self, message: str) -> None:
        if self.verbose:
            print(f"[deepforest] {message}", file=sys.stderr, flush=True)

    # -------------------------------------------------------------- predict
    def _final_outputs(self, X) -> np.ndarray:
        """Pass X through the kept layers; return the averaged or final-predictor output."""
        return _prediction.final_outputs(self, _preparation.validated_features(self, X))

    def staged_predict(self, X) -> Iterator[np.ndarray]:
        """Predictions of the cascade cut after each kept layer, the first layer's first.

        Each is what the cascade predicts from that layer's (weighted) mean output, rows that
        confidence screening let leave earlier keeping theirs; the last is ``predict(X)``,
        with the final predictor and the boosting stage. For the depth's effect on new rows,
        as ``staged_predict`` of scikit-learn's gradient boosting shows the rounds'.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Yields
        ------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
        """
        for output in self._staged_outputs(X):
            yield self._prediction_from_output(output)

    @available_if(lambda self: self._is_classifier)
    def staged_predict_proba(self, X) -> Iterator[np.ndarray]:
        """Class probabilities of the cascade cut after each kept layer (see
        ``staged_predict``); the last is ``predict_proba(X)``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Yields
        ------
        proba : ndarray of shape (n_samples, n_classes)
        """
        yield from self._staged_outputs(X)

    def _staged_outputs(self, X) -> list[np.ndarray]:
        return _prediction.staged_outputs(self, _preparation.validated_features(self, X))

    def _prediction_from_output(self, output: np.ndarray) -> np.ndarray:
        """The prediction from the model's output (the classifier maps probabilities to labels)."""
        return output

    def _layer_outputs(self, X_binned: np.ndarray) -> Iterator[list[np.ndarray]]:
        """Each kept layer's forest outputs on binned rows, layer by layer."""
        return _prediction.layer_outputs(self, X_binned)

    # -------------------------------------------------------------- explain
    def explain(self, X, *, background=None):
        """Per-row feature contributions to the prediction, traced through the layers.

        Each tree's output is split along the row's path into one step per split, credited to
        the split's feature (the expected output of a node weighs its children by the share of
        ``background`` rows going each way). Contributions that reach a layer through the class
        vectors (or predictions) of the layer before are passed back to the original features
        in proportion to their contributions to those vectors, and the boosting stage's
        nonlinear steps (log and softmax, for classes) are shared out the same way, so the sum
        stays exact. See "Explaining a prediction" in the design notes (docs/cascade.md) for
        how this differs from interventional SHAP values.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The rows to explain.
        background : array-like of shape (n_background, n_features), default=None
            Rows that stand for the data the model sees, such as a sample of the training
            rows; the base value is the output expected over them (for a classifier whose
            boosting stage was kept: the softmax of the expected margins, which is not the
            mean predicted probability). None: X itself, which then needs at least 100 rows.

        Returns
        -------
        shap.Explanation or deepforest.Contributions
            A ``shap.Explanation`` when shap is installed (``shap.plots`` take it as it is),
            else a :class:`~deepforest.Contributions` with the same attributes. ``values`` has
            shape (n_samples, n_features, n_classes) for a classifier, (n_samples, n_features)
            for a single-target regressor; ``base_values + values.sum(axis=1)`` equals
            ``predict_proba(X)`` or ``predict(X)`` to float precision.
        """
        return explain_rows(self, X, background)

    @property
    def feature_importances_(self) -> np.ndarray:
        """Impurity-based importance of the input features, averaged over all forests.

        Only the original features count (the class vectors that layers pass on are left out);
        the importances sum to 1.
        """
        check_is_fitted(self, "layers_")
        n_features = self.n_features_in_
        forests = [forest for layer in self.layers_ for forest in layer.forests]
        if not forests:
            raise AttributeError(
                "feature_importances_ comes from the forests, and with n_estimators=0 the "
                "layers hold only layer_estimators: use their own importances "
                "(get_estimator(layer_idx, est_idx, 'custom').models)"
            )
        importances = np.mean(
            [forest.feature_importances_[:n_features] for forest in forests], axis=0
        )
        total = importances.sum()
        return importances / total if total > 0 else importances

    # ------------------------------------------- parameters of layer estimators
    def get_params(self, deep: bool = True) -> dict:
        """Parameters of this estimator, and with ``deep`` of its estimators.

        The layer estimators' parameters appear as ``<name>__<parameter>``, as a
        ``StackingClassifier``'s do, so that ``set_params`` and ``GridSearchCV`` reach them.
        """
        params = super().get_params(deep=deep)
        if not deep:
            return params
        return with_layer_estimator_params(params, self.layer_estimators)

    def set_params(self, **params):
        """Set parameters, including a layer estimator's (``<name>__<parameter>``) or a whole
        layer estimator (``<name>=estimator``)."""
        set_nested_params(self, params, super().set_params)
        return self

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags
