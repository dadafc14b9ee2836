"""Training through a real Dask cluster: same model as local training, even when a worker dies.

The cascade hands its trees out through joblib in fixed chunks (each task grows its trees and
scores their out-of-bag rows), so inside ``joblib.parallel_backend("dask")`` the trees grow on
the cluster's worker processes. Every tree's seed is drawn before any work is dispatched, so the
result does not depend on where it ran.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time

import joblib
import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, make_classification

dask = pytest.importorskip(
    "dask", reason="Dask is not installed: pip install 'deep-forest-learn[dask]'"
)
distributed = pytest.importorskip(
    "distributed",
    reason="Dask distributed is not installed: pip install 'deep-forest-learn[dask]'",
)
psutil = pytest.importorskip("psutil", reason="psutil (a dependency of distributed) is missing")

from deepforest import CascadeForestClassifier  # noqa: E402
from deepforest.cluster import register_dask_backend  # noqa: E402

# Workers start, train and stop well within this; a hang must fail rather than block CI.
# Slow: trains on a real local Dask cluster.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

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


@contextlib.contextmanager
def _local_cluster():
    """A client of a fresh two-worker cluster on the loopback interface."""
    # On a busy machine a worker process can take minutes to start and connect: the default
    # 30 s connect timeout made a replacement worker give up, and the nanny never retried.
    with dask.config.set({"distributed.comm.timeouts.connect": "600s"}):
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
            client.wait_for_workers(N_WORKERS, timeout=1500)
            yield client
        finally:
            client.close()
            cluster.close()


@pytest.fixture(scope="module")
def client():
    with _local_cluster() as client:
        yield client


@pytest.fixture
def fresh_client():
    """A cluster of its own for a test that kills a worker: no test waits on a replacement."""
    with _local_cluster() as client:
        yield client


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


class _HoldTreeBuilding(distributed.WorkerPlugin):
    """Worker plugin: the worker with ``pid`` stalls as its ``after``-th tree-building task starts.

    It writes ``marker`` and then blocks its event loop, so the test's external SIGKILL lands
    while the worker holds a running task (which Dask must compute again elsewhere), however
    busy the machine. The replacement worker the nanny starts has another pid.
    """

    name = "deepforest-test-hold-tree-building"

    def __init__(self, pid: int, after: int, marker: str):
        self.pid, self.after, self.marker = pid, after, marker
        self.started = 0

    def transition(self, key, start, finish, **kwargs):
        if os.getpid() != self.pid or finish != "executing" or "_grow_chunk" not in str(key):
            return
        self.started += 1
        if self.started == self.after:
            with open(self.marker, "w") as marker:
                marker.write("holding")
            time.sleep(3600)  # until killed


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


@pytest.fixture(scope="module")
def larger_data():
    # Larger than the other tests' data, so that growing one tree takes a good fraction of a
    # second, and the expected model from a local fit.
    X, y = make_classification(n_samples=20_000, n_features=20, n_informative=8, random_state=0)
    return X, y, CascadeForestClassifier(**PARAMS).fit(X, y).predict_proba(X)


# When the worker dies: as the fit starts (while the first arguments are scattered: with them
# copied to every worker, the scheduler retried copying from the dead worker forever), in its
# first tree-building task, and in its sixth (of about 16 a fit gives each worker).
@pytest.mark.parametrize("moment", ["start", 1, 6], ids=["at-start", "task-1", "task-6"])
def test_fit_survives_an_external_sigkill(fresh_client, larger_data, tmp_path, moment):
    client = fresh_client
    X, y, expected = larger_data
    victim_pid = min(client.run(os.getpid).values())
    marker = tmp_path / "holding"
    plugin = None
    if moment != "start":
        plugin = _HoldTreeBuilding(victim_pid, after=moment, marker=str(marker))
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
        if plugin is not None:
            _wait_for(
                lambda: marker.exists() or not thread.is_alive(),
                1500,
                "the worker to start the chosen task",
            )
            assert marker.exists(), f"the fit ended before the chosen task: {result}"
        os.kill(victim_pid, signal.SIGKILL)
        _wait_for(lambda: _process_gone(victim_pid), 1500, "the worker to die")
        # A hang guard, generous for a busy machine: the fit itself takes seconds.
        thread.join(timeout=1500)
        assert not thread.is_alive(), "the fit did not finish after the worker was killed"
    finally:
        if plugin is not None:
            client.unregister_worker_plugin(plugin.name)
    assert "error" not in result, f"the fit failed after the worker was killed: {result}"
    np.testing.assert_array_equal(result["model"].predict_proba(X), expected)


def test_a_cascade_with_layer_estimators_fits_on_the_cluster_as_it_does_locally(client, data):
    # The forests are grown on the workers; the layer estimators are fitted where the cascade
    # runs, with their own threads. The result is the same as a local fit.
    X, y = data
    params = {**PARAMS, "layer_estimators": ["hist_gb"]}
    local = CascadeForestClassifier(**params).fit(X, y).predict_proba(X)
    with joblib.parallel_backend("dask"):
        remote = CascadeForestClassifier(**params).fit(X, y)
    np.testing.assert_array_equal(remote.predict_proba(X), local)
