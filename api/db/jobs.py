"""Background jobs: every query the service and its job runner make on them.

Keyword-only functions taking a session first. The runner's functions
(``claim_next``, ``renew_leases``, ``mark_*``, ``requeue``,
``write_progress``) run in a
session or transaction of their own; the others never commit.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Collection, Sequence
from typing import Any

from sqlalchemy import event, func, select, update
from sqlalchemy.orm import Session, defer

from api.db.base import utcnow
from api.db.tables_jobs import JobRow, new_id

__all__ = [
    "JobRow",
    "add_job",
    "after_commit",
    "claim_next",
    "get_job",
    "list_jobs",
    "mark_failed",
    "mark_succeeded",
    "recover_running",
    "renew_leases",
    "requeue",
    "write_progress",
]

log = logging.getLogger("milepost.jobs")


def add_job(session: Session, *, kind: str, payload: dict[str, Any]) -> JobRow:
    """Insert a ``queued`` job; the flushed row."""
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
    return row


def get_job(session: Session, *, job_id: str, light: bool = False) -> JobRow | None:
    """The job with this id, if any.

    ``light`` leaves its payload and result unread until they are used (a
    2,000-order re-optimisation's payload is 1.6 MB of JSON).
    """
    if not light:
        return session.get(JobRow, job_id)
    query = (
        select(JobRow)
        .where(JobRow.id == job_id)
        .options(defer(JobRow.payload), defer(JobRow.result))
    )
    return session.scalars(query).first()


def list_jobs(
    session: Session, *, kind: str, limit: int, offset: int
) -> tuple[int, list[JobRow]]:
    """A page of the jobs of ``kind``, newest first, and how many there are.

    Their results are left unread until used (a comparison holds every day).
    """
    count = session.scalar(
        select(func.count()).select_from(JobRow).where(JobRow.kind == kind)
    )
    query = (
        select(JobRow)
        .where(JobRow.kind == kind)
        .order_by(JobRow.created_at.desc(), JobRow.id.desc())
        .options(defer(JobRow.result))
        .limit(limit)
        .offset(offset)
    )
    return count or 0, list(session.scalars(query))


def payload_fields(
    session: Session, *, job_id: str, keys: Sequence[str]
) -> dict[str, str | None]:
    """Top-level fields of a job's payload as text, read by the database."""
    values = session.execute(
        select(*(JobRow.payload[k].as_string() for k in keys)).where(
            JobRow.id == job_id
        )
    ).one()
    return dict(zip(keys, values, strict=True))


def recover_running(
    session: Session,
    *,
    max_attempts: int,
    lapsed_before: dt.datetime,
    is_dead: Callable[[str], bool] = lambda _worker: False,
) -> list[str]:
    """Re-queue (or fail, after ``max_attempts``) the running jobs nobody holds.

    A job is abandoned when it has no lease (left by a version without
    leases), its lease was last renewed before ``lapsed_before``, or
    ``is_dead(worker_id)`` says its runner is gone. Rows another runner is
    recovering at the same moment are skipped (``SKIP LOCKED``). Their ids.
    """
    now = utcnow()
    rows = session.scalars(
        select(JobRow)
        .where(JobRow.status == "running")
        .with_for_update(skip_locked=True)
    ).all()
    abandoned = [
        row
        for row in rows
        if row.worker_id is None
        or row.heartbeat_at is None
        or row.heartbeat_at < lapsed_before
        or is_dead(row.worker_id)
    ]
    for row in abandoned:
        held_by = row.worker_id or "a runner without a lease"
        row.updated_at = now
        row.worker_id = None
        if row.attempts >= max_attempts:
            row.status = "failed"
            row.finished_at = now
            row.error = f"interrupted by server restarts {row.attempts} times"
            row.message = "failed"
            log.error("job %s failed: %s (held by %s)", row.id, row.error, held_by)
        else:
            row.status = "queued"
            row.progress = 0.0
            row.message = (
                f"re-queued after a server restart (attempt {row.attempts} "
                "was interrupted)"
            )
            log.warning("job %s re-queued: %s stopped running it", row.id, held_by)
    return [row.id for row in abandoned]


def claim_next(session: Session, *, worker: str) -> str | None:
    """Take the oldest queued job for ``worker`` (committing); its id, or None.

    On PostgreSQL the candidate row is locked with ``SKIP LOCKED``, so
    runners claiming at once take different jobs without waiting on each
    other; the conditional update makes a claim exactly-once on any database.
    """
    candidates = session.scalars(
        select(JobRow.id)
        .where(JobRow.status == "queued")
        .order_by(JobRow.created_at, JobRow.id)
        .limit(1)
        .with_for_update(skip_locked=True)
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
                heartbeat_at=now,
                worker_id=worker,
                message="started",
            )
            .execution_options(synchronize_session=False)
        )
        session.commit()
        if getattr(taken, "rowcount", 0) == 1:
            return job_id
    session.commit()
    return None


def renew_leases(
    session: Session, *, worker: str, job_ids: Collection[str]
) -> set[str]:
    """Renew ``worker``'s lease on ``job_ids``; the ones it still holds.

    A job missing from the answer was cancelled, or re-queued by another
    runner that took this one for dead: its worker must stop it and store
    nothing.
    """
    if not job_ids:
        return set()
    held = session.scalars(
        update(JobRow)
        .where(
            JobRow.id.in_(list(job_ids)),
            JobRow.worker_id == worker,
            JobRow.status == "running",
        )
        .values(heartbeat_at=utcnow())
        .returning(JobRow.id)
        .execution_options(synchronize_session=False)
    ).all()
    return set(held)


def mark_succeeded(
    session: Session, *, job_id: str, result: dict[str, Any], worker: str | None = None
) -> JobRow | None:
    """Store the result of a running job (flushed); None if it is not running.

    With ``worker``, only if that runner still holds the job (locked until
    commit, so a runner re-queueing it at the same moment waits).
    """
    row = session.get(JobRow, job_id, with_for_update=True)
    if row is None or row.status != "running":
        return None
    if worker is not None and row.worker_id != worker:
        return None
    now = utcnow()
    row.status = "succeeded"
    row.result = result
    row.progress = 1.0
    row.message = "done"
    row.error = None
    row.finished_at = now
    row.updated_at = now
    row.worker_id = None
    session.flush()
    return row


def _held(worker: str | None) -> list[Any]:
    """The condition "``worker`` holds the job" (none without a worker)."""
    return [] if worker is None else [JobRow.worker_id == worker]


def mark_failed(
    session: Session,
    *,
    job_id: str,
    error: str,
    result: dict[str, Any] | None,
    worker: str | None = None,
) -> None:
    """Fail a job with ``error`` (kept to 10,000 characters), keeping a result."""
    now = utcnow()
    values: dict[str, Any] = {
        "status": "failed",
        "error": error[:10_000],
        "message": "failed",
        "finished_at": now,
        "updated_at": now,
        "worker_id": None,
    }
    if result is not None:
        values["result"] = result
    # A cancelled job stays cancelled whatever its function did after.
    session.execute(
        update(JobRow)
        .where(JobRow.id == job_id, JobRow.status != "cancelled", *_held(worker))
        .values(values)
    )


def cancel(session: Session, *, job_id: str) -> bool:
    """Cancel a queued or running job (flushed); False if it has ended."""
    now = utcnow()
    done = session.execute(
        update(JobRow)
        .where(JobRow.id == job_id, JobRow.status.in_(("queued", "running")))
        .values(
            status="cancelled",
            message="cancelled",
            finished_at=now,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    return getattr(done, "rowcount", 0) == 1


def requeue(
    session: Session,
    *,
    job_id: str,
    message: str,
    attempts_delta: int,
    worker: str | None = None,
) -> None:
    """Put a running job back in the queue (if ``worker`` still holds it)."""
    session.execute(
        update(JobRow)
        .where(JobRow.id == job_id, JobRow.status == "running", *_held(worker))
        .values(
            status="queued",
            worker_id=None,
            progress=0.0,
            message=message,
            attempts=JobRow.attempts + attempts_delta,
            updated_at=utcnow(),
        )
    )


def write_progress(
    session: Session,
    *,
    job_id: str,
    share: float,
    message: str,
    worker: str | None = None,
) -> None:
    """Record a running job's progress (share clipped to 0..1)."""
    session.execute(
        update(JobRow)
        .where(JobRow.id == job_id, JobRow.status == "running", *_held(worker))
        .values(
            progress=min(1.0, max(0.0, share)),
            message=message,
            updated_at=utcnow(),
        )
    )


def after_commit(session: Session, *, call: Callable[[], None]) -> None:
    """Call ``call()`` once the session's current transaction commits."""
    event.listen(session, "after_commit", lambda _session: call(), once=True)
