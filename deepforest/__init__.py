"""deepforest: deep forest (gcForest) as scikit-learn estimators.

Cascade forests grow layer by layer, each layer's forests passing class vectors to the next,
and stop growing when validation stops improving.
"""

from ._legacy import IncompatibleModelError, install_removed_modules
from .cascade import CascadeForestClassifier, CascadeForestRegressor
from .scanning import GCForestClassifier, MultiGrainScanner

install_removed_modules()

__version__ = "0.2.0.dev0"

__all__ = [
    "CascadeForestClassifier",
    "CascadeForestRegressor",
    "GCForestClassifier",
    "IncompatibleModelError",
    "MultiGrainScanner",
    "__version__",
]
