"""API keys and roles.

A key is ``mp_`` followed by 32 random bytes (URL-safe base64). The database
keeps only its SHA-256, so a leaked table grants nothing. A key is found by
looking up that hash in a unique index: the comparison happens on digests
inside the database, so response times do not reveal how much of a guessed
key was right, and no constant-time string comparison is needed. (A fast
hash is enough here: the keys are random, not passwords.)

An app's :class:`KeyCache` remembers the keys it has just verified for
:data:`KEY_CACHE_SECONDS`, so a burst of requests costs one lookup, not one
each. Revoking a key forgets it in the revoking process at once; another
process may still accept it for up to that long. The dependency that checks
keys is :func:`api.deps.require`.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy.orm import Session, sessionmaker

from api.db import keys as key_rows
from api.db.models import ApiKey

__all__ = [
    "KEY_CACHE_SECONDS",
    "KEY_PREFIX",
    "KeyCache",
    "Principal",
    "Role",
    "create_key",
    "find_key",
    "hash_key",
    "issue_key",
]

KEY_PREFIX = "mp_"
#: Seconds a verified key is trusted without asking the database again.
KEY_CACHE_SECONDS = 5.0


class Role(StrEnum):
    """Who a key speaks for; ``admin`` may call everything."""

    dispatcher = "dispatcher"
    storefront = "storefront"
    planner = "planner"
    device = "device"
    admin = "admin"


@dataclass(frozen=True)
class Principal:
    """The caller, as established from its key."""

    key_id: int
    name: str
    role: Role


def hash_key(key: str) -> str:
    """The SHA-256 hex digest stored for ``key``."""
    return hashlib.sha256(key.encode()).hexdigest()


def issue_key(session: Session, role: Role, name: str) -> tuple[ApiKey, str]:
    """Store a new key for ``role`` held by ``name``; its row and the plain key.

    The plain key ``mp_...`` is not kept anywhere: hand it over now. The
    caller commits.
    """
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    row = key_rows.add_key(
        session, name=name, role=Role(role).value, key_hash=hash_key(key)
    )
    return row, key


def create_key(session: Session, role: Role, name: str) -> str:
    """Store a new key for ``role`` and return the plain key (shown once)."""
    return issue_key(session, role, name)[1]


def find_key(session: Session, key: str) -> ApiKey | None:
    """The live (not revoked) key row for a plain key, if any."""
    if not key.startswith(KEY_PREFIX):
        return None
    row = key_rows.find_by_hash(session, key_hash=hash_key(key))
    if row is None or row.revoked_at is not None:
        return None
    return row


class KeyCache:
    """The keys an app verified lately, by digest (one per app).

    Parameters
    ----------
    seconds
        How long a verified key is trusted without a lookup.
    size
        Most keys remembered at once (the cache is emptied when it is full).
    """

    def __init__(self, seconds: float = KEY_CACHE_SECONDS, size: int = 10_000) -> None:
        self.seconds = seconds
        self.size = size
        self._verified: dict[str, tuple[float, Principal]] = {}
        self._lock = threading.Lock()

    def remembered(self, key: str) -> Principal | None:
        """The key's principal if it was verified less than ``seconds`` ago."""
        hit = self._verified.get(hash_key(key))
        if hit is not None and hit[0] > time.monotonic():
            return hit[1]
        return None

    def look_up(self, sessions: sessionmaker[Session], key: str) -> Principal | None:
        """The key's principal: remembered, else from the database (remembered)."""
        hit = self.remembered(key)
        if hit is not None:
            return hit
        now = time.monotonic()
        with sessions() as session:
            row = find_key(session, key)
        if row is None:
            return None
        principal = Principal(key_id=row.id, name=row.name, role=Role(row.role))
        with self._lock:
            if len(self._verified) >= self.size:
                self._verified.clear()
            self._verified[hash_key(key)] = (now + self.seconds, principal)
        return principal

    def forget(self, key_id: int) -> None:
        """Stop trusting the key with this id (it was revoked)."""
        with self._lock:
            for digest in [
                d for d, (_, p) in self._verified.items() if p.key_id == key_id
            ]:
                del self._verified[digest]
