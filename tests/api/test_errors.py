"""Every error is RFC 9457 problem+json: 404, 413, 422 and 500."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel

from api.app import create_app
from api.auth import Role
from api.deps import SettingsDep
from api.errors import check_max_items, field_path
from api.settings import Settings
from tests.api.conftest import auth

PROBLEM_KEYS = {"type", "title", "status", "detail", "instance"}


class Stop(BaseModel):
    lat: float
    lon: float


class Orders(BaseModel):
    orders: list[Stop]


def add_test_routes(app: FastAPI) -> None:
    """Routes that validate nested input, cap list length, and crash."""

    @app.post("/test/orders")
    def post_orders(body: Orders, settings: SettingsDep) -> dict[str, int]:
        check_max_items(body.orders, "body.orders", settings.max_list_items)
        return {"n": len(body.orders)}

    @app.get("/test/boom")
    def boom() -> None:
        raise RuntimeError("secret internals")


@pytest.fixture
def settings(database_url: str) -> Settings:
    """Small limits, so the tests send small bodies."""
    return Settings(database_url=database_url, max_body_bytes=2000, max_list_items=5)


@pytest.fixture
def app(settings: Settings) -> FastAPI:
    """The service plus the test routes."""
    app = create_app(settings)
    add_test_routes(app)
    return app


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    """A client that gets 500 responses instead of the exceptions."""
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def assert_problem(r: Any, status: int) -> dict[str, Any]:
    """``r`` is a problem+json response with ``status``; return its body."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = r.json()
    assert set(body) >= PROBLEM_KEYS
    assert body["status"] == status
    return body


def test_field_path_is_dotted_and_indexed() -> None:
    """Pydantic locations become body.orders[3].lat, without validator names."""
    assert field_path(("body", "orders", 3, "lat")) == "body.orders[3].lat"
    assert field_path(("query", "limit")) == "query.limit"
    assert field_path(("body", "function-after[check(), Stop]", "lat")) == "body.lat"


def test_422_names_the_field(client: TestClient) -> None:
    """A bad nested value gives 422 with the field path and the reason."""
    orders = [{"lat": 37.5, "lon": 127.0}] * 3 + [{"lat": "north", "lon": 127.0}]
    body = assert_problem(client.post("/test/orders", json={"orders": orders}), 422)
    assert body["errors"] == [
        {
            "field": "body.orders[3].lat",
            "reason": "Input should be a valid number, "
            "unable to parse string as a number",
        }
    ]
    assert body["detail"] == "1 field is invalid"


def test_422_for_missing_fields_and_bad_json(
    client: TestClient, keys: dict[Role, str]
) -> None:
    """Missing fields and unparsable JSON are 422 problems too."""
    r = client.post("/v1/keys", json={"role": "boss"}, headers=auth(keys[Role.admin]))
    body = assert_problem(r, 422)
    fields = {e["field"] for e in body["errors"]}
    assert fields == {"body.role", "body.name"}
    r = client.post(
        "/test/orders",
        content=b'{"orders": [',
        headers={"content-type": "application/json"},
    )
    body = assert_problem(r, 422)
    assert body["errors"][0]["field"] == "body"
    assert body["errors"][0]["reason"].startswith("invalid JSON")


def test_list_too_long_is_422(client: TestClient) -> None:
    """A list over max_list_items is refused, naming the list."""
    orders = [{"lat": 37.5, "lon": 127.0}] * 6
    body = assert_problem(client.post("/test/orders", json={"orders": orders}), 422)
    assert body["errors"] == [
        {"field": "body.orders", "reason": "at most 5 items, got 6"}
    ]


def test_oversized_body_is_413(client: TestClient) -> None:
    """A body over max_body_bytes is 413, declared or streamed."""
    big = {"orders": [{"lat": 37.5, "lon": 127.0}] * 100}
    body = assert_problem(client.post("/test/orders", json=big), 413)
    assert "2000 bytes" in str(body["detail"])

    def chunks() -> Iterator[bytes]:
        yield b'{"orders": ['
        for _ in range(100):
            yield b'{"lat": 37.5, "lon": 127.0},'
        yield b"]}"

    r = client.post(
        "/test/orders", content=chunks(), headers={"content-type": "application/json"}
    )
    assert "content-length" not in r.request.headers
    assert_problem(r, 413)
    # Small bodies still pass.
    ok = client.post("/test/orders", json={"orders": [{"lat": 1, "lon": 2}]})
    assert ok.status_code == 200


def test_unknown_route_is_404_problem(client: TestClient) -> None:
    """An unknown path is a 404 problem naming the path."""
    body = assert_problem(client.get("/v1/nothing-here"), 404)
    assert body["instance"] == "/v1/nothing-here"
    assert body["title"] == "Not Found"


def test_crash_is_500_problem_without_traceback(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    """An unhandled error is a 500 problem with the request id; the log has the
    traceback, the response does not."""
    with caplog.at_level(logging.ERROR, logger="milepost.errors"):
        r = client.get("/test/boom", headers={"X-Request-ID": "crash-1"})
    body = assert_problem(r, 500)
    assert body["request_id"] == "crash-1"
    assert r.headers["x-request-id"] == "crash-1"
    assert "secret internals" not in r.text
    assert "Traceback" not in r.text
    logged = [rec for rec in caplog.records if rec.name == "milepost.errors"]
    assert len(logged) == 1
    assert logged[0].exc_info is not None
    assert logged[0].request_id == "crash-1"
