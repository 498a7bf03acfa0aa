"""The dependencies routers use, as ``Annotated`` aliases.

::

    from api.deps import SessionDep, SettingsDep, Role, require

    @router.get("/{depot_id}", response_model=DepotPublic)
    def read_depot(
        depot_id: str,
        session: SessionDep,
        caller: Annotated[Principal, Depends(require(Role.dispatcher))],
    ) -> DepotPublic: ...
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Request
from sqlalchemy import Engine

from api.auth import Principal, Role, require
from api.db.session import SessionDep, get_session
from api.settings import Settings

__all__ = [
    "AdminDep",
    "EngineDep",
    "Offset",
    "Principal",
    "Role",
    "SessionDep",
    "SettingsDep",
    "get_app_settings",
    "get_engine",
    "get_session",
    "require",
]


def get_app_settings(request: Request) -> Settings:
    """The settings the app was created with."""
    settings: Settings = request.app.state.settings
    return settings


def get_engine(request: Request) -> Engine:
    """The app's engine (for work outside the request's session)."""
    engine: Engine = request.app.state.engine
    return engine


SettingsDep = Annotated[Settings, Depends(get_app_settings)]
#: Items a list route skips. Bounded, so a huge value is a 422 and never
#: reaches the database (SQLite integers are 64-bit).
MAX_OFFSET = 1_000_000_000
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description="items to skip")]
EngineDep = Annotated[Engine, Depends(get_engine)]
AdminDep = Annotated[Principal, Depends(require(Role.admin))]
