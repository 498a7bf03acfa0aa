"""API keys: every query the service makes on them.

Keyword-only functions taking an open session first; they never commit.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.db.models import ApiKey

__all__ = ["ApiKey", "add_key", "find_by_hash", "get_key", "list_keys"]


def add_key(
    session: Session,
    *,
    name: str,
    role: str,
    key_hash: str,
    vehicle_id: str | None = None,
    depot_id: str | None = None,
    expires_at: dt.datetime | None = None,
) -> ApiKey:
    """Store a key's digest, binding and expiry; the row, with its id."""
    row = ApiKey(
        name=name,
        role=role,
        key_hash=key_hash,
        vehicle_id=vehicle_id,
        depot_id=depot_id,
        expires_at=expires_at,
    )
    session.add(row)
    session.flush()
    return row


def find_by_hash(session: Session, *, key_hash: str) -> ApiKey | None:
    """The key row with this digest (revoked or not), if any."""
    return session.scalar(select(ApiKey).where(ApiKey.key_hash == key_hash))


def get_key(session: Session, *, key_id: int) -> ApiKey | None:
    """The key row with this id, if any."""
    return session.get(ApiKey, key_id)


def list_keys(session: Session, *, skip: int, limit: int) -> tuple[int, list[ApiKey]]:
    """A page of keys, oldest first, and how many there are."""
    count = session.scalar(select(func.count()).select_from(ApiKey)) or 0
    rows = session.scalars(select(ApiKey).order_by(ApiKey.id).offset(skip).limit(limit))
    return count, list(rows)
