"""Models saved by other releases: one clear error instead of a crash or wrong predictions.

A pickled model names the classes it holds by module path, and its fitted state follows the
layout of the release that saved it. Loading a model of another model format must fail with one
line that says to train it again, never load half-way or predict with the wrong trees:

* pickles name modules that no longer exist (``deepforest._binning`` of release 0.1.0,
  ``deepforest._grain`` of the 0.2.0 development builds...): those names resolve to placeholder
  modules whose classes raise :class:`IncompatibleModelError` (:data:`REMOVED_MODULES`);
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

# The layout of fitted estimators; bumped whenever a saved model of the previous layout would
# not load or not predict the same. Release 0.1.0 had no number: its models count as format 1.
# Format 2 was the development builds of 0.2.0 (0.2.0.dev0), whose parameters grew while the
# number stood; format 3 holds every parameter and fitted attribute of this release.
MODEL_FORMAT = 3

# Modules that pickles of earlier model formats name and that no longer exist: release 0.1.0's,
# and those the 0.2.0 development builds (format 2) had before the modules moved into the
# ``_core``, ``_scanning`` and ``cli`` subpackages or were renamed for what they hold.
REMOVED_MODULES = (
    "deepforest._binning",
    "deepforest._layer",
    "deepforest._out_of_sample",
    "deepforest._labels",
    "deepforest._leaf_size",
    "deepforest._predictor",
    "deepforest._progress",
    "deepforest._scoring",
    "deepforest._spill",
    "deepforest._grain",
    "deepforest._windows",
    "deepforest._compat",
    "deepforest._legacy",
    "deepforest._migration",
)

_FITTED_MARKERS = ("layers_", "grains_", "pipeline_")


class IncompatibleModelError(ValueError):
    """A saved model of another model format than this release's: train it again."""


def _message(what: str, format_seen: object) -> str:
    from . import __version__

    saved = (
        "by an earlier release of deepforest"
        if format_seen is None
        else f"in model format {format_seen} of deepforest"
    )
    return (
        f"this {what} was saved {saved}, which deepforest "
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


class _LegacyModuleFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Makes the placeholder of an old module path when something imports it.

    Unpickling imports the module a class is saved under; only then does the stand-in exist,
    so the modules of a process that never loads an old model stay as they are.
    """

    def find_spec(self, fullname, path=None, target=None):
        if fullname in REMOVED_MODULES:
            return importlib.util.spec_from_loader(fullname, self)
        return None

    def create_module(self, spec):
        return _RemovedModule(spec.name)

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
    """Saves the model format with a fitted estimator and refuses another one on load."""

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
