"""Pickup stations through the service, on SQLite and PostgreSQL: stored
like depots."""

from __future__ import annotations

from fastapi.testclient import TestClient

from api.auth import Role
from tests.api.conftest import auth
from tests.api.dispatch_data import fields
from tests.api.routes.test_plans import assert_problem

#: A locker bank 1.5 km from the Seoul depot of ``dispatch_data``.
LOCKER = {
    "id": "locker-1",
    "name": "GS25 Hoehyeon",
    "location": {"lat": 37.558, "lon": 126.982},
    "service": 240,
    "per_parcel": 30,
}


def test_station_crud_round_trip(client: TestClient, keys: dict[Role, str]) -> None:
    """A station is created, read by a planner, listed, replaced and deleted."""
    d = auth(keys[Role.dispatcher])
    created = client.post("/v1/stations", json=LOCKER, headers=d)
    assert created.status_code == 201, created.text
    body = created.json()
    assert (body["id"], body["name"], body["service"], body["per_parcel"]) == (
        "locker-1",
        "GS25 Hoehyeon",
        240,
        30,
    )
    assert body["location"]["lat"] == 37.558
    got = client.get("/v1/stations/locker-1", headers=auth(keys[Role.planner]))
    assert got.status_code == 200 and got.json() == body

    moved = LOCKER | {"location": {"lat": 37.56, "lon": 126.98}}
    replaced = client.put("/v1/stations/locker-1", json=moved, headers=d)
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["location"]["lat"] == 37.56
    listed = client.get("/v1/stations", headers=d).json()
    assert listed["count"] == 1 and listed["data"][0]["id"] == "locker-1"

    assert client.delete("/v1/stations/locker-1", headers=d).status_code == 204
    assert client.get("/v1/stations/locker-1", headers=d).status_code == 404


def test_station_errors(client: TestClient, keys: dict[Role, str]) -> None:
    """Unknown stations 404, a taken id 409, bad bodies 422 naming the field;
    a storefront key may not write stations."""
    d = auth(keys[Role.dispatcher])
    assert client.get("/v1/stations/nowhere", headers=d).status_code == 404
    assert client.post("/v1/stations", json=LOCKER, headers=d).status_code == 201
    assert_problem(client.post("/v1/stations", json=LOCKER, headers=d), 409)
    no_coords = LOCKER | {"id": "x", "location": {"index": 2}}
    post = client.post("/v1/stations", json=no_coords, headers=d)
    assert fields(post) == ["body.location"]
    negative = LOCKER | {"id": "x", "service": -1}
    post = client.post("/v1/stations", json=negative, headers=d)
    assert fields(post) == ["body.service"]
    other_id = client.put("/v1/stations/locker-1", json=LOCKER | {"id": "y"}, headers=d)
    assert fields(other_id) == ["body.id"]
    denied = client.post(
        "/v1/stations",
        json=LOCKER | {"id": "z"},
        headers=auth(keys[Role.storefront]),
    )
    assert denied.status_code == 403
