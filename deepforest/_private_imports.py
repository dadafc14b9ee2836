"""Every private name of scikit-learn and joblib that deepforest uses, in one place.

scikit-learn's parameter validation, its ``_check_sample_weight``, ``_check_feature_names`` and
``_check_feature_names_in`` helpers, and joblib's Dask backend are what an estimator or a joblib
backend of their own style needs, but they are not public API and may move in any release.
Importing them only from here gives one place to adapt when they do, and a message that names
the fix instead of an ``ImportError`` deep inside a fit. CI runs the tests against the oldest
supported scikit-learn (1.6) as well as the newest release.
"""

from __future__ import annotations

import sklearn


def _moved(name: str, library: str, version: str) -> ImportError:
    return ImportError(
        f"deepforest uses {name}, which {library} {version} no longer provides where deepforest "
        f"looks for it: install an earlier {library} (pip install '{library}<{version}') or a "
        "newer deepforest"
    )


try:
    from sklearn.utils._param_validation import (
        HasMethods,
        Interval,
        InvalidParameterError,
        RealNotInt,
        StrOptions,
        validate_parameter_constraints,
    )
except ImportError as error:  # pragma: no cover - depends on a future scikit-learn
    raise _moved("sklearn.utils._param_validation", "scikit-learn", sklearn.__version__) from error

try:
    from sklearn.utils.validation import (
        _check_feature_names,
        _check_feature_names_in,
        _check_sample_weight,
    )
except ImportError as error:  # pragma: no cover - depends on a future scikit-learn
    raise _moved(
        "sklearn.utils.validation's _check_sample_weight, _check_feature_names and "
        "_check_feature_names_in",
        "scikit-learn",
        sklearn.__version__,
    ) from error


def validate_params(estimator) -> None:
    """Check ``estimator``'s parameters against its ``_parameter_constraints``.

    ``BaseEstimator._validate_params`` where scikit-learn has it, else the function it calls.
    """
    method = getattr(estimator, "_validate_params", None)
    if method is not None:
        method()
        return
    validate_parameter_constraints(  # pragma: no cover - depends on a future scikit-learn
        estimator._parameter_constraints,
        estimator.get_params(deep=False),
        caller_name=type(estimator).__name__,
    )


def joblib_dask_backend() -> tuple[type, type, type]:
    """joblib's Dask backend class, its batch class and its traceback-capturing wrapper.

    Imported on call: Dask is an optional extra.
    """
    import joblib

    try:
        # joblib's Dask module imports without Dask and fails only on use: ask for it first.
        import distributed  # noqa: F401
    except ImportError as error:
        raise ImportError(
            "training on Dask needs dask.distributed: pip install 'deep-forest-learn[dask]'"
        ) from error
    try:
        from joblib._dask import Batch, DaskDistributedBackend
        from joblib._utils import _TracebackCapturingWrapper
    except ImportError as error:
        raise _moved("joblib._dask's DaskDistributedBackend", "joblib", joblib.__version__) from (
            error
        )
    return DaskDistributedBackend, Batch, _TracebackCapturingWrapper


__all__ = [
    "HasMethods",
    "Interval",
    "InvalidParameterError",
    "RealNotInt",
    "StrOptions",
    "_check_feature_names",
    "_check_feature_names_in",
    "_check_sample_weight",
    "joblib_dask_backend",
    "validate_params",
]
