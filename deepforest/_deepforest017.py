"""Deep-Forest 0.1.7's methods on the cascades, so that code written for it runs unchanged.

This package's import name is Deep-Forest's, so their users' code arrives here as it is. Its
constructor parameters ``use_predictor``, ``predictor_kwargs`` and ``min_samples_split`` are
parameters of the cascades; its methods are here, each mapped onto this package's parameters
and fitted attributes (docs/migration.md has the whole table):

* ``set_estimator(estimators, n_splits)``: the estimators replace the forests of every layer
  (``layer_estimators``, ``n_estimators=0``, ``n_folds=n_splits``), as in 0.1.7;
* ``set_predictor(predictor)``: ``predictor=predictor, use_predictor=True``;
* ``get_estimator(layer_idx, est_idx, estimator_type)``: a layer's fitted forest (``"rf"``,
  ``"erf"``) or layer estimator (``"custom"``);
* ``get_layer_feature_importances(layer_idx)``;
* ``save(dirname)`` / ``load(dirname)``: a directory with the model in skops' format, which
  cannot run code when loaded (0.1.7 pickled; nothing is ever unpickled from a directory here).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from sklearn.utils.validation import check_is_fitted

# The file that save() writes in its directory.
MODEL_FILE_NAME = "model.skops"
_ESTIMATOR_TYPES = ("rf", "erf", "custom")


class DeepForestMethods:
    """Deep-Forest 0.1.7's public methods, for a cascade estimator."""

    def set_estimator(self, estimators, n_splits: int = 5):
        """Use ``estimators`` in every layer instead of the forests (Deep-Forest 0.1.7).

        Parameters
        ----------
        estimators : list
            Estimators (or ``(name, estimator)`` pairs); each is cloned and fitted once per
            fold in every layer. To keep the forests beside them, set ``layer_estimators``
            instead.
        n_splits : int, default=5
            Folds over which each estimator is fitted (at least 2).

        Returns
        -------
        self
        """
        if not isinstance(estimators, (list, tuple)) or not estimators:
            raise ValueError(
                "estimators should be a non-empty list of estimator objects (or "
                "(name, estimator) pairs)"
            )
        if not isinstance(n_splits, (int, np.integer)) or n_splits < 2:
            raise ValueError(f"n_splits should be an integer of at least 2, got {n_splits!r}")
        return self.set_params(
            layer_estimators=list(estimators), n_estimators=0, n_folds=int(n_splits)
        )

    def set_predictor(self, predictor):
        """Fit ``predictor`` on the last layer's augmented features (Deep-Forest 0.1.7).

        Parameters
        ----------
        predictor : estimator
            Any scikit-learn estimator (cloned when the cascade is fitted), or a name of the
            ``predictor`` parameter.

        Returns
        -------
        self
        """
        if not isinstance(predictor, str) and not hasattr(predictor, "fit"):
            raise ValueError(f"the predictor has no fit method: {predictor!r}")
        return self.set_params(predictor=predictor, use_predictor=True)

    def _layer(self, layer_idx: int):
        check_is_fitted(self, "layers_")
        if not isinstance(layer_idx, (int, np.integer)) or not 0 <= layer_idx < self.n_layers_:
            raise ValueError(
                f"layer_idx should be in the range [0, {self.n_layers_}), got {layer_idx!r}"
            )
        return self.layers_[layer_idx]

    def get_estimator(self, layer_idx: int, est_idx: int, estimator_type: str):
        """A fitted estimator of a layer (Deep-Forest 0.1.7).

        Parameters
        ----------
        layer_idx : int
            The layer, in ``[0, n_layers_)``.
        est_idx : int
            Which forest pair (``"rf"``, ``"erf"``) or layer estimator (``"custom"``).
        estimator_type : {"rf", "erf", "custom"}
            The random forest of the pair, its completely-random ("extremely random") forest,
            or a layer estimator.

        Returns
        -------
        estimator
            A forest of this package's engine (``BinnedForest``: arrays, predicting with
            ``output(X)`` on the layer's binned input), or scikit-learn's forest with
            ``engine="sklearn"``; for ``"custom"``, the layer estimator's ``FoldModels``, whose
            ``models`` are the fitted clones, one per fold.
        """
        layer = self._layer(layer_idx)
        if estimator_type not in _ESTIMATOR_TYPES:
            raise ValueError(
                f"estimator_type should be one of {_ESTIMATOR_TYPES}, got {estimator_type!r}"
            )
        if estimator_type == "custom":
            candidates = list(layer.estimators)
            if not candidates:
                raise ValueError(
                    "estimator_type='custom' needs layer estimators (set_estimator or "
                    "layer_estimators); this cascade's layers hold forests only"
                )
        else:
            kind = 0 if estimator_type == "rf" else 1
            candidates = list(layer.forests)[kind::2]
            if not candidates:
                raise ValueError(
                    f"estimator_type={estimator_type!r}: the layers hold no forests "
                    "(n_estimators=0); use estimator_type='custom'"
                )
        if not isinstance(est_idx, (int, np.integer)) or not 0 <= est_idx < len(candidates):
            raise ValueError(
                f"est_idx should be in the range [0, {len(candidates)}), got {est_idx!r}"
            )
        estimator = candidates[est_idx]
        models = getattr(estimator, "models", None)
        if estimator_type != "custom" and models is not None and len(models) == 1:
            return models[0]  # scikit-learn's forest, grown out of bag
        return estimator

    def get_layer_feature_importances(self, layer_idx: int) -> np.ndarray:
        """Impurity-based importances of a layer's input features (Deep-Forest 0.1.7).

        The layer's forests' importances, averaged; they sum to 1. A layer after the first has
        more inputs than the data has features: the previous layer's binned outputs follow.

        Parameters
        ----------
        layer_idx : int
            The layer, in ``[0, n_layers_)``.

        Returns
        -------
        ndarray of shape (n_layer_features,)
        """
        layer = self._layer(layer_idx)
        forests = list(layer.forests)
        if not forests:
            raise ValueError(
                "this layer holds no forests (n_estimators=0), whose impurity decrease the "
                "importances measure; use the layer estimators' own importances"
            )
        importances = np.mean([forest.feature_importances_ for forest in forests], axis=0)
        total = importances.sum()
        return importances / total if total > 0 else importances

    def save(self, dirname: str | os.PathLike = "model", *, overwrite: bool = False) -> None:
        """Save the fitted model into the directory ``dirname`` (Deep-Forest 0.1.7).

        The directory holds one file, ``model.skops``, in skops' format: it cannot run code
        when loaded, unlike the pickles 0.1.7 wrote. Pickle and joblib work too.

        Parameters
        ----------
        dirname : str or path, default="model"
            Created if missing.
        overwrite : bool, default=False
            Replace a model saved there before; without it, that is an error.
        """
        from ._model_file import refuse_spilled
        from ._persistence import save_estimator

        check_is_fitted(self, "layers_")
        refuse_spilled(self)
        directory = Path(dirname)
        directory.mkdir(parents=True, exist_ok=True)
        save_estimator(self, directory / MODEL_FILE_NAME, overwrite=overwrite)

    def load(self, dirname: str | os.PathLike, *, trusted: list[str] | None = None):
        """Load a model saved with :meth:`save` into this estimator (Deep-Forest 0.1.7).

        Only types that a deepforest model holds are loaded; a file that holds others is
        refused with their names. Nothing is unpickled.

        Parameters
        ----------
        dirname : str or path
            The directory given to ``save``.
        trusted : list of str, default=None
            More types to trust: the classes of your own layer estimators or predictor, as
            ``"module.Class"``.

        Returns
        -------
        self
            With the saved model's parameters and fitted state.
        """
        from ._model_file import load_estimator

        path = Path(dirname) / MODEL_FILE_NAME
        if not path.is_file():
            raise FileNotFoundError(
                f"{path} does not exist: give the directory that save() wrote (Deep-Forest "
                "0.1.7's saved directories hold pickles, which this package does not load: "
                "train the model again)"
            )
        loaded = load_estimator(path, trusted=trusted)
        if type(loaded) is not type(self):
            raise TypeError(f"{path} holds a {type(loaded).__name__}, not a {type(self).__name__}")
        self.__dict__.clear()
        self.__dict__.update(loaded.__dict__)
        return self
