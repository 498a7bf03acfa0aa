"""Out-of-bound input is a 422 naming the field (or a 404), never a 500.

The repros of issue #19: huge event times, NUL bytes in ids, in paths and in
queries, huge service times, a huge re-optimisation time, ids with ``/`` or
``..``. Each runs on SQLite and PostgreSQL, where the 500s were.
"""

from __future__ import annotations

import string
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.auth import Role
from tests.api.conftest import auth
from tests.api.dispatch_data import DAY, fields, order, seed


def _ping(**over: Any) -> dict[str, Any]:
    event = {
        "type": "position",
        "id": "p-1",
        "at": 30_000,
        "vehicle": "van-1",
        "lat": 37.5,
        "lon": 127.0,
    }
    event.update(over)
    return event


@pytest.mark.parametrize(
    ("over", "field"),
    [
        ({"at": 2**31}, "body.events[0].at"),
        ({"at": 2**63}, "body.events[0].at"),
        ({"at": -(2**63)}, "body.events[0].at"),
        ({"at": 3 * 86_400 + 1}, "body.events[0].at"),
        ({"at": -2 * 86_400 - 1}, "body.events[0].at"),
        ({"id": "p\x00"}, "body.events[0].id"),
        ({"vehicle": "van\x00"}, "body.events[0].vehicle"),
        ({"id": "a/b"}, "body.events[0].id"),
        ({"id": ".."}, "body.events[0].id"),
    ],
)
def test_out_of_bound_events_are_422_naming_the_field(
    client: TestClient, keys: dict[Role, str], over: dict[str, Any], field: str
) -> None:
    """An event out of bounds refuses the batch with 422 at its field."""
    body = {"day": DAY, "events": [_ping(**over)]}
    r = client.post("/v1/events", json=body, headers=auth(keys[Role.dispatcher]))
    assert r.status_code == 422, r.text
    assert field in fields(r), r.json()


def test_events_at_the_edges_of_the_bounds_are_stored(
    client: TestClient, keys: dict[Role, str]
) -> None:
    """Two days before and after the operating day are still accepted."""
    body = {
        "day": DAY,
        "events": [_ping(id="early", at=-2 * 86_400), _ping(id="late", at=3 * 86_400)],
    }
    r = client.post("/v1/events", json=body, headers=auth(keys[Role.dispatcher]))
    assert r.status_code == 200, r.text
    assert sorted(r.json()["accepted"]) == ["early", "late"]
    assert r.json()["dead_lettered"] == []


@pytest.mark.parametrize(
    ("job", "field"),
    [
        ({"service": 2**63}, "body.job.service"),
        ({"service": 2**31}, "body.job.service"),
        ({"setup": 2**40}, "body.job.setup"),
        ({"demand": [2**31]}, "body.job.demand[0]"),
        ({"time_windows": [[0, 2**31]]}, "body.job.time_windows[0].end"),
        ({"id": "o\x00"}, "body.job.id"),
        ({"id": "a/b"}, "body.job.id"),
        ({"id": "."}, "body.job.id"),
        ({"id": ".."}, "body.job.id"),
        ({"customer_id": "c\x00"}, "body.job.customer_id"),
        ({"penalty": 1e300}, "body.job.penalty"),
    ],
)
def test_out_of_bound_orders_are_422_naming_the_field(
    client: TestClient, keys: dict[Role, str], job: dict[str, Any], field: str
) -> None:
    """An order out of bounds is refused at its field, and nothing is stored."""
    seed(client, keys)
    s = auth(keys[Role.storefront])
    r = client.post("/v1/orders", json=order("o-1", **job), headers=s)
    assert r.status_code == 422, r.text
    assert any(f.startswith(field) for f in fields(r)), r.json()
    assert client.get("/v1/orders", headers=s).json()["count"] == 0


def test_a_vehicle_with_a_huge_break_is_refused(
    client: TestClient, keys: dict[Role, str]
) -> None:
    """Break durations are durations too: within 32 bits."""
    seed(client, keys)
    body = {
        "id": "van-x",
        "start": "seoul",
        "end": "seoul",
        "capacity": [10],
        "shift": ["08:00", "18:00"],
        "breaks": [{"id": "b", "time_windows": [["12:00", "13:00"]], "service": 2**63}],
    }
    r = client.post("/v1/vehicles", json=body, headers=auth(keys[Role.dispatcher]))
    assert r.status_code == 422, r.text
    assert any("breaks[0].service" in f for f in fields(r)), r.json()


@pytest.mark.parametrize(
    "path",
    [
        "/v1/track/%00",
        "/v1/track/%00/stream",
        "/v1/orders/%00",
        "/v1/orders/o%00/eta",
        "/v1/depots/%00",
        "/v1/vehicles/%00",
        "/v1/plans/%00",
        "/v1/exceptions/%00",
    ],
)
def test_a_nul_in_the_path_is_404(
    client: TestClient, keys: dict[Role, str], path: str
) -> None:
    """A path with a NUL byte names nothing: 404 (it was a PostgreSQL 500),
    with or without a key."""
    for headers in ({}, auth(keys[Role.admin])):
        r = client.get(path, headers=headers)
        assert r.status_code == 404, (path, r.status_code, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        assert "U+0000" in r.json()["detail"]


def test_a_nul_in_a_query_is_422_naming_it(
    client: TestClient, keys: dict[Role, str]
) -> None:
    """A query parameter with a NUL byte is a 422 naming the parameter."""
    r = client.get("/v1/exceptions?vehicle=v%00", headers=auth(keys[Role.dispatcher]))
    assert r.status_code == 422, r.text
    assert fields(r) == ["query.vehicle"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"time": 2**63}, "body.time"),
        ({"time": 2**31}, "body.time"),
        ({"time": 3 * 86_400 + 1}, "body.time"),
        ({"time": 36_000, "cancelled": ["a\x00"]}, "body.cancelled[0]"),
    ],
)
def test_out_of_bound_reoptimisation_is_422(
    client: TestClient, keys: dict[Role, str], body: dict[str, Any], field: str
) -> None:
    """Re-optimise ``time`` 2**63 was accepted (202) and its job died; now the
    request is refused at the field."""
    r = client.post(
        "/v1/plans/p-1/reoptimize", json=body, headers=auth(keys[Role.dispatcher])
    )
    assert r.status_code == 422, r.text
    assert field in fields(r), r.json()


_ID_CHARS = st.characters(codec="utf-8") | st.sampled_from(["/", ".", "\x00", " "])


@settings(
    max_examples=40,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(order_id=st.text(_ID_CHARS, min_size=1, max_size=12))
def test_an_accepted_order_id_can_be_fetched_again(
    client: TestClient, keys: dict[Role, str], order_id: str
) -> None:
    """Whatever the id: the order is refused with 422 naming ``body.job.id``,
    or stored and fetched back by that id (never a 500, never lost)."""
    s = auth(keys[Role.storefront])
    client.post("/v1/depots", json=_depot(), headers=auth(keys[Role.dispatcher]))
    r = client.post("/v1/orders", json=order(order_id), headers=s)
    if r.status_code == 422:
        assert "body.job.id" in fields(r), r.json()
        return
    assert r.status_code in (201, 409), r.text
    got = client.get(f"/v1/orders/{quote(order_id, safe='')}", headers=s)
    assert got.status_code == 200, (order_id, got.text)
    assert got.json()["id"] == order_id


def _depot() -> dict[str, Any]:
    return {"id": "seoul", "location": {"lat": 37.55, "lon": 126.97}}


def test_printable_ids_are_accepted() -> None:
    """The bound refuses only what cannot be fetched: printable text with
    dots, spaces and non-ASCII letters is a valid id."""
    from routing.model import Job

    for ok in ["o.1", "..a", "주문 1", "a..b", string.punctuation.replace("/", "")]:
        job = Job(id=ok, location={"lat": 37.5, "lon": 127.0}, demand=(1,))
        assert job.id == ok


def test_a_nul_in_a_key_name_is_not_a_500(
    client: TestClient, keys: dict[Role, str]
) -> None:
    """A key name with a NUL byte was a PostgreSQL 500: it is a 422 naming
    the name, on every database, and no key is issued."""
    admin = auth(keys[Role.admin])
    before = client.get("/v1/keys", headers=admin).json()["count"]
    body = {"role": "admin", "name": "a\x00b"}
    r = client.post("/v1/keys", json=body, headers=admin)
    after = client.get("/v1/keys", headers=admin).json()["count"]
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == "body.name"
    assert after == before


@pytest.mark.parametrize(
    ("at", "status"),
    [(-7 * 86_400, 200), (300 * 86_400, 200), (2**31, 422), (-(2**63), 422)],
)
def test_order_lifecycle_events_may_come_ahead_of_the_day(
    client: TestClient, keys: dict[Role, str], at: int, status: int
) -> None:
    """A cancellation a week before the day (or a plan registered for a day
    long past) is a real order's life: accepted; 2**31 is still refused."""
    event = {"type": "order_cancelled", "id": f"c{at}", "at": at, "order_id": "o-9"}
    body = {"day": DAY, "events": [event]}
    r = client.post("/v1/events", json=body, headers=auth(keys[Role.dispatcher]))
    assert r.status_code == status, r.text
    if status == 422:
        assert "body.events[0].at" in fields(r)
