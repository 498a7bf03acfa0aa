"""Scenario comparisons for planners: what-if days, replicated, measured.

``POST /v1/scenarios`` queues a ``scenario`` job that runs
:func:`scenarios.sweep.run_sweep`, the code behind ``milepost simulate``:
each replication's orders are drawn, planned, driven with the road's
surprises and measured (cost per order, km, vans, on-time rate, late
minutes, failed attempts), then every KPI is summarised with its 95%
interval and its difference against the first scenario. ``GET
/v1/scenarios/{job_id}`` follows it and carries the comparison once done,
``GET /v1/scenarios`` lists the earlier ones, newest first. The scenarios are
the TOML files' content as JSON (:mod:`scenarios.spec`); ``GET
/v1/scenarios/library`` gives the shipped files that way, ready to post.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from api.deps import JobQueueDep, Offset, Principal, Role, SessionDep, require
from api.errors import problem_responses
from api.jobs.queue import JobPublic
from api.services import forecasts
from api.services.forecasts import (
    ScenarioCreate,
    ScenarioJobPublic,
    ScenarioLibrary,
    ScenarioRuns,
)

__all__ = ["RunsLimit", "located", "router"]

router = APIRouter(
    prefix="/scenarios", tags=["scenarios"], responses=problem_responses(401, 403)
)

Planner = Annotated[Principal, Depends(require(Role.planner))]
#: Most earlier runs one page lists.
RunsLimit = Annotated[int, Query(ge=1, le=100, description="most runs to return")]


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


@router.get("", response_model=ScenarioRuns, responses=problem_responses(422))
def read_scenarios(
    session: SessionDep,
    queue: JobQueueDep,
    _: Planner,
    limit: RunsLimit = 20,
    offset: Offset = 0,
) -> ScenarioRuns:
    """Earlier comparisons, newest first: status, when, and what they compared."""
    return forecasts.list_scenarios(session, queue=queue, limit=limit, offset=offset)


@router.get("/library", response_model=ScenarioLibrary)
def read_library(_: Planner) -> ScenarioLibrary:
    """The shipped scenarios (``scenarios/library/*.toml``) as JSON, baseline first.

    Each item's ``scenario`` is one item of ``POST /v1/scenarios``'s
    ``scenarios``, as is or edited.
    """
    return forecasts.read_library()


@router.get(
    "/{job_id}", response_model=ScenarioJobPublic, responses=problem_responses(404)
)
def read_scenario(
    job_id: str, session: SessionDep, queue: JobQueueDep, _: Planner
) -> ScenarioJobPublic:
    """A scenario job: status and progress, and the comparison when done."""
    return forecasts.read_scenario(session, queue=queue, job_id=job_id)
