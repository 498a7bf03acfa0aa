"""API keys and roles.

A key is ``mp_`` followed by 32 random bytes (URL-safe base64). The database
keeps only its SHA-256, so a leaked table grants nothing. A key is found by
looking up that hash in a unique index: the comparison happens on digests
inside the database, so response times do not reveal how much of a guessed
key was right, and no constant-time string comparison is needed. (A fast
hash is enough here: the keys are random, not passwords.)

An app's :class:`KeyCache` remembers the keys it has just verified for
:data:`KEY_CACHE_SECONDS`, so a burst of requests costs one lookup, not one
each; a key in use is looked up again in the background in the last
:data:`KEY_REFRESH_AHEAD` seconds of that time, so its requests never all
miss together when it runs out (every 5 s, a herd of lookups). Revoking a
key forgets it in the revoking process at once; another process may still
accept it for up to that long. The dependency that checks
keys is :func:`api.deps.require`.

A ``device`` key is bound when it is issued: to one vehicle, or to the
vehicles of one depot (:func:`binding_errors` says what is wrong with a
binding); what such a key may report is decided by
:mod:`api.services.scopes`. Any key may carry an expiry, after which it is
refused like a revoked one.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import secrets
import threading
import time
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy.orm import Session, sessionmaker

from api.db import keys as key_rows
from api.db.base import utcnow
from api.db.models import ApiKey

__all__ = [
    "KEY_CACHE_SECONDS",
    "KEY_PREFIX",
    "KEY_REFRESH_AHEAD",
    "KeyCache",
    "Principal",
    "Role",
    "binding_errors",
    "create_key",
    "find_key",
    "hash_key",
    "issue_key",
    "key_refusal",
]

KEY_PREFIX = "mp_"
#: Seconds a verified key is trusted without asking the database again.
KEY_CACHE_SECONDS = 5.0
#: In the last this many seconds of its trust a key in use is looked up
#: again, once, in a background thread (the requests go on with it).
KEY_REFRESH_AHEAD = 1.0

log = logging.getLogger("milepost.auth")


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
    #: A device key's van, or ``None``.
    vehicle_id: str | None = None
    #: A device key's depot (its vans), or ``None``.
    depot_id: str | None = None
    expires_at: dt.datetime | None = None

    @classmethod
    def of(cls, row: ApiKey) -> Principal:
        """The principal a stored key stands for."""
        return cls(
            key_id=row.id,
            name=row.name,
            role=Role(row.role),
            vehicle_id=row.vehicle_id,
            depot_id=row.depot_id,
            expires_at=row.expires_at,
        )

    def expired(self, now: dt.datetime | None = None) -> bool:
        """Whether the key's expiry has passed."""
        return self.expires_at is not None and self.expires_at <= (now or utcnow())


def hash_key(key: str) -> str:
    """The SHA-256 hex digest stored for ``key``."""
    return hashlib.sha256(key.encode()).hexdigest()


def binding_errors(
    role: Role,
    *,
    vehicle_id: str | None,
    depot_id: str | None,
    expires_at: dt.datetime | None = None,
) -> list[tuple[str, str]]:
    """What is wrong with a key's binding and expiry, as ``(field, reason)``.

    A device key needs exactly one of ``vehicle_id`` and ``depot_id``; other
    roles take neither (they are not limited to vans). An expiry must be a
    timezone-aware time in the future.
    """
    errors: list[tuple[str, str]] = []
    if Role(role) is Role.device:
        if vehicle_id is None and depot_id is None:
            errors.append(
                (
                    "vehicle_id",
                    "a device key must be bound to a vehicle (vehicle_id) "
                    "or to a depot's vehicles (depot_id)",
                )
            )
        elif vehicle_id is not None and depot_id is not None:
            errors.append(("depot_id", "give vehicle_id or depot_id, not both"))
    else:
        for field, value in (("vehicle_id", vehicle_id), ("depot_id", depot_id)):
            if value is not None:
                errors.append((field, f"only device keys are bound; not {role}"))
    if expires_at is not None:
        if expires_at.tzinfo is None:
            errors.append(("expires_at", "give a timezone (e.g. Z or +09:00)"))
        elif expires_at <= utcnow():
            errors.append(("expires_at", "is not in the future"))
        else:
            try:
                expires_at.astimezone(dt.UTC)  # stored in UTC
            except OverflowError:
                errors.append(("expires_at", "is out of range"))
    return errors


def issue_key(
    session: Session,
    role: Role,
    name: str,
    *,
    vehicle_id: str | None = None,
    depot_id: str | None = None,
    expires_at: dt.datetime | None = None,
) -> tuple[ApiKey, str]:
    """Store a new key for ``role`` held by ``name``; its row and the plain key.

    The plain key ``mp_...`` is not kept anywhere: hand it over now. The
    caller commits.

    Raises
    ------
    ValueError
        When the binding or the expiry is wrong (:func:`binding_errors`): a
        device key must be bound to a vehicle or a depot.
    """
    errors = binding_errors(
        role, vehicle_id=vehicle_id, depot_id=depot_id, expires_at=expires_at
    )
    if errors:
        raise ValueError("; ".join(f"{f}: {r}" for f, r in errors))
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    row = key_rows.add_key(
        session,
        name=name,
        role=Role(role).value,
        key_hash=hash_key(key),
        vehicle_id=vehicle_id,
        depot_id=depot_id,
        expires_at=expires_at,
    )
    return row, key


def create_key(
    session: Session,
    role: Role,
    name: str,
    *,
    vehicle_id: str | None = None,
    depot_id: str | None = None,
    expires_at: dt.datetime | None = None,
) -> str:
    """Store a new key for ``role`` and return the plain key (shown once)."""
    return issue_key(
        session,
        role,
        name,
        vehicle_id=vehicle_id,
        depot_id=depot_id,
        expires_at=expires_at,
    )[1]


def find_key(session: Session, key: str) -> ApiKey | None:
    """The live (not revoked, not expired) key row for a plain key, if any."""
    if not key.startswith(KEY_PREFIX):
        return None
    row = key_rows.find_by_hash(session, key_hash=hash_key(key))
    if row is None or row.revoked_at is not None:
        return None
    if Principal.of(row).expired():
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
        self._sessions: sessionmaker[Session] | None = None
        self._refreshing: set[str] = set()

    def remembered(self, key: str) -> Principal | None:
        """The key's principal if it was verified less than ``seconds`` ago.

        Near the end of that time (:data:`KEY_REFRESH_AHEAD`) the key is
        looked up again in the background, once, if this cache has done a
        lookup before (it knows the sessions then).
        """
        digest = hash_key(key)
        hit = self._verified.get(digest)
        if hit is None or hit[1].expired():
            return None
        left = hit[0] - time.monotonic()
        if left <= 0:
            return None
        if left < min(KEY_REFRESH_AHEAD, self.seconds / 2) and self._sessions:
            self._refresh_later(digest, key)
        return hit[1]

    def look_up(self, sessions: sessionmaker[Session], key: str) -> Principal | None:
        """The key's principal: remembered, else from the database (remembered)."""
        hit = self.remembered(key)
        if hit is not None:
            return hit
        self._sessions = sessions
        return self._verify(sessions, key, hash_key(key))

    def _verify(
        self, sessions: sessionmaker[Session], key: str, digest: str
    ) -> Principal | None:
        now = time.monotonic()
        with sessions() as session:
            row = find_key(session, key)
        if row is None:
            with self._lock:
                self._verified.pop(digest, None)
            return None
        principal = Principal.of(row)
        with self._lock:
            if len(self._verified) >= self.size:
                self._verified.clear()
            self._verified[digest] = (now + self.seconds, principal)
        return principal

    def _refresh_later(self, digest: str, key: str) -> None:
        with self._lock:
            if digest in self._refreshing:
                return
            self._refreshing.add(digest)
        threading.Thread(
            target=self._refresh,
            args=(digest, key),
            name="milepost-key-refresh",
            daemon=True,
        ).start()

    def _refresh(self, digest: str, key: str) -> None:
        try:
            assert self._sessions is not None
            self._verify(self._sessions, key, digest)
        except Exception:
            # The key runs out as usual; the next request looks it up.
            log.warning("API key lookup ahead of time failed", exc_info=True)
        finally:
            with self._lock:
                self._refreshing.discard(digest)

    def forget(self, key_id: int) -> None:
        """Stop trusting the key with this id (it was revoked)."""
        with self._lock:
            for digest in [
                d for d, (_, p) in self._verified.items() if p.key_id == key_id
            ]:
                del self._verified[digest]


def key_refusal(sessions: sessionmaker[Session], key_id: int) -> str | None:
    """Why the key with this id no longer works, asking the database now.

    ``"revoked"`` (or gone) or ``"expired"``; None while it works. For what
    outlives the key cache (an open stream), which must notice a revocation
    made by another process.
    """
    with sessions() as session:
        row = key_rows.get_key(session, key_id=key_id)
        if row is None or row.revoked_at is not None:
            return "revoked"
        if Principal.of(row).expired():
            return "expired"
    return None
