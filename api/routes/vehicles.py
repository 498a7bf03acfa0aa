"""The ``vehicles`` routes: the fleet, each van with its driver's shift."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from api.deps import Offset, Principal, Role, SessionDep, require
from api.errors import problem_responses
from api.routes.depots import Limit, ResourceId
from api.services import fleet
from api.services.errors import fields_under
from api.services.fleet import VehiclePublic, VehiclesPublic
from routing.model import Vehicle

__all__ = ["router"]

router = APIRouter(
    prefix="/vehicles", tags=["vehicles"], responses=problem_responses(401, 403)
)

Writer = Annotated[Principal, Depends(require(Role.dispatcher))]
Reader = Annotated[Principal, Depends(require(Role.dispatcher, Role.planner))]


@router.post(
    "",
    response_model=VehiclePublic,
    status_code=201,
    responses=problem_responses(409, 422),
)
def create_vehicle(body: Vehicle, session: SessionDep, _: Writer) -> VehiclePublic:
    """Store a new vehicle; its start/end depots must exist."""
    with fields_under("body"):
        return fleet.create_vehicle(session, vehicle=body)


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
    return fleet.list_vehicles(session, depot_id=depot_id, limit=limit, offset=offset)


@router.get(
    "/{vehicle_id}", response_model=VehiclePublic, responses=problem_responses(404)
)
def read_vehicle(
    vehicle_id: ResourceId, session: SessionDep, _: Reader
) -> VehiclePublic:
    """One vehicle."""
    return fleet.read_vehicle(session, vehicle_id=vehicle_id)


@router.put(
    "/{vehicle_id}",
    response_model=VehiclePublic,
    responses=problem_responses(404, 422),
)
def update_vehicle(
    vehicle_id: ResourceId, body: Vehicle, session: SessionDep, _: Writer
) -> VehiclePublic:
    """Replace a vehicle (the body's id must be the path's)."""
    with fields_under("body"):
        return fleet.replace_vehicle(session, vehicle_id=vehicle_id, vehicle=body)


@router.delete("/{vehicle_id}", status_code=204, responses=problem_responses(404))
def delete_vehicle(vehicle_id: ResourceId, session: SessionDep, _: Writer) -> Response:
    """Delete a vehicle; plans already made keep their copy of it."""
    fleet.delete_vehicle(session, vehicle_id=vehicle_id)
    return Response(status_code=204)
