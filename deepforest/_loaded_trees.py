"""Checks of the boosted trees a model file rebuilt, before anything traverses them.

A cascade with ``layer_estimators=["hist_gb"]`` saves scikit-learn's HistGradientBoosting
models, whose trees (``TreePredictor``) are node records that compiled code follows without
checking indices: a crafted file could send it outside its arrays or round in circles, which
is why skops does not trust the type by default. deepforest trusts it in its own files, and
checks every such tree as it loads one. Our own forests check theirs on first use
(:meth:`deepforest._core.trees.BinnedForest._check_nodes`).
"""

from __future__ import annotations

import json
import sys

import numpy as np

from . import _ubjson
from ._loaded_cascade import MalformedModelError

# Only objects of these packages are walked in search of trees: the estimators a deepforest
# model is made of, never arbitrary user objects.
_WALKED_PACKAGES = ("deepforest", "sklearn")


def check_xgboost_boosters(model) -> None:
    """Predict one row with every XGBoost estimator a model file rebuilt, or refuse the file.

    Their trees were checked in the file's bytes before XGBoost parsed them
    (:func:`check_xgboost_model_bytes`); what is left is the parameters (see
    :func:`_predicts_one_row`).
    """
    module = sys.modules.get("xgboost.core")
    wrappers = sys.modules.get("xgboost.sklearn")
    if module is None or wrappers is None:
        return  # building the model did not import XGBoost, so it holds none
    for estimator in _objects_of(model, wrappers.XGBModel):
        _predicts_one_row(estimator, "XGBoost", module.XGBoostError)


# A model reads at most this many columns (a trial row is built that wide).
MAX_TRIAL_COLUMNS = 10**6


def _predicts_one_row(estimator, library: str, library_error: type) -> None:
    """Predict one row of zeros with a booster library's estimator, or refuse the model.

    The estimator's parameters come from the file and go to the library at every predict,
    which refuses values it cannot take (num_leaves=1, a float where it wants an int): one row
    tells as the file loads, rather than at the user's first prediction, with a traceback.
    """
    width = getattr(estimator, "n_features_in_", None)
    try:
        if not isinstance(width, (int, np.integer)) or not 1 <= width <= MAX_TRIAL_COLUMNS:
            raise MalformedModelError(f"it reads {width!r} columns")
        estimator.predict(np.zeros((1, int(width))))
    except (library_error, ValueError, TypeError, AttributeError, KeyError) as error:
        reason = " ".join(str(error).split())[:200]
        raise MalformedModelError(
            f"the {library} model in this model file does not predict ({reason}): the model "
            "file is damaged or was not written by deepforest"
        ) from None


def check_lightgbm_boosters(model) -> None:
    """Predict one row with every LightGBM estimator a model file rebuilt, or refuse the file.

    Their trees were checked in the file's model text before LightGBM parsed it
    (:func:`check_lightgbm_model_strings`); what is left is the parameters.
    """
    module = sys.modules.get("lightgbm.basic")
    wrappers = sys.modules.get("lightgbm.sklearn")
    if module is None or wrappers is None:
        return
    for estimator in _objects_of(model, wrappers.LGBMModel):
        _predicts_one_row(estimator, "LightGBM", module.LightGBMError)


def check_lightgbm_model_strings(schema) -> None:
    """Check every LightGBM booster's model text in a skops schema before LightGBM parses it.

    LightGBM trusts the text it is given: a crafted child index crashed the process as the
    booster was rebuilt, before anything could look at it, so the text is checked first.
    """
    for node in _schema_objects(schema, "lightgbm.basic", "Booster"):
        try:
            handle = node["content"]["content"]["_handle"]
            text = json.loads(handle["content"])
        except (KeyError, TypeError, ValueError):
            text = None
        if not isinstance(text, str):
            raise MalformedModelError(
                "a LightGBM booster of this model holds no model text: the model file is "
                "damaged or was not written by deepforest"
            )
        problems = _lightgbm_problems(text)
        if problems:
            raise MalformedModelError(
                f"a LightGBM booster of this model is malformed ({'; '.join(problems)}): "
                "the model file is damaged or was not written by deepforest"
            )


def _lightgbm_problems(text: str) -> list[str]:
    header, _, body = text.partition("\nTree=")
    fields = dict(line.split("=", 1) for line in header.splitlines() if "=" in line)
    try:
        n_features = int(fields["max_feature_idx"]) + 1
    except (KeyError, ValueError):
        return ["its model has no feature count"]
    for block in ("Tree=" + body).split("\nTree=")[: None if body else 0]:
        tree = dict(line.split("=", 1) for line in block.splitlines() if "=" in line)
        try:
            n_leaves = int(tree["num_leaves"])
            if n_leaves <= 1:
                continue
            if int(tree.get("num_cat", "0")):
                return ["categorical splits, which deepforest's boosters never make"]
            left = np.array(tree["left_child"].split(), dtype=np.int64)
            right = np.array(tree["right_child"].split(), dtype=np.int64)
            features = np.array(tree["split_feature"].split(), dtype=np.int64)
            thresholds = np.array(tree["threshold"].split(), dtype=np.float64)
            values = np.array(tree["leaf_value"].split(), dtype=np.float64)
        except (KeyError, ValueError):
            return ["a tree's fields cannot be read"]
        n_internal = n_leaves - 1
        if not all(len(a) == n_internal for a in (left, right, features, thresholds)):
            return ["a tree's node arrays disagree on its size"]
        if len(values) != n_leaves or not np.all(np.isfinite(values)):
            return ["a tree's leaf values are missing or not finite"]
        parents = np.arange(n_internal)
        for children in (left, right):
            internal = children >= 0
            if np.any(children[internal] <= parents[internal]) or np.any(
                children[internal] >= n_internal
            ):
                return ["child nodes out of order or out of range"]
            if np.any(-1 - children[~internal] >= n_leaves):
                return ["leaves beyond the tree"]
        if features.min() < 0 or features.max() >= n_features:
            return ["split features out of range"]
        if not np.all(np.isfinite(thresholds)):
            return ["split thresholds that are not finite"]
    return []


def check_xgboost_model_bytes(schema, read_member) -> None:
    """Check every XGBoost booster's bytes in a skops schema before XGBoost parses them.

    XGBoost rebuilds a booster from its serialised bytes (UBJSON) as skops loads it, and
    crashed the process on flipped bytes; the document is read by :mod:`deepforest._ubjson`
    and its trees checked first. ``read_member`` returns the bytes of an archive member.
    """
    for node in _schema_objects(schema, "xgboost.core", "Booster"):
        try:
            member = node["content"]["content"]["handle"]["file"]
            learner = _ubjson.loads(read_member(member))["Model"]["learner"]
        except (KeyError, TypeError, _ubjson.UBJSONError) as error:
            raise MalformedModelError(
                f"an XGBoost booster of this model cannot be read ({error}): the model file is "
                "damaged or was not written by deepforest"
            ) from None
        problems = _xgboost_problems(learner)
        if problems:
            raise MalformedModelError(
                f"an XGBoost booster of this model is malformed ({'; '.join(problems)}): the "
                "model file is damaged or was not written by deepforest"
            )


def _schema_objects(schema, module: str, name: str):
    """The nodes of a skops schema that rebuild an object of class ``module.name``."""
    pending = [schema]
    while pending:
        node = pending.pop()
        if isinstance(node, list):
            pending.extend(node)
        elif isinstance(node, dict):
            if node.get("__class__") == name and node.get("__module__") == module:
                yield node
            pending.extend(node.values())


# Arrays of one entry per node in every XGBoost tree.
_XGBOOST_NODE_ARRAYS = (
    "left_children",
    "right_children",
    "parents",
    "split_indices",
    "split_conditions",
    "split_type",
    "default_left",
    "loss_changes",
    "sum_hessian",
)


def _xgboost_problems(learner: dict) -> list[str]:
    """What is wrong with an XGBoost learner document, or nothing."""
    try:
        n_features = int(learner["learner_model_param"]["num_feature"])
        model = learner["gradient_booster"]["model"]
        trees = model["trees"]
        n_trees = int(model["gbtree_model_param"]["num_trees"])
        tree_info = np.asarray(model["tree_info"], dtype=np.int64)
        indptr = np.asarray(model.get("iteration_indptr", [0, len(trees)]), dtype=np.int64)
        n_groups = max(1, int(learner["learner_model_param"].get("num_class", 1)))
        for tree in trees:
            problem = _xgboost_tree_problem(tree, n_features)
            if problem:
                return [problem]
    except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as error:
        return [f"its model cannot be read ({type(error).__name__}: {error})"]
    if not 1 <= n_features <= 2**31 - 1:
        return [f"it reads {n_features} features"]
    if n_trees != len(trees) or tree_info.shape != (n_trees,):
        return ["its tree count disagrees with its trees"]
    if n_trees and (tree_info.min() < 0 or tree_info.max() >= n_groups):
        return ["trees assigned to outputs the model does not have"]
    if indptr.ndim != 1 or indptr[0] != 0 or indptr[-1] != n_trees or np.any(np.diff(indptr) < 0):
        return ["its rounds do not partition its trees"]
    return []


def _xgboost_tree_problem(tree: dict, n_features: int) -> str | None:
    n_nodes = int(tree["tree_param"]["num_nodes"])
    arrays = {name: np.asarray(tree[name]) for name in _XGBOOST_NODE_ARRAYS}
    if n_nodes < 1 or any(a.shape != (n_nodes,) for a in arrays.values()):
        return "a tree's node arrays disagree on its size"
    left, right = (arrays[side].astype(np.int64) for side in ("left_children", "right_children"))
    features = arrays["split_indices"].astype(np.int64)
    conditions = arrays["split_conditions"].astype(np.float64)
    leaf_size = max(1, int(tree["tree_param"].get("size_leaf_vector", 1)))
    if np.asarray(tree["base_weights"]).shape != (n_nodes * leaf_size,):
        return "a tree's leaf weights disagree on its size"
    internal = np.flatnonzero(left != -1)
    leaves = np.flatnonzero(left == -1)
    if np.any(right[leaves] != -1):
        return "a leaf has a child"
    for children in (left[internal], right[internal]):
        if internal.size and not ((children > internal).all() and children.max() < n_nodes):
            return "child nodes out of order or out of range"
    if internal.size and (features[internal].min() < 0 or features[internal].max() >= n_features):
        return "split features out of range"
    if not np.all(np.isfinite(conditions)):
        return "split thresholds or leaf values that are not finite"
    if np.size(tree.get("categories_nodes", [])) or np.any(arrays["split_type"] != 0):
        return "categorical splits, which deepforest's boosters never make"
    return None


def _objects_of(model, kind) -> list:
    """The objects of type ``kind`` inside what a file rebuilt (deepforest's, sklearn's and
    XGBoost's objects are walked)."""
    found, seen, pending = [], set(), [model]
    while pending:
        item = pending.pop()
        if id(item) in seen or isinstance(item, (np.ndarray, str, bytes, int, float)):
            continue
        seen.add(id(item))
        if isinstance(item, kind):
            found.append(item)
        elif isinstance(item, dict):
            pending.extend(item.values())
        elif isinstance(item, (list, tuple)):
            pending.extend(item)
        elif type(item).__module__.split(".")[0] in (*_WALKED_PACKAGES, "xgboost") and hasattr(
            item, "__dict__"
        ):
            pending.extend(vars(item).values())
    return found


def check_boosted_trees(model) -> None:
    """Refuse a model whose HistGradientBoosting trees could not have been fitted.

    Parameters
    ----------
    model : object
        What a model file rebuilt.

    Raises
    ------
    ValueError
        If a tree's nodes point outside the tree, to an earlier node (the grower numbers a
        node's children after it, so this also rules out cycles), or to a feature or a
        categorical bitset the model does not have.
    """
    module = sys.modules.get("sklearn.ensemble._hist_gradient_boosting.predictor")
    if module is None:
        return  # building the model did not import the class, so it holds no such tree
    tree_class = module.TreePredictor

    seen: set[int] = set()
    pending = [(model, None)]
    while pending:
        item, owner = pending.pop()
        if id(item) in seen or isinstance(item, (np.ndarray, str, bytes, int, float)):
            continue
        seen.add(id(item))
        if isinstance(item, tree_class):
            problems = _tree_problems(item, owner)
            if problems:
                raise MalformedModelError(
                    f"a gradient-boosted tree of this model is malformed ({'; '.join(problems)})"
                    ": the model file is damaged or was not written by deepforest"
                )
        elif isinstance(item, dict):
            pending.extend((value, owner) for value in item.values())
        elif isinstance(item, (list, tuple)):
            pending.extend((value, owner) for value in item)
        elif type(item).__module__.split(".")[0] in _WALKED_PACKAGES and hasattr(item, "__dict__"):
            # A boosting model owns the trees below it: their features are its features.
            owner = item if hasattr(item, "_predictors") else owner
            pending.extend((value, owner) for value in vars(item).values())


def _tree_problems(tree, owner) -> list[str]:
    from sklearn.ensemble._hist_gradient_boosting.common import (
        PREDICTOR_RECORD_DTYPE,
        X_BITSET_INNER_DTYPE,
    )

    nodes = tree.nodes
    if (
        not isinstance(nodes, np.ndarray)
        or nodes.ndim != 1
        or nodes.dtype != PREDICTOR_RECORD_DTYPE
    ):
        return ["nodes are not an array of node records"]
    for name in ("raw_left_cat_bitsets", "binned_left_cat_bitsets"):
        bitsets = getattr(tree, name, None)
        if (
            not isinstance(bitsets, np.ndarray)
            or bitsets.ndim != 2
            or bitsets.dtype != X_BITSET_INNER_DTYPE
            or bitsets.shape[1:] != (8,)
        ):
            return ["categorical bitsets are not bitsets"]
    if nodes.shape[0] == 0:
        return ["a tree without nodes"]
    internal = np.flatnonzero(nodes["is_leaf"] == 0)
    problems = []
    for side in ("left", "right"):
        children = nodes[side][internal].astype(np.int64)
        if internal.size and not ((children > internal).all() and children.max() < len(nodes)):
            problems.append("child nodes out of order or out of range")
            break
    features = nodes["feature_idx"][internal].astype(np.int64)
    n_features = getattr(owner, "n_features_in_", None)
    if internal.size and (features.min() < 0 or (n_features and features.max() >= n_features)):
        return [*problems, "split features out of range"]
    categorical = internal[nodes["is_categorical"][internal] != 0]
    if categorical.size:
        is_categorical = getattr(owner, "is_categorical_", None)
        bitsets = min(len(tree.raw_left_cat_bitsets), len(tree.binned_left_cat_bitsets))
        split_features = nodes["feature_idx"][categorical].astype(np.int64)
        if (
            is_categorical is None
            or nodes["bitset_idx"][categorical].max() >= bitsets
            or split_features.max() >= len(is_categorical)
            or not np.asarray(is_categorical)[split_features].all()
        ):
            problems.append("categorical splits the model does not have")
    return problems
