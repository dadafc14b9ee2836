"""Fanning kernel calls out to threads (``_core.threads``)."""

from __future__ import annotations

import os
import select
import signal
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
    caller = threading.current_thread().name
    if os.cpu_count() > 1:
        # The caller takes calls in turn with a helper thread.
        assert {name for name in names if name != caller}
        assert all(name.startswith("deepforest") for name in names if name != caller)
    names.clear()
    assert run_in_threads([call(i) for i in range(4)], n_jobs=1) == [0, 1, 2, 3]
    assert set(names) == {threading.current_thread().name}


def test_an_error_stops_the_batch_once_the_running_calls_have_ended():
    started, ended = [], []

    def fails():
        raise ValueError("broken call")

    def slow():
        started.append(True)
        time.sleep(0.2)
        ended.append(True)

    with pytest.raises(ValueError, match="broken call"):
        run_in_threads([slow, fails] + [slow] * 10, n_jobs=2)
    # No call still runs (and writes into the caller's arrays) once the error is raised, and
    # no call starts after the failure is known.
    assert ended == started
    assert len(started) < 11


@pytest.mark.skipif(os.cpu_count() < 2, reason="one core: the calls run one after the other")
def test_an_interruption_wins_over_an_ordinary_error():
    interrupted_started = threading.Event()

    def fails_once_the_other_started():
        interrupted_started.wait(timeout=1500)  # a hang guard only
        raise ValueError("broken call")

    def interrupted():
        interrupted_started.set()
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_in_threads([fails_once_the_other_started, interrupted], n_jobs=2)


def _helpers_used(n_calls: int) -> set[threading.Thread]:
    """The threads other than the caller's that took some of ``n_calls`` short calls."""
    used = []

    def call():
        time.sleep(0.02)
        used.append(threading.current_thread())

    run_in_threads([call] * n_calls, n_jobs=2)
    return set(used) - {threading.current_thread()}


@pytest.mark.skipif(os.cpu_count() < 2, reason="one core: every call runs in the caller")
def test_helper_threads_are_kept_between_calls():
    # Starting threads per call made one row's prediction 5 times slower on two threads.
    first = _helpers_used(6)
    assert first and all(thread.is_alive() for thread in first)
    assert _helpers_used(6) == first
    assert len(first) <= os.cpu_count() - 1


def test_calls_that_fan_out_again_from_helpers_finish():
    # The inner fan-outs find the helper busy with the outer calls: their callers must go on
    # alone rather than wait for a helper that never comes.
    def outer(i):
        return lambda: sum(run_in_threads([lambda j=j: i * j for j in range(4)], n_jobs=2))

    results = []
    worker = threading.Thread(
        target=lambda: results.append(run_in_threads([outer(i) for i in range(6)], n_jobs=2)),
        daemon=True,
    )
    worker.start()
    worker.join(timeout=1500)  # a hang guard only: the calls take microseconds
    assert not worker.is_alive(), "nested fan-out hung"
    assert results == [[6 * i for i in range(6)]]


@pytest.mark.skipif(not hasattr(os, "fork") or os.cpu_count() < 2, reason="needs fork, 2 cores")
def test_a_forked_child_starts_its_own_helpers():
    # The parent's helper threads are not copied into a forked child: without its own, the
    # child's caller would run every call alone.

    _helpers_used(4)  # the parent's helpers exist before the fork
    read_end, write_end = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child reports through the pipe and exits
        try:
            os.write(write_end, b"helpers" if _helpers_used(6) else b"alone")
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as reader:
        ready, _, _ = select.select([reader], [], [], 1500)  # a hang guard only
        report = reader.read() if ready else b"no answer"
    if not ready:
        os.kill(child, signal.SIGKILL)
    os.waitpid(child, 0)
    assert report == b"helpers"


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
