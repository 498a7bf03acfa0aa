"""Tracking on the service database: the tracker's store and every query.

:class:`SqlStore` is the tracker's :class:`~tracking.store.Store`. One
:class:`SqlStore` serves one operating day inside one session (one unit
of work): the tracker reads and writes through it, and the caller commits.
Parsed models are kept in the store for the life of the unit of work, so a
batch of events parses each order's status once, and :meth:`SqlStore.prefetch`
loads what a batch will touch in a few queries instead of one per event.

The functions after it are what the live ETAs, the views and the metrics
read; keyword-only, taking an open session first, never committing.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, func, insert, or_, select, update
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session

from api.db.base import utcnow
from api.db.tables_tracking import (
    EventRow,
    ExceptionRow,
    ExcursionRow,
    OrderLimitsRow,
    OrderRatingRow,
    OrderStatusRow,
    RouteRevision,
    RouteStopRow,
    TrackedPlan,
    VehicleStateRow,
)
from routing.model import SensorLimits
from tracking.events import Event, SensorReading, event_sort_key, parse_event
from tracking.exceptions import DispatchException
from tracking.sensors import Excursion
from tracking.status import OrderStatus
from tracking.store import VehicleState

__all__ = [
    "ORDER_REF",
    "RouteRef",
    "SqlStore",
    "day_events",
    "departed_stops",
    "event_row",
    "event_values",
    "get_exception",
    "get_rating",
    "get_tracked_plan",
    "last_order_event",
    "list_exceptions",
    "open_exception",
    "order_excursions",
    "order_ref_row",
    "order_status",
    "put_exception",
    "put_rating",
    "ratings_of",
    "route_events",
    "save_order_limits",
    "save_tracked_plan",
    "stops_before",
    "tracked_order",
    "tracked_orders",
    "tracked_plans_between",
    "vehicle_state",
    "vehicle_states",
]

_CHUNK = 500  # ids per IN (...) query
_COPY_EVENTS = (
    "COPY events (day, id, type, at, vehicle, order_id, body, received_at) FROM STDIN"
)


def _chunks(items: Sequence[str]) -> Iterable[Sequence[str]]:
    for k in range(0, len(items), _CHUNK):
        yield items[k : k + _CHUNK]


def event_values(day: dt.date, event: Event) -> dict[str, Any]:
    """The column values of the row that stores ``event`` for ``day``."""
    return {
        "day": day,
        "id": event.id,
        "type": event.type,
        "at": event.at,
        "vehicle": getattr(event, "vehicle", None),
        "order_id": getattr(event, "order_id", None),
        "body": event.model_dump(mode="json"),
    }


def event_row(day: dt.date, event: Event) -> EventRow:
    """The row that stores ``event`` for ``day``."""
    return EventRow(**event_values(day, event))


class SqlStore:
    """A :class:`tracking.store.Store` on SQL tables, for one operating day.

    Parameters
    ----------
    session
        The unit of work; the caller commits.
    day
        The operating day: events, vans and routes are per day; an order's
        status is found whatever its day, and moves to ``day`` when written.
    plan_id
        The plan whose registration is being applied; recorded on route
        stops written through :meth:`assign` (so an order's live ETA knows
        which plan to read).
    for_update
        Lock the status and van rows read (``SELECT ... FOR UPDATE`` on
        PostgreSQL; SQLite serialises writers anyway), so that concurrent
        ingests never overwrite each other's changes.
    """

    def __init__(
        self,
        session: Session,
        day: dt.date,
        *,
        plan_id: str | None = None,
        for_update: bool = False,
    ) -> None:
        self.session = session
        self.day = day
        self.plan_id = plan_id
        self.for_update = for_update
        self._events: dict[str, Event | None] = {}
        self._orders: dict[str, OrderStatus | None] = {}
        self._vehicles: dict[str, VehicleState | None] = {}
        self._routes: dict[str, tuple[str, ...]] = {}
        self._limits: dict[str, SensorLimits | None] = {}
        self._excursion_rows: dict[str, ExcursionRow] = {}
        # Rows read in bulk, by order id (None: known not to exist), so that
        # writing 2,000 statuses and stops costs no read per order.
        self._status_rows: dict[str, OrderStatusRow | None] = {}
        self._stop_rows: dict[str, RouteStopRow | None] = {}
        #: Vans whose route, orders or state this unit of work changed.
        self.touched: set[str] = set()
        # Accepted events are written in one multi-row INSERT, not as ORM
        # objects (their unit-of-work bookkeeping was a third of an ingest):
        # before any read of the events table, at bump_revisions, and in any
        # case before the session commits.
        self._new_events: list[dict[str, Any]] = []
        sa_event.listen(session, "before_commit", self._commit_hook)

    # -- batch loading -----------------------------------------------------

    def prefetch(self, events: Sequence[Event]) -> None:
        """Load the stored events, statuses and vans a batch refers to."""
        ids = sorted({e.id for e in events} - self._events.keys())
        for chunk in _chunks(ids):
            for row in self.session.scalars(
                select(EventRow).where(EventRow.day == self.day, EventRow.id.in_(chunk))
            ):
                self._events[row.id] = parse_event(row.body)
        for event_id in ids:
            self._events.setdefault(event_id, None)
        orders = sorted(
            {o for e in events if (o := getattr(e, "order_id", None))}
            - self._orders.keys()
        )
        self._load_orders(orders)
        self._load_stops(orders)
        vans = sorted(
            {v for e in events if (v := getattr(e, "vehicle", None))}
            - self._vehicles.keys()
        )
        for chunk in _chunks(vans):
            query = select(VehicleStateRow).where(
                VehicleStateRow.day == self.day, VehicleStateRow.vehicle.in_(chunk)
            )
            if self.for_update:
                query = query.with_for_update()
            for van in self.session.scalars(query):
                self._vehicles[van.vehicle] = VehicleState.model_validate(van.state)
        for vehicle in vans:
            self._vehicles.setdefault(vehicle, None)
        # A van's sensor reading concerns every order on its route: load their
        # statuses (and, on first use, limits) in bulk, not one by one.
        readers = sorted(
            {
                e.vehicle
                for e in events
                if isinstance(e, SensorReading) and e.order_id is None
            }
        )
        on_routes = {o for v in readers for o in self.route(v)}
        self._load_orders(sorted(on_routes - self._orders.keys()))

    def _load_orders(self, order_ids: Sequence[str]) -> None:
        for chunk in _chunks(order_ids):
            query = select(OrderStatusRow).where(OrderStatusRow.order_id.in_(chunk))
            if self.for_update:
                query = query.with_for_update()
            for row in self.session.scalars(query):
                self._orders[row.order_id] = OrderStatus.model_validate(row.status)
                self._status_rows[row.order_id] = row
        for order_id in order_ids:
            self._orders.setdefault(order_id, None)
            self._status_rows.setdefault(order_id, None)

    def _load_stops(self, order_ids: Sequence[str]) -> None:
        load = sorted(set(order_ids) - self._stop_rows.keys())
        for chunk in _chunks(load):
            for row in self.session.scalars(
                select(RouteStopRow).where(
                    RouteStopRow.day == self.day, RouteStopRow.order_id.in_(chunk)
                )
            ):
                self._stop_rows[row.order_id] = row
        for order_id in load:
            self._stop_rows.setdefault(order_id, None)

    def flush_events(self) -> None:
        """Write the accepted events not written yet (part of the transaction).

        On PostgreSQL with ``COPY`` (one stream of rows, where an
        ``executemany`` runs one ``INSERT`` per row on the server).
        """
        if not self._new_events:
            return
        rows, self._new_events = self._new_events, []
        conn = self.session.connection()
        if conn.dialect.name != "postgresql":
            conn.execute(insert(EventRow), rows)
            return
        received = utcnow()
        dbapi: Any = conn.connection.dbapi_connection
        with dbapi.cursor() as cursor, cursor.copy(_COPY_EVENTS) as copy:
            for r in rows:
                copy.write_row(
                    (
                        r["day"],
                        r["id"],
                        r["type"],
                        r["at"],
                        r["vehicle"],
                        r["order_id"],
                        json.dumps(r["body"]),
                        received,
                    )
                )

    def _commit_hook(self, _session: Session) -> None:
        self.flush_events()

    def bump_revisions(self) -> None:
        """Add one to the route revision of every van touched (or create it).

        An ``UPDATE ... SET revision = revision + 1`` so concurrent writers
        never lose a bump; a concurrent first insert fails the transaction
        with a duplicate key, which the ingest retries.
        """
        self.flush_events()
        vans = sorted(self.touched)
        if not vans:
            return
        existing: set[str] = set()
        for chunk in _chunks(vans):
            self.session.execute(
                update(RouteRevision)
                .where(RouteRevision.day == self.day, RouteRevision.vehicle.in_(chunk))
                .values(revision=RouteRevision.revision + 1)
                .execution_options(synchronize_session=False)
            )
            existing.update(
                self.session.scalars(
                    select(RouteRevision.vehicle).where(
                        RouteRevision.day == self.day,
                        RouteRevision.vehicle.in_(chunk),
                    )
                )
            )
        for vehicle in vans:
            if vehicle not in existing:
                self.session.add(
                    RouteRevision(day=self.day, vehicle=vehicle, revision=1)
                )
        self.touched.clear()

    # -- events ------------------------------------------------------------

    def event(self, event_id: str) -> Event | None:
        """The stored event with this id, if any."""
        if event_id not in self._events:
            self.flush_events()
            row = self.session.get(EventRow, (self.day, event_id))
            self._events[event_id] = None if row is None else parse_event(row.body)
        return self._events[event_id]

    def add_event(self, event: Event) -> None:
        """Keep an accepted event."""
        self._new_events.append(event_values(self.day, event))
        self._events[event.id] = event
        vehicle = getattr(event, "vehicle", None)
        order_id = getattr(event, "order_id", None)
        if vehicle is None and order_id is not None:
            status = self._orders.get(order_id)
            vehicle = None if status is None else status.vehicle
        if vehicle is not None:
            self.touched.add(vehicle)

    def events(
        self,
        *,
        vehicle: str | None = None,
        order_ids: Sequence[str] | None = None,
        until: int | None = None,
    ) -> list[Event]:
        """Stored events in time order, optionally of one van or some orders."""
        self.flush_events()
        query = select(EventRow.body).where(EventRow.day == self.day)
        if until is not None:
            query = query.where(EventRow.at <= until)
        if vehicle is not None or order_ids is not None:
            who = []
            if vehicle is not None:
                who.append(EventRow.vehicle == vehicle)
            if order_ids:
                who.append(EventRow.order_id.in_(list(order_ids)))
            if not who:
                return []
            query = query.where(or_(*who))
        events = [parse_event(body) for body in self.session.scalars(query)]
        return sorted(events, key=event_sort_key)

    # -- orders ------------------------------------------------------------

    def order(self, order_id: str) -> OrderStatus | None:
        """An order's status, if the order is known."""
        if order_id not in self._orders:
            self._load_orders([order_id])
        return self._orders[order_id]

    def put_order(self, status: OrderStatus) -> None:
        """Create or replace an order's status."""
        if status.order_id in self._status_rows:
            row = self._status_rows[status.order_id]
        else:
            row = self.session.get(OrderStatusRow, status.order_id)
        if row is None:
            row = OrderStatusRow(order_id=status.order_id)
            self.session.add(row)
        self._status_rows[status.order_id] = row
        self.touched.update(v for v in (row.vehicle, status.vehicle) if v is not None)
        row.day = self.day
        row.state = status.state.value
        row.vehicle = status.vehicle
        row.updated_at = status.updated_at
        row.status = status.model_dump(mode="json")
        self._orders[status.order_id] = status

    def orders(self) -> list[OrderStatus]:
        """Every order of the day, with its status."""
        rows = self.session.scalars(
            select(OrderStatusRow).where(OrderStatusRow.day == self.day)
        )
        out = []
        for row in rows:
            status = self._orders.get(row.order_id)
            if status is None:
                status = self._orders[row.order_id] = OrderStatus.model_validate(
                    row.status
                )
            out.append(status)
        return out

    # -- vans --------------------------------------------------------------

    def vehicle(self, vehicle_id: str) -> VehicleState | None:
        """A van's state, if the van is known."""
        if vehicle_id not in self._vehicles:
            row = self.session.get(
                VehicleStateRow, (self.day, vehicle_id), with_for_update=self.for_update
            )
            self._vehicles[vehicle_id] = (
                None if row is None else VehicleState.model_validate(row.state)
            )
        return self._vehicles[vehicle_id]

    def put_vehicle(self, state: VehicleState) -> None:
        """Create or replace a van's state."""
        row = self.session.get(VehicleStateRow, (self.day, state.vehicle))
        if row is None:
            row = VehicleStateRow(day=self.day, vehicle=state.vehicle)
            self.session.add(row)
        row.state = state.model_dump(mode="json")
        self._vehicles[state.vehicle] = state
        self.touched.add(state.vehicle)

    # -- routes ------------------------------------------------------------

    def assign(self, order_id: str, vehicle: str, position: int) -> None:
        """Put an order on a van's route at ``position`` (off any other route)."""
        if order_id in self._stop_rows:
            row = self._stop_rows[order_id]
        else:
            row = self.session.get(RouteStopRow, (self.day, order_id))
        if row is None:
            row = RouteStopRow(day=self.day, order_id=order_id)
            self.session.add(row)
            self._stop_rows[order_id] = row
        else:
            self._routes.pop(row.vehicle, None)
            self.touched.add(row.vehicle)
        self.touched.add(vehicle)
        row.vehicle = vehicle
        row.position = position
        if self.plan_id is not None:
            row.plan_id = self.plan_id
        self._routes.pop(vehicle, None)

    def route(self, vehicle_id: str) -> tuple[str, ...]:
        """Order ids on the van's route, by position."""
        if vehicle_id not in self._routes:
            rows = self.session.execute(
                select(RouteStopRow.order_id)
                .where(RouteStopRow.day == self.day, RouteStopRow.vehicle == vehicle_id)
                .order_by(RouteStopRow.position, RouteStopRow.order_id)
            )
            self._routes[vehicle_id] = tuple(r[0] for r in rows)
        return self._routes[vehicle_id]

    # -- sensors ---------------------------------------------------------

    def limits(self, order_id: str) -> SensorLimits | None:
        """The order's sensor limits, if any.

        The first call loads the limits of every order on the routes read so
        far in this unit of work (a van's reading asks for all of them).
        """
        if order_id not in self._limits:
            wanted = {order_id} | {o for r in self._routes.values() for o in r}
            load = sorted(wanted - self._limits.keys())
            for chunk in _chunks(load):
                for row in self.session.scalars(
                    select(OrderLimitsRow).where(OrderLimitsRow.order_id.in_(chunk))
                ):
                    self._limits[row.order_id] = SensorLimits.model_validate(row.limits)
            for o in load:
                self._limits.setdefault(o, None)
        return self._limits[order_id]

    def open_excursions(
        self, *, vehicle: str | None = None, order_id: str | None = None
    ) -> list[Excursion]:
        """Excursions still open that day, of one van or one order."""
        query = select(ExcursionRow).where(
            ExcursionRow.day == self.day, ExcursionRow.open.is_(True)
        )
        if vehicle is not None:
            query = query.where(ExcursionRow.vehicle == vehicle)
        if order_id is not None:
            query = query.where(ExcursionRow.order_id == order_id)
        rows = list(self.session.scalars(query))
        self._excursion_rows.update((row.id, row) for row in rows)
        return [Excursion.model_validate(row.body) for row in rows]

    def put_excursion(self, excursion: Excursion) -> None:
        """Create or replace an excursion (by id)."""
        row = self._excursion_rows.get(excursion.id)
        if row is None:
            row = self.session.get(ExcursionRow, (self.day, excursion.id))
        if row is None:
            row = ExcursionRow(day=self.day, id=excursion.id)
            self.session.add(row)
        self._excursion_rows[excursion.id] = row
        row.order_id = excursion.order_id
        row.vehicle = excursion.vehicle
        row.open = excursion.open
        row.body = excursion.model_dump(mode="json")

    def open_exceptions(self, *, vehicle: str) -> list[DispatchException]:
        """The van's open exceptions that day."""
        query = select(ExceptionRow.body).where(
            ExceptionRow.day == self.day,
            ExceptionRow.vehicle == vehicle,
            ExceptionRow.open.is_(True),
        )
        return [
            DispatchException.model_validate(b) for b in self.session.scalars(query)
        ]

    def put_exception(self, exception: DispatchException) -> None:
        """Create or replace an exception (by id)."""
        put_exception(self.session, day=self.day, exception=exception)


def put_exception(
    session: Session, *, day: dt.date, exception: DispatchException
) -> None:
    """Create or replace a dispatcher exception of ``day`` (by id)."""
    row = session.get(ExceptionRow, exception.id)
    if row is None:
        row = ExceptionRow(id=exception.id, day=day)
        session.add(row)
    row.kind = exception.kind.value
    row.key = exception.key
    row.vehicle = exception.vehicle
    row.open = exception.open
    row.opened_at = exception.opened_at
    row.body = exception.model_dump(mode="json")


def open_exception(
    session: Session, *, day: dt.date, key: str
) -> DispatchException | None:
    """The open exception of ``key`` that day, if any."""
    body = session.scalar(
        select(ExceptionRow.body).where(
            ExceptionRow.day == day,
            ExceptionRow.key == key,
            ExceptionRow.open.is_(True),
        )
    )
    return None if body is None else DispatchException.model_validate(body)


def get_exception(
    session: Session, *, exception_id: str
) -> tuple[dt.date, DispatchException] | None:
    """An exception and its day, if it exists."""
    row = session.get(ExceptionRow, exception_id)
    if row is None:
        return None
    return row.day, DispatchException.model_validate(row.body)


def list_exceptions(
    session: Session,
    *,
    day: dt.date | None,
    is_open: bool | None,
    kind: str | None,
    vehicle: str | None,
    limit: int,
    offset: int,
) -> tuple[int, list[tuple[dt.date, DispatchException]]]:
    """A page of exceptions, newest first, filtered; and how many match."""
    filters: list[Any] = []
    if day is not None:
        filters.append(ExceptionRow.day == day)
    if is_open is not None:
        filters.append(ExceptionRow.open.is_(is_open))
    if kind is not None:
        filters.append(ExceptionRow.kind == kind)
    if vehicle is not None:
        filters.append(ExceptionRow.vehicle == vehicle)
    total = session.scalar(
        select(func.count()).select_from(ExceptionRow).where(*filters)
    )
    rows = session.execute(
        select(ExceptionRow.day, ExceptionRow.body)
        .where(*filters)
        .order_by(
            ExceptionRow.day.desc(), ExceptionRow.opened_at.desc(), ExceptionRow.id
        )
        .limit(limit)
        .offset(offset)
    )
    return int(total or 0), [
        (d, DispatchException.model_validate(body)) for d, body in rows
    ]


def save_order_limits(
    session: Session, *, limits: dict[str, SensorLimits | None]
) -> None:
    """Keep (or drop, for None) the sensor limits of these orders."""
    ids = sorted(limits)
    existing: dict[str, OrderLimitsRow] = {}
    for chunk in _chunks(ids):
        for row in session.scalars(
            select(OrderLimitsRow).where(OrderLimitsRow.order_id.in_(chunk))
        ):
            existing[row.order_id] = row
    for order_id in ids:
        value = limits[order_id]
        stored = existing.get(order_id)
        if value is None:
            if stored is not None:
                session.delete(stored)
            continue
        body = value.model_dump(mode="json", exclude_none=True)
        if stored is None:
            session.add(OrderLimitsRow(order_id=order_id, limits=body))
        elif stored.limits != body:
            stored.limits = body


def order_excursions(session: Session, *, order_id: str) -> list[Excursion]:
    """Every excursion of an order, by start."""
    bodies = session.scalars(
        select(ExcursionRow.body).where(ExcursionRow.order_id == order_id)
    )
    return sorted(
        (Excursion.model_validate(b) for b in bodies), key=lambda e: (e.start, e.id)
    )


# -- reads -------------------------------------------------------------------


@dataclass(frozen=True)
class RouteRef:
    """Where a tracked order is: its van, plan, plan version, route revision."""

    vehicle: str | None
    plan_id: str | None
    version: int | None
    revision: int | None


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


def order_ref_row(row: Sequence[Any]) -> tuple[dt.date, OrderStatus, RouteRef]:
    """A row of :data:`ORDER_REF` (however it was read) as day, status, reference."""
    day, status, *ref = row
    return day, OrderStatus.model_validate(status), RouteRef(*ref)


def tracked_order(
    session: Session, *, order_id: str
) -> tuple[dt.date, OrderStatus, RouteRef] | None:
    """An order's day, status and route reference, in one query (None: untracked)."""
    row = session.execute(ORDER_REF, {"order_id": order_id}).one_or_none()
    return None if row is None else order_ref_row(tuple(row))


def tracked_orders(
    session: Session, *, order_ids: Sequence[str]
) -> list[tuple[dt.date, OrderStatus, RouteRef]]:
    """:func:`tracked_order` for many orders in one query (untracked ones left out)."""
    if not order_ids:
        return []
    rows = session.execute(_ORDERS_REF, {"order_ids": list(order_ids)})
    return [order_ref_row(tuple(row)) for row in rows]


def order_status(session: Session, *, order_id: str) -> OrderStatus | None:
    """An order's tracking status and history, if it is tracked."""
    row = session.get(OrderStatusRow, order_id)
    return None if row is None else OrderStatus.model_validate(row.status)


def vehicle_states(
    session: Session, *, day: dt.date, vehicles: Sequence[str]
) -> list[VehicleState]:
    """The states of those of ``vehicles`` seen on ``day``."""
    if not vehicles:
        return []
    query = select(VehicleStateRow.state).where(
        VehicleStateRow.day == day, VehicleStateRow.vehicle.in_(vehicles)
    )
    return [VehicleState.model_validate(state) for state in session.scalars(query)]


def vehicle_state(
    session: Session, *, day: dt.date, vehicle: str
) -> VehicleState | None:
    """A van's state that day, if it was seen."""
    row = session.get(VehicleStateRow, (day, vehicle))
    return None if row is None else VehicleState.model_validate(row.state)


def save_tracked_plan(
    session: Session,
    *,
    plan_id: str,
    day: dt.date,
    plan: dict[str, Any],
    problem: dict[str, Any],
) -> None:
    """Keep a tracked plan's JSON; a changed one gets the next version."""
    row = session.get(TrackedPlan, plan_id)
    if row is None:
        session.add(TrackedPlan(plan_id=plan_id, day=day, plan=plan, problem=problem))
    elif row.plan != plan or row.problem != problem or row.day != day:
        row.day, row.plan, row.problem = day, plan, problem
        row.version += 1


def get_tracked_plan(session: Session, *, plan_id: str) -> TrackedPlan | None:
    """A tracked plan (its JSON and version), if any."""
    return session.get(TrackedPlan, plan_id)


def tracked_plans_between(
    session: Session, *, start: dt.date, end: dt.date
) -> list[TrackedPlan]:
    """The tracked plans of ``start..end``, by day, newest first within a day."""
    return list(
        session.scalars(
            select(TrackedPlan)
            .where(TrackedPlan.day >= start, TrackedPlan.day <= end)
            .order_by(TrackedPlan.day, TrackedPlan.registered_at.desc())
        )
    )


def day_events(session: Session, *, day: dt.date) -> list[Event]:
    """Every stored event of a day (in no particular order)."""
    bodies = session.scalars(select(EventRow.body).where(EventRow.day == day))
    return [parse_event(body) for body in bodies]


def route_events(
    session: Session,
    *,
    day: dt.date,
    vehicle: str,
    order_ids: Sequence[str],
    until: int,
) -> list[Event]:
    """The events of a van or its orders that day up to ``until``."""
    query = select(EventRow.body).where(
        EventRow.day == day,
        EventRow.at <= until,
        or_(EventRow.vehicle == vehicle, EventRow.order_id.in_(order_ids)),
    )
    return [parse_event(body) for body in session.scalars(query)]


def departed_stops(
    session: Session, *, day: dt.date, order_ids: Sequence[str]
) -> set[tuple[str, str]]:
    """``(vehicle, order)`` for every stop of ``order_ids`` a van reported
    leaving that day (``stop_departed`` naming the order)."""
    found: set[tuple[str, str]] = set()
    for chunk in _chunks(order_ids):
        query = select(EventRow.vehicle, EventRow.order_id).where(
            EventRow.day == day,
            EventRow.type == "stop_departed",
            EventRow.order_id.in_(chunk),
        )
        for vehicle, order_id in session.execute(query):
            if vehicle is not None and order_id is not None:
                found.add((vehicle, order_id))
    return found


# -- the customer's tracking page ---------------------------------------------


def last_order_event(
    session: Session, *, day: dt.date, order_id: str, kind: str
) -> Event | None:
    """The order's latest stored event of type ``kind`` that day (None: none)."""
    query = (
        select(EventRow.body)
        .where(
            EventRow.day == day,
            EventRow.order_id == order_id,
            EventRow.type == kind,
        )
        .order_by(EventRow.at.desc(), EventRow.id.desc())
        .limit(1)
    )
    body = session.scalar(query)
    return None if body is None else parse_event(body)


def stops_before(
    session: Session, *, day: dt.date, order_id: str, pending: Sequence[str]
) -> int | None:
    """How many orders come before this one on its van's route that day and
    are still in one of the ``pending`` states (None: not on a route)."""
    mine = session.get(RouteStopRow, (day, order_id))
    if mine is None:
        return None
    query = (
        select(func.count())
        .select_from(RouteStopRow)
        .join(OrderStatusRow, OrderStatusRow.order_id == RouteStopRow.order_id)
        .where(
            RouteStopRow.day == day,
            # An order moved to another day left its old stop behind.
            OrderStatusRow.day == day,
            RouteStopRow.vehicle == mine.vehicle,
            RouteStopRow.position < mine.position,
            OrderStatusRow.state.in_(list(pending)),
        )
    )
    return int(session.scalar(query) or 0)


def get_rating(session: Session, *, order_id: str) -> OrderRatingRow | None:
    """The customer's rating of an order, if any."""
    return session.get(OrderRatingRow, order_id)


def put_rating(
    session: Session,
    *,
    order_id: str,
    csat: int,
    nps: int | None,
    comment: str | None,
) -> tuple[OrderRatingRow, bool]:
    """Store the order's rating, replacing an earlier one; and whether it is new."""
    row = session.get(OrderRatingRow, order_id)
    created = row is None
    if row is None:
        row = OrderRatingRow(order_id=order_id, csat=csat, nps=nps, comment=comment)
        session.add(row)
    else:
        row.csat, row.nps, row.comment = csat, nps, comment
    session.flush()
    return row, created


def ratings_of(
    session: Session, *, order_ids: Iterable[str]
) -> list[tuple[str, int, int | None]]:
    """``(order_id, csat, nps)`` of the rated orders among ``order_ids``."""
    wanted = sorted(set(order_ids))
    out: list[tuple[str, int, int | None]] = []
    for k in range(0, len(wanted), 500):  # bounded IN lists
        chunk = wanted[k : k + 500]
        query = select(
            OrderRatingRow.order_id, OrderRatingRow.csat, OrderRatingRow.nps
        ).where(OrderRatingRow.order_id.in_(chunk))
        out += [(r.order_id, r.csat, r.nps) for r in session.execute(query)]
    return out
