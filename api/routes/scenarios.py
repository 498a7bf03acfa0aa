"""Scenario comparisons for planners: what-if days, replicated, measured.

``POST /v1/scenarios`` queues a ``scenario`` job that runs
:func:`scenarios.sweep.run_sweep`, the code behind ``milepost simulate``:
each replication's orders are drawn, planned, driven with the road's
surprises and measured (cost per order, km, vans, on-time rate, late
minutes, failed attempts), then every KPI is summarised with its 95%
interval and its difference against the first scenario. ``GET
/v1/scenarios/{job_id}`` follows it and carries the comparison once done.
The scenarios are the TOML files' content as JSON (:mod:`scenarios.spec`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response

from api.deps import JobQueueDep, Principal, Role, SessionDep, require
from api.errors import problem_responses
from api.jobs.queue import JobPublic
from api.services import forecasts
from api.services.forecasts import ScenarioCreate, ScenarioJobPublic

__all__ = ["located", "router"]

router = APIRouter(
    prefix="/scenarios", tags=["scenarios"], responses=problem_responses(401, 403)
)

Planner = Annotated[Principal, Depends(require(Role.planner))]


def located(response: Response, job: JobPublic) -> JobPublic:
    """``job``, with its URL as the response's ``Location``."""
    if job.url is not None:
        response.headers["Location"] = job.url
    return job


@router.post(
    "",
    response_model=JobPublic,
    status_code=202,
    responses=problem_responses(422),
)
def create_scenario(
    body: ScenarioCreate,
    response: Response,
    session: SessionDep,
    queue: JobQueueDep,
    _: Planner,
) -> JobPublic:
    """Queue a comparison of simulated days: plan, drive and measure each."""
    job = forecasts.create_scenario(session, queue=queue, request=body)
    return located(response, job)


@router.get(
    "/{job_id}", response_model=ScenarioJobPublic, responses=problem_responses(404)
)
def read_scenario(
    job_id: str, session: SessionDep, queue: JobQueueDep, _: Planner
) -> ScenarioJobPublic:
    """A scenario job: status and progress, and the comparison when done."""
    return forecasts.read_scenario(session, queue=queue, job_id=job_id)
