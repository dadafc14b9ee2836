"""The cascade forest estimators: CascadeForestClassifier and CascadeForestRegressor.

The estimators hold their parameters and docstrings; what they share is in ``_base``, which
validates and bins the input (``_preparation``), grows layers until the out-of-sample score
stops improving and fits the stages after the last kept layer (``_growth``), and predicts by
passing rows through the kept layers (``_prediction``).
"""

from __future__ import annotations

import os
import warnings

import numpy as np
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.exceptions import DataConversionWarning
from sklearn.utils.validation import column_or_1d

from ._base import _BaseCascadeForest
from ._core.forests import Target
from ._core.labels import encode_class_labels
from ._preparation import regression_target
from ._private_imports import StrOptions, validate_params


class CascadeForestClassifier(ClassifierMixin, _BaseCascadeForest):
    """Deep forest (gcForest) cascade classifier.

    Each layer fits pairs of random and completely-random forests; every training sample's
    class vector comes from trees that never trained on it. The next layer sees the original
    features plus those class vectors. Layers are added until a layer's out-of-sample score
    fails to improve significantly on the best so far (a paired test on the same rows); the
    layers up to the best one are kept, and the later ones that are not significantly worse.

    Parameters
    ----------
    n_estimators : int, default=2
        Number of forest pairs per layer; each pair is a random forest and a completely-random
        tree forest. 0 leaves the layers to ``layer_estimators`` alone.
    layer_estimators : list or None, default=None
        Estimators of your own in every layer, beside the forests: scikit-learn estimators,
        ``(name, estimator)`` pairs, or ``"hist_gb"``, ``"xgboost"``, ``"lightgbm"``. Each is
        cloned and fitted once per fold (``n_folds``), so every training row gets the output of
        a model that never saw it; new rows get the fold models' mean. Their parameters are
        ``<name>__<parameter>`` (the lower-cased class name unless given).
    n_trees : int, default=100
        Number of trees in each forest.
    max_layers : int, default=20
        Maximum number of cascade layers grown.
    n_tolerant_rounds : int, default=1
        Growth stops after this many layers in a row without an improvement.
    delta : float, default=0.0
        Score gain a layer must exceed, besides ``min_gain_se``, to count as an improvement.
    min_gain_se : float, default=1.645
        A layer improves on the best layer so far only if its score gain exceeds this many
        standard errors of the gain (one-sided 5 % by default), a paired difference on the same
        training rows' out-of-sample outputs (a paired bootstrap for a custom ``scoring``).
    max_loss_se : float, default=2.0
        Layers grown after the best one are kept unless their score is below the best by more
        than this many standard errors of the difference (deeper layers' out-of-sample scores
        understate them); 0 keeps the layers up to the best one only, ``np.inf`` every one.
    depth_tolerance : float, default="deprecated"
        Deprecated: keeps the layers from the best on whose score is within this of the best
        score, instead of the ``max_loss_se`` rule. Setting it warns.
    max_features : "auto", int, float, {"sqrt", "log2"} or None, default="auto"
        Candidate features per split of the random forests. ``"auto"``: every feature below 9
        features (where the square root would leave one or two candidates and the trees would
        split almost at random), the square root from 9 features on.
    extra_max_features : "auto", int, float, {"sqrt", "log2"} or None, default="auto"
        Candidate features per split of the completely-random forests, each with one random
        threshold (the best of them is taken); 1 is gcForest's completely-random forest.
        ``"auto"``: for classification 1 below 64 features and ``"sqrt"`` from 64 on (images),
        for regression half the features (chosen on the benchmark panel, docs/benchmarks.md).
    max_depth : int or None, default=None
        Maximum depth of every tree.
    min_samples_split : int or float, default=2
        Fewest samples a node needs to be split, as in scikit-learn's forests (a float is a
        share of the training samples).
    min_samples_leaf : "auto", int or float, default="auto"
        Minimum number of samples in a leaf. ``"auto"`` picks it from 1, 2, 4, 8 and 16 by the
        out-of-bag score of a small probe forest on the input features: one sample per leaf suits
        clean data, larger leaves suit noisy data, where fully grown trees would also hand the
        next layer misleading class vectors. The choice is in ``min_samples_leaf_``.
    min_weight_fraction_leaf : float, default=0.0
        Smallest share of a tree's training weight (bootstrap counts times sample and class
        weights) that a leaf may hold, as in scikit-learn's forests.
    max_samples : int, float, "auto" or None, default="auto"
        Bootstrap size of every tree (None: as many as training samples). Smaller is faster.
        ``"auto"`` draws every row's worth for classification, and for regression at most
        8192 rows a tree: on large regression tables the boosting stage makes up what smaller
        trees miss, and the model shrinks with the rows drawn.
    out_of_sample : {"auto", "oob", "kfold"}, default="auto"
        How the training samples' class vectors are made: ``"oob"`` averages the trees whose
        bootstrap left the sample out; ``"kfold"`` shares each forest's trees out among
        ``n_folds`` models that each skip one fold (identical rows in one fold). ``"auto"`` is
        ``"oob"``, or ``"kfold"`` with sample or class weights or when more than 5% of the rows
        can expect fewer than 3 trees to leave them out (``out_of_sample_`` says which).
    n_folds : int, default=3
        Number of folds for ``out_of_sample="kfold"``.
    n_bins : int, default=255
        Quantile bins per feature (at most 255); missing values get a bin of their own.
    bin_subsample : int or None, default=200_000
        Rows used to fit the bin edges (None: all).
    categorical_features : "from_dtype", array-like of bool, int or str, or None, \
            default="from_dtype"
        Which features are categorical. ``"from_dtype"``: the columns of a DataFrame with
        ``category`` dtype, pandas' string dtype, or object dtype holding only strings (arrays
        have none). Otherwise a boolean mask, positions, or column names, as in
        HistGradientBoosting. Each category gets a code and a bin of its own (neighbouring codes
        share bins past ``n_bins`` categories); missing values, and categories unseen in fit,
        go to the missing-value bin. None refuses text columns.
    scoring : str, callable or None, default=None
        How a layer is scored on out-of-sample outputs: None for accuracy, or any
        scikit-learn scorer name or callable ``scorer(estimator, X, y)``.
    predictor : {None, "forest", "xgboost", "lightgbm"} or estimator, default=None
        Optional final predictor trained on the last kept layer's augmented features: a name,
        or any scikit-learn estimator (cloned, never fitted itself).
    predictor_params : dict or None, default=None
        Parameters overriding the final predictor's defaults.
    use_predictor : bool or None, default=None
        Deep-Forest 0.1.7's switch: True fits ``predictor`` (``"forest"`` if it is None), False
        fits none whatever ``predictor`` says; None (the default) fits ``predictor`` if given.
    predictor_kwargs : dict or None, default=None
        Deep-Forest 0.1.7's name for ``predictor_params`` (give one or the other).
    boost_rounds : "auto" or int, default="auto"
        Rounds of the boosting stage: shallow trees on the input features that fit what the
        last kept layer's out-of-sample output missed (squared error, or the log loss of the
        class margins; a leaf value per class). ``"auto"`` chooses the count on 5 folds of the
        training rows (lowest mean held-out loss, times 5/4) and drops the stage when it would
        lower the out-of-sample score; 0: no stage. Not with a final ``predictor``: ``"auto"``
        then skips it and a count is refused. See ``history_["boosting"]``.
    boost_learning_rate : float, default=0.05
        Shrinkage of each boosted tree's leaf values; the search tries up to 20 / rate rounds.
    boost_max_depth : int, default=3
        Depth of the boosted trees (1 to 8).
    spill_dir : str, path or None, default=None
        Directory to write each layer to as soon as it is fitted, for models larger than
        memory; the files must stay as long as the model is used (a pickle refers to them). A
        directory others may write into is refused; files are checked before they are read.
    engine : {"auto", "numba", "sklearn"}, default="auto"
        Which trees the forests grow: ``"numba"``, this package's compiled engine on the binned
        data; ``"sklearn"``, scikit-learn's forests (the reference, slower and larger).
        ``"auto"`` is ``"numba"``, or ``"sklearn"`` for ``criterion="absolute_error"``.
    n_jobs : int or None, default=None
        Parallel jobs for growing trees and predicting (-1: all cores). Results do not depend on
        it.
    random_state : int, RandomState instance or None, default=None
        Controls binning, fold assignment and every forest.
    verbose : int, default=0
        If positive, print one line per layer (index, score, seconds) to stderr, and, when
        stderr is a terminal, a progress bar during each long step (the leaf-size probe, each
        layer's trees, the boosting stage's rounds).
    criterion : {"gini", "entropy", "log_loss"}, default="gini"
        Split quality measure of the trees.
    class_weight : "balanced", "balanced_subsample", dict or None, default=None
        Class weights, passed to every forest.
    confidence_screening : bool, default=False
        Confidence screening (Pang et al., ICDM 2018): after each layer, the rows whose
        out-of-sample class vector is confident enough take that layer's prediction as final,
        and only the others train and pass through the following layers. The threshold is chosen
        per layer from the out-of-sample outputs: a row leaves when the rows around its
        confidence are at least as accurate as the layer is on all its rows. Faster later
        layers, smaller models; see docs/cascade.md for its measured cost in accuracy.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels.
    layers_ : list of Layer
        The kept layers, up to the best one.
    n_layers_ : int
        Number of kept layers.
    min_samples_leaf_ : int or float
        The leaf size used (chosen by the probe when ``min_samples_leaf="auto"``).
    leaf_size_scores_ : dict
        Out-of-bag probe score of each leaf size tried (empty unless ``"auto"``).
    out_of_sample_ : str
        The scheme used for out-of-sample class vectors, ``"oob"`` or ``"kfold"``.
    engine_ : {"numba", "sklearn"}
        The engine that grew the forests.
    best_layer_ : int
        Index of the best layer: the last one that significantly improved on those before it.
    best_score_ : float
        The best layer's out-of-sample score.
    history_ : dict of list
        For every grown layer, kept or not: ``"score"`` and its standard error ``"score_se"``,
        ``"gain"`` over the best layer before it and its standard error ``"gain_se"`` (NaN for
        the first layer), and ``"fit_time"`` (seconds). With the boosting stage,
        ``"boosting"`` is a dict: ``"rounds"`` taken, ``"searched_rounds"`` (the search's best
        on 5 folds), ``"smoothing"``, ``"score_before"`` (the last kept layer's out-of-sample
        score) and ``"score_after"`` (the boosted held-out score of the search; None for a given
        count), the held-out ``"loss_before"`` and ``"loss_after"``, and ``"fit_time"``.
    predictor_ : estimator or None
        The fitted final predictor.
    booster_ : BinnedForest or None
        The boosting stage's trees, a tree per round whose leaves hold a value per class (or
        target); None without a stage.
    booster_smoothing_ : float
        Share of the uniform distribution mixed into the class vectors before their log starts
        the boosting stage (chosen by the out-of-sample log loss; 0 for regression).
    screening_thresholds_ : ndarray of shape (n_layers_,)
        With ``confidence_screening``: the confidence above which rows leave at each kept
        layer (``inf`` for the last one, and where none leaves).
    screened_share_ : ndarray of shape (n_layers_,)
        With ``confidence_screening``: the share of the training rows that left at each layer.
    feature_importances_ : ndarray of shape (n_features_in_,)
        Impurity-based importances of the input features.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit, when X had string column names.
    is_categorical_ : ndarray of shape (n_features_in_,) of bool, or None
        Which features were categorical; None if none were.
    categories_ : list of ndarray
        The categories of each categorical feature, in code order.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from deepforest import CascadeForestClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> model = CascadeForestClassifier(n_trees=20, random_state=0).fit(X, y)
    >>> model.predict(X[:3])
    array([0, 0, 0])
    """

    _parameter_constraints: dict = {
        **_BaseCascadeForest._parameter_constraints,
        "criterion": [StrOptions({"gini", "entropy", "log_loss"})],
        "class_weight": [StrOptions({"balanced", "balanced_subsample"}), dict, None],
        "confidence_screening": ["boolean"],
    }
    _is_classifier = True

    def __init__(
        self,
        *,
        n_estimators: int = 2,
        layer_estimators: list | None = None,
        n_trees: int = 100,
        max_layers: int = 20,
        n_tolerant_rounds: int = 1,
        delta: float = 0.0,
        min_gain_se: float = 1.645,
        max_loss_se: float = 2.0,
        depth_tolerance="deprecated",
        max_features="auto",
        extra_max_features="auto",
        max_depth: int | None = None,
        min_samples_split: int | float = 2,
        min_samples_leaf: int | float | str = "auto",
        min_weight_fraction_leaf: float = 0.0,
        max_samples="auto",
        out_of_sample: str = "auto",
        n_folds: int = 3,
        n_bins: int = 255,
        bin_subsample: int | None = 200_000,
        categorical_features="from_dtype",
        scoring=None,
        predictor=None,
        predictor_params: dict | None = None,
        use_predictor: bool | None = None,
        predictor_kwargs: dict | None = None,
        boost_rounds: int | str = "auto",
        boost_learning_rate: float = 0.05,
        boost_max_depth: int = 3,
        spill_dir: str | os.PathLike | None = None,
        engine: str = "auto",
        n_jobs: int | None = None,
        random_state=None,
        verbose: int = 0,
        criterion: str = "gini",
        class_weight=None,
        confidence_screening: bool = False,
    ):
        self.n_estimators = n_estimators
        self.layer_estimators = layer_estimators
        self.n_trees = n_trees
        self.max_layers = max_layers
        self.n_tolerant_rounds = n_tolerant_rounds
        self.delta = delta
        self.min_gain_se = min_gain_se
        self.max_loss_se = max_loss_se
        self.depth_tolerance = depth_tolerance
        self.max_features = max_features
        self.extra_max_features = extra_max_features
        self.max_depth = max_depth
        self.min_samples_split = min_samples_split
        self.min_samples_leaf = min_samples_leaf
        self.min_weight_fraction_leaf = min_weight_fraction_leaf
        self.max_samples = max_samples
        self.out_of_sample = out_of_sample
        self.n_folds = n_folds
        self.n_bins = n_bins
        self.bin_subsample = bin_subsample
        self.categorical_features = categorical_features
        self.scoring = scoring
        self.predictor = predictor
        self.predictor_params = predictor_params
        self.use_predictor = use_predictor
        self.predictor_kwargs = predictor_kwargs
        self.boost_rounds = boost_rounds
        self.boost_learning_rate = boost_learning_rate
        self.boost_max_depth = boost_max_depth
        self.spill_dir = spill_dir
        self.engine = engine
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose
        self.criterion = criterion
        self.class_weight = class_weight
        self.confidence_screening = confidence_screening

    def fit(self, X, y, sample_weight=None, *, callbacks=None) -> CascadeForestClassifier:
        """Grow the cascade on training data.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data; NaN marks a missing value.
        y : array-like of shape (n_samples,)
            Class labels (strings, integers or booleans).
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights, used by every forest and by the layer scores.
        callbacks : callable or list of callables, default=None
            Each is called with a ``deepforest.LayerReport`` after each layer is grown (its
            out-of-sample output, score and time); one that returns true stops the growth.

        Returns
        -------
        self : CascadeForestClassifier
            The fitted estimator.
        """
        validate_params(self)
        return self._fit(X, y, sample_weight, callbacks)

    def _encode_target(self, y) -> Target:
        self.classes_, y_codes = encode_class_labels(y, "CascadeForestClassifier")
        return Target.classes(y_codes, len(self.classes_))

    def _class_weight(self):
        return self.class_weight

    def _screens_rows(self) -> bool:
        return self.confidence_screening

    def _classes(self):
        return getattr(self, "classes_", None)  # None until the target is encoded

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities of the samples in X, columns in the order of ``classes_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
        """
        return self._final_outputs(X)

    def predict(self, X) -> np.ndarray:
        """Most probable class of the samples in X.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        y : ndarray of shape (n_samples,)
        """
        return self._prediction_from_output(self.predict_proba(X))

    def _prediction_from_output(self, output: np.ndarray) -> np.ndarray:
        return self.classes_[np.argmax(output, axis=1)]


class CascadeForestRegressor(RegressorMixin, _BaseCascadeForest):
    """Deep forest (gcForest) cascade regressor.

    Each layer fits pairs of random and completely-random forests; every training sample's
    prediction comes from trees that never trained on it, and the next layer sees the original
    features plus those predictions. Layers are added until the out-of-sample score stops
    improving. Several target columns (multi-output regression) are supported.

    Parameters
    ----------
    n_estimators : int, default=2
        Number of forest pairs per layer; each pair is a random forest and a completely-random
        tree forest. 0 leaves the layers to ``layer_estimators`` alone.
    layer_estimators : list or None, default=None
        Estimators of your own in every layer, beside the forests: scikit-learn estimators,
        ``(name, estimator)`` pairs, or ``"hist_gb"``, ``"xgboost"``, ``"lightgbm"``. Each is
        cloned and fitted once per fold (``n_folds``), so every training row gets the output of
        a model that never saw it; new rows get the fold models' mean. Their parameters are
        ``<name>__<parameter>`` (the lower-cased class name unless given).
    n_trees : int, default=100
        Number of trees in each forest.
    max_layers : int, default=20
        Maximum number of cascade layers grown.
    n_tolerant_rounds : int, default=1
        Growth stops after this many layers in a row without an improvement.
    delta : float, default=0.0
        Score gain a layer must exceed, besides ``min_gain_se``, to count as an improvement.
    min_gain_se : float, default=1.645
        A layer improves on the best layer so far only if its score gain exceeds this many
        standard errors of the gain (one-sided 5 % by default), a paired difference on the same
        training rows' out-of-sample outputs (a paired bootstrap for a custom ``scoring``).
    max_loss_se : float, default=2.0
        Layers grown after the best one are kept unless their score is below the best by more
        than this many standard errors of the difference (deeper layers' out-of-sample scores
        understate them); 0 keeps the layers up to the best one only, ``np.inf`` every one.
    depth_tolerance : float, default="deprecated"
        Deprecated: keeps the layers from the best on whose score is within this of the best
        score, instead of the ``max_loss_se`` rule. Setting it warns.
    max_features : int, float, {"sqrt", "log2"}, "auto" or None, default=1.0
        Candidate features per split of the random forests: all of them by default, as
        scikit-learn's ``RandomForestRegressor`` (``"auto"`` means the same for regression).
        Measured on seven regression tables (``benchmarks/studies/regression_defaults.py``): R² 0.91
        against 0.84 with ``"sqrt"`` on a 10,000-row loans table with 137 features, and at
        least a 400-tree random forest's R² on six small tables. ``"sqrt"`` fits faster on
        wide tables. The completely-random forests draw ``extra_max_features``.
    extra_max_features : "auto", int, float, {"sqrt", "log2"} or None, default="auto"
        Candidate features per split of the completely-random forests, each with one random
        threshold (the best of them is taken); 1 is gcForest's completely-random forest.
        ``"auto"``: for classification 1 below 64 features and ``"sqrt"`` from 64 on (images),
        for regression half the features (chosen on the benchmark panel, docs/benchmarks.md).
    max_depth : int or None, default=None
        Maximum depth of every tree.
    min_samples_split : int or float, default=2
        Fewest samples a node needs to be split, as in scikit-learn's forests (a float is a
        share of the training samples).
    min_samples_leaf : "auto", int or float, default="auto"
        Minimum number of samples in a leaf. ``"auto"`` picks it from 1, 2, 4, 8 and 16 by the
        out-of-bag score of a small probe forest on the input features: one sample per leaf suits
        clean data, larger leaves suit noisy data, where fully grown trees would also hand the
        next layer misleading class vectors. The choice is in ``min_samples_leaf_``.
    min_weight_fraction_leaf : float, default=0.0
        Smallest share of a tree's training weight (bootstrap counts times sample and class
        weights) that a leaf may hold, as in scikit-learn's forests.
    max_samples : int, float, "auto" or None, default="auto"
        Bootstrap size of every tree (None: as many as training samples). Smaller is faster.
        ``"auto"`` draws every row's worth for classification, and for regression at most
        8192 rows a tree: on large regression tables the boosting stage makes up what smaller
        trees miss, and the model shrinks with the rows drawn.
    out_of_sample : {"auto", "oob", "kfold"}, default="auto"
        How the training samples' class vectors are made: ``"oob"`` averages the trees whose
        bootstrap left the sample out; ``"kfold"`` shares each forest's trees out among
        ``n_folds`` models that each skip one fold (identical rows in one fold). ``"auto"`` is
        ``"oob"``, or ``"kfold"`` with sample or class weights or when more than 5% of the rows
        can expect fewer than 3 trees to leave them out (``out_of_sample_`` says which).
    n_folds : int, default=3
        Number of folds for ``out_of_sample="kfold"``.
    n_bins : int, default=255
        Quantile bins per feature (at most 255); missing values get a bin of their own.
    bin_subsample : int or None, default=200_000
        Rows used to fit the bin edges (None: all).
    categorical_features : "from_dtype", array-like of bool, int or str, or None, \
            default="from_dtype"
        Which features are categorical. ``"from_dtype"``: the columns of a DataFrame with
        ``category`` dtype, pandas' string dtype, or object dtype holding only strings (arrays
        have none). Otherwise a boolean mask, positions, or column names, as in
        HistGradientBoosting. Each category gets a code and a bin of its own (neighbouring codes
        share bins past ``n_bins`` categories); missing values, and categories unseen in fit,
        go to the missing-value bin. None refuses text columns.
    scoring : str, callable or None, default=None
        How a layer is scored on out-of-sample outputs: None for R², or any
        scikit-learn scorer name or callable ``scorer(estimator, X, y)``.
    predictor : {None, "forest", "xgboost", "lightgbm"} or estimator, default=None
        Optional final predictor trained on the last kept layer's augmented features: a name,
        or any scikit-learn estimator (cloned, never fitted itself).
    predictor_params : dict or None, default=None
        Parameters overriding the final predictor's defaults.
    use_predictor : bool or None, default=None
        Deep-Forest 0.1.7's switch: True fits ``predictor`` (``"forest"`` if it is None), False
        fits none whatever ``predictor`` says; None (the default) fits ``predictor`` if given.
    predictor_kwargs : dict or None, default=None
        Deep-Forest 0.1.7's name for ``predictor_params`` (give one or the other).
    boost_rounds : "auto" or int, default="auto"
        Rounds of the boosting stage: shallow trees on the input features that fit what the
        last kept layer's out-of-sample output missed (squared error, or the log loss of the
        class margins; a leaf value per class). ``"auto"`` chooses the count on 5 folds of the
        training rows (lowest mean held-out loss, times 5/4) and drops the stage when it would
        lower the out-of-sample score; 0: no stage. Not with a final ``predictor``: ``"auto"``
        then skips it and a count is refused. See ``history_["boosting"]``.
    boost_learning_rate : float, default=0.05
        Shrinkage of each boosted tree's leaf values; the search tries up to 20 / rate rounds.
    boost_max_depth : int, default=3
        Depth of the boosted trees (1 to 8).
    spill_dir : str, path or None, default=None
        Directory to write each layer to as soon as it is fitted, for models larger than
        memory; the files must stay as long as the model is used (a pickle refers to them). A
        directory others may write into is refused; files are checked before they are read.
    engine : {"auto", "numba", "sklearn"}, default="auto"
        Which trees the forests grow: ``"numba"``, this package's compiled engine on the binned
        data; ``"sklearn"``, scikit-learn's forests (the reference, slower and larger).
        ``"auto"`` is ``"numba"``, or ``"sklearn"`` for ``criterion="absolute_error"``.
    n_jobs : int or None, default=None
        Parallel jobs for growing trees and predicting (-1: all cores). Results do not depend on
        it.
    random_state : int, RandomState instance or None, default=None
        Controls binning, fold assignment and every forest.
    verbose : int, default=0
        If positive, print one line per layer (index, score, seconds) to stderr, and, when
        stderr is a terminal, a progress bar during each long step (the leaf-size probe, each
        layer's trees, the boosting stage's rounds).
    criterion : {"squared_error", "absolute_error", "friedman_mse", "poisson"}, \
default="squared_error"
        Split quality measure of the trees.

    Attributes
    ----------
    layers_ : list of Layer
        The kept layers, up to the best one.
    n_layers_ : int
        Number of kept layers.
    min_samples_leaf_ : int or float
        The leaf size used (chosen by the probe when ``min_samples_leaf="auto"``).
    leaf_size_scores_ : dict
        Out-of-bag probe score of each leaf size tried (empty unless ``"auto"``).
    out_of_sample_ : str
        The scheme used for out-of-sample class vectors, ``"oob"`` or ``"kfold"``.
    engine_ : {"numba", "sklearn"}
        The engine that grew the forests.
    best_layer_ : int
        Index of the best layer: the last one that significantly improved on those before it.
    best_score_ : float
        The best layer's out-of-sample score.
    history_ : dict of list
        For every grown layer, kept or not: ``"score"`` and its standard error ``"score_se"``,
        ``"gain"`` over the best layer before it and its standard error ``"gain_se"`` (NaN for
        the first layer), ``"fit_time"`` (seconds), and ``"mae"``, the layer's out-of-sample
        mean absolute error (the score is R² unless ``scoring`` says otherwise). With the
        boosting stage, ``"boosting"`` is a dict: ``"rounds"`` taken, ``"searched_rounds"`` (the
        search's best on 5 folds), ``"score_before"`` (the last kept layer's out-of-sample
        score) and ``"score_after"`` (the boosted held-out score of the search; None for a given
        count), the held-out ``"loss_before"`` and ``"loss_after"``, and ``"fit_time"``.
    predictor_ : estimator or None
        The fitted final predictor.
    booster_ : BinnedForest or None
        The boosting stage's trees, a tree per round whose leaves hold a value per class (or
        target); None without a stage.
    booster_smoothing_ : float
        Share of the uniform distribution mixed into the class vectors before their log starts
        the boosting stage (chosen by the out-of-sample log loss; 0 for regression).
    feature_importances_ : ndarray of shape (n_features_in_,)
        Impurity-based importances of the input features.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit, when X had string column names.
    is_categorical_ : ndarray of shape (n_features_in_,) of bool, or None
        Which features were categorical; None if none were.
    categories_ : list of ndarray
        The categories of each categorical feature, in code order.

    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> from deepforest import CascadeForestRegressor
    >>> X, y = load_diabetes(return_X_y=True)
    >>> model = CascadeForestRegressor(n_trees=20, random_state=0).fit(X, y)
    >>> model.predict(X[:2]).shape
    (2,)
    """

    _parameter_constraints: dict = {
        **_BaseCascadeForest._parameter_constraints,
        "criterion": [StrOptions({"squared_error", "absolute_error", "friedman_mse", "poisson"})],
    }

    def __init__(
        self,
        *,
        n_estimators: int = 2,
        layer_estimators: list | None = None,
        n_trees: int = 100,
        max_layers: int = 20,
        n_tolerant_rounds: int = 1,
        delta: float = 0.0,
        min_gain_se: float = 1.645,
        max_loss_se: float = 2.0,
        depth_tolerance="deprecated",
        max_features=1.0,
        extra_max_features="auto",
        max_depth: int | None = None,
        min_samples_split: int | float = 2,
        min_samples_leaf: int | float | str = "auto",
        min_weight_fraction_leaf: float = 0.0,
        max_samples="auto",
        out_of_sample: str = "auto",
        n_folds: int = 3,
        n_bins: int = 255,
        bin_subsample: int | None = 200_000,
        categorical_features="from_dtype",
        scoring=None,
        predictor=None,
        predictor_params: dict | None = None,
        use_predictor: bool | None = None,
        predictor_kwargs: dict | None = None,
        boost_rounds: int | str = "auto",
        boost_learning_rate: float = 0.05,
        boost_max_depth: int = 3,
        spill_dir: str | os.PathLike | None = None,
        engine: str = "auto",
        n_jobs: int | None = None,
        random_state=None,
        verbose: int = 0,
        criterion: str = "squared_error",
    ):
        self.n_estimators = n_estimators
        self.layer_estimators = layer_estimators
        self.n_trees = n_trees
        self.max_layers = max_layers
        self.n_tolerant_rounds = n_tolerant_rounds
        self.delta = delta
        self.min_gain_se = min_gain_se
        self.max_loss_se = max_loss_se
        self.depth_tolerance = depth_tolerance
        self.max_features = max_features
        self.extra_max_features = extra_max_features
        self.max_depth = max_depth
        self.min_samples_split = min_samples_split
        self.min_samples_leaf = min_samples_leaf
        self.min_weight_fraction_leaf = min_weight_fraction_leaf
        self.max_samples = max_samples
        self.out_of_sample = out_of_sample
        self.n_folds = n_folds
        self.n_bins = n_bins
        self.bin_subsample = bin_subsample
        self.categorical_features = categorical_features
        self.scoring = scoring
        self.predictor = predictor
        self.predictor_params = predictor_params
        self.use_predictor = use_predictor
        self.predictor_kwargs = predictor_kwargs
        self.boost_rounds = boost_rounds
        self.boost_learning_rate = boost_learning_rate
        self.boost_max_depth = boost_max_depth
        self.spill_dir = spill_dir
        self.engine = engine
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose
        self.criterion = criterion

    def fit(self, X, y, sample_weight=None, *, callbacks=None) -> CascadeForestRegressor:
        """Grow the cascade on training data.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data; NaN marks a missing value.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights, used by every forest and by the layer scores.
        callbacks : callable or list of callables, default=None
            Each is called with a ``deepforest.LayerReport`` after each layer is grown (its
            out-of-sample output, score and time); one that returns true stops the growth.

        Returns
        -------
        self : CascadeForestRegressor
            The fitted estimator.
        """
        validate_params(self)
        return self._fit(X, y, sample_weight, callbacks)

    def _encode_target(self, y) -> Target:
        y = np.asarray(y, dtype=np.float64)
        if y.ndim == 2 and y.shape[1] == 1:
            warnings.warn(
                "A column-vector y was passed when a 1d array was expected; it was raveled.",
                DataConversionWarning,
                stacklevel=3,
            )
            y = column_or_1d(y)
        self._single_output = y.ndim == 1
        return regression_target(y)

    def predict(self, X) -> np.ndarray:
        """Predicted targets of the samples in X.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
        """
        return self._final_outputs(X)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
