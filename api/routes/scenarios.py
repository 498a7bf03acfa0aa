"""Scenario runs for planners: one simulated day of the embedded city, measured.

``POST /v1/scenarios`` queues a ``scenario`` job (:mod:`api.planning_jobs`)
that runs :func:`scenarios.run.simulate_day`: the day's orders are drawn,
planned, driven with the road's surprises and measured (cost per order, km,
vans, on-time rate, late minutes, failed attempts). ``GET
/v1/scenarios/{job_id}`` follows it and carries the KPIs once it is done.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Response

from api.deps import Principal, Role, SessionDep, require
from api.errors import problem_responses
from api.jobs import JobPublic, job_public, queue_job, stored_result
from api.planning_jobs import SCENARIO
from scenarios.run import DayKpis, DaySpec

__all__ = ["ScenarioCreate", "ScenarioJobPublic", "router"]

router = APIRouter(
    prefix="/scenarios", tags=["scenarios"], responses=problem_responses(401, 403)
)

Planner = Annotated[Principal, Depends(require(Role.planner))]


class ScenarioCreate(DaySpec):
    """A day to simulate: orders, fleet, travel speed and seed."""


class ScenarioJobPublic(JobPublic):
    """A scenario job; ``result`` holds the day's KPIs once it has succeeded."""

    result: DayKpis | None = None


@router.post(
    "",
    response_model=JobPublic,
    status_code=202,
    responses=problem_responses(422),
)
def create_scenario(
    body: ScenarioCreate, response: Response, session: SessionDep, _: Planner
) -> JobPublic:
    """Queue a simulated day: plan it, drive it, measure it."""
    return queue_job(session, SCENARIO, body.model_dump(mode="json"), response)


@router.get(
    "/{job_id}", response_model=ScenarioJobPublic, responses=problem_responses(404)
)
def read_scenario(job_id: str, session: SessionDep, _: Planner) -> ScenarioJobPublic:
    """A scenario job: status and progress, and the day's KPIs when done."""
    found = stored_result(session, job_id, SCENARIO, DayKpis)
    if found is None:
        raise HTTPException(404, f"no scenario {job_id}")
    row, result = found
    return ScenarioJobPublic(**job_public(row).model_dump(), result=result)
