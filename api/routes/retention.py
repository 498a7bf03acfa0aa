"""The deployment's lateness pricing, learned from its tracked days.

``POST /v1/retention/fit`` queues a ``retention_fit`` job on the tracked
days' order history; ``GET /v1/retention/fit/{job_id}`` follows it (the
reason when it fails, the fit when done); ``GET /v1/retention/pricing`` is
the current pricing (the newest successful fit).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Response

from api.deps import JobQueueDep, Principal, Role, SessionDep, require
from api.errors import problem_responses
from api.jobs.queue import JobPublic
from api.routes.scenarios import located
from api.services import retention
from api.services.retention import (
    RetentionFitCreate,
    RetentionFitJobPublic,
    RetentionPricingPublic,
)

__all__ = ["router"]

router = APIRouter(
    prefix="/retention", tags=["retention"], responses=problem_responses(401, 403)
)

Planner = Annotated[Principal, Depends(require(Role.planner))]


@router.post(
    "/fit", response_model=JobPublic, status_code=202, responses=problem_responses(422)
)
def create_fit(
    response: Response,
    session: SessionDep,
    queue: JobQueueDep,
    _: Planner,
    body: Annotated[RetentionFitCreate | None, Body()] = None,
) -> JobPublic:
    """Queue a fit of the lateness pricing on the tracked days ``from..until``."""
    job = retention.create_fit(
        session, queue=queue, request=body or RetentionFitCreate()
    )
    return located(response, job)


@router.get(
    "/fit/{job_id}",
    response_model=RetentionFitJobPublic,
    responses=problem_responses(404),
)
def read_fit(
    job_id: str, session: SessionDep, queue: JobQueueDep, _: Planner
) -> RetentionFitJobPublic:
    """A fit job: status and progress, the reason if it failed, the fit when done."""
    return retention.read_fit(session, queue=queue, job_id=job_id)


@router.get(
    "/pricing",
    response_model=RetentionPricingPublic,
    response_model_by_alias=True,
    responses=problem_responses(404),
)
def read_pricing(session: SessionDep, _: Planner) -> RetentionPricingPublic:
    """The current lateness pricing, its coefficients and their 95 % intervals."""
    return retention.read_pricing(session)
