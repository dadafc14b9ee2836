"""The optional final predictor, trained on the last layer's augmented features.

By default the cascade predicts by averaging its last layer's forests. A final predictor, as in
Deep-Forest, is a stronger learner fitted on the binned inputs plus that layer's out-of-sample
outputs: ``"xgboost"`` (gradient boosting) or ``"forest"`` (a random forest).
"""

from __future__ import annotations

import os

from joblib import effective_n_jobs
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor

# XGBoost settings chosen on LETTER and ADULT; a learning rate of 0.1 over 300 rounds matched
# 500 rounds at XGBoost's default rate, at a fraction of the time.
XGBOOST_DEFAULTS = {
    "n_estimators": 300,
    "learning_rate": 0.1,
    "max_depth": 6,
    "tree_method": "hist",
}


def make_predictor(
    name: str,
    is_classifier: bool,
    n_trees: int,
    n_jobs: int | None,
    seed: int,
    params: dict | None,
    min_samples_leaf: int | float = 1,
):
    """Build the unfitted final predictor called ``name``.

    The forest predictor uses the cascade's leaf size, which suits the data's noise level.
    """
    params = dict(params or {})
    if name == "forest":
        forest_cls = RandomForestClassifier if is_classifier else RandomForestRegressor
        settings = {
            "n_estimators": n_trees,
            "min_samples_leaf": min_samples_leaf,
            "n_jobs": n_jobs,
            "random_state": seed,
        }
        return forest_cls(**{**settings, **params})
    try:
        import xgboost
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "predictor='xgboost' needs the xgboost package: "
            "pip install 'deep-forest-learn[xgboost]'"
        ) from exc
    # More XGBoost threads than free cores slows it down badly: never ask for more than exist.
    threads = min(effective_n_jobs(n_jobs), os.cpu_count() or 1)
    settings = {**XGBOOST_DEFAULTS, "n_jobs": threads, "random_state": seed}
    booster_cls = xgboost.XGBClassifier if is_classifier else xgboost.XGBRegressor
    return booster_cls(**{**settings, **params})
