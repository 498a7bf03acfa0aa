"""Every table of the service, one section per resource.

Add a section (a banner comment, then the classes) per resource and write its
migration by hand in ``api/migrations/versions/``; ``tests/api/test_migrations.py``
fails while the migrations and these classes disagree.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from api.db.base import Base, utcnow

__all__ = ["ApiKey"]


# --- api keys (migration 0001) ----------------------------------------------


class ApiKey(Base):
    """A key a client sends to call the API; only its SHA-256 is kept.

    A device key is bound to one vehicle (``vehicle_id``) or to the vehicles
    of one depot (``depot_id``); other keys to neither (migration 0009). A key
    past ``expires_at`` no longer authenticates.
    """

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(32))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[dt.datetime | None]
    vehicle_id: Mapped[str | None] = mapped_column(String(128))
    depot_id: Mapped[str | None] = mapped_column(String(128))
    expires_at: Mapped[dt.datetime | None]


# --- the other resources, one module each (imported so that Base.metadata and
# the migration check see every table) -----------------------------------------

from api.db import (  # noqa: E402
    tables_dispatch,
    tables_history,
    tables_jobs,
    tables_tracking,
)

_ = (tables_dispatch, tables_history, tables_jobs, tables_tracking)
