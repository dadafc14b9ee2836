"""Models saved by other releases: one clear error instead of a crash or wrong predictions.

A pickled model names the classes it holds by module path, and its fitted state follows the
layout of the release that saved it. Loading a model of another model format must fail with one
line that says to train it again, never load half-way or predict with the wrong trees:

* pickles name modules that no longer exist (``deepforest._binning``, ``deepforest._layer`` of
  release 0.1.0): those names resolve to placeholder modules whose attributes raise
  :class:`IncompatibleModelError`;
* every fitted estimator stores the model format it was saved in (``__getstate__``) and refuses
  another one when it is loaded (``__setstate__``).

Model files of the command line carry their format in their description and are refused before
anything is loaded (``_model_file.read_metadata``).
"""

from __future__ import annotations

import sys
import types

# The layout of fitted estimators; bumped whenever a saved model of the previous layout would
# not load or not predict the same. Release 0.1.0 had no number: its models count as format 1.
MODEL_FORMAT = 2

# Modules of earlier releases that their pickles name and that no longer exist.
REMOVED_MODULES = ("deepforest._binning", "deepforest._layer", "deepforest._out_of_sample")

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
        if name.startswith("__"):
            raise AttributeError(name)
        raise IncompatibleModelError(_message(f"model (it holds {self.__name__}.{name})", None))


def install_removed_modules() -> None:
    """Register the placeholders, so that unpickling an old model reaches them."""
    for name in REMOVED_MODULES:
        sys.modules.setdefault(name, _RemovedModule(name))


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
        super().__setstate__(state)
