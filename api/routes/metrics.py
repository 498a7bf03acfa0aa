"""The ``metrics`` routes: delivery performance and customer retention."""

from __future__ import annotations

import datetime as dt
import math
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from api.deps import Principal, Role, SessionDep, require
from api.errors import FieldError, InvalidInput, problem_responses
from api.tracking_metrics import history_frame, outcomes_between, rate
from tracking.outcomes import DEFAULT_HORIZONS, performance
from tracking.retention import monthly_retention, repeat_purchase_rates

__all__ = [
    "DeliveryMetricsPublic",
    "DeliveryMetricsRow",
    "MonthlyRetention",
    "RepeatRate",
    "RetentionMetricsPublic",
    "router",
]

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

MAX_DAYS = 366


def _check_range(start: dt.date, end: dt.date) -> None:
    if start > end:
        raise InvalidInput(
            [FieldError(field="query.start", reason="start is after end")]
        )
    if (end - start).days >= MAX_DAYS:
        raise InvalidInput(
            [FieldError(field="query.end", reason=f"at most {MAX_DAYS} days at once")]
        )


def _group(value: object) -> str:
    """A group key as text; a missing one (an order on no route) is ``?``."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "?"
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


class DeliveryMetricsRow(BaseModel):
    """Performance of one group (day, zone or van).

    ``eta_mae`` (minutes) and ``eta_coverage`` (share of arrivals inside the
    P10-P90 window) are by horizon in minutes before the arrival; they are
    filled only when asked for with ``eta_accuracy``.
    """

    group: str
    orders: int
    attempted: int
    on_time_rate: float | None
    failed_attempt_rate: float | None
    eta_mae: dict[int, float | None]
    eta_coverage: dict[int, float | None]


class DeliveryMetricsPublic(BaseModel):
    """Delivery metrics over a date range."""

    start: dt.date
    end: dt.date
    zone: str | None
    by: str
    data: list[DeliveryMetricsRow]
    count: int


class RepeatRate(BaseModel):
    """Share of deliveries followed by another order within ``days``."""

    experience: str
    days: int
    deliveries: int
    repeats: int
    rate: float | None
    low: float | None
    high: float | None


class MonthlyRetention(BaseModel):
    """Share of a month's customers who ordered again the next month."""

    month: str
    customers: int
    retained: int
    rate: float | None
    low: float | None
    high: float | None


class RetentionMetricsPublic(BaseModel):
    """Retention by delivery experience, over a date range."""

    start: dt.date
    end: dt.date
    zone: str | None
    deliveries: int
    customers: int
    repeat: list[RepeatRate]
    monthly: list[MonthlyRetention]


@router.get(
    "/delivery",
    response_model=DeliveryMetricsPublic,
    responses=problem_responses(422),
)
def read_delivery_metrics(
    session: SessionDep,
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
    """On-time rate, failed-attempt rate and ETA accuracy per day, zone or van."""
    _check_range(start, end)
    outcomes = outcomes_between(
        session, start, end, zone=zone, eta_accuracy=eta_accuracy
    )
    table = performance(outcomes, by=by)
    rows = [
        DeliveryMetricsRow(
            group=_group(r[by]),
            orders=int(r["orders"]),
            attempted=int(r["attempted"]),
            on_time_rate=rate(r["on_time_rate"]),
            failed_attempt_rate=rate(r["failed_attempt_rate"]),
            eta_mae={h: rate(r[f"eta_mae_{h}"]) for h in DEFAULT_HORIZONS},
            eta_coverage={h: rate(r[f"eta_coverage_{h}"]) for h in DEFAULT_HORIZONS},
        )
        for r in table.to_dict("records")
    ]
    return DeliveryMetricsPublic(
        start=start, end=end, zone=zone, by=by, data=rows, count=len(rows)
    )


@router.get(
    "/retention",
    response_model=RetentionMetricsPublic,
    responses=problem_responses(422),
)
def read_retention_metrics(
    session: SessionDep,
    _: Reader,
    start: Start,
    end: End,
    zone: Zone = None,
) -> RetentionMetricsPublic:
    """Repeat-purchase rates by delivery experience, and monthly retention."""
    _check_range(start, end)
    history = history_frame(outcomes_between(session, start, end, zone=zone))
    repeat: list[RepeatRate] = []
    monthly: list[MonthlyRetention] = []
    if not history.empty:
        for r in repeat_purchase_rates(history, by="experience", end=end).to_dict(
            "records"
        ):
            repeat.append(
                RepeatRate(
                    experience=str(r["group"]),
                    days=int(r["days"]),
                    deliveries=int(r["deliveries"]),
                    repeats=int(r["repeats"]),
                    rate=rate(r["rate"]),
                    low=rate(r["low"]),
                    high=rate(r["high"]),
                )
            )
        for r in monthly_retention(history).to_dict("records"):
            monthly.append(
                MonthlyRetention(
                    month=str(r["month"]),
                    customers=int(r["customers"]),
                    retained=int(r["retained"]),
                    rate=rate(r["rate"]),
                    low=rate(r["low"]),
                    high=rate(r["high"]),
                )
            )
    return RetentionMetricsPublic(
        start=start,
        end=end,
        zone=zone,
        deliveries=len(history),
        customers=int(history["customer_id"].nunique()),
        repeat=repeat,
        monthly=monthly,
    )
