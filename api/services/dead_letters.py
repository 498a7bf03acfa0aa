"""Dead letters: the events the database could not store, for the operator.

They are written by :class:`api.services.ingest.EventIngest`; this lists
them (``GET /v1/dead-letters``, ``milepost dead-letters``).
"""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict
from sqlalchemy.orm import Session

from api.db import dead_letters as rows

__all__ = ["DeadLetterPublic", "DeadLettersPublic", "list_dead_letters"]


class DeadLetterPublic(BaseModel):
    """An event set aside: what came in, from where, and why it failed."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    received_at: dt.datetime
    source: str
    day: dt.date | None
    event_id: str | None
    vehicle: str | None
    payload: str
    error: str


class DeadLettersPublic(BaseModel):
    """A page of dead letters, newest first, and how many there are."""

    data: list[DeadLetterPublic]
    count: int


def list_dead_letters(
    session: Session, *, limit: int, offset: int
) -> DeadLettersPublic:
    """Dead letters, newest first."""
    count, page = rows.list_dead_letters(session, skip=offset, limit=limit)
    return DeadLettersPublic(
        data=[DeadLetterPublic.model_validate(r) for r in page], count=count
    )
