"""Tracked orders kept in memory, invalidated by PostgreSQL notifications.

A live ETA needs an order's day, status and place on a route (one query,
:func:`api.tracking_service.tracked_order`). On PostgreSQL that query, with
the worker-thread hop it needs, is most of a request's cost. Triggers
(migration 0006) notify channel :data:`CHANNEL` after every committed
change of an order's status or route stop (``o:<order>``), of a tracked
plan (``p:<plan>``) and of a route's revision (``v:<day>:<van>``), in
whichever process made it. :class:`TrackingListener` listens and drops what
changed from a :class:`RefCache`; reads take what is left.

A read that began before a notification arrived does not store its answer
(the cache's generation moved on), and while the listener is not connected
the cache is empty and off. This process's own writes do not wait for their
notification: the store notes what it changed (:func:`note_changes`) and
the cache forgets it as the commit returns, so a process always reads its
own writes; another process's write is seen once its notification arrives
(a millisecond or so after its commit).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

if TYPE_CHECKING:
    from api.tracking_service import RouteRef
    from tracking.status import OrderStatus

__all__ = ["CHANNEL", "RefCache", "TrackingListener", "note_changes"]

log = logging.getLogger("milepost.read_cache")

#: The notification channel of migration 0006's triggers.
CHANNEL = "milepost_tracking"
#: Most orders kept; the cache is emptied when it grows past this.
MAX_ENTRIES = 200_000

Found = tuple[dt.date, "OrderStatus", "RouteRef"]


@dataclass
class RefCache:
    """Tracked orders by id, with indexes to drop a plan's or a route's."""

    max_entries: int = MAX_ENTRIES
    live: bool = False
    generation: int = 0
    _entries: dict[str, Found] = field(default_factory=dict)
    _by_plan: dict[str, set[str]] = field(default_factory=dict)
    _by_route: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def get(self, order_id: str) -> Found | None:
        """The order's day, status and route reference, if known and current."""
        return self._entries.get(order_id) if self.live else None

    def put(self, order_id: str, found: Found, generation: int) -> None:
        """Keep an answer read when the generation was ``generation``."""
        day, _, ref = found
        with self._lock:
            if not self.live or generation != self.generation:
                return  # a change arrived while it was read: it may be old
            if len(self._entries) >= self.max_entries:
                self._forget()
            self._entries[order_id] = found
            if ref.plan_id is not None:
                self._by_plan.setdefault(ref.plan_id, set()).add(order_id)
            if ref.vehicle is not None:
                route = (day.isoformat(), ref.vehicle)
                self._by_route.setdefault(route, set()).add(order_id)

    def invalidate(self, payload: str) -> None:
        """Drop what one notification says changed (anything else: all)."""
        kind, _, key = payload.partition(":")
        with self._lock:
            self.generation += 1
            if kind == "o":
                self._entries.pop(key, None)
            elif kind == "p":
                for order_id in self._by_plan.pop(key, ()):
                    self._entries.pop(order_id, None)
            elif kind == "v":
                day, _, vehicle = key.partition(":")
                for order_id in self._by_route.pop((day, vehicle), ()):
                    self._entries.pop(order_id, None)
            else:
                self._forget()

    def switch(self, live: bool) -> None:
        """Turn the cache on or off; either way it starts empty."""
        with self._lock:
            self.generation += 1
            self._forget()
            self.live = live

    def __len__(self) -> int:
        return len(self._entries)

    def _forget(self) -> None:
        self._entries.clear()
        self._by_plan.clear()
        self._by_route.clear()


_PENDING = "ref_cache_pending"


def note_changes(session: Session, payloads: list[str]) -> None:
    """Forget these (notification payloads) from the cache when ``session`` commits."""
    if payloads and session.info.get("ref_cache") is not None:
        session.info.setdefault(_PENDING, []).extend(payloads)


@event.listens_for(Session, "after_commit")
def _forget_committed(session: Session) -> None:
    cache: RefCache | None = session.info.get("ref_cache")
    payloads = session.info.pop(_PENDING, None)
    if cache is not None and payloads:
        for payload in payloads:
            cache.invalidate(payload)


@event.listens_for(Session, "after_rollback")
def _drop_pending(session: Session) -> None:
    session.info.pop(_PENDING, None)


class TrackingListener:
    """A thread that LISTENs on :data:`CHANNEL` and feeds a :class:`RefCache`.

    Parameters
    ----------
    database_url
        The service's PostgreSQL URL (SQLAlchemy form).
    cache
        The cache it keeps current; on while connected, off otherwise.
    """

    def __init__(self, database_url: str, cache: RefCache) -> None:
        url = make_url(database_url).set(drivername="postgresql")
        self._conninfo = url.render_as_string(hide_password=False)
        self.cache = cache
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name="milepost-listen", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.cache.switch(False)

    def _run(self) -> None:
        import psycopg

        while not self._stop.is_set():
            try:
                with psycopg.connect(self._conninfo, autocommit=True) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    # Listening before the cache goes on: no change is missed.
                    self.cache.switch(True)
                    while not self._stop.is_set():
                        for note in conn.notifies(timeout=1.0):
                            self.cache.invalidate(note.payload)
            except Exception:  # the database went away: serve from it, retry
                log.warning("tracking notifications lost; reading the database")
            self.cache.switch(False)
            self._stop.wait(1.0)
