"""The job runner: off the request thread, progress, failures, restarts.

Each test runs on SQLite and on PostgreSQL (the ``database_url`` fixture).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from api.db import jobs as job_rows
from api.db.base import utcnow
from api.db.tables_jobs import JobRow
from api.jobs.handlers import PlanRejected
from api.jobs.kinds import AnyKind, MalformedJob, UnknownJobKind
from api.jobs.queue import JobPublic, JobQueue
from api.jobs.runner import MAX_ATTEMPTS, public_reason
from api.settings import Settings
from tests.api.jobs import job_kinds
from tests.api.jobs.job_kinds import make_app as create_app

FINAL = frozenset({"succeeded", "failed"})


def queue_of(app: FastAPI) -> JobQueue:
    """The app's job queue."""
    queue: JobQueue = app.state.job_queue
    return queue


def submit_now(app: FastAPI, kind: AnyKind, payload: dict[str, object]) -> str:
    """Submit a job in its own committed transaction; its id."""
    with app.state.sessionmaker.begin() as session:
        model = kind.payload.model_validate(payload)
        return queue_of(app).submit(session, kind, model).id


def read_job(app: FastAPI, job_id: str) -> JobRow:
    """The job row as stored now."""
    with app.state.sessionmaker() as session:
        row = session.get(JobRow, job_id)
        assert row is not None
        return row


def wait_job(
    app: FastAPI, job_id: str, until: frozenset[str] = FINAL, timeout: float = 90.0
) -> JobRow:
    """Poll the database until the job's status is one of ``until``."""
    deadline = time.monotonic() + timeout
    while True:
        row = read_job(app, job_id)
        if row.status in until:
            return row
        assert time.monotonic() < deadline, f"job still {row.status}: {row.message}"
        time.sleep(0.05)


def insert_job(session: Session, kind: AnyKind, status: str, attempts: int) -> str:
    """A job row as a dead server would have left it."""
    now = utcnow()
    row = JobRow(
        kind=kind.name,
        status=status,
        progress=0.4,
        message="working",
        payload={"n": 21},
        attempts=attempts,
        created_at=now,
        started_at=now,
        updated_at=now,
    )
    session.add(row)
    session.flush()
    return row.id


@pytest.fixture
def idle_settings(database_url: str) -> Settings:
    """Settings of a service process that runs no jobs."""
    return Settings(database_url=database_url, log_json=False, job_workers=0)


def test_job_succeeds_in_another_process(app: FastAPI, client: TestClient) -> None:
    """A submitted job runs in a worker process and stores its result."""
    job_id = submit_now(app, job_kinds.DOUBLE, {"n": 21})
    row = wait_job(app, job_id)
    assert row.status == "succeeded", row.error
    assert row.result is not None
    assert row.result["n"] == 42
    assert row.result["pid"] != os.getpid()
    assert row.progress == 1.0
    assert row.attempts == 1
    assert row.error is None
    assert row.started_at is not None
    assert row.finished_at is not None
    assert row.finished_at >= row.started_at >= row.created_at


def test_progress_moves_while_running(app: FastAPI, client: TestClient) -> None:
    """Progress between 0 and 1 reaches the database while the job runs."""
    job_id = submit_now(app, job_kinds.STEPS, {"steps": 8, "pause": 0.4})
    seen: list[tuple[float, str]] = []
    deadline = time.monotonic() + 90
    while (row := read_job(app, job_id)).status not in FINAL:
        if row.status == "running":
            seen.append((row.progress, row.message))
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert row.status == "succeeded", row.error
    shares = [share for share, _ in seen]
    assert any(0.0 < share < 1.0 for share in shares), seen
    assert shares == sorted(shares)
    assert any(message.startswith("step ") for _, message in seen), seen
    assert row.progress == 1.0


INTERNAL = "an internal error (the server log has it under the job id)"


def test_failing_job_reports_a_public_reason_and_logs_the_text(
    app: FastAPI, client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    """A job that raises ends failed with a public reason; the exception's type
    and text are in the log with the job id, not in the job."""
    with caplog.at_level(logging.WARNING, logger="milepost.jobs"):
        job_id = submit_now(app, job_kinds.RAISE, {"reason": "secret /etc/x"})
        row = wait_job(app, job_id)
    assert row.status == "failed"
    assert row.error == f"the test-raise job failed: {INTERNAL}"
    assert row.result is None
    assert row.finished_at is not None
    public = queue_of(app).public(row)
    assert public.status == "failed"
    assert public.error is not None and "secret" not in public.error
    logged = [r.getMessage() for r in caplog.records if job_id in r.getMessage()]
    assert any("ValueError: secret /etc/x" in m for m in logged), logged


def test_a_domain_error_is_shown_to_the_client(
    app: FastAPI, client: TestClient
) -> None:
    """The domain's own errors explain the input: their message is public."""
    reason = "scenario 'x': orders must be positive"
    job_id = submit_now(app, job_kinds.RAISE_DOMAIN, {"reason": reason})
    row = wait_job(app, job_id)
    assert row.status == "failed"
    assert row.error == f"the test-raise-domain job failed: {reason}"


def test_public_reasons_name_the_kind() -> None:
    """Plan kinds say the plan could not be made; others name the kind."""
    assert public_reason("plan", PlanRejected("no feasible plan")) == (
        "the plan could not be made: no feasible plan"
    )
    assert public_reason("forecast", KeyError("psycopg: password=x")) == (
        f"the forecast could not be made: {INTERNAL}"
    )


def test_failing_hook_fails_the_job_and_keeps_the_result(
    app: FastAPI, client: TestClient
) -> None:
    """A hook that raises fails the job with its error; the result is not lost."""
    job_id = submit_now(app, job_kinds.BAD_HOOK, {})
    row = wait_job(app, job_id)
    assert row.status == "failed"
    assert row.error == (f"storing the result failed: {INTERNAL}")
    assert row.result == {"answer": 42}


def test_dead_worker_process_is_retried_then_failed(
    app: FastAPI, client: TestClient
) -> None:
    """A worker process that dies neither blocks the runner nor loses the job."""
    crash_id = submit_now(app, job_kinds.CRASH, {})
    row = wait_job(app, crash_id)
    assert row.status == "failed"
    assert row.attempts == MAX_ATTEMPTS
    assert row.error is not None
    assert row.error.startswith("BrokenProcessPool: its worker process died 3 times")
    # The runner replaced the broken pool and goes on.
    after = submit_now(app, job_kinds.DOUBLE, {"n": 1})
    assert wait_job(app, after).status == "succeeded"


def test_restart_resumes_or_fails_interrupted_jobs(
    settings: Settings, idle_settings: Settings
) -> None:
    """Jobs left running by a dead server are re-queued, or failed after 3 starts."""
    idle = create_app(idle_settings)
    with TestClient(idle), idle.state.sessionmaker.begin() as session:
        resumed = insert_job(session, job_kinds.DOUBLE, "running", attempts=1)
        given_up = insert_job(session, job_kinds.DOUBLE, "running", attempts=3)
        queued = insert_job(session, job_kinds.DOUBLE, "queued", attempts=0)
    # Nothing ran them in a process without job workers.
    assert read_job(idle, resumed).status == "running"
    assert read_job(idle, queued).status == "queued"

    app = create_app(settings)
    with TestClient(app):
        row = wait_job(app, resumed)
        assert row.status == "succeeded", row.error
        assert row.result is not None and row.result["n"] == 42
        assert row.attempts == 2
        row = read_job(app, given_up)
        assert row.status == "failed"
        assert row.error == "interrupted by server restarts 3 times"
        assert row.result is None
        assert wait_job(app, queued).status == "succeeded"


def test_shutdown_requeues_the_running_job(settings: Settings) -> None:
    """A graceful stop puts the running job back in the queue, not counted."""
    first = create_app(settings)
    with TestClient(first):
        job_id = submit_now(first, job_kinds.SLEEP, {"seconds": 2.0})
        wait_job(first, job_id, until=frozenset({"running"}))
    row = read_job(first, job_id)
    assert row.status == "queued"
    assert row.attempts == 0
    assert row.message == "re-queued: the server stopped while it ran"

    second = create_app(settings)
    with TestClient(second):
        row = wait_job(second, job_id)
    assert row.status == "succeeded", row.error
    assert row.result == {"slept": 2.0}
    assert row.attempts == 1


def test_submit_refuses_unknown_kinds_and_non_json(app: FastAPI) -> None:
    """Submitting an unregistered kind or a payload that is not JSON fails at once."""
    unknown = job_kinds.DOUBLE.__class__(
        "no-such-kind", job_kinds.Number, job_kinds.Doubled, job_kinds.double
    )
    queue = queue_of(app)
    with app.state.sessionmaker() as session:
        with pytest.raises(UnknownJobKind, match="unknown job kind 'no-such-kind'"):
            queue.submit(session, unknown, job_kinds.Number(n=1))
        with pytest.raises(MalformedJob, match="not JSON"):
            queue.submit(
                session, job_kinds.SLEEP, job_kinds.Pause(seconds=float("nan"))
            )
        with pytest.raises(MalformedJob, match="takes a Number, not a Pause"):
            queue.submit(session, job_kinds.DOUBLE, job_kinds.Pause(seconds=1.0))  # type: ignore[arg-type]


def test_job_public_has_the_kind_url(app: FastAPI, client: TestClient) -> None:
    """The public view carries the status and the kind's URL template."""
    with app.state.sessionmaker.begin() as session:
        payload = {"problem": {}, "day": "2026-11-23"}
        row = job_rows.add_job(session, kind="plan", payload=payload)
        public: JobPublic = queue_of(app).public(row)
    assert public.id == row.id
    assert public.kind == "plan"
    assert public.status == "queued"
    assert public.progress == 0.0
    assert public.url == f"/v1/plans/{row.id}"


@pytest.fixture
def dask_scheduler() -> Iterator[str]:
    """An in-process Dask cluster (one worker, one thread); its address."""
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=1,
        threads_per_worker=1,
        processes=False,
        dashboard_address=None,
    ) as cluster:
        yield cluster.scheduler_address


def test_jobs_run_on_dask_when_a_scheduler_is_set(
    database_url: str, dask_scheduler: str
) -> None:
    """With a Dask scheduler set, jobs run on the cluster, failures included."""
    settings = Settings(
        database_url=database_url, log_json=False, dask_scheduler=dask_scheduler
    )
    app = create_app(settings)
    with TestClient(app):
        ok = submit_now(app, job_kinds.DOUBLE, {"n": 5})
        bad = submit_now(app, job_kinds.RAISE, {"reason": "no"})
        row = wait_job(app, ok)
        assert row.status == "succeeded", row.error
        assert row.result is not None and row.result["n"] == 10
        # processes=False: the Dask worker is a thread of this process.
        assert row.result["pid"] == os.getpid()
        assert row.progress == 1.0
        row = wait_job(app, bad)
        assert row.status == "failed"
        assert row.error == f"the test-raise job failed: {INTERNAL}"
