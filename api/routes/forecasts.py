"""Demand forecasts for planners: orders per zone, deliveries and fleet per depot.

``POST /v1/forecasts`` queues a ``forecast`` job that runs
:func:`scenarios.run.forecast_demand` on the embedded city, the same code
path as ``milepost forecast``; ``GET /v1/forecasts/{job_id}`` follows it and
carries the result once it is done, and ``GET /v1/forecasts`` lists the
earlier ones, newest first. ``GET /v1/forecasts/history`` gives the
orders per zone and day that the models learn from, to draw a forecast
against.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from api.deps import (
    CityHistoryDep,
    JobQueueDep,
    Offset,
    Principal,
    Role,
    SessionDep,
    require,
)
from api.errors import problem_responses
from api.jobs.queue import JobPublic
from api.routes.scenarios import RunsLimit, located
from api.services import forecasts
from api.services.forecasts import (
    ForecastCreate,
    ForecastJobPublic,
    ForecastRuns,
    ZonesHistory,
)
from api.services.history import deployment_timezone, tomorrow
from scenarios.run import LATEST_FROM

__all__ = ["router"]

router = APIRouter(
    prefix="/forecasts", tags=["forecasts"], responses=problem_responses(401, 403)
)

Planner = Annotated[Principal, Depends(require(Role.planner))]
Zones = Annotated[list[str] | None, Query(max_length=100)]


@router.get("/history", response_model=ZonesHistory, responses=problem_responses(422))
def read_history(
    history: CityHistoryDep,
    session: SessionDep,
    _: Planner,
    zone: Zones = None,
    until: Annotated[
        dt.date | None,
        Query(
            description="default: tomorrow (stored history) or the embedded "
            f"city's {LATEST_FROM}"
        ),
    ] = None,
    days: Annotated[int, Query(ge=1, le=730)] = 56,
) -> ZonesHistory:
    """Orders per zone and day for the ``days`` before ``until``.

    The history a forecast learns from: the stored orders (``POST
    /v1/history``) when there are any, else the embedded city's default
    (seed and customers left out; building another city takes seconds and
    hundreds of megabytes, which is a job's work, not a read's).
    """
    tz = deployment_timezone(session)
    stored = forecasts.stored_zones(session, tz)
    if stored is None:
        return history.read(zones=zone, until=until or LATEST_FROM, days=days)
    return forecasts.read_zones(
        stored, zones=zone, until=until or tomorrow(tz), days=days
    )


@router.get("", response_model=ForecastRuns, responses=problem_responses(422))
def read_forecasts(
    session: SessionDep,
    queue: JobQueueDep,
    _: Planner,
    limit: RunsLimit = 20,
    offset: Offset = 0,
) -> ForecastRuns:
    """Earlier forecasts, newest first: status, when, and what they forecast."""
    return forecasts.list_forecasts(session, queue=queue, limit=limit, offset=offset)


@router.post(
    "",
    response_model=JobPublic,
    status_code=202,
    responses=problem_responses(422),
)
def create_forecast(
    body: ForecastCreate,
    response: Response,
    session: SessionDep,
    queue: JobQueueDep,
    _: Planner,
) -> JobPublic:
    """Queue a demand forecast with intervals and the fleet it needs.

    It runs on the stored history (``POST /v1/history``) when there is one,
    from ``from`` (default: tomorrow in the deployment's timezone), else on
    the embedded city; ``result.source`` says which.
    """
    job = forecasts.create_forecast(
        session, queue=queue, request=body, tz=deployment_timezone(session)
    )
    return located(response, job)


@router.get(
    "/{job_id}", response_model=ForecastJobPublic, responses=problem_responses(404)
)
def read_forecast(
    job_id: str, session: SessionDep, queue: JobQueueDep, _: Planner
) -> ForecastJobPublic:
    """A forecast job: status and progress, and the forecast when done."""
    return forecasts.read_forecast(session, queue=queue, job_id=job_id)
