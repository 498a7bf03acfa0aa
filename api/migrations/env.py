"""Alembic environment: the URL comes from ``config.attributes["url"]``.

``api.db.migrate`` builds the Config in code, so no ``alembic.ini`` is needed.
"""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy import Connection, create_engine, text
from sqlalchemy.pool import NullPool

import api.db.models  # noqa: F401 (registers every table on Base.metadata)
from api.db.base import Base
from api.db.engine import is_sqlite

config = context.config
url: str = config.attributes["url"]
target_metadata = Base.metadata


def _configure(**kwargs: Any) -> None:
    context.configure(
        target_metadata=target_metadata,
        compare_type=True,
        # SQLite cannot ALTER most things: batch mode copies the table instead.
        render_as_batch=is_sqlite(url),
        **kwargs,
    )


def run_offline() -> None:
    """Print the SQL instead of running it (``alembic upgrade --sql``)."""
    _configure(url=url, literal_binds=True, dialect_opts={"paramstyle": "named"})
    with context.begin_transaction():
        context.run_migrations()


def _run(connection: Connection) -> None:
    _configure(connection=connection)
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    """Run the migrations on a fresh connection."""
    # Not api.db.make_engine: batch mode rebuilds SQLite tables, which must run
    # with foreign keys off (SQLite's default), or the rebuild would cascade.
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            _run(connection)
            if is_sqlite(url):
                connection.exec_driver_sql("PRAGMA journal_mode=WAL")
                broken = connection.execute(text("PRAGMA foreign_key_check")).all()
                if broken:
                    raise RuntimeError(f"migration broke foreign keys: {broken[:5]}")
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
