"""API keys: issue, list and revoke them (admin), and ask who you are."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select

from api.auth import Principal, Role, issue_key, require, revoke_key
from api.db.models import ApiKey
from api.deps import AdminDep, Offset, SessionDep
from api.errors import problem_responses

__all__ = ["router"]

router = APIRouter(
    prefix="/keys",
    tags=["keys"],
    responses=problem_responses(401, 403),
)


class ApiKeyCreate(BaseModel):
    """A key to issue."""

    model_config = ConfigDict(extra="forbid")

    role: Role
    name: str = Field(min_length=1, max_length=200, description="who holds it")


class ApiKeyPublic(BaseModel):
    """A key as listed: never the key itself, nor its hash."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    role: Role
    created_at: dt.datetime
    revoked_at: dt.datetime | None = None


class ApiKeyCreated(ApiKeyPublic):
    """A new key, with the plain key shown this once."""

    key: str


class ApiKeysPublic(BaseModel):
    """A page of keys."""

    data: list[ApiKeyPublic]
    count: int


@router.post("", response_model=ApiKeyCreated, status_code=201)
def create_api_key(
    body: ApiKeyCreate, session: SessionDep, _: AdminDep
) -> ApiKeyCreated:
    """Issue a key for a role; the response is the only time it is shown."""
    row, key = issue_key(session, body.role, body.name)
    return ApiKeyCreated(**ApiKeyPublic.model_validate(row).model_dump(), key=key)


@router.get("", response_model=ApiKeysPublic)
def read_api_keys(
    session: SessionDep,
    _: AdminDep,
    skip: Offset = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> ApiKeysPublic:
    """List keys, oldest first."""
    count = session.scalar(select(func.count()).select_from(ApiKey)) or 0
    rows = session.scalars(select(ApiKey).order_by(ApiKey.id).offset(skip).limit(limit))
    return ApiKeysPublic(
        data=[ApiKeyPublic.model_validate(r) for r in rows], count=count
    )


@router.get("/me", response_model=ApiKeyPublic)
def read_own_key(
    session: SessionDep, caller: Annotated[Principal, Depends(require(*Role))]
) -> ApiKeyPublic:
    """The key the request was made with (any role)."""
    return ApiKeyPublic.model_validate(session.get(ApiKey, caller.key_id))


@router.delete(
    "/{key_id}", response_model=ApiKeyPublic, responses=problem_responses(404)
)
def revoke_api_key(key_id: int, session: SessionDep, _: AdminDep) -> ApiKeyPublic:
    """Revoke a key; it stops working at once. Revoking twice is harmless."""
    row = revoke_key(session, key_id)
    if row is None:
        raise HTTPException(404, f"no API key {key_id}")
    return ApiKeyPublic.model_validate(row)
