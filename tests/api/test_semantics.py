"""One set of HTTP semantics on every route (issue #19, item 5).

Pagination is named ``offset`` + ``limit`` everywhere (``skip`` is a
deprecated alias for one release); a 405 lists every method of its path;
the public tracking answers are never cached.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.auth import Role
from tests.api.conftest import auth

EXAMPLE = Path(__file__).resolve().parents[2] / "docs/examples/exchange_problem.json"
DAY = "2026-11-23"


def _make_keys(client: TestClient, admin: str, n: int) -> list[str]:
    ids = []
    for i in range(n):
        made = client.post(
            "/v1/keys", json={"role": "planner", "name": f"k{i}"}, headers=auth(admin)
        )
        assert made.status_code == 201, made.text
        ids.append(made.json()["id"])
    return ids


def test_lists_page_with_offset_and_still_read_skip(
    client: TestClient, keys: dict[Role, str]
) -> None:
    """``offset`` pages the keys list; the old ``skip`` still works; offset wins."""
    admin = keys[Role.admin]
    _make_keys(client, admin, 3)
    every = client.get("/v1/keys", headers=auth(admin)).json()["data"]
    ids = [k["id"] for k in every]
    assert len(ids) >= 4

    def page(**params: int) -> list[str]:
        got = client.get("/v1/keys", params={"limit": 2, **params}, headers=auth(admin))
        assert got.status_code == 200, got.text
        return [k["id"] for k in got.json()["data"]]

    assert page(offset=1) == ids[1:3]
    assert page(skip=2) == ids[2:4]
    assert page(offset=1, skip=2) == ids[1:3]
    assert page() == ids[:2]


@pytest.mark.parametrize("path", ["/v1/keys", "/v1/plans"])
def test_offset_is_named_in_openapi_and_skip_is_deprecated(
    client: TestClient, path: str
) -> None:
    """The schema names ``offset``; ``skip`` is marked deprecated."""
    params = {
        p["name"]: p
        for p in client.get("/openapi.json").json()["paths"][path]["get"]["parameters"]
    }
    assert "offset" in params
    assert params["skip"].get("deprecated") is True


def test_a_bad_offset_is_422_naming_it(
    client: TestClient, keys: dict[Role, str]
) -> None:
    """A negative offset or skip is refused, naming the parameter."""
    for name in ("offset", "skip"):
        got = client.get("/v1/plans", params={name: -1}, headers=auth(keys[Role.admin]))
        assert got.status_code == 422, got.text
        assert [e["field"] for e in got.json()["errors"]] == [f"query.{name}"]


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("DELETE", "/v1/plans", {"GET", "POST"}),
        ("PUT", "/v1/keys", {"GET", "POST"}),
        ("PATCH", "/v1/orders", {"GET", "POST"}),
    ],
)
def test_405_allow_lists_every_method_of_the_path(
    client: TestClient,
    keys: dict[Role, str],
    method: str,
    path: str,
    allowed: set[str],
) -> None:
    """Allow names the methods of all routes on the path, not of the first one."""
    got = client.request(method, path, headers=auth(keys[Role.admin]))
    assert got.status_code == 405, got.text
    assert {m.strip() for m in got.headers["allow"].split(",")} == allowed


def _order_token(client: TestClient, key: str) -> str:
    example: dict[str, Any] = json.loads(EXAMPLE.read_text())
    headers = auth(key)
    depot = example["depots"][0]
    assert client.post("/v1/depots", json=depot, headers=headers).status_code == 201
    order = {"day": DAY, "job": example["jobs"][0], "depot_id": depot["id"]}
    created = client.post("/v1/orders", json=order, headers=headers)
    assert created.status_code == 201, created.text
    token: str = created.json()["tracking_token"]
    return token


def test_tracking_link_answers_are_not_stored(
    client: TestClient, keys: dict[Role, str]
) -> None:
    """``/v1/track/...`` answers carry ``Cache-Control: no-store``; others do not."""
    token = _order_token(client, keys[Role.dispatcher])
    found = client.get(f"/v1/track/{token}")
    assert found.status_code == 200, found.text
    assert found.headers["cache-control"] == "no-store"
    missing = client.get("/v1/track/no-such-token-at-all")
    assert missing.status_code == 404
    assert missing.headers["cache-control"] == "no-store"
    other = client.get("/v1/depots", headers=auth(keys[Role.dispatcher]))
    assert "cache-control" not in other.headers


@pytest.mark.parametrize("day", [0, 20261123, 1.5, True, "0", "1700000000", None])
def test_a_number_is_not_a_day_in_a_body(
    client: TestClient, keys: dict[Role, str], day: Any
) -> None:
    """``"day": 0`` (or a timestamp, a bool, null) is a 422 on body.day."""
    body = {"day": day, "events": []}
    got = client.post("/v1/events", json=body, headers=auth(keys[Role.dispatcher]))
    assert got.status_code == 422, got.text
    assert "body.day" in [e["field"] for e in got.json()["errors"]]


@pytest.mark.parametrize("path", ["/v1/orders", "/v1/plans", "/v1/exceptions"])
@pytest.mark.parametrize("day", ["0", "1700000000", "2026-11-23T00:00"])
def test_a_number_is_not_a_day_in_a_query(
    client: TestClient, keys: dict[Role, str], path: str, day: str
) -> None:
    """``?day=0`` is a 422 on query.day; a real day is answered."""
    headers = auth(keys[Role.dispatcher])
    got = client.get(path, params={"day": day}, headers=headers)
    assert got.status_code == 422, got.text
    assert [e["field"] for e in got.json()["errors"]] == ["query.day"]
    assert client.get(path, params={"day": DAY}, headers=headers).status_code == 200


@pytest.mark.parametrize("at", [False, True, "08:00", 3600.5])
def test_a_boolean_is_not_a_time(
    client: TestClient, keys: dict[Role, str], at: Any
) -> None:
    """``"at": false`` is a 422 naming the event's ``at``; 3600 is taken."""
    event = {
        "type": "position",
        "id": "p1",
        "vehicle": "van-1",
        "lat": 37.5,
        "lon": 127.0,
    }
    headers = auth(keys[Role.dispatcher])
    body = {"day": DAY, "events": [{**event, "at": at}]}
    got = client.post("/v1/events", json=body, headers=headers)
    assert got.status_code == 422, got.text
    assert [e["field"] for e in got.json()["errors"]] == ["body.events[0].at"]
    body = {"day": DAY, "events": [{**event, "at": 3600}]}
    assert client.post("/v1/events", json=body, headers=headers).status_code == 200
