"""The migrations build exactly the schema the models declare, on both backends."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

import api.db.models  # noqa: F401 (registers every table)
from api.db import Base, make_engine
from api.db.migrate import current, downgrade, head, upgrade


def schema_diff(url: str) -> list[object]:
    """What autogenerate would change to make the database match the models."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"compare_type": True}
            )
            return list(compare_metadata(context, Base.metadata))
    finally:
        engine.dispose()


def test_migrations_match_models(database_url: str) -> None:
    """Upgrading an empty database to head leaves no difference to Base.metadata."""
    assert current(database_url) is None
    upgrade(database_url)
    assert current(database_url) == head()
    assert schema_diff(database_url) == []


def test_migrations_go_down_and_up_again(database_url: str) -> None:
    """Every migration can be undone, and redone to the same schema."""
    upgrade(database_url)
    downgrade(database_url, "base")
    engine = make_engine(database_url)
    try:
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    finally:
        engine.dispose()
    upgrade(database_url)
    assert schema_diff(database_url) == []


def test_upgrade_is_idempotent(database_url: str) -> None:
    """Upgrading a database that is already at head changes nothing."""
    upgrade(database_url)
    upgrade(database_url)
    assert current(database_url) == head()
