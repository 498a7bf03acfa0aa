"""API keys and roles.

A key is ``mp_`` followed by 32 random bytes (URL-safe base64). The database
keeps only its SHA-256, so a leaked table grants nothing. A key is found by
looking up that hash in a unique index: the comparison happens on digests
inside the database, so response times do not reveal how much of a guessed
key was right, and no constant-time string comparison is needed. (A fast
hash is enough here: the keys are random, not passwords.)
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated

from fastapi import HTTPException, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.db.base import utcnow
from api.db.models import ApiKey
from api.db.session import SessionDep

__all__ = [
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
    return row


# Declared as security schemes so /docs shows an "Authorize" button.
_bearer = HTTPBearer(auto_error=False, description="Authorization: Bearer mp_...")
_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="mp_...")

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="milepost"'}


def require(*roles: Role) -> Callable[..., Principal]:
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

    def authenticate(
        session: SessionDep,
        bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
        header: Annotated[str | None, Security(_header)],
    ) -> Principal:
        key = bearer.credentials if bearer is not None else header
        if not key:
            raise HTTPException(401, "an API key is required", headers=_CHALLENGE)
        # The request's own session (cached per request): one connection.
        row = find_key(session, key)
        if row is None:
            raise HTTPException(401, "unknown or revoked API key", headers=_CHALLENGE)
        principal = Principal(key_id=row.id, name=row.name, role=Role(row.role))
        if principal.role not in allowed:
            names = ", ".join(sorted(allowed))
            raise HTTPException(403, f"role {principal.role} may not; allowed: {names}")
        return principal

    return authenticate
