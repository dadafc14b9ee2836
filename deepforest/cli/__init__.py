"""The ``deepforest`` command line: train, predict, evaluate and inspect models on CSV files.

``main`` parses the arguments and runs one command; the commands themselves, the CSV reading,
the model file and the metrics live in the modules beside it and are imported only by the
command that needs them, so ``deepforest --help`` answers without loading scikit-learn.
"""

from .main import main

__all__ = ["main"]
