"""Background jobs of any kind: ``DELETE /v1/jobs/{job_id}`` cancels one."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path

from api.deps import JobQueueDep, Principal, Role, SessionDep, require
from api.errors import problem_responses
from api.jobs.queue import JobPublic
from api.services import jobs

__all__ = ["router"]

router = APIRouter(prefix="/jobs", tags=["jobs"], responses=problem_responses(401, 403))

#: Who may create some job: the kind decides the rest (api.services.jobs).
JobMaker = Annotated[Principal, Depends(require(Role.dispatcher, Role.planner))]


@router.delete(
    "/{job_id}", response_model=JobPublic, responses=problem_responses(404, 409)
)
def cancel_job(
    session: SessionDep,
    queue: JobQueueDep,
    caller: JobMaker,
    job_id: Annotated[str, Path(max_length=128)],
) -> JobPublic:
    """Cancel a queued or running job (a running job's worker is stopped);
    409 once it has ended."""
    return jobs.cancel_job(session, queue=queue, job_id=job_id, caller=caller)
