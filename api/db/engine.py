"""Engines and session factories (created by the app, never at import time)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from routing.locale import DEFAULT_LOCALE, Locale

__all__ = [
    "is_sqlite",
    "locale_of",
    "make_engine",
    "make_read_engine",
    "make_sessionmaker",
]

#: Connections an engine may hold: the request thread pool's size (AnyIO's
#: default limiter), so a request never waits for a connection.
POOL_SIZE = 40
#: PostgreSQL connections kept open between bursts (each is a server process).
PG_POOL_SIZE = 10


def is_sqlite(url: str) -> bool:
    """Whether a database URL names SQLite."""
    return make_url(url).get_backend_name() == "sqlite"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers run while one writer writes. FULL syncs the log at
    # every commit: an acknowledged event survives a power cut, not only a
    # crashed process (NORMAL would lose the last commits then). SQLite
    # leaves foreign keys off unless asked, per connection.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def make_engine(url: str) -> Engine:
    """An engine for ``url``, tuned for SQLite or PostgreSQL.

    Parameters
    ----------
    url
        SQLAlchemy URL, e.g. ``sqlite:///./milepost.db`` or
        ``postgresql+psycopg://postgres@127.0.0.1:5432/milepost``.

    Returns
    -------
    Engine
        Not yet connected; the first use connects.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        # Requests run on a thread pool, so a connection may change threads.
        # The pool keeps as many connections as that thread pool has threads
        # (40): a connection opened past the pool is closed again after one
        # use, and a new one starts with a cold page cache and its pragmas.
        engine = create_engine(
            parsed,
            connect_args={"check_same_thread": False},
            pool_size=POOL_SIZE,
            max_overflow=POOL_SIZE,
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    connect_args: dict[str, Any] = {}
    if parsed.get_backend_name() == "postgresql" and "connect_timeout" not in (
        parsed.query
    ):
        # A readiness probe must answer, not hang on an unreachable host.
        connect_args["connect_timeout"] = 5
    return create_engine(
        parsed,
        pool_pre_ping=True,
        connect_args=connect_args,
        pool_size=PG_POOL_SIZE,
        max_overflow=POOL_SIZE - PG_POOL_SIZE,
    )


def make_read_engine(url: str, engine: Engine) -> Engine:
    """The engine of the hot read paths (live ETA, tracking): one round trip each.

    On PostgreSQL a read through the main engine costs four round trips to
    the server (the pool's ping, ``BEGIN``, the query, the ``ROLLBACK`` when
    the connection goes back), each a wake-up of a server process that
    shares the cores with the service. This engine's own pool keeps its
    connections in autocommit (a lone ``SELECT`` needs no transaction) and
    does not ping (a connection the server dropped fails that one request
    and SQLAlchemy then discards the pool). SQLite reads a local file and
    keeps ``engine``.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        return engine
    return create_engine(
        parsed,
        isolation_level="AUTOCOMMIT",
        pool_pre_ping=False,
        connect_args={"connect_timeout": 5}
        if "connect_timeout" not in parsed.query
        else {},
        # As many as the request threads, all kept: a connection opened past
        # the pool and closed after one read costs a server process's start
        # (and its prepared statements), several milliseconds each.
        pool_size=POOL_SIZE,
        max_overflow=0,
    )


def make_sessionmaker(
    engine: Engine, locale: Locale = DEFAULT_LOCALE
) -> sessionmaker[Session]:
    """A session factory; objects stay readable after commit.

    One database is one deployment: its sessions carry the deployment's
    ``locale`` (``session.info``, read by :func:`locale_of`), so every
    service that turns a day's clock into datetimes, or "now" into seconds,
    uses its timezone. The service passes ``Settings.locale``; the default is
    the original deployment's (Asia/Seoul, KRW) for tools and tests that
    have no settings.
    """
    return sessionmaker(engine, expire_on_commit=False, info={"locale": locale})


def locale_of(session: Session) -> Locale:
    """The locale of the deployment whose database ``session`` is on.

    Raises
    ------
    LookupError
        The session was not made by :func:`make_sessionmaker`: there is no
        knowing its timezone, and guessing one would shift every time.
    """
    locale = session.info.get("locale")
    if not isinstance(locale, Locale):
        raise LookupError(
            "this session carries no locale: make its sessionmaker with "
            "api.db.engine.make_sessionmaker(engine, settings.locale)"
        )
    return locale
