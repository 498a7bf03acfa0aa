"""Cancelling background jobs, whatever their kind.

``DELETE /v1/jobs/{job_id}`` cancels a queued job (it never starts) or a
running one (its worker process is stopped); the job ends ``cancelled``. Who
may create a job of a kind may cancel it: dispatchers plans and
re-optimisations, planners forecasts and scenarios, admins any job.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from api.auth import Principal, Role
from api.db import jobs as job_rows
from api.jobs.queue import JobPublic, JobQueue
from api.services.errors import Conflict, Forbidden, NotFound

__all__ = ["CANCELLERS", "cancel_job"]

#: The roles (besides admin) that may cancel a job of each kind.
CANCELLERS: dict[str, frozenset[Role]] = {
    "plan": frozenset({Role.dispatcher}),
    "reoptimize": frozenset({Role.dispatcher}),
    "forecast": frozenset({Role.planner}),
    "scenario": frozenset({Role.planner}),
}


def cancel_job(
    session: Session, *, queue: JobQueue, job_id: str, caller: Principal
) -> JobPublic:
    """Cancel job ``job_id`` for ``caller``; the job as it is now.

    Raises
    ------
    NotFound
        No such job.
    Forbidden
        The caller's role may not create jobs of this kind.
    Conflict
        The job has ended (succeeded, failed or cancelled) already.
    """
    row = job_rows.get_job(session, job_id=job_id)
    if row is None:
        raise NotFound(f"no job {job_id}")
    allowed = CANCELLERS.get(row.kind, frozenset())
    if caller.role is not Role.admin and caller.role not in allowed:
        raise Forbidden(f"a {caller.role.value} key may not cancel a {row.kind} job")
    if not queue.cancel(session, job_id):
        session.refresh(row)
        raise Conflict(f"job {job_id} is {row.status} already: nothing to cancel")
    session.refresh(row)
    return queue.public(row)
