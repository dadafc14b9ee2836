"""Training through a real Dask cluster: same model as local training, even when a worker dies.

The cascade hands its trees out through joblib in fixed chunks (each task grows its trees and
scores their out-of-bag rows), so inside ``joblib.parallel_backend("dask")`` the trees grow on
the cluster's worker processes. Every tree's seed is drawn before any work is dispatched, so the
result does not depend on where it ran.
"""

from __future__ import annotations

import os
import threading
import time

import joblib
import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, make_classification

distributed = pytest.importorskip(
    "distributed",
    reason="Dask distributed is not installed: pip install 'deep-forest-learn[dask]'",
)
psutil = pytest.importorskip("psutil", reason="psutil (a dependency of distributed) is missing")

from deepforest import CascadeForestClassifier  # noqa: E402
from deepforest.cluster import register_dask_backend  # noqa: E402

# Workers start, train and stop well within this; a hang must fail rather than block CI.
pytestmark = pytest.mark.timeout(240)

# n_jobs must be set: with n_jobs=None joblib runs sequentially and never asks the backend.
# 40 trees: four tasks of ten trees per forest, so that both workers get some.
PARAMS = {"n_trees": 40, "max_layers": 2, "min_samples_leaf": 1, "n_jobs": -1, "random_state": 0}
N_WORKERS = 2


@pytest.fixture(scope="module")
def data():
    return load_breast_cancer(return_X_y=True)


@pytest.fixture(scope="module")
def local_proba(data):
    X, y = data
    return CascadeForestClassifier(**PARAMS).fit(X, y).predict_proba(X)


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(
        n_workers=N_WORKERS,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        # Loopback only: the tests never listen beyond this machine.
        host="127.0.0.1",
    )
    client = distributed.Client(cluster)
    try:
        client.wait_for_workers(N_WORKERS, timeout=120)
        yield client
    finally:
        client.close()
        cluster.close()


def _fit_on_cluster(X, y, backend: str = "dask") -> CascadeForestClassifier:
    # The backend is thread-local in joblib: enter it in the thread that fits.
    with joblib.parallel_backend(backend):
        return CascadeForestClassifier(**PARAMS).fit(X, y)


@pytest.fixture(scope="module")
def cluster_fit(client, data):
    """A cascade fitted on the cluster, with the scheduler's record of the tasks that ran."""
    X, y = data
    with distributed.get_task_stream(client) as stream:
        model = _fit_on_cluster(X, y)
    return model, stream.data


def test_cluster_fit_equals_local_fit(cluster_fit, data, local_proba):
    model, _ = cluster_fit
    X, _ = data
    np.testing.assert_array_equal(model.predict_proba(X), local_proba)


def test_tree_building_ran_on_the_workers(cluster_fit, client):
    _, tasks = cluster_fit
    worker_pids = client.run(os.getpid)
    assert os.getpid() not in worker_pids.values()
    # Every task ran in a worker process, and both workers took part.
    assert {task["worker"] for task in tasks} == set(worker_pids)
    grown = [task for task in tasks if "_grow_chunk" in str(task["key"])]
    # 2 layers x 4 forests x 4 chunks of trees (joblib may batch a forest's chunks together).
    assert len(grown) >= 2 * 4


class _DieDuringTreeBuilding(distributed.WorkerPlugin):
    """Worker plugin: the worker process with ``pid`` kills itself while it grows a tree.

    It exits ``delay`` seconds after its ``after``-th tree-building task starts, so the kill
    lands in the middle of a running task (whose result Dask must compute again elsewhere)
    rather than while the client is fetching an earlier result from it. The replacement
    worker the nanny starts has another pid and keeps working.
    """

    name = "deepforest-test-die-during-tree-building"

    def __init__(self, pid: int, after: int, delay: float):
        self.pid, self.after, self.delay = pid, after, delay
        self.started = 0

    def setup(self, worker):
        self.worker = worker

    def transition(self, key, start, finish, **kwargs):
        if os.getpid() != self.pid or finish != "executing":
            return
        if "_grow_chunk" not in str(key):
            return
        self.started += 1
        if self.started == self.after:
            threading.Timer(self.delay, os._exit, args=(1,)).start()


def _wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)


def _process_gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_fit_survives_a_killed_worker(client):
    # Larger than the other tests' data, so that growing one tree takes a good fraction of a
    # second and the kill lands inside a task.
    X, y = make_classification(n_samples=20_000, n_features=20, n_informative=8, random_state=0)
    expected = CascadeForestClassifier(**PARAMS).fit(X, y).predict_proba(X)
    worker_pids = client.run(os.getpid)
    victim, victim_pid = sorted(worker_pids.items())[0]
    plugin = _DieDuringTreeBuilding(victim_pid, after=3, delay=0.1)
    client.register_plugin(plugin)
    result: dict = {}

    def fit() -> None:
        try:
            result["model"] = _fit_on_cluster(X, y, register_dask_backend())
        except BaseException as error:  # handed to the test thread
            result["error"] = error

    thread = threading.Thread(target=fit, daemon=True)
    thread.start()
    try:
        _wait_for(
            lambda: _process_gone(victim_pid) or not thread.is_alive(), 120, "the worker to die"
        )
        assert _process_gone(victim_pid), "the fit ended before the worker was killed"
        assert thread.is_alive(), "the fit ended before the worker was killed"
        _wait_for(
            lambda: victim not in client.scheduler_info()["workers"],
            60,
            f"the scheduler to drop worker {victim}",
        )
        thread.join(timeout=150)
        assert not thread.is_alive(), "the fit did not finish after the worker was killed"
    finally:
        client.unregister_worker_plugin(plugin.name)
    assert "error" not in result, f"the fit failed after the worker was killed: {result}"
    np.testing.assert_array_equal(result["model"].predict_proba(X), expected)
    # The nanny starts a replacement; leave the cluster as the other tests found it.
    client.wait_for_workers(N_WORKERS, timeout=120)
