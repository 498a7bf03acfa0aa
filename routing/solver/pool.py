"""Where a large solve's parts run: forked local processes or a Dask cluster.

:func:`open_pool` gives :mod:`routing.solver.decompose` one thing to submit
parts to, whichever runs them; the decomposition submits and collects the
same way on both:

* **local** (no scheduler): ``workers`` forked processes; the travel model
  reaches them through the fork (the pool's initializer), never pickled.
* **Dask** (a scheduler address such as ``tcp://host:8786``): a
  ``distributed.Client`` of that scheduler. The travel model is scattered to
  every worker once per solve and each part refers to it, so it is not sent
  with each part. ``"local"`` starts a ``LocalCluster`` of ``workers``
  single-threaded processes for the one solve.
* **inside a Dask task** (a simulated day or a service job that runs on a
  cluster): a Dask worker is a daemon process and may not fork a pool, so
  the parts go to the task's own cluster through ``worker_client``; the task
  gives its thread back while they run, so the parts never wait for the task
  that waits for them.

Submitting never raises: a part that cannot be submitted (a local pool
broken by a dead worker) gets a future that fails, and the caller reports
that part by name. Dask itself runs a part whose worker died again elsewhere
(up to ``distributed.scheduler.allowed-failures`` times) before it fails.

The workers of a cluster must have milepost installed (the parts are
``routing.solver.decompose`` functions, sent by reference).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import resource
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any, Protocol

from routing.travel import TravelModel

__all__ = [
    "LOCAL_CLUSTER",
    "PartPool",
    "Pending",
    "SchedulerUnreachable",
    "open_pool",
]

#: The scheduler "address" that starts a Dask ``LocalCluster`` for one solve.
LOCAL_CLUSTER = "local"
#: Seconds to wait for a scheduler to answer before giving up.
CONNECT_TIMEOUT = 10


class SchedulerUnreachable(OSError):
    """No Dask scheduler answered at the address given."""


class Pending(Protocol):
    """A submitted part: ``result()`` waits for it (or raises its failure)."""

    def result(self) -> Any: ...


class PartPool:
    """What parts are submitted to; made by :func:`open_pool`.

    ``where`` says where the parts run (for the result and the CLI);
    ``peak_rss_mib`` holds, once the pool is closed, the peak resident memory
    of its processes by name (``"workers (largest)"`` for local processes;
    each worker and ``"scheduler"`` on Dask, except a ``LocalCluster``'s
    scheduler, which runs in the caller's process).
    """

    def __init__(self, where: str, submit: Callable[..., Pending]) -> None:
        self.where = where
        self._submit = submit
        self.peak_rss_mib: dict[str, float] = {}

    def submit(self, fn: Callable[..., Any], *args: Any) -> Pending:
        """Run ``fn(*args)`` on the pool (``fn`` must take ``travel=``)."""
        try:
            return self._submit(fn, *args)
        except Exception as exc:  # reported by the caller with the part's name
            failed: Future[Any] = Future()
            failed.set_exception(exc)
            return failed


def peak_rss_mib(who: int = resource.RUSAGE_SELF) -> float:
    """Peak resident memory of this process (or its reaped children), MiB."""
    return round(resource.getrusage(who).ru_maxrss / 1024.0, 1)


@contextlib.contextmanager
def open_pool(
    scheduler: str | None,
    workers: int,
    travel: TravelModel,
    initializer: Callable[[TravelModel], None],
) -> Iterator[PartPool]:
    """The pool a large solve submits its parts to (module docstring).

    Parameters
    ----------
    scheduler
        A Dask scheduler address, :data:`LOCAL_CLUSTER`, or ``None`` for
        local processes (or the task's own cluster inside a Dask task).
    workers
        Local processes, or the processes of a :data:`LOCAL_CLUSTER`.
    travel
        The travel model every part is timed with.
    initializer
        Called with ``travel`` in each local process.

    Raises
    ------
    SchedulerUnreachable
        When no scheduler answers at ``scheduler``.
    """
    task = _dask_task()
    if scheduler is None and task is None:
        with _local(workers, travel, initializer) as pool:
            yield pool
        return
    with _dask(scheduler, workers, task) as (client, where):
        here = scheduler == LOCAL_CLUSTER and task is None
        future = client.scatter(travel, broadcast=True, hash=False)

        def submit(fn: Callable[..., Any], *args: Any) -> Pending:
            pending: Pending = client.submit(fn, *args, travel=future, pure=False)
            return pending

        pool = PartPool(where, submit)
        try:
            yield pool
        finally:
            pool.peak_rss_mib = _cluster_peaks(client, scheduler_here=here)
            future.release()


@contextlib.contextmanager
def _local(
    workers: int, travel: TravelModel, initializer: Callable[[TravelModel], None]
) -> Iterator[PartPool]:
    context = multiprocessing.get_context("fork")
    n = max(1, workers)
    with ProcessPoolExecutor(
        max_workers=n,
        mp_context=context,
        initializer=initializer,
        initargs=(travel,),
    ) as executor:
        pool = PartPool(f"{n} local processes", executor.submit)
        yield pool
    # Children's peak memory is known once they are reaped.
    pool.peak_rss_mib = {"workers (largest)": peak_rss_mib(resource.RUSAGE_CHILDREN)}


def _dask_task() -> Any:
    """The Dask worker this code runs a task on, or ``None``."""
    if "distributed" not in sys.modules:  # no Dask here: not a task either
        return None
    from distributed import get_worker

    try:
        return get_worker()
    except ValueError:
        return None


@contextlib.contextmanager
def _dask(scheduler: str | None, workers: int, task: Any) -> Iterator[tuple[Any, str]]:
    """A client of the cluster, and where the parts run, in words."""
    from distributed import Client, LocalCluster, worker_client
    from distributed.comm.addressing import normalize_address

    if task is not None and (
        scheduler is None
        or normalize_address(scheduler) == normalize_address(task.scheduler.address)
    ):
        # The task's own cluster: give the thread back while the parts run.
        with worker_client() as client:
            yield client, f"Dask at {task.scheduler.address} (this task's cluster)"
        return
    assert scheduler is not None
    if scheduler == LOCAL_CLUSTER:
        n = max(1, workers)
        cluster = LocalCluster(  # type: ignore[no-untyped-call]
            n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None
        )
        with cluster, Client(cluster, set_as_default=False) as client:  # type: ignore[no-untyped-call]
            yield client, f"a Dask LocalCluster of {n} processes (scheduler here)"
        return
    try:
        client = Client(  # type: ignore[no-untyped-call]
            scheduler, set_as_default=False, timeout=CONNECT_TIMEOUT
        )
    except OSError as exc:
        raise SchedulerUnreachable(
            f"no Dask scheduler at {scheduler!r}: {exc}"
        ) from None
    with client:
        yield client, f"Dask at {scheduler}"


def _cluster_peaks(client: Any, *, scheduler_here: bool) -> dict[str, float]:
    """Peak memory of the scheduler (unless it is this process) and of each
    worker; a cluster that does not answer is named instead."""
    try:
        workers = client.run(peak_rss_mib)
        scheduler = None if scheduler_here else client.run_on_scheduler(peak_rss_mib)
    except Exception as exc:  # measuring must not cost the plan
        return {f"unmeasured ({type(exc).__name__})": 0.0}
    peaks = {} if scheduler is None else {"scheduler": float(scheduler)}
    for k, (_, mib) in enumerate(sorted(workers.items())):
        peaks[f"worker {k + 1}"] = float(mib)
    return peaks
