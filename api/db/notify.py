"""Wake-ups across processes: PostgreSQL ``LISTEN/NOTIFY``.

Several API processes and job workers share one database; each keeps state
that must hear of another's writes soon: a job runner should start a job
queued by any process at once, and a live stream should send a new status
the moment any process stores it. The database says so itself: triggers
(migration 0011, PostgreSQL only) ``NOTIFY`` :data:`JOBS` when a job is
queued, re-queued or cancelled and :data:`LIVE` when tracking state changes
(statuses, van positions, route revisions, plans), at commit and once per
transaction, whichever path wrote (HTTP, MQTT, a job's hook, another version
of the service).

A :class:`Bus` holds one connection per process that listens on both
channels (a thread) and calls the subscribers of a channel when it hears
from it. After it (re)connects it calls every subscriber once, as if each
channel had spoken: what happened while it was deaf is not lost, only
coalesced. :attr:`Bus.listening` is False on SQLite (one process) and while
the connection is down, and then the subscribers fall back to polling.
"""

from __future__ import annotations

import logging
import selectors
import socket
import threading
from collections.abc import Callable

import psycopg
from psycopg import sql

from api.db.engine import is_sqlite
from api.db.urls import libpq_conninfo

__all__ = ["JOBS", "LIVE", "Bus"]

log = logging.getLogger("milepost.notify")

#: A job was queued, re-queued or cancelled.
JOBS = "milepost_jobs"
#: Tracking state changed (the live views of orders and plans).
LIVE = "milepost_live"

Subscriber = Callable[[], None]


class Bus:
    """This process's ear on the database's notifications.

    Parameters
    ----------
    database_url
        The service's database; on SQLite the bus never listens.
    retry_seconds
        Wait before reconnecting a lost listening connection.
    """

    def __init__(self, database_url: str, retry_seconds: float = 2.0) -> None:
        self.enabled = not is_sqlite(database_url)
        self._conninfo = libpq_conninfo(database_url) if self.enabled else ""
        self.retry_seconds = retry_seconds
        self._subscribers: dict[str, list[Subscriber]] = {JOBS: [], LIVE: []}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        # stop() writes here, so the listening thread wakes at once instead
        # of at its next look at the database (every service shutdown waited).
        self._wake: tuple[socket.socket, socket.socket] | None = None
        self._listening = threading.Event()
        #: Notifications heard, by channel (for ``/metrics``).
        self.heard: dict[str, int] = {JOBS: 0, LIVE: 0}

    @property
    def listening(self) -> bool:
        """Whether notifications of other processes reach this one now."""
        return self._listening.is_set()

    def subscribe(self, channel: str, call: Subscriber) -> None:
        """Call ``call()`` (from the listening thread) when ``channel`` speaks.

        ``call`` must be quick and must not raise: it only wakes someone.
        """
        with self._lock:
            self._subscribers[channel].append(call)

    def unsubscribe(self, channel: str, call: Subscriber) -> None:
        """Stop calling ``call``."""
        with self._lock:
            if call in self._subscribers[channel]:
                self._subscribers[channel].remove(call)

    def start(self) -> None:
        """Start listening (PostgreSQL only; a no-op on SQLite)."""
        if not self.enabled or self._thread is not None:
            return
        self._stopping.clear()
        self._wake = wake = socket.socketpair()
        self._thread = threading.Thread(
            target=self._listen, args=(wake[0],), name="db-notify", daemon=True
        )
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop listening and close the connection."""
        self._stopping.set()
        thread, self._thread = self._thread, None
        wake, self._wake = self._wake, None
        if thread is not None and wake is not None:
            wake[1].send(b"x")
            thread.join(timeout)
            if not thread.is_alive():  # else it may still wait on them
                for end in wake:
                    end.close()
        self._listening.clear()

    def wait_listening(self, timeout: float) -> bool:
        """Wait until the bus listens; whether it does."""
        return self._listening.wait(timeout)

    # -- the listening thread --------------------------------------------------

    def _call(self, channel: str) -> None:
        with self._lock:
            calls = list(self._subscribers.get(channel, ()))
        for call in calls:
            try:
                call()
            except Exception:
                log.exception("notification subscriber of %s failed", channel)

    def _listen(self, wake: socket.socket) -> None:
        while not self._stopping.is_set():
            try:
                with psycopg.connect(self._conninfo, autocommit=True) as conn:
                    for channel in (JOBS, LIVE):
                        conn.execute(
                            sql.SQL("LISTEN {}").format(sql.Identifier(channel))
                        )
                    self._listening.set()
                    log.info("listening for notifications on %s and %s", JOBS, LIVE)
                    # Whatever was said while nobody listened: as if both spoke.
                    self._call(JOBS)
                    self._call(LIVE)
                    self._hear(conn, wake)
            except psycopg.Error as exc:
                if self._stopping.is_set():
                    break
                self._listening.clear()
                log.warning(
                    "notification listener lost the database (%s); "
                    "retrying in %.0f s, polling meanwhile",
                    exc,
                    self.retry_seconds,
                )
                self._stopping.wait(self.retry_seconds)
        self._listening.clear()

    def _hear(self, conn: psycopg.Connection[object], wake: socket.socket) -> None:
        """Pass on notifications until stopped; sleep while nobody speaks."""
        # A selector, not select(): a busy process may hold fds above 1024.
        with selectors.DefaultSelector() as waiting:
            waiting.register(conn.fileno(), selectors.EVENT_READ)
            waiting.register(wake, selectors.EVENT_READ)
            while not self._stopping.is_set():
                # timeout=0: what has arrived (or was read with the LISTENs).
                for note in conn.notifies(timeout=0):
                    self.heard[note.channel] = self.heard.get(note.channel, 0) + 1
                    self._call(note.channel)
                waiting.select(timeout=30)
