"""Background jobs: every query the service and its job runner make on them.

Keyword-only functions taking a session first. The runner's functions
(``claim_next``, ``mark_*``, ``requeue``, ``write_progress``) run in a
session or transaction of their own; the others never commit.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import event, select, update
from sqlalchemy.orm import Session, defer

from api.db.base import utcnow
from api.db.tables_jobs import JobRow, new_id

__all__ = [
    "JobRow",
    "add_job",
    "after_commit",
    "claim_next",
    "get_job",
    "mark_failed",
    "mark_succeeded",
    "recover_running",
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


def recover_running(session: Session, *, max_attempts: int) -> list[str]:
    """Re-queue (or fail, after ``max_attempts``) every ``running`` job; their ids."""
    now = utcnow()
    rows = session.scalars(
        select(JobRow).where(JobRow.status == "running").with_for_update()
    ).all()
    for row in rows:
        row.updated_at = now
        if row.attempts >= max_attempts:
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


def claim_next(session: Session) -> str | None:
    """Take the oldest queued job (atomically, committing); its id, or None."""
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


def mark_succeeded(
    session: Session, *, job_id: str, result: dict[str, Any]
) -> JobRow | None:
    """Store the result of a running job (flushed); None if it is not running."""
    row = session.get(JobRow, job_id)
    if row is None or row.status != "running":
        return None
    now = utcnow()
    row.status = "succeeded"
    row.result = result
    row.progress = 1.0
    row.message = "done"
    row.error = None
    row.finished_at = now
    row.updated_at = now
    session.flush()
    return row


def mark_failed(
    session: Session, *, job_id: str, error: str, result: dict[str, Any] | None
) -> None:
    """Fail a job with ``error`` (kept to 10,000 characters), keeping a result."""
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
    # A cancelled job stays cancelled whatever its function did after.
    session.execute(
        update(JobRow)
        .where(JobRow.id == job_id, JobRow.status != "cancelled")
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
    session: Session, *, job_id: str, message: str, attempts_delta: int
) -> None:
    """Put a running job back in the queue."""
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


def write_progress(
    session: Session, *, job_id: str, share: float, message: str
) -> None:
    """Record a running job's progress (share clipped to 0..1)."""
    session.execute(
        update(JobRow)
        .where(JobRow.id == job_id, JobRow.status == "running")
        .values(
            progress=min(1.0, max(0.0, share)),
            message=message,
            updated_at=utcnow(),
        )
    )


def after_commit(session: Session, *, call: Callable[[], None]) -> None:
    """Call ``call()`` once the session's current transaction commits."""
    event.listen(session, "after_commit", lambda _session: call(), once=True)
