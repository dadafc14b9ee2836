"""Fixed-seed fits give the models and predictions recorded before a refactoring, bit for bit.

The fingerprints in tests/fixtures/reference_fits were written by ``make_reference_fits.py``
there. A change that moves code without meaning to alter what is learned must keep them; a
change that means to alter models regenerates them in its own commit and says why.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

HERE = Path(__file__).parent / "fixtures" / "reference_fits"


def _load_maker():
    spec = importlib.util.spec_from_file_location(
        "make_reference_fits", HERE / "make_reference_fits.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


MAKER = _load_maker()
REFERENCE = json.loads((HERE / "reference_fits.json").read_text())


def _minor(version: str) -> str:
    return ".".join(version.split(".")[:2])


def _same_libraries() -> bool:
    recorded, installed = REFERENCE["versions"], MAKER.versions()
    return all(_minor(recorded[name]) == _minor(installed[name]) for name in recorded)


def test_every_case_has_a_reference():
    assert sorted(REFERENCE["cases"]) == sorted(MAKER.case_names())


@pytest.mark.skipif(
    not _same_libraries(),
    reason="the references were recorded with other releases of numpy, scikit-learn or numba",
)
@pytest.mark.parametrize("name", MAKER.case_names())
def test_fit_is_bit_identical_to_the_reference(name):
    assert MAKER.fingerprint(name) == REFERENCE["cases"][name]


def test_the_fingerprint_sees_a_changed_leaf_and_ignores_timings():
    import hashlib

    import numpy as np
    from sklearn.datasets import load_iris

    from deepforest import CascadeForestClassifier

    X, y = load_iris(return_X_y=True)
    model = CascadeForestClassifier(random_state=0, n_trees=5, max_layers=1).fit(X, y)

    def digest():
        value = hashlib.sha256()
        MAKER._digest_state(vars(model), value)
        return value.hexdigest()

    before = digest()
    model.history_["fit_time"] = [123.0]
    assert digest() == before
    forest = model.layers_[0].forests[0]
    leaves = next(
        v for v in vars(forest).values() if isinstance(v, np.ndarray) and v.dtype.kind == "f"
    )
    leaves.flat[0] += 1
    assert digest() != before
