"""What the tracking routes show: an order's status and ETA, a plan's day live.

Each view takes one session and the app's :class:`~api.services.tracking.LiveEtas`
and returns the response model, or None when there is nothing of that id.
Times in the domain models (``eta``) are seconds since local midnight of the
order's day; ``window`` gives the same as aware datetimes.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Sequence
from datetime import tzinfo
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field
from sqlalchemy.orm import Session

from api.db import orders, plans, stations
from api.db import tracking as rows
from api.db.async_reads import compiled
from api.db.engine import locale_of
from api.db.tables_dispatch import OrderRow
from api.jobs.payloads import PlanPricing
from api.services.errors import Conflict, Invalid, NotFound
from api.services.exceptions import ExceptionPublic, exception_public
from api.services.ingest import ingest
from api.services.reads import ReadSessions
from api.services.retention import (
    DayRetention,
    OrderRetention,
    current_pricing,
    live_retention,
    pricing_of,
    recent_lateness,
)
from api.services.slots import (
    SlotBooks,
    SlotQuoteCreate,
    delivery_place,
    quote_slots,
    rebook_order,
    rebookable_slot,
)
from api.services.tracking import LiveEtas, eta_clock, local_time, now_seconds
from routing.bounds import check_text, not_a_bool
from routing.model import PickupStation, Problem
from routing.plan import Plan, StepType
from tracking.eta import Eta
from tracking.events import AttemptResolved, Delivered, FailedAttempt, FailureReason
from tracking.exceptions import ExceptionKind
from tracking.late_risk import order_windows, promised_window_end
from tracking.sensors import Excursion
from tracking.status import OrderState, OrderStatus, StatusChange
from tracking.store import VehicleState

__all__ = [
    "DriverPosition",
    "EtaWindow",
    "HandOver",
    "OrderEtaPublic",
    "OrderTrackingPublic",
    "PlanKpis",
    "PlanLivePublic",
    "ProofPublic",
    "RatingCreate",
    "RatingPublic",
    "RebookCreate",
    "RebookPublic",
    "StationPin",
    "StopLive",
    "TimeSlot",
    "TrackPublic",
    "TrackSlot",
    "TrackSlotsPublic",
    "TrackStep",
    "VehicleLive",
    "eta_view",
    "fast_eta_view",
    "hand_over",
    "link_exists",
    "plan_live_view",
    "public_view",
    "rate_order",
    "rebook_view",
    "slots_view",
    "tracking_view",
]


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


#: What the visit does: bring a parcel, take a return, or both (an exchange:
#: the new item handed over and the old one taken at the same visit).
VisitKind = Literal["delivery", "pickup", "exchange"]


class OrderTrackingPublic(OrderEtaPublic):
    """Status, ETA and every status change with its time and cause.

    ``kind`` is the job's type (None for an order that is tracked but not
    stored: a plan posted as a whole problem); for an exchange ``delivered``
    means the new item was handed over and the old one collected, a failed
    attempt neither.
    """

    kind: VisitKind | None = None
    vehicle: str | None = None
    history: list[StatusChange] = Field(
        description="every change; ``at`` counts from local midnight of the "
        "change's own ``day`` (earlier days' changes of a moved order keep theirs)"
    )
    excursions: list[Excursion] = Field(
        default=[],
        description="sensor readings outside the order's limits while on board "
        "(times: seconds since local midnight of the day, like history)",
    )
    rating: RatingPublic | None = Field(
        default=None, description="the customer's rating, once given"
    )


class TrackStep(BaseModel):
    """One status the order passed through, and when."""

    status: OrderState
    at: dt.datetime


class DriverPosition(BaseModel):
    """Where the van was last seen (only while this is its next stop)."""

    lat: float
    lon: float
    at: dt.datetime


class TimeSlot(BaseModel):
    """A promised window, as local times."""

    start: dt.datetime
    end: dt.datetime


class PinPublic(BaseModel):
    """Where the parcel is handed over (the order's address, or its station's)."""

    lat: float
    lon: float


class StationPin(BaseModel):
    """The pickup station the parcel is delivered to, where the customer
    collects it (the stored station as it is now)."""

    id: str
    name: str = Field(description="what the customer looks for; may be empty")


class ProofPublic(BaseModel):
    """What the device sent with the ``delivered`` event, for the customer."""

    at: dt.datetime
    recipient: str | None = None
    image: str | None = Field(default=None, description="a data:image/... URL")
    signature: str | None = Field(default=None, description="a data:image/... URL")


class AttemptPublic(BaseModel):
    """The last failed attempt at the door: when and why."""

    at: dt.datetime
    reason: FailureReason


#: CSAT: 1 (very unhappy) to 5 (very happy).
Csat = Annotated[int, Field(ge=1, le=5), BeforeValidator(not_a_bool)]
#: NPS: how likely the customer recommends us, 0 to 10.
Nps = Annotated[int, Field(ge=0, le=10), BeforeValidator(not_a_bool)]
#: Longest comment a rating may carry (characters).
MAX_COMMENT = 500
Comment = Annotated[
    str, Field(min_length=1, max_length=MAX_COMMENT), AfterValidator(check_text)
]


class RatingCreate(BaseModel):
    """The customer's rating of a delivered order."""

    model_config = ConfigDict(extra="forbid")

    csat: Csat = Field(description="how happy with this delivery, 1-5")
    nps: Nps | None = Field(
        default=None, description="how likely to recommend us to a friend, 0-10"
    )
    comment: Comment | None = Field(default=None, description="in the customer's words")


class RatingPublic(BaseModel):
    """A stored rating (``updated_at``: when it was last given)."""

    csat: int
    nps: int | None = None
    comment: str | None = None
    updated_at: dt.datetime


OrderTrackingPublic.model_rebuild()


class TrackPublic(BaseModel):
    """What the customer's tracking link shows (``kind``: see
    :class:`OrderTrackingPublic`).

    ``window`` is when the parcel can be handed over (see :func:`hand_over`),
    not when the van arrives: it never opens before ``promised`` unless the
    customer allowed an early delivery (``early_ok``), is never narrower than
    :data:`MIN_HAND_OVER` and never lies in the past. It is None until the
    van has left the depot: until then the promise (``promised``, or the
    whole ``day`` when the order has no window) is all that is known.
    """

    order_id: str = Field(description="the order number")
    day: dt.date = Field(description="the delivery date")
    kind: VisitKind = "delivery"
    status: OrderState
    promised: list[TimeSlot] = Field(
        default=[], description="the promised windows (none: any time that day)"
    )
    early_ok: bool = False
    window: EtaWindow | None = None
    stops_away: int | None = Field(
        default=None,
        description="stops before this one on the van's route still to be made "
        "(while the order is on its way)",
    )
    location: PinPublic | None = None
    station: StationPin | None = Field(
        default=None,
        description="a pickup station delivery: the station (``location`` is its)",
    )
    history: list[TrackStep]
    driver: DriverPosition | None = None
    proof: ProofPublic | None = None
    attempt: AttemptPublic | None = Field(
        default=None, description="the failed attempt, while one is unresolved"
    )
    rating: RatingPublic | None = None


class StopLive(BaseModel):
    """One order of a plan: its status, van and ETA window (None once not
    coming), and the expected retention cost of its planned and live times
    (a routed order's, once a retention fit prices them)."""

    order_id: str
    status: OrderState
    vehicle: str | None = None
    window: EtaWindow | None = None
    retention: OrderRetention | None = None


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


class PlanKpis(BaseModel):
    """How the plan's day goes so far.

    ``planned``: orders on the plan's routes; ``delivered``: those
    delivered; ``failed``: those not delivered after a failed attempt (even
    once the dispatcher decided what to do); ``on_time``: delivered
    orders handed over by the end of the promised window (the window holding
    the plan's service start; an order without a window is always on time);
    ``on_time_rate``: ``on_time / delivered`` (None before the
    first delivery); ``late_risk``: open late-risk exceptions of the plan;
    ``retention_planned`` and ``retention_live``: the day's expected
    retention cost (money) of the planned times and the live ones (None
    without a retention fit: see the view's ``pricing``).
    """

    planned: int
    delivered: int
    failed: int
    on_time: int
    on_time_rate: float | None
    late_risk: int
    retention_planned: float | None = None
    retention_live: float | None = None


class PlanLivePublic(BaseModel):
    """A plan's day as it happens: every order's status, every van seen.

    Orders not tracked (yet) are left out; so are vans that sent nothing.
    """

    plan_id: str
    day: dt.date
    orders: list[StopLive]
    vehicles: list[VehicleLive]
    exceptions: list[ExceptionPublic] = Field(
        default=[],
        description="open exceptions of the day about the plan's vans or orders",
    )
    kpis: PlanKpis | None = Field(default=None, description="the day so far")
    pricing: PlanPricing | None = Field(
        default=None,
        description="how the retention costs are priced: the fit, or why not",
    )


def window(eta: Eta | None, day: dt.date, tz: tzinfo) -> EtaWindow | None:
    """The ETA as local times in ``tz`` (None: no ETA)."""
    if eta is None:
        return None
    return EtaWindow(
        expected=local_time(eta.point, day, tz),
        earliest=local_time(eta.p10, day, tz),
        latest=local_time(eta.p90, day, tz),
        arrived=eta.arrived,
    )


def _eta_fields(
    order_id: str, day: dt.date, status: OrderStatus, eta: Eta | None, tz: tzinfo
) -> dict[str, Any]:
    """The fields of :class:`OrderEtaPublic` (also those of the tracking view)."""
    return {
        "order_id": order_id,
        "day": day,
        "status": status.state,
        "eta": eta,
        "window": window(eta, day, tz),
    }


def eta_view(
    order_id: str, day: dt.date, status: OrderStatus, eta: Eta | None, tz: tzinfo
) -> OrderEtaPublic:
    """The ETA view of a tracked order whose ETA is known (times in ``tz``)."""
    return OrderEtaPublic(**_eta_fields(order_id, day, status, eta, tz))


def tracking_view(
    session: Session,
    etas: LiveEtas,
    order_id: str,
    at: int | None = None,
    *,
    with_kind: bool = True,
    excursions: bool = True,
    rating: bool = True,
) -> OrderTrackingPublic | None:
    """Status, history, ETA and sensor excursions of an order (None: no such
    order).

    ``with_kind=False`` skips reading the stored order for ``kind`` (left
    None) when the order is tracked, and ``excursions=False`` and
    ``rating=False`` leave the excursions and the customer's rating (of a
    delivered order) out: the ETA read needs one statement.
    """
    found = rows.tracked_order(session, order_id=order_id)
    row = (
        orders.get_order(session, order_id=order_id)
        if found is None or with_kind
        else None
    )
    kind = None if row is None else row.job.type
    if found is None:
        if row is None:
            return None
        return OrderTrackingPublic(
            order_id=order_id,
            day=row.day,
            status=OrderState.CREATED,
            kind=kind,
            history=[],
        )
    day, status, ref = found
    now = eta_clock(day, etas.zone) if at is None else at
    eta = etas.eta(session, day, status, now, ref, live=at is None)
    return OrderTrackingPublic(
        **_eta_fields(order_id, day, status, eta, etas.zone),
        kind=kind,
        vehicle=status.vehicle,
        history=list(status.dated(day).history),
        excursions=rows.order_excursions(session, order_id=order_id)
        if excursions
        else [],
        rating=_rating(session, order_id)
        if rating and status.state is OrderState.DELIVERED
        else None,
    )


#: The narrowest hand-over window shown (seconds): a time to the minute is
#: a promise nobody can keep.
MIN_HAND_OVER = 15 * 60
#: States in which the van has left the depot with the order.
_MOVING = frozenset({OrderState.OUT_FOR_DELIVERY, OrderState.ARRIVING})
#: States of an order still to be served (a stop "before" this one).
_PENDING = (
    OrderState.PLANNED,
    OrderState.DISPATCHED,
    OrderState.OUT_FOR_DELIVERY,
    OrderState.ARRIVING,
)


class HandOver(BaseModel):
    """When the parcel can be handed over: seconds since local midnight."""

    earliest: int
    expected: int
    latest: int


def hand_over(
    eta: Eta, windows: Sequence[tuple[int, int]], early_ok: bool, now: int
) -> HandOver:
    """The hand-over window of an arrival ``eta`` (seconds since midnight).

    A van that arrives before the window opens waits for it, unless the
    customer allowed an early delivery: without ``early_ok`` nothing lies
    before the opening of the first window that is still open at the
    earliest arrival (the last window when all are closed by then). Nothing
    lies before ``now``, and the window is at least :data:`MIN_HAND_OVER`
    wide (it grows later, never earlier).
    """
    lo, mid, hi = eta.p10, eta.point, eta.p90
    if windows and not early_ok:
        opening = next((a for a, b in windows if b >= lo), windows[-1][0])
        lo, mid, hi = max(lo, opening), max(mid, opening), max(hi, opening)
    lo = max(lo, now)
    hi = max(hi, lo + MIN_HAND_OVER)
    return HandOver(earliest=lo, expected=min(max(mid, lo), hi), latest=hi)


def _hand_over_window(
    eta: Eta | None,
    windows: Sequence[tuple[int, int]],
    early_ok: bool,
    day: dt.date,
    tz: tzinfo,
) -> EtaWindow | None:
    if eta is None:
        return None
    h = hand_over(eta, windows, early_ok, eta_clock(day, tz))
    return EtaWindow(
        expected=local_time(h.expected, day, tz),
        earliest=local_time(h.earliest, day, tz),
        latest=local_time(h.latest, day, tz),
        arrived=eta.arrived,
    )


def public_view(session: Session, etas: LiveEtas, token: str) -> TrackPublic | None:
    """The customer's view of the order holding ``token`` (None: no such token)."""
    row = orders.order_by_token(session, token=token)
    if row is None:
        return None
    job = row.job
    windows = [(w.start, w.end) for w in job.time_windows]
    tz = etas.zone
    station = _station(session, job.station)
    loc = job.location if station is None else station.location
    base: dict[str, Any] = {
        "order_id": row.id,
        "kind": job.type,
        "promised": [
            TimeSlot(start=local_time(a, row.day, tz), end=local_time(b, row.day, tz))
            for a, b in windows
        ],
        "early_ok": job.early_ok,
        "location": None
        if loc is None or loc.lat is None or loc.lon is None
        else PinPublic(lat=loc.lat, lon=loc.lon),
        "station": None
        if job.station is None
        else StationPin(id=job.station, name="" if station is None else station.name),
    }
    found = rows.tracked_order(session, order_id=row.id)
    if found is None:
        return TrackPublic(**base, day=row.day, status=OrderState.CREATED, history=[])
    day, status, ref = found
    state = status.state
    window = None
    if state in _MOVING:
        eta = etas.eta(session, day, status, eta_clock(day, tz), ref, live=True)
        window = _hand_over_window(eta, windows, job.early_ok, day, tz)
    return TrackPublic(
        **base,
        day=day,
        status=state,
        window=window,
        stops_away=rows.stops_before(
            session, day=day, order_id=row.id, pending=list(_PENDING)
        )
        if state in _MOVING or state is OrderState.DISPATCHED
        else None,
        history=[
            TrackStep(status=c.target, at=local_time(c.at, c.day or day, tz))
            for c in status.history
        ],
        driver=_driver(session, day, status),
        proof=_proof(session, day, row.id) if state is OrderState.DELIVERED else None,
        attempt=_attempt(session, day, row.id)
        if state is OrderState.FAILED_ATTEMPT
        else None,
        rating=_rating(session, row.id) if state is OrderState.DELIVERED else None,
    )


def _station(session: Session, station_id: str | None) -> PickupStation | None:
    """The stored station an order goes to, as it is now (None: an address,
    or a station deleted since, once no active order used it)."""
    if station_id is None:
        return None
    row = stations.get_station(session, station_id=station_id)
    return None if row is None else row.station


def _proof(session: Session, day: dt.date, order_id: str) -> ProofPublic | None:
    event = rows.last_order_event(session, day=day, order_id=order_id, kind="delivered")
    if not isinstance(event, Delivered):
        return None
    p = event.proof
    if p.recipient is None and p.image is None and p.signature is None:
        return None  # only the device's own photo reference: nothing to show
    return ProofPublic(
        at=local_time(event.at, day, locale_of(session).zone),
        recipient=p.recipient,
        image=p.image,
        signature=p.signature,
    )


def _attempt(session: Session, day: dt.date, order_id: str) -> AttemptPublic | None:
    event = rows.last_order_event(
        session, day=day, order_id=order_id, kind="failed_attempt"
    )
    if not isinstance(event, FailedAttempt):
        return None
    at = local_time(event.at, day, locale_of(session).zone)
    return AttemptPublic(at=at, reason=event.reason)


def _rating(session: Session, order_id: str) -> RatingPublic | None:
    found = rows.get_rating(session, order_id=order_id)
    if found is None:
        return None
    return RatingPublic(
        csat=found.csat,
        nps=found.nps,
        comment=found.comment,
        updated_at=found.updated_at,
    )


def rate_order(
    session: Session, token: str, rating: RatingCreate
) -> tuple[RatingPublic, bool] | None:
    """Store the customer's rating of the order holding ``token``, replacing
    an earlier one; and whether it is new (None: no such token).

    Raises
    ------
    Conflict
        The order is not delivered (yet).
    """
    row = orders.order_by_token(session, token=token)
    if row is None:
        return None
    status = rows.order_status(session, order_id=row.id)
    if status is None or status.state is not OrderState.DELIVERED:
        state = OrderState.CREATED if status is None else status.state
        raise Conflict(f"only a delivered order can be rated; this one is {state}")
    stored, created = rows.put_rating(
        session,
        order_id=row.id,
        csat=rating.csat,
        nps=rating.nps,
        comment=rating.comment,
    )
    public = RatingPublic(
        csat=stored.csat,
        nps=stored.nps,
        comment=stored.comment,
        updated_at=stored.updated_at,
    )
    session.commit()
    return public, created


def _driver(
    session: Session, day: dt.date, status: OrderStatus
) -> DriverPosition | None:
    """The van's last position while it is on its way to this very stop."""
    if status.state is not OrderState.ARRIVING or status.vehicle is None:
        return None
    van = rows.vehicle_state(session, day=day, vehicle=status.vehicle)
    if van is None or van.lat is None or van.lon is None or van.position_at is None:
        return None
    at = local_time(van.position_at, day, locale_of(session).zone)
    return DriverPosition(lat=van.lat, lon=van.lon, at=at)


def plan_live_view(
    session: Session, etas: LiveEtas, plan_id: str
) -> PlanLivePublic | None:
    """Statuses, ETAs and van positions of a stored plan (None: no such plan)."""
    row = plans.get_plan(session, plan_id=plan_id)
    if row is None:
        return None
    day, plan = row.day, row.plan
    order_ids = [o for route in plan.routes for o in route.order_ids]
    order_ids += [u.id for u in plan.unassigned]
    tz = etas.zone
    now = eta_clock(day, tz)
    tracked = rows.tracked_orders(session, order_ids=order_ids)
    live = {
        status.order_id: (
            status,
            etas.eta(session, d, status, now, ref, live=True),
            d,
        )
        for d, status, ref in tracked
    }
    current = current_pricing(session)
    retention = (
        None
        if current is None
        else live_retention(
            row.problem,
            plan,
            {o: (s, e) for o, (s, e, _) in live.items()},
            now,
            current,
            moved={o for o, (_, _, d) in live.items() if d != day},
            recent_late=recent_lateness(session, day),
        )
    )
    stops = [_stop(s, e, d, tz, retention) for s, e, d in live.values()]
    stops.sort(key=lambda o: o.order_id)
    vans = rows.vehicle_states(
        session, day=day, vehicles=[r.vehicle for r in plan.routes]
    )
    vehicles = [_van(v, day, tz) for v in sorted(vans, key=lambda v: v.vehicle)]
    exceptions = _open_exceptions(
        session, day, {r.vehicle for r in plan.routes}, set(order_ids)
    )
    return PlanLivePublic(
        plan_id=plan_id,
        day=day,
        orders=stops,
        vehicles=vehicles,
        exceptions=exceptions,
        kpis=_kpis(
            row.problem, plan, [s for _, s, _ in tracked], exceptions, retention
        ),
        pricing=pricing_of(current),
    )


def _kpis(
    problem: Problem,
    plan: Plan,
    statuses: list[OrderStatus],
    exceptions: list[ExceptionPublic],
    retention: DayRetention | None = None,
) -> PlanKpis:
    """The plan's KPIs from its orders' statuses (see :class:`PlanKpis`)."""
    routed = {o for r in plan.routes for o in r.order_ids}
    starts = {
        s.id: s.service_start
        for r in plan.routes
        for s in r.steps
        if s.id is not None and s.type in (StepType.JOB, StepType.DELIVERY)
    }
    by_id = {o.id: o for o in problem.orders}
    delivered = failed = on_time = 0
    for status in statuses:
        if status.order_id not in routed:
            continue
        if status.state is not OrderState.DELIVERED:
            failed += any(c.target is OrderState.FAILED_ATTEMPT for c in status.history)
            continue
        delivered += 1
        delivered_at = status.history[-1].at
        order = by_id.get(status.order_id)
        end = (
            None
            if order is None
            else promised_window_end(order_windows(order), starts.get(status.order_id))
        )
        on_time += end is None or delivered_at <= end
    return PlanKpis(
        planned=len(routed),
        delivered=delivered,
        failed=failed,
        on_time=on_time,
        on_time_rate=None if delivered == 0 else round(on_time / delivered, 4),
        late_risk=sum(e.kind is ExceptionKind.LATE_RISK for e in exceptions),
        retention_planned=None if retention is None else retention.planned,
        retention_live=None if retention is None else retention.live,
    )


#: Open exceptions a live view lists at most.
MAX_LIVE_EXCEPTIONS = 500


def _open_exceptions(
    session: Session, day: dt.date, vans: set[str], order_ids: set[str]
) -> list[ExceptionPublic]:
    """The day's open exceptions about these vans or orders, newest first."""
    _, found = rows.list_exceptions(
        session,
        day=day,
        is_open=True,
        kind=None,
        vehicle=None,
        limit=MAX_LIVE_EXCEPTIONS,
        offset=0,
    )
    return [
        exception_public(d, e, locale_of(session).zone)
        for d, e in found
        if e.vehicle in vans or order_ids.intersection(e.order_ids)
    ]


def _stop(
    status: OrderStatus,
    eta: Eta | None,
    day: dt.date,
    tz: tzinfo,
    retention: DayRetention | None,
) -> StopLive:
    return StopLive(
        order_id=status.order_id,
        status=status.state,
        vehicle=status.vehicle,
        window=window(eta, day, tz),
        retention=None if retention is None else retention.orders.get(status.order_id),
    )


def _van(v: VehicleState, day: dt.date, tz: tzinfo) -> VehicleLive:
    def when(seconds: int | None) -> dt.datetime | None:
        return None if seconds is None else local_time(seconds, day, tz)

    return VehicleLive(
        vehicle=v.vehicle,
        on_shift=v.on_shift,
        lat=v.lat,
        lon=v.lon,
        position_at=when(v.position_at),
        stop=v.stop,
        stop_event=v.stop_event,
        stop_at=when(v.stop_at),
    )


_ORDER_REF_SQL = compiled(rows.ORDER_REF)


async def fast_eta_view(
    reads: ReadSessions, etas: LiveEtas, order_id: str, at: int | None
) -> OrderEtaPublic | None:
    """The ETA view with one query on the event loop, where that is possible.

    On PostgreSQL (``reads.async_reads``) a tracked order's row is read
    asynchronously; its route's ETAs then come from memory (also when "now"
    has just stepped: see :meth:`LiveEtas.eta`), or from one worker-thread
    hop that computes them. None: the slow path decides
    (SQLite, or an order that is not tracked or does not exist).
    """
    if reads.async_reads is None:
        return None
    row = await reads.async_reads.one(_ORDER_REF_SQL, {"order_id": order_id})
    if row is None:
        return None
    day, status, ref = rows.order_ref_row(row)
    now = eta_clock(day, etas.zone) if at is None else at
    live = at is None
    known = etas.remembered(day, status, now, ref, live=live)
    if known is not False:
        return eta_view(order_id, day, status, known, etas.zone)
    eta = await reads.run(lambda s: etas.eta(s, day, status, now, ref, live=live))
    return eta_view(order_id, day, status, eta, etas.zone)


def link_exists(session: Session, token: str) -> bool:
    """Whether some order has the tracking link ``token``."""
    return orders.order_by_token(session, token=token) is not None


# -- another slot after a failed attempt ---------------------------------------

#: How many days ahead a customer may move a failed delivery.
REBOOK_DAYS = 14


class TrackSlot(BaseModel):
    """A delivery slot the customer could pick (local times)."""

    id: str
    start: dt.datetime
    end: dt.datetime
    available: bool


class TrackSlotsPublic(BaseModel):
    """The home-delivery slots of ``day`` for the order's address."""

    day: dt.date
    slots: list[TrackSlot]


class RebookCreate(BaseModel):
    """Another slot for a failed delivery: a later day and a slot of it."""

    model_config = ConfigDict(extra="forbid")

    day: dt.date = Field(description="a day after the failed attempt's")
    slot_id: str = Field(
        min_length=1, max_length=200, description="from GET /v1/track/{token}/slots"
    )


class RebookPublic(BaseModel):
    """The booked slot: the order is now planned on ``day`` in ``slot``."""

    day: dt.date
    slot: TrackSlot


def _rebookable(session: Session, token: str) -> tuple[OrderRow, dt.date] | None:
    """The order of ``token`` and the day of its failed attempt (None: no
    such token); Conflict when it is not waiting after a failed attempt."""
    row = orders.order_by_token(session, token=token)
    if row is None:
        return None
    found = rows.tracked_order(session, order_id=row.id)
    if found is None or found[1].state is not OrderState.FAILED_ATTEMPT:
        state = OrderState.CREATED if found is None else found[1].state
        raise Conflict(
            f"only an order after a failed attempt can be moved; this one is {state}"
        )
    return row, found[0]


def _check_day(day: dt.date, failed_on: dt.date, field: str) -> None:
    if not failed_on < day <= failed_on + dt.timedelta(days=REBOOK_DAYS):
        raise Invalid.one(
            field,
            f"must be one of the {REBOOK_DAYS} days after {failed_on.isoformat()}",
        )


def slots_view(
    session: Session, books: SlotBooks, token: str, day: dt.date | None
) -> TrackSlotsPublic | None:
    """The slots the order of ``token`` could move to on ``day`` (default:
    the day after the failed attempt); none when that day has no plan yet."""
    found = _rebookable(session, token)
    if found is None:
        return None
    row, failed_on = found
    day = failed_on + dt.timedelta(days=1) if day is None else day
    _check_day(day, failed_on, "day")
    job = row.job
    place = delivery_place(session, job)
    if place is None:
        return TrackSlotsPublic(day=day, slots=[])
    where, to_station = place
    request = SlotQuoteCreate(
        location=where,
        day=day,
        depot_id=row.depot_id,
        demand=job.demand,
        service_time=job.service,
        collect=job.collect or None,
    )
    try:
        quotes = quote_slots(session, books=books, request=request, job=job)
    except NotFound:
        return TrackSlotsPublic(day=day, slots=[])
    tz = locale_of(session).zone
    return TrackSlotsPublic(
        day=day,
        slots=[
            TrackSlot(
                id=q.slot.id,
                start=local_time(q.slot.window.start, day, tz),
                end=local_time(q.slot.window.end, day, tz),
                available=q.available,
            )
            for q in quotes.data
            if rebookable_slot(q.slot, to_station)
        ],
    )


def rebook_view(
    session: Session, books: SlotBooks, token: str, body: RebookCreate
) -> RebookPublic | None:
    """Move the failed delivery of ``token``'s order to the slot it picked
    (None: no such token): the failed attempt is resolved as rescheduled
    and the order planned in that slot of ``body.day``."""
    found = _rebookable(session, token)
    if found is None:
        return None
    row, failed_on = found
    _check_day(body.day, failed_on, "day")
    tz = locale_of(session).zone

    def resolve(s: Session) -> None:
        event = AttemptResolved(
            id=f"rebook-{secrets.token_hex(8)}",
            at=now_seconds(failed_on, tz),
            order_id=row.id,
            outcome="rescheduled",
            note=f"the customer picked slot {body.slot_id} of {body.day.isoformat()}",
        )
        result = ingest(s, failed_on, [event])
        if event.id not in result.accepted:
            raise Conflict("the failed attempt could not be resolved; try again")

    slot, _ = rebook_order(
        session,
        books=books,
        order=row,
        day=body.day,
        slot_id=body.slot_id,
        prepare=resolve,
    )
    return RebookPublic(
        day=body.day,
        slot=TrackSlot(
            id=slot.id,
            start=local_time(slot.window.start, body.day, tz),
            end=local_time(slot.window.end, body.day, tz),
            available=False,
        ),
    )
