"""Exceptions for the dispatcher: raise, close, list, acknowledge.

The library model is :class:`tracking.exceptions.DispatchException`; sensor
excursions raise theirs while events are ingested
(:class:`tracking.sensors.SensorWatch`). Other code of the service (a
late-risk rule, failed attempts, a broken-down van) calls
:func:`raise_exception` and :func:`close_exception` with a key that names
its condition; the caller commits. Times in the library model count seconds
from local midnight of the exception's day; the public view shows aware
datetimes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from datetime import tzinfo

from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from api.db import tracking as rows
from api.db.engine import locale_of
from api.services.errors import NotFound
from api.services.tracking import local_time, now_seconds
from tracking.exceptions import (
    Decision,
    DispatchException,
    ExceptionKind,
    Severity,
    exception_id,
)

__all__ = [
    "ExceptionPublic",
    "ExceptionsPublic",
    "acknowledge_exception",
    "close_exception",
    "exception_public",
    "list_exceptions",
    "raise_exception",
    "read_exception",
]


class ExceptionPublic(BaseModel):
    """An exception for the dispatcher."""

    id: str
    kind: ExceptionKind
    day: dt.date = Field(description="operating day")
    vehicle: str | None
    order_ids: list[str]
    severity: Severity
    detail: str
    open: bool = Field(description="whether the condition still lasts")
    opened_at: dt.datetime
    closed_at: dt.datetime | None
    acknowledged_by: str | None = Field(description="who acknowledged it, if anyone")
    acknowledged_at: dt.datetime | None
    decision: Decision | None = Field(
        default=None, description="a failed attempt: what the dispatcher decided"
    )
    decided_by: str | None = None
    decided_at: dt.datetime | None = None
    note: str = ""


class ExceptionsPublic(BaseModel):
    """A page of exceptions, newest first."""

    data: list[ExceptionPublic]
    count: int


def exception_public(
    day: dt.date, exception: DispatchException, tz: tzinfo
) -> ExceptionPublic:
    """The public view of an exception of ``day``, its times in ``tz``."""

    def when(seconds: int | None) -> dt.datetime | None:
        return None if seconds is None else local_time(seconds, day, tz)

    return ExceptionPublic(
        id=exception.id,
        kind=exception.kind,
        day=day,
        vehicle=exception.vehicle,
        order_ids=list(exception.order_ids),
        severity=exception.severity,
        detail=exception.detail,
        open=exception.open,
        opened_at=local_time(exception.opened_at, day, tz),
        closed_at=when(exception.closed_at),
        acknowledged_by=exception.acknowledged_by,
        acknowledged_at=when(exception.acknowledged_at),
        decision=exception.decision,
        decided_by=exception.decided_by,
        decided_at=when(exception.decided_at),
        note=exception.note,
    )


def raise_exception(
    session: Session,
    *,
    day: dt.date,
    kind: ExceptionKind,
    key: str,
    at: int,
    vehicle: str | None = None,
    order_ids: Sequence[str] = (),
    severity: Severity = Severity.WARNING,
    detail: str = "",
) -> DispatchException:
    """Open an exception, or update the open one of ``key`` that day.

    An update adds orders, keeps the worse severity and replaces the detail.
    ``at`` is seconds since local midnight of ``day``; the caller commits.
    """
    current = rows.open_exception(session, day=day, key=key)
    if current is None:
        exception = DispatchException(
            id=exception_id(key, at, day.isoformat()),
            kind=kind,
            key=key,
            vehicle=vehicle,
            order_ids=tuple(order_ids),
            opened_at=at,
            severity=severity,
            detail=detail,
        )
    else:
        exception = current.updated(
            order_ids=tuple(order_ids), severity=severity, detail=detail or None
        )
    rows.put_exception(session, day=day, exception=exception)
    return exception


def close_exception(
    session: Session, *, day: dt.date, key: str, at: int
) -> DispatchException | None:
    """Close the open exception of ``key`` that day at ``at`` (None: none open)."""
    current = rows.open_exception(session, day=day, key=key)
    if current is None:
        return None
    closed = current.closed(at)
    rows.put_exception(session, day=day, exception=closed)
    return closed


def list_exceptions(
    session: Session,
    *,
    is_open: bool | None,
    day: dt.date | None,
    kind: ExceptionKind | None,
    vehicle: str | None,
    limit: int,
    offset: int,
) -> ExceptionsPublic:
    """A page of exceptions, newest first, filtered."""
    count, found = rows.list_exceptions(
        session,
        day=day,
        is_open=is_open,
        kind=None if kind is None else kind.value,
        vehicle=vehicle,
        limit=limit,
        offset=offset,
    )
    return ExceptionsPublic(
        data=[exception_public(d, e, locale_of(session).zone) for d, e in found],
        count=count,
    )


def read_exception(session: Session, *, exception_id: str) -> ExceptionPublic:
    """One exception (:class:`NotFound` when there is none)."""
    found = rows.get_exception(session, exception_id=exception_id)
    if found is None:
        raise NotFound(f"exception {exception_id} not found")
    return exception_public(*found, locale_of(session).zone)


def acknowledge_exception(
    session: Session, *, exception_id: str, by: str
) -> ExceptionPublic:
    """Record who acknowledged an exception and when (now), and commit.

    Acknowledging does not close it; acknowledging again keeps the first.
    """
    found = rows.get_exception(session, exception_id=exception_id)
    if found is None:
        raise NotFound(f"exception {exception_id} not found")
    day, exception = found
    tz = locale_of(session).zone
    if exception.acknowledged_by is None:
        exception = exception.model_copy(
            update={"acknowledged_by": by, "acknowledged_at": now_seconds(day, tz)}
        )
        rows.put_exception(session, day=day, exception=exception)
        session.commit()
    return exception_public(day, exception, tz)
