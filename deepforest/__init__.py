"""deepforest: deep forest (gcForest) as scikit-learn estimators.

Cascade forests grow layer by layer, each layer's forests passing class vectors to the next,
and stop growing when validation stops improving.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from ._model_format import IncompatibleModelError, install_removed_modules

if TYPE_CHECKING:
    from ._core.id_columns import IdLikeColumnWarning
    from ._explain import Contributions
    from ._growth import LayerReport
    from ._model_file import load_estimator, load_model, save_estimator
    from .cascade import CascadeForestClassifier, CascadeForestRegressor
    from .scanning import GCForestClassifier, MultiGrainScanner

install_removed_modules()

__version__ = "0.2.0.dev1"

# The estimators import scikit-learn (about a second); they load on first use, so that the
# command line answers --help and usage errors without it.
_LAZY = {
    "CascadeForestClassifier": "cascade",
    "CascadeForestRegressor": "cascade",
    "Contributions": "_explain",
    "GCForestClassifier": "scanning",
    "IdLikeColumnWarning": "_core.id_columns",
    "LayerReport": "_growth",
    "MultiGrainScanner": "scanning",
    "load_estimator": "_model_file",
    "load_model": "_model_file",
    "save_estimator": "_model_file",
}

__all__ = [
    "CascadeForestClassifier",
    "CascadeForestRegressor",
    "Contributions",
    "GCForestClassifier",
    "IdLikeColumnWarning",
    "IncompatibleModelError",
    "LayerReport",
    "MultiGrainScanner",
    "__version__",
    "load_estimator",
    "load_model",
    "save_estimator",
]


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
