"""``get_params``/``set_params`` that reach into a cascade's layer estimators.

The layer estimators' parameters appear as ``<name>__<parameter>``, as a
``StackingClassifier``'s do, so that ``set_params`` and ``GridSearchCV`` reach them.
"""

from __future__ import annotations

from collections.abc import Callable

from ._core.layer_estimators import named_estimators


def with_layer_estimator_params(params: dict, layer_estimators) -> dict:
    """``params`` (an estimator's own, deep) with each layer estimator and its parameters."""
    for name, estimator in _named_or_none(layer_estimators):
        params[name] = estimator
        if hasattr(estimator, "get_params") and not isinstance(estimator, type):
            for key, value in estimator.get_params(deep=True).items():
                params[f"{name}__{key}"] = value
    return params


def set_nested_params(model, params: dict, set_own: Callable) -> None:
    """Set ``params`` on ``model``: its own through ``set_own``, a layer estimator's
    (``<name>__<parameter>``) on that estimator, a whole one (``<name>=estimator``) in a new
    list, so that the list the user gave is not modified."""
    own = model.get_params(deep=False)
    if "layer_estimators" in params:
        set_own(layer_estimators=params.pop("layer_estimators"))
    named = dict(_named_or_none(model.layer_estimators))
    by_estimator: dict[str, dict] = {}
    replaced: dict[str, object] = {}
    rest = {}
    for key, value in params.items():
        head, separator, tail = key.partition("__")
        if head in own or head not in named:
            rest[key] = value
        elif separator:
            by_estimator.setdefault(head, {})[tail] = value
        else:
            replaced[head] = value
    if replaced:
        items = []
        for item, name in zip(model.layer_estimators, named, strict=True):
            if name not in replaced:
                items.append(item)
            elif isinstance(item, tuple):
                items.append((name, replaced[name]))
            else:
                items.append(replaced[name])
        set_own(layer_estimators=items)
        named = dict(named_estimators(model.layer_estimators))
    for name, values in by_estimator.items():
        if isinstance(named[name], str):
            raise ValueError(
                f"the layer estimator {name!r} is given by its name, which has no "
                f"parameters to set ({sorted(values)}); give an estimator object instead"
            )
        named[name].set_params(**values)
    if rest:
        set_own(**rest)


def _named_or_none(layer_estimators) -> list[tuple[str, object]]:
    """The named layer estimators, or none for a value that is not a list (fit refuses it)."""
    if not isinstance(layer_estimators, (list, tuple)):
        return []
    return named_estimators(layer_estimators)
