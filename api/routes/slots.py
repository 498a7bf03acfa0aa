"""Delivery slots at checkout: quote the windows for an address, book one.

Quotes and bookings work on the day's current plan
(:func:`api.plans_store.current_plan`) through a
:class:`routing.slotting.SlotBook`: a quote is a cheapest-insertion check
into the planned routes, not a solve. The books are kept per day and depot
in ``app.state`` and rebuilt only when the current plan changes (a new
solve, a re-optimisation). A booking inserts the order with the slot as a
hard window, stores it as an order and the result as a new plan version,
all while holding that day's lock, so two customers never get the last
place in a window. Across processes, a booking supersedes its plan only if
that plan is still the current draft; otherwise it is refused (409) and the
customer quotes again on the newer plan.
"""

from __future__ import annotations

import datetime as dt
import secrets
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import update
from sqlalchemy.orm import Session

from api.deps import Principal, Role, SessionDep, require
from api.dispatch import DuplicateId, InvalidData, OrderRow, create_order
from api.errors import FieldError, InvalidInput, problem_responses
from api.plans_store import PlanRow, current_plan, save_plan
from api.tracking_service import now_seconds, register_plan
from routing.model import Amount, Id, Location, Problem, Seconds
from routing.plan import Plan
from routing.slotting import (
    Booking,
    Slot,
    SlotBook,
    SlotConfig,
    SlotQuote,
    SlotReason,
    SlotUnavailableError,
)
from routing.travel import HaversineTravel
from routing.units import haversine_m, to_datetime

__all__ = ["SlotBooks", "router"]

router = APIRouter(
    prefix="/slots", tags=["slots"], responses=problem_responses(401, 403)
)


# --- the books, one per day and depot ------------------------------------------

Key = tuple[dt.date, str | None]


@dataclass
class _Entry:
    """A day's book and the plan version it started from (or made)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    plan_id: str | None = None
    book: SlotBook | None = None


class SlotBooks:
    """The slot books of the app, keyed by (day, depot id).

    Parameters
    ----------
    keep
        Books kept at most; the least recently used idle ones go first.
    """

    def __init__(self, keep: int = 32) -> None:
        self._lock = threading.Lock()
        self._entries: OrderedDict[Key, _Entry] = OrderedDict()
        self.keep = keep

    @contextmanager
    def day(self, key: Key) -> Iterator[_Entry]:
        """Hold the lock of one day and depot (quotes and bookings queue on it)."""
        with self._lock:
            entry = self._entries.setdefault(key, _Entry())
            self._entries.move_to_end(key)
            idle = [k for k, e in self._entries.items() if not e.lock.locked()]
            for old in idle[: max(0, len(self._entries) - self.keep)]:
                if old != key:
                    del self._entries[old]
        with entry.lock:
            yield entry


_books_lock = threading.Lock()


def _books(request: Request) -> SlotBooks:
    state = request.app.state
    with _books_lock:
        books: SlotBooks | None = getattr(state, "slot_books", None)
        if books is None:
            books = state.slot_books = SlotBooks()
    return books


def _config(problem: Problem) -> SlotConfig:
    """The default slots; a default order fits the fleet's capacity dimensions."""
    config = SlotConfig()
    if len(config.demand) != problem.n_dims:
        # One unit per dimension: the usual meaning of a 1-D capacity is parcels.
        config = config.model_copy(update={"demand": (1,) * problem.n_dims})
    return config


def _book_for(entry: _Entry, row: PlanRow) -> SlotBook:
    """The entry's book, rebuilt when the day's current plan is another one."""
    if entry.book is None or entry.plan_id != row.id:
        entry.book = entry.plan_id = None
        try:
            # The planner solves stored days with straight-line travel.
            entry.book = SlotBook(
                row.problem, row.plan, HaversineTravel(), _config(row.problem)
            )
        except ValueError as exc:
            raise HTTPException(
                409, f"the plan {row.id} cannot take slot quotes: {exc}"
            ) from None
        entry.plan_id = row.id
    return entry.book


def _check_demand(body: _SlotRequest, problem: Problem) -> None:
    if body.demand is not None and len(body.demand) != problem.n_dims:
        reason = (
            f"has {len(body.demand)} dimensions; vehicle capacity has {problem.n_dims}"
        )
        raise InvalidInput([FieldError(field="body.demand", reason=reason)])


# --- schemas ---------------------------------------------------------------------


class _SlotRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    location: Location = Field(description="the delivery address (lat/lon)")
    day: dt.date = Field(description="delivery date")
    depot_id: Id | None = Field(
        default=None, description="the depot's plan (default: the all-depot plan)"
    )
    demand: Amount | None = Field(
        default=None,
        min_length=1,
        max_length=16,
        description="order size per capacity dimension (default: a parcel)",
    )
    service_time: Seconds | None = Field(
        default=None, le=4 * 3600, description="seconds at the door"
    )


class SlotQuoteCreate(_SlotRequest):
    """An address and a day to quote slots for."""


class NearbyStation(BaseModel):
    """A pickup station offered as a slot, and how far it is."""

    id: str
    name: str
    location: Location
    distance_m: float


class SlotQuotesPublic(BaseModel):
    """Every slot for the address: available first, cheapest first.

    ``marginal_cost`` is what serving the order in that slot adds to the
    plan (won); ``eta`` is seconds since local midnight of ``day``.
    ``stations`` are the pickup stations offered as slots, nearest first.
    """

    day: dt.date
    depot_id: str | None
    plan_id: str
    data: list[SlotQuote]
    count: int
    stations: list[NearbyStation]


class SlotBookingCreate(_SlotRequest):
    """A slot to reserve for an address."""

    slot_id: str = Field(min_length=1, max_length=200, description="from a quote")
    customer_id: Id | None = None


class SlotBookingPublic(BaseModel):
    """A reserved slot: the new order, its tracking token and its plan."""

    order_id: str
    tracking_token: str
    slot: Slot
    vehicle: str
    eta: int = Field(description="seconds since local midnight of the day")
    eta_at: dt.datetime = Field(description="the same, as a local time")
    marginal_cost: float
    plan_id: str = Field(description="the plan version holding the order")


# --- routes ----------------------------------------------------------------------


def _check_location(body: _SlotRequest) -> None:
    # Slots are found by distance: a bare matrix index means nothing here.
    if not body.location.has_coordinates:
        reason = "lat and lon are required"
        raise InvalidInput([FieldError(field="body.location", reason=reason)])


def _plan_or_404(session: Session, day: dt.date, depot_id: str | None) -> PlanRow:
    row = current_plan(session, day, depot_id)
    if row is None:
        where = "" if depot_id is None else f" at depot {depot_id!r}"
        raise HTTPException(404, f"no plan for {day.isoformat()}{where}")
    return row


def _stations(
    problem: Problem, location: Location, quotes: list[SlotQuote]
) -> list[NearbyStation]:
    """The stations among the quoted slots, with their distance."""
    offered = {q.slot.station for q in quotes if q.slot.station is not None}
    out = []
    for st in problem.stations:
        if st.id not in offered:
            continue
        assert location.lat is not None and location.lon is not None
        assert st.location.lat is not None and st.location.lon is not None
        metres = haversine_m(
            location.lat, location.lon, st.location.lat, st.location.lon
        )
        out.append(
            NearbyStation(
                id=st.id, name=st.name, location=st.location, distance_m=round(metres)
            )
        )
    return sorted(out, key=lambda s: s.distance_m)


def _frozen(row: PlanRow, quotes: list[SlotQuote]) -> list[SlotQuote]:
    """A dispatched plan takes no more orders: every slot is closed."""
    if row.status == "draft":
        return quotes
    return [
        SlotQuote(
            slot=q.slot,
            available=False,
            reason=SlotReason.CLOSED,
            detail="the day's routes are dispatched",
        )
        for q in quotes
    ]


@router.post(
    "/quote",
    response_model=SlotQuotesPublic,
    responses=problem_responses(404, 409, 422),
)
def quote_slots(
    body: SlotQuoteCreate,
    request: Request,
    session: SessionDep,
    _: Annotated[Principal, Depends(require(Role.storefront, Role.dispatcher))],
) -> SlotQuotesPublic:
    """Quote every delivery slot for an address: availability and marginal cost."""
    _check_location(body)
    with _books(request).day((body.day, body.depot_id)) as entry:
        # Under the lock: a booking in flight has committed its version.
        row = _plan_or_404(session, body.day, body.depot_id)
        book = _book_for(entry, row)
        _check_demand(body, book.problem)
        try:
            quotes = book.quote(
                body.location,
                demand=body.demand,
                service=body.service_time,
                now=now_seconds(body.day),
            )
        except ValueError as exc:
            raise HTTPException(
                409, f"the plan {row.id} cannot take slot quotes: {exc}"
            ) from None
        quotes = _frozen(row, quotes)
        stations = _stations(book.problem, body.location, quotes)
    return SlotQuotesPublic(
        day=body.day,
        depot_id=body.depot_id,
        plan_id=row.id,
        data=quotes,
        count=len(quotes),
        stations=stations,
    )


#: Fields of a stored order -> where the client sent them.
_ORDER_FIELDS = {
    "job.location": "body.location",
    "job.demand": "body.demand",
    "job.customer_id": "body.customer_id",
    "customer_id": "body.customer_id",
    "job.station": "body.slot_id",
    "depot_id": "body.depot_id",
    "job.depot": "body.depot_id",
}


def _new_order_id(day: dt.date) -> str:
    return f"{day:%Y%m%d}-{secrets.token_hex(6)}"


@router.post(
    "/book",
    response_model=SlotBookingPublic,
    status_code=201,
    responses=problem_responses(404, 409, 422),
)
def book_slot(
    body: SlotBookingCreate,
    request: Request,
    session: SessionDep,
    _: Annotated[Principal, Depends(require(Role.storefront))],
) -> SlotBookingPublic:
    """Reserve a slot: store the order and the plan version that serves it."""
    _check_location(body)
    key = (body.day, body.depot_id)
    with _books(request).day(key) as entry:
        # Read the current plan under the lock: the last booking committed.
        row = _plan_or_404(session, body.day, body.depot_id)
        if row.status != "draft":
            raise HTTPException(
                409,
                f"slot {body.slot_id} is not available: the routes of "
                f"{body.day.isoformat()} are dispatched",
            )
        book = _book_for(entry, row)
        _check_demand(body, book.problem)
        now = now_seconds(body.day)
        try:
            booking = book.book(
                body.location,
                body.slot_id,
                order_id=_new_order_id(body.day),
                demand=body.demand,
                service=body.service_time,
                now=now,
                customer_id=body.customer_id,
            )
        except KeyError:
            offered = ", ".join(s.id for s in book.slots(body.location))
            reason = f"no slot {body.slot_id!r} at this address; slots: {offered}"
            raise InvalidInput(
                [FieldError(field="body.slot_id", reason=reason)]
            ) from None
        except SlotUnavailableError as exc:
            raise HTTPException(409, str(exc)) from None
        except ValueError as exc:
            raise HTTPException(
                409, f"slot {body.slot_id} could not be booked: {exc}"
            ) from None
        # The book now holds the order: forget it unless everything is stored.
        try:
            order, version = _store(session, row, book, booking, now)
        except BaseException:
            entry.book, entry.plan_id = None, None
            raise
        entry.plan_id = version.id
    return SlotBookingPublic(
        order_id=order.id,
        tracking_token=order.tracking_token,
        slot=booking.slot,
        vehicle=booking.vehicle,
        eta=booking.eta,
        eta_at=to_datetime(booking.eta, body.day),
        marginal_cost=booking.marginal_cost,
        plan_id=version.id,
    )


def _store(
    session: Session, row: PlanRow, book: SlotBook, booking: Booking, now: int
) -> tuple[OrderRow, PlanRow]:
    """Store the booked order and the new plan version, and commit."""
    # Supersede the parent only if it is still the current draft: another
    # process (or a re-optimisation) that replaced it first wins, and this
    # booking is refused rather than stored on a stale plan.
    taken = session.execute(
        update(PlanRow)
        .where(PlanRow.id == row.id, PlanRow.status == "draft")
        .values(status="superseded")
    )
    if getattr(taken, "rowcount", 0) != 1:
        raise HTTPException(
            409,
            f"slot {booking.slot.id} could not be booked: the plan of "
            f"{row.day.isoformat()} changed meanwhile; quote again",
        )
    job = next(j for j in book.problem.jobs if j.id == booking.order)
    try:
        order = create_order(
            session,
            job=job,
            day=row.day,
            depot_id=row.depot_id,
            customer_id=job.customer_id,
        )
    except InvalidData as exc:
        raise InvalidInput(
            [
                FieldError(field=_ORDER_FIELDS.get(e.field, "body"), reason=e.reason)
                for e in exc.errors
            ]
        ) from None
    except DuplicateId as exc:  # a random id taken: practically never
        raise HTTPException(409, str(exc)) from None
    problem: Problem = book.problem
    plan: Plan = book.plan()
    version = save_plan(
        session,
        day=row.day,
        depot_id=row.depot_id,
        problem=problem,
        plan=plan,
        parent_id=row.id,
        job_id=None,
    )
    register_plan(
        session, day=row.day, plan_id=version.id, plan=plan, problem=problem, at=now
    )
    # Commit before the day's lock is released, so the next booking reads
    # this version as the current plan.
    session.commit()
    return order, version
