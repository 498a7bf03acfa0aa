"""Scenario comparisons for planners: what-if days, replicated, measured.

``POST /v1/scenarios`` queues a ``scenario`` job (:mod:`api.planning_jobs`)
that runs :func:`scenarios.sweep.run_sweep`, the code behind ``milepost
simulate``: each replication's orders are drawn, planned, driven with the
road's surprises and measured (cost per order, km, vans, on-time rate, late
minutes, failed attempts), then every KPI is summarised with its 95%
interval and its difference against the first scenario. ``GET
/v1/scenarios/{job_id}`` follows it and carries the comparison once done.
The scenarios are the TOML files' content as JSON (:mod:`scenarios.spec`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Response
from pydantic import BaseModel, ConfigDict, Field, model_validator

from api.deps import Principal, Role, SessionDep, require
from api.errors import problem_responses
from api.jobs import JobPublic, job_public, queue_job, stored_result
from api.planning_jobs import SCENARIO
from scenarios.spec import Scenario
from scenarios.sweep import Comparison

__all__ = ["ScenarioCreate", "ScenarioJobPublic", "router"]

router = APIRouter(
    prefix="/scenarios", tags=["scenarios"], responses=problem_responses(401, 403)
)

Planner = Annotated[Principal, Depends(require(Role.planner))]


#: Most simulated days one request may ask for.
MAX_DAYS = 200


class ScenarioCreate(BaseModel):
    """Scenarios to compare with the first, each replicated."""

    model_config = ConfigDict(extra="forbid")

    scenarios: list[Scenario] = Field(min_length=1, max_length=10)
    replications: int | None = Field(
        default=None, ge=1, le=MAX_DAYS, description="override each scenario's"
    )

    @model_validator(mode="after")
    def _bounded(self) -> ScenarioCreate:
        days = sum(self.replications or s.replications for s in self.scenarios)
        if days > MAX_DAYS:
            raise ValueError(f"{days} simulated days asked for; at most {MAX_DAYS}")
        return self


class ScenarioJobPublic(JobPublic):
    """A scenario job; ``result`` holds the comparison once it has succeeded."""

    result: Comparison | None = None


@router.post(
    "",
    response_model=JobPublic,
    status_code=202,
    responses=problem_responses(422),
)
def create_scenario(
    body: ScenarioCreate, response: Response, session: SessionDep, _: Planner
) -> JobPublic:
    """Queue a comparison of simulated days: plan, drive and measure each."""
    return queue_job(session, SCENARIO, body.model_dump(mode="json"), response)


@router.get(
    "/{job_id}", response_model=ScenarioJobPublic, responses=problem_responses(404)
)
def read_scenario(job_id: str, session: SessionDep, _: Planner) -> ScenarioJobPublic:
    """A scenario job: status and progress, and the comparison when done."""
    found = stored_result(session, job_id, SCENARIO, Comparison)
    if found is None:
        raise HTTPException(404, f"no scenario {job_id}")
    row, result = found
    return ScenarioJobPublic(**job_public(row).model_dump(), result=result)
