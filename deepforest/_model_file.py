"""``deepforest.load_model``: a model file written by ``deepforest train``, in Python.

The command line saves a fitted pipeline (a skops archive plus a description of the training
data). Loading it with ``skops.io.load`` needs the list of deepforest's types, and skips the
checks that make a file from someone else safe to predict with; this is the documented way,
with the command line's checks and messages.
"""

from __future__ import annotations

import os
import warnings


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
