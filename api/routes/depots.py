"""The ``depots`` routes: where vehicles start and end and parcels wait."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response

from api.deps import Offset, Principal, Role, SessionDep, require
from api.errors import problem_responses
from api.services import fleet
from api.services.errors import fields_under
from api.services.fleet import DepotPublic, DepotsPublic
from routing.model import Depot

__all__ = ["Limit", "ResourceId", "router"]

router = APIRouter(
    prefix="/depots", tags=["depots"], responses=problem_responses(401, 403)
)

Writer = Annotated[Principal, Depends(require(Role.dispatcher))]
Reader = Annotated[Principal, Depends(require(Role.dispatcher, Role.planner))]
#: A depot's or vehicle's id in a path.
ResourceId = Annotated[str, Path(min_length=1, max_length=128)]
Limit = Annotated[int, Query(ge=1, le=1000, description="most items to return")]


@router.post(
    "",
    response_model=DepotPublic,
    status_code=201,
    responses=problem_responses(409, 422),
)
def create_depot(body: Depot, session: SessionDep, _: Writer) -> DepotPublic:
    """Store a new depot; its id must be new."""
    with fields_under("body"):
        return fleet.create_depot(session, depot=body)


@router.get("", response_model=DepotsPublic, responses=problem_responses(422))
def read_depots(
    session: SessionDep, _: Reader, limit: Limit = 100, offset: Offset = 0
) -> DepotsPublic:
    """List depots by id."""
    return fleet.list_depots(session, limit=limit, offset=offset)


@router.get("/{depot_id}", response_model=DepotPublic, responses=problem_responses(404))
def read_depot(depot_id: ResourceId, session: SessionDep, _: Reader) -> DepotPublic:
    """One depot."""
    return fleet.read_depot(session, depot_id=depot_id)


@router.put(
    "/{depot_id}",
    response_model=DepotPublic,
    responses=problem_responses(404, 422),
)
def update_depot(
    depot_id: ResourceId, body: Depot, session: SessionDep, _: Writer
) -> DepotPublic:
    """Replace a depot (the body's id must be the path's)."""
    with fields_under("body"):
        return fleet.replace_depot(session, depot_id=depot_id, depot=body)


@router.delete("/{depot_id}", status_code=204, responses=problem_responses(404, 409))
def delete_depot(depot_id: ResourceId, session: SessionDep, _: Writer) -> Response:
    """Delete a depot that no vehicle and no active order uses."""
    fleet.delete_depot(session, depot_id=depot_id)
    return Response(status_code=204)
