"""deepforest._private_imports: when scikit-learn or joblib moves a private name, the import fails
with one message that names the fix, and the fallbacks work.

Each case removes the name in a fresh interpreter (a subprocess), so that the test session's own
modules are left alone.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

from deepforest._private_imports import InvalidParameterError, StrOptions, validate_params


def _run(setup: str, statement: str) -> subprocess.CompletedProcess:
    code = textwrap.dedent(setup) + "\n" + statement
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=1800
    )


@pytest.mark.parametrize(
    "setup, missing",
    [
        (
            "import sklearn.utils._param_validation as v; del v.RealNotInt",
            "sklearn.utils._param_validation",
        ),
        (
            "import sklearn.utils.validation as v; del v._check_sample_weight",
            "_check_sample_weight",
        ),
    ],
    ids=["parameter-validation", "check-sample-weight"],
)
def test_a_moved_scikit_learn_name_fails_with_the_fix(setup, missing):
    result = _run(setup, "import deepforest._private_imports")
    assert result.returncode != 0
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line.startswith("ImportError: deepforest uses ")
    assert missing in last_line
    assert "no longer provides where deepforest looks for it" in last_line
    assert "pip install 'scikit-learn<" in last_line


@pytest.mark.parametrize(
    "setup, expected",
    [
        (
            "import joblib._utils as u; del u._TracebackCapturingWrapper",
            ["joblib._dask's DaskDistributedBackend", "pip install 'joblib<"],
        ),
        (
            "import sys; sys.modules['distributed'] = None; sys.modules['dask'] = None",
            ["training on Dask needs dask.distributed", "pip install 'deep-forest-learn[dask]'"],
        ),
    ],
    ids=["moved-joblib-name", "dask-missing"],
)
def test_the_dask_backend_names_the_fix_when_it_cannot_load(setup, expected):
    result = _run(
        setup, "from deepforest._private_imports import joblib_dask_backend\njoblib_dask_backend()"
    )
    assert result.returncode != 0
    last_line = result.stderr.strip().splitlines()[-1]
    for text in expected:
        assert text in last_line


def test_joblib_dask_backend_returns_joblib_s_classes():
    pytest.importorskip("distributed")
    from joblib._dask import Batch, DaskDistributedBackend

    from deepforest._private_imports import joblib_dask_backend

    backend, batch, wrapper = joblib_dask_backend()
    assert backend is DaskDistributedBackend and batch is Batch and callable(wrapper)


class _WithoutValidateParams:
    """An estimator as a future scikit-learn may leave it: no ``_validate_params`` method."""

    _parameter_constraints = {"kind": [StrOptions({"a", "b"})]}

    def __init__(self, kind):
        self.kind = kind

    def get_params(self, deep=False):
        return {"kind": self.kind}


def test_validate_params_falls_back_to_the_constraint_checker():
    validate_params(_WithoutValidateParams("a"))
    with pytest.raises(InvalidParameterError, match="'kind' parameter of _WithoutValidateParams"):
        validate_params(_WithoutValidateParams("c"))


def test_validate_params_uses_the_estimator_s_own_method():
    from deepforest import CascadeForestClassifier

    with pytest.raises(InvalidParameterError, match="n_trees"):
        validate_params(CascadeForestClassifier(n_trees=0))
    validate_params(CascadeForestClassifier(n_trees=np.int64(3)))
