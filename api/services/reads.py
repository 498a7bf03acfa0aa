"""How the hot read paths get a session: inline, in a worker thread, or async."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from api.db.async_reads import AsyncReads

__all__ = ["ReadSessions", "SessionView"]

T = TypeVar("T")
#: A read-only view made in one session.
SessionView = Callable[[Session], T]


@dataclass(frozen=True)
class ReadSessions:
    """How the hot read paths get a session: inline, in a thread, or async.

    ``run(view)`` runs a read-only ``view`` with its own session of the read
    engine: on SQLite (``inline``) on the event loop, since a read of a
    local file takes tens of microseconds, less than handing it to a thread
    (measured in ``benchmarks/bench_api.py``); on a network database in a
    worker thread, with the read engine's autocommit connections
    (:func:`api.db.engine.make_read_engine`). ``async_reads`` is the
    PostgreSQL pool that reads a live ETA's row on the event loop.
    """

    sessions: sessionmaker[Session]
    inline: bool
    async_reads: AsyncReads | None

    def run(self, view: Callable[[Session], T]) -> Awaitable[T]:
        """``view(session)`` on the event loop or in a worker thread."""

        def run() -> T:
            with self.sessions() as session:
                return view(session)

        if self.inline:

            async def inline() -> T:
                return run()

            return inline()
        return run_in_threadpool(run)
