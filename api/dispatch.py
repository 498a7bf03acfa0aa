"""Depots, vehicles and orders in the database, and the day's problem from them.

The routes in ``api/routes/{depots,vehicles,orders}.py`` and the other areas
(plans, slots, tracking) go through these functions. They take an open
session and never commit: the caller's unit of work does.

Checks that need the database (does the depot exist, do the demand
dimensions match the fleet's) raise :class:`InvalidData` with field paths
relative to the thing checked (``"job.location"``, ``"start"``); the routes
prefix them with where the thing sat in the request body.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterable, Sequence
from typing import Any, TypeVar

from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import InstrumentedAttribute, Session
from sqlalchemy.sql.elements import ColumnElement

from api.db.tables_dispatch import ID_LENGTH, DepotRow, OrderRow, VehicleRow
from api.errors import FieldError, field_path
from routing.model import Depot, Job, Location, Problem, Vehicle

__all__ = [
    "DepotRow",
    "DuplicateId",
    "InvalidData",
    "NothingToPlan",
    "OrderChecker",
    "OrderRow",
    "VehicleRow",
    "add_new",
    "create_order",
    "create_orders",
    "depot_check",
    "depot_in_use",
    "depot_row",
    "new_tracking_token",
    "order_by_token",
    "order_row",
    "page",
    "problem_for",
    "validation_errors",
    "vehicle_check",
    "vehicle_row",
]

RowT = TypeVar("RowT", DepotRow, VehicleRow, OrderRow)

#: Bound parameters per ``IN (...)`` query (SQLite allows 32,766 in all).
_CHUNK = 500


class InvalidData(ValueError):
    """Input that is well-formed but does not fit the stored data.

    ``errors`` name the fields relative to the checked object.
    """

    def __init__(self, errors: Sequence[FieldError]) -> None:
        self.errors = list(errors)
        super().__init__("; ".join(f"{e.field}: {e.reason}" for e in self.errors))


class NothingToPlan(LookupError):
    """The stored data hold no plan for the request; ``field`` is the cause.

    ``"depot_id"`` when the depot is unknown or its vehicles refer to missing
    depots; ``"day"`` when the day has no vehicles or no active orders.
    """

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


class DuplicateId(Exception):
    """Ids that are already taken.

    When raised from a failed flush the session must be rolled back.
    """

    def __init__(self, kind: str, ids: Iterable[str]) -> None:
        self.ids = sorted(ids)
        shown = ", ".join(repr(i) for i in self.ids[:10])
        more = f" and {len(self.ids) - 10} more" if len(self.ids) > 10 else ""
        super().__init__(f"{kind} id already exists: {shown}{more}")


def validation_errors(exc: ValidationError, prefix: str) -> list[FieldError]:
    """A pydantic error as field errors under ``prefix`` (e.g. ``"body.job"``)."""
    return [
        FieldError(field=field_path((prefix, *err["loc"])), reason=err["msg"])
        for err in exc.errors()
    ]


def new_tracking_token() -> str:
    """A fresh customer tracking token: 24 random bytes, URL-safe (32 chars)."""
    return secrets.token_urlsafe(24)


# --- lookups -----------------------------------------------------------------


def depot_row(session: Session, depot_id: str) -> DepotRow | None:
    """The depot with this id, if any."""
    return session.get(DepotRow, depot_id)


def vehicle_row(session: Session, vehicle_id: str) -> VehicleRow | None:
    """The vehicle with this id, if any."""
    return session.get(VehicleRow, vehicle_id)


def order_row(session: Session, order_id: str) -> OrderRow | None:
    """The order with this id (active or cancelled), if any."""
    return session.get(OrderRow, order_id)


def order_by_token(session: Session, token: str) -> OrderRow | None:
    """The order a customer tracking token belongs to, if any."""
    if not token or len(token) > 64:
        return None
    return session.scalar(select(OrderRow).where(OrderRow.tracking_token == token))


def page(
    session: Session,
    table: type[RowT],
    filters: Sequence[ColumnElement[bool]],
    limit: int,
    offset: int,
    order_by: Sequence[ColumnElement[Any] | InstrumentedAttribute[Any]] = (),
) -> tuple[int, list[RowT]]:
    """One page of a table's rows and how many rows match in all.

    Parameters
    ----------
    session
        Open session.
    table
        :class:`DepotRow`, :class:`VehicleRow` or :class:`OrderRow`.
    filters
        Conditions, all of which must hold.
    limit, offset
        The page.
    order_by
        Sort keys; the id is always the last one, so pages are stable.

    Returns
    -------
    tuple[int, list]
        The total count and the rows of the page.
    """
    count = session.scalar(select(func.count()).select_from(table).where(*filters))
    query = (
        select(table)
        .where(*filters)
        .order_by(*order_by, table.id)
        .offset(offset)
        .limit(limit)
    )
    return count or 0, list(session.scalars(query))


def add_new(session: Session, row: DepotRow | VehicleRow, kind: str) -> None:
    """Insert a depot or vehicle row whose id must be new.

    Raises
    ------
    DuplicateId
        The id is taken (then the session must be rolled back).
    """
    if session.get(type(row), row.id) is not None:
        raise DuplicateId(kind, [row.id])
    session.add(row)
    try:
        session.flush()
    except IntegrityError as exc:  # a concurrent insert took the id first
        raise DuplicateId(kind, [row.id]) from exc


def _depot_ids(session: Session) -> set[str]:
    return set(session.scalars(select(DepotRow.id)))


def _fleet_dims(session: Session, exclude: str | None = None) -> int | None:
    """Capacity dimensions of the stored fleet (None: no other vehicle)."""
    query = select(VehicleRow.spec)
    if exclude is not None:
        query = query.where(VehicleRow.id != exclude)
    spec = session.scalar(query.limit(1))
    return None if spec is None else len(spec["capacity"])


def _location_errors(location: Location | None, field: str) -> list[FieldError]:
    # Stored days are solved without user matrices: coordinates are needed.
    if location is not None and not location.has_coordinates:
        return [FieldError(field=field, reason="lat and lon are required")]
    return []


# --- depots and vehicles -------------------------------------------------------


def depot_check(depot: Depot) -> None:
    """Refuse a depot the service cannot plan with (raises :class:`InvalidData`)."""
    errors = _location_errors(depot.location, "location")
    if errors:
        raise InvalidData(errors)


def depot_in_use(session: Session, depot_id: str) -> str | None:
    """Why the depot cannot be deleted (vehicles or active orders), or None."""
    users = sorted(
        row.id
        for row in session.scalars(select(VehicleRow))
        if depot_id in (row.depot_id, row.spec.get("end"))
    )
    if users:
        return f"vehicles use depot {depot_id!r}: {', '.join(users[:10])}"
    n_orders = session.scalar(
        select(func.count())
        .select_from(OrderRow)
        .where(OrderRow.depot_id == depot_id, OrderRow.active)
    )
    if n_orders:
        return f"{n_orders} active orders are at depot {depot_id!r}"
    return None


def vehicle_check(session: Session, vehicle: Vehicle) -> str:
    """Check a vehicle against the stored depots and fleet; return its home depot.

    Parameters
    ----------
    session
        Open session.
    vehicle
        The vehicle to store (new or replacing the one with its id).

    Returns
    -------
    str
        Its home depot: ``start``, else ``end``.

    Raises
    ------
    InvalidData
        No depot given, an unknown depot, or capacity dimensions that differ
        from the other vehicles' (one problem must share them).
    """
    errors: list[FieldError] = []
    if vehicle.start is None and vehicle.end is None:
        errors.append(
            FieldError(field="start", reason="a stored vehicle needs a start depot")
        )
    known = _depot_ids(session)
    for key in ("start", "end"):
        ref = getattr(vehicle, key)
        if ref is not None and ref not in known:
            errors.append(FieldError(field=key, reason=f"unknown depot id {ref!r}"))
    dims = _fleet_dims(session, exclude=vehicle.id)
    if dims is not None and len(vehicle.capacity) != dims:
        reason = (
            f"has {len(vehicle.capacity)} dimensions; the other vehicles have {dims}"
        )
        errors.append(FieldError(field="capacity", reason=reason))
    if errors:
        raise InvalidData(errors)
    home = vehicle.start if vehicle.start is not None else vehicle.end
    assert home is not None
    return home


# --- orders --------------------------------------------------------------------


class OrderChecker:
    """Checks orders against the stored depots and fleet, read once.

    Parameters
    ----------
    session
        Open session; the depots and the fleet's capacity dimensions are read
        now, so checking a batch costs two queries.
    """

    def __init__(self, session: Session) -> None:
        self.depot_ids = _depot_ids(session)
        self.dims = _fleet_dims(session)

    def __call__(
        self, job: Job, depot_id: str | None, customer_id: str | None
    ) -> tuple[Job, str | None, str | None]:
        """Reconcile and check one order.

        Parameters
        ----------
        job
            The stop.
        depot_id
            The depot that holds the parcel; None: ``job.depot``.
        customer_id
            Who ordered it; None: ``job.customer_id``.

        Returns
        -------
        tuple[Job, str | None, str | None]
            The job (with ``customer_id`` filled in), the depot id and the
            customer id to store.

        Raises
        ------
        InvalidData
            With fields relative to the order (``"job.location"``, ``"depot_id"``).
        """
        errors: list[FieldError] = []
        if depot_id is None:
            depot_id = job.depot
        elif job.depot is not None and job.depot != depot_id:
            reason = f"job.depot is {job.depot!r}; they must agree"
            errors.append(FieldError(field="depot_id", reason=reason))
        if depot_id is not None and depot_id not in self.depot_ids:
            field = "depot_id" if job.depot is None else "job.depot"
            errors.append(
                FieldError(field=field, reason=f"unknown depot id {depot_id!r}")
            )

        if customer_id is None:
            customer_id = job.customer_id
        elif job.customer_id is not None and job.customer_id != customer_id:
            reason = f"job.customer_id is {job.customer_id!r}; they must agree"
            errors.append(FieldError(field="customer_id", reason=reason))
        if customer_id is not None and len(customer_id) > ID_LENGTH:
            reason = f"at most {ID_LENGTH} characters"
            errors.append(FieldError(field="job.customer_id", reason=reason))

        if job.station is not None:
            # Stations are not stored yet, so a stored day could not hold one.
            reason = "pickup station deliveries are not supported by the service"
            errors.append(FieldError(field="job.station", reason=reason))
        errors += _location_errors(job.location, "job.location")
        if self.dims is not None and len(job.demand) != self.dims:
            reason = (
                f"has {len(job.demand)} dimensions; vehicle capacity has {self.dims}"
            )
            errors.append(FieldError(field="job.demand", reason=reason))
        if errors:
            raise InvalidData(errors)
        if customer_id is not None and job.customer_id is None:
            job = job.model_copy(update={"customer_id": customer_id})
        return job, depot_id, customer_id


def _taken_order_ids(session: Session, ids: Sequence[str]) -> set[str]:
    taken: set[str] = set()
    for i in range(0, len(ids), _CHUNK):
        chunk = ids[i : i + _CHUNK]
        taken.update(session.scalars(select(OrderRow.id).where(OrderRow.id.in_(chunk))))
    return taken


def _flush(session: Session, ids: Iterable[str]) -> None:
    try:
        session.flush()
    except IntegrityError as exc:  # a concurrent insert took an id first
        raise DuplicateId("order", ids) from exc


def create_order(
    session: Session,
    *,
    job: Job,
    day: dt.date,
    depot_id: str | None,
    customer_id: str | None,
) -> OrderRow:
    """Store a new order with a fresh tracking token.

    Parameters
    ----------
    session
        Open session; the caller commits.
    job
        The stop; its ``id`` becomes the order id.
    day
        The delivery date.
    depot_id
        The depot that holds the parcel; None: ``job.depot`` (which may be
        None too).
    customer_id
        Who ordered it; None: ``job.customer_id``.

    Returns
    -------
    OrderRow
        Flushed, active, with an unguessable ``tracking_token``.

    Raises
    ------
    InvalidData
        An unknown depot, coordinates missing, demand dimensions unlike the
        fleet's, ... (fields relative to the order).
    DuplicateId
        An order with this id exists.
    """
    return _create_orders(session, [(job, day, depot_id, customer_id)], numbered=False)[
        0
    ]


def create_orders(
    session: Session,
    orders: Sequence[tuple[Job, dt.date, str | None, str | None]],
) -> list[OrderRow]:
    """Store several orders, all or none (see :func:`create_order`).

    Parameters
    ----------
    session
        Open session; the caller commits.
    orders
        ``(job, day, depot_id, customer_id)`` per order.

    Returns
    -------
    list[OrderRow]
        The flushed rows, in input order.

    Raises
    ------
    InvalidData
        Fields are prefixed with the order's position (``"[3].job.demand"``);
        an id given twice is an error of its second occurrence
        (``"[5].job.id"``).
    DuplicateId
        Ids that are already stored.
    """
    return _create_orders(session, orders, numbered=True)


def _create_orders(
    session: Session,
    orders: Sequence[tuple[Job, dt.date, str | None, str | None]],
    *,
    numbered: bool,
) -> list[OrderRow]:
    check = OrderChecker(session)
    errors: list[FieldError] = []
    checked: list[tuple[Job, dt.date, str | None, str | None]] = []
    first_at: dict[str, int] = {}
    for i, (job, day, depot_id, customer_id) in enumerate(orders):
        where = f"[{i}]." if numbered else ""
        try:
            job, depot_id, customer_id = check(job, depot_id, customer_id)
            checked.append((job, day, depot_id, customer_id))
        except InvalidData as exc:
            errors += [
                FieldError(field=where + e.field, reason=e.reason) for e in exc.errors
            ]
        if job.id in first_at:
            reason = f"repeats the id of order [{first_at[job.id]}]"
            errors.append(FieldError(field=f"{where}job.id", reason=reason))
        first_at.setdefault(job.id, i)
    if errors:
        raise InvalidData(errors)
    ids = [job.id for job, *_ in checked]
    taken = _taken_order_ids(session, ids)
    if taken:
        raise DuplicateId("order", taken)
    rows = [
        OrderRow(
            id=job.id,
            day=day,
            depot_id=depot_id,
            customer_id=customer_id,
            spec=job.model_dump(mode="json"),
            tracking_token=new_tracking_token(),
            active=True,
        )
        for job, day, depot_id, customer_id in checked
    ]
    session.add_all(rows)
    _flush(session, ids)
    return rows


# --- the day's problem -----------------------------------------------------------


def problem_for(session: Session, day: dt.date, depot_id: str | None) -> Problem:
    """The planning problem of a day: depots, their vehicles, the active orders.

    Parameters
    ----------
    session
        Open session.
    day
        The delivery date; it becomes ``Problem.date``.
    depot_id
        Plan one depot: its vehicles (home depot) and its orders. None: every
        depot, every vehicle and every active order of the day.

    Returns
    -------
    Problem
        Valid: every depot a vehicle starts or ends at is included. When
        every depot is planned at once, a delivery is pinned to its order's
        depot (the parcel is loaded there); one depot's vans need no pin.

    Raises
    ------
    NothingToPlan
        No such depot, no vehicle, or no active order that day.
    ValueError
        The stored data do not make a valid problem (e.g. demand dimensions
        changed after a vehicle was replaced); the message says why.
    """
    vehicle_query = select(VehicleRow).order_by(VehicleRow.id)
    order_query = (
        select(OrderRow)
        .where(OrderRow.day == day, OrderRow.active)
        .order_by(OrderRow.created_at, OrderRow.id)
    )
    where = "" if depot_id is None else f" at depot {depot_id!r}"
    if depot_id is not None:
        if depot_row(session, depot_id) is None:
            raise NothingToPlan(f"no depot {depot_id!r}", "depot_id")
        vehicle_query = vehicle_query.where(VehicleRow.depot_id == depot_id)
        order_query = order_query.where(OrderRow.depot_id == depot_id)
    vehicles = [row.vehicle for row in session.scalars(vehicle_query)]
    if not vehicles:
        raise NothingToPlan(f"no vehicles{where}", "day")
    orders = list(session.scalars(order_query))
    if not orders:
        raise NothingToPlan(f"no active orders on {day.isoformat()}{where}", "day")

    wanted = {depot_id} if depot_id is not None else set()
    for v in vehicles:
        wanted |= {ref for ref in (v.start, v.end) if ref is not None}
    if depot_id is None:
        wanted |= set(session.scalars(select(DepotRow.id)))
    depot_rows = list(
        session.scalars(select(DepotRow).where(DepotRow.id.in_(sorted(wanted))))
    )
    missing = wanted - {row.id for row in depot_rows}
    if missing:
        raise NothingToPlan(
            f"vehicles refer to missing depots: {', '.join(sorted(missing))}",
            "day" if depot_id is None else "depot_id",
        )
    depots = sorted((row.depot for row in depot_rows), key=lambda d: d.id)

    jobs = []
    for row in orders:
        job = row.job
        if (
            depot_id is None
            and len(depots) > 1
            and row.depot_id is not None
            and job.depot is None
            and job.type == "delivery"
        ):
            job = job.model_copy(update={"depot": row.depot_id})
        jobs.append(job)
    try:
        return Problem(
            date=day, depots=tuple(depots), vehicles=tuple(vehicles), jobs=tuple(jobs)
        )
    except ValidationError as exc:
        reasons = "; ".join(err["msg"] for err in exc.errors())
        raise ValueError(f"the stored data make no valid problem: {reasons}") from None
