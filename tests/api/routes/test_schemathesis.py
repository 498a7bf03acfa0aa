"""Property-based tests from the service's own OpenAPI description.

Schemathesis generates requests for every operation in ``/openapi.json``
(valid and invalid bodies, paths and queries) and sends them with an admin
key. No request may cause a 5xx, and every response must match the schema
the description promises for its status code (problem+json included).
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.app import create_app
from api.auth import Role, create_key
from api.settings import Settings
from tests.api.conftest import sqlite_url

# Schemathesis reads the description when the module is collected, so the
# app exists from then on; its database is created when the module's tests
# start (``started``). Jobs queue but never run here (no workers).
_FOLDER = Path(tempfile.mkdtemp(prefix="milepost-schemathesis-"))
atexit.register(shutil.rmtree, _FOLDER, ignore_errors=True)
APP = create_app(
    Settings(database_url=sqlite_url(_FOLDER), log_json=False, job_workers=0)
)
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)


@pytest.fixture(scope="module")
def admin_key() -> Iterator[str]:
    """The app started (database migrated) and an admin key, for every route."""
    with TestClient(APP):
        with APP.state.sessionmaker.begin() as session:
            key = create_key(session, Role.admin, "schemathesis")
        yield key


@schema.parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_error_and_responses_match_the_schema(
    case: schemathesis.Case, admin_key: str
) -> None:
    """Generated requests never get a 5xx or a response off its schema."""
    case.call_and_validate(
        headers={"Authorization": f"Bearer {admin_key}"},
        checks=[
            not_a_server_error,
            response_schema_conformance,
            status_code_conformance,
            content_type_conformance,
        ],
    )


def test_every_bound_is_published_as_json_schema() -> None:
    """Bounds reach the description as ``minimum``/``maximum``, never as
    pydantic's own ``ge``/``le`` keys (which clients and Schemathesis ignore:
    an optional field with a validator before its bounds loses them)."""
    raw: list[str] = []

    def walk(node: object, path: str) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("ge", "gt", "le", "lt") and isinstance(value, int | float):
                    raw.append(f"{path}.{key}")
                walk(value, f"{path}.{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, f"{path}[{i}]")

    document = APP.openapi()
    walk(document, "")
    assert raw == []
    # And the bounds are there: an order's demand, a location's latitude.
    location = document["components"]["schemas"]["Location"]["properties"]["lat"]
    assert {"minimum": -90.0, "maximum": 90.0}.items() <= location["anyOf"][0].items()
