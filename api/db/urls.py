"""Database URLs as the drivers under SQLAlchemy want them."""

from __future__ import annotations

from sqlalchemy.engine import make_url

__all__ = ["libpq_conninfo"]


def libpq_conninfo(url: str) -> str:
    """A SQLAlchemy PostgreSQL URL as a libpq connection string (for psycopg)."""
    return (
        make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    )
