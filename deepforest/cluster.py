"""Train on a Dask cluster through joblib, surviving the loss of a worker.

Everything the cascade runs in parallel goes through joblib, so joblib's own ``"dask"`` backend
already runs it on a cluster. That backend sends large arguments (the training matrix, the
targets) to the cluster with ``client.scatter`` and keeps one copy, on one worker. Such data has
no recipe Dask could recompute it from: if that worker dies, every task that needs it is
cancelled and the fit fails or waits forever, instead of Dask rescheduling the lost work.

The ``"dask-replicated"`` backend registered here is joblib's backend made to survive that:

- A batch whose data went down with a worker (Dask cancels it: "lost dependencies") is
  submitted once more with its arguments inside the task itself, where nothing can lose them;
  Dask reruns it on a surviving or replacement worker like any other lost task.
- A failure while a batch's arguments are scattered (the receiving worker killed meanwhile)
  leads to the same inline retry; a second failure reaches the caller as an error. joblib's
  backend drops such an error in the event loop, and its fit waits for a result that never
  comes.

Copying scattered data to every worker up front (``broadcast=True``) is no cure: when the first
worker to receive it dies, the scheduler retries the replication from the dead worker forever,
and the scatter never returns (measured on distributed 2026.8 with an external SIGKILL at the
start of a fit).

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

import asyncio
import concurrent.futures

import joblib

BACKEND_NAME = "dask-replicated"

# What a task cancelled by Dask (its data lost with a worker) resolves to.
_CANCELLED = (concurrent.futures.CancelledError, asyncio.CancelledError)


class _LostData(Exception):
    """Scattering a batch's arguments failed; the batch is retried with them inline."""


def _backend_class():
    # Imported on first use so that deepforest never needs Dask installed.
    from uuid import uuid4

    from ._private_imports import joblib_dask_backend

    DaskDistributedBackend, Batch, _TracebackCapturingWrapper = joblib_dask_backend()

    class ReplicatedDaskBackend(DaskDistributedBackend):
        """joblib's Dask backend that retries, inline, a batch whose scattered data is lost."""

        def get_nested_backend(self):
            return ReplicatedDaskBackend(client=self.client), -1

        def __reduce__(self):
            return (ReplicatedDaskBackend, ())

        def submit(self, func, callback=None):
            outcome = concurrent.futures.Future()
            outcome.get = outcome.result  # the AsyncResult interface joblib expects

            def attempt(inline: bool) -> None:
                def on_result(result) -> None:
                    # A cancelled task comes back as a result holding the CancelledError.
                    if not inline and isinstance(result, _CANCELLED):
                        attempt(inline=True)
                        return
                    outcome.set_result(result)
                    if callback is not None:
                        callback(result)

                def on_error(error: BaseException) -> None:
                    if not inline and isinstance(error, (_LostData, *_CANCELLED)):
                        attempt(inline=True)
                    else:
                        outcome.set_exception(error)

                self.client.loop.add_callback(self._submit_batch, func, inline, on_result, on_error)

            attempt(inline=False)
            return outcome

        async def _submit_batch(self, func, inline, on_result, on_error) -> None:
            try:
                if inline:
                    tasks = [(f, list(args), dict(kwargs)) for f, args, kwargs in func.items]
                    batch = Batch(tasks)
                else:
                    batch, tasks = await self._to_func_args(func)
                dask_future = self.client.submit(
                    _TracebackCapturingWrapper(batch),
                    tasks=tasks,
                    key=f"{batch!r}-{uuid4().hex}",
                    **self.submit_kwargs,
                )
            except Exception as error:
                # The scatter failed (its worker died): retry inline, once.
                if inline:
                    on_error(error)
                else:
                    on_error(_LostData(error))
                return
            # joblib's collector sets an error on this future, or a result and then calls
            # on_result; only the error needs passing on from here.
            collected = concurrent.futures.Future()
            collected.add_done_callback(
                lambda done: done.exception() is not None and on_error(done.exception())
            )
            self.waiting_futures.add(dask_future)
            self._callbacks[dask_future] = on_result
            self._results[dask_future] = collected

    return ReplicatedDaskBackend


def _make_backend(*args, **kwargs):
    return _backend_class()(*args, **kwargs)


def register_dask_backend(name: str = BACKEND_NAME) -> str:
    """Register the Dask backend that survives the loss of a worker, under ``name``.

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
