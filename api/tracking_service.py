"""Tracking in the service: ingest, plan registration, statuses and live ETAs.

Every event, whether it came over HTTP (``POST /v1/events``) or MQTT
(:mod:`api.mqtt`), goes through :func:`ingest_and_commit`, which runs the
library's :class:`~tracking.tracker.Tracker` on a :class:`~api.sql_store.SqlStore`
and commits before it returns: an acknowledged event is a durable event.

Live ETAs (:func:`tracked_order`, then :func:`eta_on_route`) read the
order's status, its place on a route and the van's events, and call the
pure :func:`tracking.eta.route_eta`. The plan and problem of a route are
parsed once per process and kept, keyed by ``(plan_id, version)``, because
parsing a day's plan on every request would cost more than the ETA itself.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, or_, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from api.db.tables_tracking import (
    EventRow,
    OrderStatusRow,
    RouteRevision,
    RouteStopRow,
    TrackedPlan,
    VehicleStateRow,
)
from api.sql_store import SqlStore
from routing.model import Problem
from routing.plan import Plan, Route, StepType
from routing.travel.haversine import HaversineTravel
from routing.units import to_datetime, to_seconds
from tracking.correction import Correction
from tracking.eta import Eta, LegTimes, WindowsByStop, route_eta, windows_of
from tracking.events import Event, OrderDispatched, parse_event
from tracking.status import OrderState, OrderStatus
from tracking.store import VehicleState
from tracking.tracker import IngestResult, Tracker
from tracking.zones import grid_zone

__all__ = [
    "ETA_REFRESH",
    "LIVE_STATES",
    "NOT_REMEMBERED",
    "ORDER_REF",
    "RoutePlan",
    "RouteRef",
    "dispatch_plan",
    "eta_clock",
    "eta_on_route",
    "ingest",
    "ingest_and_commit",
    "legs",
    "local_time",
    "now_seconds",
    "order_ref_row",
    "order_status",
    "register_plan",
    "remembered_eta",
    "tracked_order",
    "tracked_orders",
    "vehicle_state",
    "vehicle_states",
]

#: States in which an order still has an ETA.
LIVE_STATES = frozenset(
    {
        OrderState.PLANNED,
        OrderState.DISPATCHED,
        OrderState.OUT_FOR_DELIVERY,
        OrderState.ARRIVING,
    }
)

# One writer at a time in this process: the tracker reads statuses, then
# writes them, and the commit must land before the next batch reads.
_INGEST_LOCK = threading.Lock()
_RETRIES = 3

# The planner's default travel model; LegTimes only caches its answers.
_LEGS = LegTimes(HaversineTravel())
_CORRECTION = Correction()


def legs() -> LegTimes:
    """The shared travel-time cache live ETAs use (the planner's default model)."""
    return _LEGS


def now_seconds(day: dt.date) -> int:
    """The current time in seconds since local midnight of ``day``."""
    return to_seconds(dt.datetime.now(dt.UTC), day)


def eta_clock(day: dt.date) -> int:
    """ "Now" for live ETAs: :func:`now_seconds` down to :data:`ETA_REFRESH`."""
    return now_seconds(day) // ETA_REFRESH * ETA_REFRESH


# -- ingest -------------------------------------------------------------------


def ingest(session: Session, day: dt.date, events: Sequence[Event]) -> IngestResult:
    """Apply a batch of events of one operating day (the caller commits).

    Parameters
    ----------
    session
        Open session.
    day
        The operating day the events' ``at`` counts from.
    events
        Events in any order; ids already stored that day are duplicates.

    Returns
    -------
    IngestResult
        Accepted, duplicate, rejected (with reasons) and stale event ids.
    """
    store = SqlStore(session, day, for_update=True)
    store.prefetch(events)
    result = Tracker(store).ingest(events)
    store.bump_revisions()
    return result


def ingest_and_commit(
    session: Session, day: dt.date, events: Sequence[Event]
) -> IngestResult:
    """:func:`ingest` and commit: when this returns, the events are durable.

    A conflict with another process writing the same rows at once (a
    duplicate key, a lock timeout, a deadlock) rolls back and tries again on
    the fresh state, where the other writer's events are duplicates.
    """
    for attempt in range(_RETRIES):
        with _INGEST_LOCK:
            try:
                result = ingest(session, day, events)
                session.commit()
            except (IntegrityError, OperationalError):
                session.rollback()
                if attempt == _RETRIES - 1:
                    raise
                continue
            return result
    raise AssertionError("unreachable")  # pragma: no cover


# -- plans --------------------------------------------------------------------


def register_plan(
    session: Session,
    *,
    day: dt.date,
    plan_id: str,
    plan: Plan,
    problem: Problem,
    at: int,
) -> None:
    """Track a plan: its orders become ``planned`` on their vans.

    Orders not known yet are created. The plan and problem are kept (in
    ``tracked_plans``) for live ETAs and delivery outcomes. Registering the
    same plan again changes nothing; a new plan id for the same orders (a
    re-optimised plan) moves them to their new routes.

    Parameters
    ----------
    session
        Open session; the caller commits.
    day
        The operating day.
    plan_id
        The plan's id (event ids derive from it).
    plan, problem
        The plan and the problem it solves.
    at
        When it was registered, seconds since local midnight of ``day``.
    """
    plan_json = plan.model_dump(mode="json")
    problem_json = problem.model_dump(mode="json")
    row = session.get(TrackedPlan, plan_id)
    if row is None:
        session.add(
            TrackedPlan(plan_id=plan_id, day=day, plan=plan_json, problem=problem_json)
        )
    elif row.plan != plan_json or row.problem != problem_json or row.day != day:
        row.day, row.plan, row.problem = day, plan_json, problem_json
        row.version += 1
    store = SqlStore(session, day, plan_id=plan_id)
    result = Tracker(store).register_plan(plan, at=at, plan_id=plan_id)
    store.bump_revisions()
    if result.rejected:
        reasons = "; ".join(r.reason for r in result.rejected[:3])
        raise ValueError(f"plan {plan_id} cannot be tracked: {reasons}")


def dispatch_plan(
    session: Session, *, day: dt.date, plan_id: str, plan: Plan, at: int
) -> int:
    """Release a plan: every routed, planned order becomes ``dispatched``.

    Returns how many orders this call moved (0 when repeated: the events'
    ids derive from the plan id, so a second call changes nothing). The
    caller commits.
    """
    events: list[Event] = [
        OrderDispatched(
            id=f"{plan_id}:dispatched:{order_id}",
            at=at,
            order_id=order_id,
            vehicle=route.vehicle,
        )
        for route in plan.routes
        for order_id in route.order_ids
    ]
    result = ingest(session, day, events)
    return len(result.accepted) - len(result.stale)


def order_status(session: Session, order_id: str) -> OrderStatus | None:
    """An order's tracking status and history, if it is tracked."""
    row = session.get(OrderStatusRow, order_id)
    return None if row is None else OrderStatus.model_validate(row.status)


@dataclass(frozen=True)
class RouteRef:
    """Where a tracked order is: its van, plan, plan version, route revision."""

    vehicle: str | None
    plan_id: str | None
    version: int | None
    revision: int | None


def tracked_order(
    session: Session, order_id: str
) -> tuple[dt.date, OrderStatus, RouteRef] | None:
    """An order's day, status and route reference, in one query.

    This is the live ETA's read path (:func:`eta_on_route` takes the
    reference); None when the order is not tracked.
    """
    row = session.execute(ORDER_REF, {"order_id": order_id}).one_or_none()
    return None if row is None else order_ref_row(tuple(row))


def order_ref_row(row: Sequence[Any]) -> tuple[dt.date, OrderStatus, RouteRef]:
    """A row of :data:`ORDER_REF` (however it was read) as day, status, reference."""
    day, status, *ref = row
    return day, OrderStatus.model_validate(status), RouteRef(*ref)


def tracked_orders(
    session: Session, order_ids: Sequence[str]
) -> list[tuple[dt.date, OrderStatus, RouteRef]]:
    """:func:`tracked_order` for many orders in one query (untracked ones left out)."""
    if not order_ids:
        return []
    rows = session.execute(_ORDERS_REF, {"order_ids": list(order_ids)})
    return [
        (day, OrderStatus.model_validate(status), RouteRef(*ref))
        for day, status, *ref in rows
    ]


def vehicle_states(
    session: Session, day: dt.date, vehicles: Sequence[str]
) -> list[VehicleState]:
    """The states of those of ``vehicles`` seen on ``day``."""
    if not vehicles:
        return []
    query = select(VehicleStateRow.state).where(
        VehicleStateRow.day == day, VehicleStateRow.vehicle.in_(vehicles)
    )
    return [VehicleState.model_validate(state) for state in session.scalars(query)]


def vehicle_state(session: Session, day: dt.date, vehicle: str) -> VehicleState | None:
    """A van's state that day, if it was seen."""
    row = session.get(VehicleStateRow, (day, vehicle))
    return None if row is None else VehicleState.model_validate(row.state)


# -- live ETAs ----------------------------------------------------------------


@dataclass(frozen=True)
class RoutePlan:
    """A parsed route of a tracked plan, with what its ETAs need."""

    route: Route
    orders: tuple[str, ...]
    windows: WindowsByStop


_PLANS: dict[str, tuple[int, Plan, WindowsByStop]] = {}
_PLANS_LOCK = threading.Lock()
_MAX_PLANS = 256

#: Route ETAs by ``(day, plan_id, version, vehicle, revision, now)``.
_ROUTE_ETAS: dict[
    tuple[dt.date, str, int, str, int, int], tuple[RoutePlan, dict[str, Eta]]
] = {}
_MAX_ROUTE_ETAS = 4096
#: Orders' day and status, their route, the plan's version and the route's
#: revision, in one query; built once (building a statement costs more than
#: running it).
_REFS = (
    select(
        OrderStatusRow.day,
        OrderStatusRow.status,
        RouteStopRow.vehicle,
        RouteStopRow.plan_id,
        TrackedPlan.version,
        RouteRevision.revision,
    )
    .outerjoin(
        RouteStopRow,
        (RouteStopRow.day == OrderStatusRow.day)
        & (RouteStopRow.order_id == OrderStatusRow.order_id),
    )
    .outerjoin(TrackedPlan, TrackedPlan.plan_id == RouteStopRow.plan_id)
    .outerjoin(
        RouteRevision,
        (RouteRevision.day == RouteStopRow.day)
        & (RouteRevision.vehicle == RouteStopRow.vehicle),
    )
)
#: One order's row of ``_REFS`` (``order_id`` bound).
ORDER_REF = _REFS.where(OrderStatusRow.order_id == bindparam("order_id"))
_ORDERS_REF = _REFS.where(
    OrderStatusRow.order_id.in_(bindparam("order_ids", expanding=True))
)
#: Seconds a live ETA asked for "now" may be old: callers round the clock
#: down to this step, so a route's ETAs are computed once per step (or
#: sooner, when one of its events arrives).
ETA_REFRESH = 10


def _parsed_plan(
    session: Session, plan_id: str, version: int
) -> tuple[Plan, WindowsByStop] | None:
    hit = _PLANS.get(plan_id)
    if hit is not None and hit[0] == version:
        return hit[1], hit[2]
    row = session.get(TrackedPlan, plan_id)
    assert row is not None
    plan = Plan.model_validate(row.plan)
    windows = windows_of(Problem.model_validate(row.problem))
    with _PLANS_LOCK:
        if len(_PLANS) >= _MAX_PLANS:
            _PLANS.clear()
        _PLANS[plan_id] = (row.version, plan, windows)
    return plan, windows


def _route_events(
    session: Session, day: dt.date, route: RoutePlan, now: int
) -> list[Event]:
    query = select(EventRow.body).where(
        EventRow.day == day,
        EventRow.at <= now,
        or_(
            EventRow.vehicle == route.route.vehicle,
            EventRow.order_id.in_(route.orders),
        ),
    )
    return [parse_event(body) for body in session.scalars(query)]


def _planned_eta(route: RoutePlan, order_id: str, now: int) -> Eta | None:
    """Before the van starts: the planned arrival with the default spread."""
    for step in route.route.steps:
        if step.id == order_id and step.type in (StepType.JOB, StepType.DELIVERY):
            zone = grid_zone(step.location) if step.location is not None else "?"
            raw = step.arrival
            low, _, high = _CORRECTION.residual_quantiles(raw - now, zone, raw)
            point = max(now, raw)
            return Eta(
                order_id=order_id,
                vehicle=route.route.vehicle,
                point=point,
                p10=max(now, min(point, round(raw + low))),
                p90=max(point, round(raw + high)),
                made_at=now,
                zone=zone,
            )
    return None


#: What :func:`remembered_eta` answers when the route's ETAs must be computed.
NOT_REMEMBERED = object()


def remembered_eta(
    day: dt.date, status: OrderStatus, now: int, ref: RouteRef | None
) -> Eta | object | None:
    """:func:`eta_on_route` from memory only, without a database session.

    The ETA (or None when the order is not coming), or
    :data:`NOT_REMEMBERED` when this process has not computed the route's
    ETAs for this plan version, route revision and ``now``.
    """
    if status.state not in LIVE_STATES or ref is None or ref.plan_id is None:
        return None
    if ref.vehicle is None or ref.version is None:
        return None
    key = (day, ref.plan_id, ref.version, ref.vehicle, ref.revision or 0, now)
    cached = _ROUTE_ETAS.get(key)
    if cached is None:
        return NOT_REMEMBERED
    route, etas = cached
    got = etas.get(status.order_id)
    if got is not None:
        return got
    return _planned_eta(route, status.order_id, now)


def eta_on_route(
    session: Session,
    day: dt.date,
    status: OrderStatus,
    now: int,
    ref: RouteRef | None,
) -> Eta | None:
    """The live ETA of a tracked order (None once it is no longer coming).

    ``ref`` comes from :func:`tracked_order`. The ETAs of a whole route are
    computed at once and kept in this process, keyed by the plan's version,
    the route's revision and ``now``: every order on the route asking at the
    same second (callers round ``now``, see :data:`ETA_REFRESH`) gets them
    from memory, and an accepted event of the route, in any process, changes
    the revision and so the key.
    """
    known = remembered_eta(day, status, now, ref)
    if known is not NOT_REMEMBERED:
        return known  # type: ignore[return-value]
    assert ref is not None and ref.plan_id is not None  # remembered_eta saw to it
    assert ref.vehicle is not None and ref.version is not None
    vehicle, version, revision = ref.vehicle, ref.version, ref.revision
    plan_id: str = ref.plan_id
    key = (day, plan_id, version, vehicle, revision or 0, now)
    cached = _ROUTE_ETAS.get(key)
    if cached is None:
        parsed = _parsed_plan(session, plan_id, version)
        if parsed is None:
            return None
        plan, windows = parsed
        found = plan.route_of(vehicle)
        if found is None:
            return None
        route = RoutePlan(route=found, orders=tuple(found.order_ids), windows=windows)
        events = _route_events(session, day, route, now)
        etas = route_eta(
            route.route,
            events,
            _LEGS,
            now,
            _CORRECTION,
            windows=route.windows,
            zone=grid_zone,
        )
        cached = (route, etas)
        if len(_ROUTE_ETAS) >= _MAX_ROUTE_ETAS:
            _ROUTE_ETAS.clear()
        _ROUTE_ETAS[key] = cached
    route, etas = cached
    got = etas.get(status.order_id)
    if got is not None:
        return got
    return _planned_eta(route, status.order_id, now)


def local_time(seconds: int, day: dt.date) -> dt.datetime:
    """Seconds since local midnight of ``day`` as an aware local datetime."""
    return to_datetime(seconds, day)
