"""Persistence: declarative base, tables, engines and migrations."""

from __future__ import annotations

from api.db.base import Base, UTCDateTime, utcnow
from api.db.engine import make_engine, make_sessionmaker

__all__ = ["Base", "UTCDateTime", "make_engine", "make_sessionmaker", "utcnow"]
