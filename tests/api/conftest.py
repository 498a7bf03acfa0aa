"""Fixtures for the service tests: a real database (SQLite and PostgreSQL).

``database_url`` gives each test a fresh database, once per backend: empty,
or already at the newest schema for a test that starts the service
(``client``), which would migrate it first thing anyway. Those are copies of
a template migrated once per test process (``tests/databases.py``).
PostgreSQL must listen on 127.0.0.1:5432 (``scripts/test.sh`` starts it);
set ``MILEPOST_TEST_PG_ADMIN_URL`` to use another server. Without it the
PostgreSQL half of each test is skipped with the reason, unless
``MILEPOST_REQUIRE_SERVICES=1`` (scripts/test.sh) makes it fail.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.app import create_app
from api.auth import Role, create_key
from api.settings import Settings
from tests.databases import PgDatabases, copy_sqlite
from tests.helpers import service_missing

PG_ADMIN_URL = os.environ.get(
    "MILEPOST_TEST_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
BACKENDS = ["sqlite", "postgresql"]


#: The file name of a test's SQLite database.
DB = "milepost.db"


def sqlite_url(folder: Path) -> str:
    """A SQLite database file in ``folder``."""
    return f"sqlite:///{folder / DB}"


@pytest.fixture(scope="session")
def pg_admin() -> Iterator[psycopg.Connection]:
    """An autocommit connection to the PostgreSQL server, for CREATE DATABASE."""
    try:
        conn = psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        one_line = " ".join(str(exc).split())
        service_missing(
            f"PostgreSQL is not reachable at {PG_ADMIN_URL} ({one_line}); start it "
            "(scripts/test.sh does: pg_ctlcluster <version> main start) or set "
            "MILEPOST_TEST_PG_ADMIN_URL"
        )
    with conn:
        yield conn


@pytest.fixture(scope="session")
def pg_databases(pg_admin: psycopg.Connection) -> Iterator[PgDatabases]:
    """This test process's PostgreSQL databases, made ahead in a thread."""
    databases = PgDatabases(PG_ADMIN_URL)
    yield databases
    databases.close()


@pytest.fixture
def pg_url(pg_databases: PgDatabases) -> Iterator[str]:
    """A new, empty PostgreSQL database, dropped after the test."""
    name = pg_databases.take(migrated=False)
    yield pg_databases.url(name)
    pg_databases.give_back(name)


@pytest.fixture
def migrated_pg_url(pg_databases: PgDatabases) -> Iterator[str]:
    """A new PostgreSQL database at the newest schema, dropped after the test."""
    name = pg_databases.take(migrated=True)
    yield pg_databases.url(name)
    pg_databases.give_back(name)


def starts_the_service(request: pytest.FixtureRequest) -> bool:
    """Whether the test starts the service (``client``), which migrates."""
    return "client" in request.fixturenames


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A new database, once on SQLite and once on PostgreSQL.

    Empty; at the newest schema if the test starts the service.
    """
    migrated = starts_the_service(request)
    if request.param == "sqlite":
        if migrated:
            copy_sqlite(request.getfixturevalue("sqlite_template"), tmp_path / DB)
        return sqlite_url(tmp_path)
    url: str = request.getfixturevalue("migrated_pg_url" if migrated else "pg_url")
    return url


@pytest.fixture
def settings(database_url: str) -> Settings:
    """Service settings on the test database (override to change limits)."""
    return Settings(database_url=database_url, log_json=False)


@pytest.fixture
def app(settings: Settings) -> FastAPI:
    """The service, not yet started."""
    return create_app(settings)


@pytest.fixture
def client(request: pytest.FixtureRequest, app: FastAPI) -> Iterator[TestClient]:
    """A started service (lifespan ran: the database is migrated)."""
    premigrated = "database_url" in request.fixturenames
    if premigrated and not app.state.settings.migrate_on_start:
        pytest.fail(
            "client starts the service on database_url migrated beforehand, "
            "so migrate_on_start=False would not see an old schema: use "
            "TestClient(create_app(...)) on pg_url or a SQLite file instead"
        )
    with TestClient(app) as c:
        yield c


#: The vehicle the test device key (``keys[Role.device]``) is bound to.
DEVICE_VAN = "van-1"


def make_keys(app: FastAPI) -> dict[Role, str]:
    """One plain key per role, stored through the app's database.

    The device key is bound to :data:`DEVICE_VAN`; :func:`device_key` makes
    one for another van.
    """
    with app.state.sessionmaker.begin() as session:
        return {
            role: create_key(
                session,
                role,
                f"test {role}",
                vehicle_id=DEVICE_VAN if role is Role.device else None,
            )
            for role in Role
        }


def device_key(app: FastAPI, vehicle: str) -> str:
    """A plain device key bound to ``vehicle``."""
    with app.state.sessionmaker.begin() as session:
        return create_key(session, Role.device, f"device {vehicle}", vehicle_id=vehicle)


@pytest.fixture
def keys(app: FastAPI, client: TestClient) -> dict[Role, str]:
    """A plain key for every role (``keys[Role.admin]``)."""
    return make_keys(app)


def auth(key: str) -> dict[str, str]:
    """Headers that send ``key`` as a bearer token."""
    return {"Authorization": f"Bearer {key}"}
