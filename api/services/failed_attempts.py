"""Failed attempts waiting for the dispatcher: their exceptions.

An order whose delivery attempt failed has a ``failed_attempt`` exception
(key ``failed_attempt:<order>``) from the moment the event is ingested
(:func:`api.services.ingest.ingest` calls :func:`raise_failed_attempts`)
until the dispatcher decides (:func:`api.services.console.decide_exception`)
or the attempt is resolved otherwise. It opens at the failure's time, so
raising it again (the console's evaluation) finds the same exception.
Only the database rows and the tracking library are used here: the ingest
path imports this module.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy.orm import Session

from api.db import tracking as rows
from api.db.engine import locale_of
from routing.units import wall_clock
from tracking.exceptions import (
    DispatchException,
    ExceptionKind,
    Severity,
    exception_id,
)
from tracking.status import OrderState, OrderStatus

__all__ = ["failed_attempt", "failed_attempt_key", "raise_failed_attempts"]


def failed_attempt_key(order_id: str) -> str:
    """The key of an order's failed-attempt exception."""
    return f"failed_attempt:{order_id}"


def failed_attempt(
    session: Session, day: dt.date, status: OrderStatus, now: int
) -> None:
    """Open the exception of an order whose last attempt failed; close it
    (at ``now``) once the order is no longer a failed attempt. The caller
    commits."""
    key = failed_attempt_key(status.order_id)
    current = rows.open_exception(session, day=day, key=key)
    if status.state is OrderState.FAILED_ATTEMPT:
        if current is not None:
            return
        change = status.history[-1]
        at = wall_clock(change.at, day, locale_of(session).zone)
        opened = DispatchException(
            id=exception_id(key, change.at, day.isoformat()),
            kind=ExceptionKind.FAILED_ATTEMPT,
            key=key,
            vehicle=status.vehicle,
            order_ids=(status.order_id,),
            opened_at=change.at,
            severity=Severity.WARNING,
            detail=f"delivery attempt failed at {at}: {change.cause}; "
            "re-attempt today, next day or return to sender?",
        )
        if rows.get_exception(session, exception_id=opened.id) is None:
            rows.put_exception(session, day=day, exception=opened)
    elif current is not None:
        rows.put_exception(session, day=day, exception=current.closed(now))


def raise_failed_attempts(
    session: Session, *, day: dt.date, order_ids: Iterable[str]
) -> None:
    """Raise the exceptions of those orders whose attempt failed (just ingested)."""
    ids = list(dict.fromkeys(order_ids))
    if not ids:
        return
    for _, status, _ in rows.tracked_orders(session, order_ids=ids):
        if status.state is OrderState.FAILED_ATTEMPT:
            failed_attempt(session, day, status, status.history[-1].at)
