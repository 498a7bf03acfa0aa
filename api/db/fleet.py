"""Depots and vehicles: every query the service makes on them.

Keyword-only functions taking an open session first; they never commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import InstrumentedAttribute, Session
from sqlalchemy.sql.elements import ColumnElement

from api.db.errors import DuplicateId
from api.db.tables_dispatch import DepotRow, OrderRow, StationRow, VehicleRow

__all__ = [
    "add_new",
    "depot_ids",
    "depots_by_id",
    "fleet_dims",
    "get_depot",
    "get_vehicle",
    "list_depots",
    "list_vehicles",
    "page",
    "remove",
    "vehicles_of",
    "vehicles_using",
]

RowT = TypeVar("RowT", DepotRow, StationRow, VehicleRow, OrderRow)
#: A row of a place or vehicle, stored under an id that must be new.
FleetRow = DepotRow | StationRow | VehicleRow


def page(
    session: Session,
    *,
    table: type[RowT],
    filters: Sequence[ColumnElement[bool]],
    limit: int,
    offset: int,
    order_by: Sequence[ColumnElement[Any] | InstrumentedAttribute[Any]] = (),
) -> tuple[int, list[RowT]]:
    """One page of a table's rows (sorted, the id last) and how many match."""
    count = session.scalar(select(func.count()).select_from(table).where(*filters))
    query = (
        select(table)
        .where(*filters)
        .order_by(*order_by, table.id)
        .offset(offset)
        .limit(limit)
    )
    return count or 0, list(session.scalars(query))


def get_depot(session: Session, *, depot_id: str) -> DepotRow | None:
    """The depot with this id, if any."""
    return session.get(DepotRow, depot_id)


def get_vehicle(session: Session, *, vehicle_id: str) -> VehicleRow | None:
    """The vehicle with this id, if any."""
    return session.get(VehicleRow, vehicle_id)


def list_depots(
    session: Session, *, limit: int, offset: int
) -> tuple[int, list[DepotRow]]:
    """A page of depots by id, and how many there are."""
    return page(session, table=DepotRow, filters=[], limit=limit, offset=offset)


def list_vehicles(
    session: Session, *, depot_id: str | None, limit: int, offset: int
) -> tuple[int, list[VehicleRow]]:
    """A page of vehicles by id (of one home depot, if given), and the count."""
    filters = [] if depot_id is None else [VehicleRow.depot_id == depot_id]
    return page(session, table=VehicleRow, filters=filters, limit=limit, offset=offset)


def add_new(session: Session, *, row: FleetRow, kind: str) -> None:
    """Insert a depot, station or vehicle row whose id must be new.

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


def remove(session: Session, *, row: FleetRow) -> None:
    """Delete a depot, station or vehicle row."""
    session.delete(row)


def depot_ids(session: Session) -> set[str]:
    """The ids of every stored depot."""
    return set(session.scalars(select(DepotRow.id)))


def depots_by_id(session: Session, *, ids: Sequence[str]) -> list[DepotRow]:
    """The stored depots among ``ids``."""
    return list(session.scalars(select(DepotRow).where(DepotRow.id.in_(sorted(ids)))))


def fleet_dims(session: Session, *, exclude: str | None = None) -> int | None:
    """Capacity dimensions of the stored fleet (None: no other vehicle)."""
    query = select(VehicleRow.spec)
    if exclude is not None:
        query = query.where(VehicleRow.id != exclude)
    spec = session.scalar(query.limit(1))
    return None if spec is None else len(spec["capacity"])


def vehicles_using(session: Session, *, depot_id: str) -> list[str]:
    """Ids of the vehicles that start or end at the depot, sorted."""
    return sorted(
        row.id
        for row in session.scalars(select(VehicleRow))
        if depot_id in (row.depot_id, row.spec.get("end"))
    )


def vehicles_of(session: Session, *, depot_id: str | None) -> list[VehicleRow]:
    """The vehicles at home at a depot (None: every vehicle), by id."""
    query = select(VehicleRow).order_by(VehicleRow.id)
    if depot_id is not None:
        query = query.where(VehicleRow.depot_id == depot_id)
    return list(session.scalars(query))
