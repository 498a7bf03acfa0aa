"""Orders through the API, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from api.auth import Role
from tests.api.conftest import auth
from tests.api.dispatch_data import DAY, fields, order, seed


def test_order_crud_round_trip(client: TestClient, keys: dict[Role, str]) -> None:
    """An order is created with a token, read, listed, changed and cancelled."""
    seed(client, keys)
    s = auth(keys[Role.storefront])
    created = client.post("/v1/orders", json=order("o-1", customer_id="c-7"), headers=s)
    assert created.status_code == 201
    body = created.json()
    assert body["id"] == "o-1"
    assert body["day"] == DAY
    assert body["depot_id"] == "seoul"
    assert body["customer_id"] == "c-7"
    assert body["active"] is True
    assert len(body["tracking_token"]) == 32
    assert body["job"]["customer_id"] == "c-7"
    assert body["job"]["time_windows"] == [{"start": 9 * 3600, "end": 17 * 3600}]

    got = client.get("/v1/orders/o-1", headers=auth(keys[Role.planner]))
    assert got.status_code == 200
    assert got.json() == body

    changed = client.patch(
        "/v1/orders/o-1",
        json={"job": {"time_windows": [["13:00", "15:00"]], "demand": [3]}},
        headers=s,
    )
    assert changed.status_code == 200
    job = changed.json()["job"]
    assert job["time_windows"] == [{"start": 13 * 3600, "end": 15 * 3600}]
    assert job["demand"] == [3]
    assert job["service"] == 120  # untouched fields stay
    assert changed.json()["tracking_token"] == body["tracking_token"]

    cancelled = client.delete("/v1/orders/o-1", headers=s)
    assert cancelled.status_code == 200
    assert cancelled.json()["active"] is False
    assert cancelled.json()["job"] == job
    again = client.delete("/v1/orders/o-1", headers=s)
    assert again.status_code == 200
    assert again.json()["active"] is False
    # Never lost: still readable, and listed among the cancelled.
    assert client.get("/v1/orders/o-1", headers=s).json()["active"] is False
    listed = client.get("/v1/orders?active=false", headers=s).json()
    assert [o["id"] for o in listed["data"]] == ["o-1"]
    assert client.get("/v1/orders?active=true", headers=s).json()["count"] == 0


def test_order_errors(client: TestClient, keys: dict[Role, str]) -> None:
    """404 for unknown orders, 409 for taken ids and cancelled orders."""
    seed(client, keys)
    d = auth(keys[Role.dispatcher])
    for method in ("GET", "PATCH", "DELETE"):
        r = client.request(method, "/v1/orders/nope", json={"day": DAY}, headers=d)
        assert r.status_code == 404, method
        assert r.json()["detail"] == "no order 'nope'"
    assert client.post("/v1/orders", json=order("o-1"), headers=d).status_code == 201
    dup = client.post("/v1/orders", json=order("o-1"), headers=d)
    assert dup.status_code == 409
    assert dup.headers["content-type"] == "application/problem+json"
    assert dup.json()["detail"] == "order id already exists: 'o-1'"
    client.delete("/v1/orders/o-1", headers=d)
    late = client.patch("/v1/orders/o-1", json={"job": {"priority": 5}}, headers=d)
    assert late.status_code == 409
    assert late.json()["detail"] == "order 'o-1' is cancelled"
    # A cancelled order keeps its id.
    assert client.post("/v1/orders", json=order("o-1"), headers=d).status_code == 409


def test_order_validation_names_fields(
    client: TestClient, keys: dict[Role, str]
) -> None:
    """Bad orders are 422 problems whose errors name the body fields."""
    seed(client, keys)
    d = auth(keys[Role.dispatcher])

    def post(body: dict[str, object]) -> list[str]:
        return fields(client.post("/v1/orders", json=body, headers=d))

    assert post(order(time_windows=[["17:00", "09:00"]])) == [
        "body.job.time_windows[0]"
    ]
    assert post(order(time_windows=[["12:00", "14:00"], ["13:00", "15:00"]])) == [
        "body.job.time_windows"
    ]
    assert post(order(demand=[1, 2])) == ["body.job.demand"]
    assert post(order(depot_id="mars")) == ["body.depot_id"]
    assert post(order(depot_id=None, depot="mars")) == ["body.job.depot"]
    assert post(order(depot="busan")) == ["body.depot_id"]
    assert post(order(location={"index": 4})) == ["body.job.location"]
    assert post(order(station="locker-1", location=None)) == ["body.job.station"]
    assert post(order() | {"day": "someday"}) == ["body.day"]
    assert post({"job": order()["job"]}) == ["body.day"]
    assert post(order(customer_id="a") | {"customer_id": "b"}) == ["body.customer_id"]
    r = client.post("/v1/orders", json=order(demand=[1, 2]), headers=d)
    assert r.json()["errors"][0]["reason"] == (
        "has 2 dimensions; vehicle capacity has 1"
    )
    assert client.get("/v1/orders", headers=d).json()["count"] == 0


def test_patch_revalidates_the_job(client: TestClient, keys: dict[Role, str]) -> None:
    """A change that makes the job invalid is refused, and nothing changes."""
    seed(client, keys, depots=("seoul", "busan"))
    d = auth(keys[Role.dispatcher])
    before = client.post("/v1/orders", json=order("o-1"), headers=d).json()

    def patch(body: dict[str, object]) -> list[str]:
        return fields(client.patch("/v1/orders/o-1", json=body, headers=d))

    assert patch({"job": {"time_windows": [[900, 100]]}}) == [
        "body.job.time_windows[0]"
    ]
    assert patch({"job": {"demand": None}}) == ["body.job.demand"]
    assert patch({"job": {"service_level": "scheduled"}}) == ["body.job"]
    assert patch({"job": {"demand": [1, 1]}}) == ["body.job.demand"]
    assert patch({"depot_id": "mars"}) == ["body.depot_id"]
    assert patch({"day": None}) == ["body.day"]
    assert patch({"job": {"id": "o-2"}}) == ["body.job.id"]
    assert client.get("/v1/orders/o-1", headers=d).json() == before

    moved = client.patch(
        "/v1/orders/o-1",
        json={"day": "2026-03-03", "depot_id": "busan", "job": {"penalty": 5.0}},
        headers=d,
    ).json()
    assert (moved["day"], moved["depot_id"]) == ("2026-03-03", "busan")
    assert moved["job"]["penalty"] == 5.0
    cleared = client.patch("/v1/orders/o-1", json={"job": {"penalty": None}}, headers=d)
    assert cleared.json()["job"]["penalty"] is None


def test_order_list_filters_and_pages(
    client: TestClient, keys: dict[Role, str]
) -> None:
    """Orders list by day then id, filtered by day, depot, customer and state."""
    seed(client, keys, depots=("seoul", "busan"))
    d = auth(keys[Role.dispatcher])
    bodies = [
        order("b", customer_id="c1"),
        order("a", depot_id="busan"),
        order("c", day="2026-03-01"),
        order("d", customer_id="c1", day="2026-03-01"),
        order("e", depot_id=None),
    ]
    for body in bodies:
        assert client.post("/v1/orders", json=body, headers=d).status_code == 201

    def ids(query: str) -> list[str]:
        r = client.get(f"/v1/orders{query}", headers=d)
        assert r.status_code == 200, r.text
        return [o["id"] for o in r.json()["data"]]

    assert ids("") == ["c", "d", "a", "b", "e"]
    assert ids(f"?day={DAY}") == ["a", "b", "e"]
    assert ids(f"?day={DAY}&depot_id=seoul") == ["b"]
    assert ids("?customer_id=c1") == ["d", "b"]
    assert ids("?limit=2&offset=2") == ["a", "b"]
    page = client.get("/v1/orders?limit=1", headers=d).json()
    assert page["count"] == 5
    assert len(page["data"]) == 1
    assert fields(client.get("/v1/orders?day=tomorrow", headers=d)) == ["query.day"]
    assert fields(client.get("/v1/orders?limit=1001", headers=d)) == ["query.limit"]


def test_batch_is_all_or_nothing(client: TestClient, keys: dict[Role, str]) -> None:
    """A batch stores every order or none; errors name the order's position."""
    seed(client, keys)
    s = auth(keys[Role.storefront])
    batch = [order(f"o-{i}", i=i) for i in range(5)]
    created = client.post("/v1/orders/batch", json={"orders": batch}, headers=s)
    assert created.status_code == 201
    body = created.json()
    assert body["count"] == 5
    assert [o["id"] for o in body["data"]] == [f"o-{i}" for i in range(5)]
    assert len({o["tracking_token"] for o in body["data"]}) == 5

    bad = [order("n-0"), order("n-1", demand=[1, 2]), order("n-0"), order("n-3")]
    r = client.post("/v1/orders/batch", json={"orders": bad}, headers=s)
    assert fields(r) == ["body.orders[1].job.demand", "body.orders[2].job.id"]
    windows = [order("n-0"), order("n-1", time_windows=[[5, 1]])]
    r = client.post("/v1/orders/batch", json={"orders": windows}, headers=s)
    assert fields(r) == ["body.orders[1].job.time_windows[0]"]
    taken = [order("n-0"), order("o-3")]
    r = client.post("/v1/orders/batch", json={"orders": taken}, headers=s)
    assert r.status_code == 409
    assert r.json()["detail"] == "order id already exists: 'o-3'"
    assert fields(client.post("/v1/orders/batch", json={"orders": []}, headers=s)) == [
        "body.orders"
    ]
    assert client.get("/v1/orders", headers=s).json()["count"] == 5


def test_tracking_tokens_are_random(client: TestClient, keys: dict[Role, str]) -> None:
    """Tokens are unique, unrelated to the ids, and find exactly their order."""
    from api.db.orders import order_by_token

    seed(client, keys)
    d = auth(keys[Role.dispatcher])
    batch = [order(f"o-{i}", i=i) for i in range(30)]
    created = client.post("/v1/orders/batch", json={"orders": batch}, headers=d).json()
    tokens = [o["tracking_token"] for o in created["data"]]
    assert len(set(tokens)) == 30
    for o in created["data"]:
        assert o["id"] not in o["tracking_token"]
    sessionmaker = client.app.state.sessionmaker  # type: ignore[attr-defined]
    with sessionmaker() as session:
        for o in created["data"]:
            row = order_by_token(session, token=o["tracking_token"])
            assert row is not None
            assert row.id == o["id"]
        assert order_by_token(session, token="o-1") is None
        assert order_by_token(session, token="") is None


@pytest.mark.parametrize(
    ("path", "name"),
    [("/v1/orders", "offset"), ("/v1/depots", "offset"), ("/v1/plans", "offset")],
)
def test_huge_offsets_are_422_not_a_database_error(
    client: TestClient, keys: dict[Role, str], path: str, name: str
) -> None:
    """An offset past 64-bit integers (Schemathesis found it) is refused as input."""
    got = client.get(path, params={name: 2**63}, headers=auth(keys[Role.dispatcher]))
    assert got.status_code == 422, got.text
    assert [e["field"] for e in got.json()["errors"]] == [f"query.{name}"]
