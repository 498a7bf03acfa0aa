"""API keys: issue, list and revoke them (admin), and ask who you are."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from api.auth import Principal, Role
from api.deps import (
    AdminDep,
    DeprecatedSkip,
    KeyCacheDep,
    OptionalOffset,
    SessionDep,
    page_offset,
    require,
)
from api.errors import problem_responses
from api.services import keys
from api.services.errors import fields_under
from api.services.keys import ApiKeyCreate, ApiKeyCreated, ApiKeyPublic, ApiKeysPublic

__all__ = ["router"]

router = APIRouter(
    prefix="/keys",
    tags=["keys"],
    responses=problem_responses(401, 403),
)


@router.post(
    "", response_model=ApiKeyCreated, status_code=201, responses=problem_responses(422)
)
def create_api_key(
    body: ApiKeyCreate, session: SessionDep, _: AdminDep
) -> ApiKeyCreated:
    """Issue a key for a role (a device key bound to a vehicle or a depot);
    the response is the only time the key is shown."""
    with fields_under("body"):
        return keys.create_api_key(session, request=body)


@router.get("", response_model=ApiKeysPublic)
def read_api_keys(
    session: SessionDep,
    _: AdminDep,
    offset: OptionalOffset = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    skip: DeprecatedSkip = None,
) -> ApiKeysPublic:
    """List keys, oldest first."""
    start = page_offset(offset, skip)
    return keys.list_api_keys(session, skip=start, limit=limit)


@router.get("/me", response_model=ApiKeyPublic)
def read_own_key(
    session: SessionDep, caller: Annotated[Principal, Depends(require(*Role))]
) -> ApiKeyPublic:
    """The key the request was made with (any role)."""
    return keys.own_key(session, caller=caller)


# ``:int`` so that ``/v1/keys/me`` is not also a key id (its 405 ``Allow``
# names GET only).
@router.delete(
    "/{key_id:int}", response_model=ApiKeyPublic, responses=problem_responses(404)
)
def revoke_api_key(
    key_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    session: SessionDep,
    cache: KeyCacheDep,
    _: AdminDep,
) -> ApiKeyPublic:
    """Revoke a key; it stops working at once. Revoking twice is harmless."""
    return keys.revoke_api_key(session, cache=cache, key_id=key_id)
