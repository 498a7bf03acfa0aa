"""API keys: every query the service makes on them.

Keyword-only functions taking an open session first; they never commit.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.db.models import ApiKey

__all__ = ["ApiKey", "add_key", "find_by_hash", "get_key", "list_keys"]


def add_key(session: Session, *, name: str, role: str, key_hash: str) -> ApiKey:
    """Store a key's digest; the row, with its id."""
    row = ApiKey(name=name, role=role, key_hash=key_hash)
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
