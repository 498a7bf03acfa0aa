"""Pickup stations through the service, on SQLite and PostgreSQL: stored
like depots, named by orders, planned, tracked, and protected while used."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from api.auth import Role
from routing.plan import Plan, StepType
from tests.api.conftest import auth
from tests.api.dispatch_data import DAY, fields, order, seed
from tests.api.routes.test_plans import PARAMS, assert_problem, wait_plan

#: A locker bank 1.5 km from the Seoul depot of ``dispatch_data``.
LOCKER = {
    "id": "locker-1",
    "name": "GS25 Hoehyeon",
    "location": {"lat": 37.558, "lon": 126.982},
    "service": 240,
    "per_parcel": 30,
}


def station_order(order_id: str, station: str = "locker-1") -> dict[str, Any]:
    """An order delivered to ``station``, without an address of its own."""
    body = order(order_id, station=station, service_level="pickup_station")
    del body["job"]["location"]
    return body


def _store(client: TestClient, keys: dict[Role, str]) -> dict[str, str]:
    """A depot, a van, the locker, two station orders and a home delivery;
    the orders' tracking tokens by id."""
    seed(client, keys)
    d = auth(keys[Role.dispatcher])
    assert client.post("/v1/stations", json=LOCKER, headers=d).status_code == 201
    tokens = {}
    for body in (station_order("s-1"), order("h-1", i=3)):
        created = client.post("/v1/orders", json=body, headers=d)
        assert created.status_code == 201, created.text
        tokens[body["job"]["id"]] = created.json()["tracking_token"]
    batch = client.post(
        "/v1/orders/batch", json={"orders": [station_order("s-2")]}, headers=d
    )
    assert batch.status_code == 201, batch.text
    tokens["s-2"] = batch.json()["data"][0]["tracking_token"]
    return tokens


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


def test_an_order_to_an_unknown_station_is_422_on_job_station(
    client: TestClient, keys: dict[Role, str]
) -> None:
    """POST, batch and PATCH refuse a station that is not stored, naming it."""
    seed(client, keys)
    d = auth(keys[Role.dispatcher])
    single = client.post("/v1/orders", json=station_order("s-1"), headers=d)
    body = assert_problem(single, 422, "body.job.station")
    assert body["errors"][0]["reason"] == "unknown station id 'locker-1'"
    batch = client.post(
        "/v1/orders/batch", json={"orders": [station_order("s-1")]}, headers=d
    )
    assert_problem(batch, 422, "body.orders[0].job.station")
    assert client.post("/v1/orders", json=order("h-1"), headers=d).status_code == 201
    patch = client.patch(
        "/v1/orders/h-1",
        json={"job": {"station": "locker-9", "service_level": "pickup_station"}},
        headers=d,
    )
    assert_problem(patch, 422, "body.job.station")
    assert client.get("/v1/orders", headers=d).json()["count"] == 1


def test_a_used_station_cannot_be_deleted(
    client: TestClient, keys: dict[Role, str]
) -> None:
    """Deleting a station active orders go to is 409; once they are
    cancelled or moved home by PATCH, it can go."""
    _store(client, keys)
    d = auth(keys[Role.dispatcher])
    refused = assert_problem(client.delete("/v1/stations/locker-1", headers=d), 409)
    assert refused["detail"] == "2 active orders go to station 'locker-1'"
    assert client.delete("/v1/orders/s-1", headers=d).status_code == 200
    home = {
        "station": None,
        "service_level": "next_day",
        "location": {"lat": 37.55, "lon": 126.97},
    }
    patched = client.patch("/v1/orders/s-2", json={"job": home}, headers=d)
    assert patched.status_code == 200, patched.text
    assert patched.json()["job"]["station"] is None
    assert client.delete("/v1/stations/locker-1", headers=d).status_code == 204


def test_station_orders_are_planned_at_the_station_and_tracked(
    client: TestClient, keys: dict[Role, str]
) -> None:
    """The day's plan stops at the station's place for both station orders
    (one visit, the station's service time); once dispatched the tracking
    page names the station and pins its place, and the order has an ETA."""
    tokens = _store(client, keys)
    key = keys[Role.dispatcher]
    response = client.post(
        "/v1/plans",
        json={"day": DAY, "depot_id": "seoul", "params": PARAMS},
        headers=auth(key),
    )
    assert response.status_code == 202, response.text
    body = wait_plan(client, key, response.json()["url"])
    assert body["status"] == "draft", body["job"]
    plan = Plan.model_validate(body["plan"])
    assert not plan.unassigned
    steps = {s.id: s for r in plan.routes for s in r.steps if s.type is StepType.JOB}
    for order_id in ("s-1", "s-2"):
        loc = steps[order_id].location
        assert loc is not None
        assert (loc.lat, loc.lon) == (37.558, 126.982)
    assert steps["h-1"].location is not None and steps["h-1"].location.lat != 37.558
    # One visit: the first parcel pays the station's 240 s, each 30 s + 120 s.
    first, second = sorted((steps["s-1"], steps["s-2"]), key=lambda s: s.arrival)
    assert first.setup + first.service == 240 + 30 + 120
    assert second.setup == 0 and second.service == 30 + 120

    dispatched = client.post(f"/v1/plans/{body['id']}/dispatch", headers=auth(key))
    assert dispatched.status_code == 200, dispatched.text
    eta = client.get("/v1/orders/s-1/eta", headers=auth(key)).json()
    assert eta["status"] == "dispatched" and eta["eta"] is not None
    public = client.get(f"/v1/track/{tokens['s-1']}").json()
    assert public["status"] == "dispatched"
    assert public["station"] == {"id": "locker-1", "name": "GS25 Hoehyeon"}
    assert public["location"] == {"lat": 37.558, "lon": 126.982}
    home = client.get(f"/v1/track/{tokens['h-1']}").json()
    assert home["station"] is None
    assert home["location"]["lat"] != 37.558


def test_the_api_doc_examples_are_accepted(
    client: TestClient, keys: dict[Role, str]
) -> None:
    """docs/API.md's station and station order bodies are stored as written."""
    doc = (Path(__file__).parents[3] / "docs" / "API.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```json\n(.*?)```", doc, flags=re.S)
    (station,) = [json.loads(b) for b in blocks if '"per_parcel"' in b]
    (body,) = [json.loads(b) for b in blocks if '"station": "' in b]
    seed(client, keys)
    d = auth(keys[Role.dispatcher])
    assert client.post("/v1/stations", json=station, headers=d).status_code == 201
    created = client.post("/v1/orders", json=body, headers=d)
    assert created.status_code == 201, created.text
    assert created.json()["job"]["station"] == station["id"]
