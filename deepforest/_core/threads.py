"""Threads for the compiled kernels, which release the GIL: fan calls out, wait on them.

joblib's ``Parallel`` checks for finished calls every 10 ms. Where each call takes about a
millisecond (a boosting round's folds on a small table, a layer's prediction of a few thousand
rows), the fan-out spent most of its time asleep: with ``n_jobs=2`` a default fit of digits took
5.1 s against 3.6 s with one thread, and predicting 500 rows 27 ms against 15. These helpers
wait on the calls themselves. Fitting the forests stays with joblib, whose backends (Dask, Ray)
can take the trees elsewhere; these calls are always local threads.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed, wait

from joblib import effective_n_jobs


def thread_count(n_jobs: int | None) -> int:
    """Threads for ``n_jobs`` in joblib's meaning (None is one outside a joblib context, -1
    every core), never more than the machine's cores: the calls are compute-bound."""
    return max(1, min(effective_n_jobs(n_jobs), os.cpu_count() or 1))


class ThreadFanOut:
    """Runs batches of calls on up to ``thread_count(n_jobs)`` threads, kept until it exits.

    One thread, or a single call, runs in the caller's thread. A call's exception is raised
    in the caller once every call of the batch has ended.
    """

    def __init__(self, n_jobs: int | None):
        self.n_threads = thread_count(n_jobs)
        self._executor: ThreadPoolExecutor | None = None

    def __enter__(self) -> ThreadFanOut:
        return self

    def __exit__(self, *exc_info) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None

    def _submit(self, calls: Sequence[Callable]):
        if self._executor is None:
            self._executor = ThreadPoolExecutor(self.n_threads, thread_name_prefix="deepforest")
        return [self._executor.submit(call) for call in calls]

    def run(self, calls: Sequence[Callable]) -> list:
        """Each call's result, in the calls' order."""
        if self.n_threads == 1 or len(calls) <= 1:
            return [call() for call in calls]
        futures = self._submit(calls)
        # Wait for all before raising, so no call still writes into the caller's arrays.
        wait(futures)
        return [future.result() for future in futures]

    def as_they_finish(self, calls: Sequence[Callable]) -> Iterator:
        """The calls' results as they finish (for progress)."""
        if self.n_threads == 1 or len(calls) <= 1:
            for call in calls:
                yield call()
            return
        futures = self._submit(calls)
        try:
            for future in as_completed(futures):
                yield future.result()
        finally:
            for future in futures:
                future.cancel()
            wait(futures)


def run_in_threads(calls: Sequence[Callable], n_jobs: int | None) -> list:
    """Each call's result, the calls spread over ``thread_count(n_jobs)`` threads."""
    with ThreadFanOut(n_jobs) as fan_out:
        return fan_out.run(calls)
