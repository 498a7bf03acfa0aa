"""API keys and roles.

A key is ``mp_`` followed by 32 random bytes (URL-safe base64). The database
keeps only its SHA-256, so a leaked table grants nothing. A key is found by
looking up that hash in a unique index: the comparison happens on digests
inside the database, so response times do not reveal how much of a guessed
key was right, and no constant-time string comparison is needed. (A fast
hash is enough here: the keys are random, not passwords.)

A process remembers the keys it has just verified for
:data:`KEY_CACHE_SECONDS`, so a burst of requests costs one lookup, not one
each. Revoking a key forgets it in the revoking process at once; another
process may still accept it for up to that long.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated

from fastapi import HTTPException, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from api.db.base import utcnow
from api.db.models import ApiKey

__all__ = [
    "KEY_CACHE_SECONDS",
    "KEY_PREFIX",
    "Principal",
    "Role",
    "create_key",
    "find_key",
    "hash_key",
    "issue_key",
    "require",
    "revoke_key",
]

KEY_PREFIX = "mp_"
#: Seconds a verified key is trusted without asking the database again.
KEY_CACHE_SECONDS = 5.0
#: Most keys remembered at once (the cache is emptied when it is full).
_MAX_CACHED_KEYS = 10_000


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
    """Store a new key for ``role``; return its row and the plain key.

    Parameters
    ----------
    session
        Open session; the caller commits.
    role
        What the key may do.
    name
        Who or what holds it (e.g. ``"van 12"``), for the key list.

    Returns
    -------
    tuple[ApiKey, str]
        The stored row (id set) and the plain key ``mp_...``, which is not
        kept anywhere: hand it over now.
    """
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    row = ApiKey(name=name, role=Role(role).value, key_hash=hash_key(key))
    session.add(row)
    session.flush()
    return row, key


def create_key(session: Session, role: Role, name: str) -> str:
    """Store a new key for ``role`` and return the plain key (shown once)."""
    return issue_key(session, role, name)[1]


def find_key(session: Session, key: str) -> ApiKey | None:
    """The live (not revoked) key row for a plain key, if any."""
    if not key.startswith(KEY_PREFIX):
        return None
    row = session.scalar(select(ApiKey).where(ApiKey.key_hash == hash_key(key)))
    if row is None or row.revoked_at is not None:
        return None
    return row


def revoke_key(session: Session, key_id: int) -> ApiKey | None:
    """Revoke a key by id (idempotent); None when there is no such key."""
    row = session.get(ApiKey, key_id)
    if row is not None and row.revoked_at is None:
        row.revoked_at = utcnow()
    with _CACHE_LOCK:
        for digest in [d for d, (_, p) in _VERIFIED.items() if p.key_id == key_id]:
            del _VERIFIED[digest]
    return row


# Digest of a verified key -> (monotonic expiry, principal).
_VERIFIED: dict[str, tuple[float, Principal]] = {}
_CACHE_LOCK = threading.Lock()


def _remembered(key: str) -> Principal | None:
    """The key's principal if it was verified less than the cache time ago."""
    hit = _VERIFIED.get(hash_key(key))
    if hit is not None and hit[0] > time.monotonic():
        return hit[1]
    return None


def _looked_up(sessions: sessionmaker[Session], key: str) -> Principal | None:
    """The key's principal from the database (and remembered), in a session."""
    with sessions() as session:
        return _principal(session, key)


def _principal(session: Session, key: str) -> Principal | None:
    """The key's principal: remembered, else looked up (and remembered)."""
    hit = _remembered(key)
    if hit is not None:
        return hit
    digest = hash_key(key)
    now = time.monotonic()
    row = find_key(session, key)
    if row is None:
        return None
    principal = Principal(key_id=row.id, name=row.name, role=Role(row.role))
    with _CACHE_LOCK:
        if len(_VERIFIED) >= _MAX_CACHED_KEYS:
            _VERIFIED.clear()
        _VERIFIED[digest] = (now + KEY_CACHE_SECONDS, principal)
    return principal


# Declared as security schemes so /docs shows an "Authorize" button.
_bearer = HTTPBearer(auto_error=False, description="Authorization: Bearer mp_...")
_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="mp_...")

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="milepost"'}


def require(*roles: Role) -> Callable[..., Awaitable[Principal]]:
    """A dependency that lets in keys of ``roles`` (and ``admin``).

    Parameters
    ----------
    *roles
        Roles allowed besides ``admin``; none given: ``admin`` only.

    Returns
    -------
    Callable
        Use as ``Depends(require(Role.dispatcher))``; it returns the
        :class:`Principal`. Missing, unknown or revoked keys get 401 with
        ``WWW-Authenticate``; a key of another role gets 403.
    """
    allowed = frozenset({*roles, Role.admin})

    async def authenticate(
        request: Request,
        bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
        header: Annotated[str | None, Security(_header)],
    ) -> Principal:
        key = bearer.credentials if bearer is not None else header
        if not key:
            raise HTTPException(401, "an API key is required", headers=_CHALLENGE)
        # A key verified moments ago is known without leaving the event loop;
        # otherwise one lookup in a worker thread, with its own short session.
        principal = _remembered(key)
        if principal is None:
            principal = await run_in_threadpool(
                _looked_up, request.app.state.sessionmaker, key
            )
        if principal is None:
            raise HTTPException(401, "unknown or revoked API key", headers=_CHALLENGE)
        if principal.role not in allowed:
            names = ", ".join(sorted(allowed))
            raise HTTPException(403, f"role {principal.role} may not; allowed: {names}")
        return principal

    return authenticate
