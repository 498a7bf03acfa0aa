"""A database that refuses some events: the storage fault behind dead letters.

Input is bounded at the edge, so no valid event should fail to store; to
test what happens when one still does, a trigger makes the database refuse
every event whose id starts with ``poison`` (SQLite and PostgreSQL).
"""

from __future__ import annotations

from sqlalchemy import Engine, text

__all__ = ["POISON", "poison_events"]

POISON = "poison"

_SQLITE = f"""
CREATE TRIGGER poison_events BEFORE INSERT ON events
WHEN NEW.id LIKE '{POISON}%'
BEGIN SELECT RAISE(ABORT, 'poisoned event refused by the test trigger'); END
"""
_PG_FUNCTION = f"""
CREATE FUNCTION poison_events() RETURNS trigger AS $$
BEGIN
  IF NEW.id LIKE '{POISON}%' THEN
    RAISE EXCEPTION 'poisoned event % refused by the test trigger', NEW.id;
  END IF;
  RETURN NEW;
END $$ LANGUAGE plpgsql
"""
_PG_TRIGGER = """
CREATE TRIGGER poison_events BEFORE INSERT ON events
FOR EACH ROW EXECUTE FUNCTION poison_events()
"""


def poison_events(engine: Engine) -> None:
    """Make ``engine``'s (migrated) database refuse events ``poison*``."""
    with engine.begin() as connection:
        if engine.dialect.name == "sqlite":
            connection.execute(text(_SQLITE))
        else:
            connection.execute(text(_PG_FUNCTION))
            connection.execute(text(_PG_TRIGGER))
