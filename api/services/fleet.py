"""Depots, pickup stations and vehicles: store, replace, delete, with the
checks they need.

Field errors name the body's fields (``location``, ``start``); the routes
put them under ``body``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TypeVar

from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from api.db import fleet, orders, stations
from api.db.errors import DuplicateId
from api.db.tables_dispatch import DepotRow, StationRow, VehicleRow
from api.services.errors import Conflict, FieldError, Invalid, NotFound
from routing.model import Depot, Location, PickupStation, Vehicle

__all__ = [
    "DepotPublic",
    "DepotsPublic",
    "StationPublic",
    "StationsPublic",
    "VehiclePublic",
    "VehiclesPublic",
    "create_depot",
    "create_station",
    "create_vehicle",
    "delete_depot",
    "delete_station",
    "delete_vehicle",
    "depot_public",
    "list_depots",
    "list_stations",
    "list_vehicles",
    "location_errors",
    "read_depot",
    "read_station",
    "read_vehicle",
    "replace_depot",
    "replace_station",
    "replace_vehicle",
    "station_public",
    "vehicle_public",
]

RowT = TypeVar("RowT", DepotRow, StationRow, VehicleRow)


class DepotPublic(Depot):
    """A stored depot: the routing depot plus when it was stored and changed."""

    created_at: dt.datetime
    updated_at: dt.datetime


class DepotsPublic(BaseModel):
    """A page of depots, by id."""

    data: list[DepotPublic]
    count: int


class StationPublic(PickupStation):
    """A stored pickup station: the routing station plus its timestamps."""

    created_at: dt.datetime
    updated_at: dt.datetime


class StationsPublic(BaseModel):
    """A page of pickup stations, by id."""

    data: list[StationPublic]
    count: int


class VehiclePublic(Vehicle):
    """A stored vehicle: the routing vehicle, its home depot and timestamps."""

    depot_id: str = Field(description="home depot: start, else end")
    created_at: dt.datetime
    updated_at: dt.datetime


class VehiclesPublic(BaseModel):
    """A page of vehicles, by id."""

    data: list[VehiclePublic]
    count: int


def depot_public(row: DepotRow) -> DepotPublic:
    """The response model of a depot row."""
    return DepotPublic(
        **row.depot.model_dump(), created_at=row.created_at, updated_at=row.updated_at
    )


def station_public(row: StationRow) -> StationPublic:
    """The response model of a station row."""
    return StationPublic(
        **row.station.model_dump(), created_at=row.created_at, updated_at=row.updated_at
    )


def vehicle_public(row: VehicleRow) -> VehiclePublic:
    """The response model of a vehicle row."""
    return VehiclePublic(
        **row.vehicle.model_dump(),
        depot_id=row.depot_id,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def location_errors(location: Location | None, field: str) -> list[FieldError]:
    """Stored days are solved without user matrices: coordinates are needed."""
    if location is not None and not location.has_coordinates:
        return [FieldError(field=field, reason="lat and lon are required")]
    return []


def _found(row: RowT | None, kind: str, row_id: str) -> RowT:
    if row is None:
        raise NotFound(f"no {kind} {row_id!r}")
    return row


def _same_id(body_id: str, path_id: str, kind: str) -> None:
    if body_id != path_id:
        reason = f"must be the {kind} id of the path, {path_id!r}"
        raise Invalid.one("id", reason)


def _add(session: Session, row: fleet.FleetRow, kind: str) -> None:
    try:
        fleet.add_new(session, row=row, kind=kind)
    except DuplicateId as exc:
        raise Conflict(str(exc)) from None


def _replace(
    session: Session,
    row: RowT,
    kind: str,
    body_id: str,
    update: Callable[[RowT], None],
) -> RowT:
    _same_id(body_id, row.id, kind)
    update(row)
    session.flush()
    return row


# --- depots ----------------------------------------------------------------------


def _check_depot(depot: Depot) -> Depot:
    errors = location_errors(depot.location, "location")
    if errors:
        raise Invalid(errors)
    return depot


def _depot(session: Session, depot_id: str) -> DepotRow:
    return _found(fleet.get_depot(session, depot_id=depot_id), "depot", depot_id)


def read_depot(session: Session, *, depot_id: str) -> DepotPublic:
    """The depot (:class:`NotFound` if there is none)."""
    return depot_public(_depot(session, depot_id))


def list_depots(session: Session, *, limit: int, offset: int) -> DepotsPublic:
    """A page of depots by id."""
    count, rows = fleet.list_depots(session, limit=limit, offset=offset)
    return DepotsPublic(data=[depot_public(r) for r in rows], count=count)


def create_depot(session: Session, *, depot: Depot) -> DepotPublic:
    """Store a new depot; its id must be new (:class:`Conflict`)."""
    row = DepotRow(id=depot.id)
    row.depot = _check_depot(depot)
    _add(session, row, "depot")
    return depot_public(row)


def replace_depot(session: Session, *, depot_id: str, depot: Depot) -> DepotPublic:
    """Replace a depot; the body's id must be ``depot_id``."""

    def update(r: DepotRow) -> None:
        r.depot = _check_depot(depot)

    row = _replace(session, _depot(session, depot_id), "depot", depot.id, update)
    return depot_public(row)


def delete_depot(session: Session, *, depot_id: str) -> None:
    """Delete a depot that no vehicle and no active order uses (else Conflict)."""
    row = _depot(session, depot_id)
    users = fleet.vehicles_using(session, depot_id=depot_id)
    if users:
        raise Conflict(f"vehicles use depot {depot_id!r}: {', '.join(users[:10])}")
    n_orders = orders.count_active_at(session, depot_id=depot_id)
    if n_orders:
        raise Conflict(f"{n_orders} active orders are at depot {depot_id!r}")
    fleet.remove(session, row=row)


# --- pickup stations -------------------------------------------------------------


def _check_station(station: PickupStation) -> PickupStation:
    errors = location_errors(station.location, "location")
    if errors:
        raise Invalid(errors)
    return station


def _station(session: Session, station_id: str) -> StationRow:
    row = stations.get_station(session, station_id=station_id)
    return _found(row, "station", station_id)


def read_station(session: Session, *, station_id: str) -> StationPublic:
    """The station (:class:`NotFound` if there is none)."""
    return station_public(_station(session, station_id))


def list_stations(session: Session, *, limit: int, offset: int) -> StationsPublic:
    """A page of stations by id."""
    count, rows = stations.list_stations(session, limit=limit, offset=offset)
    return StationsPublic(data=[station_public(r) for r in rows], count=count)


def create_station(session: Session, *, station: PickupStation) -> StationPublic:
    """Store a new station; its id must be new (:class:`Conflict`)."""
    row = StationRow(id=station.id)
    row.station = _check_station(station)
    _add(session, row, "station")
    return station_public(row)


def replace_station(
    session: Session, *, station_id: str, station: PickupStation
) -> StationPublic:
    """Replace a station; the body's id must be ``station_id``.

    Orders to it are planned at its new place from the next plan on; plans
    already made keep their copy.
    """

    def update(r: StationRow) -> None:
        r.station = _check_station(station)

    row = _station(session, station_id)
    return station_public(_replace(session, row, "station", station.id, update))


def delete_station(session: Session, *, station_id: str) -> None:
    """Delete a station that no active order is delivered to (else Conflict)."""
    row = _station(session, station_id)
    n_orders = stations.count_active_using(session, station_id=station_id)
    if n_orders:
        raise Conflict(f"{n_orders} active orders go to station {station_id!r}")
    fleet.remove(session, row=row)


# --- vehicles --------------------------------------------------------------------


def vehicle_home(session: Session, vehicle: Vehicle) -> str:
    """Check a vehicle against the stored depots and fleet; its home depot.

    Returns ``start``, else ``end``. Raises :class:`Invalid` for no depot,
    an unknown depot, or capacity dimensions unlike the other vehicles'.
    """
    errors: list[FieldError] = []
    if vehicle.start is None and vehicle.end is None:
        errors.append(
            FieldError(field="start", reason="a stored vehicle needs a start depot")
        )
    known = fleet.depot_ids(session)
    for key in ("start", "end"):
        ref = getattr(vehicle, key)
        if ref is not None and ref not in known:
            errors.append(FieldError(field=key, reason=f"unknown depot id {ref!r}"))
    dims = fleet.fleet_dims(session, exclude=vehicle.id)
    if dims is not None and len(vehicle.capacity) != dims:
        reason = (
            f"has {len(vehicle.capacity)} dimensions; the other vehicles have {dims}"
        )
        errors.append(FieldError(field="capacity", reason=reason))
    if errors:
        raise Invalid(errors)
    home = vehicle.start if vehicle.start is not None else vehicle.end
    assert home is not None
    return home


def _vehicle(session: Session, vehicle_id: str) -> VehicleRow:
    row = fleet.get_vehicle(session, vehicle_id=vehicle_id)
    return _found(row, "vehicle", vehicle_id)


def read_vehicle(session: Session, *, vehicle_id: str) -> VehiclePublic:
    """The vehicle (:class:`NotFound` if there is none)."""
    return vehicle_public(_vehicle(session, vehicle_id))


def list_vehicles(
    session: Session, *, depot_id: str | None, limit: int, offset: int
) -> VehiclesPublic:
    """A page of vehicles by id, optionally of one home depot."""
    count, rows = fleet.list_vehicles(
        session, depot_id=depot_id, limit=limit, offset=offset
    )
    return VehiclesPublic(data=[vehicle_public(r) for r in rows], count=count)


def create_vehicle(session: Session, *, vehicle: Vehicle) -> VehiclePublic:
    """Store a new vehicle; its depots must exist, its id must be new."""
    row = VehicleRow(id=vehicle.id, depot_id=vehicle_home(session, vehicle))
    row.vehicle = vehicle
    _add(session, row, "vehicle")
    return vehicle_public(row)


def replace_vehicle(
    session: Session, *, vehicle_id: str, vehicle: Vehicle
) -> VehiclePublic:
    """Replace a vehicle; the body's id must be ``vehicle_id``."""

    def update(r: VehicleRow) -> None:
        r.depot_id = vehicle_home(session, vehicle)
        r.vehicle = vehicle

    row = _vehicle(session, vehicle_id)
    return vehicle_public(_replace(session, row, "vehicle", vehicle.id, update))


def delete_vehicle(session: Session, *, vehicle_id: str) -> None:
    """Delete a vehicle; plans already made keep their copy of it."""
    fleet.remove(session, row=_vehicle(session, vehicle_id))
