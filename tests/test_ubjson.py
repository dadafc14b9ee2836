"""The strict UBJSON reader that reads XGBoost's booster bytes before XGBoost does."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest

from deepforest import _ubjson


@pytest.fixture(scope="module")
def booster_bytes():
    xgboost = pytest.importorskip("xgboost")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 5))
    y = (X[:, 0] + X[:, 1] > 0).astype(int) + (X[:, 2] > 1)
    model = xgboost.XGBClassifier(n_estimators=4, max_depth=3, n_jobs=1).fit(X, y)
    booster = model.get_booster()
    return bytes(booster.__getstate__()["handle"]), json.loads(bytes(booster.save_raw("json")))


def test_a_booster_reads_as_xgboost_writes_it_as_json(booster_bytes):
    raw, as_json = booster_bytes
    document = _ubjson.loads(raw)
    assert set(document) == {"Config", "Model"}
    ours = document["Model"]["learner"]
    assert ours["learner_model_param"] == as_json["learner"]["learner_model_param"]
    trees = ours["gradient_booster"]["model"]["trees"]
    reference = as_json["learner"]["gradient_booster"]["model"]["trees"]
    assert len(trees) == len(reference) == 12
    for tree, expected in zip(trees, reference, strict=True):
        assert tree["tree_param"] == expected["tree_param"]
        for name in ("left_children", "right_children", "split_indices", "default_left"):
            np.testing.assert_array_equal(tree[name], expected[name])
        np.testing.assert_allclose(tree["split_conditions"], expected["split_conditions"])


def test_every_truncation_is_refused_by_name(booster_bytes):
    raw, _ = booster_bytes
    for end in range(0, len(raw), 97):
        with pytest.raises(_ubjson.UBJSONError):
            _ubjson.loads(raw[:end])


def test_flipped_bytes_are_read_or_refused_never_another_error(booster_bytes):
    raw, _ = booster_bytes
    rng = random.Random(0)
    refused = 0
    for _ in range(400):
        data = bytearray(raw)
        for _ in range(rng.randint(1, 4)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        try:
            _ubjson.loads(data)
        except _ubjson.UBJSONError:
            refused += 1
    # Most flips land in numbers and text, which still read; markers and lengths do not.
    assert 0 < refused < 400


@pytest.mark.parametrize(
    "data, message",
    [
        (b"{L\x00\x00\x00\x00\x00\x00\x00\x01aU\x05}U", "1 bytes follow the document"),
        (b"[" * 40 + b"]" * 40, "nested deeper than 32"),
        (b"SL\x7f\x00\x00\x00\x00\x00\x00\x00abc", "a length of"),
        (b"SL\xff\xff\xff\xff\xff\xff\xff\xffabc", "a length of -1"),
        (b"[$l#U\x01\x00\x00", "ends before"),
        (b"[$S#U\x01", "a typed array of b'S'"),
        (b"{U\x01aU\x01U\x01aU\x02}", "the key 'a' twice"),
        (b"X", "an unknown marker"),
        (b"SU\x02\xff\xfe", "not UTF-8"),
    ],
)
def test_malformed_documents_are_refused_with_the_reason(data, message):
    with pytest.raises(_ubjson.UBJSONError, match=message):
        _ubjson.loads(data)


def test_values_of_every_kind_read_back():
    data = (
        b"{U\x01a[i\xffU\xffI\x01\x00l\x00\x00\x00\x01d\x3f\x80\x00\x00TFZ]"
        b"U\x01b[$L#U\x02" + (3).to_bytes(8, "big") + (-1).to_bytes(8, "big", signed=True) + b"}"
    )
    document = _ubjson.loads(data)
    assert document["a"] == [-1, 255, 256, 1, 1.0, True, False, None]
    assert document["b"].dtype == np.int64 and document["b"].tolist() == [3, -1]
