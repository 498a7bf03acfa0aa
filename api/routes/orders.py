"""The ``orders`` routes: customer orders, one stop each, by delivery day.

An order is never deleted: ``DELETE`` cancels it (``active`` becomes false)
and it stays readable, so plans, tracking and metrics keep their history.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from api.deps import (
    IngestDep,
    Offset,
    Principal,
    Role,
    SessionDep,
    SettingsDep,
    require,
)
from api.errors import check_max_items, problem_responses
from api.routes.depots import Limit
from api.services import orders
from api.services.errors import fields_under
from api.services.orders import (
    JobUpdate,
    OrderCreate,
    OrderCreated,
    OrderPublic,
    OrdersCreate,
    OrdersCreated,
    OrdersPublic,
    OrderUpdate,
)
from routing.bounds import Day

__all__ = [
    "JobUpdate",
    "OrderCreate",
    "OrderCreated",
    "OrderPublic",
    "OrderUpdate",
    "OrdersCreate",
    "OrdersCreated",
    "OrdersPublic",
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


@router.post(
    "",
    response_model=OrderPublic,
    status_code=201,
    responses=problem_responses(409, 422),
)
def create_order(body: OrderCreate, session: SessionDep, _: Writer) -> OrderPublic:
    """Store a new order; the answer holds its id and tracking token."""
    with fields_under("body"):
        return orders.add_order(session, order=body)


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
    with fields_under("body.orders"):
        return orders.add_orders(session, batch=body.orders)


@router.get("", response_model=OrdersPublic, responses=problem_responses(422))
def read_orders(
    session: SessionDep,
    _: Reader,
    day: Annotated[Day | None, Query(description="delivery date")] = None,
    depot_id: Annotated[str | None, Query(max_length=128)] = None,
    customer_id: Annotated[str | None, Query(max_length=128)] = None,
    active: Annotated[
        bool | None, Query(description="true: open orders; false: cancelled")
    ] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> OrdersPublic:
    """List orders by day then id, filtered by day, depot, customer and state."""
    return orders.list_orders(
        session,
        day=day,
        depot_id=depot_id,
        customer_id=customer_id,
        active=active,
        limit=limit,
        offset=offset,
    )


@router.get("/{order_id}", response_model=OrderPublic, responses=problem_responses(404))
def read_order(order_id: OrderId, session: SessionDep, _: Reader) -> OrderPublic:
    """One order, active or cancelled."""
    return orders.read_order(session, order_id=order_id)


@router.patch(
    "/{order_id}",
    response_model=OrderPublic,
    responses=problem_responses(404, 409, 422),
)
def update_order(
    order_id: OrderId, body: OrderUpdate, session: SessionDep, _: Writer
) -> OrderPublic:
    """Change an active order's day, depot, customer or job (windows, demand...)."""
    with fields_under("body"):
        return orders.update_order(session, order_id=order_id, update=body)


@router.delete(
    "/{order_id}", response_model=OrderPublic, responses=problem_responses(404, 409)
)
def cancel_order(
    order_id: OrderId, session: SessionDep, ingest: IngestDep, _: Writer
) -> OrderPublic:
    """Cancel an order (it stays readable, inactive); cancelling twice is harmless.

    A tracked order's status becomes ``cancelled`` too, as an
    ``order_cancelled`` event would make it; 409 once it is past cancelling
    (at the door, delivered, a failed attempt).
    """
    return orders.cancel_order(session, order_id=order_id, ingest=ingest)
