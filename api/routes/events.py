"""The ``events`` routes: devices and dispatchers report tracking events."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from api.deps import IngestDep, Principal, Role, SessionDep, SettingsDep, require
from api.errors import check_max_items, problem_responses
from api.services.scopes import check_events
from routing.bounds import Day
from tracking.events import Event
from tracking.tracker import IngestResult

__all__ = ["EventsCreate", "router"]

router = APIRouter(
    prefix="/events", tags=["events"], responses=problem_responses(401, 403)
)

Sender = Annotated[Principal, Depends(require(Role.device, Role.dispatcher))]


class EventsCreate(BaseModel):
    """A batch of tracking events of one operating day."""

    model_config = ConfigDict(extra="forbid")

    day: Day = Field(
        description="operating day; events' ``at`` counts elapsed seconds from "
        "its local midnight in the deployment's timezone (MILEPOST_TIMEZONE)"
    )
    events: list[Event] = Field(
        description="events in any order; ids already stored that day are "
        "reported as duplicates and change nothing"
    )


@router.post("", response_model=IngestResult, responses=problem_responses(413, 422))
def create_events(
    body: EventsCreate,
    session: SessionDep,
    settings: SettingsDep,
    ingest: IngestDep,
    caller: Sender,
) -> IngestResult:
    """Ingest a batch of events; answered only once the accepted ones are stored.

    A device key may send only device events for its own vehicle(s) and the
    orders on their routes; any other event refuses the batch with 403.
    """
    check_max_items(body.events, "body.events", settings.max_list_items)
    check_events(session, caller, body.day, body.events)
    return ingest(session, body.day, body.events)
