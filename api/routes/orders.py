"""The ``orders`` routes: customer orders, one stop each, by delivery day.

An order is never deleted: ``DELETE`` cancels it (``active`` becomes false)
and it stays readable, so plans, tracking and metrics keep their history.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from api import dispatch
from api.deps import Offset, Principal, Role, SessionDep, SettingsDep, require
from api.errors import FieldError, InvalidInput, check_max_items, problem_responses
from routing.model import (
    Amount,
    Id,
    Job,
    Location,
    Seconds,
    ServiceLevel,
    Windows,
)

__all__ = [
    "JobUpdate",
    "OrderCreate",
    "OrderCreated",
    "OrderPublic",
    "OrderUpdate",
    "OrdersCreate",
    "OrdersCreated",
    "OrdersPublic",
    "order_public",
    "router",
]

router = APIRouter(
    prefix="/orders", tags=["orders"], responses=problem_responses(401, 403)
)

Writer = Annotated[Principal, Depends(require(Role.dispatcher, Role.storefront))]
Reader = Annotated[
    Principal, Depends(require(Role.dispatcher, Role.storefront, Role.planner))
]
OrderId = Annotated[str, Path(min_length=1, max_length=128)]
Limit = Annotated[int, Query(ge=1, le=1000, description="most items to return")]


class OrderCreate(BaseModel):
    """A new order: the routing job, its day, and where and whose it is."""

    model_config = ConfigDict(extra="forbid")

    day: dt.date = Field(description="delivery date")
    job: Job = Field(description="the stop; its id becomes the order id")
    depot_id: Id | None = Field(
        default=None, description="depot holding the parcel; default job.depot"
    )
    customer_id: Id | None = Field(
        default=None, description="who ordered it; default job.customer_id"
    )


class OrdersCreate(BaseModel):
    """Orders to store together: all of them, or none."""

    model_config = ConfigDict(extra="forbid")

    orders: list[OrderCreate] = Field(min_length=1)


class OrderCreated(BaseModel):
    """A stored order's id and the token its customer tracks it with."""

    id: str
    tracking_token: str


class OrdersCreated(BaseModel):
    """The orders a batch stored, in the order sent."""

    data: list[OrderCreated]
    count: int


class OrderPublic(BaseModel):
    """A stored order."""

    id: str
    day: dt.date
    depot_id: str | None
    customer_id: str | None
    active: bool = Field(description="false once cancelled")
    tracking_token: str = Field(description="for the customer's tracking page")
    job: Job
    created_at: dt.datetime
    updated_at: dt.datetime


class OrdersPublic(BaseModel):
    """A page of orders, by day then id."""

    data: list[OrderPublic]
    count: int


class JobUpdate(BaseModel):
    """Fields of the job to change; the result is checked as a whole ``Job``.

    Sending ``null`` clears an optional field (``penalty``, ``lateness_cost``,
    ``scheduled_date``).
    """

    model_config = ConfigDict(extra="forbid")

    type: Literal["delivery", "pickup"] | None = None
    location: Location | None = None
    setup: Seconds | None = None
    service: Seconds | None = None
    time_windows: Windows | None = None
    demand: Amount | None = None
    priority: int | None = Field(default=None, ge=0, le=100)
    penalty: float | None = Field(default=None, ge=0.0)
    skills: frozenset[str] | None = None
    service_level: ServiceLevel | None = None
    scheduled_date: dt.date | None = None
    lateness_cost: float | None = Field(default=None, ge=0.0)


class OrderUpdate(BaseModel):
    """Changes to an active order; fields left out stay as they are."""

    model_config = ConfigDict(extra="forbid")

    day: dt.date | None = None
    depot_id: Id | None = Field(default=None, description="null: no fixed depot")
    customer_id: Id | None = None
    job: JobUpdate | None = None


def order_public(row: dispatch.OrderRow) -> OrderPublic:
    """The response model of an order row."""
    return OrderPublic(
        id=row.id,
        day=row.day,
        depot_id=row.depot_id,
        customer_id=row.customer_id,
        active=row.active,
        tracking_token=row.tracking_token,
        job=row.job,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _under(prefix: str, errors: list[FieldError]) -> list[FieldError]:
    return [
        FieldError(
            field=f"{prefix}{'' if e.field.startswith('[') else '.'}{e.field}",
            reason=e.reason,
        )
        for e in errors
    ]


def _get(session: SessionDep, order_id: str) -> dispatch.OrderRow:
    row = dispatch.order_row(session, order_id)
    if row is None:
        raise HTTPException(404, f"no order {order_id!r}")
    return row


@contextmanager
def _refusals(prefix: str) -> Iterator[None]:
    """Turn the dispatch errors into 422 (fields under ``prefix``) and 409."""
    try:
        yield
    except dispatch.InvalidData as exc:
        raise InvalidInput(_under(prefix, exc.errors)) from None
    except dispatch.DuplicateId as exc:
        raise HTTPException(409, str(exc)) from None


@router.post(
    "",
    response_model=OrderPublic,
    status_code=201,
    responses=problem_responses(409, 422),
)
def create_order(body: OrderCreate, session: SessionDep, _: Writer) -> OrderPublic:
    """Store a new order; the answer holds its id and tracking token."""
    with _refusals("body"):
        row = dispatch.create_order(
            session,
            job=body.job,
            day=body.day,
            depot_id=body.depot_id,
            customer_id=body.customer_id,
        )
    return order_public(row)


@router.post(
    "/batch",
    response_model=OrdersCreated,
    status_code=201,
    responses=problem_responses(409, 422),
)
def create_orders(
    body: OrdersCreate, session: SessionDep, settings: SettingsDep, _: Writer
) -> OrdersCreated:
    """Store many orders (e.g. a day's import) all at once, or none of them."""
    check_max_items(body.orders, "body.orders", settings.max_list_items)
    items = [(o.job, o.day, o.depot_id, o.customer_id) for o in body.orders]
    with _refusals("body.orders"):
        rows = dispatch.create_orders(session, items)
    data = [OrderCreated(id=r.id, tracking_token=r.tracking_token) for r in rows]
    return OrdersCreated(data=data, count=len(data))


@router.get("", response_model=OrdersPublic, responses=problem_responses(422))
def read_orders(
    session: SessionDep,
    _: Reader,
    day: Annotated[dt.date | None, Query(description="delivery date")] = None,
    depot_id: Annotated[str | None, Query(max_length=128)] = None,
    customer_id: Annotated[str | None, Query(max_length=128)] = None,
    active: Annotated[
        bool | None, Query(description="true: open orders; false: cancelled")
    ] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> OrdersPublic:
    """List orders by day then id, filtered by day, depot, customer and state."""
    table = dispatch.OrderRow
    filters: list[Any] = []
    if day is not None:
        filters.append(table.day == day)
    if depot_id is not None:
        filters.append(table.depot_id == depot_id)
    if customer_id is not None:
        filters.append(table.customer_id == customer_id)
    if active is not None:
        filters.append(table.active.is_(active))
    count, rows = dispatch.page(
        session, table, filters, limit, offset, order_by=[table.day]
    )
    return OrdersPublic(data=[order_public(r) for r in rows], count=count)


@router.get("/{order_id}", response_model=OrderPublic, responses=problem_responses(404))
def read_order(order_id: OrderId, session: SessionDep, _: Reader) -> OrderPublic:
    """One order, active or cancelled."""
    return order_public(_get(session, order_id))


@router.patch(
    "/{order_id}",
    response_model=OrderPublic,
    responses=problem_responses(404, 409, 422),
)
def update_order(
    order_id: OrderId, body: OrderUpdate, session: SessionDep, _: Writer
) -> OrderPublic:
    """Change an active order's day, depot, customer or job (windows, demand...)."""
    row = _get(session, order_id)
    if not row.active:
        raise HTTPException(409, f"order {order_id!r} is cancelled")
    sent = body.model_fields_set
    if "day" in sent and body.day is None:
        raise InvalidInput([FieldError(field="body.day", reason="may not be null")])

    job = row.job
    spec = job.model_dump()
    if body.job is not None:
        spec.update(body.job.model_dump(exclude_unset=True))
    depot_id = body.depot_id if "depot_id" in sent else row.depot_id
    customer_id = body.customer_id if "customer_id" in sent else row.customer_id
    # The job's own depot and customer follow the order's, which they matched.
    if "depot_id" in sent and job.depot is not None:
        spec["depot"] = depot_id
    if "customer_id" in sent:
        spec["customer_id"] = customer_id
    try:
        job = Job.model_validate(spec)
    except ValidationError as exc:
        raise InvalidInput(dispatch.validation_errors(exc, "body.job")) from None
    with _refusals("body"):
        check = dispatch.OrderChecker(session)
        job, depot_id, customer_id = check(job, depot_id, customer_id)

    row.job = job
    row.depot_id = depot_id
    row.customer_id = customer_id
    if body.day is not None:
        row.day = body.day
    session.flush()
    return order_public(row)


@router.delete(
    "/{order_id}", response_model=OrderPublic, responses=problem_responses(404)
)
def cancel_order(order_id: OrderId, session: SessionDep, _: Writer) -> OrderPublic:
    """Cancel an order (it stays readable, inactive); cancelling twice is harmless."""
    row = _get(session, order_id)
    if row.active:
        row.active = False
        session.flush()
    return order_public(row)
