"""What the tracking routes show: an order's status and ETA, a plan's day live.

Each view takes one session and the app's :class:`~api.services.tracking.LiveEtas`
and returns the response model, or None when there is nothing of that id.
Times in the domain models (``eta``) are seconds since local midnight of the
order's day; ``window`` gives the same as aware datetimes.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from api.db import orders, plans
from api.db import tracking as rows
from api.db.async_reads import compiled
from api.db.tracking import RouteRef
from api.services.exceptions import ExceptionPublic, exception_public
from api.services.reads import ReadSessions
from api.services.tracking import LiveEtas, eta_clock, local_time
from routing.model import Problem
from routing.plan import Plan, StepType
from tracking.eta import Eta
from tracking.exceptions import ExceptionKind
from tracking.late_risk import order_windows, promised_window_end
from tracking.sensors import Excursion
from tracking.status import OrderState, OrderStatus, StatusChange
from tracking.store import VehicleState

__all__ = [
    "DriverPosition",
    "EtaWindow",
    "OrderEtaPublic",
    "OrderTrackingPublic",
    "PlanKpis",
    "PlanLivePublic",
    "StopLive",
    "TrackPublic",
    "TrackStep",
    "VehicleLive",
    "eta_view",
    "fast_eta_view",
    "link_exists",
    "plan_live_view",
    "public_view",
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
    history: list[StatusChange]
    excursions: list[Excursion] = Field(
        default=[],
        description="sensor readings outside the order's limits while on board "
        "(times: seconds since local midnight of the day, like history)",
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


class TrackPublic(BaseModel):
    """What the customer's tracking link shows (``kind``: see
    :class:`OrderTrackingPublic`)."""

    kind: VisitKind = "delivery"
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


class PlanKpis(BaseModel):
    """How the plan's day goes so far.

    ``planned``: orders on the plan's routes; ``delivered``: those
    delivered; ``failed``: those not delivered after a failed attempt (even
    once the dispatcher decided what to do); ``on_time``: delivered
    orders handed over by the end of the promised window (the window holding
    the plan's service start; an order without a window is always on time);
    ``on_time_rate``: ``on_time / delivered`` (None before the
    first delivery); ``late_risk``: open late-risk exceptions of the plan.
    """

    planned: int
    delivered: int
    failed: int
    on_time: int
    on_time_rate: float | None
    late_risk: int


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


def window(eta: Eta | None, day: dt.date) -> EtaWindow | None:
    """The ETA as local times (None: no ETA)."""
    if eta is None:
        return None
    return EtaWindow(
        expected=local_time(eta.point, day),
        earliest=local_time(eta.p10, day),
        latest=local_time(eta.p90, day),
        arrived=eta.arrived,
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
        "window": window(eta, day),
    }


def eta_view(
    order_id: str, day: dt.date, status: OrderStatus, eta: Eta | None
) -> OrderEtaPublic:
    """The ETA view of a tracked order whose ETA is known."""
    return OrderEtaPublic(**_eta_fields(order_id, day, status, eta))


def tracking_view(
    session: Session,
    etas: LiveEtas,
    order_id: str,
    at: int | None = None,
    *,
    with_kind: bool = True,
    excursions: bool = True,
) -> OrderTrackingPublic | None:
    """Status, history, ETA and sensor excursions of an order (None: no such
    order).

    ``with_kind=False`` skips reading the stored order for ``kind`` (left
    None) when the order is tracked, and ``excursions=False`` leaves the
    excursions out: the ETA read needs one statement.
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
    now = eta_clock(day) if at is None else at
    eta = etas.eta(session, day, status, now, ref, live=at is None)
    return OrderTrackingPublic(
        **_eta_fields(order_id, day, status, eta),
        kind=kind,
        vehicle=status.vehicle,
        history=list(status.history),
        excursions=rows.order_excursions(session, order_id=order_id)
        if excursions
        else [],
    )


def public_view(session: Session, etas: LiveEtas, token: str) -> TrackPublic | None:
    """The customer's view of the order holding ``token`` (None: no such token)."""
    row = orders.order_by_token(session, token=token)
    if row is None:
        return None
    kind = row.job.type
    found = rows.tracked_order(session, order_id=row.id)
    if found is None:
        return TrackPublic(kind=kind, status=OrderState.CREATED, history=[])
    day, status, ref = found
    eta = etas.eta(session, day, status, eta_clock(day), ref, live=True)
    return TrackPublic(
        kind=kind,
        status=status.state,
        window=window(eta, day),
        history=[
            TrackStep(status=c.target, at=local_time(c.at, day)) for c in status.history
        ],
        driver=_driver(session, day, status),
    )


def _driver(
    session: Session, day: dt.date, status: OrderStatus
) -> DriverPosition | None:
    """The van's last position while it is on its way to this very stop."""
    if status.state is not OrderState.ARRIVING or status.vehicle is None:
        return None
    van = rows.vehicle_state(session, day=day, vehicle=status.vehicle)
    if van is None or van.lat is None or van.lon is None or van.position_at is None:
        return None
    return DriverPosition(lat=van.lat, lon=van.lon, at=local_time(van.position_at, day))


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
    now = eta_clock(day)
    tracked = rows.tracked_orders(session, order_ids=order_ids)
    stops = [_stop(session, etas, found, now) for found in tracked]
    stops.sort(key=lambda o: o.order_id)
    vans = rows.vehicle_states(
        session, day=day, vehicles=[r.vehicle for r in plan.routes]
    )
    vehicles = [_van(v, day) for v in sorted(vans, key=lambda v: v.vehicle)]
    exceptions = _open_exceptions(
        session, day, {r.vehicle for r in plan.routes}, set(order_ids)
    )
    return PlanLivePublic(
        plan_id=plan_id,
        day=day,
        orders=stops,
        vehicles=vehicles,
        exceptions=exceptions,
        kpis=_kpis(row.problem, plan, [s for _, s, _ in tracked], exceptions),
    )


def _kpis(
    problem: Problem,
    plan: Plan,
    statuses: list[OrderStatus],
    exceptions: list[ExceptionPublic],
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
        exception_public(d, e)
        for d, e in found
        if e.vehicle in vans or order_ids.intersection(e.order_ids)
    ]


def _stop(
    session: Session,
    etas: LiveEtas,
    found: tuple[dt.date, OrderStatus, RouteRef],
    now: int,
) -> StopLive:
    day, status, ref = found
    eta = etas.eta(session, day, status, now, ref, live=True)
    return StopLive(
        order_id=status.order_id,
        status=status.state,
        vehicle=status.vehicle,
        window=window(eta, day),
    )


def _van(v: VehicleState, day: dt.date) -> VehicleLive:
    def when(seconds: int | None) -> dt.datetime | None:
        return None if seconds is None else local_time(seconds, day)

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
    now = eta_clock(day) if at is None else at
    live = at is None
    known = etas.remembered(day, status, now, ref, live=live)
    if known is not False:
        return eta_view(order_id, day, status, known)
    eta = await reads.run(lambda s: etas.eta(s, day, status, now, ref, live=live))
    return eta_view(order_id, day, status, eta)


def link_exists(session: Session, token: str) -> bool:
    """Whether some order has the tracking link ``token``."""
    return orders.order_by_token(session, token=token) is not None
