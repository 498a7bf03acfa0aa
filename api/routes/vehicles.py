"""The ``vehicles`` routes: the fleet, each van with its driver's shift."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Response
from pydantic import BaseModel, Field

from api import dispatch
from api.deps import Offset, Principal, Role, SessionDep, require
from api.errors import FieldError, InvalidInput, problem_responses
from routing.model import Vehicle

__all__ = ["VehiclePublic", "VehiclesPublic", "router", "vehicle_public"]

router = APIRouter(
    prefix="/vehicles", tags=["vehicles"], responses=problem_responses(401, 403)
)

Writer = Annotated[Principal, Depends(require(Role.dispatcher))]
Reader = Annotated[Principal, Depends(require(Role.dispatcher, Role.planner))]
VehicleId = Annotated[str, Path(min_length=1, max_length=128)]
Limit = Annotated[int, Query(ge=1, le=1000, description="most items to return")]


class VehiclePublic(Vehicle):
    """A stored vehicle: the routing vehicle, its home depot and timestamps."""

    depot_id: str = Field(description="home depot: start, else end")
    created_at: dt.datetime
    updated_at: dt.datetime


class VehiclesPublic(BaseModel):
    """A page of vehicles, by id."""

    data: list[VehiclePublic]
    count: int


def vehicle_public(row: dispatch.VehicleRow) -> VehiclePublic:
    """The response model of a vehicle row."""
    return VehiclePublic(
        **row.vehicle.model_dump(),
        depot_id=row.depot_id,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _home(session: SessionDep, vehicle: Vehicle) -> str:
    """The vehicle's home depot, after checking it against the stored data."""
    try:
        return dispatch.vehicle_check(session, vehicle)
    except dispatch.InvalidData as exc:
        errors = [
            FieldError(field=f"body.{e.field}", reason=e.reason) for e in exc.errors
        ]
        raise InvalidInput(errors) from None


def _get(session: SessionDep, vehicle_id: str) -> dispatch.VehicleRow:
    row = dispatch.vehicle_row(session, vehicle_id)
    if row is None:
        raise HTTPException(404, f"no vehicle {vehicle_id!r}")
    return row


@router.post(
    "",
    response_model=VehiclePublic,
    status_code=201,
    responses=problem_responses(409, 422),
)
def create_vehicle(body: Vehicle, session: SessionDep, _: Writer) -> VehiclePublic:
    """Store a new vehicle; its start/end depots must exist."""
    row = dispatch.VehicleRow(id=body.id, depot_id=_home(session, body))
    row.vehicle = body
    try:
        dispatch.add_new(session, row, "vehicle")
    except dispatch.DuplicateId as exc:
        raise HTTPException(409, str(exc)) from None
    return vehicle_public(row)


@router.get("", response_model=VehiclesPublic, responses=problem_responses(422))
def read_vehicles(
    session: SessionDep,
    _: Reader,
    depot_id: Annotated[
        str | None, Query(max_length=128, description="home depot")
    ] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> VehiclesPublic:
    """List vehicles by id, optionally of one home depot."""
    table = dispatch.VehicleRow
    filters = [] if depot_id is None else [table.depot_id == depot_id]
    count, rows = dispatch.page(session, table, filters, limit, offset)
    return VehiclesPublic(data=[vehicle_public(r) for r in rows], count=count)


@router.get(
    "/{vehicle_id}", response_model=VehiclePublic, responses=problem_responses(404)
)
def read_vehicle(
    vehicle_id: VehicleId, session: SessionDep, _: Reader
) -> VehiclePublic:
    """One vehicle."""
    return vehicle_public(_get(session, vehicle_id))


@router.put(
    "/{vehicle_id}",
    response_model=VehiclePublic,
    responses=problem_responses(404, 422),
)
def update_vehicle(
    vehicle_id: VehicleId, body: Vehicle, session: SessionDep, _: Writer
) -> VehiclePublic:
    """Replace a vehicle (the body's id must be the path's)."""
    row = _get(session, vehicle_id)
    if body.id != vehicle_id:
        reason = f"must be the vehicle id of the path, {vehicle_id!r}"
        raise InvalidInput([FieldError(field="body.id", reason=reason)])
    row.depot_id = _home(session, body)
    row.vehicle = body
    session.flush()
    return vehicle_public(row)


@router.delete("/{vehicle_id}", status_code=204, responses=problem_responses(404))
def delete_vehicle(vehicle_id: VehicleId, session: SessionDep, _: Writer) -> Response:
    """Delete a vehicle; plans already made keep their copy of it."""
    session.delete(_get(session, vehicle_id))
    return Response(status_code=204)
