"""Fitted estimators saved in skops' format, which cannot run code when it is loaded.

skops rebuilds each object from its saved attributes and refuses any type that neither it nor
the caller trusts, so a model file from someone else cannot call functions or build arbitrary
objects. This module lists the types a deepforest model legitimately holds; the command line's
model file (:mod:`deepforest.cli.model_file`) and the estimators' ``save``/``load`` (Deep-Forest
0.1.7's API) both load with it.
"""

from __future__ import annotations

import os
from pathlib import Path

# Types that skops does not trust by default and that a deepforest model legitimately holds.
# Nothing here can run code when reconstructed: skops rebuilds these objects from their saved
# attributes. A new class inside the estimators must be added here (a test in
# tests/test_cli_internals.py saves and loads every estimator variant and fails until it is).
TRUSTED_TYPES = (
    "deepforest._core.binning.QuantileBinner",
    "deepforest._core.forests.SklearnForest",
    "deepforest._core.layer.Layer",
    "deepforest._core.layer_estimators.FoldModels",
    "deepforest._core.trees.BinnedForest",
    "deepforest._core.predictor.ForestPredictor",
    "deepforest.cascade.CascadeForestClassifier",
    "deepforest.cascade.CascadeForestRegressor",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.tree._tree.Tree",
)

# The gradient boosting libraries' types that the built-in layer estimators and final
# predictors ("xgboost", "lightgbm") hold: their boosters are rebuilt from the libraries' own
# model formats (bytes or text), never by running code from the file.
BOOSTING_TYPES = (
    "collections.OrderedDict",
    "lightgbm.basic.Booster",
    "lightgbm.sklearn.LGBMClassifier",
    "lightgbm.sklearn.LGBMRegressor",
    "xgboost.core.Booster",
    "xgboost.sklearn.XGBClassifier",
    "xgboost.sklearn.XGBRegressor",
)


def trusted_types() -> list[str]:
    """The types to trust: :data:`TRUSTED_TYPES` (also under the paths earlier files name them
    by, which :mod:`deepforest._legacy` resolves to the same classes) and
    :data:`BOOSTING_TYPES`."""
    from ._legacy import MOVED_MODULES

    earlier = [
        f"{old}.{name}"
        for old, targets in MOVED_MODULES.items()
        for module, _, name in (trusted.rpartition(".") for trusted in TRUSTED_TYPES)
        if module in targets
    ]
    return [*TRUSTED_TYPES, *earlier, *BOOSTING_TYPES]


class UntrustedModelError(ValueError):
    """A saved model holds types that a deepforest model never holds."""


def save_estimator(estimator, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """Write ``estimator`` to ``path`` with skops, atomically (a complete file or none)."""
    import skops.io

    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} already exists; pass overwrite=True to replace it")
    partial = path.with_name(path.name + ".partial")
    try:
        skops.io.dump(estimator, partial)
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return path


def load_estimator(path: str | os.PathLike, *, trusted: list[str] | None = None):
    """Load an estimator saved by :func:`save_estimator`, trusting only known types.

    ``trusted`` adds types the caller trusts (the classes of their own layer estimators);
    anything else untrusted is refused with the list of what was found.
    """
    import skops.io
    from skops.io.exceptions import UntrustedTypesFoundException

    path = Path(path)
    allowed = [*trusted_types(), *(trusted or [])]
    try:
        # skops audits every type before it builds anything; the file is parsed once.
        return skops.io.load(path, trusted=allowed)
    except UntrustedTypesFoundException:
        untrusted = sorted(set(skops.io.get_untrusted_types(file=path)) - set(allowed))
        raise UntrustedModelError(
            f"refusing to load {path}: it holds types that deepforest does not trust "
            f"({', '.join(untrusted)}); if you wrote the file, pass them as "
            "load(dirname, trusted=[...])"
        ) from None
