"""The ``dead-letters`` route: events the database could not store (admin)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from api.deps import Offset, Principal, SessionDep, require
from api.errors import problem_responses
from api.routes.depots import Limit
from api.services.dead_letters import DeadLettersPublic, list_dead_letters

__all__ = ["router"]

router = APIRouter(
    prefix="/dead-letters",
    tags=["dead-letters"],
    responses=problem_responses(401, 403),
)

Admin = Annotated[Principal, Depends(require())]


@router.get("", response_model=DeadLettersPublic, responses=problem_responses(422))
def read_dead_letters(
    session: SessionDep, _: Admin, limit: Limit = 100, offset: Offset = 0
) -> DeadLettersPublic:
    """List dead letters, newest first: payload, source, error and time."""
    return list_dead_letters(session, limit=limit, offset=offset)
