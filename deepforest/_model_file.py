"""Model files in Python: ``save_estimator``/``load_estimator`` and ``load_model``.

``save_estimator`` writes a fitted estimator (a cascade, a scanner, gcForest) as a skops
archive; ``load_estimator`` reads one back with the checks that make a file from someone else
safe to load: only the types a deepforest model holds, every array and tree checked first.

The command line saves a fitted pipeline (a skops archive plus a description of the training
data). Loading it with ``skops.io.load`` needs the list of deepforest's types, and skips the
checks that make a file from someone else safe to predict with; ``load_model`` is the
documented way, with the command line's checks and messages.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path


def save_estimator(estimator, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """Save a fitted deepforest estimator to a file, in skops' format.

    A file written this way cannot run code when loaded (unlike a pickle, which pickle and
    joblib also write). The file is complete or absent: it is written under another name and
    moved into place.

    Parameters
    ----------
    estimator : CascadeForestClassifier, CascadeForestRegressor, GCForestClassifier or \
MultiGrainScanner
        A fitted estimator, or a scikit-learn pipeline of them.
    path : str or path-like
        The file to write (by convention ``.skops``).
    overwrite : bool, default=False
        Replace an existing file; without it, an existing file is an error and is kept.

    Returns
    -------
    path : pathlib.Path
        The file written.

    Raises
    ------
    FileExistsError
        If ``path`` exists and ``overwrite`` is false.
    ValueError
        If the model keeps its forests in files (``spill_dir``), which the file would not hold.
    """
    from ._persistence import save_estimator as write_estimator

    refuse_spilled(estimator)
    return write_estimator(estimator, path, overwrite=overwrite)


def refuse_spilled(estimator) -> None:
    """Refuse a model whose forests are in ``spill_dir``'s files, which a file would not hold."""
    from ._core.spill import SpilledLayer
    from ._scanning.spill import SpilledGrain

    parts = [estimator, getattr(estimator, "cascade_", None), getattr(estimator, "scanner_", None)]
    parts += list(getattr(estimator, "named_steps", {}).values())
    for part in parts:
        held = [*getattr(part, "layers_", ()), *getattr(part, "grains_", ())]
        if any(isinstance(item, (SpilledLayer, SpilledGrain)) for item in held):
            raise ValueError(
                "a model fitted with spill_dir keeps its forests in files, which a model file "
                "does not hold: pickle it (the pickle refers to the files), or fit it without "
                "spill_dir to save it"
            )


def load_estimator(path: str | os.PathLike, *, trusted: list[str] | None = None):
    """Load an estimator saved by :func:`save_estimator`, checked before anything is built.

    Only the types a deepforest model holds are loaded: a file that holds others is refused
    with their names, and nothing in it is unpickled or run.

    Parameters
    ----------
    path : str or path-like
        The file ``save_estimator`` wrote.
    trusted : list of str, default=None
        More types to trust: the classes of your own layer estimators or final predictor, as
        ``"module.Class"``.

    Returns
    -------
    estimator
        The fitted estimator, as it was saved.

    Raises
    ------
    ValueError
        If the file holds untrusted types (listed), is damaged or was not written by
        deepforest, or was saved in another model format (train it again).
    OSError
        If the file cannot be read (missing, no permission).
    """
    from ._persistence import load_estimator as read_estimator

    return read_estimator(path, trusted=trusted)


def load_model(path: str | os.PathLike):
    """Load a model file written by ``deepforest train``, checked as the command line checks it.

    Parameters
    ----------
    path : str or path-like
        The model file (``.skops``).

    Returns
    -------
    sklearn.pipeline.Pipeline
        The fitted pipeline: its ``predict`` (and, for classification, ``predict_proba``) take a
        DataFrame with the training columns, as ``pandas.read_csv`` reads the file; the
        cascade is ``pipeline.named_steps["model"]``.

    Raises
    ------
    ValueError
        If the file is missing, is not a model file, is damaged, holds types a deepforest
        model never holds, or its parts do not fit together (the message says which).

    Warns
    -----
    UserWarning
        If the installed deepforest or scikit-learn differs from the versions that saved it.
    """
    from .cli.errors import UserError
    from .cli.model_file import load_model as load_checked

    try:
        pipeline, _, notes = load_checked(path)
    except UserError as error:
        raise ValueError(str(error)) from None
    for note in notes:
        warnings.warn(note, UserWarning, stacklevel=2)
    return pipeline
