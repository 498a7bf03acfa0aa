"""Hot reads on PostgreSQL that never leave the event loop.

A live ETA read is one short ``SELECT``. Through the synchronous engine it
costs a hop to a worker thread and back, and with 16 requests in flight those
threads and the event loop pass the interpreter lock back and forth more
than they work. Here the query runs on psycopg's asynchronous connections,
from a pool of autocommit connections kept open (a new PostgreSQL
connection starts a server process: milliseconds), with the statement
prepared on the server the first time each connection runs it.

The statements are SQLAlchemy's, compiled once for PostgreSQL, so the
synchronous path and this one read the same columns. SQLite keeps its
inline reads (``app.state.inline_reads``): a local file needs no network.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from psycopg.rows import TupleRow
from psycopg_pool import AsyncConnectionPool
from sqlalchemy.dialects import postgresql
from sqlalchemy.sql import ClauseElement

from api.db.urls import libpq_conninfo

__all__ = ["AsyncReads", "compiled"]


def compiled(statement: ClauseElement) -> str:
    """``statement`` as PostgreSQL SQL with ``%(name)s`` placeholders."""
    dialect = postgresql.psycopg.dialect()  # type: ignore[no-untyped-call]
    return str(statement.compile(dialect=dialect))


class AsyncReads:
    """A pool of asynchronous autocommit connections for one database.

    Parameters
    ----------
    url
        The service's SQLAlchemy URL (``postgresql+psycopg://...``).
    size
        Connections at most; all are kept once opened.
    """

    def __init__(self, url: str, size: int) -> None:
        self._pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
            libpq_conninfo(url),
            min_size=1,
            max_size=size,
            open=False,
            kwargs={"autocommit": True, "prepare_threshold": 0, "connect_timeout": 5},
            name="milepost-reads",
        )

    async def open(self) -> None:
        """Connect (the first connection; the rest as load asks for them)."""
        await self._pool.open(wait=False)

    async def close(self) -> None:
        """Close every connection."""
        await self._pool.close()

    async def one(self, sql: str, params: Mapping[str, Any]) -> TupleRow | None:
        """The first row of ``sql`` with ``params``, or None."""
        async with self._pool.connection() as conn:
            cursor = await conn.execute(sql, params)
            row: TupleRow | None = await cursor.fetchone()
            return row
