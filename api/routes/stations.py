"""The ``stations`` routes: pickup stations (lockers, shops) where parcels wait.

Managed like depots: dispatchers write, planners read.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response

from api.deps import Offset, Principal, Role, SessionDep, require
from api.errors import problem_responses
from api.routes.depots import Limit, ResourceId
from api.services import fleet
from api.services.errors import fields_under
from api.services.fleet import StationPublic, StationsPublic
from routing.model import PickupStation

__all__ = ["router"]

router = APIRouter(
    prefix="/stations", tags=["stations"], responses=problem_responses(401, 403)
)

Writer = Annotated[Principal, Depends(require(Role.dispatcher))]
Reader = Annotated[Principal, Depends(require(Role.dispatcher, Role.planner))]


@router.post(
    "",
    response_model=StationPublic,
    status_code=201,
    responses=problem_responses(409, 422),
)
def create_station(
    body: PickupStation, session: SessionDep, _: Writer
) -> StationPublic:
    """Store a new pickup station; its id must be new."""
    with fields_under("body"):
        return fleet.create_station(session, station=body)


@router.get("", response_model=StationsPublic, responses=problem_responses(422))
def read_stations(
    session: SessionDep, _: Reader, limit: Limit = 100, offset: Offset = 0
) -> StationsPublic:
    """List pickup stations by id."""
    return fleet.list_stations(session, limit=limit, offset=offset)


@router.get(
    "/{station_id}", response_model=StationPublic, responses=problem_responses(404)
)
def read_station(
    station_id: ResourceId, session: SessionDep, _: Reader
) -> StationPublic:
    """One pickup station."""
    return fleet.read_station(session, station_id=station_id)


@router.put(
    "/{station_id}",
    response_model=StationPublic,
    responses=problem_responses(404, 422),
)
def update_station(
    station_id: ResourceId, body: PickupStation, session: SessionDep, _: Writer
) -> StationPublic:
    """Replace a pickup station (the body's id must be the path's)."""
    with fields_under("body"):
        return fleet.replace_station(session, station_id=station_id, station=body)


@router.delete("/{station_id}", status_code=204, responses=problem_responses(404, 409))
def delete_station(station_id: ResourceId, session: SessionDep, _: Writer) -> Response:
    """Delete a pickup station that no active order is delivered to."""
    fleet.delete_station(session, station_id=station_id)
    return Response(status_code=204)
