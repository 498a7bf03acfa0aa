"""Delivery slots at checkout: quote the windows for an address, book one.

Quotes and bookings work on the day's current plan
(:func:`api.db.plans.current_plan`) through a
:class:`routing.slotting.SlotBook`: a quote is a cheapest-insertion check
into the planned routes, not a solve. The books are kept per day and depot
in a :class:`SlotBooks` (one per app) and rebuilt only when the current
plan changes (a new solve, a re-optimisation). A booking inserts the order
with the slot as a hard window, stores it as an order and the result as a
new plan version, and commits, all while holding that day's lock, so two
customers never get the last place in a window. A rebooked order (another
day after a failed attempt) is quoted and planned as it was accepted, with
every field of the stored order; only its day and window change. Across processes, a
booking supersedes its plan only if that plan is still the current draft;
otherwise it is refused (:class:`Conflict`) and the customer quotes again
on the newer plan.

Quotes are priced with the deployment's newest retention fit unless the
request asks for ``pricing: "uniform"`` (as plans are,
:mod:`api.services.plans`; without a fit they are uniform, with the reason
"no retention fit yet"): every order of the plan gets its customer's learned
price of a late minute (:func:`api.services.retention.priced`'s
``lateness_cost``) and the quoted order its ``customer_id``'s (the median
customer's without one), and each quote adds the expected retention cost of
the insertion to its route cost (:class:`routing.slotting.SlotPricing`).
The quoted order's own risk of the day running behind its plan is priced
by the late running learned from the tracked days before
(:func:`api.services.retention.running_late`), or an assumed delay until
enough stops are tracked; ``late_running`` in the answer says which.
The book itself is never priced: availability is the same either way.
"""

from __future__ import annotations

import datetime as dt
import math
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from sqlalchemy.orm import Session

from api.db import plans as plan_rows
from api.db import stations as station_rows
from api.db import tracking as tracking_rows
from api.db.engine import locale_of
from api.db.plans import PlanRow
from api.db.tables_dispatch import OrderRow
from api.jobs.payloads import PlanPricing
from api.services.errors import Conflict, FieldError, Invalid, NotFound
from api.services.orders import (
    PROMOTION_DOC,
    VALUE_DOC,
    BasketValue,
    OrderCreate,
    create_order,
    value_errors,
)
from api.services.plans import NO_FIT_YET
from api.services.retention import (
    RUNNING_DAYS,
    RUNNING_MIN_STOPS,
    CurrentPricing,
    current_pricing,
    running_late,
)
from api.services.tracking import now_seconds, register_plan
from api.services.travel import plan_travel
from forecasting.calendar import PromotionType
from routing.bounds import Day, not_a_bool
from routing.model import Amount, Id, Job, Location, PickupStation, Problem
from routing.slotting import (
    Booking,
    Slot,
    SlotBook,
    SlotConfig,
    SlotKind,
    SlotPricing,
    SlotQuote,
    SlotReason,
    SlotUnavailableError,
)
from routing.units import haversine_m, to_datetime
from tracking.feedback import CustomerValue, LatenessPricing, order_costs

__all__ = [
    "NearbyStation",
    "SlotBookingCreate",
    "SlotBookingPublic",
    "SlotBooks",
    "SlotQuoteCreate",
    "SlotQuotesPublic",
    "book_slot",
    "delivery_place",
    "keep_history_days",
    "late_minute_prices",
    "quote_slots",
    "quoted_order",
    "rebook_order",
    "rebookable_slot",
    "slot_pricing",
]

Key = tuple[dt.date, str | None]


# --- schemas ---------------------------------------------------------------------


#: Seconds at the door a quote may ask for (bounds before the validator, so
#: the published schema keeps them when the field is optional).
DoorSeconds = Annotated[int, Field(ge=0, le=4 * 3600), BeforeValidator(not_a_bool)]


class _SlotRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    location: Location = Field(description="the delivery address (lat/lon)")
    day: Day = Field(description="delivery date")
    depot_id: Id | None = Field(
        default=None, description="the depot's plan (default: the all-depot plan)"
    )
    demand: Amount | None = Field(
        default=None,
        min_length=1,
        max_length=16,
        description="order size per capacity dimension (default: a parcel)",
    )
    service_time: DoorSeconds | None = Field(
        default=None, description="seconds at the door"
    )
    collect: Amount | None = Field(
        default=None,
        min_length=1,
        max_length=16,
        description=(
            "an exchange: what is collected at the same visit, per capacity "
            "dimension (a van needs room for the delivery and this; pickup "
            "stations are not offered)"
        ),
    )
    customer_id: Id | None = Field(
        default=None, description="who orders (their learned retention price)"
    )
    pricing: Literal["learned", "uniform"] = Field(
        default="learned",
        description="learned: price retention with the newest retention fit",
    )


class SlotQuoteCreate(_SlotRequest):
    """An address and a day to quote slots for.

    ``pricing="learned"`` (the default) adds each slot's expected retention
    cost with the newest retention fit, once there is one; ``"uniform"``
    quotes the route cost alone.
    """


class NearbyStation(BaseModel):
    """A pickup station offered as a slot, and how far it is."""

    id: str
    name: str
    location: Location
    distance_m: float


class LateRunning(BaseModel):
    """How far the day may run behind its plan, as the quotes price the
    quoted order's own risk: ``learned`` from the tracked stops of the
    recent days, or ``assumed`` (an exponential delay) with the reason."""

    source: Literal["learned", "assumed"]
    p50_minutes: float
    p90_minutes: float
    reason: str | None = None


def late_running_of(pricing: SlotPricing) -> LateRunning:
    """The answer's summary of ``pricing``'s late running."""
    sample = sorted(pricing.running_late)
    if sample:
        return LateRunning(
            source="learned",
            p50_minutes=round(sample[len(sample) // 2] / 60, 1),
            p90_minutes=round(sample[int(0.9 * (len(sample) - 1))] / 60, 1),
        )
    return LateRunning(
        source="assumed",
        p50_minutes=round(pricing.delay * math.log(2) / 60, 1),
        p90_minutes=round(pricing.delay * math.log(10) / 60, 1),
        reason=f"fewer than {RUNNING_MIN_STOPS} stops tracked in the "
        f"{RUNNING_DAYS} days before",
    )


class SlotQuotesPublic(BaseModel):
    """Every slot for the address: available first, cheapest first.

    ``marginal_cost`` is what serving the order in that slot adds to the
    plan's route cost (in ``currency``, the deployment's), ``retention_cost``
    the expected retention it costs the plan's customers and the quoted one
    (0 when priced uniformly), ``total_cost`` the two (the order of the
    list); ``eta`` is elapsed seconds since local midnight of ``day``.
    ``pricing`` says how the quotes were priced, and ``late_running`` (when
    priced) how far the day may run behind its plan. ``stations`` are the
    pickup stations offered as slots, nearest first.
    """

    day: dt.date
    depot_id: str | None
    plan_id: str
    currency: str = Field(description="ISO 4217 code of the costs")
    pricing: PlanPricing
    late_running: LateRunning | None = None
    data: list[SlotQuote]
    count: int
    stations: list[NearbyStation]


class SlotBookingCreate(_SlotRequest):
    """A slot to reserve for an address, inserted where its quote with the
    same ``pricing`` would serve it."""

    slot_id: str = Field(min_length=1, max_length=200, description="from a quote")
    value: BasketValue | None = Field(default=None, description=VALUE_DOC)
    promotion: PromotionType | None = Field(default=None, description=PROMOTION_DOC)


class SlotBookingPublic(BaseModel):
    """A reserved slot: the new order, its tracking token and its plan."""

    order_id: str
    tracking_token: str
    slot: Slot
    vehicle: str
    eta: int = Field(description="elapsed seconds since local midnight of the day")
    eta_at: dt.datetime = Field(description="the same, as a local time")
    marginal_cost: float
    retention_cost: float = Field(
        description="expected retention cost of the insertion, as the quote "
        "with the same pricing said (0 when priced uniformly)"
    )
    pricing: PlanPricing = Field(description="how the booking was priced")
    currency: str = Field(
        description="ISO 4217 code of marginal_cost and retention_cost"
    )
    plan_id: str = Field(description="the plan version holding the order")


# --- the books, one per day and depot ------------------------------------------


@dataclass
class _Entry:
    """A day's book and the plan version it started from (or made)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    plan_id: str | None = None
    book: SlotBook | None = None
    #: The stored stations the book offers (a change rebuilds it).
    stations: tuple[PickupStation, ...] = ()
    #: The plan's orders' late-minute prices: (plan id, fit job id) and the prices.
    prices: tuple[tuple[str, str], dict[str, float]] | None = None


class SlotBooks:
    """The slot books of an app, keyed by (day, depot id).

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


def _config(problem: Problem) -> SlotConfig:
    """The default slots; a default order fits the fleet's capacity dimensions."""
    config = SlotConfig()
    if len(config.demand) != problem.n_dims:
        # One unit per dimension: the usual meaning of a 1-D capacity is parcels.
        config = config.model_copy(update={"demand": (1,) * problem.n_dims})
    return config


def _book_for(session: Session, entry: _Entry, row: PlanRow) -> SlotBook:
    """The entry's book, rebuilt when the day's current plan is another one
    or the stored stations changed.

    The book offers every stored station near an address, not only those
    the plan's orders already go to (the plan's problem holds just those).
    """
    stored = tuple(r.station for r in station_rows.all_stations(session))
    if entry.book is None or entry.plan_id != row.id or entry.stations != stored:
        entry.book = entry.plan_id = None
        # The plan's own travel model, or a Conflict saying why not.
        travel = plan_travel(row.problem, row.plan, f"plan {row.id}")
        problem = _with_stations(row.problem, stored)
        try:
            entry.book = SlotBook(problem, row.plan, travel, _config(problem))
        except ValueError as exc:
            raise Conflict(
                f"the plan {row.id} cannot take slot quotes: {exc}"
            ) from None
        entry.plan_id, entry.stations = row.id, stored
    return entry.book


def _with_stations(problem: Problem, stored: tuple[PickupStation, ...]) -> Problem:
    """``problem`` offering the stored stations: those its orders go to stay
    as planned, the others are as stored (a deleted one is gone)."""
    used = {j.station for j in problem.jobs if j.station is not None}
    kept = tuple(s for s in problem.stations if s.id in used)
    stations = (*kept, *(s for s in stored if s.id not in used))
    if stations == problem.stations:
        return problem
    return problem.model_copy(update={"stations": stations})


# --- checks ----------------------------------------------------------------------


def _check_location(request: _SlotRequest) -> None:
    # Slots are found by distance: a bare matrix index means nothing here.
    if not request.location.has_coordinates:
        raise Invalid.one("location", "lat and lon are required")


def _check_demand(request: _SlotRequest, problem: Problem) -> None:
    for name in ("demand", "collect"):
        amount = getattr(request, name)
        if amount is not None and len(amount) != problem.n_dims:
            reason = (
                f"has {len(amount)} dimensions; vehicle capacity has {problem.n_dims}"
            )
            raise Invalid.one(name, reason)
    if request.collect is not None and not any(request.collect):
        raise Invalid.one("collect", "an exchange collects something (all zero)")


def _current_plan(session: Session, day: dt.date, depot_id: str | None) -> PlanRow:
    row = plan_rows.current_plan(session, day=day, depot_id=depot_id)
    if row is None:
        where = "" if depot_id is None else f" at depot {depot_id!r}"
        raise NotFound(f"no plan for {day.isoformat()}{where}")
    return row


# --- quotes ----------------------------------------------------------------------


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


def _quote_pricing(
    session: Session, request: _SlotRequest
) -> tuple[CurrentPricing | None, PlanPricing]:
    """The fit to price quotes and bookings with (None: uniform), and how
    they are priced."""
    if request.pricing == "uniform":
        return None, PlanPricing(source="uniform", reason="asked for")
    current = current_pricing(session)
    if current is None:
        return None, PlanPricing(source="uniform", reason=NO_FIT_YET)
    return current, PlanPricing(source="learned", fit=current.job_id)


#: A customer's value and sensitivity by customer id (None: no customer).
Values = Callable[[str | None], CustomerValue]


def late_minute_prices(
    problem: Problem, pricing: LatenessPricing, values: Values
) -> dict[str, float]:
    """The price (money) of a late minute of every order of ``problem``, by id,
    as a priced plan's ``lateness_cost`` (:func:`tracking.feedback.order_costs`)."""
    customers = {
        o.customer_id: values(o.customer_id)
        for o in problem.orders
        if o.customer_id is not None
    }
    costs = order_costs(problem, customers, pricing, default=values(None))
    return {k: c.lateness_cost for k, c in costs.items()}


def quoted_order(
    problem: Problem,
    location: Location,
    customer_id: str | None,
    demand: Amount | None = None,
) -> Job:
    """The order a quote is for, as far as its price goes (its customer)."""
    return Job(
        id="?quote",
        location=location,
        demand=demand or (1,) * problem.n_dims,
        customer_id=customer_id,
    )


def slot_pricing(
    problem: Problem,
    pricing: LatenessPricing,
    values: Values,
    order: Job,
    *,
    per_minute: dict[str, float] | None = None,
) -> SlotPricing:
    """Late-minute prices of a book's orders (``per_minute`` when known
    already) and of the quoted ``order``'s customer."""
    one = problem.model_copy(update={"jobs": (order,), "shipments": ()})
    return SlotPricing(
        per_minute=late_minute_prices(problem, pricing, values)
        if per_minute is None
        else per_minute,
        customer=late_minute_prices(one, pricing, values)[order.id],
    )


def _slot_pricing(
    entry: _Entry,
    book: SlotBook,
    current: CurrentPricing,
    order: Job,
    running: tuple[int, ...],
) -> SlotPricing:
    """:func:`slot_pricing` with the fit and the learned late ``running``,
    the book's prices kept per plan and fit."""
    assert entry.plan_id is not None
    key = (entry.plan_id, current.job_id)
    if entry.prices is None or entry.prices[0] != key:
        prices = late_minute_prices(book.problem, current.pricing, current.customer)
        entry.prices = key, prices
    found = slot_pricing(
        book.problem,
        current.pricing,
        current.customer,
        order,
        per_minute=entry.prices[1],
    )
    return found.model_copy(update={"running_late": running})


def quote_slots(
    session: Session,
    *,
    books: SlotBooks,
    request: SlotQuoteCreate,
    job: Job | None = None,
) -> SlotQuotesPublic:
    """Every delivery slot for an address: availability and what it costs.

    ``job``: a stored order to move to ``request.day``, quoted with every
    field it has (its skills, handling, customer...; see
    :meth:`SlotBook.quote`).
    """
    _check_location(request)
    current, how = _quote_pricing(session, request)
    running = () if current is None else running_late(session, request.day)
    with books.day((request.day, request.depot_id)) as entry:
        # Under the lock: a booking in flight has committed its version.
        row = _current_plan(session, request.day, request.depot_id)
        book = _book_for(session, entry, row)
        _check_demand(request, book.problem)
        pricing = None
        if current is not None:
            order = job or quoted_order(
                book.problem, request.location, request.customer_id, request.demand
            )
            pricing = _slot_pricing(entry, book, current, order, running)
        try:
            quotes = book.quote(
                request.location,
                demand=request.demand,
                service=request.service_time,
                now=now_seconds(request.day, locale_of(session).zone),
                collect=request.collect,
                job=job,
                pricing=pricing,
            )
        except ValueError as exc:
            raise Conflict(
                f"the plan {row.id} cannot take slot quotes: {exc}"
            ) from None
        quotes = _frozen(row, quotes)
        stations = _stations(book.problem, request.location, quotes)
    return SlotQuotesPublic(
        day=request.day,
        depot_id=request.depot_id,
        plan_id=row.id,
        currency=locale_of(session).currency,
        pricing=how,
        late_running=None if pricing is None else late_running_of(pricing),
        data=quotes,
        count=len(quotes),
        stations=stations,
    )


# --- bookings --------------------------------------------------------------------

#: Fields of a stored order -> the request's field they came from.
_ORDER_FIELDS = {
    "job.location": "location",
    "job.demand": "demand",
    "job.collect": "collect",
    "job.customer_id": "customer_id",
    "customer_id": "customer_id",
    "job.station": "slot_id",
    "depot_id": "depot_id",
    "job.depot": "depot_id",
    "value": "value",
}


def _new_order_id(day: dt.date) -> str:
    return f"{day:%Y%m%d}-{secrets.token_hex(6)}"


def book_slot(
    session: Session, *, books: SlotBooks, request: SlotBookingCreate
) -> SlotBookingPublic:
    """Reserve a slot: store the order and the plan version that serves it.

    Commits before the day's lock is released, so the next booking reads
    this version as the current plan. Field errors name the request's
    fields (``slot_id``, ``demand``).
    """
    _check_location(request)
    if errors := value_errors(request.value, locale_of(session)):
        raise Invalid(errors)
    current, how = _quote_pricing(session, request)
    running = () if current is None else running_late(session, request.day)
    with books.day((request.day, request.depot_id)) as entry:
        # Read the current plan under the lock: the last booking committed.
        row = _current_plan(session, request.day, request.depot_id)
        if row.status != "draft":
            raise Conflict(
                f"slot {request.slot_id} is not available: the routes of "
                f"{request.day.isoformat()} are dispatched"
            )
        book = _book_for(session, entry, row)
        _check_demand(request, book.problem)
        pricing = None
        if current is not None:
            quoted = quoted_order(
                book.problem, request.location, request.customer_id, request.demand
            )
            pricing = _slot_pricing(entry, book, current, quoted, running)
        now = now_seconds(request.day, locale_of(session).zone)
        booking = _reserve(book, request, now, pricing)
        # The book now holds the order: forget it unless everything is stored.
        try:
            order, version = _store(session, row, book, booking, now, request)
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
        eta_at=to_datetime(booking.eta, request.day, locale_of(session).zone),
        marginal_cost=booking.marginal_cost,
        retention_cost=booking.retention_cost or 0.0,
        pricing=how,
        currency=locale_of(session).currency,
        plan_id=version.id,
    )


def _reserve(
    book: SlotBook,
    request: SlotBookingCreate,
    now: int,
    pricing: SlotPricing | None,
) -> Booking:
    """Insert the order into the book with the slot as its window."""
    try:
        return book.book(
            request.location,
            request.slot_id,
            order_id=_new_order_id(request.day),
            demand=request.demand,
            service=request.service_time,
            now=now,
            customer_id=request.customer_id,
            collect=request.collect,
            pricing=pricing,
        )
    except KeyError:
        offered = ", ".join(s.id for s in book.slots(request.location))
        reason = f"no slot {request.slot_id!r} at this address; slots: {offered}"
        raise Invalid.one("slot_id", reason) from None
    except SlotUnavailableError as exc:
        raise Conflict(str(exc)) from None
    except ValueError as exc:
        raise Conflict(f"slot {request.slot_id} could not be booked: {exc}") from None


def _store(
    session: Session,
    row: PlanRow,
    book: SlotBook,
    booking: Booking,
    now: int,
    request: SlotBookingCreate,
) -> tuple[OrderRow, PlanRow]:
    """Store the booked order and the new plan version, and commit."""
    # Supersede the parent only if it is still the current draft: another
    # process (or a re-optimisation) that replaced it first wins, and this
    # booking is refused rather than stored on a stale plan.
    if not plan_rows.supersede_draft(session, plan_id=row.id):
        raise Conflict(
            f"slot {booking.slot.id} could not be booked: the plan of "
            f"{row.day.isoformat()} changed meanwhile; quote again"
        )
    job = next(j for j in book.problem.jobs if j.id == booking.order)
    order = _store_order(
        session,
        OrderCreate(
            job=job,
            day=row.day,
            depot_id=row.depot_id,
            value=request.value,
            promotion=request.promotion,
        ),
    )
    plan = book.plan()
    version = plan_rows.save_plan(
        session,
        day=row.day,
        depot_id=row.depot_id,
        problem=book.problem,
        plan=plan,
        parent_id=row.id,
        job_id=None,
    )
    register_plan(
        session,
        day=row.day,
        plan_id=version.id,
        plan=plan,
        problem=book.problem,
        at=now,
    )
    session.commit()
    return order, version


def _store_order(session: Session, order: OrderCreate) -> OrderRow:
    """The booked order, stored; its field errors named as the request's."""
    try:
        return create_order(
            session,
            order=order.model_copy(update={"customer_id": order.job.customer_id}),
        )
    except Invalid as exc:
        errors = [
            FieldError(field=_ORDER_FIELDS.get(e.field, ""), reason=e.reason)
            for e in exc.errors
        ]
        raise Invalid(errors) from None


# --- rebooking an order that exists ------------------------------------------


def delivery_place(session: Session, job: Job) -> tuple[Location, bool] | None:
    """Where an order is delivered again, and whether to a pickup station:
    a station order at its station (it offers station slots), any other at
    its address (home slots); None when it has no place with coordinates."""
    if job.station is not None and job.location is None:
        found = station_rows.get_station(session, station_id=job.station)
        return None if found is None else (found.station.location, True)
    if job.location is None or not job.location.has_coordinates:
        return None
    return job.location, False


def rebookable_slot(slot: Slot, to_station: bool) -> bool:
    """Whether an order delivered again ``to_station`` (or home) may take it."""
    return (slot.kind is SlotKind.STATION) == to_station


def rebook_order(
    session: Session,
    *,
    books: SlotBooks,
    order: OrderRow,
    day: dt.date,
    slot_id: str,
    prepare: Callable[[Session], None],
) -> tuple[Slot, PlanRow]:
    """Book a slot of ``day`` for an order that exists (a new delivery of a
    failed attempt): the order moves to ``day`` with the slot as its window.

    The order is planned with every field it was accepted with (priority,
    skills, handling, ``early_ok``, an exchange's ``collect``...); only its
    window and its day (``service_level``: scheduled, or night for the night
    slot; ``scheduled_date``) are the slot's, on the stored order as in the
    plan. A home delivery takes a home slot, a station order a station slot
    (its own station or another near it; ``slot_id`` 422 otherwise). The
    status changes it had so far keep their day (:func:`keep_history_days`).

    ``prepare`` runs in the same transaction before the new plan version is
    tracked (the tracking page resolves the failed attempt there). Commits
    before the day's lock is released; errors as :func:`book_slot`.
    """
    job = order.job
    place = delivery_place(session, job)
    if place is None:
        raise Conflict(f"order {order.id} has no address to deliver to again")
    where, to_station = place
    request = SlotBookingCreate(
        location=where,
        day=day,
        depot_id=order.depot_id,
        demand=job.demand,
        service_time=job.service,
        collect=job.collect or None,
        slot_id=slot_id,
        customer_id=job.customer_id,
    )
    with books.day((day, order.depot_id)) as entry:
        row = _current_plan(session, day, order.depot_id)
        if row.status != "draft":
            raise Conflict(
                f"slot {slot_id} is not available: the routes of "
                f"{day.isoformat()} are dispatched"
            )
        book = _book_for(session, entry, row)
        _check_demand(request, book.problem)
        offered = [s for s in book.slots(where) if rebookable_slot(s, to_station)]
        if not any(s.id == slot_id for s in offered):
            ids = ", ".join(s.id for s in offered)
            reason = f"no slot {slot_id!r} at this address; slots: {ids}"
            raise Invalid.one("slot_id", reason)
        now = now_seconds(day, locale_of(session).zone)
        try:
            booking = book.book(where, slot_id, order_id=order.id, now=now, job=job)
        except SlotUnavailableError as exc:
            raise Conflict(str(exc)) from None
        except ValueError as exc:
            raise Conflict(f"slot {slot_id} could not be booked: {exc}") from None
        try:
            if not plan_rows.supersede_draft(session, plan_id=row.id):
                raise Conflict(
                    f"slot {slot_id} could not be booked: the plan of "
                    f"{day.isoformat()} changed meanwhile; try again"
                )
            prepare(session)
            keep_history_days(session, order_id=order.id)
            booked = next(j for j in book.problem.jobs if j.id == order.id)
            order.day = day
            order.job = job.model_copy(
                update={
                    k: getattr(booked, k)
                    for k in (
                        "time_windows",
                        "service_level",
                        "scheduled_date",
                        *(("station",) if to_station else ()),
                    )
                }
            )
            plan = book.plan()
            version = plan_rows.save_plan(
                session,
                day=day,
                depot_id=row.depot_id,
                problem=book.problem,
                plan=plan,
                parent_id=row.id,
                job_id=None,
            )
            try:
                register_plan(
                    session,
                    day=day,
                    plan_id=version.id,
                    plan=plan,
                    problem=book.problem,
                    at=now,
                )
            except ValueError as exc:
                raise Conflict(f"slot {slot_id} could not be booked: {exc}") from None
            session.commit()
        except BaseException:
            session.rollback()
            entry.book, entry.plan_id = None, None
            raise
        entry.plan_id = version.id
    return booking.slot, version


def keep_history_days(session: Session, *, order_id: str) -> None:
    """Date the status changes of a tracked order by the day they count
    from (the day it is tracked on), before it moves to another day: its
    history then shows the old day's changes on their own day. Nothing for
    an order not tracked; the caller commits."""
    found = tracking_rows.tracked_order(session, order_id=order_id)
    if found is None:
        return
    tracked_on, status, _ = found
    tracking_rows.SqlStore(session, tracked_on).put_order(status.dated(tracked_on))
