"""Train on a Dask cluster through joblib, surviving the loss of a worker.

Everything the cascade runs in parallel goes through joblib, so joblib's own ``"dask"`` backend
already runs it on a cluster. That backend sends large arguments (the training matrix, the
targets) to the cluster with ``client.scatter`` and keeps one copy, on one worker. Such data has
no recipe Dask could recompute it from: if that worker dies, every task that needs it is
cancelled and the fit fails or waits forever, instead of Dask rescheduling the lost work.

The ``"dask-replicated"`` backend registered here is joblib's backend with one change: scattered
arguments are copied to every worker (``broadcast=True``). Losing a worker then loses only
running tasks, which Dask reruns on the others, and a replacement worker fetches the data from
a survivor. Each worker receives the data once per parallel call, about what the tasks of a
forest would fetch anyway.

Usage::

    import joblib
    from distributed import Client
    from deepforest.cluster import register_dask_backend

    client = Client("tcp://scheduler:8786")
    register_dask_backend()
    with joblib.parallel_backend("dask-replicated"):
        model.fit(X, y)
"""

from __future__ import annotations

import joblib

BACKEND_NAME = "dask-replicated"


class _BroadcastingClient:
    """A Dask client whose ``scatter`` copies data to all workers; all else is the client's."""

    def __init__(self, client):
        self._client = client

    def scatter(self, data, *args, **kwargs):
        kwargs["broadcast"] = True
        return self._client.scatter(data, *args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._client, name)


def _backend_class():
    # Imported on first use so that deepforest never needs Dask installed.
    from joblib._dask import DaskDistributedBackend

    class ReplicatedDaskBackend(DaskDistributedBackend):
        """joblib's Dask backend with every scattered argument copied to all workers."""

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            if not isinstance(self.client, _BroadcastingClient):
                self.client = _BroadcastingClient(self.client)

        def get_nested_backend(self):
            return ReplicatedDaskBackend(client=self.client), -1

        def __reduce__(self):
            return (ReplicatedDaskBackend, ())

    return ReplicatedDaskBackend


def _make_backend(*args, **kwargs):
    return _backend_class()(*args, **kwargs)


def register_dask_backend(name: str = BACKEND_NAME) -> str:
    """Register the replicating Dask backend with joblib under ``name``.

    The backend takes the arguments of joblib's ``"dask"`` backend (``client=``,
    ``scheduler_host=``, ``scatter=``, ...); without ``client`` it uses the current Dask client.

    Parameters
    ----------
    name : str, default="dask-replicated"
        The name to pass to ``joblib.parallel_backend`` or ``joblib.parallel_config``.

    Returns
    -------
    str
        The registered name.
    """
    joblib.register_parallel_backend(name, _make_backend)
    return name
