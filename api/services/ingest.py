"""Ingesting tracking events: the one path for HTTP and MQTT.

Every event, whether it came over HTTP (``POST /v1/events``) or MQTT
(:mod:`api.mqtt`), goes through an :class:`EventIngest`, which runs the
library's :class:`~tracking.tracker.Tracker` on a
:class:`~api.db.tracking.SqlStore` and commits before it returns: an
acknowledged event is a durable event. ``create_app`` makes one and hands
it to the routes and the MQTT consumer.

**Dead letters.** Input is bounded at the edge (:mod:`routing.bounds`), so
a valid event should always be storable; one that still fails (any
database error while the database answers) must neither lose its
neighbours nor stop ingest. When a batch fails, its events are stored one
at a time, and each that fails again is written to the ``dead_letters``
table with its payload, source (``http``/``mqtt``), error and time,
counted, and listed in :attr:`IngestResult.dead_lettered`. Only when the
database does not answer at all does the error reach the caller (HTTP:
the request fails and the client retries; MQTT: the message stays
unacknowledged and is delivered again).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import threading
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Literal

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session

from api.db.dead_letters import add_dead_letter
from api.db.tracking import SqlStore
from api.services.failed_attempts import raise_failed_attempts
from api.services.orders import settle_cancellations
from tracking.events import Event, FailedAttempt, event_sort_key
from tracking.tracker import IngestResult, Tracker

__all__ = ["EventIngest", "Source", "ingest", "ingest_and_commit"]

log = logging.getLogger("milepost.ingest")

#: Where an event came from, as the dead letters record it.
Source = Literal["http", "mqtt"]

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
    accepted = frozenset(result.accepted)
    raise_failed_attempts(
        session,
        day=day,
        order_ids=[
            e.order_id
            for e in events
            if isinstance(e, FailedAttempt) and e.id in accepted
        ],
    )
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
    lock (other processes are handled by the retries). Events the database
    cannot store become dead letters (see the module docstring), counted in
    :attr:`dead_letters` by source.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._count_lock = threading.Lock()
        #: Events dead-lettered by this process, by source.
        self.dead_letters: dict[str, int] = {"http": 0, "mqtt": 0}

    def __call__(
        self,
        session: Session,
        day: dt.date,
        events: Sequence[Event],
        *,
        source: Source = "http",
    ) -> IngestResult:
        """Ingest and commit a batch (:func:`ingest_and_commit`); events
        that cannot be stored are dead-lettered, the others stored."""
        try:
            return ingest_and_commit(session, day, events, lock=self._lock)
        except Exception as exc:
            session.rollback()
            _raise_unless_answering(session, exc)
            log.warning(
                "a batch of %d events failed to store (%s); storing them one by one",
                len(events),
                _one_line(exc),
            )
        result = IngestResult()
        for event in sorted(events, key=event_sort_key):
            try:
                result += ingest_and_commit(session, day, [event], lock=self._lock)
            except Exception as exc:
                session.rollback()
                _raise_unless_answering(session, exc)
                self.dead_letter(session, day, event, exc, source=source)
                result += IngestResult(dead_lettered=(event.id,))
        return result

    def dead_letter(
        self,
        session: Session,
        day: dt.date | None,
        event: Event | None,
        error: BaseException,
        *,
        source: Source,
        payload: str | None = None,
        vehicle: str | None = None,
    ) -> None:
        """Write one dead letter and commit it: ``event`` (or, when it could
        not be read, the raw ``payload``) with the error."""
        if payload is None:
            payload = "" if event is None else event.model_dump_json()
        vehicle = vehicle or (getattr(event, "vehicle", None) if event else None)
        add_dead_letter(
            session,
            source=source,
            payload=payload,
            error=f"{type(error).__name__}: {_one_line(error)}",
            day=day,
            event_id=None if event is None else event.id,
            vehicle=vehicle,
        )
        session.commit()
        with self._count_lock:
            self.dead_letters[source] = self.dead_letters.get(source, 0) + 1
        log.error(
            "dead-lettered event %s from %s: %s",
            None if event is None else event.id,
            source,
            _one_line(error),
        )


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:2000]


def _raise_unless_answering(session: Session, exc: BaseException) -> None:
    """Re-raise ``exc`` when the database does not answer: then the fault
    is not the event's, and it must be retried rather than set aside."""
    try:
        session.execute(text("SELECT 1"))
        session.rollback()
    except SQLAlchemyError:
        session.rollback()
        raise exc from None
