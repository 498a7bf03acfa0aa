"""Depots and vehicles through the API, on SQLite and PostgreSQL."""

from __future__ import annotations

from fastapi.testclient import TestClient

from api.auth import Role
from tests.api.conftest import auth
from tests.api.dispatch_data import depot, fields, order, seed, vehicle


def test_depot_crud_round_trip(client: TestClient, keys: dict[Role, str]) -> None:
    """A depot is created, read, listed, replaced and deleted."""
    d = auth(keys[Role.dispatcher])
    created = client.post("/v1/depots", json=depot("seoul"), headers=d)
    assert created.status_code == 201
    body = created.json()
    assert body["id"] == "seoul"
    assert body["location"] == {
        "lat": 37.55,
        "lon": 126.97,
        "node": None,
        "index": None,
    }
    assert body["created_at"] == body["updated_at"]

    got = client.get("/v1/depots/seoul", headers=auth(keys[Role.planner]))
    assert got.status_code == 200
    assert got.json() == body

    replaced = client.put(
        "/v1/depots/seoul",
        json=depot("seoul", lat=37.6) | {"name": "Seoul hub"},
        headers=d,
    )
    assert replaced.status_code == 200
    assert replaced.json()["location"]["lat"] == 37.6
    assert replaced.json()["name"] == "Seoul hub"
    assert replaced.json()["created_at"] == body["created_at"]
    assert replaced.json()["updated_at"] >= body["updated_at"]

    listed = client.get("/v1/depots", headers=d).json()
    assert listed["count"] == 1
    assert [x["name"] for x in listed["data"]] == ["Seoul hub"]

    deleted = client.delete("/v1/depots/seoul", headers=d)
    assert deleted.status_code == 204
    assert deleted.content == b""
    assert client.get("/v1/depots/seoul", headers=d).status_code == 404


def test_depot_errors(client: TestClient, keys: dict[Role, str]) -> None:
    """Unknown depots are 404, a taken id 409, bad bodies 422 naming the field."""
    d = auth(keys[Role.dispatcher])
    for method in ("GET", "PUT", "DELETE"):
        r = client.request(
            method, "/v1/depots/nowhere", json=depot("nowhere"), headers=d
        )
        assert r.status_code == 404, method
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["detail"] == "no depot 'nowhere'"

    assert client.post("/v1/depots", json=depot("seoul"), headers=d).status_code == 201
    dup = client.post("/v1/depots", json=depot("seoul"), headers=d)
    assert dup.status_code == 409
    assert dup.json()["status"] == 409
    assert "seoul" in dup.json()["detail"]

    # Index-only locations cannot be planned without matrices.
    no_coords = {"id": "x", "location": {"index": 3}}
    assert fields(client.post("/v1/depots", json=no_coords, headers=d)) == [
        "body.location"
    ]
    bad_lat = depot("x", lat=91.0)
    assert fields(client.post("/v1/depots", json=bad_lat, headers=d)) == [
        "body.location.lat"
    ]
    extra = depot("x") | {"colour": "red"}
    assert fields(client.post("/v1/depots", json=extra, headers=d)) == ["body.colour"]
    other_id = client.put("/v1/depots/seoul", json=depot("busan"), headers=d)
    assert fields(other_id) == ["body.id"]
    assert client.get("/v1/depots/busan", headers=d).status_code == 404


def test_depot_in_use_cannot_be_deleted(
    client: TestClient, keys: dict[Role, str]
) -> None:
    """409 while a vehicle or an active order uses the depot.

    Cancelled orders do not hold it."""
    d = auth(keys[Role.dispatcher])
    seed(client, keys, depots=("seoul",), vans=1)
    r = client.delete("/v1/depots/seoul", headers=d)
    assert r.status_code == 409
    assert "seoul-van-0" in r.json()["detail"]

    assert client.delete("/v1/vehicles/seoul-van-0", headers=d).status_code == 204
    assert client.post("/v1/orders", json=order("o-1"), headers=d).status_code == 201
    r = client.delete("/v1/depots/seoul", headers=d)
    assert r.status_code == 409
    assert r.json()["detail"] == "1 active orders are at depot 'seoul'"

    assert client.delete("/v1/orders/o-1", headers=d).status_code == 200
    assert client.delete("/v1/depots/seoul", headers=d).status_code == 204


def test_a_vehicle_ending_at_a_depot_keeps_it(
    client: TestClient, keys: dict[Role, str]
) -> None:
    """A depot that is only some vehicle's end depot is in use too."""
    d = auth(keys[Role.dispatcher])
    seed(client, keys, depots=("seoul", "incheon"), vans=0)
    body = vehicle("van-x", start="seoul") | {"end": "incheon"}
    assert client.post("/v1/vehicles", json=body, headers=d).status_code == 201
    r = client.delete("/v1/depots/incheon", headers=d)
    assert r.status_code == 409
    assert "van-x" in r.json()["detail"]


def test_depot_paging(client: TestClient, keys: dict[Role, str]) -> None:
    """Lists are ordered by id and paged with limit and offset; count is the total."""
    d = auth(keys[Role.dispatcher])
    for name in ("c", "a", "e", "b", "d"):
        assert client.post("/v1/depots", json=depot(name), headers=d).status_code == 201
    page = client.get("/v1/depots?limit=2&offset=1", headers=d).json()
    assert page["count"] == 5
    assert [x["id"] for x in page["data"]] == ["b", "c"]
    last = client.get("/v1/depots?limit=2&offset=4", headers=d).json()
    assert [x["id"] for x in last["data"]] == ["e"]
    assert fields(client.get("/v1/depots?limit=0", headers=d)) == ["query.limit"]
    assert fields(client.get("/v1/depots?offset=-1", headers=d)) == ["query.offset"]


def test_vehicle_crud_round_trip(client: TestClient, keys: dict[Role, str]) -> None:
    """A vehicle is created, read, filtered by depot, replaced and deleted."""
    d = auth(keys[Role.dispatcher])
    seed(client, keys, depots=("seoul", "busan"), vans=0)
    created = client.post("/v1/vehicles", json=vehicle("van-1", "seoul"), headers=d)
    assert created.status_code == 201
    body = created.json()
    assert body["id"] == "van-1"
    assert body["depot_id"] == "seoul"
    assert body["shift"] == {"start": 8 * 3600, "end": 18 * 3600}
    assert body["capacity"] == [20]
    assert (
        client.get("/v1/vehicles/van-1", headers=auth(keys[Role.planner])).json()
        == body
    )

    client.post("/v1/vehicles", json=vehicle("van-2", "busan"), headers=d)
    by_depot = client.get("/v1/vehicles?depot_id=busan", headers=d).json()
    assert by_depot["count"] == 1
    assert [v["id"] for v in by_depot["data"]] == ["van-2"]
    assert client.get("/v1/vehicles", headers=d).json()["count"] == 2

    moved = client.put(
        "/v1/vehicles/van-1", json=vehicle("van-1", "busan", capacity=30), headers=d
    )
    assert moved.status_code == 200
    assert moved.json()["depot_id"] == "busan"
    assert moved.json()["capacity"] == [30]
    assert client.get("/v1/vehicles?depot_id=seoul", headers=d).json()["count"] == 0

    assert client.delete("/v1/vehicles/van-1", headers=d).status_code == 204
    assert client.get("/v1/vehicles/van-1", headers=d).status_code == 404
    assert client.delete("/v1/vehicles/van-1", headers=d).status_code == 404


def test_vehicle_errors(client: TestClient, keys: dict[Role, str]) -> None:
    """Unknown depots, no depot, other capacity dimensions and bad shifts are 422."""
    d = auth(keys[Role.dispatcher])
    seed(client, keys, depots=("seoul",), vans=1)
    unknown = vehicle("van-9", start="mars") | {"end": "venus"}
    assert fields(client.post("/v1/vehicles", json=unknown, headers=d)) == [
        "body.start",
        "body.end",
    ]
    nowhere = vehicle("van-9") | {"start": None, "end": None}
    assert fields(client.post("/v1/vehicles", json=nowhere, headers=d)) == [
        "body.start"
    ]
    two_dims = vehicle("van-9") | {"capacity": [10, 5]}
    r = client.post("/v1/vehicles", json=two_dims, headers=d)
    assert fields(r) == ["body.capacity"]
    assert "the other vehicles have 1" in r.json()["errors"][0]["reason"]
    backwards = vehicle("van-9") | {"shift": [3600, 60]}
    assert fields(client.post("/v1/vehicles", json=backwards, headers=d)) == [
        "body.shift"
    ]

    dup = client.post("/v1/vehicles", json=vehicle("seoul-van-0"), headers=d)
    assert dup.status_code == 409
    assert dup.json()["detail"] == "vehicle id already exists: 'seoul-van-0'"
    # The only vehicle may change its dimensions: nothing else to agree with.
    alone = vehicle("seoul-van-0") | {"capacity": [10, 5]}
    assert (
        client.put("/v1/vehicles/seoul-van-0", json=alone, headers=d).status_code == 200
    )
    r = client.put("/v1/vehicles/van-9", json=vehicle("van-9"), headers=d)
    assert r.status_code == 404
    assert r.json()["detail"] == "no vehicle 'van-9'"
