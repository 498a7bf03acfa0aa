"""API keys: issue, list and revoke them, and say whose a key is."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from api.auth import KeyCache, Principal, Role, binding_errors, issue_key
from api.db import fleet
from api.db import keys as key_rows
from api.db.base import utcnow
from api.services.errors import FieldError, Invalid, NotFound
from routing.bounds import Id, Text

__all__ = [
    "ApiKeyCreate",
    "ApiKeyCreated",
    "ApiKeyPublic",
    "ApiKeysPublic",
    "create_api_key",
    "list_api_keys",
    "own_key",
    "revoke_api_key",
]


class ApiKeyCreate(BaseModel):
    """A key to issue."""

    model_config = ConfigDict(extra="forbid")

    role: Role
    name: Text = Field(min_length=1, max_length=200, description="who holds it")
    vehicle_id: Id | None = Field(
        default=None,
        description="device keys: the one vehicle the key reports for",
    )
    depot_id: Id | None = Field(
        default=None,
        description="device keys: report for every stored vehicle of this depot",
    )
    expires_at: dt.datetime | None = Field(
        default=None,
        description="when the key stops working (with a timezone); none: never",
    )


class ApiKeyPublic(BaseModel):
    """A key as listed: never the key itself, nor its hash."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    role: Role
    created_at: dt.datetime
    revoked_at: dt.datetime | None = None
    vehicle_id: str | None = Field(default=None, description="a device key's vehicle")
    depot_id: str | None = Field(default=None, description="a device key's depot")
    expires_at: dt.datetime | None = None


class ApiKeyCreated(ApiKeyPublic):
    """A new key, with the plain key shown this once."""

    key: str


class ApiKeysPublic(BaseModel):
    """A page of keys."""

    data: list[ApiKeyPublic]
    count: int


def create_api_key(session: Session, *, request: ApiKeyCreate) -> ApiKeyCreated:
    """Issue a key for a role; the answer is the only time it is shown.

    A device key must be bound to a vehicle or to a stored depot (422 naming
    ``vehicle_id`` or ``depot_id`` otherwise); other keys to neither.
    """
    errors = [
        FieldError(field=field, reason=reason)
        for field, reason in binding_errors(
            request.role,
            vehicle_id=request.vehicle_id,
            depot_id=request.depot_id,
            expires_at=request.expires_at,
        )
    ]
    if (
        not errors
        and request.depot_id is not None
        and fleet.get_depot(session, depot_id=request.depot_id) is None
    ):
        errors.append(
            FieldError(field="depot_id", reason=f"unknown depot {request.depot_id!r}")
        )
    if errors:
        raise Invalid(errors)
    row, key = issue_key(
        session,
        request.role,
        request.name,
        vehicle_id=request.vehicle_id,
        depot_id=request.depot_id,
        expires_at=request.expires_at,
    )
    return ApiKeyCreated(**ApiKeyPublic.model_validate(row).model_dump(), key=key)


def list_api_keys(session: Session, *, skip: int, limit: int) -> ApiKeysPublic:
    """Keys, oldest first."""
    count, rows = key_rows.list_keys(session, skip=skip, limit=limit)
    return ApiKeysPublic(
        data=[ApiKeyPublic.model_validate(r) for r in rows], count=count
    )


def own_key(session: Session, *, caller: Principal) -> ApiKeyPublic:
    """The key the caller used."""
    return ApiKeyPublic.model_validate(key_rows.get_key(session, key_id=caller.key_id))


def revoke_api_key(session: Session, *, cache: KeyCache, key_id: int) -> ApiKeyPublic:
    """Revoke a key (idempotent); this app stops trusting it at once."""
    row = key_rows.get_key(session, key_id=key_id)
    if row is None:
        raise NotFound(f"no API key {key_id}")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
    cache.forget(key_id)
    return ApiKeyPublic.model_validate(row)
