"""The dependencies routes use, as ``Annotated`` aliases.

Everything stateful is made in :func:`api.app.create_app` and put on
``app.state`` there; these functions are the only readers of ``app.state``.

::

    from api.deps import SessionDep, Role, require

    @router.get("/{depot_id}", response_model=DepotPublic)
    def read_depot(
        depot_id: str,
        session: SessionDep,
        caller: Annotated[Principal, Depends(require(Role.dispatcher))],
    ) -> DepotPublic: ...
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from typing import Annotated, TypeVar

from fastapi import Depends, HTTPException, Query, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from api.auth import KeyCache, Principal, Role
from api.jobs.queue import JobQueue
from api.limits import Limits
from api.mqtt import MqttConsumer
from api.services.forecasts import CityHistory
from api.services.ingest import EventIngest
from api.services.reads import ReadSessions
from api.services.slots import SlotBooks
from api.services.tracking import LiveEtas
from api.settings import Settings
from api.telemetry import Metrics

T = TypeVar("T")

__all__ = [
    "AdminDep",
    "CityHistoryDep",
    "DeprecatedSkip",
    "EngineDep",
    "IngestDep",
    "JobQueueDep",
    "KeyCacheDep",
    "LimitsDep",
    "LiveEtasDep",
    "MetricsDep",
    "Offset",
    "OptionalOffset",
    "Principal",
    "ReadSessions",
    "ReadsDep",
    "Role",
    "SessionDep",
    "SessionsDep",
    "SettingsDep",
    "SlotBooksDep",
    "get_app_settings",
    "get_engine",
    "get_session",
    "page_offset",
    "require",
]


async def get_app_settings(request: Request) -> Settings:
    """The settings the app was created with."""
    settings: Settings = request.app.state.settings
    return settings


async def get_engine(request: Request) -> Engine:
    """The app's engine (for work outside the request's session)."""
    engine: Engine = request.app.state.engine
    return engine


async def get_sessions(request: Request) -> sessionmaker[Session]:
    """The app's session factory (for work in sessions of its own)."""
    sessions: sessionmaker[Session] = request.app.state.sessionmaker
    return sessions


def get_session(request: Request) -> Iterator[Session]:
    """A session of the app's factory; commit on success.

    Any exception (an ``HTTPException`` included) rolls the work back.
    """
    sessions: sessionmaker[Session] = request.app.state.sessionmaker
    with sessions() as session:
        try:
            yield session
        except BaseException:
            session.rollback()
            raise
        session.commit()


def _from_state(name: str, kind: type[T]) -> Callable[[Request], Awaitable[T]]:
    """A dependency reading ``app.state.<name>``, made by ``create_app``."""

    # async: FastAPI would run a plain function in a worker thread, a hop
    # per dependency per request for an attribute read.
    async def get(request: Request) -> T:
        value = getattr(request.app.state, name)
        assert isinstance(value, kind), f"app.state.{name} is no {kind.__name__}"
        return value

    get.__name__ = f"get_{name}"
    return get


#: The read path of the app (see :class:`ReadSessions`).
get_reads = _from_state("reads", ReadSessions)


# scope="function": commit before the response is sent, so a failed commit
# becomes an error response instead of a 200 for data that was never saved.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
SessionsDep = Annotated[sessionmaker[Session], Depends(get_sessions)]
SettingsDep = Annotated[Settings, Depends(get_app_settings)]
EngineDep = Annotated[Engine, Depends(get_engine)]
#: Where jobs are submitted (the registry of kinds and the runner's wake).
JobQueueDep = Annotated[JobQueue, Depends(_from_state("job_queue", JobQueue))]
SlotBooksDep = Annotated[SlotBooks, Depends(_from_state("slot_books", SlotBooks))]
#: The live ETAs, with their kept plans and routes.
LiveEtasDep = Annotated[LiveEtas, Depends(_from_state("live_etas", LiveEtas))]
#: The event ingest (shared with the MQTT consumer).
IngestDep = Annotated[EventIngest, Depends(_from_state("ingest", EventIngest))]
CityHistoryDep = Annotated[
    CityHistory, Depends(_from_state("city_history", CityHistory))
]
MetricsDep = Annotated[Metrics, Depends(_from_state("metrics", Metrics))]


async def get_mqtt(request: Request) -> MqttConsumer | None:
    """The app's MQTT consumer, None when the app consumes no MQTT."""
    value = request.app.state.mqtt
    assert value is None or isinstance(value, MqttConsumer)
    return value


#: The app's MQTT consumer (None without ``MILEPOST_MQTT``).
MqttDep = Annotated[MqttConsumer | None, Depends(get_mqtt)]
#: The keys the app verified lately.
KeyCacheDep = Annotated[KeyCache, Depends(_from_state("key_cache", KeyCache))]
ReadsDep = Annotated[ReadSessions, Depends(get_reads)]
#: The app's rate and stream limits.
LimitsDep = Annotated[Limits, Depends(_from_state("limits", Limits))]
#: Items a list route skips. Bounded, so a huge value is a 422 and never
#: reaches the database (SQLite integers are 64-bit).
MAX_OFFSET = 1_000_000_000
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description="items to skip")]
#: ``offset`` on a list route that also reads the deprecated ``skip``.
OptionalOffset = Annotated[
    int | None, Query(ge=0, le=MAX_OFFSET, description="items to skip")
]
#: The old name of ``offset`` on the keys and plans lists: still read for one
#: release (``offset`` wins when both are given), then removed.
DeprecatedSkip = Annotated[
    int | None,
    Query(
        ge=0,
        le=MAX_OFFSET,
        deprecated=True,
        description="deprecated: use offset (removed in the next release)",
    ),
]


def page_offset(offset: int | None, skip: int | None) -> int:
    """The offset a list route uses: ``offset``, else the deprecated ``skip``."""
    if offset is not None:
        return offset
    return skip or 0


# --- keys ------------------------------------------------------------------------

# Declared as security schemes so /docs shows an "Authorize" button.
_bearer = HTTPBearer(auto_error=False, description="Authorization: Bearer mp_...")
_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="mp_...")

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="milepost"'}


def require(*roles: Role) -> Callable[..., Awaitable[Principal]]:
    """A dependency that lets in keys of ``roles`` (and ``admin``).

    Use as ``Depends(require(Role.dispatcher))``; it returns the
    :class:`~api.auth.Principal`. Missing, unknown, revoked or expired keys get 401
    with ``WWW-Authenticate``; a key over its request rate gets 429
    (:mod:`api.limits`); a key of another role gets 403. No role given:
    ``admin`` only.
    """
    allowed = frozenset({*roles, Role.admin})

    # The key cache and the sessions come from the request, not from two
    # more dependencies: on the hottest routes (live ETAs) each dependency
    # FastAPI resolves is measurable (benchmarks/bench_api.py).
    async def authenticate(
        request: Request,
        bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
        header: Annotated[str | None, Security(_header)],
    ) -> Principal:
        state = request.app.state
        cache: KeyCache = state.key_cache
        limits: Limits = state.limits
        sessions: sessionmaker[Session] = state.sessionmaker
        key = bearer.credentials if bearer is not None else header
        if not key:
            raise HTTPException(401, "an API key is required", headers=_CHALLENGE)
        # A key verified moments ago is known without leaving the event loop;
        # otherwise one lookup in a worker thread, with its own short session.
        principal = cache.remembered(key)
        if principal is None:
            principal = await run_in_threadpool(cache.look_up, sessions, key)
        if principal is None:
            raise HTTPException(
                401, "unknown, revoked or expired API key", headers=_CHALLENGE
            )
        # Counted before the role check: refused calls cost the key too.
        limits.check_key(principal.key_id)
        if principal.role not in allowed:
            names = ", ".join(sorted(allowed))
            raise HTTPException(403, f"role {principal.role} may not; allowed: {names}")
        return principal

    return authenticate


AdminDep = Annotated[Principal, Depends(require(Role.admin))]
