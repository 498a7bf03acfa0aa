"""Background jobs: solves and scenario runs, off the request thread.

A *kind* of job is a pure, picklable, module-level function registered with
:func:`register`::

    @register("plan", url="/v1/plans/{id}")
    def solve_plan(payload: dict[str, Any], progress: Progress) -> dict[str, Any]:
        progress(0.5, "half way")
        return {"plan": ...}

It gets the JSON payload the job was submitted with and a ``progress(share,
message)`` callback, and returns a JSON-ready dict. It runs in another
process (or on a Dask cluster) and must not touch the database; what the
service does with the result (store a plan, move orders) is an
:func:`on_success` hook, which runs in the service process inside the
transaction that marks the job ``succeeded``.

A route calls :func:`submit`; the row is ``queued`` and the :class:`JobRunner`
of the service picks it up once the request's transaction commits.

**Where jobs run.** The runner's threads (``Settings.job_workers``) claim
queued rows (``UPDATE ... WHERE status = 'queued'``: two runners never take
the same job) and hand the function to a process pool (``forkserver``, or
``spawn`` where there is none): a crash or a long solve never blocks the
server, and the solver may fork helpers of its own. Progress comes back
through a multiprocessing queue and is written a few times a second at most.
With ``Settings.dask_scheduler`` (``MILEPOST_DASK_SCHEDULER``) the function
runs on that Dask cluster instead; progress is then coarse (start, end).

**Nothing accepted is lost.** ``attempts`` counts how often a job was
started. A job the runner was running when the process died is still
``running`` in the database: the next runner to start re-queues it, or marks
it ``failed`` ("interrupted by server restarts 3 times") once it has been
started :data:`MAX_ATTEMPTS` times. A worker process that dies (out of
memory, a crash in native code) counts the same way. A graceful shutdown
re-queues the jobs it interrupts without counting them. A function that
raises ends ``failed`` with the exception's type and message; so does a
result that cannot be stored or a hook that fails (the result is kept).

One process per database should run jobs: recovery at startup re-queues
every ``running`` job, including those another live runner holds. Start
further service processes with ``MILEPOST_JOB_WORKERS=0``.
"""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import json
import logging
import multiprocessing
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from fastapi import Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import event, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from api.db.base import utcnow
from api.db.tables_jobs import JobRow, new_id

__all__ = [
    "MAX_ATTEMPTS",
    "JobFunction",
    "JobHook",
    "JobPublic",
    "JobRow",
    "JobRunner",
    "JobStatus",
    "Progress",
    "job_public",
    "job_row",
    "kinds",
    "on_success",
    "queue_job",
    "register",
    "stored_result",
    "submit",
]

log = logging.getLogger("milepost.jobs")

JobStatus = Literal["queued", "running", "succeeded", "failed"]
Progress = Callable[[float, str], None]
JobFunction = Callable[[dict[str, Any], Progress], dict[str, Any]]
JobHook = Callable[[Session, JobRow], None]
F = TypeVar("F", bound=JobFunction)
H = TypeVar("H", bound=JobHook)
ModelT = TypeVar("ModelT", bound=BaseModel)

#: A job started this many times without finishing is failed, not re-queued.
MAX_ATTEMPTS = 3


# --- kinds and hooks ----------------------------------------------------------


@dataclass(frozen=True)
class _Kind:
    fn: JobFunction
    url: str | None


_KINDS: dict[str, _Kind] = {}
_HOOKS: dict[str, list[JobHook]] = {}


def register(kind: str, *, url: str | None = None) -> Callable[[F], F]:
    """Register a job function for ``kind`` (a decorator).

    Parameters
    ----------
    kind
        The job kind, e.g. ``"plan"``.
    url
        Where clients follow a job of this kind, with ``{id}`` for the job id
        (e.g. ``"/v1/plans/{id}"``); it becomes :attr:`JobPublic.url`.

    Returns
    -------
    Callable
        The decorator; it returns the function unchanged. The function must
        be defined at module level (it is pickled by name).
    """

    def decorate(fn: F) -> F:
        _KINDS[kind] = _Kind(fn=fn, url=url)
        return fn

    return decorate


def on_success(kind: str) -> Callable[[H], H]:
    """Register a hook run when a job of ``kind`` succeeds (a decorator).

    The hook gets the request-independent session of the runner and the job
    row (``result`` set); it runs inside the transaction that marks the job
    ``succeeded``, so its writes and the job's success commit together. If
    it raises, the job is ``failed`` with that error (its result is kept).
    """

    def decorate(hook: H) -> H:
        _HOOKS.setdefault(kind, []).append(hook)
        return hook

    return decorate


def kinds() -> list[str]:
    """The registered job kinds."""
    return sorted(_KINDS)


# --- rows and the public schema ---------------------------------------------------


def job_row(session: Session, job_id: str) -> JobRow | None:
    """The job with this id, if any."""
    return session.get(JobRow, job_id)


def submit(session: Session, kind: str, payload: dict[str, Any]) -> JobRow:
    """Queue a job; it starts once the session's transaction commits.

    Parameters
    ----------
    session
        Open session; the caller commits (a route's session commits when the
        route returns).
    kind
        A registered job kind.
    payload
        JSON-ready input of the job function.

    Returns
    -------
    JobRow
        The stored row (``id`` set, status ``queued``).

    Raises
    ------
    ValueError
        Unknown kind, or a payload that is not JSON.
    """
    if kind not in _KINDS:
        raise ValueError(f"unknown job kind {kind!r}; known: {', '.join(kinds())}")
    try:
        json.dumps(payload, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"the payload of a {kind} job is not JSON: {exc}") from None
    now = utcnow()
    row = JobRow(
        id=new_id(),
        kind=kind,
        status="queued",
        progress=0.0,
        message="queued",
        payload=payload,
        attempts=0,
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    session.flush()
    event.listen(session, "after_commit", _wake_runners, once=True)
    return row


class JobPublic(BaseModel):
    """A background job as clients see it."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    kind: str
    status: JobStatus
    progress: float = Field(ge=0.0, le=1.0, description="share done, 0 to 1")
    message: str = Field(description="what it is doing now")
    error: str | None = Field(
        default=None, description="why it failed: exception type and message"
    )
    created_at: dt.datetime
    finished_at: dt.datetime | None = None
    url: str | None = Field(default=None, description="where to follow it")

    @classmethod
    def from_row(cls, row: JobRow, url: str | None = None) -> JobPublic:
        """The public view of ``row``; ``url`` defaults to its kind's template."""
        return job_public(row, url)


def queue_job(
    session: Session, kind: str, payload: dict[str, Any], response: Response
) -> JobPublic:
    """:func:`submit` for a route: the job's public view, ``Location`` set."""
    public = job_public(submit(session, kind, payload))
    if public.url is not None:
        response.headers["Location"] = public.url
    return public


def stored_result(
    session: Session, job_id: str, kind: str, model: type[ModelT]
) -> tuple[JobRow, ModelT | None] | None:
    """A job of ``kind`` and its result as ``model`` (None: no such job).

    The result is None until the job succeeded, and when it was stored by
    another version of the service in a shape this one cannot read.
    """
    row = job_row(session, job_id)
    if row is None or row.kind != kind:
        return None
    if row.status != "succeeded" or row.result is None:
        return row, None
    try:
        return row, model.model_validate(row.result)
    except ValidationError:
        return row, None


def job_public(row: JobRow, url: str | None = None) -> JobPublic:
    """The public view of a job row (see :meth:`JobPublic.from_row`)."""
    if url is None:
        spec = _KINDS.get(row.kind)
        if spec is not None and spec.url is not None:
            url = spec.url.format(id=row.id)
    return JobPublic(
        id=row.id,
        kind=row.kind,
        status=row.status,
        progress=min(1.0, max(0.0, row.progress)),
        message=row.message,
        error=row.error,
        created_at=row.created_at,
        finished_at=row.finished_at,
        url=url,
    )


# --- what runs in the worker process --------------------------------------------------

#: Set in each pool process by :func:`_init_child`.
_CHILD_QUEUE: Any = None
#: A worker process sends at most this many progress messages per second.
_CHILD_RATE = 10.0


def _init_child(progress_queue: Any) -> None:
    global _CHILD_QUEUE  # one queue per worker process
    _CHILD_QUEUE = progress_queue


def _run_in_child(fn: JobFunction, payload: dict[str, Any], job_id: str) -> Any:
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

_RUNNERS: set[JobRunner] = set()
_RUNNERS_LOCK = threading.Lock()


def _wake_runners(_session: Session) -> None:
    with _RUNNERS_LOCK:
        runners = list(_RUNNERS)
    for runner in runners:
        runner.wake()


class _Interrupted(Exception):
    """The runner is stopping while the job runs."""


class JobRunner:
    """Claims queued jobs and runs them in a process pool or on Dask.

    Parameters
    ----------
    sessions
        Session factory of the service's database.
    workers
        Jobs run at once (threads here; processes in the pool).
    dask_scheduler
        Address of a Dask scheduler; None runs jobs in the local pool.
    poll_interval
        Seconds between looks at the queue when nobody wakes the runner (a
        job submitted by another process is seen within this time).
    progress_interval
        Least seconds between two progress writes of one job.
    """

    def __init__(
        self,
        sessions: sessionmaker[Session],
        *,
        workers: int = 1,
        dask_scheduler: str | None = None,
        poll_interval: float = 1.0,
        progress_interval: float = 0.25,
    ) -> None:
        self.sessions = sessions
        self.workers = max(1, workers)
        self.dask_scheduler = dask_scheduler
        self.poll_interval = poll_interval
        self.progress_interval = progress_interval
        self._stopping = threading.Event()
        self._wakeup = threading.Event()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._recovered = False
        self._pool: concurrent.futures.ProcessPoolExecutor | None = None
        self._dask: Any = None
        context = multiprocessing.get_all_start_methods()
        self._context = multiprocessing.get_context(
            "forkserver" if "forkserver" in context else "spawn"
        )
        self._progress: Any = None

    # -- life cycle ---------------------------------------------------------------

    def start(self) -> None:
        """Recover interrupted jobs, then start claiming queued ones.

        A database that is down at startup does not stop the service (``/readyz``
        reports it): the workers recover the interrupted jobs once it answers,
        before they claim any.
        """
        self._try_recover()
        self._stopping.clear()
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
        with _RUNNERS_LOCK:
            _RUNNERS.add(self)
        log.info(
            "job runner started",
            extra={"workers": self.workers, "dask": self.dask_scheduler},
        )

    def stop(self, timeout: float = 10.0) -> None:
        """Stop claiming; re-queue the jobs being run; end the workers."""
        with _RUNNERS_LOCK:
            _RUNNERS.discard(self)
        self._stopping.set()
        self._wakeup.set()
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

    def recover(self) -> list[str]:
        """Re-queue (or fail) the jobs a dead process left ``running``.

        Returns
        -------
        list[str]
            Ids of the jobs found running.
        """
        now = utcnow()
        with self.sessions.begin() as session:
            rows = session.scalars(
                select(JobRow).where(JobRow.status == "running").with_for_update()
            ).all()
            for row in rows:
                row.updated_at = now
                if row.attempts >= MAX_ATTEMPTS:
                    row.status = "failed"
                    row.finished_at = now
                    row.error = f"interrupted by server restarts {row.attempts} times"
                    row.message = "failed"
                    log.error("job %s failed: %s", row.id, row.error)
                else:
                    row.status = "queued"
                    row.progress = 0.0
                    row.message = (
                        f"re-queued after a server restart (attempt {row.attempts} "
                        "was interrupted)"
                    )
                    log.warning("job %s re-queued after a restart", row.id)
            return [row.id for row in rows]

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
            try:
                self._run(job_id)
            except Exception:
                # Never let a database hiccup kill the worker thread; the job
                # stays running and the next start re-queues it.
                log.exception("job %s: runner error", job_id)

    def _claim(self) -> str | None:
        """Take the oldest queued job (atomically); its id, or None."""
        with self.sessions() as session:
            candidates = session.scalars(
                select(JobRow.id)
                .where(JobRow.status == "queued")
                .order_by(JobRow.created_at, JobRow.id)
                .limit(8)
            ).all()
            for job_id in candidates:
                now = utcnow()
                taken = session.execute(
                    update(JobRow)
                    .where(JobRow.id == job_id, JobRow.status == "queued")
                    .values(
                        status="running",
                        attempts=JobRow.attempts + 1,
                        started_at=now,
                        updated_at=now,
                        message="started",
                    )
                    .execution_options(synchronize_session=False)
                )
                session.commit()
                if getattr(taken, "rowcount", 0) == 1:
                    return job_id
        return None

    def _run(self, job_id: str) -> None:
        with self.sessions() as session:
            row = session.get(JobRow, job_id)
            if row is None:
                return
            kind, payload, attempts = row.kind, row.payload, row.attempts
        spec = _KINDS.get(kind)
        if spec is None:
            self._fail(job_id, f"unknown job kind {kind!r}: no function registered")
            return
        log.info("job %s (%s) started, attempt %d", job_id, kind, attempts)
        try:
            result = self._execute(spec.fn, payload, job_id)
        except _Interrupted:
            self._requeue(job_id, "re-queued: the server stopped while it ran", -1)
            return
        except BrokenProcessPool as exc:
            self._reset_pool()
            if attempts >= MAX_ATTEMPTS:
                why = f"its worker process died {attempts} times ({exc})"
                self._fail(job_id, f"{type(exc).__name__}: {why}")
            else:
                self._requeue(job_id, "re-queued: its worker process died", 0)
            return
        except Exception as exc:
            log.warning("job %s (%s) failed", job_id, kind, exc_info=exc)
            self._fail(job_id, _describe(exc))
            return
        self._succeed(job_id, kind, result)

    def _execute(self, fn: JobFunction, payload: dict[str, Any], job_id: str) -> Any:
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

    def _execute_on_dask(
        self, fn: JobFunction, payload: dict[str, Any], job_id: str
    ) -> Any:
        client = self._get_dask()
        self._write_one(job_id, 0.0, f"running on Dask at {self.dask_scheduler}")
        future = client.submit(fn, payload, _no_progress, pure=False)
        try:
            while not future.done():
                if self._stopping.is_set():
                    future.cancel()
                    raise _Interrupted
                time.sleep(0.1)
            return future.result()
        finally:
            future.release()

    def _get_pool(self) -> concurrent.futures.ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = concurrent.futures.ProcessPoolExecutor(
                    max_workers=self.workers,
                    mp_context=self._context,
                    initializer=_init_child,
                    initargs=(self._progress,),
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

    def _succeed(self, job_id: str, kind: str, result: Any) -> None:
        if not isinstance(result, dict):
            self._fail(
                job_id,
                f"TypeError: the {kind} job returned {type(result).__name__}, "
                "not a dict",
            )
            return
        try:
            json.dumps(result, allow_nan=False)
        except (TypeError, ValueError) as exc:
            self._fail(job_id, f"{type(exc).__name__}: result is not JSON: {exc}")
            return
        now = utcnow()
        try:
            with self.sessions.begin() as session:
                row = session.get(JobRow, job_id)
                if row is None or row.status != "running":
                    return
                row.status = "succeeded"
                row.result = result
                row.progress = 1.0
                row.message = "done"
                row.error = None
                row.finished_at = now
                row.updated_at = now
                session.flush()
                for hook in _HOOKS.get(kind, []):
                    hook(session, row)
        except Exception as exc:
            log.exception("job %s (%s): storing the result failed", job_id, kind)
            self._fail(job_id, f"storing the result failed: {_describe(exc)}", result)
            return
        log.info("job %s (%s) succeeded", job_id, kind)

    def _fail(
        self, job_id: str, error: str, result: dict[str, Any] | None = None
    ) -> None:
        now = utcnow()
        values: dict[str, Any] = {
            "status": "failed",
            "error": error[:10_000],
            "message": "failed",
            "finished_at": now,
            "updated_at": now,
        }
        if result is not None:
            values["result"] = result
        with self.sessions.begin() as session:
            session.execute(update(JobRow).where(JobRow.id == job_id).values(values))

    def _requeue(self, job_id: str, message: str, attempts_delta: int) -> None:
        with self.sessions.begin() as session:
            session.execute(
                update(JobRow)
                .where(JobRow.id == job_id, JobRow.status == "running")
                .values(
                    status="queued",
                    progress=0.0,
                    message=message,
                    attempts=JobRow.attempts + attempts_delta,
                    updated_at=utcnow(),
                )
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
            session.execute(
                update(JobRow)
                .where(JobRow.id == job_id, JobRow.status == "running")
                .values(
                    progress=min(1.0, max(0.0, share)),
                    message=message,
                    updated_at=utcnow(),
                )
            )


def _describe(exc: BaseException) -> str:
    """``"ValueError: the reason"``: what a failed job reports."""
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
