"""The ``tracking`` routes: an order's status, live ETA and its streams.

``/orders/{order_id}/...`` serve the storefront and dispatchers (API key);
``/plans/{plan_id}/live`` serves the dispatcher console: every order's status
and ETA and every van's last position for one plan, also as a stream;
``/track/{token}`` serves the customer, who holds only the order's random
tracking token: it shows that order's status, its promised slot and
hand-over window, its place on the van's route and, while the van is on its
way to this very stop, the van's position; once delivered, the proof the
device sent, and it takes the customer's rating of that order. Nothing else.
The views are :mod:`api.services.tracking_views`.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import AsyncIterator, Callable, Hashable
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel

from api.auth import key_refusal
from api.deps import (
    LimitsDep,
    LiveEtasDep,
    Principal,
    ReadsDep,
    Role,
    SessionDep,
    SessionsDep,
    SlotBooksDep,
    require,
)
from api.errors import problem_responses
from api.limits import LimitedStream
from api.services.live import LiveChanges
from api.services.reads import SessionView
from api.services.tracking import ETA_REFRESH
from api.services.tracking_views import (
    OrderEtaPublic,
    OrderTrackingPublic,
    PlanLivePublic,
    RatingCreate,
    RatingPublic,
    RebookCreate,
    RebookPublic,
    TrackPublic,
    TrackSlotsPublic,
    fast_eta_view,
    plan_live_view,
    public_view,
    rate_order,
    rebook_view,
    slots_view,
    tracking_view,
)
from tracking.status import TERMINAL

__all__ = ["router"]

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

#: Least seconds between two redraws of a stream.
POLL_SECONDS = 1.0
#: Most seconds between two redraws when nothing changed (the ETA clock's step).
QUIET_SECONDS = float(ETA_REFRESH)
KEEPALIVE_SECONDS = 15.0
#: How often a keyed stream asks the database whether its key still works:
#: the key cache would trust it for 5 s more, and a revocation made by
#: another process never reaches this one's cache.
KEY_CHECK_SECONDS = 2.0
_NO_TOKEN = "no order has this tracking link"

View = SessionView[BaseModel | None]


# -- Server-Sent Events -------------------------------------------------------


def _to_minute(window: dict[str, Any] | None) -> None:
    if window:
        for k in ("expected", "earliest", "latest"):
            window[k] = window[k][:16]  # YYYY-MM-DDTHH:MM


def _change_key(view: BaseModel) -> str:
    """What must change for a new event: status, window to the minute, van,
    stops before the customer's, the day (a failed delivery moved)."""
    data = view.model_dump(
        mode="json", include={"status", "window", "driver", "stops_away", "day"}
    )
    _to_minute(data.get("window"))
    return json.dumps(data, sort_keys=True)


def _live_key(view: BaseModel) -> str:
    """A plan's live view changes with any status, van or window (to the minute)."""
    data = view.model_dump(mode="json")
    for order in data.get("orders", ()):
        _to_minute(order.get("window"))
    return json.dumps(data, sort_keys=True)


async def _events(
    request: Request,
    snapshot: Callable[[], BaseModel | None],
    max_seconds: int,
    key: Callable[[BaseModel], str],
    caller: Principal | None = None,
    key_state: Callable[[], str | None] | None = None,
) -> AsyncIterator[str]:
    """``status`` events: one at once, then one per change, keep-alives between.

    With the database's notifications heard (:class:`LiveChanges`, PostgreSQL)
    a stream redraws when any process commits a live change, at most every
    :data:`POLL_SECONDS`, and otherwise every :data:`QUIET_SECONDS` (ETAs
    move with the clock); without them it redraws every :data:`POLL_SECONDS`.
    A stream opened with a key ends with a ``revoked`` or ``expired`` event
    once its key stops working (checked every :data:`KEY_CHECK_SECONDS`).
    """
    changes: LiveChanges = request.app.state.live_changes
    last_key = None
    n = 0
    start = time.monotonic()
    checked = drawn = spoke = start
    seen: int | None = None  # the change count at the last redraw
    # A deadline, not a cancel scope: a scope left open across a ``yield``
    # breaks when the client goes away while the generator is suspended.
    deadline = start + max_seconds
    yield f"retry: {int(POLL_SECONDS * 1000) * 3}\n\n"
    while True:
        if caller is not None and key_state is not None:
            refused = "expired" if caller.expired() else None
            if refused is None and time.monotonic() - checked >= KEY_CHECK_SECONDS:
                checked = time.monotonic()
                refused = await anyio.to_thread.run_sync(key_state)
            if refused is not None:
                yield f"event: {refused}\ndata: {{}}\n\n"
                return
        if (
            seen is None
            or not changes.heard
            or changes.count != seen
            or time.monotonic() - drawn >= QUIET_SECONDS
        ):
            seen, drawn = changes.count, time.monotonic()
            current = await anyio.to_thread.run_sync(snapshot)
            if current is None:
                yield "event: gone\ndata: {}\n\n"
                return
            now_key = key(current)
            if now_key != last_key:
                n += 1
                last_key, spoke = now_key, time.monotonic()
                yield f"id: {n}\nevent: status\ndata: {current.model_dump_json()}\n\n"
                if getattr(current, "status", None) in TERMINAL:
                    return
        if time.monotonic() - spoke >= KEEPALIVE_SECONDS:
            spoke = time.monotonic()
            yield ": keep-alive\n\n"
        if await request.is_disconnected():
            return
        left = deadline - time.monotonic()
        if left <= 0:
            return
        await anyio.sleep(min(POLL_SECONDS, left))
        if changes.heard:
            wait = min(QUIET_SECONDS, deadline - time.monotonic())
            if caller is not None:
                wait = min(wait, KEY_CHECK_SECONDS)
            if wait - POLL_SECONDS > 0:
                await changes.wait(seen, wait - POLL_SECONDS)
        if time.monotonic() >= deadline:
            return


def _stream(
    request: Request,
    sessions: SessionsDep,
    limits: LimitsDep,
    view: View,
    max_seconds: int,
    missing: str,
    *,
    caller: Principal | None = None,
    token: str | None = None,
    key: Callable[[BaseModel], str] = _change_key,
) -> StreamingResponse:
    """Stream ``view`` as Server-Sent Events (404 ``missing`` if it is None now).

    Each poll runs in a worker thread with its own short session, so an open
    stream holds no database connection between polls. The stream holds a
    slot of its key (``caller``), or of its tracking ``token`` and client
    address, while it is open: 429 when one is full (:mod:`api.limits`).
    """
    claims: list[tuple[str, Hashable]] = []
    if caller is not None:
        claims.append(("key", caller.key_id))
    if token is not None:
        client = request.client
        claims += [("token", token), ("address", client.host if client else "")]
    # Checked again when the stream starts; this early look spares the
    # database a snapshot for a stream that would be refused.
    refused = limits.stream_refusal(claims)
    if refused is not None:
        raise refused

    def snapshot() -> BaseModel | None:
        with sessions() as session:
            return view(session)

    def key_state() -> str | None:
        return None if caller is None else key_refusal(sessions, caller.key_id)

    if snapshot() is None:
        raise HTTPException(404, missing)
    return LimitedStream(
        _events(request, snapshot, max_seconds, key, caller, key_state),
        limits=limits,
        claims=claims,
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
    order_id: OrderId, reads: ReadsDep, etas: LiveEtasDep, _: Reader, at: At = None
) -> Response:
    """The order's live ETA with its P10-P90 window, and its status."""
    view = await fast_eta_view(reads, etas, order_id, at)
    if view is None:
        found = await reads.run(
            lambda s: tracking_view(
                s,
                etas,
                order_id,
                at,
                with_kind=False,
                excursions=False,
                rating=False,
            )
        )
        if found is None:
            raise HTTPException(404, f"no order {order_id}")
        view = OrderEtaPublic.model_validate(
            found.model_dump(include=set(OrderEtaPublic.model_fields))
        )
    # Built and typed here already: FastAPI would validate it a second time.
    return Response(view.model_dump_json(), media_type="application/json")


@router.get(
    "/orders/{order_id}/tracking",
    response_model=OrderTrackingPublic,
    responses=problem_responses(404, 422),
)
async def read_order_tracking(
    order_id: OrderId, reads: ReadsDep, etas: LiveEtasDep, _: Reader, at: At = None
) -> OrderTrackingPublic:
    """The order's status history (time, cause, event) and its ETA window."""
    view = await reads.run(lambda s: tracking_view(s, etas, order_id, at))
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
    sessions: SessionsDep,
    limits: LimitsDep,
    etas: LiveEtasDep,
    caller: Reader,
    max_seconds: MaxSeconds = 900,
) -> StreamingResponse:
    """Server-Sent Events: the tracking view now and whenever it changes."""
    return _stream(
        request,
        sessions,
        limits,
        lambda s: tracking_view(s, etas, order_id),
        max_seconds,
        f"no order {order_id}",
        caller=caller,
    )


@router.get(
    "/track/{token}",
    response_model=TrackPublic,
    responses=problem_responses(404, 422),
)
async def read_tracking_link(
    token: Token, reads: ReadsDep, etas: LiveEtasDep
) -> TrackPublic:
    """The customer's view of one order by its tracking link (no key needed)."""
    view = await reads.run(lambda s: public_view(s, etas, token))
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
    sessions: SessionsDep,
    limits: LimitsDep,
    etas: LiveEtasDep,
    max_seconds: MaxSeconds = 900,
) -> StreamingResponse:
    """Server-Sent Events: the customer's view now and whenever it changes."""
    return _stream(
        request,
        sessions,
        limits,
        lambda s: public_view(s, etas, token),
        max_seconds,
        _NO_TOKEN,
        token=token,
    )


@router.post(
    "/track/{token}/rating",
    response_model=RatingPublic,
    status_code=201,
    responses={
        200: {"model": RatingPublic, "description": "an earlier rating replaced"},
        **problem_responses(404, 409, 422),
    },
)
def rate_tracking_link(
    token: Token, body: RatingCreate, session: SessionDep
) -> JSONResponse:
    """The customer rates the delivered order of this link (no key needed).

    One rating per order: posting again replaces it (200; the first is 201).
    409 while the order is not delivered.
    """
    found = rate_order(session, token, body)
    if found is None:
        raise HTTPException(404, _NO_TOKEN)
    rating, created = found
    return JSONResponse(
        rating.model_dump(mode="json"),
        status_code=201 if created else 200,
        headers={"Cache-Control": "no-store"},
    )


@router.get(
    "/track/{token}/slots",
    response_model=TrackSlotsPublic,
    responses=problem_responses(404, 409, 422),
)
def read_tracking_slots(
    token: Token,
    session: SessionDep,
    books: SlotBooksDep,
    day: Annotated[
        dt.date | None,
        Query(description="a day after the failed attempt (default: the next day)"),
    ] = None,
) -> TrackSlotsPublic:
    """The slots a failed delivery could move to (no key needed; 409 unless
    the order's last attempt failed and is not resolved)."""
    view = slots_view(session, books, token, day)
    if view is None:
        raise HTTPException(404, _NO_TOKEN)
    return view


@router.post(
    "/track/{token}/rebook",
    response_model=RebookPublic,
    responses=problem_responses(404, 409, 422),
)
def rebook_tracking_link(
    token: Token, body: RebookCreate, session: SessionDep, books: SlotBooksDep
) -> RebookPublic:
    """Move the failed delivery of this link's order to the slot the customer
    picked (no key needed): the order is planned again on that day."""
    view = rebook_view(session, books, token, body)
    if view is None:
        raise HTTPException(404, _NO_TOKEN)
    return view


@router.get(
    "/plans/{plan_id}/live",
    response_model=PlanLivePublic,
    responses=problem_responses(404, 422),
)
async def read_plan_live(
    plan_id: PlanId, reads: ReadsDep, etas: LiveEtasDep, _: FleetReader
) -> PlanLivePublic:
    """Every order's status and ETA window and every van's last report, for a plan."""
    view = await reads.run(lambda s: plan_live_view(s, etas, plan_id))
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
    sessions: SessionsDep,
    limits: LimitsDep,
    etas: LiveEtasDep,
    caller: FleetReader,
    max_seconds: MaxSeconds = 900,
) -> StreamingResponse:
    """Server-Sent Events: the plan's live view now and whenever it changes.

    Browsers read it with ``fetch()`` (``EventSource`` cannot send the key
    header), so the key never ends up in a URL.
    """
    return _stream(
        request,
        sessions,
        limits,
        lambda s: plan_live_view(s, etas, plan_id),
        max_seconds,
        f"no plan {plan_id}",
        caller=caller,
        key=_live_key,
    )
