"""The ``depots`` routes: where vehicles start and end and parcels wait."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Response
from pydantic import BaseModel

from api import dispatch
from api.deps import Offset, Principal, Role, SessionDep, require
from api.errors import FieldError, InvalidInput, problem_responses
from routing.model import Depot

__all__ = ["DepotPublic", "DepotsPublic", "depot_public", "router"]

router = APIRouter(
    prefix="/depots", tags=["depots"], responses=problem_responses(401, 403)
)

Writer = Annotated[Principal, Depends(require(Role.dispatcher))]
Reader = Annotated[Principal, Depends(require(Role.dispatcher, Role.planner))]
DepotId = Annotated[str, Path(min_length=1, max_length=128)]
Limit = Annotated[int, Query(ge=1, le=1000, description="most items to return")]


class DepotPublic(Depot):
    """A stored depot: the routing depot plus when it was stored and changed."""

    created_at: dt.datetime
    updated_at: dt.datetime


class DepotsPublic(BaseModel):
    """A page of depots, by id."""

    data: list[DepotPublic]
    count: int


def depot_public(row: dispatch.DepotRow) -> DepotPublic:
    """The response model of a depot row."""
    return DepotPublic(
        **row.depot.model_dump(), created_at=row.created_at, updated_at=row.updated_at
    )


def _checked(depot: Depot) -> Depot:
    try:
        dispatch.depot_check(depot)
    except dispatch.InvalidData as exc:
        raise InvalidInput(_in_body(exc.errors)) from None
    return depot


def _in_body(errors: list[FieldError]) -> list[FieldError]:
    return [FieldError(field=f"body.{e.field}", reason=e.reason) for e in errors]


def _get(session: SessionDep, depot_id: str) -> dispatch.DepotRow:
    row = dispatch.depot_row(session, depot_id)
    if row is None:
        raise HTTPException(404, f"no depot {depot_id!r}")
    return row


@router.post(
    "",
    response_model=DepotPublic,
    status_code=201,
    responses=problem_responses(409, 422),
)
def create_depot(body: Depot, session: SessionDep, _: Writer) -> DepotPublic:
    """Store a new depot; its id must be new."""
    row = dispatch.DepotRow(id=body.id)
    row.depot = _checked(body)
    try:
        dispatch.add_new(session, row, "depot")
    except dispatch.DuplicateId as exc:
        raise HTTPException(409, str(exc)) from None
    return depot_public(row)


@router.get("", response_model=DepotsPublic, responses=problem_responses(422))
def read_depots(
    session: SessionDep, _: Reader, limit: Limit = 100, offset: Offset = 0
) -> DepotsPublic:
    """List depots by id."""
    count, rows = dispatch.page(session, dispatch.DepotRow, [], limit, offset)
    return DepotsPublic(data=[depot_public(r) for r in rows], count=count)


@router.get("/{depot_id}", response_model=DepotPublic, responses=problem_responses(404))
def read_depot(depot_id: DepotId, session: SessionDep, _: Reader) -> DepotPublic:
    """One depot."""
    return depot_public(_get(session, depot_id))


@router.put(
    "/{depot_id}",
    response_model=DepotPublic,
    responses=problem_responses(404, 422),
)
def update_depot(
    depot_id: DepotId, body: Depot, session: SessionDep, _: Writer
) -> DepotPublic:
    """Replace a depot (the body's id must be the path's)."""
    row = _get(session, depot_id)
    if body.id != depot_id:
        reason = f"must be the depot id of the path, {depot_id!r}"
        raise InvalidInput([FieldError(field="body.id", reason=reason)])
    row.depot = _checked(body)
    session.flush()
    return depot_public(row)


@router.delete("/{depot_id}", status_code=204, responses=problem_responses(404, 409))
def delete_depot(depot_id: DepotId, session: SessionDep, _: Writer) -> Response:
    """Delete a depot that no vehicle and no active order uses."""
    row = _get(session, depot_id)
    reason = dispatch.depot_in_use(session, depot_id)
    if reason is not None:
        raise HTTPException(409, reason)
    session.delete(row)
    return Response(status_code=204)
