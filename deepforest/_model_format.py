"""Models saved by other releases: one clear error instead of a crash or wrong predictions.

A pickled model names the classes it holds by module path, and its fitted state follows the
layout of the release that saved it. Loading a model of another model format must fail with one
line that says to train it again, never load half-way or predict with the wrong trees:

* pickles name modules that no longer exist (``deepforest._binning``, ``deepforest._layer`` of
  release 0.1.0): those names resolve to placeholder modules whose attributes raise
  :class:`IncompatibleModelError`;
* pickles and model files of this model format saved before the modules moved into the
  ``_core``, ``_scanning`` and ``cli`` subpackages name the old paths (``deepforest._grain``,
  ``deepforest._predictor``...): those names resolve, on first use, to the classes' new homes
  (:data:`MOVED_MODULES`); a class that left a module that still exists stays there as an alias
  (:data:`MOVED_CLASSES`);
* every fitted estimator stores the model format it was saved in (``__getstate__``) and refuses
  another one when it is loaded (``__setstate__``).

Model files of the command line carry their format in their description and are refused before
anything is loaded (``deepforest.cli.model_file.read_metadata``).
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import numbers
import os
import sys
import types
from typing import ClassVar

# The layout of fitted estimators; bumped whenever a saved model of the previous layout would
# not load or not predict the same. Release 0.1.0 had no number: its models count as format 1.
MODEL_FORMAT = 2

# Modules of earlier releases that their pickles name and that no longer exist.
REMOVED_MODULES = ("deepforest._binning", "deepforest._layer", "deepforest._out_of_sample")

# Modules of this model format that moved; a saved model may name any class of theirs by the old
# path. The value lists the new module(s) where the old module's names now live.
MOVED_MODULES = {
    "deepforest._labels": ("deepforest._core.labels",),
    "deepforest._leaf_size": ("deepforest._core.leaf_size",),
    "deepforest._predictor": ("deepforest._core.predictor",),
    "deepforest._progress": ("deepforest._core.progress",),
    "deepforest._scoring": ("deepforest._core.scoring",),
    "deepforest._spill": ("deepforest._core.spill", "deepforest._scanning.spill"),
    "deepforest._grain": ("deepforest._scanning.grain",),
    "deepforest._windows": ("deepforest._scanning.windows",),
    # Renamed for what they hold: scikit-learn's and joblib's private names, the model format,
    # Deep-Forest 0.1.7's methods.
    "deepforest._compat": ("deepforest._private_imports",),
    "deepforest._legacy": ("deepforest._model_format",),
    "deepforest._migration": ("deepforest._deepforest017",),
}

# Classes that moved out of a module that still exists: a saved model may name them by the old
# path, where the old module keeps the name as an alias of the class (pickle and skops look a
# class up in the module they saved it under). The value is the class's path now.
MOVED_CLASSES = {
    "deepforest._core.forests.SklearnForest": "deepforest._core.sklearn_engine.SklearnForest",
}

_FITTED_MARKERS = ("layers_", "grains_", "pipeline_")


class IncompatibleModelError(ValueError):
    """A saved model of another model format than this release's: train it again."""


def _message(what: str, format_seen: object) -> str:
    from . import __version__

    saved = "an earlier release" if format_seen is None else f"model format {format_seen}"
    return (
        f"this {what} was saved in the model format of {saved} of deepforest, which deepforest "
        f"{__version__} (model format {MODEL_FORMAT}) cannot load: train it again with this "
        "version"
    )


class _RemovedModule(types.ModuleType):
    """Stands for a module of an earlier release; any class a pickle asks of it is refused."""

    def __getattr__(self, name: str):
        # Pickles name classes; pickle's own search for a function's module (whichmodule)
        # asks every module for lowercase names and must get an AttributeError.
        if name.startswith("_") or not name[:1].isupper():
            raise AttributeError(name)
        raise IncompatibleModelError(_message(f"model (it holds {self.__name__}.{name})", None))


class _MovedModule(types.ModuleType):
    """Stands for a module that moved; its names are looked up in the new module(s) on use.

    The new modules are imported only when a name is asked for, so registering the aliases
    costs nothing at import time.
    """

    def __init__(self, name: str, targets: tuple[str, ...]):
        super().__init__(name)
        self._targets = targets

    def __getattr__(self, name: str):
        if name.startswith("__") or name == "_targets":
            raise AttributeError(name)
        for target in self._targets:
            module = importlib.import_module(target)
            if hasattr(module, name):
                return getattr(module, name)
        raise AttributeError(f"module {self.__name__!r} has no attribute {name!r}")


class _LegacyModuleFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Makes the placeholder or alias of an old module path when something imports it.

    Unpickling imports the module a class is saved under; only then does the stand-in exist,
    so the modules of a process that never loads an old model stay as they are.
    """

    def find_spec(self, fullname, path=None, target=None):
        if fullname in REMOVED_MODULES or fullname in MOVED_MODULES:
            return importlib.util.spec_from_loader(fullname, self)
        return None

    def create_module(self, spec):
        if spec.name in REMOVED_MODULES:
            return _RemovedModule(spec.name)
        return _MovedModule(spec.name, MOVED_MODULES[spec.name])

    def exec_module(self, module):
        pass


def install_removed_modules() -> None:
    """Register the finder of old module paths, so that unpickling a saved model reaches them."""
    if not any(isinstance(finder, _LegacyModuleFinder) for finder in sys.meta_path):
        sys.meta_path.append(_LegacyModuleFinder())


def _clamped_to_this_machine(state: dict) -> dict:
    """The state with ``n_jobs`` at most this machine's cores: a file that asks for 100,000
    threads (written elsewhere, or crafted) would otherwise start them all at predict time."""
    n_jobs = state.get("n_jobs")
    cores = os.cpu_count() or 1
    if n_jobs is None:
        return state
    if not isinstance(n_jobs, numbers.Integral) or isinstance(n_jobs, bool):
        from ._loaded_cascade import MalformedModelError

        raise MalformedModelError(
            f"its n_jobs is {n_jobs!r}, not a whole number: the model file is damaged or was "
            "not written by deepforest"
        )
    if n_jobs == 0:
        # joblib refuses 0; None (one job, or the active backend's) is what fit would take.
        return {**state, "n_jobs": None}
    if n_jobs > cores:
        return {**state, "n_jobs": cores}
    if n_jobs < -cores:
        return {**state, "n_jobs": -1}
    return state


class ModelFormatMixin:
    """Saves the model format with a fitted estimator and refuses another one on load.

    ``_PARAMETERS_OF_EARLIER_MODELS`` names the parameters an estimator gained within the
    current format, with the value that describes a model saved before them: a loaded model
    that lacks one gets it, so that ``get_params`` and ``clone`` work and a refit grows the
    same kind of model.
    """

    _PARAMETERS_OF_EARLIER_MODELS: ClassVar[dict] = {}

    def __getstate__(self):
        state = super().__getstate__()
        if any(marker in state for marker in _FITTED_MARKERS):
            state["_model_format"] = MODEL_FORMAT
        return state

    def __setstate__(self, state):
        fitted = any(marker in state for marker in _FITTED_MARKERS)
        if fitted and state.get("_model_format") != MODEL_FORMAT:
            raise IncompatibleModelError(
                _message(f"fitted {type(self).__name__}", state.get("_model_format"))
            )
        super().__setstate__(_clamped_to_this_machine(state))
        for name, value in self._PARAMETERS_OF_EARLIER_MODELS.items():
            self.__dict__.setdefault(name, value)
