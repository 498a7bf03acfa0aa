"""The ``metrics`` routes: delivery performance and customer retention."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query

from api.deps import LiveEtasDep, Principal, Role, SessionDep, require
from api.errors import problem_responses
from api.services import metrics, retention
from api.services.metrics import DeliveryMetricsPublic, RetentionMetricsPublic

__all__ = ["router"]

router = APIRouter(
    prefix="/metrics", tags=["metrics"], responses=problem_responses(401, 403)
)

Reader = Annotated[Principal, Depends(require(Role.planner, Role.dispatcher))]
Start = Annotated[dt.date, Query(description="first operating day (inclusive)")]
End = Annotated[dt.date, Query(description="last operating day (inclusive)")]
Zone = Annotated[
    str | None,
    Query(min_length=1, max_length=64, description="only orders of this zone"),
]


@router.get(
    "/delivery",
    response_model=DeliveryMetricsPublic,
    responses=problem_responses(422),
)
def read_delivery_metrics(
    session: SessionDep,
    etas: LiveEtasDep,
    _: Reader,
    start: Start,
    end: End,
    zone: Zone = None,
    by: Annotated[
        Literal["day", "zone", "vehicle"], Query(description="grouping")
    ] = "day",
    eta_accuracy: Annotated[
        bool, Query(description="replay live ETAs to measure their accuracy")
    ] = False,
) -> DeliveryMetricsPublic:
    """On-time rate, failed-attempt rate, ETA accuracy and the expected
    retention cost (with the newest retention fit) per day, zone or van."""
    current = retention.current_pricing(session)
    return metrics.delivery_metrics(
        session,
        start=start,
        end=end,
        zone=zone,
        by=by,
        legs=etas.legs_for if eta_accuracy else None,
        costs=None
        if current is None
        else retention.outcome_costs(session, etas, current),
        pricing=retention.pricing_of(current),
    )


Horizon = Annotated[
    int,
    Query(ge=1, le=365, description="LTV horizon: days after the first delivery"),
]
From = Annotated[
    dt.date | None,
    Query(alias="from", description="first operating day (same as start)"),
]
Until = Annotated[dt.date | None, Query(description="last operating day (same as end)")]
OptionalStart = Annotated[
    dt.date | None, Query(description="first operating day (inclusive)")
]
OptionalEnd = Annotated[
    dt.date | None, Query(description="last operating day (inclusive)")
]


@router.get(
    "/retention",
    response_model=RetentionMetricsPublic,
    responses=problem_responses(422),
)
def read_retention_metrics(
    session: SessionDep,
    _: Reader,
    start: OptionalStart = None,
    end: OptionalEnd = None,
    from_: From = None,
    until: Until = None,
    zone: Zone = None,
    horizon_days: Horizon = metrics.DEFAULT_HORIZON_DAYS,
) -> RetentionMetricsPublic:
    """Repeat-purchase rates by delivery experience, monthly retention, and the
    CRM metrics by first-delivery experience (LTV, repeat rates, retention
    curves, acquisition cohorts, ratings). The range is ``start``/``end`` or,
    the same, ``from``/``until``."""
    return metrics.retention_metrics(
        session,
        start=metrics.either_day(start, from_, ("start", "from")),
        end=metrics.either_day(end, until, ("end", "until")),
        zone=zone,
        horizon_days=horizon_days,
    )
