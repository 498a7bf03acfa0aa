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
from pydantic import ValidationError

from api.deps import Principal, Role, SessionDep, require
from api.errors import problem_responses
from api.jobs import JobPublic, job_public, job_row, submit
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
    row = submit(session, SCENARIO, body.model_dump(mode="json"))
    public = job_public(row)
    if public.url is not None:
        response.headers["Location"] = public.url
    return public


@router.get(
    "/{job_id}", response_model=ScenarioJobPublic, responses=problem_responses(404)
)
def read_scenario(job_id: str, session: SessionDep, _: Planner) -> ScenarioJobPublic:
    """A scenario job: status and progress, and the day's KPIs when done."""
    row = job_row(session, job_id)
    if row is None or row.kind != SCENARIO:
        raise HTTPException(404, f"no scenario {job_id}")
    result = None
    if row.status == "succeeded" and row.result is not None:
        try:
            result = DayKpis.model_validate(row.result)
        except ValidationError:
            # Stored by another version of the service: status without it.
            result = None
    return ScenarioJobPublic(**job_public(row).model_dump(), result=result)
