"""Submitting jobs and reading them back, as clients see them.

A service calls :meth:`JobQueue.submit` with a kind and its payload model;
the row is ``queued`` and the runner picks it up once the session's
transaction commits (the queue wakes it then).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from api.db import jobs as job_rows
from api.db.tables_jobs import JobRow
from api.jobs.kinds import JobKind, JobKinds, MalformedJob

__all__ = ["JobPublic", "JobQueue", "JobStatus", "job_public"]

JobStatus = Literal["queued", "running", "succeeded", "failed", "cancelled"]
P = TypeVar("P", bound=BaseModel)
R = TypeVar("R", bound=BaseModel)


class JobPublic(BaseModel):
    """A background job as clients see it."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    kind: str
    status: JobStatus
    progress: float = Field(ge=0.0, le=1.0, description="share done, 0 to 1")
    message: str = Field(description="what it is doing now")
    error: str | None = Field(
        default=None,
        description="why it failed, in public words (details are in the log)",
    )
    created_at: dt.datetime
    finished_at: dt.datetime | None = None
    url: str | None = Field(default=None, description="where to follow it")


def job_public(row: JobRow, url: str | None) -> JobPublic:
    """The public view of a job row, followed at ``url``."""
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


@dataclass(frozen=True)
class JobQueue:
    """The registry of kinds and who to wake when a job is queued.

    ``wake`` is the runner's (``JobRunner.wake``); it is called after the
    submitting transaction commits.
    """

    kinds: JobKinds
    wake: Callable[[], None] = lambda: None
    #: Stops a running job's worker (``JobRunner.cancel``).
    stop: Callable[[str], None] = lambda _: None

    def submit(self, session: Session, kind: JobKind[P, R], payload: P) -> JobRow:
        """Queue a job of ``kind``; it starts once the session commits.

        Raises :class:`~api.jobs.kinds.MalformedJob` for a payload of
        another model or one that is not JSON.
        """
        self.kinds.get(kind.name)
        row = job_rows.add_job(
            session, kind=kind.name, payload=kind.dump_payload(payload)
        )
        job_rows.after_commit(session, call=self.wake)
        return row

    def cancel(self, session: Session, job_id: str) -> bool:
        """Cancel a queued or running job; its worker stops once this commits.

        Returns False when the job has ended already (nothing changes).
        """
        if not job_rows.cancel(session, job_id=job_id):
            return False
        job_rows.after_commit(session, call=lambda: self.stop(job_id))
        return True

    def public(self, row: JobRow, url: str | None = None) -> JobPublic:
        """The public view of ``row``; ``url`` defaults to its kind's."""
        return job_public(row, url or self.kinds.url_for(row))

    def get(self, session: Session, job_id: str, kind: JobKind[P, R]) -> JobRow | None:
        """The job ``job_id`` if it is of ``kind``."""
        row = job_rows.get_job(session, job_id=job_id)
        return row if row is not None and row.kind == kind.name else None

    def result(
        self, session: Session, job_id: str, kind: JobKind[P, R]
    ) -> tuple[JobRow, R | None] | None:
        """A job of ``kind`` and its result (None: no such job).

        The result is None until the job succeeded, and when it was stored
        by another version of the service in a shape this one cannot read.
        """
        row = self.get(session, job_id, kind)
        if row is None:
            return None
        if row.status != "succeeded" or row.result is None:
            return row, None
        try:
            return row, kind.parse_result(row.result)
        except MalformedJob:
            return row, None
