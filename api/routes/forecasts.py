"""Demand forecasts for planners: orders per zone, deliveries and fleet per depot.

``POST /v1/forecasts`` queues a ``forecast`` job (:mod:`api.planning_jobs`)
that runs :func:`scenarios.run.forecast_demand` on the embedded city, the
same code path as ``milepost forecast``; ``GET /v1/forecasts/{job_id}``
follows it and carries the result once it is done.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Response

from api.deps import Principal, Role, SessionDep, require
from api.errors import problem_responses
from api.jobs import JobPublic, job_public, queue_job, stored_result
from api.planning_jobs import FORECAST
from scenarios.run import DemandForecast, ForecastSpec

__all__ = ["ForecastCreate", "ForecastJobPublic", "router"]

router = APIRouter(
    prefix="/forecasts", tags=["forecasts"], responses=problem_responses(401, 403)
)

Planner = Annotated[Principal, Depends(require(Role.planner))]


class ForecastCreate(ForecastSpec):
    """A forecast to run: ``horizon`` days from ``from`` for the chosen zones."""


class ForecastJobPublic(JobPublic):
    """A forecast job; ``result`` is set once it has succeeded."""

    result: DemandForecast | None = None


@router.post(
    "",
    response_model=JobPublic,
    status_code=202,
    responses=problem_responses(422),
)
def create_forecast(
    body: ForecastCreate, response: Response, session: SessionDep, _: Planner
) -> JobPublic:
    """Queue a demand forecast with intervals and the fleet it needs."""
    return queue_job(
        session, FORECAST, body.model_dump(mode="json", by_alias=True), response
    )


@router.get(
    "/{job_id}", response_model=ForecastJobPublic, responses=problem_responses(404)
)
def read_forecast(job_id: str, session: SessionDep, _: Planner) -> ForecastJobPublic:
    """A forecast job: status and progress, and the forecast when done."""
    found = stored_result(session, job_id, FORECAST, DemandForecast)
    if found is None:
        raise HTTPException(404, f"no forecast {job_id}")
    row, result = found
    return ForecastJobPublic(**job_public(row).model_dump(), result=result)
