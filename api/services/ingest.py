"""Ingesting tracking events: the one path for HTTP and MQTT.

Every event, whether it came over HTTP (``POST /v1/events``) or MQTT
(:mod:`api.mqtt`), goes through an :class:`EventIngest`, which runs the
library's :class:`~tracking.tracker.Tracker` on a
:class:`~api.db.tracking.SqlStore` and commits before it returns: an
acknowledged event is a durable event. ``create_app`` makes one and hands
it to the routes and the MQTT consumer.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
from collections.abc import Sequence
from contextlib import AbstractContextManager

from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from api.db.tracking import SqlStore
from api.services.orders import settle_cancellations
from tracking.events import Event
from tracking.tracker import IngestResult, Tracker

__all__ = ["EventIngest", "ingest", "ingest_and_commit"]

#: Commits tried per batch when another writer conflicts.
RETRIES = 3


def ingest(session: Session, day: dt.date, events: Sequence[Event]) -> IngestResult:
    """Apply a batch of events of one operating day (the caller commits).

    ``day`` is the operating day the events' ``at`` counts from; ids already
    stored that day are duplicates.
    """
    store = SqlStore(session, day, for_update=True)
    store.prefetch(events)
    result = Tracker(store, namespace=day.isoformat()).ingest(events)
    settle_cancellations(session, events, frozenset(result.accepted))
    store.bump_revisions()
    return result


def ingest_and_commit(
    session: Session,
    day: dt.date,
    events: Sequence[Event],
    *,
    lock: AbstractContextManager[object] | None = None,
) -> IngestResult:
    """:func:`ingest` and commit: when this returns, the events are durable.

    A conflict with another process writing the same rows at once (a
    duplicate key, a lock timeout, a deadlock) rolls back and tries again on
    the fresh state, where the other writer's events are duplicates. Each
    try holds ``lock`` (:class:`EventIngest` passes its own).
    """
    for attempt in range(RETRIES):
        with lock or contextlib.nullcontext():
            try:
                result = ingest(session, day, events)
                session.commit()
            except (IntegrityError, OperationalError):
                session.rollback()
                if attempt == RETRIES - 1:
                    raise
                continue
            return result
    raise AssertionError("unreachable")  # pragma: no cover


class EventIngest:
    """The ingest of one service process: one writer at a time.

    The tracker reads statuses, then writes them, and the commit must land
    before the next batch reads: the batches of this process queue on one
    lock (other processes are handled by the retries).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def __call__(
        self, session: Session, day: dt.date, events: Sequence[Event]
    ) -> IngestResult:
        """Ingest and commit a batch (:func:`ingest_and_commit`)."""
        return ingest_and_commit(session, day, events, lock=self._lock)
