"""deepforest: deep forest (gcForest) as scikit-learn estimators.

Cascade forests grow layer by layer, each layer's forests passing class vectors to the next,
and stop growing when validation stops improving.
"""

from .cascade import CascadeForestClassifier, CascadeForestRegressor
from .scanning import GCForestClassifier, MultiGrainScanner

__version__ = "0.1.0"

__all__ = [
    "CascadeForestClassifier",
    "CascadeForestRegressor",
    "GCForestClassifier",
    "MultiGrainScanner",
    "__version__",
]
