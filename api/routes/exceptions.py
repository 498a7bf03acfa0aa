"""The ``exceptions`` routes: what needs the dispatcher's attention.

Exceptions are raised by the service (a sensor excursion while events are
ingested; later late risks, failed attempts, breakdowns) and closed when
their condition ends; dispatchers list them and acknowledge them. The
workflows are :mod:`api.services.exceptions`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from api.deps import Offset, Principal, Role, SessionDep, require
from api.errors import problem_responses
from api.routes.depots import Limit
from api.services import exceptions
from api.services.exceptions import ExceptionPublic, ExceptionsPublic
from routing.bounds import Day
from tracking.exceptions import ExceptionKind

__all__ = ["router"]

router = APIRouter(
    prefix="/exceptions", tags=["exceptions"], responses=problem_responses(401, 403)
)

Dispatcher = Annotated[Principal, Depends(require(Role.dispatcher))]
Reader = Annotated[Principal, Depends(require(Role.dispatcher, Role.planner))]
ExceptionId = Annotated[str, Path(min_length=1, max_length=128)]


@router.get("", response_model=ExceptionsPublic, responses=problem_responses(422))
def read_exceptions(
    session: SessionDep,
    _: Reader,
    open: Annotated[
        bool | None,
        Query(description="true: open ones only; false: closed ones only"),
    ] = None,
    day: Annotated[Day | None, Query(description="operating day")] = None,
    kind: Annotated[ExceptionKind | None, Query()] = None,
    vehicle: Annotated[str | None, Query(min_length=1, max_length=128)] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> ExceptionsPublic:
    """List exceptions, newest first, optionally open or closed only."""
    return exceptions.list_exceptions(
        session,
        is_open=open,
        day=day,
        kind=kind,
        vehicle=vehicle,
        limit=limit,
        offset=offset,
    )


@router.get(
    "/{exception_id}", response_model=ExceptionPublic, responses=problem_responses(404)
)
def read_exception(
    exception_id: ExceptionId, session: SessionDep, _: Reader
) -> ExceptionPublic:
    """One exception."""
    return exceptions.read_exception(session, exception_id=exception_id)


@router.post(
    "/{exception_id}/acknowledge",
    response_model=ExceptionPublic,
    responses=problem_responses(404),
)
def acknowledge_exception(
    exception_id: ExceptionId, session: SessionDep, who: Dispatcher
) -> ExceptionPublic:
    """Acknowledge an exception (records the key's holder and the time)."""
    return exceptions.acknowledge_exception(
        session, exception_id=exception_id, by=who.name
    )
