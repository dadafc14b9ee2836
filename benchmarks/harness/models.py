"""The competing models: how each is built, when it applies, and what it records after fitting.

Every model gets the same number of threads (``threads``) and a seed. Settings are fixed here,
not tuned per dataset, which is the point of the comparison ("far less tuning"). On a
regression dataset each model builds its regressor with the same settings (the boosters and the
MLP early-stop on a random, not stratified, hold-out); gcForest and the CNN have none and are
skipped with that reason.

``cascade``
    ``deepforest.CascadeForestClassifier`` (``CascadeForestRegressor``) with the library's
    defaults as they are at run time; only ``n_jobs``, ``random_state`` and ``verbose``
    (progress in the job's log) are set.
``gcforest``
    ``deepforest.GCForestClassifier`` (multi-grained scanning followed by a cascade), on image
    datasets only: on MNIST with the settings of ``benchmarks/harness/gcforest_settings.py`` (the
    paper's 7×7, 10×10 and 13×13 windows, 2×2 pooling), elsewhere with its defaults; skipped
    while the scanner is not importable.
``xgboost``
    ``xgboost.XGBClassifier`` (``XGBRegressor``): ``tree_method="hist"``, ``max_depth=6``,
    ``learning_rate=0.1``, up to 1000 rounds with early stopping after 20 rounds without
    improvement of the loss (log-loss, squared error) on a stratified 10 % of the training
    data; ``n_jobs=threads``.
``lightgbm``
    ``lightgbm.LGBMClassifier`` (``LGBMRegressor``) with its defaults (31 leaves per tree,
    learning rate 0.1), up to 1000 rounds with the same early stopping as XGBoost;
    ``n_jobs=threads``, ``verbose=-1``.
``catboost``
    ``catboost.CatBoostClassifier`` (``CatBoostRegressor``) with its defaults (depth 6, the
    learning rate it picks for the data), up to 1000 iterations with the same early stopping
    (the best iteration kept); ``thread_count=threads``, ``verbose=0``,
    ``allow_writing_files=False``.
``mlp``
    Median imputation of missing cells (with indicator columns where there are any),
    ``StandardScaler``, then ``sklearn.neural_network.MLPClassifier`` with two hidden layers
    of 256 and 128 ReLU units, Adam (learning rate 1e-3), batches of 256, L2 ``alpha=1e-4``,
    up to 200 epochs with early stopping (10 % validation, patience 10). For regression
    ``MLPRegressor`` with the same settings, its target standardised too
    (``TransformedTargetRegressor``).
``random_forest``
    ``sklearn.ensemble.RandomForestClassifier`` with as many trees as the cascade grew on the
    same dataset and seed (layers grown × forests per layer × trees per forest); other
    parameters at scikit-learn's defaults.
``hist_gb``
    ``sklearn.ensemble.HistGradientBoostingClassifier``: up to 500 iterations,
    ``learning_rate=0.1``, early stopping on 10 % of the training data after 20 iterations
    without improvement.
``cnn`` (optional, needs PyTorch)
    A small convolutional network on image datasets: two 3×3 convolution blocks (32 and 64
    channels, ReLU, 2×2 max pooling; the first block has two convolutions), a 128-unit dense
    layer with dropout 0.3, Adam (1e-3), batches of 128, up to 50 epochs with early stopping on
    10 % of the training data (patience 5, best epoch kept). Inputs are scaled to [0, 1].
``deep_forest_017`` (optional)
    ``CascadeForestClassifier`` (``CascadeForestRegressor``) of the Deep-Forest 0.1.7 package
    with its defaults, in an environment of its own (``peers``); skipped when that is not set
    up. It rejects missing values: on a dataset with any, its child imputes the training
    medians and says so in the row's details.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import inspect
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import LabelEncoder

from .datasets import Dataset
from .gcforest_settings import gcforest_settings

VALIDATION_FRACTION = 0.1


@dataclass(frozen=True)
class ModelSpec:
    """One competitor.

    Attributes
    ----------
    name : str
        Registry name, used on the command line and in results.
    label : str
        Name shown in tables and plots.
    build : callable
        ``build(dataset, seed, threads, params) -> estimator`` (unfitted).
    applies : callable
        ``applies(dataset) -> reason or None``: why the model does not apply to a dataset.
    available : callable
        ``available() -> reason or None``: why the model cannot run on this machine.
    stochastic : bool
        Whether results vary with the seed (deterministic models run once).
    """

    name: str
    label: str
    build: Callable
    applies: Callable[[Dataset], str | None]
    available: Callable[[], str | None]
    stochastic: bool = True
    # A peer in an environment of its own (``peers.PEERS`` key), run by ``peer_child.py``.
    peer: str | None = None


def _always(_dataset: Dataset) -> None:
    return None


def _images_only(dataset: Dataset) -> str | None:
    if dataset.is_regression:
        return NO_REGRESSOR
    return None if dataset.is_image else "applies to image datasets only"


NO_REGRESSOR = "has no regressor (classification only)"


def _importable(module: str, hint: str) -> Callable[[], str | None]:
    def check() -> str | None:
        if importlib.util.find_spec(module) is None:
            return f"{module} is not installed ({hint})"
        return None

    return check


# ---------------------------------------------------------------------------- deep forest
def _build_cascade(dataset: Dataset, seed: int, threads: int, params: dict):
    from deepforest import CascadeForestClassifier, CascadeForestRegressor

    cascade = CascadeForestRegressor if dataset.is_regression else CascadeForestClassifier
    # verbose=1 only prints one line per layer to the job's log (results/SUITE/logs/).
    return cascade(n_jobs=threads, random_state=seed, verbose=1, **params)


def _gcforest_class():
    """``GCForestClassifier`` from ``deepforest`` (or its ``scanning`` module), else None."""
    for module_name in ("deepforest", "deepforest.scanning"):
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        if hasattr(module, "GCForestClassifier"):
            return module.GCForestClassifier
    return None


def _gcforest_available() -> str | None:
    if _gcforest_class() is None:
        return "deepforest.GCForestClassifier (multi-grained scanning) is not importable yet"
    return None


def _build_gcforest(dataset: Dataset, seed: int, threads: int, params: dict):
    GCForestClassifier = _gcforest_class()
    accepted = inspect.signature(GCForestClassifier).parameters
    kwargs = {**gcforest_settings(dataset.name), **params}
    for name in ("image_shape", "input_shape", "shape"):
        if name in accepted and name not in kwargs:
            kwargs[name] = tuple(dataset.image_shape)
            break
    if "n_jobs" in accepted:
        kwargs.setdefault("n_jobs", threads)
    if "random_state" in accepted:
        kwargs.setdefault("random_state", seed)
    if "verbose" in accepted:
        kwargs.setdefault("verbose", 1)
    return GCForestClassifier(**kwargs)


def _deep_forest_017_available() -> str | None:
    from .peers import PEERS, status

    problem = status(PEERS["deep_forest_017"])
    return None if problem is None else f"Deep-Forest 0.1.7: {problem}"


def _build_in_peer(dataset: Dataset, seed: int, threads: int, params: dict):
    raise RuntimeError("peer models are built by peer_child.py in their own environment")


def _build_cascade_hist_gb(dataset: Dataset, seed: int, threads: int, params: dict):
    """The cascade with scikit-learn's HistGradientBoosting beside the forests of every layer."""
    return _build_cascade(dataset, seed, threads, {"layer_estimators": ["hist_gb"], **params})


def _build_cascade_sklearn(dataset: Dataset, seed: int, threads: int, params: dict):
    return _build_cascade(dataset, seed, threads, {"engine": "sklearn", **params})


# ------------------------------------------------------------------------ the baselines
BOOSTING_LIBRARIES = ("xgboost", "lightgbm", "catboost")


def _booster(library: str, task: str, n_classes: int, settings: dict):
    """The library's unfitted estimator for ``task`` with the wrapper's ``settings``."""
    n_estimators, learning_rate = settings["n_estimators"], settings["learning_rate"]
    n_jobs, seed, extra = settings["n_jobs"], settings["random_state"], settings["booster_params"]
    classify = task == "classification"
    if library == "xgboost":
        from xgboost import XGBClassifier, XGBRegressor

        return (XGBClassifier if classify else XGBRegressor)(
            n_estimators=n_estimators,
            learning_rate=learning_rate,
            tree_method="hist",
            early_stopping_rounds=settings["early_stopping_rounds"],
            n_jobs=n_jobs,
            random_state=seed,
            **extra,
        )
    if library == "lightgbm":
        from lightgbm import LGBMClassifier, LGBMRegressor

        return (LGBMClassifier if classify else LGBMRegressor)(
            n_estimators=n_estimators,
            learning_rate=learning_rate,
            n_jobs=n_jobs,
            random_state=seed,
            verbose=-1,
            **extra,
        )
    if library == "catboost":
        from catboost import CatBoostClassifier, CatBoostRegressor

        if classify:
            # Set, not detected, so that a hold-out missing a class cannot change the loss.
            extra = {"loss_function": "MultiClass" if n_classes > 2 else "Logloss", **extra}
        return (CatBoostClassifier if classify else CatBoostRegressor)(
            iterations=n_estimators,
            learning_rate=learning_rate,
            thread_count=n_jobs,
            random_seed=seed,
            verbose=0,
            allow_writing_files=False,
            **extra,
        )
    raise ValueError(f"unknown boosting library {library!r}; known: {BOOSTING_LIBRARIES}")


class _EarlyStoppedBoosting(BaseEstimator):
    """Gradient boosting with early stopping on a hold-out of the training data.

    Parameters
    ----------
    library : {"xgboost", "lightgbm", "catboost"}, default="xgboost"
    n_estimators : int, default=1000
        Upper bound on boosting rounds.
    learning_rate : float or None, default=0.1
        None leaves it to the library (CatBoost picks one for the data).
    early_stopping_rounds : int, default=20
        Rounds without improvement of the hold-out loss before stopping.
    validation_fraction : float, default=0.1
        Share of the training data held out to choose the number of rounds.
    n_jobs : int, default=1
        Threads of the library (``n_jobs``; CatBoost's ``thread_count``).
    random_state : int, default=0
        Seed of the hold-out split and of the library.
    booster_params : dict or None, default=None
        Further parameters of the library's estimator.
    """

    _task = "classification"

    def __init__(
        self,
        library: str = "xgboost",
        n_estimators: int = 1000,
        learning_rate: float | None = 0.1,
        early_stopping_rounds: int = 20,
        validation_fraction: float = VALIDATION_FRACTION,
        n_jobs: int = 1,
        random_state: int = 0,
        booster_params: dict | None = None,
    ):
        self.library = library
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.early_stopping_rounds = early_stopping_rounds
        self.validation_fraction = validation_fraction
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.booster_params = booster_params

    def _fit_booster(self, X, y, n_classes: int = 0) -> None:
        """Fit on ``1 - validation_fraction`` of the data, stopping on the rest."""
        X_fit, X_val, y_fit, y_val = train_test_split(
            X,
            y,
            test_size=self.validation_fraction,
            stratify=y if self._task == "classification" else None,
            random_state=self.random_state,
        )
        settings = {**self.get_params(), "booster_params": self.booster_params or {}}
        self.booster_ = _booster(self.library, self._task, n_classes, settings)
        if self.library == "xgboost":
            self.booster_.fit(X_fit, y_fit, eval_set=[(X_val, y_val)], verbose=False)
            self.n_rounds_ = int(self.booster_.best_iteration) + 1
        elif self.library == "lightgbm":
            from lightgbm import early_stopping

            stop = early_stopping(self.early_stopping_rounds, verbose=False)
            # LightGBM 4.6 takes eval_X and eval_y and deprecates eval_set.
            if "eval_X" in inspect.signature(self.booster_.fit).parameters:
                hold_out = {"eval_X": (X_val,), "eval_y": (y_val,)}
            else:
                hold_out = {"eval_set": [(X_val, y_val)]}
            self.booster_.fit(X_fit, y_fit, callbacks=[stop], **hold_out)
            self.n_rounds_ = int(self.booster_.best_iteration_ or self.booster_.n_estimators_)
        else:
            self.booster_.fit(
                X_fit,
                y_fit,
                eval_set=(X_val, y_val),
                early_stopping_rounds=self.early_stopping_rounds,
                use_best_model=True,
            )
            self.n_rounds_ = int(self.booster_.get_best_iteration()) + 1


class EarlyStoppedBoostingClassifier(ClassifierMixin, _EarlyStoppedBoosting):
    """A boosting library's classifier, early-stopped on a stratified hold-out.

    Parameters are those of :class:`_EarlyStoppedBoosting`.
    """

    _task = "classification"

    def fit(self, X, y) -> EarlyStoppedBoostingClassifier:
        """Fit on class codes; ``classes_`` maps them back to the labels."""
        self._encoder = LabelEncoder().fit(y)
        self.classes_ = self._encoder.classes_
        self._fit_booster(X, self._encoder.transform(y), len(self.classes_))
        return self

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities, columns in the order of ``classes_``."""
        return self.booster_.predict_proba(X)

    def predict(self, X) -> np.ndarray:
        """Most probable class."""
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


class EarlyStoppedBoostingRegressor(RegressorMixin, _EarlyStoppedBoosting):
    """A boosting library's regressor, early-stopped on a random hold-out.

    Parameters are those of :class:`_EarlyStoppedBoosting`.
    """

    _task = "regression"

    def fit(self, X, y) -> EarlyStoppedBoostingRegressor:
        """Fit on ``1 - validation_fraction`` of the data, stopping on the rest."""
        self._fit_booster(X, np.asarray(y, dtype=np.float64))
        return self

    def predict(self, X) -> np.ndarray:
        """Predicted targets, one per row."""
        return np.asarray(self.booster_.predict(X), dtype=np.float64).ravel()


def _boosting_builder(library: str, **defaults):
    """``build`` of a boosting library's model: its classifier or regressor by the task."""

    def build(dataset: Dataset, seed: int, threads: int, params: dict):
        wrapper = (
            EarlyStoppedBoostingRegressor
            if dataset.is_regression
            else EarlyStoppedBoostingClassifier
        )
        return wrapper(library, n_jobs=threads, random_state=seed, **{**defaults, **params})

    return build


MLP_DEFAULTS = {
    "hidden_layer_sizes": (256, 128),
    "activation": "relu",
    "solver": "adam",
    "learning_rate_init": 1e-3,
    "batch_size": 256,
    "alpha": 1e-4,
    "max_iter": 200,
    "early_stopping": True,
    "validation_fraction": VALIDATION_FRACTION,
    "n_iter_no_change": 10,
}


def make_mlp(seed: int, task: str = "classification", **params):
    """The benchmark's MLP: imputed, standardised inputs, then an MLP with early stopping.

    Parameters
    ----------
    seed : int
        ``random_state`` of the network (weights, batches and the validation split).
    task : {"classification", "regression"}, default="classification"
        ``MLPClassifier``, or ``MLPRegressor`` on a standardised target.
    **params
        Overrides of :data:`MLP_DEFAULTS`.

    Returns
    -------
    model : sklearn.pipeline.Pipeline or sklearn.compose.TransformedTargetRegressor
        For classification a pipeline whose last step is the network; for regression the
        pipeline wrapped in ``TransformedTargetRegressor``.
    """
    from sklearn.compose import TransformedTargetRegressor
    from sklearn.impute import SimpleImputer
    from sklearn.neural_network import MLPClassifier, MLPRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    settings = {**MLP_DEFAULTS, **params}
    # The tables have missing cells, which a network cannot take; on complete data the
    # imputer changes nothing and adds no column.
    imputer = SimpleImputer(strategy="median", add_indicator=True)
    if task == "regression":
        network = make_pipeline(
            imputer, StandardScaler(), MLPRegressor(random_state=seed, **settings)
        )
        # Targets in the thousands (prices) would swamp Adam's step size and the L2 term.
        return TransformedTargetRegressor(regressor=network, transformer=StandardScaler())
    return make_pipeline(imputer, StandardScaler(), MLPClassifier(random_state=seed, **settings))


def _build_mlp(dataset: Dataset, seed: int, threads: int, params: dict):
    # The MLP's threads are BLAS threads, capped by the runner (environment and threadpoolctl).
    return make_mlp(seed, dataset.task, **params)


def _build_random_forest(dataset: Dataset, seed: int, threads: int, params: dict):
    from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor

    forest = RandomForestRegressor if dataset.is_regression else RandomForestClassifier
    return forest(n_jobs=threads, random_state=seed, **params)


def _build_hist_gb(dataset: Dataset, seed: int, threads: int, params: dict):
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    settings = {
        "max_iter": 500,
        "learning_rate": 0.1,
        "early_stopping": True,
        "validation_fraction": VALIDATION_FRACTION,
        "n_iter_no_change": 20,
        **params,
    }
    boosting = (
        HistGradientBoostingRegressor if dataset.is_regression else HistGradientBoostingClassifier
    )
    # Its OpenMP threads are capped by the runner.
    return boosting(random_state=seed, **settings)


class SmallCNNClassifier(ClassifierMixin, BaseEstimator):
    """A small PyTorch convolutional network for flattened grey images.

    Parameters
    ----------
    image_shape : tuple of int
        ``(height, width)`` of the images.
    epochs : int, default=50
        Upper bound on training epochs.
    patience : int, default=5
        Epochs without a better validation accuracy before stopping.
    batch_size : int, default=128
    learning_rate : float, default=1e-3
    validation_fraction : float, default=0.1
    n_jobs : int, default=1
        ``torch.set_num_threads``.
    random_state : int, default=0
    """

    def __init__(
        self,
        image_shape=(28, 28),
        epochs: int = 50,
        patience: int = 5,
        batch_size: int = 128,
        learning_rate: float = 1e-3,
        validation_fraction: float = VALIDATION_FRACTION,
        n_jobs: int = 1,
        random_state: int = 0,
    ):
        self.image_shape = image_shape
        self.epochs = epochs
        self.patience = patience
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.validation_fraction = validation_fraction
        self.n_jobs = n_jobs
        self.random_state = random_state

    def _network(self, n_classes: int):
        from torch import nn

        height, width = self.image_shape
        flat = 64 * (height // 4) * (width // 4)
        return nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(32, 32, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(flat, 128),
            nn.ReLU(),
            nn.Dropout(0.3),
            nn.Linear(128, n_classes),
        )

    def _tensor(self, X):
        import torch

        X = np.asarray(X, dtype=np.float32) / self.scale_
        return torch.from_numpy(X.reshape(-1, 1, *self.image_shape))

    def fit(self, X, y) -> SmallCNNClassifier:
        """Train with Adam and early stopping on a stratified hold-out."""
        import copy

        import torch

        torch.set_num_threads(self.n_jobs)
        torch.manual_seed(self.random_state)
        self._encoder = LabelEncoder().fit(y)
        self.classes_ = self._encoder.classes_
        codes = self._encoder.transform(y)
        self.scale_ = float(max(np.max(X), 1e-12))
        X_fit, X_val, y_fit, y_val = train_test_split(
            X,
            codes,
            test_size=self.validation_fraction,
            stratify=codes,
            random_state=self.random_state,
        )
        X_fit, X_val = self._tensor(X_fit), self._tensor(X_val)
        y_fit, y_val = torch.from_numpy(y_fit), torch.from_numpy(y_val)
        self.network_ = self._network(len(self.classes_))
        optimiser = torch.optim.Adam(self.network_.parameters(), lr=self.learning_rate)
        loss_function = torch.nn.CrossEntropyLoss()
        generator = torch.Generator().manual_seed(self.random_state)
        best, best_state, waited = -1.0, None, 0
        self.n_epochs_ = 0
        for _ in range(self.epochs):
            self.network_.train()
            order = torch.randperm(len(y_fit), generator=generator)
            for start in range(0, len(order), self.batch_size):
                rows = order[start : start + self.batch_size]
                optimiser.zero_grad()
                loss = loss_function(self.network_(X_fit[rows]), y_fit[rows])
                loss.backward()
                optimiser.step()
            self.n_epochs_ += 1
            accuracy = float((self._logits(X_val).argmax(1) == y_val).float().mean())
            if accuracy > best:
                best, best_state, waited = accuracy, copy.deepcopy(self.network_.state_dict()), 0
            else:
                waited += 1
                if waited >= self.patience:
                    break
        self.network_.load_state_dict(best_state)
        return self

    def _logits(self, X):
        import torch

        self.network_.eval()
        with torch.no_grad():
            return torch.cat([self.network_(X[s : s + 1024]) for s in range(0, X.shape[0], 1024)])

    def predict_proba(self, X) -> np.ndarray:
        """Softmax outputs, columns in the order of ``classes_``."""
        import torch

        return torch.softmax(self._logits(self._tensor(X)), dim=1).numpy()

    def predict(self, X) -> np.ndarray:
        """Most probable class."""
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


def _build_cnn(dataset: Dataset, seed: int, threads: int, params: dict):
    return SmallCNNClassifier(
        image_shape=tuple(dataset.image_shape), n_jobs=threads, random_state=seed, **params
    )


MODELS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in [
        ModelSpec(
            "cascade",
            "CascadeForest",
            _build_cascade,
            _always,
            _importable("deepforest", "this project"),
        ),
        ModelSpec("gcforest", "gcForest", _build_gcforest, _images_only, _gcforest_available),
        ModelSpec(
            "xgboost",
            "XGBoost",
            _boosting_builder("xgboost"),
            _always,
            _importable("xgboost", "pip install xgboost-cpu"),
        ),
        ModelSpec(
            "lightgbm",
            "LightGBM",
            _boosting_builder("lightgbm"),
            _always,
            _importable("lightgbm", "pip install lightgbm, or the project's bench extra"),
        ),
        ModelSpec(
            "catboost",
            "CatBoost",
            # Its own learning rate, chosen from the data and the number of iterations.
            _boosting_builder("catboost", learning_rate=None),
            _always,
            _importable("catboost", "pip install catboost, or the project's bench extra"),
        ),
        ModelSpec("mlp", "MLP", _build_mlp, _always, lambda: None),
        ModelSpec("random_forest", "RandomForest", _build_random_forest, _always, lambda: None),
        ModelSpec("hist_gb", "HistGradientBoosting", _build_hist_gb, _always, lambda: None),
        ModelSpec(
            "cnn",
            "CNN (PyTorch)",
            _build_cnn,
            _images_only,
            _importable("torch", "optional: pip install torch"),
        ),
        ModelSpec(
            "deep_forest_017",
            "Deep-Forest 0.1.7",
            _build_in_peer,
            _always,
            _deep_forest_017_available,
            peer="deep_forest_017",
        ),
        ModelSpec(
            "cascade_hist_gb",
            "Cascade + HistGB layers",
            _build_cascade_hist_gb,
            _always,
            _importable("deepforest", "this project"),
        ),
        ModelSpec(
            "cascade_sklearn",
            "Cascade (engine=sklearn)",
            _build_cascade_sklearn,
            _always,
            lambda: None,
        ),
    ]
}


def cascade_trees_grown(model) -> int:
    """Trees a fitted cascade grew: layers grown × forests per layer × trees per forest."""
    return int(model.n_estimators * 2 * model.n_trees * len(model.history_["score"]))


def default_cascade_trees() -> int:
    """Trees of the smallest cascade the defaults can grow (1 + n_tolerant_rounds layers).

    Used for the random forest when no cascade ran on the same dataset and seed.
    """
    from deepforest import CascadeForestClassifier

    params = CascadeForestClassifier().get_params()
    return int(params["n_estimators"] * 2 * params["n_trees"] * (1 + params["n_tolerant_rounds"]))


def fitted_details(name: str, model) -> dict:
    """What a fitted model tells about itself (layers, rounds, epochs), for the results."""
    details: dict = {}
    if name in ("cascade", "cascade_hist_gb", "cascade_sklearn", "gcforest"):
        cascade = getattr(model, "cascade_", model)
        for attribute in ("n_layers_",):
            if hasattr(cascade, attribute):
                details[attribute] = int(getattr(cascade, attribute))
        history = getattr(cascade, "history_", None)
        if isinstance(history, dict):
            details["history"] = {
                k: [float(v) for v in vs] for k, vs in history.items() if k != "boosting"
            }
            if "boosting" in history:
                details["boosting"] = dict(history["boosting"])
        if name in ("cascade", "cascade_hist_gb", "cascade_sklearn"):
            details["trees_grown"] = cascade_trees_grown(model)
            details["params"] = {
                k: v
                for k, v in model.get_params().items()
                if isinstance(v, (int, float, str)) or v is None
            }
    elif name in BOOSTING_LIBRARIES:
        details["rounds"] = int(model.n_rounds_)
        if name == "xgboost":
            details["best_iteration"] = int(model.booster_.best_iteration)
    elif name == "mlp":
        mlp = model.regressor_[-1] if hasattr(model, "regressor_") else model[-1]
        details["n_iter"] = int(mlp.n_iter_)
        details["hidden_layer_sizes"] = list(mlp.hidden_layer_sizes)
    elif name == "hist_gb":
        details["n_iter"] = int(model.n_iter_)
    elif name == "random_forest":
        details["n_estimators"] = int(model.n_estimators)
    elif name == "cnn":
        details["n_epochs"] = int(model.n_epochs_)
    return details
