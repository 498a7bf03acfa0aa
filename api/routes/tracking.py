"""The ``tracking`` routes: an order's status, live ETA and its streams.

``/orders/{order_id}/...`` serve the storefront and dispatchers (API key);
``/plans/{plan_id}/live`` serves the dispatcher console: every order's status
and ETA and every van's last position for one plan, also as a stream;
``/track/{token}`` serves the customer, who holds only the order's random
tracking token: it shows that order's status, its ETA window and, while the
van is on its way to this very stop, the van's position, and nothing else.

Times in the domain models (``eta``) are seconds since local midnight of the
order's day; ``window`` gives the same as aware datetimes.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated, Any, TypeVar

import anyio
from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from api import dispatch
from api.db.async_reads import AsyncReads, compiled
from api.deps import Principal, Role, SessionDep, require
from api.errors import problem_responses
from api.plans_store import plan_row
from api.tracking_service import (
    NOT_REMEMBERED,
    ORDER_REF,
    eta_clock,
    eta_on_route,
    local_time,
    order_ref_row,
    remembered_eta,
    tracked_order,
    tracked_orders,
    vehicle_state,
    vehicle_states,
)
from tracking.eta import Eta
from tracking.status import TERMINAL, OrderState, OrderStatus, StatusChange

__all__ = [
    "DriverPosition",
    "EtaWindow",
    "OrderEtaPublic",
    "OrderTrackingPublic",
    "PlanLivePublic",
    "StopLive",
    "TrackPublic",
    "TrackStep",
    "VehicleLive",
    "router",
]

router = APIRouter(prefix="", tags=["tracking"], responses=problem_responses(401, 403))

Reader = Annotated[Principal, Depends(require(Role.storefront, Role.dispatcher))]
FleetReader = Annotated[Principal, Depends(require(Role.dispatcher, Role.planner))]
PlanId = Annotated[str, Path(min_length=1, max_length=128)]
OrderId = Annotated[str, Path(min_length=1, max_length=128)]
Token = Annotated[str, Path(min_length=1, max_length=64)]
At = Annotated[
    int | None,
    Query(
        ge=-86_400,
        le=3 * 86_400,
        description="time of the prediction in seconds since local midnight "
        "of the order's day (default: now)",
    ),
]
MaxSeconds = Annotated[
    int,
    Query(
        ge=1,
        le=3600,
        description="the stream ends after this many seconds; reconnect to go on",
    ),
]

T = TypeVar("T")

POLL_SECONDS = 1.0
KEEPALIVE_SECONDS = 15.0
_NO_TOKEN = "no order has this tracking link"


class EtaWindow(BaseModel):
    """The ETA as local times: expected arrival and its P10-P90 window."""

    expected: dt.datetime
    earliest: dt.datetime
    latest: dt.datetime
    arrived: bool = False


class OrderEtaPublic(BaseModel):
    """An order's status and live ETA (``eta`` None once it is not coming)."""

    order_id: str
    day: dt.date
    status: OrderState
    eta: Eta | None = None
    window: EtaWindow | None = None


class OrderTrackingPublic(OrderEtaPublic):
    """Status, ETA and every status change with its time and cause."""

    vehicle: str | None = None
    history: list[StatusChange]


class TrackStep(BaseModel):
    """One status the order passed through, and when."""

    status: OrderState
    at: dt.datetime


class DriverPosition(BaseModel):
    """Where the van was last seen (only while this is its next stop)."""

    lat: float
    lon: float
    at: dt.datetime


class TrackPublic(BaseModel):
    """What the customer's tracking link shows."""

    status: OrderState
    window: EtaWindow | None = None
    history: list[TrackStep]
    driver: DriverPosition | None = None


class StopLive(BaseModel):
    """One order of a plan: its status, van and ETA window (None once not coming)."""

    order_id: str
    status: OrderState
    vehicle: str | None = None
    window: EtaWindow | None = None


class VehicleLive(BaseModel):
    """A van of a plan as last reported: shift, position, latest stop."""

    vehicle: str
    on_shift: bool = False
    lat: float | None = None
    lon: float | None = None
    position_at: dt.datetime | None = None
    stop: str | None = None
    stop_event: str | None = None
    stop_at: dt.datetime | None = None


class PlanLivePublic(BaseModel):
    """A plan's day as it happens: every order's status, every van seen.

    Orders not tracked (yet) are left out; so are vans that sent nothing.
    """

    plan_id: str
    day: dt.date
    orders: list[StopLive]
    vehicles: list[VehicleLive]


# -- views (one session each) -------------------------------------------------


def _window(eta: Eta | None, day: dt.date) -> EtaWindow | None:
    if eta is None:
        return None
    return EtaWindow(
        expected=local_time(eta.point, day),
        earliest=local_time(eta.p10, day),
        latest=local_time(eta.p90, day),
        arrived=eta.arrived,
    )


def tracking_view(
    session: Session, order_id: str, at: int | None = None
) -> OrderTrackingPublic | None:
    """Status, history and ETA of an order (None: no such order)."""
    found = tracked_order(session, order_id)
    if found is None:
        row = dispatch.order_row(session, order_id)
        if row is None:
            return None
        return OrderTrackingPublic(
            order_id=order_id, day=row.day, status=OrderState.CREATED, history=[]
        )
    day, status, ref = found
    now = eta_clock(day) if at is None else at
    eta = eta_on_route(session, day, status, now, ref)
    return OrderTrackingPublic(
        **_eta_fields(order_id, day, status, eta),
        vehicle=status.vehicle,
        history=list(status.history),
    )


def _eta_fields(
    order_id: str, day: dt.date, status: OrderStatus, eta: Eta | None
) -> dict[str, Any]:
    """The fields of :class:`OrderEtaPublic` (also those of the tracking view)."""
    return {
        "order_id": order_id,
        "day": day,
        "status": status.state,
        "eta": eta,
        "window": _window(eta, day),
    }


_ORDER_REF_SQL = compiled(ORDER_REF)


async def _fast_eta_view(
    request: Request, order_id: str, at: int | None
) -> OrderEtaPublic | None:
    """The ETA view with one query on the event loop, where that is possible.

    On PostgreSQL (``app.state.async_reads``) a tracked order's row is read
    asynchronously; its route's ETAs then come from memory, or from one
    worker-thread hop that computes them. None: the slow path decides
    (SQLite, or an order that is not tracked or does not exist).
    """
    reads: AsyncReads | None = request.app.state.async_reads
    if reads is None:
        return None
    row = await reads.one(_ORDER_REF_SQL, {"order_id": order_id})
    if row is None:
        return None
    day, status, ref = order_ref_row(row)
    now = eta_clock(day) if at is None else at
    eta = remembered_eta(day, status, now, ref)
    if eta is NOT_REMEMBERED:
        eta = await _in_session(
            request, lambda s: eta_on_route(s, day, status, now, ref)
        )
    assert eta is None or isinstance(eta, Eta)
    return OrderEtaPublic(**_eta_fields(order_id, day, status, eta))


def _in_session(request: Request, view: Callable[[Session], T]) -> Awaitable[T]:
    """Run a read-only ``view`` with its own session, off the event loop or on it.

    The hot read paths (ETA, tracking, the customer's link) are ``async``
    routes that make one worker-thread hop, instead of one per dependency.
    On SQLite (``app.state.inline_reads``) they make none: a read of a local
    file takes tens of microseconds, less than handing it to a thread and
    waiting for the interpreter lock to come back (measured in
    ``benchmarks/bench_api.py``); a network database always gets the hop,
    and the read engine's autocommit connections
    (:func:`api.db.engine.make_read_engine`).
    """
    maker: sessionmaker[Session] = request.app.state.read_sessionmaker

    def run() -> T:
        with maker() as session:
            return view(session)

    if request.app.state.inline_reads:

        async def inline() -> T:
            return run()

        return inline()
    return run_in_threadpool(run)


def public_view(session: Session, token: str) -> TrackPublic | None:
    """The customer's view of the order holding ``token`` (None: no such token)."""
    row = dispatch.order_by_token(session, token)
    if row is None:
        return None
    found = tracked_order(session, row.id)
    if found is None:
        return TrackPublic(status=OrderState.CREATED, history=[])
    day, status, ref = found
    eta = eta_on_route(session, day, status, eta_clock(day), ref)
    driver = None
    if status.state is OrderState.ARRIVING and status.vehicle is not None:
        van = vehicle_state(session, day, status.vehicle)
        if (
            van is not None
            and van.lat is not None
            and van.lon is not None
            and van.position_at is not None
        ):
            driver = DriverPosition(
                lat=van.lat, lon=van.lon, at=local_time(van.position_at, day)
            )
    return TrackPublic(
        status=status.state,
        window=_window(eta, day),
        history=[
            TrackStep(status=c.target, at=local_time(c.at, day)) for c in status.history
        ],
        driver=driver,
    )


def plan_live_view(session: Session, plan_id: str) -> PlanLivePublic | None:
    """Statuses, ETAs and van positions of a stored plan (None: no such plan)."""
    row = plan_row(session, plan_id)
    if row is None:
        return None
    day, plan = row.day, row.plan
    order_ids = [o for route in plan.routes for o in route.order_ids]
    order_ids += [u.id for u in plan.unassigned]
    now = eta_clock(day)
    orders = []
    for order_day, status, ref in tracked_orders(session, order_ids):
        eta = eta_on_route(session, order_day, status, now, ref)
        orders.append(
            StopLive(
                order_id=status.order_id,
                status=status.state,
                vehicle=status.vehicle,
                window=_window(eta, order_day),
            )
        )
    orders.sort(key=lambda o: o.order_id)

    def when(seconds: int | None) -> dt.datetime | None:
        return None if seconds is None else local_time(seconds, day)

    vans = vehicle_states(session, day, [r.vehicle for r in plan.routes])
    vehicles = [
        VehicleLive(
            vehicle=v.vehicle,
            on_shift=v.on_shift,
            lat=v.lat,
            lon=v.lon,
            position_at=when(v.position_at),
            stop=v.stop,
            stop_event=v.stop_event,
            stop_at=when(v.stop_at),
        )
        for v in sorted(vans, key=lambda v: v.vehicle)
    ]
    return PlanLivePublic(plan_id=plan_id, day=day, orders=orders, vehicles=vehicles)


# -- Server-Sent Events -------------------------------------------------------


def _to_minute(window: dict[str, Any] | None) -> None:
    if window:
        for k in ("expected", "earliest", "latest"):
            window[k] = window[k][:16]  # YYYY-MM-DDTHH:MM


def _change_key(view: BaseModel) -> str:
    """What must change for a new event: status, window to the minute, van."""
    data = view.model_dump(mode="json", include={"status", "window", "driver"})
    _to_minute(data.get("window"))
    return json.dumps(data, sort_keys=True)


def _live_key(view: BaseModel) -> str:
    """A plan's live view changes with any status, van or window (to the minute)."""
    data = view.model_dump(mode="json")
    for order in data.get("orders", ()):
        _to_minute(order.get("window"))
    return json.dumps(data, sort_keys=True)


def _sse(
    request: Request,
    view: Callable[[Session], BaseModel | None],
    max_seconds: int,
    key: Callable[[BaseModel], str] = _change_key,
) -> StreamingResponse:
    """Stream ``view`` as ``status`` events: one at once, then one per change.

    Each poll runs in a worker thread with its own short session, so an open
    stream holds no database connection between polls.
    """
    maker: sessionmaker[Session] = request.app.state.sessionmaker

    def snapshot() -> BaseModel | None:
        with maker() as session:
            return view(session)

    async def events() -> AsyncIterator[str]:
        last_key = None
        n = 0
        quiet = 0.0
        with anyio.move_on_after(max_seconds):
            yield f"retry: {int(POLL_SECONDS * 1000) * 3}\n\n"
            while True:
                current = await anyio.to_thread.run_sync(snapshot)
                if current is None:
                    yield "event: gone\ndata: {}\n\n"
                    return
                now_key = key(current)
                if now_key != last_key:
                    n += 1
                    last_key, quiet = now_key, 0.0
                    body = current.model_dump_json()
                    yield f"id: {n}\nevent: status\ndata: {body}\n\n"
                    if getattr(current, "status", None) in TERMINAL:
                        return
                elif quiet >= KEEPALIVE_SECONDS:
                    quiet = 0.0
                    yield ": keep-alive\n\n"
                if await request.is_disconnected():
                    return
                await anyio.sleep(POLL_SECONDS)
                quiet += POLL_SECONDS

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


_SSE_DOC: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {"text/event-stream": {}},
        "description": "``status`` events, each a JSON view; the first at once",
    }
}


# -- routes -------------------------------------------------------------------


@router.get(
    "/orders/{order_id}/eta",
    response_model=OrderEtaPublic,
    responses=problem_responses(404, 422),
)
async def read_order_eta(
    order_id: OrderId, request: Request, _: Reader, at: At = None
) -> Response:
    """The order's live ETA with its P10-P90 window, and its status."""
    view = await _fast_eta_view(request, order_id, at)
    if view is None:
        found = await _in_session(request, lambda s: tracking_view(s, order_id, at))
        if found is None:
            raise HTTPException(404, f"no order {order_id}")
        view = OrderEtaPublic(
            order_id=found.order_id,
            day=found.day,
            status=found.status,
            eta=found.eta,
            window=found.window,
        )
    # Built and typed here already: FastAPI would validate it a second time.
    return Response(view.model_dump_json(), media_type="application/json")


@router.get(
    "/orders/{order_id}/tracking",
    response_model=OrderTrackingPublic,
    responses=problem_responses(404, 422),
)
async def read_order_tracking(
    order_id: OrderId, request: Request, _: Reader, at: At = None
) -> OrderTrackingPublic:
    """The order's status history (time, cause, event) and its ETA window."""
    view = await _in_session(request, lambda s: tracking_view(s, order_id, at))
    if view is None:
        raise HTTPException(404, f"no order {order_id}")
    return view


@router.get(
    "/orders/{order_id}/stream",
    response_class=StreamingResponse,
    responses={**_SSE_DOC, **problem_responses(404, 422)},
)
def stream_order_tracking(
    order_id: OrderId,
    request: Request,
    session: SessionDep,
    _: Reader,
    max_seconds: MaxSeconds = 900,
) -> StreamingResponse:
    """Server-Sent Events: the tracking view now and whenever it changes."""
    if tracking_view(session, order_id) is None:
        raise HTTPException(404, f"no order {order_id}")
    return _sse(request, lambda s: tracking_view(s, order_id), max_seconds)


@router.get(
    "/track/{token}",
    response_model=TrackPublic,
    responses=problem_responses(404, 422),
)
async def read_tracking_link(token: Token, request: Request) -> TrackPublic:
    """The customer's view of one order by its tracking link (no key needed)."""
    view = await _in_session(request, lambda s: public_view(s, token))
    if view is None:
        raise HTTPException(404, _NO_TOKEN)
    return view


@router.get(
    "/track/{token}/stream",
    response_class=StreamingResponse,
    responses={**_SSE_DOC, **problem_responses(404, 422)},
)
def stream_tracking_link(
    token: Token,
    request: Request,
    session: SessionDep,
    max_seconds: MaxSeconds = 900,
) -> StreamingResponse:
    """Server-Sent Events: the customer's view now and whenever it changes."""
    if public_view(session, token) is None:
        raise HTTPException(404, _NO_TOKEN)
    return _sse(request, lambda s: public_view(s, token), max_seconds)


@router.get(
    "/plans/{plan_id}/live",
    response_model=PlanLivePublic,
    responses=problem_responses(404, 422),
)
async def read_plan_live(
    plan_id: PlanId, request: Request, _: FleetReader
) -> PlanLivePublic:
    """Every order's status and ETA window and every van's last report, for a plan."""
    view = await _in_session(request, lambda s: plan_live_view(s, plan_id))
    if view is None:
        raise HTTPException(404, f"no plan {plan_id}")
    return view


@router.get(
    "/plans/{plan_id}/live/stream",
    response_class=StreamingResponse,
    responses={**_SSE_DOC, **problem_responses(404, 422)},
)
def stream_plan_live(
    plan_id: PlanId,
    request: Request,
    session: SessionDep,
    _: FleetReader,
    max_seconds: MaxSeconds = 900,
) -> StreamingResponse:
    """Server-Sent Events: the plan's live view now and whenever it changes.

    Browsers read it with ``fetch()`` (``EventSource`` cannot send the key
    header), so the key never ends up in a URL.
    """
    if plan_row(session, plan_id) is None:
        raise HTTPException(404, f"no plan {plan_id}")
    return _sse(
        request, lambda s: plan_live_view(s, plan_id), max_seconds, key=_live_key
    )
