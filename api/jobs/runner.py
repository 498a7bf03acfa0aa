"""The job runner: claims queued jobs and runs them off the request thread.

**Where jobs run.** The runner's threads (``Settings.job_workers``) claim
queued rows (``UPDATE ... WHERE status = 'queued'``: two runners never take
the same job), parse the stored payload into its kind's model (a payload
that does not fit fails the job, naming the field) and hand the kind's
function to a process pool (``forkserver``, or ``spawn`` where there is
none): a crash or a long solve never blocks the server, and the solver may
fork helpers of its own. Progress comes back through a multiprocessing
queue and is written a few times a second at most. With
``Settings.dask_scheduler`` (``MILEPOST_DASK_SCHEDULER``) the function runs
on that Dask cluster instead; progress is then coarse (start, end).

**Nothing accepted is lost.** ``attempts`` counts how often a job was
started. A runner holds the jobs it claimed by a lease: its id on the row
(:mod:`api.jobs.holders`) and a heartbeat it renews every second or so while
the job runs. A job whose runner died is still ``running`` in the database;
any runner re-queues it once the lease has lapsed
(``Settings.job_lease_seconds``), or at once when the dead runner was on the
same host, or marks it ``failed`` ("interrupted by server restarts 3 times")
once it has been started :data:`MAX_ATTEMPTS` times. A worker process that
dies (out of memory, a crash in native code) counts the same way. A graceful
shutdown re-queues the jobs it interrupts without counting them. The pool's
processes end when the service process dies, even by ``kill -9``
(:mod:`api.jobs.lifeline`). A function that
raises ends ``failed`` with a public reason (:func:`public_reason`): the
message of the domain's own errors (an infeasible plan, an unreachable
address, a bad scenario), else only "an internal error"; the exception's
type, text and traceback go to the log with the job id. So does a result that
cannot be stored or a hook that fails (the result is kept).

**Several runners, one database.** API processes (``serve --workers N``) and
``milepost worker`` processes may all run jobs against one database: a claim
takes a job exactly once (``SKIP LOCKED`` on PostgreSQL, a conditional update
everywhere); a runner stores a result, progress or a re-queue only while it
still holds the job, so a job re-queued behind its back (a lapsed lease) is
stopped there, not finished twice. A cancelled job is seen by the runner
holding it within a second, whichever process cancelled it.
"""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import logging
import multiprocessing
import os
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from pydantic import BaseModel
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from api.db import jobs as job_rows
from api.db.base import utcnow
from api.db.tables_jobs import JobRow
from api.jobs import holders, lifeline
from api.jobs.handlers import Progress
from api.jobs.kinds import AnyKind, JobKinds, MalformedJob, UnknownJobKind

__all__ = ["MAX_ATTEMPTS", "JobHook", "JobRunner", "public_reason"]

log = logging.getLogger("milepost.jobs")

#: A hook run in the service process when a job succeeds (``OnSuccess``).
JobHook = Callable[[Session, JobRow], None]
JobFunction = Callable[[Any, Progress], Any]

#: A job started this many times without finishing is failed, not re-queued.
MAX_ATTEMPTS = 3


# --- what runs in the worker process --------------------------------------------------

#: The progress queue of a pool process, set there by :func:`_init_child` (the
#: only way to hand a process pool's workers a multiprocessing queue). Never
#: set in the service process.
_CHILD_QUEUE: Any = None
#: A worker process sends at most this many progress messages per second.
_CHILD_RATE = 10.0


def _init_child(progress_queue: Any, service_pid: int) -> None:
    global _CHILD_QUEUE  # one queue per worker process
    _CHILD_QUEUE = progress_queue
    lifeline.watch(service_pid)  # a kill -9 of the service ends this worker too


def _run_in_child(fn: JobFunction, payload: BaseModel, job_id: str) -> Any:
    """Run ``fn`` in a pool process, sending throttled progress home."""
    last = 0.0

    def progress(share: float, message: str = "") -> None:
        nonlocal last
        now = time.monotonic()
        if _CHILD_QUEUE is None or now - last < 1.0 / _CHILD_RATE:
            return
        last = now
        _CHILD_QUEUE.put((job_id, float(share), str(message)[:500]))

    return fn(payload, progress)


def _no_progress(share: float, message: str = "") -> None:
    """Progress callback of jobs on Dask (the runner reports start and end)."""


# --- the runner ---------------------------------------------------------------


class _Interrupted(Exception):
    """The runner is stopping while the job runs."""


class _Cancelled(Exception):
    """The job was cancelled while it ran."""


class JobRunner:
    """Claims queued jobs and runs them in a process pool or on Dask.

    Parameters
    ----------
    sessions
        Session factory of the service's database.
    kinds
        The registry of job kinds (:func:`api.jobs.kinds.default_kinds`).
    hooks
        Run when a job succeeds, by kind name (``OnSuccess`` objects).
    workers
        Jobs run at once (threads here; processes in the pool).
    dask_scheduler
        Address of a Dask scheduler; None runs jobs in the local pool.
    poll_interval
        Seconds between looks at the queue when nobody wakes the runner (a
        job submitted by another process is seen within this time).
    progress_interval
        Least seconds between two progress writes of one job.
    lease_seconds
        A running job whose runner has not renewed its lease for this long
        is re-queued by any runner (renewed every ``lease_seconds / 10``
        seconds, at most every second).
    """

    def __init__(
        self,
        sessions: sessionmaker[Session],
        *,
        kinds: JobKinds,
        hooks: Sequence[tuple[str, JobHook]] = (),
        workers: int = 1,
        dask_scheduler: str | None = None,
        poll_interval: float = 1.0,
        progress_interval: float = 0.25,
        lease_seconds: float = 30.0,
    ) -> None:
        self.sessions = sessions
        self.kinds = kinds
        self.hooks: dict[str, list[JobHook]] = {}
        for name, hook in hooks:
            self.hooks.setdefault(name, []).append(hook)
        self.workers = max(1, workers)
        self.dask_scheduler = dask_scheduler
        self.poll_interval = poll_interval
        self.progress_interval = progress_interval
        self.lease_seconds = lease_seconds
        #: This runner's id on the jobs it holds (new at every start).
        self.worker_id = holders.this_runner()
        self._running: set[str] = set()
        self._cancelled: set[str] = set()
        self._stopping = threading.Event()
        self._wakeup = threading.Event()
        self._check_leases = threading.Event()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._recovered = False
        self._pool: concurrent.futures.ProcessPoolExecutor | None = None
        self._dask: Any = None
        context = multiprocessing.get_all_start_methods()
        self._context = multiprocessing.get_context(
            "forkserver" if "forkserver" in context else "spawn"
        )
        if self._context.get_start_method() == "forkserver":
            self._context.set_forkserver_preload(lifeline.preload_modules())
        self._progress: Any = None

    # -- life cycle ---------------------------------------------------------------

    def start(self) -> None:
        """Recover interrupted jobs, then start claiming queued ones.

        A database that is down at startup does not stop the service (``/readyz``
        reports it): the workers recover the interrupted jobs once it answers,
        before they claim any.
        """
        self.worker_id = holders.this_runner()
        self._try_recover()
        self._stopping.clear()
        self._threads.append(
            threading.Thread(target=self._keep_leases, name="jobs-lease", daemon=True)
        )
        if self.dask_scheduler is None:
            self._progress = self._context.Queue()
            self._threads.append(
                threading.Thread(
                    target=self._write_progress, name="jobs-progress", daemon=True
                )
            )
        self._threads += [
            threading.Thread(target=self._work, name=f"jobs-{i}", daemon=True)
            for i in range(self.workers)
        ]
        for thread in self._threads:
            thread.start()
        log.info(
            "job runner started",
            extra={
                "workers": self.workers,
                "dask": self.dask_scheduler,
                "runner": self.worker_id,
            },
        )

    def stop(self, timeout: float = 10.0) -> None:
        """Stop claiming; re-queue the jobs being run; end the workers."""
        self._stopping.set()
        self._wakeup.set()
        self._check_leases.set()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            if thread.name != "jobs-progress":
                thread.join(max(0.0, deadline - time.monotonic()))
        self._close_pool()
        if self._progress is not None:
            self._progress.put(None)
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        self._threads = []
        self._recovered = False
        if self._progress is not None:
            self._progress.close()
            self._progress.join_thread()
            self._progress = None
        if self._dask is not None:
            self._dask.close()
            self._dask = None

    def wake(self) -> None:
        """Look at the queue now (a job was just submitted)."""
        self._wakeup.set()

    def notified(self) -> None:
        """Some process queued, re-queued or cancelled a job: look at once.

        Subscribed to the database's job notifications
        (:data:`api.db.notify.JOBS`); without them the runner polls.
        """
        self._wakeup.set()
        self._check_leases.set()

    def cancel(self, job_id: str) -> None:
        """Stop job ``job_id`` if this runner runs it (its row says cancelled).

        Its worker process is ended (the pool is rebuilt for the next job).
        """
        with self._lock:
            if job_id in self._running:
                self._cancelled.add(job_id)

    def recover(self) -> list[str]:
        """Re-queue (or fail) the running jobs whose runner is gone.

        Gone: its lease lapsed, or it was on this host and its process has
        ended. Jobs held by live runners (this one too) are left alone.

        Returns
        -------
        list[str]
            Ids of the jobs re-queued or failed.
        """
        lapsed = utcnow() - dt.timedelta(seconds=self.lease_seconds)
        with self.sessions.begin() as session:
            return job_rows.recover_running(
                session,
                max_attempts=MAX_ATTEMPTS,
                lapsed_before=lapsed,
                is_dead=holders.is_dead,
            )

    # -- leases ------------------------------------------------------------------

    def _keep_leases(self) -> None:
        """Renew this runner's leases; stop jobs it lost; recover abandoned ones.

        Every ``lease_seconds / 10`` (at most a second) the leases of the
        jobs running here are renewed in one statement; a job no longer held
        (cancelled by any process, or re-queued by a runner that took this
        one for dead) is stopped. Every third of a lease, jobs abandoned by
        dead runners are re-queued.
        """
        beat = min(1.0, self.lease_seconds / 10)
        last_recovery = time.monotonic()
        while not self._stopping.is_set():
            self._check_leases.wait(beat)
            self._check_leases.clear()
            if self._stopping.is_set():
                break
            with self._lock:
                running = set(self._running - self._cancelled)
            try:
                if running:
                    with self.sessions.begin() as session:
                        held = job_rows.renew_leases(
                            session, worker=self.worker_id, job_ids=running
                        )
                    lost = running - held
                    if lost:
                        log.info("jobs %s no longer held here: stopping", sorted(lost))
                        with self._lock:
                            self._cancelled |= lost & self._running
                if time.monotonic() - last_recovery >= self.lease_seconds / 3:
                    last_recovery = time.monotonic()
                    if self.recover():
                        self.wake()
            except SQLAlchemyError:
                log.warning("job leases not renewed (database unreachable)")

    # -- claiming and running ---------------------------------------------------

    def _try_recover(self) -> bool:
        """Recover once per start; False while the database is unreachable."""
        with self._lock:
            if self._recovered:
                return True
            try:
                self.recover()
            except SQLAlchemyError:
                log.warning("database unreachable: job recovery postponed")
                return False
            self._recovered = True
            return True

    def _work(self) -> None:
        while not self._stopping.is_set():
            if not self._try_recover():
                self._wakeup.wait(self.poll_interval)
                self._wakeup.clear()
                continue
            try:
                job_id = self._claim()
            except SQLAlchemyError:
                log.exception("could not claim a job; retrying")
                job_id = None
            if job_id is None:
                self._wakeup.wait(self.poll_interval)
                self._wakeup.clear()
                continue
            with self._lock:  # from here on a cancel reaches this job
                self._running.add(job_id)
            try:
                self._run(job_id)
            except Exception:
                # Never let a database hiccup kill the worker thread; the job
                # stays running and the next start re-queues it.
                log.exception("job %s: runner error", job_id)
            finally:
                with self._lock:
                    self._running.discard(job_id)
                    self._cancelled.discard(job_id)

    def _claim(self) -> str | None:
        """Take the oldest queued job (atomically); its id, or None."""
        with self.sessions() as session:
            return job_rows.claim_next(session, worker=self.worker_id)

    def _run(self, job_id: str) -> None:
        with self.sessions() as session:
            row = job_rows.get_job(session, job_id=job_id)
            if row is None or row.status != "running":
                return  # cancelled between its claim and now
            name, data, attempts = row.kind, row.payload, row.attempts
        try:
            kind = self.kinds.get(name)
            payload = kind.parse_payload(data)
        except (UnknownJobKind, MalformedJob) as exc:
            log.error("job %s (%s) refused: %s", job_id, name, exc)
            self._fail(job_id, _describe(exc))
            return
        log.info("job %s (%s) started, attempt %d", job_id, name, attempts)
        try:
            result = self._execute(kind.run, payload, job_id)
        except _Interrupted:
            self._requeue(job_id, "re-queued: the server stopped while it ran", -1)
            return
        except _Cancelled:
            log.info("job %s (%s) cancelled; its worker was stopped", job_id, name)
            return
        except BrokenProcessPool as exc:
            self._lost_worker(job_id, attempts, exc)
            return
        except Exception as exc:
            log.warning(
                "job %s (%s) failed: %s", job_id, name, _describe(exc), exc_info=exc
            )
            self._fail(job_id, public_reason(name, exc))
            return
        self._succeed(job_id, kind, result)

    def _lost_worker(self, job_id: str, attempts: int, exc: BrokenProcessPool) -> None:
        """The job's worker process died: re-queue it, or fail it at the limit."""
        self._reset_pool()
        if attempts >= MAX_ATTEMPTS:
            why = f"its worker process died {attempts} times ({exc})"
            self._fail(job_id, f"{type(exc).__name__}: {why}")
        else:
            self._requeue(job_id, "re-queued: its worker process died", 0)

    def _execute(self, fn: JobFunction, payload: BaseModel, job_id: str) -> Any:
        if self.dask_scheduler is not None:
            return self._execute_on_dask(fn, payload, job_id)
        future = self._get_pool().submit(_run_in_child, fn, payload, job_id)
        while True:
            try:
                return future.result(timeout=0.25)
            except concurrent.futures.TimeoutError:
                if self._stopping.is_set():
                    future.cancel()
                    raise _Interrupted from None
                if job_id in self._cancelled:
                    self._close_pool()  # ends the worker mid-solve
                    raise _Cancelled from None

    def _execute_on_dask(self, fn: JobFunction, payload: BaseModel, job_id: str) -> Any:
        client = self._get_dask()
        self._write_one(job_id, 0.0, f"running on Dask at {self.dask_scheduler}")
        future = client.submit(fn, payload, _no_progress, pure=False)
        try:
            while not future.done():
                if self._stopping.is_set():
                    future.cancel()
                    raise _Interrupted
                if job_id in self._cancelled:
                    future.cancel()
                    raise _Cancelled
                time.sleep(0.1)
            return future.result()
        finally:
            future.release()

    def _get_pool(self) -> concurrent.futures.ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                # The forkserver (started with the first pool) watches us too.
                os.environ[lifeline.ENV] = str(os.getpid())
                self._pool = concurrent.futures.ProcessPoolExecutor(
                    max_workers=self.workers,
                    mp_context=self._context,
                    initializer=_init_child,
                    initargs=(self._progress, os.getpid()),
                )
            return self._pool

    def _get_dask(self) -> Any:
        with self._lock:
            if self._dask is None:
                from distributed import Client

                self._dask = Client(  # type: ignore[no-untyped-call]
                    self.dask_scheduler, set_as_default=False, timeout=10
                )
            return self._dask

    def _reset_pool(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)

    def _close_pool(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is None:
            return
        # A solve may run for minutes; its job is re-queued already, so the
        # worker processes are ended rather than waited for.
        processes = list((getattr(pool, "_processes", None) or {}).values())
        pool.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            if process.is_alive():
                process.terminate()

    # -- writing outcomes ------------------------------------------------------

    def _succeed(self, job_id: str, kind: AnyKind, result: Any) -> None:
        try:
            data = kind.dump_result(result)
        except MalformedJob as exc:
            self._fail(job_id, f"TypeError: {exc}")
            return
        try:
            with self.sessions.begin() as session:
                row = job_rows.mark_succeeded(
                    session, job_id=job_id, result=data, worker=self.worker_id
                )
                if row is None:
                    return
                for hook in self.hooks.get(kind.name, []):
                    hook(session, row)
        except Exception as exc:
            log.exception(
                "job %s (%s): storing the result failed: %s",
                job_id,
                kind.name,
                _describe(exc),
            )
            self._fail(job_id, f"storing the result failed: {_INTERNAL}", data)
            return
        log.info("job %s (%s) succeeded", job_id, kind.name)

    def _fail(
        self, job_id: str, error: str, result: dict[str, Any] | None = None
    ) -> None:
        with self.sessions.begin() as session:
            job_rows.mark_failed(
                session,
                job_id=job_id,
                error=error,
                result=result,
                worker=self.worker_id,
            )

    def _requeue(self, job_id: str, message: str, attempts_delta: int) -> None:
        with self.sessions.begin() as session:
            job_rows.requeue(
                session,
                job_id=job_id,
                message=message,
                attempts_delta=attempts_delta,
                worker=self.worker_id,
            )
        self.wake()

    # -- progress ------------------------------------------------------------------

    def _write_progress(self) -> None:
        """Drain the progress queue; write each job's latest news, throttled."""
        pending: dict[str, tuple[float, str]] = {}
        last_write = 0.0
        stopping = False
        while not stopping:
            try:
                item = self._progress.get(timeout=self.progress_interval)
            except queue.Empty:
                item = ()
            except (EOFError, OSError):
                return
            if item is None:
                stopping = True
            elif item:
                job_id, share, message = item
                pending[job_id] = (share, message)
            now = time.monotonic()
            if pending and (stopping or now - last_write >= self.progress_interval):
                for job_id, (share, message) in pending.items():
                    try:
                        self._write_one(job_id, share, message)
                    except SQLAlchemyError:
                        log.warning("job %s: progress not written", job_id)
                pending.clear()
                last_write = now

    def _write_one(self, job_id: str, share: float, message: str) -> None:
        with self.sessions.begin() as session:
            job_rows.write_progress(
                session,
                job_id=job_id,
                share=share,
                message=message,
                worker=self.worker_id,
            )


#: Packages whose own exception types carry messages meant for the client.
_PUBLIC_PACKAGES = frozenset({"routing", "forecasting", "scenarios", "tracking"})
#: What a client reads when the reason is not theirs to see.
_INTERNAL = "an internal error (the server log has it under the job id)"
_WHAT = {
    "plan": "the plan could not be made",
    "reoptimize": "the plan could not be re-optimised",
    "forecast": "the forecast could not be made",
    "scenario": "the scenarios could not be compared",
    "retention_fit": "the retention effect could not be fitted",
}


def public_reason(kind: str, exc: BaseException) -> str:
    """What a failed job tells its client: safe to show anyone who may read it.

    The domain's own errors (exception types of :data:`_PUBLIC_PACKAGES` and of
    :mod:`api.jobs`) explain the input ("the plan could not be made: the
    search found no feasible plan ..."); anything else (a bug, a driver or
    library error) is only "an internal error", its text left to the log.
    """
    what = _WHAT.get(kind, f"the {kind} job failed")
    module = type(exc).__module__
    public = module.split(".")[0] in _PUBLIC_PACKAGES or module.startswith("api.jobs")
    text = " ".join(str(exc).split())[:1000]
    return f"{what}: {text}" if public and text else f"{what}: {_INTERNAL}"


def _describe(exc: BaseException) -> str:
    """``"ValueError: the reason"``: what a failed job reports."""
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
