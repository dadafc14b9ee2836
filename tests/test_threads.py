"""Fanning kernel calls out to threads (``_core.threads``)."""

from __future__ import annotations

import os
import threading
import time

import joblib
import numpy as np
import pytest
from sklearn.datasets import load_digits

from deepforest import CascadeForestClassifier
from deepforest._core.threads import ThreadFanOut, run_in_threads, thread_count


def test_thread_count_follows_joblib_and_never_exceeds_the_cores():
    cores = os.cpu_count()
    assert thread_count(None) == 1
    assert thread_count(1) == 1
    assert thread_count(-1) == cores
    assert thread_count(10 * cores) == cores
    with joblib.parallel_config(n_jobs=2):
        assert thread_count(None) == min(2, cores)


def test_results_come_back_in_the_calls_order_from_other_threads():
    names = []

    def call(i):
        def run():
            time.sleep(0.01 * (4 - i))  # the first call ends last
            names.append(threading.current_thread().name)
            return i

        return run

    assert run_in_threads([call(i) for i in range(4)], n_jobs=2) == [0, 1, 2, 3]
    if os.cpu_count() > 1:
        assert all(name.startswith("deepforest") for name in names)
    names.clear()
    assert run_in_threads([call(i) for i in range(4)], n_jobs=1) == [0, 1, 2, 3]
    assert set(names) == {threading.current_thread().name}


def test_an_error_is_raised_after_every_call_of_the_batch_has_ended():
    ended = []

    def fails():
        raise ValueError("broken call")

    def slow():
        time.sleep(0.2)
        ended.append(True)

    with pytest.raises(ValueError, match="broken call"):
        run_in_threads([fails, slow, slow], n_jobs=2)
    # No call still runs (and writes into the caller's arrays) once the error is raised.
    assert ended == [True, True]


def test_as_they_finish_yields_every_result_and_one_fan_out_serves_many_batches():
    with ThreadFanOut(2) as fan_out:
        for _ in range(3):
            done = sorted(fan_out.as_they_finish([lambda i=i: i for i in range(5)]))
            assert done == [0, 1, 2, 3, 4]
            assert fan_out.run([lambda: "a", lambda: "b"]) == ["a", "b"]


def test_threads_do_not_change_the_model_or_its_predictions():
    # Enough trees and boosting rounds that the row blocks and the search's folds run in
    # several threads; the results must not depend on which thread ran what.
    X, y = load_digits(return_X_y=True)
    fits = [
        CascadeForestClassifier(n_trees=30, max_layers=2, n_jobs=n_jobs, random_state=0).fit(X, y)
        for n_jobs in (1, 2)
    ]
    assert fits[0].history_["boosting"]["rounds"] > 0
    assert fits[0].history_["boosting"] == {
        **fits[1].history_["boosting"],
        "fit_time": fits[0].history_["boosting"]["fit_time"],
    }
    np.testing.assert_array_equal(fits[0].predict_proba(X), fits[1].predict_proba(X))
