"""Demand forecasts for planners: orders per zone, deliveries and fleet per depot.

``POST /v1/forecasts`` queues a ``forecast`` job (:mod:`api.planning_jobs`)
that runs :func:`scenarios.run.forecast_demand` on the embedded city, the
same code path as ``milepost forecast``; ``GET /v1/forecasts/{job_id}``
follows it and carries the result once it is done. ``GET
/v1/forecasts/history`` gives the orders per zone and day that the models
learn from, to draw a forecast against.
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import Annotated

import pandas as pd
from fastapi import APIRouter, Depends, HTTPException, Query, Response
from pydantic import BaseModel

from api.deps import Principal, Role, SessionDep, require
from api.errors import FieldError, InvalidInput, problem_responses
from api.jobs import JobPublic, job_public, queue_job, stored_result
from api.planning_jobs import FORECAST
from scenarios.forecast_report import zone_history
from scenarios.run import LATEST_FROM, DemandForecast, ForecastSpec, city

__all__ = [
    "ForecastCreate",
    "ForecastJobPublic",
    "HistoryDay",
    "ZoneHistory",
    "ZonesHistory",
    "router",
]

router = APIRouter(
    prefix="/forecasts", tags=["forecasts"], responses=problem_responses(401, 403)
)

Planner = Annotated[Principal, Depends(require(Role.planner))]


class ForecastCreate(ForecastSpec):
    """A forecast to run: ``horizon`` days from ``from`` for the chosen zones."""


class ForecastJobPublic(JobPublic):
    """A forecast job; ``result`` is set once it has succeeded."""

    result: DemandForecast | None = None


class HistoryDay(BaseModel):
    """Orders placed in a zone on one day."""

    day: dt.date
    orders: int


class ZoneHistory(BaseModel):
    """One zone's daily orders, oldest first."""

    zone: str
    days: list[HistoryDay]


class ZonesHistory(BaseModel):
    """Daily orders per zone of the embedded city, up to the day before ``until``."""

    until: dt.date
    zones: list[ZoneHistory]


#: The city a forecast learns from by default (``milepost forecast`` too).
_SEED: int = ForecastSpec.model_fields["seed"].default
_CUSTOMERS: int = ForecastSpec.model_fields["customers"].default
Zones = Annotated[list[str] | None, Query(max_length=100)]


@functools.lru_cache(maxsize=1)
def _zone_history() -> pd.DataFrame:
    return zone_history(city(_SEED, _CUSTOMERS))


@router.get("/history", response_model=ZonesHistory, responses=problem_responses(422))
def read_history(
    _: Planner,
    zone: Zones = None,
    until: dt.date = LATEST_FROM,
    days: Annotated[int, Query(ge=1, le=730)] = 56,
) -> ZonesHistory:
    """Orders per zone and day of the embedded city for the ``days`` before ``until``.

    The history a forecast of the default city (seed and customers left
    out) learns from. Only that city: building another one takes seconds and
    hundreds of megabytes, which is a job's work, not a read's.
    """
    history = _zone_history()
    if zone is not None:
        unknown = sorted(set(zone) - set(history["unique_id"]))
        if unknown:
            raise InvalidInput(
                [
                    FieldError(field="query.zone", reason=f"no zone {name}")
                    for name in unknown
                ]
            )
        history = history[history["unique_id"].isin(zone)]
    ds = history["ds"].dt.date
    history = history[(ds >= until - dt.timedelta(days=days)) & (ds < until)]
    zones = [
        ZoneHistory(
            zone=str(name),
            days=[
                HistoryDay(day=d.date(), orders=int(y))
                for d, y in zip(group["ds"], group["y"], strict=True)
            ],
        )
        for name, group in history.sort_values("ds").groupby("unique_id", sort=True)
    ]
    return ZonesHistory(until=until, zones=zones)


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
