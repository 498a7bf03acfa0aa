"""Every /v1 route against every role: who gets in, who gets 401 or 403.

Adding a route? Add a row to its area's ``tests/api/rows_<area>.py``:
``(METHOD, path template)`` -> ``case(roles that may call it, body=example,
**path values)``. ``admin`` may call everything and need not be listed;
``case(public=True)`` marks a route that needs no key (anyone, any key or none,
gets in). A /v1 route without a row fails ``test_every_route_has_a_row``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient

from api.app import create_app
from api.auth import Role
from api.settings import Settings
from tests.api import rows_dispatch, rows_jobs, rows_planning, rows_tracking
from tests.api.conftest import auth, make_keys, sqlite_url
from tests.api.roles import Case, case

ROUTE_ROLES: dict[tuple[str, str], Case] = {
    # keys
    ("GET", "/v1/keys"): case(),
    ("POST", "/v1/keys"): case(body={"role": "planner", "name": "matrix"}),
    ("GET", "/v1/keys/me"): case(*Role),
    ("DELETE", "/v1/keys/{key_id}"): case(key_id="999999"),
    **rows_dispatch.ROWS,
    **rows_jobs.ROWS,
    **rows_tracking.ROWS,
    **rows_planning.ROWS,
}


def v1_routes(app: FastAPI) -> set[tuple[str, str]]:
    """(method, path template) of every /v1 route of ``app``."""
    return {
        (method, ctx.path_format or ctx.path)
        for ctx in iter_route_contexts(app.routes)
        if ctx.path == "/v1" or (ctx.path or "").startswith("/v1/")
        for method in ctx.methods or ()
        if method != "HEAD"
    }


def fill(template: str, values: dict[str, str]) -> str:
    """A concrete path: given values, else ``0`` (404/422 are fine)."""
    return re.sub(r"{(\w+)(?::\w+)?}", lambda m: values.get(m.group(1), "0"), template)


@pytest.fixture(scope="module")
def matrix(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[FastAPI, TestClient, dict[Role, str]]]:
    """One started app (SQLite; roles do not depend on the backend) and keys."""
    url = sqlite_url(tmp_path_factory.mktemp("roles"))
    app = create_app(Settings(database_url=url))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield app, client, make_keys(app)


def test_every_route_has_a_row(
    matrix: tuple[FastAPI, TestClient, dict[Role, str]],
) -> None:
    """Each /v1 route has a ROUTE_ROLES row, and each row is a real route."""
    routes = v1_routes(matrix[0])
    assert routes - ROUTE_ROLES.keys() == set(), "routes missing from ROUTE_ROLES"
    assert ROUTE_ROLES.keys() - routes == set(), "ROUTE_ROLES rows without a route"


@pytest.mark.parametrize(
    ("method", "template"),
    sorted(ROUTE_ROLES),
    ids=[" ".join(k) for k in sorted(ROUTE_ROLES)],
)
def test_route_lets_in_exactly_its_roles(
    matrix: tuple[FastAPI, TestClient, dict[Role, str]], method: str, template: str
) -> None:
    """No key: 401. Forbidden role: 403. Allowed role: neither, and no 5xx.

    A public route lets in every caller, with or without a key.
    """
    _, client, keys = matrix
    row = ROUTE_ROLES[(method, template)]
    path = fill(template, row.path)

    def call(headers: dict[str, str]) -> int:
        return client.request(method, path, json=row.body, headers=headers).status_code

    if row.public:
        for headers in ({}, auth("mp_not-a-real-key")):
            status = call(headers)
            assert status not in (401, 403) and status < 500, ("no key", status)
    else:
        assert call({}) == 401
        assert call(auth("mp_not-a-real-key")) == 401
    for role in Role:
        status = call(auth(keys[role]))
        if role in row.roles:
            assert status not in (401, 403) and status < 500, (role, status)
        else:
            assert status == 403, (role, status)
